//! Streaming downloads. The body goes to a [`Sink`]: a temporary file in the
//! destination folder renamed onto the target only once the whole body
//! arrived (and matched Content-Length), or memory. Error bodies never reach
//! a sink. A 202 "preview still processing" is waited out first.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use reqwest::header::{ACCEPT, ACCEPT_ENCODING};
use reqwest::{Method, StatusCode};
use tempfile::NamedTempFile;

use crate::client::{check_status, retry_after_secs, Auth, Client, Driver};
use crate::error::{Error, Result};
use crate::transfer::progress::{Progress, ProgressFn, HEARTBEAT};

/// gazu's DOWNLOAD_ACCEPT_HEADER: lets Zou answer 202 while a preview is processed.
const DOWNLOAD_ACCEPT: &str = "application/json, */*;q=0.1";
/// gazu's DEFAULT_RETRY_AFTER, when a 202 has no usable Retry-After.
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

/// GETs `path` into `sink`, waiting out 202 answers. Returns the byte count.
pub(crate) async fn fetch(
    client: &Client,
    path: &str,
    sink: &mut dyn Sink,
    progress: &mut Progress<'_>,
) -> Result<u64> {
    let config = client.config();
    let connect_secs = config.connect_timeout.as_secs();
    let mut driver = Driver::new(progress, config.stall_timeout, None);
    let deadline = Instant::now() + config.processing_timeout;
    let response = loop {
        let response = client
            .send(
                Method::GET,
                path,
                Auth::Bearer,
                |request| {
                    Ok(request
                        .header(ACCEPT, DOWNLOAD_ACCEPT)
                        // Bytes as stored: no gzip, so counts match Content-Length.
                        .header(ACCEPT_ENCODING, "identity"))
                },
                &mut driver,
            )
            .await?;
        if response.status() != StatusCode::ACCEPTED {
            break check_status(&Method::GET, path, response).await?;
        }
        let wait = Duration::from_secs(retry_after_secs(&response).unwrap_or(DEFAULT_RETRY_AFTER));
        drop(response);
        let now = Instant::now();
        if now >= deadline {
            return Err(Error::ProcessingTimeout {
                path: path.into(),
                secs: config.processing_timeout.as_secs(),
            });
        }
        tokio::time::sleep(wait.min(deadline - now)).await;
    };

    let total = response.content_length().unwrap_or(0);
    sink.begin(total)?;
    driver.progress.start(total)?;
    let received = stream_body(path, response, sink, &mut driver, connect_secs).await?;
    if total > 0 && received != total {
        return Err(Error::IncompleteBody {
            path: path.into(),
            received,
            expected: total,
        });
    }
    sink.finish()?;
    driver.progress.finish(received)?;
    Ok(received)
}

async fn stream_body(
    path: &str,
    mut response: reqwest::Response,
    sink: &mut dyn Sink,
    driver: &mut Driver<'_, '_>,
    connect_secs: u64,
) -> Result<u64> {
    let total = response.content_length().unwrap_or(0);
    let stall = driver.stall();
    let mut received: u64 = 0;
    let mut last_chunk = Instant::now();
    let tick = tokio::time::sleep(HEARTBEAT.min(stall));
    tokio::pin!(tick);
    loop {
        tokio::select! {
            biased;
            chunk = response.chunk() => match chunk {
                Ok(Some(bytes)) => {
                    received += bytes.len() as u64;
                    sink.write(&bytes)?;
                    driver.progress.update(received)?;
                    last_chunk = Instant::now();
                }
                Ok(None) => return Ok(received),
                Err(e) => {
                    return Err(if total > 0 && received < total && !e.is_timeout() {
                        Error::IncompleteBody { path: path.into(), received, expected: total }
                    } else {
                        Error::from_reqwest(path, e, connect_secs)
                    });
                }
            },
            _ = &mut tick => {
                if last_chunk.elapsed() >= stall {
                    return Err(Error::Stalled { path: path.into(), secs: stall.as_secs() });
                }
                driver.progress.heartbeat()?;
                tick.as_mut().reset(tokio::time::Instant::now() + HEARTBEAT.min(stall));
            }
        }
    }
}

impl Client {
    /// Downloads `path` to `target` atomically. Returns the byte count.
    pub fn download(
        &self,
        path: &str,
        target: &Path,
        progress: Option<&mut ProgressFn<'_>>,
    ) -> Result<u64> {
        let mut sink = FileSink::new(target)?;
        let mut progress = Progress::new(progress);
        let count = self.block_on(fetch(self, path, &mut sink, &mut progress))?;
        sink.commit()?;
        Ok(count)
    }

    /// Downloads `path` into memory (gazu's `get_file_data_from_url`).
    pub fn get_bytes(&self, path: &str, progress: Option<&mut ProgressFn<'_>>) -> Result<Vec<u8>> {
        let mut sink = MemorySink::default();
        let mut progress = Progress::new(progress);
        self.block_on(fetch(self, path, &mut sink, &mut progress))?;
        Ok(sink.data)
    }
}
