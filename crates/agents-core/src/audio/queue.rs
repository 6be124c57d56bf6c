//! [`AudioQueue`]: a FIFO of samples bounded by duration.

use std::collections::VecDeque;
use std::time::Duration;

use super::frame::{AudioFormat, AudioFrame, MAX_BUFFER_DURATION};
use crate::error::{Error, Result};

/// A FIFO of interleaved s16 samples of one format, holding at most `max_duration` of audio.
///
/// [`AudioQueue::push`] refuses a frame that would overflow the bound (nothing is taken);
/// [`AudioQueue::push_overwrite`] makes room by dropping the oldest audio and counts what it
/// dropped. Reads take whole sample frames from the front.
///
/// ```
/// use std::time::Duration;
/// use agents_core::{AudioFormat, AudioFrame};
/// use agents_core::audio::AudioQueue;
///
/// let mut q = AudioQueue::new(AudioFormat::MONO_16K, Duration::from_millis(100)).unwrap();
/// let ten_ms = AudioFrame::silence(AudioFormat::MONO_16K, Duration::from_millis(10)).unwrap();
/// for _ in 0..10 {
///     q.push(&ten_ms).unwrap();
/// }
/// assert!(q.push(&ten_ms).is_err()); // full: nothing accepted
/// assert_eq!(q.push_overwrite(&ten_ms).unwrap(), 160); // oldest 10 ms dropped
/// let twenty = q.get_duration(Duration::from_millis(20)).unwrap().unwrap();
/// assert_eq!(twenty.samples().len(), 320);
/// assert_eq!(q.duration(), Duration::from_millis(80));
/// ```
#[derive(Debug, Clone)]
pub struct AudioQueue {
    format: AudioFormat,
    max_duration: Duration,
    max_samples: usize,
    samples: VecDeque<i16>,
    dropped: u64,
}

impl AudioQueue {
    /// A queue of `format` audio holding at most `max_duration` (rounded down to whole sample
    /// frames). An invalid format, a bound shorter than one sample frame or longer than
    /// [`MAX_BUFFER_DURATION`] is an error.
    pub fn new(format: AudioFormat, max_duration: Duration) -> Result<Self> {
        format.validate()?;
        if max_duration > MAX_BUFFER_DURATION {
            return Err(Error::invalid_input(format!(
                "queue bound of {} s is longer than the {} s limit",
                max_duration.as_secs_f64(),
                MAX_BUFFER_DURATION.as_secs()
            )));
        }
        let max_samples = format.samples_for(max_duration);
        if max_samples == 0 {
            return Err(Error::invalid_input(format!(
                "queue bound of {:?} holds no whole sample frame of {format}",
                max_duration
            )));
        }
        Ok(AudioQueue {
            format,
            max_duration,
            max_samples,
            samples: VecDeque::new(),
            dropped: 0,
        })
    }

    fn check_format(&self, frame: &AudioFrame) -> Result<()> {
        if frame.format() != self.format {
            return Err(Error::invalid_input(format!(
                "audio queue holds {} audio but got a {} frame",
                self.format,
                frame.format()
            )));
        }
        Ok(())
    }

    /// Appends a frame. A frame of another format, or one that would take the queue past its
    /// bound, is an error and nothing of it is queued.
    pub fn push(&mut self, frame: &AudioFrame) -> Result<()> {
        self.check_format(frame)?;
        let n = frame.samples().len();
        if self.samples.len() + n > self.max_samples {
            return Err(Error::invalid_input(format!(
                "audio queue is full: {:?} queued + {:?} pushed exceeds the {:?} bound",
                self.duration(),
                frame.duration(),
                self.max_duration
            )));
        }
        self.samples.extend(frame.samples().iter().copied());
        Ok(())
    }

    /// Appends a frame, dropping the oldest queued samples (or, for a frame longer than the
    /// bound, the frame's own oldest samples) to stay within the bound. Returns how many
    /// interleaved samples were dropped; they are added to [`AudioQueue::dropped_samples`].
    /// Only a frame of another format is an error.
    pub fn push_overwrite(&mut self, frame: &AudioFrame) -> Result<usize> {
        self.check_format(frame)?;
        let input = frame.samples();
        let mut dropped = 0;
        // Whole-frame bound, so the kept tail is also whole frames.
        let input = if input.len() > self.max_samples {
            let skip = input.len() - self.max_samples;
            dropped += skip;
            &input[skip..]
        } else {
            input
        };
        let overflow = (self.samples.len() + input.len()).saturating_sub(self.max_samples);
        if overflow > 0 {
            self.samples.drain(..overflow);
            dropped += overflow;
        }
        self.samples.extend(input.iter().copied());
        self.dropped += dropped as u64;
        Ok(dropped)
    }

    /// Takes `n` interleaved samples from the front: `Ok(None)` when fewer are queued, an error
    /// when `n` is not a whole number of sample frames.
    pub fn get_samples(&mut self, n: usize) -> Result<Option<AudioFrame>> {
        let ch = usize::from(self.format.channels);
        if !n.is_multiple_of(ch) {
            return Err(Error::invalid_input(format!(
                "{n} samples is not a whole number of {ch}-channel frames"
            )));
        }
        if n > self.samples.len() {
            return Ok(None);
        }
        let out: Vec<i16> = self.samples.drain(..n).collect();
        AudioFrame::new(out, self.format).map(Some)
    }

    /// Takes `duration` of audio (rounded down to whole sample frames) from the front, or
    /// `Ok(None)` when less is queued.
    pub fn get_duration(&mut self, duration: Duration) -> Result<Option<AudioFrame>> {
        self.get_samples(self.format.samples_for(duration))
    }

    /// Takes everything queued (possibly an empty frame). It returns a `Result` only because
    /// frame construction is checked; with the bound validated at construction it does not
    /// fail.
    pub fn take_all(&mut self) -> Result<AudioFrame> {
        let out: Vec<i16> = self.samples.drain(..).collect();
        AudioFrame::new(out, self.format)
    }

    /// Interleaved samples queued.
    #[must_use]
    pub fn len_samples(&self) -> usize {
        self.samples.len()
    }

    /// Duration of the queued audio.
    #[must_use]
    pub fn duration(&self) -> Duration {
        self.format.duration_of(self.samples.len())
    }

    /// True when nothing is queued.
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.samples.is_empty()
    }

    /// Drops everything queued (not counted as dropped).
    pub fn clear(&mut self) {
        self.samples.clear();
    }

    /// The format of the queued audio.
    #[must_use]
    pub fn format(&self) -> AudioFormat {
        self.format
    }

    /// The bound given at construction.
    #[must_use]
    pub fn max_duration(&self) -> Duration {
        self.max_duration
    }

    /// The bound in interleaved samples.
    #[must_use]
    pub fn max_samples(&self) -> usize {
        self.max_samples
    }

    /// Interleaved samples dropped by [`AudioQueue::push_overwrite`] since construction.
    #[must_use]
    pub fn dropped_samples(&self) -> u64 {
        self.dropped
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn frame(samples: Vec<i16>, format: AudioFormat) -> AudioFrame {
        AudioFrame::new(samples, format).unwrap()
    }

    #[test]
    fn bound_is_enforced_without_partial_accept() {
        let f = AudioFormat::MONO_8K;
        let mut q = AudioQueue::new(f, Duration::from_millis(1)).unwrap(); // 8 samples
        assert_eq!(q.max_samples(), 8);
        q.push(&frame(vec![1; 5], f)).unwrap();
        let err = q.push(&frame(vec![2; 4], f)).unwrap_err();
        assert!(err.message().contains("full"), "{err}");
        assert_eq!(q.len_samples(), 5);
        q.push(&frame(vec![3; 3], f)).unwrap();
        assert_eq!(q.len_samples(), 8);
        assert!(q.push(&frame(vec![4], f)).is_err());
        assert_eq!(q.take_all().unwrap().samples(), &[1, 1, 1, 1, 1, 3, 3, 3]);
        assert!(q.is_empty());
    }

    #[test]
    fn wrong_format_is_rejected() {
        let mut q = AudioQueue::new(AudioFormat::MONO_16K, Duration::from_secs(1)).unwrap();
        let f = frame(vec![0; 10], AudioFormat::MONO_8K);
        let err = q.push(&f).unwrap_err();
        assert!(err.message().contains("8000 Hz mono"), "{err}");
        assert!(q.push_overwrite(&f).is_err());
        assert!(q.is_empty());
        assert!(AudioQueue::new(AudioFormat::MONO_16K, Duration::ZERO).is_err());
        assert!(AudioQueue::new(AudioFormat::MONO_16K, Duration::from_secs(4_000)).is_err());
    }

    #[test]
    fn overwrite_drops_oldest_and_counts() {
        let f = AudioFormat::MONO_8K;
        let mut q = AudioQueue::new(f, Duration::from_millis(1)).unwrap(); // 8 samples
        assert_eq!(q.push_overwrite(&frame((0..6).collect(), f)).unwrap(), 0);
        assert_eq!(q.push_overwrite(&frame((6..10).collect(), f)).unwrap(), 2);
        assert_eq!(q.dropped_samples(), 2);
        assert_eq!(q.take_all().unwrap().samples(), &[2, 3, 4, 5, 6, 7, 8, 9]);
        // Longer than the bound: only the newest 8 are kept.
        assert_eq!(q.push_overwrite(&frame((0..20).collect(), f)).unwrap(), 12);
        assert_eq!(q.dropped_samples(), 14);
        assert_eq!(
            q.take_all().unwrap().samples(),
            &[12, 13, 14, 15, 16, 17, 18, 19]
        );
    }

    #[test]
    fn overwrite_keeps_whole_stereo_frames() {
        let f = AudioFormat::new(8_000, 2).unwrap();
        let mut q = AudioQueue::new(f, Duration::from_millis(1)).unwrap(); // 8 frames, 16 samples
        q.push_overwrite(&frame((0..14).collect(), f)).unwrap();
        assert_eq!(q.push_overwrite(&frame((14..18).collect(), f)).unwrap(), 2);
        let all = q.take_all().unwrap();
        assert_eq!(all.samples()[..2], [2, 3]);
        assert_eq!(all.samples().len(), 16);
    }

    #[test]
    fn get_duration_is_exact() {
        let f = AudioFormat::new(44_100, 2).unwrap();
        let mut q = AudioQueue::new(f, Duration::from_secs(1)).unwrap();
        let src: Vec<i16> = (0..8_820).map(|i| i as i16).collect(); // 100 ms
        q.push(&frame(src.clone(), f)).unwrap();
        assert_eq!(q.duration(), Duration::from_millis(100));
        let a = q.get_duration(Duration::from_millis(30)).unwrap().unwrap();
        assert_eq!(a.samples().len(), 2_646);
        assert_eq!(a.samples(), &src[..2_646]);
        assert_eq!(a.duration(), Duration::from_millis(30));
        assert!(q.get_duration(Duration::from_millis(71)).unwrap().is_none());
        let b = q.get_duration(Duration::from_millis(70)).unwrap().unwrap();
        assert_eq!(b.samples(), &src[2_646..]);
        assert!(q.is_empty());
        assert!(q.get_samples(3).is_err());
        assert!(q.get_samples(2).unwrap().is_none());
        assert_eq!(q.get_samples(0).unwrap().map(|f| f.is_empty()), Some(true));
    }

    #[test]
    fn clear_and_accessors() {
        let mut q = AudioQueue::new(AudioFormat::MONO_24K, Duration::from_millis(50)).unwrap();
        q.push(&frame(vec![1; 24], AudioFormat::MONO_24K)).unwrap();
        assert_eq!(q.len_samples(), 24);
        q.clear();
        assert!(q.is_empty());
        assert_eq!(q.dropped_samples(), 0);
        assert_eq!(q.format(), AudioFormat::MONO_24K);
        assert_eq!(q.max_duration(), Duration::from_millis(50));
        assert!(q.take_all().unwrap().is_empty());
    }
}
