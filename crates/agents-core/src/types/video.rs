//! Video frames.

use std::fmt;
use std::time::Duration;

use crate::error::{Error, Result};

/// How a [`VideoFrame`]'s bytes are laid out.
#[non_exhaustive]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum PixelFormat {
    /// Packed 8-bit RGB, 3 bytes per pixel.
    Rgb24,
    /// Packed 8-bit RGBA, 4 bytes per pixel.
    Rgba32,
    /// Planar YUV 4:2:0 (I420).
    I420,
    /// An encoded JPEG image.
    Jpeg,
}

impl PixelFormat {
    /// The byte length of a `width` x `height` image, or `None` for encoded formats.
    #[must_use]
    pub fn expected_len(&self, width: u32, height: u32) -> Option<usize> {
        let (w, h) = (width as usize, height as usize);
        match self {
            PixelFormat::Rgb24 => Some(w * h * 3),
            PixelFormat::Rgba32 => Some(w * h * 4),
            PixelFormat::I420 => Some(w * h + 2 * (w.div_ceil(2) * h.div_ceil(2))),
            PixelFormat::Jpeg => None,
        }
    }
}

/// One video frame. Cloning is cheap (the pixels are shared).
///
/// ```
/// use agents_core::{PixelFormat, VideoFrame};
/// use std::time::Duration;
///
/// let frame = VideoFrame::new(2, 2, PixelFormat::Rgb24, vec![0u8; 12], Duration::ZERO).unwrap();
/// assert_eq!(frame.width(), 2);
/// assert!(VideoFrame::new(2, 2, PixelFormat::Rgb24, vec![0u8; 5], Duration::ZERO).is_err());
/// ```
#[derive(Clone, PartialEq, Eq)]
pub struct VideoFrame {
    width: u32,
    height: u32,
    format: PixelFormat,
    data: bytes::Bytes,
    timestamp: Duration,
}

impl VideoFrame {
    /// A frame; the byte length must match the format (any length for encoded formats, but not
    /// empty) and the size must be non-zero and at most 16384 on a side.
    pub fn new(
        width: u32,
        height: u32,
        format: PixelFormat,
        data: impl Into<bytes::Bytes>,
        timestamp: Duration,
    ) -> Result<Self> {
        let data = data.into();
        if width == 0 || height == 0 || width > 16_384 || height > 16_384 {
            return Err(Error::invalid_input(format!(
                "video frame size {width}x{height} is outside 1..=16384"
            )));
        }
        match format.expected_len(width, height) {
            Some(len) if len != data.len() => {
                return Err(Error::invalid_input(format!(
                    "a {width}x{height} {format:?} frame needs {len} bytes, got {}",
                    data.len()
                )));
            }
            None if data.is_empty() => {
                return Err(Error::invalid_input("an encoded video frame is empty"));
            }
            _ => {}
        }
        Ok(VideoFrame {
            width,
            height,
            format,
            data,
            timestamp,
        })
    }

    /// Width in pixels.
    #[must_use]
    pub fn width(&self) -> u32 {
        self.width
    }

    /// Height in pixels.
    #[must_use]
    pub fn height(&self) -> u32 {
        self.height
    }

    /// Pixel layout.
    #[must_use]
    pub fn format(&self) -> PixelFormat {
        self.format
    }

    /// The bytes.
    #[must_use]
    pub fn data(&self) -> &bytes::Bytes {
        &self.data
    }

    /// Capture time relative to the source's start.
    #[must_use]
    pub fn timestamp(&self) -> Duration {
        self.timestamp
    }
}

impl fmt::Debug for VideoFrame {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("VideoFrame")
            .field("width", &self.width)
            .field("height", &self.height)
            .field("format", &self.format)
            .field("bytes", &self.data.len())
            .field("timestamp", &self.timestamp)
            .finish()
    }
}
