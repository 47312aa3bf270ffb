//! The progress contract, in one place:
//! - the first call is `(0, total)`; `total` is 0 when unknown;
//! - at most one call per [`MIN_INTERVAL`] while bytes flow, and a repeat of
//!   the last value about once per [`HEARTBEAT`] while they do not, in every
//!   phase: before the answer's headers (then as `(0, 0)`: the total is not
//!   known yet), during a 202 wait, during a stall;
//! - `total` is set once, when known, and never changes afterwards;
//! - on success a last call with the final count (`(total, total)` when known);
//! - `done` never decreases and never exceeds a known `total`, with one
//!   exception: when the server's file changed between two attempts (another
//!   length, or held bytes that no longer match), the count starts again
//!   with a call `(0, new_total)`, so the last call is still `(n, n)` with
//!   `n` the bytes of the file written;
//! - a callback returning `false` aborts with [`Error::AbortedByCallback`].
//!
//! [`Progress`] is only ever used by code running on the thread that called
//! the library (inside `block_on`), so callbacks run on that thread only.

use std::time::{Duration, Instant};

use crate::error::{Error, Result};
use crate::reentry::run_callback;

/// A progress callback: `(bytes_done, total) -> keep_going`.
pub type ProgressFn<'a> = dyn FnMut(u64, u64) -> bool + 'a;

/// Throttle between calls while bytes flow (about 10 calls a second).
pub const MIN_INTERVAL: Duration = Duration::from_millis(100);
/// Interval of the repeated call during a stall, so a UI can still cancel.
pub const HEARTBEAT: Duration = Duration::from_secs(1);

/// The state of one transfer's progress reporting.
pub struct Progress<'a> {
    callback: Option<&'a mut ProgressFn<'a>>,
    total: u64,
    /// The last value the callback was given.
    reported: u64,
    /// The latest count, even when throttling kept it from the callback:
    /// the heartbeat reports this, not a stale `reported`.
    latest: u64,
    started: bool,
    last_call: Instant,
}

impl<'a> Progress<'a> {
    pub fn new<'f: 'a>(callback: Option<&'a mut ProgressFn<'f>>) -> Progress<'a> {
        Progress {
            callback: callback.map(|f| f as &'a mut ProgressFn<'a>),
            total: 0,
            reported: 0,
            latest: 0,
            started: false,
            last_call: Instant::now(),
        }
    }

    pub fn is_started(&self) -> bool {
        self.started
    }

    /// 0 while unknown.
    pub fn total(&self) -> u64 {
        self.total
    }

    /// The latest count, as reported (or held back by the throttle).
    pub fn latest(&self) -> u64 {
        self.latest.max(self.reported)
    }

    /// The first call, `(0, total)`. Later calls (a replayed request) keep
    /// the first total and the count already reported.
    pub fn start(&mut self, total: u64) -> Result<()> {
        if self.started {
            return Ok(());
        }
        self.started = true;
        self.total = total;
        self.call(0)
    }

    /// Makes a total that was unknown (0) at the start known: a batch's
    /// sum, once every item's length is known. A known total stays.
    pub fn set_total(&mut self, total: u64) {
        if self.total == 0 {
            self.total = total.max(self.reported);
        }
    }

    /// The file changed on the server: `total` (0 unknown) replaces the
    /// total and the count starts again from `floor` (what earlier requests
    /// of the call moved), reported at once.
    pub fn restart(&mut self, total: u64, floor: u64) -> Result<()> {
        if !self.started {
            return Ok(());
        }
        self.total = total;
        self.reported = floor;
        self.latest = floor;
        self.call(floor)
    }

    /// Bytes moved so far; throttled.
    pub fn update(&mut self, done: u64) -> Result<()> {
        let done = self.clamp(done);
        self.latest = self.latest.max(done);
        if done == self.reported || self.last_call.elapsed() < MIN_INTERVAL {
            return Ok(());
        }
        self.call(done)
    }

    /// True when a heartbeat is due (no call for [`HEARTBEAT`], counted from
    /// the start of the call before the first one).
    pub fn heartbeat_due(&self) -> bool {
        self.last_call.elapsed() >= HEARTBEAT
    }

    /// Reports the latest count again (what throttling held back, if
    /// anything); lets the callback abort in any phase, before the first
    /// byte too.
    pub fn heartbeat(&mut self) -> Result<()> {
        if !self.heartbeat_due() {
            return Ok(());
        }
        self.call(self.latest.max(self.reported))
    }

    /// The last call, on success: the final count, unthrottled.
    pub fn finish(&mut self, done: u64) -> Result<()> {
        if !self.started {
            self.start(if self.total == 0 { done } else { self.total })?;
        }
        let done = self.clamp(done);
        self.call(done)
    }

    fn clamp(&self, done: u64) -> u64 {
        let done = if self.total > 0 {
            done.min(self.total)
        } else {
            done
        };
        done.max(self.reported)
    }

    fn call(&mut self, done: u64) -> Result<()> {
        self.reported = done;
        self.last_call = Instant::now();
        let Some(callback) = self.callback.as_mut() else {
            return Ok(());
        };
        let total = self.total;
        let keep_going = run_callback(|| callback(done, total));
        if keep_going {
            Ok(())
        } else {
            Err(Error::AbortedByCallback)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn first_and_last_calls_and_clamping() {
        let mut calls = Vec::new();
        let mut record = |d: u64, t: u64| {
            calls.push((d, t));
            true
        };
        let mut progress = Progress::new(Some(&mut record));
        progress.start(100).unwrap();
        progress.update(50).unwrap(); // throttled: too soon after start
        progress.update(500).unwrap();
        progress.finish(100).unwrap();
        assert_eq!(calls.first(), Some(&(0, 100)));
        assert_eq!(calls.last(), Some(&(100, 100)));
        assert!(calls.iter().all(|&(d, t)| d <= t));
    }

    #[test]
    fn a_total_unknown_at_the_start_is_set_once() {
        let mut calls = Vec::new();
        let mut record = |d: u64, t: u64| {
            calls.push((d, t));
            true
        };
        let mut progress = Progress::new(Some(&mut record));
        progress.start(0).unwrap();
        progress.set_total(30);
        progress.set_total(99); // known: stays
        std::thread::sleep(MIN_INTERVAL);
        progress.update(50).unwrap(); // clamped to the total
        progress.finish(30).unwrap();
        assert_eq!(calls, vec![(0, 0), (30, 30), (30, 30)]);
    }

    #[test]
    fn never_decreases_after_a_replay() {
        let mut calls = Vec::new();
        let mut record = |d: u64, t: u64| {
            calls.push((d, t));
            true
        };
        let mut progress = Progress::new(Some(&mut record));
        progress.start(10).unwrap();
        std::thread::sleep(MIN_INTERVAL);
        progress.update(8).unwrap();
        std::thread::sleep(MIN_INTERVAL);
        progress.update(2).unwrap(); // a replay counting from zero again
        progress.finish(10).unwrap();
        assert_eq!(calls, vec![(0, 10), (8, 10), (10, 10)]);
    }

    #[test]
    fn the_heartbeat_reports_what_throttling_held_back() {
        let mut calls = Vec::new();
        let mut record = |d: u64, t: u64| {
            calls.push((d, t));
            true
        };
        let mut progress = Progress::new(Some(&mut record));
        progress.start(100).unwrap();
        progress.update(40).unwrap(); // throttled: too soon after start
        std::thread::sleep(HEARTBEAT);
        progress.heartbeat().unwrap();
        assert_eq!(calls, vec![(0, 100), (40, 100)]);
    }

    #[test]
    fn a_heartbeat_comes_before_the_first_byte_with_total_zero() {
        let mut calls = Vec::new();
        let mut record = |d: u64, t: u64| {
            calls.push((d, t));
            true
        };
        let mut progress = Progress::new(Some(&mut record));
        progress.heartbeat().unwrap(); // not due yet
        std::thread::sleep(HEARTBEAT);
        progress.heartbeat().unwrap();
        progress.start(10).unwrap();
        progress.finish(10).unwrap();
        assert_eq!(calls, vec![(0, 0), (0, 10), (10, 10)]);
    }

    #[test]
    fn false_aborts_and_flag_is_set_inside() {
        use crate::reentry::in_callback;
        let mut seen_flag = false;
        let mut stop = |_: u64, _: u64| {
            seen_flag = in_callback();
            false
        };
        let mut progress = Progress::new(Some(&mut stop));
        assert!(matches!(progress.start(0), Err(Error::AbortedByCallback)));
        assert!(seen_flag);
        assert!(!in_callback());
    }
}
