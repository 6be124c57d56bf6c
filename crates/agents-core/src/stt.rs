//! Speech-to-text: the [`Stt`] trait and its streaming handle [`SttStream`].

use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;

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
///
/// # Batching
/// A plugin may ask for audio in messages of a given duration
/// ([`SttStream::with_audio_chunk`]; Deepgram's client asks for 50 ms). Pushed audio is then
/// gathered here until a message is full, so a caller pushing 10 or 20 ms frames costs the
/// plugin one channel hand-off, one wake-up and one network write per message rather than
/// per frame. [`Self::flush`] and [`Self::end_input`] send what is gathered first; dropping
/// the sender hands the gathered audio over as well, so nothing pushed is lost. The extra
/// latency is at most one message's duration.
#[derive(Debug)]
pub struct SttInputSender {
    tx: mpsc::Sender<SttInput>,
    converter: AudioConverter,
    ended: bool,
    /// Samples per message in the provider's format; 0 sends every pushed frame as it is.
    chunk_samples: usize,
    /// Converted audio not sent yet (batching only).
    pending: Vec<i16>,
}

impl SttInputSender {
    /// The format the provider receives.
    #[must_use]
    pub fn input_format(&self) -> AudioFormat {
        self.converter.target()
    }

    /// The duration of audio gathered into one message for the provider; zero when every
    /// pushed frame is passed on as it comes.
    #[must_use]
    pub fn audio_chunk(&self) -> Duration {
        self.input_format().duration_of(self.chunk_samples)
    }

    /// Sets [`Self::audio_chunk`]. Audio already gathered stays and goes out with the next
    /// message.
    pub fn set_audio_chunk(&mut self, chunk: Duration) {
        let format = self.input_format();
        let channels = usize::from(format.channels.max(1));
        self.chunk_samples = format.frames_for(chunk) * channels;
        if self.chunk_samples > 0 && self.pending.capacity() == 0 {
            self.pending = Vec::with_capacity(self.message_capacity());
        }
    }

    /// Pushes audio, waiting while the provider's input queue is full.
    ///
    /// Fails with [`ErrorKind::Closed`](crate::ErrorKind) after [`Self::end_input`] or when the
    /// stream has ended, and with `InvalidInput` or `Unsupported` for audio that cannot be
    /// converted.
    ///
    /// # Cancellation
    /// Dropping the future while it waits for room drops the message being sent (at most one
    /// message of audio); audio gathered for a later message is kept.
    pub async fn push_frame(&mut self, frame: AudioFrame) -> Result<()> {
        self.check_open()?;
        if frame.is_empty() {
            return Ok(());
        }
        if self.chunk_samples == 0 && self.pending.is_empty() {
            if let Some(converted) = self.converter.convert(frame)? {
                self.send(SttInput::Audio(converted)).await?;
            }
            return Ok(());
        }
        // Gathering (or audio gathered before batching was turned off, which goes first).
        self.converter.convert_into(&frame, &mut self.pending)?;
        if self.pending.len() >= self.chunk_samples {
            self.send_pending().await?;
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

    fn message_capacity(&self) -> usize {
        // A message plus one more pushed frame of any usual size (up to 40 ms at 48 kHz).
        self.chunk_samples + 1_920 * usize::from(self.input_format().channels.max(1))
    }

    /// Sends the gathered audio, if any, as one message.
    async fn send_pending(&mut self) -> Result<()> {
        if self.pending.is_empty() {
            return Ok(());
        }
        let next = Vec::with_capacity(self.message_capacity());
        let samples = std::mem::replace(&mut self.pending, next);
        let frame = AudioFrame::new(samples, self.input_format())?;
        self.send(SttInput::Audio(frame)).await
    }

    async fn send_converter_tail(&mut self) -> Result<()> {
        if self.chunk_samples > 0 || !self.pending.is_empty() {
            self.converter.flush_into(&mut self.pending)?;
            return self.send_pending().await;
        }
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

impl Drop for SttInputSender {
    /// Dropping the input counts as the end of input: gathered audio and the resampler's tail
    /// are handed over first (at once when the queue has room, otherwise from a task on the
    /// current runtime).
    fn drop(&mut self) {
        if self.ended {
            return;
        }
        if self.converter.flush_into(&mut self.pending).is_err() || self.pending.is_empty() {
            return;
        }
        let samples = std::mem::take(&mut self.pending);
        let Ok(frame) = AudioFrame::new(samples, self.input_format()) else {
            return;
        };
        match self.tx.try_send(SttInput::Audio(frame)) {
            Ok(()) | Err(mpsc::error::TrySendError::Closed(_)) => {}
            Err(mpsc::error::TrySendError::Full(input)) => {
                if let Ok(runtime) = tokio::runtime::Handle::try_current() {
                    let tx = self.tx.clone();
                    runtime.spawn(async move {
                        // The receiver may be gone by then: nothing is left to deliver to.
                        let _ = tx.send(input).await;
                    });
                }
            }
        }
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
                    chunk_samples: 0,
                    pending: Vec::new(),
                },
                events: ev_rx,
            },
            SttStreamBackend {
                input: in_rx,
                events: ev_tx,
            },
        )
    }

    /// Gathers pushed audio into messages of `chunk` for the provider (see
    /// [`SttInputSender#batching`]). Plugins set their provider's preferred size when they
    /// create the stream; a caller may change it (zero passes every frame on as pushed).
    ///
    /// ```
    /// use std::time::Duration;
    /// use agents_core::{AudioFormat, SttStream};
    ///
    /// let (stream, _backend) = SttStream::channel(AudioFormat::MONO_16K);
    /// let stream = stream.with_audio_chunk(Duration::from_millis(50));
    /// assert_eq!(stream.audio_chunk(), Duration::from_millis(50));
    /// ```
    #[must_use]
    pub fn with_audio_chunk(mut self, chunk: Duration) -> Self {
        self.input.set_audio_chunk(chunk);
        self
    }

    /// See [`SttInputSender::audio_chunk`].
    #[must_use]
    pub fn audio_chunk(&self) -> Duration {
        self.input.audio_chunk()
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

#[cfg(test)]
mod tests {
    use super::*;

    fn frame_48k(ms: u64, value: i16) -> AudioFrame {
        let n = AudioFormat::MONO_48K.samples_for(Duration::from_millis(ms));
        AudioFrame::new(vec![value; n], AudioFormat::MONO_48K).unwrap()
    }

    fn frame_16k(n: usize, start: i16) -> AudioFrame {
        let samples = (0..n).map(|i| start.wrapping_add(i as i16)).collect();
        AudioFrame::new(samples, AudioFormat::MONO_16K).unwrap()
    }

    /// Every message the backend received, until the channel is empty.
    fn drain(backend: &mut SttStreamBackend) -> Vec<SttInput> {
        let mut got = Vec::new();
        while let Ok(input) = backend.input.try_recv() {
            got.push(input);
        }
        got
    }

    fn audio_lengths(inputs: &[SttInput]) -> Vec<usize> {
        inputs
            .iter()
            .filter_map(|i| match i {
                SttInput::Audio(f) => Some(f.samples().len()),
                _ => None,
            })
            .collect()
    }

    #[tokio::test]
    async fn without_a_chunk_every_frame_passes_through() {
        let (mut stream, mut backend) = SttStream::channel(AudioFormat::MONO_16K);
        assert_eq!(stream.audio_chunk(), Duration::ZERO);
        for k in 0..3 {
            stream.push_frame(frame_16k(320, k * 1000)).await.unwrap();
        }
        let got = drain(&mut backend);
        assert_eq!(audio_lengths(&got), vec![320, 320, 320]);
    }

    #[tokio::test]
    async fn frames_are_gathered_into_chunks_in_order() {
        let (stream, mut backend) = SttStream::channel(AudioFormat::MONO_16K);
        let mut stream = stream.with_audio_chunk(Duration::from_millis(50));
        assert_eq!(stream.audio_chunk(), Duration::from_millis(50));
        // 20 ms frames: a 50 ms message is sent when 60 ms are gathered.
        let mut pushed = Vec::new();
        for k in 0..7 {
            let f = frame_16k(320, k * 320);
            pushed.extend_from_slice(f.samples());
            stream.push_frame(f).await.unwrap();
        }
        let got = drain(&mut backend);
        assert_eq!(audio_lengths(&got), vec![960, 960]);
        // Flush sends the rest before the Flush itself.
        stream.flush().await.unwrap();
        let got2 = drain(&mut backend);
        assert_eq!(audio_lengths(&got2), vec![320]);
        assert!(matches!(got2.last(), Some(SttInput::Flush)));
        let received: Vec<i16> = got
            .iter()
            .chain(got2.iter())
            .filter_map(|i| match i {
                SttInput::Audio(f) => Some(f.samples().to_vec()),
                _ => None,
            })
            .flatten()
            .collect();
        assert_eq!(received, pushed);
    }

    #[tokio::test]
    async fn resampled_audio_is_gathered_and_nothing_is_lost_at_the_end() {
        let (stream, mut backend) = SttStream::channel(AudioFormat::MONO_16K);
        let mut stream = stream.with_audio_chunk(Duration::from_millis(100));
        // 1 s of 48 kHz audio in 20 ms frames: 16 000 samples at 16 kHz in all.
        for _ in 0..50 {
            stream.push_frame(frame_48k(20, 1_000)).await.unwrap();
        }
        stream.end_input().await.unwrap();
        let got = drain(&mut backend);
        let lengths = audio_lengths(&got);
        assert_eq!(lengths.iter().sum::<usize>(), 16_000);
        // Every message but the last holds at least 100 ms.
        assert!(
            lengths[..lengths.len() - 1].iter().all(|&n| n >= 1_600),
            "{lengths:?}"
        );
        assert!(lengths.len() <= 11, "{lengths:?}");
        assert!(matches!(got.last(), Some(SttInput::EndInput)));
        assert!(
            stream
                .push_frame(frame_48k(20, 0))
                .await
                .unwrap_err()
                .is_closed()
        );
    }

    #[tokio::test]
    async fn dropping_the_input_hands_over_the_gathered_audio() {
        let (stream, mut backend) = SttStream::channel(AudioFormat::MONO_16K);
        let mut stream = stream.with_audio_chunk(Duration::from_millis(100));
        stream.push_frame(frame_16k(320, 0)).await.unwrap();
        stream.push_frame(frame_16k(320, 320)).await.unwrap();
        assert!(drain(&mut backend).is_empty());
        let (input, _events) = stream.split();
        drop(input);
        let got = drain(&mut backend);
        assert_eq!(audio_lengths(&got), vec![640]);
        // Then the channel ends: the end of input.
        assert!(backend.input.recv().await.is_none());
    }

    #[tokio::test]
    async fn turning_batching_off_sends_the_gathered_audio_first() {
        let (stream, mut backend) = SttStream::channel(AudioFormat::MONO_16K);
        let (mut input, _events) = stream.with_audio_chunk(Duration::from_millis(100)).split();
        input.push_frame(frame_16k(320, 0)).await.unwrap();
        input.set_audio_chunk(Duration::ZERO);
        input.push_frame(frame_16k(320, 320)).await.unwrap();
        input.push_frame(frame_16k(320, 640)).await.unwrap();
        let got = drain(&mut backend);
        assert_eq!(audio_lengths(&got), vec![640, 320]);
        let received: Vec<i16> = got
            .iter()
            .filter_map(|i| match i {
                SttInput::Audio(f) => Some(f.samples().to_vec()),
                _ => None,
            })
            .flatten()
            .collect();
        let expected: Vec<i16> = (0..960).map(|i| i as i16).collect();
        assert_eq!(received, expected);
    }

    #[tokio::test]
    async fn dropping_a_resampling_stream_hands_over_the_resampler_tail() {
        let (stream, mut backend) = SttStream::channel(AudioFormat::MONO_16K);
        let (mut input, _events) = stream.split();
        for _ in 0..10 {
            input.push_frame(frame_48k(20, 1_000)).await.unwrap();
        }
        drop(input);
        let mut total = 0;
        while let Some(i) = backend.input.recv().await {
            if let SttInput::Audio(f) = i {
                total += f.samples().len();
            }
        }
        // 200 ms at 16 kHz, the resampler's delay included.
        assert_eq!(total, 3_200);
    }

    #[tokio::test]
    async fn dropping_with_a_full_queue_still_delivers() {
        let (stream, mut backend) = SttStream::with_capacity(AudioFormat::MONO_16K, 1);
        let mut stream = stream.with_audio_chunk(Duration::from_millis(20));
        stream.push_frame(frame_16k(320, 0)).await.unwrap(); // fills the queue
        stream.push_frame(frame_16k(100, 7)).await.unwrap(); // gathered
        drop(stream);
        let mut lengths = Vec::new();
        while let Some(input) = backend.input.recv().await {
            if let SttInput::Audio(f) = input {
                lengths.push(f.samples().len());
            }
        }
        assert_eq!(lengths, vec![320, 100]);
    }
}
