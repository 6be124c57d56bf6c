//! [`FrameChunker`]: re-chunks bytes or frames of any size into fixed-size frames.

use std::collections::VecDeque;
use std::time::Duration;

use super::frame::{AudioFormat, AudioFrame, MAX_BUFFER_DURATION};
use crate::error::{Error, Result};

/// Cuts a stream of s16 audio, arriving as little-endian bytes, frames or samples in pieces of
/// any size, into frames of a fixed size (for example 20 ms for a transport, or 256 samples
/// for a VAD).
///
/// Bytes may split a sample: an odd trailing byte is kept until the next
/// [`FrameChunker::push_bytes`] (network providers do split samples across chunks).
///
/// ```
/// use std::time::Duration;
/// use agents_core::AudioFormat;
/// use agents_core::audio::FrameChunker;
///
/// let mut ch = FrameChunker::new(AudioFormat::MONO_16K, Duration::from_millis(20)).unwrap();
/// assert_eq!(ch.frame_samples(), 320);
/// ch.push_bytes(&[0u8; 401]).unwrap(); // 200 samples and half of one more
/// assert!(ch.next_frame().is_none());
/// ch.push_bytes(&[0u8; 401]).unwrap(); // completes it: 401 samples
/// let frame = ch.next_frame().unwrap();
/// assert_eq!(frame.samples().len(), 320);
/// assert_eq!(ch.pending_samples(), 81);
/// let last = ch.flush(true).unwrap().unwrap(); // padded with silence
/// assert_eq!(last.samples().len(), 320);
/// ```
#[derive(Debug, Clone)]
pub struct FrameChunker {
    format: AudioFormat,
    frame_samples: usize,
    pending: VecDeque<i16>,
    half: Option<u8>,
}

impl FrameChunker {
    /// A chunker producing frames of `frame_duration`, which must be a whole, non-zero number
    /// of samples at the format's rate (10 ms at 44.1 kHz is 441 samples; 1 ms at 22.05 kHz is
    /// not whole and is an error).
    pub fn new(format: AudioFormat, frame_duration: Duration) -> Result<Self> {
        format.validate()?;
        let nanos = frame_duration.as_nanos() * u128::from(format.sample_rate);
        if !nanos.is_multiple_of(1_000_000_000) {
            return Err(Error::invalid_input(format!(
                "a {:?} frame is not a whole number of samples at {} Hz",
                frame_duration, format.sample_rate
            )));
        }
        let per_channel = usize::try_from(nanos / 1_000_000_000).unwrap_or(usize::MAX);
        Self::with_frame_samples(format, per_channel)
    }

    /// A chunker producing frames of `samples_per_channel` sample frames (for example 256 at
    /// 16 kHz for a VAD). Zero, or a frame longer than [`MAX_BUFFER_DURATION`], is an error.
    pub fn with_frame_samples(format: AudioFormat, samples_per_channel: usize) -> Result<Self> {
        format.validate()?;
        if samples_per_channel == 0 {
            return Err(Error::invalid_input(format!(
                "a frame of 0 samples of {format} is empty"
            )));
        }
        if samples_per_channel > format.frames_for(MAX_BUFFER_DURATION) {
            return Err(Error::invalid_input(format!(
                "a frame of {samples_per_channel} samples of {format} is longer than the {} s \
                 limit",
                MAX_BUFFER_DURATION.as_secs()
            )));
        }
        let frame_samples = samples_per_channel * usize::from(format.channels);
        Ok(FrameChunker {
            format,
            frame_samples,
            pending: VecDeque::with_capacity(frame_samples * 2),
            half: None,
        })
    }

    /// Appends little-endian s16 bytes. An odd trailing byte is kept and completed by the first
    /// byte of the next call.
    pub fn push_bytes(&mut self, bytes: &[u8]) -> Result<()> {
        let mut rest = bytes;
        if let Some(lo) = self.half {
            match rest.split_first() {
                Some((&hi, tail)) => {
                    self.pending.push_back(i16::from_le_bytes([lo, hi]));
                    self.half = None;
                    rest = tail;
                }
                None => return Ok(()),
            }
        }
        let pairs = rest.chunks_exact(2);
        self.half = pairs.remainder().first().copied();
        self.pending.reserve(rest.len() / 2);
        self.pending
            .extend(pairs.map(|b| i16::from_le_bytes([b[0], b[1]])));
        Ok(())
    }

    /// Appends a frame, which must be in the chunker's format.
    pub fn push_frame(&mut self, frame: &AudioFrame) -> Result<()> {
        if frame.format() != self.format {
            return Err(Error::invalid_input(format!(
                "frame chunker expects {} audio but got a {} frame",
                self.format,
                frame.format()
            )));
        }
        if self.half.is_some() {
            return Err(Error::invalid_input(
                "cannot push a frame while half a sample from push_bytes is pending",
            ));
        }
        self.push_samples(frame.samples());
        Ok(())
    }

    /// Appends interleaved samples in the chunker's format. Pushing samples while an odd byte
    /// from [`FrameChunker::push_bytes`] is pending drops that byte (use bytes or samples, not
    /// both in one stream).
    pub fn push_samples(&mut self, samples: &[i16]) {
        self.half = None;
        self.pending.extend(samples);
    }

    /// The next full frame, if one is ready.
    pub fn next_frame(&mut self) -> Option<AudioFrame> {
        if self.pending.len() < self.frame_samples {
            return None;
        }
        let samples: Vec<i16> = self.pending.drain(..self.frame_samples).collect();
        AudioFrame::new(samples, self.format).ok()
    }

    /// Like [`FrameChunker::next_frame`], but copies the frame's samples into `out` (cleared
    /// first) instead of allocating: returns `false`, leaving `out` empty, when no full frame
    /// is ready. This is the allocation-free path for per-frame processing.
    pub fn next_frame_into(&mut self, out: &mut Vec<i16>) -> bool {
        out.clear();
        if self.pending.len() < self.frame_samples {
            return false;
        }
        // Copy the ring buffer's one or two contiguous runs, then drop them from the front.
        let n = self.frame_samples;
        let (front, back) = self.pending.as_slices();
        let from_front = front.len().min(n);
        out.extend_from_slice(&front[..from_front]);
        out.extend_from_slice(&back[..n - from_front]);
        self.pending.drain(..n);
        true
    }

    /// Ends the stream: the last partial frame, padded with silence to a full frame when
    /// `pad_with_silence` (else as short as it is), or `Ok(None)` when nothing is pending.
    /// Full frames still pending should be taken with [`FrameChunker::next_frame`] first;
    /// `flush` returns only the first of them. Half a sample left over from
    /// [`FrameChunker::push_bytes`], or (unpadded) a sample count that is not a whole number of
    /// channel frames, is an error and leaves the chunker unchanged.
    pub fn flush(&mut self, pad_with_silence: bool) -> Result<Option<AudioFrame>> {
        if self.half.is_some() {
            return Err(Error::invalid_input(
                "stream ended with half a 16-bit sample (an odd number of bytes)",
            ));
        }
        if self.pending.is_empty() {
            return Ok(None);
        }
        let n = self.pending.len().min(self.frame_samples);
        let ch = usize::from(self.format.channels);
        if !pad_with_silence && !n.is_multiple_of(ch) {
            return Err(Error::invalid_input(format!(
                "stream ended with {n} samples, not a whole number of {ch}-channel frames"
            )));
        }
        let mut samples: Vec<i16> = Vec::with_capacity(self.frame_samples);
        samples.extend(self.pending.drain(..n));
        if pad_with_silence {
            samples.resize(self.frame_samples, 0);
        }
        AudioFrame::new(samples, self.format).map(Some)
    }

    /// Drops everything pending, including half a sample.
    pub fn clear(&mut self) {
        self.pending.clear();
        self.half = None;
    }

    /// Interleaved samples waiting for a full frame (not counting half a sample).
    #[must_use]
    pub fn pending_samples(&self) -> usize {
        self.pending.len()
    }

    /// Interleaved samples in each output frame.
    #[must_use]
    pub fn frame_samples(&self) -> usize {
        self.frame_samples
    }

    /// The duration of each output frame.
    #[must_use]
    pub fn frame_duration(&self) -> Duration {
        self.format.duration_of(self.frame_samples)
    }

    /// The format of the output frames.
    #[must_use]
    pub fn format(&self) -> AudioFormat {
        self.format
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn next_frame_into_reuses_the_buffer() {
        let mut c = FrameChunker::with_frame_samples(AudioFormat::MONO_16K, 4).unwrap();
        c.push_samples(&[1, 2, 3, 4, 5, 6, 7]);
        let mut buf = Vec::with_capacity(4);
        assert!(c.next_frame_into(&mut buf));
        assert_eq!(buf, [1, 2, 3, 4]);
        let cap = buf.capacity();
        assert!(!c.next_frame_into(&mut buf));
        assert!(buf.is_empty());
        assert_eq!(buf.capacity(), cap);
        assert_eq!(c.pending_samples(), 3);
    }

    #[test]
    fn sizes() {
        let c = FrameChunker::new(AudioFormat::MONO_16K, Duration::from_millis(10)).unwrap();
        assert_eq!(c.frame_samples(), 160);
        let stereo = AudioFormat::new(44_100, 2).unwrap();
        let c = FrameChunker::new(stereo, Duration::from_millis(20)).unwrap();
        assert_eq!(c.frame_samples(), 1_764);
        assert_eq!(c.frame_duration(), Duration::from_millis(20));
        let c = FrameChunker::with_frame_samples(AudioFormat::MONO_16K, 256).unwrap();
        assert_eq!(c.frame_samples(), 256);
        assert_eq!(c.format(), AudioFormat::MONO_16K);
        assert!(FrameChunker::new(AudioFormat::MONO_16K, Duration::ZERO).is_err());
        assert!(FrameChunker::new(AudioFormat::MONO_16K, Duration::from_micros(10)).is_err());
        let c22 = AudioFormat::new(22_050, 1).unwrap();
        let err = FrameChunker::new(c22, Duration::from_millis(1)).unwrap_err();
        assert!(err.message().contains("whole number"), "{err}");
        assert!(FrameChunker::with_frame_samples(AudioFormat::MONO_16K, 0).is_err());
        assert!(FrameChunker::with_frame_samples(AudioFormat::MONO_8K, usize::MAX).is_err());
    }

    #[test]
    fn bytes_split_inside_a_sample() {
        let mut c = FrameChunker::with_frame_samples(AudioFormat::MONO_16K, 2).unwrap();
        let samples: [i16; 4] = [0x1234, -2, 300, i16::MIN];
        let bytes: Vec<u8> = samples.iter().flat_map(|s| s.to_le_bytes()).collect();
        c.push_bytes(&bytes[..1]).unwrap();
        assert_eq!(c.pending_samples(), 0);
        c.push_bytes(&bytes[1..1]).unwrap();
        c.push_bytes(&bytes[1..4]).unwrap();
        assert_eq!(c.pending_samples(), 2);
        c.push_bytes(&bytes[4..7]).unwrap();
        let f = c.next_frame().unwrap();
        assert_eq!(f.samples(), &samples[..2]);
        assert!(c.next_frame().is_none());
        let err = c.flush(true).unwrap_err();
        assert!(err.message().contains("half"), "{err}");
        c.push_bytes(&bytes[7..]).unwrap();
        assert_eq!(c.next_frame().unwrap().samples(), &samples[2..]);
        assert!(c.flush(true).unwrap().is_none());
    }

    #[test]
    fn flush_pads_or_returns_short() {
        let mut c = FrameChunker::with_frame_samples(AudioFormat::MONO_8K, 4).unwrap();
        c.push_samples(&[1, 2, 3, 4, 5, 6]);
        assert_eq!(c.next_frame().unwrap().samples(), &[1, 2, 3, 4]);
        let mut d = c.clone();
        assert_eq!(c.flush(true).unwrap().unwrap().samples(), &[5, 6, 0, 0]);
        assert_eq!(d.flush(false).unwrap().unwrap().samples(), &[5, 6]);
        assert!(c.flush(false).unwrap().is_none());
        assert_eq!(c.pending_samples(), 0);
    }

    #[test]
    fn stereo_frames_and_format_checks() {
        let stereo = AudioFormat::new(8_000, 2).unwrap();
        let mut c = FrameChunker::with_frame_samples(stereo, 2).unwrap();
        assert!(
            c.push_frame(&AudioFrame::new(vec![0; 4], AudioFormat::MONO_8K).unwrap())
                .is_err()
        );
        c.push_frame(&AudioFrame::new(vec![1, 2, 3, 4, 5, 6], stereo).unwrap())
            .unwrap();
        assert_eq!(c.next_frame().unwrap().samples(), &[1, 2, 3, 4]);
        // Three samples: one and a half stereo frames.
        c.push_bytes(&[7, 0]).unwrap();
        assert!(c.flush(false).is_err());
        assert_eq!(c.flush(true).unwrap().unwrap().samples(), &[5, 6, 7, 0]);
        c.push_bytes(&[1]).unwrap();
        assert!(
            c.push_frame(&AudioFrame::new(vec![1, 2], stereo).unwrap())
                .is_err()
        );
        c.clear();
        assert_eq!(c.pending_samples(), 0);
        assert!(c.flush(true).unwrap().is_none());
    }
}
