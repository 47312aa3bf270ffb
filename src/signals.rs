//! SIGPIPE. A write to a socket the server has reset raises SIGPIPE, whose
//! default action kills the process: a C host (Maya, Houdini, a small C
//! tool) that never changed it would die of a dropped upload. Rust programs
//! and Python ignore SIGPIPE at start-up; C hosts usually do not.
//!
//! libkitsu never changes the process's disposition (the host's handlers
//! stay as they are). Instead SIGPIPE is blocked in every thread the
//! library's runtime starts, where hyper writes the bodies: a write there
//! then fails with EPIPE, which the transfer reports as a broken
//! connection. The calling thread polls the first steps of a connection
//! (TCP and TLS handshakes) too, so around each call its mask blocks
//! SIGPIPE as well, and a SIGPIPE that a write of ours left pending on it
//! is taken off before the mask is restored. What libcurl does with
//! MSG_NOSIGNAL, for the writes the library makes, without touching the host.

/// Blocks SIGPIPE in the calling thread for good: for the runtime's threads.
pub(crate) fn block_sigpipe_in_this_thread() {
    #[cfg(unix)]
    // SAFETY: plain calls on a local, initialised signal set.
    unsafe {
        let mut set: libc::sigset_t = std::mem::zeroed();
        libc::sigemptyset(&mut set);
        libc::sigaddset(&mut set, libc::SIGPIPE);
        libc::pthread_sigmask(libc::SIG_BLOCK, &set, std::ptr::null_mut());
    }
}

/// Runs `work` with SIGPIPE blocked in the calling thread (a host's
/// thread), then restores its mask, first taking off a SIGPIPE our own
/// writes left pending (it would otherwise be delivered, and kill, as the
/// mask comes back). A host that blocks SIGPIPE itself is left alone.
pub(crate) fn with_sigpipe_blocked<T>(work: impl FnOnce() -> T) -> T {
    #[cfg(unix)]
    // SAFETY: plain calls on local, initialised signal sets; the previous
    // mask is restored on every path out (work does not unwind across: the
    // C shell catches panics outside of this function, and a panic here
    // still reaches the restore below through the guard).
    unsafe {
        struct Restore {
            old: libc::sigset_t,
            pipe: libc::sigset_t,
        }
        impl Drop for Restore {
            fn drop(&mut self) {
                // SAFETY: as above.
                unsafe {
                    loop {
                        let mut pending: libc::sigset_t = std::mem::zeroed();
                        libc::sigemptyset(&mut pending);
                        if libc::sigpending(&mut pending) != 0
                            || libc::sigismember(&pending, libc::SIGPIPE) != 1
                        {
                            break;
                        }
                        take_pending(&self.pipe);
                    }
                    libc::pthread_sigmask(libc::SIG_SETMASK, &self.old, std::ptr::null_mut());
                }
            }
        }
        let mut pipe: libc::sigset_t = std::mem::zeroed();
        libc::sigemptyset(&mut pipe);
        libc::sigaddset(&mut pipe, libc::SIGPIPE);
        let mut old: libc::sigset_t = std::mem::zeroed();
        libc::pthread_sigmask(libc::SIG_BLOCK, &pipe, &mut old);
        if libc::sigismember(&old, libc::SIGPIPE) == 1 {
            return work();
        }
        let _restore = Restore { old, pipe };
        work()
    }
    #[cfg(not(unix))]
    work()
}

/// Takes one pending SIGPIPE off (it is pending: this does not wait).
#[cfg(unix)]
unsafe fn take_pending(pipe: &libc::sigset_t) {
    #[cfg(any(target_os = "linux", target_os = "android", target_os = "freebsd"))]
    {
        let zero = libc::timespec {
            tv_sec: 0,
            tv_nsec: 0,
        };
        libc::sigtimedwait(pipe, std::ptr::null_mut(), &zero);
    }
    #[cfg(not(any(target_os = "linux", target_os = "android", target_os = "freebsd")))]
    {
        let mut signal = 0;
        libc::sigwait(pipe, &mut signal);
    }
}

#[cfg(all(test, unix))]
mod tests {
    use super::*;

    #[test]
    fn a_sigpipe_raised_inside_is_taken_off_and_the_mask_restored() {
        // A thread of its own, so the test harness's mask is not at stake.
        std::thread::spawn(|| unsafe {
            let mut before: libc::sigset_t = std::mem::zeroed();
            libc::pthread_sigmask(libc::SIG_SETMASK, std::ptr::null(), &mut before);
            // Rust ignores SIGPIPE; the default action is what C hosts have.
            let previous = libc::signal(libc::SIGPIPE, libc::SIG_DFL);
            with_sigpipe_blocked(|| {
                libc::pthread_kill(libc::pthread_self(), libc::SIGPIPE);
            });
            libc::signal(libc::SIGPIPE, previous);
            let mut after: libc::sigset_t = std::mem::zeroed();
            libc::pthread_sigmask(libc::SIG_SETMASK, std::ptr::null(), &mut after);
            assert_eq!(
                libc::sigismember(&before, libc::SIGPIPE),
                libc::sigismember(&after, libc::SIGPIPE)
            );
        })
        .join()
        .unwrap();
    }
}
