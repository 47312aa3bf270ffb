//! gazu's `playlist` module: playlist builds and zips.

use std::path::Path;

use super::check_id;
use crate::client::Client;
use crate::error::Result;
use crate::transfer::progress::ProgressFn;

/// GET `data/playlists/{playlist}/jobs/{build_job}/build/mp4`: a built playlist movie.
pub fn download_playlist_build(
    client: &Client,
    playlist_id: &str,
    build_job_id: &str,
    target: &Path,
    progress: Option<&mut ProgressFn<'_>>,
) -> Result<u64> {
    let playlist_id = check_id("playlist_id", playlist_id)?;
    let build_job_id = check_id("build_job_id", build_job_id)?;
    client.download(
        &format!("data/playlists/{playlist_id}/jobs/{build_job_id}/build/mp4"),
        target,
        progress,
    )
}

/// GET `data/playlists/{id}/download/zip`: every preview of the playlist in a zip.
pub fn download_playlist_zip(
    client: &Client,
    playlist_id: &str,
    target: &Path,
    progress: Option<&mut ProgressFn<'_>>,
) -> Result<u64> {
    let playlist_id = check_id("playlist_id", playlist_id)?;
    client.download(
        &format!("data/playlists/{playlist_id}/download/zip"),
        target,
        progress,
    )
}
