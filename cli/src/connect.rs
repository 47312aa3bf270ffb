//! The server and the account: `--host`/KITSU_HOST, then KITSU_TOKEN or
//! KITSU_EMAIL and KITSU_PASSWORD. A password is never read from the
//! command line, where `ps` and shell histories would show it.

use kitsu::Client;

use crate::args::Cli;
use crate::failure::Failure;

fn env(name: &str) -> Option<String> {
    std::env::var(name).ok().filter(|value| !value.is_empty())
}

/// A logged-in client; the failure says which exit status applies.
pub fn connect(cli: &Cli) -> Result<Client, Failure> {
    let output = cli.output();
    let host = cli
        .host
        .as_deref()
        .filter(|h| !h.is_empty())
        .ok_or_else(|| {
            Failure::Usage(
                "no server: give --host or set KITSU_HOST (e.g. https://kitsu.example.com/api)"
                    .into(),
            )
        })?;
    let client = Client::new(host)?;
    let processing_timeout = cli.processing_timeout();
    client.update_config(|config| config.processing_timeout = processing_timeout)?;
    if let Some(token) = env("KITSU_TOKEN") {
        client.set_tokens(Some(&token), None);
        // A bad token is found now, not at the first transfer. Zou answers
        // 401 for an expired token and 422 for one that is not a JWT.
        if let Err(error) = client.get("auth/authenticated") {
            return Err(match error.http_status() {
                Some(401 | 422) => Failure::Auth(format!("KITSU_TOKEN: {error}")),
                _ => error.into(),
            });
        }
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

/// The client of a chunked upload to `url`: the Kitsu session when the
/// upload goes to --host's server (a route, or the same origin) or when an
/// account is set; else a client for the service alone, with no account
/// (its credentials come in --header).
pub fn connect_for_service(cli: &Cli, url: &str) -> Result<Client, Failure> {
    let absolute = url.starts_with("http://") || url.starts_with("https://");
    let has_account = env("KITSU_TOKEN").is_some() || env("KITSU_EMAIL").is_some();
    let has_host = cli.host.as_deref().is_some_and(|h| !h.is_empty());
    if !absolute || (has_host && has_account) {
        return connect(cli);
    }
    let origin = url.splitn(4, '/').take(3).collect::<Vec<_>>().join("/");
    Ok(Client::new(&origin)?)
}
