//! Streaming downloads. The body goes to a [`Sink`]: a temporary file in the
//! destination folder renamed onto the target only once the whole body
//! arrived (and matched Content-Length), or memory. Error bodies never reach
//! a sink. A 202 (the server still preparing the file) is waited out first.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use reqwest::header::{ACCEPT, ACCEPT_ENCODING};
use reqwest::{Method, StatusCode};
use tempfile::NamedTempFile;

use super::call::{Call, Meter};
use crate::client::{check_status, retry_after_secs, Auth, Client};
use crate::error::{Error, Result};

/// The wait after a 202 without a usable Retry-After (gazu's DEFAULT_RETRY_AFTER).
const DEFAULT_RETRY_AFTER: u64 = 5;
/// Memory sinks do not trust a Content-Length beyond this for pre-allocation.
const MAX_PREALLOCATION: u64 = 64 * 1024 * 1024;

/// Where a download's body goes.
pub(crate) trait Sink {
    /// Called once, after a success status and before the first byte.
    fn begin(&mut self, total: u64) -> Result<()>;
    fn write(&mut self, chunk: &[u8]) -> Result<()>;
    /// Everything is written; make it durable (not yet visible).
    fn finish(&mut self) -> Result<()>;
    /// The local file written, if any (for events).
    fn file(&self) -> Option<PathBuf> {
        None
    }
}

/// Writes to `.<name>.<random>.part` beside the target; `commit` renames it
/// onto the target. Dropped without commit, the temporary file is removed
/// and the target is left as it was.
pub(crate) struct FileSink {
    target: PathBuf,
    /// Written chunk by chunk as hyper hands them over (tens to hundreds of
    /// KiB): a BufWriter in between would only add a copy of every byte.
    temp: Option<NamedTempFile>,
}

impl FileSink {
    pub fn new(target: &Path) -> Result<FileSink> {
        if target.file_name().is_none() || target.is_dir() {
            return Err(Error::InvalidParameter(format!(
                "{} is not a file path (a folder, or no file name)",
                target.display()
            )));
        }
        let sink = FileSink {
            target: target.to_path_buf(),
            temp: None,
        };
        // Checked before any request, so a typo costs no transfer.
        let folder = sink.folder();
        if !folder.is_dir() {
            return Err(Error::FileNotFound { path: folder });
        }
        Ok(sink)
    }

    fn folder(&self) -> PathBuf {
        match self.target.parent() {
            Some(parent) if !parent.as_os_str().is_empty() => parent.to_path_buf(),
            _ => PathBuf::from("."),
        }
    }

    /// Renames the finished temporary file onto the target.
    pub fn commit(mut self) -> Result<()> {
        let temp = match self.temp.take() {
            Some(temp) => temp,
            // begin() was never called: cannot happen after a successful fetch.
            None => {
                return Err(Error::InvalidResponse {
                    path: self.target.display().to_string(),
                    message: "no body was received".into(),
                })
            }
        };
        temp.persist(&self.target)
            .map_err(|e| Error::io(&self.target, e.error))?;
        Ok(())
    }
}

impl Sink for FileSink {
    fn file(&self) -> Option<PathBuf> {
        Some(self.target.clone())
    }

    fn begin(&mut self, _total: u64) -> Result<()> {
        let folder = self.folder();
        let prefix = format!(
            ".{}.",
            self.target
                .file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_default()
        );
        let temp = tempfile::Builder::new()
            .prefix(&prefix)
            .suffix(".part")
            .tempfile_in(&folder)
            .map_err(|e| Error::io(&folder, e))?;
        self.temp = Some(temp);
        Ok(())
    }

    fn write(&mut self, chunk: &[u8]) -> Result<()> {
        match self.temp.as_mut() {
            Some(temp) => temp
                .as_file_mut()
                .write_all(chunk)
                .map_err(|e| Error::io(&self.target, e)),
            None => Ok(()),
        }
    }

    fn finish(&mut self) -> Result<()> {
        if let Some(temp) = self.temp.as_mut() {
            temp.as_file()
                .sync_all()
                .map_err(|e| Error::io(&self.target, e))?;
        }
        Ok(())
    }
}

/// Collects the body in memory.
#[derive(Default)]
pub(crate) struct MemorySink {
    pub data: Vec<u8>,
}

impl Sink for MemorySink {
    fn begin(&mut self, total: u64) -> Result<()> {
        self.data.reserve(total.min(MAX_PREALLOCATION) as usize);
        Ok(())
    }
    fn write(&mut self, chunk: &[u8]) -> Result<()> {
        self.data.extend_from_slice(chunk);
        Ok(())
    }
    fn finish(&mut self) -> Result<()> {
        Ok(())
    }
}

/// GETs `path` into `sink` within `call`, waiting out 202 answers (at most
/// the client's processing timeout, honouring Retry-After). `accept` is the
/// request's Accept header (a server may answer 202 only to some). Returns
/// the byte count.
pub(crate) async fn fetch(
    call: &mut Call<'_>,
    client: &Client,
    path: &str,
    accept: &str,
    sink: &mut dyn Sink,
) -> Result<u64> {
    let config = client.config();
    let connect_secs = config.connect_timeout.as_secs();
    call.begin_request(path, sink.file().into_iter().collect(), 0)?;
    let started = Instant::now();
    let response = loop {
        let response = call
            .drive(client.send(Method::GET, path, Auth::Bearer, |request| {
                Ok(request
                    .header(ACCEPT, accept)
                    // Bytes as stored: no gzip, so counts match Content-Length.
                    .header(ACCEPT_ENCODING, "identity"))
            }))
            .await??;
        if response.status() != StatusCode::ACCEPTED {
            break call
                .drive(check_status(&Method::GET, path, response))
                .await??;
        }
        let retry_after = retry_after_secs(&response);
        drop(response);
        let limit = config.processing_timeout;
        let waited = started.elapsed();
        if waited >= limit {
            return Err(Error::ProcessingTimeout {
                path: path.into(),
                secs: limit.as_secs(),
            });
        }
        let pause = Duration::from_secs(retry_after.unwrap_or(DEFAULT_RETRY_AFTER));
        call.wait_processing(pause.min(limit - waited), limit, retry_after)
            .await?;
    };

    let total = response.content_length().unwrap_or(0);
    sink.begin(total)?;
    call.begin_bytes(total)?;
    let meter = call.meter();
    let received = call
        .drive(stream_body(path, response, sink, &meter, connect_secs))
        .await??;
    if total > 0 && received != total {
        return Err(Error::IncompleteBody {
            path: path.into(),
            received,
            expected: total,
        });
    }
    sink.finish()?;
    call.end_request(received, 1)?;
    Ok(received)
}

/// Moves the body into the sink; the driver reads the count from `meter`.
async fn stream_body(
    path: &str,
    mut response: reqwest::Response,
    sink: &mut dyn Sink,
    meter: &Meter,
    connect_secs: u64,
) -> Result<u64> {
    let total = response.content_length().unwrap_or(0);
    let mut received: u64 = 0;
    loop {
        match response.chunk().await {
            Ok(Some(bytes)) => {
                received += bytes.len() as u64;
                sink.write(&bytes)?;
                meter.set(received);
            }
            Ok(None) => return Ok(received),
            Err(e) => {
                return Err(if total > 0 && received < total && !e.is_timeout() {
                    Error::IncompleteBody {
                        path: path.into(),
                        received,
                        expected: total,
                    }
                } else {
                    Error::from_reqwest(path, e, connect_secs)
                });
            }
        }
    }
}

/// Downloads `path` to `target` atomically within `call`. Returns the byte count.
pub async fn to_file(
    call: &mut Call<'_>,
    client: &Client,
    path: &str,
    accept: &str,
    target: &Path,
) -> Result<u64> {
    let mut sink = FileSink::new(target)?;
    let count = fetch(call, client, path, accept, &mut sink).await?;
    sink.commit()?;
    Ok(count)
}

/// Downloads `path` into memory within `call`.
pub async fn to_memory(
    call: &mut Call<'_>,
    client: &Client,
    path: &str,
    accept: &str,
) -> Result<Vec<u8>> {
    let mut sink = MemorySink::default();
    fetch(call, client, path, accept, &mut sink).await?;
    Ok(sink.data)
}
