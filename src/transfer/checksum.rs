//! SHA-256 of a transfer's bytes in the same pass: bytes are hashed as they
//! stream, in file order. What does not stream in order (a resumed
//! download's prefix, the segments of a segmented download after the
//! first, chunks sent out of order or skipped because the server had them)
//! is read from the local file once at the end, from the first byte not
//! yet hashed.

use std::fs::File;
use std::io::{Read, Seek, SeekFrom};
use std::path::Path;

use sha2::{Digest, Sha256};

use crate::error::{Error, Result};

/// A SHA-256 fed in file order.
#[derive(Clone, Default)]
pub(crate) struct Checksum {
    hasher: Sha256,
    /// Bytes hashed so far: the next offset that continues the hash.
    next: u64,
}

impl Checksum {
    pub fn new() -> Checksum {
        Checksum::default()
    }

    /// `bytes` found at `offset` of the file: the part that continues what
    /// was hashed is hashed; bytes already hashed (a resent body) are
    /// skipped; bytes past a gap are left to [`Checksum::complete`].
    pub fn feed(&mut self, offset: u64, bytes: &[u8]) {
        let end = offset + bytes.len() as u64;
        if offset <= self.next && end > self.next {
            let skip = (self.next - offset) as usize;
            self.hasher.update(&bytes[skip..]);
            self.next = end;
        }
    }

    /// The digest of the `len` bytes of the file at `path`, opened only
    /// when bytes were not fed in order.
    pub fn complete_at(self, path: &Path, len: u64) -> Result<[u8; 32]> {
        if self.next == len {
            return Ok(self.finish());
        }
        let mut file = File::open(path).map_err(|e| Error::io(path, e))?;
        self.complete(&mut file, path, len)
    }

    /// The digest of the `len` bytes of `file`: what was not fed in order
    /// is read from it first.
    pub fn complete(mut self, file: &mut File, path: &Path, len: u64) -> Result<[u8; 32]> {
        if self.next < len {
            file.seek(SeekFrom::Start(self.next))
                .map_err(|e| Error::io(path, e))?;
            let mut rest = file.take(len - self.next);
            let mut buffer = vec![0u8; 256 * 1024];
            loop {
                let n = rest.read(&mut buffer).map_err(|e| Error::io(path, e))?;
                if n == 0 {
                    break;
                }
                self.hasher.update(&buffer[..n]);
                self.next += n as u64;
            }
            if self.next != len {
                // Shorter than it was when the transfer began.
                return Err(Error::io(
                    path,
                    std::io::Error::other(format!(
                        "the file is {} bytes, not {len}, while its checksum was computed",
                        self.next
                    )),
                ));
            }
        }
        Ok(self.hasher.finalize().into())
    }

    /// The digest of what was fed, when it was all of the bytes.
    pub fn finish(self) -> [u8; 32] {
        self.hasher.finalize().into()
    }
}

/// The SHA-256 of a file on disk, read once (for files that did not move
/// through a transfer, such as those a batch found already there).
pub fn sha256_of_file(path: &Path) -> Result<[u8; 32]> {
    let len = std::fs::metadata(path)
        .map_err(|e| Error::io(path, e))?
        .len();
    Checksum::new().complete_at(path, len)
}

/// The SHA-256 of `len` bytes of `path` from `offset`, read in pieces
/// (constant memory whatever the length).
pub(crate) fn sha256_of_range(path: &Path, offset: u64, len: u64) -> Result<[u8; 32]> {
    let mut file = File::open(path).map_err(|e| Error::io(path, e))?;
    let checksum = Checksum {
        hasher: Sha256::new(),
        next: offset,
    };
    // `complete` reads from `next` (here the range's start) to `len` of the file.
    checksum.complete(&mut file, path, offset + len)
}

/// A digest as lowercase hex, as `sha256sum` prints it.
pub fn hex(digest: &[u8; 32]) -> String {
    digest.iter().map(|b| format!("{b:02x}")).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn expected(data: &[u8]) -> [u8; 32] {
        Sha256::digest(data).into()
    }

    #[test]
    fn bytes_in_order_resent_or_out_of_order_give_the_file_digest() {
        let data: Vec<u8> = (0..100_000u32).map(|i| (i * 7 % 251) as u8).collect();
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("f");
        std::fs::write(&path, &data).unwrap();
        let mut file = File::open(&path).unwrap();

        let mut c = Checksum::new();
        c.feed(0, &data[..40_000]);
        c.feed(20_000, &data[20_000..50_000]); // a resent body: the overlap is skipped
        c.feed(70_000, &data[70_000..]); // past a gap: left for complete
        assert_eq!(c.next, 50_000);
        assert_eq!(
            c.complete(&mut file, &path, 100_000).unwrap(),
            expected(&data)
        );

        let mut whole = Checksum::new();
        whole.feed(0, &data);
        assert_eq!(whole.finish(), expected(&data));
        assert_eq!(
            hex(&expected(b"")),
            "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
        );
    }
}
