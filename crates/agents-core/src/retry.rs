//! Connect-phase retries: [`ConnectOptions`] and the one retry helper every plugin uses.
//!
//! Retrying lives here, not in each plugin. A plugin wraps the part of a request that happens
//! before any output was handed to the caller (DNS, TCP, TLS, the HTTP status, the WebSocket
//! handshake) in [`retry`], and never retries after the first token or audio byte was yielded,
//! so no output is ever duplicated.

use std::future::Future;
use std::time::Duration;

use crate::error::{Error, Result};

/// How a plugin connects: attempts, backoff and the per-attempt deadline.
///
/// ```
/// use agents_core::ConnectOptions;
/// use std::time::Duration;
///
/// let opts = ConnectOptions::default()
///     .with_max_retries(5)
///     .with_retry_interval(Duration::from_millis(100))
///     .with_timeout(Duration::from_secs(5));
/// assert_eq!(opts.max_retries, 5);
/// ```
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct ConnectOptions {
    /// Retries after the first attempt (0 means one attempt only).
    pub max_retries: u32,
    /// The first backoff interval; it doubles with every retry up to [`Self::max_interval`].
    pub retry_interval: Duration,
    /// The cap on a single backoff interval.
    pub max_interval: Duration,
    /// The deadline of one attempt (connect and first response).
    pub timeout: Duration,
    /// A provider wait hint longer than this makes the error final instead of waiting.
    pub max_retry_after: Duration,
}

impl Default for ConnectOptions {
    fn default() -> Self {
        ConnectOptions {
            max_retries: 3,
            retry_interval: Duration::from_millis(500),
            max_interval: Duration::from_secs(8),
            timeout: Duration::from_secs(10),
            max_retry_after: Duration::from_secs(120),
        }
    }
}

impl ConnectOptions {
    /// Sets the number of retries after the first attempt.
    #[must_use]
    pub fn with_max_retries(mut self, max_retries: u32) -> Self {
        self.max_retries = max_retries;
        self
    }

    /// Sets the first backoff interval.
    #[must_use]
    pub fn with_retry_interval(mut self, interval: Duration) -> Self {
        self.retry_interval = interval;
        self
    }

    /// Sets the cap on one backoff interval.
    #[must_use]
    pub fn with_max_interval(mut self, interval: Duration) -> Self {
        self.max_interval = interval;
        self
    }

    /// Sets the deadline of one attempt.
    #[must_use]
    pub fn with_timeout(mut self, timeout: Duration) -> Self {
        self.timeout = timeout;
        self
    }

    /// Sets the longest provider wait hint that is still honoured.
    #[must_use]
    pub fn with_max_retry_after(mut self, max: Duration) -> Self {
        self.max_retry_after = max;
        self
    }

    /// The wait before retry number `retry` (0-based) after `error`, or `None` when the error
    /// must not be retried: not retryable, retries exhausted, or a wait hint above
    /// [`Self::max_retry_after`].
    ///
    /// Backoff doubles from [`Self::retry_interval`] up to [`Self::max_interval`] and is lowered
    /// by up to 25 % of jitter; a provider hint (`retry-after`) replaces it when present.
    #[must_use]
    pub fn delay_for(&self, retry: u32, error: &Error) -> Option<Duration> {
        if retry >= self.max_retries || !error.is_retryable() {
            return None;
        }
        if let Some(hint) = error.retry_after() {
            if hint > self.max_retry_after {
                return None;
            }
            if !hint.is_zero() {
                return Some(hint);
            }
        }
        let factor = 1u32.checked_shl(retry.min(16)).unwrap_or(u32::MAX);
        let base = self
            .retry_interval
            .saturating_mul(factor)
            .min(self.max_interval);
        let jitter = base.mul_f64(0.25 * jitter_unit());
        Some(base.saturating_sub(jitter))
    }
}

/// A pseudo-random number in `[0, 1)` for backoff jitter; it needs no quality, only spread.
fn jitter_unit() -> f64 {
    use std::sync::atomic::{AtomicU64, Ordering};
    static STATE: AtomicU64 = AtomicU64::new(0x9E37_79B9_7F4A_7C15);
    let mut x = STATE.fetch_add(0x9E37_79B9_7F4A_7C15, Ordering::Relaxed);
    x ^= x >> 30;
    x = x.wrapping_mul(0xBF58_476D_1CE4_E5B9);
    x ^= x >> 27;
    x = x.wrapping_mul(0x94D0_49BB_1331_11EB);
    x ^= x >> 31;
    (x >> 11) as f64 / (1u64 << 53) as f64
}

/// One failed attempt that will be retried, handed to the `on_retry` callback of
/// [`retry_with`] so that it can be reported as an event.
#[derive(Debug)]
#[non_exhaustive]
pub struct RetryAttempt<'a> {
    /// The attempt that failed, counting from 1.
    pub attempt: u32,
    /// Why it failed.
    pub error: &'a Error,
    /// How long the helper waits before the next attempt.
    pub delay: Duration,
}

/// Runs `attempt` until it succeeds, fails with an error that must not be retried, or the
/// retries in `opts` are used up. Each attempt is bounded by `opts.timeout`.
///
/// Cancellation: dropping the returned future stops at once (between attempts or inside one).
///
/// ```
/// use agents_core::{retry, ConnectOptions, Error};
/// use std::sync::atomic::{AtomicU32, Ordering};
/// use std::time::Duration;
///
/// # tokio::runtime::Builder::new_current_thread().enable_time().build().unwrap().block_on(async {
/// let calls = AtomicU32::new(0);
/// let opts = ConnectOptions::default().with_retry_interval(Duration::from_millis(1));
/// let value = retry(&opts, || async {
///     if calls.fetch_add(1, Ordering::SeqCst) < 2 {
///         Err(Error::connection("refused"))
///     } else {
///         Ok(42)
///     }
/// })
/// .await
/// .unwrap();
/// assert_eq!(value, 42);
/// assert_eq!(calls.load(Ordering::SeqCst), 3);
/// # });
/// ```
pub async fn retry<T, F, Fut>(opts: &ConnectOptions, attempt: F) -> Result<T>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<T>>,
{
    retry_with(opts, attempt, |_| {}).await
}

/// Like [`retry`], calling `on_retry` before each wait so the caller can emit an event.
pub async fn retry_with<T, F, Fut, R>(
    opts: &ConnectOptions,
    mut attempt: F,
    mut on_retry: R,
) -> Result<T>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<T>>,
    R: FnMut(RetryAttempt<'_>),
{
    let mut retries = 0u32;
    loop {
        let outcome = match tokio::time::timeout(opts.timeout, attempt()).await {
            Ok(outcome) => outcome,
            Err(_) => Err(Error::timeout(format!(
                "no answer within {} ms",
                opts.timeout.as_millis()
            ))),
        };
        let error = match outcome {
            Ok(value) => return Ok(value),
            Err(error) => error,
        };
        let Some(delay) = opts.delay_for(retries, &error) else {
            return Err(error);
        };
        retries += 1;
        tracing::debug!(attempt = retries, ?delay, %error, "retrying after a connect-phase failure");
        on_retry(RetryAttempt {
            attempt: retries,
            error: &error,
            delay,
        });
        tokio::time::sleep(delay).await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicU32, Ordering};

    fn fast() -> ConnectOptions {
        ConnectOptions::default()
            .with_retry_interval(Duration::from_millis(100))
            .with_max_retries(3)
    }

    #[tokio::test(start_paused = true)]
    async fn retries_retryable_errors_then_succeeds() {
        let calls = AtomicU32::new(0);
        let mut seen = Vec::new();
        let value = retry_with(
            &fast(),
            || async {
                match calls.fetch_add(1, Ordering::SeqCst) {
                    0 => Err(Error::provider_status(503, "busy")),
                    1 => Err(Error::connection("reset")),
                    _ => Ok("ok"),
                }
            },
            |a| seen.push((a.attempt, a.delay)),
        )
        .await
        .unwrap();
        assert_eq!(value, "ok");
        assert_eq!(seen.len(), 2);
        assert_eq!(seen[0].0, 1);
        // backoff doubles, jitter lowers it by at most 25 %
        assert!(seen[0].1 <= Duration::from_millis(100) && seen[0].1 >= Duration::from_millis(75));
        assert!(seen[1].1 <= Duration::from_millis(200) && seen[1].1 >= Duration::from_millis(150));
    }

    #[tokio::test(start_paused = true)]
    async fn final_errors_come_back_at_once() {
        let calls = AtomicU32::new(0);
        let err = retry(&fast(), || async {
            calls.fetch_add(1, Ordering::SeqCst);
            Err::<(), _>(Error::auth("bad key"))
        })
        .await
        .unwrap_err();
        assert_eq!(calls.load(Ordering::SeqCst), 1);
        assert_eq!(err.kind(), &crate::ErrorKind::Auth);
    }

    #[tokio::test(start_paused = true)]
    async fn honours_retry_after_and_gives_up_after_max() {
        let calls = AtomicU32::new(0);
        let start = tokio::time::Instant::now();
        let err = retry(&fast(), || async {
            calls.fetch_add(1, Ordering::SeqCst);
            Err::<(), _>(Error::rate_limited(
                "slow down",
                Some(Duration::from_secs(2)),
            ))
        })
        .await
        .unwrap_err();
        assert_eq!(calls.load(Ordering::SeqCst), 4);
        assert_eq!(start.elapsed(), Duration::from_secs(6));
        assert!(err.is_retryable());
    }

    #[tokio::test(start_paused = true)]
    async fn long_retry_after_is_final() {
        let calls = AtomicU32::new(0);
        let _ = retry(&fast(), || async {
            calls.fetch_add(1, Ordering::SeqCst);
            Err::<(), _>(Error::rate_limited("later", Some(Duration::from_secs(600))))
        })
        .await;
        assert_eq!(calls.load(Ordering::SeqCst), 1);
    }

    #[tokio::test(start_paused = true)]
    async fn attempts_time_out() {
        let opts = fast()
            .with_max_retries(1)
            .with_timeout(Duration::from_millis(50));
        let calls = AtomicU32::new(0);
        let err = retry(&opts, || async {
            calls.fetch_add(1, Ordering::SeqCst);
            tokio::time::sleep(Duration::from_secs(10)).await;
            Ok::<_, Error>(())
        })
        .await
        .unwrap_err();
        assert_eq!(err.kind(), &crate::ErrorKind::Timeout);
        assert_eq!(calls.load(Ordering::SeqCst), 2);
    }

    #[test]
    fn jitter_is_in_range() {
        for _ in 0..1000 {
            let j = jitter_unit();
            assert!((0.0..1.0).contains(&j));
        }
    }
}
