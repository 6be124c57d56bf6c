//! [`VideoForwarder`]: one frame source shared by several consumers, each at its own frame
//! rate, each keeping only its latest frames.

use std::collections::VecDeque;
use std::fmt;
use std::sync::{Arc, Mutex, MutexGuard, Weak};
use std::time::Duration;

use futures_util::{Stream, StreamExt as _};
use tokio::sync::Notify;

use crate::error::{Error, Result};
use crate::types::VideoFrame;

/// Shares one video source among consumers (a vision model at 1 fps, a face detector at
/// 10 fps, a recorder at full rate), each with its own rate and a bounded buffer that keeps
/// the newest frames.
///
/// Rates are measured on the frames' timestamps, not the wall clock: a frame goes to a
/// subscriber when at least `1/fps` passed since the last frame it was given. A frame up to
/// 2 ms (and at most 5% of the interval) early counts as due, so that rounded or slightly
/// jittery timestamps of a 30 fps source do not drop a 10 fps subscriber to 7.5 fps. The
/// forwarded frames are a subset of the source's, so the rate is rounded down to what the
/// source's spacing allows (12 fps from a 30 fps source gives 10 fps). A timestamp that goes
/// backwards (a restarted source) starts the count again.
///
/// [`VideoForwarder::push`] never blocks: a full buffer drops its oldest frame
/// ([`VideoSubscriber::dropped`] counts them). Dropped subscribers are removed; dropping the
/// forwarder ends every subscriber once its buffer is read.
///
/// # Concurrency
/// `push` and `subscribe` may be called from any thread (share the forwarder in an `Arc`);
/// locks are held only to copy frame handles, never across an `.await`.
///
/// ```
/// use agents_core::video::VideoForwarder;
/// use agents_core::{PixelFormat, VideoFrame};
/// use std::time::Duration;
///
/// # tokio::runtime::Builder::new_current_thread().build().unwrap().block_on(async {
/// let forwarder = VideoForwarder::new();
/// let mut vlm = forwarder.subscribe(1.0, 4).unwrap();      // 1 fps, the 4 newest frames
/// let mut detector = forwarder.subscribe(10.0, 1).unwrap(); // 10 fps, the newest frame only
/// assert!(forwarder.subscribe(0.0, 1).is_err());
///
/// for i in 0..60u32 { // two seconds of a 30 fps source
///     let ts = Duration::from_secs(u64::from(i)) / 30;
///     forwarder.push(VideoFrame::new(1, 1, PixelFormat::Rgb24, vec![0u8; 3], ts).unwrap());
/// }
/// assert_eq!(vlm.latest(10).len(), 2); // frames at 0 s and 1 s
/// assert_eq!(detector.latest(10).len(), 1);
/// assert_eq!(detector.dropped(), 19); // 20 were due, only the newest is kept
///
/// drop(forwarder);
/// assert!(vlm.recv().await.is_some());
/// assert!(vlm.recv().await.is_some());
/// assert!(vlm.recv().await.is_none()); // ended
/// # });
/// ```
pub struct VideoForwarder {
    subscribers: Mutex<Vec<Weak<Slot>>>,
}

struct Slot {
    interval: Duration,
    tolerance: Duration,
    capacity: usize,
    state: Mutex<SlotState>,
    notify: Notify,
}

struct SlotState {
    buffer: VecDeque<VideoFrame>,
    last_forwarded: Option<Duration>,
    dropped: u64,
    closed: bool,
}

fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    // A panic while holding these locks cannot leave the data inconsistent (plain pushes and
    // pops), so a poisoned lock is used as is.
    mutex
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}

impl Default for VideoForwarder {
    fn default() -> Self {
        Self::new()
    }
}

impl fmt::Debug for VideoForwarder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("VideoForwarder")
            .field("subscribers", &self.subscriber_count())
            .finish()
    }
}

impl VideoForwarder {
    /// A forwarder with no subscribers.
    #[must_use]
    pub fn new() -> Self {
        VideoForwarder {
            subscribers: Mutex::new(Vec::new()),
        }
    }

    /// A new consumer receiving at most `fps` frames per second of timestamps, keeping the
    /// newest `capacity` frames. Fails unless `fps` is finite and positive and `capacity` is at
    /// least 1.
    pub fn subscribe(&self, fps: f32, capacity: usize) -> Result<VideoSubscriber> {
        if !fps.is_finite() || fps <= 0.0 {
            return Err(Error::invalid_input(format!(
                "video subscriber fps must be a finite number above 0, got {fps}"
            )));
        }
        if capacity == 0 {
            return Err(Error::invalid_input(
                "video subscriber capacity must be at least 1 frame, got 0",
            ));
        }
        let interval = Duration::try_from_secs_f64(1.0 / f64::from(fps)).map_err(|e| {
            Error::invalid_input(format!("video subscriber fps {fps} is out of range: {e}"))
        })?;
        let slot = Arc::new(Slot {
            interval,
            tolerance: (interval / 20).min(Duration::from_millis(2)),
            capacity,
            state: Mutex::new(SlotState {
                buffer: VecDeque::with_capacity(capacity.min(64)),
                last_forwarded: None,
                dropped: 0,
                closed: false,
            }),
            notify: Notify::new(),
        });
        let mut subs = lock(&self.subscribers);
        subs.retain(|s| s.strong_count() > 0);
        subs.push(Arc::downgrade(&slot));
        Ok(VideoSubscriber { slot, fps })
    }

    /// Number of live subscribers.
    #[must_use]
    pub fn subscriber_count(&self) -> usize {
        lock(&self.subscribers)
            .iter()
            .filter(|s| s.strong_count() > 0)
            .count()
    }

    /// Offers `frame` to every subscriber whose next frame is due. Never blocks.
    pub fn push(&self, frame: VideoFrame) {
        let ts = frame.timestamp();
        let mut subs = lock(&self.subscribers);
        subs.retain(|weak| {
            let Some(slot) = weak.upgrade() else {
                return false;
            };
            let mut state = lock(&slot.state);
            let due = match state.last_forwarded {
                None => true,
                Some(last) if ts < last => true,
                Some(last) => ts - last + slot.tolerance >= slot.interval,
            };
            if due {
                state.last_forwarded = Some(ts);
                if state.buffer.len() >= slot.capacity {
                    state.buffer.pop_front();
                    state.dropped += 1;
                }
                state.buffer.push_back(frame.clone());
                drop(state);
                slot.notify.notify_one();
            }
            true
        });
    }

    /// Pushes every frame of `source` until it ends.
    pub async fn run(&self, source: impl Stream<Item = VideoFrame>) {
        let mut source = std::pin::pin!(source);
        while let Some(frame) = source.next().await {
            self.push(frame);
        }
    }
}

impl Drop for VideoForwarder {
    fn drop(&mut self) {
        for weak in lock(&self.subscribers).drain(..) {
            if let Some(slot) = weak.upgrade() {
                lock(&slot.state).closed = true;
                slot.notify.notify_one();
            }
        }
    }
}

/// One consumer of a [`VideoForwarder`]. Dropping it unsubscribes.
pub struct VideoSubscriber {
    slot: Arc<Slot>,
    fps: f32,
}

impl fmt::Debug for VideoSubscriber {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let state = lock(&self.slot.state);
        f.debug_struct("VideoSubscriber")
            .field("fps", &self.fps)
            .field("capacity", &self.slot.capacity)
            .field("buffered", &state.buffer.len())
            .field("dropped", &state.dropped)
            .field("closed", &state.closed)
            .finish()
    }
}

impl VideoSubscriber {
    /// The oldest buffered frame, waiting for one if the buffer is empty; `None` once the
    /// forwarder is dropped and the buffer is empty.
    ///
    /// Cancel safe: a frame is removed only when it is returned.
    pub async fn recv(&mut self) -> Option<VideoFrame> {
        loop {
            {
                let mut state = lock(&self.slot.state);
                if let Some(frame) = state.buffer.pop_front() {
                    return Some(frame);
                }
                if state.closed {
                    return None;
                }
            }
            // `notify_one` stores a permit when nobody waits, so a frame pushed between the
            // check above and this wait is not missed.
            self.slot.notify.notified().await;
        }
    }

    /// The oldest buffered frame without waiting.
    pub fn try_recv(&mut self) -> Option<VideoFrame> {
        lock(&self.slot.state).buffer.pop_front()
    }

    /// The newest `n` buffered frames, oldest first, without waiting and without removing
    /// them.
    #[must_use]
    pub fn latest(&self, n: usize) -> Vec<VideoFrame> {
        let state = lock(&self.slot.state);
        let skip = state.buffer.len().saturating_sub(n);
        state.buffer.iter().skip(skip).cloned().collect()
    }

    /// Removes and returns every buffered frame, oldest first.
    pub fn drain(&mut self) -> Vec<VideoFrame> {
        lock(&self.slot.state).buffer.drain(..).collect()
    }

    /// How many frames were dropped because the buffer was full.
    #[must_use]
    pub fn dropped(&self) -> u64 {
        lock(&self.slot.state).dropped
    }

    /// The requested frame rate.
    #[must_use]
    pub fn fps(&self) -> f32 {
        self.fps
    }

    /// True once the forwarder is dropped (frames may still be buffered).
    #[must_use]
    pub fn is_closed(&self) -> bool {
        lock(&self.slot.state).closed
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::types::PixelFormat;

    fn frame(ts: Duration) -> VideoFrame {
        VideoFrame::new(1, 1, PixelFormat::Rgb24, vec![0u8; 3], ts).unwrap()
    }

    fn frame_at(i: u32, fps: u32) -> VideoFrame {
        frame(Duration::from_secs_f64(f64::from(i) / f64::from(fps)))
    }

    #[test]
    fn invalid_subscriptions() {
        let f = VideoForwarder::new();
        for fps in [0.0, -1.0, f32::NAN, f32::INFINITY] {
            let err = f.subscribe(fps, 1).unwrap_err();
            assert!(err.to_string().contains("fps"), "{err}");
        }
        let err = f.subscribe(1.0, 0).unwrap_err();
        assert!(err.to_string().contains("capacity"), "{err}");
        assert!(f.subscribe(1e-9, 1).is_ok());
        assert_eq!(f.subscriber_count(), 0); // the Ok one was dropped right away
    }

    #[test]
    fn per_subscriber_rates() {
        let f = VideoForwarder::new();
        let mut one = f.subscribe(1.0, 1000).unwrap();
        let mut ten = f.subscribe(10.0, 1000).unwrap();
        let mut full = f.subscribe(30.0, 1000).unwrap();
        let mut twelve = f.subscribe(12.0, 1000).unwrap();
        // 10 seconds of a 30 fps source
        for i in 0..300 {
            f.push(frame_at(i, 30));
        }
        let one = one.drain();
        let ten = ten.drain();
        assert_eq!(one.len(), 10);
        assert_eq!(ten.len(), 100);
        assert_eq!(full.drain().len(), 300);
        let twelve = twelve.drain().len();
        assert!((90..=120).contains(&twelve), "{twelve}");
        // spacing of the timestamps
        for pair in one.windows(2) {
            let gap = pair[1].timestamp() - pair[0].timestamp();
            assert!(gap >= Duration::from_millis(950), "{gap:?}");
        }
        for pair in ten.windows(2) {
            let gap = pair[1].timestamp() - pair[0].timestamp();
            assert!(gap >= Duration::from_millis(95), "{gap:?}");
        }
    }

    #[test]
    fn bounded_buffer_keeps_the_latest() {
        let f = VideoForwarder::new();
        let mut sub = f.subscribe(30.0, 3).unwrap();
        for i in 0..10 {
            f.push(frame_at(i, 30));
        }
        assert_eq!(sub.dropped(), 7);
        let latest = sub.latest(2);
        assert_eq!(latest.len(), 2);
        assert_eq!(latest[0].timestamp(), frame_at(8, 30).timestamp());
        assert_eq!(latest[1].timestamp(), frame_at(9, 30).timestamp());
        assert_eq!(sub.latest(100).len(), 3); // latest does not remove
        let ts: Vec<Duration> = sub.drain().iter().map(VideoFrame::timestamp).collect();
        assert_eq!(
            ts,
            (7..10)
                .map(|i| frame_at(i, 30).timestamp())
                .collect::<Vec<_>>()
        );
        assert!(sub.try_recv().is_none());
    }

    #[test]
    fn timestamps_going_back_restart_the_count() {
        let f = VideoForwarder::new();
        let mut sub = f.subscribe(1.0, 10).unwrap();
        f.push(frame(Duration::from_secs(5)));
        f.push(frame(Duration::from_millis(5500)));
        f.push(frame(Duration::ZERO));
        assert_eq!(sub.drain().len(), 2);
    }

    #[tokio::test]
    async fn dropping_the_forwarder_ends_subscribers() {
        let f = VideoForwarder::new();
        let mut sub = f.subscribe(30.0, 4).unwrap();
        f.push(frame_at(0, 30));
        let waiter = tokio::spawn(async move {
            let mut n = 0;
            while sub.recv().await.is_some() {
                n += 1;
            }
            (n, sub.is_closed())
        });
        tokio::task::yield_now().await;
        f.push(frame_at(1, 30));
        drop(f);
        let (n, closed) = waiter.await.unwrap();
        assert!(closed);
        assert_eq!(n, 2);
    }

    #[tokio::test]
    async fn recv_waits_for_a_frame() {
        let f = Arc::new(VideoForwarder::new());
        let mut sub = f.subscribe(10.0, 2).unwrap();
        let pusher = Arc::clone(&f);
        let task = tokio::spawn(async move {
            tokio::task::yield_now().await;
            pusher.push(frame(Duration::from_secs(1)));
        });
        let got = sub.recv().await.unwrap();
        assert_eq!(got.timestamp(), Duration::from_secs(1));
        task.await.unwrap();
    }

    #[test]
    fn dropped_subscribers_are_removed() {
        let f = VideoForwarder::new();
        let a = f.subscribe(1.0, 1).unwrap();
        let _b = f.subscribe(1.0, 1).unwrap();
        assert_eq!(f.subscriber_count(), 2);
        drop(a);
        f.push(frame(Duration::ZERO));
        assert_eq!(f.subscriber_count(), 1);
        assert_eq!(lock(&f.subscribers).len(), 1);
    }

    #[tokio::test]
    async fn run_forwards_a_stream() {
        let f = VideoForwarder::new();
        let mut sub = f.subscribe(1.0, 100).unwrap();
        f.run(futures_util::stream::iter((0..90).map(|i| frame_at(i, 30))))
            .await;
        assert_eq!(sub.drain().len(), 3);
    }
}
