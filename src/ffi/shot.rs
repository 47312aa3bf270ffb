//! `kitsu_shot_*`: gazu's `shot` module (CSV and OTIO import, CSV export).
//! Each entry point checks its arguments, calls `crate::api` once and maps the result.

use std::ffi::{c_char, c_void};

use super::client::kitsu_client;
use super::{
    arg_options, boundary, kitsu_progress_cb, kitsu_result, kitsu_transfer_options,
    write_opt_string,
};
use crate::api::{asset, shot};

/// gazu `shot.import_shots_with_csv`: POST the CSV to `import/csv/projects/{project_id}/shots`
/// (part `file`); the answer is the list of shots.
///
/// An upload: see "Transfers" and "Uploads" in the contract at the top.
/// Retries: it creates records, so it is sent again only when the server surely did not act
/// (no connection made; 429; 503 with Retry-After).
#[no_mangle]
pub unsafe extern "C" fn kitsu_shot_import_shots_with_csv(
    client: *const kitsu_client,
    project_id: *const c_char,
    csv_path: *const c_char,
    transfer: *const kitsu_transfer_options,
    progress: kitsu_progress_cb,
    user_data: *mut c_void,
    out_json: *mut *mut c_char,
) -> kitsu_result {
    boundary(|| {
        let client = arg!(client client);
        let project_id = arg!(str project_id);
        let csv_path = arg!(path csv_path);
        let mut transfer = arg!(transfer transfer, progress, user_data);
        let answer = shot::blocking::import_shots_with_csv(
            &client,
            project_id,
            &csv_path,
            transfer.options(),
        )?;
        write_opt_string(out_json, answer)
    })
}

/// gazu `shot.export_shots_with_csv`: GET `export/csv/projects/{project_id}/shots.csv`.
/// Options: `episode`, `assigned_to` (ids).
///
/// A download: see "Transfers", "Downloads" and "Retries" in the contract at the top.
#[no_mangle]
pub unsafe extern "C" fn kitsu_shot_export_shots_with_csv(
    client: *const kitsu_client,
    project_id: *const c_char,
    target_path: *const c_char,
    options_json: *const c_char,
    transfer: *const kitsu_transfer_options,
    progress: kitsu_progress_cb,
    user_data: *mut c_void,
) -> kitsu_result {
    boundary(|| {
        let client = arg!(client client);
        let project_id = arg!(str project_id);
        let target_path = arg!(path target_path);
        let options = arg_options(options_json, asset::EXPORT_CSV_OPTIONS)?;
        let mut transfer = arg!(transfer transfer, progress, user_data);
        shot::blocking::export_shots_with_csv(
            &client,
            project_id,
            &target_path,
            &options,
            transfer.options(),
        )?;
        Ok(())
    })
}

/// gazu `shot.import_otio`: POST the OTIO file to `import/otio/projects/{project_id}`
/// (`/episodes/{episode}` with the `episode` option) with the fields `naming_convention`
/// (gazu's default, which depends on the episode) and `match_case` ("True"/"False", default
/// true). Zou picks the OTIO adapter from the file's extension. The answer is
/// `{"created_shots": [...], "updated_shots": [...]}`.
///
/// An upload: see "Transfers" and "Uploads" in the contract at the top.
/// Retries: it creates records, so it is sent again only when the server surely did not act
/// (no connection made; 429; 503 with Retry-After).
#[no_mangle]
pub unsafe extern "C" fn kitsu_shot_import_otio(
    client: *const kitsu_client,
    project_id: *const c_char,
    otio_path: *const c_char,
    options_json: *const c_char,
    transfer: *const kitsu_transfer_options,
    progress: kitsu_progress_cb,
    user_data: *mut c_void,
    out_json: *mut *mut c_char,
) -> kitsu_result {
    boundary(|| {
        let client = arg!(client client);
        let project_id = arg!(str project_id);
        let otio_path = arg!(path otio_path);
        let options = arg_options(options_json, shot::IMPORT_OTIO_OPTIONS)?;
        let mut transfer = arg!(transfer transfer, progress, user_data);
        let answer = shot::blocking::import_otio(
            &client,
            project_id,
            &otio_path,
            &options,
            transfer.options(),
        )?;
        write_opt_string(out_json, answer)
    })
}
