//! `kitsu_playlist_*`: gazu's `playlist` module.
//! Each entry point checks its arguments, calls `crate::api` once and maps the result.

use std::ffi::{c_char, c_void};

use super::client::{client_arg, kitsu_client};
use super::{
    arg_path, arg_str, as_progress, boundary, kitsu_progress_cb, kitsu_result, progress_adapter,
};
use crate::api::playlist;

/// gazu `playlist.download_playlist_build`: GET
/// `data/playlists/{playlist_id}/jobs/{build_job_id}/build/mp4`, a built playlist movie.
///
/// Downloads atomically to `target_path` as kitsu_client_download() does: nothing partial and
/// no error answer ever lands at the target, and a file already there is kept on any failure. A
/// 202 "still processing" is waited out. `progress` may be NULL.
///
/// # Safety
/// `client` is a live client; string arguments are NULL or NUL-terminated;
/// path arrays hold their count of such strings; out pointers are NULL or writable.
#[no_mangle]
pub unsafe extern "C" fn kitsu_playlist_download_playlist_build(
    client: *const kitsu_client,
    playlist_id: *const c_char,
    build_job_id: *const c_char,
    target_path: *const c_char,
    progress: kitsu_progress_cb,
    user_data: *mut c_void,
) -> kitsu_result {
    boundary(|| {
        let client = client_arg(client)?;
        let playlist_id = arg_str(playlist_id, "playlist_id")?;
        let build_job_id = arg_str(build_job_id, "build_job_id")?;
        let target_path = arg_path(target_path, "target_path")?;
        let mut callback = progress_adapter(progress, user_data);
        playlist::download_playlist_build(
            &client,
            playlist_id,
            build_job_id,
            &target_path,
            as_progress(&mut callback),
        )?;
        Ok(())
    })
}

/// gazu `playlist.download_playlist_zip`: GET `data/playlists/{playlist_id}/download/zip`.
///
/// Downloads atomically to `target_path` as kitsu_client_download() does: nothing partial and
/// no error answer ever lands at the target, and a file already there is kept on any failure. A
/// 202 "still processing" is waited out. `progress` may be NULL.
///
/// # Safety
/// `client` is a live client; string arguments are NULL or NUL-terminated;
/// path arrays hold their count of such strings; out pointers are NULL or writable.
#[no_mangle]
pub unsafe extern "C" fn kitsu_playlist_download_playlist_zip(
    client: *const kitsu_client,
    playlist_id: *const c_char,
    target_path: *const c_char,
    progress: kitsu_progress_cb,
    user_data: *mut c_void,
) -> kitsu_result {
    boundary(|| {
        let client = client_arg(client)?;
        let playlist_id = arg_str(playlist_id, "playlist_id")?;
        let target_path = arg_path(target_path, "target_path")?;
        let mut callback = progress_adapter(progress, user_data);
        playlist::download_playlist_zip(
            &client,
            playlist_id,
            &target_path,
            as_progress(&mut callback),
        )?;
        Ok(())
    })
}
