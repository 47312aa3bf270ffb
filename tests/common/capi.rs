//! Calls the library through its C ABI (the exported `kitsu_*` functions,
//! exactly as C does), with small helpers for strings, results and progress.
#![allow(dead_code)]

use std::ffi::{c_char, c_int, c_void, CStr, CString};
use std::path::Path;

pub use kitsu::ffi::client::kitsu_client;
use kitsu::ffi::client::*;
pub use kitsu::ffi::kitsu_result;
use kitsu::ffi::*;
pub use kitsu::ffi::{kitsu_phase, kitsu_progress_event, kitsu_transfer_options};

/// A failed call: the result code, the last error's HTTP status and message.
#[derive(Debug, Clone)]
pub struct ApiError {
    pub code: kitsu_result,
    pub http_status: i32,
    pub message: String,
}

pub type ApiResult<T> = Result<T, ApiError>;

pub fn c(text: &str) -> CString {
    CString::new(text).unwrap()
}

pub fn cpath(path: &Path) -> CString {
    CString::new(path.to_str().unwrap()).unwrap()
}

/// Maps a result code to `Ok` or the last error.
pub fn check(code: kitsu_result) -> ApiResult<()> {
    if code == kitsu_result::Ok {
        return Ok(());
    }
    let mut len = 0usize;
    let mut buf = vec![0u8; 4096];
    // SAFETY: the buffer is valid for its length.
    unsafe { kitsu_last_error_message(buf.as_mut_ptr().cast(), buf.len(), &mut len) };
    let message = CStr::from_bytes_until_nul(&buf)
        .unwrap()
        .to_string_lossy()
        .into_owned();
    Err(ApiError {
        code,
        http_status: kitsu_last_error_http_status(),
        message,
    })
}

/// Takes ownership of a string returned by the library.
pub fn take_string(ptr: *mut c_char) -> String {
    assert!(!ptr.is_null(), "the library returned no string");
    // SAFETY: a string from the library, freed once here.
    unsafe {
        let text = CStr::from_ptr(ptr).to_string_lossy().into_owned();
        kitsu_string_free(ptr);
        text
    }
}

/// Records progress calls and the thread they came on.
#[derive(Default, Debug)]
pub struct Progress {
    pub calls: Vec<(u64, u64)>,
    pub foreign_thread: bool,
    pub caller: Option<std::thread::ThreadId>,
}

impl Progress {
    pub fn new() -> Progress {
        Progress {
            caller: Some(std::thread::current().id()),
            ..Default::default()
        }
    }

    pub fn user_data(&mut self) -> *mut c_void {
        (self as *mut Progress).cast()
    }

    /// Checks the whole contract on a finished successful transfer. Before
    /// the answer's headers (a 202 wait) heartbeats may come as `(0, 0)`:
    /// the total is not known yet; then it is set once.
    pub fn assert_contract(&self, total: u64, done: u64, what: &str) {
        assert!(!self.calls.is_empty(), "{what}: no progress call");
        let unknown = self.calls.iter().take_while(|&&c| c == (0, 0)).count();
        let calls = if total > 0 {
            &self.calls[unknown..]
        } else {
            &self.calls[..]
        };
        assert!(
            !calls.is_empty(),
            "{what}: only heartbeats {:?}",
            self.calls
        );
        assert_eq!(
            calls[0],
            (0, total),
            "{what}: first call {:?}",
            &calls[..calls.len().min(3)]
        );
        assert_eq!(
            *self.calls.last().unwrap(),
            (done, total),
            "{what}: last call"
        );
        for pair in self.calls.windows(2) {
            assert!(
                pair[1].0 >= pair[0].0,
                "{what}: decreasing {:?}",
                self.calls
            );
        }
        assert!(
            calls.iter().all(|&(d, t)| t == total && (t == 0 || d <= t)),
            "{what}: bounds {:?}",
            self.calls
        );
        assert!(!self.foreign_thread, "{what}: callback on another thread");
    }
}

/// The progress callback, as C code would pass it.
pub unsafe extern "C" fn record_progress(done: u64, total: u64, user_data: *mut c_void) -> c_int {
    let progress = &mut *user_data.cast::<Progress>();
    if Some(std::thread::current().id()) != progress.caller {
        progress.foreign_thread = true;
    }
    progress.calls.push((done, total));
    0
}

pub const PROGRESS: kitsu_progress_cb = Some(record_progress);

/// One recorded event: phase, message, deadline, bytes, total.
#[derive(Debug, Clone)]
pub struct SeenEvent {
    pub phase: kitsu_phase,
    pub message: String,
    pub key: String,
    pub deadline_ms: u64,
    pub bytes_done: u64,
    pub total: u64,
}

/// Records rich events and whether one came on another thread.
#[derive(Default, Debug)]
pub struct Events {
    pub seen: Vec<SeenEvent>,
    pub foreign_thread: bool,
    pub caller: Option<std::thread::ThreadId>,
}

impl Events {
    pub fn new() -> Events {
        Events {
            caller: Some(std::thread::current().id()),
            ..Default::default()
        }
    }

    /// Options that deliver events here (valid while `self` lives and does not move).
    pub fn options(&mut self) -> kitsu_transfer_options {
        kitsu_transfer_options {
            struct_size: std::mem::size_of::<kitsu_transfer_options>(),
            cancel: std::ptr::null(),
            on_event: Some(record_event),
            event_user_data: (self as *mut Events).cast(),
            max_attempts: 0,
            initial_delay_ms: 0,
            max_delay_ms: 0,
            resume: 0,
            segments: 0,
            checksum: 0,
            result: std::ptr::null_mut(),
        }
    }

    /// The phases in order, each change once.
    pub fn phases(&self) -> Vec<kitsu_phase> {
        let mut phases: Vec<kitsu_phase> = Vec::new();
        for event in &self.seen {
            if phases.last() != Some(&event.phase) {
                phases.push(event.phase);
            }
        }
        phases
    }
}

unsafe extern "C" fn record_event(
    event: *const kitsu_progress_event,
    user_data: *mut c_void,
) -> c_int {
    let events = &mut *user_data.cast::<Events>();
    let event = &*event;
    if Some(std::thread::current().id()) != events.caller {
        events.foreign_thread = true;
    }
    let text = |p: *const c_char| {
        if p.is_null() {
            String::new()
        } else {
            CStr::from_ptr(p).to_string_lossy().into_owned()
        }
    };
    events.seen.push(SeenEvent {
        phase: event.phase,
        message: text(event.message),
        key: text(event.key),
        deadline_ms: event.deadline_ms,
        bytes_done: event.bytes_done,
        total: event.total,
    });
    0
}

/// An owned client handle.
pub struct Client(pub *mut kitsu_client);

// The library documents kitsu_client as thread-safe.
unsafe impl Send for Client {}
unsafe impl Sync for Client {}

impl Client {
    pub fn new(host: &str) -> ApiResult<Client> {
        let mut out = std::ptr::null_mut();
        // SAFETY: valid strings and out pointer.
        check(unsafe { kitsu_client_new(c(host).as_ptr(), &mut out) })?;
        Ok(Client(out))
    }

    /// Turns retries off: for tests of how one failure is reported.
    pub fn try_once(&self) {
        // SAFETY: a valid client.
        check(unsafe { kitsu::ffi::client::kitsu_client_set_retry_policy(self.0, 1, 0, 0) })
            .unwrap();
    }

    pub fn ptr(&self) -> *const kitsu_client {
        self.0
    }

    pub fn log_in(&self, email: &str, password: &str) -> ApiResult<serde_json::Value> {
        let mut out = std::ptr::null_mut();
        check(unsafe {
            kitsu_client_log_in(self.0, c(email).as_ptr(), c(password).as_ptr(), &mut out)
        })?;
        Ok(serde_json::from_str(&take_string(out)).unwrap())
    }

    pub fn set_tokens(&self, access: Option<&str>, refresh: Option<&str>) {
        let access = access.map(c);
        let refresh = refresh.map(c);
        check(unsafe {
            kitsu_client_set_tokens(
                self.0,
                access.as_ref().map_or(std::ptr::null(), |s| s.as_ptr()),
                refresh.as_ref().map_or(std::ptr::null(), |s| s.as_ptr()),
            )
        })
        .unwrap();
    }

    pub fn get(&self, path: &str) -> ApiResult<serde_json::Value> {
        let mut out = std::ptr::null_mut();
        check(unsafe { kitsu_client_get(self.0, c(path).as_ptr(), &mut out) })?;
        Ok(serde_json::from_str(&take_string(out)).unwrap())
    }

    pub fn post(&self, path: &str, body: &serde_json::Value) -> ApiResult<serde_json::Value> {
        let mut out = std::ptr::null_mut();
        let body = c(&body.to_string());
        check(unsafe { kitsu_client_post(self.0, c(path).as_ptr(), body.as_ptr(), &mut out) })?;
        Ok(serde_json::from_str(&take_string(out)).unwrap())
    }

    pub fn put(&self, path: &str, body: &serde_json::Value) -> ApiResult<serde_json::Value> {
        let mut out = std::ptr::null_mut();
        let body = c(&body.to_string());
        check(unsafe { kitsu_client_put(self.0, c(path).as_ptr(), body.as_ptr(), &mut out) })?;
        Ok(serde_json::from_str(&take_string(out)).unwrap())
    }

    pub fn delete(&self, path: &str) -> ApiResult<serde_json::Value> {
        let mut out = std::ptr::null_mut();
        check(unsafe { kitsu_client_delete(self.0, c(path).as_ptr(), &mut out) })?;
        Ok(serde_json::from_str(&take_string(out)).unwrap())
    }

    pub fn download(
        &self,
        path: &str,
        target: &Path,
        progress: Option<&mut Progress>,
    ) -> ApiResult<()> {
        self.download_with(path, target, NO_OPTIONS, progress)
    }

    /// A download with transfer options.
    pub fn download_with(
        &self,
        path: &str,
        target: &Path,
        options: *const kitsu_transfer_options,
        progress: Option<&mut Progress>,
    ) -> ApiResult<()> {
        let (cb, ud) = callback(progress);
        check(unsafe {
            kitsu_client_download(
                self.0,
                c(path).as_ptr(),
                cpath(target).as_ptr(),
                options,
                cb,
                ud,
            )
        })
    }

    pub fn get_bytes(&self, path: &str) -> ApiResult<Vec<u8>> {
        let mut data = std::ptr::null_mut();
        let mut len = 0usize;
        check(unsafe {
            kitsu_client_get_bytes(
                self.0,
                c(path).as_ptr(),
                NO_OPTIONS,
                None,
                std::ptr::null_mut(),
                &mut data,
                &mut len,
            )
        })?;
        // SAFETY: bytes returned by the library, freed once with their length.
        let bytes = unsafe { std::slice::from_raw_parts(data, len) }.to_vec();
        unsafe { kitsu_bytes_free(data, len) };
        Ok(bytes)
    }

    pub fn upload(
        &self,
        path: &str,
        files: &[&Path],
        form: Option<&serde_json::Value>,
        progress: Option<&mut Progress>,
    ) -> ApiResult<serde_json::Value> {
        let paths: Vec<CString> = files.iter().map(|p| cpath(p)).collect();
        let pointers: Vec<*const c_char> = paths.iter().map(|p| p.as_ptr()).collect();
        let form = form.map(|f| c(&f.to_string()));
        let (cb, ud) = callback(progress);
        let mut out = std::ptr::null_mut();
        check(unsafe {
            kitsu_client_upload(
                self.0,
                c(path).as_ptr(),
                pointers.as_ptr(),
                pointers.len(),
                form.as_ref().map_or(std::ptr::null(), |f| f.as_ptr()),
                NO_OPTIONS,
                cb,
                ud,
                &mut out,
            )
        })?;
        Ok(serde_json::from_str(&take_string(out)).unwrap())
    }
}

impl Drop for Client {
    fn drop(&mut self) {
        unsafe { kitsu_client_free(self.0) };
    }
}

/// NULL options: every transfer's defaults.
pub const NO_OPTIONS: *const kitsu_transfer_options = std::ptr::null();

pub fn callback(progress: Option<&mut Progress>) -> (kitsu_progress_cb, *mut c_void) {
    match progress {
        Some(p) => (PROGRESS, p.user_data()),
        None => (None, std::ptr::null_mut()),
    }
}

/// An optional C string argument.
pub fn opt_ptr(text: &Option<CString>) -> *const c_char {
    text.as_ref().map_or(std::ptr::null(), |s| s.as_ptr())
}
