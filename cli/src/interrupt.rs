//! Ctrl-C: the first cancels the run through libkitsu's cancel token (the
//! transfers stop, the summary is printed, exit 130); a second one quits at
//! once.

use std::sync::OnceLock;

use kitsu::CancelToken;

static TOKEN: OnceLock<CancelToken> = OnceLock::new();

/// The token Ctrl-C cancels, with the handler installed on first use.
pub fn token() -> CancelToken {
    TOKEN
        .get_or_init(|| {
            let token = CancelToken::new();
            let handled = token.clone();
            // ctrlc runs this on a thread of its own, not in signal context.
            let installed = ctrlc::set_handler(move || {
                if handled.is_cancelled() {
                    std::process::exit(130);
                }
                eprintln!("\nkitsu: interrupted, stopping (Ctrl-C again quits at once)");
                handled.cancel();
            });
            if let Err(error) = installed {
                eprintln!("kitsu: Ctrl-C will not stop cleanly: {error}");
            }
            token
        })
        .clone()
}

pub fn interrupted() -> bool {
    TOKEN.get().is_some_and(CancelToken::is_cancelled)
}
