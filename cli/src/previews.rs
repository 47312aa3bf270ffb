//! `kitsu download-previews`: every preview of the chosen projects, through
//! libkitsu's batch engine, into DIR/<project>/<entity>/<task type>/.
//! Files already there with the right size are skipped; a download cut by
//! a killed run is resumed from what it had received.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::path::{Path, PathBuf};

use kitsu::api::batch::{Batch, Item};
use kitsu::api::files::{self, PreviewKind};
use kitsu::api::{project, raw};
use kitsu::transfer::checksum::{hex, sha256_of_file};
use kitsu::{Client, Event, Operation, TransferOptions};
use serde_json::{json, Value};

use crate::args::{DownloadPreviewsArgs, Kind};
use crate::failure::Failure;
use crate::interrupt;
use crate::report::{Mode, Outcome, OutputOptions, Reporter};

/// One preview to download.
#[derive(Clone, Debug)]
pub struct Planned {
    /// The target relative to the output folder.
    pub label: String,
    pub route: String,
    pub target: PathBuf,
    pub preview_id: String,
    pub kind: PreviewKind,
    pub extension: String,
    /// The size the file must have, when the record tells it.
    pub expected: Option<u64>,
    pub revision: u64,
}

/// Folder-safe text: a server-given name never leaves the output folder
/// (no separators, no `..`, no leading dot, no control characters) and
/// stays well under the file-name limit.
pub fn safe_name(text: &str) -> String {
    let cleaned: String = text
        .chars()
        .map(|c| {
            if c.is_alphanumeric() || "-_. ()+,".contains(c) {
                c
            } else {
                '_'
            }
        })
        .take(100)
        .collect();
    let cleaned = cleaned.trim().trim_start_matches('.').trim().to_string();
    if cleaned.is_empty() {
        "unnamed".into()
    } else {
        cleaned
    }
}

fn text<'v>(value: &'v Value, key: &str) -> &'v str {
    value.get(key).and_then(Value::as_str).unwrap_or_default()
}

fn records(client: &Client, route: &str) -> Result<Vec<Value>, Failure> {
    match client.get_value(route)? {
        Value::Array(items) => Ok(items),
        other => Err(Failure::Failed(format!(
            "{route}: expected a list, got {}",
            other.to_string().chars().take(80).collect::<String>()
        ))),
    }
}

/// The id of the record of `list` whose `key` is `wanted` (case-insensitive).
fn id_by(list: &[Value], key: &str, wanted: &str, what: &str) -> Result<String, Failure> {
    list.iter()
        .find(|record| text(record, key).eq_ignore_ascii_case(wanted))
        .map(|record| text(record, "id").to_string())
        .ok_or_else(|| {
            let mut known: Vec<&str> = list.iter().map(|r| text(r, key)).collect();
            known.sort_unstable();
            Failure::Usage(format!(
                "no {what} {wanted:?} on the server (known: {})",
                known.join(", ")
            ))
        })
}

fn kind_of(kind: Kind) -> PreviewKind {
    match kind {
        Kind::Original => PreviewKind::Original,
        Kind::Thumbnail => PreviewKind::Thumbnail,
        Kind::Movie => PreviewKind::Movie,
        Kind::Lowdef => PreviewKind::LowDefMovie,
    }
}

/// The projects named on the command line, or every open project.
fn projects(client: &Client, names: &[String]) -> Result<Vec<Value>, Failure> {
    if names.is_empty() {
        let text = project::all_open_projects(client)?;
        return serde_json::from_str::<Vec<Value>>(&text)
            .map_err(|e| Failure::Failed(format!("data/projects/open: {e}")));
    }
    let mut found = Vec::new();
    for name in names {
        let text = project::get_project_by_name(client, name)?;
        match serde_json::from_str::<Value>(&text) {
            Ok(Value::Object(record)) => found.push(Value::Object(record)),
            _ => return Err(Failure::Usage(format!("no project named {name:?}"))),
        }
    }
    Ok(found)
}

/// What to download, in a stable order (project, entity, task type, revision).
pub fn plan(client: &Client, args: &DownloadPreviewsArgs) -> Result<Vec<Planned>, Failure> {
    let projects = projects(client, &args.projects)?;
    let task_types = records(client, "data/task-types")?;
    let statuses = records(client, "data/task-status")?;
    let wanted_type = match &args.task_type {
        Some(name) => Some(id_by(&task_types, "name", name, "task type")?),
        None => None,
    };
    let wanted_status = match &args.status {
        Some(short) => Some(id_by(&statuses, "short_name", short, "task status")?),
        None => None,
    };
    let type_names: HashMap<&str, &str> = task_types
        .iter()
        .map(|t| (text(t, "id"), text(t, "name")))
        .collect();
    let kind = kind_of(args.kind);
    let mut plan = Vec::new();
    let mut taken = HashSet::new();
    for project in &projects {
        let project_id = text(project, "id");
        let project_dir = args.out.join(safe_name(text(project, "name")));
        let tasks = records(client, &format!("data/projects/{project_id}/tasks"))?;
        let entities = records(client, &format!("data/entities?project_id={project_id}"))?;
        let previews = records(client, &format!("data/projects/{project_id}/preview-files"))?;
        let entity_by_id: HashMap<&str, &Value> =
            entities.iter().map(|e| (text(e, "id"), e)).collect();
        // A shot's folder names its sequence too: SQ01_SH010.
        let entity_name = |id: &str| -> String {
            let Some(entity) = entity_by_id.get(id) else {
                return "unknown entity".into();
            };
            match entity_by_id.get(text(entity, "parent_id")) {
                Some(parent) => format!("{}_{}", text(parent, "name"), text(entity, "name")),
                None => text(entity, "name").to_string(),
            }
        };
        let task_by_id: HashMap<&str, &Value> = tasks
            .iter()
            .filter(|t| {
                wanted_type
                    .as_deref()
                    .is_none_or(|w| text(t, "task_type_id") == w)
            })
            .filter(|t| {
                wanted_status
                    .as_deref()
                    .is_none_or(|w| text(t, "task_status_id") == w)
            })
            .map(|t| (text(t, "id"), t))
            .collect();
        // Per task, its previews by revision (newest last).
        let mut by_task: BTreeMap<&str, BTreeMap<u64, Vec<&Value>>> = BTreeMap::new();
        for preview in &previews {
            let task_id = text(preview, "task_id");
            if !task_by_id.contains_key(task_id) || text(preview, "extension").is_empty() {
                continue;
            }
            let revision = preview.get("revision").and_then(Value::as_u64).unwrap_or(0);
            by_task
                .entry(task_id)
                .or_default()
                .entry(revision)
                .or_default()
                .push(preview);
        }
        let mut project_plan = Vec::new();
        for (task_id, revisions) in &by_task {
            let task = task_by_id[task_id];
            let entity = safe_name(&entity_name(text(task, "entity_id")));
            let task_type = safe_name(
                type_names
                    .get(text(task, "task_type_id"))
                    .copied()
                    .unwrap_or("task"),
            );
            let chosen: Vec<(&u64, &Vec<&Value>)> = if args.latest_only {
                revisions.iter().next_back().into_iter().collect()
            } else {
                revisions.iter().collect()
            };
            for (&revision, previews) in chosen {
                for preview in previews {
                    let extension = text(preview, "extension").trim_start_matches('.');
                    let is_movie = extension.eq_ignore_ascii_case("mp4");
                    if matches!(kind, PreviewKind::Movie | PreviewKind::LowDefMovie) && !is_movie {
                        continue;
                    }
                    let id = text(preview, "id").to_string();
                    let (suffix, file_extension) = match kind {
                        PreviewKind::Original => ("", extension.to_string()),
                        PreviewKind::Thumbnail => ("-thumbnail", "png".into()),
                        PreviewKind::Movie => ("-movie", "mp4".into()),
                        _ => ("-lowdef", "mp4".into()),
                    };
                    let name = match text(preview, "original_name") {
                        "" => "preview".to_string(),
                        name => safe_name(name),
                    };
                    let position = preview.get("position").and_then(Value::as_u64).unwrap_or(1);
                    let position = if position > 1 {
                        format!("-{position}")
                    } else {
                        String::new()
                    };
                    let folder = project_dir.join(&entity).join(&task_type);
                    let file = safe_name(&format!(
                        "v{revision:03}-{name}{position}{suffix}.{file_extension}"
                    ));
                    let mut target = folder.join(&file);
                    if !taken.insert(target.clone()) {
                        let short: String = id.chars().take(8).collect();
                        target = folder.join(safe_name(&format!(
                            "v{revision:03}-{name}{position}-{short}{suffix}.{file_extension}"
                        )));
                        taken.insert(target.clone());
                    }
                    let expected = match kind {
                        PreviewKind::Original => preview
                            .get("file_size")
                            .and_then(Value::as_u64)
                            .filter(|&s| s > 0),
                        _ => None,
                    };
                    let route = files::preview_route(&id, kind, Some(extension))?;
                    let label = target
                        .strip_prefix(&args.out)
                        .unwrap_or(&target)
                        .display()
                        .to_string();
                    project_plan.push(Planned {
                        label,
                        route,
                        target,
                        preview_id: id,
                        kind,
                        extension: extension.to_string(),
                        expected,
                        revision,
                    });
                }
            }
        }
        project_plan.sort_by(|a, b| a.label.cmp(&b.label));
        plan.extend(project_plan);
    }
    Ok(plan)
}

/// Why `planned` need not be downloaded: a regular file of the right size
/// is there. The size is the record's (originals) or a HEAD request's.
fn already_here(
    client: &Client,
    planned: &Planned,
    cancel: &kitsu::CancelToken,
) -> Result<Option<String>, Failure> {
    let Ok(metadata) = std::fs::symlink_metadata(&planned.target) else {
        return Ok(None);
    };
    if !metadata.is_file() {
        return Ok(None);
    }
    let expected = match planned.expected {
        Some(size) => Some(size),
        None => {
            let options = TransferOptions {
                cancel: Some(cancel.clone()),
                ..TransferOptions::default()
            };
            match raw::blocking::content_length(client, &planned.route, options) {
                Ok(size) => size,
                Err(error) if matches!(error.root(), kitsu::Error::Cancelled) => {
                    return Err(Failure::Interrupted)
                }
                // Not known: download it again, which is always right.
                Err(_) => None,
            }
        }
    };
    Ok((expected == Some(metadata.len()))
        .then(|| format!("already here, {} bytes", metadata.len())))
}

pub fn download_previews(
    client: &Client,
    args: &DownloadPreviewsArgs,
    output: OutputOptions,
) -> Result<(), Failure> {
    let plan = plan(client, args)?;
    let cancel = interrupt::token();
    let mut reporter = Reporter::new(output);
    reporter.note(&format!(
        "{} preview(s) into {}",
        plan.len(),
        args.out.display()
    ));
    let mut batch = Batch::new();
    // Batch index -> reporter index.
    let mut indices = Vec::new();
    let mut targets = Vec::new();
    let mut would_download = Vec::new();
    // Files already there with the right size (their SHA-256 is read for SHA256SUMS).
    let mut already = Vec::new();
    for planned in &plan {
        if cancel.is_cancelled() {
            break;
        }
        let index = reporter.add_download(&planned.label, &planned.route, &planned.target);
        reporter.set_extra(index, "preview_id", json!(planned.preview_id));
        reporter.set_extra(index, "revision", json!(planned.revision));
        match already_here(client, planned, &cancel) {
            Ok(Some(reason)) => {
                reporter.finish(index, Outcome::Skipped { reason });
                already.push(planned.target.clone());
                continue;
            }
            Ok(None) => {}
            // Ctrl-C during the checks: the summary below says so.
            Err(Failure::Interrupted) => {
                reporter.finish(index, Outcome::Cancelled);
                break;
            }
            Err(failure) => return Err(failure),
        }
        if args.dry_run {
            would_download.push(planned.target.clone());
            reporter.finish(
                index,
                Outcome::Skipped {
                    reason: "dry run: would download".into(),
                },
            );
            continue;
        }
        if let Some(folder) = planned.target.parent() {
            std::fs::create_dir_all(folder)
                .map_err(|e| Failure::Failed(format!("cannot create {}: {e}", folder.display())))?;
        }
        batch.add(Item::Preview {
            id: planned.preview_id.clone(),
            kind: planned.kind,
            extension: Some(planned.extension.clone()),
            target: planned.target.clone(),
        })?;
        indices.push(index);
        targets.push(planned.target.clone());
    }
    if args.dry_run && reporter.mode() != Mode::Json {
        for target in &would_download {
            crate::report::stdout_line(&target.display().to_string());
        }
    }
    let outcome = run_batch(
        client,
        &mut batch,
        &mut reporter,
        &indices,
        RunSettings {
            jobs: args.jobs,
            segments: 1,
            checksum: args.checksum,
        },
        &cancel,
    );
    let interrupted = interrupt::interrupted() || matches!(outcome, Err(kitsu::Error::Cancelled));
    if interrupted && !args.keep_partial {
        discard_partials(&batch, &targets);
    }
    if args.checksum && !interrupted && !args.dry_run {
        let mut sums: Vec<(PathBuf, [u8; 32])> = targets
            .iter()
            .enumerate()
            .filter_map(|(i, target)| Some((target.clone(), sha256_of(&batch, i)?)))
            .collect();
        for target in &already {
            match sha256_of_file(target) {
                Ok(digest) => sums.push((target.clone(), digest)),
                Err(e) => eprintln!("kitsu: {}: {e}", target.display()),
            }
        }
        if !sums.is_empty() {
            match write_sha256sums(&args.out, &sums) {
                Ok(path) => reporter.note(&format!("checksums in {}", path.display())),
                Err(e) => eprintln!(
                    "kitsu: cannot write SHA256SUMS in {}: {e}",
                    args.out.display()
                ),
            }
        }
    }
    let summary = reporter.close(interrupted);
    summary.result(interrupted)
}

/// How a batch runs: transfers at once, ranged streams per download,
/// and whether each file's SHA-256 is computed.
#[derive(Clone, Copy, Debug)]
pub struct RunSettings {
    pub jobs: u32,
    pub segments: u32,
    pub checksum: bool,
}

/// Runs `batch` with its items' events shown as items `indices` of
/// `reporter`. With `checksum`, each item's record gets its `sha256` (the
/// items end when the batch has, so their records carry it).
pub fn run_batch(
    client: &Client,
    batch: &mut Batch,
    reporter: &mut Reporter,
    indices: &[usize],
    settings: RunSettings,
    cancel: &kitsu::CancelToken,
) -> kitsu::Result<()> {
    let RunSettings {
        jobs,
        segments,
        checksum,
    } = settings;
    if batch.is_empty() {
        return Ok(());
    }
    if checksum {
        for &index in indices {
            reporter.hold(index);
        }
    }
    let outcome = {
        let mut on_event = |event: &Event<'_>| {
            if event.operation != Operation::Batch {
                if let Some(&index) = indices.get(event.item_index as usize) {
                    reporter.item_event(index, event);
                }
            }
            true
        };
        let options = TransferOptions {
            on_event: Some(&mut on_event),
            cancel: Some(cancel.clone()),
            // A download cut short keeps what it received; the next run
            // continues it (segmented downloads start afresh instead).
            resume: segments <= 1,
            segments,
            checksum,
            ..TransferOptions::default()
        };
        batch.run(client, jobs, options)
    };
    for (batch_index, &index) in indices.iter().enumerate() {
        if let Some(digest) = sha256_of(batch, batch_index) {
            reporter.set_extra(index, "sha256", json!(hex(&digest)));
        }
    }
    reporter.settle(batch, indices);
    outcome
}

/// The SHA-256 a successful item of `batch` computed.
pub fn sha256_of(batch: &Batch, index: usize) -> Option<[u8; 32]> {
    batch.result(index)?.as_ref().ok()?.sha256()
}

/// `sha256sum`'s line for a file: the digest, two spaces, the path.
pub fn sha256sum_line(digest: &[u8; 32], path: &Path) -> String {
    format!("{}  {}", hex(digest), path.display())
}

/// Writes `DIR/SHA256SUMS` for `files` (paths under `dir`, with their
/// digests), sorted, through a temporary file: `sha256sum -c SHA256SUMS`
/// run in `dir` checks them.
pub fn write_sha256sums(dir: &Path, files: &[(PathBuf, [u8; 32])]) -> std::io::Result<PathBuf> {
    let mut lines: Vec<String> = files
        .iter()
        .map(|(path, digest)| sha256sum_line(digest, path.strip_prefix(dir).unwrap_or(path)))
        .collect();
    lines.sort();
    let mut text = lines.join("\n");
    text.push('\n');
    let target = dir.join("SHA256SUMS");
    let temporary = dir.join(format!(".SHA256SUMS.{}.tmp", std::process::id()));
    std::fs::write(&temporary, text)?;
    std::fs::rename(&temporary, &target).inspect_err(|_| {
        let _ = std::fs::remove_file(&temporary);
    })?;
    Ok(target)
}

/// After Ctrl-C: nothing partial left of the downloads that did not finish.
pub fn discard_partials(batch: &Batch, targets: &[PathBuf]) {
    for (index, target) in targets.iter().enumerate() {
        if !matches!(batch.result(index), Some(Ok(_))) {
            if let Err(error) = kitsu::transfer::download::discard_partial(Path::new(target)) {
                eprintln!("kitsu: {error}");
            }
        }
    }
}
