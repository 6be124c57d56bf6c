//! [`OpenAiLlm`]: chat completions with streaming and tools.

use agents_core::{
    ChatRequest, ChatStream, Llm, LlmCapabilities, ProviderConfig, ProviderInfo, Result,
    async_trait,
};
use serde_json::{Map, Value};

use crate::chat_completions::{ChatCompletionsClient, MaxTokensField, request_body};
use crate::config::{Common, common_builder_methods};

/// The default chat model.
pub const DEFAULT_LLM_MODEL: &str = "gpt-4o-mini";

/// An OpenAI (or OpenAI-compatible) chat model over `POST /chat/completions`.
///
/// ```no_run
/// use agents_core::{ChatContext, ChatMessage, ChatRequest, Llm};
/// use agents_plugin_openai::OpenAiLlm;
/// use futures_util::StreamExt;
///
/// # async fn run() -> agents_core::Result<()> {
/// let llm = OpenAiLlm::builder().model("gpt-4o-mini").build()?; // reads OPENAI_API_KEY
/// let mut ctx = ChatContext::new().with_system("Be brief.");
/// ctx.push(ChatMessage::user("Hello!"));
/// let mut stream = llm.chat(ChatRequest::new(ctx)).await?;
/// while let Some(chunk) = stream.next().await {
///     println!("{:?}", chunk?);
/// }
/// # Ok(()) }
/// ```
#[derive(Debug, Clone)]
pub struct OpenAiLlm {
    client: ChatCompletionsClient,
    model: String,
    max_tokens_field: MaxTokensField,
    extra_body: Map<String, Value>,
}

/// Builds an [`OpenAiLlm`].
#[derive(Debug, Clone, Default)]
#[must_use]
pub struct OpenAiLlmBuilder {
    common: Common,
    max_tokens_field: MaxTokensField,
    extra_body: Map<String, Value>,
}

impl OpenAiLlmBuilder {
    common_builder_methods!();

    pub(crate) fn from_common(common: Common) -> Self {
        OpenAiLlmBuilder {
            common,
            ..Default::default()
        }
    }

    /// Chooses the body field for the token limit (`max_completion_tokens` by default; older
    /// OpenAI-compatible servers want `max_tokens`).
    pub fn max_tokens_field(mut self, field: MaxTokensField) -> Self {
        self.max_tokens_field = field;
        self
    }

    /// Adds a field to every request body (server-specific parameters such as `top_k`).
    pub fn extra_body(mut self, key: impl Into<String>, value: impl Into<Value>) -> Self {
        self.extra_body.insert(key.into(), value.into());
        self
    }

    /// Builds the model. Fails when no key is given and `OPENAI_API_KEY` is unset, or when the
    /// base URL or a header is invalid.
    pub fn build(self) -> Result<OpenAiLlm> {
        let http = self.common.endpoint()?.connect()?;
        Ok(OpenAiLlm {
            client: ChatCompletionsClient::new(http),
            model: self
                .common
                .model
                .unwrap_or_else(|| DEFAULT_LLM_MODEL.to_string()),
            max_tokens_field: self.max_tokens_field,
            extra_body: self.extra_body,
        })
    }
}

impl OpenAiLlm {
    /// A builder.
    pub fn builder() -> OpenAiLlmBuilder {
        OpenAiLlmBuilder::default()
    }

    /// The default model with the key from `OPENAI_API_KEY`.
    pub fn from_env() -> Result<Self> {
        Self::builder().build()
    }

    /// Builds from a config section (options: `organization`, `project`, `max_tokens_field`
    /// = `"max_tokens"` | `"max_completion_tokens"`, `read_timeout_secs`, `extra_body`).
    pub fn from_config(config: &ProviderConfig) -> Result<Self> {
        config.deny_unknown_options(&[
            "organization",
            "project",
            "max_tokens_field",
            "read_timeout_secs",
            "extra_body",
        ])?;
        let mut b = OpenAiLlmBuilder {
            common: Common::from_config(config)?,
            ..Default::default()
        };
        match config.option::<String>("max_tokens_field")?.as_deref() {
            None | Some("max_completion_tokens") => {}
            Some("max_tokens") => b.max_tokens_field = MaxTokensField::MaxTokens,
            Some(other) => {
                return Err(agents_core::Error::invalid_input(format!(
                    "option `max_tokens_field` must be `max_tokens` or `max_completion_tokens`, got `{other}`"
                ))
                .with_provider("openai"));
            }
        }
        if let Some(extra) = config.option::<Map<String, Value>>("extra_body")? {
            b.extra_body = extra;
        }
        b.build()
    }

    /// The model.
    #[must_use]
    pub fn model(&self) -> &str {
        &self.model
    }

    /// The shared chat-completions client.
    #[must_use]
    pub fn client(&self) -> &ChatCompletionsClient {
        &self.client
    }

    /// The JSON body [`Llm::chat`] sends for `request`.
    #[must_use]
    pub fn request_body(&self, request: &ChatRequest) -> Value {
        let mut body = request_body(&self.model, request, self.max_tokens_field);
        if let Value::Object(map) = &mut body {
            for (k, v) in &self.extra_body {
                map.insert(k.clone(), v.clone());
            }
        }
        body
    }
}

#[async_trait]
impl Llm for OpenAiLlm {
    fn info(&self) -> ProviderInfo {
        ProviderInfo::new("openai", self.model.clone())
    }

    fn capabilities(&self) -> LlmCapabilities {
        LlmCapabilities::default()
            .with_tools(true)
            .with_vision(true)
    }

    async fn chat(&self, request: ChatRequest) -> Result<ChatStream> {
        self.client.stream(self.request_body(&request)).await
    }
}
