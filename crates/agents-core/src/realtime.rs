//! Speech-to-speech models: the [`Realtime`] trait and its [`RealtimeSession`].

use std::collections::VecDeque;
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
use crate::types::{TokenUsage, ToolCall, ToolDefinition};

/// What a speech-to-speech model takes and produces.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct RealtimeCapabilities {
    /// The audio format the model takes (the core converts to it).
    pub input_format: AudioFormat,
    /// The audio format the model produces (the core converts from it).
    pub output_format: AudioFormat,
}

impl RealtimeCapabilities {
    /// Capabilities with the given formats.
    #[must_use]
    pub fn new(input_format: AudioFormat, output_format: AudioFormat) -> Self {
        RealtimeCapabilities {
            input_format,
            output_format,
        }
    }
}

/// Options of a realtime session.
#[derive(Debug, Clone, PartialEq, Default)]
#[non_exhaustive]
pub struct RealtimeOptions {
    /// System instructions.
    pub instructions: Option<String>,
    /// Tools the model may call.
    pub tools: Vec<ToolDefinition>,
    /// The voice.
    pub voice: Option<String>,
    /// The format the caller wants output audio in; `None` keeps the model's.
    pub output_format: Option<AudioFormat>,
    /// Let the provider detect turns (server VAD); otherwise the caller commits audio.
    pub server_turn_detection: bool,
}

impl RealtimeOptions {
    /// Sets the instructions.
    #[must_use]
    pub fn with_instructions(mut self, instructions: impl Into<String>) -> Self {
        self.instructions = Some(instructions.into());
        self
    }

    /// Sets the tools.
    #[must_use]
    pub fn with_tools(mut self, tools: Vec<ToolDefinition>) -> Self {
        self.tools = tools;
        self
    }

    /// Sets the voice.
    #[must_use]
    pub fn with_voice(mut self, voice: impl Into<String>) -> Self {
        self.voice = Some(voice.into());
        self
    }

    /// Asks for output audio in `format`.
    #[must_use]
    pub fn with_output_format(mut self, format: AudioFormat) -> Self {
        self.output_format = Some(format);
        self
    }

    /// Turns provider-side turn detection on or off.
    #[must_use]
    pub fn with_server_turn_detection(mut self, on: bool) -> Self {
        self.server_turn_detection = on;
        self
    }
}

/// How a model response ended.
#[non_exhaustive]
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ResponseStatus {
    /// Finished normally.
    Completed,
    /// Cancelled (interrupt or turn detected).
    Cancelled,
    /// Stopped early (token limit, content filter).
    Incomplete,
    /// Failed; the text is the provider's reason.
    Failed(String),
}

/// What a realtime session yields.
#[non_exhaustive]
#[derive(Debug, Clone, PartialEq)]
pub enum RealtimeEvent {
    /// The session is ready.
    SessionStarted,
    /// The provider heard the user start speaking.
    SpeechStarted,
    /// The provider heard the user stop speaking.
    SpeechStopped,
    /// A transcript of the user's audio.
    InputTranscript {
        /// The text.
        text: String,
        /// True for the final transcript of an utterance.
        is_final: bool,
    },
    /// A response began.
    ResponseStarted {
        /// The provider's response id.
        response_id: String,
    },
    /// Output audio, in the caller's format.
    Audio(AudioFrame),
    /// A piece of the transcript of the output audio (or of text output).
    OutputTranscriptDelta(String),
    /// A complete tool call; answer it with [`RealtimeSession::send_tool_result`].
    ToolCall(ToolCall),
    /// A response ended.
    ResponseDone {
        /// The provider's response id.
        response_id: String,
        /// How it ended.
        status: ResponseStatus,
        /// Tokens, when reported.
        usage: Option<TokenUsage>,
    },
    /// The connection dropped and was re-established with the session state restored.
    Reconnected,
    /// A recoverable problem the session survived (reported, not fatal).
    Warning(String),
}

/// What the caller sends into a realtime session.
#[non_exhaustive]
#[derive(Debug, Clone, PartialEq)]
pub enum RealtimeInput {
    /// Audio in the model's input format.
    Audio(AudioFrame),
    /// Commit the buffered audio as a user turn (manual turn detection).
    CommitAudio,
    /// A user text message.
    Text(String),
    /// Ask the model to respond now.
    CreateResponse,
    /// The result of a tool call; the model continues.
    ToolResult {
        /// The call's id.
        call_id: String,
        /// The result as text (usually JSON).
        output: String,
    },
    /// Stop the current response; `played` is how much of its audio the user heard, so that
    /// the provider's history keeps only that.
    Interrupt {
        /// Audio of the current response actually played.
        played: Option<Duration>,
    },
    /// Replace the instructions.
    UpdateInstructions(String),
}

/// A speech-to-speech model.
///
/// # Concurrency and cancellation
/// Shared; `connect` may be called concurrently and each session is independent. Dropping a
/// [`RealtimeSession`] closes its connection and ends its tasks.
#[async_trait]
pub trait Realtime: Send + Sync {
    /// Provider and model.
    fn info(&self) -> ProviderInfo;

    /// Formats.
    fn capabilities(&self) -> RealtimeCapabilities;

    /// Opens a session. Connect-phase failures come back here after retries.
    async fn connect(&self, options: &RealtimeOptions) -> Result<RealtimeSession>;
}

/// A live speech-to-speech session: audio, text and tool results in; audio, transcripts and
/// tool calls out.
///
/// # Contract
/// Input audio of any format is converted to the model's format; output audio is converted to
/// the caller's. After [`Self::interrupt`] no audio of the interrupted response is yielded.
/// Recoverable disconnects reconnect (yielding [`RealtimeEvent::Reconnected`]); others yield one
/// `Err` and end the stream. Dropping the session closes the connection.
#[derive(Debug)]
pub struct RealtimeSession {
    input: mpsc::Sender<RealtimeInput>,
    input_converter: AudioConverter,
    events: EventStream<RealtimeEvent>,
    output_converter: AudioConverter,
    pending: VecDeque<Result<RealtimeEvent>>,
    closed: bool,
    /// After an interrupt, audio of the interrupted response still in the channel is dropped
    /// until the next response starts.
    discard_audio: bool,
}

/// The plugin's side of a [`RealtimeSession`].
#[derive(Debug)]
#[non_exhaustive]
pub struct RealtimeBackend {
    /// Caller input, in order; audio is in the model's input format. `None` once the caller
    /// dropped the session.
    pub input: mpsc::Receiver<RealtimeInput>,
    /// Where events go (audio in the model's output format).
    pub events: EventSender<RealtimeEvent>,
}

impl RealtimeSession {
    /// Creates a session handle for a model with `capabilities`.
    #[must_use]
    pub fn channel(
        capabilities: &RealtimeCapabilities,
        options: &RealtimeOptions,
    ) -> (RealtimeSession, RealtimeBackend) {
        let (in_tx, in_rx) = mpsc::channel(DEFAULT_CHANNEL_CAPACITY);
        let (ev_tx, ev_rx) = event_channel(DEFAULT_CHANNEL_CAPACITY);
        (
            RealtimeSession {
                input: in_tx,
                input_converter: AudioConverter::new(capabilities.input_format),
                events: ev_rx,
                output_converter: AudioConverter::new(
                    options.output_format.unwrap_or(capabilities.output_format),
                ),
                pending: VecDeque::new(),
                closed: false,
                discard_audio: false,
            },
            RealtimeBackend {
                input: in_rx,
                events: ev_tx,
            },
        )
    }

    /// Pushes user audio of any format.
    pub async fn push_audio(&mut self, frame: AudioFrame) -> Result<()> {
        if frame.is_empty() {
            return Ok(());
        }
        if let Some(converted) = self.input_converter.convert(frame)? {
            self.send(RealtimeInput::Audio(converted)).await?;
        }
        Ok(())
    }

    /// Commits the buffered audio as a user turn.
    pub async fn commit_audio(&mut self) -> Result<()> {
        if let Some(tail) = self.input_converter.flush()? {
            self.send(RealtimeInput::Audio(tail)).await?;
        }
        self.send(RealtimeInput::CommitAudio).await
    }

    /// Sends a user text message.
    pub async fn send_text(&mut self, text: impl Into<String>) -> Result<()> {
        self.send(RealtimeInput::Text(text.into())).await
    }

    /// Asks for a response now.
    pub async fn create_response(&mut self) -> Result<()> {
        self.send(RealtimeInput::CreateResponse).await
    }

    /// Answers a tool call; the model continues.
    pub async fn send_tool_result(
        &mut self,
        call_id: impl Into<String>,
        output: impl Into<String>,
    ) -> Result<()> {
        self.send(RealtimeInput::ToolResult {
            call_id: call_id.into(),
            output: output.into(),
        })
        .await
    }

    /// Stops the current response at once: buffered output audio is discarded here, and the
    /// provider is told how much was played.
    pub async fn interrupt(&mut self, played: Option<Duration>) -> Result<()> {
        self.pending
            .retain(|e| !matches!(e, Ok(RealtimeEvent::Audio(_))));
        self.output_converter = AudioConverter::new(self.output_converter.target());
        self.discard_audio = true;
        self.send(RealtimeInput::Interrupt { played }).await
    }

    /// Replaces the instructions.
    pub async fn update_instructions(&mut self, instructions: impl Into<String>) -> Result<()> {
        self.send(RealtimeInput::UpdateInstructions(instructions.into()))
            .await
    }

    async fn send(&self, input: RealtimeInput) -> Result<()> {
        if self.closed {
            return Err(Error::closed("the realtime session has ended"));
        }
        self.input
            .send(input)
            .await
            .map_err(|_| Error::closed("the realtime session has ended"))
    }
}

impl Stream for RealtimeSession {
    type Item = Result<RealtimeEvent>;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        let this = &mut *self;
        loop {
            if let Some(item) = this.pending.pop_front() {
                return Poll::Ready(Some(item));
            }
            if this.closed {
                return Poll::Ready(None);
            }
            match Pin::new(&mut this.events).poll_next(cx) {
                Poll::Pending => return Poll::Pending,
                Poll::Ready(None) => {
                    this.closed = true;
                    if let Ok(Some(tail)) = this.output_converter.flush() {
                        this.pending.push_back(Ok(RealtimeEvent::Audio(tail)));
                    }
                }
                Poll::Ready(Some(Ok(RealtimeEvent::Audio(_)))) if this.discard_audio => {}
                Poll::Ready(Some(Ok(started @ RealtimeEvent::ResponseStarted { .. }))) => {
                    this.discard_audio = false;
                    return Poll::Ready(Some(Ok(started)));
                }
                Poll::Ready(Some(Ok(RealtimeEvent::Audio(frame)))) => {
                    match this.output_converter.convert(frame) {
                        Ok(Some(out)) => return Poll::Ready(Some(Ok(RealtimeEvent::Audio(out)))),
                        Ok(None) => {}
                        Err(e) => return Poll::Ready(Some(Err(e))),
                    }
                }
                Poll::Ready(Some(Ok(done @ RealtimeEvent::ResponseDone { .. }))) => {
                    if let Ok(Some(tail)) = this.output_converter.flush() {
                        this.pending.push_back(Ok(RealtimeEvent::Audio(tail)));
                    }
                    this.pending.push_back(Ok(done));
                }
                Poll::Ready(Some(Err(e))) => {
                    this.closed = true;
                    return Poll::Ready(Some(Err(e)));
                }
                Poll::Ready(Some(other)) => return Poll::Ready(Some(other)),
            }
        }
    }
}
