//! The audio toolkit: frames and formats, resampling, queues, chunking, WAV and mu-law.
//!
//! Everything here is synchronous and allocation-conscious: it runs on the audio hot path,
//! never awaits and never blocks.

mod frame;
mod resample;

pub use frame::{
    AudioFormat, AudioFrame, MAX_BUFFER_DURATION, MAX_CHANNELS, MAX_SAMPLE_RATE, f32_to_i16,
    i16_to_f32, rms,
};
pub use resample::{Resampler, resample};
