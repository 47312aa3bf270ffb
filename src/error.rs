//! One error type for the whole core. The C layer maps it to a result code in
//! one function (`ffi::result_of`); nothing here knows about C.

use std::path::PathBuf;

/// Everything that can go wrong in a libkitsu call.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// A caller-supplied value is unusable (bad URL, empty list, bad JSON...).
    #[error("invalid parameter: {0}")]
    InvalidParameter(String),

    /// A blocking libkitsu call was made from inside a progress callback.
    #[error(
        "libkitsu was called from inside one of its own progress callbacks; \
             return from the callback first (or return non-zero to abort)"
    )]
    ReentrantCall,

    /// The connection could not be made (refused, DNS failure): the request
    /// never reached the server. Same result code as [`Error::Network`].
    #[error("cannot connect for {path}: {message}")]
    Connect { path: String, message: String },

    /// Connection reset or closed, protocol error.
    #[error("network error on {path}: {message}")]
    Network { path: String, message: String },

    /// The TCP/TLS connection could not be set up in time.
    #[error("connect timeout on {path} after {secs} s")]
    ConnectTimeout { path: String, secs: u64 },

    /// No byte moved for the stall timeout.
    #[error("transfer stalled on {path}: no byte moved for {secs} s")]
    Stalled { path: String, secs: u64 },

    /// Certificate or handshake failure.
    #[error("TLS error on {path}: {message}")]
    Tls { path: String, message: String },

    /// The body ended before all its bytes arrived (`expected` 0: a body of
    /// unknown length, cut short).
    #[error("incomplete body on {path}: received {received} of {} bytes", if *expected > 0 { expected.to_string() } else { "an unknown number of".into() })]
    IncompleteBody {
        path: String,
        received: u64,
        expected: u64,
    },

    /// A non-2xx answer. `message` is the server's own text when it sent one.
    #[error("HTTP {status} on {method} {path}: {message}")]
    Http {
        status: u16,
        method: String,
        path: String,
        message: String,
        /// Seconds from `Retry-After` (a number or an HTTP date).
        retry_after: Option<u64>,
    },

    /// Log-in refused (wrong credentials, locked account, 2FA required).
    #[error("authentication failed: {message}")]
    AuthFailed { status: u16, message: String },

    /// The 202 "preview still processing" wait ran past its deadline.
    #[error("{path}: the server was still processing the preview after {secs} s")]
    ProcessingTimeout { path: String, secs: u64 },

    /// A 2xx upload answer whose JSON carries an error `message` (gazu's UploadFailedException).
    #[error("upload to {path} failed: {message}")]
    UploadFailed { path: String, message: String },

    /// An answer to be held in memory is larger than the client's cap.
    #[error("the answer of {path} is larger than the {cap}-byte cap on answers held in memory")]
    AnswerTooLarge { path: String, cap: u64 },

    /// The server answered something that is not what the route promises.
    #[error("invalid response from {path}: {message}")]
    InvalidResponse { path: String, message: String },

    /// A download target (or what a symlink there points to) is not a
    /// regular file: a device, FIFO or socket.
    #[error("{}: not a regular file ({kind}): refusing to replace it", path.display())]
    NotARegularFile { path: PathBuf, kind: &'static str },

    /// A local file could not be found.
    #[error("file not found: {}", path.display())]
    FileNotFound { path: PathBuf },

    /// Any other local I/O failure.
    #[error("{}: {source}", path.display())]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },

    /// A callback (progress or event) asked to stop.
    #[error("transfer aborted by the progress callback")]
    AbortedByCallback,

    /// The call's cancel token was cancelled.
    #[error("transfer cancelled")]
    Cancelled,

    /// Some items of a batch failed (each item's result says why); the
    /// others succeeded.
    #[error("{failed} of {total} batch items failed; each item's result says why")]
    BatchIncomplete { failed: usize, total: usize },

    /// A panic inside libkitsu, caught before it reached the caller.
    #[error("internal error (panic): {0}")]
    Panic(String),

    /// The last failure of a call that tried more than once.
    #[error("{last} (gave up after {attempts} attempts)")]
    Retried { attempts: u32, last: Box<Error> },
}

pub type Result<T, E = Error> = std::result::Result<T, E>;

impl Error {
    /// The HTTP status behind the error, when there is one.
    pub fn http_status(&self) -> Option<u16> {
        match self.root() {
            Error::Http { status, .. } | Error::AuthFailed { status, .. } => Some(*status),
            _ => None,
        }
    }

    /// The failure itself, without the attempts around it.
    pub fn root(&self) -> &Error {
        match self {
            Error::Retried { last, .. } => last.root(),
            other => other,
        }
    }

    /// How many attempts the call made (1 when it did not retry).
    pub fn attempts(&self) -> u32 {
        match self {
            Error::Retried { attempts, .. } => *attempts,
            _ => 1,
        }
    }

    /// The server's `Retry-After` in the last answer, in seconds.
    pub fn retry_after(&self) -> Option<u64> {
        match self.root() {
            Error::Http { retry_after, .. } => *retry_after,
            _ => None,
        }
    }

    pub(crate) fn io(path: impl Into<PathBuf>, source: std::io::Error) -> Error {
        let path = path.into();
        if source.kind() == std::io::ErrorKind::NotFound {
            Error::FileNotFound { path }
        } else {
            Error::Io { path, source }
        }
    }

    /// Classifies a reqwest failure (no HTTP status involved).
    pub(crate) fn from_reqwest(path: &str, err: reqwest::Error, connect_secs: u64) -> Error {
        let path = path.to_string();
        if err.is_connect() && err.is_timeout() {
            return Error::ConnectTimeout {
                path,
                secs: connect_secs,
            };
        }
        // A failure of our own request body (a file that shrank or cannot
        // be read) is a local error, not the network's.
        if let Some(local) = own_error(&err) {
            return local;
        }
        let message = chain_text(&err);
        let lower = message.to_ascii_lowercase();
        if lower.contains("certificate") || lower.contains("tls") || lower.contains("handshake") {
            return Error::Tls { path, message };
        }
        if err.is_connect() {
            return Error::Connect { path, message };
        }
        Error::Network { path, message }
    }
}

/// A libkitsu error (from an upload body) somewhere in reqwest's source chain.
fn own_error(err: &reqwest::Error) -> Option<Error> {
    let mut source = std::error::Error::source(err);
    while let Some(inner) = source {
        if let Some(Error::Io { path, source }) = inner.downcast_ref::<Error>() {
            return Some(Error::Io {
                path: path.clone(),
                source: std::io::Error::new(source.kind(), source.to_string()),
            });
        }
        if let Some(Error::FileNotFound { path }) = inner.downcast_ref::<Error>() {
            return Some(Error::FileNotFound { path: path.clone() });
        }
        source = inner.source();
    }
    None
}

/// The error and all its sources, joined: reqwest's top-level text alone
/// ("error sending request") says nothing useful.
fn chain_text(err: &dyn std::error::Error) -> String {
    let mut text = err.to_string();
    let mut source = err.source();
    while let Some(inner) = source {
        let part = inner.to_string();
        if !text.contains(&part) {
            text.push_str(": ");
            text.push_str(&part);
        }
        source = inner.source();
    }
    text
}

/// The server's explanation in an error body, as gazu reads it: the first
/// non-empty string among `message`, `error` (and flask-jwt's `msg`), plus
/// the field errors of `data.errors`. Non-JSON bodies give their text.
/// A text answer on one line: an HTML error page (express, nginx) loses
/// its tags, and line breaks and runs of spaces become one space, so an
/// error message stays one readable line in logs.
fn one_line_text(text: &str) -> String {
    let mut plain = String::with_capacity(text.len());
    let mut in_tag = false;
    let html = text.starts_with('<');
    for c in text.chars() {
        match c {
            '<' if html => in_tag = true,
            '>' if html && in_tag => {
                in_tag = false;
                plain.push(' ');
            }
            _ if in_tag => {}
            _ => plain.push(c),
        }
    }
    plain.split_whitespace().collect::<Vec<_>>().join(" ")
}

pub(crate) fn server_message(body: &[u8]) -> String {
    const NONE: &str = "No additional information";
    let value: serde_json::Value = match serde_json::from_slice(body) {
        Ok(value) => value,
        Err(_) => {
            let text = String::from_utf8_lossy(body);
            let text = text.trim();
            if text.is_empty() {
                return NONE.to_string();
            }
            return one_line_text(text).chars().take(500).collect();
        }
    };
    let mut message = ["message", "error", "msg"]
        .iter()
        .filter_map(|key| value.get(*key).and_then(|v| v.as_str()))
        .find(|s| !s.is_empty())
        .unwrap_or(NONE)
        .to_string();
    if let Some(errors) = value
        .get("data")
        .and_then(|d| d.get("errors"))
        .and_then(|e| e.as_array())
    {
        if !errors.is_empty() {
            let parts: Vec<String> = errors
                .iter()
                .map(|e| match e.as_str() {
                    Some(s) => s.to_string(),
                    None => e.to_string(),
                })
                .collect();
            message.push_str(&format!(" ({})", parts.join(", ")));
        }
    }
    message
}

/// The message of a 2xx JSON answer that nevertheless reports a failure
/// (gazu's `UploadFailedException` rule): a non-empty string `message` or `error`.
pub(crate) fn failure_message_in_success(value: &serde_json::Value) -> Option<String> {
    ["message", "error"]
        .iter()
        .filter_map(|key| value.get(*key).and_then(|v| v.as_str()))
        .find(|s| !s.is_empty())
        .map(str::to_string)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_answers_become_one_line() {
        let page = b"<!DOCTYPE html>\n<html><head><title>Error</title></head>\n<body><pre>Cannot POST /nowhere</pre></body></html>";
        assert_eq!(server_message(page), "Error Cannot POST /nowhere");
        assert_eq!(server_message(b"  bad\n  gateway "), "bad gateway");
        assert_eq!(server_message(b"a < b > c"), "a < b > c");
    }

    #[test]
    fn server_message_prefers_message_then_error_then_msg() {
        assert_eq!(
            server_message(br#"{"error":true,"message":"Too many"}"#),
            "Too many"
        );
        assert_eq!(server_message(br#"{"error":"Boom"}"#), "Boom");
        assert_eq!(
            server_message(br#"{"msg":"Invalid header padding"}"#),
            "Invalid header padding"
        );
        assert_eq!(server_message(b""), "No additional information");
        assert_eq!(server_message(b"<html>bad gateway</html>"), "bad gateway");
        assert_eq!(
            server_message(br#"{"message":"Bad","data":{"errors":["name: required"]}}"#),
            "Bad (name: required)"
        );
    }

    #[test]
    fn success_bodies_with_a_message_are_failures() {
        let v: serde_json::Value = serde_json::from_str(r#"{"message":"nope"}"#).unwrap();
        assert_eq!(failure_message_in_success(&v).as_deref(), Some("nope"));
        let v: serde_json::Value = serde_json::from_str(r#"{"id":"x","error":false}"#).unwrap();
        assert_eq!(failure_message_in_success(&v), None);
    }
}

#[cfg(test)]
mod property_tests {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        /// Whatever a server sends as an error body (JSON or not, UTF-8 or
        /// not), its message is one line of bounded length, never a panic.
        #[test]
        fn a_server_message_is_one_bounded_line(body in proptest::collection::vec(any::<u8>(), 0..2048)) {
            let message = server_message(&body);
            prop_assert!(!message.contains('\n'));
            prop_assert!(message.chars().count() <= 2000, "{} chars", message.chars().count());
        }

        #[test]
        fn json_messages_are_found(text in "[a-zA-Z0-9]([a-zA-Z0-9 .,:;!?()-]{0,98}[a-zA-Z0-9])?") {
            let body = serde_json::json!({"message": text}).to_string();
            prop_assert_eq!(server_message(body.as_bytes()), text);
        }
    }
}
