//! `kitsu demo`: the tool at work on a server of its own (scripts/demo
//! starts a local Zou). It makes media with ffmpeg, creates a project with
//! two assets and tasks, publishes the media as previews (`publish`),
//! uploads working files as one batch, then downloads every preview of the
//! project (`download-previews`). The project helpers serve the tests too.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::Command;

use kitsu::api::batch::{Batch, Item};
use kitsu::api::{files, Options};
use kitsu::route::with_query;
use kitsu::Client;
use serde_json::{json, Value};

use crate::args::{DemoArgs, DownloadPreviewsArgs, Kind};
use crate::failure::Failure;
use crate::interrupt;
use crate::previews::{self, run_batch, RunSettings};
use crate::publish::{self, Publication};
use crate::report::{OutputOptions, Reporter};

type Result<T> = std::result::Result<T, Failure>;

fn parse(text: &str) -> Result<Value> {
    serde_json::from_str(text).map_err(|e| Failure::Failed(format!("not JSON: {e}")))
}

pub fn id(value: &Value) -> Result<String> {
    value["id"]
        .as_str()
        .map(str::to_string)
        .ok_or_else(|| Failure::Failed(format!("no id in {value}")))
}

/// A record found by name, or made.
fn find_or_create(client: &Client, route: &str, name: &str, body: Value) -> Result<Value> {
    let find = || -> Result<Option<Value>> {
        let found = parse(&client.get(&with_query(route, &[("name", Some(name))]))?)?;
        Ok(found.as_array().and_then(|a| a.first()).cloned())
    };
    if let Some(first) = find()? {
        return Ok(first);
    }
    match client.post(route, Some(&body.to_string())) {
        Ok(created) => parse(&created),
        // Another run (a test beside this one) created it in between:
        // Zou's unique index refused ours; take theirs.
        Err(error) if error.http_status() == Some(400) => find()?.ok_or_else(|| error.into()),
        Err(error) => Err(error.into()),
    }
}

/// A project made for a demo or a test: its tasks (one per asset) and the
/// short name of the default task status.
pub struct DemoProject {
    pub name: String,
    pub id: String,
    pub task_ids: Vec<String>,
    pub status_short: String,
}

/// Creates project `name` with a file tree, a task type, and one task per
/// asset of `assets`.
pub fn create_project(client: &Client, name: &str, assets: &[&str]) -> Result<DemoProject> {
    let project = parse(
        &client.post(
            "data/projects",
            Some(
                &json!({"name": name, "production_type": "short", "production_style": "2d3d"})
                    .to_string(),
            ),
        )?,
    )?;
    let project_id = id(&project)?;
    let tree = json!({"working": {"mountpoint": "/working_files", "root": "productions",
        "folder_path": {"asset": "<Project>/assets/<AssetType>/<Asset>/<TaskType>", "shot": "<Project>/shots/<Sequence>/<Shot>/<TaskType>", "style": "lowercase"},
        "file_name": {"asset": "<Project>_<AssetType>_<Asset>_<TaskType>", "shot": "<Project>_<Sequence>_<Shot>_<TaskType>", "style": "lowercase"}}});
    files::update_project_file_tree(client, &project_id, &tree.to_string())?;
    let asset_type = find_or_create(
        client,
        "data/entity-types",
        "Props",
        json!({"name": "Props"}),
    )?;
    let task_type = find_or_create(
        client,
        "data/task-types",
        "libkitsu demo",
        json!({"name": "libkitsu demo", "color": "#2266aa", "for_entity": "Asset"}),
    )?;
    client.post(
        &format!("data/projects/{project_id}/settings/task-types"),
        Some(&json!({"task_type_id": id(&task_type)?, "priority": 1}).to_string()),
    )?;
    let status = parse(&client.get("data/task-status?is_default=True")?)?[0].clone();
    let mut task_ids = Vec::new();
    for asset_name in assets {
        let asset = parse(&client.post(
            &format!(
                "data/projects/{project_id}/asset-types/{}/assets/new",
                id(&asset_type)?
            ),
            Some(&json!({"name": asset_name, "data": {}, "is_shared": false}).to_string()),
        )?)?;
        let task = parse(
            &client.post(
                "data/tasks",
                Some(
                    &json!({"project_id": project_id, "entity_id": id(&asset)?,
                        "task_type_id": id(&task_type)?, "task_status_id": id(&status)?,
                        "assignees": [], "name": "main"})
                    .to_string(),
                ),
            )?,
        )?;
        task_ids.push(id(&task)?);
    }
    Ok(DemoProject {
        name: name.to_string(),
        id: project_id,
        task_ids,
        status_short: status["short_name"].as_str().unwrap_or("todo").to_string(),
    })
}

/// Pictures and movies made with ffmpeg (movies with an audio track: Zou
/// breaks silent movies with Debian's ffmpeg), plus working files of noise.
fn make_media(work: &Path) -> Result<(Vec<PathBuf>, Vec<PathBuf>)> {
    std::fs::create_dir_all(work)
        .map_err(|e| Failure::Failed(format!("{}: {e}", work.display())))?;
    let mut previews = Vec::new();
    for (index, source) in ["testsrc2", "smptehdbars", "mandelbrot", "rgbtestsrc"]
        .iter()
        .enumerate()
    {
        let path = work.join(format!("still_{index}.png"));
        let input = format!("{source}=size=1920x1080:rate=1");
        ffmpeg(&["-f", "lavfi", "-i", &input, "-frames:v", "1"], &path)?;
        previews.push(path);
    }
    for (index, seconds) in [4, 8].iter().enumerate() {
        let path = work.join(format!("shot_{index}.mp4"));
        let video = format!("testsrc2=duration={seconds}:size=1280x720:rate=24");
        let audio = format!("sine=frequency=440:duration={seconds}");
        ffmpeg(
            &[
                "-f",
                "lavfi",
                "-i",
                &video,
                "-f",
                "lavfi",
                "-i",
                &audio,
                "-c:v",
                "libx264",
                "-preset",
                "veryfast",
                "-pix_fmt",
                "yuv420p",
                "-c:a",
                "aac",
                "-shortest",
            ],
            &path,
        )?;
        previews.push(path);
    }
    let mut working_files = Vec::new();
    for (index, megabytes) in [16u64, 64, 128].iter().enumerate() {
        let path = work.join(format!("layout_v{:03}.blend", index + 1));
        write_noise(&path, megabytes << 20)
            .map_err(|e| Failure::Failed(format!("{}: {e}", path.display())))?;
        working_files.push(path);
    }
    Ok((previews, working_files))
}

/// `ffmpeg -y -loglevel error ARGS OUT`, unless OUT is already there.
pub fn ffmpeg(args: &[&str], out: &Path) -> Result<()> {
    if out.exists() {
        return Ok(());
    }
    let status = Command::new("ffmpeg")
        .args(["-y", "-loglevel", "error"])
        .args(args)
        .arg(out)
        .status()
        .map_err(|e| {
            Failure::Failed(format!(
                "ffmpeg is needed for the demo media ({e}); scripts/zou-server installs it"
            ))
        })?;
    if !status.success() {
        return Err(Failure::Failed(format!(
            "ffmpeg failed making {}",
            out.display()
        )));
    }
    Ok(())
}

/// Incompressible bytes (xorshift), so throughput figures mean something.
fn write_noise(path: &Path, len: u64) -> std::io::Result<()> {
    if std::fs::metadata(path).is_ok_and(|m| m.len() == len) {
        return Ok(());
    }
    let mut file = std::io::BufWriter::new(std::fs::File::create(path)?);
    let mut state = 0x9E37_79B9_7F4A_7C15u64 ^ len;
    let mut buffer = vec![0u8; 1 << 20];
    let mut left = len;
    while left > 0 {
        for chunk in buffer.chunks_mut(8) {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            chunk.copy_from_slice(&state.to_le_bytes()[..chunk.len()]);
        }
        let n = left.min(buffer.len() as u64) as usize;
        file.write_all(&buffer[..n])?;
        left -= n as u64;
    }
    file.flush()
}

fn heading(output: OutputOptions, text: &str) {
    if !output.json && !output.quiet {
        eprintln!("\n{text}");
    }
}

pub fn demo(client: &Client, args: &DemoArgs, output: OutputOptions) -> Result<()> {
    let work = args
        .work
        .clone()
        .unwrap_or_else(|| std::env::temp_dir().join("kitsu-demo-media"));
    heading(output, &format!("making demo media in {}", work.display()));
    let (previews, working_files) = make_media(&work)?;
    let stamp = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or_default();
    let name = format!("libkitsu demo {stamp}");
    heading(output, &format!("creating project {name:?}"));
    let project = create_project(client, &name, &["hero", "sidekick"])?;

    heading(output, "publishing previews (kitsu publish)");
    let mut reporter = Reporter::new(output);
    for (index, file) in previews.iter().enumerate() {
        if interrupt::interrupted() {
            break;
        }
        let comment = format!("preview {}", index + 1);
        publish::publish(
            client,
            &mut reporter,
            &Publication {
                task_id: &project.task_ids[index % project.task_ids.len()],
                status: &project.status_short,
                comment: &comment,
                files: std::slice::from_ref(file),
                // Zou processes them while the rest goes on; the downloads
                // wait for what is not ready yet (their waiting phase).
                wait: None,
            },
        )?;
    }
    let published = reporter.close(interrupt::interrupted());

    heading(output, "uploading working files, 3 at once (one batch)");
    let mut reporter = Reporter::new(output);
    let mut batch = Batch::new();
    let mut indices = Vec::new();
    for (index, path) in working_files.iter().enumerate() {
        let task_id = &project.task_ids[index % project.task_ids.len()];
        let options = Options::from_value(
            json!({"name": format!("layout{index}"), "comment": "demo"}),
            files::NEW_WORKING_FILE_OPTIONS,
        )?;
        let working_file = parse(&files::new_working_file(client, task_id, &options)?)?;
        let route = format!("data/working-files/{}/file", id(&working_file)?);
        batch.add(Item::Upload {
            route: route.clone(),
            files: vec![path.clone()],
            fields: Vec::new(),
        })?;
        let label = path.file_name().unwrap_or_default().to_string_lossy();
        indices.push(reporter.add_upload(&label, &route, std::slice::from_ref(path)));
    }
    let cancel = interrupt::token();
    let settings = RunSettings {
        jobs: 3,
        segments: 1,
        checksum: false,
    };
    let _ = run_batch(
        client,
        &mut batch,
        &mut reporter,
        &indices,
        settings,
        &cancel,
    );
    let uploaded = reporter.close(interrupt::interrupted());

    heading(
        output,
        "downloading every preview of the project (kitsu download-previews)",
    );
    let downloaded = previews::download_previews(
        client,
        &DownloadPreviewsArgs {
            projects: vec![name.clone()],
            task_type: None,
            status: None,
            kind: Kind::Original,
            out: args.out.clone(),
            jobs: args.jobs,
            latest_only: false,
            dry_run: false,
            keep_partial: false,
            checksum: false,
        },
        output,
    );
    heading(
        output,
        &format!(
            "demo project {name:?}: {} published, {} working files uploaded, downloads in {}",
            published.done,
            uploaded.done,
            args.out.display()
        ),
    );
    published.result(interrupt::interrupted())?;
    uploaded.result(interrupt::interrupted())?;
    downloaded
}
