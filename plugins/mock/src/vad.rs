//! [`MockVad`]: speech probability from energy.

use agents_core::{AudioFormat, Error, Result, Vad};

use crate::faults::Faults;

/// An energy-based voice activity detector: 16 kHz mono, 160-sample (10 ms) frames.
///
/// The probability is `0.5 * rms / threshold`, capped at 1: exactly 0.5 at the threshold,
/// 0 for digital silence. It has no latency setting: per-frame work is synchronous.
///
/// ```
/// use agents_core::Vad;
/// use agents_plugin_mock::MockVad;
///
/// let mut vad = MockVad::new();
/// assert_eq!(vad.speech_probability(&[0; 160]).unwrap(), 0.0);
/// assert_eq!(vad.speech_probability(&[8000; 160]).unwrap(), 1.0);
/// assert!(vad.speech_probability(&[0; 100]).is_err());
/// ```
#[derive(Debug, Clone)]
pub struct MockVad {
    threshold: f32,
    faults: Faults,
}

/// Builds a [`MockVad`].
#[derive(Debug, Clone)]
#[must_use]
pub struct MockVadBuilder {
    threshold: f32,
    faults: Faults,
}

impl Default for MockVadBuilder {
    fn default() -> Self {
        MockVadBuilder {
            threshold: 0.02,
            faults: Faults::new(),
        }
    }
}

impl MockVadBuilder {
    /// The RMS level in `(0, 1]` that gives probability 0.5 (default 0.02).
    pub fn threshold(mut self, threshold: f32) -> Self {
        self.threshold = threshold;
        self
    }

    /// Fails the next `n` frames with `error`.
    pub fn fail_next(self, n: usize, error: Error) -> Self {
        self.faults.fail_next(n, error);
        self
    }

    /// Builds the detector; a threshold outside `(0, 1]` is an error.
    pub fn build(self) -> Result<MockVad> {
        if !(self.threshold > 0.0 && self.threshold <= 1.0) {
            return Err(Error::invalid_input(format!(
                "threshold must be in (0, 1], got {}",
                self.threshold
            ))
            .with_provider("mock"));
        }
        Ok(MockVad {
            threshold: self.threshold,
            faults: self.faults,
        })
    }
}

impl Default for MockVad {
    fn default() -> Self {
        Self::new()
    }
}

impl MockVad {
    /// Samples per frame.
    pub const FRAME_SAMPLES: usize = 160;

    /// A detector with threshold 0.02.
    #[must_use]
    pub fn new() -> Self {
        MockVad {
            threshold: 0.02,
            faults: Faults::new(),
        }
    }

    /// A builder.
    pub fn builder() -> MockVadBuilder {
        MockVadBuilder::default()
    }

    /// The fault handle (shared with clones); a call is one frame.
    #[must_use]
    pub fn faults(&self) -> &Faults {
        &self.faults
    }
}

impl Vad for MockVad {
    fn input_format(&self) -> AudioFormat {
        AudioFormat::MONO_16K
    }

    fn frame_samples(&self) -> usize {
        Self::FRAME_SAMPLES
    }

    fn speech_probability(&mut self, frame: &[i16]) -> Result<f32> {
        if frame.len() != Self::FRAME_SAMPLES {
            return Err(Error::invalid_input(format!(
                "mock VAD frames are {} samples, got {}",
                Self::FRAME_SAMPLES,
                frame.len()
            ))
            .with_provider("mock"));
        }
        self.faults.begin_call()?;
        Ok((0.5 * agents_core::audio::rms(frame) / self.threshold).min(1.0))
    }

    fn reset(&mut self) {}
}
