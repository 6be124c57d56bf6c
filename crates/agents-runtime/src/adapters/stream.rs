//! Stream adapters: streaming on top of providers that cannot stream.

use std::sync::Arc;
use std::time::Duration;

use agents_core::{
    AudioFrame, ProviderInfo, RecognizeOptions, Result, SpeechEvent, Stt, SttCapabilities,
    SttInput, SttStream, SttStreamOptions, SynthesizeOptions, Tts, TtsAudioStream, TtsCapabilities,
    TtsEvent, TtsInput, TtsStream, Vad, async_trait,
};
use futures_util::StreamExt;

use crate::tokenizer::SentenceTokenizer;
use crate::vad::{VadEvent, VadOptions, VadSegmenter};

/// Makes a VAD for each stream.
pub type VadFactory = Arc<dyn Fn() -> Box<dyn Vad> + Send + Sync>;

/// Streaming speech-to-text from a non-streaming provider: a VAD cuts the audio into
/// utterances and each is sent to [`Stt::recognize`].
///
/// Events: `StartOfSpeech` when the VAD hears speech, then one `Final` and `EndOfSpeech` per
/// utterance. `flush` ends the utterance in progress; `end_input` drains, then ends.
///
/// ```
/// use agents_runtime::adapters::SttStreamAdapter;
/// use agents_runtime::vad::{EarshotVad, VadOptions};
/// use std::sync::Arc;
///
/// # fn wrap(stt: Arc<dyn agents_core::Stt>) -> SttStreamAdapter {
/// SttStreamAdapter::new(stt, Arc::new(|| Box::new(EarshotVad::new()) as Box<dyn agents_core::Vad>), VadOptions::default())
/// # }
/// ```
#[derive(Clone)]
pub struct SttStreamAdapter {
    stt: Arc<dyn Stt>,
    vad: VadFactory,
    vad_options: VadOptions,
}

impl std::fmt::Debug for SttStreamAdapter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SttStreamAdapter")
            .field("stt", &self.stt.info())
            .field("vad_options", &self.vad_options)
            .finish_non_exhaustive()
    }
}

impl SttStreamAdapter {
    /// Wraps `stt`, cutting utterances with VADs made by `vad`.
    pub fn new(stt: Arc<dyn Stt>, vad: VadFactory, vad_options: VadOptions) -> Self {
        SttStreamAdapter {
            stt,
            vad,
            vad_options,
        }
    }
}

#[async_trait]
impl Stt for SttStreamAdapter {
    fn info(&self) -> ProviderInfo {
        self.stt.info()
    }

    fn capabilities(&self) -> SttCapabilities {
        let inner = self.stt.capabilities();
        SttCapabilities::new(inner.input_format)
            .with_streaming(true)
            .with_word_timings(inner.word_timings)
    }

    async fn recognize_native(
        &self,
        audio: &AudioFrame,
        options: &RecognizeOptions,
    ) -> Result<SpeechEvent> {
        self.stt.recognize_native(audio, options).await
    }

    async fn stream(&self, options: &SttStreamOptions) -> Result<SttStream> {
        let mut segmenter = VadSegmenter::new((self.vad)(), self.vad_options.clone())?;
        let (stream, mut backend) = SttStream::channel(self.stt.capabilities().input_format);
        let stt = self.stt.clone();
        let mut recognize = RecognizeOptions::default();
        recognize.language = options.language.clone();
        tokio::spawn(async move {
            let mut events = Vec::new();
            let mut speaking_from: Option<Duration> = None;
            loop {
                let input = tokio::select! {
                    _ = backend.events.cancelled() => return,
                    input = backend.input.recv() => input,
                };
                let end = match input {
                    Some(SttInput::Audio(frame)) => {
                        if let Err(e) = segmenter.process(&frame, &mut events) {
                            let _ = backend.events.send_error(e).await;
                            return;
                        }
                        false
                    }
                    Some(SttInput::Flush) => {
                        if let Err(e) = segmenter.flush(&mut events) {
                            let _ = backend.events.send_error(e).await;
                            return;
                        }
                        false
                    }
                    Some(SttInput::EndInput) | None => {
                        if let Err(e) = segmenter.flush(&mut events) {
                            let _ = backend.events.send_error(e).await;
                            return;
                        }
                        true
                    }
                    Some(_) => false,
                };
                for event in events.drain(..) {
                    let result = match event {
                        VadEvent::SpeechStarted { at } => {
                            speaking_from = Some(at);
                            backend.events.send(SpeechEvent::start_of_speech()).await
                        }
                        VadEvent::SpeechEnded { at, audio } => {
                            let start = speaking_from.take().unwrap_or_default();
                            match recognize_utterance(&*stt, &audio, &recognize, start, at).await {
                                Ok(Some(final_event)) => {
                                    if backend.events.send(final_event).await.is_err() {
                                        return;
                                    }
                                    backend.events.send(SpeechEvent::end_of_speech()).await
                                }
                                Ok(None) => backend.events.send(SpeechEvent::end_of_speech()).await,
                                Err(e) => {
                                    let _ = backend.events.send_error(e).await;
                                    return;
                                }
                            }
                        }
                    };
                    if result.is_err() {
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

async fn recognize_utterance(
    stt: &dyn Stt,
    audio: &AudioFrame,
    options: &RecognizeOptions,
    start: Duration,
    end: Duration,
) -> Result<Option<SpeechEvent>> {
    let mut event = stt.recognize(audio, options).await?;
    if event.text().trim().is_empty() {
        return Ok(None);
    }
    for alt in &mut event.alternatives {
        // place the utterance on the stream's timeline
        let offset = start;
        if alt.start.is_zero() && alt.end.is_zero() {
            alt.start = start;
            alt.end = end;
        } else {
            alt.start += offset;
            alt.end += offset;
        }
        for w in &mut alt.words {
            w.start += offset;
            w.end += offset;
        }
    }
    Ok(Some(event))
}

/// Streaming text-to-speech from a provider that only synthesizes whole texts: pushed text is
/// split into sentences, and each sentence is synthesized as soon as it is complete.
#[derive(Clone)]
pub struct TtsStreamAdapter {
    tts: Arc<dyn Tts>,
}

impl std::fmt::Debug for TtsStreamAdapter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TtsStreamAdapter")
            .field("tts", &self.tts.info())
            .finish()
    }
}

impl TtsStreamAdapter {
    /// Wraps `tts`.
    pub fn new(tts: Arc<dyn Tts>) -> Self {
        TtsStreamAdapter { tts }
    }
}

#[async_trait]
impl Tts for TtsStreamAdapter {
    fn info(&self) -> ProviderInfo {
        self.tts.info()
    }

    fn capabilities(&self) -> TtsCapabilities {
        let inner = self.tts.capabilities();
        TtsCapabilities::new(inner.output_format)
            .with_streaming(true)
            .with_word_timings(inner.word_timings)
    }

    async fn synthesize(&self, text: &str, options: &SynthesizeOptions) -> Result<TtsAudioStream> {
        self.tts.synthesize(text, options).await
    }

    async fn stream(&self, options: &SynthesizeOptions) -> Result<TtsStream> {
        let native = self.tts.capabilities().output_format;
        let (stream, mut backend) = TtsStream::channel(native, options);
        let tts = self.tts.clone();
        let mut inner_options = options.clone();
        inner_options.output_format = None;
        tokio::spawn(async move {
            let mut tokenizer = SentenceTokenizer::new();
            loop {
                let input = tokio::select! {
                    _ = backend.events.cancelled() => return,
                    input = backend.input.recv() => input,
                };
                let (sentences, segment_end, end) = match input {
                    Some(TtsInput::Text(text)) => (tokenizer.push(&text), false, false),
                    Some(TtsInput::Flush) => (tokenizer.flush().into_iter().collect(), true, false),
                    Some(TtsInput::EndInput) | None => {
                        (tokenizer.flush().into_iter().collect(), true, true)
                    }
                    Some(_) => (Vec::new(), false, false),
                };
                for sentence in sentences {
                    let mut audio = match tts.synthesize(&sentence, &inner_options).await {
                        Ok(a) => a,
                        Err(e) => {
                            let _ = backend.events.send_error(e).await;
                            return;
                        }
                    };
                    while let Some(item) = audio.next().await {
                        let sent = match item {
                            Ok(TtsEvent::SegmentEnd) => Ok(()),
                            Ok(event) => backend.events.send(event).await,
                            Err(e) => {
                                let _ = backend.events.send_error(e).await;
                                return;
                            }
                        };
                        if sent.is_err() {
                            return;
                        }
                    }
                }
                if segment_end && backend.events.send(TtsEvent::SegmentEnd).await.is_err() {
                    return;
                }
                if end {
                    return;
                }
            }
        });
        Ok(stream)
    }
}
