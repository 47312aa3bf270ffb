//! The transfer engine: knows HTTP and files, not Kitsu.
//! `download` streams to an atomic temporary file (or memory) and waits out
//! 202s; `upload` streams multipart bodies; `progress` holds the callback contract.

pub mod download;
pub mod progress;
pub mod upload;
