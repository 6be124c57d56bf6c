//! Failure injection and latency shared by every mock.

use std::collections::VecDeque;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use agents_core::stream::EventSender;
use agents_core::{Error, Result};

/// Failure injection for one mock. Cloning shares the state, so a test keeps a handle (from
/// the mock's `faults()`) and changes the faults while the mock is in use.
///
/// A *call* is one `recognize`, `stream`, `chat`, `synthesize`, `connect`, turn prediction or
/// VAD frame. An *item* is one event, chunk or frame of a stream.
///
/// ```
/// use agents_core::Error;
/// use agents_plugin_mock::Faults;
///
/// let faults = Faults::new();
/// faults.fail_next(2, Error::provider_status(503, "overloaded"));
/// assert!(faults.begin_call().is_err());
/// assert!(faults.begin_call().is_err());
/// assert!(faults.begin_call().is_ok());
/// assert_eq!(faults.calls(), 3);
/// ```
#[derive(Debug, Clone, Default)]
pub struct Faults {
    inner: Arc<Mutex<FaultState>>,
}

#[derive(Debug, Default)]
struct FaultState {
    fail_calls: VecDeque<Error>,
    mid_stream: VecDeque<(usize, Error)>,
    calls: usize,
    failed: usize,
}

/// What a call may go on to do: fail after this many items.
#[derive(Debug, Clone, Default)]
#[non_exhaustive]
pub struct CallPlan {
    /// Fail with the error after yielding this many items.
    pub fail_after: Option<(usize, Error)>,
}

impl Faults {
    /// No faults.
    #[must_use]
    pub fn new() -> Self {
        Self::default()
    }

    fn state(&self) -> MutexGuard<'_, FaultState> {
        self.inner.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Makes the next `n` calls fail at once with `error` (before any output), for example a
    /// retryable `Error::provider_status(503, ..)` or a final `Error::auth(..)`.
    pub fn fail_next(&self, n: usize, error: Error) {
        let mut s = self.state();
        for _ in 0..n {
            s.fail_calls.push_back(error.clone());
        }
    }

    /// Makes the next successful streaming call fail mid-stream: it yields `items` items, then
    /// `error`, then ends. Calling it again queues a failure for the call after.
    pub fn fail_after(&self, items: usize, error: Error) {
        self.state().mid_stream.push_back((items, error));
    }

    /// Removes every pending fault.
    pub fn clear(&self) {
        let mut s = self.state();
        s.fail_calls.clear();
        s.mid_stream.clear();
    }

    /// How many calls were made, failed or not.
    #[must_use]
    pub fn calls(&self) -> usize {
        self.state().calls
    }

    /// How many calls failed at once because of [`Self::fail_next`].
    #[must_use]
    pub fn failed_calls(&self) -> usize {
        self.state().failed
    }

    /// Counts a call: fails it when a failure is pending, else returns what the call should do
    /// mid-stream. Mocks call this at the start of every call.
    pub fn begin_call(&self) -> Result<CallPlan> {
        let mut s = self.state();
        s.calls += 1;
        if let Some(e) = s.fail_calls.pop_front() {
            s.failed += 1;
            return Err(e);
        }
        Ok(CallPlan {
            fail_after: s.mid_stream.pop_front(),
        })
    }
}

/// Sends a stream's items with the first-output latency and the mid-stream failure applied.
#[derive(Debug)]
pub(crate) struct Emitter<T> {
    events: EventSender<T>,
    sent: usize,
    first_delay: Duration,
    fail_after: Option<(usize, Error)>,
}

impl<T> Emitter<T> {
    pub(crate) fn new(events: EventSender<T>, first_delay: Duration, plan: CallPlan) -> Self {
        Emitter {
            events,
            sent: 0,
            first_delay,
            fail_after: plan.fail_after,
        }
    }

    /// The caller dropped the stream.
    pub(crate) async fn cancelled(&self) {
        self.events.cancelled().await;
    }

    /// Waits `d`, or fails with `Cancelled` when the caller drops the stream first.
    pub(crate) async fn sleep(&self, d: Duration) -> Result<()> {
        if d.is_zero() {
            return Ok(());
        }
        tokio::select! {
            () = tokio::time::sleep(d) => Ok(()),
            () = self.events.cancelled() => Err(Error::cancelled("the stream was dropped")),
        }
    }

    /// Sends one item. Fails when the caller dropped the stream, or after sending the injected
    /// error (the stream then ends); either way the task should stop.
    pub(crate) async fn emit(&mut self, item: T) -> Result<()> {
        if self.sent == 0 {
            self.sleep(self.first_delay).await?;
        }
        if let Some((after, error)) = &self.fail_after {
            if self.sent >= *after {
                let error = error.clone();
                self.fail_after = None;
                let _ = self.events.send_error(error.clone()).await;
                return Err(error);
            }
        }
        self.sent += 1;
        self.events.send(item).await
    }
}

/// Waits `d` (no-op for zero).
pub(crate) async fn delay(d: Duration) {
    if !d.is_zero() {
        tokio::time::sleep(d).await;
    }
}

/// A queue of scripted items shared by clones of a mock, optionally cycling.
#[derive(Debug, Clone)]
pub(crate) struct Script<T> {
    queue: Arc<Mutex<VecDeque<T>>>,
    cycle: bool,
}

impl<T: Clone> Script<T> {
    pub(crate) fn new(items: Vec<T>, cycle: bool) -> Self {
        Script {
            queue: Arc::new(Mutex::new(items.into())),
            cycle,
        }
    }

    fn lock(&self) -> MutexGuard<'_, VecDeque<T>> {
        self.queue.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// The next item, if any; with cycling it goes back to the end of the queue.
    pub(crate) fn next(&self) -> Option<T> {
        let mut q = self.lock();
        let item = q.pop_front()?;
        if self.cycle {
            q.push_back(item.clone());
        }
        Some(item)
    }

    pub(crate) fn push(&self, item: T) {
        self.lock().push_back(item);
    }

    pub(crate) fn len(&self) -> usize {
        self.lock().len()
    }
}
