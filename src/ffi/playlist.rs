//! `kitsu_playlist_*`: gazu's `playlist` module.
//! Each entry point checks its arguments, calls `crate::api` once and maps the result.

use std::ffi::{c_char, c_void};

use super::client::kitsu_client;
use super::{boundary, kitsu_progress_cb, kitsu_result, kitsu_transfer_options};
use crate::api::playlist;

/// gazu `playlist.download_playlist_build`: GET
/// `data/playlists/{playlist_id}/jobs/{build_job_id}/build/mp4`, a built playlist movie.
///
/// A download: see "Transfers", "Downloads" and "Retries" in the contract at the top.
#[no_mangle]
pub unsafe extern "C" fn kitsu_playlist_download_playlist_build(
    client: *const kitsu_client,
    playlist_id: *const c_char,
    build_job_id: *const c_char,
    target_path: *const c_char,
    transfer: *const kitsu_transfer_options,
    progress: kitsu_progress_cb,
    user_data: *mut c_void,
) -> kitsu_result {
    boundary(|| {
        let client = arg!(client client);
        let playlist_id = arg!(str playlist_id);
        let build_job_id = arg!(str build_job_id);
        let target_path = arg!(path target_path);
        let mut transfer = arg!(transfer transfer, progress, user_data);
        playlist::blocking::download_playlist_build(
            &client,
            playlist_id,
            build_job_id,
            &target_path,
            transfer.options(),
        )?;
        Ok(())
    })
}

/// gazu `playlist.download_playlist_zip`: GET `data/playlists/{playlist_id}/download/zip`.
///
/// A download: see "Transfers", "Downloads" and "Retries" in the contract at the top.
#[no_mangle]
pub unsafe extern "C" fn kitsu_playlist_download_playlist_zip(
    client: *const kitsu_client,
    playlist_id: *const c_char,
    target_path: *const c_char,
    transfer: *const kitsu_transfer_options,
    progress: kitsu_progress_cb,
    user_data: *mut c_void,
) -> kitsu_result {
    boundary(|| {
        let client = arg!(client client);
        let playlist_id = arg!(str playlist_id);
        let target_path = arg!(path target_path);
        let mut transfer = arg!(transfer transfer, progress, user_data);
        playlist::blocking::download_playlist_zip(
            &client,
            playlist_id,
            &target_path,
            transfer.options(),
        )?;
        Ok(())
    })
}
