//! The fault matrix: transfers through the fault proxy (tests/common/fault.rs)
//! in front of the fake server, one row per fault. Each row checks the bytes
//! (sha256), that nothing partial is left, the progress contract, and what
//! was asked of the server again; the table is printed and written to
//! `.work/fault-matrix.md` (the README's reliability section shows it).

mod common;

use std::path::Path;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use common::fault::{Direction, Fault, FaultProxy};
use common::{pattern, sha256_hex, FakeKitsu, EMAIL, PASSWORD};
use kitsu::api::raw::blocking as raw;
use kitsu::{Client, Error, Event, Phase, TransferOptions};

/// The rows, in the order the tests finish; written out by each test.
static ROWS: Mutex<Vec<String>> = Mutex::new(Vec::new());

fn record_row(
    scenario: &str,
    outcome: &str,
    attempts: u32,
    asked_again: &str,
    bytes: &str,
    secs: f64,
) {
    let mut rows = ROWS.lock().unwrap();
    rows.push(format!(
        "| {scenario} | {outcome} | {attempts} | {asked_again} | {bytes} | {secs:.1} s |"
    ));
    rows.sort();
    let table = format!(
        "| fault | outcome | attempts | asked again | bytes | time |\n|---|---|---:|---|---|---:|\n{}\n",
        rows.join("\n")
    );
    let work = Path::new(env!("CARGO_MANIFEST_DIR")).join(".work");
    let _ = std::fs::create_dir_all(&work);
    let _ = std::fs::write(work.join("fault-matrix.md"), &table);
    println!("{table}");
}

struct Setup {
    server: FakeKitsu,
    proxy: FaultProxy,
    client: Client,
    dir: tempfile::TempDir,
}

/// The fake server behind a fault proxy, a client logged in through it
/// with short backoffs (so the matrix runs in seconds).
fn setup() -> Setup {
    let server = FakeKitsu::start();
    let proxy = FaultProxy::in_front_of(&server.base);
    let client = Client::new(&proxy.base_for(&server.base)).unwrap();
    client.log_in(EMAIL, PASSWORD).unwrap();
    client
        .update_config(|c| {
            c.retry.initial_delay = Duration::from_millis(50);
            c.retry.max_delay = Duration::from_secs(2);
        })
        .unwrap();
    proxy.clear_requests();
    Setup {
        server,
        proxy,
        client,
        dir: tempfile::tempdir().unwrap(),
    }
}

/// What one transfer showed: progress calls, retry events, highest attempt.
#[derive(Default)]
struct Watch {
    calls: Vec<(u64, u64)>,
    retries: Vec<String>,
    attempts: u32,
}

fn download(s: &Setup, route: &str, target: &Path, watch: &mut Watch) -> kitsu::Result<u64> {
    let mut progress = |done: u64, total: u64| {
        watch.calls.push((done, total));
        true
    };
    let mut retries = Vec::new();
    let mut attempts = 1;
    let mut on_event = |event: &Event<'_>| {
        attempts = attempts.max(event.attempt);
        if event.phase == Phase::Retrying {
            retries.push(event.message.to_string());
        }
        true
    };
    let result = raw::download(
        &s.client,
        route,
        target,
        TransferOptions {
            progress: Some(&mut progress),
            on_event: Some(&mut on_event),
            ..TransferOptions::default()
        },
    );
    watch.retries = retries;
    watch.attempts = attempts;
    result
}

fn assert_monotonic(calls: &[(u64, u64)]) {
    for pair in calls.windows(2) {
        assert!(pair[1].0 >= pair[0].0, "progress went back: {calls:?}");
    }
}

fn no_partial(dir: &Path) {
    let left: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.starts_with('.'))
        .collect();
    assert!(left.is_empty(), "left behind: {left:?}");
}

/// A drop at `percent` of a download with Content-Length: continued with
/// Range (If-Range when the server gave validators), identical bytes.
fn drop_resumed(route_kind: &str, percent: u64) {
    let s = setup();
    let len = 2_000_000u64;
    let route = format!("files/{route_kind}/{len}");
    let target = s.dir.path().join("movie.mp4");
    s.proxy
        .arm(Fault::Reset(Direction::Down, len * percent / 100));
    let mut watch = Watch::default();
    let started = Instant::now();
    let count = download(&s, &route, &target, &mut watch).unwrap();
    assert_eq!(count, len);
    assert_eq!(s.proxy.fired(), 1);
    assert_eq!(
        sha256_hex(&std::fs::read(&target).unwrap()),
        sha256_hex(&pattern(len as usize))
    );
    let ranged: Vec<String> = s
        .proxy
        .requests()
        .into_iter()
        .filter(|r| r.contains("Range:"))
        .collect();
    assert_eq!(ranged.len(), 1, "{:?}", s.proxy.requests());
    let from: u64 = ranged[0]
        .rsplit('=')
        .next()
        .unwrap()
        .trim_end_matches('-')
        .parse()
        .unwrap();
    assert!(from > 0 && from <= len * percent / 100, "{ranged:?}");
    assert_monotonic(&watch.calls);
    assert_eq!(watch.calls.last(), Some(&(len, len)));
    assert_eq!(watch.retries.len(), 1, "{:?}", watch.retries);
    no_partial(s.dir.path());
    let validators = if route_kind == "ranged" {
        "with validators"
    } else {
        "no validators"
    };
    record_row(
        &format!("download dropped at {percent}%, {validators}"),
        "resumed, identical",
        watch.attempts,
        &format!("`Range: bytes={from}-`"),
        &format!("{} of {len} fetched again", len - from),
        started.elapsed().as_secs_f64(),
    );
}

#[test]
fn drop_at_10_percent_with_validators() {
    drop_resumed("ranged", 10);
}
#[test]
fn drop_at_50_percent_with_validators() {
    drop_resumed("ranged", 50);
}
#[test]
fn drop_at_90_percent_with_validators() {
    drop_resumed("ranged", 90);
}
#[test]
fn drop_at_10_percent_without_validators() {
    drop_resumed("ranged-bare", 10);
}
#[test]
fn drop_at_50_percent_without_validators() {
    drop_resumed("ranged-bare", 50);
}
#[test]
fn drop_at_90_percent_without_validators() {
    drop_resumed("ranged-bare", 90);
}

#[test]
fn a_dropped_chunked_download_starts_again() {
    let s = setup();
    let target = s.dir.path().join("chunked.bin");
    s.proxy.arm(Fault::Reset(Direction::Down, 40_000));
    let mut watch = Watch::default();
    let started = Instant::now();
    download(&s, "files/chunked/100000", &target, &mut watch).unwrap();
    assert_eq!(std::fs::read(&target).unwrap(), pattern(100_000));
    assert!(s.proxy.requests().iter().all(|r| !r.contains("Range:")));
    assert_monotonic(&watch.calls);
    no_partial(s.dir.path());
    record_row(
        "chunked download dropped (no length: no Range)",
        "started again, identical",
        watch.attempts,
        "the whole file",
        "100000 fetched again",
        started.elapsed().as_secs_f64(),
    );
}

/// `code` answered `times` times (Retry-After: 1 for 429 and 503), then the file.
fn flaky(code: u16, times: u32) {
    let s = setup();
    let route = format!("flaky/{code}/{times}/k/5000");
    let target = s.dir.path().join("f.bin");
    let mut watch = Watch::default();
    let started = Instant::now();
    download(&s, &route, &target, &mut watch).unwrap();
    assert_eq!(std::fs::read(&target).unwrap(), pattern(5000));
    assert_eq!(watch.attempts, times + 1);
    let elapsed = started.elapsed();
    if matches!(code, 429 | 503) {
        // Retry-After: 1 honoured before each new attempt.
        assert!(
            elapsed >= Duration::from_secs(u64::from(times)),
            "{elapsed:?}"
        );
    }
    no_partial(s.dir.path());
    record_row(
        &format!(
            "HTTP {code} {times}× in a row{}",
            if matches!(code, 429 | 503) {
                " (Retry-After: 1)"
            } else {
                ""
            }
        ),
        "recovered",
        watch.attempts,
        &format!("{times} more GETs"),
        "5000, once",
        elapsed.as_secs_f64(),
    );
}

#[test]
fn a_503_with_retry_after_twice() {
    flaky(503, 2);
}
#[test]
fn a_429_with_retry_after_twice() {
    flaky(429, 2);
}
#[test]
fn a_500_once() {
    flaky(500, 1);
}
#[test]
fn a_502_once() {
    flaky(502, 1);
}
#[test]
fn a_504_once() {
    flaky(504, 1);
}
#[test]
fn a_502_three_times_in_a_row() {
    flaky(502, 3);
}

#[test]
fn a_503_forever_gives_up_after_the_attempts() {
    let s = setup();
    let target = s.dir.path().join("never.bin");
    std::fs::write(&target, b"precious").unwrap();
    let mut watch = Watch::default();
    let started = Instant::now();
    let error = download(&s, "flaky/500/1000/forever/100", &target, &mut watch).unwrap_err();
    assert_eq!(error.attempts(), 5, "{error}");
    assert_eq!(error.http_status(), Some(500));
    assert!(
        error.to_string().contains("gave up after 5 attempts"),
        "{error}"
    );
    assert_eq!(std::fs::read(&target).unwrap(), b"precious");
    no_partial(s.dir.path());
    record_row(
        "HTTP 500 forever",
        "clear error (500) after the budget",
        error.attempts(),
        "4 more GETs",
        "none written; the old file kept",
        started.elapsed().as_secs_f64(),
    );
}

#[test]
fn a_stall_in_the_middle_is_retried_after_the_stall_timeout() {
    let s = setup();
    s.client
        .update_config(|c| c.stall_timeout = Duration::from_secs(1))
        .unwrap();
    let target = s.dir.path().join("stalled.bin");
    let mut watch = Watch::default();
    let started = Instant::now();
    download(&s, "stall-once/a/300000", &target, &mut watch).unwrap();
    assert_eq!(std::fs::read(&target).unwrap(), pattern(300_000));
    assert_eq!(watch.attempts, 2);
    assert!(
        watch.retries[0].contains("nothing moved for 1 s"),
        "{:?}",
        watch.retries
    );
    let ranged: Vec<String> = s
        .proxy
        .requests()
        .into_iter()
        .filter(|r| r.contains("Range:"))
        .collect();
    assert_eq!(ranged.len(), 1, "{:?}", s.proxy.requests());
    record_row(
        "a stall in the middle (stall timeout 1 s)",
        "resumed after the stall timeout",
        watch.attempts,
        &format!("`{}`", ranged[0].split(" Range: ").nth(1).unwrap_or("")),
        "the second half",
        started.elapsed().as_secs_f64(),
    );
}

#[test]
fn an_upload_dropped_midway_is_sent_again_when_repeatable() {
    let s = setup();
    let file = s.dir.path().join("scene.blend");
    std::fs::write(&file, pattern(3_000_000)).unwrap();
    s.proxy.arm(Fault::Reset(Direction::Up, 1_000_000));
    let started = Instant::now();
    // A working file's bytes: Zou overwrites them, so the upload is repeatable.
    let answer = kitsu::api::files::blocking::upload_working_file(
        &s.client,
        "0e5ad4bd-0000-4000-8000-00000000abcd",
        &file,
        TransferOptions::default(),
    );
    // The fake server has no working-file route: what matters is what was sent.
    let error = answer.unwrap_err();
    assert_eq!(error.http_status(), Some(404), "{error}");
    let posts = s
        .proxy
        .requests()
        .iter()
        .filter(|r| r.starts_with("POST"))
        .count();
    assert_eq!(posts, 2, "{:?}", s.proxy.requests());
    record_row(
        "upload of repeatable bytes dropped at 1 MB of 3 MB",
        "sent again whole",
        2,
        "the same POST",
        "3000000 sent again",
        started.elapsed().as_secs_f64(),
    );
}

#[test]
fn a_comment_whose_connection_broke_is_never_sent_twice() {
    let s = setup();
    // The request reaches the server; the connection breaks as the answer starts.
    s.proxy.arm(Fault::Reset(Direction::Down, 1));
    let started = Instant::now();
    let error = kitsu::api::task::blocking::add_comment(
        &s.client,
        "0e5ad4bd-0000-4000-8000-00000000a001",
        "0e5ad4bd-0000-4000-8000-00000000b001",
        &[],
        &kitsu::api::Options::default(),
        TransferOptions::default(),
    )
    .unwrap_err();
    assert!(matches!(error.root(), Error::Network { .. }), "{error:?}");
    assert_eq!(error.attempts(), 1);
    let comments = s
        .server
        .state
        .lock()
        .unwrap()
        .requests
        .iter()
        .filter(|r| r.ends_with("/comment"))
        .count();
    assert_eq!(comments, 1);
    record_row(
        "comment POST, connection broken before the answer",
        "error, not repeated (the server may have acted)",
        1,
        "nothing",
        "-",
        started.elapsed().as_secs_f64(),
    );
}

#[test]
fn an_expired_token_during_concurrent_uploads_is_refreshed_once() {
    let s = setup();
    s.client
        .set_tokens(Some(common::EXPIRED_TOKEN), Some(common::REFRESH_TOKEN));
    let started = Instant::now();
    let client = std::sync::Arc::new(s.client);
    let files: Vec<_> = (0..4)
        .map(|i| {
            let path = s.dir.path().join(format!("up{i}.bin"));
            std::fs::write(&path, pattern(200_000)).unwrap();
            path
        })
        .collect();
    let threads: Vec<_> = files
        .into_iter()
        .map(|file| {
            let client = client.clone();
            std::thread::spawn(move || {
                raw::upload(
                    &client,
                    "upload/echo",
                    &[file],
                    &[],
                    TransferOptions::default(),
                )
            })
        })
        .collect();
    for thread in threads {
        thread.join().unwrap().unwrap();
    }
    assert_eq!(s.server.refresh_calls(), 1);
    let accepted = s
        .server
        .state
        .lock()
        .unwrap()
        .requests
        .iter()
        .filter(|r| r.as_str() == "POST /api/upload/echo")
        .count();
    // Each upload: once refused with the expired token, once accepted.
    assert_eq!(accepted, 8);
    record_row(
        "expired token during 4 concurrent uploads",
        "one refresh, each upload stored once",
        1,
        "each upload replayed once after the refresh",
        "4 × 200000",
        started.elapsed().as_secs_f64(),
    );
}

#[test]
fn a_cancelled_resumable_download_continues_in_the_next_call() {
    let s = setup();
    let len = 2_000_000u64;
    let route = format!("files/ranged/{len}");
    let target = s.dir.path().join("resumed.mov");
    // The first call stops at about 40% (the proxy stalls the body there; the
    // progress callback cancels once it has seen 40%).
    s.proxy.arm(Fault::Stall(
        Direction::Down,
        len * 40 / 100,
        Duration::from_secs(3),
    ));
    let token = kitsu::CancelToken::new();
    let cancel = token.clone();
    let mut progress = move |done: u64, _total: u64| {
        if done >= len * 39 / 100 {
            cancel.cancel();
        }
        true
    };
    let error = raw::download(
        &s.client,
        &route,
        &target,
        TransferOptions {
            progress: Some(&mut progress),
            cancel: Some(token),
            resume: true,
            ..TransferOptions::default()
        },
    )
    .unwrap_err();
    assert!(matches!(error, Error::Cancelled), "{error:?}");
    assert!(!target.exists());
    let partial = s.dir.path().join(".resumed.mov.kitsu-partial");
    let kept = std::fs::metadata(&partial).unwrap().len();
    assert!(kept > 0 && kept <= len * 40 / 100, "{kept}");
    s.proxy.clear_requests();
    let started = Instant::now();
    let count = raw::download(
        &s.client,
        &route,
        &target,
        TransferOptions {
            resume: true,
            ..TransferOptions::default()
        },
    )
    .unwrap();
    assert_eq!(count, len);
    assert_eq!(std::fs::read(&target).unwrap(), pattern(len as usize));
    let requests = s.proxy.requests();
    assert_eq!(requests.len(), 1, "{requests:?}");
    // Asked from a little before what is held: the overlap proves the prefix.
    let from = kept.saturating_sub(16 * 1024);
    assert!(
        requests[0].ends_with(&format!("Range: bytes={from}-")),
        "{requests:?}"
    );
    no_partial(s.dir.path());
    // A stale partial (another route) is dropped, not appended.
    std::fs::write(&partial, b"stale").unwrap();
    std::fs::write(
        s.dir.path().join(".resumed.mov.kitsu-partial.json"),
        br#"{"route":"files/ranged/99","validator":null,"total":99}"#,
    )
    .unwrap();
    raw::download(
        &s.client,
        &route,
        &target,
        TransferOptions {
            resume: true,
            ..TransferOptions::default()
        },
    )
    .unwrap();
    assert_eq!(std::fs::read(&target).unwrap(), pattern(len as usize));
    no_partial(s.dir.path());
    record_row(
        "download cancelled at 40% with `resume`, then called again",
        "continued, identical",
        1,
        &format!("`Range: bytes={from}-` in the second call (16 KiB overlap checked)"),
        &format!("{} of {len} in the second call", len - from),
        started.elapsed().as_secs_f64(),
    );
}

#[test]
fn an_answer_closed_after_its_headers_is_fetched_again() {
    let s = setup();
    s.proxy.arm(Fault::CloseAfterHeaders);
    let target = s.dir.path().join("headers-only.bin");
    let mut watch = Watch::default();
    let started = Instant::now();
    download(&s, "files/ranged/300000", &target, &mut watch).unwrap();
    assert_eq!(s.proxy.fired(), 1);
    assert_eq!(std::fs::read(&target).unwrap(), pattern(300_000));
    assert_eq!(watch.attempts, 2);
    no_partial(s.dir.path());
    record_row(
        "connection closed right after the answer's headers",
        "fetched again, identical",
        watch.attempts,
        "the same GET (no byte held: no Range)",
        "300000, once",
        started.elapsed().as_secs_f64(),
    );
}

#[test]
fn a_slow_link_with_latency_still_delivers_with_progress() {
    let s = setup();
    // 50 ms per piece and at most 1 MB/s on the connection that carries the body.
    s.proxy
        .arm(Fault::Delay(Direction::Down, Duration::from_millis(50)));
    s.proxy.arm(Fault::RateLimit(Direction::Down, 1_000_000));
    let target = s.dir.path().join("slow.bin");
    let mut watch = Watch::default();
    let started = Instant::now();
    download(&s, "files/ranged/1000000", &target, &mut watch).unwrap();
    let elapsed = started.elapsed();
    assert!(
        elapsed >= Duration::from_millis(900),
        "not shaped: {elapsed:?}"
    );
    assert_eq!(std::fs::read(&target).unwrap(), pattern(1_000_000));
    assert_eq!(watch.attempts, 1);
    assert!(
        watch.calls.len() >= 5,
        "{} progress calls",
        watch.calls.len()
    );
    assert_monotonic(&watch.calls);
    record_row(
        "a shaped link: 50 ms per piece, 1 MB/s",
        "delivered, progress throughout",
        1,
        "nothing",
        "1000000, once",
        elapsed.as_secs_f64(),
    );
}

#[test]
fn a_preview_upload_whose_answer_was_lost_is_not_sent_twice() {
    let s = setup();
    let file = s.dir.path().join("frame.png");
    std::fs::write(&file, pattern(500_000)).unwrap();
    // The file reaches the server; the connection breaks as the answer starts.
    s.proxy.arm(Fault::Reset(Direction::Down, 1));
    let mut calls = Vec::new();
    let mut progress = |done: u64, total: u64| {
        calls.push((done, total));
        true
    };
    let started = Instant::now();
    let answer = kitsu::api::task::blocking::upload_preview_file(
        &s.client,
        "0e5ad4bd-0000-4000-8000-00000000f00d",
        &file,
        &kitsu::api::Options::default(),
        TransferOptions::with_progress(&mut progress),
    )
    .unwrap();
    assert!(answer.contains("\"file_size\":1234"), "{answer}");
    let requests = s.proxy.requests();
    let posts = requests.iter().filter(|r| r.starts_with("POST")).count();
    let reads = requests
        .iter()
        .filter(|r| r.starts_with("GET /api/data/preview-files/"))
        .count();
    assert_eq!((posts, reads), (1, 1), "{requests:?}");
    assert_eq!(calls.last(), Some(&(500_000, 500_000)), "{calls:?}");
    assert_monotonic(&calls);
    record_row(
        "preview upload stored, its answer lost",
        "the record read, taken as done (Zou refuses a second upload)",
        2,
        "one GET of the record",
        "500000, once",
        started.elapsed().as_secs_f64(),
    );
}
