//! A cancel token: one flag that any thread may raise at any time, and that
//! every call using the token notices at once (not at its next tick).

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use tokio::sync::Notify;

/// Cloning shares the token: cancelling one clone cancels them all. One
/// token may serve several calls on several threads; once cancelled it stays
/// cancelled, and a call started with it fails at once.
#[derive(Clone, Debug, Default)]
pub struct CancelToken {
    inner: Arc<Inner>,
}

#[derive(Debug, Default)]
struct Inner {
    cancelled: AtomicBool,
    notify: Notify,
}

impl CancelToken {
    pub fn new() -> CancelToken {
        CancelToken::default()
    }

    /// Raises the flag and wakes every call waiting on it. Any thread, any time.
    pub fn cancel(&self) {
        self.inner.cancelled.store(true, Ordering::SeqCst);
        self.inner.notify.notify_waiters();
    }

    pub fn is_cancelled(&self) -> bool {
        self.inner.cancelled.load(Ordering::SeqCst)
    }

    /// Completes when the token is cancelled (at once if it already is).
    pub async fn cancelled(&self) {
        loop {
            let notified = self.inner.notify.notified();
            tokio::pin!(notified);
            // Registered before the flag is read, so a cancel in between is not missed.
            notified.as_mut().enable();
            if self.is_cancelled() {
                return;
            }
            notified.await;
        }
    }

    /// The shared state, for handing the token across the C ABI.
    pub(crate) fn into_raw(self) -> *const () {
        Arc::into_raw(self.inner).cast()
    }

    /// # Safety
    /// `raw` comes from [`CancelToken::into_raw`] and is still owned by the caller
    /// (this borrows it: the count is incremented, not taken over).
    pub(crate) unsafe fn clone_from_raw(raw: *const ()) -> CancelToken {
        let raw = raw.cast::<Inner>();
        Arc::increment_strong_count(raw);
        CancelToken {
            inner: Arc::from_raw(raw),
        }
    }

    /// # Safety
    /// `raw` comes from [`CancelToken::into_raw`] and is released once.
    pub(crate) unsafe fn release_raw(raw: *const ()) {
        drop(Arc::from_raw(raw.cast::<Inner>()));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_cancel_from_another_thread_wakes_the_waiter() {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        let token = CancelToken::new();
        let other = token.clone();
        let canceller = std::thread::spawn(move || {
            std::thread::sleep(std::time::Duration::from_millis(50));
            other.cancel();
        });
        let started = std::time::Instant::now();
        runtime.block_on(token.cancelled());
        assert!(started.elapsed() < std::time::Duration::from_secs(2));
        canceller.join().unwrap();
        // Already cancelled: completes at once.
        runtime.block_on(token.cancelled());
        assert!(token.is_cancelled());
    }
}
