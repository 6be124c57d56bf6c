//! The channel pieces every streaming handle is made of: an [`EventStream`] the caller reads, an
//! [`EventSender`] the provider writes, and the audio conversion that keeps plugins in their
//! declared formats.
//!
//! Contract shared by every stream built from these pieces:
//! - the output is bounded: a provider that produces faster than the caller reads waits in
//!   [`EventSender::send`];
//! - after the stream yields an `Err` it ends: nothing more is ever yielded;
//! - dropping the [`EventStream`] cancels the provider's work: [`EventSender::cancelled`]
//!   completes and [`EventSender::send`] returns [`ErrorKind::Cancelled`](crate::ErrorKind).

use std::pin::Pin;
use std::task::{Context, Poll};

use futures_util::Stream;
use tokio::sync::mpsc;
use tokio_util::sync::{CancellationToken, DropGuard, WaitForCancellationFuture};

use crate::audio::{AudioFormat, AudioFrame, Resampler};
use crate::error::{Error, Result};

/// Default capacity of stream channels, in items.
pub const DEFAULT_CHANNEL_CAPACITY: usize = 64;

/// Creates a bounded event channel: the provider keeps the [`EventSender`], the caller reads the
/// [`EventStream`].
///
/// ```
/// use agents_core::stream::event_channel;
/// use futures_util::StreamExt;
///
/// # tokio::runtime::Builder::new_current_thread().build().unwrap().block_on(async {
/// let (tx, mut rx) = event_channel::<u32>(8);
/// tokio::spawn(async move {
///     tx.send(1).await.ok();
///     tx.send(2).await.ok();
/// });
/// assert_eq!(rx.next().await.unwrap().unwrap(), 1);
/// assert_eq!(rx.next().await.unwrap().unwrap(), 2);
/// assert!(rx.next().await.is_none());
/// # });
/// ```
pub fn event_channel<T>(capacity: usize) -> (EventSender<T>, EventStream<T>) {
    let (tx, rx) = mpsc::channel(capacity.max(1));
    let cancel = CancellationToken::new();
    (
        EventSender {
            tx,
            cancel: cancel.clone(),
        },
        EventStream {
            rx,
            _guard: cancel.drop_guard(),
            done: false,
        },
    )
}

/// The provider's side of an event channel.
#[derive(Debug)]
pub struct EventSender<T> {
    tx: mpsc::Sender<Result<T>>,
    cancel: CancellationToken,
}

impl<T> Clone for EventSender<T> {
    fn clone(&self) -> Self {
        EventSender {
            tx: self.tx.clone(),
            cancel: self.cancel.clone(),
        }
    }
}

impl<T> EventSender<T> {
    /// Sends an item, waiting while the channel is full. Fails with `Cancelled` when the caller
    /// dropped the stream.
    pub async fn send(&self, item: T) -> Result<()> {
        self.send_result(Ok(item)).await
    }

    /// Sends the one terminal error of the stream. The stream ends after yielding it.
    pub async fn send_error(&self, error: Error) -> Result<()> {
        self.send_result(Err(error)).await
    }

    /// Sends an item or an error.
    pub async fn send_result(&self, item: Result<T>) -> Result<()> {
        if self.cancel.is_cancelled() {
            return Err(Error::cancelled("the stream was dropped"));
        }
        self.tx
            .send(item)
            .await
            .map_err(|_| Error::cancelled("the stream was dropped"))
    }

    /// Sends without waiting; fails when the channel is full or the caller is gone.
    pub fn try_send(&self, item: T) -> Result<()> {
        self.tx.try_send(Ok(item)).map_err(|e| match e {
            mpsc::error::TrySendError::Full(_) => Error::closed("the stream's channel is full"),
            mpsc::error::TrySendError::Closed(_) => Error::cancelled("the stream was dropped"),
        })
    }

    /// True once the caller dropped the stream.
    #[must_use]
    pub fn is_cancelled(&self) -> bool {
        self.cancel.is_cancelled() || self.tx.is_closed()
    }

    /// Completes when the caller drops the stream. Use it in `tokio::select!` to stop work.
    pub fn cancelled(&self) -> WaitForCancellationFuture<'_> {
        self.cancel.cancelled()
    }

    /// The token cancelled when the caller drops the stream.
    #[must_use]
    pub fn cancellation_token(&self) -> CancellationToken {
        self.cancel.clone()
    }
}

/// The caller's side of an event channel: a [`Stream`] of `Result<T>`.
///
/// Dropping it cancels the provider's work. After an `Err` it ends.
#[derive(Debug)]
pub struct EventStream<T> {
    rx: mpsc::Receiver<Result<T>>,
    _guard: DropGuard,
    done: bool,
}

impl<T> Stream for EventStream<T> {
    type Item = Result<T>;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        if self.done {
            return Poll::Ready(None);
        }
        match self.rx.poll_recv(cx) {
            Poll::Ready(Some(Err(e))) => {
                self.done = true;
                self.rx.close();
                Poll::Ready(Some(Err(e)))
            }
            Poll::Ready(None) => {
                self.done = true;
                Poll::Ready(None)
            }
            other => other,
        }
    }
}

impl<T> Unpin for EventStream<T> {}

/// Converts frames of any format into one target format, keeping one resampler per source
/// format. Used by the stream handles so that plugins only ever see their declared format
/// and callers only ever see the format they asked for.
#[derive(Debug)]
pub struct AudioConverter {
    target: AudioFormat,
    resampler: Option<Resampler>,
    scratch: Vec<i16>,
}

impl AudioConverter {
    /// A converter to `target`.
    #[must_use]
    pub fn new(target: AudioFormat) -> Self {
        AudioConverter {
            target,
            resampler: None,
            scratch: Vec::new(),
        }
    }

    /// The format every output frame has.
    #[must_use]
    pub fn target(&self) -> AudioFormat {
        self.target
    }

    /// Converts `frame`. Returns `None` when the resampler holds the audio back (its delay)
    /// and nothing is ready yet. A change of source format flushes the previous resampler
    /// first, so no audio is lost.
    pub fn convert(&mut self, frame: AudioFrame) -> Result<Option<AudioFrame>> {
        if frame.format() == self.target && self.resampler.is_none() {
            return Ok(Some(frame));
        }
        let mut scratch = std::mem::take(&mut self.scratch);
        scratch.clear();
        let result = self.convert_into(&frame, &mut scratch);
        self.scratch = scratch;
        result?;
        self.take_scratch()
    }

    /// Converts `frame` and appends the converted samples to `out` (nothing while the
    /// resampler holds the audio back). A change of source format flushes the previous
    /// resampler into `out` first, so no audio is lost. With room in `out`, nothing is
    /// allocated.
    pub fn convert_into(&mut self, frame: &AudioFrame, out: &mut Vec<i16>) -> Result<()> {
        if let Some(r) = &self.resampler {
            if r.input_format() != frame.format() {
                let mut old = self.resampler.take();
                if let Some(r) = old.as_mut() {
                    r.flush_into(out)?;
                }
            }
        }
        if frame.format() == self.target {
            out.extend_from_slice(frame.samples());
            return Ok(());
        }
        if self.resampler.is_none() {
            self.resampler = Some(Resampler::new(frame.format(), self.target)?);
        }
        match self.resampler.as_mut() {
            Some(r) => r.process_into(frame.samples(), out),
            None => Ok(()),
        }
    }

    /// Emits what the resampler still holds (end of a segment or stream) and resets it.
    pub fn flush(&mut self) -> Result<Option<AudioFrame>> {
        self.scratch.clear();
        if let Some(mut r) = self.resampler.take() {
            r.flush_into(&mut self.scratch)?;
        }
        self.take_scratch()
    }

    /// [`Self::flush`], appending to `out`.
    pub fn flush_into(&mut self, out: &mut Vec<i16>) -> Result<()> {
        match self.resampler.take() {
            Some(mut r) => r.flush_into(out),
            None => Ok(()),
        }
    }

    fn take_scratch(&mut self) -> Result<Option<AudioFrame>> {
        if self.scratch.is_empty() {
            return Ok(None);
        }
        let samples = std::mem::take(&mut self.scratch);
        AudioFrame::new(samples, self.target).map(Some)
    }
}
