//! Chat context, tool calls and streamed chat chunks.

use std::fmt;

use serde::{Deserialize, Serialize};

/// Who wrote a [`ChatMessage`].
#[non_exhaustive]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ChatRole {
    /// Instructions for the model.
    System,
    /// The user.
    User,
    /// The model.
    Assistant,
    /// The result of a tool call.
    Tool,
}

/// How much detail a provider should spend on an image.
#[non_exhaustive]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ImageDetail {
    /// The provider decides.
    #[default]
    Auto,
    /// Low resolution, fewer tokens.
    Low,
    /// High resolution.
    High,
}

/// Where an image's bytes are.
#[non_exhaustive]
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "source")]
pub enum ImageSource {
    /// A URL the provider fetches (https or data URL).
    Url {
        /// The URL.
        url: String,
    },
    /// Encoded image bytes (JPEG, PNG, WebP) sent inline.
    Bytes {
        /// MIME type such as `image/jpeg`.
        mime_type: String,
        /// The encoded image.
        #[serde(with = "b64")]
        data: bytes::Bytes,
    },
}

impl fmt::Debug for ImageSource {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ImageSource::Url { url } if url.len() > 80 => {
                let cut = url
                    .char_indices()
                    .map(|(i, _)| i)
                    .take_while(|&i| i <= 80)
                    .last()
                    .unwrap_or(0);
                write!(f, "Url({}…)", &url[..cut])
            }
            ImageSource::Url { url } => write!(f, "Url({url})"),
            ImageSource::Bytes { mime_type, data } => {
                write!(f, "Bytes({mime_type}, {} bytes)", data.len())
            }
        }
    }
}

impl ImageSource {
    /// The image as a URL: the URL itself, or a `data:` URL for inline bytes.
    #[must_use]
    pub fn to_url(&self) -> String {
        use base64::Engine as _;
        match self {
            ImageSource::Url { url } => url.clone(),
            ImageSource::Bytes { mime_type, data } => format!(
                "data:{mime_type};base64,{}",
                base64::engine::general_purpose::STANDARD.encode(data)
            ),
        }
    }
}

/// One part of a message's content.
#[non_exhaustive]
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "type")]
pub enum ContentPart {
    /// Text.
    Text {
        /// The text.
        text: String,
    },
    /// An image.
    Image {
        /// Where the image is.
        image: ImageSource,
        /// Detail hint.
        #[serde(default)]
        detail: ImageDetail,
    },
}

/// A tool call requested by the model, complete: id, name and JSON arguments.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct ToolCall {
    /// The provider's id for the call; results refer to it.
    pub id: String,
    /// The tool's name.
    pub name: String,
    /// The arguments as JSON text (as the provider sent them).
    pub arguments: String,
}

impl ToolCall {
    /// A tool call.
    pub fn new(
        id: impl Into<String>,
        name: impl Into<String>,
        arguments: impl Into<String>,
    ) -> Self {
        ToolCall {
            id: id.into(),
            name: name.into(),
            arguments: arguments.into(),
        }
    }
}

/// A message in a [`ChatContext`].
///
/// ```
/// use agents_core::{ChatMessage, ChatRole};
///
/// let m = ChatMessage::user("What's the weather?");
/// assert_eq!(m.role, ChatRole::User);
/// assert_eq!(m.text(), "What's the weather?");
/// ```
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct ChatMessage {
    /// Who wrote it.
    pub role: ChatRole,
    /// Text and image parts.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub content: Vec<ContentPart>,
    /// Tool calls the assistant made in this message.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub tool_calls: Vec<ToolCall>,
    /// For [`ChatRole::Tool`]: the call this is the result of.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tool_call_id: Option<String>,
    /// True when the message is an assistant reply cut short by the user (barge-in); it holds
    /// only what was played.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub interrupted: bool,
}

impl ChatMessage {
    /// A message of `role` with one text part.
    pub fn text_message(role: ChatRole, text: impl Into<String>) -> Self {
        ChatMessage {
            role,
            content: vec![ContentPart::Text { text: text.into() }],
            tool_calls: Vec::new(),
            tool_call_id: None,
            interrupted: false,
        }
    }

    /// A system message.
    pub fn system(text: impl Into<String>) -> Self {
        Self::text_message(ChatRole::System, text)
    }

    /// A user message.
    pub fn user(text: impl Into<String>) -> Self {
        Self::text_message(ChatRole::User, text)
    }

    /// An assistant message.
    pub fn assistant(text: impl Into<String>) -> Self {
        Self::text_message(ChatRole::Assistant, text)
    }

    /// An assistant message that requests tool calls (and may carry text).
    pub fn assistant_tool_calls(text: impl Into<String>, calls: Vec<ToolCall>) -> Self {
        let text = text.into();
        let mut m = Self::text_message(ChatRole::Assistant, text.clone());
        if text.is_empty() {
            m.content.clear();
        }
        m.tool_calls = calls;
        m
    }

    /// The result of the tool call `call_id`.
    pub fn tool_result(call_id: impl Into<String>, output: impl Into<String>) -> Self {
        let mut m = Self::text_message(ChatRole::Tool, output);
        m.tool_call_id = Some(call_id.into());
        m
    }

    /// Adds an image part.
    #[must_use]
    pub fn with_image(mut self, image: ImageSource, detail: ImageDetail) -> Self {
        self.content.push(ContentPart::Image { image, detail });
        self
    }

    /// All text parts joined.
    #[must_use]
    pub fn text(&self) -> String {
        let mut out = String::new();
        for part in &self.content {
            if let ContentPart::Text { text } = part {
                out.push_str(text);
            }
        }
        out
    }

    /// Number of image parts.
    #[must_use]
    pub fn image_count(&self) -> usize {
        self.content
            .iter()
            .filter(|p| matches!(p, ContentPart::Image { .. }))
            .count()
    }
}

/// The conversation so far, oldest first.
///
/// ```
/// use agents_core::{ChatContext, ChatMessage};
///
/// let mut ctx = ChatContext::new().with_system("Be brief.");
/// for i in 0..10 {
///     ctx.push(ChatMessage::user(format!("question {i}")));
///     ctx.push(ChatMessage::assistant(format!("answer {i}")));
/// }
/// ctx.truncate(4);
/// assert_eq!(ctx.messages().len(), 5); // the system message is always kept
/// assert_eq!(ctx.messages()[1].text(), "question 8");
/// ```
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct ChatContext {
    messages: Vec<ChatMessage>,
}

impl ChatContext {
    /// An empty context.
    #[must_use]
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds a system message and returns the context.
    #[must_use]
    pub fn with_system(mut self, text: impl Into<String>) -> Self {
        self.push(ChatMessage::system(text));
        self
    }

    /// Appends a message.
    pub fn push(&mut self, message: ChatMessage) {
        self.messages.push(message);
    }

    /// The messages, oldest first.
    #[must_use]
    pub fn messages(&self) -> &[ChatMessage] {
        &self.messages
    }

    /// The messages, mutable.
    pub fn messages_mut(&mut self) -> &mut Vec<ChatMessage> {
        &mut self.messages
    }

    /// The last message, if any.
    #[must_use]
    pub fn last(&self) -> Option<&ChatMessage> {
        self.messages.last()
    }

    /// Number of messages.
    #[must_use]
    pub fn len(&self) -> usize {
        self.messages.len()
    }

    /// True when there are no messages.
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.messages.is_empty()
    }

    /// Keeps every system message and the newest `max_items` other messages, then drops any
    /// tool result whose call is no longer present (and assistant tool-call messages at the
    /// cut whose results were dropped), so that providers never see an orphan.
    pub fn truncate(&mut self, max_items: usize) {
        let others = self
            .messages
            .iter()
            .filter(|m| m.role != ChatRole::System)
            .count();
        if others <= max_items {
            return;
        }
        let mut to_drop = others - max_items;
        self.messages.retain(|m| {
            if m.role == ChatRole::System || to_drop == 0 {
                true
            } else {
                to_drop -= 1;
                false
            }
        });
        // Drop leading tool results whose call was cut, so the history starts cleanly.
        let known: std::collections::HashSet<String> = self
            .messages
            .iter()
            .flat_map(|m| m.tool_calls.iter().map(|c| c.id.clone()))
            .collect();
        self.messages.retain(|m| {
            m.role != ChatRole::Tool
                || m.tool_call_id
                    .as_ref()
                    .map(|id| known.contains(id))
                    .unwrap_or(false)
        });
    }

    /// Text of the last user message, if any.
    #[must_use]
    pub fn last_user_text(&self) -> Option<String> {
        self.messages
            .iter()
            .rev()
            .find(|m| m.role == ChatRole::User)
            .map(ChatMessage::text)
    }
}

/// A tool the model may call: name, description and a JSON Schema for the arguments.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct ToolDefinition {
    /// The name the model calls it by.
    pub name: String,
    /// What the tool does, for the model.
    pub description: String,
    /// JSON Schema (an object schema) of the arguments.
    pub parameters: serde_json::Value,
    /// True when the schema is in the strict form (every property required, no additional
    /// properties) and the provider should enforce it.
    pub strict: bool,
}

impl ToolDefinition {
    /// A tool definition.
    pub fn new(
        name: impl Into<String>,
        description: impl Into<String>,
        parameters: serde_json::Value,
    ) -> Self {
        ToolDefinition {
            name: name.into(),
            description: description.into(),
            parameters,
            strict: false,
        }
    }

    /// Marks the schema as strict.
    #[must_use]
    pub fn with_strict(mut self, strict: bool) -> Self {
        self.strict = strict;
        self
    }
}

/// Whether and which tool the model must call.
#[non_exhaustive]
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ToolChoice {
    /// The model decides.
    Auto,
    /// No tool calls.
    None,
    /// At least one tool call.
    Required,
    /// This tool must be called.
    Named(String),
}

/// A request to [`crate::Llm::chat`].
///
/// ```
/// use agents_core::{ChatContext, ChatRequest, ToolChoice};
///
/// let req = ChatRequest::new(ChatContext::new().with_system("Be brief."))
///     .with_temperature(0.2)
///     .with_max_tokens(200)
///     .with_tool_choice(ToolChoice::Auto);
/// assert_eq!(req.max_tokens, Some(200));
/// ```
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[non_exhaustive]
pub struct ChatRequest {
    /// The conversation.
    pub context: ChatContext,
    /// Tools the model may call.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub tools: Vec<ToolDefinition>,
    /// Tool choice; `None` leaves it to the provider's default.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tool_choice: Option<ToolChoice>,
    /// Whether the model may call several tools in one response.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub parallel_tool_calls: Option<bool>,
    /// Sampling temperature.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub temperature: Option<f32>,
    /// Upper bound on generated tokens.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_tokens: Option<u32>,
}

impl ChatRequest {
    /// A request for `context` with no tools and provider defaults.
    #[must_use]
    pub fn new(context: ChatContext) -> Self {
        ChatRequest {
            context,
            ..Default::default()
        }
    }

    /// Sets the tools.
    #[must_use]
    pub fn with_tools(mut self, tools: Vec<ToolDefinition>) -> Self {
        self.tools = tools;
        self
    }

    /// Sets the tool choice.
    #[must_use]
    pub fn with_tool_choice(mut self, choice: ToolChoice) -> Self {
        self.tool_choice = Some(choice);
        self
    }

    /// Allows or forbids parallel tool calls.
    #[must_use]
    pub fn with_parallel_tool_calls(mut self, parallel: bool) -> Self {
        self.parallel_tool_calls = Some(parallel);
        self
    }

    /// Sets the temperature.
    #[must_use]
    pub fn with_temperature(mut self, temperature: f32) -> Self {
        self.temperature = Some(temperature);
        self
    }

    /// Sets the token limit.
    #[must_use]
    pub fn with_max_tokens(mut self, max_tokens: u32) -> Self {
        self.max_tokens = Some(max_tokens);
        self
    }
}

/// Token counts of one chat completion.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct TokenUsage {
    /// Tokens in the prompt.
    pub prompt_tokens: u32,
    /// Tokens generated.
    pub completion_tokens: u32,
    /// Prompt tokens served from the provider's cache.
    #[serde(default)]
    pub cached_tokens: u32,
    /// Total tokens as the provider counted them.
    pub total_tokens: u32,
}

/// Why a chat completion ended.
#[non_exhaustive]
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FinishReason {
    /// A natural end.
    Stop,
    /// The token limit.
    Length,
    /// The model asked for tool calls.
    ToolCalls,
    /// The provider's content filter.
    ContentFilter,
    /// The provider reported an error after streaming began.
    Error,
    /// A reason this enum does not know, as the provider spelled it.
    Other(String),
}

impl FinishReason {
    /// Maps the OpenAI-style spelling (`stop`, `length`, `tool_calls`, `function_call`,
    /// `content_filter`, `error`).
    #[must_use]
    pub fn from_openai(reason: &str) -> Self {
        match reason {
            "stop" => FinishReason::Stop,
            "length" => FinishReason::Length,
            "tool_calls" | "function_call" => FinishReason::ToolCalls,
            "content_filter" => FinishReason::ContentFilter,
            "error" => FinishReason::Error,
            other => FinishReason::Other(other.to_string()),
        }
    }
}

/// One item of a streamed chat completion.
///
/// Contract (checked by the conformance suite): text deltas in order; each tool call once and
/// complete; usage at most once, at the end; the finish reason once, last.
#[non_exhaustive]
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "type")]
pub enum ChatChunk {
    /// A piece of the reply's text.
    TextDelta {
        /// The text.
        text: String,
    },
    /// A complete tool call.
    ToolCall {
        /// The call.
        call: ToolCall,
    },
    /// Token usage.
    Usage {
        /// The counts.
        usage: TokenUsage,
    },
    /// The end of the completion.
    Finish {
        /// Why it ended.
        reason: FinishReason,
    },
}

impl ChatChunk {
    /// A text delta.
    pub fn text(text: impl Into<String>) -> Self {
        ChatChunk::TextDelta { text: text.into() }
    }
}

mod b64 {
    use base64::Engine as _;
    use serde::{Deserialize, Deserializer, Serializer};

    pub(super) fn serialize<S: Serializer>(data: &bytes::Bytes, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&base64::engine::general_purpose::STANDARD.encode(data))
    }

    pub(super) fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<bytes::Bytes, D::Error> {
        let text = String::deserialize(d)?;
        base64::engine::general_purpose::STANDARD
            .decode(text)
            .map(bytes::Bytes::from)
            .map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn truncation_keeps_system_and_drops_orphans() {
        let mut ctx = ChatContext::new().with_system("sys");
        ctx.push(ChatMessage::user("weather?"));
        ctx.push(ChatMessage::assistant_tool_calls(
            "",
            vec![ToolCall::new("c1", "weather", "{}")],
        ));
        ctx.push(ChatMessage::tool_result("c1", "sunny"));
        ctx.push(ChatMessage::assistant("It is sunny."));
        ctx.truncate(2);
        let roles: Vec<_> = ctx.messages().iter().map(|m| m.role).collect();
        // the tool result lost its call, so it is dropped as well
        assert_eq!(roles, vec![ChatRole::System, ChatRole::Assistant]);
        assert_eq!(ctx.last().unwrap().text(), "It is sunny.");
    }

    #[test]
    fn image_data_url() {
        let img = ImageSource::Bytes {
            mime_type: "image/jpeg".into(),
            data: bytes::Bytes::from_static(&[1, 2, 3]),
        };
        assert_eq!(img.to_url(), "data:image/jpeg;base64,AQID");
        let m = ChatMessage::user("look").with_image(img, ImageDetail::Low);
        assert_eq!(m.image_count(), 1);
        let json = serde_json::to_string(&m).unwrap();
        let back: ChatMessage = serde_json::from_str(&json).unwrap();
        assert_eq!(back, m);
    }

    #[test]
    fn finish_reasons() {
        assert_eq!(
            FinishReason::from_openai("tool_calls"),
            FinishReason::ToolCalls
        );
        assert_eq!(
            FinishReason::from_openai("weird"),
            FinishReason::Other("weird".into())
        );
    }
}
