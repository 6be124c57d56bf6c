//! Data types shared by every provider: speech events, chat context, tool calls, video frames.

mod chat;
mod speech;
mod video;

pub use chat::{
    ChatChunk, ChatContext, ChatMessage, ChatRequest, ChatRole, ContentPart, FinishReason,
    ImageDetail, ImageSource, TokenUsage, ToolCall, ToolChoice, ToolDefinition,
};
pub use speech::{SpeechAlternative, SpeechEvent, SpeechEventKind, SttUsage, WordTiming, secs};
pub use video::{PixelFormat, VideoFrame};
