//! gazu's `asset` module: CSV import and export.

use std::path::Path;

use super::{check_id, download, upload_one, Options};
use crate::client::Client;
use crate::error::Result;
use crate::route::with_query;
use crate::transfer::{Call, Idempotency};

/// Options of the CSV exports (`asset.export_assets_with_csv`,
/// `shot.export_shots_with_csv`): `episode`, `assigned_to` (ids).
pub const EXPORT_CSV_OPTIONS: &[&str] = &["episode", "assigned_to"];

/// GET `export/csv/projects/{id}/{what}.csv[?episode_id=&assigned_to=]`.
pub(crate) async fn export_csv(
    client: &Client,
    call: &mut Call<'_>,
    project_id: &str,
    what: &str,
    target: &Path,
    options: &Options,
) -> Result<u64> {
    let project_id = check_id("project_id", project_id)?;
    let episode = options.id("episode")?;
    let assigned_to = options.id("assigned_to")?;
    let route = with_query(
        &format!("export/csv/projects/{project_id}/{what}.csv"),
        &[
            ("episode_id", episode.as_deref()),
            ("assigned_to", assigned_to.as_deref()),
        ],
    );
    download(client, call, &route, target).await
}

/// POST `import/csv/projects/{id}/{what}`, part `file`.
pub(crate) async fn import_csv(
    client: &Client,
    call: &mut Call<'_>,
    project_id: &str,
    what: &str,
    csv: &Path,
) -> Result<String> {
    let project_id = check_id("project_id", project_id)?;
    upload_one(
        client,
        call,
        &format!("import/csv/projects/{project_id}/{what}"),
        csv,
        Idempotency::CreatesRecord,
    )
    .await
}

/// gazu's `export_assets_with_csv` (options `episode`, `assigned_to`).
pub async fn export_assets_with_csv(
    client: &Client,
    call: &mut Call<'_>,
    project_id: &str,
    target: &Path,
    options: &Options,
) -> Result<u64> {
    export_csv(client, call, project_id, "assets", target, options).await
}

/// gazu's `import_assets_with_csv`: the created assets.
pub async fn import_assets_with_csv(
    client: &Client,
    call: &mut Call<'_>,
    project_id: &str,
    csv: &Path,
) -> Result<String> {
    import_csv(client, call, project_id, "assets", csv).await
}

blocking! {
    fn export_assets_with_csv(project_id: &str, target: &Path, options: &Options) -> u64;
    fn import_assets_with_csv(project_id: &str, csv: &Path) -> String;
}
