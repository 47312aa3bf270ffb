//! The C shell: result codes, the thread-local last error, the panic
//! boundary, argument conversion and owned strings, and the call context's
//! C types (options, events, cancel token). Entry points here and in the
//! submodules only check, convert, call the core once and map the result.
//!
//! The rules every pointer argument follows (valid for the call, NUL-terminated
//! strings, callbacks callable with their user data) are written once, in the
//! header's contract section, instead of a `# Safety` block per function.

#![allow(non_camel_case_types)]
#![allow(clippy::missing_safety_doc)]

use std::cell::RefCell;
use std::ffi::{c_char, c_int, c_void, CStr, CString};
use std::mem::{offset_of, size_of};
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::path::PathBuf;

use crate::error::Error;
use crate::transfer::{CancelToken, Event, Operation, Phase, TransferOptions};

/// Converts a C argument, naming it once: `arg!(str task_id)` is
/// `arg_str(task_id, "task_id")?`. Kinds: `client`, `str`, `opt_str`,
/// `path`, `out`, and `transfer options, progress, user_data`.
macro_rules! arg {
    (client $name:ident) => {
        $crate::ffi::client::client_arg($name)?
    };
    (str $name:ident) => {
        $crate::ffi::arg_str($name, stringify!($name))?
    };
    (opt_str $name:ident) => {
        $crate::ffi::arg_opt_str($name, stringify!($name))?
    };
    (path $name:ident) => {
        $crate::ffi::arg_path($name, stringify!($name))?
    };
    (out $name:ident) => {
        $crate::ffi::arg_out($name, stringify!($name))?
    };
    (transfer $name:ident, $progress:ident, $user_data:ident) => {
        $crate::ffi::transfer_arg($name, $progress, $user_data)?
    };
}

pub mod asset;
pub mod batch;
pub mod cancel;
pub mod chunked;
pub mod client;
pub mod files;
pub mod person;
pub mod playlist;
pub mod project;
pub mod shot;
pub mod task;

/// Result of every fallible libkitsu call. The numbers are stable forever:
/// never renumbered, never reused. Ranges: usage 1xxx, transfer 2xxx,
/// HTTP/server 3xxx, local files 4xxx, control 5xxx, internal 9xxx.
#[repr(u32)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum kitsu_result {
    /// Success.
    Ok = 0,
    /// A required pointer argument was NULL.
    NullParameter = 1000,
    /// An argument has a wrong value (bad URL, bad JSON, a folder as target...).
    InvalidParameter = 1001,
    /// The caller's buffer was too small; the output was truncated.
    BufferTooSmall = 1002,
    /// A string argument is not valid UTF-8.
    InvalidUtf8 = 1003,
    /// A blocking libkitsu call was made from inside a progress callback.
    ReentrantCall = 1004,
    /// Connection refused or reset, DNS failure, protocol error.
    Network = 2000,
    /// The connection could not be set up within the connect timeout.
    ConnectTimeout = 2001,
    /// No byte moved for the stall timeout.
    Stalled = 2002,
    /// TLS handshake or certificate verification failed.
    Tls = 2003,
    /// The connection closed before the whole body (Content-Length) arrived.
    IncompleteBody = 2004,
    /// An HTTP error status without a more specific code below.
    HttpStatus = 3000,
    /// 400: the server refused a parameter (gazu's ParameterException).
    BadRequest = 3400,
    /// 401: not logged in, or the token expired and could not be refreshed.
    Unauthorized = 3401,
    /// 403: not allowed (gazu's NotAllowedException).
    Forbidden = 3403,
    /// 404: no such route or record (gazu's RouteNotFoundException).
    NotFound = 3404,
    /// 405: method not allowed.
    MethodNotAllowed = 3405,
    /// 413: the file is too big for the server or its proxy.
    PayloadTooLarge = 3413,
    /// 422: validation failed (gazu's ValidationException).
    Unprocessable = 3422,
    /// 429: too many requests; see the message (and retry later).
    TooManyRequests = 3429,
    /// 500 and other 5xx without a code of their own (gazu's ServerErrorException).
    ServerError = 3500,
    /// 502: bad gateway.
    BadGateway = 3502,
    /// 503: service unavailable, such as Zou's media limiter; retry later.
    ServiceUnavailable = 3503,
    /// 504: gateway timeout.
    GatewayTimeout = 3504,
    /// Log-in refused: wrong credentials, locked account, 2FA required.
    AuthFailed = 3600,
    /// A 202 "preview still processing" lasted past the processing timeout.
    ProcessingTimeout = 3601,
    /// A 2xx upload answer carried an error message (gazu's UploadFailedException).
    UploadFailed = 3602,
    /// The server's answer is not what the route promises (not JSON, not UTF-8).
    InvalidResponse = 3603,
    /// An answer held in memory (JSON, kitsu_client_get_bytes()) is larger
    /// than the cap of kitsu_client_set_max_memory_answer().
    AnswerTooLarge = 3604,
    /// Local I/O error (permissions, disk full...).
    Io = 4000,
    /// A local file or folder does not exist.
    FileNotFound = 4001,
    /// A download target (or what a symlink there points to) is a device,
    /// FIFO or socket: refused before any request.
    NotARegularFile = 4002,
    /// A callback (progress or event) returned non-zero; nothing was left behind.
    AbortedByCallback = 5000,
    /// The call's ::kitsu_cancel_token was cancelled; nothing was left behind.
    Cancelled = 5001,
    /// Some items of a batch failed, the others succeeded: see
    /// kitsu_batch_item_result() for each.
    BatchIncomplete = 5002,
    /// A panic inside libkitsu was caught at the boundary. Please report it.
    Panic = 9000,
    // 9001 (FEATURE_NOT_ENABLED) is retired: no feature is ever compiled out.
}

/// What the table says of one result code.
pub struct CodeInfo {
    /// A short, static description (NUL-terminated for C).
    pub description: &'static CStr,
    /// The HTTP status that gives this code, if one does.
    pub http_status: Option<u16>,
}

impl kitsu_result {
    /// Every code, for `kitsu_result_str` and the status lookup (checked
    /// against the header's enum by tests/header.rs).
    pub const ALL: &'static [kitsu_result] = &[
        kitsu_result::Ok,
        kitsu_result::NullParameter,
        kitsu_result::InvalidParameter,
        kitsu_result::BufferTooSmall,
        kitsu_result::InvalidUtf8,
        kitsu_result::ReentrantCall,
        kitsu_result::Network,
        kitsu_result::ConnectTimeout,
        kitsu_result::Stalled,
        kitsu_result::Tls,
        kitsu_result::IncompleteBody,
        kitsu_result::HttpStatus,
        kitsu_result::BadRequest,
        kitsu_result::Unauthorized,
        kitsu_result::Forbidden,
        kitsu_result::NotFound,
        kitsu_result::MethodNotAllowed,
        kitsu_result::PayloadTooLarge,
        kitsu_result::Unprocessable,
        kitsu_result::TooManyRequests,
        kitsu_result::ServerError,
        kitsu_result::BadGateway,
        kitsu_result::ServiceUnavailable,
        kitsu_result::GatewayTimeout,
        kitsu_result::AuthFailed,
        kitsu_result::ProcessingTimeout,
        kitsu_result::UploadFailed,
        kitsu_result::InvalidResponse,
        kitsu_result::AnswerTooLarge,
        kitsu_result::Io,
        kitsu_result::FileNotFound,
        kitsu_result::NotARegularFile,
        kitsu_result::AbortedByCallback,
        kitsu_result::Cancelled,
        kitsu_result::BatchIncomplete,
        kitsu_result::Panic,
    ];

    /// The one table of result codes: description and HTTP status.
    pub fn info(self) -> CodeInfo {
        use kitsu_result::*;
        let (description, http_status): (&'static CStr, Option<u16>) = match self {
            Ok => (c"success", None),
            NullParameter => (c"a required pointer argument was NULL", None),
            InvalidParameter => (c"invalid argument", None),
            BufferTooSmall => (c"buffer too small; output truncated", None),
            InvalidUtf8 => (c"a string argument is not valid UTF-8", None),
            ReentrantCall => (c"libkitsu called from inside its own callback", None),
            Network => (c"network error", None),
            ConnectTimeout => (c"connect timeout", None),
            Stalled => (
                c"transfer stalled: no byte moved for the stall timeout",
                None,
            ),
            Tls => (c"TLS error", None),
            IncompleteBody => (c"connection closed before the whole body arrived", None),
            HttpStatus => (c"HTTP error status", None),
            BadRequest => (c"HTTP 400 bad request", Some(400)),
            Unauthorized => (c"HTTP 401 not authenticated", Some(401)),
            Forbidden => (c"HTTP 403 not allowed", Some(403)),
            NotFound => (c"HTTP 404 not found", Some(404)),
            MethodNotAllowed => (c"HTTP 405 method not allowed", Some(405)),
            PayloadTooLarge => (c"HTTP 413 file too big for the server", Some(413)),
            Unprocessable => (c"HTTP 422 validation failed", Some(422)),
            TooManyRequests => (c"HTTP 429 too many requests", Some(429)),
            ServerError => (c"HTTP 5xx server error", Some(500)),
            BadGateway => (c"HTTP 502 bad gateway", Some(502)),
            ServiceUnavailable => (c"HTTP 503 service unavailable", Some(503)),
            GatewayTimeout => (c"HTTP 504 gateway timeout", Some(504)),
            AuthFailed => (c"authentication failed", None),
            ProcessingTimeout => (
                c"the preview was still processing after the processing timeout",
                None,
            ),
            UploadFailed => (c"the server refused the upload", None),
            InvalidResponse => (c"invalid response from the server", None),
            AnswerTooLarge => (
                c"the answer is larger than the cap on answers held in memory",
                None,
            ),
            Io => (c"local I/O error", None),
            FileNotFound => (c"file not found", None),
            NotARegularFile => (c"the target is a device, FIFO or socket", None),
            AbortedByCallback => (c"aborted by a callback", None),
            Cancelled => (c"cancelled through the cancel token", None),
            BatchIncomplete => (c"some items of the batch failed", None),
            Panic => (c"internal error (panic caught)", None),
        };
        CodeInfo {
            description,
            http_status,
        }
    }

    pub fn description(self) -> &'static CStr {
        self.info().description
    }

    /// The code of an HTTP error status: its own, or the 5xx or generic one.
    pub fn for_http_status(status: u16) -> kitsu_result {
        Self::ALL
            .iter()
            .copied()
            .find(|code| code.info().http_status == Some(status))
            .unwrap_or(if (500..600).contains(&status) {
                kitsu_result::ServerError
            } else {
                kitsu_result::HttpStatus
            })
    }
}

/// The one mapping from core errors to result codes.
pub(crate) fn result_of(error: &Error) -> kitsu_result {
    use kitsu_result as R;
    match error.root() {
        Error::InvalidParameter(_) => R::InvalidParameter,
        Error::ReentrantCall => R::ReentrantCall,
        Error::Network { .. } | Error::Connect { .. } => R::Network,
        Error::ConnectTimeout { .. } => R::ConnectTimeout,
        Error::Stalled { .. } => R::Stalled,
        Error::Tls { .. } => R::Tls,
        Error::IncompleteBody { .. } => R::IncompleteBody,
        Error::Http { status, .. } => R::for_http_status(*status),
        Error::AuthFailed { .. } => R::AuthFailed,
        Error::ProcessingTimeout { .. } => R::ProcessingTimeout,
        Error::UploadFailed { .. } => R::UploadFailed,
        Error::InvalidResponse { .. } => R::InvalidResponse,
        Error::AnswerTooLarge { .. } => R::AnswerTooLarge,
        Error::NotARegularFile { .. } => R::NotARegularFile,
        Error::FileNotFound { .. } => R::FileNotFound,
        Error::Io { .. } => R::Io,
        Error::AbortedByCallback => R::AbortedByCallback,
        Error::Cancelled => R::Cancelled,
        Error::BatchIncomplete { .. } => R::BatchIncomplete,
        Error::Panic(_) => R::Panic,
        Error::Retried { .. } => unreachable!("root() is never Retried"),
    }
}

/// A failure at the boundary: the core's, or one of the C arguments.
pub(crate) enum Failure {
    Core(Error),
    Null(&'static str),
    Utf8(&'static str),
}

impl From<Error> for Failure {
    fn from(error: Error) -> Failure {
        Failure::Core(error)
    }
}

struct LastError {
    code: kitsu_result,
    http_status: i32,
    message: String,
    attempts: u32,
    retry_after: Option<u64>,
}

thread_local! {
    static LAST_ERROR: RefCell<Option<LastError>> = const { RefCell::new(None) };
}

fn record(failure: Failure) -> kitsu_result {
    let (code, http_status, message, attempts, retry_after) = match failure {
        Failure::Core(error) => (
            result_of(&error),
            error.http_status().map(i32::from).unwrap_or(0),
            error.to_string(),
            error.attempts(),
            error.retry_after(),
        ),
        Failure::Null(name) => (
            kitsu_result::NullParameter,
            0,
            format!("argument `{name}` must not be NULL"),
            0,
            None,
        ),
        Failure::Utf8(name) => (
            kitsu_result::InvalidUtf8,
            0,
            format!("argument `{name}` is not valid UTF-8"),
            0,
            None,
        ),
    };
    LAST_ERROR.with(|last| {
        *last.borrow_mut() = Some(LastError {
            code,
            http_status,
            message,
            attempts,
            retry_after,
        })
    });
    code
}

fn panic_text(payload: &(dyn std::any::Any + Send)) -> String {
    if let Some(s) = payload.downcast_ref::<&str>() {
        s.to_string()
    } else if let Some(s) = payload.downcast_ref::<String>() {
        s.clone()
    } else {
        "unknown panic".into()
    }
}

/// The panic boundary every fallible entry point runs in: a panic becomes
/// `KITSU_RESULT_PANIC` with its text in the last error, never an unwind into C.
pub(crate) fn boundary(body: impl FnOnce() -> Result<(), Failure>) -> kitsu_result {
    match quietly(|| catch_unwind(AssertUnwindSafe(body))) {
        Ok(Ok(())) => kitsu_result::Ok,
        Ok(Err(failure)) => record(failure),
        Err(payload) => record(Failure::Core(Error::Panic(panic_message(&*payload)))),
    }
}

/// The boundary for entry points that return nothing (the `_free` functions).
pub(crate) fn boundary_void(body: impl FnOnce()) {
    if let Err(payload) = quietly(|| catch_unwind(AssertUnwindSafe(body))) {
        record(Failure::Core(Error::Panic(panic_message(&*payload))));
    }
}

thread_local! {
    /// Inside a boundary on this thread: a panic here is caught and
    /// reported through the last error, so it must not print.
    static IN_BOUNDARY: std::cell::Cell<u32> = const { std::cell::Cell::new(0) };
    /// Where the last caught panic happened, for its message.
    static PANIC_LOCATION: RefCell<Option<String>> = const { RefCell::new(None) };
}

/// Runs `body` with panics silenced on this thread: the host's stderr (a
/// DCC's console) is not ours to write to, and the message goes into the
/// last error instead. Panics elsewhere still reach the previous hook.
fn quietly<T>(body: impl FnOnce() -> T) -> T {
    static INSTALL: std::sync::Once = std::sync::Once::new();
    INSTALL.call_once(|| {
        let previous = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info| {
            if IN_BOUNDARY.with(|depth| depth.get()) > 0 {
                let location = info
                    .location()
                    .map(|l| format!("{}:{}", l.file(), l.line()));
                PANIC_LOCATION.with(|last| *last.borrow_mut() = location);
            } else {
                previous(info);
            }
        }));
    });
    struct Leave;
    impl Drop for Leave {
        fn drop(&mut self) {
            IN_BOUNDARY.with(|depth| depth.set(depth.get().saturating_sub(1)));
        }
    }
    IN_BOUNDARY.with(|depth| depth.set(depth.get() + 1));
    let _leave = Leave;
    body()
}

/// A caught panic's text, with where it happened when known.
fn panic_message(payload: &(dyn std::any::Any + Send)) -> String {
    let text = panic_text(payload);
    match PANIC_LOCATION.with(|last| last.borrow_mut().take()) {
        Some(location) => format!("{text} (at {location})"),
        None => text,
    }
}

/// A required C string argument as `&str`.
///
/// # Safety
/// `ptr` is NULL or a NUL-terminated string valid for the call.
pub(crate) unsafe fn arg_str<'a>(
    ptr: *const c_char,
    name: &'static str,
) -> Result<&'a str, Failure> {
    if ptr.is_null() {
        return Err(Failure::Null(name));
    }
    CStr::from_ptr(ptr)
        .to_str()
        .map_err(|_| Failure::Utf8(name))
}

/// An optional C string argument (NULL gives `None`).
///
/// # Safety
/// As [`arg_str`].
pub(crate) unsafe fn arg_opt_str<'a>(
    ptr: *const c_char,
    name: &'static str,
) -> Result<Option<&'a str>, Failure> {
    if ptr.is_null() {
        Ok(None)
    } else {
        arg_str(ptr, name).map(Some)
    }
}

/// A required path argument (UTF-8 on every platform).
///
/// # Safety
/// As [`arg_str`].
pub(crate) unsafe fn arg_path(ptr: *const c_char, name: &'static str) -> Result<PathBuf, Failure> {
    arg_str(ptr, name).map(PathBuf::from)
}

/// A required output pointer.
pub(crate) fn arg_out<T>(ptr: *mut T, name: &'static str) -> Result<*mut T, Failure> {
    if ptr.is_null() {
        Err(Failure::Null(name))
    } else {
        Ok(ptr)
    }
}

/// Text handed to C, freed only by `kitsu_string_free`.
pub(crate) fn owned_c_string(text: String) -> Result<*mut c_char, Failure> {
    CString::new(text).map(CString::into_raw).map_err(|_| {
        Failure::Core(Error::InvalidParameter(
            "the answer holds a NUL byte, so it cannot be returned as a C string".into(),
        ))
    })
}

/// Writes an owned string to an optional `char **out` (NULL: discarded).
///
/// # Safety
/// `out` is NULL or valid for a write.
pub(crate) unsafe fn write_opt_string(out: *mut *mut c_char, text: String) -> Result<(), Failure> {
    if !out.is_null() {
        *out = owned_c_string(text)?;
    }
    Ok(())
}

/// `typedef int (*kitsu_progress_cb)(uint64_t bytes_read, uint64_t total, void *user_data);`
///
/// The simple progress callback of every transfer: see "Progress" in the
/// contract at the top. Return `KITSU_PROGRESS_CONTINUE` (0) to go on; any
/// other value aborts the transfer (`KITSU_RESULT_ABORTED_BY_CALLBACK`),
/// leaving nothing behind.
pub type kitsu_progress_cb =
    Option<unsafe extern "C" fn(bytes_read: u64, total: u64, user_data: *mut c_void) -> c_int>;

/// What an operation moves (::kitsu_progress_event's `operation`).
#[repr(u32)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum kitsu_operation {
    Download = 1,
    Upload = 2,
    /// A batch's own events (kitsu_batch_run()); its items report as
    /// downloads or uploads.
    Batch = 3,
}

/// Where a call is (::kitsu_progress_event's `phase`); see the contract's
/// "Events" section. New phases may be added after these: treat an unknown
/// one as "busy".
#[repr(u32)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum kitsu_phase {
    /// A request is on its way and its answer's headers are awaited.
    Connecting = 1,
    /// The server asked to wait (HTTP 202 with Retry-After: Zou still
    /// processing a preview); `deadline_ms` is the processing timeout.
    Waiting = 2,
    /// Bytes are moving (for an upload, also while its answer is awaited
    /// after the last byte: see `message`).
    Transferring = 3,
    /// Waiting before another attempt.
    Retrying = 4,
    /// The call succeeded; always its last event.
    Done = 5,
    /// A batch item waits for a free slot (one event per item when the run starts).
    Queued = 6,
    /// A batch item failed (`message` says why; its last event), or a batch
    /// ended with failed items (the batch's last event).
    Failed = 7,
}

/// A rich progress event, given to a ::kitsu_event_cb. Borrowed: the
/// pointers are valid only during the callback.
#[repr(C)]
pub struct kitsu_progress_event {
    /// `sizeof(kitsu_progress_event)` of the library that made it: a program
    /// built with a newer header reads only the fields that fit.
    pub struct_size: usize,
    pub operation: kitsu_operation,
    pub phase: kitsu_phase,
    /// The route of the request in flight (`"data/preview-files/<id>"`).
    pub key: *const c_char,
    /// The local file being written or read, or NULL.
    pub file: *const c_char,
    /// A short human text, such as "the server is processing the file (202,
    /// Retry-After 5 s): 12 s of 60 s". Never NULL.
    pub message: *const c_char,
    /// Bytes moved so far by the whole call (never decreases).
    pub bytes_done: u64,
    /// Total bytes of the call; 0 while unknown.
    pub total: u64,
    /// Milliseconds spent in this phase.
    pub elapsed_ms: u64,
    /// The phase's time limit in milliseconds, counted like `elapsed_ms`; 0 when none.
    pub deadline_ms: u64,
    /// 1 for the first attempt.
    pub attempt: u32,
    /// The file (0-based) within a multi-file upload or a composite, of `item_count`.
    pub item_index: u32,
    pub item_count: u32,
}

/// `typedef int (*kitsu_event_cb)(const kitsu_progress_event *event, void *user_data);`
///
/// Called on the calling thread, as ::kitsu_progress_cb: at every phase
/// change, at most about 10 times a second while bytes move, and at least
/// once a second in every phase. Return 0 to go on; any other value aborts
/// (`KITSU_RESULT_ABORTED_BY_CALLBACK`).
pub type kitsu_event_cb = Option<
    unsafe extern "C" fn(event: *const kitsu_progress_event, user_data: *mut c_void) -> c_int,
>;

/// Per-call options of every transfer, versioned by `struct_size`. Start from
/// `KITSU_TRANSFER_OPTIONS_INIT` (or zero the struct and set `struct_size =
/// sizeof(kitsu_transfer_options)`): every field left zero means its default.
/// The library reads only the fields that fit in `struct_size`, so a program
/// built against an older header keeps working with a newer library.
#[repr(C)]
pub struct kitsu_transfer_options {
    /// `sizeof(kitsu_transfer_options)`; 0 is refused (`KITSU_RESULT_INVALID_PARAMETER`).
    pub struct_size: usize,
    /// Cancels the call from any thread; NULL for none. Borrowed for the call.
    pub cancel: *const cancel::kitsu_cancel_token,
    /// Rich progress events; NULL for none.
    pub on_event: kitsu_event_cb,
    /// Handed to `on_event`, never dereferenced by libkitsu.
    pub event_user_data: *mut c_void,
    /// Attempts in a row without progress for this call (1: no retry); 0:
    /// the client's (kitsu_client_set_retry_policy(), default 5).
    pub max_attempts: u32,
    /// The backoff before the second attempt, doubling after; 0: the client's (500 ms).
    pub initial_delay_ms: u32,
    /// The longest wait, the server's Retry-After included; 0: the client's (30 s).
    pub max_delay_ms: u32,
    /// Non-zero: a failed or cancelled download keeps its bytes beside the
    /// target (`.<name>.kitsu-partial` and a small `.json` sidecar) and the
    /// next call with `resume` for the same route and target continues from
    /// them. 0 (the default): nothing is ever left behind.
    pub resume: c_int,
    /// A file download in up to this many ranged requests at once, written
    /// at their offsets into the one temporary file (for links where one
    /// connection is capped; segments are at least 1 MiB). Used only where
    /// the server answers ranges, and not with `resume`. 0 or 1: one stream.
    pub segments: u32,
    /// Non-zero: compute the SHA-256 of the file moved while its bytes
    /// stream (no second read of what streamed in order), into `result`.
    pub checksum: c_int,
    /// Filled when the call returns, successful or not (NULL: none wanted):
    /// see ::kitsu_transfer_result. Set its `struct_size` first.
    pub result: *mut kitsu_transfer_result,
}

/// What a transfer did, written by the library into the caller's struct
/// named in ::kitsu_transfer_options `result` when the call returns
/// (successful or not). Versioned by `struct_size` as the options are: set
/// it to `sizeof(kitsu_transfer_result)`; the library writes only the
/// fields that fit. A batch's items have one each
/// (kitsu_batch_item_receipt()); kitsu_batch_run() leaves its own zero.
#[repr(C)]
pub struct kitsu_transfer_result {
    /// `sizeof(kitsu_transfer_result)`, set by the caller.
    pub struct_size: usize,
    /// The HTTP status of the last answer; 0 when none came.
    pub http_status: u32,
    /// The most attempts one request of the call took (1: no retry).
    pub attempts: u32,
    /// File bytes moved: the file's length for a download; the files' for
    /// an upload; what moved so far when the call failed.
    pub bytes: u64,
    /// 1 when `sha256` holds the file's digest (asked with `checksum`, and
    /// the call succeeded); else 0.
    pub has_sha256: c_int,
    /// The SHA-256 of the file (of the first file of a multi-file upload).
    pub sha256: [u8; 32],
    /// The same as 64 lowercase hex digits and a NUL, as `sha256sum` prints it.
    pub sha256_hex: [c_char; 65],
}

/// A C progress callback with its user data, as the core calls it.
type BoxedProgress = Box<crate::transfer::ProgressFn<'static>>;
/// A C event callback with its user data, as the core calls it.
type BoxedEvent = Box<crate::transfer::EventFn<'static>>;

/// The callbacks and token of one C call, in the form the core takes them.
pub(crate) struct CallbackSet {
    progress: Option<BoxedProgress>,
    on_event: Option<BoxedEvent>,
    cancel: Option<CancelToken>,
    retry: crate::transfer::RetryOverride,
    resume: bool,
    segments: u32,
    checksum: bool,
    /// Filled by the call; written to `result_out` when the set is dropped
    /// (at the end of the entry point, whatever its outcome).
    receipt: crate::transfer::Receipt,
    result_out: *mut kitsu_transfer_result,
}

impl Drop for CallbackSet {
    fn drop(&mut self) {
        // SAFETY: `result_out` is NULL or the caller's struct, valid for the
        // call (the contract of kitsu_transfer_options), with its struct_size set.
        unsafe { write_result(self.result_out, &self.receipt) };
    }
}

/// A caller's result struct must say its size (0 is a struct left unset).
///
/// # Safety
/// `out` points to a readable `struct_size` field.
pub(crate) unsafe fn check_result_size(out: *const kitsu_transfer_result) -> Result<(), Failure> {
    let size = std::ptr::addr_of!((*out).struct_size).read_unaligned();
    if size < size_of::<usize>() {
        return Err(Error::InvalidParameter(format!(
            "kitsu_transfer_result.struct_size is {size}: set it to sizeof(kitsu_transfer_result)"
        ))
        .into());
    }
    Ok(())
}

/// Writes `receipt` into the caller's result struct, the fields that fit
/// in its `struct_size`.
///
/// # Safety
/// `out` is NULL or points to `out->struct_size` writable bytes.
pub(crate) unsafe fn write_result(
    out: *mut kitsu_transfer_result,
    receipt: &crate::transfer::Receipt,
) {
    type R = kitsu_transfer_result;
    if out.is_null() {
        return;
    }
    let struct_size = std::ptr::addr_of!((*out).struct_size).read_unaligned();
    let fits = |offset: usize, size: usize| holds(struct_size, offset, size);
    if fits(offset_of!(R, http_status), size_of::<u32>()) {
        std::ptr::addr_of_mut!((*out).http_status).write_unaligned(u32::from(receipt.status));
    }
    if fits(offset_of!(R, attempts), size_of::<u32>()) {
        std::ptr::addr_of_mut!((*out).attempts).write_unaligned(receipt.attempts);
    }
    if fits(offset_of!(R, bytes), size_of::<u64>()) {
        std::ptr::addr_of_mut!((*out).bytes).write_unaligned(receipt.bytes);
    }
    let digest = receipt.sha256.first();
    if fits(offset_of!(R, has_sha256), size_of::<c_int>()) {
        std::ptr::addr_of_mut!((*out).has_sha256).write_unaligned(c_int::from(digest.is_some()));
    }
    if fits(offset_of!(R, sha256), 32) {
        std::ptr::addr_of_mut!((*out).sha256).write_unaligned(digest.copied().unwrap_or([0; 32]));
    }
    if fits(offset_of!(R, sha256_hex), 65) {
        let mut text = [0 as c_char; 65];
        if let Some(digest) = digest {
            for (slot, byte) in text
                .iter_mut()
                .zip(crate::transfer::checksum::hex(digest).bytes())
            {
                *slot = byte as c_char;
            }
        }
        std::ptr::addr_of_mut!((*out).sha256_hex).write_unaligned(text);
    }
}

impl CallbackSet {
    /// The call's options, borrowing the callbacks.
    pub(crate) fn options(&mut self) -> TransferOptions<'_> {
        TransferOptions {
            progress: self
                .progress
                .as_deref_mut()
                .map(|f| f as &mut crate::transfer::ProgressFn),
            on_event: self
                .on_event
                .as_deref_mut()
                .map(|f| f as &mut crate::transfer::EventFn),
            cancel: self.cancel.clone(),
            retry: self.retry,
            resume: self.resume,
            segments: self.segments,
            checksum: self.checksum,
            receipt: Some(&mut self.receipt),
        }
    }
}

/// True when a struct of `struct_size` bytes holds the whole field at
/// `offset` of `size` bytes.
fn holds(struct_size: usize, offset: usize, size: usize) -> bool {
    struct_size >= offset + size
}

/// The options (NULL: defaults) and the simple callback of a transfer.
///
/// # Safety
/// `options` is NULL or points to `options->struct_size` readable bytes;
/// the callbacks are callable with their user data during the call; the
/// cancel token, if any, is live.
pub(crate) unsafe fn transfer_arg(
    options: *const kitsu_transfer_options,
    progress: kitsu_progress_cb,
    user_data: *mut c_void,
) -> Result<CallbackSet, Failure> {
    // SAFETY (both adapters): the caller promised the callbacks are callable
    // with their user data during the call; the core calls them on this thread only.
    let mut set = CallbackSet {
        progress: progress.map(|f| {
            Box::new(move |done, total| unsafe { f(done, total, user_data) } == 0) as BoxedProgress
        }),
        on_event: None,
        cancel: None,
        retry: crate::transfer::RetryOverride::default(),
        resume: false,
        segments: 0,
        checksum: false,
        receipt: crate::transfer::Receipt::default(),
        result_out: std::ptr::null_mut(),
    };
    if options.is_null() {
        return Ok(set);
    }
    type O = kitsu_transfer_options;
    let struct_size = std::ptr::addr_of!((*options).struct_size).read_unaligned();
    if struct_size < size_of::<usize>() {
        return Err(Error::InvalidParameter(format!(
            "kitsu_transfer_options.struct_size is {struct_size}: set it to sizeof(kitsu_transfer_options) \
             (KITSU_TRANSFER_OPTIONS_INIT does)"
        ))
        .into());
    }
    if holds(
        struct_size,
        offset_of!(O, cancel),
        size_of::<*const c_void>(),
    ) {
        let token = std::ptr::addr_of!((*options).cancel).read_unaligned();
        if !token.is_null() {
            set.cancel = Some(CancelToken::clone_from_raw(token.cast()));
        }
    }
    let mut on_event: kitsu_event_cb = None;
    let mut event_user_data = std::ptr::null_mut();
    if holds(
        struct_size,
        offset_of!(O, on_event),
        size_of::<kitsu_event_cb>(),
    ) {
        on_event = std::ptr::addr_of!((*options).on_event).read_unaligned();
    }
    if holds(
        struct_size,
        offset_of!(O, event_user_data),
        size_of::<*mut c_void>(),
    ) {
        event_user_data = std::ptr::addr_of!((*options).event_user_data).read_unaligned();
    }
    let read_u32 = |offset: usize, field: *const u32| {
        if holds(struct_size, offset, size_of::<u32>()) {
            field.read_unaligned()
        } else {
            0
        }
    };
    let max_attempts = read_u32(
        offset_of!(O, max_attempts),
        std::ptr::addr_of!((*options).max_attempts),
    );
    let initial_delay = read_u32(
        offset_of!(O, initial_delay_ms),
        std::ptr::addr_of!((*options).initial_delay_ms),
    );
    let max_delay = read_u32(
        offset_of!(O, max_delay_ms),
        std::ptr::addr_of!((*options).max_delay_ms),
    );
    set.retry = retry_override(max_attempts, initial_delay, max_delay);
    if holds(struct_size, offset_of!(O, resume), size_of::<c_int>()) {
        set.resume = std::ptr::addr_of!((*options).resume).read_unaligned() != 0;
    }
    set.segments = read_u32(
        offset_of!(O, segments),
        std::ptr::addr_of!((*options).segments),
    );
    if holds(struct_size, offset_of!(O, checksum), size_of::<c_int>()) {
        set.checksum = std::ptr::addr_of!((*options).checksum).read_unaligned() != 0;
    }
    if holds(struct_size, offset_of!(O, result), size_of::<*mut c_void>()) {
        let out = std::ptr::addr_of!((*options).result).read_unaligned();
        if !out.is_null() {
            check_result_size(out)?;
            set.result_out = out;
        }
    }
    set.on_event = on_event.map(|f| {
        Box::new(move |event: &Event<'_>| {
            let key = c_text(event.key);
            let file = event.file.map(|p| c_text(&p.to_string_lossy()));
            let message = c_text(event.message);
            let c_event = kitsu_progress_event {
                struct_size: size_of::<kitsu_progress_event>(),
                operation: match event.operation {
                    Operation::Download => kitsu_operation::Download,
                    Operation::Upload => kitsu_operation::Upload,
                    Operation::Batch => kitsu_operation::Batch,
                },
                phase: match event.phase {
                    Phase::Connecting => kitsu_phase::Connecting,
                    Phase::Waiting => kitsu_phase::Waiting,
                    Phase::Transferring => kitsu_phase::Transferring,
                    Phase::Retrying => kitsu_phase::Retrying,
                    Phase::Done => kitsu_phase::Done,
                    Phase::Queued => kitsu_phase::Queued,
                    Phase::Failed => kitsu_phase::Failed,
                },
                key: key.as_ptr(),
                file: file.as_ref().map_or(std::ptr::null(), |f| f.as_ptr()),
                message: message.as_ptr(),
                bytes_done: event.bytes_done,
                total: event.total,
                elapsed_ms: millis(event.elapsed),
                deadline_ms: event.deadline.map_or(0, millis),
                attempt: event.attempt,
                item_index: event.item_index,
                item_count: event.item_count,
            };
            unsafe { f(&c_event, event_user_data) == 0 }
        }) as BoxedEvent
    });
    Ok(set)
}

/// A call's own retry settings from its options' fields (0: the client's).
pub(crate) fn retry_override(
    max_attempts: u32,
    initial_delay_ms: u32,
    max_delay_ms: u32,
) -> crate::transfer::RetryOverride {
    let ms = |value: u32| (value > 0).then(|| std::time::Duration::from_millis(u64::from(value)));
    crate::transfer::RetryOverride {
        max_attempts: (max_attempts > 0).then_some(max_attempts),
        initial_delay: ms(initial_delay_ms),
        max_delay: ms(max_delay_ms),
    }
}

/// Text for C; an inner NUL (impossible in routes and paths from C) cuts it.
fn c_text(text: &str) -> CString {
    let end = text.find('\0').unwrap_or(text.len());
    CString::new(&text[..end]).unwrap_or_default()
}

fn millis(duration: std::time::Duration) -> u64 {
    u64::try_from(duration.as_millis()).unwrap_or(u64::MAX)
}

/// `options_json` (NULL: gazu's defaults), checked against the function's keys.
///
/// # Safety
/// `ptr` is NULL or a NUL-terminated string.
pub(crate) unsafe fn arg_options(
    ptr: *const c_char,
    allowed: &[&str],
) -> Result<crate::api::Options, Failure> {
    let json = arg_opt_str(ptr, "options_json")?;
    Ok(crate::api::Options::parse(json, allowed)?)
}

// ---------------------------------------------------------------------------
// Entry points that belong to no object.

/// The library's version, "MAJOR.MINOR.PATCH". Static; never free it.
/// Safe from any thread.
#[no_mangle]
pub extern "C" fn kitsu_version() -> *const c_char {
    static VERSION: &CStr = {
        match CStr::from_bytes_with_nul(concat!(env!("CARGO_PKG_VERSION"), "\0").as_bytes()) {
            Ok(v) => v,
            Err(_) => panic!("version string"),
        }
    };
    VERSION.as_ptr()
}

/// The ABI version this library implements; compare it with
/// `KITSU_ABI_VERSION` from the header you compiled against. Safe from any thread.
#[no_mangle]
pub extern "C" fn kitsu_abi_version() -> u32 {
    crate::ABI_VERSION
}

/// A static description of a result code (a `kitsu_result` value; taken as
/// `uint32_t`, which is what `kitsu_result` is in C, so an unknown number is
/// safe). Never free it. Safe from any thread.
#[no_mangle]
pub extern "C" fn kitsu_result_str(result: u32) -> *const c_char {
    kitsu_result::ALL
        .iter()
        .find(|code| **code as u32 == result)
        .map(|code| code.description())
        .unwrap_or(c"unknown result code")
        .as_ptr()
}

/// Copies the calling thread's last error message into `buf` (NUL-terminated
/// UTF-8, truncated to fit on a character boundary) and sets `*out_len`
/// (when not NULL) to the message's full length in bytes, without the NUL.
/// Pass `buf = NULL, len = 0` to ask for the length only.
/// Returns `KITSU_RESULT_BUFFER_TOO_SMALL` when the message was truncated
/// (the last error is kept, so the caller can retry with a larger buffer).
/// With no error recorded the message is empty. `KITSU_ERROR_SIZE` is a
/// comfortable size. Successful calls do not clear the last error.
///
/// # Safety
/// `buf` is NULL or valid for `len` bytes; `out_len` is NULL or valid.
#[no_mangle]
pub unsafe extern "C" fn kitsu_last_error_message(
    buf: *mut c_char,
    len: usize,
    out_len: *mut usize,
) -> kitsu_result {
    // Not through `boundary`: reading the last error must not replace it.
    let message = LAST_ERROR.with(|last| {
        last.borrow()
            .as_ref()
            .map(|e| e.message.clone())
            .unwrap_or_default()
    });
    copy_text(&message, buf, len, out_len)
}

/// Copies `text` into a caller's buffer as kitsu_last_error_message()
/// describes (NUL-terminated, cut on a character boundary, full length in
/// `*out_len`; `buf` NULL with `len` 0 asks for the length only).
///
/// # Safety
/// `buf` is NULL or valid for `len` bytes; `out_len` is NULL or valid.
pub(crate) unsafe fn copy_text(
    text: &str,
    buf: *mut c_char,
    len: usize,
    out_len: *mut usize,
) -> kitsu_result {
    if !out_len.is_null() {
        *out_len = text.len();
    }
    if buf.is_null() {
        return if len == 0 {
            kitsu_result::Ok
        } else {
            kitsu_result::NullParameter
        };
    }
    if len == 0 {
        return kitsu_result::BufferTooSmall;
    }
    let mut take = text.len().min(len - 1);
    while !text.is_char_boundary(take) {
        take -= 1;
    }
    std::ptr::copy_nonoverlapping(text.as_ptr(), buf.cast::<u8>(), take);
    *buf.add(take) = 0;
    if take < text.len() {
        kitsu_result::BufferTooSmall
    } else {
        kitsu_result::Ok
    }
}

/// The result code of the calling thread's last error (`KITSU_RESULT_OK` when none).
#[no_mangle]
pub extern "C" fn kitsu_last_error_code() -> kitsu_result {
    LAST_ERROR.with(|last| {
        last.borrow()
            .as_ref()
            .map(|e| e.code)
            .unwrap_or(kitsu_result::Ok)
    })
}

/// The HTTP status behind the calling thread's last error, or 0 when the
/// last error had none (a network or local error, or no error).
#[no_mangle]
pub extern "C" fn kitsu_last_error_http_status() -> i32 {
    LAST_ERROR.with(|last| last.borrow().as_ref().map(|e| e.http_status).unwrap_or(0))
}

/// How many attempts the call behind the calling thread's last error made
/// (1 when it did not retry; 0 when no request was made or there is no error).
#[no_mangle]
pub extern "C" fn kitsu_last_error_attempts() -> u32 {
    LAST_ERROR.with(|last| last.borrow().as_ref().map(|e| e.attempts).unwrap_or(0))
}

/// The server's `Retry-After` in the last answer behind the calling
/// thread's last error, in seconds (an HTTP date is converted), or -1 when
/// it sent none.
#[no_mangle]
pub extern "C" fn kitsu_last_error_retry_after() -> i64 {
    LAST_ERROR.with(|last| {
        last.borrow()
            .as_ref()
            .and_then(|e| e.retry_after)
            .map(|secs| i64::try_from(secs).unwrap_or(i64::MAX))
            .unwrap_or(-1)
    })
}

/// Forgets the calling thread's last error.
#[no_mangle]
pub extern "C" fn kitsu_last_error_clear() {
    LAST_ERROR.with(|last| *last.borrow_mut() = None);
}

/// Frees a string returned by libkitsu (an `out_json`). NULL is a no-op.
/// Never pass such strings to `free()`, nor these functions anything else.
///
/// # Safety
/// `text` is NULL or a string from libkitsu not freed before.
#[no_mangle]
pub unsafe extern "C" fn kitsu_string_free(text: *mut c_char) {
    boundary_void(|| {
        if !text.is_null() {
            drop(CString::from_raw(text));
        }
    })
}

/// Frees bytes returned by `kitsu_client_get_bytes`, with the length it gave.
/// NULL is a no-op.
///
/// # Safety
/// `data`/`len` are exactly what `kitsu_client_get_bytes` returned, not freed before.
#[no_mangle]
pub unsafe extern "C" fn kitsu_bytes_free(data: *mut u8, len: usize) {
    boundary_void(|| {
        if !data.is_null() {
            drop(Box::from_raw(std::ptr::slice_from_raw_parts_mut(data, len)));
        }
    })
}

/// Test hook for the test suite: panics inside the boundary, proving that a
/// panic comes back as `KITSU_RESULT_PANIC` with its message in the last
/// error instead of unwinding into the caller. Only in builds with the
/// `test-panic` feature (the tests enable it), never in the release ABI or
/// the header; tests/c/contract.c declares it itself.
#[cfg(feature = "test-panic")]
#[no_mangle]
pub extern "C" fn kitsu_test_panic() -> kitsu_result {
    boundary(|| panic!("kitsu_test_panic was called"))
}
