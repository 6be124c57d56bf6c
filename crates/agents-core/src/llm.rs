//! Language models: the [`Llm`] trait.

use async_trait::async_trait;
use futures_util::stream::BoxStream;

use crate::error::Result;
use crate::provider::ProviderInfo;
use crate::types::{ChatChunk, ChatRequest};

/// A streamed chat completion.
///
/// Contract (checked by the conformance suite): text deltas in order; each tool call yielded
/// once and complete (id, name, JSON arguments), in the provider's order; usage at most once;
/// the finish reason once, last, before the end; a failure after output began yields one
/// classified `Err` after the text already yielded, then the end. Dropping the stream stops
/// reading and closes the connection.
pub type ChatStream = BoxStream<'static, Result<ChatChunk>>;

/// What a language model supports.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct LlmCapabilities {
    /// Tool calling.
    pub tools: bool,
    /// Image parts in the chat context.
    pub vision: bool,
}

impl Default for LlmCapabilities {
    fn default() -> Self {
        LlmCapabilities {
            tools: true,
            vision: false,
        }
    }
}

impl LlmCapabilities {
    /// Sets tool support.
    #[must_use]
    pub fn with_tools(mut self, tools: bool) -> Self {
        self.tools = tools;
        self
    }

    /// Sets image support.
    #[must_use]
    pub fn with_vision(mut self, vision: bool) -> Self {
        self.vision = vision;
        self
    }
}

/// A language model that streams chat completions, with tools.
///
/// The plugin only translates: the chat context and tools to its provider's format, and the
/// provider's stream to [`ChatChunk`]s. Running tools, rounds and dedup are the core's
/// ([`crate::tools`]).
///
/// # Concurrency and cancellation
/// Shared as `Arc<dyn Llm>`; `chat` may be called concurrently. Errors before the first chunk
/// (connect, HTTP status) come back from `chat` itself after the connect retries the options
/// allow; nothing is retried after the first chunk was yielded. Dropping the future or the
/// stream at any point closes the request.
///
/// # Example
/// ```
/// use agents_core::{ChatChunk, ChatContext, ChatRequest, ChatStream, FinishReason, Llm,
///     ProviderInfo, Result};
/// use futures_util::{StreamExt, stream};
///
/// struct Echo;
///
/// #[async_trait::async_trait]
/// impl Llm for Echo {
///     fn info(&self) -> ProviderInfo { ProviderInfo::new("echo", "v1") }
///     async fn chat(&self, request: ChatRequest) -> Result<ChatStream> {
///         let text = request.context.last_user_text().unwrap_or_default();
///         Ok(stream::iter([
///             Ok(ChatChunk::text(text)),
///             Ok(ChatChunk::Finish { reason: FinishReason::Stop }),
///         ])
///         .boxed())
///     }
/// }
///
/// # tokio::runtime::Builder::new_current_thread().build().unwrap().block_on(async {
/// let mut ctx = ChatContext::new();
/// ctx.push(agents_core::ChatMessage::user("ping"));
/// let chunks: Vec<_> = Echo.chat(ChatRequest::new(ctx)).await.unwrap().collect().await;
/// assert_eq!(chunks.len(), 2);
/// # });
/// ```
#[async_trait]
pub trait Llm: Send + Sync {
    /// Provider and model.
    fn info(&self) -> ProviderInfo;

    /// What the model supports.
    fn capabilities(&self) -> LlmCapabilities {
        LlmCapabilities::default()
    }

    /// Starts a streamed completion.
    async fn chat(&self, request: ChatRequest) -> Result<ChatStream>;
}
