//! libkitsu: file transfers with Kitsu (Zou), the production tracker by
//! CGWire, for C, C++ and Python, doing what gazu's file functions do and
//! doing it better (streaming, atomic downloads, real progress, typed errors).
//!
//! The Rust core ([`Client`], [`transfer`], [`api`]) knows nothing of C;
//! the `ffi` module is the C ABI described by `include/kitsu.h`.
//!
//! ```no_run
//! use kitsu::api::files;
//! use kitsu::{CancelToken, Event, TransferOptions};
//! use std::path::Path;
//!
//! let client = kitsu::Client::new("https://kitsu.example.com/api")?;
//! client.log_in("me@example.com", "secret")?;
//! let mut progress = |done: u64, total: u64| {
//!     eprint!("\r{done}/{total}");
//!     true // false aborts, leaving nothing behind
//! };
//! let mut on_event = |event: &Event<'_>| {
//!     eprintln!("{:?} {}: {}", event.phase, event.key, event.message);
//!     true
//! };
//! let cancel = CancelToken::new(); // clone it to a Cancel button's thread
//! let options = TransferOptions {
//!     progress: Some(&mut progress),
//!     on_event: Some(&mut on_event),
//!     cancel: Some(cancel.clone()),
//!     ..TransferOptions::default() // retries as the client's, no resume
//! };
//! let id = "0e5ad4bd-0000-4000-8000-00000000abcd";
//! files::blocking::download_preview_file(&client, id, Path::new("preview.png"), options)?;
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
mod reentry;
pub mod route;
mod signals;
pub mod transfer;

pub use client::{Client, Config};
pub use error::{Error, Result};
pub use transfer::upload::Part;
pub use transfer::{
    Call, CancelToken, Event, EventFn, Operation, Phase, ProgressFn, TransferOptions,
};

/// ABI version of the C interface; bumped on any incompatible change. The
/// header's `KITSU_ABI_VERSION` is generated from this one value.
pub const ABI_VERSION: u32 = 2;
