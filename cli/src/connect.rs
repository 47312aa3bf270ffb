//! The server and the account: `--host`/KITSU_HOST, then KITSU_TOKEN or
//! KITSU_EMAIL and KITSU_PASSWORD. A password is never read from the
//! command line, where `ps` and shell histories would show it.

use kitsu::Client;

use crate::failure::Failure;
use crate::report::OutputOptions;

fn env(name: &str) -> Option<String> {
    std::env::var(name).ok().filter(|value| !value.is_empty())
}

/// A logged-in client; the failure says which exit status applies.
pub fn connect(host: Option<&str>, output: OutputOptions) -> Result<Client, Failure> {
    let host = host.filter(|h| !h.is_empty()).ok_or_else(|| {
        Failure::Usage(
            "no server: give --host or set KITSU_HOST (e.g. https://kitsu.example.com/api)".into(),
        )
    })?;
    let client = Client::new(host)?;
    if let Some(token) = env("KITSU_TOKEN") {
        client.set_tokens(Some(&token), None);
        // A bad token is found now, not at the first transfer.
        client.get("auth/authenticated")?;
    } else {
        let (Some(email), Some(password)) = (env("KITSU_EMAIL"), env("KITSU_PASSWORD")) else {
            return Err(Failure::Usage(
                "no account: set KITSU_EMAIL and KITSU_PASSWORD, or KITSU_TOKEN".into(),
            ));
        };
        client.log_in(&email, &password)?;
    }
    if output.verbose && !output.json {
        eprintln!("connected to {host}");
    }
    Ok(client)
}
