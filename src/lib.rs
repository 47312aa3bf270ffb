//! libkitsu: file transfers with Kitsu (Zou), the production tracker by
//! CGWire, for C, C++ and Python, doing what gazu's file functions do and
//! doing it better (streaming, atomic downloads, real progress, typed errors).
//!
//! The Rust core ([`Client`], [`transfer`]) knows nothing of C; the `ffi`
//! module is the C ABI described by `include/kitsu.h`.

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
