//! [`MockVideoLlm`]: describes the frames it is given.

use agents_core::{
    ChatRequest, ChatStream, ProviderInfo, Result, VideoFrame, VideoLlm, VideoOptions, async_trait,
};

use crate::faults::Faults;
use crate::llm::{MockLlm, MockLlmBuilder, MockReply, chunk_stream};

/// A deterministic vision model: scripted replies like [`MockLlm`], or, with none scripted, a
/// description of the frames: `"I see 2 frames; the latest is 640x480 at 1.5 s."` (or
/// `"I see no video."`).
///
/// ```
/// use agents_core::{ChatContext, ChatRequest, PixelFormat, VideoFrame, VideoLlm};
/// use agents_plugin_mock::{MockVideoLlm, collect_text};
/// use std::time::Duration;
///
/// # tokio::runtime::Builder::new_current_thread().enable_time().build().unwrap().block_on(async {
/// let vlm = MockVideoLlm::new();
/// let frame = VideoFrame::new(2, 2, PixelFormat::Rgb24, vec![0u8; 12], Duration::from_millis(1500)).unwrap();
/// let stream = vlm.chat_with_frames(ChatRequest::new(ChatContext::new()), vec![frame]).await.unwrap();
/// assert_eq!(collect_text(stream).await.unwrap(), "I see 1 frame; the latest is 2x2 at 1.5 s.");
/// # });
/// ```
#[derive(Debug, Clone)]
pub struct MockVideoLlm {
    llm: MockLlm,
    options: VideoOptions,
}

/// Builds a [`MockVideoLlm`].
#[derive(Debug, Clone, Default)]
#[must_use]
pub struct MockVideoLlmBuilder {
    llm: MockLlmBuilder,
    options: VideoOptions,
}

impl MockVideoLlmBuilder {
    /// The replies, scripted and timed as for [`MockLlm`].
    pub fn llm(mut self, llm: MockLlmBuilder) -> Self {
        self.llm = llm;
        self
    }

    /// Frame rate wanted (default 1 fps).
    pub fn fps(mut self, fps: f32) -> Self {
        self.options.fps = fps;
        self
    }

    /// Frames wanted per request (default 4).
    pub fn max_frames(mut self, n: usize) -> Self {
        self.options.max_frames = n;
        self
    }

    /// Builds the mock; a non-positive fps or zero frames is an error.
    pub fn build(self) -> Result<MockVideoLlm> {
        if !(self.options.fps > 0.0 && self.options.fps <= 60.0) {
            return Err(agents_core::Error::invalid_input(format!(
                "fps must be in (0, 60], got {}",
                self.options.fps
            ))
            .with_provider("mock"));
        }
        if self.options.max_frames == 0 {
            return Err(
                agents_core::Error::invalid_input("max_frames must be at least 1")
                    .with_provider("mock"),
            );
        }
        Ok(MockVideoLlm {
            llm: self.llm.model("mock-vlm").build()?,
            options: self.options,
        })
    }
}

impl Default for MockVideoLlm {
    fn default() -> Self {
        Self::new()
    }
}

impl MockVideoLlm {
    /// A mock that describes its frames.
    #[must_use]
    pub fn new() -> Self {
        MockVideoLlm {
            llm: MockLlm::new(),
            options: VideoOptions::default(),
        }
    }

    /// A builder.
    pub fn builder() -> MockVideoLlmBuilder {
        MockVideoLlmBuilder::default()
    }

    /// The fault handle (shared with clones).
    #[must_use]
    pub fn faults(&self) -> &Faults {
        self.llm.faults()
    }

    /// Every request received, oldest first.
    #[must_use]
    pub fn requests(&self) -> Vec<ChatRequest> {
        self.llm.requests()
    }

    fn describe(frames: &[VideoFrame]) -> String {
        match frames.last() {
            None => "I see no video.".into(),
            Some(f) => format!(
                "I see {} frame{}; the latest is {}x{} at {:.1} s.",
                frames.len(),
                if frames.len() == 1 { "" } else { "s" },
                f.width(),
                f.height(),
                f.timestamp().as_secs_f64()
            ),
        }
    }
}

#[async_trait]
impl VideoLlm for MockVideoLlm {
    fn info(&self) -> ProviderInfo {
        ProviderInfo::new("mock", "mock-vlm")
    }

    fn video_options(&self) -> VideoOptions {
        self.options.clone()
    }

    async fn chat_with_frames(
        &self,
        request: ChatRequest,
        frames: Vec<VideoFrame>,
    ) -> Result<ChatStream> {
        let plan = self.llm.begin(&request)?;
        let reply = self
            .llm
            .script_next()
            .unwrap_or_else(|| MockReply::text(Self::describe(&frames)));
        Ok(chunk_stream(
            reply.chunks(&request),
            self.llm.timing(),
            plan,
        ))
    }
}
