//! Where a session's audio comes from and goes to: [`AudioInput`] and [`AudioOutput`], with
//! WAV-file, in-memory and channel transports and a real-time pacer.

use std::collections::VecDeque;
use std::path::{Path, PathBuf};
use std::time::Duration;

use agents_core::audio::{FrameChunker, read_wav, write_wav};
use agents_core::{AudioFormat, AudioFrame, Error, Result};
use async_trait::async_trait;
use tokio::sync::mpsc;
use tokio::time::Instant;

/// A source of user audio.
///
/// # Cancellation
/// Dropping a `recv` future loses no audio: a frame is only taken when it is returned.
#[async_trait]
pub trait AudioInput: Send {
    /// The format of the frames.
    fn format(&self) -> AudioFormat;

    /// The next frame; `None` at the end of the input.
    async fn recv(&mut self) -> Option<Result<AudioFrame>>;
}

/// A sink for agent audio that plays it out and knows how much was heard.
///
/// # Concurrency
/// Owned by one task. `write` applies back-pressure: it returns once the frame is queued and
/// the queue ahead of the playout position is short, so a producer runs at playout speed.
#[async_trait]
pub trait AudioOutput: Send {
    /// The format the output plays (the session asks the TTS for it).
    fn format(&self) -> AudioFormat;

    /// Queues a frame for playout.
    async fn write(&mut self, frame: AudioFrame) -> Result<()>;

    /// Drops everything queued but not yet played (barge-in); returns how much was dropped.
    async fn clear(&mut self) -> Result<Duration>;

    /// Waits until everything queued has played.
    async fn drain(&mut self) -> Result<()>;

    /// Audio played so far, in total (monotonic).
    fn played(&mut self) -> Duration;

    /// Finishes the output (flushes files). The default drains.
    async fn finish(&mut self) -> Result<()> {
        self.drain().await
    }
}

/// Frames of a WAV file (or an in-memory clip), fixed-size, optionally paced to wall-clock
/// speed as a live source would deliver them.
///
/// ```
/// use agents_core::{AudioFormat, AudioFrame};
/// use agents_runtime::transport::{AudioInput, ClipInput};
/// use std::time::Duration;
///
/// # tokio::runtime::Builder::new_current_thread().enable_time().build().unwrap().block_on(async {
/// let clip = AudioFrame::silence(AudioFormat::MONO_48K, Duration::from_millis(100)).unwrap();
/// let mut input = ClipInput::new(clip, Duration::from_millis(20)).unwrap();
/// let mut n = 0;
/// while let Some(frame) = input.recv().await {
///     assert_eq!(frame.unwrap().duration(), Duration::from_millis(20));
///     n += 1;
/// }
/// assert_eq!(n, 5);
/// # });
/// ```
#[derive(Debug)]
pub struct ClipInput {
    chunker: FrameChunker,
    realtime: bool,
    next_at: Option<Instant>,
    frame_duration: Duration,
}

impl ClipInput {
    /// Frames of `frame_duration` from `clip`, as fast as they are read.
    pub fn new(clip: AudioFrame, frame_duration: Duration) -> Result<Self> {
        let mut chunker = FrameChunker::new(clip.format(), frame_duration)?;
        chunker.push_frame(&clip)?;
        Ok(ClipInput {
            frame_duration: chunker.frame_duration(),
            chunker,
            realtime: false,
            next_at: None,
        })
    }

    /// Frames of a WAV file. A missing or unreadable file is an error naming the path.
    pub fn open(path: impl AsRef<Path>, frame_duration: Duration) -> Result<Self> {
        let path = path.as_ref();
        let clip = read_wav(path)?;
        if clip.is_empty() {
            return Err(Error::invalid_input(format!(
                "{} holds no audio",
                path.display()
            )));
        }
        Self::new(clip, frame_duration)
    }

    /// Delivers frames at wall-clock speed (one frame per frame duration).
    #[must_use]
    pub fn paced(mut self, realtime: bool) -> Self {
        self.realtime = realtime;
        self
    }

    /// Appends silence after the clip, as a live microphone would keep delivering.
    pub fn with_trailing_silence(mut self, silence: Duration) -> Result<Self> {
        let silence = AudioFrame::silence(self.chunker.format(), silence)?;
        self.chunker.push_frame(&silence)?;
        Ok(self)
    }

    async fn pace(&mut self) {
        if !self.realtime {
            return;
        }
        let now = Instant::now();
        let at = *self.next_at.get_or_insert(now);
        if at > now {
            tokio::time::sleep_until(at).await;
        }
        self.next_at = Some(at + self.frame_duration);
    }
}

#[async_trait]
impl AudioInput for ClipInput {
    fn format(&self) -> AudioFormat {
        self.chunker.format()
    }

    async fn recv(&mut self) -> Option<Result<AudioFrame>> {
        let frame = match self.chunker.next_frame() {
            Some(f) => f,
            None => match self.chunker.flush(false) {
                Ok(Some(f)) => f,
                Ok(None) => return None,
                Err(e) => return Some(Err(e)),
            },
        };
        self.pace().await;
        Some(Ok(frame))
    }
}

/// Audio from a channel, for applications that receive frames from elsewhere (a WebSocket,
/// a telephony bridge). The input ends when every sender is dropped.
#[derive(Debug)]
pub struct ChannelInput {
    format: AudioFormat,
    rx: mpsc::Receiver<AudioFrame>,
}

impl ChannelInput {
    /// A bounded channel of `capacity` frames; frames sent must be in `format`.
    #[must_use]
    pub fn new(format: AudioFormat, capacity: usize) -> (mpsc::Sender<AudioFrame>, Self) {
        let (tx, rx) = mpsc::channel(capacity.max(1));
        (tx, ChannelInput { format, rx })
    }
}

#[async_trait]
impl AudioInput for ChannelInput {
    fn format(&self) -> AudioFormat {
        self.format
    }

    async fn recv(&mut self) -> Option<Result<AudioFrame>> {
        self.rx.recv().await.map(Ok)
    }
}

/// Plays audio into memory. Instant mode counts a frame as played when written; real-time
/// mode plays at wall-clock speed (tokio time, so a paused test clock drives it), which is what
/// barge-in truncation needs to know what was heard.
///
/// ```
/// use agents_core::{AudioFormat, AudioFrame};
/// use agents_runtime::transport::{AudioOutput, MemoryOutput};
/// use std::time::Duration;
///
/// # tokio::runtime::Builder::new_current_thread().enable_time().start_paused(true).build().unwrap().block_on(async {
/// let mut out = MemoryOutput::new(AudioFormat::MONO_24K)
///     .realtime(true)
///     .with_max_ahead(Duration::from_secs(2));
/// let second = AudioFrame::silence(AudioFormat::MONO_24K, Duration::from_secs(1)).unwrap();
/// out.write(second).await.unwrap();
/// tokio::time::sleep(Duration::from_millis(400)).await;
/// let dropped = out.clear().await.unwrap();
/// assert_eq!(out.played(), Duration::from_millis(400));
/// assert_eq!(dropped, Duration::from_millis(600));
/// # });
/// ```
#[derive(Debug)]
pub struct MemoryOutput {
    format: AudioFormat,
    realtime: bool,
    max_ahead: Duration,
    played: Vec<i16>,
    queue: VecDeque<(AudioFrame, Instant)>,
    scheduled_end: Option<Instant>,
}

impl MemoryOutput {
    /// An output playing `format`, in instant mode.
    #[must_use]
    pub fn new(format: AudioFormat) -> Self {
        MemoryOutput {
            format,
            realtime: false,
            max_ahead: Duration::from_millis(100),
            played: Vec::new(),
            queue: VecDeque::new(),
            scheduled_end: None,
        }
    }

    /// Plays at wall-clock speed.
    #[must_use]
    pub fn realtime(mut self, realtime: bool) -> Self {
        self.realtime = realtime;
        self
    }

    /// How far ahead of the playout position `write` may queue (real-time mode).
    #[must_use]
    pub fn with_max_ahead(mut self, ahead: Duration) -> Self {
        self.max_ahead = ahead;
        self
    }

    /// Everything played so far.
    pub fn played_audio(&mut self) -> Result<AudioFrame> {
        self.commit(Instant::now());
        AudioFrame::new(self.played.clone(), self.format)
    }

    fn commit(&mut self, now: Instant) {
        while let Some((frame, end)) = self.queue.front() {
            if *end > now {
                break;
            }
            self.played.extend_from_slice(frame.samples());
            self.queue.pop_front();
        }
    }
}

#[async_trait]
impl AudioOutput for MemoryOutput {
    fn format(&self) -> AudioFormat {
        self.format
    }

    async fn write(&mut self, frame: AudioFrame) -> Result<()> {
        if frame.format() != self.format {
            return Err(Error::invalid_input(format!(
                "the output plays {} audio, got {}",
                self.format,
                frame.format()
            )));
        }
        if !self.realtime {
            self.played.extend_from_slice(frame.samples());
            return Ok(());
        }
        let now = Instant::now();
        self.commit(now);
        let start = match self.scheduled_end {
            Some(end) if end > now => end,
            _ => now,
        };
        let end = start + frame.duration();
        self.queue.push_back((frame, end));
        self.scheduled_end = Some(end);
        let ahead = end.saturating_duration_since(now);
        if ahead > self.max_ahead {
            tokio::time::sleep_until(end - self.max_ahead).await;
            self.commit(Instant::now());
        }
        Ok(())
    }

    async fn clear(&mut self) -> Result<Duration> {
        let now = Instant::now();
        self.commit(now);
        let mut dropped = Duration::ZERO;
        if let Some((frame, end)) = self.queue.pop_front() {
            // the frame playing now: keep what was heard
            let start = end.checked_sub(frame.duration()).unwrap_or(end);
            let heard = now.saturating_duration_since(start).min(frame.duration());
            let keep = self.format.samples_for(heard).min(frame.samples().len());
            self.played.extend_from_slice(&frame.samples()[..keep]);
            dropped += frame.duration().saturating_sub(heard);
        }
        for (frame, _) in self.queue.drain(..) {
            dropped += frame.duration();
        }
        self.scheduled_end = None;
        Ok(dropped)
    }

    async fn drain(&mut self) -> Result<()> {
        if let Some(end) = self.scheduled_end {
            tokio::time::sleep_until(end).await;
        }
        self.commit(Instant::now());
        Ok(())
    }

    fn played(&mut self) -> Duration {
        self.commit(Instant::now());
        self.format.duration_of(self.played.len())
    }
}

/// Plays into memory like [`MemoryOutput`] and writes what was played to a WAV file on
/// [`AudioOutput::finish`].
#[derive(Debug)]
pub struct WavFileOutput {
    path: PathBuf,
    inner: MemoryOutput,
}

impl WavFileOutput {
    /// An output that writes `path` in `format` when finished.
    pub fn create(path: impl Into<PathBuf>, format: AudioFormat) -> Result<Self> {
        format.validate()?;
        let path = path.into();
        if let Some(dir) = path.parent() {
            if !dir.as_os_str().is_empty() && !dir.is_dir() {
                return Err(Error::invalid_input(format!(
                    "cannot write {}: directory {} does not exist",
                    path.display(),
                    dir.display()
                )));
            }
        }
        Ok(WavFileOutput {
            path,
            inner: MemoryOutput::new(format),
        })
    }

    /// Plays at wall-clock speed.
    #[must_use]
    pub fn realtime(mut self, realtime: bool) -> Self {
        self.inner = self.inner.realtime(realtime);
        self
    }

    /// The file written on finish.
    #[must_use]
    pub fn path(&self) -> &Path {
        &self.path
    }
}

#[async_trait]
impl AudioOutput for WavFileOutput {
    fn format(&self) -> AudioFormat {
        self.inner.format()
    }

    async fn write(&mut self, frame: AudioFrame) -> Result<()> {
        self.inner.write(frame).await
    }

    async fn clear(&mut self) -> Result<Duration> {
        self.inner.clear().await
    }

    async fn drain(&mut self) -> Result<()> {
        self.inner.drain().await
    }

    fn played(&mut self) -> Duration {
        self.inner.played()
    }

    async fn finish(&mut self) -> Result<()> {
        self.inner.drain().await?;
        let audio = self.inner.played_audio()?;
        write_wav(&self.path, &audio)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test(start_paused = true)]
    async fn paced_input_runs_at_wall_clock() {
        let clip = AudioFrame::silence(AudioFormat::MONO_16K, Duration::from_secs(1)).unwrap();
        let mut input = ClipInput::new(clip, Duration::from_millis(20))
            .unwrap()
            .paced(true)
            .with_trailing_silence(Duration::from_millis(200))
            .unwrap();
        let start = Instant::now();
        let mut total = Duration::ZERO;
        while let Some(f) = input.recv().await {
            total += f.unwrap().duration();
        }
        assert_eq!(total, Duration::from_millis(1200));
        // the last frame is delivered one frame before the end of the audio
        assert_eq!(start.elapsed(), Duration::from_millis(1180));
    }

    #[tokio::test]
    async fn clip_input_keeps_a_short_tail() {
        let clip = AudioFrame::silence(AudioFormat::MONO_16K, Duration::from_millis(50)).unwrap();
        let mut input = ClipInput::new(clip, Duration::from_millis(20)).unwrap();
        let mut sizes = Vec::new();
        while let Some(f) = input.recv().await {
            sizes.push(f.unwrap().samples().len());
        }
        assert_eq!(sizes, vec![320, 320, 160]);
    }

    #[tokio::test(start_paused = true)]
    async fn realtime_output_applies_back_pressure_and_truncates() {
        let mut out = MemoryOutput::new(AudioFormat::MONO_16K).realtime(true);
        let start = Instant::now();
        for _ in 0..50 {
            let f = AudioFrame::silence(AudioFormat::MONO_16K, Duration::from_millis(20)).unwrap();
            out.write(f).await.unwrap();
        }
        // 1 s queued; writes return when at most 100 ms is ahead
        assert_eq!(start.elapsed(), Duration::from_millis(900));
        tokio::time::sleep(Duration::from_millis(50)).await;
        let dropped = out.clear().await.unwrap();
        assert_eq!(out.played(), Duration::from_millis(950));
        assert_eq!(dropped, Duration::from_millis(50));
        assert_eq!(
            out.played_audio().unwrap().duration(),
            Duration::from_millis(950)
        );
    }

    #[tokio::test]
    async fn wav_output_writes_the_file() {
        let path = std::env::temp_dir().join(format!("agents-out-{}.wav", std::process::id()));
        let mut out = WavFileOutput::create(&path, AudioFormat::MONO_24K).unwrap();
        let f = AudioFrame::new(vec![100; 2400], AudioFormat::MONO_24K).unwrap();
        out.write(f).await.unwrap();
        out.finish().await.unwrap();
        let back = read_wav(&path).unwrap();
        assert_eq!(back.samples().len(), 2400);
        let _ = std::fs::remove_file(&path);
        assert!(WavFileOutput::create("/no/such/dir/x.wav", AudioFormat::MONO_24K).is_err());
        assert!(ClipInput::open("/no/such/file.wav", Duration::from_millis(20)).is_err());
    }
}
