//! Streaming multipart/form-data uploads at constant memory.
//!
//! The body is described by a list of [`Part`]s and encoded on the fly with
//! an exact Content-Length (no chunked encoding: proxies handle it worst).
//! File parts are opened for each attempt, so a replay after a token refresh
//! sends whole files again. The body stream runs on a runtime worker and only
//! adds the file bytes it hands to the connection to the call's meter; the
//! calling thread's driver turns that into progress calls and events.

use std::collections::VecDeque;
use std::hash::{BuildHasher, Hasher};
use std::io::Read;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use bytes::Bytes;
use reqwest::header::{CONTENT_LENGTH, CONTENT_TYPE};
use reqwest::Method;

use super::call::{Call, Meter};
use super::checksum::Checksum;
use super::event::Operation;
use super::retry::{retrying, Idempotency};
use crate::client::{check_status, Auth, Client};
use crate::error::{Error, Result};

/// Bytes read from disk per chunk handed to the connection.
const CHUNK: usize = 512 * 1024;

/// One part of a multipart body, in wire order.
#[derive(Clone, Debug)]
pub enum Part {
    /// A plain form field (`name=value`).
    Field { name: String, value: String },
    /// A file, sent under its base name, with a part Content-Type for
    /// well-known extensions.
    File { name: String, path: PathBuf },
    /// An inline JSON part with no filename (gazu's `comments` part of batch comments).
    Json { name: String, json: String },
    /// `len` bytes of a file from `offset`, sent under the file's base name
    /// (a chunk of a chunked upload).
    FileRange {
        name: String,
        path: PathBuf,
        offset: u64,
        len: u64,
    },
}

impl Part {
    pub fn field(name: impl Into<String>, value: impl Into<String>) -> Part {
        Part::Field {
            name: name.into(),
            value: value.into(),
        }
    }
    pub fn file(name: impl Into<String>, path: impl Into<PathBuf>) -> Part {
        Part::File {
            name: name.into(),
            path: path.into(),
        }
    }
}

/// A piece of the encoded body: literal bytes, or a file's content.
enum Segment {
    Literal(Bytes),
    /// `index`: the file's place among the request's files; `size` bytes from `offset`.
    File {
        path: PathBuf,
        offset: u64,
        size: u64,
        index: u32,
    },
}

/// The body, laid out once (sizes checked, files found) and streamed per attempt.
pub(crate) struct Layout {
    boundary: String,
    segments: Vec<Arc<Segment>>,
    pub content_length: u64,
    file_bytes: u64,
    files: Vec<PathBuf>,
    /// Fed with the bytes of each file as they are read, when asked.
    checksums: Option<Checksums>,
}

/// The checksums of an upload's files (by their index), fed by the bodies
/// of every attempt (bytes sent again are skipped by [`Checksum::feed`]).
pub(crate) type Checksums = Arc<std::sync::Mutex<Vec<Checksum>>>;

/// Fresh checksums for `count` files.
pub(crate) fn new_checksums(count: usize) -> Checksums {
    Arc::new(std::sync::Mutex::new(vec![Checksum::new(); count]))
}

/// The digests of `files` (each `sizes[i]` bytes): what was not fed in
/// order is read from the file.
pub(crate) fn digests(checksums: &Checksums, files: &[PathBuf]) -> Result<Vec<[u8; 32]>> {
    let sums = std::mem::take(&mut *checksums.lock().unwrap_or_else(|e| e.into_inner()));
    sums.into_iter()
        .zip(files)
        .map(|(sum, path)| {
            let len = file_size(path)?;
            sum.complete_at(path, len)
        })
        .collect()
}

impl Layout {
    /// A raw body: `len` bytes of `path` from `offset` (a tus PATCH).
    pub fn octets(path: &Path, offset: u64, len: u64) -> Layout {
        Layout {
            boundary: String::new(),
            segments: vec![Arc::new(Segment::File {
                path: path.to_path_buf(),
                offset,
                size: len,
                index: 0,
            })],
            content_length: len,
            file_bytes: len,
            files: vec![path.to_path_buf()],
            checksums: None,
        }
    }

    /// The files' bytes feed `checksums` (by file index) as they are read.
    pub fn hashing(mut self, checksums: Option<Checksums>) -> Layout {
        self.checksums = checksums;
        self
    }

    /// The multipart Content-Type of this body.
    pub fn content_type(&self) -> String {
        format!("multipart/form-data; boundary={}", self.boundary)
    }

    pub fn new(parts: &[Part]) -> Result<Layout> {
        let boundary = new_boundary();
        let mut segments = Vec::new();
        let mut content_length = 0u64;
        let mut file_bytes = 0u64;
        let mut files = Vec::new();
        let mut literal = String::new();
        for part in parts {
            literal.push_str(&format!("--{boundary}\r\n"));
            match part {
                Part::Field { name, value } => {
                    literal.push_str(&format!(
                        "Content-Disposition: form-data; name=\"{}\"\r\n\r\n{value}\r\n",
                        escape_quoted(name)
                    ));
                }
                Part::Json { name, json } => {
                    literal.push_str(&format!(
                        "Content-Disposition: form-data; name=\"{}\"\r\nContent-Type: application/json\r\n\r\n{json}\r\n",
                        escape_quoted(name)
                    ));
                }
                Part::File { name, path } => {
                    let size = file_size(path)?;
                    push_file(&mut literal, &mut segments, name, path, 0, size, &mut files)?;
                    content_length += size;
                    file_bytes += size;
                }
                Part::FileRange {
                    name,
                    path,
                    offset,
                    len,
                } => {
                    push_file(
                        &mut literal,
                        &mut segments,
                        name,
                        path,
                        *offset,
                        *len,
                        &mut files,
                    )?;
                    content_length += len;
                    file_bytes += len;
                }
            }
        }
        for segment in &segments {
            if let Segment::Literal(bytes) = &**segment {
                content_length += bytes.len() as u64;
            }
        }
        literal.push_str(&format!("--{boundary}--\r\n"));
        content_length += literal.len() as u64;
        segments.push(Arc::new(Segment::Literal(Bytes::from(literal))));
        Ok(Layout {
            boundary,
            segments,
            content_length,
            file_bytes,
            files,
            checksums: None,
        })
    }

    /// A fresh body for one attempt; the meter counts from 0 again.
    pub fn body(&self, meter: &Arc<Meter>) -> reqwest::Body {
        meter.set(0);
        let state = StreamState {
            segments: self.segments.iter().cloned().collect(),
            open: None,
            meter: meter.clone(),
            checksums: self.checksums.clone(),
        };
        let stream = futures_util::stream::unfold(state, |mut state| async move {
            match state.next_chunk().await {
                Ok(Some(chunk)) => Some((Ok::<Bytes, Error>(chunk), state)),
                Ok(None) => None,
                Err(e) => {
                    // Ends the stream after the error: hyper aborts the request.
                    state.segments.clear();
                    state.open = None;
                    Some((Err(e), state))
                }
            }
        });
        reqwest::Body::wrap_stream(stream)
    }
}

/// The name a file is sent under: its base name.
pub(crate) fn file_name_of(path: &Path) -> Result<String> {
    path.file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .ok_or_else(|| Error::InvalidParameter(format!("{} names no file", path.display())))
}

/// A file part: its head (ending the literal so far) and its bytes.
fn push_file(
    literal: &mut String,
    segments: &mut Vec<Arc<Segment>>,
    name: &str,
    path: &Path,
    offset: u64,
    size: u64,
    files: &mut Vec<PathBuf>,
) -> Result<()> {
    let filename = file_name_of(path)?;
    literal.push_str(&format!(
        "Content-Disposition: form-data; name=\"{}\"; filename=\"{}\"\r\n",
        escape_quoted(name),
        escape_quoted(&filename)
    ));
    if let Some(mime) = content_type_of(&filename) {
        literal.push_str(&format!("Content-Type: {mime}\r\n"));
    }
    literal.push_str("\r\n");
    segments.push(Arc::new(Segment::Literal(Bytes::from(std::mem::take(
        literal,
    )))));
    segments.push(Arc::new(Segment::File {
        path: path.to_path_buf(),
        offset,
        size,
        index: u32::try_from(files.len()).unwrap_or(u32::MAX),
    }));
    files.push(path.to_path_buf());
    literal.push_str("\r\n");
    Ok(())
}

struct OpenFile {
    file: std::fs::File,
    path: PathBuf,
    remaining: u64,
    /// Where the next byte read sits in the file, and the file's index.
    position: u64,
    index: u32,
}

struct StreamState {
    segments: VecDeque<Arc<Segment>>,
    open: Option<OpenFile>,
    meter: Arc<Meter>,
    checksums: Option<Checksums>,
}

impl StreamState {
    async fn next_chunk(&mut self) -> Result<Option<Bytes>> {
        loop {
            if let Some(open) = self.open.take() {
                if open.remaining == 0 {
                    continue;
                }
                let (position, index) = (open.position, open.index);
                let (open, chunk) = read_chunk(open).await?;
                if let Some(checksums) = &self.checksums {
                    let mut sums = checksums.lock().unwrap_or_else(|e| e.into_inner());
                    if let Some(sum) = sums.get_mut(index as usize) {
                        sum.feed(position, &chunk);
                    }
                }
                self.meter.add(chunk.len() as u64);
                self.open = Some(open);
                return Ok(Some(chunk));
            }
            let Some(segment) = self.segments.pop_front() else {
                return Ok(None);
            };
            match &*segment {
                Segment::Literal(bytes) => return Ok(Some(bytes.clone())),
                Segment::File {
                    path,
                    offset,
                    size,
                    index,
                } => {
                    self.meter.set_item(*index);
                    let mut file = std::fs::File::open(path).map_err(|e| Error::io(path, e))?;
                    if *offset > 0 {
                        use std::io::Seek;
                        file.seek(std::io::SeekFrom::Start(*offset))
                            .map_err(|e| Error::io(path, e))?;
                    }
                    self.open = Some(OpenFile {
                        file,
                        path: path.clone(),
                        remaining: *size,
                        position: *offset,
                        index: *index,
                    });
                }
            }
        }
    }
}

/// Reads the next chunk off the blocking pool, straight into the buffer hyper sends.
async fn read_chunk(mut open: OpenFile) -> Result<(OpenFile, Bytes)> {
    let joined = tokio::task::spawn_blocking(move || {
        let want = open.remaining.min(CHUNK as u64) as usize;
        let mut buffer = vec![0u8; want];
        let result = open.file.read_exact(&mut buffer);
        (open, buffer, result)
    })
    .await
    .map_err(|e| Error::Panic(format!("file reader task failed: {e}")))?;
    let (mut open, buffer, result) = joined;
    result.map_err(|e| {
        if e.kind() == std::io::ErrorKind::UnexpectedEof {
            Error::Io {
                path: open.path.clone(),
                source: std::io::Error::new(
                    e.kind(),
                    "the file shrank while it was being uploaded",
                ),
            }
        } else {
            Error::io(&open.path, e)
        }
    })?;
    open.remaining -= buffer.len() as u64;
    open.position += buffer.len() as u64;
    Ok((open, Bytes::from(buffer)))
}

pub(crate) fn file_size(path: &Path) -> Result<u64> {
    let metadata = std::fs::metadata(path).map_err(|e| Error::io(path, e))?;
    if !metadata.is_file() {
        return Err(Error::InvalidParameter(format!(
            "{} is not a regular file",
            path.display()
        )));
    }
    // Readable now, so a permission problem fails before any byte is sent.
    let mut file = std::fs::File::open(path).map_err(|e| Error::io(path, e))?;
    if metadata.len() == 0 {
        // /proc and sysfs files say 0 and have content: the body's length
        // is sent first, so such a file cannot be streamed as it is.
        let mut probe = [0u8; 1];
        if file.read(&mut probe).map_err(|e| Error::io(path, e))? > 0 {
            return Err(Error::InvalidParameter(format!(
                "{} reports a size of 0 but has content (a /proc or sysfs file?): \
                 copy it to a regular file and upload that",
                path.display()
            )));
        }
    }
    Ok(metadata.len())
}

/// The part Content-Type for well-known extensions. gazu sends none, so Zou
/// stores attachments with an empty mimetype, serves them without a
/// Content-Type and makes no thumbnail for pictures; unknown extensions are
/// still sent bare, as gazu does.
pub(crate) fn content_type_of(filename: &str) -> Option<&'static str> {
    let extension = filename.rsplit_once('.')?.1.to_ascii_lowercase();
    Some(match extension.as_str() {
        "png" => "image/png",
        "jpg" | "jpeg" | "jpe" => "image/jpeg",
        "gif" => "image/gif",
        "webp" => "image/webp",
        "tif" | "tiff" => "image/tiff",
        "mp4" | "m4v" => "video/mp4",
        "mov" => "video/quicktime",
        "webm" => "video/webm",
        "mkv" => "video/x-matroska",
        "avi" => "video/x-msvideo",
        "pdf" => "application/pdf",
        "txt" => "text/plain",
        "csv" => "text/csv",
        "json" => "application/json",
        "zip" => "application/zip",
        _ => return None,
    })
}

/// WHATWG form encoding of names in quotes: `"`, CR and LF percent-encoded.
fn escape_quoted(text: &str) -> String {
    text.replace('"', "%22")
        .replace('\r', "%0D")
        .replace('\n', "%0A")
}

fn new_boundary() -> String {
    let state = std::collections::hash_map::RandomState::new();
    let mut hex = String::from("libkitsu");
    for salt in 0..2u64 {
        let mut hasher = state.build_hasher();
        hasher.write_u64(salt);
        hasher.write_u128(
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map(|d| d.as_nanos())
                .unwrap_or(0),
        );
        hex.push_str(&format!("{:016x}", hasher.finish()));
    }
    hex
}

/// POSTs `parts` to `path` within `call` and returns the answer's text
/// (`null` for an empty body). Progress counts this request's file bytes after those of the
/// call's earlier requests; when the call declared no total, this request's
/// file bytes are the total.
///
/// Retried as `idempotency` allows; each attempt opens the files again and
/// sends them whole.
pub(crate) async fn send_multipart(
    call: &mut Call<'_>,
    client: &Client,
    path: &str,
    parts: &[Part],
    idempotency: Idempotency,
) -> Result<String> {
    let layout = Layout::new(parts)?;
    let checksums = call
        .checksum_requested()
        .then(|| new_checksums(layout.files.len()));
    let layout = layout.hashing(checksums.clone());
    call.set_operation(Operation::Upload);
    call.expect_at_least(layout.file_bytes, layout.files.len())?;
    let text = retrying(call, idempotency, async |call| {
        send_once(call, client, path, &layout).await
    })
    .await?;
    if let Some(checksums) = &checksums {
        for digest in digests(checksums, &layout.files)? {
            call.add_digest(digest);
        }
    }
    call.end_request(layout.file_bytes, layout.files.len())?;
    Ok(text)
}

async fn send_once(
    call: &mut Call<'_>,
    client: &Client,
    path: &str,
    layout: &Layout,
) -> Result<String> {
    call.begin_request(path, layout.files.clone(), layout.file_bytes)?;
    let meter = call.meter();
    let content_type = layout.content_type();
    let response = call
        .drive(client.send(Method::POST, path, Auth::Bearer, |request| {
            Ok(request
                .header(CONTENT_TYPE, content_type.as_str())
                .header(CONTENT_LENGTH, layout.content_length)
                .body(layout.body(&meter)))
        }))
        .await??;
    call.observe_meter()?;
    call.note_answer(&response);
    let response = call
        .drive(check_status(&Method::POST, path, response))
        .await??;
    let body = call
        .drive(super::json::read_capped(client, path, response))
        .await??;
    if body.is_empty() {
        return Ok("null".to_string());
    }
    String::from_utf8(body).map_err(|_| Error::InvalidResponse {
        path: path.into(),
        message: "the upload answer is not UTF-8 text".into(),
    })
}

/// The sum of the sizes of `files`, each checked as a readable regular file.
pub fn total_size(files: &[PathBuf]) -> Result<u64> {
    files.iter().map(|f| file_size(f)).sum()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn content_length_matches_the_encoded_body() {
        let dir = tempfile::tempdir().unwrap();
        let a = dir.path().join("a \"quoted\".bin");
        std::fs::write(&a, vec![7u8; 1000]).unwrap();
        let parts = vec![
            Part::field("comment", "hello"),
            Part::file("file", &a),
            Part::Json {
                name: "comments".into(),
                json: "[]".into(),
            },
        ];
        let layout = Layout::new(&parts).unwrap();
        let mut encoded = Vec::new();
        for segment in &layout.segments {
            match &**segment {
                Segment::Literal(b) => encoded.extend_from_slice(b),
                Segment::File { path, .. } => encoded.extend(std::fs::read(path).unwrap()),
            }
        }
        assert_eq!(encoded.len() as u64, layout.content_length);
        assert_eq!(layout.file_bytes, 1000);
        let text = String::from_utf8_lossy(&encoded);
        assert!(text.contains("filename=\"a %22quoted%22.bin\""));
        assert!(text.ends_with(&format!("--{}--\r\n", layout.boundary)));
    }

    #[test]
    fn the_meter_names_the_file_whose_bytes_are_read() {
        let dir = tempfile::tempdir().unwrap();
        let a = dir.path().join("a.bin");
        let b = dir.path().join("b.bin");
        std::fs::write(&a, vec![1u8; CHUNK * 2 + 10]).unwrap();
        std::fs::write(&b, vec![2u8; 100]).unwrap();
        let layout = Layout::new(&[Part::file("file", &a), Part::file("file-1", &b)]).unwrap();
        assert_eq!(layout.files, [a.clone(), b.clone()]);
        let meter = Arc::new(Meter::default());
        let mut state = StreamState {
            segments: layout.segments.iter().cloned().collect(),
            open: None,
            meter: meter.clone(),
            checksums: None,
        };
        let runtime = tokio::runtime::Builder::new_current_thread()
            .build()
            .unwrap();
        let mut seen = Vec::new();
        runtime.block_on(async {
            while let Some(chunk) = state.next_chunk().await.unwrap() {
                if chunk.iter().all(|&byte| byte == 1) {
                    seen.push((0, meter.item()));
                } else if chunk.iter().all(|&byte| byte == 2) {
                    seen.push((1, meter.item()));
                }
            }
        });
        assert_eq!(seen, [(0, 0), (0, 0), (0, 0), (1, 1)]);
        assert_eq!(meter.bytes(), layout.file_bytes);
    }

    #[test]
    fn missing_file_is_reported_before_sending() {
        let parts = vec![Part::file("file", "/nonexistent/libkitsu/x.png")];
        assert!(matches!(
            Layout::new(&parts),
            Err(Error::FileNotFound { .. })
        ));
    }
}
