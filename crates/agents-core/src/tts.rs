//! Text-to-speech: the [`Tts`] trait, its streaming handle [`TtsStream`] and the audio output
//! [`TtsAudioStream`].

use std::collections::VecDeque;
use std::pin::Pin;
use std::task::{Context, Poll};

use async_trait::async_trait;
use futures_util::Stream;
use tokio::sync::mpsc;

use crate::audio::{AudioFormat, AudioFrame};
use crate::error::{Error, Result};
use crate::provider::ProviderInfo;
use crate::stream::{
    AudioConverter, DEFAULT_CHANNEL_CAPACITY, EventSender, EventStream, event_channel,
};
use crate::types::WordTiming;

/// What a text-to-speech provider can do.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct TtsCapabilities {
    /// True when [`Tts::stream`] is supported (text pushed incrementally).
    pub streaming: bool,
    /// True when the provider reports word timings.
    pub word_timings: bool,
    /// The format the provider produces. The core converts it to the format each caller asks
    /// for; a plugin never resamples.
    pub output_format: AudioFormat,
}

impl TtsCapabilities {
    /// Capabilities of a provider producing `output_format`, with nothing else supported.
    #[must_use]
    pub fn new(output_format: AudioFormat) -> Self {
        TtsCapabilities {
            streaming: false,
            word_timings: false,
            output_format,
        }
    }

    /// Marks streaming as supported.
    #[must_use]
    pub fn with_streaming(mut self, streaming: bool) -> Self {
        self.streaming = streaming;
        self
    }

    /// Marks word timings as supported.
    #[must_use]
    pub fn with_word_timings(mut self, words: bool) -> Self {
        self.word_timings = words;
        self
    }
}

/// Options for [`Tts::synthesize`] and [`Tts::stream`].
#[derive(Debug, Clone, PartialEq, Default)]
#[non_exhaustive]
pub struct SynthesizeOptions {
    /// The format the caller wants; `None` keeps the provider's format.
    pub output_format: Option<AudioFormat>,
    /// A voice override.
    pub voice: Option<String>,
    /// A speed override (1.0 is normal).
    pub speed: Option<f32>,
    /// The language of the text.
    pub language: Option<String>,
}

impl SynthesizeOptions {
    /// Asks for audio in `format`.
    #[must_use]
    pub fn with_output_format(mut self, format: AudioFormat) -> Self {
        self.output_format = Some(format);
        self
    }

    /// Sets the voice.
    #[must_use]
    pub fn with_voice(mut self, voice: impl Into<String>) -> Self {
        self.voice = Some(voice.into());
        self
    }

    /// Sets the speed.
    #[must_use]
    pub fn with_speed(mut self, speed: f32) -> Self {
        self.speed = Some(speed);
        self
    }

    /// Sets the language.
    #[must_use]
    pub fn with_language(mut self, language: impl Into<String>) -> Self {
        self.language = Some(language.into());
        self
    }
}

/// An item of synthesized output.
#[non_exhaustive]
#[derive(Debug, Clone, PartialEq)]
pub enum TtsEvent {
    /// Audio, in the format the caller asked for.
    Audio(AudioFrame),
    /// Word timings, relative to the start of the current segment's audio.
    Words(Vec<WordTiming>),
    /// All audio for the text pushed before a flush (or end of input) has been yielded.
    SegmentEnd,
}

/// A text-to-speech provider.
///
/// # Concurrency and cancellation
/// Shared as `Arc<dyn Tts>`: methods may be called concurrently, and each synthesis is
/// independent. Dropping a returned future or stream at any point stops the synthesis, tells the
/// provider where the protocol allows (cancel, `Clear`, close) and leaves nothing behind.
///
/// # Formats
/// The plugin produces [`TtsCapabilities::output_format`]; [`TtsAudioStream`] converts to
/// [`SynthesizeOptions::output_format`] for the caller.
///
/// # Example
/// ```
/// use agents_core::{AudioFormat, AudioFrame, ProviderInfo, Result, SynthesizeOptions, Tts,
///     TtsAudioStream, TtsCapabilities, TtsEvent};
/// use futures_util::StreamExt;
///
/// struct Beeper;
///
/// #[async_trait::async_trait]
/// impl Tts for Beeper {
///     fn info(&self) -> ProviderInfo { ProviderInfo::new("beeper", "v1") }
///     fn capabilities(&self) -> TtsCapabilities { TtsCapabilities::new(AudioFormat::MONO_24K) }
///     async fn synthesize(&self, text: &str, options: &SynthesizeOptions) -> Result<TtsAudioStream> {
///         let (tx, stream) = TtsAudioStream::channel(self.capabilities().output_format, options);
///         let samples = vec![1000i16; 240 * text.len()];
///         tokio::spawn(async move {
///             let frame = AudioFrame::new(samples, AudioFormat::MONO_24K)?;
///             tx.send(TtsEvent::Audio(frame)).await?;
///             tx.send(TtsEvent::SegmentEnd).await
///         });
///         Ok(stream)
///     }
/// }
///
/// # tokio::runtime::Builder::new_current_thread().build().unwrap().block_on(async {
/// let mut audio = Beeper.synthesize("hi", &SynthesizeOptions::default()).await.unwrap();
/// let first = audio.next().await.unwrap().unwrap();
/// assert!(matches!(first, TtsEvent::Audio(f) if f.duration().as_millis() == 20));
/// # });
/// ```
#[async_trait]
pub trait Tts: Send + Sync {
    /// Provider and model.
    fn info(&self) -> ProviderInfo;

    /// What the provider supports, including its output format. Cheap; called often.
    fn capabilities(&self) -> TtsCapabilities;

    /// Synthesizes a whole text. The stream yields the audio (and word timings), then one
    /// [`TtsEvent::SegmentEnd`], then ends; or one classified error. Errors before any audio
    /// (connect, auth, status) come back from this call itself.
    async fn synthesize(&self, text: &str, options: &SynthesizeOptions) -> Result<TtsAudioStream>;

    /// Opens a streaming session (text in as it is produced, audio out). The default answers
    /// [`ErrorKind::Unsupported`](crate::ErrorKind); wrap a non-streaming provider in the
    /// runtime's `StreamAdapter`.
    async fn stream(&self, options: &SynthesizeOptions) -> Result<TtsStream> {
        let _ = options;
        Err(
            Error::unsupported("this provider does not stream text input; use a StreamAdapter")
                .with_provider(self.info().provider),
        )
    }
}

/// The audio output of a synthesis: a [`Stream`] of [`TtsEvent`]s in the caller's format.
///
/// Dropping it cancels the synthesis (the plugin's [`EventSender::cancelled`] completes).
#[derive(Debug)]
pub struct TtsAudioStream {
    events: EventStream<TtsEvent>,
    converter: AudioConverter,
    pending: VecDeque<Result<TtsEvent>>,
    finished: bool,
}

impl TtsAudioStream {
    /// Creates the plugin's sender and the caller's stream. The plugin sends audio in
    /// `native_format`; the stream converts to `options.output_format`.
    #[must_use]
    pub fn channel(
        native_format: AudioFormat,
        options: &SynthesizeOptions,
    ) -> (EventSender<TtsEvent>, TtsAudioStream) {
        let (tx, rx) = event_channel(DEFAULT_CHANNEL_CAPACITY);
        let target = options.output_format.unwrap_or(native_format);
        (
            tx,
            TtsAudioStream {
                events: rx,
                converter: AudioConverter::new(target),
                pending: VecDeque::new(),
                finished: false,
            },
        )
    }

    /// The format of every audio frame this stream yields.
    #[must_use]
    pub fn output_format(&self) -> AudioFormat {
        self.converter.target()
    }

    fn flush_converter(&mut self) {
        match self.converter.flush() {
            Ok(Some(tail)) => self.pending.push_back(Ok(TtsEvent::Audio(tail))),
            Ok(None) => {}
            Err(e) => self.pending.push_back(Err(e)),
        }
    }
}

impl Stream for TtsAudioStream {
    type Item = Result<TtsEvent>;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        let this = &mut *self;
        loop {
            if let Some(item) = this.pending.pop_front() {
                if item.is_err() {
                    this.pending.clear();
                    this.finished = true;
                }
                return Poll::Ready(Some(item));
            }
            if this.finished {
                return Poll::Ready(None);
            }
            match Pin::new(&mut this.events).poll_next(cx) {
                Poll::Pending => return Poll::Pending,
                Poll::Ready(None) => {
                    this.finished = true;
                    this.flush_converter();
                }
                Poll::Ready(Some(Ok(TtsEvent::Audio(frame)))) => {
                    match this.converter.convert(frame) {
                        Ok(Some(out)) => return Poll::Ready(Some(Ok(TtsEvent::Audio(out)))),
                        Ok(None) => {}
                        Err(e) => this.pending.push_back(Err(e)),
                    }
                }
                Poll::Ready(Some(Ok(TtsEvent::SegmentEnd))) => {
                    this.flush_converter();
                    this.pending.push_back(Ok(TtsEvent::SegmentEnd));
                }
                Poll::Ready(Some(other)) => return Poll::Ready(Some(other)),
            }
        }
    }
}

/// What the caller sends into a text-to-speech stream.
#[non_exhaustive]
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TtsInput {
    /// More text.
    Text(String),
    /// Close the segment: synthesize everything pushed so far, then send
    /// [`TtsEvent::SegmentEnd`].
    Flush,
    /// No more text: finish, send the last `SegmentEnd`, then end.
    EndInput,
}

/// The input side of a text-to-speech stream.
#[derive(Debug)]
pub struct TtsInputSender {
    tx: mpsc::Sender<TtsInput>,
    ended: bool,
}

impl TtsInputSender {
    /// Pushes text. Fails with `Closed` after [`Self::end_input`] or when the stream ended.
    pub async fn push_text(&mut self, text: impl Into<String>) -> Result<()> {
        let text = text.into();
        if text.is_empty() {
            return self.check_open();
        }
        self.send(TtsInput::Text(text)).await
    }

    /// Closes the current segment; the stream stays open.
    pub async fn flush(&mut self) -> Result<()> {
        self.send(TtsInput::Flush).await
    }

    /// Ends the input: the remaining audio and a final `SegmentEnd` follow, then the end.
    pub async fn end_input(&mut self) -> Result<()> {
        self.send(TtsInput::EndInput).await?;
        self.ended = true;
        Ok(())
    }

    fn check_open(&self) -> Result<()> {
        if self.ended {
            return Err(Error::closed("input already ended"));
        }
        Ok(())
    }

    async fn send(&self, input: TtsInput) -> Result<()> {
        self.check_open()?;
        self.tx
            .send(input)
            .await
            .map_err(|_| Error::closed("the stream has ended"))
    }
}

/// A streaming text-to-speech session: push text in, read [`TtsEvent`]s out.
///
/// # Contract
/// Audio is in the caller's format; `flush` yields the audio for all text so far, then
/// `SegmentEnd`; `end_input` yields the rest, a final `SegmentEnd`, then ends. Dropping the
/// handle (or its output half) stops synthesis at once: no frame is yielded after it and the
/// plugin tells the provider and closes the connection.
#[derive(Debug)]
pub struct TtsStream {
    input: TtsInputSender,
    output: TtsAudioStream,
}

/// The plugin's side of a [`TtsStream`].
#[derive(Debug)]
#[non_exhaustive]
pub struct TtsStreamBackend {
    /// Text, flushes and end of input. `None` once the caller dropped the input half: treat it
    /// as end of input.
    pub input: mpsc::Receiver<TtsInput>,
    /// Where audio (in the plugin's native format), word timings and segment ends go.
    pub events: EventSender<TtsEvent>,
}

impl TtsStream {
    /// Creates a stream handle for a provider producing `native_format`.
    #[must_use]
    pub fn channel(
        native_format: AudioFormat,
        options: &SynthesizeOptions,
    ) -> (TtsStream, TtsStreamBackend) {
        let (in_tx, in_rx) = mpsc::channel(DEFAULT_CHANNEL_CAPACITY);
        let (events, output) = TtsAudioStream::channel(native_format, options);
        (
            TtsStream {
                input: TtsInputSender {
                    tx: in_tx,
                    ended: false,
                },
                output,
            },
            TtsStreamBackend {
                input: in_rx,
                events,
            },
        )
    }

    /// See [`TtsInputSender::push_text`].
    pub async fn push_text(&mut self, text: impl Into<String>) -> Result<()> {
        self.input.push_text(text).await
    }

    /// See [`TtsInputSender::flush`].
    pub async fn flush(&mut self) -> Result<()> {
        self.input.flush().await
    }

    /// See [`TtsInputSender::end_input`].
    pub async fn end_input(&mut self) -> Result<()> {
        self.input.end_input().await
    }

    /// The format of every audio frame this stream yields.
    #[must_use]
    pub fn output_format(&self) -> AudioFormat {
        self.output.output_format()
    }

    /// Splits into the input half and the output half.
    #[must_use]
    pub fn split(self) -> (TtsInputSender, TtsAudioStream) {
        (self.input, self.output)
    }
}

impl Stream for TtsStream {
    type Item = Result<TtsEvent>;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        Pin::new(&mut self.output).poll_next(cx)
    }
}
