//! [`AgentSession`]: a whole voice agent.
//!
//! Audio in -> VAD -> streaming STT -> end-of-turn decision -> LLM with tools and history ->
//! sentence tokenizer -> streaming TTS -> audio out, with barge-in, preemptive generation,
//! per-turn metrics and an event for every step.

mod options;
mod report;
mod speech;

use std::sync::{Arc, Mutex};
use std::time::Duration;

use agents_core::events::{AgentState, EventBus, EventSubscriber, SessionEvent};
use agents_core::stream::{AudioConverter, event_channel};
use agents_core::tools::{ToolLoopOptions, run_tool_loop};
use agents_core::{
    ChatContext, ChatMessage, ChatRequest, ChatStream, Error, Llm, Result, SpeechEventKind, Stt,
    SttStreamOptions, ToolRegistry, Tts, TurnDetector, Vad,
};
use futures_util::StreamExt;
use tokio::sync::mpsc;
use tokio::time::Instant;

pub use options::SessionOptions;
pub use report::{SessionReport, ToolCallReport, TurnMetrics, TurnReport};

use crate::adapters::{SttStreamAdapter, TtsStreamAdapter, VadFactory};
use crate::transport::{AudioInput, AudioOutput};
use crate::vad::{EarshotVad, VadEvent, VadSegmenter};
use speech::{SpeechHandle, SpeechJob, SpeechOutcome, SpeechSource};

enum Command {
    Say(String),
    GenerateReply,
}

struct Inner {
    instructions: Option<String>,
    stt: Option<Arc<dyn Stt>>,
    llm: Arc<dyn Llm>,
    tts: Option<Arc<dyn Tts>>,
    vad: VadFactory,
    turn_detector: Option<Arc<dyn TurnDetector>>,
    tools: ToolRegistry,
    options: SessionOptions,
    bus: EventBus,
    history: Mutex<ChatContext>,
    commands: mpsc::Sender<Command>,
    command_rx: Mutex<Option<mpsc::Receiver<Command>>>,
}

/// A voice agent session. Cheap to clone; clones share the session.
///
/// ```
/// use agents_runtime::AgentSession;
/// # fn build(llm: std::sync::Arc<dyn agents_core::Llm>, stt: std::sync::Arc<dyn agents_core::Stt>,
/// #          tts: std::sync::Arc<dyn agents_core::Tts>) -> agents_core::Result<AgentSession> {
/// AgentSession::builder()
///     .instructions("You are a helpful voice assistant. Answer briefly.")
///     .stt(stt)
///     .llm(llm)
///     .tts(tts)
///     .build()
/// # }
/// ```
///
/// # Concurrency and cancellation
/// [`AgentSession::run`] drives one conversation and may run once; [`AgentSession::say`],
/// [`AgentSession::generate_reply`] and [`AgentSession::events`] may be called from any task
/// while it runs. Dropping the `run` future stops the session: the providers' streams are
/// dropped, which closes their connections.
#[derive(Clone)]
pub struct AgentSession {
    inner: Arc<Inner>,
}

impl std::fmt::Debug for AgentSession {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AgentSession")
            .field("llm", &self.inner.llm.info())
            .field("stt", &self.inner.stt.as_ref().map(|s| s.info()))
            .field("tts", &self.inner.tts.as_ref().map(|t| t.info()))
            .field("options", &self.inner.options)
            .finish_non_exhaustive()
    }
}

/// Builds an [`AgentSession`].
#[must_use]
#[derive(Default)]
pub struct AgentSessionBuilder {
    instructions: Option<String>,
    stt: Option<Arc<dyn Stt>>,
    llm: Option<Arc<dyn Llm>>,
    tts: Option<Arc<dyn Tts>>,
    vad: Option<VadFactory>,
    turn_detector: Option<Arc<dyn TurnDetector>>,
    tools: ToolRegistry,
    options: SessionOptions,
    history: Option<ChatContext>,
}

impl std::fmt::Debug for AgentSessionBuilder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AgentSessionBuilder")
            .field("options", &self.options)
            .finish_non_exhaustive()
    }
}

impl AgentSessionBuilder {
    /// The system instructions.
    pub fn instructions(mut self, instructions: impl Into<String>) -> Self {
        self.instructions = Some(instructions.into());
        self
    }

    /// The speech-to-text provider. One that cannot stream is wrapped in a
    /// [`SttStreamAdapter`] with the session's VAD.
    pub fn stt(mut self, stt: Arc<dyn Stt>) -> Self {
        self.stt = Some(stt);
        self
    }

    /// The language model (required).
    pub fn llm(mut self, llm: Arc<dyn Llm>) -> Self {
        self.llm = Some(llm);
        self
    }

    /// The text-to-speech provider. One that cannot stream is wrapped in a
    /// [`TtsStreamAdapter`].
    pub fn tts(mut self, tts: Arc<dyn Tts>) -> Self {
        self.tts = Some(tts);
        self
    }

    /// The VAD; the default is [`EarshotVad`].
    pub fn vad(mut self, vad: VadFactory) -> Self {
        self.vad = Some(vad);
        self
    }

    /// A turn detector that decides between the minimum and maximum endpointing delay.
    pub fn turn_detector(mut self, detector: Arc<dyn TurnDetector>) -> Self {
        self.turn_detector = Some(detector);
        self
    }

    /// The tools the model may call.
    pub fn tools(mut self, tools: ToolRegistry) -> Self {
        self.tools = tools;
        self
    }

    /// Options.
    pub fn options(mut self, options: SessionOptions) -> Self {
        self.options = options;
        self
    }

    /// A history to continue from.
    pub fn history(mut self, history: ChatContext) -> Self {
        self.history = Some(history);
        self
    }

    /// Builds the session. The LLM is required; STT and TTS are required by
    /// [`AgentSession::run`] only.
    pub fn build(self) -> Result<AgentSession> {
        let llm = self
            .llm
            .ok_or_else(|| Error::invalid_input("an agent session needs an LLM: call .llm(..)"))?;
        let vad: VadFactory = self
            .vad
            .unwrap_or_else(|| Arc::new(|| Box::new(EarshotVad::new()) as Box<dyn Vad>));
        let stt = self.stt.map(|stt| {
            if stt.capabilities().streaming {
                stt
            } else {
                Arc::new(SttStreamAdapter::new(
                    stt,
                    vad.clone(),
                    self.options.vad.clone(),
                )) as Arc<dyn Stt>
            }
        });
        let tts = self.tts.map(|tts| {
            if tts.capabilities().streaming {
                tts
            } else {
                Arc::new(TtsStreamAdapter::new(tts)) as Arc<dyn Tts>
            }
        });
        let mut history = self.history.unwrap_or_default();
        if let Some(instructions) = &self.instructions {
            if !history
                .messages()
                .iter()
                .any(|m| m.role == agents_core::ChatRole::System)
            {
                history
                    .messages_mut()
                    .insert(0, ChatMessage::system(instructions.clone()));
            }
        }
        let (commands, command_rx) = mpsc::channel(16);
        Ok(AgentSession {
            inner: Arc::new(Inner {
                instructions: self.instructions,
                stt,
                llm,
                tts,
                vad,
                turn_detector: self.turn_detector,
                tools: self.tools,
                bus: EventBus::new(self.options.event_capacity),
                options: self.options,
                history: Mutex::new(history),
                commands,
                command_rx: Mutex::new(Some(command_rx)),
            }),
        })
    }
}

impl AgentSession {
    /// A builder.
    pub fn builder() -> AgentSessionBuilder {
        AgentSessionBuilder::default()
    }

    /// Subscribes to the session's events.
    #[must_use]
    pub fn events(&self) -> EventSubscriber {
        self.inner.bus.subscribe()
    }

    /// The session's event bus (to emit application events).
    #[must_use]
    pub fn event_bus(&self) -> &EventBus {
        &self.inner.bus
    }

    /// The system instructions.
    #[must_use]
    pub fn instructions(&self) -> Option<&str> {
        self.inner.instructions.as_deref()
    }

    /// The chat history so far.
    #[must_use]
    pub fn history(&self) -> ChatContext {
        self.inner
            .history
            .lock()
            .map(|h| h.clone())
            .unwrap_or_default()
    }

    /// Speaks `text` (queued behind a reply in progress). Fails when the session has ended.
    pub async fn say(&self, text: impl Into<String>) -> Result<()> {
        self.inner
            .commands
            .send(Command::Say(text.into()))
            .await
            .map_err(|_| Error::closed("the session has ended"))
    }

    /// Asks the model to speak now (a greeting, a follow-up) from the current history.
    pub async fn generate_reply(&self) -> Result<()> {
        self.inner
            .commands
            .send(Command::GenerateReply)
            .await
            .map_err(|_| Error::closed("the session has ended"))
    }

    /// Text-only mode: sends `text` as the user, runs tool rounds, appends everything to the
    /// history and returns the reply.
    pub async fn chat(&self, text: impl Into<String>) -> Result<String> {
        let mut context = self.history();
        context.push(ChatMessage::user(text.into()));
        let bus = self.inner.bus.clone();
        let options = ToolLoopOptions::default()
            .with_max_rounds(self.inner.options.max_tool_rounds)
            .with_per_call_timeout(self.inner.options.tool_timeout)
            .with_observer(move |e| {
                bus.emit(SessionEvent::from(e));
            });
        let outcome = run_tool_loop(
            self.inner.llm.as_ref(),
            ChatRequest::new(context),
            &self.inner.tools,
            options,
        )
        .await?;
        if let Ok(mut h) = self.inner.history.lock() {
            *h = outcome.context.clone();
        }
        if !outcome.text.is_empty() {
            self.inner.bus.emit(SessionEvent::LlmTextDelta {
                text: outcome.text.clone(),
            });
        }
        Ok(outcome.text)
    }

    /// Runs the voice conversation until `input` ends and the last reply has played; then
    /// finishes `output` and returns the report.
    pub async fn run(
        &self,
        input: Box<dyn AudioInput>,
        output: Box<dyn AudioOutput>,
    ) -> Result<SessionReport> {
        let commands = self
            .inner
            .command_rx
            .lock()
            .ok()
            .and_then(|mut c| c.take())
            .ok_or_else(|| Error::invalid_input("an agent session runs only once"))?;
        let stt = self.inner.stt.clone().ok_or_else(|| {
            Error::invalid_input("a voice session needs an STT provider: call .stt(..)")
        })?;
        let tts = self.inner.tts.clone().ok_or_else(|| {
            Error::invalid_input("a voice session needs a TTS provider: call .tts(..)")
        })?;
        let mut run = Run::new(self.inner.clone(), stt, tts, input, output, commands)?;
        run.run().await
    }
}

/// The user's turn in progress.
#[derive(Debug, Default)]
struct UserTurn {
    transcript: String,
    interim: String,
    speaking: bool,
    speech_ended_at: Option<Instant>,
    last_final_at: Option<Instant>,
}

impl UserTurn {
    fn words(&self) -> usize {
        self.transcript.split_whitespace().count() + self.interim.split_whitespace().count()
    }

    fn text(&self) -> String {
        self.transcript.trim().to_string()
    }
}

struct Preemptive {
    text: String,
    stream: Option<ChatStream>,
    started: Instant,
}

struct PendingReply {
    source: SpeechSource,
    user_text: String,
    user_speech_end: Option<Instant>,
    eou_delay: Option<Duration>,
    stt_delay: Option<Duration>,
}

struct ActiveSpeech {
    handle: SpeechHandle,
    user_text: String,
    turn: u64,
    eou_delay: Option<Duration>,
    stt_delay: Option<Duration>,
}

/// The state of one running conversation.
struct Run {
    inner: Arc<Inner>,
    stt: Arc<dyn Stt>,
    tts: Arc<dyn Tts>,
    input: Box<dyn AudioInput>,
    output: Arc<tokio::sync::Mutex<Box<dyn AudioOutput>>>,
    commands: mpsc::Receiver<Command>,
    segmenter: VadSegmenter,
    user: Option<UserTurn>,
    deadline: Option<Instant>,
    commit_on_final: bool,
    false_interruption_deadline: Option<Instant>,
    speech: Option<ActiveSpeech>,
    pending_reply: Option<PendingReply>,
    queued: std::collections::VecDeque<Command>,
    preemptive: Option<Preemptive>,
    turn: u64,
    report: SessionReport,
}

impl Run {
    fn new(
        inner: Arc<Inner>,
        stt: Arc<dyn Stt>,
        tts: Arc<dyn Tts>,
        input: Box<dyn AudioInput>,
        output: Box<dyn AudioOutput>,
        commands: mpsc::Receiver<Command>,
    ) -> Result<Self> {
        let segmenter = VadSegmenter::new((inner.vad)(), inner.options.vad.clone())?;
        Ok(Run {
            inner,
            stt,
            tts,
            input,
            output: Arc::new(tokio::sync::Mutex::new(output)),
            commands,
            segmenter,
            user: None,
            deadline: None,
            commit_on_final: false,
            false_interruption_deadline: None,
            speech: None,
            pending_reply: None,
            queued: Default::default(),
            preemptive: None,
            turn: 0,
            report: SessionReport::default(),
        })
    }

    fn emit(&self, event: SessionEvent) {
        self.inner.bus.emit(event);
    }

    fn report_error(&mut self, error: &Error, recoverable: bool, source: &str) {
        self.report.errors.push(format!("{source}: {error}"));
        self.emit(SessionEvent::Error {
            error: error.clone(),
            recoverable,
            source: source.to_string(),
        });
    }

    async fn run(&mut self) -> Result<SessionReport> {
        let stream = self.stt.stream(&SttStreamOptions::default()).await?;
        let (mut stt_in, mut stt_events) = stream.split();
        let mut input_converter = AudioConverter::new(stt_in.input_format());
        self.emit(SessionEvent::AgentStateChanged {
            old: AgentState::Initializing,
            new: AgentState::Listening,
        });
        let mut input_done = false;
        let mut stt_done = false;
        let mut commands_open = true;
        let mut vad_events = Vec::new();
        let stall = self.inner.options.stall_timeout;
        loop {
            if input_done
                && stt_done
                && self.speech.is_none()
                && self.pending_reply.is_none()
                && self.queued.is_empty()
                && self.deadline.is_none()
            {
                // Commit a last turn the STT finished after the input ended.
                if self
                    .user
                    .as_ref()
                    .map(|u| !u.text().is_empty())
                    .unwrap_or(false)
                {
                    self.commit_turn();
                    continue;
                }
                break;
            }
            let deadline = self.next_deadline();
            tokio::select! {
                frame = self.input.recv(), if !input_done => {
                    match frame {
                        Some(Ok(frame)) => {
                            self.report.input_duration += frame.duration();
                            // Convert once, to the STT's format: the VAD and the STT then share
                            // the conversion instead of resampling the same audio twice.
                            match input_converter.convert(frame) {
                                Ok(Some(frame)) => {
                                    if let Err(e) = self.segmenter.process(&frame, &mut vad_events) {
                                        self.report_error(&e, true, "vad");
                                    }
                                    let pushed = watch_stall(&self.inner.bus, "stt_input", stall, stt_in.push_frame(frame)).await;
                                    if let Err(e) = pushed {
                                        self.report_error(&e, false, "stt");
                                        input_done = true;
                                    }
                                }
                                Ok(None) => {}
                                Err(e) => {
                                    self.report_error(&e, false, "input");
                                    input_done = true;
                                }
                            }
                            for event in std::mem::take(&mut vad_events) {
                                self.on_vad(event);
                            }
                            self.check_interruption();
                        }
                        Some(Err(e)) => {
                            self.report_error(&e, false, "input");
                            input_done = true;
                        }
                        None => {
                            input_done = true;
                            if let Ok(Some(tail)) = input_converter.flush() {
                                if let Err(e) = self.segmenter.process(&tail, &mut vad_events) {
                                    self.report_error(&e, true, "vad");
                                }
                                if let Err(e) = stt_in.push_frame(tail).await {
                                    self.report_error(&e, false, "stt");
                                }
                            }
                            if let Err(e) = self.segmenter.flush(&mut vad_events) {
                                self.report_error(&e, true, "vad");
                            }
                            for event in std::mem::take(&mut vad_events) {
                                self.on_vad(event);
                            }
                            if let Err(e) = stt_in.end_input().await {
                                if !e.is_closed() {
                                    self.report_error(&e, false, "stt");
                                }
                            }
                        }
                    }
                }
                event = stt_events.next(), if !stt_done => {
                    match event {
                        Some(Ok(event)) => self.on_stt(event).await,
                        Some(Err(e)) => {
                            self.report_error(&e, false, "stt");
                            stt_done = true;
                        }
                        None => stt_done = true,
                    }
                }
                outcome = async {
                    match self.speech.as_mut() {
                        Some(s) => s.handle.done().await.ok(),
                        None => std::future::pending().await,
                    }
                }, if self.speech.is_some() => {
                    self.finish_speech(outcome.unwrap_or_default());
                }
                command = self.commands.recv(), if commands_open => {
                    match command {
                        Some(c) => {
                            self.queued.push_back(c);
                            self.start_pending();
                        }
                        None => commands_open = false,
                    }
                }
                _ = sleep_until_opt(deadline), if deadline.is_some() => {
                    self.on_deadline().await;
                }
            }
        }
        let mut output = self.output.lock().await;
        output.finish().await?;
        self.report.output_duration = output.played();
        self.report.history = self
            .inner
            .history
            .lock()
            .map(|h| h.messages().to_vec())
            .unwrap_or_default();
        Ok(std::mem::take(&mut self.report))
    }

    fn next_deadline(&self) -> Option<Instant> {
        match (self.deadline, self.false_interruption_deadline) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        }
    }

    fn on_vad(&mut self, event: VadEvent) {
        match event {
            VadEvent::SpeechStarted { .. } => {
                if self.user.is_none() {
                    self.emit(SessionEvent::UserTurnStarted);
                }
                let user = self.user.get_or_insert_with(UserTurn::default);
                user.speaking = true;
                user.speech_ended_at = None;
                self.deadline = None;
                self.commit_on_final = false;
                self.false_interruption_deadline = None;
                if let Some(p) = self.preemptive.take() {
                    tracing::debug!(text = %p.text, "user went on: preemptive reply discarded");
                    self.report.preemptive_discarded += 1;
                }
                if self.inner.options.allow_interruptions {
                    if let Some(speech) = &self.speech {
                        speech.handle.pause();
                    }
                }
            }
            VadEvent::SpeechEnded { at, .. } => {
                // The VAD decides after its minimum silence: date the end to the first silent
                // frame, on the wall clock.
                let lag = self.segmenter.elapsed().saturating_sub(at);
                let now = Instant::now();
                let now = now.checked_sub(lag).unwrap_or(now);
                if let Some(user) = self.user.as_mut() {
                    user.speaking = false;
                    user.speech_ended_at = Some(now);
                }
                if let Some(speech) = &self.speech {
                    if speech.handle.is_paused() {
                        // Speech that paused the agent ended without interrupting it: wait
                        // briefly for words, then resume.
                        self.false_interruption_deadline =
                            Some(now + self.inner.options.false_interruption_timeout);
                    }
                }
                self.schedule_end_of_turn(now);
            }
        }
    }

    /// Confirms an interruption once the user's speech is long enough and has enough words.
    fn check_interruption(&mut self) {
        let Some(speech) = &self.speech else { return };
        if !speech.handle.is_paused() {
            return;
        }
        let words = self.user.as_ref().map(UserTurn::words).unwrap_or(0);
        let long_enough = self.segmenter.speech_duration()
            >= self.inner.options.min_interruption_duration
            || self.false_interruption_deadline.is_some();
        if long_enough && words >= self.inner.options.min_interruption_words {
            if self.inner.options.min_interruption_words == 0
                && self.false_interruption_deadline.is_some()
                && words == 0
            {
                return;
            }
            speech.handle.interrupt();
            self.false_interruption_deadline = None;
            self.report.interruptions += 1;
        }
    }

    async fn on_stt(&mut self, event: agents_core::SpeechEvent) {
        self.emit(SessionEvent::UserTranscript(event.clone()));
        match event.kind {
            SpeechEventKind::Interim => {
                let user = self.user.get_or_insert_with(UserTurn::default);
                user.interim = event.text().to_string();
                self.check_interruption();
            }
            SpeechEventKind::Final => {
                let text = event.text().trim().to_string();
                if text.is_empty() {
                    return;
                }
                let user = self.user.get_or_insert_with(UserTurn::default);
                if !user.transcript.is_empty() {
                    user.transcript.push(' ');
                }
                user.transcript.push_str(&text);
                user.interim.clear();
                user.last_final_at = Some(Instant::now());
                self.check_interruption();
                let speaking = self.user.as_ref().map(|u| u.speaking).unwrap_or(false);
                if self.commit_on_final && !speaking {
                    self.commit_on_final = false;
                    self.end_turn_if_done().await;
                    return;
                }
                if !speaking {
                    self.start_preemptive();
                    if let Some(ended) = self.user.as_ref().and_then(|u| u.speech_ended_at) {
                        self.schedule_end_of_turn(ended);
                    }
                }
            }
            SpeechEventKind::EndOfSpeech => {
                let speaking = self.user.as_ref().map(|u| u.speaking).unwrap_or(false);
                if !speaking && self.deadline.is_none() {
                    let at = self
                        .user
                        .as_ref()
                        .and_then(|u| u.speech_ended_at)
                        .unwrap_or_else(Instant::now);
                    self.schedule_end_of_turn(at);
                }
            }
            _ => {}
        }
    }

    /// Sets the end-of-turn deadline after the user stopped speaking at `ended`.
    fn schedule_end_of_turn(&mut self, ended: Instant) {
        let Some(user) = &self.user else { return };
        if user.speaking {
            return;
        }
        if self
            .speech
            .as_ref()
            .map(|s| !s.handle.is_paused())
            .unwrap_or(false)
        {
            // The agent is talking and was not interrupted: this speech was a false start.
            return;
        }
        let delay = self.inner.options.min_endpointing_delay;
        let deadline = ended + delay;
        self.deadline = Some(self.deadline.map_or(deadline, |d| d.max(deadline)));
    }

    async fn on_deadline(&mut self) {
        let now = Instant::now();
        if let Some(fi) = self.false_interruption_deadline {
            if fi <= now {
                self.false_interruption_deadline = None;
                let words = self.user.as_ref().map(UserTurn::words).unwrap_or(0);
                if let Some(speech) = &self.speech {
                    if speech.handle.is_paused() && words == 0 {
                        speech.handle.resume();
                        self.report.false_interruptions += 1;
                        self.user = None;
                        self.deadline = None;
                    }
                }
            }
        }
        let Some(deadline) = self.deadline else {
            return;
        };
        if deadline > now {
            return;
        }
        self.deadline = None;
        self.end_turn_if_done().await;
    }

    /// The endpointing delay passed: commit the user's turn, unless the transcript is not
    /// there yet (then commit when it comes) or the turn detector expects more words (then
    /// wait up to the maximum delay).
    async fn end_turn_if_done(&mut self) {
        let now = Instant::now();
        let Some(user) = &self.user else { return };
        if user.speaking {
            return;
        }
        let text = user.text();
        if text.is_empty() {
            // The STT has not delivered yet: commit as soon as it does.
            self.commit_on_final = true;
            return;
        }
        // Ask the turn detector whether the user is done; if not, wait up to the maximum delay.
        if let Some(detector) = self.inner.turn_detector.clone() {
            let ended = user.speech_ended_at.unwrap_or(now);
            let waited = now.saturating_duration_since(ended);
            if waited < self.inner.options.max_endpointing_delay {
                let mut ctx = self.history();
                ctx.push(ChatMessage::user(text.clone()));
                match detector.end_of_turn_probability(&ctx).await {
                    Ok(p) if p < detector.threshold() => {
                        self.deadline = Some(ended + self.inner.options.max_endpointing_delay);
                        return;
                    }
                    Ok(_) => {}
                    Err(e) => self.report_error(&e, true, "turn_detector"),
                }
            }
        }
        self.commit_turn();
    }

    fn history(&self) -> ChatContext {
        self.inner
            .history
            .lock()
            .map(|h| h.clone())
            .unwrap_or_default()
    }

    fn start_preemptive(&mut self) {
        if !self.inner.options.preemptive_generation || self.speech.is_some() {
            return;
        }
        let Some(text) = self.user.as_ref().map(UserTurn::text) else {
            return;
        };
        if text.is_empty()
            || self
                .preemptive
                .as_ref()
                .map(|p| p.text == text)
                .unwrap_or(false)
        {
            return;
        }
        if self.preemptive.take().is_some() {
            self.report.preemptive_discarded += 1;
        }
        let mut ctx = self.history();
        ctx.push(ChatMessage::user(text.clone()));
        let request = ChatRequest::new(ctx).with_tools(self.inner.tools.definitions());
        let llm = self.inner.llm.clone();
        let (tx, rx) = event_channel(4096);
        tokio::spawn(async move {
            let mut stream = match llm.chat(request).await {
                Ok(s) => s,
                Err(e) => {
                    let _ = tx.send_error(e).await;
                    return;
                }
            };
            loop {
                let item = tokio::select! {
                    _ = tx.cancelled() => return,
                    item = stream.next() => item,
                };
                let Some(item) = item else { return };
                if tx.send_result(item).await.is_err() {
                    return;
                }
            }
        });
        self.preemptive = Some(Preemptive {
            text,
            stream: Some(rx.boxed()),
            started: Instant::now(),
        });
    }

    /// The user's turn is over: add it to the history and reply.
    fn commit_turn(&mut self) {
        let Some(user) = self.user.take() else { return };
        self.deadline = None;
        self.commit_on_final = false;
        let text = user.text();
        if text.is_empty() {
            return;
        }
        let now = Instant::now();
        let eou_delay = user
            .speech_ended_at
            .map(|e| now.saturating_duration_since(e));
        let stt_delay = match (user.speech_ended_at, user.last_final_at) {
            (Some(e), Some(f)) => Some(f.saturating_duration_since(e)),
            _ => None,
        };
        self.emit(SessionEvent::UserTurnEnded);
        let context = {
            let Ok(mut h) = self.inner.history.lock() else {
                return;
            };
            h.push(ChatMessage::user(text.clone()));
            h.clone()
        };
        // A reply still playing (paused by this speech) is replaced.
        if let Some(speech) = &self.speech {
            speech.handle.interrupt();
        }
        let first_round = match self.preemptive.take() {
            Some(mut p) if p.text == text => p.stream.take().map(|s| (s, p.started)),
            Some(_) => {
                self.report.preemptive_discarded += 1;
                None
            }
            None => None,
        };
        let source = SpeechSource::Reply {
            context,
            first_round,
        };
        self.pending_reply = Some(PendingReply {
            source,
            user_text: text,
            user_speech_end: user.speech_ended_at,
            eou_delay,
            stt_delay,
        });
        self.start_pending();
    }

    /// Starts the next speech when none is playing: a user reply first, then queued commands.
    fn start_pending(&mut self) {
        if self.speech.is_some() {
            return;
        }
        let pending = if let Some(reply) = self.pending_reply.take() {
            reply
        } else if let Some(command) = self.queued.pop_front() {
            let source = match command {
                Command::Say(text) => SpeechSource::Text(text),
                Command::GenerateReply => SpeechSource::Reply {
                    context: self.history(),
                    first_round: None,
                },
            };
            PendingReply {
                source,
                user_text: String::new(),
                user_speech_end: None,
                eou_delay: None,
                stt_delay: None,
            }
        } else {
            return;
        };
        self.turn += 1;
        let job = SpeechJob {
            source: pending.source,
            llm: self.inner.llm.clone(),
            tts: self.tts.clone(),
            tools: self.inner.tools.clone(),
            output: self.output.clone(),
            bus: self.inner.bus.clone(),
            max_tool_rounds: self.inner.options.max_tool_rounds.max(1),
            tool_timeout: self.inner.options.tool_timeout,
            stall_timeout: self.inner.options.stall_timeout,
            user_speech_end: pending.user_speech_end,
        };
        self.emit(SessionEvent::AgentTurnStarted);
        self.emit(SessionEvent::AgentStateChanged {
            old: AgentState::Listening,
            new: AgentState::Thinking,
        });
        self.speech = Some(ActiveSpeech {
            handle: SpeechHandle::spawn(job),
            user_text: pending.user_text,
            turn: self.turn,
            eou_delay: pending.eou_delay,
            stt_delay: pending.stt_delay,
        });
    }

    /// A speech ended (finished, interrupted or failed): record it and start the next.
    fn finish_speech(&mut self, outcome: SpeechOutcome) {
        let Some(active) = self.speech.take() else {
            return;
        };
        if let Ok(mut h) = self.inner.history.lock() {
            for m in &outcome.messages {
                h.push(m.clone());
            }
        }
        if let Some(error) = &outcome.error {
            self.report_error(error, true, "agent_reply");
        }
        let mut metrics = outcome.metrics;
        metrics.end_of_utterance_delay = active.eou_delay;
        metrics.stt_final_delay = active.stt_delay;
        self.emit(SessionEvent::Metrics(metrics.to_metrics(active.turn)));
        self.emit(SessionEvent::AgentTurnEnded {
            interrupted: outcome.interrupted,
        });
        self.emit(SessionEvent::AgentStateChanged {
            old: AgentState::Speaking,
            new: AgentState::Listening,
        });
        self.report.turns.push(TurnReport {
            turn: active.turn,
            user_text: active.user_text,
            agent_text: outcome.played_text,
            interrupted: outcome.interrupted,
            tool_calls: outcome.tool_calls,
            metrics,
        });
        self.start_pending();
    }
}

async fn sleep_until_opt(deadline: Option<Instant>) {
    match deadline {
        Some(d) => tokio::time::sleep_until(d).await,
        None => std::future::pending().await,
    }
}

/// Awaits `fut`, reporting `stage` as stalled on the bus each time it waits longer than
/// `stall`.
async fn watch_stall<T>(
    bus: &EventBus,
    stage: &str,
    stall: Duration,
    fut: impl std::future::Future<Output = T>,
) -> T {
    let started = Instant::now();
    tokio::pin!(fut);
    loop {
        match tokio::time::timeout(stall, &mut fut).await {
            Ok(v) => return v,
            Err(_) => {
                tracing::warn!(stage, waited = ?started.elapsed(), "stage stalled");
                bus.emit(SessionEvent::StageStalled {
                    stage: stage.to_string(),
                    waited: started.elapsed(),
                });
            }
        }
    }
}
