//! Integrity (issue 21): nothing written outside the target, never success
//! with wrong bytes, and progress that ends at the file's bytes. Against a
//! server of this file's own that lies on purpose: its file changes between
//! requests, it cuts every connection after a few bytes, it has no
//! validators, and it answers ranges as Zou does (206, 416 past the end).

use std::collections::HashMap;
use std::io::{BufRead, BufReader, Write};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use kitsu::api::raw::blocking as raw;
use kitsu::transfer::Receipt;
use kitsu::{Client, Error, TransferOptions};
use sha2::{Digest, Sha256};

/// The rows this file adds to the fault matrix (`.work/fault-matrix-integrity.md`,
/// printed by the test command; the README's reliability section).
static ROWS: Mutex<Vec<String>> = Mutex::new(Vec::new());

fn record_row(fault: &str, outcome: &str) {
    let mut rows = ROWS.lock().unwrap();
    rows.push(format!("| {fault} | {outcome} |"));
    rows.sort();
    let table = format!(
        "| fault (integrity, tests/integrity.rs) | outcome |\n|---|---|\n{}\n",
        rows.join("\n")
    );
    let work = Path::new(env!("CARGO_MANIFEST_DIR")).join(".work");
    let _ = std::fs::create_dir_all(&work);
    let _ = std::fs::write(work.join("fault-matrix-integrity.md"), table);
}

/// How the server answers `GET /api/files/<name>`.
#[derive(Clone, Default)]
struct Behaviour {
    /// Bytes of a body sent before the connection is closed (None: all).
    cut_after: Option<usize>,
    /// Honour `Range` (206 / 416); else always 200 with the whole file.
    ranges: bool,
    /// Answer bounded ranges (`bytes=a-b`) with 200 and the whole file,
    /// though `bytes=a-` gets its 206 (a server that half supports ranges).
    whole_for_bounded: bool,
    /// An ETag (else no validator at all, as Zou's cold movies).
    etag: Option<String>,
}

#[derive(Default)]
struct Files {
    /// Called before each request is answered (the model test's steps).
    before: Option<Box<dyn FnMut() + Send>>,
    content: HashMap<String, Vec<u8>>,
    /// The content of a file from its second request on (it changed).
    changed: HashMap<String, Vec<u8>>,
    behaviour: Behaviour,
    /// Requests seen, as "GET name Range".
    log: Vec<String>,
}

struct LyingServer {
    base: String,
    files: Arc<Mutex<Files>>,
}

impl LyingServer {
    fn start() -> LyingServer {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        let files = Arc::new(Mutex::new(Files::default()));
        let shared = files.clone();
        std::thread::spawn(move || {
            for stream in listener.incoming() {
                let Ok(stream) = stream else { continue };
                let files = shared.clone();
                std::thread::spawn(move || serve(stream, files));
            }
        });
        LyingServer {
            base: format!("http://127.0.0.1:{port}/api"),
            files,
        }
    }

    fn put(&self, name: &str, content: Vec<u8>) {
        self.files
            .lock()
            .unwrap()
            .content
            .insert(name.into(), content);
    }

    fn behave(&self, behaviour: Behaviour) {
        self.files.lock().unwrap().behaviour = behaviour;
    }

    fn log(&self) -> Vec<String> {
        self.files.lock().unwrap().log.clone()
    }

    fn client(&self) -> Client {
        let client = Client::new(&self.base).unwrap();
        client.set_tokens(Some("token"), None);
        client
            .update_config(|c| {
                c.retry.initial_delay = Duration::from_millis(10);
                c.retry.max_delay = Duration::from_millis(50);
            })
            .unwrap();
        client
    }
}

/// A lying server holding one file `name` (`len` bytes of `seed`), behaving
/// as told, its client, and a temporary folder with the target path in it.
fn one_file(
    name: &str,
    len: usize,
    seed: u8,
    behaviour: Behaviour,
) -> (LyingServer, Client, tempfile::TempDir, PathBuf) {
    let server = LyingServer::start();
    server.put(name, bytes(len, seed));
    server.behave(behaviour);
    let client = server.client();
    let dir = tempfile::tempdir().unwrap();
    let target = dir.path().join(name);
    (server, client, dir, target)
}

fn serve(stream: TcpStream, files: Arc<Mutex<Files>>) {
    let mut writer = stream.try_clone().unwrap();
    let mut reader = BufReader::new(stream);
    loop {
        let mut line = String::new();
        if reader.read_line(&mut line).unwrap_or(0) == 0 {
            return;
        }
        let target = line.split_whitespace().nth(1).unwrap_or("").to_string();
        let mut range = String::new();
        let mut if_range = None::<String>;
        loop {
            let mut header = String::new();
            if reader.read_line(&mut header).unwrap_or(0) == 0 {
                return;
            }
            let header = header.trim_end();
            if header.is_empty() {
                break;
            }
            if let Some((name, value)) = header.split_once(':') {
                if name.eq_ignore_ascii_case("range") {
                    range = value.trim().to_string();
                }
                if name.eq_ignore_ascii_case("if-range") {
                    if_range = Some(value.trim().to_string());
                }
            }
        }
        let name = target.trim_start_matches("/api/files/").to_string();
        let hook = files.lock().unwrap().before.take();
        if let Some(mut hook) = hook {
            hook();
            files.lock().unwrap().before = Some(hook);
        }
        let (content, behaviour) = {
            let mut files = files.lock().unwrap();
            files.log.push(format!("GET {name} {range}"));
            let served = (files.content.get(&name).cloned(), files.behaviour.clone());
            if let Some(next) = files.changed.remove(&name) {
                files.content.insert(name.clone(), next);
            }
            served
        };
        let Some(content) = content else {
            let body = b"{\"message\": \"not found\"}";
            let _ = write!(
                writer,
                "HTTP/1.1 404 Not Found\r\nContent-Length: {}\r\n\r\n",
                body.len()
            );
            let _ = writer.write_all(body);
            continue;
        };
        let len = content.len() as u64;
        let etag = behaviour
            .etag
            .as_ref()
            .map(|e| format!("ETag: {e}\r\n"))
            .unwrap_or_default();
        // If-Range that is not the current ETag: the whole file (RFC 9110).
        let stale = if_range.is_some() && if_range != behaviour.etag;
        let asked = range
            .strip_prefix("bytes=")
            .filter(|_| !stale)
            .and_then(|r| r.split_once('-'))
            .map(|(a, b)| (a.parse::<u64>().unwrap_or(0), b.parse::<u64>().ok()));
        let (status, start, end) = match asked {
            Some((_, Some(_))) if behaviour.whole_for_bounded => (200, 0, len),
            Some((a, b)) if behaviour.ranges => {
                if a >= len {
                    let _ = write!(
                        writer,
                        "HTTP/1.1 416 Range Not Satisfiable\r\nContent-Range: bytes */{len}\r\nContent-Length: 0\r\n\r\n"
                    );
                    continue;
                }
                (206, a, b.map_or(len, |b| (b + 1).min(len)))
            }
            _ => (200, 0, len),
        };
        let mut head = if status == 206 {
            format!(
                "HTTP/1.1 206 Partial Content\r\nContent-Range: bytes {start}-{}/{len}\r\n",
                end - 1
            )
        } else {
            "HTTP/1.1 200 OK\r\n".to_string()
        };
        head.push_str(&format!(
            "Content-Length: {}\r\nAccept-Ranges: bytes\r\n{etag}\r\n",
            end - start
        ));
        if writer.write_all(head.as_bytes()).is_err() {
            return;
        }
        let body = &content[start as usize..end as usize];
        match behaviour.cut_after {
            Some(cut) if cut < body.len() => {
                let _ = writer.write_all(&body[..cut]);
                let _ = writer.flush();
                std::thread::sleep(Duration::from_millis(5));
                let _ = writer.shutdown(std::net::Shutdown::Both);
                return;
            }
            _ => {
                if writer.write_all(body).is_err() {
                    return;
                }
            }
        }
    }
}

fn bytes(len: usize, seed: u8) -> Vec<u8> {
    (0..len)
        .map(|i| ((i * 31 + 7) as u8).wrapping_add(seed.wrapping_mul(101)))
        .collect()
}

fn partial(target: &Path) -> PathBuf {
    let name = target.file_name().unwrap().to_string_lossy();
    target.with_file_name(format!(".{name}.kitsu-partial"))
}

fn sidecar(target: &Path) -> PathBuf {
    let name = target.file_name().unwrap().to_string_lossy();
    target.with_file_name(format!(".{name}.kitsu-partial.json"))
}

fn resume_options<'a>() -> TransferOptions<'a> {
    TransferOptions {
        resume: true,
        ..TransferOptions::default()
    }
}

/// Only what the test made is in the folder (no temporary file left).
fn entries(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    names
}

/// Per request of one file: what to change before answering it.
#[derive(Clone, Debug)]
struct Step {
    /// Bytes sent before the connection is cut (None: the whole answer).
    cut: Option<usize>,
    /// Replace the file before this request: new bytes, and a new length
    /// when given (the same length is the hard case without validators).
    change: Option<Option<usize>>,
}

/// The model test of resumed downloads: random cuts, lengths, validators,
/// files that change between requests, with and without `resume` across
/// calls. Success means the bytes at the target are the server's file as
/// it was last served; progress only goes back to 0 (a restart) and ends
/// at (n, n); without `resume` nothing is left beside the target.
mod model {
    use super::*;
    use proptest::prelude::*;

    fn steps() -> impl Strategy<Value = Vec<Step>> {
        proptest::collection::vec(
            (
                proptest::option::weighted(0.8, 1usize..150_000),
                proptest::option::weighted(0.35, proptest::option::of(1usize..300_000)),
            )
                .prop_map(|(cut, change)| Step { cut, change }),
            0..6,
        )
    }

    proptest! {
        #![proptest_config(ProptestConfig { cases: 64, failure_persistence: None, ..ProptestConfig::default() })]
        #[test]
        fn resumed_downloads_are_right_or_fail(len in 1000usize..300_000, steps in steps(),
                                               validator in any::<bool>(), ranges in proptest::bool::weighted(0.8),
                                               resume in any::<bool>()) {
            let server = LyingServer::start();
            server.put("f", bytes(len, 1));
            server.behave(Behaviour {
                ranges,
                etag: validator.then(|| "\"v1\"".to_string()),
                ..Behaviour::default()
            });
            let files = server.files.clone();
            let plan = Arc::new(Mutex::new(steps.clone()));
            let version = Arc::new(Mutex::new(1u8));
            // Before each request: the next step's cut and change.
            let hook = {
                let (files, plan, version) = (files.clone(), plan.clone(), version.clone());
                move || {
                    let mut plan = plan.lock().unwrap();
                    let mut files = files.lock().unwrap();
                    if plan.is_empty() {
                        files.behaviour.cut_after = None;
                        return;
                    }
                    let step = plan.remove(0);
                    files.behaviour.cut_after = step.cut;
                    if let Some(new_len) = step.change {
                        let new_len = new_len.unwrap_or(files.content["f"].len());
                        let mut v = version.lock().unwrap();
                        *v += 1;
                        files.content.insert("f".into(), bytes(new_len, *v));
                        if files.behaviour.etag.is_some() {
                            files.behaviour.etag = Some(format!("\"v{}\"", *v));
                        }
                    }
                }
            };
            files.lock().unwrap().before = Some(Box::new(hook));
            let client = server.client();
            let dir = tempfile::tempdir().unwrap();
            let target = dir.path().join("f.bin");
            let mut outcome = Err(Error::Cancelled);
            let mut calls: Vec<(u64, u64)> = Vec::new();
            for _ in 0..3 {
                calls.clear();
                let mut progress = |d: u64, t: u64| {
                    calls.push((d, t));
                    true
                };
                let options = TransferOptions {
                    progress: Some(&mut progress),
                    resume,
                    ..TransferOptions::default()
                };
                outcome = raw::download(&client, "files/f", &target, options);
                if outcome.is_ok() || !resume {
                    break;
                }
            }
            let served = files.lock().unwrap().content["f"].clone();
            match &outcome {
                Ok(n) => {
                    prop_assert_eq!(*n as usize, served.len());
                    prop_assert!(std::fs::read(&target).unwrap() == served, "other bytes at the target");
                    prop_assert_eq!(calls.last().copied(), Some((served.len() as u64, served.len() as u64)));
                    prop_assert_eq!(entries(dir.path()), vec!["f.bin".to_string()]);
                }
                Err(_) => {
                    prop_assert!(!target.exists());
                    if !resume {
                        prop_assert!(entries(dir.path()).is_empty(), "{:?}", entries(dir.path()));
                    }
                }
            }
            for pair in calls.windows(2) {
                prop_assert!(pair[1].0 >= pair[0].0 || pair[1].0 == 0, "went back: {:?}", calls);
            }
        }
    }
}

/// 21.2: a symlink at the partial path is never followed: the file it
/// points to keeps its bytes (on a 404 and on a success).
#[test]
fn a_symlink_at_the_partial_path_is_not_followed() {
    let server = LyingServer::start();
    server.put("real.bin", bytes(100_000, 1));
    let client = server.client();
    let dir = tempfile::tempdir().unwrap();
    let victim = dir.path().join("victim.txt");
    std::fs::write(&victim, b"somebody else's file").unwrap();
    for route in ["files/missing.bin", "files/real.bin"] {
        let target = dir.path().join("out.bin");
        let _ = std::fs::remove_file(partial(&target));
        std::os::unix::fs::symlink(&victim, partial(&target)).unwrap();
        let result = raw::download(&client, route, &target, resume_options());
        assert_eq!(
            std::fs::read(&victim).unwrap(),
            b"somebody else's file",
            "{route}: the linked file was written"
        );
        if route.ends_with("real.bin") {
            assert_eq!(result.unwrap(), 100_000);
            assert_eq!(std::fs::read(&target).unwrap(), bytes(100_000, 1));
        } else {
            assert!(matches!(result, Err(ref e) if e.http_status() == Some(404)));
        }
    }
    // A link at the sidecar's name is replaced, never written through.
    let target = dir.path().join("cut.bin");
    server.put("cut.bin", bytes(200_000, 2));
    server.behave(Behaviour {
        cut_after: Some(50_000),
        ranges: true,
        ..Behaviour::default()
    });
    std::os::unix::fs::symlink(&victim, sidecar(&target)).unwrap();
    let once = TransferOptions {
        resume: true,
        retry: kitsu::transfer::RetryOverride {
            max_attempts: Some(1),
            ..Default::default()
        },
        ..TransferOptions::default()
    };
    assert!(raw::download(&client, "files/cut.bin", &target, once).is_err());
    assert_eq!(std::fs::read(&victim).unwrap(), b"somebody else's file");
    record_row(
        "a symlink at `.<name>.kitsu-partial` (and at its sidecar), `resume` on, then a 404 and a 200",
        "link removed, linked file untouched, target right",
    );
}

/// 21.3: a FIFO at the partial path is refused at once (it used to hang
/// the call forever, the cancel token unheard).
#[test]
fn a_fifo_at_the_partial_path_is_refused_without_blocking() {
    let server = LyingServer::start();
    server.put("a.bin", bytes(1000, 3));
    let client = server.client();
    let dir = tempfile::tempdir().unwrap();
    let target = dir.path().join("a.bin");
    let fifo = std::ffi::CString::new(partial(&target).to_str().unwrap()).unwrap();
    // SAFETY: a valid path.
    assert_eq!(unsafe { libc::mkfifo(fifo.as_ptr(), 0o644) }, 0);
    let (sender, receiver) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let result = raw::download(&client, "files/a.bin", &target, resume_options());
        let _ = sender.send(result);
    });
    let result = receiver
        .recv_timeout(Duration::from_secs(10))
        .expect("the download hung on a FIFO");
    assert!(
        matches!(result, Err(Error::NotARegularFile { kind: "a FIFO", .. })),
        "{result:?}"
    );
    assert!(!dir.path().join("a.bin").exists());
    record_row(
        "a FIFO at the partial path",
        "NOT_A_REGULAR_FILE at once, nothing written",
    );
}

/// 21.4: two transfers resuming one target never interleave: the partial
/// file is locked, and the second fails at once with a clear message.
#[test]
fn a_partial_file_in_use_is_locked() {
    let server = LyingServer::start();
    server.put("l.bin", bytes(10_000, 4));
    let client = server.client();
    let dir = tempfile::tempdir().unwrap();
    let target = dir.path().join("l.bin");
    let holder = std::fs::File::create(partial(&target)).unwrap();
    // SAFETY: a valid descriptor.
    let fd = std::os::unix::io::AsRawFd::as_raw_fd(&holder);
    assert_eq!(unsafe { libc::flock(fd, libc::LOCK_EX | libc::LOCK_NB) }, 0);
    let result = raw::download(&client, "files/l.bin", &target, resume_options());
    match result {
        Err(Error::Io { source, .. }) => assert!(source.to_string().contains("locked")),
        other => panic!("expected a lock error, got {other:?}"),
    }
    drop(holder);
    assert_eq!(
        raw::download(&client, "files/l.bin", &target, resume_options()).unwrap(),
        10_000
    );
    assert_eq!(std::fs::read(&target).unwrap(), bytes(10_000, 4));
    assert_eq!(entries(dir.path()), ["l.bin"]);
    record_row(
        "another process holds the partial file (flock)",
        "fails at once (locked); succeeds once released",
    );
}

/// 21.4: a batch refuses a second item with the same target (the same
/// file through another spelling too).
#[test]
fn a_batch_refuses_two_items_with_one_target() {
    use kitsu::api::batch::{Batch, Item};
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir(dir.path().join("sub")).unwrap();
    let mut batch = Batch::new();
    let first = dir.path().join("same.bin");
    batch
        .add(Item::Download {
            route: "files/a".into(),
            target: first,
        })
        .unwrap();
    let again = dir.path().join("sub/../same.bin");
    let refused = batch.add(Item::Download {
        route: "files/b".into(),
        target: again,
    });
    assert!(
        matches!(refused, Err(Error::InvalidParameter(ref m)) if m.contains("item 0")),
        "{refused:?}"
    );
    assert_eq!(batch.len(), 1);
    record_row(
        "two batch items with one target (`dir/same`, `dir/sub/../same`)",
        "the second refused when added",
    );
}

/// Writes a partial download of `route` for `target` as an earlier call
/// with `resume` would have left it.
fn leave_partial(target: &Path, route: &str, held: &[u8], total: u64) {
    std::fs::write(partial(target), held).unwrap();
    std::fs::write(
        sidecar(target),
        serde_json::json!({"route": route, "validator": null, "total": total}).to_string(),
    )
    .unwrap();
}

/// 21.5: a partial longer than the server's file (it got smaller) makes
/// the call start again once, not fail with 416 forever.
#[test]
fn a_416_on_a_resume_starts_again() {
    let (_server, client, dir, target) = one_file(
        "s.bin",
        1000,
        5,
        Behaviour {
            ranges: true,
            ..Behaviour::default()
        },
    );
    leave_partial(&target, "files/s.bin", &bytes(30_000, 9), 40_000);
    let got = raw::download(&client, "files/s.bin", &target, resume_options());
    assert_eq!(got.unwrap(), 1000);
    assert_eq!(std::fs::read(&target).unwrap(), bytes(1000, 5));
    assert_eq!(entries(dir.path()), ["s.bin"]);
    record_row(
        "partial longer than the server's file (416 on the resume)",
        "started again once, right bytes",
    );
}

/// 21.6: without validators, a file that changed between two calls (same
/// length), and a partial extended with garbage, are not trusted: the
/// overlap asked again differs, the download starts again, the bytes at
/// the target are the server's.
#[test]
fn a_resume_proves_the_bytes_it_holds() {
    let server = LyingServer::start();
    server.behave(Behaviour {
        ranges: true,
        ..Behaviour::default()
    });
    let client = server.client();
    let dir = tempfile::tempdir().unwrap();

    // Changed on the server between the calls, same length, no validator.
    let target = dir.path().join("m.bin");
    server.put("m.bin", bytes(300_000, 7));
    leave_partial(
        &target,
        "files/m.bin",
        &bytes(300_000, 6)[..120_000],
        300_000,
    );
    assert_eq!(
        raw::download(&client, "files/m.bin", &target, resume_options()).unwrap(),
        300_000
    );
    assert_eq!(std::fs::read(&target).unwrap(), bytes(300_000, 7));

    // The right prefix with garbage after it.
    let target = dir.path().join("g.bin");
    server.put("g.bin", bytes(300_000, 8));
    let mut held = bytes(300_000, 8)[..100_000].to_vec();
    held.extend(std::iter::repeat_n(0xAB, 5000));
    leave_partial(&target, "files/g.bin", &held, 300_000);
    assert_eq!(
        raw::download(&client, "files/g.bin", &target, resume_options()).unwrap(),
        300_000
    );
    assert_eq!(std::fs::read(&target).unwrap(), bytes(300_000, 8));

    // A good prefix is continued, from a little before its end.
    let target = dir.path().join("ok.bin");
    server.put("ok.bin", bytes(300_000, 10));
    leave_partial(
        &target,
        "files/ok.bin",
        &bytes(300_000, 10)[..200_000],
        300_000,
    );
    assert_eq!(
        raw::download(&client, "files/ok.bin", &target, resume_options()).unwrap(),
        300_000
    );
    assert_eq!(std::fs::read(&target).unwrap(), bytes(300_000, 10));
    let asked = server.log();
    let overlap = 200_000 - 16 * 1024;
    assert!(
        asked.contains(&format!("GET ok.bin bytes={overlap}-")),
        "{asked:?}"
    );
    assert_eq!(entries(dir.path()), ["g.bin", "m.bin", "ok.bin"]);
    record_row(
        "no validators: file changed between calls (same length); partial extended with garbage",
        "16 KiB overlap differs: started again, right bytes",
    );
}

/// 21.9: when the server's file changes length between attempts (a cut,
/// then a 200 with another body), the last progress call is (n, n) with n
/// the bytes of the file written.
#[test]
fn the_last_progress_call_is_the_file_written_when_the_length_changed() {
    let (server, client, _dir, target) = one_file(
        "c.bin",
        2_000_000,
        11,
        Behaviour {
            cut_after: Some(1_800_000),
            ranges: false,
            ..Behaviour::default()
        },
    );
    // The second request gets a shorter file, whole (the range ignored).
    server
        .files
        .lock()
        .unwrap()
        .changed
        .insert("c.bin".into(), bytes(1_000_000, 12));
    let mut calls: Vec<(u64, u64)> = Vec::new();
    let mut progress = |done: u64, total: u64| {
        calls.push((done, total));
        true
    };
    let got = raw::download(
        &client,
        "files/c.bin",
        &target,
        TransferOptions::with_progress(&mut progress),
    );
    assert_eq!(got.unwrap(), 1_000_000);
    assert_eq!(std::fs::read(&target).unwrap(), bytes(1_000_000, 12));
    assert_eq!(calls.last(), Some(&(1_000_000, 1_000_000)), "{calls:?}");
    assert!(calls.iter().all(|&(d, t)| t == 0 || d <= t), "{calls:?}");
    record_row(
        "2 MB cut at 1.8 MB, then a 200 with a new 1 MB body",
        "right bytes, last progress call (1000000, 1000000)",
    );
}

/// 21.10: a server that sends 50,000 bytes per connection and closes: every
/// attempt moves bytes, so the download goes on to the end (it gave up
/// after 5 attempts when progress was seen only by the 100 ms tick).
#[test]
fn attempts_that_move_bytes_never_run_out() {
    let (_server, client, _dir, target) = one_file(
        "p.bin",
        1_000_000,
        13,
        Behaviour {
            cut_after: Some(50_000),
            ranges: true,
            ..Behaviour::default()
        },
    );
    let started = Instant::now();
    let got = raw::download(&client, "files/p.bin", &target, TransferOptions::default());
    assert_eq!(got.unwrap(), 1_000_000, "after {:?}", started.elapsed());
    assert_eq!(std::fs::read(&target).unwrap(), bytes(1_000_000, 13));
    record_row(
        "every connection cut after 50,000 bytes (1 MB file)",
        "done: attempts that move bytes reset the count",
    );
}

/// 21.11: a server that answers `bytes=0-` with 206 but bounded ranges with
/// 200 and the whole file: the segmented download falls back to one stream.
#[test]
fn a_segmented_download_falls_back_to_one_stream() {
    let (server, client, dir, target) = one_file(
        "seg.bin",
        8_000_000,
        14,
        Behaviour {
            ranges: true,
            whole_for_bounded: true,
            ..Behaviour::default()
        },
    );
    let options = TransferOptions {
        segments: 4,
        ..TransferOptions::default()
    };
    let got = raw::download(&client, "files/seg.bin", &target, options);
    assert_eq!(got.unwrap(), 8_000_000);
    assert_eq!(std::fs::read(&target).unwrap(), bytes(8_000_000, 14));
    assert!(server.log().len() <= 8, "{:?}", server.log());
    assert_eq!(entries(dir.path()), ["seg.bin"]);
    record_row(
        "`bytes=0-` answered 206, bounded ranges 200 with the whole file (4 segments)",
        "one stream, right bytes, at most 8 requests",
    );
}

/// The receipt's SHA-256 is the file's, computed in the same pass, also
/// when the download resumed a partial file or moved in segments.
#[test]
fn the_receipt_carries_the_sha256_of_the_file() {
    let server = LyingServer::start();
    let content = bytes(3_000_000, 15);
    let digest: [u8; 32] = Sha256::digest(&content).into();
    server.put("r.bin", content.clone());
    server.behave(Behaviour {
        ranges: true,
        etag: Some("\"v1\"".into()),
        ..Behaviour::default()
    });
    let client = server.client();
    let dir = tempfile::tempdir().unwrap();
    for (name, resume, segments) in [
        ("plain", false, 0),
        ("resumed", true, 0),
        ("segmented", false, 4),
    ] {
        let target = dir.path().join(name);
        if resume {
            leave_partial(&target, "files/r.bin", &content[..1_000_000], 3_000_000);
        }
        let mut receipt = Receipt::default();
        let options = TransferOptions {
            resume,
            segments,
            checksum: true,
            receipt: Some(&mut receipt),
            ..TransferOptions::default()
        };
        assert_eq!(
            raw::download(&client, "files/r.bin", &target, options).unwrap(),
            3_000_000
        );
        assert_eq!(receipt.sha256, vec![digest], "{name}");
        assert_eq!(receipt.bytes, 3_000_000, "{name}");
        assert_eq!(receipt.attempts, 1, "{name}");
        assert!(
            receipt.status == 200 || receipt.status == 206,
            "{name}: {}",
            receipt.status
        );
        assert!(
            receipt
                .headers
                .iter()
                .any(|(n, v)| n == "etag" && v == "\"v1\""),
            "{name}: {:?}",
            receipt.headers
        );
    }
    // Without asking, no checksum; a failed call's receipt says what happened.
    let mut receipt = Receipt::default();
    let options = TransferOptions {
        receipt: Some(&mut receipt),
        ..TransferOptions::default()
    };
    assert!(raw::download(&client, "files/none", &dir.path().join("x"), options).is_err());
    assert_eq!(receipt.status, 404);
    assert!(receipt.sha256.is_empty());
}

/// One request as a tiny upload service sees it.
#[derive(Clone, Debug)]
struct Seen {
    method: String,
    headers: HashMap<String, String>,
    body: Vec<u8>,
}

/// A server on loopback that reads each request whole (its body by
/// Content-Length) and lets `answer` reply; returns its origin and what it saw.
fn upload_service(
    answer: impl Fn(&Seen, &mut TcpStream) + Send + Sync + 'static,
) -> (String, Arc<Mutex<Vec<Seen>>>) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let seen = Arc::new(Mutex::new(Vec::new()));
    let (log, answer) = (seen.clone(), Arc::new(answer));
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(stream) = stream else { continue };
            let (log, answer) = (log.clone(), answer.clone());
            std::thread::spawn(move || {
                let mut writer = stream.try_clone().unwrap();
                let mut reader = BufReader::new(stream);
                loop {
                    let mut line = String::new();
                    if reader.read_line(&mut line).unwrap_or(0) == 0 {
                        return;
                    }
                    let mut parts = line.split_whitespace();
                    let method = parts.next().unwrap_or("").to_string();
                    let mut headers = HashMap::new();
                    loop {
                        let mut header = String::new();
                        if reader.read_line(&mut header).unwrap_or(0) == 0 {
                            return;
                        }
                        let header = header.trim_end();
                        if header.is_empty() {
                            break;
                        }
                        if let Some((n, v)) = header.split_once(':') {
                            headers.insert(n.trim().to_ascii_lowercase(), v.trim().to_string());
                        }
                    }
                    let len: usize = headers
                        .get("content-length")
                        .and_then(|v| v.parse().ok())
                        .unwrap_or(0);
                    let mut body = vec![0u8; len];
                    if std::io::Read::read_exact(&mut reader, &mut body).is_err() {
                        return;
                    }
                    let request = Seen {
                        method,
                        headers,
                        body,
                    };
                    log.lock().unwrap().push(request.clone());
                    answer(&request, &mut writer);
                }
            });
        }
    });
    (format!("http://127.0.0.1:{port}"), seen)
}

fn reply(stream: &mut TcpStream, status: &str, extra: &str, body: &str) {
    let _ = write!(
        stream,
        "HTTP/1.1 {status}\r\n{extra}Content-Length: {}\r\n\r\n{body}",
        body.len()
    );
}

fn small_file(dir: &Path, name: &str, len: usize) -> PathBuf {
    let path = dir.join(name);
    std::fs::write(&path, bytes(len, 21)).unwrap();
    path
}

/// 21.12: a resumable.js test GET that never gets an answer falls under the
/// stall clock (the chunk is then sent), instead of hanging the upload.
#[test]
fn a_test_get_without_answer_is_under_the_stall_clock() {
    use kitsu::transfer::{resumable, ChunkedOptions};
    let (origin, seen) = upload_service(|request, stream| {
        if request.method == "GET" {
            std::thread::sleep(Duration::from_secs(30));
        }
        reply(stream, "200 OK", "", "done");
    });
    let client = Client::new(&origin).unwrap();
    client
        .update_config(|c| c.stall_timeout = Duration::from_secs(1))
        .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let file = small_file(dir.path(), "a.bin", 3000);
    let started = Instant::now();
    let outcome = resumable::upload(
        &client,
        &format!("{origin}/upload"),
        &file,
        &ChunkedOptions::default(),
        TransferOptions::default(),
    )
    .unwrap();
    assert!(
        started.elapsed() < Duration::from_secs(10),
        "{:?}",
        started.elapsed()
    );
    assert_eq!(outcome.chunks_sent, 1);
    assert!(seen.lock().unwrap().iter().any(|r| r.method == "POST"));
    record_row(
        "resumable.js test GET never answered (stall timeout 1 s)",
        "chunk sent after the stall, upload done",
    );
}

/// 21.15: extra headers (another service's API key) never follow a
/// redirect to another origin: the test GET's 302 is not followed there.
#[test]
fn extra_headers_stay_on_their_origin() {
    use kitsu::transfer::{resumable, ChunkedOptions};
    let (elsewhere, stolen) = upload_service(|_, stream| reply(stream, "200 OK", "", "ok"));
    let target = format!("{elsewhere}/collect");
    let (origin, seen) = upload_service(move |request, stream| {
        if request.method == "GET" {
            reply(stream, "302 Found", &format!("Location: {target}\r\n"), "");
        } else {
            reply(stream, "200 OK", "", "done");
        }
    });
    let client = Client::new(&origin).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let file = small_file(dir.path(), "k.bin", 3000);
    let chunked = ChunkedOptions {
        headers: vec![("X-Api-Key".into(), "s3cret".into())],
        ..ChunkedOptions::default()
    };
    let outcome = resumable::upload(
        &client,
        &format!("{origin}/upload"),
        &file,
        &chunked,
        TransferOptions::default(),
    )
    .unwrap();
    assert_eq!(outcome.chunks_sent, 1);
    assert!(seen
        .lock()
        .unwrap()
        .iter()
        .all(|r| r.headers.get("x-api-key").map(String::as_str) == Some("s3cret")));
    let leaked: Vec<Seen> = stolen.lock().unwrap().clone();
    assert!(
        leaked.iter().all(|r| !r.headers.contains_key("x-api-key")),
        "{leaked:?}"
    );
    record_row(
        "test GET redirected (302) to another origin, extra API-key header",
        "redirect not followed, key never sent there",
    );
}

/// 21.14: a tus URL store that is a folder is refused before the upload is
/// created on the server (no orphan upload there).
#[test]
fn a_tus_store_that_is_a_folder_is_refused_before_any_request() {
    use kitsu::transfer::{tus, ChunkedOptions, UrlStore};
    let (origin, seen) = upload_service(|_, stream| {
        reply(
            stream,
            "201 Created",
            "Location: /files/1\r\nTus-Resumable: 1.0.0\r\n",
            "",
        )
    });
    let client = Client::new(&origin).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let file = small_file(dir.path(), "t.bin", 3000);
    let chunked = ChunkedOptions {
        store: UrlStore::At(dir.path().to_path_buf()),
        ..ChunkedOptions::default()
    };
    let result = tus::upload(
        &client,
        &format!("{origin}/files"),
        &file,
        &chunked,
        TransferOptions::default(),
    );
    assert!(
        matches!(result, Err(Error::InvalidParameter(ref m)) if m.contains("store")),
        "{result:?}"
    );
    assert!(
        seen.lock().unwrap().is_empty(),
        "{:?}",
        seen.lock().unwrap()
    );
    record_row(
        "tus URL store path is a folder",
        "INVALID_PARAMETER before any request (no orphan upload)",
    );
}

/// 21.8: where the tus server offers the checksum extension with sha256,
/// every PATCH carries `Upload-Checksum` of its body; a 460 (the body did
/// not match on arrival) is sent again, not the end of the upload.
#[test]
fn tus_patches_carry_upload_checksum_when_offered() {
    use base64_check::decode;
    use kitsu::transfer::{tus, ChunkedOptions, UrlStore};
    let offset = Arc::new(Mutex::new(0u64));
    let mismatches = Arc::new(Mutex::new(0u32));
    let (server_offset, server_mismatches) = (offset.clone(), mismatches.clone());
    let (origin, seen) = upload_service(move |request, stream| {
        match request.method.as_str() {
        "OPTIONS" => reply(
            stream,
            "204 No Content",
            "Tus-Resumable: 1.0.0\r\nTus-Extension: creation,checksum,termination\r\nTus-Checksum-Algorithm: sha1,md5,sha256\r\n",
            "",
        ),
        "POST" => reply(
            stream,
            "201 Created",
            "Location: /files/1\r\nTus-Resumable: 1.0.0\r\n",
            "",
        ),
        "HEAD" => reply(
            stream,
            "200 OK",
            &format!(
                "Upload-Offset: {}\r\nTus-Resumable: 1.0.0\r\n",
                server_offset.lock().unwrap()
            ),
            "",
        ),
        "PATCH" => {
            let claimed = request.headers.get("upload-checksum").cloned().unwrap_or_default();
            let digest: [u8; 32] = Sha256::digest(&request.body).into();
            let matches = claimed
                .strip_prefix("sha256 ")
                .map(decode)
                .is_some_and(|d| d == digest);
            let mut first = server_mismatches.lock().unwrap();
            if !matches || *first == 0 {
                // The first PATCH is answered as if damaged on the way.
                *first += 1;
                reply(stream, "460 Checksum Mismatch", "Tus-Resumable: 1.0.0\r\n", "");
                return;
            }
            let mut at = server_offset.lock().unwrap();
            *at += request.body.len() as u64;
            reply(
                stream,
                "204 No Content",
                &format!("Upload-Offset: {}\r\nTus-Resumable: 1.0.0\r\n", *at),
                "",
            )
        }
        _ => reply(stream, "405 Method Not Allowed", "", ""),
    }
    });
    let client = Client::new(&origin).unwrap();
    client
        .update_config(|c| c.retry.initial_delay = Duration::from_millis(10))
        .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let file = small_file(dir.path(), "sum.bin", 2_500_000);
    let chunked = ChunkedOptions {
        chunk_size: 1 << 20,
        store: UrlStore::Off,
        ..ChunkedOptions::default()
    };
    tus::upload(
        &client,
        &format!("{origin}/files"),
        &file,
        &chunked,
        TransferOptions::default(),
    )
    .unwrap();
    assert_eq!(*offset.lock().unwrap(), 2_500_000);
    assert_eq!(*mismatches.lock().unwrap(), 1, "only the simulated damage");
    let patches = seen
        .lock()
        .unwrap()
        .iter()
        .filter(|r| r.method == "PATCH")
        .count();
    assert_eq!(patches, 4, "3 chunks and the one sent again");
    record_row(
        "tus server offering checksum/sha256; first PATCH answered 460 (damaged on the way)",
        "every PATCH carries Upload-Checksum; the damaged chunk sent again, upload done",
    );
}

/// Standard base64 (the test's own decoder, to check what the library encodes).
mod base64_check {
    pub fn decode(text: &str) -> Vec<u8> {
        const ALPHABET: &[u8; 64] =
            b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
        let mut bits = 0u32;
        let mut count = 0;
        let mut out = Vec::new();
        for byte in text.trim().bytes().take_while(|&b| b != b'=') {
            let Some(value) = ALPHABET.iter().position(|&a| a == byte) else {
                return Vec::new();
            };
            bits = (bits << 6) | value as u32;
            count += 6;
            if count >= 8 {
                count -= 8;
                out.push((bits >> count) as u8);
            }
        }
        out
    }
}

/// The SHA-256 of a chunked upload is the file's, for tus (in order) and
/// resumable.js (chunks in flight at once, read again where out of order).
#[test]
fn chunked_uploads_give_the_file_sha256() {
    use kitsu::transfer::{resumable, tus, ChunkedOptions, UrlStore};
    let (origin, _) = upload_service(|request, stream| match request.method.as_str() {
        "POST" if request.headers.contains_key("upload-length") => reply(
            stream,
            "201 Created",
            "Location: /files/1\r\nTus-Resumable: 1.0.0\r\n",
            "",
        ),
        "PATCH" => {
            let offset: u64 = request.headers["upload-offset"].parse().unwrap();
            let len: u64 = request.headers["content-length"].parse().unwrap();
            reply(
                stream,
                "204 No Content",
                &format!(
                    "Upload-Offset: {}\r\nTus-Resumable: 1.0.0\r\n",
                    offset + len
                ),
                "",
            )
        }
        "GET" => reply(stream, "204 No Content", "", ""),
        _ => reply(stream, "200 OK", "", "done"),
    });
    let client = Client::new(&origin).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let file = small_file(dir.path(), "big.bin", 5_000_000);
    let digest: [u8; 32] = Sha256::digest(std::fs::read(&file).unwrap()).into();
    let chunked = ChunkedOptions {
        chunk_size: 1 << 20,
        store: UrlStore::Off,
        ..ChunkedOptions::default()
    };
    for protocol in ["tus", "resumable"] {
        let mut receipt = Receipt::default();
        let options = TransferOptions {
            checksum: true,
            receipt: Some(&mut receipt),
            ..TransferOptions::default()
        };
        let url = format!("{origin}/files");
        match protocol {
            "tus" => tus::upload(&client, &url, &file, &chunked, options).map(|_| ()),
            _ => resumable::upload(&client, &url, &file, &chunked, options).map(|_| ()),
        }
        .unwrap();
        assert_eq!(receipt.sha256, vec![digest], "{protocol}");
        assert_eq!(receipt.bytes, 5_000_000, "{protocol}");
    }
}
