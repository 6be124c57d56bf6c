//! Voice activity detection: the built-in [`EarshotVad`] and the [`VadSegmenter`] that turns
//! per-frame probabilities into speech start and end.

use std::collections::VecDeque;
use std::time::Duration;

use agents_core::audio::{FrameChunker, Resampler};
use agents_core::{AudioFormat, AudioFrame, Error, Result, Vad};

/// The built-in VAD: earshot's neural detector (pure Rust, weights embedded), 256-sample frames
/// (16 ms) at 16 kHz mono.
///
/// ```
/// use agents_core::Vad;
/// use agents_runtime::vad::EarshotVad;
///
/// let mut vad = EarshotVad::new();
/// let p = vad.speech_probability(&[0i16; 256]).unwrap();
/// assert!(p < 0.5);
/// assert!(vad.speech_probability(&[0i16; 100]).is_err());
/// ```
pub struct EarshotVad {
    detector: Box<earshot::Detector>,
}

impl EarshotVad {
    /// Samples per frame.
    pub const FRAME_SAMPLES: usize = 256;

    /// A detector with the default network.
    #[must_use]
    pub fn new() -> Self {
        EarshotVad {
            detector: earshot::Detector::default_boxed(),
        }
    }
}

impl Default for EarshotVad {
    fn default() -> Self {
        Self::new()
    }
}

impl std::fmt::Debug for EarshotVad {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("EarshotVad").finish_non_exhaustive()
    }
}

impl Vad for EarshotVad {
    fn input_format(&self) -> AudioFormat {
        AudioFormat::MONO_16K
    }

    fn frame_samples(&self) -> usize {
        Self::FRAME_SAMPLES
    }

    fn speech_probability(&mut self, frame: &[i16]) -> Result<f32> {
        if frame.len() != Self::FRAME_SAMPLES {
            return Err(Error::invalid_input(format!(
                "earshot takes frames of {} samples, got {}",
                Self::FRAME_SAMPLES,
                frame.len()
            )));
        }
        Ok(self.detector.predict_i16(frame).clamp(0.0, 1.0))
    }

    fn reset(&mut self) {
        self.detector.reset();
    }
}

/// Thresholds and durations of the [`VadSegmenter`].
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct VadOptions {
    /// A frame at or above this probability counts as speech.
    pub activation_threshold: f32,
    /// While speaking, a frame below this probability counts as silence (hysteresis).
    pub deactivation_threshold: f32,
    /// Speech must last this long before it starts (filters clicks and short noises).
    pub min_speech_duration: Duration,
    /// Silence must last this long before speech ends.
    pub min_silence_duration: Duration,
    /// Audio kept from before the detected start and prepended to the utterance.
    pub prefix_padding: Duration,
    /// The longest utterance kept in memory; longer speech is ended at this length.
    pub max_speech_duration: Duration,
}

impl Default for VadOptions {
    fn default() -> Self {
        VadOptions {
            activation_threshold: 0.5,
            deactivation_threshold: 0.35,
            min_speech_duration: Duration::from_millis(64),
            min_silence_duration: Duration::from_millis(500),
            prefix_padding: Duration::from_millis(300),
            max_speech_duration: Duration::from_secs(60),
        }
    }
}

impl VadOptions {
    /// Sets the activation threshold (and keeps the deactivation threshold at most equal).
    #[must_use]
    pub fn with_activation_threshold(mut self, threshold: f32) -> Self {
        self.activation_threshold = threshold;
        self.deactivation_threshold = self.deactivation_threshold.min(threshold);
        self
    }

    /// Sets the deactivation threshold.
    #[must_use]
    pub fn with_deactivation_threshold(mut self, threshold: f32) -> Self {
        self.deactivation_threshold = threshold;
        self
    }

    /// Sets the minimum speech duration.
    #[must_use]
    pub fn with_min_speech_duration(mut self, d: Duration) -> Self {
        self.min_speech_duration = d;
        self
    }

    /// Sets the minimum silence duration.
    #[must_use]
    pub fn with_min_silence_duration(mut self, d: Duration) -> Self {
        self.min_silence_duration = d;
        self
    }

    /// Sets the prefix padding.
    #[must_use]
    pub fn with_prefix_padding(mut self, d: Duration) -> Self {
        self.prefix_padding = d;
        self
    }

    /// Sets the longest utterance.
    #[must_use]
    pub fn with_max_speech_duration(mut self, d: Duration) -> Self {
        self.max_speech_duration = d;
        self
    }

    fn validate(&self) -> Result<()> {
        let in_range = |v: f32| (0.0..=1.0).contains(&v);
        if !in_range(self.activation_threshold) || !in_range(self.deactivation_threshold) {
            return Err(Error::invalid_input(format!(
                "VAD thresholds must be in [0, 1] (activation {}, deactivation {})",
                self.activation_threshold, self.deactivation_threshold
            )));
        }
        if self.deactivation_threshold > self.activation_threshold {
            return Err(Error::invalid_input(format!(
                "VAD deactivation threshold {} is above the activation threshold {}",
                self.deactivation_threshold, self.activation_threshold
            )));
        }
        if self.max_speech_duration.is_zero() {
            return Err(Error::invalid_input(
                "VAD max_speech_duration must be positive",
            ));
        }
        Ok(())
    }
}

/// Speech start and end, as decided by a [`VadSegmenter`].
#[non_exhaustive]
#[derive(Debug, Clone, PartialEq)]
pub enum VadEvent {
    /// Speech began `at` (stream time of its first speech frame, after min speech passed).
    SpeechStarted {
        /// When the speech began, relative to the stream's start.
        at: Duration,
    },
    /// Speech ended `at` (stream time of the first silent frame).
    SpeechEnded {
        /// When the speech ended, relative to the stream's start.
        at: Duration,
        /// The utterance: prefix padding, speech and the trailing silence that ended it, in
        /// the VAD's format.
        audio: AudioFrame,
    },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    Silent,
    Speaking,
}

/// Turns a [`Vad`]'s per-frame probabilities into [`VadEvent`]s, with thresholds, minimum
/// speech and silence durations and prefix padding. Accepts frames of any format and size.
///
/// Per-frame work is synchronous and allocates only when an utterance ends.
///
/// ```
/// use agents_core::{AudioFormat, AudioFrame};
/// use agents_runtime::vad::{EarshotVad, VadOptions, VadSegmenter};
/// use std::time::Duration;
///
/// let mut seg = VadSegmenter::new(Box::new(EarshotVad::new()), VadOptions::default()).unwrap();
/// let silence = AudioFrame::silence(AudioFormat::MONO_48K, Duration::from_secs(1)).unwrap();
/// let mut events = Vec::new();
/// seg.process(&silence, &mut events).unwrap();
/// assert!(events.is_empty());
/// ```
pub struct VadSegmenter {
    vad: Box<dyn Vad>,
    options: VadOptions,
    /// Converts input of another format to the VAD's; rebuilt when the input format changes.
    resampler: Option<Resampler>,
    resampled: Vec<i16>,
    frame: Vec<i16>,
    chunker: FrameChunker,
    format: AudioFormat,
    frame_duration: Duration,
    state: State,
    /// Frames processed so far, in stream time.
    elapsed: Duration,
    /// Recent audio before speech began (bounded by prefix padding).
    prefix: VecDeque<i16>,
    prefix_cap: usize,
    /// Speech frames seen while deciding whether speech started.
    pending: Vec<i16>,
    pending_run: Duration,
    pending_start: Duration,
    /// The utterance being spoken.
    speech: Vec<i16>,
    speech_cap: usize,
    silence_run: Duration,
    silence_start: Duration,
    voiced: Duration,
    last_probability: f32,
}

impl std::fmt::Debug for VadSegmenter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("VadSegmenter")
            .field("options", &self.options)
            .field("state", &self.state)
            .field("elapsed", &self.elapsed)
            .finish_non_exhaustive()
    }
}

impl VadSegmenter {
    /// A segmenter over `vad`.
    pub fn new(vad: Box<dyn Vad>, options: VadOptions) -> Result<Self> {
        options.validate()?;
        let format = vad.input_format();
        let chunker = FrameChunker::with_frame_samples(format, vad.frame_samples())?;
        let frame_duration = chunker.frame_duration();
        let prefix_cap = format.samples_for(options.prefix_padding);
        let speech_cap = format.samples_for(options.max_speech_duration);
        Ok(VadSegmenter {
            vad,
            resampler: None,
            resampled: Vec::new(),
            frame: Vec::with_capacity(chunker.frame_samples()),
            chunker,
            format,
            frame_duration,
            state: State::Silent,
            elapsed: Duration::ZERO,
            prefix: VecDeque::with_capacity(prefix_cap),
            prefix_cap,
            pending: Vec::new(),
            pending_run: Duration::ZERO,
            pending_start: Duration::ZERO,
            speech: Vec::new(),
            speech_cap,
            silence_run: Duration::ZERO,
            silence_start: Duration::ZERO,
            voiced: Duration::ZERO,
            last_probability: 0.0,
            options,
        })
    }

    /// The options.
    #[must_use]
    pub fn options(&self) -> &VadOptions {
        &self.options
    }

    /// True while speech is in progress.
    #[must_use]
    pub fn is_speaking(&self) -> bool {
        self.state == State::Speaking
    }

    /// Stream time processed so far.
    #[must_use]
    pub fn elapsed(&self) -> Duration {
        self.elapsed
    }

    /// The probability of the last frame.
    #[must_use]
    pub fn last_probability(&self) -> f32 {
        self.last_probability
    }

    /// Voiced time of the current speech so far: frames above the threshold, not the pauses
    /// within it (zero when silent).
    #[must_use]
    pub fn speech_duration(&self) -> Duration {
        if self.state == State::Speaking {
            self.voiced
        } else {
            Duration::ZERO
        }
    }

    /// Feeds audio of any format; appends the events it causes to `events`.
    ///
    /// In the VAD's own format nothing is allocated; other formats are resampled into a
    /// buffer kept between calls.
    pub fn process(&mut self, frame: &AudioFrame, events: &mut Vec<VadEvent>) -> Result<()> {
        if frame.is_empty() {
            return Ok(());
        }
        if frame.format() == self.format && self.resampler.is_none() {
            self.chunker.push_samples(frame.samples());
        } else {
            if self
                .resampler
                .as_ref()
                .is_some_and(|r| r.input_format() != frame.format())
            {
                self.flush_resampler()?;
            }
            if frame.format() == self.format {
                self.chunker.push_samples(frame.samples());
            } else {
                let resampler = match self.resampler.as_mut() {
                    Some(r) => r,
                    None => self
                        .resampler
                        .insert(Resampler::new(frame.format(), self.format)?),
                };
                self.resampled.clear();
                resampler.process_into(frame.samples(), &mut self.resampled)?;
                self.chunker.push_samples(&self.resampled);
            }
        }
        self.drain_chunks(events)
    }

    /// Ends the stream: speech in progress ends now.
    pub fn flush(&mut self, events: &mut Vec<VadEvent>) -> Result<()> {
        self.flush_resampler()?;
        self.drain_chunks(events)?;
        if self.state == State::Speaking {
            self.end_speech(self.elapsed, events)?;
        }
        Ok(())
    }

    fn flush_resampler(&mut self) -> Result<()> {
        if let Some(mut r) = self.resampler.take() {
            self.resampled.clear();
            r.flush_into(&mut self.resampled)?;
            self.chunker.push_samples(&self.resampled);
        }
        Ok(())
    }

    fn drain_chunks(&mut self, events: &mut Vec<VadEvent>) -> Result<()> {
        let mut frame = std::mem::take(&mut self.frame);
        let mut result = Ok(());
        while self.chunker.next_frame_into(&mut frame) {
            result = self.process_chunk(&frame, events);
            if result.is_err() {
                break;
            }
        }
        self.frame = frame;
        result
    }

    /// Forgets all state.
    pub fn reset(&mut self) {
        self.vad.reset();
        self.chunker.clear();
        self.resampler = None;
        self.state = State::Silent;
        self.elapsed = Duration::ZERO;
        self.prefix.clear();
        self.pending.clear();
        self.pending_run = Duration::ZERO;
        self.speech.clear();
        self.silence_run = Duration::ZERO;
    }

    fn process_chunk(&mut self, samples: &[i16], events: &mut Vec<VadEvent>) -> Result<()> {
        let p = self.vad.speech_probability(samples)?;
        self.last_probability = p;
        let start = self.elapsed;
        self.elapsed += self.frame_duration;
        match self.state {
            State::Silent => {
                if p >= self.options.activation_threshold {
                    if self.pending.is_empty() {
                        self.pending_start = start;
                    }
                    self.pending.extend_from_slice(samples);
                    self.pending_run += self.frame_duration;
                    if self.pending_run >= self.options.min_speech_duration {
                        self.speech.clear();
                        self.speech.extend(self.prefix.drain(..));
                        self.speech.append(&mut self.pending);
                        self.voiced = self.pending_run;
                        self.pending_run = Duration::ZERO;
                        self.silence_run = Duration::ZERO;
                        self.state = State::Speaking;
                        events.push(VadEvent::SpeechStarted {
                            at: self.pending_start,
                        });
                    }
                } else {
                    self.pending_run = Duration::ZERO;
                    let pending = std::mem::take(&mut self.pending);
                    self.push_prefix(&pending);
                    self.pending = pending;
                    self.pending.clear();
                    self.push_prefix(samples);
                }
            }
            State::Speaking => {
                self.speech.extend_from_slice(samples);
                if p < self.options.deactivation_threshold {
                    if self.silence_run.is_zero() {
                        self.silence_start = start;
                    }
                    self.silence_run += self.frame_duration;
                    if self.silence_run >= self.options.min_silence_duration {
                        self.end_speech(self.silence_start, events)?;
                    }
                } else {
                    self.silence_run = Duration::ZERO;
                    self.voiced += self.frame_duration;
                }
                if self.state == State::Speaking && self.speech.len() >= self.speech_cap {
                    self.end_speech(self.elapsed, events)?;
                }
            }
        }
        Ok(())
    }

    fn push_prefix(&mut self, samples: &[i16]) {
        if self.prefix_cap == 0 {
            return;
        }
        let overflow = (self.prefix.len() + samples.len()).saturating_sub(self.prefix_cap);
        let drop_now = overflow.min(self.prefix.len());
        self.prefix.drain(..drop_now);
        let skip = samples.len().saturating_sub(self.prefix_cap);
        self.prefix.extend(&samples[skip..]);
    }

    fn end_speech(&mut self, at: Duration, events: &mut Vec<VadEvent>) -> Result<()> {
        let audio = AudioFrame::new(std::mem::take(&mut self.speech), self.format)?;
        self.state = State::Silent;
        self.silence_run = Duration::ZERO;
        self.prefix.clear();
        events.push(VadEvent::SpeechEnded { at, audio });
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A scripted VAD: speech where the sample value is non-zero.
    struct Scripted;

    impl Vad for Scripted {
        fn input_format(&self) -> AudioFormat {
            AudioFormat::MONO_16K
        }
        fn frame_samples(&self) -> usize {
            160
        }
        fn speech_probability(&mut self, frame: &[i16]) -> Result<f32> {
            Ok(if frame[0] != 0 { 0.9 } else { 0.1 })
        }
        fn reset(&mut self) {}
    }

    fn audio(pattern: &[(bool, u64)]) -> AudioFrame {
        let mut samples = Vec::new();
        for &(speech, ms) in pattern {
            let n = (ms * 16) as usize;
            samples.extend(std::iter::repeat_n(if speech { 1000 } else { 0 }, n));
        }
        AudioFrame::new(samples, AudioFormat::MONO_16K).unwrap()
    }

    fn segmenter() -> VadSegmenter {
        VadSegmenter::new(
            Box::new(Scripted),
            VadOptions::default()
                .with_min_speech_duration(Duration::from_millis(50))
                .with_min_silence_duration(Duration::from_millis(200))
                .with_prefix_padding(Duration::from_millis(100)),
        )
        .unwrap()
    }

    #[test]
    fn one_utterance_gives_one_start_and_one_end() {
        let mut seg = segmenter();
        let mut events = Vec::new();
        seg.process(
            &audio(&[(false, 500), (true, 800), (false, 600)]),
            &mut events,
        )
        .unwrap();
        assert_eq!(events.len(), 2, "{events:?}");
        assert_eq!(
            events[0],
            VadEvent::SpeechStarted {
                at: Duration::from_millis(500)
            }
        );
        let VadEvent::SpeechEnded { at, audio } = &events[1] else {
            panic!("{events:?}")
        };
        assert_eq!(*at, Duration::from_millis(1300));
        // prefix (100 ms) + speech (800 ms) + the silence that ended it (200 ms)
        assert_eq!(audio.duration(), Duration::from_millis(1100));
        assert_eq!(audio.samples()[0], 0, "prefix padding comes first");
        assert_eq!(audio.samples()[1600], 1000);
    }

    #[test]
    fn short_noise_is_ignored() {
        let mut seg = segmenter();
        let mut events = Vec::new();
        seg.process(
            &audio(&[(false, 200), (true, 30), (false, 500)]),
            &mut events,
        )
        .unwrap();
        assert!(events.is_empty(), "{events:?}");
    }

    #[test]
    fn short_pause_does_not_end_speech() {
        let mut seg = segmenter();
        let mut events = Vec::new();
        seg.process(
            &audio(&[(true, 300), (false, 100), (true, 300), (false, 300)]),
            &mut events,
        )
        .unwrap();
        assert_eq!(events.len(), 2, "{events:?}");
    }

    #[test]
    fn flush_ends_speech_in_progress() {
        let mut seg = segmenter();
        let mut events = Vec::new();
        seg.process(&audio(&[(true, 300)]), &mut events).unwrap();
        assert!(seg.is_speaking());
        seg.flush(&mut events).unwrap();
        assert!(matches!(events.last(), Some(VadEvent::SpeechEnded { .. })));
    }

    #[test]
    fn any_format_and_chunking() {
        let mut seg = segmenter();
        let mut events = Vec::new();
        let a = audio(&[(false, 300), (true, 400), (false, 400)]);
        let a48 = agents_core::audio::resample(&a, AudioFormat::MONO_48K).unwrap();
        for chunk in a48.samples().chunks(333) {
            seg.process(
                &AudioFrame::new(chunk.to_vec(), AudioFormat::MONO_48K).unwrap(),
                &mut events,
            )
            .unwrap();
        }
        assert_eq!(events.len(), 2, "{events:?}");
    }

    #[test]
    fn bad_options_are_errors() {
        let err = VadSegmenter::new(
            Box::new(Scripted),
            VadOptions::default().with_deactivation_threshold(0.9),
        )
        .unwrap_err();
        assert!(err.to_string().contains("deactivation"), "{err}");
    }
}
