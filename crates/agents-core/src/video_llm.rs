//! Vision: the [`VideoLlm`] trait.

use async_trait::async_trait;

use crate::error::Result;
use crate::llm::ChatStream;
use crate::provider::ProviderInfo;
use crate::types::{ChatRequest, VideoFrame};

/// How a video model wants its frames.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct VideoOptions {
    /// Frames per second to keep from the source.
    pub fps: f32,
    /// How many of the latest frames to send with a request.
    pub max_frames: usize,
}

impl Default for VideoOptions {
    fn default() -> Self {
        VideoOptions {
            fps: 1.0,
            max_frames: 4,
        }
    }
}

/// A language model that also sees video frames.
///
/// The runtime subscribes to the shared video source through a
/// [`VideoForwarder`](crate::video::VideoForwarder) at [`VideoOptions::fps`], keeps the latest
/// [`VideoOptions::max_frames`] frames, and hands them to [`VideoLlm::chat_with_frames`] with
/// the next request. The plugin only encodes frames for its provider.
///
/// # Concurrency and cancellation
/// As for [`crate::Llm`]: shared, concurrent calls allowed, dropping the stream closes the
/// request.
#[async_trait]
pub trait VideoLlm: Send + Sync {
    /// Provider and model.
    fn info(&self) -> ProviderInfo;

    /// Frame rate and count wanted.
    fn video_options(&self) -> VideoOptions {
        VideoOptions::default()
    }

    /// Starts a streamed completion that sees `frames` (oldest first) after the context.
    async fn chat_with_frames(
        &self,
        request: ChatRequest,
        frames: Vec<VideoFrame>,
    ) -> Result<ChatStream>;
}
