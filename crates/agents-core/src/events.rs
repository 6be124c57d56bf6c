//! A typed per-session event bus: every stage reports what it does on one [`EventBus`].
//!
//! ```
//! use agents_core::events::{AgentState, EventBus, Received, SessionEvent};
//!
//! # tokio::runtime::Builder::new_current_thread().build().unwrap().block_on(async {
//! let bus = EventBus::new(64);
//! bus.emit(SessionEvent::UserTurnStarted); // nobody listens yet: dropped, no error
//! let mut events = bus.subscribe();
//! bus.emit(SessionEvent::AgentStateChanged { old: AgentState::Listening, new: AgentState::Thinking });
//! match events.recv().await {
//!     Some(Received::Event(SessionEvent::AgentStateChanged { new, .. })) => assert_eq!(new, AgentState::Thinking),
//!     other => panic!("{other:?}"),
//! }
//! # });
//! ```

use std::collections::BTreeMap;
use std::fmt;
use std::time::Duration;

use futures_util::StreamExt as _;
use futures_util::stream::BoxStream;
use tokio::sync::broadcast;

use crate::audio::AudioFrame;
use crate::error::Error;
use crate::types::{SpeechEvent, ToolCall};

/// What the agent is doing.
#[non_exhaustive]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum AgentState {
    /// Starting up.
    Initializing,
    /// Waiting for the user to speak.
    Listening,
    /// Waiting for the model's reply.
    Thinking,
    /// Playing its reply.
    Speaking,
}

impl fmt::Display for AgentState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            AgentState::Initializing => "initializing",
            AgentState::Listening => "listening",
            AgentState::Thinking => "thinking",
            AgentState::Speaking => "speaking",
        })
    }
}

/// Measurements of one stage: named durations (latencies) and named counters (tokens,
/// characters, audio milliseconds), optionally for one turn.
///
/// ```
/// use agents_core::events::Metrics;
/// use std::time::Duration;
///
/// let m = Metrics::new("llm")
///     .with_turn(3)
///     .with_duration("ttft", Duration::from_millis(180))
///     .with_counter("completion_tokens", 42);
/// assert_eq!(m.duration("ttft"), Some(Duration::from_millis(180)));
/// assert_eq!(m.counter("completion_tokens"), Some(42));
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Default)]
#[non_exhaustive]
pub struct Metrics {
    /// The stage (`"stt"`, `"llm"`, `"tts"`, `"vad"`, `"turn"`) or provider that measured.
    pub stage: String,
    /// The turn the measurements belong to, when they belong to one.
    pub turn: Option<u64>,
    /// Named durations (`"ttfb"`, `"ttft"`, `"duration"`, `"end_of_utterance_delay"`).
    pub durations: BTreeMap<String, Duration>,
    /// Named counters (`"prompt_tokens"`, `"characters"`, `"audio_ms"`).
    pub counters: BTreeMap<String, u64>,
}

impl Metrics {
    /// Empty metrics of `stage`.
    pub fn new(stage: impl Into<String>) -> Self {
        Metrics {
            stage: stage.into(),
            ..Default::default()
        }
    }

    /// Sets the turn.
    #[must_use]
    pub fn with_turn(mut self, turn: u64) -> Self {
        self.turn = Some(turn);
        self
    }

    /// Sets a duration.
    #[must_use]
    pub fn with_duration(mut self, name: impl Into<String>, value: Duration) -> Self {
        self.durations.insert(name.into(), value);
        self
    }

    /// Sets a counter.
    #[must_use]
    pub fn with_counter(mut self, name: impl Into<String>, value: u64) -> Self {
        self.counters.insert(name.into(), value);
        self
    }

    /// A duration by name.
    #[must_use]
    pub fn duration(&self, name: &str) -> Option<Duration> {
        self.durations.get(name).copied()
    }

    /// A counter by name.
    #[must_use]
    pub fn counter(&self, name: &str) -> Option<u64> {
        self.counters.get(name).copied()
    }
}

/// Something that happened in a session.
///
/// New variants may be added in minor releases; plugins add their own with
/// [`SessionEvent::Custom`].
#[non_exhaustive]
#[derive(Debug, Clone)]
pub enum SessionEvent {
    /// A transcript event from speech-to-text (interim or final).
    UserTranscript(SpeechEvent),
    /// The user started speaking.
    UserTurnStarted,
    /// The user's turn is over.
    UserTurnEnded,
    /// The agent started its reply.
    AgentTurnStarted,
    /// The agent's reply ended.
    AgentTurnEnded {
        /// True when the user cut it short (barge-in).
        interrupted: bool,
    },
    /// A piece of the model's reply text.
    LlmTextDelta {
        /// The text.
        text: String,
    },
    /// A tool call is about to run.
    ToolCallStarted {
        /// The call.
        call: ToolCall,
    },
    /// A tool call finished.
    ToolCallFinished {
        /// The call's id.
        call_id: String,
        /// The tool's name.
        name: String,
        /// The text sent back to the model.
        output: String,
        /// True when the call failed.
        is_error: bool,
        /// How long it ran.
        duration: Duration,
    },
    /// Synthesized audio about to be played. Each subscriber gets a copy of the frame (a 20 ms
    /// frame at 24 kHz is under 1 KB).
    TtsAudio {
        /// The audio.
        frame: AudioFrame,
    },
    /// The agent's state changed.
    AgentStateChanged {
        /// The previous state.
        old: AgentState,
        /// The new state.
        new: AgentState,
    },
    /// A stage or provider failed.
    Error {
        /// What went wrong.
        error: Error,
        /// True when the session goes on (a retry, a fallback); false when the stage stopped.
        recoverable: bool,
        /// The stage or provider that failed (`"stt"`, `"deepgram"`).
        source: String,
    },
    /// Measurements of a stage.
    Metrics(Metrics),
    /// A stage has not made progress for `waited` (a full queue, a silent provider).
    StageStalled {
        /// The stage.
        stage: String,
        /// How long it has waited.
        waited: Duration,
    },
    /// An event defined by a plugin or the application.
    Custom {
        /// Who emitted it (a plugin's name).
        source: String,
        /// The event's name.
        name: String,
        /// Its data.
        payload: serde_json::Value,
    },
}

impl SessionEvent {
    /// A short name of the variant (`"user_transcript"`, `"tool_call_finished"`, ...), for logs
    /// and filters.
    #[must_use]
    pub fn name(&self) -> &'static str {
        match self {
            SessionEvent::UserTranscript(_) => "user_transcript",
            SessionEvent::UserTurnStarted => "user_turn_started",
            SessionEvent::UserTurnEnded => "user_turn_ended",
            SessionEvent::AgentTurnStarted => "agent_turn_started",
            SessionEvent::AgentTurnEnded { .. } => "agent_turn_ended",
            SessionEvent::LlmTextDelta { .. } => "llm_text_delta",
            SessionEvent::ToolCallStarted { .. } => "tool_call_started",
            SessionEvent::ToolCallFinished { .. } => "tool_call_finished",
            SessionEvent::TtsAudio { .. } => "tts_audio",
            SessionEvent::AgentStateChanged { .. } => "agent_state_changed",
            SessionEvent::Error { .. } => "error",
            SessionEvent::Metrics(_) => "metrics",
            SessionEvent::StageStalled { .. } => "stage_stalled",
            SessionEvent::Custom { .. } => "custom",
        }
    }
}

impl From<&crate::tools::ToolEvent> for SessionEvent {
    fn from(event: &crate::tools::ToolEvent) -> Self {
        match event {
            crate::tools::ToolEvent::Started(call) => {
                SessionEvent::ToolCallStarted { call: call.clone() }
            }
            crate::tools::ToolEvent::Finished(r) => SessionEvent::ToolCallFinished {
                call_id: r.call_id.clone(),
                name: r.name.clone(),
                output: r.output.clone(),
                is_error: r.is_error,
                duration: r.duration,
            },
        }
    }
}

/// A bounded, typed broadcast of [`SessionEvent`]s for one session.
///
/// `emit` never blocks and never fails: with nobody listening the event is dropped; a
/// subscriber that falls more than `capacity` events behind loses the oldest ones and is told
/// how many ([`Received::Lagged`]). Cloning gives another handle to the same bus; subscribers
/// see the end ([`EventSubscriber::recv`] returns `None`) once every handle is dropped.
///
/// ```
/// use agents_core::events::{EventBus, Received, SessionEvent};
/// use agents_core::tools::ToolCallOptions;
///
/// // forward tool calls of the tool loop to the bus
/// let bus = EventBus::new(16);
/// let sink = bus.clone();
/// let _opts = ToolCallOptions::default().with_observer(move |e| { sink.emit(e.into()); });
/// assert_eq!(bus.subscriber_count(), 0);
/// ```
#[derive(Debug, Clone)]
pub struct EventBus {
    tx: broadcast::Sender<SessionEvent>,
}

impl EventBus {
    /// A bus keeping up to `capacity` events per slow subscriber (at least 1).
    #[must_use]
    pub fn new(capacity: usize) -> Self {
        let (tx, _) = broadcast::channel(capacity.max(1));
        EventBus { tx }
    }

    /// Sends `event` to every subscriber; returns how many there are (0: dropped).
    pub fn emit(&self, event: SessionEvent) -> usize {
        self.tx.send(event).unwrap_or(0)
    }

    /// A new subscriber that sees every event emitted from now on.
    #[must_use]
    pub fn subscribe(&self) -> EventSubscriber {
        EventSubscriber {
            rx: self.tx.subscribe(),
            missed: 0,
        }
    }

    /// Number of live subscribers.
    #[must_use]
    pub fn subscriber_count(&self) -> usize {
        self.tx.receiver_count()
    }
}

impl Default for EventBus {
    /// A bus with capacity 256.
    fn default() -> Self {
        EventBus::new(256)
    }
}

/// What [`EventSubscriber::recv`] gives.
#[non_exhaustive]
#[derive(Debug, Clone)]
pub enum Received {
    /// The next event.
    Event(SessionEvent),
    /// The subscriber fell behind and `missed` events were lost; the next call goes on with
    /// the oldest event still kept.
    Lagged {
        /// How many events were lost.
        missed: u64,
    },
}

impl Received {
    /// The event, if this is one.
    #[must_use]
    pub fn event(self) -> Option<SessionEvent> {
        match self {
            Received::Event(e) => Some(e),
            Received::Lagged { .. } => None,
        }
    }
}

/// One subscriber of an [`EventBus`].
#[derive(Debug)]
pub struct EventSubscriber {
    rx: broadcast::Receiver<SessionEvent>,
    missed: u64,
}

impl EventSubscriber {
    /// The next event, or how many were missed; `None` once every bus handle is dropped and
    /// the kept events are read.
    ///
    /// Cancel safe.
    pub async fn recv(&mut self) -> Option<Received> {
        match self.rx.recv().await {
            Ok(event) => Some(Received::Event(event)),
            Err(broadcast::error::RecvError::Lagged(n)) => {
                self.missed += n;
                Some(Received::Lagged { missed: n })
            }
            Err(broadcast::error::RecvError::Closed) => None,
        }
    }

    /// Like [`EventSubscriber::recv`] without waiting: `None` when nothing is ready or the bus
    /// is closed.
    pub fn try_recv(&mut self) -> Option<Received> {
        match self.rx.try_recv() {
            Ok(event) => Some(Received::Event(event)),
            Err(broadcast::error::TryRecvError::Lagged(n)) => {
                self.missed += n;
                Some(Received::Lagged { missed: n })
            }
            Err(_) => None,
        }
    }

    /// The total number of events this subscriber missed so far.
    #[must_use]
    pub fn missed(&self) -> u64 {
        self.missed
    }

    /// The subscriber as a stream of [`Received`], ending when the bus closes.
    pub fn into_stream(self) -> BoxStream<'static, Received> {
        futures_util::stream::unfold(
            self,
            |mut sub| async move { sub.recv().await.map(|r| (r, sub)) },
        )
        .boxed()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::audio::AudioFormat;

    #[tokio::test]
    async fn emit_without_subscribers_is_fine() {
        let bus = EventBus::new(4);
        assert_eq!(bus.emit(SessionEvent::UserTurnStarted), 0);
        let mut sub = bus.subscribe();
        assert_eq!(bus.emit(SessionEvent::UserTurnEnded), 1);
        let got = sub.recv().await.unwrap().event().unwrap();
        assert_eq!(got.name(), "user_turn_ended");
        assert!(sub.try_recv().is_none());
    }

    #[tokio::test]
    async fn every_subscriber_gets_every_event_in_order() {
        let bus = EventBus::new(16);
        let mut a = bus.subscribe();
        let mut b = bus.subscribe();
        for i in 0..5 {
            bus.emit(SessionEvent::LlmTextDelta {
                text: i.to_string(),
            });
        }
        for sub in [&mut a, &mut b] {
            for i in 0..5 {
                match sub.recv().await {
                    Some(Received::Event(SessionEvent::LlmTextDelta { text })) => {
                        assert_eq!(text, i.to_string())
                    }
                    other => panic!("{other:?}"),
                }
            }
        }
    }

    #[tokio::test]
    async fn slow_subscriber_is_told_how_many_it_missed() {
        let bus = EventBus::new(4);
        let mut slow = bus.subscribe();
        for i in 0..10u64 {
            bus.emit(SessionEvent::Metrics(
                Metrics::new("test").with_counter("i", i),
            ));
        }
        match slow.recv().await {
            Some(Received::Lagged { missed }) => assert_eq!(missed, 6),
            other => panic!("{other:?}"),
        }
        assert_eq!(slow.missed(), 6);
        // then the 4 newest
        for i in 6..10u64 {
            match slow.recv().await {
                Some(Received::Event(SessionEvent::Metrics(m))) => {
                    assert_eq!(m.counter("i"), Some(i))
                }
                other => panic!("{other:?}"),
            }
        }
    }

    #[tokio::test]
    async fn closes_when_the_bus_is_dropped() {
        let bus = EventBus::new(4);
        let clone = bus.clone();
        let mut sub = bus.subscribe();
        bus.emit(SessionEvent::Error {
            error: Error::timeout("stt idle").with_provider("deepgram"),
            recoverable: true,
            source: "stt".into(),
        });
        drop(bus);
        assert!(matches!(
            sub.recv().await,
            Some(Received::Event(SessionEvent::Error {
                recoverable: true,
                ..
            }))
        ));
        drop(clone);
        assert!(sub.recv().await.is_none());
    }

    #[tokio::test]
    async fn stream_adapter() {
        let bus = EventBus::new(8);
        let stream = bus.subscribe().into_stream();
        bus.emit(SessionEvent::Custom {
            source: "my-plugin".into(),
            name: "face_detected".into(),
            payload: serde_json::json!({"count": 2}),
        });
        bus.emit(SessionEvent::TtsAudio {
            frame: AudioFrame::silence(AudioFormat::MONO_24K, Duration::from_millis(20)).unwrap(),
        });
        bus.emit(SessionEvent::StageStalled {
            stage: "tts".into(),
            waited: Duration::from_secs(2),
        });
        drop(bus);
        let names: Vec<&str> = stream
            .filter_map(|r| async move { r.event() })
            .map(|e| e.name())
            .collect()
            .await;
        assert_eq!(names, vec!["custom", "tts_audio", "stage_stalled"]);
    }

    #[tokio::test]
    async fn tool_events_convert() {
        let bus = EventBus::new(8);
        let mut sub = bus.subscribe();
        let sink = bus.clone();
        let tools = crate::tools::ToolRegistry::new().with_fn(
            "ping",
            "Ping",
            |_: serde_json::Map<String, serde_json::Value>| async { crate::Result::Ok("pong") },
        );
        // a map is an object schema, so this registers
        let tools = tools.unwrap();
        let opts = crate::tools::ToolCallOptions::default().with_observer(move |e| {
            sink.emit(e.into());
        });
        crate::tools::run_tool_calls(&tools, &[ToolCall::new("1", "ping", "{}")], &opts).await;
        let first = sub.recv().await.unwrap().event().unwrap();
        assert_eq!(first.name(), "tool_call_started");
        match sub.recv().await.unwrap().event().unwrap() {
            SessionEvent::ToolCallFinished {
                output, is_error, ..
            } => {
                assert_eq!(output, "pong");
                assert!(!is_error);
            }
            other => panic!("{other:?}"),
        }
    }
}
