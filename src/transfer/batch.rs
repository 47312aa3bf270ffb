//! Batches: many transfers in one library call, at most `max_in_flight`
//! requests at once, all polled by the calling thread's `block_on` (so
//! every callback still runs on the caller's thread).
//!
//! Each item runs in a [`Call`] of its own (its stall clock, retries,
//! resume, 202 waits), whose callbacks feed the batch instead of the caller:
//! - the simple callback gets the combined count: bytes summed over the
//!   items, the total the sum of the items' lengths once every one is known
//!   (0 before), with the usual contract (first call, last call, never
//!   decreasing);
//! - the event callback gets every item's events (with the item's index in
//!   the batch), a `Queued` event per item when the run starts, a `Failed`
//!   one when an item fails, and the batch's own events ([`Operation::Batch`]).
//!
//! One failing item does not stop the others. The cancel token, or a
//! callback returning false, stops every item at once; items not started
//! then fail with [`Error::Cancelled`].

use std::cell::RefCell;
use std::time::{Duration, Instant};

use futures_util::stream::{FuturesUnordered, StreamExt};

use super::call::{Call, TransferOptions};
use super::cancel::CancelToken;
use super::event::{Event, EventFn, Operation, Phase};
use super::progress::{Progress, HEARTBEAT, MIN_INTERVAL};
use crate::client::Client;
use crate::error::{Error, Result};
use crate::reentry::run_callback;

/// Requests in flight when the caller asks for 0.
pub const DEFAULT_MAX_IN_FLIGHT: u32 = 8;
/// How often the batch gives its heartbeats and byte updates.
const TICK: Duration = Duration::from_millis(100);

/// What the runner knows of an item before it runs.
pub(crate) struct ItemSpec {
    /// The item's index in its batch.
    pub index: usize,
    /// The route, for the item's Queued and Failed events.
    pub key: String,
    pub operation: Operation,
    /// The bytes it moves, when known before it runs (an upload's files).
    pub known_total: Option<u64>,
}

/// File descriptors one item in flight may hold: its connection, its
/// temporary file, an upload's file, and one for the connection pool and
/// the server's side when it runs in the same process.
const DESCRIPTORS_PER_ITEM: usize = 4;

/// Items in flight the process can open files for: what its soft limit on
/// open files leaves, less what is open now and a margin, divided among
/// the items. `max_in_flight` is capped by it, so a batch of 100,000 in
/// flight under `ulimit -n 1024` runs about 240 at once instead of failing
/// most items with "Too many open files".
pub(crate) fn descriptor_cap() -> usize {
    #[cfg(unix)]
    {
        let mut limit = libc::rlimit {
            rlim_cur: 0,
            rlim_max: 0,
        };
        // SAFETY: a valid rlimit struct to fill.
        if unsafe { libc::getrlimit(libc::RLIMIT_NOFILE, &mut limit) } != 0
            || limit.rlim_cur == libc::RLIM_INFINITY
        {
            return usize::MAX;
        }
        let soft = usize::try_from(limit.rlim_cur).unwrap_or(usize::MAX);
        let open = std::fs::read_dir("/proc/self/fd")
            .map(|entries| entries.count())
            .unwrap_or(64);
        (soft.saturating_sub(open + 32) / DESCRIPTORS_PER_ITEM).max(1)
    }
    #[cfg(not(unix))]
    {
        usize::MAX
    }
}

/// What a successful item gives back.
#[derive(Clone, Debug, Default)]
pub struct Outcome {
    /// Bytes moved (the file's length for a download, the files' for an upload).
    pub bytes: u64,
    /// The server's answer of an upload (JSON), if any.
    pub answer: Option<String>,
    /// What the item's call did: status, attempts, bytes, and the SHA-256
    /// of its file when the batch asked for checksums.
    pub receipt: super::Receipt,
}

impl Outcome {
    /// The SHA-256 of the item's file (its first, for an upload of several),
    /// when the batch asked for checksums.
    pub fn sha256(&self) -> Option<[u8; 32]> {
        self.receipt.sha256.first().copied()
    }
}

/// The combined counts of the items of one run, kept as running sums: an
/// item's callback costs the same in a batch of 10 or of 10,000.
struct Tally {
    done: Vec<u64>,
    totals: Vec<Option<u64>>,
    done_sum: u64,
    known_sum: u64,
    unknown: usize,
    finished: usize,
    failed: usize,
    in_flight: usize,
}

impl Tally {
    fn new(known_totals: Vec<Option<u64>>) -> Tally {
        Tally {
            done: vec![0; known_totals.len()],
            known_sum: known_totals.iter().flatten().sum(),
            unknown: known_totals.iter().filter(|t| t.is_none()).count(),
            totals: known_totals,
            done_sum: 0,
            finished: 0,
            failed: 0,
            in_flight: 0,
        }
    }

    /// An item's count, which never decreases.
    fn record_done(&mut self, slot: usize, done: u64) {
        if done > self.done[slot] {
            self.done_sum += done - self.done[slot];
            self.done[slot] = done;
        }
    }

    /// An item's length, set once.
    fn record_total(&mut self, slot: usize, total: u64) {
        if self.totals[slot].is_none() {
            self.totals[slot] = Some(total);
            self.known_sum += total;
            self.unknown -= 1;
        }
    }

    fn done(&self) -> u64 {
        self.done_sum
    }

    /// The sum of the lengths, once every item's is known.
    fn total(&self) -> Option<u64> {
        (self.unknown == 0).then_some(self.known_sum)
    }
}

/// The caller's callbacks and what they were last told.
struct Reporter<'a> {
    progress: Progress<'a>,
    on_event: Option<&'a mut EventFn<'a>>,
    started: Instant,
    last_batch_event: Instant,
    reported_bytes: u64,
}

/// Shared by the item futures and the loop, all on the calling thread.
struct Shared<'a> {
    item_count: u32,
    tally: RefCell<Tally>,
    reporter: RefCell<Reporter<'a>>,
    /// Cancels every item: raised by the caller's token or a callback's "stop".
    stop: CancelToken,
    aborted: std::cell::Cell<bool>,
}

impl Shared<'_> {
    fn abort(&self) {
        self.aborted.set(true);
        self.stop.cancel();
    }

    /// An item's own simple callback: its count into the combined one.
    fn item_progress(&self, slot: usize, done: u64, total: u64) -> bool {
        let (sum, total) = {
            let mut tally = self.tally.borrow_mut();
            tally.record_done(slot, done);
            if total > 0 {
                tally.record_total(slot, total);
            }
            (tally.done(), tally.total())
        };
        let mut reporter = self.reporter.borrow_mut();
        if let Some(total) = total {
            reporter.progress.set_total(total);
        }
        if reporter.progress.update(sum).is_err() {
            drop(reporter);
            self.abort();
            return false;
        }
        true
    }

    /// An item's event, with its index in the batch.
    fn item_event(&self, index: usize, event: &Event<'_>) -> bool {
        let mut event = event.clone();
        event.item_index = u32::try_from(index).unwrap_or(u32::MAX);
        event.item_count = self.item_count;
        if self.deliver(&event) {
            true
        } else {
            self.abort();
            false
        }
    }

    fn deliver(&self, event: &Event<'_>) -> bool {
        let mut reporter = self.reporter.borrow_mut();
        match reporter.on_event.as_mut() {
            Some(callback) => run_callback(|| callback(event)),
            None => true,
        }
    }

    fn has_event_callback(&self) -> bool {
        self.reporter.borrow().on_event.is_some()
    }

    /// The Queued (at the start) or Failed (at the end) event of an item.
    fn item_state(&self, spec: &ItemSpec, slot: usize, phase: Phase, error: Option<&Error>) {
        let (done, total) = {
            let tally = self.tally.borrow();
            (tally.done[slot], tally.totals[slot].unwrap_or(0))
        };
        let message = match error {
            Some(error) => error.to_string(),
            None => "queued".to_string(),
        };
        let event = Event {
            operation: spec.operation,
            phase,
            key: &spec.key,
            file: None,
            bytes_done: done,
            total,
            attempt: error.map_or(0, |e| e.attempts().max(1)),
            elapsed: Duration::ZERO,
            deadline: None,
            item_index: u32::try_from(spec.index).unwrap_or(u32::MAX),
            item_count: self.item_count,
            message: &message,
        };
        if !self.deliver(&event) {
            self.abort();
        }
    }

    /// The batch's own event.
    fn batch_event(&self, phase: Phase) -> bool {
        if !self.has_event_callback() {
            return true;
        }
        let (done, total, finished, failed, in_flight, count) = {
            let tally = self.tally.borrow();
            (
                tally.done(),
                tally.total().unwrap_or(0),
                tally.finished,
                tally.failed,
                tally.in_flight,
                tally.done.len(),
            )
        };
        let message = format!(
            "{finished} of {count} items finished ({failed} failed), {in_flight} in flight"
        );
        let elapsed = self.reporter.borrow().started.elapsed();
        let event = Event {
            operation: Operation::Batch,
            phase,
            key: "batch",
            file: None,
            bytes_done: done,
            total,
            attempt: 1,
            elapsed,
            deadline: None,
            item_index: u32::try_from(finished).unwrap_or(u32::MAX),
            item_count: self.item_count,
            message: &message,
        };
        {
            let mut reporter = self.reporter.borrow_mut();
            reporter.last_batch_event = Instant::now();
            reporter.reported_bytes = done;
        }
        self.deliver(&event)
    }

    /// Heartbeats of both callbacks, and the batch's byte updates.
    fn tick(&self) -> bool {
        let done = self.tally.borrow().done();
        let (heartbeat_ok, due) = {
            let mut reporter = self.reporter.borrow_mut();
            let ok = reporter.progress.heartbeat().is_ok();
            let since = reporter.last_batch_event.elapsed();
            let due =
                since >= HEARTBEAT || (done != reporter.reported_bytes && since >= MIN_INTERVAL);
            (ok, due)
        };
        heartbeat_ok && (!due || self.batch_event(Phase::Transferring))
    }
}

/// Runs `specs` with at most `max_in_flight` (0: [`DEFAULT_MAX_IN_FLIGHT`])
/// at once; `run_item(index, call)` moves item `index` within its call.
/// `item_count` is the batch's size (items may be a subset: a re-run).
/// Returns each spec's result, in the order of `specs`, and the run's:
/// Ok when every item succeeded, else [`Error::BatchIncomplete`], or
/// [`Error::Cancelled`] / [`Error::AbortedByCallback`] when stopped.
pub(crate) fn run_batch(
    client: &Client,
    options: TransferOptions<'_>,
    max_in_flight: u32,
    item_count: usize,
    specs: &[ItemSpec],
    run_item: impl AsyncFn(usize, &mut Call<'_>) -> Result<Outcome>,
) -> (Vec<Result<Outcome>>, Result<()>) {
    let max_in_flight = match max_in_flight {
        0 => DEFAULT_MAX_IN_FLIGHT as usize,
        n => n as usize,
    }
    .min(descriptor_cap());
    let cancelled_results = || specs.iter().map(|_| Err(Error::Cancelled)).collect();
    if options
        .cancel
        .as_ref()
        .is_some_and(CancelToken::is_cancelled)
    {
        return (cancelled_results(), Err(Error::Cancelled));
    }
    if crate::reentry::in_callback() {
        return (
            specs.iter().map(|_| Err(Error::ReentrantCall)).collect(),
            Err(Error::ReentrantCall),
        );
    }
    let TransferOptions {
        progress,
        on_event,
        cancel,
        retry,
        resume,
        segments,
        checksum,
        receipt: _,
    } = options;
    let now = Instant::now();
    let shared = Shared {
        item_count: u32::try_from(item_count).unwrap_or(u32::MAX),
        tally: RefCell::new(Tally::new(specs.iter().map(|s| s.known_total).collect())),
        reporter: RefCell::new(Reporter {
            progress: Progress::new(progress),
            on_event,
            started: now,
            last_batch_event: now,
            reported_bytes: 0,
        }),
        stop: CancelToken::new(),
        aborted: std::cell::Cell::new(false),
    };
    let mut results: Vec<Option<Result<Outcome>>> = specs.iter().map(|_| None).collect();

    let run = async {
        let shared = &shared;
        let run_item = &run_item;
        let forward_events = shared.has_event_callback();
        let item = |slot: usize| async move {
            let spec = &specs[slot];
            let mut on_progress = |done: u64, total: u64| shared.item_progress(slot, done, total);
            let mut on_event = |event: &Event<'_>| shared.item_event(spec.index, event);
            let item_options = TransferOptions {
                progress: Some(&mut on_progress),
                on_event: if forward_events {
                    Some(&mut on_event)
                } else {
                    None
                },
                cancel: Some(shared.stop.clone()),
                retry,
                resume,
                segments,
                checksum,
                receipt: None,
            };
            let mut call = Call::new(client, item_options);
            let result = async {
                call.check_cancelled()?;
                let mut outcome = run_item(spec.index, &mut call).await?;
                call.complete()?;
                outcome.receipt = call.take_receipt(true);
                Ok(outcome)
            }
            .await;
            (slot, result)
        };

        // The first call of the simple callback, and every item's Queued event.
        {
            let total = shared.tally.borrow().total().unwrap_or(0);
            if shared.reporter.borrow_mut().progress.start(total).is_err() {
                shared.abort();
            }
        }
        if forward_events {
            for (slot, spec) in specs.iter().enumerate() {
                if shared.aborted.get() {
                    break;
                }
                shared.item_state(spec, slot, Phase::Queued, None);
            }
            if !shared.batch_event(Phase::Connecting) {
                shared.abort();
            }
        }

        let caller_cancel = async {
            match &cancel {
                Some(token) => token.cancelled().await,
                None => std::future::pending().await,
            }
        };
        tokio::pin!(caller_cancel);
        let mut caller_cancelled = false;
        let mut running = FuturesUnordered::new();
        let mut next = 0usize;
        let mut tick = tokio::time::interval_at(tokio::time::Instant::now() + TICK, TICK);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            // The caller's token may have been cancelled by the item just
            // finished (from its callback): no new item then.
            let stopping = shared.stop.is_cancelled()
                || cancel.as_ref().is_some_and(CancelToken::is_cancelled);
            while !stopping && running.len() < max_in_flight && next < specs.len() {
                running.push(item(next));
                next += 1;
                shared.tally.borrow_mut().in_flight += 1;
            }
            if running.is_empty() {
                break;
            }
            tokio::select! {
                biased;
                _ = &mut caller_cancel, if !caller_cancelled => {
                    caller_cancelled = true;
                    shared.stop.cancel();
                }
                Some((slot, result)) = running.next() => {
                    {
                        let mut tally = shared.tally.borrow_mut();
                        tally.in_flight -= 1;
                        tally.finished += 1;
                        if let Ok(outcome) = &result {
                            tally.record_done(slot, outcome.bytes);
                        }
                        if result.is_err() {
                            tally.failed += 1;
                        }
                        // A finished item's length is known: what it moved.
                        let moved = tally.done[slot];
                        tally.record_total(slot, moved);
                    }
                    if let Err(error) = &result {
                        if forward_events {
                            shared.item_state(&specs[slot], slot, Phase::Failed, Some(error));
                        }
                    }
                    if forward_events && !shared.batch_event(Phase::Transferring) {
                        shared.abort();
                    }
                    results[slot] = Some(result);
                }
                _ = tick.tick() => {
                    if !shared.tick() {
                        shared.abort();
                    }
                }
            }
        }
        Ok::<(), Error>(())
    };
    if client.block_on(run).is_err() {
        // block_on refuses only a call from inside a runtime (a callback's thread).
        return (
            specs.iter().map(|_| Err(Error::ReentrantCall)).collect(),
            Err(Error::ReentrantCall),
        );
    }

    let results: Vec<Result<Outcome>> = results
        .into_iter()
        .map(|r| r.unwrap_or(Err(Error::Cancelled)))
        .collect();
    let failed = results.iter().filter(|r| r.is_err()).count();
    let stopped = if shared.aborted.get() {
        Some(Error::AbortedByCallback)
    } else if shared.stop.is_cancelled() {
        Some(Error::Cancelled)
    } else {
        None
    };
    let outcome = match stopped {
        Some(error) => Err(error),
        None => {
            let done = shared.tally.borrow().done();
            let total = shared.tally.borrow().total().unwrap_or(done);
            let mut reporter = shared.reporter.borrow_mut();
            reporter.progress.set_total(total);
            let last_call = reporter.progress.finish(done);
            drop(reporter);
            let phase = if failed == 0 {
                Phase::Done
            } else {
                Phase::Failed
            };
            if last_call.is_err() || !shared.batch_event(phase) {
                Err(Error::AbortedByCallback)
            } else if failed > 0 {
                Err(Error::BatchIncomplete {
                    failed,
                    total: specs.len(),
                })
            } else {
                Ok(())
            }
        }
    };
    (results, outcome)
}
