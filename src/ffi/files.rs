//! `kitsu_files_*`: gazu's `files` module (working files, previews, attachments, avatars, frames and tiles).
//! Each entry point checks its arguments, calls `crate::api` once and maps the result.

use std::ffi::{c_char, c_void};

use super::client::kitsu_client;
use super::{
    arg_options, boundary, kitsu_progress_cb, kitsu_result, kitsu_transfer_options,
    write_opt_string,
};
use crate::api::{files, files::AvatarOf};

/// gazu `files.upload_working_file`: POST the file to
/// `data/working-files/{working_file_id}/file` (part `file`); the answer is the working file.
///
/// An upload: see "Transfers" and "Uploads" in the contract at the top.
/// Retries: repeatable (Zou overwrites the bytes), so sent again after any failure worth it.
#[no_mangle]
pub unsafe extern "C" fn kitsu_files_upload_working_file(
    client: *const kitsu_client,
    working_file_id: *const c_char,
    file_path: *const c_char,
    transfer: *const kitsu_transfer_options,
    progress: kitsu_progress_cb,
    user_data: *mut c_void,
    out_json: *mut *mut c_char,
) -> kitsu_result {
    boundary(|| {
        let client = arg!(client client);
        let working_file_id = arg!(str working_file_id);
        let file_path = arg!(path file_path);
        let mut transfer = arg!(transfer transfer, progress, user_data);
        let answer = files::blocking::upload_working_file(
            &client,
            working_file_id,
            &file_path,
            transfer.options(),
        )?;
        write_opt_string(out_json, answer)
    })
}

/// gazu `files.upload_person_avatar`: POST the picture to
/// `pictures/thumbnails/persons/{person_id}` (part `file`); the answer is `{"thumbnail_path":
/// ...}`. Zou answers 400 for a file that is not a readable picture. Zou races on concurrent
/// uploads for one entity: do not upload two avatars of the same person at once.
///
/// An upload: see "Transfers" and "Uploads" in the contract at the top.
/// Retries: repeatable (Zou overwrites the bytes), so sent again after any failure worth it.
#[no_mangle]
pub unsafe extern "C" fn kitsu_files_upload_person_avatar(
    client: *const kitsu_client,
    person_id: *const c_char,
    file_path: *const c_char,
    transfer: *const kitsu_transfer_options,
    progress: kitsu_progress_cb,
    user_data: *mut c_void,
    out_json: *mut *mut c_char,
) -> kitsu_result {
    boundary(|| {
        let client = arg!(client client);
        let person_id = arg!(str person_id);
        let file_path = arg!(path file_path);
        let mut transfer = arg!(transfer transfer, progress, user_data);
        let answer = files::blocking::upload_avatar(
            &client,
            AvatarOf::Person,
            person_id,
            &file_path,
            transfer.options(),
        )?;
        write_opt_string(out_json, answer)
    })
}

/// gazu `files.upload_project_avatar`: POST the picture to
/// `pictures/thumbnails/projects/{project_id}` (part `file`); the answer is `{"thumbnail_path":
/// ...}`. Zou answers 400 for a file that is not a readable picture. Zou races on concurrent
/// uploads for one entity: do not upload two avatars of the same project at once.
///
/// An upload: see "Transfers" and "Uploads" in the contract at the top.
/// Retries: repeatable (Zou overwrites the bytes), so sent again after any failure worth it.
#[no_mangle]
pub unsafe extern "C" fn kitsu_files_upload_project_avatar(
    client: *const kitsu_client,
    project_id: *const c_char,
    file_path: *const c_char,
    transfer: *const kitsu_transfer_options,
    progress: kitsu_progress_cb,
    user_data: *mut c_void,
    out_json: *mut *mut c_char,
) -> kitsu_result {
    boundary(|| {
        let client = arg!(client client);
        let project_id = arg!(str project_id);
        let file_path = arg!(path file_path);
        let mut transfer = arg!(transfer transfer, progress, user_data);
        let answer = files::blocking::upload_avatar(
            &client,
            AvatarOf::Project,
            project_id,
            &file_path,
            transfer.options(),
        )?;
        write_opt_string(out_json, answer)
    })
}

/// gazu `files.upload_organisation_avatar`: POST the picture to
/// `pictures/thumbnails/organisations/{organisation_id}` (part `file`); the answer is
/// `{"thumbnail_path": ...}`. Zou answers 400 for a file that is not a readable picture. Zou
/// races on concurrent uploads for one entity: do not upload two avatars of the same
/// organisation at once.
///
/// An upload: see "Transfers" and "Uploads" in the contract at the top.
/// Retries: repeatable (Zou overwrites the bytes), so sent again after any failure worth it.
#[no_mangle]
pub unsafe extern "C" fn kitsu_files_upload_organisation_avatar(
    client: *const kitsu_client,
    organisation_id: *const c_char,
    file_path: *const c_char,
    transfer: *const kitsu_transfer_options,
    progress: kitsu_progress_cb,
    user_data: *mut c_void,
    out_json: *mut *mut c_char,
) -> kitsu_result {
    boundary(|| {
        let client = arg!(client client);
        let organisation_id = arg!(str organisation_id);
        let file_path = arg!(path file_path);
        let mut transfer = arg!(transfer transfer, progress, user_data);
        let answer = files::blocking::upload_avatar(
            &client,
            AvatarOf::Organisation,
            organisation_id,
            &file_path,
            transfer.options(),
        )?;
        write_opt_string(out_json, answer)
    })
}

/// gazu `files.download_working_file`: GET `data/working-files/{working_file_id}/file`. gazu
/// writes to the server-given path when no target is given; here `target_path` is required, so
/// a server-given path never decides where a file lands.
///
/// A download: see "Transfers", "Downloads" and "Retries" in the contract at the top.
#[no_mangle]
pub unsafe extern "C" fn kitsu_files_download_working_file(
    client: *const kitsu_client,
    working_file_id: *const c_char,
    target_path: *const c_char,
    transfer: *const kitsu_transfer_options,
    progress: kitsu_progress_cb,
    user_data: *mut c_void,
) -> kitsu_result {
    boundary(|| {
        let client = arg!(client client);
        let working_file_id = arg!(str working_file_id);
        let target_path = arg!(path target_path);
        let mut transfer = arg!(transfer transfer, progress, user_data);
        files::blocking::download_working_file(
            &client,
            working_file_id,
            &target_path,
            transfer.options(),
        )?;
        Ok(())
    })
}

/// gazu `files.download_preview_file`: the preview's original, after reading its record for the
/// extension: `movies/originals/preview-files/{id}.mp4` for a movie,
/// `pictures/originals/preview-files/{id}.{extension}` otherwise. A preview with no file yet
/// gives KITSU_RESULT_INVALID_RESPONSE.
///
/// A download: see "Transfers", "Downloads" and "Retries" in the contract at the top.
#[no_mangle]
pub unsafe extern "C" fn kitsu_files_download_preview_file(
    client: *const kitsu_client,
    preview_file_id: *const c_char,
    target_path: *const c_char,
    transfer: *const kitsu_transfer_options,
    progress: kitsu_progress_cb,
    user_data: *mut c_void,
) -> kitsu_result {
    boundary(|| {
        let client = arg!(client client);
        let preview_file_id = arg!(str preview_file_id);
        let target_path = arg!(path target_path);
        let mut transfer = arg!(transfer transfer, progress, user_data);
        files::blocking::download_preview_file(
            &client,
            preview_file_id,
            &target_path,
            transfer.options(),
        )?;
        Ok(())
    })
}

/// gazu `files.download_preview_file_thumbnail`: GET
/// `pictures/thumbnails/preview-files/{preview_file_id}.png`.
///
/// A download: see "Transfers", "Downloads" and "Retries" in the contract at the top.
#[no_mangle]
pub unsafe extern "C" fn kitsu_files_download_preview_file_thumbnail(
    client: *const kitsu_client,
    preview_file_id: *const c_char,
    target_path: *const c_char,
    transfer: *const kitsu_transfer_options,
    progress: kitsu_progress_cb,
    user_data: *mut c_void,
) -> kitsu_result {
    boundary(|| {
        let client = arg!(client client);
        let preview_file_id = arg!(str preview_file_id);
        let target_path = arg!(path target_path);
        let mut transfer = arg!(transfer transfer, progress, user_data);
        files::blocking::download_preview_file_thumbnail(
            &client,
            preview_file_id,
            &target_path,
            transfer.options(),
        )?;
        Ok(())
    })
}

/// gazu `files.download_preview_file_cover`: GET
/// `pictures/originals/preview-files/{preview_file_id}.png`, the full-size picture (for a
/// movie, a full-size frame).
///
/// A download: see "Transfers", "Downloads" and "Retries" in the contract at the top.
#[no_mangle]
pub unsafe extern "C" fn kitsu_files_download_preview_file_cover(
    client: *const kitsu_client,
    preview_file_id: *const c_char,
    target_path: *const c_char,
    transfer: *const kitsu_transfer_options,
    progress: kitsu_progress_cb,
    user_data: *mut c_void,
) -> kitsu_result {
    boundary(|| {
        let client = arg!(client client);
        let preview_file_id = arg!(str preview_file_id);
        let target_path = arg!(path target_path);
        let mut transfer = arg!(transfer transfer, progress, user_data);
        files::blocking::download_preview_file_cover(
            &client,
            preview_file_id,
            &target_path,
            transfer.options(),
        )?;
        Ok(())
    })
}

/// gazu `files.download_preview_movie`: GET
/// `movies/originals/preview-files/{preview_file_id}.mp4` (Zou serves every movie as .mp4, so
/// the record is not read first).
///
/// A download: see "Transfers", "Downloads" and "Retries" in the contract at the top.
#[no_mangle]
pub unsafe extern "C" fn kitsu_files_download_preview_movie(
    client: *const kitsu_client,
    preview_file_id: *const c_char,
    target_path: *const c_char,
    transfer: *const kitsu_transfer_options,
    progress: kitsu_progress_cb,
    user_data: *mut c_void,
) -> kitsu_result {
    boundary(|| {
        let client = arg!(client client);
        let preview_file_id = arg!(str preview_file_id);
        let target_path = arg!(path target_path);
        let mut transfer = arg!(transfer transfer, progress, user_data);
        files::blocking::download_preview_movie(
            &client,
            preview_file_id,
            &target_path,
            transfer.options(),
        )?;
        Ok(())
    })
}

/// gazu `files.download_preview_lowdef_movie`: GET
/// `movies/low/preview-files/{preview_file_id}.mp4`.
///
/// A download: see "Transfers", "Downloads" and "Retries" in the contract at the top.
#[no_mangle]
pub unsafe extern "C" fn kitsu_files_download_preview_lowdef_movie(
    client: *const kitsu_client,
    preview_file_id: *const c_char,
    target_path: *const c_char,
    transfer: *const kitsu_transfer_options,
    progress: kitsu_progress_cb,
    user_data: *mut c_void,
) -> kitsu_result {
    boundary(|| {
        let client = arg!(client client);
        let preview_file_id = arg!(str preview_file_id);
        let target_path = arg!(path target_path);
        let mut transfer = arg!(transfer transfer, progress, user_data);
        files::blocking::download_preview_lowdef_movie(
            &client,
            preview_file_id,
            &target_path,
            transfer.options(),
        )?;
        Ok(())
    })
}

/// gazu `files.download_attachment_file`: GET `data/attachment-files/{id}/file/{name}` after
/// reading the record for its name (percent-encoded here; gazu leaves it raw).
///
/// A download: see "Transfers", "Downloads" and "Retries" in the contract at the top.
#[no_mangle]
pub unsafe extern "C" fn kitsu_files_download_attachment_file(
    client: *const kitsu_client,
    attachment_file_id: *const c_char,
    target_path: *const c_char,
    transfer: *const kitsu_transfer_options,
    progress: kitsu_progress_cb,
    user_data: *mut c_void,
) -> kitsu_result {
    boundary(|| {
        let client = arg!(client client);
        let attachment_file_id = arg!(str attachment_file_id);
        let target_path = arg!(path target_path);
        let mut transfer = arg!(transfer transfer, progress, user_data);
        files::blocking::download_attachment_file(
            &client,
            attachment_file_id,
            &target_path,
            transfer.options(),
        )?;
        Ok(())
    })
}

/// gazu `files.download_attachment_thumbnail`: GET
/// `pictures/thumbnails/attachment-files/{attachment_file_id}.png`. Zou makes these only for
/// picture attachments of chat messages; comment attachments give KITSU_RESULT_NOT_FOUND.
///
/// A download: see "Transfers", "Downloads" and "Retries" in the contract at the top.
#[no_mangle]
pub unsafe extern "C" fn kitsu_files_download_attachment_thumbnail(
    client: *const kitsu_client,
    attachment_file_id: *const c_char,
    target_path: *const c_char,
    transfer: *const kitsu_transfer_options,
    progress: kitsu_progress_cb,
    user_data: *mut c_void,
) -> kitsu_result {
    boundary(|| {
        let client = arg!(client client);
        let attachment_file_id = arg!(str attachment_file_id);
        let target_path = arg!(path target_path);
        let mut transfer = arg!(transfer transfer, progress, user_data);
        files::blocking::download_attachment_thumbnail(
            &client,
            attachment_file_id,
            &target_path,
            transfer.options(),
        )?;
        Ok(())
    })
}

/// gazu `files.download_person_avatar`: GET `pictures/thumbnails/persons/{person_id}.png`.
///
/// A download: see "Transfers", "Downloads" and "Retries" in the contract at the top.
#[no_mangle]
pub unsafe extern "C" fn kitsu_files_download_person_avatar(
    client: *const kitsu_client,
    person_id: *const c_char,
    target_path: *const c_char,
    transfer: *const kitsu_transfer_options,
    progress: kitsu_progress_cb,
    user_data: *mut c_void,
) -> kitsu_result {
    boundary(|| {
        let client = arg!(client client);
        let person_id = arg!(str person_id);
        let target_path = arg!(path target_path);
        let mut transfer = arg!(transfer transfer, progress, user_data);
        files::blocking::download_avatar(
            &client,
            AvatarOf::Person,
            person_id,
            &target_path,
            transfer.options(),
        )?;
        Ok(())
    })
}

/// gazu `files.download_project_avatar`: GET `pictures/thumbnails/projects/{project_id}.png`.
///
/// A download: see "Transfers", "Downloads" and "Retries" in the contract at the top.
#[no_mangle]
pub unsafe extern "C" fn kitsu_files_download_project_avatar(
    client: *const kitsu_client,
    project_id: *const c_char,
    target_path: *const c_char,
    transfer: *const kitsu_transfer_options,
    progress: kitsu_progress_cb,
    user_data: *mut c_void,
) -> kitsu_result {
    boundary(|| {
        let client = arg!(client client);
        let project_id = arg!(str project_id);
        let target_path = arg!(path target_path);
        let mut transfer = arg!(transfer transfer, progress, user_data);
        files::blocking::download_avatar(
            &client,
            AvatarOf::Project,
            project_id,
            &target_path,
            transfer.options(),
        )?;
        Ok(())
    })
}

/// gazu `files.download_organisation_avatar`: GET
/// `pictures/thumbnails/organisations/{organisation_id}.png`.
///
/// A download: see "Transfers", "Downloads" and "Retries" in the contract at the top.
#[no_mangle]
pub unsafe extern "C" fn kitsu_files_download_organisation_avatar(
    client: *const kitsu_client,
    organisation_id: *const c_char,
    target_path: *const c_char,
    transfer: *const kitsu_transfer_options,
    progress: kitsu_progress_cb,
    user_data: *mut c_void,
) -> kitsu_result {
    boundary(|| {
        let client = arg!(client client);
        let organisation_id = arg!(str organisation_id);
        let target_path = arg!(path target_path);
        let mut transfer = arg!(transfer transfer, progress, user_data);
        files::blocking::download_avatar(
            &client,
            AvatarOf::Organisation,
            organisation_id,
            &target_path,
            transfer.options(),
        )?;
        Ok(())
    })
}

/// gazu `files.extract_frame_from_preview`: GET
/// `actions/preview-files/{preview_file_id}/extract-frame?frame_number=N`, a PNG of that frame
/// of a movie preview, made anew by the server.
///
/// A download: see "Transfers", "Downloads" and "Retries" in the contract at the top.
#[no_mangle]
pub unsafe extern "C" fn kitsu_files_extract_frame_from_preview(
    client: *const kitsu_client,
    preview_file_id: *const c_char,
    frame_number: u32,
    target_path: *const c_char,
    transfer: *const kitsu_transfer_options,
    progress: kitsu_progress_cb,
    user_data: *mut c_void,
) -> kitsu_result {
    boundary(|| {
        let client = arg!(client client);
        let preview_file_id = arg!(str preview_file_id);
        let target_path = arg!(path target_path);
        let mut transfer = arg!(transfer transfer, progress, user_data);
        files::blocking::extract_frame_from_preview(
            &client,
            preview_file_id,
            frame_number,
            &target_path,
            transfer.options(),
        )?;
        Ok(())
    })
}

/// gazu `files.extract_tile_from_preview`: GET
/// `actions/preview-files/{preview_file_id}/extract-tile`, a PNG tile of a movie preview's
/// frames.
///
/// A download: see "Transfers", "Downloads" and "Retries" in the contract at the top.
#[no_mangle]
pub unsafe extern "C" fn kitsu_files_extract_tile_from_preview(
    client: *const kitsu_client,
    preview_file_id: *const c_char,
    target_path: *const c_char,
    transfer: *const kitsu_transfer_options,
    progress: kitsu_progress_cb,
    user_data: *mut c_void,
) -> kitsu_result {
    boundary(|| {
        let client = arg!(client client);
        let preview_file_id = arg!(str preview_file_id);
        let target_path = arg!(path target_path);
        let mut transfer = arg!(transfer transfer, progress, user_data);
        files::blocking::extract_tile_from_preview(
            &client,
            preview_file_id,
            &target_path,
            transfer.options(),
        )?;
        Ok(())
    })
}

/// gazu `files.get_preview_file`: GET `data/preview-files/{preview_file_id}`.
///
/// On success `*out_json` receives the answer as JSON text, freed with kitsu_string_free().
#[no_mangle]
pub unsafe extern "C" fn kitsu_files_get_preview_file(
    client: *const kitsu_client,
    preview_file_id: *const c_char,
    out_json: *mut *mut c_char,
) -> kitsu_result {
    boundary(|| {
        let client = arg!(client client);
        let out = arg!(out out_json);
        let preview_file_id = arg!(str preview_file_id);
        let answer = files::get_preview_file(&client, preview_file_id)?;
        write_opt_string(out, answer)
    })
}

/// gazu `files.new_working_file`: POST `data/tasks/{task_id}/working-files/new`. Options
/// (gazu's keywords): `name` ("main"), `mode` ("working"), `software`, `comment` (""),
/// `person`, `revision` (0); ids as strings or objects with "id". The project needs a file tree
/// (kitsu_files_update_project_file_tree()).
///
/// On success `*out_json` receives the answer as JSON text, freed with kitsu_string_free().
#[no_mangle]
pub unsafe extern "C" fn kitsu_files_new_working_file(
    client: *const kitsu_client,
    task_id: *const c_char,
    options_json: *const c_char,
    out_json: *mut *mut c_char,
) -> kitsu_result {
    boundary(|| {
        let client = arg!(client client);
        let out = arg!(out out_json);
        let task_id = arg!(str task_id);
        let options = arg_options(options_json, files::NEW_WORKING_FILE_OPTIONS)?;
        let answer = files::new_working_file(&client, task_id, &options)?;
        write_opt_string(out, answer)
    })
}

/// gazu `files.get_working_file`: GET `data/working-files/{working_file_id}`.
///
/// On success `*out_json` receives the answer as JSON text, freed with kitsu_string_free().
#[no_mangle]
pub unsafe extern "C" fn kitsu_files_get_working_file(
    client: *const kitsu_client,
    working_file_id: *const c_char,
    out_json: *mut *mut c_char,
) -> kitsu_result {
    boundary(|| {
        let client = arg!(client client);
        let out = arg!(out out_json);
        let working_file_id = arg!(str working_file_id);
        let answer = files::get_working_file(&client, working_file_id)?;
        write_opt_string(out, answer)
    })
}

/// gazu `files.get_attachment_file`: GET `data/attachment-files/{attachment_file_id}`.
///
/// On success `*out_json` receives the answer as JSON text, freed with kitsu_string_free().
#[no_mangle]
pub unsafe extern "C" fn kitsu_files_get_attachment_file(
    client: *const kitsu_client,
    attachment_file_id: *const c_char,
    out_json: *mut *mut c_char,
) -> kitsu_result {
    boundary(|| {
        let client = arg!(client client);
        let out = arg!(out out_json);
        let attachment_file_id = arg!(str attachment_file_id);
        let answer = files::get_attachment_file(&client, attachment_file_id)?;
        write_opt_string(out, answer)
    })
}

/// gazu `files.update_project_file_tree`: PUT `data/projects/{project_id}` with `{"file_tree":
/// tree}`, `file_tree_json` being the tree (a JSON object); the answer is the project.
///
/// On success `*out_json` receives the answer as JSON text, freed with kitsu_string_free().
#[no_mangle]
pub unsafe extern "C" fn kitsu_files_update_project_file_tree(
    client: *const kitsu_client,
    project_id: *const c_char,
    file_tree_json: *const c_char,
    out_json: *mut *mut c_char,
) -> kitsu_result {
    boundary(|| {
        let client = arg!(client client);
        let out = arg!(out out_json);
        let project_id = arg!(str project_id);
        let file_tree_json = arg!(str file_tree_json);
        let answer = files::update_project_file_tree(&client, project_id, file_tree_json)?;
        write_opt_string(out, answer)
    })
}
