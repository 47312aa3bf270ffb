//! A fault proxy for the tests: a TCP proxy on loopback in front of a
//! server (the fake one or the real Zou) that can break the next connection
//! carrying enough bytes: reset it, or stall it, after N bytes in one
//! direction, close it after an answer's headers, or shape it (a delay per
//! piece, a rate limit). Armed faults fire once, on whichever pooled connection gets
//! there first. It also logs the request lines and Range headers it
//! forwards, so tests see what was asked for again.
#![allow(dead_code)]

use std::io::{Read, Write};
use std::net::{Shutdown, TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Direction {
    /// Server to client (a download's body).
    Down,
    /// Client to server (an upload's body).
    Up,
}

#[derive(Clone, Copy, Debug)]
pub enum Fault {
    /// Close the connection after this many bytes in `Direction`.
    Reset(Direction, u64),
    /// Stop forwarding for `Duration` after this many bytes in `Direction`.
    Stall(Direction, u64, Duration),
    /// Close the connection right after the answer's headers (before its body).
    CloseAfterHeaders,
    /// For the rest of the next connection moving data in `Direction`: wait
    /// this long before forwarding each piece (added latency).
    Delay(Direction, Duration),
    /// For the rest of the next connection moving data in `Direction`: at
    /// most this many bytes a second.
    RateLimit(Direction, u64),
    /// Answer the next request whose line starts with this method with this
    /// status (after reading its whole body, so the client sees the answer
    /// and not a broken pipe), without passing it on; then close.
    Answer(&'static str, u16),
}

#[derive(Default)]
struct Shared {
    armed: Vec<Fault>,
    fired: Vec<Fault>,
    /// "GET /api/x" and, when present, " Range: bytes=N-".
    requests: Vec<String>,
    /// Bytes a second, for every connection (both directions), when set.
    throttle: Option<u64>,
}

pub struct FaultProxy {
    pub port: u16,
    shared: Arc<Mutex<Shared>>,
    stop: Arc<AtomicBool>,
}

impl FaultProxy {
    /// A proxy to `upstream` ("127.0.0.1:PORT").
    pub fn start(upstream: &str) -> FaultProxy {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        let shared = Arc::new(Mutex::new(Shared::default()));
        let stop = Arc::new(AtomicBool::new(false));
        let (shared2, stop2, upstream) = (shared.clone(), stop.clone(), upstream.to_string());
        std::thread::spawn(move || {
            for client in listener.incoming() {
                if stop2.load(Ordering::Relaxed) {
                    break;
                }
                let Ok(client) = client else { continue };
                let Ok(server) = TcpStream::connect(&upstream) else {
                    continue;
                };
                let _ = client.set_nodelay(true);
                let _ = server.set_nodelay(true);
                pump(&client, &server, Direction::Up, shared2.clone());
                pump(&server, &client, Direction::Down, shared2.clone());
            }
        });
        FaultProxy { port, shared, stop }
    }

    /// A proxy in front of the server of `base` (http://127.0.0.1:PORT/api).
    pub fn in_front_of(base: &str) -> FaultProxy {
        let upstream = base
            .trim_start_matches("http://")
            .split('/')
            .next()
            .unwrap();
        FaultProxy::start(upstream)
    }

    /// `base` (http://127.0.0.1:PORT/api) with the proxy's port instead.
    pub fn base_for(&self, base: &str) -> String {
        let rest = base.trim_start_matches("http://");
        let path = rest.split_once('/').map(|(_, p)| p).unwrap_or("");
        format!("http://127.0.0.1:{}/{path}", self.port)
    }

    pub fn arm(&self, fault: Fault) {
        self.shared.lock().unwrap().armed.push(fault);
    }

    /// Every connection from now on at most `per_second` bytes a second
    /// each way (so a test can act in the middle of a loopback transfer).
    pub fn throttle(&self, per_second: u64) {
        self.shared.lock().unwrap().throttle = Some(per_second.max(1));
    }

    /// Faults that fired so far.
    pub fn fired(&self) -> usize {
        self.shared.lock().unwrap().fired.len()
    }

    pub fn requests(&self) -> Vec<String> {
        self.shared.lock().unwrap().requests.clone()
    }

    pub fn clear_requests(&self) {
        self.shared.lock().unwrap().requests.clear();
    }
}

impl Drop for FaultProxy {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        let _ = TcpStream::connect(("127.0.0.1", self.port));
    }
}

/// Forwards `from` to `to` on a thread, applying the armed faults.
fn pump(from: &TcpStream, to: &TcpStream, direction: Direction, shared: Arc<Mutex<Shared>>) {
    let (mut from, mut to) = (from.try_clone().unwrap(), to.try_clone().unwrap());
    std::thread::spawn(move || {
        let mut moved: u64 = 0;
        let mut buffer = vec![0u8; 16 * 1024];
        // Shaping taken for this connection: (delay per piece, bytes a second).
        let mut delay: Option<Duration> = None;
        let mut rate: Option<u64> = None;
        let started = std::time::Instant::now();
        loop {
            let n = match from.read(&mut buffer) {
                Ok(0) | Err(_) => break,
                Ok(n) => n,
            };
            if direction == Direction::Up {
                log_request_heads(&buffer[..n], &shared);
            }
            let mut chunk = &buffer[..n];
            if rate.is_none() {
                rate = shared.lock().unwrap().throttle;
            }
            // The first armed fault for this direction whose threshold falls in this chunk.
            let fault = {
                let mut shared = shared.lock().unwrap();
                let index = shared.armed.iter().position(|fault| match *fault {
                    Fault::Reset(d, after) | Fault::Stall(d, after, _) => {
                        d == direction && moved + n as u64 > after
                    }
                    Fault::CloseAfterHeaders => {
                        direction == Direction::Down && moved == 0 && chunk_has_head(&buffer[..n])
                    }
                    Fault::Delay(d, _) => d == direction && delay.is_none(),
                    Fault::RateLimit(d, _) => d == direction && rate.is_none(),
                    Fault::Answer(method, _) => {
                        direction == Direction::Up
                            && buffer[..n].starts_with(format!("{method} ").as_bytes())
                    }
                });
                index.map(|i| {
                    let fault = shared.armed.remove(i);
                    shared.fired.push(fault);
                    fault
                })
            };
            match fault {
                Some(Fault::Reset(_, after)) => {
                    let keep = after.saturating_sub(moved) as usize;
                    let _ = to.write_all(&chunk[..keep.min(chunk.len())]);
                    let _ = to.flush();
                    let _ = to.shutdown(Shutdown::Both);
                    let _ = from.shutdown(Shutdown::Both);
                    return;
                }
                Some(Fault::CloseAfterHeaders) => {
                    let text = &buffer[..n];
                    let end = text
                        .windows(4)
                        .position(|w| w == b"\r\n\r\n")
                        .map_or(n, |i| i + 4);
                    let _ = to.write_all(&text[..end]);
                    let _ = to.flush();
                    let _ = to.shutdown(Shutdown::Both);
                    let _ = from.shutdown(Shutdown::Both);
                    return;
                }
                Some(Fault::Answer(_, status)) => {
                    answer_instead(&mut from, &buffer[..n], status);
                    let _ = to.shutdown(Shutdown::Both);
                    let _ = from.shutdown(Shutdown::Both);
                    return;
                }
                Some(Fault::Delay(_, pause)) => delay = Some(pause),
                Some(Fault::RateLimit(_, per_second)) => rate = Some(per_second.max(1)),
                Some(Fault::Stall(_, after, pause)) => {
                    let keep = (after.saturating_sub(moved) as usize).min(chunk.len());
                    if to.write_all(&chunk[..keep]).is_err() {
                        break;
                    }
                    moved += keep as u64;
                    chunk = &chunk[keep..];
                    std::thread::sleep(pause);
                }
                None => {}
            }
            if let Some(pause) = delay {
                std::thread::sleep(pause);
            }
            if let Some(per_second) = rate {
                // Hold the piece until the average rate allows it.
                let due = Duration::from_secs_f64(
                    (moved + chunk.len() as u64) as f64 / per_second as f64,
                );
                if let Some(wait) = due.checked_sub(started.elapsed()) {
                    std::thread::sleep(wait);
                }
            }
            if to.write_all(chunk).is_err() {
                break;
            }
            moved += chunk.len() as u64;
        }
        let _ = to.shutdown(Shutdown::Write);
    });
}

/// Reads the rest of the request that begins `first` from `client` (its
/// Content-Length), then answers `status` with Connection: close.
fn answer_instead(client: &mut TcpStream, first: &[u8], status: u16) {
    let mut head = first.to_vec();
    let mut buffer = vec![0u8; 64 * 1024];
    let head_end = loop {
        if let Some(i) = head.windows(4).position(|w| w == b"\r\n\r\n") {
            break i + 4;
        }
        match client.read(&mut buffer) {
            Ok(0) | Err(_) => return,
            Ok(n) => head.extend_from_slice(&buffer[..n]),
        }
    };
    let text = String::from_utf8_lossy(&head[..head_end]).to_ascii_lowercase();
    let length: u64 = text
        .lines()
        .find_map(|l| l.strip_prefix("content-length:"))
        .and_then(|v| v.trim().parse().ok())
        .unwrap_or(0);
    let mut remaining = length.saturating_sub((head.len() - head_end) as u64);
    while remaining > 0 {
        match client.read(&mut buffer) {
            Ok(0) | Err(_) => return,
            Ok(n) => remaining = remaining.saturating_sub(n as u64),
        }
    }
    let answer =
        format!("HTTP/1.1 {status} Fault\r\nContent-Length: 0\r\nConnection: close\r\n\r\n");
    let _ = client.write_all(answer.as_bytes());
    let _ = client.flush();
}

/// True when `bytes` begins an HTTP answer's head.
fn chunk_has_head(bytes: &[u8]) -> bool {
    bytes.starts_with(b"HTTP/1.1 ") && bytes.windows(4).any(|w| w == b"\r\n\r\n")
}

/// Logs request lines (and their Range header) that start in `bytes`.
fn log_request_heads(bytes: &[u8], shared: &Mutex<Shared>) {
    let text = String::from_utf8_lossy(bytes);
    for (index, _) in text.match_indices("HTTP/1.1\r\n") {
        let start = text[..index].rfind("\r\n").map(|i| i + 2).unwrap_or(0);
        let line = text[start..index].trim();
        let method = line.split_whitespace().next().unwrap_or("");
        if !matches!(method, "GET" | "POST" | "PUT" | "DELETE" | "HEAD" | "PATCH") {
            continue;
        }
        let head_end = text[index..]
            .find("\r\n\r\n")
            .map(|e| index + e)
            .unwrap_or(text.len());
        let range = text[index..head_end].lines().find_map(|l| {
            l.to_ascii_lowercase()
                .strip_prefix("range:")
                .map(|v| v.trim().to_string())
        });
        let mut entry = line.to_string();
        if let Some(range) = range {
            entry.push_str(&format!(" Range: {range}"));
        }
        shared.lock().unwrap().requests.push(entry);
    }
}
