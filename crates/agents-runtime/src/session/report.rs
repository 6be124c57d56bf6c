//! Per-turn metrics and the session report.

use std::time::Duration;

use agents_core::events::Metrics;
use agents_core::{ChatMessage, TokenUsage};
use serde::Serialize;

/// Latencies and counts of one agent turn.
///
/// Latencies are measured from the moment the user stopped speaking (the VAD's end of
/// speech), so `voice_to_voice` is what the user waits between their last word and the
/// agent's first sound.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
#[non_exhaustive]
pub struct TurnMetrics {
    /// From the end of the user's speech to the decision that the turn is over.
    pub end_of_utterance_delay: Option<Duration>,
    /// From the end of the user's speech to the last final transcript of the turn.
    pub stt_final_delay: Option<Duration>,
    /// From the LLM request to its first output.
    pub llm_ttft: Option<Duration>,
    /// From the start of the reply to the first text of the LLM, tool rounds included.
    pub llm_first_text: Option<Duration>,
    /// From the start of the reply to the first sentence handed to the TTS, tool rounds
    /// included (the tokenizer hands text over a sentence at a time, so this is when the LLM
    /// had produced its first full sentence).
    pub llm_first_sentence: Option<Duration>,
    /// From the first text sent to the TTS to its first audio.
    pub tts_ttfb: Option<Duration>,
    /// From the end of the user's speech to the agent's first audio.
    pub voice_to_voice: Option<Duration>,
    /// Tokens of the turn's LLM requests.
    pub usage: TokenUsage,
    /// Characters synthesized.
    pub characters: usize,
    /// Agent audio produced.
    pub audio_duration: Duration,
    /// LLM requests made (tool rounds).
    pub llm_requests: usize,
    /// Whether the LLM output came from a preemptive generation.
    pub preemptive: bool,
}

impl TurnMetrics {
    /// The metrics as a bus event payload.
    #[must_use]
    pub fn to_metrics(&self, turn: u64) -> Metrics {
        let mut m = Metrics::new("turn")
            .with_turn(turn)
            .with_counter("prompt_tokens", u64::from(self.usage.prompt_tokens))
            .with_counter("completion_tokens", u64::from(self.usage.completion_tokens))
            .with_counter("characters", self.characters as u64)
            .with_counter("audio_ms", self.audio_duration.as_millis() as u64)
            .with_counter("llm_requests", self.llm_requests as u64);
        for (name, value) in [
            ("end_of_utterance_delay", self.end_of_utterance_delay),
            ("stt_final_delay", self.stt_final_delay),
            ("llm_ttft", self.llm_ttft),
            ("llm_first_text", self.llm_first_text),
            ("llm_first_sentence", self.llm_first_sentence),
            ("tts_ttfb", self.tts_ttfb),
            ("voice_to_voice", self.voice_to_voice),
        ] {
            if let Some(v) = value {
                m = m.with_duration(name, v);
            }
        }
        m
    }
}

/// A tool call made during a turn.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[non_exhaustive]
pub struct ToolCallReport {
    /// The tool.
    pub name: String,
    /// Its arguments (JSON text).
    pub arguments: String,
    /// Its output as sent to the model.
    pub output: String,
    /// Whether it failed.
    pub is_error: bool,
}

/// One agent turn.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[non_exhaustive]
pub struct TurnReport {
    /// The turn number, from 1.
    pub turn: u64,
    /// What the user said (empty for `say` and `generate_reply`).
    pub user_text: String,
    /// What the agent said (only what was played, when interrupted).
    pub agent_text: String,
    /// Whether the user interrupted the reply.
    pub interrupted: bool,
    /// Tool calls made.
    pub tool_calls: Vec<ToolCallReport>,
    /// Latencies and counts.
    pub metrics: TurnMetrics,
}

/// What a finished session did.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
#[non_exhaustive]
pub struct SessionReport {
    /// The turns, in order.
    pub turns: Vec<TurnReport>,
    /// The chat history at the end.
    pub history: Vec<ChatMessage>,
    /// Replies the user interrupted.
    pub interruptions: usize,
    /// Interruptions that turned out false (the agent resumed).
    pub false_interruptions: usize,
    /// Preemptive generations discarded because the user went on.
    pub preemptive_discarded: usize,
    /// Errors reported during the session (recovered or not), as text.
    pub errors: Vec<String>,
    /// User audio received.
    pub input_duration: Duration,
    /// Agent audio played.
    pub output_duration: Duration,
}
