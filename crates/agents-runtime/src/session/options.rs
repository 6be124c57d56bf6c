//! Options of an [`AgentSession`](super::AgentSession).

use std::time::Duration;

use crate::vad::VadOptions;

/// How a session listens, decides turns and handles interruptions.
///
/// ```
/// use agents_runtime::SessionOptions;
/// use std::time::Duration;
///
/// let opts = SessionOptions::default()
///     .with_min_endpointing_delay(Duration::from_millis(300))
///     .with_preemptive_generation(true);
/// assert!(opts.preemptive_generation);
/// ```
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct SessionOptions {
    /// VAD thresholds and durations.
    pub vad: VadOptions,
    /// Silence after the user's speech before the turn ends, when the turn detector (if any)
    /// is confident the user finished.
    pub min_endpointing_delay: Duration,
    /// Silence after the user's speech before the turn ends when the turn detector thinks the
    /// user will go on.
    pub max_endpointing_delay: Duration,
    /// Whether user speech interrupts the agent.
    pub allow_interruptions: bool,
    /// User speech must last this long to interrupt the agent.
    pub min_interruption_duration: Duration,
    /// The user's transcript must have this many words to interrupt (0: speech alone is enough).
    pub min_interruption_words: usize,
    /// After user speech that paused the agent ends without an interruption, how long to wait
    /// for a transcript before resuming the agent's speech.
    pub false_interruption_timeout: Duration,
    /// Start the LLM on a final transcript before the turn is confirmed; the result is used if
    /// the user does not go on, and discarded otherwise.
    pub preemptive_generation: bool,
    /// The most LLM requests per reply (tool rounds).
    pub max_tool_rounds: usize,
    /// The per-call timeout of tools.
    pub tool_timeout: Duration,
    /// A stage waiting longer than this (a full queue, a silent provider) is reported as
    /// stalled.
    pub stall_timeout: Duration,
    /// Capacity of the session's event bus.
    pub event_capacity: usize,
}

impl Default for SessionOptions {
    fn default() -> Self {
        SessionOptions {
            vad: VadOptions::default(),
            min_endpointing_delay: Duration::from_millis(500),
            max_endpointing_delay: Duration::from_secs(6),
            allow_interruptions: true,
            min_interruption_duration: Duration::from_millis(500),
            min_interruption_words: 0,
            false_interruption_timeout: Duration::from_secs(2),
            preemptive_generation: false,
            max_tool_rounds: 5,
            tool_timeout: Duration::from_secs(10),
            stall_timeout: Duration::from_secs(2),
            event_capacity: 1024,
        }
    }
}

impl SessionOptions {
    /// Sets the VAD options.
    #[must_use]
    pub fn with_vad(mut self, vad: VadOptions) -> Self {
        self.vad = vad;
        self
    }

    /// Sets the minimum endpointing delay.
    #[must_use]
    pub fn with_min_endpointing_delay(mut self, d: Duration) -> Self {
        self.min_endpointing_delay = d;
        self
    }

    /// Sets the maximum endpointing delay.
    #[must_use]
    pub fn with_max_endpointing_delay(mut self, d: Duration) -> Self {
        self.max_endpointing_delay = d;
        self
    }

    /// Allows or forbids interruptions.
    #[must_use]
    pub fn with_allow_interruptions(mut self, allow: bool) -> Self {
        self.allow_interruptions = allow;
        self
    }

    /// Sets the minimum interruption duration.
    #[must_use]
    pub fn with_min_interruption_duration(mut self, d: Duration) -> Self {
        self.min_interruption_duration = d;
        self
    }

    /// Sets the minimum interruption words.
    #[must_use]
    pub fn with_min_interruption_words(mut self, words: usize) -> Self {
        self.min_interruption_words = words;
        self
    }

    /// Sets the false-interruption timeout.
    #[must_use]
    pub fn with_false_interruption_timeout(mut self, d: Duration) -> Self {
        self.false_interruption_timeout = d;
        self
    }

    /// Turns preemptive generation on or off.
    #[must_use]
    pub fn with_preemptive_generation(mut self, on: bool) -> Self {
        self.preemptive_generation = on;
        self
    }

    /// Sets the most LLM requests per reply.
    #[must_use]
    pub fn with_max_tool_rounds(mut self, rounds: usize) -> Self {
        self.max_tool_rounds = rounds;
        self
    }

    /// Sets the tool timeout.
    #[must_use]
    pub fn with_tool_timeout(mut self, d: Duration) -> Self {
        self.tool_timeout = d;
        self
    }

    /// Sets the stall timeout.
    #[must_use]
    pub fn with_stall_timeout(mut self, d: Duration) -> Self {
        self.stall_timeout = d;
        self
    }
}
