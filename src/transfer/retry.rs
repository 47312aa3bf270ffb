//! The one attempt loop: which failures are tried again, how long to wait
//! (exponential backoff with full jitter, or the server's Retry-After), and
//! when to give up (attempts, a time budget). The wait is a phase of its own
//! ([`Phase::Retrying`](super::Phase::Retrying)) that the cancel token ends at once.
//!
//! The backoff arithmetic is written here rather than taken from `backon`:
//! backon's jitter adds up to one more delay on top instead of choosing in
//! `[0, delay]` (full jitter), and its iterator cannot restart its count when
//! an attempt made progress; what is left is a few lines.

use std::hash::{BuildHasher, Hasher};
use std::time::{Duration, Instant};

use super::call::Call;
pub use crate::client::{RetryOverride, RetryPolicy};
use crate::error::{Error, Result};

/// How safe a request is to send again: the rule behind every retry.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Idempotency {
    /// Sending it twice has the effect of sending it once: a GET, a PUT of a
    /// state, the bytes of a file the server overwrites. Retried after any
    /// failure worth trying again.
    Repeatable,
    /// It creates something (a comment, a record). Retried only when the
    /// server surely did not act: the connection was never made, or the
    /// server refused before acting (429; 503 with Retry-After).
    CreatesRecord,
    /// Not retried here: the caller runs its own attempt loop around it.
    Once,
}

/// Why `error` deserves another attempt under `idempotency`, or None.
pub(crate) fn retry_reason(error: &Error, idempotency: Idempotency) -> Option<String> {
    if idempotency == Idempotency::Once {
        return None;
    }
    let repeatable = idempotency == Idempotency::Repeatable;
    match error.root() {
        Error::Connect { .. } | Error::ConnectTimeout { .. } => Some("could not connect".into()),
        Error::Network { .. } if repeatable => Some("the connection broke".into()),
        Error::Stalled { secs, .. } if repeatable => Some(format!("nothing moved for {secs} s")),
        Error::IncompleteBody {
            received, expected, ..
        } if repeatable => Some(if *expected > 0 {
            format!("the connection closed after {received} of {expected} bytes")
        } else {
            format!("the connection closed after {received} bytes")
        }),
        Error::Http {
            status,
            retry_after,
            ..
        } => {
            let refused_before_acting = *status == 429 || (*status == 503 && retry_after.is_some());
            let transient = matches!(status, 408 | 429 | 500 | 502 | 503 | 504);
            (transient && (repeatable || refused_before_acting)).then(|| format!("HTTP {status}"))
        }
        _ => None,
    }
}

/// A failure of the connection or of the transfer itself (no answer, or an
/// answer cut short), as opposed to an answer from the server.
pub(crate) fn is_transport_failure(error: &Error) -> bool {
    matches!(
        error.root(),
        Error::Connect { .. }
            | Error::ConnectTimeout { .. }
            | Error::Network { .. }
            | Error::Stalled { .. }
            | Error::IncompleteBody { .. }
    )
}

/// The error to return after `attempts` attempts: wrapped in
/// [`Error::Retried`] with the count when there was more than one.
pub(crate) fn gave_up(error: Error, attempts: u32) -> Error {
    if attempts > 1 {
        Error::Retried {
            attempts,
            last: Box::new(error),
        }
    } else {
        error
    }
}

/// The wait before attempt `retry + 1` (`retry` counts from 1): the server's
/// Retry-After when given, else full jitter over `initial * 2^(retry-1)`;
/// never more than `max_delay`.
pub(crate) fn delay(policy: &RetryPolicy, retry: u32, retry_after: Option<u64>) -> Duration {
    if let Some(secs) = retry_after {
        return Duration::from_secs(secs).min(policy.max_delay);
    }
    let exponent = retry.saturating_sub(1).min(30);
    let ceiling = policy
        .initial_delay
        .saturating_mul(1u32 << exponent)
        .min(policy.max_delay);
    ceiling.mul_f64(random_unit())
}

/// A number in [0, 1) from the standard library's randomly seeded hasher.
fn random_unit() -> f64 {
    let mut hasher = std::collections::hash_map::RandomState::new().build_hasher();
    hasher.write_u128(
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_nanos())
            .unwrap_or(0),
    );
    (hasher.finish() >> 11) as f64 / (1u64 << 53) as f64
}

/// Runs `attempt` until it succeeds, fails for good, or the policy gives
/// up. The count of attempts in a row starts again when an attempt moved
/// bytes. A failure after more than one attempt comes back as
/// [`Error::Retried`] with the count.
pub(crate) async fn retrying<T>(
    call: &mut Call<'_>,
    idempotency: Idempotency,
    mut attempt: impl AsyncFnMut(&mut Call<'_>) -> Result<T>,
) -> Result<T> {
    let policy = call.retry_policy();
    let mut attempts: u32 = 0;
    let mut in_a_row: u32 = 0;
    let mut failing_since: Option<Instant> = None;
    loop {
        attempts += 1;
        in_a_row += 1;
        call.set_attempt(attempts);
        let before = call.bytes_moved();
        let error = match attempt(call).await {
            Ok(value) => return Ok(value),
            Err(error) => error,
        };
        let wrap = |error: Error| gave_up(error, attempts);
        // Bytes the attempt moved since the driver's last look count too:
        // an attempt shorter than a tick still made progress.
        call.observe_meter()?;
        if call.bytes_moved() > before {
            in_a_row = 1;
            failing_since = None;
        }
        let since = *failing_since.get_or_insert_with(Instant::now);
        let Some(reason) = retry_reason(&error, idempotency) else {
            return Err(wrap(error));
        };
        if in_a_row >= policy.max_attempts.max(1) || since.elapsed() >= policy.budget {
            return Err(wrap(error));
        }
        let wait = delay(&policy, in_a_row, error.retry_after());
        call.wait_retry(wait, &reason, attempts + 1, policy.max_attempts)
            .await?;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn http(status: u16, retry_after: Option<u64>) -> Error {
        Error::Http {
            status,
            method: "POST".into(),
            path: "p".into(),
            message: "m".into(),
            retry_after,
        }
    }

    #[test]
    fn what_is_retried_depends_on_idempotency() {
        use Idempotency::*;
        let reset = Error::Network {
            path: "p".into(),
            message: "reset".into(),
        };
        let refused = Error::Connect {
            path: "p".into(),
            message: "refused".into(),
        };
        assert!(retry_reason(&reset, Repeatable).is_some());
        assert!(retry_reason(&reset, CreatesRecord).is_none());
        assert!(retry_reason(&refused, CreatesRecord).is_some());
        assert!(retry_reason(&refused, Once).is_none());
        for status in [408, 429, 500, 502, 503, 504] {
            assert!(retry_reason(&http(status, None), Repeatable).is_some());
        }
        for status in [400, 401, 403, 404, 413, 422] {
            assert!(retry_reason(&http(status, None), Repeatable).is_none());
        }
        assert!(retry_reason(&http(429, None), CreatesRecord).is_some());
        assert!(retry_reason(&http(503, Some(1)), CreatesRecord).is_some());
        assert!(retry_reason(&http(503, None), CreatesRecord).is_none());
        assert!(retry_reason(&http(500, None), CreatesRecord).is_none());
    }

    #[test]
    fn backoff_grows_with_full_jitter_and_honours_retry_after() {
        let policy = RetryPolicy {
            initial_delay: Duration::from_millis(100),
            max_delay: Duration::from_secs(2),
            ..RetryPolicy::default()
        };
        for retry in 1..=10 {
            let ceiling = (Duration::from_millis(100) * (1 << (retry - 1))).min(policy.max_delay);
            for _ in 0..20 {
                assert!(delay(&policy, retry, None) <= ceiling);
            }
        }
        let spread: Vec<Duration> = (0..50).map(|_| delay(&policy, 5, None)).collect();
        assert!(spread.iter().any(|d| *d < Duration::from_millis(800)));
        assert!(spread.iter().any(|d| *d > Duration::from_millis(800)));
        assert_eq!(delay(&policy, 1, Some(1)), Duration::from_secs(1));
        assert_eq!(delay(&policy, 1, Some(3600)), policy.max_delay);
    }
}
