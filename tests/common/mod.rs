//! An in-process fake Kitsu server on loopback, for what a real Zou cannot
//! be made to do on demand: replies without Content-Length, dropped and
//! stalled bodies, 202 then 200, 401 then a refresh, 503 bursts. Plain
//! threads and hand-written HTTP/1.1, so every byte on the wire is ours.
#![allow(dead_code)]

use std::collections::{HashMap, HashSet};
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use sha2::{Digest, Sha256};

pub const EMAIL: &str = "admin@example.com";
pub const PASSWORD: &str = "secret";
pub const REFRESH_TOKEN: &str = "refresh-token";
/// An access token the server always answers with 401 "Signature has expired".
pub const EXPIRED_TOKEN: &str = "expired-access";

/// The deterministic content of the fake files: byte `i` of any file.
pub fn pattern(len: usize) -> Vec<u8> {
    (0..len).map(|i| ((i * 31 + 7) % 251) as u8).collect()
}

/// Width and height from a PNG's IHDR chunk.
pub fn png_size(bytes: &[u8]) -> (u32, u32) {
    assert!(bytes.starts_with(b"\x89PNG\r\n\x1a\n"), "not a PNG");
    let be = |i: usize| u32::from_be_bytes(bytes[i..i + 4].try_into().unwrap());
    (be(16), be(20))
}

pub fn sha256_hex(data: &[u8]) -> String {
    let digest = Sha256::digest(data);
    digest.iter().map(|b| format!("{b:02x}")).collect()
}

#[derive(Default)]
pub struct State {
    pub valid_tokens: HashSet<String>,
    pub refresh_calls: u64,
    pub issued: u64,
    pub counters: HashMap<String, u32>,
    /// Requests seen, as "METHOD /path".
    pub requests: Vec<String>,
    /// Headers of the last upload.
    pub last_upload_headers: HashMap<String, String>,
    /// Requests of `files/concurrent/{key}/..` being answered now, and the most at once.
    pub active: HashMap<String, u32>,
    pub peak: HashMap<String, u32>,
    /// Range headers of the requests seen, as "path Range".
    pub ranges: Vec<String>,
}

pub struct FakeKitsu {
    pub base: String,
    pub state: Arc<Mutex<State>>,
    stop: Arc<AtomicBool>,
}

impl FakeKitsu {
    pub fn start() -> FakeKitsu {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind loopback");
        let port = listener.local_addr().unwrap().port();
        let state = Arc::new(Mutex::new(State::default()));
        let stop = Arc::new(AtomicBool::new(false));
        let (state2, stop2) = (state.clone(), stop.clone());
        std::thread::spawn(move || {
            for stream in listener.incoming() {
                if stop2.load(Ordering::Relaxed) {
                    break;
                }
                let Ok(stream) = stream else { continue };
                let state = state2.clone();
                std::thread::spawn(move || serve_connection(stream, state));
            }
        });
        FakeKitsu {
            base: format!("http://127.0.0.1:{port}/api"),
            state,
            stop,
        }
    }

    pub fn refresh_calls(&self) -> u64 {
        self.state.lock().unwrap().refresh_calls
    }

    /// The most requests of `files/concurrent/{key}/..` answered at once.
    pub fn peak_concurrency(&self, key: &str) -> u32 {
        self.state
            .lock()
            .unwrap()
            .peak
            .get(key)
            .copied()
            .unwrap_or(0)
    }

    /// A fresh valid access token, as a log-in would give.
    pub fn issue_token(&self) -> String {
        issue(&mut self.state.lock().unwrap())
    }
}

impl Drop for FakeKitsu {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        // Wake the accept loop so it sees the flag.
        let _ = TcpStream::connect(
            self.base
                .trim_start_matches("http://")
                .split('/')
                .next()
                .unwrap(),
        );
    }
}

fn issue(state: &mut State) -> String {
    state.issued += 1;
    let token = format!("access-{}", state.issued);
    state.valid_tokens.insert(token.clone());
    token
}

struct Request {
    method: String,
    path: String,
    query: String,
    headers: HashMap<String, String>,
    body: Vec<u8>,
}

impl Request {
    fn header(&self, name: &str) -> &str {
        self.headers.get(name).map(String::as_str).unwrap_or("")
    }
    fn bearer(&self) -> &str {
        self.header("authorization")
            .strip_prefix("Bearer ")
            .unwrap_or("")
    }
}

fn read_request(reader: &mut BufReader<TcpStream>) -> Option<Request> {
    let mut line = String::new();
    if reader.read_line(&mut line).ok()? == 0 {
        return None;
    }
    let mut parts = line.split_whitespace();
    let method = parts.next()?.to_string();
    let target = parts.next()?.to_string();
    let mut headers = HashMap::new();
    loop {
        let mut header = String::new();
        reader.read_line(&mut header).ok()?;
        let header = header.trim_end();
        if header.is_empty() {
            break;
        }
        let (name, value) = header.split_once(':')?;
        headers.insert(name.trim().to_ascii_lowercase(), value.trim().to_string());
    }
    let mut body = Vec::new();
    if let Some(len) = headers.get("content-length") {
        body.resize(len.parse().ok()?, 0);
        if target.starts_with("/api/upload/slow") {
            // About 500 KB/s, so a test can cancel while the files are sent.
            for piece in body.chunks_mut(16 * 1024) {
                reader.read_exact(piece).ok()?;
                std::thread::sleep(Duration::from_millis(30));
            }
        } else {
            reader.read_exact(&mut body).ok()?;
        }
    } else if headers
        .get("transfer-encoding")
        .map(|v| v.contains("chunked"))
        == Some(true)
    {
        loop {
            let mut size = String::new();
            reader.read_line(&mut size).ok()?;
            let size = usize::from_str_radix(size.trim(), 16).ok()?;
            let mut chunk = vec![0; size + 2];
            reader.read_exact(&mut chunk).ok()?;
            if size == 0 {
                break;
            }
            body.extend_from_slice(&chunk[..size]);
        }
    }
    let (path, query) = match target.split_once('?') {
        Some((p, q)) => (p.to_string(), q.to_string()),
        None => (target, String::new()),
    };
    Some(Request {
        method,
        path,
        query,
        headers,
        body,
    })
}

fn respond(
    stream: &mut TcpStream,
    status: u16,
    extra: &[(&str, String)],
    body: &[u8],
) -> std::io::Result<()> {
    let mut head = format!("HTTP/1.1 {status} X\r\nContent-Length: {}\r\n", body.len());
    for (name, value) in extra {
        head.push_str(&format!("{name}: {value}\r\n"));
    }
    head.push_str("\r\n");
    stream.write_all(head.as_bytes())?;
    stream.write_all(body)?;
    stream.flush()
}

fn json(stream: &mut TcpStream, status: u16, value: serde_json::Value) -> std::io::Result<()> {
    respond(
        stream,
        status,
        &[("Content-Type", "application/json".into())],
        value.to_string().as_bytes(),
    )
}

fn serve_connection(stream: TcpStream, state: Arc<Mutex<State>>) {
    let mut writer = stream.try_clone().expect("clone stream");
    let mut reader = BufReader::new(stream);
    while let Some(request) = read_request(&mut reader) {
        {
            let mut s = state.lock().unwrap();
            s.requests
                .push(format!("{} {}", request.method, request.path));
            let range = request.header("range");
            if !range.is_empty() {
                s.ranges.push(format!("{} {range}", request.path));
            }
        }
        match route(&mut writer, &request, &state) {
            Ok(true) => continue,
            _ => return, // the route closed the connection on purpose, or it broke
        }
    }
}

/// Serves one request. `Ok(false)` closes the connection.
fn route(
    stream: &mut TcpStream,
    req: &Request,
    state: &Arc<Mutex<State>>,
) -> std::io::Result<bool> {
    let Some(path) = req.path.strip_prefix("/api/") else {
        json(
            stream,
            404,
            serde_json::json!({"error": true, "message": "outside /api"}),
        )?;
        return Ok(true);
    };
    let segments: Vec<&str> = path.split('/').collect();
    let number = |i: usize| {
        segments
            .get(i)
            .and_then(|s| s.parse::<usize>().ok())
            .unwrap_or(0)
    };

    match (req.method.as_str(), segments.as_slice()) {
        ("POST", ["auth", "login"]) => {
            let body: serde_json::Value = serde_json::from_slice(&req.body).unwrap_or_default();
            if body["email"] == EMAIL && body["password"] == PASSWORD {
                let token = issue(&mut state.lock().unwrap());
                json(
                    stream,
                    200,
                    serde_json::json!({
                    "login": true, "user": {"id": "u1", "email": EMAIL},
                    "access_token": token, "refresh_token": REFRESH_TOKEN}),
                )?;
            } else {
                json(
                    stream,
                    400,
                    serde_json::json!({"login": false, "message": "Wrong email or password."}),
                )?;
            }
            return Ok(true);
        }
        ("GET", ["auth", "refresh-token"]) => {
            if req.bearer() != REFRESH_TOKEN {
                json(
                    stream,
                    401,
                    serde_json::json!({"message": "Invalid refresh token"}),
                )?;
                return Ok(true);
            }
            // Slow, so concurrent transfers that failed together pile up behind one refresh.
            std::thread::sleep(Duration::from_millis(200));
            let token = {
                let mut s = state.lock().unwrap();
                s.refresh_calls += 1;
                issue(&mut s)
            };
            json(stream, 200, serde_json::json!({"access_token": token}))?;
            return Ok(true);
        }
        _ => {}
    }

    // Everything else needs a valid token, like Zou.
    let token = req.bearer().to_string();
    if token == EXPIRED_TOKEN {
        drain_and_401(stream, "Signature has expired")?;
        return Ok(true);
    }
    if !state.lock().unwrap().valid_tokens.contains(&token) {
        drain_and_401(stream, "Missing Authorization Header")?;
        return Ok(true);
    }

    match (req.method.as_str(), segments.as_slice()) {
        ("GET", ["auth", "logout"]) => {
            state.lock().unwrap().valid_tokens.remove(&token);
            json(stream, 200, serde_json::json!({"logout": true}))?;
        }
        ("GET", ["data", "projects"]) => {
            json(
                stream,
                200,
                serde_json::json!([{"id": "p1", "name": "Demo"}]),
            )?;
        }
        (method @ ("POST" | "PUT" | "DELETE"), ["data", "echo"]) => {
            let body: serde_json::Value =
                serde_json::from_slice(&req.body).unwrap_or(serde_json::Value::Null);
            json(
                stream,
                200,
                serde_json::json!({"method": method, "body": body}),
            )?;
        }
        ("GET", ["files", "fixed", _]) => {
            respond(
                stream,
                200,
                &[("Content-Type", "application/octet-stream".into())],
                &pattern(number(2)),
            )?;
        }
        ("GET", ["files", "chunked", _]) => {
            // Chunked: no Content-Length.
            let data = pattern(number(2));
            stream.write_all(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n")?;
            for piece in data.chunks(data.len().div_ceil(3).max(1)) {
                stream.write_all(format!("{:x}\r\n", piece.len()).as_bytes())?;
                stream.write_all(piece)?;
                stream.write_all(b"\r\n")?;
                stream.flush()?;
                std::thread::sleep(Duration::from_millis(50));
            }
            stream.write_all(b"0\r\n\r\n")?;
        }
        ("GET", ["files", "chunked-cut", _]) => {
            // Chunked, and the connection closes in the middle of a chunk.
            let data = pattern(number(2));
            stream.write_all(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n")?;
            stream.write_all(format!("{:x}\r\n", data.len()).as_bytes())?;
            stream.write_all(&data[..data.len() / 2])?;
            stream.flush()?;
            let _ = stream.shutdown(std::net::Shutdown::Both);
            return Ok(false);
        }
        // A file served as Zou serves its media: Content-Length, Range
        // (206 with Content-Range), If-Range against an ETag and a
        // Last-Modified; `ranged-bare` has no validators (Zou's cold movies).
        ("GET", ["files", kind @ ("ranged" | "ranged-bare"), _]) => {
            return ranged(stream, req, number(2), *kind == "ranged").map(|_| true);
        }
        // A ranged file answered after 100 ms, counting how many requests
        // of `key` are answered at once.
        ("GET", ["files", "concurrent", key, _]) => {
            {
                let mut s = state.lock().unwrap();
                let active = s.active.entry(key.to_string()).or_default();
                *active += 1;
                let now = *active;
                let peak = s.peak.entry(key.to_string()).or_default();
                *peak = (*peak).max(now);
            }
            std::thread::sleep(Duration::from_millis(100));
            let served = ranged(stream, req, number(3), true);
            *state
                .lock()
                .unwrap()
                .active
                .entry(key.to_string())
                .or_default() -= 1;
            return served.map(|_| true);
        }
        // `code` for the first `times` requests of `key`, then a ranged file.
        ("GET", ["flaky", code, _, key, _]) => {
            let seen = {
                let mut s = state.lock().unwrap();
                let counter = s.counters.entry(format!("flaky/{key}")).or_default();
                *counter += 1;
                *counter
            };
            if seen <= number(2) as u32 {
                let code: u16 = code.parse().unwrap_or(500);
                let mut extra = vec![("Content-Type", "application/json".to_string())];
                if matches!(code, 429 | 503) {
                    extra.push(("Retry-After", "1".into()));
                }
                let body = serde_json::json!({"error": true, "message": format!("flaky {code}")});
                respond(stream, code, &extra, body.to_string().as_bytes())?;
                return Ok(true);
            }
            return ranged(stream, req, number(4), true).map(|_| true);
        }
        // The first request of `key` sends half the file, then stalls.
        ("GET", ["stall-once", key, _]) => {
            let first = {
                let mut s = state.lock().unwrap();
                let counter = s.counters.entry(format!("stall/{key}")).or_default();
                *counter += 1;
                *counter == 1
            };
            if first {
                let data = pattern(number(2));
                stream.write_all(
                    format!(
                        "HTTP/1.1 200 OK\r\nContent-Length: {}\r\nETag: \"v1\"\r\n\r\n",
                        data.len()
                    )
                    .as_bytes(),
                )?;
                stream.write_all(&data[..data.len() / 2])?;
                stream.flush()?;
                std::thread::sleep(Duration::from_secs(20));
                return Ok(false);
            }
            return ranged(stream, req, number(2), true).map(|_| true);
        }
        ("GET", ["files", "slow", _]) => {
            // 10 pieces over about 1.5 s: enough for several throttled progress calls.
            let data = pattern(number(2));
            stream.write_all(
                format!("HTTP/1.1 200 OK\r\nContent-Length: {}\r\n\r\n", data.len()).as_bytes(),
            )?;
            for piece in data.chunks(data.len().div_ceil(10).max(1)) {
                stream.write_all(piece)?;
                stream.flush()?;
                std::thread::sleep(Duration::from_millis(150));
            }
        }
        ("GET", ["files", "hang", _]) => {
            // The answer's headers never come.
            std::thread::sleep(Duration::from_secs(20));
            return Ok(false);
        }
        ("GET", ["files", "trickle", _]) => {
            // 4 KiB every 50 ms: bytes keep flowing for a long time.
            let data = pattern(number(2));
            stream.write_all(
                format!("HTTP/1.1 200 OK\r\nContent-Length: {}\r\n\r\n", data.len()).as_bytes(),
            )?;
            for piece in data.chunks(4096) {
                stream.write_all(piece)?;
                stream.flush()?;
                std::thread::sleep(Duration::from_millis(50));
            }
        }
        // The steps of publish_preview: a comment, a preview record (slow,
        // so a test can cancel during it), the preview's upload.
        ("POST", ["actions", "tasks", task, "comment"]) => {
            json(
                stream,
                201,
                serde_json::json!({"id": "0e5ad4bd-0000-4000-8000-00000000c001", "object_id": task}),
            )?;
        }
        ("POST", ["actions", "tasks", _, "comments", _, "add-preview"]) => {
            std::thread::sleep(Duration::from_secs(2));
            json(
                stream,
                201,
                serde_json::json!({"id": "0e5ad4bd-0000-4000-8000-00000000f001"}),
            )?;
        }
        ("POST", ["pictures", "preview-files", id]) => {
            state
                .lock()
                .unwrap()
                .counters
                .insert(format!("stored/{id}"), 1);
            json(
                stream,
                201,
                serde_json::json!({"id": id, "status": "processing", "upload": parse_multipart(req)}),
            )?;
        }
        ("POST", ["upload", "slow"]) => {
            json(stream, 201, parse_multipart(req))?;
        }
        ("GET", ["files", "drop", _]) => {
            let data = pattern(number(2));
            stream.write_all(
                format!("HTTP/1.1 200 OK\r\nContent-Length: {}\r\n\r\n", data.len()).as_bytes(),
            )?;
            stream.write_all(&data[..data.len() / 2])?;
            stream.flush()?;
            let _ = stream.shutdown(std::net::Shutdown::Both);
            return Ok(false);
        }
        ("GET", ["files", "stall", _]) => {
            let data = pattern(number(2));
            stream.write_all(
                format!("HTTP/1.1 200 OK\r\nContent-Length: {}\r\n\r\n", data.len()).as_bytes(),
            )?;
            stream.write_all(&data[..data.len() / 2])?;
            stream.flush()?;
            std::thread::sleep(Duration::from_secs(20));
            return Ok(false);
        }
        ("GET", ["files", "processing", key, _]) => {
            // 202 for the first N requests of `key` (only for clients that
            // prefer JSON, as Zou does), then the file.
            let times = number(3) as u32;
            if !req.header("accept").starts_with("application/json") {
                json(
                    stream,
                    404,
                    serde_json::json!({"error": true, "message": "Preview file was not found."}),
                )?;
                return Ok(true);
            }
            let seen = {
                let mut s = state.lock().unwrap();
                let counter = s.counters.entry(key.to_string()).or_default();
                *counter += 1;
                *counter
            };
            if seen <= times {
                respond(
                    stream,
                    202,
                    &[
                        ("Retry-After", "1".into()),
                        ("Content-Type", "application/json".into()),
                    ],
                    br#"{"status":"processing","preview_file_id":"x"}"#,
                )?;
            } else {
                respond(
                    stream,
                    200,
                    &[("Content-Type", "image/png".into())],
                    &pattern(4096),
                )?;
            }
        }
        // Kitsu-shaped preview routes; the id's last digit picks the behaviour.
        ("GET", ["data", "preview-files", id]) => {
            // A preview that received its file says so, as Zou's records do.
            let stored = state
                .lock()
                .unwrap()
                .counters
                .contains_key(&format!("stored/{id}"));
            let (size, name) = if stored {
                (1234, Some("frame"))
            } else {
                (0, None)
            };
            json(
                stream,
                200,
                serde_json::json!({"id": id, "extension": "png", "status": "ready",
                                   "file_size": size, "original_name": name}),
            )?;
        }
        ("GET", ["pictures", "originals", "preview-files", file]) => {
            let id = file.trim_end_matches(".png");
            return preview_behaviour(stream, req, state, id);
        }
        ("GET", ["data", "attachment-files", id]) => {
            json(
                stream,
                200,
                serde_json::json!({"id": id, "name": "notes #1?.txt"}),
            )?;
        }
        ("GET", ["data", "attachment-files", _id, "file", name]) => {
            // The name must arrive percent-encoded, whole.
            let body = if *name == "notes%20%231%3F.txt" {
                &b"attachment"[..]
            } else {
                &b"wrong name"[..]
            };
            respond(stream, if body.len() == 10 { 200 } else { 404 }, &[], body)?;
        }
        ("GET", ["status", code]) => {
            let code: u16 = code.parse().unwrap_or(500);
            let body =
                serde_json::json!({"error": true, "message": format!("fake {code} message")});
            respond(
                stream,
                code,
                &[
                    ("Retry-After", "5".into()),
                    ("Content-Type", "application/json".into()),
                ],
                body.to_string().as_bytes(),
            )?;
        }
        ("POST", ["upload", "echo"]) => {
            state.lock().unwrap().last_upload_headers = req.headers.clone();
            json(stream, 201, parse_multipart(req))?;
        }
        ("POST", ["upload", "failed"]) => {
            json(
                stream,
                201,
                serde_json::json!({"message": "the server refused this file"}),
            )?;
        }
        ("POST", ["upload", "status", code]) => {
            let code: u16 = code.parse().unwrap_or(500);
            json(
                stream,
                code,
                serde_json::json!({"error": true, "message": format!("fake {code} on upload")}),
            )?;
        }
        _ => {
            json(
                stream,
                404,
                serde_json::json!({"error": true, "message": format!("no route {}", req.path)}),
            )?;
        }
    }
    Ok(true)
}

/// `...0001` chunked, `...0002` a 503 with Zou's media-limiter body,
/// `...0003` a dropped connection, `...0004` 202 once then the file,
/// anything else the file with a Content-Length.
fn preview_behaviour(
    stream: &mut TcpStream,
    req: &Request,
    state: &Arc<Mutex<State>>,
    id: &str,
) -> std::io::Result<bool> {
    let data = pattern(20_000);
    match id.chars().last() {
        Some('1') => {
            stream.write_all(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n")?;
            for piece in data.chunks(7000) {
                stream.write_all(format!("{:x}\r\n", piece.len()).as_bytes())?;
                stream.write_all(piece)?;
                stream.write_all(b"\r\n")?;
            }
            stream.write_all(b"0\r\n\r\n")?;
        }
        Some('2') => {
            let body = br#"{"error": true, "message": "Too many media requests, retry later."}"#;
            respond(stream, 503, &[("Retry-After", "5".into())], body)?;
        }
        Some('3') => {
            stream.write_all(b"HTTP/1.1 200 OK\r\nContent-Length: 20000\r\n\r\n")?;
            stream.write_all(&data[..5000])?;
            let _ = stream.shutdown(std::net::Shutdown::Both);
            return Ok(false);
        }
        Some('4') => {
            let first = {
                let mut s = state.lock().unwrap();
                let seen = s.counters.entry(id.to_string()).or_default();
                *seen += 1;
                *seen == 1
            };
            if first && req.header("accept").starts_with("application/json") {
                respond(
                    stream,
                    202,
                    &[("Retry-After", "1".into())],
                    br#"{"status":"processing"}"#,
                )?;
            } else {
                respond(stream, 200, &[], &data)?;
            }
        }
        _ => respond(stream, 200, &[], &data)?,
    }
    Ok(true)
}

/// Serves `pattern(len)` honouring `Range: bytes=N-` (and `If-Range`).
/// Writes the body in pieces of 64 KiB (so a proxy can cut it anywhere).
fn ranged(
    stream: &mut TcpStream,
    req: &Request,
    len: usize,
    validators: bool,
) -> std::io::Result<()> {
    let data = pattern(len);
    let etag = format!("\"v1-{len}\"");
    let mut head = String::new();
    if validators {
        head.push_str(&format!(
            "ETag: {etag}\r\nLast-Modified: Sun, 22 Nov 2026 05:00:00 GMT\r\n"
        ));
    }
    head.push_str("Accept-Ranges: bytes\r\n");
    let if_range = req.header("if-range");
    let honour =
        if_range.is_empty() || !validators || if_range == etag || if_range.ends_with("GMT");
    // `bytes=N-` or `bytes=N-M` (inclusive).
    let range = req
        .header("range")
        .strip_prefix("bytes=")
        .and_then(|r| r.split_once('-'))
        .and_then(|(from, to)| {
            let from = from.parse::<usize>().ok()?;
            let to = if to.is_empty() {
                len.saturating_sub(1)
            } else {
                to.parse::<usize>().ok()?.min(len.saturating_sub(1))
            };
            Some((from, to))
        })
        .filter(|_| honour);
    let (status, body) = match range {
        Some((start, end)) if start < len && start <= end => {
            head.push_str(&format!("Content-Range: bytes {start}-{end}/{len}\r\n"));
            ("206 Partial Content", &data[start..=end])
        }
        Some(_) => {
            stream.write_all(
                format!("HTTP/1.1 416 Range Not Satisfiable\r\nContent-Length: 0\r\n{head}\r\n")
                    .as_bytes(),
            )?;
            return Ok(());
        }
        None => ("200 OK", &data[..]),
    };
    stream.write_all(
        format!(
            "HTTP/1.1 {status}\r\nContent-Length: {}\r\n{head}\r\n",
            body.len()
        )
        .as_bytes(),
    )?;
    for piece in body.chunks(64 * 1024) {
        stream.write_all(piece)?;
    }
    stream.flush()
}

fn drain_and_401(stream: &mut TcpStream, message: &str) -> std::io::Result<()> {
    json(stream, 401, serde_json::json!({"message": message}))
}

/// Describes a multipart body: each part's name, filename, size, sha256 and
/// headers, so tests compare with what they sent.
fn parse_multipart(req: &Request) -> serde_json::Value {
    let content_type = req.header("content-type");
    let boundary = content_type
        .split("boundary=")
        .nth(1)
        .unwrap_or("")
        .to_string();
    let delimiter = format!("--{boundary}");
    let body = &req.body;
    let mut parts = Vec::new();
    let positions: Vec<usize> = find_all(body, delimiter.as_bytes());
    for window in positions.windows(2) {
        let start = window[0] + delimiter.len() + 2; // skip CRLF
        let end = window[1] - 2; // CRLF before the next delimiter
        let part = &body[start..end];
        let split = find_all(part, b"\r\n\r\n")[0];
        let head = String::from_utf8_lossy(&part[..split]).to_string();
        let content = &part[split + 4..];
        let disposition = head
            .lines()
            .find(|l| l.to_ascii_lowercase().starts_with("content-disposition"))
            .unwrap_or("");
        let attr = |name: &str| {
            disposition.split(';').map(str::trim).find_map(|kv| {
                kv.strip_prefix(&format!("{name}=\""))
                    .map(|v| v.trim_end_matches('"').to_string())
            })
        };
        let content_type = head
            .lines()
            .find_map(|l| l.strip_prefix("Content-Type: ").map(str::to_string));
        parts.push(serde_json::json!({
            "name": attr("name"),
            "filename": attr("filename"),
            "size": content.len(),
            "sha256": sha256_hex(content),
            "content_type": content_type,
            "value": if attr("filename").is_none() { Some(String::from_utf8_lossy(content).to_string()) } else { None },
        }));
    }
    let closed = body.ends_with(format!("{delimiter}--\r\n").as_bytes());
    serde_json::json!({
        "content_length": req.header("content-length"),
        "transfer_encoding": req.header("transfer-encoding"),
        "body_size": body.len(),
        "closed": closed,
        "parts": parts,
    })
}

fn find_all(haystack: &[u8], needle: &[u8]) -> Vec<usize> {
    let mut found = Vec::new();
    let mut i = 0;
    while i + needle.len() <= haystack.len() {
        if &haystack[i..i + needle.len()] == needle {
            found.push(i);
            i += needle.len();
        } else {
            i += 1;
        }
    }
    found
}

pub mod capi;
pub mod fault;
pub mod zou;
