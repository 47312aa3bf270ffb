//! `kitsu upload --resumable|--tus` as users run it, against the real
//! servers of scripts/upload-servers/run: a process killed at 40% and a
//! new one that sends only what is missing, and the memory of a 2 GiB
//! upload in 64 MiB chunks. Skipped when the servers are not running,
//! unless KITSU_UPLOAD_SERVERS_REQUIRED is set.

#[path = "../../tests/common/fault.rs"]
mod fault;
#[path = "../../tests/common/upload_servers.rs"]
mod upload_servers;

use std::collections::BTreeSet;
use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use fault::FaultProxy;
use upload_servers::{random_file, Servers};

const MIB: u64 = 1024 * 1024;

fn kitsu() -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_kitsu"));
    for name in ["KITSU_HOST", "KITSU_TOKEN", "KITSU_EMAIL", "KITSU_PASSWORD"] {
        command.env_remove(name);
    }
    command
}

/// A proxy limiting every connection to `per_second`, and `url` through it.
fn throttled(url: &str, per_second: u64) -> (FaultProxy, String) {
    let authority = url.trim_start_matches("http://").split('/').next().unwrap();
    let proxy = FaultProxy::start(authority);
    proxy.throttle(per_second);
    let through = url.replacen(authority, &format!("127.0.0.1:{}", proxy.port), 1);
    (proxy, through)
}

/// Waits until `reached()` (polled), at most a minute.
fn wait_for(mut reached: impl FnMut() -> bool) {
    let started = Instant::now();
    while !reached() {
        assert!(started.elapsed() < Duration::from_secs(60), "timed out");
        std::thread::sleep(Duration::from_millis(20));
    }
}

#[test]
fn resumable_killed_at_40_percent_then_a_new_process_sends_only_the_missing_chunks() {
    let Some(servers) = Servers::get() else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let file = random_file(dir.path(), "killed-resumable.mov", 40 * MIB);
    let identifier =
        kitsu::transfer::resumable::identifier(&file, kitsu::transfer::chunked::DEFAULT_CHUNK_SIZE)
            .unwrap();
    let chunks_dir = PathBuf::from(servers.var("RESUMABLE_DIR"));
    let stored = || {
        std::fs::read_dir(&chunks_dir)
            .unwrap()
            .filter_map(|e| e.ok())
            .filter_map(|e| {
                let name = e.file_name().to_string_lossy().into_owned();
                name.strip_prefix(&format!("resumable-{identifier}."))
                    .map(str::to_string)
            })
            .collect::<BTreeSet<String>>()
    };
    let (_proxy, url) = throttled(servers.var("RESUMABLE_URL"), 8 * MIB);
    let mut child = kitsu()
        .args(["upload", "--resumable", &url])
        .arg(&file)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    wait_for(|| stored().len() >= 16);
    child.kill().unwrap();
    child.wait().unwrap();
    std::thread::sleep(Duration::from_millis(500));
    let before = stored();
    assert!(
        before.len() < 40,
        "the kill came too late: {} chunks",
        before.len()
    );

    let mark = servers.log_mark("RESUMABLE_LOG");
    let output = kitsu()
        .args([
            "upload",
            "--resumable",
            servers.var("RESUMABLE_URL"),
            "--json",
        ])
        .arg(&file)
        .output()
        .unwrap();
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let record: serde_json::Value = serde_json::from_str(
        String::from_utf8_lossy(&output.stdout)
            .lines()
            .next()
            .unwrap(),
    )
    .unwrap();
    assert_eq!(record["chunks_skipped"], before.len());
    std::thread::sleep(Duration::from_millis(500));
    let sent: BTreeSet<String> = servers
        .log_since("RESUMABLE_LOG", mark, &identifier)
        .iter()
        .filter(|l| l["method"] == "POST")
        .map(|l| l["chunk"].as_str().unwrap().to_string())
        .collect();
    assert!(
        before.is_disjoint(&sent),
        "sent again: {:?}",
        before.intersection(&sent)
    );
    assert_eq!(before.len() + sent.len(), 40);
    let mut joined = Vec::new();
    for n in 1..=40 {
        joined
            .extend(std::fs::read(chunks_dir.join(format!("resumable-{identifier}.{n}"))).unwrap());
    }
    assert!(joined == std::fs::read(&file).unwrap());
    for n in 1..=40 {
        std::fs::remove_file(chunks_dir.join(format!("resumable-{identifier}.{n}"))).ok();
    }
}

#[test]
fn tus_killed_at_40_percent_then_a_new_process_resumes_from_the_store() {
    let Some(servers) = Servers::get() else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let file = random_file(dir.path(), "killed-tus.mov", 40 * MIB);
    let store = dir.path().join("store.json");
    let (_proxy, url) = throttled(servers.var("TUS_URL"), 8 * MIB);
    let mut child = kitsu()
        .args(["upload", "--tus", &url, "--store"])
        .arg(&store)
        .arg(&file)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let upload_url = || -> Option<String> {
        let text = std::fs::read_to_string(&store).ok()?;
        let value: serde_json::Value = serde_json::from_str(&text).ok()?;
        let uploads = value["uploads"].as_object()?;
        Some(uploads.values().next()?["url"].as_str()?.to_string())
    };
    wait_for(|| upload_url().is_some());
    let id = upload_url()
        .unwrap()
        .rsplit('/')
        .next()
        .unwrap()
        .to_string();
    let on_server = PathBuf::from(servers.var("TUS_DIR")).join(&id);
    let size = || std::fs::metadata(&on_server).map(|m| m.len()).unwrap_or(0);
    wait_for(|| size() >= 16 * MIB);
    child.kill().unwrap();
    child.wait().unwrap();
    std::thread::sleep(Duration::from_millis(500));
    let kept = size();
    assert!(kept < 40 * MIB, "the kill came too late");

    // The new process goes to the server directly: the store's key is the
    // endpoint it was given, so it names the same one (through the proxy).
    let mark = servers.log_mark("TUS_LOG");
    let output = kitsu()
        .args(["upload", "--tus", &url, "--json", "--store"])
        .arg(&store)
        .arg(&file)
        .output()
        .unwrap();
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let lines = servers.log_since("TUS_LOG", mark, &id);
    assert_eq!(lines[0]["method"], "HEAD");
    let first_patch: u64 = lines
        .iter()
        .find(|l| l["method"] == "PATCH")
        .map(|l| l["offset"].as_str().unwrap().parse().unwrap())
        .unwrap();
    assert!(
        first_patch >= kept && first_patch > 0,
        "{first_patch} < {kept}"
    );
    assert!(std::fs::read(&on_server).unwrap() == std::fs::read(&file).unwrap());
    std::fs::remove_file(&on_server).ok();
    std::fs::remove_file(on_server.with_extension("json")).ok();
}

/// Peak resident memory (KiB) of `kitsu args`, by GNU time.
fn peak_rss_kib(args: &[&str]) -> u64 {
    let output = Command::new("/usr/bin/time")
        .arg("-f")
        .arg("peak-rss-kib %M")
        .arg(env!("CARGO_BIN_EXE_kitsu"))
        .args(args)
        .env_remove("KITSU_HOST")
        .output()
        .expect("GNU time (/usr/bin/time; apt-get install time)");
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success(), "{stderr}");
    stderr
        .lines()
        .find_map(|l| l.strip_prefix("peak-rss-kib "))
        .unwrap()
        .trim()
        .parse()
        .unwrap()
}

/// A 2 GiB sparse file in 64 MiB chunks (three in flight for resumable.js):
/// the chunks stream from the file, so memory stays far below one chunk.
#[test]
fn a_2_gib_sparse_file_in_64_mib_chunks_at_constant_memory() {
    let Some(servers) = Servers::get() else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("sparse-2g.bin");
    let handle = std::fs::File::create(&file).unwrap();
    handle.set_len(2048 * MIB).unwrap();
    drop(handle);
    let store = dir.path().join("store.json");
    let store = store.to_str().unwrap();
    let path = file.to_str().unwrap();

    let tus_rss = peak_rss_kib(&[
        "upload",
        "--tus",
        servers.var("TUS_URL"),
        "--chunk-size",
        "64M",
        "--store",
        store,
        "--json",
        path,
    ]);
    let resumable_rss = peak_rss_kib(&[
        "upload",
        "--resumable",
        servers.var("RESUMABLE_URL"),
        "--chunk-size",
        "64M",
        "--json",
        path,
    ]);
    println!("peak RSS for 2 GiB in 64 MiB chunks: tus {tus_rss} KiB, resumable.js (3 in flight) {resumable_rss} KiB");
    assert!(tus_rss < 48 * 1024, "tus: {tus_rss} KiB");
    assert!(
        resumable_rss < 48 * 1024,
        "resumable.js: {resumable_rss} KiB"
    );

    // What the servers keep of it goes.
    for entry in std::fs::read_dir(servers.var("TUS_DIR")).unwrap().flatten() {
        if entry
            .metadata()
            .map(|m| m.len() == 2048 * MIB)
            .unwrap_or(false)
        {
            std::fs::remove_file(entry.path()).ok();
            std::fs::remove_file(entry.path().with_extension("json")).ok();
        }
    }
    let identifier = kitsu::transfer::resumable::identifier(&file, 64 * MIB).unwrap();
    for entry in std::fs::read_dir(servers.var("RESUMABLE_DIR"))
        .unwrap()
        .flatten()
    {
        if entry.file_name().to_string_lossy().contains(&identifier) {
            std::fs::remove_file(entry.path()).ok();
        }
    }
}
