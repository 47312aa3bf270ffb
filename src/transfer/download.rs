//! Streaming downloads. The body goes to a [`Sink`]: a file beside the
//! target renamed onto it only once the whole body arrived (and matched its
//! length), or memory. Error bodies never reach a sink. A 202 (the server
//! still preparing the file) is waited out; a body cut short is continued
//! with `Range` (checked by `If-Range` and `Content-Range`) on the next
//! attempt, and, with `resume`, on the next call.
//!
//! What sits at the target is checked before any request: a device, FIFO
//! or socket is refused; a symlink is written through to the regular file
//! it points to (replaced atomically in that file's folder); a file already
//! there keeps its mode, and a new one gets `0666 & ~umask`.

use std::fs::{File, OpenOptions};
use std::io::{Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use reqwest::header::{
    ACCEPT, ACCEPT_ENCODING, CONTENT_LENGTH, CONTENT_RANGE, ETAG, IF_RANGE, LAST_MODIFIED, RANGE,
};
use reqwest::{Method, StatusCode};
use tempfile::NamedTempFile;

use super::call::{Call, Meter};
use super::checksum::Checksum;
use super::retry::{retrying, Idempotency};
use crate::client::{check_status, retry_after_secs, Auth, Client};
use crate::error::{Error, Result};

/// The wait after a 202 without a usable Retry-After (gazu's DEFAULT_RETRY_AFTER).
const DEFAULT_RETRY_AFTER: u64 = 5;
/// Memory sinks do not trust a Content-Length beyond this for pre-allocation.
const MAX_PREALLOCATION: u64 = 64 * 1024 * 1024;
/// The longest file name most file systems take, in bytes.
const NAME_MAX: usize = 255;
/// Symlinks followed at most, as the kernel's own limit.
const MAX_LINKS: usize = 40;
/// A resumed download asks again for this many bytes before the end of
/// what it holds, and continues only when they are the same: the held
/// prefix is proven to be the server's file, validators or not.
pub(crate) const OVERLAP: u64 = 16 * 1024;

/// What identifies the file being fetched across attempts and calls: a
/// strong ETag (or Last-Modified) for `If-Range`, and its full length.
#[derive(Clone, Debug, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub(crate) struct Entity {
    pub validator: Option<String>,
    pub total: Option<u64>,
}

/// Where a download's body goes.
pub(crate) trait Sink {
    fn write(&mut self, chunk: &[u8]) -> Result<()>;
    /// Bytes held so far (what a ranged request continues from).
    fn written(&self) -> u64;
    /// Drops what was written: the next bytes start the file again.
    fn restart(&mut self) -> Result<()>;
    /// The answer's headers came: its length (0 unknown) and identity.
    fn begin(&mut self, _total: u64, _entity: &Entity) -> Result<()> {
        Ok(())
    }
    /// Everything is written; make it durable (not yet visible).
    fn finish(&mut self) -> Result<()> {
        Ok(())
    }
    /// The local file written, if any (for events).
    fn file(&self) -> Option<PathBuf> {
        None
    }
    /// What an earlier call left to continue from (resume), if anything.
    fn resumed_entity(&self) -> Option<Entity> {
        None
    }
    /// The last `len` bytes held (`len` <= [`Sink::written`]): what a
    /// resumed request's overlap is compared with.
    fn tail(&mut self, len: u64) -> Result<Vec<u8>>;
    /// The SHA-256 of the bytes held, when the sink was asked to compute
    /// it; after [`Sink::finish`].
    fn digest(&mut self) -> Result<Option<[u8; 32]>> {
        Ok(None)
    }
}

/// How a [`FileSink`] holds the bytes until they are complete.
enum Storage {
    /// `.<name>.<random>.part`, removed when dropped: nothing is left behind.
    Temporary(NamedTempFile),
    /// `.<name>.kitsu-partial` and its sidecar, kept when the call fails so
    /// that the next call with `resume` continues from them.
    Partial {
        file: File,
        path: PathBuf,
        sidecar: PathBuf,
        route: String,
    },
}

/// The sidecar of a partial download.
#[derive(Debug, serde::Serialize, serde::Deserialize)]
pub(crate) struct Sidecar {
    route: String,
    #[serde(flatten)]
    entity: Entity,
}

/// Writes beside the target; [`FileSink::commit`] renames the complete file
/// onto it. Dropped without commit, a temporary file is removed (a partial
/// one is kept for `resume`) and the target is left as it was.
pub(crate) struct FileSink {
    /// The path as given (for events).
    target: PathBuf,
    /// Where the file lands: the target, or the regular file a symlink there points to.
    destination: PathBuf,
    /// Taken by `commit`.
    storage: Option<Storage>,
    written: u64,
    /// The mode of a file already at the destination, kept when it is replaced.
    mode: Option<u32>,
    resumed: Option<Entity>,
    /// Fed as bytes are written, when a checksum was asked for.
    checksum: Option<Checksum>,
}

impl FileSink {
    /// Checks the target and creates the file the body goes to, before any
    /// request: a typo, a missing or read-only folder, or a device at the
    /// target costs no transfer. `resume_route`: keep a partial file for
    /// this route (see [`Storage::Partial`]). `checksum`: compute the
    /// SHA-256 of what lands at the target.
    pub fn new(target: &Path, resume_route: Option<&str>, checksum: bool) -> Result<FileSink> {
        let destination = resolve_destination(target)?;
        let folder = folder_of(&destination);
        if !folder.is_dir() {
            return Err(Error::FileNotFound { path: folder });
        }
        let mode = existing_mode(&destination)?;
        let name = destination
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        let (storage, written, resumed) = match resume_route {
            None => {
                let temp = temporary_file(&folder, &name)?;
                (Storage::Temporary(temp), 0, None)
            }
            Some(route) => open_partial(&folder, &name, route)?,
        };
        Ok(FileSink {
            target: target.to_path_buf(),
            destination,
            storage: Some(storage),
            written,
            mode,
            resumed,
            checksum: checksum.then(Checksum::new),
        })
    }

    fn file_mut(&mut self) -> Result<&mut File> {
        storage_file(&mut self.storage)
    }

    /// The open file, `len` bytes long, for writes at offsets (a segmented
    /// download's streams share it); the sink then holds `len` bytes.
    pub(crate) fn sized_file(&mut self, len: u64) -> Result<&File> {
        let destination = self.destination.clone();
        self.written = len;
        let file = self.file_mut()?;
        file.set_len(len).map_err(|e| Error::io(&destination, e))?;
        Ok(file)
    }

    /// Renames the complete file onto the destination.
    pub fn commit(mut self) -> Result<()> {
        use std::os::unix::fs::PermissionsExt;
        if let Some(mode) = self.mode {
            let permissions = std::fs::Permissions::from_mode(mode);
            let destination = self.destination.clone();
            self.file_mut()?
                .set_permissions(permissions)
                .map_err(|e| Error::io(&destination, e))?;
        }
        let destination = self.destination.clone();
        match self.storage.take() {
            None => {}
            Some(Storage::Temporary(temp)) => {
                temp.persist(&destination)
                    .map_err(|e| Error::io(&destination, e.error))?;
            }
            Some(Storage::Partial { path, sidecar, .. }) => {
                std::fs::rename(&path, &destination).map_err(|e| Error::io(&destination, e))?;
                let _ = std::fs::remove_file(sidecar);
            }
        }
        Ok(())
    }
}

impl Drop for FileSink {
    fn drop(&mut self) {
        // A partial file with nothing in it is no help to the next call.
        if let Some(Storage::Partial { path, sidecar, .. }) = &self.storage {
            if self.written == 0 {
                let _ = std::fs::remove_file(path);
                let _ = std::fs::remove_file(sidecar);
            }
        }
    }
}

impl Sink for FileSink {
    fn file(&self) -> Option<PathBuf> {
        Some(self.target.clone())
    }

    fn write(&mut self, chunk: &[u8]) -> Result<()> {
        // Written chunk by chunk as hyper hands them over (tens to hundreds
        // of KiB): a BufWriter in between would only add a copy of every byte.
        storage_file(&mut self.storage)?
            .write_all(chunk)
            .map_err(|e| Error::io(&self.destination, e))?;
        if let Some(checksum) = &mut self.checksum {
            checksum.feed(self.written, chunk);
        }
        self.written += chunk.len() as u64;
        Ok(())
    }

    fn written(&self) -> u64 {
        self.written
    }

    fn restart(&mut self) -> Result<()> {
        let destination = self.destination.clone();
        let file = self.file_mut()?;
        file.set_len(0)
            .and_then(|_| file.seek(SeekFrom::Start(0)).map(|_| ()))
            .map_err(|e| Error::io(&destination, e))?;
        self.written = 0;
        if self.checksum.is_some() {
            self.checksum = Some(Checksum::new());
        }
        Ok(())
    }

    fn begin(&mut self, _total: u64, entity: &Entity) -> Result<()> {
        if let Some(Storage::Partial { sidecar, route, .. }) = &self.storage {
            let record = Sidecar {
                route: route.clone(),
                entity: entity.clone(),
            };
            write_sidecar(sidecar, &record)?;
        }
        Ok(())
    }

    fn finish(&mut self) -> Result<()> {
        let destination = self.destination.clone();
        self.file_mut()?
            .sync_all()
            .map_err(|e| Error::io(&destination, e))
    }

    fn resumed_entity(&self) -> Option<Entity> {
        self.resumed.clone()
    }

    fn tail(&mut self, len: u64) -> Result<Vec<u8>> {
        use std::os::unix::fs::FileExt;
        let start = self.written.saturating_sub(len);
        let mut bytes = vec![0u8; (self.written - start) as usize];
        let destination = self.destination.clone();
        self.file_mut()?
            .read_exact_at(&mut bytes, start)
            .map_err(|e| Error::io(&destination, e))?;
        Ok(bytes)
    }

    fn digest(&mut self) -> Result<Option<[u8; 32]>> {
        let Some(checksum) = self.checksum.take() else {
            return Ok(None);
        };
        let (destination, len) = (self.destination.clone(), self.written);
        let file = self.file_mut()?;
        checksum.complete(file, &destination, len).map(Some)
    }
}

/// The open file of a sink's storage (a free function, so that the
/// destination can be borrowed beside it).
fn storage_file(storage: &mut Option<Storage>) -> Result<&mut File> {
    match storage {
        Some(Storage::Temporary(temp)) => Ok(temp.as_file_mut()),
        Some(Storage::Partial { file, .. }) => Ok(file),
        None => Err(Error::InvalidParameter(
            "the download was already committed".into(),
        )),
    }
}

fn folder_of(path: &Path) -> PathBuf {
    match path.parent() {
        Some(parent) if !parent.as_os_str().is_empty() => parent.to_path_buf(),
        _ => PathBuf::from("."),
    }
}

/// The path the file lands on: `target`, or the file a symlink there points
/// to (followed link by link). A folder, a device, a FIFO or a socket is refused.
fn resolve_destination(target: &Path) -> Result<PathBuf> {
    check_file_path(target)?;
    let mut path = target.to_path_buf();
    for _ in 0..MAX_LINKS {
        let metadata = match std::fs::symlink_metadata(&path) {
            Ok(metadata) => metadata,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(path),
            Err(e) => return Err(Error::io(&path, e)),
        };
        let kind = metadata.file_type();
        if kind.is_symlink() {
            let link = std::fs::read_link(&path).map_err(|e| Error::io(&path, e))?;
            path = folder_of(&path).join(link);
            continue;
        }
        if kind.is_dir() {
            return Err(Error::InvalidParameter(format!(
                "{} is a folder, not a file path",
                path.display()
            )));
        }
        return match special_kind(kind) {
            Some(kind) => Err(Error::NotARegularFile { path, kind }),
            None => Ok(path),
        };
    }
    Err(Error::InvalidParameter(format!(
        "{}: too many levels of symbolic links",
        target.display()
    )))
}

/// A download target must name a file (not "", "/" or "dir/..").
pub(crate) fn check_file_path(target: &Path) -> Result<()> {
    if target.file_name().is_none() {
        return Err(Error::InvalidParameter(format!(
            "{} is not a file path (no file name)",
            target.display()
        )));
    }
    Ok(())
}

/// The permission bits of a regular file at `path`, if there is one.
fn existing_mode(path: &Path) -> Result<Option<u32>> {
    use std::os::unix::fs::PermissionsExt;
    match std::fs::metadata(path) {
        Ok(metadata) => Ok(Some(metadata.permissions().mode() & 0o7777)),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(Error::io(path, e)),
    }
}

/// `.<name>.<random>.part` in `folder` (a shorter name when that one would
/// pass the file-name limit), created `0666 & ~umask` as curl and gazu do.
fn temporary_file(folder: &Path, name: &str) -> Result<NamedTempFile> {
    use std::os::unix::fs::PermissionsExt;
    // tempfile adds 6 random characters between prefix and suffix.
    let prefix = if name.len() + ".".len() * 2 + 6 + ".part".len() <= NAME_MAX {
        format!(".{name}.")
    } else {
        ".kitsu.".to_string()
    };
    tempfile::Builder::new()
        .prefix(&prefix)
        .suffix(".part")
        .permissions(std::fs::Permissions::from_mode(0o666))
        .tempfile_in(folder)
        .map_err(|e| Error::io(folder, e))
}

/// The partial file and sidecar of `name` in `folder`, continued when the
/// sidecar names the same route, otherwise started afresh.
///
/// Nothing there is trusted: a symlink at the partial path is removed (its
/// target is never opened), any other file that is not a regular file with
/// one link (a FIFO, a device, a folder, a hard link to another file) is
/// refused before it is opened for writing, and the file is opened without
/// following links and without blocking. It is then locked (`flock`,
/// exclusive) for the whole call, so two processes resuming the same
/// target never interleave: the second fails at once with a clear message.
fn open_partial(folder: &Path, name: &str, route: &str) -> Result<(Storage, u64, Option<Entity>)> {
    let (path, sidecar) = partial_paths(folder, name);
    let file = open_locked_partial(&path)?;
    let previous = read_sidecar(&sidecar).filter(|record| record.route == route);
    let length = file.metadata().map_err(|e| Error::io(&path, e))?.len();
    let (file, written, entity) = match previous {
        Some(record) if length > 0 => {
            let mut file = file;
            file.seek(SeekFrom::End(0))
                .map_err(|e| Error::io(&path, e))?;
            (file, length, Some(record.entity))
        }
        _ => {
            // Anything else there is stale: start again, in the file we hold locked.
            let _ = std::fs::remove_file(&sidecar);
            file.set_len(0).map_err(|e| Error::io(&path, e))?;
            (file, 0, None)
        }
    };
    let storage = Storage::Partial {
        file,
        path,
        sidecar,
        route: route.to_string(),
    };
    Ok((storage, written, entity))
}

/// What stands at a path we are about to open, without following a link.
fn kind_at(path: &Path) -> Result<Option<std::fs::FileType>> {
    match std::fs::symlink_metadata(path) {
        Ok(metadata) => Ok(Some(metadata.file_type())),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(Error::io(path, e)),
    }
}

/// A human name for a file type that is not a regular file.
fn special_kind(kind: std::fs::FileType) -> Option<&'static str> {
    use std::os::unix::fs::FileTypeExt;
    if kind.is_file() {
        None
    } else if kind.is_symlink() {
        Some("a symbolic link")
    } else if kind.is_dir() {
        Some("a folder")
    } else if kind.is_char_device() {
        Some("a character device")
    } else if kind.is_block_device() {
        Some("a block device")
    } else if kind.is_fifo() {
        Some("a FIFO")
    } else if kind.is_socket() {
        Some("a socket")
    } else {
        Some("not a regular file")
    }
}

/// Opens (creating it if missing) the regular file at `path` for reading
/// and writing, never through a link and never blocking, and locks it.
/// Loops when another process replaced the file between the open and the
/// lock (the lock must be on the file the path names).
fn open_locked_partial(path: &Path) -> Result<File> {
    use std::os::unix::fs::{MetadataExt, OpenOptionsExt};
    for _ in 0..MAX_LINKS {
        match kind_at(path)? {
            Some(kind) if kind.is_symlink() => {
                // Removing a link never touches what it points to.
                std::fs::remove_file(path).map_err(|e| Error::io(path, e))?;
            }
            Some(kind) => {
                if let Some(kind) = special_kind(kind) {
                    return Err(Error::NotARegularFile {
                        path: path.to_path_buf(),
                        kind,
                    });
                }
            }
            None => {}
        }
        let file = match OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .mode(0o666)
            .custom_flags(libc::O_NOFOLLOW | libc::O_NONBLOCK | libc::O_CLOEXEC)
            .open(path)
        {
            Ok(file) => file,
            // A link or special file put there since the look: look again.
            Err(e) if e.raw_os_error() == Some(libc::ELOOP) => continue,
            Err(e) if e.raw_os_error() == Some(libc::ENXIO) => continue,
            Err(e) => return Err(Error::io(path, e)),
        };
        let metadata = file.metadata().map_err(|e| Error::io(path, e))?;
        if let Some(kind) = special_kind(metadata.file_type()) {
            return Err(Error::NotARegularFile {
                path: path.to_path_buf(),
                kind,
            });
        }
        if metadata.nlink() > 1 {
            return Err(Error::NotARegularFile {
                path: path.to_path_buf(),
                kind: "a file with other hard links",
            });
        }
        // SAFETY: a valid descriptor owned by `file`.
        if unsafe {
            libc::flock(
                std::os::unix::io::AsRawFd::as_raw_fd(&file),
                libc::LOCK_EX | libc::LOCK_NB,
            )
        } != 0
        {
            let error = std::io::Error::last_os_error();
            if error.raw_os_error() == Some(libc::EWOULDBLOCK) {
                return Err(Error::io(
                    path,
                    std::io::Error::new(
                        std::io::ErrorKind::WouldBlock,
                        "another transfer is resuming this download now (its partial file is locked); \
                         wait for it or download to another target",
                    ),
                ));
            }
            return Err(Error::io(path, error));
        }
        // Still the file the path names (not renamed onto a target, not replaced)?
        match std::fs::symlink_metadata(path) {
            Ok(now) if now.dev() == metadata.dev() && now.ino() == metadata.ino() => {
                return Ok(file)
            }
            Ok(_) => continue,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => continue,
            Err(e) => return Err(Error::io(path, e)),
        }
    }
    Err(Error::io(
        path,
        std::io::Error::other("the partial file keeps being replaced by another program"),
    ))
}

/// The sidecar's record, if a small regular file (no link) holds one.
fn read_sidecar(sidecar: &Path) -> Option<Sidecar> {
    use std::io::Read;
    use std::os::unix::fs::OpenOptionsExt;
    const MAX_SIDECAR: u64 = 64 * 1024;
    let file = OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_NOFOLLOW | libc::O_NONBLOCK | libc::O_CLOEXEC)
        .open(sidecar)
        .ok()?;
    if !file.metadata().ok()?.is_file() {
        return None;
    }
    let mut bytes = Vec::new();
    file.take(MAX_SIDECAR).read_to_end(&mut bytes).ok()?;
    parse_sidecar(&bytes)
}

/// A sidecar's bytes as its record; anything else is none.
pub(crate) fn parse_sidecar(bytes: &[u8]) -> Option<Sidecar> {
    serde_json::from_slice::<Sidecar>(bytes).ok()
}

/// Writes the sidecar through a new temporary file renamed onto it: a link
/// or anything else at its name is replaced, never written through.
fn write_sidecar(sidecar: &Path, record: &Sidecar) -> Result<()> {
    let text =
        serde_json::to_vec(record).map_err(|e| Error::io(sidecar, std::io::Error::other(e)))?;
    let folder = folder_of(sidecar);
    let mut temporary = tempfile::Builder::new()
        .prefix(".kitsu-sidecar.")
        .tempfile_in(&folder)
        .map_err(|e| Error::io(&folder, e))?;
    temporary
        .write_all(&text)
        .map_err(|e| Error::io(sidecar, e))?;
    temporary
        .persist(sidecar)
        .map_err(|e| Error::io(sidecar, e.error))?;
    Ok(())
}

/// `.<name>.kitsu-partial` and its `.json` sidecar in `folder` (a hashed
/// name when that one would pass the file-name limit).
fn partial_paths(folder: &Path, name: &str) -> (PathBuf, PathBuf) {
    let base = if name.len() + ".".len() + ".kitsu-partial.json".len() <= NAME_MAX {
        format!(".{name}.kitsu-partial")
    } else {
        format!(".kitsu-{:016x}.kitsu-partial", fnv1a(name.as_bytes()))
    };
    (folder.join(&base), folder.join(format!("{base}.json")))
}

/// Removes what a failed or cancelled download with `resume` kept for
/// `target` (its partial file and sidecar); true when there was something.
/// For callers that stop for good and want nothing partial left.
pub fn discard_partial(target: &Path) -> Result<bool> {
    let destination = resolve_destination(target)?;
    let name = destination
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let (path, sidecar) = partial_paths(&folder_of(&destination), &name);
    let mut removed = false;
    for file in [path, sidecar] {
        match std::fs::remove_file(&file) {
            Ok(()) => removed = true,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => return Err(Error::io(&file, e)),
        }
    }
    Ok(removed)
}

/// The length of `path`'s body as a HEAD request announces it, without
/// moving the body: `None` when the server gives no length or is still
/// processing (202). For "is this file already here" checks.
pub async fn content_length(
    call: &mut Call<'_>,
    client: &Client,
    path: &str,
    accept: &str,
) -> Result<Option<u64>> {
    let response = call
        .drive(client.send(Method::HEAD, path, Auth::Bearer, |request| {
            Ok(ranged_get(request, accept, None, None))
        }))
        .await??;
    if response.status() == StatusCode::ACCEPTED {
        return Ok(None);
    }
    let response = call
        .drive(check_status(&Method::HEAD, path, response))
        .await??;
    // Read from the header: a HEAD answer's body is empty whatever it announces.
    Ok(response
        .headers()
        .get(CONTENT_LENGTH)
        .and_then(|value| value.to_str().ok())
        .and_then(|value| value.parse().ok()))
}

/// A stable short name for a long one.
fn fnv1a(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0xcbf2_9ce4_8422_2325, |hash, byte| {
        (hash ^ u64::from(*byte)).wrapping_mul(0x0100_0000_01b3)
    })
}

/// Collects the body in memory, up to `cap` bytes.
pub(crate) struct MemorySink {
    pub data: Vec<u8>,
    cap: u64,
    path: String,
}

impl MemorySink {
    pub fn new(path: &str, cap: u64) -> MemorySink {
        MemorySink {
            data: Vec::new(),
            cap,
            path: path.to_string(),
        }
    }

    fn too_large(&self) -> Error {
        Error::AnswerTooLarge {
            path: self.path.clone(),
            cap: self.cap,
        }
    }
}

impl Sink for MemorySink {
    fn begin(&mut self, total: u64, _entity: &Entity) -> Result<()> {
        if total > self.cap {
            return Err(self.too_large());
        }
        self.data
            .reserve((total.min(MAX_PREALLOCATION) as usize).saturating_sub(self.data.len()));
        Ok(())
    }
    fn write(&mut self, chunk: &[u8]) -> Result<()> {
        if self.data.len() as u64 + chunk.len() as u64 > self.cap {
            return Err(self.too_large());
        }
        self.data.extend_from_slice(chunk);
        Ok(())
    }
    fn written(&self) -> u64 {
        self.data.len() as u64
    }
    fn restart(&mut self) -> Result<()> {
        self.data.clear();
        Ok(())
    }
    fn tail(&mut self, len: u64) -> Result<Vec<u8>> {
        let start = self.data.len().saturating_sub(len as usize);
        Ok(self.data[start..].to_vec())
    }
}

/// What a download knows across its attempts.
#[derive(Default)]
struct Progressed {
    entity: Entity,
    /// When the first 202 came: the processing timeout counts from there.
    processing_since: Option<Instant>,
    /// The file was started again because the server's changed (a 416 on
    /// a resume, an overlap that differed): at most once per call, so a
    /// server whose file keeps changing fails instead of looping.
    started_again: bool,
}

/// GETs `path` into `sink` within `call`: 202s are waited out (up to the
/// client's processing timeout, honouring Retry-After), failures worth
/// another attempt are retried, and a body cut short continues with a
/// ranged request that first proves the held bytes (see [`OVERLAP`]).
/// `accept` is the request's Accept header (a server may answer 202 only
/// to some). Returns the byte count.
pub(crate) async fn fetch(
    call: &mut Call<'_>,
    client: &Client,
    path: &str,
    accept: &str,
    sink: &mut dyn Sink,
) -> Result<u64> {
    let mut state = Progressed {
        entity: sink.resumed_entity().unwrap_or_default(),
        ..Progressed::default()
    };
    let received = retrying(call, Idempotency::Repeatable, async |call| {
        fetch_once(call, client, path, accept, sink, &mut state).await
    })
    .await?;
    sink.finish()?;
    if let Some(digest) = sink.digest()? {
        call.add_digest(digest);
    }
    call.end_request(received, 1)?;
    Ok(received)
}

/// Why held bytes were dropped, when they were.
enum Held {
    Kept,
    /// The server's file is not the one the held bytes came from.
    Changed(String),
}

/// One attempt: a request (ranged when bytes are already held and the
/// length is known) and its body.
async fn fetch_once(
    call: &mut Call<'_>,
    client: &Client,
    path: &str,
    accept: &str,
    sink: &mut dyn Sink,
    state: &mut Progressed,
) -> Result<u64> {
    loop {
        match fetch_from_held(call, client, path, accept, sink, state).await? {
            (Held::Kept, Some(received)) => return Ok(received),
            (Held::Kept, None) => unreachable!("a kept prefix always streams"),
            (Held::Changed(why), _) => {
                if state.started_again {
                    return Err(Error::InvalidResponse {
                        path: path.into(),
                        message: format!("{why}, again: the file keeps changing on the server"),
                    });
                }
                state.started_again = true;
                sink.restart()?;
                state.entity = Entity::default();
                call.restart_bytes()?;
            }
        }
    }
}

/// One request from what the sink holds: `(Kept, Some(bytes))` when the
/// body streamed, `(Changed, None)` when the held bytes must go.
async fn fetch_from_held(
    call: &mut Call<'_>,
    client: &Client,
    path: &str,
    accept: &str,
    sink: &mut dyn Sink,
    state: &mut Progressed,
) -> Result<(Held, Option<u64>)> {
    let config = client.config();
    let connect_secs = config.connect_timeout.as_secs();
    call.begin_request(path, sink.file().into_iter().collect(), 0)?;
    let held = sink.written();
    let range_from = (held > 0 && state.entity.total.is_some()).then_some(held);
    if held > 0 && range_from.is_none() {
        // No known length (a chunked answer): nothing to continue from.
        sink.restart()?;
    }
    // From a little before the end of what is held: those bytes must match.
    let ask_from = range_from.map(|from| from.saturating_sub(OVERLAP));
    let range = ask_from.map(|from| format!("bytes={from}-"));
    let validator = range.as_ref().and(state.entity.validator.as_deref());
    let response = match get_waiting(
        call,
        client,
        path,
        accept,
        range.as_deref(),
        validator,
        &mut state.processing_since,
    )
    .await
    {
        // More held than the server has: its file changed (got smaller).
        Err(error) if range.is_some() && error.http_status() == Some(416) => {
            return Ok((
                Held::Changed(format!(
                    "the server has fewer than the {held} bytes held (416)"
                )),
                None,
            ))
        }
        other => other?,
    };

    let entity = Entity {
        validator: validator_of(&response),
        total: None,
    };
    let mut overlap = 0;
    let total = if response.status() == StatusCode::PARTIAL_CONTENT {
        let (start, whole) = content_range(&response).ok_or_else(|| Error::InvalidResponse {
            path: path.into(),
            message: "a 206 answer without a usable Content-Range".into(),
        })?;
        if Some(start) != ask_from || Some(whole) != state.entity.total {
            return Ok((
                Held::Changed(format!(
                    "the server answered the range from {} with bytes {start}- of {whole}",
                    ask_from.unwrap_or(0)
                )),
                None,
            ));
        }
        overlap = held - start;
        whole
    } else {
        // A whole body: the server ignored the range, or the file changed.
        if sink.written() > 0 {
            sink.restart()?;
        }
        let total = response.content_length();
        if state.entity.total.is_some() && total != state.entity.total {
            // Another length than an earlier attempt's: the count starts again.
            call.restart_bytes()?;
        }
        state.entity = Entity {
            validator: entity.validator,
            total,
        };
        total.unwrap_or(0)
    };
    sink.begin(total, &state.entity)?;
    call.begin_bytes(total)?;
    let meter = call.meter();
    meter.set(sink.written());
    let expected_tail = if overlap > 0 {
        sink.tail(overlap)?
    } else {
        Vec::new()
    };
    let streamed = call
        .drive(stream_body(
            path,
            response,
            sink,
            &meter,
            connect_secs,
            &expected_tail,
        ))
        .await?;
    match streamed {
        Err(Error::InvalidResponse { message, .. }) if message == OVERLAP_DIFFERS => Ok((
            Held::Changed(format!(
                "the {overlap} bytes asked again before the {held} held differ from them"
            )),
            None,
        )),
        other => Ok((Held::Kept, Some(other?))),
    }
}

/// The message [`stream_body`] fails with when a resumed answer's first
/// bytes differ from what is held.
const OVERLAP_DIFFERS: &str = "the overlap differs from the bytes held";

/// GETs `path` (with `range` and `if_range`, when given) within `call`,
/// waiting out 202s up to the client's processing timeout (counted from
/// `processing_since`, set at the first 202). An error status is an error.
pub(crate) async fn get_waiting(
    call: &mut Call<'_>,
    client: &Client,
    path: &str,
    accept: &str,
    range: Option<&str>,
    if_range: Option<&str>,
    processing_since: &mut Option<Instant>,
) -> Result<reqwest::Response> {
    let limit = client.config().processing_timeout;
    loop {
        let response = call
            .drive(client.send(Method::GET, path, Auth::Bearer, |request| {
                Ok(ranged_get(request, accept, range, if_range))
            }))
            .await??;
        call.note_answer(&response);
        if response.status() != StatusCode::ACCEPTED {
            return call
                .drive(check_status(&Method::GET, path, response))
                .await?;
        }
        let retry_after = retry_after_secs(&response);
        drop(response);
        let waited = processing_since.get_or_insert_with(Instant::now).elapsed();
        if waited >= limit {
            return Err(Error::ProcessingTimeout {
                path: path.into(),
                secs: limit.as_secs(),
            });
        }
        let pause = Duration::from_secs(retry_after.unwrap_or(DEFAULT_RETRY_AFTER));
        call.wait_processing(pause.min(limit - waited), limit, retry_after)
            .await?;
    }
}

/// A download request's headers: Accept, no compression (bytes as stored,
/// so counts match the lengths), and the range asked for.
pub(crate) fn ranged_get(
    request: reqwest::RequestBuilder,
    accept: &str,
    range: Option<&str>,
    if_range: Option<&str>,
) -> reqwest::RequestBuilder {
    let mut request = request
        .header(ACCEPT, accept)
        .header(ACCEPT_ENCODING, "identity");
    if let Some(range) = range {
        request = request.header(RANGE, range);
        if let Some(validator) = if_range {
            request = request.header(IF_RANGE, validator);
        }
    }
    request
}

/// A strong ETag, else Last-Modified: what `If-Range` may carry.
pub(crate) fn validator_of(response: &reqwest::Response) -> Option<String> {
    let header = |name| {
        response
            .headers()
            .get(name)
            .and_then(|v| v.to_str().ok())
            .map(str::to_string)
    };
    header(ETAG)
        .filter(|etag| !etag.starts_with("W/"))
        .or_else(|| header(LAST_MODIFIED))
}

/// `Content-Range: bytes START-END/TOTAL` as (START, TOTAL).
pub(crate) fn content_range(response: &reqwest::Response) -> Option<(u64, u64)> {
    parse_content_range(response.headers().get(CONTENT_RANGE)?.to_str().ok()?)
}

/// `bytes START-END/TOTAL` as (START, TOTAL), when START <= END < TOTAL.
pub(crate) fn parse_content_range(text: &str) -> Option<(u64, u64)> {
    let (range, total) = text.trim().strip_prefix("bytes ")?.split_once('/')?;
    let (start, end) = range.split_once('-')?;
    let (start, end, total) = (
        start.parse::<u64>().ok()?,
        end.parse::<u64>().ok()?,
        total.parse::<u64>().ok()?,
    );
    (start <= end && end < total).then_some((start, total))
}

/// Moves the body into the sink; the driver reads the count from `meter`.
/// Returns what the sink holds at the end, which must be the announced
/// length (the whole file's, for a 206) when there is one. The body's first
/// bytes are compared with `held_tail` (the overlap of a resumed request)
/// instead of being written; a difference fails with [`OVERLAP_DIFFERS`].
pub(crate) async fn stream_body(
    path: &str,
    mut response: reqwest::Response,
    sink: &mut dyn Sink,
    meter: &Meter,
    connect_secs: u64,
    held_tail: &[u8],
) -> Result<u64> {
    let expected = content_range(&response)
        .map(|(_, total)| total)
        .or(response.content_length())
        .unwrap_or(0);
    let mut compared = 0usize;
    loop {
        match response.chunk().await {
            Ok(Some(bytes)) => {
                let mut bytes = &bytes[..];
                if compared < held_tail.len() {
                    let n = bytes.len().min(held_tail.len() - compared);
                    if bytes[..n] != held_tail[compared..compared + n] {
                        return Err(Error::InvalidResponse {
                            path: path.into(),
                            message: OVERLAP_DIFFERS.into(),
                        });
                    }
                    compared += n;
                    bytes = &bytes[n..];
                }
                if !bytes.is_empty() {
                    sink.write(bytes)?;
                    meter.set(sink.written());
                }
            }
            // A body shorter than its announced length is cut, whatever the framing said.
            Ok(None) if expected > 0 && sink.written() != expected => {
                return Err(Error::IncompleteBody {
                    path: path.into(),
                    received: sink.written(),
                    expected,
                })
            }
            Ok(None) if compared < held_tail.len() => {
                return Err(Error::IncompleteBody {
                    path: path.into(),
                    received: sink.written(),
                    expected,
                })
            }
            Ok(None) => return Ok(sink.written()),
            Err(e) if e.is_timeout() => return Err(Error::from_reqwest(path, e, connect_secs)),
            // The connection broke inside the body, whatever its framing.
            Err(_) => {
                return Err(Error::IncompleteBody {
                    path: path.into(),
                    received: sink.written(),
                    expected,
                })
            }
        }
    }
}

/// Downloads `path` to `target` atomically within `call`. Returns the byte count.
pub async fn to_file(
    call: &mut Call<'_>,
    client: &Client,
    path: &str,
    accept: &str,
    target: &Path,
) -> Result<u64> {
    if call.segments() > 1 && !call.resume_requested() {
        return super::segmented::to_file(call, client, path, accept, target).await;
    }
    let resume_route = call.resume_requested().then_some(path);
    let mut sink = FileSink::new(target, resume_route, call.checksum_requested())?;
    let count = fetch(call, client, path, accept, &mut sink).await?;
    sink.commit()?;
    Ok(count)
}

/// Downloads `path` into memory within `call`, up to the client's cap.
pub async fn to_memory(
    call: &mut Call<'_>,
    client: &Client,
    path: &str,
    accept: &str,
) -> Result<Vec<u8>> {
    let mut sink = MemorySink::new(path, client.config().max_memory_answer);
    fetch(call, client, path, accept, &mut sink).await?;
    Ok(std::mem::take(&mut sink.data))
}

#[cfg(test)]
mod property_tests {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        #[test]
        fn content_range_never_panics(text in ".{0,64}") {
            let _ = parse_content_range(&text);
        }

        #[test]
        fn content_range_reads_what_a_server_writes(start in 0u64..u64::MAX / 2, len in 1u64..1 << 40, extra in 0u64..1 << 40) {
            let end = start + len - 1;
            let total = end + 1 + extra;
            prop_assert_eq!(parse_content_range(&format!("bytes {start}-{end}/{total}")), Some((start, total)));
            prop_assert_eq!(parse_content_range(&format!(" bytes {start}-{end}/{total} ")), Some((start, total)));
            // Past the end, backwards, unknown total: none.
            prop_assert_eq!(parse_content_range(&format!("bytes {start}-{end}/{end}")), None);
            prop_assert_eq!(parse_content_range(&format!("bytes {}-{start}/{total}", end + 1)), None);
            prop_assert_eq!(parse_content_range(&format!("bytes {start}-{end}/*")), None);
        }

        #[test]
        fn a_sidecar_is_whatever_parses_and_round_trips(bytes in proptest::collection::vec(any::<u8>(), 0..256),
                                                        route in ".{0,40}", validator in proptest::option::of(".{0,40}"),
                                                        total in proptest::option::of(any::<u64>())) {
            let _ = parse_sidecar(&bytes);
            let record = Sidecar { route: route.clone(), entity: Entity { validator: validator.clone(), total } };
            let parsed = parse_sidecar(&serde_json::to_vec(&record).unwrap()).unwrap();
            prop_assert_eq!(parsed.route, route);
            prop_assert_eq!(parsed.entity, Entity { validator, total });
        }
    }
}
