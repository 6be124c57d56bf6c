//! Speech-to-text: the [`Stt`] trait and its streaming handle [`SttStream`].

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
use crate::types::SpeechEvent;

/// What a speech-to-text provider can do.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct SttCapabilities {
    /// True when [`Stt::stream`] is supported.
    pub streaming: bool,
    /// True when the stream yields interim results.
    pub interim_results: bool,
    /// True when results carry word timings.
    pub word_timings: bool,
    /// The audio format the provider takes. The core converts every frame to it; a plugin never
    /// resamples.
    pub input_format: AudioFormat,
}

impl SttCapabilities {
    /// Capabilities of a provider taking `input_format`, with nothing else supported.
    #[must_use]
    pub fn new(input_format: AudioFormat) -> Self {
        SttCapabilities {
            streaming: false,
            interim_results: false,
            word_timings: false,
            input_format,
        }
    }

    /// Marks streaming as supported.
    #[must_use]
    pub fn with_streaming(mut self, streaming: bool) -> Self {
        self.streaming = streaming;
        self
    }

    /// Marks interim results as supported.
    #[must_use]
    pub fn with_interim_results(mut self, interim: bool) -> Self {
        self.interim_results = interim;
        self
    }

    /// Marks word timings as supported.
    #[must_use]
    pub fn with_word_timings(mut self, words: bool) -> Self {
        self.word_timings = words;
        self
    }
}

/// Options for [`Stt::recognize`].
#[derive(Debug, Clone, PartialEq, Eq, Default)]
#[non_exhaustive]
pub struct RecognizeOptions {
    /// The spoken language, when known (`"en"`, `"en-US"`).
    pub language: Option<String>,
    /// A hint for the provider (previous text, vocabulary).
    pub prompt: Option<String>,
}

impl RecognizeOptions {
    /// Sets the language.
    #[must_use]
    pub fn with_language(mut self, language: impl Into<String>) -> Self {
        self.language = Some(language.into());
        self
    }

    /// Sets the prompt.
    #[must_use]
    pub fn with_prompt(mut self, prompt: impl Into<String>) -> Self {
        self.prompt = Some(prompt.into());
        self
    }
}

/// Options for [`Stt::stream`].
#[derive(Debug, Clone, PartialEq, Eq, Default)]
#[non_exhaustive]
pub struct SttStreamOptions {
    /// The spoken language, when known.
    pub language: Option<String>,
}

impl SttStreamOptions {
    /// Sets the language.
    #[must_use]
    pub fn with_language(mut self, language: impl Into<String>) -> Self {
        self.language = Some(language.into());
        self
    }
}

/// A speech-to-text provider.
///
/// # Concurrency and cancellation
/// A provider is shared (`Arc<dyn Stt>`): every method may be called concurrently from many
/// tasks, and each call or stream is independent. Dropping a future returned by a method, at
/// any await point, abandons the request and leaves nothing behind (no task, socket or buffer).
///
/// # Formats
/// Implement [`Stt::recognize_native`], which always receives audio in
/// [`SttCapabilities::input_format`]; callers use [`Stt::recognize`], which converts. A stream
/// built with [`SttStream::channel`] converts pushed frames for the plugin.
///
/// # Example
/// ```
/// use agents_core::{AudioFormat, AudioFrame, ProviderInfo, RecognizeOptions, Result,
///     SpeechEvent, Stt, SttCapabilities};
///
/// struct Loudness;
///
/// #[async_trait::async_trait]
/// impl Stt for Loudness {
///     fn info(&self) -> ProviderInfo { ProviderInfo::new("loudness", "rms") }
///     fn capabilities(&self) -> SttCapabilities { SttCapabilities::new(AudioFormat::MONO_16K) }
///     async fn recognize_native(&self, audio: &AudioFrame, _: &RecognizeOptions) -> Result<SpeechEvent> {
///         assert_eq!(audio.format(), AudioFormat::MONO_16K);
///         Ok(SpeechEvent::final_text(if audio.rms() > 0.01 { "speech" } else { "" }))
///     }
/// }
///
/// # tokio::runtime::Builder::new_current_thread().build().unwrap().block_on(async {
/// let audio = AudioFrame::silence(AudioFormat::MONO_16K, std::time::Duration::from_millis(100)).unwrap();
/// let event = Loudness.recognize(&audio, &RecognizeOptions::default()).await.unwrap();
/// assert_eq!(event.text(), "");
/// # });
/// ```
#[async_trait]
pub trait Stt: Send + Sync {
    /// Provider and model.
    fn info(&self) -> ProviderInfo;

    /// What the provider supports, including its input format. Cheap; called often.
    fn capabilities(&self) -> SttCapabilities;

    /// Transcribes one whole utterance in any format: the audio is converted to the declared
    /// input format, then handed to [`Stt::recognize_native`]. Returns one
    /// [`SpeechEventKind::Final`](crate::SpeechEventKind::Final) event or a classified error.
    /// Empty audio is an [`ErrorKind::InvalidInput`](crate::ErrorKind) error.
    ///
    /// Do not override: implement [`Stt::recognize_native`].
    async fn recognize(
        &self,
        audio: &AudioFrame,
        options: &RecognizeOptions,
    ) -> Result<SpeechEvent> {
        if audio.is_empty() {
            return Err(Error::invalid_input("cannot recognize empty audio")
                .with_provider(self.info().provider));
        }
        let format = self.capabilities().input_format;
        if audio.format() == format {
            return self.recognize_native(audio, options).await;
        }
        let converted = crate::audio::resample(audio, format)?;
        self.recognize_native(&converted, options).await
    }

    /// Transcribes one whole utterance already in [`SttCapabilities::input_format`].
    async fn recognize_native(
        &self,
        audio: &AudioFrame,
        options: &RecognizeOptions,
    ) -> Result<SpeechEvent>;

    /// Opens a streaming session. Errors before the session is usable (connect, auth) come back
    /// here, after the connect retries the plugin's options allow.
    ///
    /// The default answers [`ErrorKind::Unsupported`](crate::ErrorKind); wrap a non-streaming
    /// provider in the runtime's `StreamAdapter` to stream it.
    async fn stream(&self, options: &SttStreamOptions) -> Result<SttStream> {
        let _ = options;
        Err(
            Error::unsupported("this provider does not stream; use a StreamAdapter")
                .with_provider(self.info().provider),
        )
    }
}

/// What the caller sends into a speech-to-text stream.
#[non_exhaustive]
#[derive(Debug, Clone, PartialEq)]
pub enum SttInput {
    /// Audio in the provider's declared input format.
    Audio(AudioFrame),
    /// Finalize what was heard so far; the stream stays open.
    Flush,
    /// No more audio: drain the pending results, then end.
    EndInput,
}

/// The input side of a speech-to-text stream.
///
/// Frames of any format are accepted and converted to the provider's format here, so that the
/// plugin never resamples. A format that cannot be converted is an `Err` at push.
#[derive(Debug)]
pub struct SttInputSender {
    tx: mpsc::Sender<SttInput>,
    converter: AudioConverter,
    ended: bool,
}

impl SttInputSender {
    /// The format the provider receives.
    #[must_use]
    pub fn input_format(&self) -> AudioFormat {
        self.converter.target()
    }

    /// Pushes audio, waiting while the provider's input queue is full.
    ///
    /// Fails with [`ErrorKind::Closed`](crate::ErrorKind) after [`Self::end_input`] or when the
    /// stream has ended, and with `InvalidInput` or `Unsupported` for audio that cannot be
    /// converted.
    pub async fn push_frame(&mut self, frame: AudioFrame) -> Result<()> {
        self.check_open()?;
        if frame.is_empty() {
            return Ok(());
        }
        if let Some(converted) = self.converter.convert(frame)? {
            self.send(SttInput::Audio(converted)).await?;
        }
        Ok(())
    }

    /// Asks the provider to finalize what it heard; a `Final` follows within bounded time (or
    /// none without speech) and the stream stays open.
    pub async fn flush(&mut self) -> Result<()> {
        self.check_open()?;
        self.send_converter_tail().await?;
        self.send(SttInput::Flush).await
    }

    /// Ends the input: every pending result is yielded, then the stream ends.
    pub async fn end_input(&mut self) -> Result<()> {
        self.check_open()?;
        self.send_converter_tail().await?;
        self.ended = true;
        self.send(SttInput::EndInput).await
    }

    async fn send_converter_tail(&mut self) -> Result<()> {
        if let Some(tail) = self.converter.flush()? {
            self.send(SttInput::Audio(tail)).await?;
        }
        Ok(())
    }

    fn check_open(&self) -> Result<()> {
        if self.ended {
            return Err(Error::closed("input already ended"));
        }
        Ok(())
    }

    async fn send(&self, input: SttInput) -> Result<()> {
        self.tx
            .send(input)
            .await
            .map_err(|_| Error::closed("the stream has ended"))
    }
}

/// A streaming speech-to-text session: push audio in, read [`SpeechEvent`]s out.
///
/// # Contract
/// Events per utterance: `StartOfSpeech`? `Interim`* `Final`+ `EndOfSpeech`?; finals are not
/// cumulative; times are relative to the stream's start and never go backwards (also across a
/// reconnect). A fault the plugin recovers from yields no error; one it cannot yields one `Err`,
/// then the stream ends. Dropping the handle (or its event half) closes the connection and ends
/// every task of the stream. Dropping only the input half counts as [`SttInputSender::end_input`].
///
/// # For plugin authors
/// Create the pair with [`SttStream::channel`], return the [`SttStream`], and drive the
/// [`SttStreamBackend`] from a spawned task: read [`SttInput`]s, send events, stop when
/// [`EventSender::cancelled`] completes.
#[derive(Debug)]
pub struct SttStream {
    input: SttInputSender,
    events: EventStream<SpeechEvent>,
}

/// The plugin's side of an [`SttStream`].
#[derive(Debug)]
#[non_exhaustive]
pub struct SttStreamBackend {
    /// Audio (in the declared format), flushes and end of input, in the order pushed. `None`
    /// after the caller dropped the input side: treat it as end of input.
    pub input: mpsc::Receiver<SttInput>,
    /// Where events go.
    pub events: EventSender<SpeechEvent>,
}

impl SttStream {
    /// Creates a stream handle for a provider that takes `input_format`, with default channel
    /// capacities.
    #[must_use]
    pub fn channel(input_format: AudioFormat) -> (SttStream, SttStreamBackend) {
        Self::with_capacity(input_format, DEFAULT_CHANNEL_CAPACITY)
    }

    /// Like [`Self::channel`] with explicit capacities (items per direction).
    #[must_use]
    pub fn with_capacity(
        input_format: AudioFormat,
        capacity: usize,
    ) -> (SttStream, SttStreamBackend) {
        let (in_tx, in_rx) = mpsc::channel(capacity.max(1));
        let (ev_tx, ev_rx) = event_channel(capacity);
        (
            SttStream {
                input: SttInputSender {
                    tx: in_tx,
                    converter: AudioConverter::new(input_format),
                    ended: false,
                },
                events: ev_rx,
            },
            SttStreamBackend {
                input: in_rx,
                events: ev_tx,
            },
        )
    }

    /// See [`SttInputSender::push_frame`].
    pub async fn push_frame(&mut self, frame: AudioFrame) -> Result<()> {
        self.input.push_frame(frame).await
    }

    /// See [`SttInputSender::flush`].
    pub async fn flush(&mut self) -> Result<()> {
        self.input.flush().await
    }

    /// See [`SttInputSender::end_input`].
    pub async fn end_input(&mut self) -> Result<()> {
        self.input.end_input().await
    }

    /// The format the provider receives.
    #[must_use]
    pub fn input_format(&self) -> AudioFormat {
        self.input.input_format()
    }

    /// Splits into the input half and the event half, to push and read from different tasks.
    #[must_use]
    pub fn split(self) -> (SttInputSender, EventStream<SpeechEvent>) {
        (self.input, self.events)
    }
}

impl Stream for SttStream {
    type Item = Result<SpeechEvent>;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        Pin::new(&mut self.events).poll_next(cx)
    }
}
