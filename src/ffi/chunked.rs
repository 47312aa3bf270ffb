//! `kitsu_chunked_*`: chunked uploads to upload services that speak
//! resumable.js or tus, on the client's connection settings.

use std::ffi::{c_char, c_int, c_void};
use std::mem::{offset_of, size_of};
use std::path::PathBuf;

use super::client::kitsu_client;
use super::{
    boundary, kitsu_progress_cb, kitsu_result, kitsu_transfer_options, write_opt_string, Failure,
};
use crate::error::Error;
use crate::transfer::{resumable, tus, ChunkedOptions, UrlStore};

/// Settings of a chunked upload, versioned by `struct_size` as
/// ::kitsu_transfer_options. Start from `KITSU_CHUNKED_OPTIONS_INIT`: every
/// field left zero (or NULL) means its default.
#[repr(C)]
pub struct kitsu_chunked_options {
    /// `sizeof(kitsu_chunked_options)`; 0 is refused.
    pub struct_size: usize,
    /// Bytes per chunk; 0: 1 MiB (resumable.js's default). resumable.js's
    /// last chunk takes the rest, up to twice this.
    pub chunk_size: u64,
    /// resumable.js: chunks in flight at once (1 to 64); 0: 3. tus sends
    /// its chunks one after the other.
    pub simultaneous: u32,
    /// resumable.js: non-zero skips the test GET before each chunk (on by
    /// default, so a restarted upload sends only what the server lacks).
    pub no_test_chunks: c_int,
    /// Extra headers on every request, a JSON object of strings
    /// (`{"X-Api-Key": "..."}`), or NULL. The client's token goes only to
    /// its own host; another service's credentials go here.
    pub headers_json: *const c_char,
    /// resumable.js's `resumableRelativePath`; NULL: the file's name.
    pub relative_path: *const c_char,
    /// tus: the JSON file keeping upload URLs so a new process resumes;
    /// NULL: `$XDG_STATE_HOME/libkitsu/tus-uploads.json` (or
    /// `~/.local/state/...`); `""`: none (resume only within one call).
    pub store_path: *const c_char,
    /// tus: non-zero deletes the upload on the server (tus termination)
    /// and forgets it when the call is cancelled or aborted, instead of
    /// keeping it to resume.
    pub terminate_on_cancel: c_int,
}

/// The chunked options (NULL: defaults).
///
/// # Safety
/// `options` is NULL or points to `options->struct_size` readable bytes
/// whose strings are NULL or NUL-terminated.
unsafe fn chunked_arg(options: *const kitsu_chunked_options) -> Result<ChunkedOptions, Failure> {
    let mut chunked = ChunkedOptions::default();
    if options.is_null() {
        return Ok(chunked);
    }
    type O = kitsu_chunked_options;
    let struct_size = std::ptr::addr_of!((*options).struct_size).read_unaligned();
    if struct_size < size_of::<usize>() {
        return Err(Error::InvalidParameter(format!(
            "kitsu_chunked_options.struct_size is {struct_size}: set it to sizeof(kitsu_chunked_options) \
             (KITSU_CHUNKED_OPTIONS_INIT does)"
        ))
        .into());
    }
    let holds = |offset: usize, size: usize| struct_size >= offset + size;
    if holds(offset_of!(O, chunk_size), size_of::<u64>()) {
        let value = std::ptr::addr_of!((*options).chunk_size).read_unaligned();
        if value > 0 {
            chunked.chunk_size = value;
        }
    }
    if holds(offset_of!(O, simultaneous), size_of::<u32>()) {
        let value = std::ptr::addr_of!((*options).simultaneous).read_unaligned();
        if value > 0 {
            chunked.simultaneous = value;
        }
    }
    if holds(offset_of!(O, no_test_chunks), size_of::<c_int>()) {
        chunked.test_chunks = std::ptr::addr_of!((*options).no_test_chunks).read_unaligned() == 0;
    }
    let text = |offset: usize, field: *const *const c_char, name: &'static str| {
        if !holds(offset, size_of::<*const c_char>()) {
            return Ok(None);
        }
        let pointer = field.read_unaligned();
        if pointer.is_null() {
            return Ok(None);
        }
        super::arg_str(pointer, name).map(|s| Some(s.to_string()))
    };
    if let Some(json) = text(
        offset_of!(O, headers_json),
        std::ptr::addr_of!((*options).headers_json),
        "headers_json",
    )? {
        chunked.headers = headers_from_json(&json)?;
    }
    chunked.relative_path = text(
        offset_of!(O, relative_path),
        std::ptr::addr_of!((*options).relative_path),
        "relative_path",
    )?;
    if let Some(store) = text(
        offset_of!(O, store_path),
        std::ptr::addr_of!((*options).store_path),
        "store_path",
    )? {
        chunked.store = if store.is_empty() {
            UrlStore::Off
        } else {
            UrlStore::At(PathBuf::from(store))
        };
    }
    if holds(offset_of!(O, terminate_on_cancel), size_of::<c_int>()) {
        chunked.terminate_on_cancel =
            std::ptr::addr_of!((*options).terminate_on_cancel).read_unaligned() != 0;
    }
    Ok(chunked)
}

/// `{"Name": "value", ...}` as header pairs.
pub(crate) fn headers_from_json(json: &str) -> Result<Vec<(String, String)>, Failure> {
    let value: serde_json::Value = serde_json::from_str(json)
        .map_err(|e| Error::InvalidParameter(format!("headers_json is not JSON: {e}")))?;
    let Some(object) = value.as_object() else {
        return Err(Error::InvalidParameter("headers_json must be a JSON object".into()).into());
    };
    object
        .iter()
        .map(|(name, value)| match value.as_str() {
            Some(text) => Ok((name.clone(), text.to_string())),
            None => Err(Error::InvalidParameter(format!(
                "headers_json: the value of {name:?} must be a string"
            ))
            .into()),
        })
        .collect()
}

/// Uploads `file_path` to `url` with the resumable.js protocol (flow.js
/// servers take it too): multipart POSTs of `chunk_size` bytes with
/// resumable.js's fields (`resumableChunkNumber` from 1,
/// `resumableChunkSize`, `resumableCurrentChunkSize`, `resumableTotalSize`,
/// `resumableType`, `resumableIdentifier`, `resumableFilename`,
/// `resumableRelativePath`, `resumableTotalChunks`) and the chunk as the
/// `file` part, `simultaneous` at once, each first asked for with a GET
/// (200: the server has it). `url` is absolute, or a route of the client's
/// host. The identifier is the file's size and a fingerprint of it, the
/// same in every run: an upload restarted after a crash or a cancel sends
/// only the chunks the server lacks. resumable.js's permanent errors (HTTP
/// 400, 404, 409, 415, 500, 501) stop the upload (their `KITSU_RESULT_*` code, such as `KITSU_RESULT_NOT_FOUND`);
/// other failures are tried again with backoff, as the retry settings say.
/// Progress counts bytes (chunks the server had count at once, a resent
/// chunk does not count twice); events give the chunk in `item_index` of
/// `item_count`. On success `*out_json` (when not NULL) receives
/// `{"upload": identifier, "chunks", "chunks_sent", "chunks_skipped",
/// "bytes_sent", "answer": the last chunk's answer}`, freed with
/// kitsu_string_free().
#[no_mangle]
pub unsafe extern "C" fn kitsu_chunked_upload_resumable(
    client: *const kitsu_client,
    url: *const c_char,
    file_path: *const c_char,
    chunked: *const kitsu_chunked_options,
    transfer: *const kitsu_transfer_options,
    progress: kitsu_progress_cb,
    user_data: *mut c_void,
    out_json: *mut *mut c_char,
) -> kitsu_result {
    chunked_upload(
        resumable::upload,
        client,
        url,
        file_path,
        chunked,
        transfer,
        progress,
        user_data,
        out_json,
    )
}

/// Uploads `file_path` to the tus 1.0 creation endpoint `url` (absolute,
/// or a route of the client's host): a POST with `Upload-Length` and
/// `Upload-Metadata` (filename, filetype) makes the upload, then PATCHes of
/// `chunk_size` bytes at the server's `Upload-Offset` send it, one after
/// the other. The upload's URL is kept in the store (see `store_path`)
/// under the endpoint and the file's fingerprint: a new process asks the
/// server for its offset (HEAD) and sends only the rest. After a failed
/// PATCH the offset is asked again before the next; a 409 conflict is
/// resolved the same way at once; a 4xx other than 409, 423 and 429 stops
/// the upload. On cancel the upload stays on the server to resume, or is
/// deleted with `terminate_on_cancel`. Progress and events as
/// kitsu_chunked_upload_resumable(); `*out_json`'s `upload` is the
/// upload's URL.
#[no_mangle]
pub unsafe extern "C" fn kitsu_chunked_upload_tus(
    client: *const kitsu_client,
    url: *const c_char,
    file_path: *const c_char,
    chunked: *const kitsu_chunked_options,
    transfer: *const kitsu_transfer_options,
    progress: kitsu_progress_cb,
    user_data: *mut c_void,
    out_json: *mut *mut c_char,
) -> kitsu_result {
    chunked_upload(
        tus::upload,
        client,
        url,
        file_path,
        chunked,
        transfer,
        progress,
        user_data,
        out_json,
    )
}

/// The core's upload function of a protocol.
type ChunkedUpload = fn(
    &crate::Client,
    &str,
    &std::path::Path,
    &ChunkedOptions,
    crate::TransferOptions<'_>,
) -> crate::Result<crate::transfer::ChunkedOutcome>;

/// What both entry points do, with the protocol's `upload`.
///
/// # Safety
/// As the entry points.
#[allow(clippy::too_many_arguments)]
unsafe fn chunked_upload(
    upload: ChunkedUpload,
    client: *const kitsu_client,
    url: *const c_char,
    file_path: *const c_char,
    chunked: *const kitsu_chunked_options,
    transfer: *const kitsu_transfer_options,
    progress: kitsu_progress_cb,
    user_data: *mut c_void,
    out_json: *mut *mut c_char,
) -> kitsu_result {
    boundary(|| {
        let client = arg!(client client);
        let url = arg!(str url);
        let file = arg!(path file_path);
        let chunked = chunked_arg(chunked)?;
        let mut transfer = arg!(transfer transfer, progress, user_data);
        let outcome = upload(&client, url, &file, &chunked, transfer.options())?;
        write_opt_string(out_json, outcome.to_json())
    })
}
