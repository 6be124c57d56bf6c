//! [`MockTurnDetector`]: end of turn from punctuation.

use std::time::Duration;

use agents_core::{ChatContext, Error, ProviderInfo, Result, TurnDetector, async_trait};

use crate::faults::{Faults, delay};

/// Words after which a speaker usually goes on.
const CONTINUERS: &[&str] = &[
    "and", "but", "or", "so", "because", "um", "uh", "the", "a", "to",
];

/// A turn detector that reads punctuation: the last user message ending in `.`, `?` or `!`
/// ends the turn (0.9); one ending in a comma or a word like "and" or "um" does not (0.05);
/// anything else is unsure (0.3); no text is 0.
///
/// ```
/// use agents_core::{ChatContext, ChatMessage, TurnDetector};
/// use agents_plugin_mock::MockTurnDetector;
///
/// # tokio::runtime::Builder::new_current_thread().enable_time().build().unwrap().block_on(async {
/// let detector = MockTurnDetector::new();
/// let mut ctx = ChatContext::new();
/// ctx.push(ChatMessage::user("What is the weather in Paris?"));
/// assert!(detector.end_of_turn_probability(&ctx).await.unwrap() > detector.threshold());
/// ctx.push(ChatMessage::user("I want to book a table and"));
/// assert!(detector.end_of_turn_probability(&ctx).await.unwrap() < detector.threshold());
/// # });
/// ```
#[derive(Debug, Clone)]
pub struct MockTurnDetector {
    threshold: f32,
    latency: Duration,
    faults: Faults,
}

/// Builds a [`MockTurnDetector`].
#[derive(Debug, Clone)]
#[must_use]
pub struct MockTurnDetectorBuilder {
    threshold: f32,
    latency: Duration,
    faults: Faults,
}

impl Default for MockTurnDetectorBuilder {
    fn default() -> Self {
        MockTurnDetectorBuilder {
            threshold: 0.5,
            latency: Duration::ZERO,
            faults: Faults::new(),
        }
    }
}

impl MockTurnDetectorBuilder {
    /// The probability above which the turn counts as over (default 0.5), in `[0, 1]`.
    pub fn threshold(mut self, threshold: f32) -> Self {
        self.threshold = threshold;
        self
    }

    /// Delay of each prediction.
    pub fn latency(mut self, d: Duration) -> Self {
        self.latency = d;
        self
    }

    /// Fails the next `n` predictions with `error`.
    pub fn fail_next(self, n: usize, error: Error) -> Self {
        self.faults.fail_next(n, error);
        self
    }

    /// Builds the detector; a threshold outside `[0, 1]` is an error.
    pub fn build(self) -> Result<MockTurnDetector> {
        if !(0.0..=1.0).contains(&self.threshold) {
            return Err(Error::invalid_input(format!(
                "threshold must be in [0, 1], got {}",
                self.threshold
            ))
            .with_provider("mock"));
        }
        Ok(MockTurnDetector {
            threshold: self.threshold,
            latency: self.latency,
            faults: self.faults,
        })
    }
}

impl Default for MockTurnDetector {
    fn default() -> Self {
        Self::new()
    }
}

impl MockTurnDetector {
    /// A detector with threshold 0.5 and no latency.
    #[must_use]
    pub fn new() -> Self {
        MockTurnDetector {
            threshold: 0.5,
            latency: Duration::ZERO,
            faults: Faults::new(),
        }
    }

    /// A builder.
    pub fn builder() -> MockTurnDetectorBuilder {
        MockTurnDetectorBuilder::default()
    }

    /// The fault handle (shared with clones).
    #[must_use]
    pub fn faults(&self) -> &Faults {
        &self.faults
    }

    /// The probability for one utterance.
    #[must_use]
    pub fn probability_for(text: &str) -> f32 {
        let text = text.trim();
        if text.is_empty() {
            return 0.0;
        }
        if text.ends_with(['.', '?', '!']) {
            return 0.9;
        }
        let last = text
            .rsplit(|c: char| c.is_whitespace())
            .next()
            .unwrap_or("")
            .to_lowercase();
        if text.ends_with([',', ';', ':', '-']) || CONTINUERS.contains(&last.as_str()) {
            return 0.05;
        }
        0.3
    }
}

#[async_trait]
impl TurnDetector for MockTurnDetector {
    fn info(&self) -> ProviderInfo {
        ProviderInfo::new("mock", "mock-punctuation")
    }

    async fn end_of_turn_probability(&self, context: &ChatContext) -> Result<f32> {
        self.faults
            .begin_call()
            .map_err(|e| e.with_provider("mock"))?;
        delay(self.latency).await;
        Ok(Self::probability_for(
            &context.last_user_text().unwrap_or_default(),
        ))
    }

    fn threshold(&self) -> f32 {
        self.threshold
    }
}
