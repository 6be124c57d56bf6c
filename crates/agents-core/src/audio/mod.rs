//! The audio toolkit: frames and formats, resampling, queues, chunking, WAV and mu-law.
//!
//! Everything here is synchronous and allocation-conscious: it runs on the audio hot path,
//! never awaits and never blocks.

mod chunker;
mod frame;
mod mulaw;
mod queue;
mod resample;
mod wav;

pub use chunker::FrameChunker;
pub use frame::{
    AudioFormat, AudioFrame, MAX_BUFFER_DURATION, MAX_CHANNELS, MAX_SAMPLE_RATE, f32_to_i16,
    i16_to_f32, rms,
};
pub use mulaw::{
    alaw_decode, alaw_decode_into, alaw_encode, alaw_encode_into, alaw_to_frame, mulaw_decode,
    mulaw_decode_into, mulaw_encode, mulaw_encode_into, mulaw_to_frame,
};
pub use queue::AudioQueue;
pub use resample::{Resampler, resample};
pub use wav::{read_wav, read_wav_from, wav_bytes, write_wav, write_wav_to};
