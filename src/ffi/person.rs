//! `kitsu_person_*`: gazu's `person` module.
//! Each entry point checks its arguments, calls `crate::api` once and maps the result.

use std::ffi::{c_char, c_void};

use super::client::{client_arg, kitsu_client};
use super::{
    arg_out, arg_path, arg_str, as_progress, boundary, kitsu_progress_cb, kitsu_result,
    progress_adapter, write_opt_string,
};
use crate::api::person;

/// gazu `person.set_avatar`: the same request as kitsu_files_upload_person_avatar().
///
/// On success `*out_json` (when `out_json` is not NULL) receives the server's JSON answer,
/// freed with kitsu_string_free(). `progress` may be NULL; its `total` is the sum of the sizes
/// of the files sent.
///
/// # Safety
/// `client` is a live client; string arguments are NULL or NUL-terminated;
/// path arrays hold their count of such strings; out pointers are NULL or writable.
#[no_mangle]
pub unsafe extern "C" fn kitsu_person_set_avatar(
    client: *const kitsu_client,
    person_id: *const c_char,
    file_path: *const c_char,
    progress: kitsu_progress_cb,
    user_data: *mut c_void,
    out_json: *mut *mut c_char,
) -> kitsu_result {
    boundary(|| {
        let client = client_arg(client)?;
        let person_id = arg_str(person_id, "person_id")?;
        let file_path = arg_path(file_path, "file_path")?;
        let mut callback = progress_adapter(progress, user_data);
        let answer =
            person::set_avatar(&client, person_id, &file_path, as_progress(&mut callback))?;
        write_opt_string(out_json, answer, "kitsu_person_set_avatar")
    })
}

/// gazu `person.get_person_by_email`: GET `data/persons?email=...&is_bot=False`; the first
/// match, or `null`.
///
/// On success `*out_json` receives the answer as JSON text, freed with kitsu_string_free().
///
/// # Safety
/// `client` is a live client; string arguments are NULL or NUL-terminated;
/// path arrays hold their count of such strings; out pointers are NULL or writable.
#[no_mangle]
pub unsafe extern "C" fn kitsu_person_get_person_by_email(
    client: *const kitsu_client,
    email: *const c_char,
    out_json: *mut *mut c_char,
) -> kitsu_result {
    boundary(|| {
        let client = client_arg(client)?;
        let out = arg_out(out_json, "out_json")?;
        let email = arg_str(email, "email")?;
        let answer = person::get_person_by_email(&client, email)?;
        write_opt_string(out, answer, "kitsu_person_get_person_by_email")
    })
}
