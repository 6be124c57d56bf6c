//! Deterministic in-process providers for session tests: speech is any non-zero audio.
#![allow(dead_code, unreachable_pub, clippy::unwrap_used, clippy::expect_used)]

use std::collections::VecDeque;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use agents_core::{
    AudioFormat, AudioFrame, ChatChunk, ChatRequest, ChatStream, Error, FinishReason, Llm,
    ProviderInfo, RecognizeOptions, Result, SpeechAlternative, SpeechEvent, Stt, SttCapabilities,
    SttInput, SttStream, SttStreamOptions, SynthesizeOptions, Tts, TtsAudioStream, TtsCapabilities,
    TtsEvent, TtsInput, TtsStream, Vad, async_trait,
};
use agents_runtime::transport::{AudioOutput, ClipInput};
use futures_util::{StreamExt, stream};

pub const FMT: AudioFormat = AudioFormat::MONO_16K;

/// A VAD that calls any non-zero frame speech.
pub struct EnergyVad;

impl Vad for EnergyVad {
    fn input_format(&self) -> AudioFormat {
        FMT
    }
    fn frame_samples(&self) -> usize {
        160
    }
    fn speech_probability(&mut self, frame: &[i16]) -> Result<f32> {
        Ok(if frame.iter().any(|&s| s != 0) {
            0.9
        } else {
            0.0
        })
    }
    fn reset(&mut self) {}
}

/// Audio: `(speech?, milliseconds)` runs at 16 kHz.
pub fn audio(pattern: &[(bool, u64)]) -> AudioFrame {
    let mut samples = Vec::new();
    for &(speech, ms) in pattern {
        samples.extend(std::iter::repeat_n(
            if speech { 3000 } else { 0 },
            (ms * 16) as usize,
        ));
    }
    AudioFrame::new(samples, FMT).unwrap()
}

pub fn input(pattern: &[(bool, u64)]) -> Box<ClipInput> {
    Box::new(
        ClipInput::new(audio(pattern), Duration::from_millis(20))
            .unwrap()
            .paced(true),
    )
}

/// A streaming STT: each run of speech becomes the next scripted text, delivered as a final
/// `final_delay` after the speech ends (and an interim with the first word while speaking).
pub struct ScriptedStt {
    pub texts: Arc<Mutex<VecDeque<String>>>,
    pub final_delay: Duration,
}

impl ScriptedStt {
    pub fn new(texts: &[&str]) -> Arc<Self> {
        Arc::new(ScriptedStt {
            texts: Arc::new(Mutex::new(texts.iter().map(|s| s.to_string()).collect())),
            final_delay: Duration::from_millis(100),
        })
    }
}

#[async_trait]
impl Stt for ScriptedStt {
    fn info(&self) -> ProviderInfo {
        ProviderInfo::new("scripted", "stt")
    }
    fn capabilities(&self) -> SttCapabilities {
        SttCapabilities::new(FMT)
            .with_streaming(true)
            .with_interim_results(true)
    }
    async fn recognize_native(&self, _: &AudioFrame, _: &RecognizeOptions) -> Result<SpeechEvent> {
        let text = self.texts.lock().unwrap().pop_front().unwrap_or_default();
        Ok(SpeechEvent::final_text(text))
    }
    async fn stream(&self, _: &SttStreamOptions) -> Result<SttStream> {
        let (stream, mut backend) = SttStream::channel(FMT);
        let texts = self.texts.clone();
        let delay = self.final_delay;
        tokio::spawn(async move {
            let mut speaking = false;
            let mut silence = Duration::ZERO;
            let mut current: Option<String> = None;
            loop {
                let input = tokio::select! {
                    _ = backend.events.cancelled() => return,
                    i = backend.input.recv() => i,
                };
                match input {
                    Some(SttInput::Audio(frame)) => {
                        let voiced = frame.samples().iter().any(|&s| s != 0);
                        if voiced {
                            silence = Duration::ZERO;
                            if !speaking {
                                speaking = true;
                                current = texts.lock().unwrap().pop_front();
                                let _ = backend.events.send(SpeechEvent::start_of_speech()).await;
                                if let Some(t) = &current {
                                    let first =
                                        t.split_whitespace().next().unwrap_or("").to_string();
                                    let _ = backend
                                        .events
                                        .send(SpeechEvent::interim(SpeechAlternative::text(first)))
                                        .await;
                                }
                            }
                        } else if speaking {
                            silence += frame.duration();
                            if silence >= Duration::from_millis(200) {
                                speaking = false;
                                let text = current.take();
                                let events = backend.events.clone();
                                tokio::spawn(async move {
                                    tokio::time::sleep(delay).await;
                                    if let Some(t) = text {
                                        let _ = events.send(SpeechEvent::final_text(t)).await;
                                    }
                                    let _ = events.send(SpeechEvent::end_of_speech()).await;
                                });
                            }
                        }
                    }
                    Some(SttInput::Flush) => {}
                    Some(SttInput::EndInput) | None => {
                        tokio::time::sleep(delay * 2).await;
                        return;
                    }
                    Some(_) => {}
                }
            }
        });
        Ok(stream)
    }
}

/// An LLM answering each request with the next scripted chunk list, one chunk per
/// `token_delay`; records every request.
pub struct ScriptedLlm {
    pub script: Mutex<VecDeque<Vec<ChatChunk>>>,
    pub requests: Mutex<Vec<ChatRequest>>,
    pub token_delay: Duration,
    pub fail_with: Mutex<VecDeque<Error>>,
    pub name: &'static str,
}

impl ScriptedLlm {
    pub fn new(script: Vec<Vec<ChatChunk>>) -> Arc<Self> {
        Arc::new(ScriptedLlm {
            script: Mutex::new(script.into()),
            requests: Mutex::new(Vec::new()),
            token_delay: Duration::from_millis(10),
            fail_with: Mutex::new(VecDeque::new()),
            name: "scripted",
        })
    }

    pub fn text(reply: &str) -> Vec<ChatChunk> {
        let mut chunks: Vec<ChatChunk> = reply.split_inclusive(' ').map(ChatChunk::text).collect();
        chunks.push(ChatChunk::Finish {
            reason: FinishReason::Stop,
        });
        chunks
    }
}

#[async_trait]
impl Llm for ScriptedLlm {
    fn info(&self) -> ProviderInfo {
        ProviderInfo::new(self.name, "llm")
    }
    async fn chat(&self, request: ChatRequest) -> Result<ChatStream> {
        self.requests.lock().unwrap().push(request);
        if let Some(e) = self.fail_with.lock().unwrap().pop_front() {
            return Err(e);
        }
        let chunks = self
            .script
            .lock()
            .unwrap()
            .pop_front()
            .unwrap_or_else(|| ScriptedLlm::text("I have nothing more to say."));
        let delay = self.token_delay;
        Ok(stream::iter(chunks)
            .then(move |c| async move {
                tokio::time::sleep(delay).await;
                Ok(c)
            })
            .boxed())
    }
}

/// A streaming TTS: 40 ms of a square wave per character, in 20 ms frames at 16 kHz.
pub struct BuzzTts {
    pub first_audio_delay: Duration,
}

pub fn buzz(chars: usize) -> Vec<AudioFrame> {
    let total = chars * 40 * 16;
    let samples: Vec<i16> = (0..total)
        .map(|i| if (i / 20) % 2 == 0 { 2000 } else { -2000 })
        .collect();
    samples
        .chunks(320)
        .map(|c| AudioFrame::new(c.to_vec(), FMT).unwrap())
        .collect()
}

#[async_trait]
impl Tts for BuzzTts {
    fn info(&self) -> ProviderInfo {
        ProviderInfo::new("buzz", "tts")
    }
    fn capabilities(&self) -> TtsCapabilities {
        TtsCapabilities::new(FMT).with_streaming(true)
    }
    async fn synthesize(&self, text: &str, options: &SynthesizeOptions) -> Result<TtsAudioStream> {
        let (tx, out) = TtsAudioStream::channel(FMT, options);
        let frames = buzz(text.chars().count());
        let delay = self.first_audio_delay;
        tokio::spawn(async move {
            tokio::time::sleep(delay).await;
            for f in frames {
                if tx.send(TtsEvent::Audio(f)).await.is_err() {
                    return;
                }
            }
            let _ = tx.send(TtsEvent::SegmentEnd).await;
        });
        Ok(out)
    }
    async fn stream(&self, options: &SynthesizeOptions) -> Result<TtsStream> {
        let (stream, mut backend) = TtsStream::channel(FMT, options);
        let delay = self.first_audio_delay;
        tokio::spawn(async move {
            let mut pending = String::new();
            loop {
                let input = tokio::select! {
                    _ = backend.events.cancelled() => return,
                    i = backend.input.recv() => i,
                };
                let (flush, end) = match input {
                    Some(TtsInput::Text(t)) => {
                        pending.push_str(&t);
                        (false, false)
                    }
                    Some(TtsInput::Flush) => (true, false),
                    Some(TtsInput::EndInput) | None => (true, true),
                    Some(_) => (false, false),
                };
                if flush {
                    let text = std::mem::take(&mut pending);
                    if !text.trim().is_empty() {
                        tokio::time::sleep(delay).await;
                        for f in buzz(text.trim().chars().count()) {
                            if backend.events.send(TtsEvent::Audio(f)).await.is_err() {
                                return;
                            }
                        }
                    }
                    if backend.events.send(TtsEvent::SegmentEnd).await.is_err() {
                        return;
                    }
                }
                if end {
                    return;
                }
            }
        });
        Ok(stream)
    }
}

/// An output that never accepts a frame (to test stall reporting).
pub struct StuckOutput;

#[async_trait]
impl AudioOutput for StuckOutput {
    fn format(&self) -> AudioFormat {
        FMT
    }
    async fn write(&mut self, _: AudioFrame) -> Result<()> {
        std::future::pending().await
    }
    async fn clear(&mut self) -> Result<Duration> {
        Ok(Duration::ZERO)
    }
    async fn drain(&mut self) -> Result<()> {
        Ok(())
    }
    fn played(&mut self) -> Duration {
        Duration::ZERO
    }
}
