//! The speech the harness feeds: the weather recording at 48 kHz, looped with silence.

use std::sync::Arc;
use std::time::Duration;

use agents_core::audio::resample;
use agents_core::{AudioFormat, AudioFrame, Result};
use agents_testing::fixtures::Fixture;

/// Samples per 20 ms frame at 48 kHz.
pub(crate) const FRAME_SAMPLES: usize = 960;
/// The frame duration.
pub(crate) const FRAME: Duration = Duration::from_millis(20);

/// One cycle of user audio at 48 kHz mono: 300 ms of silence, "What is the weather in Paris
/// today?", then silence up to `cycle` (room for the endpointing delay and the reply).
#[derive(Debug, Clone)]
pub(crate) struct Clip {
    samples: Arc<Vec<i16>>,
    speech_end: usize,
}

impl Clip {
    /// The cycle, at least the speech plus 300 ms of silence on each side.
    pub(crate) fn new(cycle: Duration) -> Result<Self> {
        let speech = resample(&Fixture::Weather16k.load()?, AudioFormat::MONO_48K)?;
        let mut clip = AudioFrame::silence(AudioFormat::MONO_48K, Duration::from_millis(300))?;
        clip.append(&speech)?;
        let total = AudioFormat::MONO_48K.samples_for(cycle);
        let speech_end = clip.samples().len().div_ceil(FRAME_SAMPLES);
        let mut samples = clip.samples().to_vec();
        let min = samples.len() + AudioFormat::MONO_48K.samples_for(Duration::from_millis(300));
        samples.resize(total.max(min).next_multiple_of(FRAME_SAMPLES), 0);
        Ok(Clip {
            samples: Arc::new(samples),
            speech_end,
        })
    }

    /// The cycle's length.
    pub(crate) fn cycle(&self) -> Duration {
        AudioFormat::MONO_48K.duration_of(self.samples.len())
    }

    /// Frames from the start of a cycle to the end of the question.
    pub(crate) fn speech_end_frames(&self) -> usize {
        self.speech_end
    }

    /// Frames in one cycle.
    pub(crate) fn frames(&self) -> usize {
        self.samples.len() / FRAME_SAMPLES
    }

    /// Frame `k` of the looped clip as a new frame (a transport delivers fresh buffers).
    pub(crate) fn frame(&self, k: usize) -> Result<AudioFrame> {
        let i = (k % self.frames()) * FRAME_SAMPLES;
        AudioFrame::new(
            self.samples[i..i + FRAME_SAMPLES].to_vec(),
            AudioFormat::MONO_48K,
        )
    }
}
