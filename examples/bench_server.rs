//! The benchmark's loopback server (scripts/bench): fast enough not to be
//! the bottleneck, and Kitsu-shaped where it matters.
//!
//!   GET  /api/files/big          the file, with Content-Length (sendfile);
//!                                `Range: bytes=A-` or `bytes=A-B` answered 206
//!   GET  /api/files/big-chunked  the same bytes, chunked (no Content-Length)
//!   POST /api/upload             a multipart (or any) body read and dropped,
//!                                answered {"received": N}
//!
//! Every route wants `Authorization: Bearer bench-token`, as Zou wants a token.
//!
//!   bench_server <file>          prints "listening on <port>" once ready

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::PathBuf;

const TOKEN: &str = "Bearer bench-token";

fn main() {
    let file = PathBuf::from(std::env::args().nth(1).expect("usage: bench_server <file>"));
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind 127.0.0.1");
    println!("listening on {}", listener.local_addr().unwrap().port());
    std::io::stdout().flush().unwrap();
    for stream in listener.incoming().flatten() {
        let file = file.clone();
        std::thread::spawn(move || {
            let _ = serve(stream, &file);
        });
    }
}

fn serve(stream: TcpStream, file: &PathBuf) -> std::io::Result<()> {
    stream.set_nodelay(true)?;
    let mut writer = stream.try_clone()?;
    let mut reader = BufReader::with_capacity(1 << 20, stream);
    loop {
        let mut line = String::new();
        if reader.read_line(&mut line)? == 0 {
            return Ok(());
        }
        let mut parts = line.split_whitespace();
        let method = parts.next().unwrap_or("").to_string();
        let path = parts.next().unwrap_or("").to_string();
        let (mut length, mut chunked, mut authorized, mut expect_continue) =
            (0u64, false, false, false);
        let mut range: Option<String> = None;
        loop {
            let mut header = String::new();
            reader.read_line(&mut header)?;
            let header = header.trim_end();
            if header.is_empty() {
                break;
            }
            let (name, value) = header.split_once(':').unwrap_or((header, ""));
            let value = value.trim();
            match name.to_ascii_lowercase().as_str() {
                "content-length" => length = value.parse().unwrap_or(0),
                "transfer-encoding" => chunked = value.contains("chunked"),
                "authorization" => authorized = value == TOKEN,
                "expect" => expect_continue = value.eq_ignore_ascii_case("100-continue"),
                "range" => range = Some(value.to_string()),
                _ => {}
            }
        }
        if !authorized {
            drain(&mut reader, length, chunked)?;
            reply(
                &mut writer,
                401,
                br#"{"message": "Missing Authorization Header"}"#,
            )?;
            continue;
        }
        match (method.as_str(), path.as_str()) {
            ("GET", "/api/files/big") => {
                let mut source = std::fs::File::open(file)?;
                let size = source.metadata()?.len();
                match range.as_deref().and_then(|r| byte_range(r, size)) {
                    Some((start, end)) => {
                        let count = end - start + 1;
                        write!(writer, "HTTP/1.1 206 Partial Content\r\nContent-Type: application/octet-stream\r\nAccept-Ranges: bytes\r\nContent-Range: bytes {start}-{end}/{size}\r\nContent-Length: {count}\r\n\r\n")?;
                        std::io::Seek::seek(&mut source, std::io::SeekFrom::Start(start))?;
                        std::io::copy(&mut source.take(count), &mut writer)?;
                    }
                    None => {
                        write!(writer, "HTTP/1.1 200 OK\r\nContent-Type: application/octet-stream\r\nAccept-Ranges: bytes\r\nContent-Length: {size}\r\n\r\n")?;
                        // File to socket: std uses sendfile here.
                        std::io::copy(&mut source, &mut writer)?;
                    }
                }
            }
            ("GET", "/api/files/big-chunked") => {
                let mut source = std::fs::File::open(file)?;
                writer.write_all(b"HTTP/1.1 200 OK\r\nContent-Type: application/octet-stream\r\nTransfer-Encoding: chunked\r\n\r\n")?;
                let mut buffer = vec![0u8; 1 << 20];
                loop {
                    let n = source.read(&mut buffer)?;
                    if n == 0 {
                        break;
                    }
                    write!(writer, "{n:x}\r\n")?;
                    writer.write_all(&buffer[..n])?;
                    writer.write_all(b"\r\n")?;
                }
                writer.write_all(b"0\r\n\r\n")?;
            }
            ("POST", "/api/upload") => {
                if expect_continue {
                    writer.write_all(b"HTTP/1.1 100 Continue\r\n\r\n")?;
                }
                let received = drain(&mut reader, length, chunked)?;
                reply(
                    &mut writer,
                    201,
                    format!("{{\"received\": {received}}}").as_bytes(),
                )?;
            }
            _ => {
                drain(&mut reader, length, chunked)?;
                reply(&mut writer, 404, br#"{"message": "no such route"}"#)?;
            }
        }
    }
}

/// Reads and drops a request body; returns its size.
fn drain(reader: &mut BufReader<TcpStream>, length: u64, chunked: bool) -> std::io::Result<u64> {
    if !chunked {
        return std::io::copy(&mut reader.by_ref().take(length), &mut std::io::sink());
    }
    let mut total = 0;
    loop {
        let mut size = String::new();
        reader.read_line(&mut size)?;
        let size = u64::from_str_radix(size.trim(), 16).unwrap_or(0);
        total += std::io::copy(&mut reader.by_ref().take(size), &mut std::io::sink())?;
        let mut crlf = String::new();
        reader.read_line(&mut crlf)?;
        if size == 0 {
            return Ok(total);
        }
    }
}

/// `bytes=A-` or `bytes=A-B` within a file of `size` bytes, as (A, B) inclusive.
fn byte_range(header: &str, size: u64) -> Option<(u64, u64)> {
    let (from, to) = header.strip_prefix("bytes=")?.split_once('-')?;
    let from: u64 = from.parse().ok()?;
    let to: u64 = if to.is_empty() {
        size.checked_sub(1)?
    } else {
        to.parse::<u64>().ok()?.min(size.checked_sub(1)?)
    };
    (from <= to).then_some((from, to))
}

fn reply(writer: &mut TcpStream, status: u16, body: &[u8]) -> std::io::Result<()> {
    write!(
        writer,
        "HTTP/1.1 {status} X\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n",
        body.len()
    )?;
    writer.write_all(body)
}
