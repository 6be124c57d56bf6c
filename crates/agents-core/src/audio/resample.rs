//! [`Resampler`]: a streaming, stateful sample-rate and channel converter on rubato's FFT
//! resampler.

use std::time::Duration;

use rubato::Resampler as _;
use rubato::audioadapter_buffers::direct::SequentialSlice;
use rubato::{Fft, FixedSync, Indexing};

use super::frame::{AudioFormat, AudioFrame, f32_to_i16, i16_to_f32};
use crate::error::{Error, Result};

/// The smallest processing block, in frames at the lower of the two rates. Smaller FFT blocks
/// widen the anti-alias filter's transition band (rubato's cutoff at 128 points is about 0.89
/// of the lower Nyquist frequency, at 80 points only about 0.83).
const MIN_BLOCK_FRAMES: usize = 128;

/// How channels are converted.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Remix {
    /// Same channel count in and out.
    Same,
    /// N channels to mono: the average of the channels.
    Down,
    /// Mono to N channels: the sample duplicated.
    Up,
}

/// A streaming converter from one [`AudioFormat`] to another: sample rate (synchronous FFT
/// resampling with a fixed ratio, f32 inside) and channel count (N→mono averages, mono→N
/// duplicates, N→N keeps).
///
/// Push any number of samples per call with [`Resampler::process_into`] (1 sample, 7
/// samples, 10 s: partial blocks are buffered); call [`Resampler::flush_into`] at the end of the
/// stream to get the rest. The resampler's own delay is trimmed at the start of the stream, so
/// the output is time-aligned with the input (an event at input time `t` appears at output
/// time `t`, within a sample or two), and over a whole stream (every `process` call plus the
/// `flush`) the number of output frames is exactly
/// `round(input_frames * output_rate / input_rate)` (rounded half up).
///
/// Rates are converted in blocks of 10 ms or a little more (the smallest multiple of
/// `rate / gcd(in, out)` frames that covers 10 ms and 128 frames at the lower rate, so the
/// anti-alias filter stays sharp; 20 ms for pairs like 22.05 kHz and 16 kHz);
/// everything is allocated at construction, so steady-state [`Resampler::process_into`] only
/// ever grows the caller's output `Vec`. Same rate and same channel count is a plain copy;
/// same rate with a channel change only remixes.
///
/// ```
/// use agents_core::AudioFormat;
/// use agents_core::audio::Resampler;
///
/// let mut rs = Resampler::new(AudioFormat::MONO_48K, AudioFormat::MONO_16K).unwrap();
/// let mut out = Vec::new();
/// // 1 s of 48 kHz audio in awkward pieces.
/// let input = vec![0i16; 48_000];
/// for piece in input.chunks(997) {
///     rs.process_into(piece, &mut out).unwrap();
/// }
/// rs.flush_into(&mut out).unwrap();
/// assert_eq!(out.len(), 16_000);
///
/// // A stereo input must come in whole frames.
/// let stereo = AudioFormat::new(44_100, 2).unwrap();
/// let mut rs = Resampler::new(stereo, AudioFormat::MONO_16K).unwrap();
/// assert!(rs.process_into(&[1, 2, 3], &mut out).is_err());
/// ```
#[derive(Debug)]
pub struct Resampler {
    input: AudioFormat,
    output: AudioFormat,
    remix: Remix,
    engine: Option<Engine>,
}

/// The rate-conversion part: rubato plus the preallocated planar buffers around it.
#[derive(Debug)]
struct Engine {
    fft: Fft<f32>,
    /// Channels rubato processes (the smaller of the two channel counts).
    channels: usize,
    chunk_in: usize,
    chunk_out: usize,
    /// Planar accumulator of `channels * chunk_in` samples.
    acc: Vec<f32>,
    /// Frames of `acc` that hold input.
    fill: usize,
    /// Planar output of `channels * chunk_out` samples.
    out_buf: Vec<f32>,
    /// rubato's delay in output frames.
    delay: usize,
    /// Output frames still to drop at the start of the stream.
    to_trim: usize,
    /// Input frames received since the last reset.
    frames_in: u64,
    /// Output frames emitted since the last reset.
    frames_out: u64,
    in_rate: u32,
    out_rate: u32,
}

impl Resampler {
    /// A resampler from `input` to `output`.
    ///
    /// Any pair of valid rates works (8, 16, 22.05, 24, 44.1 and 48 kHz and everything else
    /// up to [`MAX_SAMPLE_RATE`](super::MAX_SAMPLE_RATE)). Channels may stay the same, go from
    /// N to mono (average) or from mono to N (duplicate); anything else, like stereo to 6
    /// channels, is an error, as is an invalid format.
    pub fn new(input: AudioFormat, output: AudioFormat) -> Result<Self> {
        input
            .validate()
            .map_err(|e| Error::invalid_input(format!("resampler input: {}", e.message())))?;
        output
            .validate()
            .map_err(|e| Error::invalid_input(format!("resampler output: {}", e.message())))?;
        let remix = if input.channels == output.channels {
            Remix::Same
        } else if output.channels == 1 {
            Remix::Down
        } else if input.channels == 1 {
            Remix::Up
        } else {
            return Err(Error::invalid_input(format!(
                "cannot remix {input} to {output}: only N→N, N→mono and mono→N channel \
                 conversions are supported"
            )));
        };
        let engine = if input.sample_rate == output.sample_rate {
            None
        } else {
            let channels = usize::from(input.channels.min(output.channels));
            Some(
                Engine::new(input.sample_rate, output.sample_rate, channels).map_err(|e| {
                    Error::invalid_input(format!("cannot resample {input} to {output}: {e}"))
                })?,
            )
        };
        Ok(Resampler {
            input,
            output,
            remix,
            engine,
        })
    }

    /// The format [`Resampler::process_into`] expects.
    #[must_use]
    pub fn input_format(&self) -> AudioFormat {
        self.input
    }

    /// The format the resampler produces.
    #[must_use]
    pub fn output_format(&self) -> AudioFormat {
        self.output
    }

    /// The most audio the resampler holds back before it appears at the output: one
    /// processing block (buffered until complete) plus the filter's look-ahead. Zero for a
    /// pass-through (same rate).
    #[must_use]
    pub fn delay(&self) -> Duration {
        match &self.engine {
            None => Duration::ZERO,
            Some(e) => {
                let block = frames_to_duration(e.chunk_in as u64, e.in_rate);
                let look_ahead = frames_to_duration(e.delay as u64, e.out_rate);
                block + look_ahead
            }
        }
    }

    /// Input frames (samples per channel) per processing block; 0 for a pass-through.
    #[must_use]
    pub fn block_frames(&self) -> usize {
        self.engine.as_ref().map_or(0, |e| e.chunk_in)
    }

    /// Forgets all buffered audio and starts a new stream.
    pub fn reset(&mut self) {
        if let Some(e) = &mut self.engine {
            e.reset();
        }
    }

    /// Converts interleaved `input` samples (in the input format) and appends the interleaved
    /// output to `out`. The length must be a whole number of input frames. Audio that does not
    /// fill a processing block yet is kept for the next call or [`Resampler::flush_into`].
    pub fn process_into(&mut self, input: &[i16], out: &mut Vec<i16>) -> Result<()> {
        let in_ch = usize::from(self.input.channels);
        if !input.len().is_multiple_of(in_ch) {
            return Err(Error::invalid_input(format!(
                "{} samples is not a whole number of {}-channel frames ({})",
                input.len(),
                in_ch,
                self.input
            )));
        }
        let out_ch = usize::from(self.output.channels);
        match &mut self.engine {
            None => {
                remix_i16(input, in_ch, out_ch, self.remix, out);
                Ok(())
            }
            Some(e) => e.process(input, in_ch, out_ch, self.remix, out),
        }
    }

    /// Converts a frame in the input format; the result holds whatever output is ready (it may
    /// be empty while the first block fills). A frame of another format is an error.
    pub fn process(&mut self, frame: &AudioFrame) -> Result<AudioFrame> {
        if frame.format() != self.input {
            return Err(Error::invalid_input(format!(
                "resampler expects {} audio but got a {} frame",
                self.input,
                frame.format()
            )));
        }
        let mut out = Vec::new();
        self.process_into(frame.samples(), &mut out)?;
        AudioFrame::new(out, self.output)
    }

    /// Ends the stream: pushes the buffered remainder through, appends exactly the output
    /// still owed (see the type docs for the length) to `out`, then resets for a new stream.
    pub fn flush_into(&mut self, out: &mut Vec<i16>) -> Result<()> {
        let out_ch = usize::from(self.output.channels);
        match &mut self.engine {
            None => Ok(()),
            Some(e) => {
                let result = e.flush(out_ch, self.remix, out);
                e.reset();
                result
            }
        }
    }

    /// [`Resampler::flush_into`] into a new frame.
    pub fn flush(&mut self) -> Result<AudioFrame> {
        let mut out = Vec::new();
        self.flush_into(&mut out)?;
        AudioFrame::new(out, self.output)
    }
}

/// Converts a whole buffer to `output` in one go (a new [`Resampler`], one `process`, one
/// `flush`).
///
/// ```
/// use agents_core::{AudioFormat, AudioFrame};
/// use agents_core::audio::resample;
///
/// let tts = AudioFrame::silence(AudioFormat::MONO_24K, std::time::Duration::from_millis(100))
///     .unwrap();
/// let out = resample(&tts, AudioFormat::MONO_48K).unwrap();
/// assert_eq!(out.samples().len(), 4_800);
/// ```
pub fn resample(frame: &AudioFrame, output: AudioFormat) -> Result<AudioFrame> {
    let mut rs = Resampler::new(frame.format(), output)?;
    let mut out = Vec::new();
    rs.process_into(frame.samples(), &mut out)?;
    rs.flush_into(&mut out)?;
    AudioFrame::new(out, output)
}

impl Engine {
    fn new(
        in_rate: u32,
        out_rate: u32,
        channels: usize,
    ) -> std::result::Result<Self, rubato::ResamplerConstructionError> {
        let chunk = block_frames(in_rate, out_rate);
        let fft = Fft::<f32>::new(
            in_rate as usize,
            out_rate as usize,
            chunk,
            channels,
            FixedSync::Both,
        )?;
        let chunk_in = fft.input_frames_next();
        let chunk_out = fft.output_frames_next();
        let delay = fft.output_delay();
        Ok(Engine {
            fft,
            channels,
            chunk_in,
            chunk_out,
            acc: vec![0.0; channels * chunk_in],
            fill: 0,
            out_buf: vec![0.0; channels * chunk_out],
            delay,
            to_trim: delay,
            frames_in: 0,
            frames_out: 0,
            in_rate,
            out_rate,
        })
    }

    fn reset(&mut self) {
        self.fft.reset();
        self.fill = 0;
        self.to_trim = self.delay;
        self.frames_in = 0;
        self.frames_out = 0;
    }

    fn process(
        &mut self,
        input: &[i16],
        in_ch: usize,
        out_ch: usize,
        remix: Remix,
        out: &mut Vec<i16>,
    ) -> Result<()> {
        let frames = input.len() / in_ch;
        // Reserve once for every block this call completes.
        let blocks = (self.fill + frames) / self.chunk_in;
        out.reserve(blocks * self.chunk_out * out_ch);
        let mut rest = input;
        while !rest.is_empty() {
            let room = self.chunk_in - self.fill;
            let take = room.min(rest.len() / in_ch);
            let (now, later) = rest.split_at(take * in_ch);
            self.load(now, in_ch, remix);
            rest = later;
            if self.fill == self.chunk_in {
                self.run_block(None, out_ch, remix, None, out)?;
            }
        }
        Ok(())
    }

    /// Copies interleaved input frames into the planar accumulator, down-mixing if needed.
    fn load(&mut self, input: &[i16], in_ch: usize, remix: Remix) {
        let n = input.len() / in_ch;
        let base = self.fill;
        match remix {
            Remix::Down => {
                let scale = 1.0 / in_ch as f32;
                let dst = &mut self.acc[base..base + n];
                for (d, frame) in dst.iter_mut().zip(input.chunks_exact(in_ch)) {
                    let sum: f32 = frame.iter().map(|&s| i16_to_f32(s)).sum();
                    *d = sum * scale;
                }
            }
            Remix::Same | Remix::Up => {
                // Rubato runs at the input channel count here.
                for c in 0..self.channels {
                    let start = c * self.chunk_in + base;
                    let dst = &mut self.acc[start..start + n];
                    for (d, frame) in dst.iter_mut().zip(input.chunks_exact(in_ch)) {
                        *d = i16_to_f32(frame[c]);
                    }
                }
            }
        }
        self.fill += n;
        self.frames_in += n as u64;
    }

    /// Runs one block through rubato (`partial` frames of real input when set) and appends at
    /// most `limit` output frames (after the start-of-stream trim).
    fn run_block(
        &mut self,
        partial: Option<usize>,
        out_ch: usize,
        remix: Remix,
        limit: Option<u64>,
        out: &mut Vec<i16>,
    ) -> Result<()> {
        let indexing = Indexing {
            input_offset: 0,
            output_offset: 0,
            partial_len: partial,
            active_channels_mask: None,
        };
        let produced = {
            let input = SequentialSlice::new(&self.acc[..], self.channels, self.chunk_in)
                .map_err(|e| Error::invalid_input(format!("resampler input buffer: {e}")))?;
            let mut output =
                SequentialSlice::new_mut(&mut self.out_buf[..], self.channels, self.chunk_out)
                    .map_err(|e| Error::invalid_input(format!("resampler output buffer: {e}")))?;
            let (_, produced) = self
                .fft
                .process_into_buffer(&input, &mut output, Some(&indexing))
                .map_err(|e| Error::invalid_input(format!("resampling failed: {e}")))?;
            produced
        };
        self.fill = 0;
        let skip = self.to_trim.min(produced);
        self.to_trim -= skip;
        let mut end = produced;
        if let Some(limit) = limit {
            end = end.min(skip + usize::try_from(limit).unwrap_or(usize::MAX));
        }
        if end <= skip {
            return Ok(());
        }
        let stride = self.chunk_out;
        match remix {
            Remix::Up => {
                let mono = &self.out_buf[skip..end];
                for &s in mono {
                    let v = f32_to_i16(s);
                    for _ in 0..out_ch {
                        out.push(v);
                    }
                }
            }
            Remix::Same | Remix::Down => {
                if self.channels == 1 {
                    out.extend(self.out_buf[skip..end].iter().map(|&s| f32_to_i16(s)));
                } else {
                    for f in skip..end {
                        for c in 0..self.channels {
                            out.push(f32_to_i16(self.out_buf[c * stride + f]));
                        }
                    }
                }
            }
        }
        self.frames_out += (end - skip) as u64;
        Ok(())
    }

    fn flush(&mut self, out_ch: usize, remix: Remix, out: &mut Vec<i16>) -> Result<()> {
        let expected = expected_frames(self.frames_in, self.in_rate, self.out_rate);
        let owed = expected.saturating_sub(self.frames_out);
        out.reserve(usize::try_from(owed).unwrap_or(0) * out_ch);
        // The remainder block, then silence until the delay is drained: a handful of blocks.
        let max_blocks = 2 + self.delay / self.chunk_out.max(1) + 1;
        for _ in 0..max_blocks {
            if self.frames_out >= expected {
                return Ok(());
            }
            let partial = self.fill;
            let limit = expected - self.frames_out;
            self.run_block(Some(partial), out_ch, remix, Some(limit), out)?;
        }
        if self.frames_out >= expected {
            Ok(())
        } else {
            Err(Error::invalid_input(format!(
                "resampler flush produced {} of {} frames",
                self.frames_out, expected
            )))
        }
    }
}

/// `round(frames_in * out_rate / in_rate)`, rounding halves up.
fn expected_frames(frames_in: u64, in_rate: u32, out_rate: u32) -> u64 {
    let num = u128::from(frames_in) * u128::from(out_rate) * 2 + u128::from(in_rate);
    let den = u128::from(in_rate) * 2;
    u64::try_from(num / den).unwrap_or(u64::MAX)
}

fn gcd(mut a: u64, mut b: u64) -> u64 {
    while b != 0 {
        (a, b) = (b, a % b);
    }
    a
}

/// The block size (input frames) asked of rubato: the smallest whole number of minimum blocks
/// (`in_rate / gcd`) that covers 10 ms and [`MIN_BLOCK_FRAMES`] at the lower rate.
fn block_frames(in_rate: u32, out_rate: u32) -> usize {
    let (i, o) = (u64::from(in_rate), u64::from(out_rate));
    let min_in = i / gcd(i, o).max(1);
    // At least MIN_BLOCK_FRAMES at the lower rate, expressed in input frames.
    let floor = (MIN_BLOCK_FRAMES as u64 * i).div_ceil(i.min(o).max(1));
    let target = i.div_ceil(100).max(floor).max(1);
    let blocks = target.div_ceil(min_in.max(1)).max(1);
    usize::try_from(blocks * min_in).unwrap_or(usize::MAX)
}

fn frames_to_duration(frames: u64, rate: u32) -> Duration {
    let nanos = u128::from(frames) * 1_000_000_000 / u128::from(rate.max(1));
    Duration::from_nanos(u64::try_from(nanos).unwrap_or(u64::MAX))
}

/// Same-rate channel conversion on s16.
fn remix_i16(input: &[i16], in_ch: usize, out_ch: usize, remix: Remix, out: &mut Vec<i16>) {
    match remix {
        Remix::Same => out.extend_from_slice(input),
        Remix::Down => {
            out.reserve(input.len() / in_ch);
            out.extend(input.chunks_exact(in_ch).map(|f| {
                let sum: i32 = f.iter().map(|&s| i32::from(s)).sum();
                f32_to_i16(sum as f32 / in_ch as f32 / 32768.0)
            }));
        }
        Remix::Up => {
            out.reserve(input.len() * out_ch);
            for &s in input {
                for _ in 0..out_ch {
                    out.push(s);
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const RATES: [u32; 6] = [8_000, 16_000, 22_050, 24_000, 44_100, 48_000];

    fn mono(rate: u32) -> AudioFormat {
        AudioFormat::new(rate, 1).unwrap()
    }

    fn sine(rate: u32, freq: f64, amp: f64, frames: usize) -> Vec<i16> {
        (0..frames)
            .map(|n| {
                let t = n as f64 / f64::from(rate);
                (amp * 32767.0 * (2.0 * std::f64::consts::PI * freq * t).sin()).round() as i16
            })
            .collect()
    }

    /// Amplitude of the `freq` component (Goertzel-style single DFT bin), in full-scale units.
    fn tone_amplitude(samples: &[i16], rate: u32, freq: f64) -> f64 {
        let w = 2.0 * std::f64::consts::PI * freq / f64::from(rate);
        let (mut re, mut im) = (0.0, 0.0);
        // Hann window to keep leakage from other components out.
        let n = samples.len() as f64;
        let mut wsum = 0.0;
        for (k, &s) in samples.iter().enumerate() {
            let win = 0.5 - 0.5 * (2.0 * std::f64::consts::PI * k as f64 / n).cos();
            let x = f64::from(s) / 32767.0 * win;
            re += x * (w * k as f64).cos();
            im -= x * (w * k as f64).sin();
            wsum += win;
        }
        2.0 * (re * re + im * im).sqrt() / wsum
    }

    fn db(x: f64) -> f64 {
        20.0 * x.log10()
    }

    #[test]
    fn block_sizes_are_about_10ms() {
        assert_eq!(block_frames(48_000, 16_000), 480);
        assert_eq!(block_frames(16_000, 48_000), 160);
        assert_eq!(block_frames(24_000, 48_000), 240);
        assert_eq!(block_frames(44_100, 16_000), 441);
        assert_eq!(block_frames(44_100, 48_000), 441);
        assert_eq!(block_frames(8_000, 16_000), 128);
        assert_eq!(block_frames(16_000, 8_000), 256);
        for &a in &RATES {
            for &b in &RATES {
                if a != b {
                    let rs = Resampler::new(mono(a), mono(b)).unwrap();
                    let ms = rs.block_frames() as f64 * 1000.0 / f64::from(a);
                    assert!((10.0..=40.0).contains(&ms), "{a}->{b}: {ms} ms");
                }
            }
        }
    }

    #[test]
    fn exact_lengths_for_all_pairs() {
        for &a in &RATES {
            for &b in &RATES {
                for len in [0usize, 1, 7, 479, 480, 481, 4_410, 12_345] {
                    let mut rs = Resampler::new(mono(a), mono(b)).unwrap();
                    let mut out = Vec::new();
                    rs.process_into(&vec![100i16; len], &mut out).unwrap();
                    rs.flush_into(&mut out).unwrap();
                    let expected = expected_frames(len as u64, a, b) as usize;
                    assert_eq!(out.len(), expected, "{a}->{b} len {len}");
                }
            }
        }
    }

    #[test]
    fn expected_frames_rounds_half_up() {
        assert_eq!(expected_frames(3, 48_000, 16_000), 1);
        assert_eq!(expected_frames(1, 48_000, 16_000), 0);
        assert_eq!(expected_frames(2, 48_000, 16_000), 1); // 0.667
        assert_eq!(expected_frames(1, 44_100, 22_050), 1); // 0.5 rounds up
        assert_eq!(expected_frames(44_100, 44_100, 16_000), 16_000);
    }

    #[test]
    fn keeps_frequency_and_level() {
        let cases = [
            (48_000, 16_000),
            (16_000, 48_000),
            (44_100, 16_000),
            (24_000, 48_000),
        ];
        for (a, b) in cases {
            for freq in [440.0, 3_000.0] {
                let input = sine(a, freq, 0.5, a as usize);
                let frame = AudioFrame::new(input, mono(a)).unwrap();
                let out = resample(&frame, mono(b)).unwrap();
                assert_eq!(out.samples().len(), b as usize);
                // Away from the edges.
                let edge = b as usize / 10;
                let mid = &out.samples()[edge..out.samples().len() - edge];
                let level = tone_amplitude(mid, b, freq);
                assert!(
                    (db(level) - db(0.5)).abs() < 1.0,
                    "{a}->{b} {freq} Hz: level {level}"
                );
                // Nearly all the energy is at `freq`: a neighbouring frequency is far down.
                let off = tone_amplitude(mid, b, freq * 1.1);
                assert!(db(level / off) > 40.0, "{a}->{b} {freq} Hz off-bin {off}");
            }
        }
    }

    #[test]
    fn rejects_aliases() {
        // 12 kHz at 48 kHz is above the 8 kHz Nyquist of 16 kHz; without filtering it would
        // fold to 4 kHz. Through the s16 API, a full-scale 12 kHz tone comes out as digital
        // silence (every sample within 1 LSB of 0, i.e. more than 90 dB down).
        let input = sine(48_000, 12_000.0, 1.0, 48_000);
        let frame = AudioFrame::new(input, mono(48_000)).unwrap();
        let out = resample(&frame, mono(16_000)).unwrap();
        assert_eq!(out.samples().len(), 16_000);
        // (Away from the edges: the abrupt start and end of the tone are broadband clicks.)
        assert!(out.samples()[1_600..14_400].iter().all(|&s| s.abs() <= 1));

        // The filter itself, measured in f32 with the same rubato configuration the resampler
        // uses (480-frame blocks). Measured: the 4 kHz alias bin is 197 dB below the input
        // level and the largest output sample 147.5 dB below it, i.e. the tone is removed down
        // to f32 rounding noise. Asserted with margin: at least 120 dB.
        let chunk = block_frames(48_000, 16_000);
        let mut fft = Fft::<f32>::new(48_000, 16_000, chunk, 1, FixedSync::Both).unwrap();
        let x: Vec<f32> = sine(48_000, 12_000.0, 1.0, 48_000)
            .iter()
            .map(|&s| f32::from(s) / 32767.0)
            .collect();
        let mut y = vec![0.0f32; 16_000];
        let mut out_block = vec![0.0f32; fft.output_frames_next()];
        for (i, block) in x.chunks_exact(chunk).enumerate() {
            let input = SequentialSlice::new(block, 1, chunk).unwrap();
            let mut output = SequentialSlice::new_mut(&mut out_block[..], 1, 160).unwrap();
            fft.process_into_buffer(&input, &mut output, None).unwrap();
            y[i * 160..(i + 1) * 160].copy_from_slice(&out_block);
        }
        let mid = &y[1_600..14_400];
        let (mut re, mut im, mut wsum) = (0.0f64, 0.0f64, 0.0f64);
        let w = 2.0 * std::f64::consts::PI * 4_000.0 / 16_000.0;
        for (k, &s) in mid.iter().enumerate() {
            let win = 0.5 - 0.5 * (2.0 * std::f64::consts::PI * k as f64 / mid.len() as f64).cos();
            re += f64::from(s) * win * (w * k as f64).cos();
            im -= f64::from(s) * win * (w * k as f64).sin();
            wsum += win;
        }
        let alias = 2.0 * (re * re + im * im).sqrt() / wsum;
        let peak = mid.iter().fold(0.0f32, |m, &s| m.max(s.abs()));
        let rejection = -db(alias.max(1e-15));
        let rejection_peak = -db(f64::from(peak).max(1e-15));
        eprintln!("alias rejection {rejection:.1} dB (4 kHz bin), {rejection_peak:.1} dB (peak)");
        assert!(rejection >= 120.0, "alias only {rejection:.1} dB down");
        assert!(
            rejection_peak >= 120.0,
            "output peak only {rejection_peak:.1} dB down"
        );
    }

    #[test]
    fn impulse_is_time_aligned() {
        let cases = [
            (48_000, 16_000),
            (16_000, 48_000),
            (44_100, 16_000),
            (24_000, 48_000),
            (8_000, 16_000),
            (22_050, 44_100),
            (16_000, 22_050),
        ];
        for (a, b) in cases {
            for k in [0usize, 1, 333, 480, 1_000, 4_801] {
                let mut input = vec![0i16; 10_000];
                input[k] = 30_000;
                let frame = AudioFrame::new(input, mono(a)).unwrap();
                let out = resample(&frame, mono(b)).unwrap();
                let peak = out
                    .samples()
                    .iter()
                    .enumerate()
                    .max_by_key(|(_, s)| s.unsigned_abs())
                    .map(|(i, _)| i)
                    .unwrap();
                let want = k as f64 * f64::from(b) / f64::from(a);
                assert!(
                    (peak as f64 - want).abs() <= 2.0,
                    "{a}->{b}: impulse at {k} landed at {peak}, want {want}"
                );
            }
        }
    }

    #[test]
    fn stereo_to_mono_averages() {
        let stereo = AudioFormat::new(16_000, 2).unwrap();
        let mut rs = Resampler::new(stereo, AudioFormat::MONO_16K).unwrap();
        let mut out = Vec::new();
        rs.process_into(&[100, 300, -5, 5, 1_000, 0, i16::MAX, i16::MAX], &mut out)
            .unwrap();
        assert_eq!(out, vec![200, 0, 500, i16::MAX]);

        // With a rate change: L = sine, R = -sine averages to silence; L = R stays.
        let stereo48 = AudioFormat::new(48_000, 2).unwrap();
        let s = sine(48_000, 440.0, 0.5, 4_800);
        let cancel: Vec<i16> = s.iter().flat_map(|&x| [x, -x]).collect();
        let frame = AudioFrame::new(cancel, stereo48).unwrap();
        let out = resample(&frame, AudioFormat::MONO_16K).unwrap();
        assert_eq!(out.samples().len(), 1_600);
        assert!(out.samples().iter().all(|&x| x.abs() <= 1));
        let same: Vec<i16> = s.iter().flat_map(|&x| [x, x]).collect();
        let a = resample(
            &AudioFrame::new(same, stereo48).unwrap(),
            AudioFormat::MONO_16K,
        )
        .unwrap();
        let b = resample(
            &AudioFrame::new(s, AudioFormat::MONO_48K).unwrap(),
            AudioFormat::MONO_16K,
        )
        .unwrap();
        for (x, y) in a.samples().iter().zip(b.samples()) {
            assert!((x - y).abs() <= 1);
        }
    }

    #[test]
    fn mono_to_stereo_duplicates() {
        let stereo = AudioFormat::new(48_000, 2).unwrap();
        let mut rs = Resampler::new(AudioFormat::MONO_48K, stereo).unwrap();
        let mut out = Vec::new();
        rs.process_into(&[1, -2, 3], &mut out).unwrap();
        assert_eq!(out, vec![1, 1, -2, -2, 3, 3]);

        let s = sine(16_000, 440.0, 0.5, 1_600);
        let frame = AudioFrame::new(s.clone(), AudioFormat::MONO_16K).unwrap();
        let up = resample(&frame, stereo).unwrap();
        let mono_up = resample(&frame, AudioFormat::MONO_48K).unwrap();
        assert_eq!(up.samples_per_channel(), 4_800);
        for (pair, &m) in up.samples().chunks_exact(2).zip(mono_up.samples()) {
            assert_eq!(pair[0], pair[1]);
            assert_eq!(pair[0], m);
        }
    }

    #[test]
    fn pass_through_is_identical() {
        let stereo = AudioFormat::new(44_100, 2).unwrap();
        let mut rs = Resampler::new(stereo, stereo).unwrap();
        assert_eq!(rs.delay(), Duration::ZERO);
        let input: Vec<i16> = (0..1_000)
            .map(|i| (i * 37 % 2_000 - 1_000) as i16)
            .collect();
        let mut out = Vec::new();
        rs.process_into(&input, &mut out).unwrap();
        rs.flush_into(&mut out).unwrap();
        assert_eq!(out, input);
    }

    #[test]
    fn stereo_n_to_n_keeps_channels_apart() {
        let stereo48 = AudioFormat::new(48_000, 2).unwrap();
        let stereo16 = AudioFormat::new(16_000, 2).unwrap();
        let s = sine(48_000, 440.0, 0.5, 4_800);
        let lr: Vec<i16> = s.iter().flat_map(|&x| [x, 0]).collect();
        let out = resample(&AudioFrame::new(lr, stereo48).unwrap(), stereo16).unwrap();
        assert_eq!(out.samples_per_channel(), 1_600);
        let right_peak = out
            .samples()
            .iter()
            .skip(1)
            .step_by(2)
            .map(|x| x.abs())
            .max();
        let left_peak = out.samples().iter().step_by(2).map(|x| x.abs()).max();
        assert_eq!(right_peak, Some(0));
        assert!(left_peak.unwrap() > 15_000);
    }

    #[test]
    fn errors_do_not_panic() {
        let stereo = AudioFormat::new(48_000, 2).unwrap();
        let mut rs = Resampler::new(stereo, AudioFormat::MONO_16K).unwrap();
        let mut out = Vec::new();
        let err = rs.process_into(&[1, 2, 3], &mut out).unwrap_err();
        assert!(err.message().contains("3 samples"), "{err}");
        let wrong = AudioFrame::silence(AudioFormat::MONO_16K, Duration::from_millis(10)).unwrap();
        let err = rs.process(&wrong).unwrap_err();
        assert!(err.message().contains("48000 Hz stereo"), "{err}");
        assert!(err.message().contains("16000 Hz mono"), "{err}");
        let bad = AudioFormat {
            sample_rate: 0,
            channels: 1,
        };
        assert!(Resampler::new(bad, AudioFormat::MONO_16K).is_err());
        assert!(Resampler::new(AudioFormat::MONO_16K, bad).is_err());
        let absurd = AudioFormat {
            sample_rate: 10_000_000,
            channels: 1,
        };
        assert!(Resampler::new(absurd, AudioFormat::MONO_16K).is_err());
        let no_ch = AudioFormat {
            sample_rate: 16_000,
            channels: 0,
        };
        assert!(Resampler::new(no_ch, AudioFormat::MONO_16K).is_err());
        let six = AudioFormat::new(48_000, 6).unwrap();
        assert!(Resampler::new(stereo, six).is_err());
        assert!(resample(&wrong, bad).is_err());
    }

    #[test]
    fn flush_resets_for_reuse() {
        let mut rs = Resampler::new(AudioFormat::MONO_24K, AudioFormat::MONO_48K).unwrap();
        let input = sine(24_000, 440.0, 0.5, 2_500);
        let mut first = Vec::new();
        rs.process_into(&input, &mut first).unwrap();
        rs.flush_into(&mut first).unwrap();
        let mut second = Vec::new();
        rs.process_into(&input, &mut second).unwrap();
        rs.flush_into(&mut second).unwrap();
        assert_eq!(first.len(), 5_000);
        assert_eq!(first, second);
        // reset() mid-stream drops what was pending.
        let mut third = Vec::new();
        rs.process_into(&input[..100], &mut third).unwrap();
        rs.reset();
        third.clear();
        rs.process_into(&input, &mut third).unwrap();
        rs.flush_into(&mut third).unwrap();
        assert_eq!(third, first);
        let f = rs.flush().unwrap();
        assert!(f.is_empty());
    }

    #[test]
    fn delay_is_reported() {
        let rs = Resampler::new(AudioFormat::MONO_48K, AudioFormat::MONO_16K).unwrap();
        // 480-frame block (10 ms) plus an 80-frame look-ahead at 16 kHz (5 ms).
        assert_eq!(rs.delay(), Duration::from_millis(15));
        assert_eq!(rs.input_format(), AudioFormat::MONO_48K);
        assert_eq!(rs.output_format(), AudioFormat::MONO_16K);
    }

    #[test]
    fn steady_state_output_grows_in_blocks() {
        let mut rs = Resampler::new(AudioFormat::MONO_48K, AudioFormat::MONO_16K).unwrap();
        let mut out = Vec::with_capacity(16_000);
        let cap = out.capacity();
        for _ in 0..100 {
            rs.process_into(&[0i16; 480], &mut out).unwrap();
        }
        // 100 blocks of 160 minus the 80-frame trim.
        assert_eq!(out.len(), 100 * 160 - 80);
        assert_eq!(out.capacity(), cap);
    }
}
