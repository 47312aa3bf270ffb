//! The chunked-upload servers of scripts/upload-servers/run as the tests
//! see them (their env file, request logs and what they assembled), and
//! files to upload. Shared by tests/chunked.rs and cli/tests/chunked.rs.
#![allow(dead_code)]

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::time::Duration;

pub struct Servers {
    env: HashMap<String, String>,
}

impl Servers {
    pub fn get() -> Option<Servers> {
        let file = std::env::var("KITSU_UPLOAD_SERVERS_ENV").unwrap_or_else(|_| {
            // The checkout's own servers (scripts/upload-servers/run start).
            default_servers_env()
        });
        let required = std::env::var_os("KITSU_UPLOAD_SERVERS_REQUIRED").is_some();
        let Ok(text) = std::fs::read_to_string(&file) else {
            assert!(
                !required,
                "{file} is missing: run scripts/upload-servers/run start"
            );
            eprintln!("skipped: {file} is missing (scripts/upload-servers/run start)");
            return None;
        };
        let env: HashMap<String, String> = text
            .lines()
            .filter_map(|l| l.split_once('='))
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        let port = env["TUS_URL"]
            .split(':')
            .nth(2)
            .unwrap()
            .split('/')
            .next()
            .unwrap()
            .to_string();
        if std::net::TcpStream::connect(format!("127.0.0.1:{port}")).is_err() {
            assert!(
                !required,
                "the upload servers do not answer: scripts/upload-servers/run start"
            );
            eprintln!("skipped: the upload servers do not answer");
            return None;
        }
        Some(Servers { env })
    }

    pub fn var(&self, name: &str) -> &str {
        &self.env[name]
    }

    /// Log lines appended after `mark` (a byte length taken before) that
    /// contain `about` (tests run in parallel against the same servers).
    /// The servers write their log lines a moment after answering: read
    /// until two reads 300 ms apart agree.
    pub fn log_since(&self, log: &str, mark: u64, about: &str) -> Vec<serde_json::Value> {
        let read = || -> Vec<serde_json::Value> {
            let bytes = std::fs::read(self.var(log)).unwrap_or_default();
            String::from_utf8_lossy(&bytes[mark as usize..])
                .lines()
                .filter(|l| l.contains(about))
                .filter_map(|l| serde_json::from_str(l).ok())
                .collect()
        };
        let mut lines = read();
        for _ in 0..20 {
            std::thread::sleep(Duration::from_millis(300));
            let again = read();
            if again.len() == lines.len() {
                break;
            }
            lines = again;
        }
        lines
    }

    pub fn log_mark(&self, log: &str) -> u64 {
        std::fs::metadata(self.var(log))
            .map(|m| m.len())
            .unwrap_or(0)
    }

    /// The file resumable.js's sample assembled from its chunks.
    pub fn resumable_assembled(&self, identifier: &str) -> Vec<u8> {
        use std::io::{Read, Write};
        let url = format!("{}{identifier}", self.var("RESUMABLE_DOWNLOAD"));
        let rest = url.trim_start_matches("http://");
        let (host, path) = rest.split_at(rest.find('/').unwrap());
        let mut stream = std::net::TcpStream::connect(host).unwrap();
        write!(stream, "GET {path} HTTP/1.0\r\nHost: {host}\r\n\r\n").unwrap();
        let mut answer = Vec::new();
        stream.read_to_end(&mut answer).unwrap();
        let body = answer.windows(4).position(|w| w == b"\r\n\r\n").unwrap() + 4;
        assert!(
            answer.starts_with(b"HTTP/1.1 200"),
            "{}",
            String::from_utf8_lossy(&answer[..body])
        );
        answer.split_off(body)
    }

    /// The file @tus/file-store wrote for the upload at `url`.
    pub fn tus_assembled(&self, url: &str) -> PathBuf {
        let id = url.rsplit('/').next().unwrap();
        Path::new(self.var("TUS_DIR")).join(id)
    }
}

/// A file of `len` bytes no two runs share (so no earlier upload matches it).
pub fn random_file(dir: &Path, name: &str, len: u64) -> PathBuf {
    let path = dir.join(name);
    let seed = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_nanos() as u64;
    let mut state = seed | 1;
    let mut bytes = Vec::with_capacity(len as usize);
    while (bytes.len() as u64) < len {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        bytes.extend_from_slice(&state.to_le_bytes());
    }
    bytes.truncate(len as usize);
    std::fs::write(&path, bytes).unwrap();
    path
}

/// `<checkout>/.work/upload-servers/servers.env`, from tests of the library
/// (CARGO_MANIFEST_DIR the checkout) or of the command (cli/).
pub fn default_servers_env() -> String {
    let manifest = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
    let checkout = if manifest.ends_with("cli") {
        manifest.parent().unwrap()
    } else {
        manifest
    };
    checkout
        .join(".work/upload-servers/servers.env")
        .display()
        .to_string()
}
