//! gazu's `shot` module: CSV import and export, OTIO import.

use std::path::{Path, PathBuf};

use super::asset::{export_csv, import_csv};
use super::{check_id, Options};
use crate::client::Client;
use crate::error::Result;
use crate::transfer::upload::Part;
use crate::transfer::{Call, Idempotency};

/// Options of [`import_otio`].
pub const IMPORT_OTIO_OPTIONS: &[&str] = &["episode", "naming_convention", "match_case"];

/// gazu's `export_shots_with_csv` (options `episode`, `assigned_to`).
pub async fn export_shots_with_csv(
    client: &Client,
    call: &mut Call<'_>,
    project_id: &str,
    target: &Path,
    options: &Options,
) -> Result<u64> {
    export_csv(client, call, project_id, "shots", target, options).await
}

/// gazu's `import_shots_with_csv`: the created shots.
pub async fn import_shots_with_csv(
    client: &Client,
    call: &mut Call<'_>,
    project_id: &str,
    csv: &Path,
) -> Result<String> {
    import_csv(client, call, project_id, "shots", csv).await
}

/// POST `import/otio/projects/{id}[/episodes/{episode}]` with the fields
/// `naming_convention` (gazu's default depends on the episode) and
/// `match_case` ("True"/"False", default true), then part `file`. Zou picks
/// the OTIO adapter from the file's extension. Returns
/// `{"created_shots": [...], "updated_shots": [...]}`.
pub async fn import_otio(
    client: &Client,
    call: &mut Call<'_>,
    project_id: &str,
    otio: &Path,
    options: &Options,
) -> Result<String> {
    let project_id = check_id("project_id", project_id)?;
    let episode = options.id("episode")?;
    let naming_convention = match options.string("naming_convention")? {
        Some(convention) => convention,
        None if episode.is_some() => {
            "${project_name}_${episode_name}-${sequence_name}-${shot_name}".into()
        }
        None => "${project_name}_${sequence_name}-${shot_name}".into(),
    };
    let match_case = if options.bool("match_case", true)? {
        "True"
    } else {
        "False"
    };
    let mut route = format!("import/otio/projects/{project_id}");
    if let Some(episode) = &episode {
        route = format!("{route}/episodes/{episode}");
    }
    let parts = [
        Part::field("naming_convention", naming_convention),
        Part::field("match_case", match_case),
        Part::file("file", PathBuf::from(otio)),
    ];
    super::send_parts(client, call, &route, &parts, Idempotency::CreatesRecord).await
}

blocking! {
    fn export_shots_with_csv(project_id: &str, target: &Path, options: &Options) -> u64;
    fn import_shots_with_csv(project_id: &str, csv: &Path) -> String;
    fn import_otio(project_id: &str, otio: &Path, options: &Options) -> String;
}
