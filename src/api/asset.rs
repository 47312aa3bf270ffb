//! gazu's `asset` module: CSV import and export.

use std::path::Path;

use super::{check_id, upload_one, with_query, Options};
use crate::client::Client;
use crate::error::Result;
use crate::transfer::progress::ProgressFn;

/// Options of the CSV exports (`asset.export_assets_with_csv`,
/// `shot.export_shots_with_csv`): `episode`, `assigned_to` (ids).
pub const EXPORT_CSV_OPTIONS: &[&str] = &["episode", "assigned_to"];

/// GET `export/csv/projects/{id}/{what}.csv[?episode_id=&assigned_to=]`.
pub(crate) fn export_csv(
    client: &Client,
    project_id: &str,
    what: &str,
    target: &Path,
    options: &Options,
    progress: Option<&mut ProgressFn<'_>>,
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
    client.download(&route, target, progress)
}

/// POST `import/csv/projects/{id}/{what}`, part `file`.
pub(crate) fn import_csv(
    client: &Client,
    project_id: &str,
    what: &str,
    csv: &Path,
    progress: Option<&mut ProgressFn<'_>>,
) -> Result<String> {
    let project_id = check_id("project_id", project_id)?;
    upload_one(
        client,
        &format!("import/csv/projects/{project_id}/{what}"),
        csv,
        progress,
    )
}

/// gazu's `export_assets_with_csv` (options `episode`, `assigned_to`).
pub fn export_assets_with_csv(
    client: &Client,
    project_id: &str,
    target: &Path,
    options: &Options,
    progress: Option<&mut ProgressFn<'_>>,
) -> Result<u64> {
    export_csv(client, project_id, "assets", target, options, progress)
}

/// gazu's `import_assets_with_csv`: the created assets.
pub fn import_assets_with_csv(
    client: &Client,
    project_id: &str,
    csv: &Path,
    progress: Option<&mut ProgressFn<'_>>,
) -> Result<String> {
    import_csv(client, project_id, "assets", csv, progress)
}
