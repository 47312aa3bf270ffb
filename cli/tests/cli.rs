//! The `kitsu` binary, run as users run it, against the real Zou started by
//! scripts/zou-server (KITSU_LIVE_ENV), with the tests' fault proxy in front
//! of it where a slow link is needed. Each test makes its own project.

#[path = "../../tests/common/fault.rs"]
mod fault;

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use fault::{Direction, Fault, FaultProxy};
use kitsu::api::files;
use kitsu::{Client, TransferOptions};
use kitsu_cli::demo::{create_project, DemoProject};
use kitsu_cli::publish::{publish, Publication};
use kitsu_cli::report::{OutputOptions, Reporter};
use serde_json::Value;

struct Zou {
    url: String,
    email: String,
    password: String,
}

/// The live server, or `None` (skipped) unless KITSU_LIVE_REQUIRED is set.
fn zou() -> Option<&'static Zou> {
    static ZOU: OnceLock<Option<Zou>> = OnceLock::new();
    let zou = ZOU.get_or_init(|| {
        let file = std::env::var("KITSU_LIVE_ENV").unwrap_or_else(|_| {
            // The checkout's own server (scripts/zou-server start).
            concat!(env!("CARGO_MANIFEST_DIR"), "/../.work/zou.env").into()
        });
        let text = std::fs::read_to_string(file).ok()?;
        let value = |key: &str| {
            text.lines()
                .find_map(|l| l.strip_prefix(&format!("{key}=")))
                .map(str::to_string)
        };
        Some(Zou {
            url: value("ZOU_API_URL")?,
            email: value("ZOU_ADMIN_EMAIL")?,
            password: value("ZOU_ADMIN_PASSWORD")?,
        })
    });
    if zou.is_none() {
        assert!(
            std::env::var_os("KITSU_LIVE_REQUIRED").is_none(),
            "KITSU_LIVE_REQUIRED is set but no live Zou was found (scripts/zou-server start)"
        );
        eprintln!("no live Zou: test skipped");
    }
    zou.as_ref()
}

impl Zou {
    fn admin(&self) -> Client {
        let client = Client::new(&self.url).unwrap();
        client.log_in(&self.email, &self.password).unwrap();
        client
    }

    /// The binary with this server's account in its environment (and
    /// nothing else of the caller's KITSU_* variables).
    fn kitsu(&self, host: &str) -> Command {
        let mut command = Command::new(env!("CARGO_BIN_EXE_kitsu"));
        for (key, _) in std::env::vars() {
            if key.starts_with("KITSU_") {
                command.env_remove(key);
            }
        }
        command
            .env("KITSU_HOST", host)
            .env("KITSU_EMAIL", &self.email)
            .env("KITSU_PASSWORD", &self.password)
            .stdin(Stdio::null());
        command
    }
}

fn unique(tag: &str) -> String {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_nanos();
    format!(
        "{tag} {:08x}",
        (nanos as u64 ^ u64::from(std::process::id())) as u32
    )
}

fn ffmpeg(args: &[&str], out: &Path) {
    kitsu_cli::demo::ffmpeg(args, out).unwrap_or_else(|e| panic!("{e:?}"));
}

fn picture(dir: &Path, name: &str, source: &str) -> PathBuf {
    let path = dir.join(name);
    let input = format!("{source}=size=320x240:rate=1");
    ffmpeg(&["-f", "lavfi", "-i", &input, "-frames:v", "1"], &path);
    path
}

/// A 2 s movie with a sound track (Zou breaks silent ones with Debian's ffmpeg).
fn movie(dir: &Path, name: &str) -> PathBuf {
    let path = dir.join(name);
    ffmpeg(
        &[
            "-f",
            "lavfi",
            "-i",
            "testsrc=duration=2:size=320x240:rate=24",
            "-f",
            "lavfi",
            "-i",
            "sine=frequency=440:duration=2",
            "-c:v",
            "libx264",
            "-pix_fmt",
            "yuv420p",
            "-c:a",
            "aac",
            "-shortest",
        ],
        &path,
    );
    path
}

/// `kitsu --json download-previews EXTRA --project <scene's> --out OUT` on `host`.
fn json_previews(zou: &Zou, host: &str, scene: &Scene, out: &Path, extra: &[&str]) -> Command {
    let mut command = zou.kitsu(host);
    command
        .args(["--json", "download-previews"])
        .args(extra)
        .arg("--project")
        .arg(&scene.project.name)
        .arg("--out")
        .arg(out);
    command
}

fn quiet() -> OutputOptions {
    OutputOptions {
        quiet: true,
        ..OutputOptions::default()
    }
}

/// Publishes `files` (the first as the preview, the rest as extras) on a
/// task; the preview ids.
fn publish_files(
    client: &Client,
    project: &DemoProject,
    task: usize,
    files: &[PathBuf],
) -> Vec<String> {
    let mut reporter = Reporter::new(quiet());
    let published = publish(
        client,
        &mut reporter,
        &Publication {
            task_id: &project.task_ids[task],
            status: &project.status_short,
            comment: "cli test",
            files,
            wait: Some(Duration::from_secs(300)),
        },
    )
    .unwrap_or_else(|e| panic!("publish: {e:?}"));
    assert_eq!(reporter.close(false).done, files.len());
    published
        .preview_ids
        .into_iter()
        .map(Option::unwrap)
        .collect()
}

/// A project with two tasks: task 0 has a picture (revision 1) then a movie
/// (revision 2); task 1 a picture with an extra picture (revision 1).
struct Scene {
    project: DemoProject,
    _media: tempfile::TempDir,
}

fn scene(zou: &Zou, tag: &str) -> Scene {
    let client = zou.admin();
    let media = tempfile::tempdir().unwrap();
    let project = create_project(&client, &unique(tag), &["hero", "sidekick"]).unwrap();
    let a = picture(media.path(), "a.png", "testsrc");
    let clip = movie(media.path(), "clip.mp4");
    let b = picture(media.path(), "b.png", "smptebars");
    let c = picture(media.path(), "c.png", "mandelbrot");
    publish_files(&client, &project, 0, &[a]);
    publish_files(&client, &project, 0, &[clip]);
    publish_files(&client, &project, 1, &[b, c]);
    Scene {
        project,
        _media: media,
    }
}

fn run(command: &mut Command) -> Output {
    let output = command.output().unwrap();
    eprintln!(
        "status {:?}\nstderr:\n{}",
        output.status.code(),
        String::from_utf8_lossy(&output.stderr)
    );
    output
}

/// The JSON lines of a `--json` run: its items and its summary.
fn records(output: &Output) -> (Vec<Value>, Value) {
    let mut items = Vec::new();
    let mut summary = Value::Null;
    for line in String::from_utf8_lossy(&output.stdout).lines() {
        let record: Value =
            serde_json::from_str(line).unwrap_or_else(|e| panic!("not a JSON line: {line:?}: {e}"));
        match record["type"].as_str() {
            Some("item") => items.push(record),
            Some("summary") => summary = record,
            other => panic!("unexpected record type {other:?}"),
        }
    }
    (items, summary)
}

/// Every file under `dir` (hidden ones too), relative path -> bytes.
fn tree(dir: &Path) -> BTreeMap<String, Vec<u8>> {
    let mut found = BTreeMap::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(folder) = stack.pop() {
        let Ok(entries) = std::fs::read_dir(&folder) else {
            continue;
        };
        for entry in entries {
            let path = entry.unwrap().path();
            if path.is_dir() {
                stack.push(path);
            } else {
                let relative = path.strip_prefix(dir).unwrap().display().to_string();
                found.insert(relative, std::fs::read(&path).unwrap());
            }
        }
    }
    found
}

fn hidden_files(dir: &Path) -> Vec<String> {
    tree(dir)
        .into_keys()
        .filter(|path| path.rsplit('/').next().unwrap().starts_with('.'))
        .collect()
}

/// The original of `preview_id` as libkitsu's single download gets it.
fn single_download(client: &Client, preview_id: &str, dir: &Path) -> Vec<u8> {
    let target = dir.join(format!("{preview_id}.single"));
    files::blocking::download_preview_file(client, preview_id, &target, TransferOptions::default())
        .unwrap();
    std::fs::read(target).unwrap()
}

#[test]
fn download_previews_matches_single_downloads_then_a_second_run_downloads_nothing() {
    let Some(zou) = zou() else { return };
    let scene = scene(zou, "cli all");
    let out = tempfile::tempdir().unwrap();
    let output = run(&mut json_previews(
        zou,
        &zou.url,
        &scene,
        out.path(),
        &["--jobs", "3"],
    ));
    assert_eq!(output.status.code(), Some(0));
    let (items, summary) = records(&output);
    assert_eq!(items.len(), 4, "{items:?}");
    assert_eq!(summary["done"], 4);
    assert_eq!(summary["failed"], 0);
    let client = zou.admin();
    let singles = tempfile::tempdir().unwrap();
    let mut bytes = 0;
    for item in &items {
        assert_eq!(item["result"], "ok");
        let target = PathBuf::from(item["target"].as_str().unwrap());
        assert!(target.starts_with(out.path()), "{target:?}");
        let got = std::fs::read(&target).unwrap();
        let single = single_download(
            &client,
            item["preview_id"].as_str().unwrap(),
            singles.path(),
        );
        assert!(got == single, "{target:?} differs from its single download");
        assert_eq!(item["bytes"], got.len() as u64);
        assert!(item["attempts"].as_u64().unwrap() >= 1);
        bytes += got.len() as u64;
    }
    assert_eq!(summary["bytes"], bytes);
    // DIR/<project>/<entity>/<task type>/<revision>-<name>.<ext>
    let files = tree(out.path());
    let names: Vec<&str> = files.keys().map(String::as_str).collect();
    let project = &scene.project.name;
    assert_eq!(
        names,
        [
            format!("{project}/hero/libkitsu demo/v001-a.png"),
            format!("{project}/hero/libkitsu demo/v002-clip.mp4"),
            format!("{project}/sidekick/libkitsu demo/v001-b.png"),
            format!("{project}/sidekick/libkitsu demo/v001-c-2.png"),
        ]
    );

    // Again: everything is there with the right size, nothing moves.
    let output = run(&mut json_previews(zou, &zou.url, &scene, out.path(), &[]));
    assert_eq!(output.status.code(), Some(0));
    let (items, summary) = records(&output);
    assert_eq!(summary["skipped"], 4, "{items:?}");
    assert_eq!(summary["bytes"], 0);
    assert!(items.iter().all(|i| i["result"] == "skipped"));
    assert_eq!(tree(out.path()), files);

    // A file of the wrong size is downloaded again; thumbnails (sized by HEAD) too.
    let (first, _) = files.iter().next().unwrap();
    std::fs::write(out.path().join(first), b"truncated").unwrap();
    let output = run(&mut json_previews(zou, &zou.url, &scene, out.path(), &[]));
    let (_, summary) = records(&output);
    assert_eq!(
        (summary["done"].as_u64(), summary["skipped"].as_u64()),
        (Some(1), Some(3))
    );
    assert_eq!(tree(out.path()), files);
    for _ in 0..2 {
        let output = output_of_thumbnails(zou, &scene, out.path());
        let (items, _) = records(&output);
        assert_eq!(items.len(), 4);
        for item in items {
            let target = item["target"].as_str().unwrap();
            assert!(target.ends_with("-thumbnail.png"), "{target}");
            assert!(std::fs::read(target).unwrap().starts_with(b"\x89PNG"));
        }
    }
    let (_, summary) = records(&output_of_thumbnails(zou, &scene, out.path()));
    assert_eq!(
        summary["skipped"], 4,
        "the second thumbnail run found them all"
    );

    // --dry-run writes nothing.
    let empty = tempfile::tempdir().unwrap();
    let output = run(zou
        .kitsu(&zou.url)
        .args(["download-previews", "--dry-run", "--project"])
        .arg(&scene.project.name)
        .arg("--out")
        .arg(empty.path()));
    assert_eq!(output.status.code(), Some(0));
    assert_eq!(String::from_utf8_lossy(&output.stdout).lines().count(), 4);
    assert!(tree(empty.path()).is_empty());

    // --checksum: one file downloaded again (its SHA-256 computed as it
    // streams, in its record), three already there (read for it), all in
    // a SHA256SUMS that sha256sum -c accepts.
    std::fs::write(out.path().join(first), b"truncated").unwrap();
    let output = run(&mut json_previews(
        zou,
        &zou.url,
        &scene,
        out.path(),
        &["--checksum"],
    ));
    assert_eq!(output.status.code(), Some(0));
    let (items, _) = records(&output);
    let downloaded: Vec<&Value> = items.iter().filter(|i| i["result"] == "ok").collect();
    assert_eq!(downloaded.len(), 1, "{items:?}");
    let target = PathBuf::from(downloaded[0]["target"].as_str().unwrap());
    assert_eq!(
        downloaded[0]["sha256"].as_str().unwrap(),
        common_sha256(&std::fs::read(&target).unwrap())
    );
    let sums = std::fs::read_to_string(out.path().join("SHA256SUMS")).unwrap();
    assert!(sums.lines().count() >= 4, "{sums}");
    let check = Command::new("sha256sum")
        .args(["-c", "--strict", "SHA256SUMS"])
        .current_dir(out.path())
        .output()
        .unwrap();
    assert!(
        check.status.success(),
        "sha256sum -c: {}{}",
        String::from_utf8_lossy(&check.stdout),
        String::from_utf8_lossy(&check.stderr)
    );
}

/// SHA-256 as `sha256sum` prints it.
fn common_sha256(bytes: &[u8]) -> String {
    use sha2::Digest;
    sha2::Sha256::digest(bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

fn output_of_thumbnails(zou: &Zou, scene: &Scene, out: &Path) -> Output {
    run(&mut json_previews(
        zou,
        &zou.url,
        scene,
        out,
        &["--kind", "thumbnail"],
    ))
}

#[test]
fn publish_then_latest_only_gets_the_published_file() {
    let Some(zou) = zou() else { return };
    let scene = scene(zou, "cli publish");
    let media = tempfile::tempdir().unwrap();
    let file = picture(media.path(), "published.png", "rgbtestsrc");
    let extra = picture(media.path(), "extra.png", "yuvtestsrc");
    let output = run(zou
        .kitsu(&zou.url)
        .args(["publish", "--task", &scene.project.task_ids[1], "--status"])
        .arg(&scene.project.status_short)
        .args(["--comment", "from the command line"])
        .arg(&file)
        .arg(&extra));
    assert_eq!(output.status.code(), Some(0));
    let stdout = String::from_utf8(output.stdout).unwrap();
    let ids: Vec<&str> = stdout.lines().collect();
    assert_eq!(ids.len(), 2, "{stdout:?}");
    let client = zou.admin();
    for id in &ids {
        let record = client
            .get_value(&format!("data/preview-files/{id}"))
            .unwrap();
        assert_eq!(record["status"], "ready", "publish waited for processing");
        assert_eq!(record["revision"], 2);
    }

    let out = tempfile::tempdir().unwrap();
    let output = run(&mut json_previews(
        zou,
        &zou.url,
        &scene,
        out.path(),
        &["--latest-only"],
    ));
    assert_eq!(output.status.code(), Some(0));
    let (items, _) = records(&output);
    // Task 0's movie (revision 2) and task 1's two new previews (revision 2).
    let mut got: Vec<(String, u64)> = items
        .iter()
        .map(|i| {
            (
                i["preview_id"].as_str().unwrap().to_string(),
                i["revision"].as_u64().unwrap(),
            )
        })
        .collect();
    got.sort();
    assert_eq!(items.len(), 3, "{items:?}");
    assert!(got.iter().all(|(_, revision)| *revision == 2));
    let singles = tempfile::tempdir().unwrap();
    for id in ids {
        let item = items
            .iter()
            .find(|i| i["preview_id"] == id)
            .expect("the published preview");
        let got = std::fs::read(item["target"].as_str().unwrap()).unwrap();
        assert!(got == single_download(&client, id, singles.path()));
    }
}

/// A fault proxy in front of Zou whose connections carry at most `rate`
/// bytes a second downwards (every connection the run may open).
fn slow_proxy(zou: &Zou, rate: u64) -> (FaultProxy, String) {
    let proxy = FaultProxy::in_front_of(&zou.url);
    for _ in 0..16 {
        proxy.arm(Fault::RateLimit(Direction::Down, rate));
    }
    let base = proxy.base_for(&zou.url);
    (proxy, base)
}

/// Waits until a download of `dir` has received more than 64 KiB (a resume
/// asks again for the last 16 KiB it holds, so less would resume at 0).
fn wait_for_partial(dir: &Path, child: &mut Child) {
    let deadline = Instant::now() + Duration::from_secs(120);
    loop {
        let partial = tree(dir)
            .iter()
            .any(|(path, bytes)| path.ends_with(".kitsu-partial") && bytes.len() > 64 * 1024);
        if partial {
            return;
        }
        assert!(
            child.try_wait().unwrap().is_none(),
            "the run ended before any partial file"
        );
        assert!(Instant::now() < deadline, "no partial download after 120 s");
        std::thread::sleep(Duration::from_millis(100));
    }
}

#[test]
fn a_killed_run_then_a_second_run_completes_with_identical_files() {
    let Some(zou) = zou() else { return };
    let scene = scene(zou, "cli kill");
    let out = tempfile::tempdir().unwrap();
    let (_proxy, base) = slow_proxy(zou, 400_000);
    let mut child = json_previews(zou, &base, &scene, out.path(), &["--jobs", "1"])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    wait_for_partial(out.path(), &mut child);
    child.kill().unwrap();
    child.wait().unwrap();
    assert!(
        !hidden_files(out.path()).is_empty(),
        "the killed run left its partial file"
    );

    // The second run goes through a proxy that only logs: it must ask for
    // the rest of the partial file (Range: bytes=N-), not for all of it.
    let logger = FaultProxy::in_front_of(&zou.url);
    let logged_base = logger.base_for(&zou.url);
    let output = run(&mut json_previews(
        zou,
        &logged_base,
        &scene,
        out.path(),
        &[],
    ));
    assert_eq!(output.status.code(), Some(0));
    let (items, summary) = records(&output);
    assert_eq!(summary["failed"], 0);
    assert_eq!(items.len(), 4);
    let requests = logger.requests();
    assert!(
        requests
            .iter()
            .any(|r| r.contains("Range: bytes=") && !r.contains("Range: bytes=0-")),
        "the partial download was not resumed: {requests:?}"
    );
    assert!(
        hidden_files(out.path()).is_empty(),
        "{:?}",
        hidden_files(out.path())
    );
    let client = zou.admin();
    let singles = tempfile::tempdir().unwrap();
    for item in &items {
        let got = std::fs::read(item["target"].as_str().unwrap()).unwrap();
        let single = single_download(
            &client,
            item["preview_id"].as_str().unwrap(),
            singles.path(),
        );
        assert!(got == single, "{} differs", item["target"]);
    }
}

#[test]
fn ctrl_c_stops_cleanly_with_a_summary_and_exit_130() {
    let Some(zou) = zou() else { return };
    let scene = scene(zou, "cli intr");
    let out = tempfile::tempdir().unwrap();
    let (_proxy, base) = slow_proxy(zou, 300_000);
    let mut child = json_previews(zou, &base, &scene, out.path(), &["--jobs", "2"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    wait_for_partial(out.path(), &mut child);
    let pid = child.id().to_string();
    assert!(Command::new("kill")
        .args(["-INT", &pid])
        .status()
        .unwrap()
        .success());
    let started = Instant::now();
    let output = child.wait_with_output().unwrap();
    eprintln!("stderr: {}", String::from_utf8_lossy(&output.stderr));
    assert!(
        started.elapsed() < Duration::from_secs(10),
        "Ctrl-C took {:?}",
        started.elapsed()
    );
    assert_eq!(output.status.code(), Some(130));
    let (items, summary) = records(&output);
    assert_eq!(summary["interrupted"], true);
    assert!(summary["cancelled"].as_u64().unwrap() >= 1, "{summary}");
    assert!(String::from_utf8_lossy(&output.stderr).contains("interrupted"));
    // Nothing partial: no temporary or partial file, and every file there is complete.
    assert!(
        hidden_files(out.path()).is_empty(),
        "{:?}",
        hidden_files(out.path())
    );
    for item in items.iter().filter(|i| i["result"] == "ok") {
        let len = std::fs::metadata(item["target"].as_str().unwrap())
            .unwrap()
            .len();
        assert_eq!(item["bytes"], len);
    }
    let done: Vec<&Value> = items.iter().filter(|i| i["result"] == "ok").collect();
    assert_eq!(tree(out.path()).len(), done.len());
}

#[test]
fn exit_codes_tell_what_went_wrong() {
    let Some(zou) = zou() else { return };
    let out = tempfile::tempdir().unwrap();
    let code = |command: &mut Command| run(command).status.code();
    // 3: a wrong password, a bad token.
    assert_eq!(
        code(
            zou.kitsu(&zou.url)
                .env("KITSU_PASSWORD", "wrong")
                .args(["get", "data/projects/open"])
        ),
        Some(3)
    );
    assert_eq!(
        code(
            zou.kitsu(&zou.url)
                .env("KITSU_TOKEN", "not-a-token")
                .args(["get", "data/projects/open"])
        ),
        Some(3)
    );
    // 4: nothing listens there.
    let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = closed.local_addr().unwrap().port();
    drop(closed);
    assert_eq!(
        code(
            zou.kitsu(&format!("http://127.0.0.1:{port}/api"))
                .args(["download-previews"])
        ),
        Some(4)
    );
    // 2: usage, an unknown project, no account.
    assert_eq!(
        code(
            zou.kitsu(&zou.url)
                .args(["download-previews", "--project", "no such project x"])
        ),
        Some(2)
    );
    assert_eq!(
        code(zou.kitsu(&zou.url).args(["download-previews", "--bogus"])),
        Some(2)
    );
    assert_eq!(
        code(
            zou.kitsu(&zou.url)
                .env_remove("KITSU_PASSWORD")
                .args(["get", "data/projects/open"])
        ),
        Some(2)
    );
    // 1: the item failed (a route the server does not have); nothing at the target.
    let target = out.path().join("missing.png");
    let output = run(zou
        .kitsu(&zou.url)
        .args([
            "download",
            "pictures/thumbnails/preview-files/00000000-0000-4000-8000-000000000000.png",
        ])
        .arg(&target));
    assert_eq!(output.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&output.stderr).contains("404"));
    assert!(tree(out.path()).is_empty());
    // 0: a JSON route, the answer on stdout.
    let output = run(zou.kitsu(&zou.url).args(["get", "auth/authenticated"]));
    assert_eq!(output.status.code(), Some(0));
    let answer: Value = serde_json::from_slice(&output.stdout).unwrap();
    assert_eq!(answer["user"]["email"], zou.email.as_str());
}

#[test]
fn generic_upload_and_download_round_trip_a_working_file() {
    let Some(zou) = zou() else { return };
    let client = zou.admin();
    let project = create_project(&client, &unique("cli generic"), &["prop"]).unwrap();
    let options = kitsu::api::Options::from_value(
        serde_json::json!({"name": "layout", "comment": "cli"}),
        files::NEW_WORKING_FILE_OPTIONS,
    )
    .unwrap();
    let working_file: Value = serde_json::from_str(
        &files::new_working_file(&client, &project.task_ids[0], &options).unwrap(),
    )
    .unwrap();
    let id = working_file["id"].as_str().unwrap();
    let dir = tempfile::tempdir().unwrap();
    let source = dir.path().join("layout.blend");
    let content: Vec<u8> = (0..3_000_000u32).map(|i| (i * 7 % 251) as u8).collect();
    std::fs::write(&source, &content).unwrap();
    let route = format!("data/working-files/{id}/file");
    let output = run(zou
        .kitsu(&zou.url)
        .args(["--json", "upload", &route])
        .arg(&source));
    assert_eq!(output.status.code(), Some(0));
    let lines: Vec<Value> = String::from_utf8_lossy(&output.stdout)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let item = lines.iter().find(|l| l["type"] == "item").unwrap();
    assert_eq!(item["bytes"], content.len() as u64);
    assert!(lines
        .iter()
        .any(|l| l["type"] == "answer" && l["answer"]["id"] == id));
    let target = dir.path().join("back.blend");
    let output = run(zou.kitsu(&zou.url).args(["download", &route]).arg(&target));
    assert_eq!(output.status.code(), Some(0));
    assert!(std::fs::read(&target).unwrap() == content);

    // --checksum, both ways: the digest of the bytes sent, then of the bytes
    // received, as sha256sum prints it.
    let digest = common_sha256(&content);
    let output = run(zou
        .kitsu(&zou.url)
        .args(["--json", "upload", "--checksum", &route])
        .arg(&source));
    assert_eq!(output.status.code(), Some(0));
    let item: Value = String::from_utf8_lossy(&output.stdout)
        .lines()
        .map(|l| serde_json::from_str::<Value>(l).unwrap())
        .find(|l| l["type"] == "item")
        .unwrap();
    assert_eq!(item["sha256"], digest.as_str());
    let again = dir.path().join("again.blend");
    let output = run(zou
        .kitsu(&zou.url)
        .args(["download", "--checksum", &route])
        .arg(&again));
    assert_eq!(output.status.code(), Some(0));
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        stdout.contains(&format!("{digest}  {}", again.display())),
        "{stdout}"
    );

    // post: a JSON body as its positional argument, beside the global --json.
    let body = serde_json::json!({"email": zou.email, "password": zou.password}).to_string();
    let output = run(zou
        .kitsu(&zou.url)
        .args(["--json", "post", "auth/login", &body]));
    assert_eq!(output.status.code(), Some(0));
    let answer: Value = serde_json::from_slice(&output.stdout).unwrap();
    assert_eq!(answer["login"], true);
}

/// `kitsu demo`, the README's main job, as a test: every step succeeds and
/// every published preview comes back, in folders of the test's own.
#[test]
fn the_demo_runs_end_to_end() {
    let Some(zou) = zou() else { return };
    let out = tempfile::tempdir().unwrap();
    let work = tempfile::tempdir().unwrap();
    let output = run(zou
        .kitsu(&zou.url)
        .arg("demo")
        .arg("--out")
        .arg(out.path())
        .arg("--work")
        .arg(work.path()));
    assert_eq!(output.status.code(), Some(0));
    // The steps' headings go to stderr (stdout is for results).
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains("6 published, 3 working files uploaded"),
        "{stderr}"
    );
    assert_eq!(tree(out.path()).len(), 6);
}

#[test]
fn completions_and_help_need_no_server() {
    let mut command = Command::new(env!("CARGO_BIN_EXE_kitsu"));
    let output = command.args(["completions", "bash"]).output().unwrap();
    assert_eq!(output.status.code(), Some(0));
    let script = String::from_utf8(output.stdout).unwrap();
    assert!(script.contains("download-previews") && script.contains("complete"));
    let output = Command::new(env!("CARGO_BIN_EXE_kitsu"))
        .arg("--help")
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(0));
    assert!(String::from_utf8_lossy(&output.stdout).contains("KITSU_TOKEN"));
    // No password option exists.
    let output = Command::new(env!("CARGO_BIN_EXE_kitsu"))
        .args(["--password", "x", "get", "x"])
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(2));
}

/// Output in a real terminal (tmux): bars drawn while the run goes, cleared
/// at its end, the summary left on a clean screen; and without a terminal,
/// plain lines with no escape codes.
#[test]
fn a_terminal_gets_bars_that_are_cleared_and_a_log_gets_plain_lines() {
    let Some(zou) = zou() else { return };
    let scene = scene(zou, "cli tty");
    let dir = tempfile::tempdir().unwrap();
    let (_proxy, base) = slow_proxy(zou, 1_500_000);
    let raw = dir.path().join("raw.txt");
    let out = dir.path().join("out");
    let done = dir.path().join("done");
    let session = format!("kitsu-cli-{}", std::process::id());
    let script = format!(
        "KITSU_HOST='{base}' KITSU_EMAIL='{}' KITSU_PASSWORD='{}' TERM=xterm-256color '{}' download-previews --jobs 2 --project '{}' --out '{}'; echo \"exit=$?\" > '{}'; sleep 60",
        zou.email,
        zou.password,
        env!("CARGO_BIN_EXE_kitsu"),
        scene.project.name,
        out.display(),
        done.display(),
    );
    let tmux = |args: &[&str]| {
        let status = Command::new("tmux")
            .args(args)
            .status()
            .expect("tmux (scripts/test installs it)");
        assert!(status.success(), "tmux {args:?}");
    };
    // The run starts after a second, once the pane's output is piped to `raw`.
    let command = format!("sleep 1; {script}");
    tmux(&[
        "new-session",
        "-d",
        "-s",
        &session,
        "-x",
        "160",
        "-y",
        "30",
        "sh",
        "-c",
        &command,
    ]);
    tmux(&[
        "pipe-pane",
        "-t",
        &session,
        "-o",
        &format!("cat >> '{}'", raw.display()),
    ]);
    let deadline = Instant::now() + Duration::from_secs(180);
    while !done.exists() {
        assert!(Instant::now() < deadline, "the run in tmux did not end");
        std::thread::sleep(Duration::from_millis(200));
    }
    std::thread::sleep(Duration::from_millis(300));
    let screen = Command::new("tmux")
        .args(["capture-pane", "-p", "-t", &session])
        .output()
        .unwrap();
    let _ = Command::new("tmux")
        .args(["kill-session", "-t", &session])
        .status();
    let screen = String::from_utf8_lossy(&screen.stdout).to_string();
    let raw = std::fs::read(&raw).unwrap();
    eprintln!("screen:\n{screen}");
    assert_eq!(std::fs::read_to_string(&done).unwrap().trim(), "exit=0");
    let raw_text = String::from_utf8_lossy(&raw);
    assert!(raw_text.contains("total "), "the total line was drawn");
    assert!(raw_text.contains("\u{1b}["), "bars use escape codes");
    assert!(
        raw_text.contains("v002-clip.mp4 ["),
        "the movie's own bar was drawn"
    );
    // What is left on the screen: the summary, no bar, no total line.
    assert!(screen.contains("4/4 files"), "{screen}");
    assert!(!screen.contains("total "), "{screen}");
    assert!(!screen.contains("[="), "{screen}");
    assert!(!screen.contains("=>"), "{screen}");

    // Not a terminal: plain lines, no escape codes, one per file, the summary.
    let plain_out = dir.path().join("plain");
    let output = run(zou
        .kitsu(&zou.url)
        .args(["download-previews", "--project"])
        .arg(&scene.project.name)
        .arg("--out")
        .arg(&plain_out));
    assert_eq!(output.status.code(), Some(0));
    let log = String::from_utf8(output.stderr).unwrap();
    assert!(!log.contains('\u{1b}'), "{log:?}");
    assert_eq!(
        log.lines().filter(|l| l.contains("] done ")).count(),
        4,
        "{log}"
    );
    assert!(
        log.lines().last().unwrap().starts_with("4/4 files"),
        "{log}"
    );
    assert!(output.stdout.is_empty());
    let reader = BufReader::new(&output.stdout[..]);
    assert_eq!(reader.lines().count(), 0);
}
