//! The transfer engine: knows HTTP and files, not Kitsu.
//! `call` holds one call's context and the one driver loop every request
//! runs under; `download` streams to an atomic temporary file (or memory)
//! and waits out 202s; `upload` streams multipart bodies; `json` sends JSON
//! requests; `progress` holds the simple callback's contract, `event` the
//! rich events, `cancel` the cancel token; `resumable` and `tus` are the
//! chunked-upload protocols, on what `chunked` gives both.

pub mod batch;
pub mod call;
pub mod cancel;
pub mod checksum;
pub mod chunked;
pub mod download;
pub mod event;
pub mod json;
pub mod progress;
pub mod resumable;
pub mod retry;
pub mod segmented;
pub mod tus;
pub mod upload;

pub use batch::{Outcome, DEFAULT_MAX_IN_FLIGHT};
pub use call::{Call, Receipt, TransferOptions};
pub use cancel::CancelToken;
pub use chunked::{ChunkedOptions, ChunkedOutcome, UrlStore};
pub use event::{Event, EventFn, Operation, Phase};
pub use progress::ProgressFn;
pub use retry::{Idempotency, RetryOverride, RetryPolicy};
