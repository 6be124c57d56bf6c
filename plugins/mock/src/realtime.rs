//! [`MockRealtime`]: an echoing speech-to-speech model.

use std::collections::VecDeque;
use std::time::Duration;

use agents_core::realtime::RealtimeBackend;
use agents_core::{
    AudioFormat, Error, ProviderInfo, Realtime, RealtimeCapabilities, RealtimeEvent, RealtimeInput,
    RealtimeOptions, RealtimeSession, ResponseStatus, Result, TokenUsage, ToolCall, async_trait,
};
use tokio::time::Instant;

use crate::audio::{Buzz, EnergyConfig, EnergySegmenter, Segment, speech_label};
use crate::faults::{CallPlan, Emitter, Faults, Script};

/// A deterministic speech-to-speech model.
///
/// - Audio in (16 kHz mono) is segmented by energy like [`crate::MockStt`]: speech start yields
///   `SpeechStarted`, speech end (or `commit_audio`) yields `SpeechStopped` and a final
///   `InputTranscript` (the next scripted transcript, else `"<speech 1.2s>"`), then a response.
/// - A text message is remembered; `create_response` answers the last one.
/// - A response is the next scripted reply, else `"You said: <transcript>"`: its transcript
///   word by word as `OutputTranscriptDelta`s, each followed by its buzz audio (24 kHz mono,
///   60 ms per character, in 20 ms frames, paced in real time by default), then `ResponseDone`.
/// - A scripted tool call (see [`MockRealtimeBuilder::tool_call`]) replaces the next response:
///   `ToolCall` then `ResponseDone`; the tool result starts a response
///   `"The result is <output>."`.
/// - `interrupt` stops the current response at once: no more of its audio, and
///   `ResponseDone` with status `Cancelled`.
#[derive(Debug, Clone)]
pub struct MockRealtime {
    config: RealtimeConfig,
    transcripts: Script<String>,
    replies: Script<String>,
    tool_calls: Script<ToolCall>,
    faults: Faults,
}

#[derive(Debug, Clone, PartialEq)]
struct RealtimeConfig {
    model: String,
    energy: EnergyConfig,
    latency: Duration,
    pacing: bool,
    per_char: Duration,
}

impl Default for RealtimeConfig {
    fn default() -> Self {
        RealtimeConfig {
            model: "mock-realtime".into(),
            energy: EnergyConfig::default(),
            latency: Duration::ZERO,
            pacing: true,
            per_char: Duration::from_millis(60),
        }
    }
}

/// Builds a [`MockRealtime`].
#[derive(Debug, Clone, Default)]
#[must_use]
pub struct MockRealtimeBuilder {
    config: RealtimeConfig,
    transcripts: Vec<String>,
    replies: Vec<String>,
    tool_calls: Vec<ToolCall>,
    faults: Faults,
}

impl MockRealtimeBuilder {
    /// The model name reported by `info()`.
    pub fn model(mut self, model: impl Into<String>) -> Self {
        self.config.model = model.into();
        self
    }

    /// Queues the transcript of the next user utterance.
    pub fn transcript(mut self, text: impl Into<String>) -> Self {
        self.transcripts.push(text.into());
        self
    }

    /// Queues the text of the next response.
    pub fn reply(mut self, text: impl Into<String>) -> Self {
        self.replies.push(text.into());
        self
    }

    /// Queues a tool call that replaces the next response (not counting responses to tool
    /// results).
    pub fn tool_call(mut self, call: ToolCall) -> Self {
        self.tool_calls.push(call);
        self
    }

    /// The RMS threshold of speech in input audio (default 0.02).
    pub fn energy_threshold(mut self, threshold: f32) -> Self {
        self.config.energy.threshold = threshold;
        self
    }

    /// Quiet audio that ends the user's speech (default 300 ms).
    pub fn min_silence(mut self, d: Duration) -> Self {
        self.config.energy.min_silence = d;
        self
    }

    /// Delay before `SessionStarted`.
    pub fn latency(mut self, d: Duration) -> Self {
        self.config.latency = d;
        self
    }

    /// Sends output audio in real time, one frame per frame duration (default on). Off sends
    /// it as fast as the caller reads.
    pub fn realtime_pacing(mut self, on: bool) -> Self {
        self.config.pacing = on;
        self
    }

    /// Fails the next `n` `connect` calls with `error`.
    pub fn fail_next(self, n: usize, error: Error) -> Self {
        self.faults.fail_next(n, error);
        self
    }

    /// Makes the next session fail after `items` events.
    pub fn fail_after(self, items: usize, error: Error) -> Self {
        self.faults.fail_after(items, error);
        self
    }

    /// Builds the mock; a bad threshold or tool call is an `InvalidInput` error.
    pub fn build(self) -> Result<MockRealtime> {
        self.config
            .energy
            .validate()
            .map_err(|e| e.with_provider("mock"))?;
        for call in &self.tool_calls {
            if let Err(e) = serde_json::from_str::<serde_json::Value>(&call.arguments) {
                return Err(Error::invalid_input(format!(
                    "scripted tool call `{}` has arguments that are not JSON: {e}",
                    call.name
                ))
                .with_provider("mock"));
            }
        }
        Ok(MockRealtime {
            config: self.config,
            transcripts: Script::new(self.transcripts, false),
            replies: Script::new(self.replies, false),
            tool_calls: Script::new(self.tool_calls, false),
            faults: self.faults,
        })
    }
}

impl Default for MockRealtime {
    fn default() -> Self {
        Self::new()
    }
}

impl MockRealtime {
    /// A mock with no script.
    #[must_use]
    pub fn new() -> Self {
        MockRealtime {
            config: RealtimeConfig::default(),
            transcripts: Script::new(Vec::new(), false),
            replies: Script::new(Vec::new(), false),
            tool_calls: Script::new(Vec::new(), false),
            faults: Faults::new(),
        }
    }

    /// A builder.
    pub fn builder() -> MockRealtimeBuilder {
        MockRealtimeBuilder::default()
    }

    /// The fault handle (shared with clones).
    #[must_use]
    pub fn faults(&self) -> &Faults {
        &self.faults
    }
}

#[async_trait]
impl Realtime for MockRealtime {
    fn info(&self) -> ProviderInfo {
        ProviderInfo::new("mock", self.config.model.clone())
    }

    fn capabilities(&self) -> RealtimeCapabilities {
        RealtimeCapabilities::new(AudioFormat::MONO_16K, AudioFormat::MONO_24K)
    }

    async fn connect(&self, options: &RealtimeOptions) -> Result<RealtimeSession> {
        let plan = self
            .faults
            .begin_call()
            .map_err(|e| e.with_provider("mock"))?;
        let (session, backend) = RealtimeSession::channel(&self.capabilities(), options);
        let task = Session {
            config: self.config.clone(),
            transcripts: self.transcripts.clone(),
            replies: self.replies.clone(),
            tool_calls: self.tool_calls.clone(),
            segmenter: EnergySegmenter::new(AudioFormat::MONO_16K, self.config.energy),
            last_user_text: String::new(),
            pending: VecDeque::new(),
            response: None,
            responses: 0,
            awaiting_tool: None,
        };
        tokio::spawn(task.run(backend, plan));
        Ok(session)
    }
}

struct Session {
    config: RealtimeConfig,
    transcripts: Script<String>,
    replies: Script<String>,
    tool_calls: Script<ToolCall>,
    segmenter: EnergySegmenter,
    last_user_text: String,
    pending: VecDeque<RealtimeEvent>,
    response: Option<String>,
    responses: usize,
    awaiting_tool: Option<String>,
}

impl Session {
    async fn run(mut self, backend: RealtimeBackend, plan: CallPlan) {
        let RealtimeBackend {
            mut input, events, ..
        } = backend;
        let mut out = Emitter::new(events, self.config.latency, plan);
        if out.emit(RealtimeEvent::SessionStarted).await.is_err() {
            return;
        }
        let mut next_at = Instant::now();
        loop {
            let has_output = !self.pending.is_empty();
            tokio::select! {
                biased;
                () = out.cancelled() => return,
                next = input.recv() => {
                    let Some(next) = next else { return };
                    if self.handle(next, &mut out).await.is_err() {
                        return;
                    }
                }
                () = tokio::time::sleep_until(next_at), if has_output => {
                    let Some(ev) = self.pending.pop_front() else { continue };
                    let pause = match &ev {
                        RealtimeEvent::Audio(f) if self.config.pacing => f.duration(),
                        _ => Duration::ZERO,
                    };
                    if let RealtimeEvent::ResponseDone { .. } = ev {
                        self.response = None;
                    }
                    if out.emit(ev).await.is_err() {
                        return;
                    }
                    next_at = Instant::now() + pause;
                }
            }
        }
    }

    async fn handle(
        &mut self,
        input: RealtimeInput,
        out: &mut Emitter<RealtimeEvent>,
    ) -> Result<()> {
        match input {
            RealtimeInput::Audio(frame) => {
                let found = self.segmenter.push(frame.samples());
                for s in found {
                    self.on_segment(s, out).await?;
                }
            }
            RealtimeInput::CommitAudio => match self.segmenter.flush() {
                Some(s) => self.on_segment(s, out).await?,
                None => {
                    out.emit(RealtimeEvent::Warning("no speech to commit".into()))
                        .await?;
                }
            },
            RealtimeInput::Text(text) => self.last_user_text = text,
            RealtimeInput::CreateResponse => {
                let text = self.last_user_text.clone();
                self.respond(&text);
            }
            RealtimeInput::ToolResult { call_id, output } => {
                if self.awaiting_tool.as_deref() == Some(call_id.as_str()) {
                    self.awaiting_tool = None;
                    self.speak(format!("The result is {output}."));
                } else {
                    out.emit(RealtimeEvent::Warning(format!(
                        "no tool call {call_id:?} is waiting for a result"
                    )))
                    .await?;
                }
            }
            RealtimeInput::Interrupt { .. } => self.interrupt(out).await?,
            _ => {}
        }
        Ok(())
    }

    async fn interrupt(&mut self, out: &mut Emitter<RealtimeEvent>) -> Result<()> {
        if let Some(id) = self.response.take() {
            self.pending.clear();
            out.emit(RealtimeEvent::ResponseDone {
                response_id: id,
                status: ResponseStatus::Cancelled,
                usage: None,
            })
            .await?;
        }
        Ok(())
    }

    async fn on_segment(&mut self, s: Segment, out: &mut Emitter<RealtimeEvent>) -> Result<()> {
        match s {
            Segment::Start(_) => {
                // barge-in: the user speaking cancels the current response
                self.interrupt(out).await?;
                out.emit(RealtimeEvent::SpeechStarted).await
            }
            Segment::Progress { .. } => Ok(()),
            Segment::End { start, end } => {
                out.emit(RealtimeEvent::SpeechStopped).await?;
                let text = self
                    .transcripts
                    .next()
                    .unwrap_or_else(|| speech_label(end - start));
                out.emit(RealtimeEvent::InputTranscript {
                    text: text.clone(),
                    is_final: true,
                })
                .await?;
                self.last_user_text = text.clone();
                self.respond(&text);
                Ok(())
            }
        }
    }

    fn begin_response(&mut self) -> String {
        self.responses += 1;
        let id = format!("resp_{}", self.responses);
        self.pending.clear();
        self.pending.push_back(RealtimeEvent::ResponseStarted {
            response_id: id.clone(),
        });
        self.response = Some(id.clone());
        id
    }

    fn respond(&mut self, user_text: &str) {
        if let Some(call) = self.tool_calls.next() {
            let id = self.begin_response();
            self.awaiting_tool = Some(call.id.clone());
            self.pending.push_back(RealtimeEvent::ToolCall(call));
            self.pending.push_back(RealtimeEvent::ResponseDone {
                response_id: id,
                status: ResponseStatus::Completed,
                usage: None,
            });
            return;
        }
        let text = self
            .replies
            .next()
            .unwrap_or_else(|| format!("You said: {user_text}"));
        self.speak(text);
    }

    fn speak(&mut self, text: String) {
        let id = self.begin_response();
        let buzz = Buzz::new(AudioFormat::MONO_24K, 150.0, 0.3);
        let words: Vec<&str> = text.split_whitespace().collect();
        for (i, w) in words.iter().enumerate() {
            let delta = if i == 0 {
                (*w).to_string()
            } else {
                format!(" {w}")
            };
            self.pending
                .push_back(RealtimeEvent::OutputTranscriptDelta(delta));
            let d = self.config.per_char * (w.chars().count() as u32 + 1);
            if let Ok(frames) = buzz.frames(d, Duration::from_millis(20)) {
                self.pending
                    .extend(frames.into_iter().map(RealtimeEvent::Audio));
            }
        }
        let tokens = words.len() as u32;
        self.pending.push_back(RealtimeEvent::ResponseDone {
            response_id: id,
            status: ResponseStatus::Completed,
            usage: Some(TokenUsage {
                prompt_tokens: 0,
                completion_tokens: tokens,
                cached_tokens: 0,
                total_tokens: tokens,
            }),
        });
    }
}
