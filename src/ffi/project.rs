//! `kitsu_project_*`: gazu's `project` module.
//! Each entry point checks its arguments, calls `crate::api` once and maps the result.

use std::ffi::c_char;

use super::client::kitsu_client;
use super::{boundary, kitsu_result, write_opt_string};
use crate::api::project;

/// gazu `project.get_project_by_name`: GET `data/projects?name=...`; the first match, or
/// `null`.
///
/// On success `*out_json` receives the answer as JSON text, freed with kitsu_string_free().
#[no_mangle]
pub unsafe extern "C" fn kitsu_project_get_project_by_name(
    client: *const kitsu_client,
    name: *const c_char,
    out_json: *mut *mut c_char,
) -> kitsu_result {
    boundary(|| {
        let client = arg!(client client);
        let out = arg!(out out_json);
        let name = arg!(str name);
        let answer = project::get_project_by_name(&client, name)?;
        write_opt_string(out, answer)
    })
}

/// gazu `project.all_open_projects`: GET `data/projects/open`.
///
/// On success `*out_json` receives the answer as JSON text, freed with kitsu_string_free().
#[no_mangle]
pub unsafe extern "C" fn kitsu_project_all_open_projects(
    client: *const kitsu_client,
    out_json: *mut *mut c_char,
) -> kitsu_result {
    boundary(|| {
        let client = arg!(client client);
        let out = arg!(out out_json);
        let answer = project::all_open_projects(&client)?;
        write_opt_string(out, answer)
    })
}
