//! One call context for every transfer, and the one driver loop.
//!
//! A [`Call`] is made per library call (a download, an upload, a composite of
//! several requests). It holds the caller's simple progress callback, the
//! event callback and the cancel token, and it is the only place that runs
//! request futures: [`Call::drive`] polls a future on the calling thread
//! while it watches, every [`TICK`], the byte counter a request updates (an
//! upload body on a worker thread, a download body loop), the stall clock,
//! the heartbeats of both callbacks, and the cancel token (at once, through
//! its notification). [`Call::wait`] does the same for deliberate waits (a
//! 202's Retry-After), without the stall clock. Callbacks therefore run only
//! on the thread that called the library, in every phase.

use std::future::Future;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU32, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use super::cancel::CancelToken;
use super::event::{Event, EventFn, Operation, Phase};
use super::progress::{Progress, ProgressFn, HEARTBEAT, MIN_INTERVAL};
use crate::client::Client;
use crate::client::{RetryOverride, RetryPolicy};
use crate::error::{Error, Result};
use crate::reentry::run_callback;

/// How often the driver looks at counters, clocks and heartbeats.
const TICK: Duration = Duration::from_millis(100);

/// What a caller gives every transfer: the simple callback, the event
/// callback, the cancel token. All optional; `Default` is none of them.
#[derive(Default)]
pub struct TransferOptions<'a> {
    /// `(bytes_done, total) -> keep_going`, with the contract of [`super::progress`].
    pub progress: Option<&'a mut ProgressFn<'a>>,
    /// Rich events; returning false aborts, as the simple callback.
    pub on_event: Option<&'a mut EventFn<'a>>,
    /// Cancels the call from any thread.
    pub cancel: Option<CancelToken>,
    /// This call's retry settings over the client's.
    pub retry: RetryOverride,
    /// Keep a failed or cancelled download's bytes beside the target and
    /// continue from them in the next call with `resume` for the same route
    /// and target. Off: nothing is ever left behind.
    pub resume: bool,
    /// Ranged requests in flight at once for one file download, where the
    /// server answers ranges (0 or 1: one stream). See [`super::segmented`].
    pub segments: u32,
    /// Compute the SHA-256 of every file moved, while its bytes stream
    /// (see [`super::checksum`]); it comes in the [`Receipt`].
    pub checksum: bool,
    /// Filled when the call ends, successful or not: what it did.
    pub receipt: Option<&'a mut Receipt>,
}

/// What a transfer did: the record a caller keeps (C:
/// `kitsu_transfer_result`; Python: the result's attributes).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Receipt {
    /// The HTTP status of the last answer (0: none came).
    pub status: u16,
    /// The last answer's headers, names in lower case, in the server's order.
    pub headers: Vec<(String, String)>,
    /// File bytes moved: a download's length, an upload's file bytes (of
    /// the requests that succeeded, or moved so far when the call failed).
    pub bytes: u64,
    /// The most attempts one request of the call took (1: no retry).
    pub attempts: u32,
    /// The SHA-256 of each file moved, in order, when `checksum` was asked.
    pub sha256: Vec<[u8; 32]>,
}

impl<'a> TransferOptions<'a> {
    /// Only a simple progress callback.
    pub fn with_progress(progress: &'a mut ProgressFn<'a>) -> TransferOptions<'a> {
        TransferOptions {
            progress: Some(progress),
            ..TransferOptions::default()
        }
    }
}

/// Byte and item counters of the request in flight: written by the code that
/// moves bytes (possibly on a worker thread), read by the driver. A child
/// meter (one chunk of a chunked upload, several in flight) passes every
/// change on to its parent, and can take back what it counted when its
/// attempt failed.
#[derive(Debug, Default)]
pub(crate) struct Meter {
    bytes: AtomicU64,
    item: AtomicU32,
    parent: Option<Arc<Meter>>,
    /// Added to this meter's item when passed to the parent.
    item_base: u32,
}

impl Meter {
    /// A meter whose counts also go to `parent`, its item as `item_base` + its own.
    pub fn child(parent: &Arc<Meter>, item_base: u32) -> Arc<Meter> {
        let child = Arc::new(Meter {
            parent: Some(parent.clone()),
            item_base,
            ..Meter::default()
        });
        parent.set_item(item_base);
        child
    }
    pub fn add(&self, bytes: u64) {
        self.bytes.fetch_add(bytes, Ordering::Relaxed);
        if let Some(parent) = &self.parent {
            parent.add(bytes);
        }
    }
    pub fn set(&self, bytes: u64) {
        let old = self.bytes.swap(bytes, Ordering::Relaxed);
        if let Some(parent) = &self.parent {
            if bytes >= old {
                parent.add(bytes - old);
            } else {
                parent.subtract(old - bytes);
            }
        }
    }
    fn subtract(&self, bytes: u64) {
        // Never below 0, even if a parent was reset in between.
        let _ = self
            .bytes
            .fetch_update(Ordering::Relaxed, Ordering::Relaxed, |v| {
                Some(v.saturating_sub(bytes))
            });
        if let Some(parent) = &self.parent {
            parent.subtract(bytes);
        }
    }
    /// The file (0-based within the request) whose bytes are moving; a
    /// child names its chunk to its parent.
    pub fn set_item(&self, item: u32) {
        self.item.store(item, Ordering::Relaxed);
        if let Some(parent) = &self.parent {
            parent.set_item(self.item_base.saturating_add(item));
        }
    }
    pub fn bytes(&self) -> u64 {
        self.bytes.load(Ordering::Relaxed)
    }
    pub fn item(&self) -> u32 {
        self.item.load(Ordering::Relaxed)
    }
    fn reset(&self) {
        self.set(0);
        self.set_item(0);
    }
}

/// Why a call waits, for the event's message.
#[derive(Clone, Debug)]
enum WaitReason {
    Processing {
        retry_after: Option<u64>,
    },
    /// Polling a record until the server has processed its file, since `since`.
    Polling {
        since: Instant,
    },
    Retry {
        reason: String,
        max_attempts: u32,
    },
}

/// The context of one library call. See the module documentation.
pub struct Call<'a> {
    progress: Progress<'a>,
    on_event: Option<&'a mut EventFn<'a>>,
    cancel: Option<CancelToken>,
    stall: Duration,
    retry: RetryPolicy,
    resume: bool,
    segments: u32,
    checksum: bool,
    receipt: Receipt,
    receipt_out: Option<&'a mut Receipt>,

    operation: Operation,
    phase: Phase,
    phase_since: Instant,
    deadline: Option<Duration>,
    wait_reason: Option<WaitReason>,
    key: String,
    /// The local files of the request in flight (one for a download).
    files: Vec<PathBuf>,
    attempt: u32,
    /// Files of the call moved by earlier requests.
    item_base: u32,
    item_count: u32,
    last_event: Instant,

    /// Bytes of the call moved by earlier requests.
    offset: u64,
    /// File bytes the upload in flight sends (0 for other requests).
    request_bytes: u64,
    meter: Arc<Meter>,
    seen: u64,
    last_activity: Instant,
    /// The file changed: the next answer's length is the new total.
    total_restarted: bool,
}

impl<'a> Call<'a> {
    pub fn new(client: &Client, options: TransferOptions<'a>) -> Call<'a> {
        let now = Instant::now();
        Call {
            progress: Progress::new(options.progress),
            on_event: options.on_event,
            cancel: options.cancel,
            stall: client.config().stall_timeout,
            retry: options.retry.over(client.config().retry),
            resume: options.resume,
            segments: options.segments.max(1),
            checksum: options.checksum,
            receipt: Receipt::default(),
            receipt_out: options.receipt,
            operation: Operation::Download,
            phase: Phase::Connecting,
            phase_since: now,
            deadline: None,
            wait_reason: None,
            key: String::new(),
            files: Vec::new(),
            attempt: 1,
            item_base: 0,
            item_count: 1,
            last_event: now,
            offset: 0,
            request_bytes: 0,
            meter: Arc::new(Meter::default()),
            seen: 0,
            last_activity: now,
            total_restarted: false,
        }
    }

    pub fn check_cancelled(&self) -> Result<()> {
        match &self.cancel {
            Some(token) if token.is_cancelled() => Err(Error::Cancelled),
            _ => Ok(()),
        }
    }

    pub(crate) fn retry_policy(&self) -> RetryPolicy {
        self.retry
    }

    pub(crate) fn resume_requested(&self) -> bool {
        self.resume
    }

    /// Ranged streams for one file download (1: a single stream).
    pub(crate) fn segments(&self) -> u32 {
        self.segments
    }

    pub(crate) fn set_attempt(&mut self, attempt: u32) {
        self.attempt = attempt;
        self.receipt.attempts = self.receipt.attempts.max(attempt);
    }

    /// Whether the caller asked for the SHA-256 of the files moved.
    pub(crate) fn checksum_requested(&self) -> bool {
        self.checksum
    }

    /// The SHA-256 of the next file of the call, computed by its sink or body.
    pub(crate) fn add_digest(&mut self, digest: [u8; 32]) {
        self.receipt.sha256.push(digest);
    }

    /// An answer came: its status and headers go in the receipt.
    pub(crate) fn note_answer(&mut self, response: &reqwest::Response) {
        self.receipt.status = response.status().as_u16();
        self.receipt.headers = response
            .headers()
            .iter()
            .map(|(name, value)| {
                (
                    name.as_str().to_string(),
                    String::from_utf8_lossy(value.as_bytes()).into_owned(),
                )
            })
            .collect();
    }

    /// The server's file changed under the request in flight: its count
    /// starts again, the total unknown until the new answer says it.
    pub(crate) fn restart_bytes(&mut self) -> Result<()> {
        self.meter.set(0);
        self.seen = 0;
        self.progress.restart(0, self.offset)?;
        self.total_restarted = true;
        Ok(())
    }

    /// The call's receipt, taken (a batch item's goes in its outcome).
    pub(crate) fn take_receipt(&mut self, succeeded: bool) -> Receipt {
        self.receipt.bytes = if succeeded {
            // Requests that ended (downloads, uploads), or what a chunked
            // upload counted as it went.
            self.offset.max(self.progress.latest())
        } else {
            self.offset + self.meter.bytes()
        };
        self.receipt.attempts = self.receipt.attempts.max(1);
        std::mem::take(&mut self.receipt)
    }

    /// Writes the receipt where the caller asked for it.
    fn deliver_receipt(&mut self, succeeded: bool) {
        let receipt = self.take_receipt(succeeded);
        if let Some(out) = self.receipt_out.as_deref_mut() {
            *out = receipt;
        }
    }

    pub(crate) fn attempt(&self) -> u32 {
        self.attempt
    }

    /// The call's count of bytes moved so far: it never decreases, and a
    /// retry that sends again from the start does not raise it until it has
    /// passed what an earlier attempt moved.
    pub(crate) fn bytes_moved(&self) -> u64 {
        self.progress.latest()
    }

    /// Waits `duration` before attempt `next` (of at most `max_attempts` in a
    /// row) in [`Phase::Retrying`], with `reason` in the event's message.
    pub(crate) async fn wait_retry(
        &mut self,
        duration: Duration,
        reason: &str,
        next: u32,
        max_attempts: u32,
    ) -> Result<()> {
        self.deadline = Some(duration);
        self.wait_reason = Some(WaitReason::Retry {
            reason: reason.to_string(),
            max_attempts,
        });
        self.attempt = next;
        self.enter(Phase::Retrying)?;
        self.poll_watched(tokio::time::sleep(duration), false)
            .await
            .map(|_| ())
    }

    /// Declares what the whole call moves, when known before the first
    /// request: the operation, the sum of the file sizes (the progress
    /// total, reported at once as the first call `(0, total)`) and the
    /// number of files.
    pub fn expect(&mut self, operation: Operation, total: u64, files: usize) -> Result<()> {
        self.operation = operation;
        self.item_count = count_u32(files).max(1);
        self.progress.start(total)
    }

    /// For a request of a call that declared nothing up front: its file
    /// bytes become the total (the first call `(0, total)`), its files the items.
    pub(crate) fn expect_at_least(&mut self, bytes: u64, files: usize) -> Result<()> {
        let needed = self.item_base.saturating_add(count_u32(files));
        self.item_count = self.item_count.max(needed);
        if !self.progress.is_started() {
            self.progress.start(self.offset + bytes)?;
        }
        Ok(())
    }

    /// A new request of the call: reported as [`Phase::Connecting`] on `key`.
    pub(crate) fn begin_request(
        &mut self,
        key: &str,
        files: Vec<PathBuf>,
        request_bytes: u64,
    ) -> Result<()> {
        self.check_cancelled()?;
        self.key = key.to_string();
        self.files = files;
        self.request_bytes = request_bytes;
        self.meter.reset();
        self.seen = 0;
        self.wait_reason = None;
        self.deadline = None;
        self.enter(Phase::Connecting)
    }

    /// A download's answer arrived: bytes start to move; `total` 0 if unknown.
    pub(crate) fn begin_bytes(&mut self, total: u64) -> Result<()> {
        if std::mem::take(&mut self.total_restarted) {
            self.progress.restart(self.offset + total, self.offset)?;
        }
        self.progress.start(self.offset + total)?;
        self.enter(Phase::Transferring)
    }

    /// The counters the request in flight updates.
    pub(crate) fn meter(&self) -> Arc<Meter> {
        self.meter.clone()
    }

    /// The request in flight finished successfully after moving `bytes`
    /// (of `files` files); later requests count after them.
    pub(crate) fn end_request(&mut self, bytes: u64, files: usize) -> Result<()> {
        self.offset += bytes;
        self.item_base += count_u32(files);
        self.meter.reset();
        self.seen = 0;
        self.request_bytes = 0;
        if self.progress.is_started() {
            self.progress.update(self.offset)?;
        }
        Ok(())
    }

    /// The operation of the call (uploads set it; downloads are the default).
    pub(crate) fn set_operation(&mut self, operation: Operation) {
        self.operation = operation;
    }

    /// The last call of a successful call: the final count, then [`Phase::Done`].
    pub(crate) fn complete(&mut self) -> Result<()> {
        let done = self.progress.latest().max(self.offset);
        self.progress.finish(done)?;
        self.enter(Phase::Done)
    }

    /// Polls `future` to completion on this thread, with the stall clock
    /// (no byte moved for the stall timeout fails with [`Error::Stalled`]).
    pub async fn drive<F: Future>(&mut self, future: F) -> Result<F::Output> {
        self.poll_watched(future, true).await
    }

    /// Polls `future` without the call's stall clock: for work that watches
    /// its own requests (the chunks of a chunked upload, each with its own
    /// stall clock, some possibly waiting to retry while others move).
    pub(crate) async fn drive_unwatched<F: Future>(&mut self, future: F) -> Result<F::Output> {
        self.poll_watched(future, false).await
    }

    /// The call's stall timeout.
    pub(crate) fn stall_timeout(&self) -> Duration {
        self.stall
    }

    /// Waits `duration` of a 202's Retry-After in [`Phase::Waiting`], with
    /// `limit` (the processing timeout) as the phase's deadline.
    pub(crate) async fn wait_processing(
        &mut self,
        duration: Duration,
        limit: Duration,
        retry_after: Option<u64>,
    ) -> Result<()> {
        self.wait(WaitReason::Processing { retry_after }, duration, limit)
            .await
    }

    /// Waits `duration` between two polls of a record being processed, in
    /// [`Phase::Waiting`] counted from `since` (the polls' own requests in
    /// between do not restart the count).
    pub(crate) async fn wait_polling(
        &mut self,
        duration: Duration,
        limit: Duration,
        since: Instant,
    ) -> Result<()> {
        self.wait(WaitReason::Polling { since }, duration, limit)
            .await
    }

    async fn wait(
        &mut self,
        reason: WaitReason,
        duration: Duration,
        limit: Duration,
    ) -> Result<()> {
        self.wait_reason = Some(reason);
        if self.phase != Phase::Waiting {
            self.deadline = Some(limit);
            self.enter(Phase::Waiting)?;
        }
        self.poll_watched(tokio::time::sleep(duration), false)
            .await
            .map(|_| ())
    }

    async fn poll_watched<F: Future>(&mut self, future: F, stall_clock: bool) -> Result<F::Output> {
        self.check_cancelled()?;
        let token = self.cancel.clone();
        let cancelled = async move {
            match token {
                Some(token) => token.cancelled().await,
                None => std::future::pending().await,
            }
        };
        tokio::pin!(future, cancelled);
        self.last_activity = Instant::now();
        let mut tick = tokio::time::interval_at(tokio::time::Instant::now() + TICK, TICK);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tokio::select! {
                biased;
                _ = &mut cancelled => return Err(Error::Cancelled),
                output = &mut future => return Ok(output),
                _ = tick.tick() => self.on_tick(stall_clock)?,
            }
        }
    }

    /// Takes in what the meter counted since the last look: the phase
    /// change to Transferring (always reported), and throttled updates.
    /// Also called when a request ends between two ticks, so a fast
    /// transfer still reports its phases.
    pub(crate) fn observe_meter(&mut self) -> Result<()> {
        let moved = self.meter.bytes();
        if moved != self.seen {
            self.seen = moved;
            self.last_activity = Instant::now();
            if self.phase == Phase::Connecting && moved > 0 {
                self.enter(Phase::Transferring)?;
            }
            if self.progress.is_started() {
                self.progress.update(self.offset + moved)?;
            }
            if self.last_event.elapsed() >= MIN_INTERVAL {
                self.emit()?;
            }
        }
        Ok(())
    }

    fn on_tick(&mut self, stall_clock: bool) -> Result<()> {
        self.observe_meter()?;
        if stall_clock && self.last_activity.elapsed() >= self.stall {
            return Err(Error::Stalled {
                path: self.key.clone(),
                secs: self.stall.as_secs(),
            });
        }
        self.progress.heartbeat()?;
        if self.last_event.elapsed() >= HEARTBEAT {
            self.emit()?;
        }
        Ok(())
    }

    /// Enters `phase` and reports it (a new request re-reports Connecting).
    fn enter(&mut self, phase: Phase) -> Result<()> {
        if phase != self.phase {
            self.phase = phase;
            self.phase_since = match (phase, &self.wait_reason) {
                (Phase::Waiting, Some(WaitReason::Polling { since })) => *since,
                _ => Instant::now(),
            };
            if phase != Phase::Waiting && phase != Phase::Retrying {
                self.deadline = None;
            }
        } else if phase == Phase::Connecting {
            self.phase_since = Instant::now();
        }
        self.emit()
    }

    fn message(&self) -> String {
        let elapsed = self.phase_since.elapsed().as_secs();
        match (self.phase, &self.wait_reason) {
            (Phase::Waiting, Some(WaitReason::Processing { retry_after })) => {
                let limit = self.deadline.map(|d| d.as_secs()).unwrap_or(0);
                let asked = match retry_after {
                    Some(secs) => format!(", Retry-After {secs} s"),
                    None => String::new(),
                };
                format!("the server is processing the file (202{asked}): {elapsed} s of {limit} s")
            }
            (Phase::Waiting, Some(WaitReason::Polling { .. })) => {
                let limit = self.deadline.map(|d| d.as_secs()).unwrap_or(0);
                format!("the server is processing the file: {elapsed} s of {limit} s")
            }
            (Phase::Waiting, _) => format!("waiting for the server: {elapsed} s"),
            (Phase::Connecting, _) => format!("waiting for the server's answer: {elapsed} s"),
            (Phase::Transferring, _) => {
                let verb = match self.operation {
                    Operation::Download => "downloading",
                    Operation::Upload => "uploading",
                    Operation::Batch => "moving",
                };
                if self.operation == Operation::Upload
                    && self.request_bytes > 0
                    && self.seen >= self.request_bytes
                {
                    format!("all bytes sent; waiting for the server's answer: {elapsed} s")
                } else {
                    match self.current_file() {
                        Some(file) => format!("{verb} {}", display_name(file)),
                        None => verb.to_string(),
                    }
                }
            }
            (
                Phase::Retrying,
                Some(WaitReason::Retry {
                    reason,
                    max_attempts,
                }),
            ) => {
                let wait = self.deadline.unwrap_or_default().as_secs_f64();
                format!(
                    "{reason}; attempt {} of {max_attempts} in {wait:.1} s",
                    self.attempt
                )
            }
            (Phase::Retrying, _) => format!("retrying: {elapsed} s"),
            (Phase::Done, _) => "done".to_string(),
            (Phase::Queued, _) => "queued".to_string(),
            (Phase::Failed, _) => "failed".to_string(),
        }
    }

    fn current_file(&self) -> Option<&Path> {
        let item = self.meter.item() as usize;
        self.files
            .get(item)
            .or_else(|| self.files.last())
            .map(PathBuf::as_path)
    }

    /// Delivers the current state to the event callback (if any).
    fn emit(&mut self) -> Result<()> {
        self.last_event = Instant::now();
        if self.on_event.is_none() {
            return Ok(());
        }
        let message = self.message();
        let item = self.meter.item();
        let file = self.current_file().map(Path::to_path_buf);
        let event = Event {
            operation: self.operation,
            phase: self.phase,
            key: &self.key,
            file: file.as_deref(),
            bytes_done: self.progress.latest(),
            total: self.progress.total(),
            attempt: self.attempt,
            elapsed: self.phase_since.elapsed(),
            deadline: self.deadline,
            item_index: (self.item_base + item).min(self.item_count.saturating_sub(1)),
            item_count: self.item_count,
            message: &message,
        };
        let Some(callback) = self.on_event.as_mut() else {
            return Ok(());
        };
        if run_callback(|| callback(&event)) {
            Ok(())
        } else {
            Err(Error::AbortedByCallback)
        }
    }
}

fn count_u32(count: usize) -> u32 {
    u32::try_from(count).unwrap_or(u32::MAX)
}

fn display_name(path: &Path) -> String {
    path.file_name()
        .unwrap_or(path.as_os_str())
        .to_string_lossy()
        .into_owned()
}

impl Client {
    /// Runs one library call on the calling thread: `body` gets the call's
    /// context, and on success the last progress call and the Done event
    /// are made. A token already cancelled fails at once, before any request.
    pub fn run<T>(
        &self,
        options: TransferOptions<'_>,
        body: impl AsyncFnOnce(&mut Call<'_>) -> Result<T>,
    ) -> Result<T> {
        let mut call = Call::new(self, options);
        if let Err(error) = call.check_cancelled() {
            call.deliver_receipt(false);
            return Err(error);
        }
        let result = self.block_on(async {
            let value = body(&mut call).await?;
            call.complete()?;
            Ok(value)
        });
        call.deliver_receipt(result.is_ok());
        result
    }
}
