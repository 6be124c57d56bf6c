//! [`MockStt`]: scripted transcripts, speech found by energy.

use std::time::Duration;

use agents_core::stt::{SttInput, SttStreamBackend};
use agents_core::{
    AudioFormat, AudioFrame, Error, ProviderInfo, RecognizeOptions, Result, SpeechAlternative,
    SpeechEvent, Stt, SttCapabilities, SttStream, SttStreamOptions, SttUsage, async_trait,
};

use crate::audio::{EnergyConfig, EnergySegmenter, Segment, speech_label};
use crate::faults::{CallPlan, Emitter, Faults, Script, delay};

/// A deterministic speech-to-text provider.
///
/// It hears speech by energy: the RMS of each 20 ms window of the audio it is given against a
/// threshold. Speech starts after [`MockSttBuilder::min_speech`] of loud windows and ends after
/// [`MockSttBuilder::min_silence`] of quiet ones. What it "recognizes" is scripted: each
/// utterance takes the next text of the transcript queue. With no text scripted, an utterance
/// is transcribed as `"<speech 1.2s>"` (its duration), and audio without speech as `""`.
///
/// Streams yield, per utterance: `StartOfSpeech`, interims that reveal the scripted text word
/// by word (one more word every [`MockSttBuilder::interim_interval`] of speech), one `Final`,
/// then `EndOfSpeech`; times count from the stream's start. `flush` finalizes the speech heard
/// so far; `end_input` finalizes, yields a `Usage` event, then ends. Input is 16 kHz mono (the
/// core converts other formats).
///
/// ```
/// use agents_core::{AudioFormat, AudioFrame, RecognizeOptions, Stt};
/// use agents_plugin_mock::MockStt;
///
/// # tokio::runtime::Builder::new_current_thread().enable_time().build().unwrap().block_on(async {
/// let stt = MockStt::builder().transcript("hello world").build().unwrap();
/// let audio = AudioFrame::silence(AudioFormat::MONO_16K, std::time::Duration::from_millis(200)).unwrap();
/// let event = stt.recognize(&audio, &RecognizeOptions::default()).await.unwrap();
/// assert_eq!(event.text(), "hello world");
/// // the queue is empty now: silence is transcribed as ""
/// assert_eq!(stt.recognize(&audio, &RecognizeOptions::default()).await.unwrap().text(), "");
/// # });
/// ```
#[derive(Debug, Clone)]
pub struct MockStt {
    model: String,
    script: Script<String>,
    energy: EnergyConfig,
    interim_results: bool,
    latency: Duration,
    faults: Faults,
}

/// Builds a [`MockStt`].
#[derive(Debug, Clone)]
#[must_use]
pub struct MockSttBuilder {
    model: String,
    transcripts: Vec<String>,
    cycle: bool,
    energy: EnergyConfig,
    interim_results: bool,
    latency: Duration,
    faults: Faults,
}

impl Default for MockSttBuilder {
    fn default() -> Self {
        MockSttBuilder {
            model: "mock-stt".into(),
            transcripts: Vec::new(),
            cycle: false,
            energy: EnergyConfig::default(),
            interim_results: true,
            latency: Duration::ZERO,
            faults: Faults::new(),
        }
    }
}

impl MockSttBuilder {
    /// The model name reported by `info()` (default `"mock-stt"`).
    pub fn model(mut self, model: impl Into<String>) -> Self {
        self.model = model.into();
        self
    }

    /// Queues the transcript of the next utterance.
    pub fn transcript(mut self, text: impl Into<String>) -> Self {
        self.transcripts.push(text.into());
        self
    }

    /// Queues several transcripts, one per utterance.
    pub fn transcripts<I, S>(mut self, texts: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.transcripts.extend(texts.into_iter().map(Into::into));
        self
    }

    /// Reuses the transcripts in a loop instead of using each once (default off).
    pub fn cycle(mut self, cycle: bool) -> Self {
        self.cycle = cycle;
        self
    }

    /// The RMS level in `(0, 1]` above which a 20 ms window counts as speech (default 0.02).
    pub fn energy_threshold(mut self, threshold: f32) -> Self {
        self.energy.threshold = threshold;
        self
    }

    /// Loud audio needed before speech starts (default 60 ms).
    pub fn min_speech(mut self, d: Duration) -> Self {
        self.energy.min_speech = d;
        self
    }

    /// Quiet audio needed before speech ends (default 300 ms).
    pub fn min_silence(mut self, d: Duration) -> Self {
        self.energy.min_silence = d;
        self
    }

    /// Speech between two interim results (default 200 ms).
    pub fn interim_interval(mut self, d: Duration) -> Self {
        self.energy.progress_every = d;
        self
    }

    /// Yields interim results (default on).
    pub fn interim_results(mut self, on: bool) -> Self {
        self.interim_results = on;
        self
    }

    /// Delay before the first output: the answer of `recognize`, the first event of a stream.
    pub fn latency(mut self, d: Duration) -> Self {
        self.latency = d;
        self
    }

    /// Fails the next `n` calls (`recognize` or `stream`) with `error`.
    pub fn fail_next(self, n: usize, error: Error) -> Self {
        self.faults.fail_next(n, error);
        self
    }

    /// Makes the next stream fail after `items` events.
    pub fn fail_after(self, items: usize, error: Error) -> Self {
        self.faults.fail_after(items, error);
        self
    }

    /// Builds the mock; an out-of-range option is an `InvalidInput` error naming it.
    pub fn build(self) -> Result<MockStt> {
        self.energy
            .validate()
            .map_err(|e| e.with_provider("mock"))?;
        Ok(MockStt {
            model: self.model,
            script: Script::new(self.transcripts, self.cycle),
            energy: self.energy,
            interim_results: self.interim_results,
            latency: self.latency,
            faults: self.faults,
        })
    }
}

impl Default for MockStt {
    fn default() -> Self {
        Self::new()
    }
}

impl MockStt {
    /// The input format: 16 kHz mono.
    pub const INPUT_FORMAT: AudioFormat = AudioFormat::MONO_16K;

    /// A mock with no script and default settings.
    #[must_use]
    pub fn new() -> Self {
        MockStt {
            model: "mock-stt".into(),
            script: Script::new(Vec::new(), false),
            energy: EnergyConfig::default(),
            interim_results: true,
            latency: Duration::ZERO,
            faults: Faults::new(),
        }
    }

    /// A builder.
    pub fn builder() -> MockSttBuilder {
        MockSttBuilder::default()
    }

    /// The fault handle (shared with clones of this mock).
    #[must_use]
    pub fn faults(&self) -> &Faults {
        &self.faults
    }

    /// Queues another transcript (shared with clones of this mock).
    pub fn push_transcript(&self, text: impl Into<String>) {
        self.script.push(text.into());
    }

    /// Transcripts still queued.
    #[must_use]
    pub fn queued_transcripts(&self) -> usize {
        self.script.len()
    }
}

#[async_trait]
impl Stt for MockStt {
    fn info(&self) -> ProviderInfo {
        ProviderInfo::new("mock", self.model.clone())
    }

    fn capabilities(&self) -> SttCapabilities {
        SttCapabilities::new(Self::INPUT_FORMAT)
            .with_streaming(true)
            .with_interim_results(self.interim_results)
    }

    async fn recognize_native(
        &self,
        audio: &AudioFrame,
        _options: &RecognizeOptions,
    ) -> Result<SpeechEvent> {
        self.faults.begin_call()?;
        delay(self.latency).await;
        if audio.format() != Self::INPUT_FORMAT {
            return Err(Error::invalid_input(format!(
                "mock STT takes {}, got {}",
                Self::INPUT_FORMAT,
                audio.format()
            ))
            .with_provider("mock"));
        }
        let spans = EnergySegmenter::spans(audio.format(), self.energy, audio.samples());
        let (start, end) = match (spans.first(), spans.last()) {
            (Some((s, _)), Some((_, e))) => (*s, *e),
            _ => (Duration::ZERO, Duration::ZERO),
        };
        let text = match self.script.next() {
            Some(t) => t,
            None if spans.is_empty() => String::new(),
            None => speech_label(spans.iter().map(|(s, e)| *e - *s).sum()),
        };
        Ok(SpeechEvent::final_transcript(SpeechAlternative {
            text,
            language: Some("en".into()),
            confidence: 1.0,
            start,
            end,
            words: Vec::new(),
        }))
    }

    async fn stream(&self, _options: &SttStreamOptions) -> Result<SttStream> {
        let plan = self.faults.begin_call()?;
        let (stream, backend) = SttStream::channel(Self::INPUT_FORMAT);
        let task = StreamTask {
            script: self.script.clone(),
            segmenter: EnergySegmenter::new(Self::INPUT_FORMAT, self.energy),
            interim_results: self.interim_results,
            utterance: None,
            interims: 0,
            audio: Duration::ZERO,
        };
        tokio::spawn(task.run(backend, self.latency, plan));
        Ok(stream)
    }
}

struct StreamTask {
    script: Script<String>,
    segmenter: EnergySegmenter,
    interim_results: bool,
    utterance: Option<Option<String>>,
    interims: usize,
    audio: Duration,
}

impl StreamTask {
    async fn run(mut self, backend: SttStreamBackend, latency: Duration, plan: CallPlan) {
        let SttStreamBackend {
            mut input, events, ..
        } = backend;
        let mut out = Emitter::new(events, latency, plan);
        loop {
            let next = tokio::select! {
                () = out.cancelled() => return,
                next = input.recv() => next,
            };
            let result = match next {
                Some(SttInput::Audio(frame)) => {
                    self.audio += frame.duration();
                    let found = self.segmenter.push(frame.samples());
                    self.emit_all(&mut out, found).await
                }
                Some(SttInput::Flush) => {
                    let found: Vec<Segment> = self.segmenter.flush().into_iter().collect();
                    self.emit_all(&mut out, found).await
                }
                Some(SttInput::EndInput) | None => {
                    let found: Vec<Segment> = self.segmenter.flush().into_iter().collect();
                    if self.emit_all(&mut out, found).await.is_ok() {
                        let usage = SttUsage {
                            audio_duration: self.audio,
                        };
                        let _ = out.emit(SpeechEvent::usage(usage)).await;
                    }
                    return;
                }
                Some(_) => Ok(()),
            };
            if result.is_err() {
                return;
            }
        }
    }

    async fn emit_all(
        &mut self,
        out: &mut Emitter<SpeechEvent>,
        found: Vec<Segment>,
    ) -> Result<()> {
        for s in found {
            for ev in self.events_for(s) {
                out.emit(ev).await?;
            }
        }
        Ok(())
    }

    fn events_for(&mut self, segment: Segment) -> Vec<SpeechEvent> {
        match segment {
            Segment::Start(_) => {
                self.utterance = Some(self.script.next());
                self.interims = 0;
                vec![SpeechEvent::start_of_speech()]
            }
            Segment::Progress { start, now } => {
                if !self.interim_results {
                    return Vec::new();
                }
                self.interims += 1;
                let text = match self.utterance.as_ref().and_then(Option::as_ref) {
                    Some(full) => full
                        .split_whitespace()
                        .take(self.interims)
                        .collect::<Vec<_>>()
                        .join(" "),
                    None => speech_label(now - start),
                };
                vec![SpeechEvent::interim(alternative(text, start, now, 0.5))]
            }
            Segment::End { start, end } => {
                let text = self
                    .utterance
                    .take()
                    .flatten()
                    .unwrap_or_else(|| speech_label(end - start));
                vec![
                    SpeechEvent::final_transcript(alternative(text, start, end, 1.0)),
                    SpeechEvent::end_of_speech(),
                ]
            }
        }
    }
}

fn alternative(text: String, start: Duration, end: Duration, confidence: f32) -> SpeechAlternative {
    SpeechAlternative {
        text,
        language: Some("en".into()),
        confidence,
        start,
        end,
        words: Vec::new(),
    }
}
