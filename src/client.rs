//! The client: host, TLS and timeout settings, tokens, one shared token
//! refresh, request sending with the auth replay, and the blocking facade.
//!
//! Threads: the client owns a small tokio runtime. Every public call runs its
//! future with `Runtime::block_on` on the caller's thread; hyper's connection
//! tasks run on the runtime's workers, and only touch atomics we read back on
//! the caller's thread. Progress callbacks are therefore never called from a
//! worker. Dropping the client shuts the runtime down and joins its threads.

use std::future::Future;
use std::mem::ManuallyDrop;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, RwLock};
use std::time::{Duration, Instant};

use reqwest::header::{HeaderValue, AUTHORIZATION, CONTENT_TYPE};
use reqwest::{Method, StatusCode};

use crate::error::{server_message, Error, Result};
use crate::transfer::progress::{self, Progress};

/// gazu's MAX_AUTH_RETRIES: attempts of one request across token refreshes.
const MAX_AUTH_ATTEMPTS: usize = 3;
/// Error bodies are read into memory up to this size, for their message.
const MAX_ERROR_BODY: usize = 64 * 1024;
/// How often the driver looks at upload counters and stall clocks.
const TICK: Duration = Duration::from_millis(100);

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
}

impl Default for Config {
    fn default() -> Config {
        Config {
            connect_timeout: Duration::from_secs(30),
            stall_timeout: Duration::from_secs(60),
            processing_timeout: Duration::from_secs(60),
            tls_verify: true,
            ca_bundle: None,
        }
    }
}

#[derive(Clone, Debug, Default)]
struct Tokens {
    access: Option<String>,
    refresh: Option<String>,
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
            .enable_all()
            .build()
            .map_err(|e| Error::Io {
                path: PathBuf::from("<runtime>"),
                source: e,
            })?;
        let config = Config::default();
        let http = build_http(&config)?;
        Ok(Client {
            runtime: ManuallyDrop::new(runtime),
            host,
            http: RwLock::new(http),
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
        let http = build_http(&config)?;
        *write_lock(&self.config) = config;
        *write_lock(&self.http) = http;
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
        if progress::in_callback() || tokio::runtime::Handle::try_current().is_ok() {
            return Err(Error::ReentrantCall);
        }
        self.runtime.block_on(future)
    }

    /// `{host}/{path}`, joined as gazu's `url_path_join` does.
    pub(crate) fn url(&self, path: &str) -> Result<reqwest::Url> {
        let joined = format!("{}/{}", self.host, path.trim_start_matches('/'));
        reqwest::Url::parse(&joined)
            .map_err(|e| Error::InvalidParameter(format!("path {path:?} gives no valid URL: {e}")))
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
        mut build: impl FnMut(reqwest::RequestBuilder) -> Result<reqwest::RequestBuilder>,
        driver: &mut Driver<'_, '_>,
    ) -> Result<reqwest::Response> {
        let url = self.url(path)?;
        let connect_secs = self.config().connect_timeout.as_secs();
        for attempt in 1..=MAX_AUTH_ATTEMPTS {
            let token = match auth {
                Auth::Bearer => self.access_token(),
                Auth::None => None,
            };
            let mut request = self.http().request(method.clone(), url.clone());
            if let Some(token) = &token {
                request = request.header(AUTHORIZATION, bearer(token)?);
            }
            let request = build(request)?;
            let response = driver
                .drive(path, request.send())
                .await?
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
            if !expired
                || attempt == MAX_AUTH_ATTEMPTS
                || !self.refresh_after(token, driver).await?
            {
                return Err(error);
            }
        }
        unreachable!("the loop returns on its last attempt")
    }

    /// Refreshes the access token unless another transfer already did since
    /// `used` was sent. Returns whether the request should be replayed.
    async fn refresh_after(
        &self,
        used: Option<String>,
        driver: &mut Driver<'_, '_>,
    ) -> Result<bool> {
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
        let response = driver
            .drive(path, request.send())
            .await?
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
        let body = driver
            .drive(path, response.bytes())
            .await?
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

    /// A JSON request; returns the answer's text (`null` for an empty body).
    pub(crate) async fn json_request(
        &self,
        method: Method,
        path: &str,
        auth: Auth,
        body: Option<&str>,
    ) -> Result<String> {
        let body = match body {
            Some(text) => {
                serde_json::from_str::<serde_json::Value>(text).map_err(|e| {
                    Error::InvalidParameter(format!("the JSON body is not valid JSON: {e}"))
                })?;
                Some(text.to_string())
            }
            None => None,
        };
        let mut progress = Progress::new(None);
        let mut driver = Driver::new(&mut progress, self.config().stall_timeout, None);
        let response = self
            .send(
                method.clone(),
                path,
                auth,
                |request| {
                    Ok(match &body {
                        Some(text) => request
                            .header(CONTENT_TYPE, "application/json")
                            .body(text.clone()),
                        None => request,
                    })
                },
                &mut driver,
            )
            .await?;
        let response = check_status(&method, path, response).await?;
        let connect_secs = self.config().connect_timeout.as_secs();
        let bytes = driver
            .drive(path, response.bytes())
            .await?
            .map_err(|e| Error::from_reqwest(path, e, connect_secs))?;
        if bytes.is_empty() {
            return Ok("null".into());
        }
        String::from_utf8(bytes.to_vec()).map_err(|_| Error::InvalidResponse {
            path: path.into(),
            message: "the answer is not UTF-8 text".into(),
        })
    }

    /// GET `path`; the JSON answer as text.
    pub fn get(&self, path: &str) -> Result<String> {
        self.block_on(self.json_request(Method::GET, path, Auth::Bearer, None))
    }

    /// POST a JSON body (or none) to `path`.
    pub fn post(&self, path: &str, json_body: Option<&str>) -> Result<String> {
        self.block_on(self.json_request(Method::POST, path, Auth::Bearer, json_body))
    }

    /// PUT a JSON body (or none) to `path`.
    pub fn put(&self, path: &str, json_body: Option<&str>) -> Result<String> {
        self.block_on(self.json_request(Method::PUT, path, Auth::Bearer, json_body))
    }

    /// DELETE `path`.
    pub fn delete(&self, path: &str) -> Result<String> {
        self.block_on(self.json_request(Method::DELETE, path, Auth::Bearer, None))
    }

    /// POST `auth/login`; keeps the tokens and returns the server's answer
    /// (user, organisation, tokens) as JSON text.
    pub fn log_in(&self, email: &str, password: &str) -> Result<String> {
        let body = serde_json::json!({ "email": email, "password": password }).to_string();
        let answer = self
            .block_on(self.json_request(Method::POST, "auth/login", Auth::None, Some(&body)))
            .map_err(|e| match e {
                Error::Http {
                    status, message, ..
                } if matches!(status, 400 | 401 | 403) => Error::AuthFailed { status, message },
                other => other,
            })?;
        let value: serde_json::Value =
            serde_json::from_str(&answer).map_err(|e| Error::InvalidResponse {
                path: "auth/login".into(),
                message: format!("log-in answer is not JSON: {e}"),
            })?;
        let access = value.get("access_token").and_then(|v| v.as_str());
        let logged_in = value.get("login").and_then(|v| v.as_bool()) != Some(false);
        match access {
            Some(access) if logged_in => {
                let refresh = value.get("refresh_token").and_then(|v| v.as_str());
                self.set_tokens(Some(access), refresh);
                Ok(answer)
            }
            _ => {
                let mut message = server_message(answer.as_bytes());
                if value.get("two_factor_authentication_required").is_some() {
                    message = format!("two-factor authentication is required ({message})");
                }
                Err(Error::AuthFailed {
                    status: 200,
                    message,
                })
            }
        }
    }

    /// GET `auth/logout`, then forgets the tokens whatever the server said
    /// (gazu ignores 400 and 401 here too). Network failures are reported.
    pub fn log_out(&self) -> Result<()> {
        let result =
            self.block_on(self.json_request(Method::GET, "auth/logout", Auth::Bearer, None));
        self.set_tokens(None, None);
        match result {
            Ok(_) | Err(Error::Http { .. }) => Ok(()),
            Err(other) => Err(other),
        }
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

/// Runs request futures on the calling thread while watching the stall clock,
/// and reports upload progress read from a counter the body stream updates on
/// worker threads.
pub(crate) struct Driver<'p, 'cb> {
    pub progress: &'p mut Progress<'cb>,
    stall: Duration,
    sent: Option<Arc<AtomicU64>>,
    /// Bytes already moved by earlier requests of the same operation.
    offset: u64,
    last_seen: u64,
    last_activity: Instant,
}

impl<'p, 'cb> Driver<'p, 'cb> {
    pub fn new(
        progress: &'p mut Progress<'cb>,
        stall: Duration,
        sent: Option<Arc<AtomicU64>>,
    ) -> Driver<'p, 'cb> {
        Driver {
            progress,
            stall,
            sent,
            offset: 0,
            last_seen: 0,
            last_activity: Instant::now(),
        }
    }

    /// Counts this request's bytes after `offset` earlier ones (composites).
    pub fn with_offset(mut self, offset: u64) -> Driver<'p, 'cb> {
        self.offset = offset;
        self
    }

    pub fn stall(&self) -> Duration {
        self.stall
    }

    /// Polls `future` to completion; fails with `Stalled` when nothing moved
    /// for the stall timeout, or with the callback's abort.
    pub async fn drive<F: Future>(&mut self, path: &str, future: F) -> Result<F::Output> {
        tokio::pin!(future);
        self.last_activity = Instant::now();
        let mut tick = tokio::time::interval(TICK);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tokio::select! {
                biased;
                output = &mut future => return Ok(output),
                _ = tick.tick() => self.on_tick(path)?,
            }
        }
    }

    fn on_tick(&mut self, path: &str) -> Result<()> {
        if let Some(sent) = &self.sent {
            let now_sent = sent.load(Ordering::Relaxed);
            if now_sent != self.last_seen {
                self.last_seen = now_sent;
                self.last_activity = Instant::now();
                if self.progress.is_started() {
                    self.progress.update(self.offset + now_sent)?;
                }
            }
        }
        if self.last_activity.elapsed() >= self.stall {
            return Err(Error::Stalled {
                path: path.into(),
                secs: self.stall.as_secs(),
            });
        }
        self.progress.heartbeat()
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

/// `Retry-After` in seconds, when numeric.
pub(crate) fn retry_after_secs(response: &reqwest::Response) -> Option<u64> {
    response
        .headers()
        .get(reqwest::header::RETRY_AFTER)?
        .to_str()
        .ok()?
        .trim()
        .parse::<f64>()
        .ok()
        .filter(|s| s.is_finite() && *s >= 0.0)
        .map(|s| s.ceil() as u64)
}

fn bearer(token: &str) -> Result<HeaderValue> {
    HeaderValue::from_str(&format!("Bearer {token}")).map_err(|_| {
        Error::InvalidParameter("the token holds characters not allowed in a header".into())
    })
}

fn build_http(config: &Config) -> Result<reqwest::Client> {
    let mut builder = reqwest::Client::builder()
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
