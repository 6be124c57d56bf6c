//! [`OpenAiTts`]: `POST /audio/speech` with `response_format=pcm`, streamed out as frames while
//! the body arrives.

use agents_core::{
    AudioFormat, AudioFrame, Error, ProviderConfig, ProviderInfo, Result, SynthesizeOptions, Tts,
    TtsAudioStream, TtsCapabilities, TtsEvent, async_trait,
};
use futures_util::StreamExt;
use serde_json::{Map, Value, json};

use crate::config::{Common, common_builder_methods};
use crate::endpoint::HttpClient;

/// The default speech model.
pub const DEFAULT_TTS_MODEL: &str = "gpt-4o-mini-tts";
/// The default voice.
pub const DEFAULT_VOICE: &str = "alloy";
/// The format of `response_format=pcm`: 24 kHz, 16-bit, mono.
pub const PCM_FORMAT: AudioFormat = AudioFormat::MONO_24K;

/// OpenAI text-to-speech. Audio is 24 kHz s16 mono PCM, handed out as it arrives; the core
/// converts it to the format the caller asks for.
///
/// ```no_run
/// use agents_core::{SynthesizeOptions, Tts, TtsEvent};
/// use agents_plugin_openai::OpenAiTts;
/// use futures_util::StreamExt;
///
/// # async fn run() -> agents_core::Result<()> {
/// let tts = OpenAiTts::builder().voice("coral").instructions("Speak cheerfully").build()?;
/// let mut audio = tts.synthesize("Hello!", &SynthesizeOptions::default()).await?;
/// while let Some(event) = audio.next().await {
///     if let TtsEvent::Audio(frame) = event? { /* play it */ let _ = frame; }
/// }
/// # Ok(()) }
/// ```
#[derive(Debug, Clone)]
pub struct OpenAiTts {
    http: HttpClient,
    model: String,
    voice: String,
    speed: Option<f32>,
    instructions: Option<String>,
}

/// Builds an [`OpenAiTts`].
#[derive(Debug, Clone, Default)]
#[must_use]
pub struct OpenAiTtsBuilder {
    common: Common,
    voice: Option<String>,
    speed: Option<f32>,
    instructions: Option<String>,
}

impl OpenAiTtsBuilder {
    common_builder_methods!();

    /// Sets the voice (`alloy`, `ash`, `coral`, `marin`, ...; default `alloy`).
    pub fn voice(mut self, voice: impl Into<String>) -> Self {
        self.voice = Some(voice.into());
        self
    }

    /// Sets the speed, 0.25 to 4.0.
    pub fn speed(mut self, speed: f32) -> Self {
        self.speed = Some(speed);
        self
    }

    /// Sets speaking instructions (`gpt-4o-mini-tts` only).
    pub fn instructions(mut self, instructions: impl Into<String>) -> Self {
        self.instructions = Some(instructions.into());
        self
    }

    /// Builds the provider. Fails without a key (naming `OPENAI_API_KEY`) or with a speed
    /// outside 0.25..=4.0.
    pub fn build(self) -> Result<OpenAiTts> {
        if let Some(s) = self.speed {
            check_speed(s)?;
        }
        Ok(OpenAiTts {
            http: self.common.endpoint()?.connect()?,
            model: self
                .common
                .model
                .unwrap_or_else(|| DEFAULT_TTS_MODEL.to_string()),
            voice: self.voice.unwrap_or_else(|| DEFAULT_VOICE.to_string()),
            speed: self.speed,
            instructions: self.instructions,
        })
    }
}

fn check_speed(speed: f32) -> Result<()> {
    if !(0.25..=4.0).contains(&speed) {
        return Err(
            Error::invalid_input(format!("speed must be within 0.25..=4.0, got {speed}"))
                .with_provider("openai"),
        );
    }
    Ok(())
}

impl OpenAiTts {
    /// A builder.
    pub fn builder() -> OpenAiTtsBuilder {
        OpenAiTtsBuilder::default()
    }

    /// The defaults with the key from `OPENAI_API_KEY`.
    pub fn from_env() -> Result<Self> {
        Self::builder().build()
    }

    /// Builds from a config section (options: `voice`, `speed`, `instructions`,
    /// `organization`, `project`, `read_timeout_secs`).
    pub fn from_config(config: &ProviderConfig) -> Result<Self> {
        config.deny_unknown_options(&[
            "voice",
            "speed",
            "instructions",
            "organization",
            "project",
            "read_timeout_secs",
        ])?;
        OpenAiTtsBuilder {
            common: Common::from_config(config)?,
            voice: config.option("voice")?,
            speed: config.option("speed")?,
            instructions: config.option("instructions")?,
        }
        .build()
    }

    /// The JSON body sent for `text`.
    #[must_use]
    pub fn request_body(&self, text: &str, options: &SynthesizeOptions) -> Value {
        let mut body = Map::new();
        body.insert("model".into(), json!(self.model));
        body.insert("input".into(), json!(text));
        body.insert(
            "voice".into(),
            json!(options.voice.as_deref().unwrap_or(&self.voice)),
        );
        body.insert("response_format".into(), json!("pcm"));
        if let Some(speed) = options.speed.or(self.speed) {
            let speed: f64 = speed.to_string().parse().unwrap_or(f64::from(speed));
            body.insert("speed".into(), json!(speed));
        }
        if let Some(i) = &self.instructions {
            body.insert("instructions".into(), json!(i));
        }
        Value::Object(body)
    }
}

#[async_trait]
impl Tts for OpenAiTts {
    fn info(&self) -> ProviderInfo {
        ProviderInfo::new("openai", self.model.clone())
    }

    fn capabilities(&self) -> TtsCapabilities {
        TtsCapabilities::new(PCM_FORMAT)
    }

    async fn synthesize(&self, text: &str, options: &SynthesizeOptions) -> Result<TtsAudioStream> {
        if text.trim().is_empty() {
            return Err(
                Error::invalid_input("cannot synthesize empty text").with_provider("openai")
            );
        }
        if let Some(s) = options.speed {
            check_speed(s)?;
        }
        let body = bytes::Bytes::from(serde_json::to_vec(&self.request_body(text, options))?);
        let response = self
            .http
            .send(|http| {
                http.post("audio/speech")
                    .header(reqwest::header::CONTENT_TYPE, "application/json")
                    .body(body.clone())
            })
            .await?;
        let (tx, stream) = TtsAudioStream::channel(PCM_FORMAT, options);
        let http = self.http.clone();
        tokio::spawn(async move {
            let mut body = response.bytes_stream();
            let mut carry: Option<u8> = None;
            loop {
                let next = tokio::select! {
                    _ = tx.cancelled() => return,
                    next = body.next() => next,
                };
                match next {
                    Some(Ok(bytes)) => {
                        let samples = pcm_samples(&mut carry, &bytes);
                        if samples.is_empty() {
                            continue;
                        }
                        let frame = match AudioFrame::new(samples, PCM_FORMAT) {
                            Ok(f) => f,
                            Err(e) => {
                                let _ = tx.send_error(e).await;
                                return;
                            }
                        };
                        if tx.send(TtsEvent::Audio(frame)).await.is_err() {
                            return;
                        }
                    }
                    Some(Err(e)) => {
                        let _ = tx.send_error(http.transport_error(e, true)).await;
                        return;
                    }
                    None => break,
                }
            }
            if carry.is_some() {
                tracing::debug!("speech body ended with half a sample; dropped");
            }
            let _ = tx.send(TtsEvent::SegmentEnd).await;
        });
        Ok(stream)
    }
}

/// Turns little-endian bytes into samples, keeping an odd trailing byte for the next chunk.
fn pcm_samples(carry: &mut Option<u8>, bytes: &[u8]) -> Vec<i16> {
    let mut out = Vec::with_capacity(bytes.len() / 2 + 1);
    let mut rest = bytes;
    if let Some(lo) = carry.take() {
        match rest.split_first() {
            Some((&hi, tail)) => {
                out.push(i16::from_le_bytes([lo, hi]));
                rest = tail;
            }
            None => {
                *carry = Some(lo);
                return out;
            }
        }
    }
    let mut pairs = rest.chunks_exact(2);
    out.extend(pairs.by_ref().map(|p| i16::from_le_bytes([p[0], p[1]])));
    if let [last] = pairs.remainder() {
        *carry = Some(*last);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn odd_chunks_keep_samples_whole() {
        let samples: Vec<i16> = (0..50).map(|i| i * 300 - 7000).collect();
        let bytes: Vec<u8> = samples.iter().flat_map(|s| s.to_le_bytes()).collect();
        for size in 1..8 {
            let mut carry = None;
            let mut got = Vec::new();
            for chunk in bytes.chunks(size) {
                got.extend(pcm_samples(&mut carry, chunk));
            }
            assert_eq!(got, samples, "chunk size {size}");
            assert!(carry.is_none());
        }
    }
}
