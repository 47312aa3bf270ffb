//! gazu's `playlist` module: playlist builds and zips.

use std::path::Path;

use super::{check_id, download};
use crate::client::Client;
use crate::error::Result;
use crate::transfer::Call;

/// GET `data/playlists/{playlist}/jobs/{build_job}/build/mp4`: a built playlist movie.
pub async fn download_playlist_build(
    client: &Client,
    call: &mut Call<'_>,
    playlist_id: &str,
    build_job_id: &str,
    target: &Path,
) -> Result<u64> {
    let playlist_id = check_id("playlist_id", playlist_id)?;
    let build_job_id = check_id("build_job_id", build_job_id)?;
    download(
        client,
        call,
        &format!("data/playlists/{playlist_id}/jobs/{build_job_id}/build/mp4"),
        target,
    )
    .await
}

/// GET `data/playlists/{id}/download/zip`: every preview of the playlist in a zip.
pub async fn download_playlist_zip(
    client: &Client,
    call: &mut Call<'_>,
    playlist_id: &str,
    target: &Path,
) -> Result<u64> {
    let playlist_id = check_id("playlist_id", playlist_id)?;
    download(
        client,
        call,
        &format!("data/playlists/{playlist_id}/download/zip"),
        target,
    )
    .await
}

blocking! {
    fn download_playlist_build(playlist_id: &str, build_job_id: &str, target: &Path) -> u64;
    fn download_playlist_zip(playlist_id: &str, target: &Path) -> u64;
}
