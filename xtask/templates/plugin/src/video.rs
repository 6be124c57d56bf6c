//! [`{{Name}}VideoLlm`]: `POST {base_url}/v1/vision` with the chat body of `/v1/chat` plus
//! `"frames"`: `width`, `height`, `format` (`Rgb24`, `Jpeg`, ...), `timestamp_ms` and `data`
//! (base64); the answer is the same JSON lines of chunks as `/v1/chat`.

use agents_core::{
    ChatRequest, ChatStream, ProviderConfig, ProviderInfo, Result, VideoFrame, VideoLlm,
    VideoOptions, async_trait,
};
use base64::Engine as _;
use serde_json::{Value, json};

use crate::client::{Client, PROVIDER, chat_stream};

/// The default vision model.
pub const DEFAULT_VIDEO_MODEL: &str = "{{name}}-vision-1";

/// A {{Name}} vision model: chat about the latest video frames.
///
/// ```no_run
/// use agents_core::{ChatContext, ChatMessage, ChatRequest, ProviderConfig, VideoFrame, VideoLlm};
/// use {{crate_ident}}::{{Name}}VideoLlm;
///
/// # async fn run(frames: Vec<VideoFrame>) -> agents_core::Result<()> {
/// let vision = {{Name}}VideoLlm::from_config(&ProviderConfig::new("{{name}}"))?;
/// let mut context = ChatContext::new();
/// context.push(ChatMessage::user("What do you see?"));
/// let _reply = vision.chat_with_frames(ChatRequest::new(context), frames).await?;
/// # Ok(()) }
/// ```
#[derive(Debug, Clone)]
pub struct {{Name}}VideoLlm {
    client: Client,
    model: String,
    max_frames: usize,
}

impl {{Name}}VideoLlm {
    /// Builds from a config section (options: `max_frames`, default 4).
    pub fn from_config(config: &ProviderConfig) -> Result<Self> {
        config.deny_unknown_options(&["max_frames"])?;
        Ok({{Name}}VideoLlm {
            client: Client::from_config(config)?,
            model: config
                .model
                .clone()
                .unwrap_or_else(|| DEFAULT_VIDEO_MODEL.to_string()),
            max_frames: config.option("max_frames")?.unwrap_or(4),
        })
    }
}

#[async_trait]
impl VideoLlm for {{Name}}VideoLlm {
    fn info(&self) -> ProviderInfo {
        ProviderInfo::new(PROVIDER, self.model.clone())
    }

    fn video_options(&self) -> VideoOptions {
        let mut options = VideoOptions::default();
        options.max_frames = self.max_frames;
        options
    }

    async fn chat_with_frames(
        &self,
        request: ChatRequest,
        frames: Vec<VideoFrame>,
    ) -> Result<ChatStream> {
        let start = frames.len().saturating_sub(self.max_frames);
        let mut body = json!({
            "model": self.model,
            "messages": request.context.messages(),
            "temperature": request.temperature,
            "max_tokens": request.max_tokens,
        });
        let frames: Vec<Value> = frames[start..]
            .iter()
            .map(|frame| {
                json!({
                    "width": frame.width(),
                    "height": frame.height(),
                    "format": format!("{:?}", frame.format()),
                    "timestamp_ms": frame.timestamp().as_millis(),
                    "data": base64::engine::general_purpose::STANDARD.encode(frame.data()),
                })
            })
            .collect();
        if let Value::Object(map) = &mut body {
            map.insert("frames".into(), Value::Array(frames));
        }
        let response = self
            .client
            .send("v1/vision", |r| r.json(&body))
            .await?;
        Ok(chat_stream(response))
    }
}
