//! `kitsu_batch_*`: many transfers in one call, N in flight at once.

use std::ffi::{c_char, c_void};
use std::sync::{Arc, Mutex, MutexGuard, TryLockError};

use super::client::{client_arg, kitsu_client, path_list};
use super::{
    boundary, boundary_void, check_result_size, copy_text, kitsu_progress_cb, kitsu_result,
    kitsu_transfer_options, kitsu_transfer_result, result_of, write_opt_string, write_result,
    Failure,
};
use crate::api::batch::{Batch, Item};
use crate::api::files::PreviewKind;
use crate::api::form_fields_from_json;
use crate::client::Client;
use crate::error::Error;

/// A batch of transfers on one client: add items (each adder gives the
/// item's index), run them all with kitsu_batch_run(), then read each
/// item's result. Use a batch from one thread at a time: a call on it from
/// one of its run's callbacks gets `KITSU_RESULT_REENTRANT_CALL`, from
/// another thread while it runs `KITSU_RESULT_INVALID_PARAMETER`. Running it again
/// runs the items that have not succeeded yet (the failed ones and new ones).
pub struct kitsu_batch {
    _private: [u8; 0],
}

/// What a `kitsu_batch *` points to.
struct BatchHandle {
    client: Arc<Client>,
    batch: Mutex<Batch>,
}

/// What of a preview to download (kitsu_batch_add_preview_download()):
/// gazu's download_preview_file* functions.
#[repr(u32)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum kitsu_preview_kind {
    /// The uploaded file as stored: `movies/originals/preview-files/<id>.mp4`
    /// for movies, `pictures/originals/preview-files/<id>.<extension>` else.
    Original = 0,
    /// `pictures/thumbnails/preview-files/<id>.png`.
    Thumbnail = 1,
    /// `pictures/thumbnails-square/preview-files/<id>.png`.
    SquareThumbnail = 2,
    /// `pictures/originals/preview-files/<id>.png` (a movie's: a full-size frame).
    Cover = 3,
    /// `movies/originals/preview-files/<id>.mp4`.
    Movie = 4,
    /// `movies/low/preview-files/<id>.mp4`.
    LowDefMovie = 5,
}

/// The batch, locked for this call.
///
/// # Safety
/// `batch` is NULL or from kitsu_batch_new(), not freed.
unsafe fn batch_arg<'b>(
    batch: *const kitsu_batch,
) -> Result<(&'b BatchHandle, MutexGuard<'b, Batch>), Failure> {
    if batch.is_null() {
        return Err(Failure::Null("batch"));
    }
    let handle = &*batch.cast::<BatchHandle>();
    match handle.batch.try_lock() {
        Ok(guard) => Ok((handle, guard)),
        // A panic inside an earlier call is already reported; the items are intact.
        Err(TryLockError::Poisoned(poisoned)) => Ok((handle, poisoned.into_inner())),
        Err(TryLockError::WouldBlock) if crate::reentry::in_callback() => {
            Err(Error::ReentrantCall.into())
        }
        Err(TryLockError::WouldBlock) => Err(Error::InvalidParameter(
            "the batch is running on another thread: use a batch from one thread at a time".into(),
        )
        .into()),
    }
}

unsafe fn add(batch: *mut kitsu_batch, item: Item, out_index: *mut usize) -> Result<(), Failure> {
    let (_, mut guard) = batch_arg(batch)?;
    let index = guard.add(item)?;
    if !out_index.is_null() {
        *out_index = index;
    }
    Ok(())
}

/// Creates an empty batch on `client` (which must outlive the batch's runs;
/// the batch keeps its own reference). `*out` receives it, to be freed with
/// kitsu_batch_free().
#[no_mangle]
pub unsafe extern "C" fn kitsu_batch_new(
    client: *const kitsu_client,
    out: *mut *mut kitsu_batch,
) -> kitsu_result {
    boundary(|| {
        let client = client_arg(client)?;
        let out = arg!(out out);
        let handle = BatchHandle {
            client,
            batch: Mutex::new(Batch::new()),
        };
        *out = Box::into_raw(Box::new(handle)).cast();
        Ok(())
    })
}

/// Frees the batch. NULL is a no-op. Never while it runs.
#[no_mangle]
pub unsafe extern "C" fn kitsu_batch_free(batch: *mut kitsu_batch) {
    boundary_void(|| {
        if !batch.is_null() {
            drop(Box::from_raw(batch.cast::<BatchHandle>()));
        }
    })
}

/// Adds a download of any route to `target_path` (as kitsu_client_download()).
/// `*out_index` (NULL: not wanted) receives the item's index.
#[no_mangle]
pub unsafe extern "C" fn kitsu_batch_add_download(
    batch: *mut kitsu_batch,
    path: *const c_char,
    target_path: *const c_char,
    out_index: *mut usize,
) -> kitsu_result {
    boundary(|| {
        let route = arg!(str path).to_string();
        let target = arg!(path target_path);
        add(batch, Item::Download { route, target }, out_index)
    })
}

/// Adds an upload of `file_count` files (parts `file`, `file-1`...) and the
/// form fields of `form_json` (NULL: none) to a route, as
/// kitsu_client_upload(); the server's answer is read with
/// kitsu_batch_item_answer(). Missing or unreadable files are refused here.
#[no_mangle]
pub unsafe extern "C" fn kitsu_batch_add_upload(
    batch: *mut kitsu_batch,
    path: *const c_char,
    file_paths: *const *const c_char,
    file_count: usize,
    form_json: *const c_char,
    out_index: *mut usize,
) -> kitsu_result {
    boundary(|| {
        let route = arg!(str path).to_string();
        let files = path_list(file_paths, file_count)?;
        let fields = match arg!(opt_str form_json) {
            Some(json) => form_fields_from_json(json)?,
            None => Vec::new(),
        };
        add(
            batch,
            Item::Upload {
                route,
                files,
                fields,
            },
            out_index,
        )
    })
}

/// Adds a download of a preview's `kind` (a ::kitsu_preview_kind) to `target_path`. For
/// `KITSU_PREVIEW_KIND_ORIGINAL`, `extension` is the preview record's (as a
/// listing gives it, "png", "mp4"...); NULL reads the record first, as gazu
/// does. The other kinds ignore `extension`.
#[no_mangle]
pub unsafe extern "C" fn kitsu_batch_add_preview_download(
    batch: *mut kitsu_batch,
    preview_file_id: *const c_char,
    kind: u32,
    extension: *const c_char,
    target_path: *const c_char,
    out_index: *mut usize,
) -> kitsu_result {
    boundary(|| {
        let id = arg!(str preview_file_id).to_string();
        let extension = arg!(opt_str extension).map(str::to_string);
        let target = arg!(path target_path);
        let kind = preview_kind(kind)?;
        add(
            batch,
            Item::Preview {
                id,
                kind,
                extension,
                target,
            },
            out_index,
        )
    })
}

/// A C enum value checked (C may pass any number).
fn preview_kind(value: u32) -> Result<PreviewKind, Failure> {
    Ok(match value {
        0 => PreviewKind::Original,
        1 => PreviewKind::Thumbnail,
        2 => PreviewKind::SquareThumbnail,
        3 => PreviewKind::Cover,
        4 => PreviewKind::Movie,
        5 => PreviewKind::LowDefMovie,
        other => {
            return Err(
                Error::InvalidParameter(format!("{other} is not a kitsu_preview_kind")).into(),
            )
        }
    })
}

/// Adds a download of an attachment file (gazu's download_attachment_file:
/// the record is read for the file's name).
#[no_mangle]
pub unsafe extern "C" fn kitsu_batch_add_attachment_download(
    batch: *mut kitsu_batch,
    attachment_file_id: *const c_char,
    target_path: *const c_char,
    out_index: *mut usize,
) -> kitsu_result {
    boundary(|| {
        let id = arg!(str attachment_file_id).to_string();
        let target = arg!(path target_path);
        add(batch, Item::Attachment { id, target }, out_index)
    })
}

/// Adds a download of a working file (gazu's download_working_file).
#[no_mangle]
pub unsafe extern "C" fn kitsu_batch_add_working_file_download(
    batch: *mut kitsu_batch,
    working_file_id: *const c_char,
    target_path: *const c_char,
    out_index: *mut usize,
) -> kitsu_result {
    boundary(|| {
        let id = arg!(str working_file_id).to_string();
        let target = arg!(path target_path);
        add(batch, Item::WorkingFile { id, target }, out_index)
    })
}

/// Runs every item that has not succeeded yet, at most `max_in_flight` at
/// once (0: 8), on the calling thread. `progress` gets the combined count:
/// bytes summed over the items, and the sum of their lengths as `total` once
/// every length is known (0 before); the usual contract holds (first call,
/// last call, never decreasing). `transfer->on_event` gets each item's events
/// (its `item_index` in the batch, `item_count` the batch's size; a QUEUED
/// event per item at the start, FAILED when one fails) and the batch's own
/// (`operation` KITSU_OPERATION_BATCH, `item_index` the items finished,
/// DONE or FAILED last). Retry, resume and segment options apply to each
/// item. One failing item does not stop the others: returns OK when all
/// succeeded, `KITSU_RESULT_BATCH_INCOMPLETE` when some failed (see
/// kitsu_batch_item_result()), `KITSU_RESULT_CANCELLED` or
/// `KITSU_RESULT_ABORTED_BY_CALLBACK` when stopped (items not finished
/// then have that result). No download leaves anything partial at its
/// target, also when the run is stopped.
#[no_mangle]
pub unsafe extern "C" fn kitsu_batch_run(
    batch: *mut kitsu_batch,
    max_in_flight: u32,
    transfer: *const kitsu_transfer_options,
    progress: kitsu_progress_cb,
    user_data: *mut c_void,
) -> kitsu_result {
    boundary(|| {
        let (handle, mut guard) = batch_arg(batch)?;
        let mut transfer = arg!(transfer transfer, progress, user_data);
        guard.run(&handle.client, max_in_flight, transfer.options())?;
        Ok(())
    })
}

/// The number of items.
#[no_mangle]
pub unsafe extern "C" fn kitsu_batch_item_count(
    batch: *const kitsu_batch,
    out_count: *mut usize,
) -> kitsu_result {
    boundary(|| {
        let (_, guard) = batch_arg(batch)?;
        let out_count = arg!(out out_count);
        *out_count = guard.len();
        Ok(())
    })
}

/// How many items succeeded and failed in the runs so far (items not run
/// yet are in neither).
#[no_mangle]
pub unsafe extern "C" fn kitsu_batch_counts(
    batch: *const kitsu_batch,
    out_succeeded: *mut usize,
    out_failed: *mut usize,
) -> kitsu_result {
    boundary(|| {
        let (_, guard) = batch_arg(batch)?;
        let out_succeeded = arg!(out out_succeeded);
        let out_failed = arg!(out out_failed);
        *out_succeeded = guard.succeeded();
        *out_failed = guard.failed();
        Ok(())
    })
}

/// Item `index`'s result after a run: `*code` its result code
/// (`KITSU_RESULT_OK` for success), `*http_status` (NULL: not wanted) the
/// HTTP status behind a failure or 0, and its error message into `message`
/// as kitsu_last_error_message() does (`message` NULL with `message_len` 0
/// asks for the length only; `out_len` may be NULL). An index past the end,
/// or an item no run has reached, is `KITSU_RESULT_INVALID_PARAMETER`.
#[no_mangle]
pub unsafe extern "C" fn kitsu_batch_item_result(
    batch: *const kitsu_batch,
    index: usize,
    code: *mut kitsu_result,
    http_status: *mut i32,
    message: *mut c_char,
    message_len: usize,
    out_len: *mut usize,
) -> kitsu_result {
    let mut copied = kitsu_result::Ok;
    let outcome = boundary(|| {
        let (_, guard) = batch_arg(batch)?;
        let code = arg!(out code);
        let result = item_result(&guard, index)?;
        let (item_code, status, text) = match result {
            Ok(_) => (kitsu_result::Ok, 0, String::new()),
            Err(error) => (
                result_of(error),
                error.http_status().map(i32::from).unwrap_or(0),
                error.to_string(),
            ),
        };
        *code = item_code;
        if !http_status.is_null() {
            *http_status = status;
        }
        copied = copy_text(&text, message, message_len, out_len);
        Ok(())
    });
    if outcome == kitsu_result::Ok {
        copied
    } else {
        outcome
    }
}

/// Item `index`'s bytes moved by a successful run (a download's length, an
/// upload's file bytes) into `*out_bytes`.
#[no_mangle]
pub unsafe extern "C" fn kitsu_batch_item_bytes(
    batch: *const kitsu_batch,
    index: usize,
    out_bytes: *mut u64,
) -> kitsu_result {
    boundary(|| {
        let (_, guard) = batch_arg(batch)?;
        let out_bytes = arg!(out out_bytes);
        *out_bytes = match item_result(&guard, index)? {
            Ok(outcome) => outcome.bytes,
            Err(_) => 0,
        };
        Ok(())
    })
}

/// What item `index`'s call did into the caller's `*out_result` (its
/// `struct_size` set, as for ::kitsu_transfer_options `result`): for an item
/// that succeeded, the last HTTP status, its attempts, its bytes, and the
/// SHA-256 of its file when the run had `checksum` in its options; for one
/// that failed or did not run, zeros (its error: kitsu_batch_item_result()).
#[no_mangle]
pub unsafe extern "C" fn kitsu_batch_item_receipt(
    batch: *const kitsu_batch,
    index: usize,
    out_result: *mut kitsu_transfer_result,
) -> kitsu_result {
    boundary(|| {
        let (_, guard) = batch_arg(batch)?;
        let out_result = arg!(out out_result);
        check_result_size(out_result)?;
        let receipt = match item_result(&guard, index)? {
            Ok(outcome) => outcome.receipt.clone(),
            Err(_) => crate::transfer::Receipt::default(),
        };
        write_result(out_result, &receipt);
        Ok(())
    })
}

/// The server's answer (JSON) to a successful upload item into `*out_json`,
/// to be freed with kitsu_string_free(); NULL for other items.
#[no_mangle]
pub unsafe extern "C" fn kitsu_batch_item_answer(
    batch: *const kitsu_batch,
    index: usize,
    out_json: *mut *mut c_char,
) -> kitsu_result {
    boundary(|| {
        let (_, guard) = batch_arg(batch)?;
        let out_json = arg!(out out_json);
        *out_json = std::ptr::null_mut();
        if let Ok(outcome) = item_result(&guard, index)? {
            if let Some(answer) = &outcome.answer {
                write_opt_string(out_json, answer.clone())?;
            }
        }
        Ok(())
    })
}

fn item_result(
    batch: &Batch,
    index: usize,
) -> Result<&crate::error::Result<crate::transfer::Outcome>, Failure> {
    if index >= batch.len() {
        return Err(Error::InvalidParameter(format!(
            "index {index} is past the batch's {} items",
            batch.len()
        ))
        .into());
    }
    batch
        .result(index)
        .ok_or_else(|| Error::InvalidParameter(format!("item {index} has not been run yet")).into())
}
