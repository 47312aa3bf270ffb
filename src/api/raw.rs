//! gazu's `client` module (`gazu.client`, imported by gazu's modules as
//! `raw`): any route to a file, into memory, or from files, with gazu's
//! conventions (Accept header, part names, form values).

use std::path::{Path, PathBuf};

use crate::client::Client;
use crate::error::Result;
use crate::transfer::{Call, Idempotency};

/// gazu's `raw.download`: any route to `target`, atomically, waiting out 202s.
pub async fn download(
    client: &Client,
    call: &mut Call<'_>,
    route: &str,
    target: &Path,
) -> Result<u64> {
    super::download(client, call, route, target).await
}

/// gazu's `raw.get_file_data_from_url`: any route's body, in memory.
pub async fn get_file_data_from_url(
    client: &Client,
    call: &mut Call<'_>,
    route: &str,
) -> Result<Vec<u8>> {
    crate::transfer::download::to_memory(call, client, route, super::DOWNLOAD_ACCEPT).await
}

/// gazu's `raw.upload`: the form `fields`, then `files` as `file`, `file-1`, ...
/// The route's effect is unknown here, so it is retried only when the
/// server surely did not act (see [`Idempotency::CreatesRecord`]).
pub async fn upload(
    client: &Client,
    call: &mut Call<'_>,
    route: &str,
    files: &[PathBuf],
    fields: &[(String, String)],
) -> Result<String> {
    super::upload(
        client,
        call,
        route,
        files,
        fields,
        Idempotency::CreatesRecord,
    )
    .await
}

/// The length of `route`'s body (a HEAD request, gazu's Accept header),
/// without downloading it: `None` when the server gives none or is still
/// processing. Not in gazu; batch tools use it to skip files already here.
pub async fn content_length(
    client: &Client,
    call: &mut Call<'_>,
    route: &str,
) -> Result<Option<u64>> {
    crate::transfer::download::content_length(call, client, route, super::DOWNLOAD_ACCEPT).await
}

blocking! {
    /// gazu's `raw.download`.
    fn download(route: &str, target: &Path) -> u64;
    /// gazu's `raw.get_file_data_from_url`.
    fn get_file_data_from_url(route: &str) -> Vec<u8>;
    /// gazu's `raw.upload`.
    fn upload(route: &str, files: &[PathBuf], fields: &[(String, String)]) -> String;
    /// The length of a route's body, without downloading it.
    fn content_length(route: &str) -> Option<u64>;
}
