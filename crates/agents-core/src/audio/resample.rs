//! Placeholder until the rubato resampler lands (replaced on merge).
#![allow(missing_docs, unreachable_pub)]
use crate::audio::{AudioFormat, AudioFrame};
use crate::error::{Error, Result};
#[derive(Debug)]
pub struct Resampler {
    input: AudioFormat,
    output: AudioFormat,
}
impl Resampler {
    pub fn new(input: AudioFormat, output: AudioFormat) -> Result<Self> {
        if input != output {
            return Err(Error::unsupported("resampling not yet available"));
        }
        Ok(Resampler { input, output })
    }
    pub fn input_format(&self) -> AudioFormat {
        self.input
    }
    pub fn output_format(&self) -> AudioFormat {
        self.output
    }
    pub fn process_into(&mut self, input: &[i16], out: &mut Vec<i16>) -> Result<()> {
        out.extend_from_slice(input);
        Ok(())
    }
    pub fn flush_into(&mut self, _out: &mut Vec<i16>) -> Result<()> {
        Ok(())
    }
    pub fn process(&mut self, frame: &AudioFrame) -> Result<AudioFrame> {
        Ok(frame.clone())
    }
}
pub fn resample(frame: &AudioFrame, output: AudioFormat) -> Result<AudioFrame> {
    let mut r = Resampler::new(frame.format(), output)?;
    r.process(frame)
}
