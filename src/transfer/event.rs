//! Rich progress events: what a call is doing (its phase), on which route
//! and file, how far, for how long, and a short human text for phases that
//! move no bytes. The simple `(bytes, total)` callback is unaffected.

use std::path::Path;
use std::time::Duration;

/// What a call moves.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Operation {
    Download,
    Upload,
    /// A batch's own events (its items report as downloads or uploads).
    Batch,
}

/// Where a call is. Every change is reported; within a phase, byte updates
/// follow the progress throttle and a heartbeat comes at least once a second.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Phase {
    /// A request is on its way and its answer's headers are awaited.
    Connecting,
    /// The server asked to wait (HTTP 202 with Retry-After: a preview still
    /// being processed); `deadline` is the processing timeout.
    Waiting,
    /// Bytes are moving (for an upload, also while its answer is awaited
    /// after the last byte: the message says so).
    Transferring,
    /// Waiting before another attempt.
    Retrying,
    /// The call succeeded; the last event of a call.
    Done,
    /// A batch item waits for a free slot (reported once, when the run starts).
    Queued,
    /// A batch item failed (its message says why), or a batch ended with
    /// failed items; the last event of that item or batch.
    Failed,
}

/// One event, borrowed for the duration of the callback.
#[derive(Clone, Debug)]
pub struct Event<'e> {
    pub operation: Operation,
    pub phase: Phase,
    /// The route of the request in flight.
    pub key: &'e str,
    /// The local file being written or read, if any.
    pub file: Option<&'e Path>,
    pub bytes_done: u64,
    /// 0 while unknown.
    pub total: u64,
    /// 1 for the first attempt.
    pub attempt: u32,
    /// Time spent in this phase.
    pub elapsed: Duration,
    /// The phase's time limit, counted like `elapsed` (waits only).
    pub deadline: Option<Duration>,
    /// The file within a multi-file upload or a composite (0-based), of `item_count`.
    pub item_index: u32,
    pub item_count: u32,
    /// A short human text, e.g. "the server is processing the file: 12 s of 60 s".
    pub message: &'e str,
}

/// An event callback: returns false to abort the call.
pub type EventFn<'a> = dyn FnMut(&Event<'_>) -> bool + 'a;
