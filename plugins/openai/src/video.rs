//! [`OpenAiVideoLlm`]: a chat model that sees video. Frames come from a
//! [`VideoForwarder`] (or any stream of [`VideoFrame`]s) at a chosen frame rate into a bounded
//! buffer that keeps the newest frames; each request carries them as JPEG data URLs after the
//! chat context.

use std::sync::{Arc, Mutex};

use agents_core::video::{VideoForwarder, VideoSubscriber};
use agents_core::{
    ChatMessage, ChatRequest, ChatRole, ChatStream, ContentPart, Error, ImageDetail, ImageSource,
    Llm, LlmCapabilities, PixelFormat, ProviderConfig, ProviderInfo, Result, VideoFrame, VideoLlm,
    VideoOptions, async_trait,
};
use futures_util::{Stream, StreamExt};

use crate::config::{Common, common_builder_methods};
use crate::llm::{OpenAiLlm, OpenAiLlmBuilder};

/// The default model for video.
pub const DEFAULT_VIDEO_MODEL: &str = "gpt-4o-mini";

/// A vision chat model fed with video frames.
///
/// ```no_run
/// use agents_core::video::VideoForwarder;
/// use agents_core::{ChatContext, ChatMessage, ChatRequest, Llm};
/// use agents_plugin_openai::OpenAiVideoLlm;
///
/// # async fn run(camera: VideoForwarder) -> agents_core::Result<()> {
/// let vlm = OpenAiVideoLlm::builder().fps(1.0).max_frames(3).build()?;
/// vlm.watch(&camera)?; // keeps the 3 newest frames, one per second
/// let mut ctx = ChatContext::new();
/// ctx.push(ChatMessage::user("What do you see?"));
/// let _stream = vlm.chat(ChatRequest::new(ctx)).await?; // the frames go with it
/// # Ok(()) }
/// ```
#[derive(Debug, Clone)]
pub struct OpenAiVideoLlm {
    llm: OpenAiLlm,
    options: VideoOptions,
    detail: ImageDetail,
    quality: u8,
    max_side: u32,
    subscriber: Arc<Mutex<Option<VideoSubscriber>>>,
}

/// Builds an [`OpenAiVideoLlm`].
#[derive(Debug, Clone)]
#[must_use]
pub struct OpenAiVideoLlmBuilder {
    common: Common,
    options: VideoOptions,
    detail: ImageDetail,
    quality: u8,
    max_side: u32,
}

impl Default for OpenAiVideoLlmBuilder {
    fn default() -> Self {
        OpenAiVideoLlmBuilder {
            common: Common::default(),
            options: VideoOptions::default(),
            detail: ImageDetail::Low,
            quality: 75,
            max_side: 768,
        }
    }
}

impl OpenAiVideoLlmBuilder {
    common_builder_methods!();

    /// Frames per second kept from the source (default 1).
    pub fn fps(mut self, fps: f32) -> Self {
        self.options.fps = fps;
        self
    }

    /// How many of the newest frames go with a request (default 4).
    pub fn max_frames(mut self, n: usize) -> Self {
        self.options.max_frames = n;
        self
    }

    /// The image detail hint (default `low`).
    pub fn detail(mut self, detail: ImageDetail) -> Self {
        self.detail = detail;
        self
    }

    /// JPEG quality, 1 to 100 (default 75).
    pub fn jpeg_quality(mut self, quality: u8) -> Self {
        self.quality = quality;
        self
    }

    /// Frames larger than this on their longer side are scaled down (default 768).
    pub fn max_side(mut self, pixels: u32) -> Self {
        self.max_side = pixels;
        self
    }

    /// Builds the model; fails without a key (naming `OPENAI_API_KEY`) or with a frame rate
    /// that is not positive, no frames, or a quality outside 1..=100.
    pub fn build(mut self) -> Result<OpenAiVideoLlm> {
        let bad = |m: String| Err(Error::invalid_input(m).with_provider("openai"));
        if !(self.options.fps.is_finite() && self.options.fps > 0.0) {
            return bad(format!("fps must be positive, got {}", self.options.fps));
        }
        if self.options.max_frames == 0 {
            return bad("max_frames must be at least 1".into());
        }
        if !(1..=100).contains(&self.quality) {
            return bad(format!(
                "jpeg_quality must be 1..=100, got {}",
                self.quality
            ));
        }
        if self.common.model.is_none() {
            self.common.model = Some(DEFAULT_VIDEO_MODEL.into());
        }
        let llm = OpenAiLlmBuilder::from_common(self.common).build()?;
        Ok(OpenAiVideoLlm {
            llm,
            options: self.options,
            detail: self.detail,
            quality: self.quality,
            max_side: self.max_side.max(16),
            subscriber: Arc::new(Mutex::new(None)),
        })
    }
}

impl OpenAiVideoLlm {
    /// A builder.
    pub fn builder() -> OpenAiVideoLlmBuilder {
        OpenAiVideoLlmBuilder::default()
    }

    /// Builds from a config section (options: `fps`, `max_frames`, `detail` = `low` | `high`
    /// | `auto`, `jpeg_quality`, `max_side`, `organization`, `project`).
    pub fn from_config(config: &ProviderConfig) -> Result<Self> {
        config.deny_unknown_options(&[
            "fps",
            "max_frames",
            "detail",
            "jpeg_quality",
            "max_side",
            "organization",
            "project",
            "read_timeout_secs",
        ])?;
        let mut b = OpenAiVideoLlmBuilder {
            common: Common::from_config(config)?,
            ..Default::default()
        };
        if let Some(fps) = config.option("fps")? {
            b = b.fps(fps);
        }
        if let Some(n) = config.option("max_frames")? {
            b = b.max_frames(n);
        }
        if let Some(d) = config.option::<ImageDetail>("detail")? {
            b = b.detail(d);
        }
        if let Some(q) = config.option("jpeg_quality")? {
            b = b.jpeg_quality(q);
        }
        if let Some(m) = config.option("max_side")? {
            b = b.max_side(m);
        }
        b.build()
    }

    /// Subscribes to `forwarder` at the configured rate; the newest frames go with the next
    /// [`Llm::chat`]. Replaces an earlier subscription.
    pub fn watch(&self, forwarder: &VideoForwarder) -> Result<()> {
        let sub = forwarder.subscribe(self.options.fps, self.options.max_frames)?;
        if let Ok(mut s) = self.subscriber.lock() {
            *s = Some(sub);
        }
        Ok(())
    }

    /// Like [`Self::watch`] for a plain stream of frames: a task forwards them until the
    /// stream ends or this model is dropped.
    pub fn watch_stream<S>(&self, frames: S) -> Result<()>
    where
        S: Stream<Item = VideoFrame> + Send + 'static,
    {
        let forwarder = VideoForwarder::new();
        self.watch(&forwarder)?;
        let alive = Arc::downgrade(&self.subscriber);
        tokio::spawn(async move {
            let mut frames = std::pin::pin!(frames);
            while let Some(frame) = frames.next().await {
                if alive.strong_count() == 0 {
                    return;
                }
                forwarder.push(frame);
            }
        });
        Ok(())
    }

    /// The frames the next request would carry (newest `max_frames`, oldest first).
    #[must_use]
    pub fn buffered_frames(&self) -> Vec<VideoFrame> {
        self.subscriber
            .lock()
            .ok()
            .and_then(|s| s.as_ref().map(|s| s.latest(self.options.max_frames)))
            .unwrap_or_default()
    }

    /// Encodes one frame as a JPEG image (JPEG frames pass through).
    pub fn encode_frame(&self, frame: &VideoFrame) -> Result<ImageSource> {
        encode_jpeg(frame, self.quality, self.max_side)
    }

    fn with_frames(&self, mut request: ChatRequest, frames: &[VideoFrame]) -> Result<ChatRequest> {
        if frames.is_empty() {
            return Ok(request);
        }
        let mut parts = Vec::with_capacity(frames.len());
        for frame in frames {
            parts.push(ContentPart::Image {
                image: self.encode_frame(frame)?,
                detail: self.detail,
            });
        }
        let messages = request.context.messages_mut();
        match messages.last_mut() {
            Some(last) if last.role == ChatRole::User => last.content.extend(parts),
            _ => {
                let mut m = ChatMessage::user("The latest video frames, oldest first.");
                m.content.extend(parts);
                messages.push(m);
            }
        }
        Ok(request)
    }
}

#[async_trait]
impl VideoLlm for OpenAiVideoLlm {
    fn info(&self) -> ProviderInfo {
        Llm::info(&self.llm)
    }

    fn video_options(&self) -> VideoOptions {
        self.options.clone()
    }

    async fn chat_with_frames(
        &self,
        request: ChatRequest,
        frames: Vec<VideoFrame>,
    ) -> Result<ChatStream> {
        let keep = frames.len().saturating_sub(self.options.max_frames);
        let request = self.with_frames(request, &frames[keep..])?;
        self.llm.chat(request).await
    }
}

#[async_trait]
impl Llm for OpenAiVideoLlm {
    fn info(&self) -> ProviderInfo {
        Llm::info(&self.llm)
    }

    fn capabilities(&self) -> LlmCapabilities {
        self.llm.capabilities()
    }

    /// Sends the request with the buffered frames.
    async fn chat(&self, request: ChatRequest) -> Result<ChatStream> {
        let frames = self.buffered_frames();
        let request = self.with_frames(request, &frames)?;
        self.llm.chat(request).await
    }
}

/// Encodes `frame` as JPEG at `quality`, scaled down (nearest neighbour) so that its longer
/// side is at most `max_side`. JPEG frames pass through unchanged.
pub fn encode_jpeg(frame: &VideoFrame, quality: u8, max_side: u32) -> Result<ImageSource> {
    let (w, h) = (frame.width(), frame.height());
    let rgb = match frame.format() {
        PixelFormat::Jpeg => {
            return Ok(ImageSource::Bytes {
                mime_type: "image/jpeg".into(),
                data: frame.data().clone(),
            });
        }
        PixelFormat::Rgb24 => frame.data().to_vec(),
        PixelFormat::Rgba32 => frame
            .data()
            .chunks_exact(4)
            .flat_map(|p| [p[0], p[1], p[2]])
            .collect(),
        PixelFormat::I420 => i420_to_rgb(frame.data(), w as usize, h as usize),
        other => {
            return Err(Error::unsupported(format!(
                "cannot encode {other:?} video frames"
            )));
        }
    };
    let scale = f64::from(max_side.max(1)) / f64::from(w.max(h));
    let (rgb, w, h) = if scale < 1.0 {
        let nw = ((f64::from(w) * scale).round() as u32).max(1);
        let nh = ((f64::from(h) * scale).round() as u32).max(1);
        (resize_nearest(&rgb, w, h, nw, nh), nw, nh)
    } else {
        (rgb, w, h)
    };
    let (w16, h16) = match (u16::try_from(w), u16::try_from(h)) {
        (Ok(a), Ok(b)) => (a, b),
        _ => return Err(Error::invalid_input("frame too large for JPEG")),
    };
    let mut out = Vec::with_capacity(rgb.len() / 8);
    jpeg_encoder::Encoder::new(&mut out, quality.clamp(1, 100))
        .encode(&rgb, w16, h16, jpeg_encoder::ColorType::Rgb)
        .map_err(|e| Error::invalid_input(format!("JPEG encoding failed: {e}")))?;
    Ok(ImageSource::Bytes {
        mime_type: "image/jpeg".into(),
        data: out.into(),
    })
}

fn i420_to_rgb(data: &[u8], w: usize, h: usize) -> Vec<u8> {
    let (cw, ch) = (w.div_ceil(2), h.div_ceil(2));
    let (y_plane, rest) = data.split_at((w * h).min(data.len()));
    let (u_plane, v_plane) = rest.split_at((cw * ch).min(rest.len()));
    let mut out = Vec::with_capacity(w * h * 3);
    for row in 0..h {
        for col in 0..w {
            let y = f32::from(y_plane.get(row * w + col).copied().unwrap_or(0));
            let ci = (row / 2) * cw + col / 2;
            let u = f32::from(u_plane.get(ci).copied().unwrap_or(128)) - 128.0;
            let v = f32::from(v_plane.get(ci).copied().unwrap_or(128)) - 128.0;
            let c = |x: f32| x.round().clamp(0.0, 255.0) as u8;
            out.push(c(y + 1.402 * v));
            out.push(c(y - 0.344_136 * u - 0.714_136 * v));
            out.push(c(y + 1.772 * u));
        }
    }
    out
}

fn resize_nearest(rgb: &[u8], w: u32, h: u32, nw: u32, nh: u32) -> Vec<u8> {
    let mut out = Vec::with_capacity((nw * nh * 3) as usize);
    for y in 0..nh {
        let sy = (u64::from(y) * u64::from(h) / u64::from(nh)) as usize;
        for x in 0..nw {
            let sx = (u64::from(x) * u64::from(w) / u64::from(nw)) as usize;
            let i = (sy * w as usize + sx) * 3;
            out.extend_from_slice(rgb.get(i..i + 3).unwrap_or(&[0, 0, 0]));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    fn jpeg_bytes(src: ImageSource) -> bytes::Bytes {
        match src {
            ImageSource::Bytes { mime_type, data } => {
                assert_eq!(mime_type, "image/jpeg");
                data
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn encodes_every_pixel_format() {
        let rgb = VideoFrame::new(
            8,
            6,
            PixelFormat::Rgb24,
            vec![200u8; 8 * 6 * 3],
            Duration::ZERO,
        )
        .unwrap();
        let rgba = VideoFrame::new(
            8,
            6,
            PixelFormat::Rgba32,
            vec![90u8; 8 * 6 * 4],
            Duration::ZERO,
        )
        .unwrap();
        let i420 = VideoFrame::new(
            7,
            5,
            PixelFormat::I420,
            vec![128u8; PixelFormat::I420.expected_len(7, 5).unwrap()],
            Duration::ZERO,
        )
        .unwrap();
        for f in [rgb, rgba, i420] {
            let data = jpeg_bytes(encode_jpeg(&f, 80, 768).unwrap());
            assert_eq!(&data[..2], &[0xFF, 0xD8]);
            assert_eq!(&data[data.len() - 2..], &[0xFF, 0xD9]);
        }
        let big = VideoFrame::new(
            2000,
            1000,
            PixelFormat::Rgb24,
            vec![10u8; 2000 * 1000 * 3],
            Duration::ZERO,
        )
        .unwrap();
        let data = jpeg_bytes(encode_jpeg(&big, 50, 100).unwrap());
        // SOF0 holds height then width: 50 x 100
        let sof = data.windows(2).position(|w| w == [0xFF, 0xC0]).unwrap();
        assert_eq!(u16::from_be_bytes([data[sof + 5], data[sof + 6]]), 50);
        assert_eq!(u16::from_be_bytes([data[sof + 7], data[sof + 8]]), 100);
    }
}
