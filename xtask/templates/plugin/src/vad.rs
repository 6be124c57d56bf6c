//! [`{{Name}}Vad`]: speech probability from the energy of each 10 ms frame (no network).
//!
//! Replace the body of [`Vad::speech_probability`] with the provider's model; keep the frame
//! contract (fixed size, declared format, no allocation per frame).

use agents_core::{AudioFormat, Error, ProviderConfig, Result, Vad};

use crate::version::VERSION;

/// An energy voice activity detector at 16 kHz mono, 160-sample (10 ms) frames.
///
/// ```
/// use agents_core::Vad;
/// use {{crate_ident}}::{{Name}}Vad;
///
/// let mut vad = {{Name}}Vad::new();
/// assert_eq!(vad.speech_probability(&[0; 160]).unwrap(), 0.0);
/// ```
#[derive(Debug, Clone)]
pub struct {{Name}}Vad {
    threshold: f32,
}

impl Default for {{Name}}Vad {
    fn default() -> Self {
        Self::new()
    }
}

impl {{Name}}Vad {
    /// Samples per frame.
    pub const FRAME_SAMPLES: usize = 160;

    /// A detector with the default sensitivity (an RMS of 0.02 maps to probability 0.5).
    #[must_use]
    pub fn new() -> Self {
        {{Name}}Vad { threshold: 0.02 }
    }

    /// Builds from a config section (options: `threshold`, the RMS in (0, 1] that maps to 0.5).
    pub fn from_config(config: &ProviderConfig) -> Result<Self> {
        config.deny_unknown_options(&["threshold"])?;
        let threshold: f32 = config.option("threshold")?.unwrap_or(0.02);
        if !(threshold > 0.0 && threshold <= 1.0) {
            return Err(Error::invalid_input(format!(
                "threshold must be in (0, 1], got {threshold} ({{name}} {VERSION})"
            ))
            .with_provider("{{name}}"));
        }
        Ok({{Name}}Vad { threshold })
    }
}

impl Vad for {{Name}}Vad {
    fn input_format(&self) -> AudioFormat {
        AudioFormat::MONO_16K
    }

    fn frame_samples(&self) -> usize {
        Self::FRAME_SAMPLES
    }

    fn speech_probability(&mut self, frame: &[i16]) -> Result<f32> {
        if frame.len() != Self::FRAME_SAMPLES {
            return Err(Error::invalid_input(format!(
                "{{name}} VAD frames are {} samples, got {}",
                Self::FRAME_SAMPLES,
                frame.len()
            ))
            .with_provider("{{name}}"));
        }
        Ok((0.5 * agents_core::audio::rms(frame) / self.threshold).min(1.0))
    }

    fn reset(&mut self) {}
}
