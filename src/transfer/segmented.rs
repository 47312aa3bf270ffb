//! Segmented downloads: one file fetched as N ranged requests at once, each
//! written at its offset into the one temporary file, then verified and
//! renamed as any download (what rclone's `--multi-thread-streams` and
//! aria2's `-x` do). On a link where one connection is capped (a proxy's
//! per-connection shaping, a long fat pipe), N streams move up to N times
//! the bytes.
//!
//! The first request asks for `bytes=0-`: a server that answers 200 (no
//! ranges) gets a plain single-stream download. A 206 gives the length; the
//! file is split into segments of at least [`MIN_SEGMENT`]; the first
//! answer carries the first segment, the others are asked for at once with
//! bounded ranges (and `If-Range`). A segment that fails lets the others
//! finish; the attempt then fails, keeping what every segment wrote, and
//! the retry asks only for what is missing. A server that
//! stops honouring the ranges (the file changed) makes the next attempt
//! start again from nothing.

use std::cell::Cell;
use std::fs::File;
use std::os::unix::fs::FileExt;
use std::path::Path;
use std::time::Instant;

use reqwest::{Method, StatusCode};

use super::call::{Call, Meter};
use super::download::{
    content_range, get_waiting, ranged_get, stream_body, validator_of, FileSink, Sink,
};
use super::retry::{retrying, Idempotency};
use crate::client::{check_status, Auth, Client};
use crate::error::{Error, Result};

/// Segments are never smaller than this: below it, a request's round trip
/// costs more than its parallelism gains.
pub const MIN_SEGMENT: u64 = 1024 * 1024;

struct Segment {
    start: u64,
    /// Exclusive.
    end: u64,
    written: Cell<u64>,
}

impl Segment {
    fn next(&self) -> u64 {
        self.start + self.written.get()
    }
    fn remaining(&self) -> u64 {
        self.end - self.next()
    }
}

/// The file's layout once its length is known; kept across attempts.
struct Plan {
    total: u64,
    validator: Option<String>,
    segments: Vec<Segment>,
    /// The server answered a range with other bytes: start again.
    stale: Cell<bool>,
    /// The server answered a bounded range with the whole file (200): it
    /// honours only open ranges, so the file comes in one stream.
    one_stream: Cell<bool>,
}

impl Plan {
    fn new(total: u64, validator: Option<String>, wanted: u32) -> Plan {
        let count = u64::from(wanted.max(1)).min(total / MIN_SEGMENT).max(1);
        let size = total.div_ceil(count).max(1);
        let segments = (0..count)
            .map(|i| Segment {
                start: (i * size).min(total),
                end: ((i + 1) * size).min(total),
                written: Cell::new(0),
            })
            .filter(|s| s.end > s.start || total == 0)
            .collect();
        Plan {
            total,
            validator,
            segments,
            stale: Cell::new(false),
            one_stream: Cell::new(false),
        }
    }

    fn done(&self) -> u64 {
        self.segments.iter().map(|s| s.written.get()).sum()
    }
}

/// Downloads `path` to `target` in up to `call.segments()` ranged streams.
pub(crate) async fn to_file(
    call: &mut Call<'_>,
    client: &Client,
    path: &str,
    accept: &str,
    target: &Path,
) -> Result<u64> {
    let mut sink = FileSink::new(target, None, call.checksum_requested())?;
    let mut plan: Option<Plan> = None;
    let mut processing_since: Option<Instant> = None;
    let wanted = call.segments();
    let received = retrying(call, Idempotency::Repeatable, async |call| {
        if plan.as_ref().is_some_and(|p| p.one_stream.get()) {
            return Ok(None);
        }
        if plan.as_ref().is_some_and(|p| p.stale.get()) {
            plan = None;
        }
        let attempt = Attempt {
            client,
            path,
            accept,
            target,
            wanted,
        };
        attempt
            .run(call, &mut sink, &mut plan, &mut processing_since)
            .await
    })
    .await?;
    let Some(received) = received else {
        // Bounded ranges are not honoured: one stream, as a plain download.
        sink.restart()?;
        let received = super::download::fetch(call, client, path, accept, &mut sink).await?;
        sink.commit()?;
        return Ok(received);
    };
    sink.finish()?;
    if let Some(digest) = sink.digest()? {
        call.add_digest(digest);
    }
    call.end_request(received, 1)?;
    sink.commit()?;
    Ok(received)
}

/// What every attempt of one segmented download shares.
struct Attempt<'r> {
    client: &'r Client,
    path: &'r str,
    accept: &'r str,
    target: &'r Path,
    wanted: u32,
}

impl Attempt<'_> {
    async fn run(
        &self,
        call: &mut Call<'_>,
        sink: &mut FileSink,
        plan: &mut Option<Plan>,
        processing_since: &mut Option<Instant>,
    ) -> Result<Option<u64>> {
        call.begin_request(self.path, vec![self.target.to_path_buf()], 0)?;
        let mut first = None;
        if plan.is_none() {
            let response = get_waiting(
                call,
                self.client,
                self.path,
                self.accept,
                Some("bytes=0-"),
                None,
                processing_since,
            )
            .await?;
            if response.status() != StatusCode::PARTIAL_CONTENT {
                return self.whole_body(call, response, sink).await.map(Some);
            }
            let total = match content_range(&response) {
                Some((0, total)) => total,
                _ => {
                    return Err(Error::InvalidResponse {
                        path: self.path.into(),
                        message: "a 206 answer to bytes=0- without a usable Content-Range".into(),
                    })
                }
            };
            *plan = Some(Plan::new(total, validator_of(&response), self.wanted));
            first = Some(response);
        }
        let Some(plan) = plan.as_ref() else {
            unreachable!("planned above")
        };
        call.begin_bytes(plan.total)?;
        let meter = call.meter();
        meter.set(plan.done());
        let file = sink.sized_file(plan.total)?;
        let streams = plan
            .segments
            .iter()
            .filter(|segment| segment.remaining() > 0)
            .map(|segment| {
                // The first answer starts at 0: it carries the first segment.
                let response = if segment.start == 0 {
                    first.take()
                } else {
                    None
                };
                self.stream_segment(plan, segment, response, file, &meter)
            });
        // A segment that fails does not stop the others: what they move is
        // kept, and the next attempt asks only for what is missing.
        let outcomes = call.drive(futures_util::future::join_all(streams)).await?;
        if plan.one_stream.get() {
            return Ok(None);
        }
        outcomes.into_iter().collect::<Result<Vec<()>>>()?;
        Ok(Some(plan.total))
    }

    /// The server ignored the range: the whole body in one stream.
    async fn whole_body(
        &self,
        call: &mut Call<'_>,
        response: reqwest::Response,
        sink: &mut FileSink,
    ) -> Result<u64> {
        sink.restart()?;
        let total = response.content_length().unwrap_or(0);
        call.begin_bytes(total)?;
        let meter = call.meter();
        meter.set(0);
        let path = self.path;
        let connect_secs = self.client.config().connect_timeout.as_secs();
        let received = call
            .drive(stream_body(path, response, sink, &meter, connect_secs, &[]))
            .await??;
        Ok(received)
    }

    /// Moves one segment's missing bytes to its offsets in `file`.
    async fn stream_segment(
        &self,
        plan: &Plan,
        segment: &Segment,
        response: Option<reqwest::Response>,
        file: &File,
        meter: &Meter,
    ) -> Result<()> {
        let path = self.path;
        let mut response = match response {
            Some(response) => response,
            None => {
                let range = format!("bytes={}-{}", segment.next(), segment.end - 1);
                let response = self
                    .client
                    .send(Method::GET, path, Auth::Bearer, |request| {
                        Ok(ranged_get(
                            request,
                            self.accept,
                            Some(&range),
                            plan.validator.as_deref(),
                        ))
                    })
                    .await?;
                let response = check_status(&Method::GET, path, response).await?;
                let continues = response.status() == StatusCode::PARTIAL_CONTENT
                    && content_range(&response) == Some((segment.next(), plan.total));
                if response.status() == StatusCode::OK {
                    plan.one_stream.set(true);
                    return Err(Error::InvalidResponse {
                        path: path.into(),
                        message: format!(
                            "the server answered the range {range} with the whole file"
                        ),
                    });
                }
                if !continues {
                    plan.stale.set(true);
                    return Err(Error::Network {
                        path: path.into(),
                        message: format!(
                            "the server answered the range {range} with other bytes (the file changed?); starting again"
                        ),
                    });
                }
                response
            }
        };
        let connect_secs = self.client.config().connect_timeout.as_secs();
        while segment.remaining() > 0 {
            match response.chunk().await {
                Ok(Some(bytes)) => {
                    // The first answer runs to the end of the file: only this segment's part.
                    let take = (bytes.len() as u64).min(segment.remaining()) as usize;
                    file.write_all_at(&bytes[..take], segment.next())
                        .map_err(|e| Error::io(self.target, e))?;
                    segment.written.set(segment.written.get() + take as u64);
                    meter.add(take as u64);
                }
                Ok(None) => {
                    return Err(Error::IncompleteBody {
                        path: path.into(),
                        received: plan.done(),
                        expected: plan.total,
                    })
                }
                Err(e) => return Err(body_error(path, e, connect_secs, plan.done(), plan.total)),
            }
        }
        Ok(())
    }
}

/// A body that broke: a timeout as such, anything else as a cut body.
fn body_error(
    path: &str,
    error: reqwest::Error,
    connect_secs: u64,
    received: u64,
    expected: u64,
) -> Error {
    if error.is_timeout() {
        Error::from_reqwest(path, error, connect_secs)
    } else {
        Error::IncompleteBody {
            path: path.into(),
            received,
            expected,
        }
    }
}
