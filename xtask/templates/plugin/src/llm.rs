//! [`{{Name}}Llm`]: `POST {base_url}/v1/chat` with
//! `{"model", "messages", "tools", "tool_choice", "temperature", "max_tokens"}` (messages and
//! tools in the core's serde shapes); the answer is JSON lines, one
//! [`ChatChunk`](agents_core::ChatChunk) per line, the `finish` chunk last.

use agents_core::{
    ChatRequest, ChatStream, Llm, LlmCapabilities, ProviderConfig, ProviderInfo, Result,
    ToolChoice, async_trait,
};
use serde_json::{Value, json};

use crate::client::{Client, PROVIDER, chat_stream};

/// The default chat model.
pub const DEFAULT_LLM_MODEL: &str = "{{name}}-chat-1";

/// A {{Name}} language model: streamed text deltas, tool calls, usage and finish reason.
///
/// ```no_run
/// use agents_core::{ChatContext, ChatMessage, ChatRequest, Llm, ProviderConfig};
/// use futures_util::StreamExt;
/// use {{crate_ident}}::{{Name}}Llm;
///
/// # async fn run() -> agents_core::Result<()> {
/// let llm = {{Name}}Llm::from_config(&ProviderConfig::new("{{name}}").with_option("temperature", 0.2))?;
/// let mut context = ChatContext::new().with_system("Be brief.");
/// context.push(ChatMessage::user("Hello!"));
/// let mut stream = llm.chat(ChatRequest::new(context)).await?;
/// while let Some(chunk) = stream.next().await {
///     println!("{:?}", chunk?);
/// }
/// # Ok(()) }
/// ```
#[derive(Debug, Clone)]
pub struct {{Name}}Llm {
    client: Client,
    model: String,
    temperature: Option<f32>,
}

impl {{Name}}Llm {
    /// Builds from a config section (options: `temperature`).
    pub fn from_config(config: &ProviderConfig) -> Result<Self> {
        config.deny_unknown_options(&["temperature"])?;
        Ok({{Name}}Llm {
            client: Client::from_config(config)?,
            model: config
                .model
                .clone()
                .unwrap_or_else(|| DEFAULT_LLM_MODEL.to_string()),
            temperature: config.option("temperature")?,
        })
    }
}

/// The request body for `request`.
pub(crate) fn chat_body(model: &str, request: &ChatRequest, default_temperature: Option<f32>) -> Value {
    let tool_choice = match &request.tool_choice {
        None | Some(ToolChoice::Auto) => Value::from("auto"),
        Some(ToolChoice::None) => Value::from("none"),
        Some(ToolChoice::Required) => Value::from("required"),
        Some(ToolChoice::Named(name)) => json!({ "name": name }),
        Some(_) => Value::from("auto"),
    };
    json!({
        "model": model,
        "messages": request.context.messages(),
        "tools": request.tools,
        "tool_choice": tool_choice,
        "temperature": request.temperature.or(default_temperature),
        "max_tokens": request.max_tokens,
    })
}

#[async_trait]
impl Llm for {{Name}}Llm {
    fn info(&self) -> ProviderInfo {
        ProviderInfo::new(PROVIDER, self.model.clone())
    }

    fn capabilities(&self) -> LlmCapabilities {
        LlmCapabilities::default().with_tools(true)
    }

    async fn chat(&self, request: ChatRequest) -> Result<ChatStream> {
        let body = chat_body(&self.model, &request, self.temperature);
        let response = self
            .client
            .send("v1/chat", |r| r.json(&body))
            .await?;
        Ok(chat_stream(response))
    }
}
