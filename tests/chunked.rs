//! Chunked uploads against real servers on loopback (scripts/upload-servers/run):
//! the resumable.js sample backend and @tus/server. Both log every request
//! (one JSON line each), which these tests read to see what was sent again.
//! Skipped when the servers are not running, unless
//! KITSU_UPLOAD_SERVERS_REQUIRED is set (the test command sets it).

mod common;
#[path = "common/upload_servers.rs"]
mod upload_servers;

use std::collections::BTreeSet;
use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use common::fault::{Direction, Fault, FaultProxy};
use kitsu::transfer::{resumable, tus, ChunkedOptions, UrlStore};
use kitsu::{CancelToken, Client, Error, Event, TransferOptions};
use upload_servers::{random_file, Servers};

const MIB: u64 = 1024 * 1024;

fn client() -> Client {
    let client = Client::new("http://127.0.0.1:1/api").unwrap();
    client
        .update_config(|c| {
            c.retry.initial_delay = Duration::from_millis(100);
            c.retry.max_delay = Duration::from_secs(1);
        })
        .unwrap();
    client
}

fn assert_contract(calls: &[(u64, u64)], total: u64) {
    assert_eq!(
        calls.first(),
        Some(&(0, total)),
        "the first call is (0, total)"
    );
    assert_eq!(
        calls.last(),
        Some(&(total, total)),
        "the last call is (total, total)"
    );
    for pair in calls.windows(2) {
        assert!(pair[1].0 >= pair[0].0, "progress went back: {pair:?}");
        assert_eq!(pair[1].1, total, "the total changed");
    }
}

/// A fault proxy in front of the server of `url`, and `url` through it.
fn proxied(url: &str) -> (FaultProxy, String) {
    let authority = url.trim_start_matches("http://").split('/').next().unwrap();
    let proxy = FaultProxy::start(authority);
    let through = url.replacen(authority, &format!("127.0.0.1:{}", proxy.port), 1);
    (proxy, through)
}

fn tus_options(store: &Path) -> ChunkedOptions {
    ChunkedOptions {
        store: UrlStore::At(store.to_path_buf()),
        ..ChunkedOptions::default()
    }
}

#[test]
fn resumable_50_mb_in_1_mib_chunks_3_in_flight_is_assembled_byte_for_byte() {
    let Some(servers) = Servers::get() else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let file = random_file(dir.path(), "plate.mov", 50_000_000);
    // Throttled (16 MiB/s a connection) so the events see chunks in flight.
    let (proxy, through) = proxied(servers.var("RESUMABLE_URL"));
    proxy.throttle(16 * MIB);
    let mark = servers.log_mark("RESUMABLE_LOG");
    let mut calls = Vec::new();
    let mut items = BTreeSet::new();
    let mut item_count = 0;
    let mut progress = |done: u64, total: u64| {
        calls.push((done, total));
        true
    };
    let mut on_event = |event: &Event<'_>| {
        items.insert(event.item_index);
        item_count = event.item_count;
        true
    };
    let options = TransferOptions {
        progress: Some(&mut progress),
        on_event: Some(&mut on_event),
        ..TransferOptions::default()
    };
    let outcome = resumable::upload(
        &client(),
        &through,
        &file,
        &ChunkedOptions::default(),
        options,
    )
    .unwrap();
    // resumable.js's plan: floor(50,000,000 / 1 MiB) = 47 chunks, the last 1.7 MiB.
    assert_eq!(outcome.chunks, 47);
    assert_eq!(outcome.chunks_sent, 47);
    assert_eq!(outcome.bytes_sent, 50_000_000);
    assert_eq!(outcome.answer, "done");
    assert_eq!(
        outcome.upload,
        resumable::identifier(&file, kitsu::transfer::chunked::DEFAULT_CHUNK_SIZE).unwrap()
    );
    assert!(servers.resumable_assembled(&outcome.upload) == std::fs::read(&file).unwrap());
    assert_contract(&calls, 50_000_000);
    assert_eq!(item_count, 47);
    assert!(
        items.len() > 5 && items.iter().all(|&i| i < 47),
        "{items:?}"
    );

    let log = servers.log_since("RESUMABLE_LOG", mark, &outcome.upload);
    let posts = log.iter().filter(|l| l["method"] == "POST").count();
    let tests = log
        .iter()
        .filter(|l| l["method"] == "GET" && l["path"] == "/upload")
        .count();
    assert_eq!(
        (posts, tests),
        (47, 47),
        "one test GET and one POST per chunk"
    );

    // Again: every test GET says the server has it; nothing is sent.
    let mark = servers.log_mark("RESUMABLE_LOG");
    let again = resumable::upload(
        &client(),
        servers.var("RESUMABLE_URL"),
        &file,
        &ChunkedOptions::default(),
        TransferOptions::default(),
    )
    .unwrap();
    assert_eq!((again.chunks_sent, again.chunks_skipped), (0, 47));
    let log = servers.log_since("RESUMABLE_LOG", mark, &outcome.upload);
    assert_eq!(log.len(), 47);
    assert!(log.iter().all(|l| l["method"] == "GET"));
}

/// Cancels an upload once `fraction` of it has moved; returns the error.
fn cancel_at(
    fraction: f64,
    upload: impl FnOnce(TransferOptions<'_>) -> kitsu::Result<kitsu::transfer::ChunkedOutcome>,
) -> Error {
    let cancel = CancelToken::new();
    let token = cancel.clone();
    let fired = AtomicBool::new(false);
    let mut progress = |done: u64, total: u64| {
        if total > 0
            && done as f64 >= fraction * total as f64
            && !fired.swap(true, Ordering::Relaxed)
        {
            token.cancel();
        }
        true
    };
    let options = TransferOptions {
        progress: Some(&mut progress),
        cancel: Some(cancel.clone()),
        ..TransferOptions::default()
    };
    upload(options).unwrap_err()
}

#[test]
fn resumable_cancelled_at_40_percent_resumes_in_a_new_client_sending_only_the_missing_chunks() {
    let Some(servers) = Servers::get() else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let file = random_file(dir.path(), "comp.exr", 30 * MIB);
    let (proxy, url) = proxied(servers.var("RESUMABLE_URL"));
    proxy.throttle(8 * MIB);
    let mark = servers.log_mark("RESUMABLE_LOG");
    let error = cancel_at(0.4, |options| {
        resumable::upload(&client(), &url, &file, &ChunkedOptions::default(), options)
    });
    assert!(matches!(error, Error::Cancelled), "{error}");
    std::thread::sleep(Duration::from_millis(500));
    let identifier =
        resumable::identifier(&file, kitsu::transfer::chunked::DEFAULT_CHUNK_SIZE).unwrap();
    let first: BTreeSet<String> = servers
        .log_since("RESUMABLE_LOG", mark, &identifier)
        .iter()
        .filter(|l| l["method"] == "POST" && l["status"] == 200)
        .map(|l| l["chunk"].as_str().unwrap().to_string())
        .collect();
    assert!(
        first.len() >= 6 && first.len() < 30,
        "{} chunks stored before the cancel",
        first.len()
    );

    let mark = servers.log_mark("RESUMABLE_LOG");
    let mut calls = Vec::new();
    let mut progress = |done: u64, total: u64| {
        calls.push((done, total));
        true
    };
    let outcome = resumable::upload(
        &client(),
        &url,
        &file,
        &ChunkedOptions::default(),
        TransferOptions::with_progress(&mut progress),
    )
    .unwrap();
    // The sample writes its log line once the answer is out: let it land.
    std::thread::sleep(Duration::from_millis(500));
    let second: BTreeSet<String> = servers
        .log_since("RESUMABLE_LOG", mark, &identifier)
        .iter()
        .filter(|l| l["method"] == "POST")
        .map(|l| l["chunk"].as_str().unwrap().to_string())
        .collect();
    assert!(
        first.is_disjoint(&second),
        "resent: {:?}",
        first.intersection(&second)
    );
    // A chunk stored while the cancel closed its connection has no log line
    // from the first run; the second run's test GET finds it all the same.
    assert_eq!(second.len(), outcome.chunks_sent as usize);
    assert_eq!(outcome.chunks_sent + outcome.chunks_skipped, 30);
    assert!(outcome.chunks_skipped as usize >= first.len());
    assert_contract(&calls, 30 * MIB);
    assert!(servers.resumable_assembled(&outcome.upload) == std::fs::read(&file).unwrap());
}

#[test]
fn resumable_retries_a_503_and_a_connection_dropped_mid_chunk() {
    let Some(servers) = Servers::get() else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let file = random_file(dir.path(), "a.bin", 8 * MIB);
    let url = servers.var("RESUMABLE_URL");
    let (proxy, through) = proxied(url);
    proxy.arm(Fault::Answer("POST", 503));
    proxy.arm(Fault::Reset(Direction::Up, MIB + 300_000));
    let mut calls = Vec::new();
    let mut progress = |done: u64, total: u64| {
        calls.push((done, total));
        true
    };
    let outcome = resumable::upload(
        &client(),
        &through,
        &file,
        &ChunkedOptions::default(),
        TransferOptions::with_progress(&mut progress),
    )
    .unwrap();
    assert_eq!(proxy.fired(), 2);
    assert_contract(&calls, 8 * MIB);
    assert!(servers.resumable_assembled(&outcome.upload) == std::fs::read(&file).unwrap());
}

#[test]
fn resumable_permanent_errors_stop_at_once() {
    let Some(servers) = Servers::get() else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let file = random_file(dir.path(), "a.bin", 3 * MIB);
    // A route the sample does not have: 404, one of resumable.js's permanent errors.
    let url = servers.var("RESUMABLE_URL").replace("/upload", "/nowhere");
    let started = std::time::Instant::now();
    let error = resumable::upload(
        &client(),
        &url,
        &file,
        &ChunkedOptions::default(),
        TransferOptions::default(),
    )
    .unwrap_err();
    assert!(matches!(error, Error::Http { status: 404, .. }), "{error}");
    assert!(started.elapsed() < Duration::from_secs(5));
    // Settings no server could take are refused before any request.
    let proxy_free = servers.var("RESUMABLE_URL");
    let bad = ChunkedOptions {
        chunk_size: 0,
        ..ChunkedOptions::default()
    };
    let error = resumable::upload(
        &client(),
        proxy_free,
        &file,
        &bad,
        TransferOptions::default(),
    )
    .unwrap_err();
    assert!(matches!(error, Error::InvalidParameter(_)), "{error}");
}

#[test]
fn tus_50_mb_in_1_mib_chunks_is_assembled_byte_for_byte() {
    let Some(servers) = Servers::get() else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let file = random_file(dir.path(), "tus-plate.mov", 50_000_000);
    let store = dir.path().join("tus.json");
    let (proxy, through) = proxied(servers.var("TUS_URL"));
    proxy.throttle(32 * MIB);
    let mark = servers.log_mark("TUS_LOG");
    let mut calls = Vec::new();
    let mut items = BTreeSet::new();
    let mut progress = |done: u64, total: u64| {
        calls.push((done, total));
        true
    };
    let mut on_event = |event: &Event<'_>| {
        items.insert((event.item_index, event.item_count));
        true
    };
    let options = TransferOptions {
        progress: Some(&mut progress),
        on_event: Some(&mut on_event),
        ..TransferOptions::default()
    };
    let outcome = tus::upload(&client(), &through, &file, &tus_options(&store), options).unwrap();
    assert_eq!((outcome.chunks, outcome.chunks_sent), (48, 48));
    assert!(
        std::fs::read(servers.tus_assembled(&outcome.upload)).unwrap()
            == std::fs::read(&file).unwrap()
    );
    assert_contract(&calls, 50_000_000);
    assert!(
        items.iter().all(|&(i, n)| n == 48 && i < 48) && items.len() > 5,
        "{items:?}"
    );
    let id = outcome.upload.rsplit('/').next().unwrap();
    let created = servers.log_since("TUS_LOG", mark, "filename dHVzLXBsYXRlLm1vdg==");
    assert_eq!(
        created.len(),
        1,
        "one creation POST (its metadata: tus-plate.mov)"
    );
    let log = servers.log_since("TUS_LOG", mark, id);
    assert_eq!(log.iter().filter(|l| l["method"] == "PATCH").count(), 48);
    // Finished uploads leave the store.
    let stored = std::fs::read_to_string(&store).unwrap();
    assert!(!stored.contains(&outcome.upload), "{stored}");
    std::fs::remove_file(servers.tus_assembled(&outcome.upload)).ok();
}

#[test]
fn tus_cancelled_at_40_percent_resumes_from_the_store_in_a_new_client() {
    let Some(servers) = Servers::get() else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let file = random_file(dir.path(), "tus-comp.exr", 30 * MIB);
    let store = dir.path().join("state/tus.json");
    let (proxy, url) = proxied(servers.var("TUS_URL"));
    proxy.throttle(8 * MIB);
    let error = cancel_at(0.4, |options| {
        tus::upload(&client(), &url, &file, &tus_options(&store), options)
    });
    assert!(matches!(error, Error::Cancelled), "{error}");
    // The store survives the process: what a new one reads.
    let stored: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&store).unwrap()).unwrap();
    let uploads = stored["uploads"].as_object().unwrap();
    assert_eq!(uploads.len(), 1);
    let upload_url = uploads.values().next().unwrap()["url"]
        .as_str()
        .unwrap()
        .to_string();

    // The PATCH in flight at the cancel may still reach the server (the
    // proxy had its bytes): let it land before the new run's log starts.
    std::thread::sleep(Duration::from_millis(500));
    let mark = servers.log_mark("TUS_LOG");
    let mut calls = Vec::new();
    let mut progress = |done: u64, total: u64| {
        calls.push((done, total));
        true
    };
    let outcome = tus::upload(
        &client(),
        &url,
        &file,
        &tus_options(&store),
        TransferOptions::with_progress(&mut progress),
    )
    .unwrap();
    assert_eq!(outcome.upload, upload_url);
    let id = upload_url.rsplit('/').next().unwrap();
    let log = servers.log_since("TUS_LOG", mark, id);
    // The new run asks the offset first; only PATCHes from there follow.
    let head = log
        .iter()
        .position(|l| l["method"] == "HEAD")
        .expect("a HEAD");
    let log = &log[head..];
    let created = servers.log_since("TUS_LOG", mark, "filename dHVzLWNvbXAuZXhy");
    assert!(created.is_empty(), "a new upload was created: {created:?}");
    let patches: Vec<u64> = log
        .iter()
        .filter(|l| l["method"] == "PATCH")
        .map(|l| l["offset"].as_str().unwrap().parse().unwrap())
        .collect();
    assert!(
        patches[0] >= 10 * MIB && patches[0] < 30 * MIB,
        "{patches:?}"
    );
    assert_eq!(patches.len() as u64, (30 * MIB - patches[0]).div_ceil(MIB));
    assert_eq!(outcome.bytes_sent, 30 * MIB - patches[0]);
    assert_contract(&calls, 30 * MIB);
    assert!(
        calls[1].0 >= patches[0],
        "the resumed part counts at once: {:?}",
        &calls[..3]
    );
    assert!(
        std::fs::read(servers.tus_assembled(&outcome.upload)).unwrap()
            == std::fs::read(&file).unwrap()
    );
    std::fs::remove_file(servers.tus_assembled(&outcome.upload)).ok();
}

#[test]
fn tus_retries_a_503_a_dropped_connection_and_a_409_and_terminates_on_cancel_when_asked() {
    let Some(servers) = Servers::get() else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let file = random_file(dir.path(), "a.bin", 8 * MIB);
    let store = dir.path().join("tus.json");
    let url = servers.var("TUS_URL");
    let (proxy, through) = proxied(url);
    proxy.arm(Fault::Answer("PATCH", 503));
    proxy.arm(Fault::Reset(Direction::Up, MIB + 300_000));
    // An offset conflict: resolved by asking the server's offset, at once.
    proxy.arm(Fault::Answer("PATCH", 409));
    let mut calls = Vec::new();
    let mut progress = |done: u64, total: u64| {
        calls.push((done, total));
        true
    };
    let outcome = tus::upload(
        &client(),
        &through,
        &file,
        &tus_options(&store),
        TransferOptions::with_progress(&mut progress),
    )
    .unwrap();
    assert_eq!(proxy.fired(), 3);
    assert_contract(&calls, 8 * MIB);
    let requests = proxy.requests();
    assert!(
        requests.iter().filter(|r| r.starts_with("HEAD")).count() >= 3,
        "a HEAD after each failure: {requests:?}"
    );
    assert!(
        std::fs::read(servers.tus_assembled(&outcome.upload)).unwrap()
            == std::fs::read(&file).unwrap()
    );
    std::fs::remove_file(servers.tus_assembled(&outcome.upload)).ok();

    // Termination: the cancelled upload is deleted on the server and forgotten.
    let other = random_file(dir.path(), "b.bin", 20 * MIB);
    let mark = servers.log_mark("TUS_LOG");
    let terminate = ChunkedOptions {
        terminate_on_cancel: true,
        ..tus_options(&store)
    };
    proxy.throttle(8 * MIB);
    let error = cancel_at(0.3, |options| {
        tus::upload(&client(), &through, &other, &terminate, options)
    });
    assert!(matches!(error, Error::Cancelled), "{error}");
    let log = servers.log_since("TUS_LOG", mark, "DELETE");
    let delete = log
        .iter()
        .find(|l| l["method"] == "DELETE")
        .expect("a DELETE");
    assert_eq!(delete["status"], 204);
    let stored = std::fs::read_to_string(&store).unwrap();
    assert!(!stored.contains(delete["url"].as_str().unwrap().rsplit('/').next().unwrap()));
}

#[test]
fn tus_permanent_errors_stop_at_once() {
    let Some(servers) = Servers::get() else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let file = random_file(dir.path(), "a.bin", MIB);
    // tus-js-client's rule: a 4xx other than 409, 423 and 429 is not retried.
    let (proxy, through) = proxied(servers.var("TUS_URL"));
    proxy.arm(Fault::Answer("PATCH", 403));
    let error = tus::upload(
        &client(),
        &through,
        &file,
        &tus_options(&dir.path().join("s.json")),
        TransferOptions::default(),
    )
    .unwrap_err();
    assert!(matches!(error, Error::Http { status: 403, .. }), "{error}");
    assert_eq!(
        proxy
            .requests()
            .iter()
            .filter(|r| r.starts_with("PATCH"))
            .count(),
        1
    );
    // An upload URL the server does not know, left in the store: forgotten, a new upload made.
    let store = dir.path().join("stale.json");
    let key = format!(
        "{}#{}",
        servers.var("TUS_URL"),
        kitsu::transfer::chunked::fingerprint(&file).unwrap()
    );
    std::fs::write(&store, serde_json::json!({"uploads": {key: {"url": format!("{}/0123456789abcdef", servers.var("TUS_URL"))}}}).to_string()).unwrap();
    let outcome = tus::upload(
        &client(),
        servers.var("TUS_URL"),
        &file,
        &tus_options(&store),
        TransferOptions::default(),
    )
    .unwrap();
    assert!(!outcome.upload.ends_with("0123456789abcdef"));
    std::fs::remove_file(servers.tus_assembled(&outcome.upload)).ok();
}

/// 21.7: a rerun with another chunk size is another upload: the lax sample
/// server would otherwise report chunks of the old plan as present and
/// assemble a corrupt file while the client reports success.
#[test]
fn resumable_with_another_chunk_size_is_another_upload() {
    let Some(servers) = Servers::get() else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let file = random_file(dir.path(), "replan.mov", 12 * MIB);
    let (proxy, url) = proxied(servers.var("RESUMABLE_URL"));
    proxy.throttle(8 * MIB);
    let error = cancel_at(0.5, |options| {
        resumable::upload(&client(), &url, &file, &ChunkedOptions::default(), options)
    });
    assert!(matches!(error, Error::Cancelled), "{error}");
    let bigger = ChunkedOptions {
        chunk_size: 3 * MIB,
        ..ChunkedOptions::default()
    };
    let outcome =
        resumable::upload(&client(), &url, &file, &bigger, TransferOptions::default()).unwrap();
    assert_eq!(outcome.chunks_skipped, 0, "{outcome:?}");
    assert_eq!(outcome.chunks, 4);
    assert_ne!(
        outcome.upload,
        resumable::identifier(&file, kitsu::transfer::chunked::DEFAULT_CHUNK_SIZE).unwrap()
    );
    assert!(servers.resumable_assembled(&outcome.upload) == std::fs::read(&file).unwrap());
}
