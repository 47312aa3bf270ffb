//! What the chunked-upload protocols share ([`super::resumable`] and
//! [`super::tus`]): their options, the file's fingerprint (stable across
//! runs, so a new process resumes), the chunk plan, and the engine that
//! keeps N chunks in flight, each with its own attempt loop and stall clock.
//!
//! Progress counts bytes: a chunk's bytes while they stream (a child
//! [`Meter`] per attempt), taken back when the attempt fails, so the
//! caller's count never decreases (it holds until the resent bytes pass
//! it); chunks the server already had count at once. Events name the chunk
//! in `item_index` of `item_count` chunks.

use std::future::Future;
use std::io::{Read, Seek, SeekFrom};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

use futures_util::stream::{FuturesUnordered, StreamExt};
use reqwest::header::{HeaderName, HeaderValue};
use sha2::{Digest, Sha256};

use super::call::{Call, Meter};
use super::retry::{delay, gave_up};
use super::upload::content_type_of;
use crate::client::{Auth, Client, Redirects};
use crate::error::{Error, Result};

/// resumable.js's and resumable.py's default chunk size.
pub const DEFAULT_CHUNK_SIZE: u64 = 1024 * 1024;
/// resumable.js's `simultaneousUploads` default.
pub const DEFAULT_SIMULTANEOUS: u32 = 3;

/// Where tus upload URLs are kept between processes.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub enum UrlStore {
    /// `$XDG_STATE_HOME/libkitsu/tus-uploads.json` (or `~/.local/state/...`).
    #[default]
    Default,
    /// This JSON file.
    At(PathBuf),
    /// None: an upload resumes only within one call.
    Off,
}

/// The settings of a chunked upload; [`Default`] is resumable.js's.
#[derive(Clone, Debug)]
pub struct ChunkedOptions {
    /// Bytes per chunk (resumable.js: the last chunk takes the rest, up to
    /// twice this).
    pub chunk_size: u64,
    /// Chunks in flight at once (resumable.js); tus sends one after the other.
    pub simultaneous: u32,
    /// Extra headers on every request (an upload service's own auth, say).
    pub headers: Vec<(String, String)>,
    /// resumable.js: ask the server (a GET per chunk) before sending it,
    /// so a restarted upload skips what the server has.
    pub test_chunks: bool,
    /// resumable.js's `resumableRelativePath` (default: the file name).
    pub relative_path: Option<String>,
    /// tus: where upload URLs are kept so a new process resumes.
    pub store: UrlStore,
    /// tus: on cancel, delete the upload on the server (tus termination)
    /// and forget it, instead of keeping it to resume.
    pub terminate_on_cancel: bool,
}

impl Default for ChunkedOptions {
    fn default() -> ChunkedOptions {
        ChunkedOptions {
            chunk_size: DEFAULT_CHUNK_SIZE,
            simultaneous: DEFAULT_SIMULTANEOUS,
            headers: Vec::new(),
            test_chunks: true,
            relative_path: None,
            store: UrlStore::Default,
            terminate_on_cancel: false,
        }
    }
}

impl ChunkedOptions {
    pub(crate) fn check(&self) -> Result<()> {
        if self.chunk_size == 0 {
            return Err(Error::InvalidParameter(
                "chunk_size must be at least 1 byte".into(),
            ));
        }
        if self.simultaneous == 0 || self.simultaneous > 64 {
            return Err(Error::InvalidParameter(format!(
                "simultaneous must be 1 to 64, not {}",
                self.simultaneous
            )));
        }
        self.header_map().map(|_| ())
    }

    /// The extra headers, checked.
    pub(crate) fn header_map(&self) -> Result<Vec<(HeaderName, HeaderValue)>> {
        self.headers
            .iter()
            .map(|(name, value)| {
                let name = HeaderName::from_bytes(name.trim().as_bytes()).map_err(|_| {
                    Error::InvalidParameter(format!("{name:?} is not a header name"))
                })?;
                let value = HeaderValue::from_str(value).map_err(|_| {
                    Error::InvalidParameter(format!("the value of header {name} is not allowed"))
                })?;
                Ok((name, value))
            })
            .collect()
    }
}

/// What a chunked upload did.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ChunkedOutcome {
    /// resumable.js: the identifier; tus: the upload's URL.
    pub upload: String,
    /// Chunks of the file.
    pub chunks: u32,
    /// Chunks sent by this call.
    pub chunks_sent: u32,
    /// Chunks the server had already (resumed), not sent again.
    pub chunks_skipped: u32,
    /// File bytes sent by this call (a resent chunk counts once).
    pub bytes_sent: u64,
    /// The last answer's body (resumable.js), or empty.
    pub answer: String,
}

impl ChunkedOutcome {
    /// As JSON, for the C and Python callers.
    pub fn to_json(&self) -> String {
        serde_json::json!({
            "upload": self.upload,
            "chunks": self.chunks,
            "chunks_sent": self.chunks_sent,
            "chunks_skipped": self.chunks_skipped,
            "bytes_sent": self.bytes_sent,
            "answer": self.answer,
        })
        .to_string()
    }
}

/// One chunk: its place (0-based) and bytes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Chunk {
    pub index: u32,
    pub offset: u64,
    pub len: u64,
}

/// resumable.js's plan: `max(floor(size / chunk_size), 1)` chunks, the last
/// taking the rest (so up to twice the chunk size).
pub(crate) fn resumable_plan(size: u64, chunk_size: u64) -> Vec<Chunk> {
    let count = (size / chunk_size).max(1);
    (0..count)
        .map(|i| {
            let offset = i * chunk_size;
            let end = if i + 1 == count {
                size
            } else {
                offset + chunk_size
            };
            Chunk {
                index: u32::try_from(i).unwrap_or(u32::MAX),
                offset,
                len: end - offset,
            }
        })
        .collect()
}

/// A stable identity of a file's content: SHA-256 over its size, its
/// modification time, what the platform says changes with any write (the
/// inode's change time, which even a restored modification time moves, and
/// its device and inode numbers on Unix), its first and last 64 KiB, and 16
/// samples of 4 KiB spread across the rest. Stable across runs (a restarted
/// upload finds its chunks), different when the file was written since
/// (in place, at the same size, with its modification time put back), and
/// cheap for a 100 GiB file. Hex, 32 characters.
pub fn fingerprint(path: &Path) -> Result<String> {
    const EDGE: u64 = 64 * 1024;
    const SAMPLE: u64 = 4 * 1024;
    const SAMPLES: u64 = 16;
    let metadata = std::fs::metadata(path).map_err(|e| Error::io(path, e))?;
    let size = metadata.len();
    let modified = metadata
        .modified()
        .ok()
        .and_then(|t| t.duration_since(std::time::UNIX_EPOCH).ok())
        .map(|d| d.as_nanos())
        .unwrap_or(0);
    let mut file = std::fs::File::open(path).map_err(|e| Error::io(path, e))?;
    let mut hasher = Sha256::new();
    hasher.update(size.to_le_bytes());
    hasher.update(modified.to_le_bytes());
    #[cfg(unix)]
    {
        use std::os::unix::fs::MetadataExt;
        hasher.update(metadata.ctime().to_le_bytes());
        hasher.update(metadata.ctime_nsec().to_le_bytes());
        hasher.update(metadata.dev().to_le_bytes());
        hasher.update(metadata.ino().to_le_bytes());
    }
    let mut places: Vec<(u64, u64)> = vec![(0, EDGE.min(size))];
    let middle = size.saturating_sub(2 * EDGE);
    if middle > 0 {
        let step = middle / SAMPLES;
        for i in 0..SAMPLES {
            places.push((EDGE + i * step, SAMPLE.min(middle - i * step)));
        }
    }
    places.push((size.saturating_sub(EDGE), EDGE.min(size)));
    let mut buffer = vec![0u8; EDGE as usize];
    for (start, len) in places {
        file.seek(SeekFrom::Start(start))
            .map_err(|e| Error::io(path, e))?;
        file.read_exact(&mut buffer[..len as usize])
            .map_err(|e| Error::io(path, e))?;
        hasher.update(&buffer[..len as usize]);
    }
    let digest = hasher.finalize();
    Ok(digest[..16].iter().map(|b| format!("{b:02x}")).collect())
}

/// Whether requests to `url` get the client's token: only on the client's
/// own server (scheme, host and port), never to a third party's upload
/// service (that one's auth goes in the extra headers).
pub(crate) fn auth_for(client: &Client, url: &reqwest::Url) -> Auth {
    match reqwest::Url::parse(client.host()) {
        Ok(host) if host.origin() == url.origin() => Auth::Bearer,
        _ => Auth::None,
    }
}

/// Sends a chunked upload's request. With extra headers (another
/// service's credentials), a redirect to another origin is not followed:
/// like the client's token, they go only to the origin they were given for.
pub(crate) async fn send(
    client: &Client,
    headers: &[(HeaderName, HeaderValue)],
    method: reqwest::Method,
    url: &reqwest::Url,
    label: &str,
    auth: Auth,
    build: impl FnMut(reqwest::RequestBuilder) -> Result<reqwest::RequestBuilder>,
) -> Result<reqwest::Response> {
    let redirects = if headers.is_empty() {
        Redirects::Any
    } else {
        Redirects::SameOrigin
    };
    client
        .send_with(redirects, method, url, label, auth, build)
        .await
}

/// The target URL: absolute, or a route of the client's host.
pub(crate) fn target_url(client: &Client, url: &str) -> Result<reqwest::Url> {
    if url.starts_with("http://") || url.starts_with("https://") {
        reqwest::Url::parse(url)
            .map_err(|e| Error::InvalidParameter(format!("{url:?} is not a URL: {e}")))
    } else {
        crate::route::join(client.host(), url)
    }
}

/// How a failed attempt of a chunk is handled.
pub(crate) enum Verdict {
    /// Try again after a backoff.
    Retry,
    /// Stop the whole upload.
    Fatal,
}

/// Runs `attempt` for one chunk until it succeeds, with a child meter of
/// `meter` per attempt (taken back on failure), its own stall clock, and
/// backoff as the call's retry policy says. `judge` says what a failure
/// deserves.
pub(crate) async fn chunk_with_retries<T, F, Fut>(
    meter: &Arc<Meter>,
    chunk: Chunk,
    policy: crate::client::RetryPolicy,
    stall: Duration,
    judge: impl Fn(&Error) -> Verdict,
    attempt: F,
) -> Result<T>
where
    F: Fn(Arc<Meter>) -> Fut,
    Fut: Future<Output = Result<T>>,
{
    let first_failure = Instant::now();
    let mut attempts = 0u32;
    loop {
        attempts += 1;
        let child = Meter::child(meter, chunk.index);
        let result = watch_stall(&child, stall, attempt(child.clone())).await;
        let error = match result {
            Ok(value) => return Ok(value),
            Err(error) => error,
        };
        // Its bytes count again when they are sent again.
        child.set(0);
        match judge(&error) {
            Verdict::Fatal => return Err(gave_up(error, attempts)),
            Verdict::Retry => {
                if attempts >= policy.max_attempts.max(1)
                    || first_failure.elapsed() >= policy.budget
                {
                    return Err(gave_up(error, attempts));
                }
                tokio::time::sleep(delay(&policy, attempts, error.retry_after())).await;
            }
        }
    }
}

/// Fails `future` with [`Error::Stalled`] when `meter` has not moved for
/// `stall` (a request that moves no body counts as stalled from its start).
pub(crate) async fn watch_stall<T>(
    meter: &Meter,
    stall: Duration,
    future: impl Future<Output = Result<T>>,
) -> Result<T> {
    tokio::pin!(future);
    let mut seen = meter.bytes();
    let mut since = Instant::now();
    let tick = Duration::from_millis(250).min(stall);
    loop {
        tokio::select! {
            output = &mut future => return output,
            _ = tokio::time::sleep(tick) => {
                let now = meter.bytes();
                if now != seen {
                    seen = now;
                    since = Instant::now();
                } else if since.elapsed() >= stall {
                    return Err(Error::Stalled { path: "chunk".into(), secs: stall.as_secs() });
                }
            }
        }
    }
}

/// Runs `send` over `chunks` with at most `simultaneous` at once, within
/// `call` (its cancel token and callbacks; no call-wide stall clock: each
/// chunk has its own). The first chunk that fails for good stops the others.
pub(crate) async fn run_chunks<F, Fut>(
    call: &mut Call<'_>,
    chunks: &[Chunk],
    simultaneous: u32,
    send: F,
) -> Result<()>
where
    F: Fn(Chunk) -> Fut,
    Fut: Future<Output = Result<()>>,
{
    let simultaneous = simultaneous.max(1) as usize;
    let work = async {
        let mut running = FuturesUnordered::new();
        let mut next = 0usize;
        loop {
            while running.len() < simultaneous && next < chunks.len() {
                running.push(send(chunks[next]));
                next += 1;
            }
            match running.next().await {
                None => return Ok(()),
                Some(Ok(())) => {}
                // Dropping `running` aborts the chunks in flight.
                Some(Err(error)) => return Err(error),
            }
        }
    };
    call.drive_unwatched(work).await?
}

/// `text` in standard base64 (tus's Upload-Metadata values).
pub(crate) fn base64(text: &[u8]) -> String {
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::with_capacity(text.len().div_ceil(3) * 4);
    for group in text.chunks(3) {
        let b = [
            group[0],
            group.get(1).copied().unwrap_or(0),
            group.get(2).copied().unwrap_or(0),
        ];
        let n = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
        for i in 0..4 {
            if i <= group.len() {
                out.push(ALPHABET[((n >> (18 - 6 * i)) & 63) as usize] as char);
            } else {
                out.push('=');
            }
        }
    }
    out
}

/// The MIME type resumable.js's `resumableType` and tus's `filetype` give
/// (upload.rs's rule for part types; unknown extensions are octet-stream).
pub(crate) fn mime_of(path: &Path) -> &'static str {
    path.file_name()
        .and_then(|name| content_type_of(&name.to_string_lossy()))
        .unwrap_or("application/octet-stream")
}

/// `request` with the caller's extra headers.
pub(crate) fn with_headers(
    request: reqwest::RequestBuilder,
    headers: &[(HeaderName, HeaderValue)],
) -> reqwest::RequestBuilder {
    headers.iter().fold(request, |request, (name, value)| {
        request.header(name, value)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_plan_is_resumable_js_one() {
        let mib = 1024 * 1024;
        let plan = resumable_plan(5 * mib + 10, mib);
        assert_eq!(plan.len(), 5);
        assert_eq!(plan[4].len, mib + 10);
        assert_eq!(plan.iter().map(|c| c.len).sum::<u64>(), 5 * mib + 10);
        // Under one chunk: one chunk with everything; twice less one byte: still one.
        assert_eq!(
            resumable_plan(10, mib),
            [Chunk {
                index: 0,
                offset: 0,
                len: 10
            }]
        );
        assert_eq!(resumable_plan(2 * mib - 1, mib).len(), 1);
        assert_eq!(resumable_plan(0, mib).len(), 1);
    }

    #[test]
    fn base64_is_standard() {
        assert_eq!(base64(b""), "");
        assert_eq!(base64(b"f"), "Zg==");
        assert_eq!(base64(b"fo"), "Zm8=");
        assert_eq!(base64(b"foo"), "Zm9v");
        assert_eq!(base64("été.mov".as_bytes()), "w6l0w6kubW92");
    }

    #[test]
    fn the_fingerprint_sees_an_edit_in_the_middle_with_the_time_put_back() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("big.bin");
        let mut bytes = vec![7u8; 3_000_000];
        std::fs::write(&path, &bytes).unwrap();
        let modified = std::fs::metadata(&path).unwrap().modified().unwrap();
        let first = fingerprint(&path).unwrap();
        std::thread::sleep(Duration::from_millis(20));
        bytes[1_500_000] = 8;
        std::fs::write(&path, &bytes).unwrap();
        std::fs::File::options()
            .write(true)
            .open(&path)
            .unwrap()
            .set_modified(modified)
            .unwrap();
        assert_eq!(
            std::fs::metadata(&path).unwrap().modified().unwrap(),
            modified
        );
        assert_ne!(first, fingerprint(&path).unwrap());
        // Small files are read whole through the edges.
        let small = dir.path().join("small.bin");
        std::fs::write(&small, b"abc").unwrap();
        assert_eq!(fingerprint(&small).unwrap().len(), 32);
        std::fs::write(&small, b"").unwrap();
        assert_eq!(fingerprint(&small).unwrap().len(), 32);
    }

    #[test]
    fn the_fingerprint_is_stable_and_follows_the_content() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("a.bin");
        std::fs::write(&path, vec![1u8; 300_000]).unwrap();
        let first = fingerprint(&path).unwrap();
        assert_eq!(first, fingerprint(&path).unwrap());
        assert_eq!(first.len(), 32);
        std::thread::sleep(Duration::from_millis(20));
        let mut bytes = vec![1u8; 300_000];
        bytes[299_999] = 2;
        std::fs::write(&path, bytes).unwrap();
        assert_ne!(first, fingerprint(&path).unwrap());
    }
}
