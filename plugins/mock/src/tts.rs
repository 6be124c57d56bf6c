//! [`MockTts`]: an audible buzz whose length follows the text.

use std::time::Duration;

use agents_core::tts::{TtsInput, TtsStreamBackend};
use agents_core::{
    AudioFormat, AudioFrame, Error, ProviderInfo, Result, SynthesizeOptions, Tts, TtsAudioStream,
    TtsCapabilities, TtsEvent, TtsStream, WordTiming, async_trait,
};

use crate::audio::Buzz;
use crate::faults::{CallPlan, Emitter, Faults};

/// A deterministic text-to-speech provider.
///
/// It "speaks" a harmonic buzz (audible, not silence) at 24 kHz mono whose length follows the
/// text: [`MockTtsBuilder::per_char`] per character (default 60 ms), at least
/// [`MockTtsBuilder::min_duration`] (default 100 ms), rounded up to whole 20 ms frames. Each
/// segment yields its word timings first (spread over the audio in proportion to word
/// length), then the audio in 20 ms frames, then `SegmentEnd`. A stream synthesizes at each
/// `flush` and at `end_input`. [`SynthesizeOptions::speed`] (0.25 to 4.0) divides the time per
/// character; the voice and language options are accepted and ignored.
///
/// ```
/// use agents_core::{SynthesizeOptions, Tts, TtsEvent};
/// use agents_plugin_mock::MockTts;
/// use futures_util::StreamExt;
///
/// # tokio::runtime::Builder::new_current_thread().enable_time().build().unwrap().block_on(async {
/// let tts = MockTts::new();
/// let events: Vec<_> = tts.synthesize("Hello!", &SynthesizeOptions::default()).await.unwrap()
///     .collect().await;
/// let audio: std::time::Duration = events.iter().filter_map(|e| match e {
///     Ok(TtsEvent::Audio(f)) => Some(f.duration()),
///     _ => None,
/// }).sum();
/// assert_eq!(audio.as_millis(), 360); // 6 characters x 60 ms
/// assert!(matches!(events.last(), Some(Ok(TtsEvent::SegmentEnd))));
/// # });
/// ```
#[derive(Debug, Clone)]
pub struct MockTts {
    config: TtsConfig,
    faults: Faults,
}

#[derive(Debug, Clone, PartialEq)]
struct TtsConfig {
    model: String,
    format: AudioFormat,
    per_char: Duration,
    min_duration: Duration,
    frame: Duration,
    frequency: f32,
    word_timings: bool,
    latency: Duration,
    frame_latency: Duration,
}

impl Default for TtsConfig {
    fn default() -> Self {
        TtsConfig {
            model: "mock-tts".into(),
            format: AudioFormat::MONO_24K,
            per_char: Duration::from_millis(60),
            min_duration: Duration::from_millis(100),
            frame: Duration::from_millis(20),
            frequency: 150.0,
            word_timings: true,
            latency: Duration::ZERO,
            frame_latency: Duration::ZERO,
        }
    }
}

impl TtsConfig {
    /// The settings for one call: `speed` divides the time per character.
    fn for_options(&self, options: &SynthesizeOptions) -> Result<TtsConfig> {
        let mut c = self.clone();
        if let Some(speed) = options.speed {
            if !(speed.is_finite() && (0.25..=4.0).contains(&speed)) {
                return Err(Error::invalid_input(format!(
                    "speed must be between 0.25 and 4.0, got {speed}"
                ))
                .with_provider("mock"));
            }
            c.per_char = c.per_char.div_f32(speed);
        }
        Ok(c)
    }
}

/// Builds a [`MockTts`].
#[derive(Debug, Clone, Default)]
#[must_use]
pub struct MockTtsBuilder {
    config: TtsConfig,
    faults: Faults,
}

impl MockTtsBuilder {
    /// The model name reported by `info()` (default `"mock-tts"`).
    pub fn model(mut self, model: impl Into<String>) -> Self {
        self.config.model = model.into();
        self
    }

    /// The output sample rate (default 24 000 Hz; always mono).
    pub fn sample_rate(mut self, rate: u32) -> Self {
        self.config.format.sample_rate = rate;
        self
    }

    /// Audio per character of text (default 60 ms).
    pub fn per_char(mut self, d: Duration) -> Self {
        self.config.per_char = d;
        self
    }

    /// The shortest audio for a non-empty text (default 100 ms).
    pub fn min_duration(mut self, d: Duration) -> Self {
        self.config.min_duration = d;
        self
    }

    /// The length of each audio frame (default 20 ms).
    pub fn frame_duration(mut self, d: Duration) -> Self {
        self.config.frame = d;
        self
    }

    /// The buzz's fundamental in Hz (default 150).
    pub fn frequency(mut self, hz: f32) -> Self {
        self.config.frequency = hz;
        self
    }

    /// Yields word timings (default on).
    pub fn word_timings(mut self, on: bool) -> Self {
        self.config.word_timings = on;
        self
    }

    /// Delay before the first output of a synthesis or stream.
    pub fn latency(mut self, d: Duration) -> Self {
        self.config.latency = d;
        self
    }

    /// Delay between audio frames (for example 20 ms to produce in real time).
    pub fn frame_latency(mut self, d: Duration) -> Self {
        self.config.frame_latency = d;
        self
    }

    /// Fails the next `n` calls (`synthesize` or `stream`) with `error`.
    pub fn fail_next(self, n: usize, error: Error) -> Self {
        self.faults.fail_next(n, error);
        self
    }

    /// Makes the next synthesis or stream fail after `items` events.
    pub fn fail_after(self, items: usize, error: Error) -> Self {
        self.faults.fail_after(items, error);
        self
    }

    /// Builds the mock; an out-of-range option is an `InvalidInput` error naming it.
    pub fn build(self) -> Result<MockTts> {
        let c = &self.config;
        AudioFormat::new(c.format.sample_rate, 1)
            .map_err(|e| Error::invalid_input(format!("sample_rate: {}", e.message())))?;
        if c.frame.is_zero() || c.format.frames_for(c.frame) == 0 {
            return Err(Error::invalid_input(format!(
                "frame_duration {:?} holds no sample at {} Hz",
                c.frame, c.format.sample_rate
            )));
        }
        if !(c.frequency > 0.0 && c.frequency < c.format.sample_rate as f32 / 8.0) {
            return Err(Error::invalid_input(format!(
                "frequency {} Hz must be above 0 and below an eighth of the sample rate",
                c.frequency
            )));
        }
        if c.per_char.is_zero() && c.min_duration.is_zero() {
            return Err(Error::invalid_input(
                "per_char and min_duration are both zero: text would give no audio",
            ));
        }
        Ok(MockTts {
            config: self.config,
            faults: self.faults,
        })
    }
}

impl Default for MockTts {
    fn default() -> Self {
        Self::new()
    }
}

impl MockTts {
    /// A mock with default settings (24 kHz mono, 60 ms per character).
    #[must_use]
    pub fn new() -> Self {
        MockTts {
            config: TtsConfig::default(),
            faults: Faults::new(),
        }
    }

    /// A builder.
    pub fn builder() -> MockTtsBuilder {
        MockTtsBuilder::default()
    }

    /// The fault handle (shared with clones).
    #[must_use]
    pub fn faults(&self) -> &Faults {
        &self.faults
    }

    /// The audio duration the mock produces for `text`.
    #[must_use]
    pub fn duration_for(&self, text: &str) -> Duration {
        duration_for(&self.config, text)
    }
}

fn duration_for(c: &TtsConfig, text: &str) -> Duration {
    let chars = text.trim().chars().count() as u32;
    if chars == 0 {
        return Duration::ZERO;
    }
    let d = (c.per_char * chars).max(c.min_duration);
    let frame = c.frame.as_nanos().max(1);
    let frames = d.as_nanos().div_ceil(frame);
    Duration::from_nanos((frames * frame).min(u128::from(u64::MAX)) as u64)
}

/// Word timings spread over `total` in proportion to word length (plus one for the space).
fn word_timings(text: &str, total: Duration) -> Vec<WordTiming> {
    let words: Vec<&str> = text.split_whitespace().collect();
    let weight: u32 = words.iter().map(|w| w.chars().count() as u32 + 1).sum();
    if weight == 0 {
        return Vec::new();
    }
    let mut at = 0u32;
    words
        .iter()
        .map(|w| {
            let len = w.chars().count() as u32;
            let start = total * at / weight;
            let end = total * (at + len) / weight;
            at += len + 1;
            WordTiming {
                word: (*w).to_string(),
                start,
                end,
                confidence: None,
            }
        })
        .collect()
}

/// Sends one segment: word timings, audio frames, `SegmentEnd`.
async fn speak(config: &TtsConfig, out: &mut Emitter<TtsEvent>, text: &str) -> Result<()> {
    let duration = duration_for(config, text);
    if !duration.is_zero() {
        if config.word_timings {
            out.emit(TtsEvent::Words(word_timings(text, duration)))
                .await?;
        }
        let frames =
            Buzz::new(config.format, config.frequency, 0.3).frames(duration, config.frame)?;
        for (i, f) in frames.into_iter().enumerate() {
            if i > 0 {
                out.sleep(config.frame_latency).await?;
            }
            out.emit(TtsEvent::Audio(f)).await?;
        }
    }
    out.emit(TtsEvent::SegmentEnd).await
}

#[async_trait]
impl Tts for MockTts {
    fn info(&self) -> ProviderInfo {
        ProviderInfo::new("mock", self.config.model.clone())
    }

    fn capabilities(&self) -> TtsCapabilities {
        TtsCapabilities::new(self.config.format)
            .with_streaming(true)
            .with_word_timings(self.config.word_timings)
    }

    async fn synthesize(&self, text: &str, options: &SynthesizeOptions) -> Result<TtsAudioStream> {
        let config = self.config.for_options(options)?;
        let plan = self
            .faults
            .begin_call()
            .map_err(|e| e.with_provider("mock"))?;
        let (tx, stream) = TtsAudioStream::channel(self.config.format, options);
        let text = text.to_string();
        tokio::spawn(async move {
            let mut out = Emitter::new(tx, config.latency, plan);
            let _ = speak(&config, &mut out, &text).await;
        });
        Ok(stream)
    }

    async fn stream(&self, options: &SynthesizeOptions) -> Result<TtsStream> {
        let config = self.config.for_options(options)?;
        let plan = self
            .faults
            .begin_call()
            .map_err(|e| e.with_provider("mock"))?;
        let (stream, backend) = TtsStream::channel(self.config.format, options);
        tokio::spawn(run_stream(config, backend, plan));
        Ok(stream)
    }
}

async fn run_stream(config: TtsConfig, backend: TtsStreamBackend, plan: CallPlan) {
    let TtsStreamBackend {
        mut input, events, ..
    } = backend;
    let mut out = Emitter::new(events, config.latency, plan);
    let mut text = String::new();
    loop {
        let next = tokio::select! {
            () = out.cancelled() => return,
            next = input.recv() => next,
        };
        match next {
            Some(TtsInput::Text(t)) => text.push_str(&t),
            Some(TtsInput::Flush) => {
                if speak(&config, &mut out, &std::mem::take(&mut text))
                    .await
                    .is_err()
                {
                    return;
                }
            }
            Some(TtsInput::EndInput) | None => {
                let _ = speak(&config, &mut out, &text).await;
                return;
            }
            Some(_) => {}
        }
    }
}

/// Audio frames of `text` as the mock would speak them, at its output format, for tests that
/// need audible input (for example to feed [`crate::MockStt`]).
pub fn buzz_frames(text: &str) -> Result<Vec<AudioFrame>> {
    let config = TtsConfig::default();
    Buzz::new(config.format, config.frequency, 0.3)
        .frames(duration_for(&config, text), config.frame)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_follow_text() {
        let tts = MockTts::new();
        assert_eq!(tts.duration_for(""), Duration::ZERO);
        assert_eq!(tts.duration_for("a"), Duration::from_millis(100));
        assert_eq!(tts.duration_for("hello"), Duration::from_millis(300));
        assert!(tts.duration_for("hello there") > tts.duration_for("hello"));
    }

    #[test]
    fn words_are_monotonic_and_inside() {
        let total = Duration::from_millis(660);
        let w = word_timings("Hello there, friend", total);
        assert_eq!(w.len(), 3);
        assert!(w.windows(2).all(|p| p[0].end <= p[1].start));
        assert!(w.iter().all(|t| t.end <= total));
    }

    #[test]
    fn bad_options_are_errors() {
        assert!(MockTts::builder().sample_rate(0).build().is_err());
        let e = MockTts::builder().frequency(-1.0).build().unwrap_err();
        assert!(e.to_string().contains("frequency"));
    }
}
