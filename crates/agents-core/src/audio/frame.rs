//! [`AudioFormat`] and [`AudioFrame`]: interleaved signed 16-bit PCM.

use std::fmt;
use std::time::Duration;

use crate::error::{Error, Result};

/// The highest sample rate the toolkit accepts.
pub const MAX_SAMPLE_RATE: u32 = 384_000;
/// The most channels the toolkit accepts.
pub const MAX_CHANNELS: u16 = 8;
/// The longest single buffer the toolkit accepts (one hour), so that a wrong length is an error
/// instead of a huge allocation.
pub const MAX_BUFFER_DURATION: Duration = Duration::from_secs(3600);

/// The shape of PCM audio: sample rate and channel count (samples are always signed 16-bit).
///
/// ```
/// use agents_core::AudioFormat;
///
/// let f = AudioFormat::new(16_000, 1).unwrap();
/// assert_eq!(f.samples_for(std::time::Duration::from_millis(20)), 320);
/// assert!(AudioFormat::new(0, 1).is_err());
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
pub struct AudioFormat {
    /// Samples per second per channel.
    pub sample_rate: u32,
    /// Interleaved channels.
    pub channels: u16,
}

impl AudioFormat {
    /// 16 kHz mono, the usual STT input.
    pub const MONO_16K: AudioFormat = AudioFormat {
        sample_rate: 16_000,
        channels: 1,
    };
    /// 24 kHz mono, the usual TTS output.
    pub const MONO_24K: AudioFormat = AudioFormat {
        sample_rate: 24_000,
        channels: 1,
    };
    /// 48 kHz mono, the usual transport rate.
    pub const MONO_48K: AudioFormat = AudioFormat {
        sample_rate: 48_000,
        channels: 1,
    };
    /// 8 kHz mono, telephony.
    pub const MONO_8K: AudioFormat = AudioFormat {
        sample_rate: 8_000,
        channels: 1,
    };

    /// A validated format: a rate in 1..=384000 Hz and 1..=8 channels.
    pub fn new(sample_rate: u32, channels: u16) -> Result<Self> {
        let f = AudioFormat {
            sample_rate,
            channels,
        };
        f.validate()?;
        Ok(f)
    }

    /// Checks the rate and channel count.
    pub fn validate(&self) -> Result<()> {
        if self.sample_rate == 0 || self.sample_rate > MAX_SAMPLE_RATE {
            return Err(Error::invalid_input(format!(
                "sample rate {} Hz is outside 1..={MAX_SAMPLE_RATE}",
                self.sample_rate
            )));
        }
        if self.channels == 0 || self.channels > MAX_CHANNELS {
            return Err(Error::invalid_input(format!(
                "channel count {} is outside 1..={MAX_CHANNELS}",
                self.channels
            )));
        }
        Ok(())
    }

    /// Interleaved samples (all channels) in `duration`, rounded down to whole frames.
    #[must_use]
    pub fn samples_for(&self, duration: Duration) -> usize {
        self.frames_for(duration) * self.channels as usize
    }

    /// Sample frames (samples per channel) in `duration`, rounded down.
    #[must_use]
    pub fn frames_for(&self, duration: Duration) -> usize {
        (duration.as_nanos() * u128::from(self.sample_rate) / 1_000_000_000) as usize
    }

    /// The duration of `samples` interleaved samples.
    #[must_use]
    pub fn duration_of(&self, samples: usize) -> Duration {
        let frames = samples as u128 / u128::from(self.channels.max(1));
        let nanos = frames * 1_000_000_000 / u128::from(self.sample_rate.max(1));
        Duration::from_nanos(nanos.min(u128::from(u64::MAX)) as u64)
    }

    /// Bytes per interleaved sample frame (2 bytes per channel).
    #[must_use]
    pub fn bytes_per_frame(&self) -> usize {
        2 * self.channels as usize
    }
}

impl fmt::Display for AudioFormat {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let ch = match self.channels {
            1 => "mono".to_string(),
            2 => "stereo".to_string(),
            n => format!("{n} channels"),
        };
        write!(f, "{} Hz {ch} s16", self.sample_rate)
    }
}

/// A buffer of interleaved signed 16-bit PCM with its format.
///
/// The sample count is always a whole number of sample frames (a multiple of the channel
/// count); constructors check it.
///
/// ```
/// use agents_core::{AudioFormat, AudioFrame};
///
/// let frame = AudioFrame::new(vec![0i16; 320], AudioFormat::MONO_16K).unwrap();
/// assert_eq!(frame.duration().as_millis(), 20);
/// let bytes = frame.to_le_bytes();
/// let back = AudioFrame::from_le_bytes(&bytes, AudioFormat::MONO_16K).unwrap();
/// assert_eq!(back, frame);
/// assert!(AudioFrame::from_le_bytes(&[0u8; 3], AudioFormat::MONO_16K).is_err());
/// ```
#[derive(Clone, PartialEq, Eq)]
pub struct AudioFrame {
    samples: Vec<i16>,
    format: AudioFormat,
}

impl AudioFrame {
    /// A frame from interleaved samples. Fails on an invalid format, a sample count that is not
    /// a multiple of the channel count, or more than [`MAX_BUFFER_DURATION`] of audio.
    pub fn new(samples: Vec<i16>, format: AudioFormat) -> Result<Self> {
        format.validate()?;
        if !samples.len().is_multiple_of(format.channels as usize) {
            return Err(Error::invalid_input(format!(
                "{} samples is not a whole number of {}-channel frames",
                samples.len(),
                format.channels
            )));
        }
        check_length(samples.len(), format)?;
        Ok(AudioFrame { samples, format })
    }

    /// A frame of `duration` of silence.
    pub fn silence(format: AudioFormat, duration: Duration) -> Result<Self> {
        format.validate()?;
        if duration > MAX_BUFFER_DURATION {
            return Err(Error::invalid_input(format!(
                "{} s of silence is longer than the {} s limit",
                duration.as_secs_f64(),
                MAX_BUFFER_DURATION.as_secs()
            )));
        }
        Ok(AudioFrame {
            samples: vec![0; format.samples_for(duration)],
            format,
        })
    }

    /// An empty frame of `format`.
    pub fn empty(format: AudioFormat) -> Result<Self> {
        format.validate()?;
        Ok(AudioFrame {
            samples: Vec::new(),
            format,
        })
    }

    /// A frame from little-endian s16 bytes. An odd byte count, or one that is not a whole
    /// number of sample frames, is an error.
    pub fn from_le_bytes(bytes: &[u8], format: AudioFormat) -> Result<Self> {
        if !bytes.len().is_multiple_of(2) {
            return Err(Error::invalid_input(format!(
                "{} bytes is an odd count for 16-bit PCM",
                bytes.len()
            )));
        }
        let samples = bytes
            .chunks_exact(2)
            .map(|b| i16::from_le_bytes([b[0], b[1]]))
            .collect();
        Self::new(samples, format)
    }

    /// A frame from f32 samples in `[-1.0, 1.0]` (values outside are clipped; NaN becomes 0).
    pub fn from_f32(samples: &[f32], format: AudioFormat) -> Result<Self> {
        Self::new(samples.iter().map(|&s| f32_to_i16(s)).collect(), format)
    }

    /// The samples as little-endian bytes.
    #[must_use]
    pub fn to_le_bytes(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(self.samples.len() * 2);
        for s in &self.samples {
            out.extend_from_slice(&s.to_le_bytes());
        }
        out
    }

    /// Appends the samples as little-endian bytes to `out` (no allocation when it has room).
    pub fn write_le_bytes(&self, out: &mut Vec<u8>) {
        out.reserve(self.samples.len() * 2);
        for s in &self.samples {
            out.extend_from_slice(&s.to_le_bytes());
        }
    }

    /// The samples as f32 in `[-1.0, 1.0)`.
    #[must_use]
    pub fn to_f32(&self) -> Vec<f32> {
        self.samples.iter().map(|&s| i16_to_f32(s)).collect()
    }

    /// The interleaved samples.
    #[must_use]
    pub fn samples(&self) -> &[i16] {
        &self.samples
    }

    /// The interleaved samples, mutable (the length cannot change).
    pub fn samples_mut(&mut self) -> &mut [i16] {
        &mut self.samples
    }

    /// Takes the samples out.
    #[must_use]
    pub fn into_samples(self) -> Vec<i16> {
        self.samples
    }

    /// The format.
    #[must_use]
    pub fn format(&self) -> AudioFormat {
        self.format
    }

    /// The sample rate in Hz.
    #[must_use]
    pub fn sample_rate(&self) -> u32 {
        self.format.sample_rate
    }

    /// The channel count.
    #[must_use]
    pub fn channels(&self) -> u16 {
        self.format.channels
    }

    /// Samples per channel.
    #[must_use]
    pub fn samples_per_channel(&self) -> usize {
        self.samples.len() / self.format.channels as usize
    }

    /// True when the frame holds no samples.
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.samples.is_empty()
    }

    /// The duration of the audio.
    #[must_use]
    pub fn duration(&self) -> Duration {
        self.format.duration_of(self.samples.len())
    }

    /// Root-mean-square level in `[0, 1]`; 0 for an empty frame.
    #[must_use]
    pub fn rms(&self) -> f32 {
        rms(&self.samples)
    }

    /// Appends another frame of the same format.
    pub fn append(&mut self, other: &AudioFrame) -> Result<()> {
        if other.format != self.format {
            return Err(Error::invalid_input(format!(
                "cannot append {} audio to {} audio",
                other.format, self.format
            )));
        }
        check_length(self.samples.len() + other.samples.len(), self.format)?;
        self.samples.extend_from_slice(&other.samples);
        Ok(())
    }

    /// Joins frames of one format into one frame. An empty list is an error because it has
    /// no format.
    pub fn concat<'a>(frames: impl IntoIterator<Item = &'a AudioFrame>) -> Result<AudioFrame> {
        let mut iter = frames.into_iter();
        let first = iter
            .next()
            .ok_or_else(|| Error::invalid_input("cannot join an empty list of frames"))?;
        let mut out = first.clone();
        for f in iter {
            out.append(f)?;
        }
        Ok(out)
    }
}

impl fmt::Debug for AudioFrame {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AudioFrame")
            .field("format", &self.format)
            .field("samples", &self.samples.len())
            .field("duration_ms", &(self.duration().as_secs_f64() * 1000.0))
            .finish()
    }
}

fn check_length(samples: usize, format: AudioFormat) -> Result<()> {
    let max = format.samples_for(MAX_BUFFER_DURATION);
    if samples > max {
        return Err(Error::invalid_input(format!(
            "{samples} samples of {format} is longer than the {} s limit",
            MAX_BUFFER_DURATION.as_secs()
        )));
    }
    Ok(())
}

/// Converts one s16 sample to f32 in `[-1.0, 1.0)`.
#[inline]
#[must_use]
pub fn i16_to_f32(s: i16) -> f32 {
    f32::from(s) / 32768.0
}

/// Converts one f32 sample to s16, clipping to the range and mapping NaN to 0.
#[inline]
#[must_use]
pub fn f32_to_i16(s: f32) -> i16 {
    // `f32::round` is a libm call on baseline x86-64 (no SSE4.1), a fifth of the resampler's
    // time. This rounds half away from zero exactly like it, with a truncating cast: `as`
    // saturates (and maps NaN to 0), the fraction decides the step.
    let x = s * 32768.0;
    let t = x as i32;
    let frac = x - t as f32;
    let r = if frac >= 0.5 {
        t.saturating_add(1)
    } else if frac <= -0.5 {
        t.saturating_sub(1)
    } else {
        t
    };
    r.clamp(-32768, 32767) as i16
}

/// Root-mean-square level of s16 samples in `[0, 1]`; 0 for no samples.
#[must_use]
pub fn rms(samples: &[i16]) -> f32 {
    if samples.is_empty() {
        return 0.0;
    }
    let sum: f64 = samples
        .iter()
        .map(|&s| {
            let v = f64::from(s) / 32768.0;
            v * v
        })
        .sum();
    (sum / samples.len() as f64).sqrt() as f32
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn f32_to_i16_rounds_like_f32_round() {
        let reference = |s: f32| {
            if s.is_nan() {
                return 0;
            }
            (s * 32768.0).round().clamp(-32768.0, 32767.0) as i16
        };
        let mut values = vec![
            0.0f32,
            -0.0,
            1.0,
            -1.0,
            2.0,
            -2.0,
            1e10,
            -1e10,
            f32::INFINITY,
            f32::NEG_INFINITY,
            f32::NAN,
            f32::MAX,
            f32::MIN,
            f32::MIN_POSITIVE,
            0.5 / 32768.0,
            -0.5 / 32768.0,
            1.5 / 32768.0,
            -1.5 / 32768.0,
            0.49999997 / 32768.0,
            32767.5 / 32768.0,
            -32768.5 / 32768.0,
        ];
        // Every half step in range and a dense sweep.
        for k in -65_540i32..65_540 {
            values.push(k as f32 / 65_536.0);
        }
        let mut x = -1.1f32;
        while x < 1.1 {
            values.push(x);
            x += 0.000_013_7;
        }
        for v in values {
            assert_eq!(f32_to_i16(v), reference(v), "{v:e}");
        }
    }

    #[test]
    fn rejects_bad_shapes() {
        assert!(AudioFormat::new(0, 1).is_err());
        assert!(AudioFormat::new(16_000, 0).is_err());
        assert!(AudioFormat::new(1_000_000, 1).is_err());
        let stereo = AudioFormat::new(48_000, 2).unwrap();
        assert!(AudioFrame::new(vec![0; 3], stereo).is_err());
        assert!(AudioFrame::from_le_bytes(&[1, 2, 3], AudioFormat::MONO_16K).is_err());
        assert!(AudioFrame::from_le_bytes(&[1, 2, 3, 4, 5, 6], stereo).is_err());
        assert!(AudioFrame::silence(AudioFormat::MONO_8K, Duration::from_secs(4000)).is_err());
    }

    #[test]
    fn conversions_round_trip() {
        let f = AudioFrame::new(
            vec![0, 1, -1, i16::MAX, i16::MIN, 1234],
            AudioFormat::MONO_16K,
        )
        .unwrap();
        let back = AudioFrame::from_f32(&f.to_f32(), AudioFormat::MONO_16K).unwrap();
        assert_eq!(back, f);
        assert_eq!(f32_to_i16(2.0), i16::MAX);
        assert_eq!(f32_to_i16(-2.0), i16::MIN);
        assert_eq!(f32_to_i16(f32::NAN), 0);
        let mut bytes = Vec::new();
        f.write_le_bytes(&mut bytes);
        assert_eq!(bytes, f.to_le_bytes());
        assert_eq!(bytes[2..4], 1i16.to_le_bytes());
    }

    #[test]
    fn durations() {
        let stereo = AudioFormat::new(44_100, 2).unwrap();
        let f = AudioFrame::silence(stereo, Duration::from_millis(100)).unwrap();
        assert_eq!(f.samples().len(), 8820);
        assert_eq!(f.samples_per_channel(), 4410);
        assert_eq!(f.duration(), Duration::from_millis(100));
        assert_eq!(stereo.to_string(), "44100 Hz stereo s16");
    }

    #[test]
    fn append_checks_format() {
        let mut a = AudioFrame::silence(AudioFormat::MONO_16K, Duration::from_millis(10)).unwrap();
        let b = AudioFrame::silence(AudioFormat::MONO_24K, Duration::from_millis(10)).unwrap();
        assert!(a.append(&b).is_err());
        let c = a.clone();
        a.append(&c).unwrap();
        assert_eq!(a.duration(), Duration::from_millis(20));
        assert!(AudioFrame::concat([]).is_err());
    }

    #[test]
    fn rms_levels() {
        assert_eq!(rms(&[]), 0.0);
        let loud = vec![i16::MAX; 100];
        assert!(rms(&loud) > 0.99);
    }
}
