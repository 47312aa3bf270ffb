//! The re-entrancy rule in one place: while one of libkitsu's callbacks runs
//! on a thread, a blocking libkitsu call from that thread is refused (tokio
//! would panic on a nested `block_on`).

use std::cell::Cell;

thread_local! {
    static IN_CALLBACK: Cell<bool> = const { Cell::new(false) };
}

/// True while this thread is inside one of libkitsu's callbacks.
pub fn in_callback() -> bool {
    IN_CALLBACK.with(Cell::get)
}

/// Runs a user callback with the flag set; the flag is reset even if it unwinds.
pub(crate) fn run_callback<T>(callback: impl FnOnce() -> T) -> T {
    struct Reset;
    impl Drop for Reset {
        fn drop(&mut self) {
            IN_CALLBACK.with(|flag| flag.set(false));
        }
    }
    IN_CALLBACK.with(|flag| flag.set(true));
    let _reset = Reset;
    callback()
}
