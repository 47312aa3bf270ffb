//! The client: host, TLS and timeout settings, tokens, one shared token
//! refresh, and request sending with the auth replay. It knows nothing of
//! transfers: `transfer::call` drives the futures made here.
//!
//! Threads: the client owns a small tokio runtime. Every public call runs its
//! future with `Runtime::block_on` on the caller's thread; hyper's connection
//! tasks run on the runtime's workers, and only touch atomics read back on
//! the caller's thread. Callbacks are therefore never called from a worker.
//! Dropping the client shuts the runtime down and joins its threads.

use std::future::Future;
use std::mem::ManuallyDrop;
use std::path::{Path, PathBuf};
use std::sync::{Mutex, RwLock};
use std::time::Duration;

use reqwest::header::{HeaderValue, AUTHORIZATION};
use reqwest::{Method, StatusCode};

use crate::error::{server_message, Error, Result};

/// gazu's MAX_AUTH_RETRIES: attempts of one request across token refreshes.
const MAX_AUTH_ATTEMPTS: usize = 3;
/// Error bodies are read into memory up to this size, for their message.
const MAX_ERROR_BODY: usize = 64 * 1024;

/// `User-Agent` of every request. Not a browser's: Zou would switch to cookies.
pub const USER_AGENT: &str = concat!("libkitsu/", env!("CARGO_PKG_VERSION"));

/// Settings that shape every request of a client.
#[derive(Clone, Debug)]
pub struct Config {
    /// TCP + TLS connection setup.
    pub connect_timeout: Duration,
    /// No byte moved (either way) for this long fails the transfer. There is
    /// deliberately no total timeout: a 20 GiB transfer must not be killed by a clock.
    pub stall_timeout: Duration,
    /// How long a download waits out 202 "preview still processing".
    pub processing_timeout: Duration,
    /// Verify server certificates (on by default).
    pub tls_verify: bool,
    /// Extra PEM CA bundle trusted on top of the system and Mozilla roots.
    pub ca_bundle: Option<PathBuf>,
    /// Retries of every call (a call's options may set its own).
    pub retry: RetryPolicy,
    /// Answers held in memory (JSON, `get_bytes`) larger than this fail
    /// with `Error::AnswerTooLarge` instead of taking the memory.
    pub max_memory_answer: u64,
}

impl Default for Config {
    fn default() -> Config {
        Config {
            connect_timeout: Duration::from_secs(30),
            stall_timeout: Duration::from_secs(60),
            processing_timeout: Duration::from_secs(60),
            tls_verify: true,
            ca_bundle: None,
            retry: RetryPolicy::default(),
            max_memory_answer: 256 * 1024 * 1024,
        }
    }
}

#[derive(Clone, Debug, Default)]
struct Tokens {
    access: Option<String>,
    refresh: Option<String>,
}

/// How a call tries again.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RetryPolicy {
    /// Attempts in a row without progress, the first included; 1 turns retries off.
    pub max_attempts: u32,
    /// The backoff before the second attempt; it doubles for each further one.
    pub initial_delay: Duration,
    /// No wait is longer, the server's Retry-After included.
    pub max_delay: Duration,
    /// No retry starts later than this after the first failure without progress.
    pub budget: Duration,
}

impl Default for RetryPolicy {
    fn default() -> RetryPolicy {
        RetryPolicy {
            max_attempts: 5,
            initial_delay: Duration::from_millis(500),
            max_delay: Duration::from_secs(30),
            budget: Duration::from_secs(600),
        }
    }
}

/// A call's own retry settings; each None keeps the client's.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct RetryOverride {
    pub max_attempts: Option<u32>,
    pub initial_delay: Option<Duration>,
    pub max_delay: Option<Duration>,
}

impl RetryOverride {
    /// The policy that results over `base`.
    pub fn over(&self, base: RetryPolicy) -> RetryPolicy {
        RetryPolicy {
            max_attempts: self.max_attempts.unwrap_or(base.max_attempts),
            initial_delay: self.initial_delay.unwrap_or(base.initial_delay),
            max_delay: self.max_delay.unwrap_or(base.max_delay),
            budget: base.budget,
        }
    }
}

/// Whether a request carries the access token.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(crate) enum Auth {
    Bearer,
    None,
}

/// A Kitsu client. Thread-safe: share it (`Arc`) and transfer from several
/// threads at once.
pub struct Client {
    runtime: ManuallyDrop<tokio::runtime::Runtime>,
    host: String,
    http: RwLock<reqwest::Client>,
    /// The same settings, but a redirect to another origin is not followed
    /// (the 3xx comes back): for requests that carry a caller's own
    /// credentials in extra headers, which reqwest would send on.
    http_same_origin: RwLock<reqwest::Client>,
    config: RwLock<Config>,
    tokens: Mutex<Tokens>,
    /// One refresh at a time; transfers that failed with the old token wait
    /// here and replay with the token the first one fetched.
    refresh_gate: tokio::sync::Mutex<()>,
}

impl Client {
    /// A client for `host` as users write it: `https://kitsu.example.com/api`.
    pub fn new(host: &str) -> Result<Client> {
        let host = host.trim().trim_end_matches('/').to_string();
        let parsed = reqwest::Url::parse(&host)
            .map_err(|e| Error::InvalidParameter(format!("host {host:?} is not a URL: {e}")))?;
        if !matches!(parsed.scheme(), "http" | "https") || parsed.host_str().is_none() {
            return Err(Error::InvalidParameter(format!(
                "host {host:?} must be an http:// or https:// URL such as https://kitsu.example.com/api"
            )));
        }
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .max_blocking_threads(8)
            .thread_name("kitsu-worker")
            .on_thread_start(crate::signals::block_sigpipe_in_this_thread)
            .enable_all()
            .build()
            .map_err(|e| Error::Io {
                path: PathBuf::from("<runtime>"),
                source: e,
            })?;
        let config = Config::default();
        let http = build_http(&config, Redirects::Any)?;
        let http_same_origin = build_http(&config, Redirects::SameOrigin)?;
        Ok(Client {
            runtime: ManuallyDrop::new(runtime),
            host,
            http: RwLock::new(http),
            http_same_origin: RwLock::new(http_same_origin),
            config: RwLock::new(config),
            tokens: Mutex::new(Tokens::default()),
            refresh_gate: tokio::sync::Mutex::new(()),
        })
    }

    pub fn host(&self) -> &str {
        &self.host
    }

    pub fn config(&self) -> Config {
        read_lock(&self.config).clone()
    }

    /// Changes settings; the HTTP connection pool is rebuilt to apply them.
    /// A zero connect or stall timeout is refused: every transfer would fail.
    pub fn update_config(&self, change: impl FnOnce(&mut Config)) -> Result<()> {
        let mut config = self.config();
        change(&mut config);
        for (name, value) in [
            ("connect", config.connect_timeout),
            ("stall", config.stall_timeout),
        ] {
            if value.is_zero() {
                return Err(Error::InvalidParameter(format!(
                    "the {name} timeout must be at least 1 second"
                )));
            }
        }
        if config.max_memory_answer == 0 {
            return Err(Error::InvalidParameter(
                "the cap on answers held in memory must be at least 1 byte".into(),
            ));
        }
        if config.retry.max_attempts == 0 {
            return Err(Error::InvalidParameter(
                "max_attempts must be at least 1 (1 turns retries off)".into(),
            ));
        }
        let http = build_http(&config, Redirects::Any)?;
        let http_same_origin = build_http(&config, Redirects::SameOrigin)?;
        *write_lock(&self.config) = config;
        *write_lock(&self.http) = http;
        *write_lock(&self.http_same_origin) = http_same_origin;
        Ok(())
    }

    pub fn set_tokens(&self, access: Option<&str>, refresh: Option<&str>) {
        let mut tokens = lock(&self.tokens);
        tokens.access = access.map(str::to_string);
        tokens.refresh = refresh.map(str::to_string);
    }

    /// `(access, refresh)`.
    pub fn tokens(&self) -> (Option<String>, Option<String>) {
        let tokens = lock(&self.tokens);
        (tokens.access.clone(), tokens.refresh.clone())
    }

    /// Runs a future to completion on the calling thread.
    pub(crate) fn block_on<T>(&self, future: impl Future<Output = Result<T>>) -> Result<T> {
        // tokio would panic on a nested block_on; a callback calling back in gets an error.
        if crate::reentry::in_callback() || tokio::runtime::Handle::try_current().is_ok() {
            return Err(Error::ReentrantCall);
        }
        crate::signals::with_sigpipe_blocked(|| self.runtime.block_on(future))
    }

    /// `{host}/{path}`.
    pub(crate) fn url(&self, path: &str) -> Result<reqwest::Url> {
        crate::route::join(&self.host, path)
    }

    fn http(&self) -> reqwest::Client {
        read_lock(&self.http).clone()
    }

    fn access_token(&self) -> Option<String> {
        lock(&self.tokens).access.clone()
    }

    /// Sends one logical request: attaches the token, and on an expired
    /// token refreshes it (once for all transfers in flight) and replays,
    /// calling `build` again so bodies are made anew. Returns the response
    /// whatever its status, except a 401/422 that ended the auth attempts.
    pub(crate) async fn send(
        &self,
        method: Method,
        path: &str,
        auth: Auth,
        build: impl FnMut(reqwest::RequestBuilder) -> Result<reqwest::RequestBuilder>,
    ) -> Result<reqwest::Response> {
        let url = self.url(path)?;
        self.send_url(method, &url, path, auth, build).await
    }

    /// [`Client::send`] to a whole URL; `path` names it in errors.
    pub(crate) async fn send_url(
        &self,
        method: Method,
        url: &reqwest::Url,
        path: &str,
        auth: Auth,
        build: impl FnMut(reqwest::RequestBuilder) -> Result<reqwest::RequestBuilder>,
    ) -> Result<reqwest::Response> {
        self.send_with(Redirects::Any, method, url, path, auth, build)
            .await
    }

    /// [`Client::send_url`] with a choice of redirects: a request with the
    /// caller's own credentials in its headers follows none to another
    /// origin ([`Redirects::SameOrigin`]: its 3xx answer comes back), so
    /// they never leave the origin they were given for.
    pub(crate) async fn send_with(
        &self,
        redirects: Redirects,
        method: Method,
        url: &reqwest::Url,
        path: &str,
        auth: Auth,
        mut build: impl FnMut(reqwest::RequestBuilder) -> Result<reqwest::RequestBuilder>,
    ) -> Result<reqwest::Response> {
        let connect_secs = self.config().connect_timeout.as_secs();
        for attempt in 1..=MAX_AUTH_ATTEMPTS {
            let token = match auth {
                Auth::Bearer => self.access_token(),
                Auth::None => None,
            };
            let http = match redirects {
                Redirects::Any => self.http(),
                Redirects::SameOrigin => read_lock(&self.http_same_origin).clone(),
            };
            let mut request = http.request(method.clone(), url.clone());
            if let Some(token) = &token {
                request = request.header(AUTHORIZATION, bearer(token)?);
            }
            let request = build(request)?;
            let response = request
                .send()
                .await
                .map_err(|e| Error::from_reqwest(path, e, connect_secs))?;
            let status = response.status();
            let maybe_expired =
                status == StatusCode::UNAUTHORIZED || status == StatusCode::UNPROCESSABLE_ENTITY;
            if auth == Auth::None || !maybe_expired {
                return Ok(response);
            }
            let error = http_error(&method, path, response).await;
            let expired = match &error {
                Error::Http {
                    status, message, ..
                } => *status == 401 || message == "Signature has expired",
                _ => false,
            };
            if !expired || attempt == MAX_AUTH_ATTEMPTS || !self.refresh_after(token).await? {
                return Err(error);
            }
        }
        unreachable!("the loop returns on its last attempt")
    }

    /// Refreshes the access token unless another transfer already did since
    /// `used` was sent. Returns whether the request should be replayed.
    async fn refresh_after(&self, used: Option<String>) -> Result<bool> {
        let _gate = self.refresh_gate.lock().await;
        let (current, refresh) = self.tokens();
        if current != used {
            return Ok(current.is_some());
        }
        let Some(refresh) = refresh else {
            return Ok(false);
        };
        let path = "auth/refresh-token";
        let url = self.url(path)?;
        let request = self
            .http()
            .get(url)
            .header(AUTHORIZATION, bearer(&refresh)?);
        let connect_secs = self.config().connect_timeout.as_secs();
        let response = request
            .send()
            .await
            .map_err(|e| Error::from_reqwest(path, e, connect_secs))?;
        if !response.status().is_success() {
            let error = http_error(&Method::GET, path, response).await;
            return Err(match error {
                Error::Http {
                    status, message, ..
                } => Error::Http {
                    status,
                    method: "GET".into(),
                    path: path.into(),
                    message: format!("the access token expired and the refresh failed: {message}"),
                    retry_after: None,
                },
                other => other,
            });
        }
        let body = response
            .bytes()
            .await
            .map_err(|e| Error::from_reqwest(path, e, connect_secs))?;
        let value: serde_json::Value =
            serde_json::from_slice(&body).map_err(|e| Error::InvalidResponse {
                path: path.into(),
                message: format!("refresh answer is not JSON: {e}"),
            })?;
        let Some(access) = value.get("access_token").and_then(|v| v.as_str()) else {
            return Err(Error::InvalidResponse {
                path: path.into(),
                message: "refresh answer has no access_token".into(),
            });
        };
        let mut tokens = lock(&self.tokens);
        tokens.access = Some(access.to_string());
        if let Some(new_refresh) = value.get("refresh_token").and_then(|v| v.as_str()) {
            tokens.refresh = Some(new_refresh.to_string());
        }
        Ok(true)
    }
}

impl Drop for Client {
    fn drop(&mut self) {
        // SAFETY: `runtime` is never used again after this point.
        let runtime = unsafe { ManuallyDrop::take(&mut self.runtime) };
        if tokio::runtime::Handle::try_current().is_ok() {
            // Dropped from inside a runtime (never by our own code paths):
            // a blocking shutdown would panic there.
            runtime.shutdown_background();
        } else {
            runtime.shutdown_timeout(Duration::from_secs(5));
        }
    }
}

/// Turns a non-2xx answer into an error; 2xx answers pass through.
pub(crate) async fn check_status(
    method: &Method,
    path: &str,
    response: reqwest::Response,
) -> Result<reqwest::Response> {
    if response.status().is_success() {
        Ok(response)
    } else {
        Err(http_error(method, path, response).await)
    }
}

/// Reads (a bounded part of) an error body for its message. Never to a file.
pub(crate) async fn http_error(
    method: &Method,
    path: &str,
    mut response: reqwest::Response,
) -> Error {
    let status = response.status();
    let retry_after = retry_after_secs(&response);
    let mut body = Vec::new();
    let read = async {
        while let Ok(Some(chunk)) = response.chunk().await {
            body.extend_from_slice(&chunk);
            if body.len() >= MAX_ERROR_BODY {
                break;
            }
        }
    };
    // An error body that stalls must not hold the caller: its message is a bonus.
    let _ = tokio::time::timeout(Duration::from_secs(10), read).await;
    let reason = status.canonical_reason().unwrap_or("");
    let message = if body.is_empty() {
        reason.to_string()
    } else {
        server_message(&body)
    };
    Error::Http {
        status: status.as_u16(),
        method: method.to_string(),
        path: path.to_string(),
        message,
        retry_after,
    }
}

/// `Retry-After` in seconds: a number, or an HTTP date (0 when past).
pub(crate) fn retry_after_secs(response: &reqwest::Response) -> Option<u64> {
    parse_retry_after(
        response
            .headers()
            .get(reqwest::header::RETRY_AFTER)?
            .to_str()
            .ok()?,
        std::time::SystemTime::now(),
    )
}

/// A `Retry-After` value in seconds from `now`: a number (rounded up), or
/// an HTTP date (0 when past); None for anything else, negative or not finite.
pub(crate) fn parse_retry_after(text: &str, now: std::time::SystemTime) -> Option<u64> {
    let text = text.trim();
    if let Ok(secs) = text.parse::<f64>() {
        // `as` saturates: a huge number is u64::MAX, capped later by max_delay.
        return (secs.is_finite() && secs >= 0.0).then(|| secs.ceil() as u64);
    }
    let date = httpdate::parse_http_date(text).ok()?;
    Some(
        date.duration_since(now)
            .map(|d| d.as_secs() + u64::from(d.subsec_nanos() > 0))
            .unwrap_or(0),
    )
}

#[cfg(test)]
mod property_tests {
    use super::*;
    use proptest::prelude::*;
    use std::time::{Duration, SystemTime};

    proptest! {
        #[test]
        fn retry_after_never_panics(text in ".{0,64}") {
            let _ = parse_retry_after(&text, SystemTime::now());
        }

        #[test]
        fn retry_after_reads_seconds_and_dates(secs in 0u64..1 << 40, fraction in 0.0f64..1.0, ahead in 0u64..1_000_000) {
            let now = SystemTime::UNIX_EPOCH + Duration::from_secs(1_700_000_000);
            prop_assert_eq!(parse_retry_after(&secs.to_string(), now), Some(secs));
            let with_fraction = secs as f64 + fraction;
            prop_assert_eq!(parse_retry_after(&format!("{with_fraction}"), now), Some(with_fraction.ceil() as u64));
            prop_assert_eq!(parse_retry_after(&format!("-{}", secs + 1), now), None);
            let date = httpdate::fmt_http_date(now + Duration::from_secs(ahead));
            prop_assert_eq!(parse_retry_after(&date, now), Some(ahead));
            let past = httpdate::fmt_http_date(now - Duration::from_secs(ahead));
            prop_assert_eq!(parse_retry_after(&past, now), Some(0));
        }
    }
}

fn bearer(token: &str) -> Result<HeaderValue> {
    HeaderValue::from_str(&format!("Bearer {token}")).map_err(|_| {
        Error::InvalidParameter("the token holds characters not allowed in a header".into())
    })
}

/// Which redirects a request follows.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(crate) enum Redirects {
    /// reqwest's default: up to 10, Authorization dropped on another host.
    Any,
    /// Only to the same origin (scheme, host and port).
    SameOrigin,
}

fn build_http(config: &Config, redirects: Redirects) -> Result<reqwest::Client> {
    let policy = match redirects {
        Redirects::Any => reqwest::redirect::Policy::default(),
        Redirects::SameOrigin => reqwest::redirect::Policy::custom(|attempt| {
            let same = attempt
                .previous()
                .last()
                .is_some_and(|from| from.origin() == attempt.url().origin());
            if !same || attempt.previous().len() > 10 {
                attempt.stop()
            } else {
                attempt.follow()
            }
        }),
    };
    let mut builder = reqwest::Client::builder()
        .redirect(policy)
        .user_agent(USER_AGENT)
        .connect_timeout(config.connect_timeout)
        .tcp_nodelay(true)
        .tcp_keepalive(Duration::from_secs(30))
        .pool_idle_timeout(Duration::from_secs(60))
        .danger_accept_invalid_certs(!config.tls_verify);
    if let Some(path) = &config.ca_bundle {
        builder = add_ca_bundle(builder, path)?;
    }
    builder
        .build()
        .map_err(|e| Error::InvalidParameter(format!("cannot set up HTTP/TLS: {e}")))
}

fn add_ca_bundle(
    mut builder: reqwest::ClientBuilder,
    path: &Path,
) -> Result<reqwest::ClientBuilder> {
    let pem = std::fs::read(path).map_err(|e| Error::io(path, e))?;
    let certificates = reqwest::Certificate::from_pem_bundle(&pem).map_err(|e| {
        Error::InvalidParameter(format!("{} is not a PEM CA bundle: {e}", path.display()))
    })?;
    if certificates.is_empty() {
        return Err(Error::InvalidParameter(format!(
            "{} holds no PEM certificate",
            path.display()
        )));
    }
    for certificate in certificates {
        builder = builder.add_root_certificate(certificate);
    }
    Ok(builder)
}

// Poisoned locks only mean a panic elsewhere; the data (tokens, settings) stays valid.
fn lock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(|e| e.into_inner())
}
fn read_lock<T>(lock: &RwLock<T>) -> std::sync::RwLockReadGuard<'_, T> {
    lock.read().unwrap_or_else(|e| e.into_inner())
}
fn write_lock<T>(lock: &RwLock<T>) -> std::sync::RwLockWriteGuard<'_, T> {
    lock.write().unwrap_or_else(|e| e.into_inner())
}
