//! `kitsu_task_*`: gazu's `task` module (comments, attachments, previews, batch comments).
//! Each entry point checks its arguments, calls `crate::api` once and maps the result.

use std::ffi::{c_char, c_void};

use super::client::{kitsu_client, path_list, path_list_or_empty};
use super::{
    arg_options, boundary, kitsu_progress_cb, kitsu_result, kitsu_transfer_options,
    write_opt_string,
};
use crate::api::task;

/// gazu `task.upload_preview_file`: POST the file to `pictures/preview-files/{preview_file_id}`
/// (part `file`), with `?normalize=false` for the option `normalize_movie: false` and
/// `?no_job=true` for `no_job: true`. The answer is the preview file; its `status` is
/// `processing` while Zou's job queue builds the variants. Zou refuses a second upload to one
/// preview file.
///
/// An upload: see "Transfers" and "Uploads" in the contract at the top.
/// Retries: the preview record is created once (sent again only when the server surely did not
/// act); the file's bytes are sent again after any failure worth it, after reading the record:
/// if an earlier attempt's upload was stored (its answer lost), that record is the answer.
#[no_mangle]
pub unsafe extern "C" fn kitsu_task_upload_preview_file(
    client: *const kitsu_client,
    preview_file_id: *const c_char,
    file_path: *const c_char,
    options_json: *const c_char,
    transfer: *const kitsu_transfer_options,
    progress: kitsu_progress_cb,
    user_data: *mut c_void,
    out_json: *mut *mut c_char,
) -> kitsu_result {
    boundary(|| {
        let client = arg!(client client);
        let preview_file_id = arg!(str preview_file_id);
        let file_path = arg!(path file_path);
        let options = arg_options(options_json, task::UPLOAD_PREVIEW_OPTIONS)?;
        let mut transfer = arg!(transfer transfer, progress, user_data);
        let answer = task::blocking::upload_preview_file(
            &client,
            preview_file_id,
            &file_path,
            &options,
            transfer.options(),
        )?;
        write_opt_string(out_json, answer)
    })
}

/// gazu `task.add_comment`: POST `actions/tasks/{task_id}/comment`, as JSON without
/// attachments, as multipart with them (parts `file`, `file-1`, ... in the order given: gazu
/// rotates the last one first, and Zou stores them in part order). `attachment_paths` may be
/// NULL when `attachment_count` is 0. Options (gazu's keywords): `comment`, `person` (id),
/// `checklist`, `links` (lists), `created_at`, `for_client` (sent only when true, as gazu
/// does). The answer is the comment.
///
/// An upload: see "Transfers" and "Uploads" in the contract at the top.
/// Retries: it creates records, so it is sent again only when the server surely did not act
/// (no connection made; 429; 503 with Retry-After).
#[no_mangle]
pub unsafe extern "C" fn kitsu_task_add_comment(
    client: *const kitsu_client,
    task_id: *const c_char,
    task_status_id: *const c_char,
    attachment_paths: *const *const c_char,
    attachment_count: usize,
    options_json: *const c_char,
    transfer: *const kitsu_transfer_options,
    progress: kitsu_progress_cb,
    user_data: *mut c_void,
    out_json: *mut *mut c_char,
) -> kitsu_result {
    boundary(|| {
        let client = arg!(client client);
        let task_id = arg!(str task_id);
        let task_status_id = arg!(str task_status_id);
        let attachment_paths =
            path_list_or_empty(attachment_paths, attachment_count, "attachment_paths")?;
        let options = arg_options(options_json, task::ADD_COMMENT_OPTIONS)?;
        let mut transfer = arg!(transfer transfer, progress, user_data);
        let answer = task::blocking::add_comment(
            &client,
            task_id,
            task_status_id,
            &attachment_paths,
            &options,
            transfer.options(),
        )?;
        write_opt_string(out_json, answer)
    })
}

/// gazu `task.add_attachment_files_to_comment`: POST the files to
/// `actions/tasks/{task_id}/comments/{comment_id}/add-attachment` (parts `file`, `file-1`, ...
/// in the order given); at least one file. The answer is the list of attachment files.
///
/// An upload: see "Transfers" and "Uploads" in the contract at the top.
/// Retries: it creates records, so it is sent again only when the server surely did not act
/// (no connection made; 429; 503 with Retry-After).
#[no_mangle]
pub unsafe extern "C" fn kitsu_task_add_attachment_files_to_comment(
    client: *const kitsu_client,
    task_id: *const c_char,
    comment_id: *const c_char,
    file_paths: *const *const c_char,
    file_count: usize,
    transfer: *const kitsu_transfer_options,
    progress: kitsu_progress_cb,
    user_data: *mut c_void,
    out_json: *mut *mut c_char,
) -> kitsu_result {
    boundary(|| {
        let client = arg!(client client);
        let task_id = arg!(str task_id);
        let comment_id = arg!(str comment_id);
        let file_paths = path_list(file_paths, file_count)?;
        let mut transfer = arg!(transfer transfer, progress, user_data);
        let answer = task::blocking::add_attachment_files_to_comment(
            &client,
            task_id,
            comment_id,
            &file_paths,
            transfer.options(),
        )?;
        write_opt_string(out_json, answer)
    })
}

/// gazu `task.batch_comments`: POST `actions/tasks/{task_id}/batch-comment`, or
/// `actions/tasks/batch-comment` when `task_id` is NULL (each comment then names its
/// `task_id`). `comments_json` is a JSON array of comments (`task_status_id`, `text`,
/// `checklist`, `links`, ...); a comment's local files go under `attachment_files` and
/// `preview_files` (lists of paths) and are sent as parts `attachment_file-{x}-{y}` and
/// `preview_file-{x}-{y}`. Unlike gazu, those local paths are not sent to the server. The
/// answer is the list of comments.
///
/// An upload: see "Transfers" and "Uploads" in the contract at the top.
/// Retries: it creates records, so it is sent again only when the server surely did not act
/// (no connection made; 429; 503 with Retry-After).
#[no_mangle]
pub unsafe extern "C" fn kitsu_task_batch_comments(
    client: *const kitsu_client,
    task_id: *const c_char,
    comments_json: *const c_char,
    transfer: *const kitsu_transfer_options,
    progress: kitsu_progress_cb,
    user_data: *mut c_void,
    out_json: *mut *mut c_char,
) -> kitsu_result {
    boundary(|| {
        let client = arg!(client client);
        let task_id = arg!(opt_str task_id);
        let comments_json = arg!(str comments_json);
        let mut transfer = arg!(transfer transfer, progress, user_data);
        let answer =
            task::blocking::batch_comments(&client, task_id, comments_json, transfer.options())?;
        write_opt_string(out_json, answer)
    })
}

/// gazu `task.create_multiple_comments`: comments on several tasks of a project. Zou 1.0.97's
/// `actions/projects/{project_id}/tasks/comment-many` takes a JSON array and no files, so gazu
/// 1.3.1's multipart request fails there; this posts the JSON (`object_id` or `task_id`,
/// `task_status_id`, `comment`), then adds each comment's `attachment_files` to it and makes
/// its `preview_files` its previews, in one progress stream. The answer is the list of
/// comments.
///
/// An upload: see "Transfers" and "Uploads" in the contract at the top.
/// Retries: it creates records, so it is sent again only when the server surely did not act
/// (no connection made; 429; 503 with Retry-After).
#[no_mangle]
pub unsafe extern "C" fn kitsu_task_create_multiple_comments(
    client: *const kitsu_client,
    project_id: *const c_char,
    comments_json: *const c_char,
    transfer: *const kitsu_transfer_options,
    progress: kitsu_progress_cb,
    user_data: *mut c_void,
    out_json: *mut *mut c_char,
) -> kitsu_result {
    boundary(|| {
        let client = arg!(client client);
        let project_id = arg!(str project_id);
        let comments_json = arg!(str comments_json);
        let mut transfer = arg!(transfer transfer, progress, user_data);
        let answer = task::blocking::create_multiple_comments(
            &client,
            project_id,
            comments_json,
            transfer.options(),
        )?;
        write_opt_string(out_json, answer)
    })
}

/// gazu `task.add_preview`: creates a preview on the comment (POST
/// `actions/tasks/{task_id}/comments/{comment_id}/add-preview`), then uploads the file to it,
/// with one progress stream (gazu gives none). Options: `normalize_movie` (true), `revision`,
/// `no_job` (false). The file is checked before anything is created. The answer is the preview
/// file.
///
/// An upload: see "Transfers" and "Uploads" in the contract at the top.
/// Retries: the preview record is created once (sent again only when the server surely did not
/// act); the file's bytes are sent again after any failure worth it, after reading the record:
/// if an earlier attempt's upload was stored (its answer lost), that record is the answer.
#[no_mangle]
pub unsafe extern "C" fn kitsu_task_add_preview(
    client: *const kitsu_client,
    task_id: *const c_char,
    comment_id: *const c_char,
    preview_file_path: *const c_char,
    options_json: *const c_char,
    transfer: *const kitsu_transfer_options,
    progress: kitsu_progress_cb,
    user_data: *mut c_void,
    out_json: *mut *mut c_char,
) -> kitsu_result {
    boundary(|| {
        let client = arg!(client client);
        let task_id = arg!(str task_id);
        let comment_id = arg!(str comment_id);
        let preview_file_path = arg!(path preview_file_path);
        let options = arg_options(options_json, task::ADD_PREVIEW_OPTIONS)?;
        let mut transfer = arg!(transfer transfer, progress, user_data);
        let answer = task::blocking::add_preview(
            &client,
            task_id,
            comment_id,
            &preview_file_path,
            &options,
            transfer.options(),
        )?;
        write_opt_string(out_json, answer)
    })
}

/// gazu `task.add_extra_preview`: creates a preview sharing the revision of `preview_file_id`
/// (POST `actions/tasks/{task_id}/comments/{comment_id}/preview-files/{preview_file_id}`), then
/// uploads the file to it, with one progress stream. Options: `normalize_movie` (true),
/// `no_job` (false). The answer is the new preview file.
///
/// An upload: see "Transfers" and "Uploads" in the contract at the top.
/// Retries: the preview record is created once (sent again only when the server surely did not
/// act); the file's bytes are sent again after any failure worth it, after reading the record:
/// if an earlier attempt's upload was stored (its answer lost), that record is the answer.
#[no_mangle]
pub unsafe extern "C" fn kitsu_task_add_extra_preview(
    client: *const kitsu_client,
    task_id: *const c_char,
    comment_id: *const c_char,
    preview_file_id: *const c_char,
    preview_file_path: *const c_char,
    options_json: *const c_char,
    transfer: *const kitsu_transfer_options,
    progress: kitsu_progress_cb,
    user_data: *mut c_void,
    out_json: *mut *mut c_char,
) -> kitsu_result {
    boundary(|| {
        let client = arg!(client client);
        let task_id = arg!(str task_id);
        let comment_id = arg!(str comment_id);
        let preview_file_id = arg!(str preview_file_id);
        let preview_file_path = arg!(path preview_file_path);
        let options = arg_options(options_json, task::ADD_EXTRA_PREVIEW_OPTIONS)?;
        let mut transfer = arg!(transfer transfer, progress, user_data);
        let answer = task::blocking::add_extra_preview(
            &client,
            task_id,
            comment_id,
            preview_file_id,
            &preview_file_path,
            &options,
            transfer.options(),
        )?;
        write_opt_string(out_json, answer)
    })
}

/// gazu `task.publish_preview`: a comment with its attachments (as kitsu_task_add_comment()),
/// then a preview on it (as kitsu_task_add_preview()), then with `set_thumbnail` that preview
/// as the entity's thumbnail; one progress stream over every file (gazu gives none). Options:
/// `comment`, `person`, `checklist`, `links`, `created_at`, `normalize_movie`, `revision`,
/// `set_thumbnail`, and `no_job` (which gazu forgets to pass on). The answer is `{"comment":
/// ..., "preview_file": ...}`. As in gazu, a failure after the comment leaves the comment.
///
/// An upload: see "Transfers" and "Uploads" in the contract at the top.
/// Retries: each step on its own. The comment and the preview record are created once (sent
/// again only when the server surely did not act); a drop while the movie is sent re-sends the
/// movie, never the comment (the record is read first, as for kitsu_task_upload_preview_file()).
#[no_mangle]
pub unsafe extern "C" fn kitsu_task_publish_preview(
    client: *const kitsu_client,
    task_id: *const c_char,
    task_status_id: *const c_char,
    preview_file_path: *const c_char,
    attachment_paths: *const *const c_char,
    attachment_count: usize,
    options_json: *const c_char,
    transfer: *const kitsu_transfer_options,
    progress: kitsu_progress_cb,
    user_data: *mut c_void,
    out_json: *mut *mut c_char,
) -> kitsu_result {
    boundary(|| {
        let client = arg!(client client);
        let task_id = arg!(str task_id);
        let task_status_id = arg!(str task_status_id);
        let preview_file_path = arg!(path preview_file_path);
        let attachment_paths =
            path_list_or_empty(attachment_paths, attachment_count, "attachment_paths")?;
        let options = arg_options(options_json, task::PUBLISH_PREVIEW_OPTIONS)?;
        let mut transfer = arg!(transfer transfer, progress, user_data);
        let answer = task::blocking::publish_preview(
            &client,
            task_id,
            task_status_id,
            &preview_file_path,
            &attachment_paths,
            &options,
            transfer.options(),
        )?;
        write_opt_string(out_json, answer)
    })
}

/// gazu `task.create_preview`: POST
/// `actions/tasks/{task_id}/comments/{comment_id}/add-preview`, an empty preview file to upload
/// to (option `revision`).
///
/// On success `*out_json` receives the answer as JSON text, freed with kitsu_string_free().
#[no_mangle]
pub unsafe extern "C" fn kitsu_task_create_preview(
    client: *const kitsu_client,
    task_id: *const c_char,
    comment_id: *const c_char,
    options_json: *const c_char,
    out_json: *mut *mut c_char,
) -> kitsu_result {
    boundary(|| {
        let client = arg!(client client);
        let out = arg!(out out_json);
        let task_id = arg!(str task_id);
        let comment_id = arg!(str comment_id);
        let options = arg_options(options_json, task::CREATE_PREVIEW_OPTIONS)?;
        let answer = task::create_preview(&client, task_id, comment_id, &options)?;
        write_opt_string(out, answer)
    })
}

/// gazu `task.all_tasks_for_project`: GET `data/projects/{project_id}/tasks`. Options:
/// `task_type`, `episode` (ids).
///
/// On success `*out_json` receives the answer as JSON text, freed with kitsu_string_free().
#[no_mangle]
pub unsafe extern "C" fn kitsu_task_all_tasks_for_project(
    client: *const kitsu_client,
    project_id: *const c_char,
    options_json: *const c_char,
    out_json: *mut *mut c_char,
) -> kitsu_result {
    boundary(|| {
        let client = arg!(client client);
        let out = arg!(out out_json);
        let project_id = arg!(str project_id);
        let options = arg_options(options_json, task::ALL_TASKS_FOR_PROJECT_OPTIONS)?;
        let answer = task::all_tasks_for_project(&client, project_id, &options)?;
        write_opt_string(out, answer)
    })
}

/// gazu `task.all_comments_for_task`: GET `data/tasks/{task_id}/comments`, newest first.
///
/// On success `*out_json` receives the answer as JSON text, freed with kitsu_string_free().
#[no_mangle]
pub unsafe extern "C" fn kitsu_task_all_comments_for_task(
    client: *const kitsu_client,
    task_id: *const c_char,
    out_json: *mut *mut c_char,
) -> kitsu_result {
    boundary(|| {
        let client = arg!(client client);
        let out = arg!(out out_json);
        let task_id = arg!(str task_id);
        let answer = task::all_comments_for_task(&client, task_id)?;
        write_opt_string(out, answer)
    })
}

/// gazu `task.get_task_status_by_short_name`: GET `data/task-status?short_name=...`; the first
/// match, or `null`.
///
/// On success `*out_json` receives the answer as JSON text, freed with kitsu_string_free().
#[no_mangle]
pub unsafe extern "C" fn kitsu_task_get_task_status_by_short_name(
    client: *const kitsu_client,
    short_name: *const c_char,
    out_json: *mut *mut c_char,
) -> kitsu_result {
    boundary(|| {
        let client = arg!(client client);
        let out = arg!(out out_json);
        let short_name = arg!(str short_name);
        let answer = task::get_task_status_by_short_name(&client, short_name)?;
        write_opt_string(out, answer)
    })
}
