//! kitsu-batch: batch transfers with Kitsu through libkitsu.
//!
//!   kitsu-batch download-previews [--project NAME] [--out DIR] [--max N]
//!       downloads the original of every preview of a project (or of every
//!       open project) into DIR/<project>/<task>/, with progress bars.
//!   kitsu-batch demo [--out DIR] [--work DIR]
//!       creates a demo project on the server, uploads generated previews and
//!       working files with progress bars, then downloads every preview.
//!
//! The server and account come from KITSU_HOST (https://kitsu.example.com/api),
//! KITSU_EMAIL and KITSU_PASSWORD. Both commands end with a summary.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, ExitCode};
use std::time::{Duration, Instant};

use kitsu::api::{files, project, task, Options};
use kitsu::route::with_query;
use kitsu::{Client, Error, ProgressFn, TransferOptions};
use serde_json::{json, Value};

type Result<T, E = Box<dyn std::error::Error>> = std::result::Result<T, E>;

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let outcome = match args.first().map(String::as_str) {
        Some("download-previews") => download_previews_command(&args[1..]),
        Some("demo") => demo_command(&args[1..]),
        _ => {
            eprintln!(
                "usage: kitsu-batch download-previews [--project NAME] [--out DIR] [--max N]"
            );
            eprintln!("       kitsu-batch demo [--out DIR] [--work DIR]");
            eprintln!("server and account: KITSU_HOST, KITSU_EMAIL, KITSU_PASSWORD");
            return ExitCode::from(2);
        }
    };
    match outcome {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("kitsu-batch: {error}");
            ExitCode::FAILURE
        }
    }
}

fn flag(args: &[String], name: &str) -> Option<String> {
    args.iter()
        .position(|a| a == name)
        .and_then(|i| args.get(i + 1))
        .cloned()
}

fn env(name: &str) -> Result<String> {
    std::env::var(name).map_err(|_| format!("{name} is not set").into())
}

fn connect() -> Result<Client> {
    let host = env("KITSU_HOST")?;
    let client = Client::new(&host)?;
    client.log_in(&env("KITSU_EMAIL")?, &env("KITSU_PASSWORD")?)?;
    println!("logged in to {host}");
    Ok(client)
}

// ---------------------------------------------------------------------------
// Progress bars and the summary.

/// One line per transfer, redrawn in place at most every 100 ms (libkitsu's
/// throttle). Timed from the first progress call, which libkitsu makes when
/// the answer starts: time spent before (a 202 wait) is not transfer time.
struct Bar {
    label: String,
    started: Instant,
    first_call: std::cell::Cell<Option<Instant>>,
}

impl Bar {
    fn new(label: &str) -> Bar {
        let mut label: String = label.chars().take(34).collect();
        while label.chars().count() < 34 {
            label.push(' ');
        }
        Bar {
            label,
            started: Instant::now(),
            first_call: std::cell::Cell::new(None),
        }
    }

    /// Time from the first progress call to now.
    fn transfer_time(&self) -> Duration {
        self.first_call
            .get()
            .map(|t| t.elapsed())
            .unwrap_or_default()
    }

    /// Time before the first progress call (requests, 202 waits).
    fn waited(&self) -> Duration {
        self.first_call
            .get()
            .map(|t| t - self.started)
            .unwrap_or_else(|| self.started.elapsed())
    }

    fn draw(&self, done: u64, total: u64) {
        let first = *self.first_call.get().get_or_insert_with(Instant::now);
        self.first_call.set(Some(first));
        let rate = done as f64 / first.elapsed().as_secs_f64().max(1e-3) / 1e6;
        let line = if let Some(filled) = (done * 24).checked_div(total) {
            let filled = filled as usize;
            format!(
                "{} [{}{}] {:>3}% {:>8} {:>9.1} MB/s",
                self.label,
                "#".repeat(filled),
                " ".repeat(24 - filled),
                done * 100 / total,
                human(total),
                rate
            )
        } else {
            format!(
                "{} [{:^24}] {:>13} {:>9.1} MB/s",
                self.label,
                "size unknown",
                human(done),
                rate
            )
        };
        print!("\r{line}");
        let _ = std::io::stdout().flush();
    }

    fn callback(&self) -> impl FnMut(u64, u64) -> bool + '_ {
        move |done, total| {
            self.draw(done, total);
            true
        }
    }

    fn end(&self) {
        println!();
    }
}

/// Runs one transfer under its progress bar and records it in `tally`.
fn transfer(
    tally: &mut Tally,
    label: &str,
    what: &str,
    run: impl FnOnce(&mut ProgressFn<'_>) -> std::result::Result<u64, Error>,
) {
    let bar = Bar::new(label);
    let mut callback = bar.callback();
    let result = run(&mut callback);
    drop(callback);
    bar.end();
    tally.record(&bar, result, what);
}

fn human(bytes: u64) -> String {
    let mut value = bytes as f64;
    for unit in ["B", "KB", "MB", "GB"] {
        if value < 1000.0 {
            return format!("{value:.1} {unit}");
        }
        value /= 1000.0;
    }
    format!("{value:.1} TB")
}

#[derive(Default)]
struct Tally {
    files: u64,
    bytes: u64,
    /// Sum of the transfer times (first byte to last).
    time: Duration,
    /// Sum of the time before the first byte (requests, 202 waits).
    waited: Duration,
    failures: Vec<String>,
}

impl Tally {
    fn record(&mut self, bar: &Bar, result: std::result::Result<u64, Error>, what: &str) {
        match result {
            Ok(bytes) => {
                self.files += 1;
                self.bytes += bytes;
                self.time += bar.transfer_time();
                self.waited += bar.waited();
            }
            Err(error) => {
                eprintln!("  {what}: {error}");
                self.failures.push(format!("{what}: {error}"));
            }
        }
    }

    fn line(&self, what: &str) -> String {
        let seconds = self.time.as_secs_f64();
        let rate = if seconds > 0.0 {
            self.bytes as f64 / seconds / 1e6
        } else {
            0.0
        };
        format!(
            "{what:<10} {:>5} files {:>10} in {:>7.2} s  {:>8.1} MB/s   (+{:.2} s before first bytes){}",
            self.files,
            human(self.bytes),
            seconds,
            rate,
            self.waited.as_secs_f64(),
            if self.failures.is_empty() {
                String::new()
            } else {
                format!("  ({} failed)", self.failures.len())
            }
        )
    }
}

// ---------------------------------------------------------------------------
// Downloads of every preview of a project.

fn parse(text: &str) -> Result<Value> {
    Ok(serde_json::from_str(text)?)
}

fn id(value: &Value) -> Result<&str> {
    value["id"]
        .as_str()
        .ok_or_else(|| format!("no id in {value}").into())
}

/// Folder-safe text: a server-given name never leaves the output folder.
fn safe_name(text: &str) -> String {
    let cleaned: String = text
        .chars()
        .map(|c| {
            if c.is_alphanumeric() || "-_. ".contains(c) {
                c
            } else {
                '_'
            }
        })
        .collect();
    let cleaned = cleaned.trim().trim_start_matches('.').to_string();
    if cleaned.is_empty() {
        "unnamed".into()
    } else {
        cleaned
    }
}

fn download_project_previews(
    client: &Client,
    project: &Value,
    out: &Path,
    max: usize,
    tally: &mut Tally,
) -> Result<()> {
    let project_id = id(project)?;
    let project_dir = out.join(safe_name(project["name"].as_str().unwrap_or("project")));
    let tasks = parse(&task::all_tasks_for_project(
        client,
        project_id,
        &Options::default(),
    )?)?;
    let mut entity_names = std::collections::HashMap::new();
    for task_record in tasks.as_array().into_iter().flatten() {
        let task_id = id(task_record)?;
        let entity_id = task_record["entity_id"]
            .as_str()
            .unwrap_or_default()
            .to_string();
        if !entity_names.contains_key(&entity_id) {
            let name = client
                .get(&format!("data/entities/{entity_id}"))
                .ok()
                .and_then(|text| parse(&text).ok())
                .and_then(|entity| entity["name"].as_str().map(str::to_string))
                .unwrap_or_else(|| "entity".into());
            entity_names.insert(entity_id.clone(), name);
        }
        let entity = format!(
            "{} {}",
            entity_names[&entity_id],
            task_record["name"].as_str().unwrap_or("task")
        );
        let previews = parse(&client.get(&format!("data/preview-files?task_id={task_id}"))?)?;
        for preview in previews.as_array().into_iter().flatten() {
            if tally.files as usize + tally.failures.len() >= max {
                return Ok(());
            }
            let Some(extension) = preview["extension"].as_str() else {
                continue;
            };
            let preview_id = id(preview)?;
            let folder = project_dir.join(safe_name(&entity));
            std::fs::create_dir_all(&folder)?;
            let name = format!(
                "v{:03}-{}.{}",
                preview["revision"].as_u64().unwrap_or(0),
                &preview_id[..8],
                safe_name(extension)
            );
            let target = folder.join(&name);
            let label = format!("{}/{}", safe_name(&entity), name);
            transfer(tally, &label, &name, |progress| {
                files::blocking::download_preview_file(
                    client,
                    preview_id,
                    &target,
                    TransferOptions::with_progress(progress),
                )
            });
        }
    }
    Ok(())
}

fn download_previews_command(args: &[String]) -> Result<()> {
    let client = connect()?;
    let out = PathBuf::from(flag(args, "--out").unwrap_or_else(|| "kitsu-previews".into()));
    let max: usize = flag(args, "--max")
        .map(|m| m.parse())
        .transpose()?
        .unwrap_or(500);
    let projects = match flag(args, "--project").or_else(|| std::env::var("KITSU_PROJECT").ok()) {
        Some(name) => match parse(&project::get_project_by_name(&client, &name)?)? {
            Value::Null => return Err(format!("no project named {name:?}").into()),
            found => vec![found],
        },
        None => parse(&project::all_open_projects(&client)?)?
            .as_array()
            .cloned()
            .unwrap_or_default(),
    };
    let started = Instant::now();
    let mut tally = Tally::default();
    for project in &projects {
        println!("project {}", project["name"].as_str().unwrap_or("?"));
        download_project_previews(&client, project, &out, max, &mut tally)?;
    }
    println!(
        "\nsummary ({} project(s), into {}):",
        projects.len(),
        out.display()
    );
    println!("{}", tally.line("download"));
    println!("wall time {:.2} s", started.elapsed().as_secs_f64());
    if tally.failures.is_empty() {
        Ok(())
    } else {
        Err(format!("{} download(s) failed", tally.failures.len()).into())
    }
}

// ---------------------------------------------------------------------------
// The demo: a project, generated media, uploads, then the downloads.

/// Media made with ffmpeg: pictures and movies (with an audio track: Zou
/// breaks silent movies with Debian's ffmpeg), plus working files.
fn make_media(work: &Path) -> Result<(Vec<PathBuf>, Vec<PathBuf>)> {
    std::fs::create_dir_all(work)?;
    let mut previews = Vec::new();
    for (index, source) in ["testsrc2", "smptehdbars", "mandelbrot", "rgbtestsrc"]
        .iter()
        .enumerate()
    {
        let path = work.join(format!("still_{index}.png"));
        ffmpeg(
            &[
                "-f",
                "lavfi",
                "-i",
                &format!("{source}=size=1920x1080:rate=1"),
                "-frames:v",
                "1",
            ],
            &path,
        )?;
        previews.push(path);
    }
    for (index, seconds) in [4, 8].iter().enumerate() {
        let path = work.join(format!("shot_{index}.mp4"));
        ffmpeg(
            &[
                "-f",
                "lavfi",
                "-i",
                &format!("testsrc2=duration={seconds}:size=1280x720:rate=24"),
                "-f",
                "lavfi",
                "-i",
                &format!("sine=frequency=440:duration={seconds}"),
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
        write_noise(&path, megabytes << 20)?;
        working_files.push(path);
    }
    Ok((previews, working_files))
}

fn ffmpeg(args: &[&str], out: &Path) -> Result<()> {
    if out.exists() {
        return Ok(());
    }
    let status = Command::new("ffmpeg")
        .args(["-y", "-loglevel", "error"])
        .args(args)
        .arg(out)
        .status()
        .map_err(|e| {
            format!("ffmpeg is needed for the demo media ({e}); scripts/zou-server installs it")
        })?;
    if !status.success() {
        return Err(format!("ffmpeg failed making {}", out.display()).into());
    }
    Ok(())
}

/// Incompressible bytes (xorshift), so throughput figures mean something.
fn write_noise(path: &Path, len: u64) -> Result<()> {
    if std::fs::metadata(path)
        .map(|m| m.len() == len)
        .unwrap_or(false)
    {
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
    Ok(())
}

/// A record found by name, or made.
fn find_or_create(
    client: &Client,
    list_route: &str,
    name: &str,
    create_route: &str,
    body: Value,
) -> Result<Value> {
    let found = parse(&client.get(&with_query(list_route, &[("name", Some(name))]))?)?;
    if let Some(first) = found.as_array().and_then(|a| a.first()) {
        return Ok(first.clone());
    }
    parse(&client.post(create_route, Some(&body.to_string()))?)
}

fn demo_command(args: &[String]) -> Result<()> {
    let client = connect()?;
    let out = PathBuf::from(flag(args, "--out").unwrap_or_else(|| "kitsu-demo-downloads".into()));
    let work = PathBuf::from(flag(args, "--work").unwrap_or_else(|| {
        std::env::temp_dir()
            .join("kitsu-demo-media")
            .display()
            .to_string()
    }));
    println!("making demo media in {}", work.display());
    let (previews, working_files) = make_media(&work)?;

    let stamp = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)?
        .as_secs();
    let name = format!("libkitsu demo {stamp}");
    println!("creating project {name:?}");
    let project = parse(
        &client.post(
            "data/projects",
            Some(
                &json!({"name": name, "production_type": "short", "production_style": "2d3d"})
                    .to_string(),
            ),
        )?,
    )?;
    let project_id = id(&project)?.to_string();
    let tree = json!({"working": {"mountpoint": "/working_files", "root": "productions",
        "folder_path": {"asset": "<Project>/assets/<AssetType>/<Asset>/<TaskType>", "shot": "<Project>/shots/<Sequence>/<Shot>/<TaskType>", "style": "lowercase"},
        "file_name": {"asset": "<Project>_<AssetType>_<Asset>_<TaskType>", "shot": "<Project>_<Sequence>_<Shot>_<TaskType>", "style": "lowercase"}}});
    files::update_project_file_tree(&client, &project_id, &tree.to_string())?;
    let asset_type = find_or_create(
        &client,
        "data/entity-types",
        "Props",
        "data/entity-types",
        json!({"name": "Props"}),
    )?;
    let task_type = find_or_create(
        &client,
        "data/task-types",
        "libkitsu demo",
        "data/task-types",
        json!({"name": "libkitsu demo", "color": "#2266aa", "for_entity": "Asset"}),
    )?;
    client.post(
        &format!("data/projects/{project_id}/settings/task-types"),
        Some(&json!({"task_type_id": id(&task_type)?, "priority": 1}).to_string()),
    )?;
    let status = parse(&client.get("data/task-status?is_default=True")?)?[0].clone();
    let mut tasks = Vec::new();
    for asset_name in ["hero", "sidekick"] {
        let asset = parse(&client.post(
            &format!(
                "data/projects/{project_id}/asset-types/{}/assets/new",
                id(&asset_type)?
            ),
            Some(&json!({"name": asset_name, "data": {}, "is_shared": false}).to_string()),
        )?)?;
        let task_record = parse(&client.post(
            "data/tasks",
            Some(&json!({"project_id": project_id, "entity_id": id(&asset)?, "task_type_id": id(&task_type)?,
                         "task_status_id": id(&status)?, "assignees": [], "name": "main"}).to_string()),
        )?)?;
        tasks.push(task_record);
    }

    println!("\nuploads");
    let mut uploads = Tally::default();
    for (index, path) in previews.iter().enumerate() {
        let task_record = &tasks[index % tasks.len()];
        let task_id = id(task_record)?;
        let options = Options::from_value(
            json!({"comment": format!("preview {}", index + 1)}),
            task::ADD_COMMENT_OPTIONS,
        )?;
        let comment = parse(&task::blocking::add_comment(
            &client,
            task_id,
            id(&status)?,
            &[],
            &options,
            TransferOptions::default(),
        )?)?;
        let comment_id = id(&comment)?;
        let label = format!(
            "preview {}",
            path.file_name().unwrap_or_default().to_string_lossy()
        );
        transfer(
            &mut uploads,
            &label,
            &path.display().to_string(),
            |progress| {
                task::blocking::add_preview(
                    &client,
                    task_id,
                    comment_id,
                    path,
                    &Options::default(),
                    TransferOptions::with_progress(progress),
                )
                .map(|_| file_len(path))
            },
        );
    }
    for (index, path) in working_files.iter().enumerate() {
        let task_id = id(&tasks[index % tasks.len()])?;
        let options = Options::from_value(
            json!({"name": format!("layout{index}"), "comment": "demo"}),
            files::NEW_WORKING_FILE_OPTIONS,
        )?;
        let working_file = parse(&files::new_working_file(&client, task_id, &options)?)?;
        let working_file_id = id(&working_file)?;
        let label = format!(
            "working file {}",
            path.file_name().unwrap_or_default().to_string_lossy()
        );
        transfer(
            &mut uploads,
            &label,
            &path.display().to_string(),
            |progress| {
                files::blocking::upload_working_file(
                    &client,
                    working_file_id,
                    path,
                    TransferOptions::with_progress(progress),
                )
                .map(|_| file_len(path))
            },
        );
    }

    println!("\ndownloads (every preview of the project; Zou may answer 202 while it encodes)");
    let started = Instant::now();
    let mut downloads = Tally::default();
    download_project_previews(&client, &project, &out, usize::MAX, &mut downloads)?;
    println!(
        "\nsummary (project {name:?}, downloads in {}):",
        out.display()
    );
    println!("{}", uploads.line("upload"));
    println!("{}", downloads.line("download"));
    println!(
        "download wall time {:.2} s (Zou answers 202 while it encodes)",
        started.elapsed().as_secs_f64()
    );
    let failures = uploads.failures.len() + downloads.failures.len();
    if failures > 0 {
        return Err(format!("{failures} transfer(s) failed").into());
    }
    Ok(())
}

fn file_len(path: &Path) -> u64 {
    std::fs::metadata(path).map(|m| m.len()).unwrap_or(0)
}
