//! `kitsu_asset_*`: gazu's `asset` module (CSV import and export).
//! Each entry point checks its arguments, calls `crate::api` once and maps the result.

use std::ffi::{c_char, c_void};

use super::client::{client_arg, kitsu_client};
use super::{
    arg_options, arg_path, arg_str, as_progress, boundary, kitsu_progress_cb, kitsu_result,
    progress_adapter, write_opt_string,
};
use crate::api::asset;

/// gazu `asset.import_assets_with_csv`: POST the CSV to
/// `import/csv/projects/{project_id}/assets` (part `file`); the answer is the list of assets.
///
/// On success `*out_json` (when `out_json` is not NULL) receives the server's JSON answer,
/// freed with kitsu_string_free(). `progress` may be NULL; its `total` is the sum of the sizes
/// of the files sent.
///
/// # Safety
/// `client` is a live client; string arguments are NULL or NUL-terminated;
/// path arrays hold their count of such strings; out pointers are NULL or writable.
#[no_mangle]
pub unsafe extern "C" fn kitsu_asset_import_assets_with_csv(
    client: *const kitsu_client,
    project_id: *const c_char,
    csv_path: *const c_char,
    progress: kitsu_progress_cb,
    user_data: *mut c_void,
    out_json: *mut *mut c_char,
) -> kitsu_result {
    boundary(|| {
        let client = client_arg(client)?;
        let project_id = arg_str(project_id, "project_id")?;
        let csv_path = arg_path(csv_path, "csv_path")?;
        let mut callback = progress_adapter(progress, user_data);
        let answer = asset::import_assets_with_csv(
            &client,
            project_id,
            &csv_path,
            as_progress(&mut callback),
        )?;
        write_opt_string(out_json, answer, "kitsu_asset_import_assets_with_csv")
    })
}

/// gazu `asset.export_assets_with_csv`: GET `export/csv/projects/{project_id}/assets.csv`.
/// Options: `episode`, `assigned_to` (ids), sent as `episode_id` and `assigned_to`.
///
/// Downloads atomically to `target_path` as kitsu_client_download() does: nothing partial and
/// no error answer ever lands at the target, and a file already there is kept on any failure. A
/// 202 "still processing" is waited out. `progress` may be NULL.
///
/// # Safety
/// `client` is a live client; string arguments are NULL or NUL-terminated;
/// path arrays hold their count of such strings; out pointers are NULL or writable.
#[no_mangle]
pub unsafe extern "C" fn kitsu_asset_export_assets_with_csv(
    client: *const kitsu_client,
    project_id: *const c_char,
    target_path: *const c_char,
    options_json: *const c_char,
    progress: kitsu_progress_cb,
    user_data: *mut c_void,
) -> kitsu_result {
    boundary(|| {
        let client = client_arg(client)?;
        let project_id = arg_str(project_id, "project_id")?;
        let target_path = arg_path(target_path, "target_path")?;
        let options = arg_options(options_json, asset::EXPORT_CSV_OPTIONS)?;
        let mut callback = progress_adapter(progress, user_data);
        asset::export_assets_with_csv(
            &client,
            project_id,
            &target_path,
            &options,
            as_progress(&mut callback),
        )?;
        Ok(())
    })
}
