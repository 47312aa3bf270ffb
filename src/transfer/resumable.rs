//! The resumable.js protocol (and flow.js, its fork), as resumable.py
//! emulates it, without its weak points: the identifier is the file's size
//! and fingerprint (stable across runs, so a restarted upload resumes),
//! failures wait with backoff, network errors are retried, progress counts
//! bytes.
//!
//! Each chunk is a multipart POST of resumable.js's fields and the chunk as
//! the `file` part; with `test_chunks` a GET with the same fields as its
//! query comes first, and a 200 means the server has the chunk. The
//! statuses resumable.js calls permanent (400, 404, 409, 415, 500, 501)
//! stop the upload; other failures are tried again.

use std::path::Path;
use std::sync::atomic::{AtomicU32, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use reqwest::header::{HeaderName, HeaderValue, CONTENT_LENGTH, CONTENT_TYPE};
use reqwest::Method;

use super::call::{Call, Meter};
use super::chunked::{
    auth_for, chunk_with_retries, fingerprint, mime_of, resumable_plan, run_chunks, send,
    target_url, watch_stall, with_headers, Chunk, ChunkedOptions, ChunkedOutcome, Verdict,
};
use super::event::Operation;
use super::json::read_capped;
use super::retry::is_transport_failure;
use super::upload::{digests, file_name_of, file_size, new_checksums, Checksums, Layout, Part};
use super::TransferOptions;
use crate::client::{check_status, Auth, Client};
use crate::error::{Error, Result};

/// resumable.js's `permanentErrors`.
pub const PERMANENT_ERRORS: [u16; 6] = [400, 404, 409, 415, 500, 501];

/// resumable.js's identifier for `path` sent in chunks of `chunk_size`:
/// `{size}-{chunk_size}-{fingerprint}`. The chunk size is part of it: a
/// rerun with another chunk size is another upload (a lax server would
/// otherwise report chunks of the old plan as present and assemble a
/// corrupt file).
pub fn identifier(path: &Path, chunk_size: u64) -> Result<String> {
    let size = file_size(path)?;
    Ok(format!("{size}-{chunk_size}-{}", fingerprint(path)?))
}

/// Uploads `path` to `url` (absolute, or a route of the client's host) in
/// chunks, on the calling thread. See the module documentation.
pub fn upload(
    client: &Client,
    url: &str,
    path: &Path,
    chunked: &ChunkedOptions,
    options: TransferOptions<'_>,
) -> Result<ChunkedOutcome> {
    client.run(options, async |call| {
        upload_in(call, client, url, path, chunked).await
    })
}

/// What every chunk request shares.
struct Upload<'u> {
    client: &'u Client,
    url: reqwest::Url,
    label: String,
    path: &'u Path,
    fields: Vec<(&'static str, String)>,
    chunked: &'u ChunkedOptions,
    /// The extra headers, parsed once.
    headers: Vec<(HeaderName, HeaderValue)>,
    /// The client's token only to its own host.
    auth: Auth,
    sent: AtomicU32,
    skipped: AtomicU32,
    bytes_sent: AtomicU64,
    answer: Mutex<String>,
    /// The file's SHA-256, fed by the chunks' bodies, when asked.
    checksums: Option<Checksums>,
}

pub(crate) async fn upload_in(
    call: &mut Call<'_>,
    client: &Client,
    url: &str,
    path: &Path,
    chunked: &ChunkedOptions,
) -> Result<ChunkedOutcome> {
    chunked.check()?;
    let url = target_url(client, url)?;
    let size = file_size(path)?;
    let identifier = identifier(path, chunked.chunk_size)?;
    let filename = file_name_of(path)?;
    let chunks = resumable_plan(size, chunked.chunk_size);
    let fields = vec![
        ("resumableChunkSize", chunked.chunk_size.to_string()),
        ("resumableTotalSize", size.to_string()),
        ("resumableType", mime_of(path).to_string()),
        ("resumableIdentifier", identifier.clone()),
        ("resumableFilename", filename.clone()),
        (
            "resumableRelativePath",
            chunked.relative_path.clone().unwrap_or(filename),
        ),
        ("resumableTotalChunks", chunks.len().to_string()),
    ];
    call.expect(Operation::Upload, size, chunks.len())?;
    call.begin_request(url.as_str(), vec![path.to_path_buf()], size)?;
    let upload = Upload {
        client,
        label: url.path().to_string(),
        auth: auth_for(client, &url),
        url,
        path,
        fields,
        chunked,
        headers: chunked.header_map()?,
        sent: AtomicU32::new(0),
        skipped: AtomicU32::new(0),
        bytes_sent: AtomicU64::new(0),
        answer: Mutex::new(String::new()),
        checksums: call.checksum_requested().then(|| new_checksums(1)),
    };
    let meter = call.meter();
    let policy = call.retry_policy();
    let stall = call.stall_timeout();
    let upload = &upload;
    let meter = &meter;
    run_chunks(call, &chunks, chunked.simultaneous, |chunk| async move {
        // A test GET that never answers must not hold the upload: under
        // the stall clock (no answer in time: send the chunk).
        let has = async { Ok(upload.server_has(chunk).await) };
        if upload.chunked.test_chunks
            && watch_stall(&Meter::default(), stall, has)
                .await
                .unwrap_or(false)
        {
            meter.add(chunk.len);
            upload.skipped.fetch_add(1, Ordering::Relaxed);
            return Ok(());
        }
        let answer = chunk_with_retries(meter, chunk, policy, stall, judge, |child| {
            upload.post(chunk, child)
        })
        .await?;
        upload.sent.fetch_add(1, Ordering::Relaxed);
        upload.bytes_sent.fetch_add(chunk.len, Ordering::Relaxed);
        *upload.answer.lock().unwrap_or_else(|e| e.into_inner()) = answer;
        Ok(())
    })
    .await?;
    call.observe_meter()?;
    if let Some(checksums) = &upload.checksums {
        for digest in digests(checksums, &[path.to_path_buf()])? {
            call.add_digest(digest);
        }
    }
    let answer = upload
        .answer
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .clone();
    Ok(ChunkedOutcome {
        upload: identifier,
        chunks: u32::try_from(chunks.len()).unwrap_or(u32::MAX),
        chunks_sent: upload.sent.load(Ordering::Relaxed),
        chunks_skipped: upload.skipped.load(Ordering::Relaxed),
        bytes_sent: upload.bytes_sent.load(Ordering::Relaxed),
        answer,
    })
}

/// resumable.js's rule: its permanent errors stop, everything else is retried.
fn judge(error: &Error) -> Verdict {
    match error.root() {
        Error::Http { status, .. } if PERMANENT_ERRORS.contains(status) => Verdict::Fatal,
        Error::Http { .. } => Verdict::Retry,
        _ if is_transport_failure(error) => Verdict::Retry,
        _ => Verdict::Fatal,
    }
}

impl Upload<'_> {
    /// The fields of `chunk`'s requests, in resumable.js's order.
    fn chunk_fields(&self, chunk: Chunk) -> Vec<(&'static str, String)> {
        let mut fields = vec![("resumableChunkNumber", (chunk.index + 1).to_string())];
        fields.extend(self.fields.iter().cloned());
        fields.insert(3, ("resumableCurrentChunkSize", chunk.len.to_string()));
        fields
    }

    /// The test GET: true when the server answers 200 (it has the chunk).
    /// Any other answer, or none, means "send it" (resumable.js's rule).
    async fn server_has(&self, chunk: Chunk) -> bool {
        let mut url = self.url.clone();
        {
            let mut query = url.query_pairs_mut();
            for (name, value) in self.chunk_fields(chunk) {
                query.append_pair(name, &value);
            }
        }
        let sent = send(
            self.client,
            &self.headers,
            Method::GET,
            &url,
            &self.label,
            self.auth,
            |r| Ok(with_headers(r, &self.headers)),
        )
        .await;
        let Ok(response) = sent else {
            return false;
        };
        let found = response.status().as_u16() == 200;
        // Read to its end (a few bytes), so the connection serves the next request.
        let _ = read_capped(self.client, &self.label, response).await;
        found
    }

    /// One attempt of `chunk`'s POST; the answer's body.
    async fn post(&self, chunk: Chunk, meter: Arc<Meter>) -> Result<String> {
        let mut parts: Vec<Part> = self
            .chunk_fields(chunk)
            .into_iter()
            .map(|(name, value)| Part::field(name, value))
            .collect();
        parts.push(Part::FileRange {
            name: "file".into(),
            path: self.path.to_path_buf(),
            offset: chunk.offset,
            len: chunk.len,
        });
        let layout = Layout::new(&parts)?.hashing(self.checksums.clone());
        let response = send(
            self.client,
            &self.headers,
            Method::POST,
            &self.url,
            &self.label,
            self.auth,
            |request| {
                Ok(with_headers(request, &self.headers)
                    .header(CONTENT_TYPE, layout.content_type())
                    .header(CONTENT_LENGTH, layout.content_length)
                    .body(layout.body(&meter)))
            },
        )
        .await?;
        let response = check_status(&Method::POST, &self.label, response).await?;
        let body = read_capped(self.client, &self.label, response).await?;
        Ok(String::from_utf8_lossy(&body).into_owned())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn permanent_errors_stop_and_others_retry() {
        let http = |status| Error::Http {
            status,
            method: "POST".into(),
            path: "/upload".into(),
            message: String::new(),
            retry_after: None,
        };
        for status in PERMANENT_ERRORS {
            assert!(matches!(judge(&http(status)), Verdict::Fatal));
        }
        for status in [403, 408, 429, 502, 503, 504] {
            assert!(matches!(judge(&http(status)), Verdict::Retry));
        }
        let reset = Error::Network {
            path: "p".into(),
            message: "reset".into(),
        };
        assert!(matches!(judge(&reset), Verdict::Retry));
    }
}
