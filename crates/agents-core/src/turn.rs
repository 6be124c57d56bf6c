//! Turn detection: the [`TurnDetector`] trait.

use async_trait::async_trait;

use crate::error::Result;
use crate::provider::ProviderInfo;
use crate::types::ChatContext;

/// Decides from the conversation whether the user has finished their turn.
///
/// The runtime asks after the user stops speaking; a high probability ends the turn after the
/// minimum endpointing delay, a low one waits up to the maximum delay.
///
/// # Concurrency and cancellation
/// Shared; may be called concurrently. Dropping the future abandons the prediction.
///
/// # Example
/// ```
/// use agents_core::{ChatContext, ProviderInfo, Result, TurnDetector};
///
/// /// Ends the turn when the last user message ends like a sentence.
/// struct Punctuation;
///
/// #[async_trait::async_trait]
/// impl TurnDetector for Punctuation {
///     fn info(&self) -> ProviderInfo { ProviderInfo::new("punctuation", "v1") }
///     async fn end_of_turn_probability(&self, context: &ChatContext) -> Result<f32> {
///         let text = context.last_user_text().unwrap_or_default();
///         Ok(if text.trim_end().ends_with(['.', '?', '!']) { 0.9 } else { 0.2 })
///     }
/// }
/// ```
#[async_trait]
pub trait TurnDetector: Send + Sync {
    /// Provider and model.
    fn info(&self) -> ProviderInfo;

    /// The probability in `[0, 1]` that the user's turn is over, given the conversation whose
    /// last user message is the utterance so far.
    async fn end_of_turn_probability(&self, context: &ChatContext) -> Result<f32>;

    /// The probability above which the turn counts as over.
    fn threshold(&self) -> f32 {
        0.5
    }
}
