//! `kitsu_client_*`: the client handle, auth, settings and the generic
//! transfers every gazu-named function is built on.

use std::ffi::{c_char, c_int, c_void};
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use super::{
    arg_path, boundary, boundary_void, kitsu_progress_cb, kitsu_result, kitsu_transfer_options,
    owned_c_string, write_opt_string, Failure,
};
use crate::api::{form_fields_from_json, raw};
use crate::client::Client;
use crate::error::Error;

/// A connection to one Kitsu server: host, settings, tokens, and the threads
/// that move bytes. Thread-safe: one client may run transfers from several
/// threads at once. Create with `kitsu_client_new`, free once with
/// `kitsu_client_free` after every call on it has returned.
pub struct kitsu_client {
    _private: [u8; 0],
}

/// Borrows the client for one call. The clone keeps it alive even if another
/// thread (wrongly) frees it meanwhile, and makes the last drop (which joins
/// the runtime's threads) happen outside the runtime.
///
/// # Safety
/// `ptr` is NULL or a pointer from `kitsu_client_new` not yet freed.
pub(crate) unsafe fn client_arg(ptr: *const kitsu_client) -> Result<Arc<Client>, Failure> {
    if ptr.is_null() {
        return Err(Failure::Null("client"));
    }
    let raw = ptr.cast::<Client>();
    Arc::increment_strong_count(raw);
    Ok(Arc::from_raw(raw))
}

/// Creates a client for `host`, written as users write it:
/// `"https://kitsu.example.com/api"`. Nothing is sent yet. On success `*out`
/// receives the client, to be freed with `kitsu_client_free`.
#[no_mangle]
pub unsafe extern "C" fn kitsu_client_new(
    host: *const c_char,
    out: *mut *mut kitsu_client,
) -> kitsu_result {
    boundary(|| {
        let host = arg!(str host);
        let out = arg!(out out);
        let client = Client::new(host)?;
        *out = Arc::into_raw(Arc::new(client)) as *mut kitsu_client;
        Ok(())
    })
}

/// Frees a client: closes its connections and stops and joins every thread
/// it started, so a plugin can be unloaded afterwards. NULL is a no-op.
/// Call it once, after every other call on this client has returned.
#[no_mangle]
pub unsafe extern "C" fn kitsu_client_free(client: *mut kitsu_client) {
    boundary_void(|| {
        if !client.is_null() {
            drop(Arc::from_raw(client.cast::<Client>().cast_const()));
        }
    })
}

/// Logs in (POST `auth/login`) and keeps the tokens for later calls. On
/// success `*out_json` (when `out_json` is not NULL) receives the server's
/// answer (user, organisation, tokens), to be freed with `kitsu_string_free`.
/// A wrong password gives `KITSU_RESULT_AUTH_FAILED` with the server's
/// message. Note that Zou locks an account for a minute after 5 wrong passwords.
#[no_mangle]
pub unsafe extern "C" fn kitsu_client_log_in(
    client: *const kitsu_client,
    email: *const c_char,
    password: *const c_char,
    out_json: *mut *mut c_char,
) -> kitsu_result {
    boundary(|| {
        let client = arg!(client client);
        let email = arg!(str email);
        let password = arg!(str password);
        let answer = client.log_in(email, password)?;
        write_opt_string(out_json, answer)
    })
}

/// Logs out (GET `auth/logout`) and forgets the tokens. The tokens are
/// forgotten even when the server refuses; only a failure to reach the
/// server is reported.
#[no_mangle]
pub unsafe extern "C" fn kitsu_client_log_out(client: *const kitsu_client) -> kitsu_result {
    boundary(|| {
        let client = arg!(client client);
        client.log_out()?;
        Ok(())
    })
}

/// Sets the tokens directly, as gazu's `set_token` does (for example tokens
/// kept from an earlier session). `refresh` may be NULL: without it an
/// expired access token cannot be renewed. `access` may be NULL to forget it.
#[no_mangle]
pub unsafe extern "C" fn kitsu_client_set_tokens(
    client: *const kitsu_client,
    access: *const c_char,
    refresh: *const c_char,
) -> kitsu_result {
    boundary(|| {
        let client = arg!(client client);
        let access = arg!(opt_str access);
        let refresh = arg!(opt_str refresh);
        client.set_tokens(access, refresh);
        Ok(())
    })
}

/// The tokens the client holds now, after any refresh it made: `*out_access`
/// and `*out_refresh` receive copies (free them with kitsu_string_free()),
/// or NULL where the client has none. For handing a session to another
/// client (gazu's, through libkitsu.accelerate_gazu()), or keeping it.
#[no_mangle]
pub unsafe extern "C" fn kitsu_client_get_tokens(
    client: *const kitsu_client,
    out_access: *mut *mut c_char,
    out_refresh: *mut *mut c_char,
) -> kitsu_result {
    boundary(|| {
        let client = arg!(client client);
        let out_access = arg!(out out_access);
        let out_refresh = arg!(out out_refresh);
        let (access, refresh) = client.tokens();
        let access = access.map(owned_c_string).transpose()?;
        let refresh = match refresh.map(owned_c_string).transpose() {
            Ok(refresh) => refresh,
            Err(failure) => {
                if let Some(access) = access {
                    drop(std::ffi::CString::from_raw(access));
                }
                return Err(failure);
            }
        };
        *out_access = access.unwrap_or(std::ptr::null_mut());
        *out_refresh = refresh.unwrap_or(std::ptr::null_mut());
        Ok(())
    })
}

/// Turns TLS certificate verification on (non-zero, the default) or off
/// (0: only for test servers; anyone on the path can then read the traffic).
#[no_mangle]
pub unsafe extern "C" fn kitsu_client_set_tls_verify(
    client: *const kitsu_client,
    verify: c_int,
) -> kitsu_result {
    boundary(|| {
        let client = arg!(client client);
        client.update_config(|config| config.tls_verify = verify != 0)?;
        Ok(())
    })
}

/// Trusts the CA certificates of a PEM bundle file, on top of the system's
/// and Mozilla's roots (for a studio's own CA). NULL removes the bundle.
/// A missing file gives `KITSU_RESULT_FILE_NOT_FOUND`, a file with no PEM
/// certificate `KITSU_RESULT_INVALID_PARAMETER`.
#[no_mangle]
pub unsafe extern "C" fn kitsu_client_set_ca_bundle(
    client: *const kitsu_client,
    pem_path: *const c_char,
) -> kitsu_result {
    boundary(|| {
        let client = arg!(client client);
        let path = arg!(opt_str pem_path).map(PathBuf::from);
        client.update_config(|config| config.ca_bundle = path)?;
        Ok(())
    })
}

/// Seconds allowed to set up a connection (TCP and TLS). Default 30; at least 1.
#[no_mangle]
pub unsafe extern "C" fn kitsu_client_set_connect_timeout(
    client: *const kitsu_client,
    seconds: u32,
) -> kitsu_result {
    boundary(|| {
        let client = arg!(client client);
        client.update_config(|config| {
            config.connect_timeout = Duration::from_secs(u64::from(seconds))
        })?;
        Ok(())
    })
}

/// Seconds without a byte moving (either way, answer awaited included) after
/// which a transfer fails with `KITSU_RESULT_STALLED`. Default 60; at least 1.
/// There is no total timeout: a large transfer is never killed by a clock.
#[no_mangle]
pub unsafe extern "C" fn kitsu_client_set_stall_timeout(
    client: *const kitsu_client,
    seconds: u32,
) -> kitsu_result {
    boundary(|| {
        let client = arg!(client client);
        client.update_config(|config| {
            config.stall_timeout = Duration::from_secs(u64::from(seconds))
        })?;
        Ok(())
    })
}

/// Seconds a download waits out 202 "preview still processing" answers
/// (honouring `Retry-After`) before `KITSU_RESULT_PROCESSING_TIMEOUT`.
/// Default 60, as gazu; 0 fails at the first 202.
#[no_mangle]
pub unsafe extern "C" fn kitsu_client_set_processing_timeout(
    client: *const kitsu_client,
    seconds: u32,
) -> kitsu_result {
    boundary(|| {
        let client = arg!(client client);
        client.update_config(|config| {
            config.processing_timeout = Duration::from_secs(u64::from(seconds))
        })?;
        Ok(())
    })
}

/// Sets how this client's calls try again (each call's options may set
/// their own): `max_attempts` in a row without progress (1 turns retries
/// off; default 5), the backoff before the second attempt
/// `initial_delay_ms` (default 500, doubling for each further one, with
/// full jitter), and the longest wait `max_delay_ms` (default 30000; a
/// server's Retry-After is honoured up to it). 0 for a value keeps the
/// current one. What is retried: connect errors, broken connections,
/// stalls, cut bodies, HTTP 408, 429, 500, 502, 503, 504; each entry
/// point's header documentation says when a request that creates
/// something is sent again (only when the server surely did not act).
#[no_mangle]
pub unsafe extern "C" fn kitsu_client_set_retry_policy(
    client: *const kitsu_client,
    max_attempts: u32,
    initial_delay_ms: u32,
    max_delay_ms: u32,
) -> kitsu_result {
    boundary(|| {
        let client = arg!(client client);
        let change = super::retry_override(max_attempts, initial_delay_ms, max_delay_ms);
        client.update_config(|config| config.retry = change.over(config.retry))?;
        Ok(())
    })
}

/// The largest answer held in memory (a JSON answer, kitsu_client_get_bytes()),
/// in bytes; a larger one fails with `KITSU_RESULT_ANSWER_TOO_LARGE` without
/// taking the memory. Default 256 MiB; at least 1.
#[no_mangle]
pub unsafe extern "C" fn kitsu_client_set_max_memory_answer(
    client: *const kitsu_client,
    bytes: u64,
) -> kitsu_result {
    boundary(|| {
        let client = arg!(client client);
        client.update_config(|config| config.max_memory_answer = bytes)?;
        Ok(())
    })
}

/// Downloads `path` (relative to the host, as gazu's routes: `"pictures/thumbnails/persons/<id>.png"`)
/// to `target_path`. The body streams to a temporary file beside the
/// target, renamed onto it only once the whole body arrived and matched
/// Content-Length. On any failure or abort the temporary file is removed and
/// a file already at `target_path` is left untouched; an error answer is
/// never written anywhere. A 202 "preview still processing" answer is waited
/// out (see `kitsu_client_set_processing_timeout`). `progress` may be NULL.
#[no_mangle]
pub unsafe extern "C" fn kitsu_client_download(
    client: *const kitsu_client,
    path: *const c_char,
    target_path: *const c_char,
    transfer: *const kitsu_transfer_options,
    progress: kitsu_progress_cb,
    user_data: *mut c_void,
) -> kitsu_result {
    boundary(|| {
        let client = arg!(client client);
        let path = arg!(str path);
        let target = arg!(path target_path);
        let mut transfer = arg!(transfer transfer, progress, user_data);
        raw::blocking::download(&client, path, &target, transfer.options())?;
        Ok(())
    })
}

/// Downloads `path` into memory (gazu's `get_file_data_from_url`). On success
/// `*out_data` and `*out_len` receive the bytes, to be freed with
/// `kitsu_bytes_free(*out_data, *out_len)`. Same status handling, 202 wait
/// and progress contract as `kitsu_client_download`.
#[no_mangle]
pub unsafe extern "C" fn kitsu_client_get_bytes(
    client: *const kitsu_client,
    path: *const c_char,
    transfer: *const kitsu_transfer_options,
    progress: kitsu_progress_cb,
    user_data: *mut c_void,
    out_data: *mut *mut u8,
    out_len: *mut usize,
) -> kitsu_result {
    boundary(|| {
        let client = arg!(client client);
        let path = arg!(str path);
        let out_data = arg!(out out_data);
        let out_len = arg!(out out_len);
        let mut transfer = arg!(transfer transfer, progress, user_data);
        let data = raw::blocking::get_file_data_from_url(&client, path, transfer.options())?;
        let boxed = data.into_boxed_slice();
        *out_len = boxed.len();
        *out_data = Box::into_raw(boxed).cast::<u8>();
        Ok(())
    })
}

/// Uploads files as one streaming multipart/form-data POST to `path`, at
/// constant memory whatever their size. The parts are named `file`,
/// `file-1`, `file-2`... in the order given, each with the file's base name
/// as filename, after the fields of `form_json` (an object of extra form
/// fields, or NULL: strings are sent as is, booleans as `True`/`False` like
/// gazu, arrays and objects as JSON text, nulls are left out). Progress
/// counts file bytes handed to the connection; `total` is the sum of the
/// file sizes. On success `*out_json` (when not NULL) receives the server's
/// JSON answer, freed with `kitsu_string_free`. A 2xx answer carrying an
/// error message gives `KITSU_RESULT_UPLOAD_FAILED`.
#[no_mangle]
pub unsafe extern "C" fn kitsu_client_upload(
    client: *const kitsu_client,
    path: *const c_char,
    file_paths: *const *const c_char,
    file_count: usize,
    form_json: *const c_char,
    transfer: *const kitsu_transfer_options,
    progress: kitsu_progress_cb,
    user_data: *mut c_void,
    out_json: *mut *mut c_char,
) -> kitsu_result {
    boundary(|| {
        let client = arg!(client client);
        let path = arg!(str path);
        let files = path_list(file_paths, file_count)?;
        let fields = match arg!(opt_str form_json) {
            Some(json) => form_fields_from_json(json)?,
            None => Vec::new(),
        };
        let mut transfer = arg!(transfer transfer, progress, user_data);
        let answer = raw::blocking::upload(&client, path, &files, &fields, transfer.options())?;
        write_opt_string(out_json, answer)
    })
}

/// A C array of `count` paths; at least one.
///
/// # Safety
/// `paths` is NULL or holds `count` pointers, each NULL or NUL-terminated.
pub(crate) unsafe fn path_list(
    paths: *const *const c_char,
    count: usize,
) -> Result<Vec<PathBuf>, Failure> {
    if paths.is_null() {
        return Err(Failure::Null("file_paths"));
    }
    if count == 0 {
        return Err(
            Error::InvalidParameter("file_count is 0: give at least one file".into()).into(),
        );
    }
    path_list_or_empty(paths, count, "file_paths")
}

/// A C array of `count` paths, possibly none (then `paths` may be NULL).
///
/// # Safety
/// As [`path_list`].
pub(crate) unsafe fn path_list_or_empty(
    paths: *const *const c_char,
    count: usize,
    name: &'static str,
) -> Result<Vec<PathBuf>, Failure> {
    if count == 0 {
        return Ok(Vec::new());
    }
    if paths.is_null() {
        return Err(Failure::Null(name));
    }
    std::slice::from_raw_parts(paths, count)
        .iter()
        .map(|&p| arg_path(p, name))
        .collect()
}

/// GET `path`; on success `*out_json` receives the answer's text (`null`
/// for an empty body), freed with `kitsu_string_free`. Reaches any Zou route.
#[no_mangle]
pub unsafe extern "C" fn kitsu_client_get(
    client: *const kitsu_client,
    path: *const c_char,
    out_json: *mut *mut c_char,
) -> kitsu_result {
    boundary(|| {
        let client = arg!(client client);
        let path = arg!(str path);
        let out = arg!(out out_json);
        write_opt_string(out, client.get(path)?)
    })
}

/// POST `json_body` (a JSON text, or NULL for no body) to `path`; on success
/// `*out_json` receives the answer's text, freed with `kitsu_string_free`.
#[no_mangle]
pub unsafe extern "C" fn kitsu_client_post(
    client: *const kitsu_client,
    path: *const c_char,
    json_body: *const c_char,
    out_json: *mut *mut c_char,
) -> kitsu_result {
    boundary(|| {
        let client = arg!(client client);
        let path = arg!(str path);
        let body = arg!(opt_str json_body);
        let out = arg!(out out_json);
        write_opt_string(out, client.post(path, body)?)
    })
}

/// PUT `json_body` (a JSON text, or NULL for no body) to `path`; on success
/// `*out_json` receives the answer's text, freed with `kitsu_string_free`.
#[no_mangle]
pub unsafe extern "C" fn kitsu_client_put(
    client: *const kitsu_client,
    path: *const c_char,
    json_body: *const c_char,
    out_json: *mut *mut c_char,
) -> kitsu_result {
    boundary(|| {
        let client = arg!(client client);
        let path = arg!(str path);
        let body = arg!(opt_str json_body);
        let out = arg!(out out_json);
        write_opt_string(out, client.put(path, body)?)
    })
}

/// DELETE `path`; on success `*out_json` receives the answer's text
/// (`null` for an empty body), freed with `kitsu_string_free`.
#[no_mangle]
pub unsafe extern "C" fn kitsu_client_delete(
    client: *const kitsu_client,
    path: *const c_char,
    out_json: *mut *mut c_char,
) -> kitsu_result {
    boundary(|| {
        let client = arg!(client client);
        let path = arg!(str path);
        let out = arg!(out out_json);
        write_opt_string(out, client.delete(path)?)
    })
}
