//! The Rust core against the in-process fake server.

mod common;

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

use common::{pattern, sha256_hex, FakeKitsu, EMAIL, EXPIRED_TOKEN, PASSWORD, REFRESH_TOKEN};
use kitsu::api::raw::blocking as raw;
use kitsu::{Client, Error, ProgressFn, TransferOptions};

/// The generic transfers with only a simple callback, as the tests use them.
trait Transfers {
    fn download(
        &self,
        path: &str,
        target: &Path,
        progress: Option<&mut ProgressFn<'_>>,
    ) -> kitsu::Result<u64>;
    fn get_bytes(
        &self,
        path: &str,
        progress: Option<&mut ProgressFn<'_>>,
    ) -> kitsu::Result<Vec<u8>>;
    fn upload(
        &self,
        path: &str,
        files: &[PathBuf],
        fields: &[(String, String)],
        progress: Option<&mut ProgressFn<'_>>,
    ) -> kitsu::Result<String>;
}

fn options<'a>(progress: Option<&'a mut ProgressFn<'_>>) -> TransferOptions<'a> {
    TransferOptions {
        progress: progress.map(|f| f as &mut ProgressFn),
        ..TransferOptions::default()
    }
}

impl Transfers for Client {
    fn download(
        &self,
        path: &str,
        target: &Path,
        progress: Option<&mut ProgressFn<'_>>,
    ) -> kitsu::Result<u64> {
        raw::download(self, path, target, options(progress))
    }
    fn get_bytes(
        &self,
        path: &str,
        progress: Option<&mut ProgressFn<'_>>,
    ) -> kitsu::Result<Vec<u8>> {
        raw::get_file_data_from_url(self, path, options(progress))
    }
    fn upload(
        &self,
        path: &str,
        files: &[PathBuf],
        fields: &[(String, String)],
        progress: Option<&mut ProgressFn<'_>>,
    ) -> kitsu::Result<String> {
        raw::upload(self, path, files, fields, options(progress))
    }
}

fn logged_in(server: &FakeKitsu) -> Client {
    let client = Client::new(&server.base).unwrap();
    client.log_in(EMAIL, PASSWORD).unwrap();
    client
}

/// A logged-in client that tries once: for the tests of how one failure is
/// reported (retries have their own tests).
fn logged_in_once(server: &FakeKitsu) -> Client {
    let client = logged_in(server);
    client.update_config(|c| c.retry.max_attempts = 1).unwrap();
    client
}

/// Records every progress call, and the thread it came on.
#[derive(Default)]
struct Recorder {
    calls: Vec<(u64, u64)>,
    threads: Vec<std::thread::ThreadId>,
}

impl Recorder {
    fn callback(&mut self) -> impl FnMut(u64, u64) -> bool + '_ {
        |done, total| {
            self.calls.push((done, total));
            self.threads.push(std::thread::current().id());
            true
        }
    }

    fn assert_contract(&self, expected_total: u64, expected_done: u64) {
        assert!(!self.calls.is_empty(), "no progress call");
        assert_eq!(
            self.calls[0],
            (0, expected_total),
            "first call: {:?}",
            self.calls
        );
        assert_eq!(
            *self.calls.last().unwrap(),
            (expected_done, expected_total),
            "last call: {:?}",
            self.calls
        );
        for pair in self.calls.windows(2) {
            assert!(pair[1].0 >= pair[0].0, "decreasing: {:?}", self.calls);
        }
        for &(done, total) in &self.calls {
            assert_eq!(total, expected_total, "total changed: {:?}", self.calls);
            if total > 0 {
                assert!(done <= total, "above total: {:?}", self.calls);
            }
        }
        let me = std::thread::current().id();
        assert!(
            self.threads.iter().all(|t| *t == me),
            "callback ran on another thread"
        );
    }
}

fn folder_entries(folder: &Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(folder)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    names
}

#[test]
fn log_in_keeps_tokens_and_wrong_password_is_auth_failed() {
    let server = FakeKitsu::start();
    let client = Client::new(&server.base).unwrap();
    let answer = client.log_in(EMAIL, PASSWORD).unwrap();
    assert!(answer.contains("\"login\":true"));
    let (access, refresh) = client.tokens();
    assert!(access.unwrap().starts_with("access-"));
    assert_eq!(refresh.as_deref(), Some(REFRESH_TOKEN));

    let other = Client::new(&server.base).unwrap();
    let error = other.log_in(EMAIL, "wrong").unwrap_err();
    assert!(
        matches!(error, Error::AuthFailed { status: 400, .. }),
        "{error:?}"
    );
    assert!(error.to_string().contains("Wrong email or password."));
    assert_eq!(other.tokens().0, None);
}

#[test]
fn log_out_forgets_tokens() {
    let server = FakeKitsu::start();
    let client = logged_in(&server);
    client.log_out().unwrap();
    assert_eq!(client.tokens(), (None, None));
    let error = client.get("data/projects").unwrap_err();
    assert_eq!(error.http_status(), Some(401));
}

#[test]
fn download_with_content_length_keeps_the_progress_contract() {
    let server = FakeKitsu::start();
    let client = logged_in(&server);
    let dir = tempfile::tempdir().unwrap();
    let target = dir.path().join("out.bin");
    let mut recorder = Recorder::default();
    let count = client
        .download("files/slow/300000", &target, Some(&mut recorder.callback()))
        .unwrap();
    assert_eq!(count, 300_000);
    assert_eq!(std::fs::read(&target).unwrap(), pattern(300_000));
    recorder.assert_contract(300_000, 300_000);
    // Throttled, but called while bytes flowed (the body takes ~1.5 s).
    assert!(recorder.calls.len() >= 4, "{:?}", recorder.calls);
    assert!(recorder.calls.len() <= 25, "{:?}", recorder.calls);
    assert_eq!(folder_entries(dir.path()), ["out.bin"]);
}

#[test]
fn chunked_download_reports_total_zero() {
    let server = FakeKitsu::start();
    let client = logged_in(&server);
    let dir = tempfile::tempdir().unwrap();
    let target = dir.path().join("chunked.bin");
    let mut recorder = Recorder::default();
    client
        .download(
            "files/chunked/100000",
            &target,
            Some(&mut recorder.callback()),
        )
        .unwrap();
    assert_eq!(std::fs::read(&target).unwrap(), pattern(100_000));
    recorder.assert_contract(0, 100_000);
}

#[test]
fn dropped_connection_leaves_no_file_and_keeps_the_old_one() {
    let server = FakeKitsu::start();
    let client = logged_in_once(&server);
    let dir = tempfile::tempdir().unwrap();
    let fresh = dir.path().join("fresh.bin");
    let error = client
        .download("files/drop/200000", &fresh, None)
        .unwrap_err();
    assert!(
        matches!(
            error,
            Error::IncompleteBody {
                expected: 200_000,
                ..
            }
        ),
        "{error:?}"
    );
    assert!(!fresh.exists());

    let existing = dir.path().join("existing.bin");
    std::fs::write(&existing, b"precious").unwrap();
    client
        .download("files/drop/200000", &existing, None)
        .unwrap_err();
    assert_eq!(std::fs::read(&existing).unwrap(), b"precious");
    assert_eq!(folder_entries(dir.path()), ["existing.bin"]);
}

#[test]
fn stalled_body_fails_after_the_stall_timeout() {
    let server = FakeKitsu::start();
    let client = logged_in_once(&server);
    client
        .update_config(|c| c.stall_timeout = Duration::from_secs(1))
        .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let target = dir.path().join("stall.bin");
    let mut recorder = Recorder::default();
    let started = Instant::now();
    let error = client
        .download(
            "files/stall/100000",
            &target,
            Some(&mut recorder.callback()),
        )
        .unwrap_err();
    assert!(matches!(error, Error::Stalled { secs: 1, .. }), "{error:?}");
    assert!(started.elapsed() < Duration::from_secs(8));
    assert!(folder_entries(dir.path()).is_empty());
}

#[test]
fn a_stalled_body_still_gets_about_one_call_a_second() {
    // The repeated call lets a UI cancel while nothing moves.
    let server = FakeKitsu::start();
    let client = logged_in_once(&server);
    client
        .update_config(|c| c.stall_timeout = Duration::from_secs(4))
        .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let mut recorder = Recorder::default();
    let started = Instant::now();
    let error = client
        .download(
            "files/stall/100000",
            &dir.path().join("x.bin"),
            Some(&mut recorder.callback()),
        )
        .unwrap_err();
    assert!(matches!(error, Error::Stalled { secs: 4, .. }), "{error:?}");
    let half = (50_000, 100_000);
    let repeats = recorder.calls.iter().filter(|&&c| c == half).count();
    // About 4 s of stall: the first report of the half, then a heartbeat a second.
    assert!(
        (3..=6).contains(&repeats),
        "{repeats} calls at {half:?}: {:?}",
        recorder.calls
    );
    assert!(started.elapsed() < Duration::from_secs(10));
}

#[test]
fn processing_202_is_waited_out_then_downloaded() {
    let server = FakeKitsu::start();
    let client = logged_in(&server);
    let dir = tempfile::tempdir().unwrap();
    let target = dir.path().join("preview.png");
    let started = Instant::now();
    client
        .download("files/processing/a/2", &target, None)
        .unwrap();
    // Two 202s with Retry-After: 1 were honoured.
    assert!(started.elapsed() >= Duration::from_secs(2));
    assert_eq!(std::fs::read(&target).unwrap(), pattern(4096));
}

#[test]
fn processing_past_the_deadline_is_a_processing_timeout() {
    let server = FakeKitsu::start();
    let client = logged_in(&server);
    client
        .update_config(|c| c.processing_timeout = Duration::from_secs(1))
        .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let target = dir.path().join("preview.png");
    let error = client
        .download("files/processing/b/50", &target, None)
        .unwrap_err();
    assert!(
        matches!(error, Error::ProcessingTimeout { .. }),
        "{error:?}"
    );
    assert!(!target.exists());
}

#[test]
fn error_statuses_are_typed_and_never_written() {
    let server = FakeKitsu::start();
    let client = logged_in_once(&server);
    let dir = tempfile::tempdir().unwrap();
    let target = dir.path().join("thumb.png");
    for code in [400u16, 403, 404, 405, 413, 422, 429, 500, 502, 503, 504] {
        let error = client
            .download(&format!("status/{code}"), &target, None)
            .unwrap_err();
        assert_eq!(error.http_status(), Some(code), "{error:?}");
        assert!(
            error.to_string().contains(&format!("fake {code} message")),
            "{error}"
        );
        if let Error::Http { retry_after, .. } = &error {
            assert_eq!(*retry_after, Some(5));
        }
        assert!(!target.exists(), "{code} written to the target");
    }
    assert!(folder_entries(dir.path()).is_empty());
}

#[test]
fn expired_token_is_refreshed_once_and_the_download_replayed() {
    let server = FakeKitsu::start();
    let client = Client::new(&server.base).unwrap();
    client.set_tokens(Some(EXPIRED_TOKEN), Some(REFRESH_TOKEN));
    let dir = tempfile::tempdir().unwrap();
    let target = dir.path().join("a.bin");
    client.download("files/fixed/1000", &target, None).unwrap();
    assert_eq!(std::fs::read(&target).unwrap(), pattern(1000));
    assert_eq!(server.refresh_calls(), 1);
    assert_ne!(client.tokens().0.as_deref(), Some(EXPIRED_TOKEN));
}

#[test]
fn concurrent_transfers_share_one_refresh() {
    let server = FakeKitsu::start();
    let client = Arc::new(Client::new(&server.base).unwrap());
    client.set_tokens(Some(EXPIRED_TOKEN), Some(REFRESH_TOKEN));
    let dir = tempfile::tempdir().unwrap();
    let handles: Vec<_> = (0..4)
        .map(|i| {
            let client = client.clone();
            let target = dir.path().join(format!("{i}.bin"));
            std::thread::spawn(move || client.download("files/fixed/5000", &target, None))
        })
        .collect();
    for handle in handles {
        handle.join().unwrap().unwrap();
    }
    assert_eq!(server.refresh_calls(), 1);
}

#[test]
fn expired_token_without_refresh_token_is_unauthorized() {
    let server = FakeKitsu::start();
    let client = Client::new(&server.base).unwrap();
    client.set_tokens(Some(EXPIRED_TOKEN), None);
    let error = client.get("data/projects").unwrap_err();
    assert_eq!(error.http_status(), Some(401));
    assert!(error.to_string().contains("Signature has expired"));
}

fn write_file(dir: &Path, name: &str, len: usize) -> PathBuf {
    let path = dir.join(name);
    std::fs::write(&path, pattern(len)).unwrap();
    path
}

#[test]
fn multipart_upload_follows_gazu_and_reports_real_progress() {
    let server = FakeKitsu::start();
    let client = logged_in(&server);
    let dir = tempfile::tempdir().unwrap();
    let a = write_file(dir.path(), "plate v001.exr", 3_000_000);
    let b = write_file(dir.path(), "notes.txt", 1234);
    let fields = vec![
        ("task_status_id".to_string(), "s1".to_string()),
        ("comment".to_string(), "hello".to_string()),
    ];
    let mut recorder = Recorder::default();
    let answer = client
        .upload(
            "upload/echo",
            &[a, b],
            &fields,
            Some(&mut recorder.callback()),
        )
        .unwrap();
    let echo: serde_json::Value = serde_json::from_str(&answer).unwrap();
    let parts = echo["parts"].as_array().unwrap();
    let names: Vec<&str> = parts.iter().map(|p| p["name"].as_str().unwrap()).collect();
    assert_eq!(names, ["task_status_id", "comment", "file", "file-1"]);
    assert_eq!(parts[1]["value"], "hello");
    assert_eq!(parts[2]["filename"], "plate v001.exr");
    assert_eq!(parts[2]["size"], 3_000_000);
    assert_eq!(parts[2]["sha256"], sha256_hex(&pattern(3_000_000)));
    assert_eq!(parts[2]["content_type"], serde_json::Value::Null);
    assert_eq!(parts[3]["sha256"], sha256_hex(&pattern(1234)));
    assert_eq!(
        parts[3]["content_type"], "text/plain",
        "well-known extensions are typed"
    );
    assert!(echo["closed"].as_bool().unwrap());
    // A real Content-Length, not chunked, and it matches the body.
    assert_eq!(echo["content_length"], echo["body_size"].to_string());
    assert_eq!(echo["transfer_encoding"], "");
    recorder.assert_contract(3_001_234, 3_001_234);
}

#[test]
fn upload_replayed_after_refresh_sends_whole_files_and_progress_stays_in_bounds() {
    let server = FakeKitsu::start();
    let client = Client::new(&server.base).unwrap();
    client.set_tokens(Some(EXPIRED_TOKEN), Some(REFRESH_TOKEN));
    let dir = tempfile::tempdir().unwrap();
    let a = write_file(dir.path(), "a.bin", 2_000_000);
    let mut recorder = Recorder::default();
    let answer = client
        .upload("upload/echo", &[a], &[], Some(&mut recorder.callback()))
        .unwrap();
    let echo: serde_json::Value = serde_json::from_str(&answer).unwrap();
    assert_eq!(echo["parts"][0]["size"], 2_000_000);
    assert_eq!(echo["parts"][0]["sha256"], sha256_hex(&pattern(2_000_000)));
    assert_eq!(server.refresh_calls(), 1);
    recorder.assert_contract(2_000_000, 2_000_000);
}

#[test]
fn upload_answer_with_a_message_is_upload_failed() {
    let server = FakeKitsu::start();
    let client = logged_in(&server);
    let dir = tempfile::tempdir().unwrap();
    let a = write_file(dir.path(), "a.png", 10);
    let error = client
        .upload("upload/failed", std::slice::from_ref(&a), &[], None)
        .unwrap_err();
    assert!(matches!(error, Error::UploadFailed { .. }), "{error:?}");
    assert!(error.to_string().contains("the server refused this file"));
    let error = client
        .upload("upload/status/413", &[a], &[], None)
        .unwrap_err();
    assert_eq!(error.http_status(), Some(413));
}

#[test]
fn missing_upload_file_fails_before_any_request() {
    let server = FakeKitsu::start();
    let client = logged_in(&server);
    let before = server.state.lock().unwrap().requests.len();
    let error = client
        .upload(
            "upload/echo",
            &[PathBuf::from("/nonexistent/x.png")],
            &[],
            None,
        )
        .unwrap_err();
    assert!(matches!(error, Error::FileNotFound { .. }), "{error:?}");
    assert_eq!(server.state.lock().unwrap().requests.len(), before);
}

#[test]
fn abort_from_the_callback_leaves_nothing() {
    let server = FakeKitsu::start();
    let client = logged_in(&server);
    let dir = tempfile::tempdir().unwrap();
    let target = dir.path().join("keep.bin");
    std::fs::write(&target, b"old").unwrap();
    let mut calls = 0;
    let mut stop_after_first_bytes = |done: u64, _total: u64| {
        calls += 1;
        done == 0
    };
    let error = client
        .download(
            "files/slow/300000",
            &target,
            Some(&mut stop_after_first_bytes),
        )
        .unwrap_err();
    assert!(matches!(error, Error::AbortedByCallback));
    assert_eq!(std::fs::read(&target).unwrap(), b"old");
    assert_eq!(folder_entries(dir.path()), ["keep.bin"]);

    // Upload aborted at the first call: nothing reaches the server.
    let a = write_file(dir.path(), "up.bin", 1000);
    let mut stop = |_: u64, _: u64| false;
    let error = client
        .upload("upload/echo", &[a], &[], Some(&mut stop))
        .unwrap_err();
    assert!(matches!(error, Error::AbortedByCallback));
}

#[test]
fn calling_back_into_the_library_from_a_callback_is_refused() {
    let server = FakeKitsu::start();
    let client = logged_in(&server);
    let mut inner_result = None;
    let mut reenter = |_: u64, _: u64| {
        if inner_result.is_none() {
            inner_result = Some(client.get("data/projects"));
        }
        true
    };
    client
        .get_bytes("files/fixed/100", Some(&mut reenter))
        .unwrap();
    assert!(matches!(inner_result, Some(Err(Error::ReentrantCall))));
}

#[test]
fn bytes_and_json_calls() {
    let server = FakeKitsu::start();
    let client = logged_in(&server);
    assert_eq!(
        client.get_bytes("files/fixed/777", None).unwrap(),
        pattern(777)
    );
    assert_eq!(
        client.get_bytes("files/chunked/777", None).unwrap(),
        pattern(777)
    );
    assert!(client.get("data/projects").unwrap().contains("Demo"));
    let posted = client.post("data/echo", Some(r#"{"a":1}"#)).unwrap();
    assert!(posted.contains(r#""method":"POST""#) && posted.contains(r#""a":1"#));
    assert!(client.put("data/echo", None).unwrap().contains("PUT"));
    assert!(client.delete("data/echo").unwrap().contains("DELETE"));
    let error = client.post("data/echo", Some("{not json")).unwrap_err();
    assert!(matches!(error, Error::InvalidParameter(_)));
    let error = client.get("data/nothing-here").unwrap_err();
    assert_eq!(error.http_status(), Some(404));
}

#[test]
fn bad_hosts_settings_and_unreachable_servers() {
    assert!(matches!(
        Client::new("not a url"),
        Err(Error::InvalidParameter(_))
    ));
    assert!(matches!(
        Client::new("ftp://host/api"),
        Err(Error::InvalidParameter(_))
    ));
    let client = Client::new("http://127.0.0.1:9/api").unwrap();
    client
        .update_config(|c| {
            c.retry.initial_delay = Duration::from_millis(10);
            c.retry.max_attempts = 3;
        })
        .unwrap();
    // Nothing listens there: the request never reached a server, so even a
    // POST is tried again; then the connect error, with the attempts.
    let error = client.post("data/projects", None).unwrap_err();
    assert!(matches!(error.root(), Error::Connect { .. }), "{error:?}");
    assert_eq!(error.attempts(), 3, "{error}");
    assert!(error.to_string().contains("after 3 attempts"), "{error}");

    let error = client
        .update_config(|c| c.ca_bundle = Some(PathBuf::from("/nonexistent/ca.pem")))
        .unwrap_err();
    assert!(matches!(error, Error::FileNotFound { .. }));
    let dir = tempfile::tempdir().unwrap();
    let garbage = write_file(dir.path(), "ca.pem", 100);
    let error = client
        .update_config(|c| c.ca_bundle = Some(garbage))
        .unwrap_err();
    assert!(matches!(error, Error::InvalidParameter(_)), "{error:?}");
    // A failed change leaves the old settings in place.
    assert_eq!(client.config().ca_bundle, None);
    // A zero stall timeout would fail every transfer: refused, here as from C.
    let error = client
        .update_config(|c| c.stall_timeout = Duration::ZERO)
        .unwrap_err();
    assert!(matches!(error, Error::InvalidParameter(_)), "{error:?}");
    assert_eq!(client.config().stall_timeout, Duration::from_secs(60));
}

#[test]
fn download_target_checks_happen_before_any_request() {
    let server = FakeKitsu::start();
    let client = logged_in(&server);
    let dir = tempfile::tempdir().unwrap();
    let error = client
        .download("files/fixed/10", dir.path(), None)
        .unwrap_err();
    assert!(matches!(error, Error::InvalidParameter(_)), "{error:?}");
    let error = client
        .download("files/fixed/10", &dir.path().join("missing/x.bin"), None)
        .unwrap_err();
    assert!(matches!(error, Error::FileNotFound { .. }), "{error:?}");
}

/// Events through the Rust API: a fast upload still reports every phase,
/// and a download answered 202 shows the wait.
#[test]
fn events_report_every_phase_of_fast_and_waiting_transfers() {
    use kitsu::{Event, Operation, Phase};
    let server = FakeKitsu::start();
    let client = logged_in(&server);
    let dir = tempfile::tempdir().unwrap();
    let file = write_file(dir.path(), "small.bin", 50_000);
    let mut seen: Vec<(Phase, Operation, u64, u64)> = Vec::new();
    let mut on_event = |event: &Event<'_>| {
        seen.push((event.phase, event.operation, event.bytes_done, event.total));
        true
    };
    raw::upload(
        &client,
        "upload/echo",
        std::slice::from_ref(&file),
        &[],
        TransferOptions {
            on_event: Some(&mut on_event),
            ..TransferOptions::default()
        },
    )
    .unwrap();
    let phases = |seen: &[(Phase, Operation, u64, u64)]| {
        let mut phases: Vec<Phase> = seen.iter().map(|s| s.0).collect();
        phases.dedup();
        phases
    };
    assert_eq!(
        phases(&seen),
        [Phase::Connecting, Phase::Transferring, Phase::Done],
        "{seen:?}"
    );
    assert!(seen
        .iter()
        .all(|s| s.1 == Operation::Upload && s.3 == 50_000));
    assert_eq!(seen.last().unwrap().2, 50_000);

    seen.clear();
    let mut on_event = |event: &Event<'_>| {
        seen.push((event.phase, event.operation, event.bytes_done, event.total));
        true
    };
    raw::download(
        &client,
        "files/processing/rust-events/1",
        &dir.path().join("waited.png"),
        TransferOptions {
            on_event: Some(&mut on_event),
            ..TransferOptions::default()
        },
    )
    .unwrap();
    assert_eq!(
        phases(&seen),
        [
            Phase::Connecting,
            Phase::Waiting,
            Phase::Transferring,
            Phase::Done
        ],
        "{seen:?}"
    );
}

/// What sits at a download's target, checked before any request: devices,
/// FIFOs and sockets are refused; a symlink is written through to the file
/// it points to; modes are kept or made from the umask; long names work.
#[test]
fn download_targets_are_checked_before_any_request() {
    use std::os::unix::fs::{symlink, PermissionsExt};
    let server = FakeKitsu::start();
    let client = logged_in_once(&server);
    let dir = tempfile::tempdir().unwrap();
    let requests = || server.state.lock().unwrap().requests.len();

    let fifo = dir.path().join("fifo");
    assert!(std::process::Command::new("mkfifo")
        .arg(&fifo)
        .status()
        .unwrap()
        .success());
    let socket = dir.path().join("socket");
    let _listener = std::os::unix::net::UnixListener::bind(&socket).unwrap();
    let link_to_fifo = dir.path().join("link-to-fifo");
    symlink(&fifo, &link_to_fifo).unwrap();
    let mut special = vec![fifo.clone(), socket.clone(), link_to_fifo];
    // A character device of our own (as /dev/null), where we may make one.
    let device = dir.path().join("device");
    if std::process::Command::new("mknod")
        .arg(&device)
        .args(["c", "1", "3"])
        .status()
        .is_ok_and(|s| s.success())
    {
        special.push(device);
    }
    let before = requests();
    for target in &special {
        let error = client
            .download("files/fixed/100", target, None)
            .unwrap_err();
        assert!(
            matches!(error, Error::NotARegularFile { .. }),
            "{}: {error:?}",
            target.display()
        );
    }
    assert_eq!(requests(), before, "a refused target cost a request");
    assert!(std::fs::symlink_metadata(&fifo)
        .unwrap()
        .file_type()
        .is_fifo_like());

    // A symlink to a regular file: the file is replaced, the link stays.
    let real = dir.path().join("real.bin");
    std::fs::write(&real, b"old").unwrap();
    std::fs::set_permissions(&real, std::fs::Permissions::from_mode(0o640)).unwrap();
    let link = dir.path().join("link.bin");
    symlink("real.bin", &link).unwrap();
    client.download("files/fixed/100", &link, None).unwrap();
    assert!(std::fs::symlink_metadata(&link)
        .unwrap()
        .file_type()
        .is_symlink());
    assert_eq!(std::fs::read(&real).unwrap(), pattern(100));
    // The replaced file keeps its mode; a new one gets 0666 & ~umask (022 here).
    let mode = |p: &Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode(&real), 0o640);
    let fresh = dir.path().join("fresh.bin");
    client.download("files/fixed/100", &fresh, None).unwrap();
    assert_eq!(
        mode(&fresh) & 0o044,
        0o044,
        "others cannot read: {:o}",
        mode(&fresh)
    );
    // A dangling symlink: the file is made where it points.
    let dangling = dir.path().join("dangling");
    symlink("made-through-link.bin", &dangling).unwrap();
    client.download("files/fixed/10", &dangling, None).unwrap();
    assert_eq!(
        std::fs::read(dir.path().join("made-through-link.bin")).unwrap(),
        pattern(10)
    );

    // A name of 250 bytes: the temporary name is shortened, not the target's.
    let long = dir.path().join("n".repeat(250));
    client.download("files/fixed/100", &long, None).unwrap();
    assert_eq!(std::fs::read(&long).unwrap(), pattern(100));
    assert!(
        folder_entries(dir.path())
            .iter()
            .all(|n| !n.ends_with(".part")),
        "{:?}",
        folder_entries(dir.path())
    );
}

trait FifoLike {
    fn is_fifo_like(&self) -> bool;
}
impl FifoLike for std::fs::FileType {
    fn is_fifo_like(&self) -> bool {
        use std::os::unix::fs::FileTypeExt;
        self.is_fifo()
    }
}

/// Local failures are local: a file that shrinks while it is sent, a
/// /proc file that says 0 bytes, a chunked body cut short; answers held in
/// memory have a cap.
#[test]
fn local_failures_and_caps_have_their_own_codes() {
    let server = FakeKitsu::start();
    let client = logged_in_once(&server);
    let dir = tempfile::tempdir().unwrap();

    let shrinking = write_file(dir.path(), "shrinking.bin", 30_000_000);
    let path = shrinking.clone();
    let shrink = std::thread::spawn(move || {
        std::thread::sleep(Duration::from_millis(300));
        std::fs::OpenOptions::new()
            .write(true)
            .open(&path)
            .unwrap()
            .set_len(1000)
            .unwrap();
    });
    let error = client
        .upload("upload/slow", &[shrinking], &[], None)
        .unwrap_err();
    shrink.join().unwrap();
    assert!(matches!(error.root(), Error::Io { .. }), "{error:?}");
    assert!(error.to_string().contains("shrank"), "{error}");

    let error = client
        .upload(
            "upload/echo",
            &[PathBuf::from("/proc/self/status")],
            &[],
            None,
        )
        .unwrap_err();
    assert!(
        matches!(&error, Error::InvalidParameter(m) if m.contains("size of 0")),
        "{error:?}"
    );

    let error = client
        .download(
            "files/chunked-cut/100000",
            &dir.path().join("cut.bin"),
            None,
        )
        .unwrap_err();
    assert!(
        matches!(error, Error::IncompleteBody { expected: 0, .. }),
        "{error:?}"
    );

    client
        .update_config(|c| c.max_memory_answer = 1000)
        .unwrap();
    assert!(matches!(
        client.get_bytes("files/fixed/5000", None).unwrap_err(),
        Error::AnswerTooLarge { cap: 1000, .. }
    ));
    assert!(matches!(
        client.get_bytes("files/chunked/5000", None).unwrap_err(),
        Error::AnswerTooLarge { .. }
    ));
    assert_eq!(
        client.get_bytes("files/fixed/1000", None).unwrap(),
        pattern(1000)
    );
    client.update_config(|c| c.max_memory_answer = 10).unwrap();
    assert!(matches!(
        client.get("data/projects").unwrap_err(),
        Error::AnswerTooLarge { .. }
    ));
}
