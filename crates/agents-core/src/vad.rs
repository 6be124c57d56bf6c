//! Voice activity detection: the per-frame [`Vad`] trait.

use crate::audio::AudioFormat;
use crate::error::Result;

/// A voice activity detector: one speech probability per fixed-size frame.
///
/// Per-frame work is synchronous (`&mut self`, no await, no allocation per frame): it runs on
/// the audio hot path. The runtime re-chunks audio to [`Vad::frame_samples`] samples at
/// [`Vad::input_format`] and turns probabilities into speech start and end with thresholds,
/// minimum durations and prefix padding.
///
/// # Concurrency
/// One instance per audio stream; `Send` so a session task can own it.
///
/// # Example
/// ```
/// use agents_core::{AudioFormat, Result, Vad};
///
/// struct Energy;
/// impl Vad for Energy {
///     fn input_format(&self) -> AudioFormat { AudioFormat::MONO_16K }
///     fn frame_samples(&self) -> usize { 160 }
///     fn speech_probability(&mut self, frame: &[i16]) -> Result<f32> {
///         Ok((agents_core::audio::rms(frame) * 20.0).min(1.0))
///     }
///     fn reset(&mut self) {}
/// }
/// assert_eq!(Energy.speech_probability(&[0; 160]).unwrap(), 0.0);
/// ```
pub trait Vad: Send {
    /// The format frames must have.
    fn input_format(&self) -> AudioFormat;

    /// Samples per frame (per channel).
    fn frame_samples(&self) -> usize;

    /// The probability in `[0, 1]` that `frame` holds speech. A frame of the wrong length is an
    /// [`ErrorKind::InvalidInput`](crate::ErrorKind) error.
    fn speech_probability(&mut self, frame: &[i16]) -> Result<f32>;

    /// Forgets all state, as for a new stream.
    fn reset(&mut self);
}
