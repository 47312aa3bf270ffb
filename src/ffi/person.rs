//! `kitsu_person_*`: gazu's `person` module.
//! Each entry point checks its arguments, calls `crate::api` once and maps the result.

use std::ffi::{c_char, c_void};

use super::client::kitsu_client;
use super::{boundary, kitsu_progress_cb, kitsu_result, kitsu_transfer_options, write_opt_string};
use crate::api::person;

/// gazu `person.set_avatar`: the same request as kitsu_files_upload_person_avatar().
///
/// An upload: see "Transfers" and "Uploads" in the contract at the top.
/// Retries: repeatable (Zou overwrites the bytes), so sent again after any failure worth it.
#[no_mangle]
pub unsafe extern "C" fn kitsu_person_set_avatar(
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
        let answer =
            person::blocking::set_avatar(&client, person_id, &file_path, transfer.options())?;
        write_opt_string(out_json, answer)
    })
}

/// gazu `person.get_person_by_email`: GET `data/persons?email=...&is_bot=False`; the first
/// match, or `null`.
///
/// On success `*out_json` receives the answer as JSON text, freed with kitsu_string_free().
#[no_mangle]
pub unsafe extern "C" fn kitsu_person_get_person_by_email(
    client: *const kitsu_client,
    email: *const c_char,
    out_json: *mut *mut c_char,
) -> kitsu_result {
    boundary(|| {
        let client = arg!(client client);
        let out = arg!(out out_json);
        let email = arg!(str email);
        let answer = person::get_person_by_email(&client, email)?;
        write_opt_string(out, answer)
    })
}
