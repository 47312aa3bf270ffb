//! tus 1.0 (tus.io): creation, then PATCHes of `chunk_size` bytes at the
//! server's offset, one after the other (the core protocol is sequential).
//!
//! The upload's URL is kept in a small JSON store keyed by the endpoint and
//! the file's fingerprint, as tus-js-client's urlStorage and
//! tus-py-client's `store_url` do, so a new process asks the server for
//! its offset (HEAD) and sends only the rest. A failed PATCH is followed
//! by a HEAD before the next one (the server may have kept part of it); a
//! 409 (offset conflict) is resolved by a HEAD at once. On cancel, the
//! upload is kept to resume, or deleted on the server (termination) when
//! `terminate_on_cancel` asks.

use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::time::Duration;

use reqwest::header::{CONTENT_LENGTH, CONTENT_TYPE, LOCATION};
use reqwest::Method;

use super::call::{Call, Meter};
use super::checksum::sha256_of_range;
use super::chunked::{
    auth_for, base64, fingerprint, mime_of, send, target_url, with_headers, ChunkedOptions,
    ChunkedOutcome, UrlStore,
};
use super::event::Operation;
use super::retry::{delay, gave_up, is_transport_failure, retrying, Idempotency};
use super::upload::{digests, file_name_of, file_size, new_checksums, Checksums, Layout};
use super::TransferOptions;
use crate::client::{check_status, Client};
use crate::error::{Error, Result};

const TUS_VERSION: &str = "1.0.0";

/// Uploads `path` to the tus creation endpoint `endpoint` (absolute, or a
/// route of the client's host), resuming an upload of the same file the
/// store knows. See the module documentation.
pub fn upload(
    client: &Client,
    endpoint: &str,
    path: &Path,
    chunked: &ChunkedOptions,
    options: TransferOptions<'_>,
) -> Result<ChunkedOutcome> {
    let endpoint_url = target_url(client, endpoint)?;
    let store = Store::open(&chunked.store);
    let key = format!("{endpoint_url}#{}", fingerprint(path)?);
    let upload_url = std::cell::RefCell::new(None::<reqwest::Url>);
    let result = client.run(options, async |call| {
        upload_in(
            call,
            client,
            &endpoint_url,
            path,
            chunked,
            &store,
            &key,
            &upload_url,
        )
        .await
    });
    if matches!(result, Err(Error::Cancelled | Error::AbortedByCallback))
        && chunked.terminate_on_cancel
    {
        if let Some(url) = upload_url.borrow().as_ref() {
            terminate(client, url, chunked);
        }
        store.remove(&key);
    }
    result
}

/// Deletes the upload on the server (tus termination), best effort: the
/// call already failed with its own error.
fn terminate(client: &Client, url: &reqwest::Url, chunked: &ChunkedOptions) {
    let Ok(headers) = chunked.header_map() else {
        return;
    };
    let delete = send(
        client,
        &headers,
        Method::DELETE,
        url,
        url.path(),
        auth_for(client, url),
        |r| {
            Ok(with_headers(
                r.header("Tus-Resumable", TUS_VERSION),
                &headers,
            ))
        },
    );
    let _ = client.block_on(async {
        tokio::time::timeout(Duration::from_secs(10), delete)
            .await
            .map_err(|_| Error::Cancelled)?
            .map(|_| ())
    });
}

#[allow(clippy::too_many_arguments)]
async fn upload_in(
    call: &mut Call<'_>,
    client: &Client,
    endpoint: &reqwest::Url,
    path: &Path,
    chunked: &ChunkedOptions,
    store: &Store,
    key: &str,
    upload_url: &std::cell::RefCell<Option<reqwest::Url>>,
) -> Result<ChunkedOutcome> {
    chunked.check()?;
    let size = file_size(path)?;
    let chunk_size = chunked.chunk_size;
    let chunk_count = size.div_ceil(chunk_size).max(1);
    store.check()?;
    let tus = Tus {
        client,
        headers: chunked.header_map()?,
        path,
        checksums: call.checksum_requested().then(|| new_checksums(1)),
        upload_checksum: std::cell::Cell::new(false),
    };
    call.expect(Operation::Upload, size, chunk_count as usize)?;
    let offered = call
        .drive(tus.offers_sha256(endpoint, call.stall_timeout()))
        .await?;
    tus.upload_checksum.set(offered);

    // A stored upload the server still has, else a new one.
    let mut resumed = None;
    if let Some(url) = store.get(key).and_then(|u| reqwest::Url::parse(&u).ok()) {
        // Known from here: a cancel during the HEAD terminates it too.
        *upload_url.borrow_mut() = Some(url.clone());
        call.begin_request(url.as_str(), vec![path.to_path_buf()], 0)?;
        match retrying(call, Idempotency::Repeatable, async |call| {
            call.drive(tus.head(&url)).await?
        })
        .await
        {
            Ok((offset, Some(length))) if length == size && offset <= size => {
                resumed = Some((url, offset))
            }
            Ok(_) => {
                store.remove(key);
                *upload_url.borrow_mut() = None;
            }
            Err(error) if is_gone(&error) => {
                store.remove(key);
                *upload_url.borrow_mut() = None;
            }
            Err(error) => return Err(error),
        }
    }
    let (url, mut offset) = match resumed {
        Some(found) => found,
        None => {
            call.begin_request(endpoint.as_str(), vec![path.to_path_buf()], 0)?;
            let url = retrying(call, Idempotency::CreatesRecord, async |call| {
                call.drive(tus.create(endpoint, size)).await?
            })
            .await?;
            store.put(key, url.as_str())?;
            (url, 0)
        }
    };
    *upload_url.borrow_mut() = Some(url.clone());
    let start_offset = offset;

    let meter = call.meter();
    let policy = call.retry_policy();
    let mut in_a_row = 0u32;
    let mut attempt = 1u32;
    let mut chunks_sent = 0u32;
    let mut first_failure = None::<std::time::Instant>;
    while offset < size {
        let len = chunk_size.min(size - offset);
        let index = u32::try_from(offset / chunk_size).unwrap_or(u32::MAX);
        call.set_attempt(attempt);
        if offset == start_offset {
            call.begin_request(url.as_str(), vec![path.to_path_buf()], size)?;
        }
        // What the server has; the request's own bytes count on top.
        meter.set(offset);
        let child = Meter::child(&meter, index);
        let result = call.drive(tus.patch(&url, offset, len, &child)).await?;
        // A PATCH may end before the driver's first tick: count it now.
        call.observe_meter()?;
        let error = match result {
            Ok(new_offset) => {
                offset = new_offset;
                chunks_sent += 1;
                in_a_row = 0;
                attempt = 1;
                first_failure = None;
                continue;
            }
            Err(error) => error,
        };
        child.set(0);
        let conflict = matches!(error.root(), Error::Http { status: 409, .. });
        let reason = match error.root() {
            _ if conflict => "the offset conflicted (409)".to_string(),
            Error::Http { status, .. } if is_permanent(*status) => {
                if matches!(status, 404 | 410) {
                    store.remove(key);
                }
                return Err(gave_up(error, attempt));
            }
            Error::Http { status, .. } => format!("HTTP {status}"),
            _ if is_transport_failure(&error) => error.to_string(),
            _ => return Err(gave_up(error, attempt)),
        };
        in_a_row += 1;
        let since = *first_failure.get_or_insert_with(std::time::Instant::now);
        if in_a_row >= policy.max_attempts.max(1) || since.elapsed() >= policy.budget {
            return Err(gave_up(error, attempt));
        }
        attempt += 1;
        if !conflict {
            let wait = delay(&policy, in_a_row, error.retry_after());
            call.wait_retry(wait, &reason, attempt, policy.max_attempts)
                .await?;
        }
        // Where the server is now: it may have kept part of the failed PATCH.
        call.begin_request(url.as_str(), vec![path.to_path_buf()], 0)?;
        let (server_offset, _) = retrying(call, Idempotency::Repeatable, async |call| {
            call.drive(tus.head(&url)).await?
        })
        .await?;
        if server_offset > size {
            return Err(invalid(&url, "the server's offset is past the file's end"));
        }
        offset = server_offset;
    }
    meter.set(size);
    call.observe_meter()?;
    if let Some(checksums) = &tus.checksums {
        for digest in digests(checksums, &[path.to_path_buf()])? {
            call.add_digest(digest);
        }
    }
    store.remove(key);
    Ok(ChunkedOutcome {
        upload: url.to_string(),
        chunks: u32::try_from(chunk_count).unwrap_or(u32::MAX),
        chunks_sent,
        chunks_skipped: u32::try_from(start_offset / chunk_size).unwrap_or(u32::MAX),
        bytes_sent: size - start_offset,
        answer: String::new(),
    })
}

/// tus-js-client's rule: a 4xx other than 409, 423 and 429 is not retried;
/// nor 460 (checksum mismatch: the body was damaged on the way, send it again).
fn is_permanent(status: u16) -> bool {
    (400..500).contains(&status) && !matches!(status, 409 | 423 | 429 | 460)
}

/// The stored upload is gone from the server.
fn is_gone(error: &Error) -> bool {
    matches!(
        error.root(),
        Error::Http {
            status: 403 | 404 | 410,
            ..
        }
    )
}

fn invalid(url: &reqwest::Url, message: &str) -> Error {
    Error::InvalidResponse {
        path: url.path().to_string(),
        message: message.to_string(),
    }
}

struct Tus<'t> {
    client: &'t Client,
    headers: Vec<(reqwest::header::HeaderName, reqwest::header::HeaderValue)>,
    path: &'t Path,
    /// The file's SHA-256, fed by the PATCH bodies, when asked.
    checksums: Option<Checksums>,
    /// The server offers the checksum extension with sha256: every PATCH
    /// carries `Upload-Checksum`, and the server refuses a body that does
    /// not match it (460, sent again).
    upload_checksum: std::cell::Cell<bool>,
}

impl Tus<'_> {
    fn request(&self, request: reqwest::RequestBuilder) -> reqwest::RequestBuilder {
        with_headers(request.header("Tus-Resumable", TUS_VERSION), &self.headers)
    }

    /// POST to the endpoint: the new upload's URL.
    async fn create(&self, endpoint: &reqwest::Url, size: u64) -> Result<reqwest::Url> {
        let name = file_name_of(self.path)?;
        let metadata = format!(
            "filename {},filetype {}",
            base64(name.as_bytes()),
            base64(mime_of(self.path).as_bytes())
        );
        let label = endpoint.path();
        let response = send(
            self.client,
            &self.headers,
            Method::POST,
            endpoint,
            label,
            auth_for(self.client, endpoint),
            |r| {
                Ok(self
                    .request(r)
                    .header("Upload-Length", size)
                    .header("Upload-Metadata", metadata.as_str())
                    .header(CONTENT_LENGTH, 0))
            },
        )
        .await?;
        let response = check_status(&Method::POST, label, response).await?;
        let location = response
            .headers()
            .get(LOCATION)
            .and_then(|v| v.to_str().ok())
            .ok_or_else(|| invalid(endpoint, "the creation answer has no Location"))?;
        location_url(endpoint, location)
    }

    /// HEAD: the server's offset, and the upload's length when it says.
    async fn head(&self, url: &reqwest::Url) -> Result<(u64, Option<u64>)> {
        let response = send(
            self.client,
            &self.headers,
            Method::HEAD,
            url,
            url.path(),
            auth_for(self.client, url),
            |r| Ok(self.request(r).header("Cache-Control", "no-store")),
        )
        .await?;
        let response = check_status(&Method::HEAD, url.path(), response).await?;
        let offset = header_u64(&response, "Upload-Offset")
            .ok_or_else(|| invalid(url, "the HEAD answer has no Upload-Offset"))?;
        Ok((offset, header_u64(&response, "Upload-Length")))
    }

    /// Whether the server offers the checksum extension with sha256 (an
    /// OPTIONS request, as tus discovery does); any failure or silence
    /// within `wait` means no.
    async fn offers_sha256(&self, endpoint: &reqwest::Url, wait: Duration) -> bool {
        let ask = send(
            self.client,
            &self.headers,
            Method::OPTIONS,
            endpoint,
            endpoint.path(),
            auth_for(self.client, endpoint),
            |r| Ok(self.request(r)),
        );
        let Ok(Ok(response)) = tokio::time::timeout(wait.min(Duration::from_secs(10)), ask).await
        else {
            return false;
        };
        let listed = |name: &str, wanted: &str| {
            response
                .headers()
                .get(name)
                .and_then(|v| v.to_str().ok())
                .is_some_and(|v| {
                    v.split(',')
                        .any(|item| item.trim().eq_ignore_ascii_case(wanted))
                })
        };
        response.status().is_success()
            && listed("Tus-Extension", "checksum")
            && listed("Tus-Checksum-Algorithm", "sha256")
    }

    /// One PATCH of `len` bytes at `offset`: the server's new offset.
    async fn patch(
        &self,
        url: &reqwest::Url,
        offset: u64,
        len: u64,
        meter: &std::sync::Arc<Meter>,
    ) -> Result<u64> {
        let layout = Layout::octets(self.path, offset, len).hashing(self.checksums.clone());
        let upload_checksum = if self.upload_checksum.get() {
            let path = self.path.to_path_buf();
            let digest = tokio::task::spawn_blocking(move || sha256_of_range(&path, offset, len))
                .await
                .map_err(|e| Error::Panic(format!("checksum task failed: {e}")))??;
            Some(format!("sha256 {}", base64(&digest)))
        } else {
            None
        };
        let response = send(
            self.client,
            &self.headers,
            Method::PATCH,
            url,
            url.path(),
            auth_for(self.client, url),
            |r| {
                Ok(self
                    .request(r)
                    .header("Upload-Offset", offset)
                    .header(CONTENT_TYPE, "application/offset+octet-stream")
                    .header(CONTENT_LENGTH, len)
                    .headers(checksum_header(upload_checksum.as_deref())?)
                    .body(layout.body(meter)))
            },
        )
        .await?;
        let response = check_status(&Method::PATCH, url.path(), response).await?;
        let new_offset = header_u64(&response, "Upload-Offset")
            .ok_or_else(|| invalid(url, "the PATCH answer has no Upload-Offset"))?;
        if new_offset <= offset || new_offset > offset + len {
            return Err(invalid(
                url,
                &format!("the PATCH at {offset} of {len} bytes answered offset {new_offset}"),
            ));
        }
        Ok(new_offset)
    }
}

/// `Upload-Checksum`, when there is one.
fn checksum_header(value: Option<&str>) -> Result<reqwest::header::HeaderMap> {
    let mut headers = reqwest::header::HeaderMap::new();
    if let Some(value) = value {
        let value = reqwest::header::HeaderValue::from_str(value)
            .map_err(|_| Error::InvalidParameter("an Upload-Checksum value".into()))?;
        headers.insert("Upload-Checksum", value);
    }
    Ok(headers)
}

fn header_u64(response: &reqwest::Response, name: &str) -> Option<u64> {
    parse_u64(response.headers().get(name)?.to_str().ok()?)
}

/// A header's decimal number (`Upload-Offset`, `Upload-Length`).
fn parse_u64(text: &str) -> Option<u64> {
    text.trim().parse().ok()
}

/// Where a creation answer's `Location` points, against the endpoint.
fn location_url(endpoint: &reqwest::Url, location: &str) -> Result<reqwest::Url> {
    endpoint
        .join(location)
        .map_err(|e| invalid(endpoint, &format!("the Location is no URL: {e}")))
}

/// The upload URLs kept between processes: a JSON object
/// `{"uploads": {key: {"url": ..., "stored": unix seconds}}}`, written
/// whole through a temporary file and a rename. Processes that write it at
/// the same moment may lose one entry (that upload then starts afresh);
/// an unreadable store counts as empty.
pub(crate) struct Store {
    path: Option<PathBuf>,
}

/// One writer at a time within the process.
static STORE_LOCK: Mutex<()> = Mutex::new(());

impl Store {
    pub fn open(setting: &UrlStore) -> Store {
        let path = match setting {
            UrlStore::Off => None,
            UrlStore::At(path) => Some(path.clone()),
            UrlStore::Default => default_store_path(),
        };
        Store { path }
    }

    /// Refuses a store path that cannot hold the store (a folder, a
    /// device), before anything is created on the server: an upload whose
    /// URL cannot be kept would be an orphan there.
    pub fn check(&self) -> Result<()> {
        let Some(path) = &self.path else {
            return Ok(());
        };
        match std::fs::metadata(path) {
            Ok(metadata) if !metadata.is_file() => Err(Error::InvalidParameter(format!(
                "the tus URL store {} is not a regular file",
                path.display()
            ))),
            Ok(_) => Ok(()),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                let folder = match path.parent() {
                    Some(parent) if !parent.as_os_str().is_empty() => parent,
                    _ => Path::new("."),
                };
                // Its folder must be (or become) a folder.
                match std::fs::metadata(folder) {
                    Ok(m) if !m.is_dir() => Err(Error::InvalidParameter(format!(
                        "the tus URL store's folder {} is not a folder",
                        folder.display()
                    ))),
                    _ => Ok(()),
                }
            }
            Err(e) => Err(Error::io(path, e)),
        }
    }

    fn read(&self) -> serde_json::Map<String, serde_json::Value> {
        let Some(path) = &self.path else {
            return serde_json::Map::new();
        };
        std::fs::read(path)
            .ok()
            .and_then(|bytes| serde_json::from_slice::<serde_json::Value>(&bytes).ok())
            .and_then(|value| value.get("uploads")?.as_object().cloned())
            .unwrap_or_default()
    }

    fn write(&self, uploads: serde_json::Map<String, serde_json::Value>) -> Result<()> {
        let Some(path) = &self.path else {
            return Ok(());
        };
        let folder = match path.parent() {
            Some(parent) if !parent.as_os_str().is_empty() => parent.to_path_buf(),
            _ => PathBuf::from("."),
        };
        std::fs::create_dir_all(&folder).map_err(|e| Error::io(&folder, e))?;
        let text = serde_json::json!({ "uploads": uploads }).to_string();
        let mut temporary =
            tempfile::NamedTempFile::new_in(&folder).map_err(|e| Error::io(&folder, e))?;
        std::io::Write::write_all(&mut temporary, text.as_bytes())
            .map_err(|e| Error::io(path, e))?;
        temporary
            .persist(path)
            .map_err(|e| Error::io(path, e.error))?;
        Ok(())
    }

    pub fn get(&self, key: &str) -> Option<String> {
        let _guard = STORE_LOCK.lock().unwrap_or_else(|e| e.into_inner());
        self.read()
            .get(key)?
            .get("url")?
            .as_str()
            .map(str::to_string)
    }

    pub fn put(&self, key: &str, url: &str) -> Result<()> {
        let _guard = STORE_LOCK.lock().unwrap_or_else(|e| e.into_inner());
        let mut uploads = self.read();
        let stored = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_secs())
            .unwrap_or(0);
        uploads.insert(
            key.to_string(),
            serde_json::json!({ "url": url, "stored": stored }),
        );
        self.write(uploads)
    }

    /// Forgets `key`; a store that cannot be written keeps it (the next
    /// run's HEAD finds the upload finished or gone).
    pub fn remove(&self, key: &str) {
        let _guard = STORE_LOCK.lock().unwrap_or_else(|e| e.into_inner());
        let mut uploads = self.read();
        if uploads.remove(key).is_some() {
            let _ = self.write(uploads);
        }
    }
}

/// `$XDG_STATE_HOME/libkitsu/tus-uploads.json`, else under `~/.local/state`.
pub fn default_store_path() -> Option<PathBuf> {
    let state = std::env::var_os("XDG_STATE_HOME")
        .filter(|v| !v.is_empty())
        .map(PathBuf::from)
        .or_else(|| {
            std::env::var_os("HOME")
                .filter(|v| !v.is_empty())
                .map(|home| PathBuf::from(home).join(".local/state"))
        })?;
    Some(state.join("libkitsu").join("tus-uploads.json"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_store_keeps_urls_across_instances_and_forgets_them() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("state/tus.json");
        let store = Store::open(&UrlStore::At(file.clone()));
        assert_eq!(store.get("k"), None);
        store.put("k", "http://h/files/1").unwrap();
        store.put("j", "http://h/files/2").unwrap();
        let again = Store::open(&UrlStore::At(file.clone()));
        assert_eq!(again.get("k").as_deref(), Some("http://h/files/1"));
        again.remove("k");
        assert_eq!(store.get("k"), None);
        assert_eq!(store.get("j").as_deref(), Some("http://h/files/2"));
        std::fs::write(&file, "not json").unwrap();
        assert_eq!(store.get("j"), None);
        let off = Store::open(&UrlStore::Off);
        off.put("k", "u").unwrap();
        assert_eq!(off.get("k"), None);
    }

    mod properties {
        use super::super::*;
        use proptest::prelude::*;

        proptest! {
            #[test]
            fn offsets_and_locations_never_panic(text in ".{0,80}") {
                let _ = parse_u64(&text);
                let endpoint = reqwest::Url::parse("http://127.0.0.1:1080/files/").unwrap();
                let _ = location_url(&endpoint, &text);
            }

            #[test]
            fn offsets_read_back(n in any::<u64>(), pad in " {0,3}") {
                prop_assert_eq!(parse_u64(&format!("{pad}{n}{pad}")), Some(n));
                prop_assert_eq!(parse_u64(&format!("-{n}")), None);
            }

            #[test]
            fn a_relative_location_stays_on_the_endpoint(id in "[a-zA-Z0-9_-]{1,40}") {
                let endpoint = reqwest::Url::parse("http://127.0.0.1:1080/files/").unwrap();
                let url = location_url(&endpoint, &format!("/files/{id}")).unwrap();
                prop_assert_eq!(url.origin(), endpoint.origin());
                prop_assert!(url.path().ends_with(&id));
            }
        }
    }

    #[test]
    fn which_statuses_stop() {
        for status in [400, 403, 404, 410, 413] {
            assert!(is_permanent(status));
        }
        for status in [409, 423, 429, 460, 500, 502, 503] {
            assert!(!is_permanent(status));
        }
    }
}
