//! libkitsu: file transfers with Kitsu (Zou), the production tracker by
//! CGWire, for C, C++ and Python, doing what gazu's file functions do and
//! doing it better (streaming, atomic downloads, real progress, typed errors).
//!
//! The Rust core ([`Client`], [`transfer`], [`api`]) knows nothing of C;
//! the `ffi` module is the C ABI described by `include/kitsu.h`.
//!
//! ```no_run
//! use kitsu::api::{files, Options};
//! use std::path::Path;
//!
//! let client = kitsu::Client::new("https://kitsu.example.com/api")?;
//! client.log_in("me@example.com", "secret")?;
//! let mut progress = |done: u64, total: u64| {
//!     eprint!("\r{done}/{total}");
//!     true // false aborts, leaving nothing behind
//! };
//! let id = "0e5ad4bd-0000-4000-8000-00000000abcd";
//! files::download_preview_file(&client, id, Path::new("preview.png"), Some(&mut progress))?;
//! # Ok::<(), kitsu::Error>(())
//! ```
//!
//! `Options` carries gazu's keyword arguments:
//!
//! ```
//! let options = kitsu::api::Options::parse(Some(r#"{"no_job": true}"#), &["normalize_movie", "no_job"]).unwrap();
//! assert!(options.bool("no_job", false).unwrap());
//! assert!(kitsu::api::Options::parse(Some(r#"{"nojob": true}"#), &["no_job"]).is_err());
//! ```

pub mod api;
pub mod client;
pub mod error;
pub mod ffi;
pub mod transfer;

pub use client::{Client, Config};
pub use error::{Error, Result};
pub use transfer::progress::ProgressFn;
pub use transfer::upload::Part;

/// ABI version of the C interface; bumped on any incompatible change.
/// Kept equal to `KITSU_ABI_VERSION` in the header.
pub const ABI_VERSION: u32 = 1;
