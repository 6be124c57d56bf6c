//! [`{{Name}}Tts`]: `POST {base_url}/v1/tts` with `{"model", "text", "voice", "speed"}`; the
//! answer is a streamed body of raw 16-bit little-endian PCM at 24 kHz mono.

use agents_core::{
    AudioFormat, AudioFrame, Error, EventSender, ProviderConfig, ProviderInfo, Result,
    SynthesizeOptions, Tts, TtsAudioStream, TtsCapabilities, TtsEvent, async_trait,
};
use futures_util::StreamExt;
use serde_json::json;

use crate::client::{Client, PROVIDER, transport_error};

/// The default speech model.
pub const DEFAULT_TTS_MODEL: &str = "{{name}}-tts-1";

/// The format the provider speaks. Callers asking for another get it converted by the core.
pub const TTS_OUTPUT_FORMAT: AudioFormat = AudioFormat::MONO_24K;

/// {{Name}} text-to-speech: audio frames yielded while the body arrives.
///
/// ```no_run
/// use agents_core::{ProviderConfig, SynthesizeOptions, Tts, TtsEvent};
/// use futures_util::StreamExt;
/// use {{crate_ident}}::{{Name}}Tts;
///
/// # async fn run() -> agents_core::Result<()> {
/// let tts = {{Name}}Tts::from_config(&ProviderConfig::new("{{name}}").with_option("voice", "alloy"))?;
/// let mut audio = tts.synthesize("Hello!", &SynthesizeOptions::default()).await?;
/// while let Some(event) = audio.next().await {
///     if let TtsEvent::Audio(frame) = event? {
///         println!("{} samples", frame.samples().len());
///     }
/// }
/// # Ok(()) }
/// ```
#[derive(Debug, Clone)]
pub struct {{Name}}Tts {
    client: Client,
    model: String,
    voice: Option<String>,
}

impl {{Name}}Tts {
    /// Builds from a config section (options: `voice`).
    pub fn from_config(config: &ProviderConfig) -> Result<Self> {
        config.deny_unknown_options(&["voice"])?;
        Ok({{Name}}Tts {
            client: Client::from_config(config)?,
            model: config
                .model
                .clone()
                .unwrap_or_else(|| DEFAULT_TTS_MODEL.to_string()),
            voice: config.option("voice")?,
        })
    }
}

#[async_trait]
impl Tts for {{Name}}Tts {
    fn info(&self) -> ProviderInfo {
        ProviderInfo::new(PROVIDER, self.model.clone())
    }

    fn capabilities(&self) -> TtsCapabilities {
        TtsCapabilities::new(TTS_OUTPUT_FORMAT)
    }

    async fn synthesize(&self, text: &str, options: &SynthesizeOptions) -> Result<TtsAudioStream> {
        if text.trim().is_empty() {
            return Err(Error::invalid_input("cannot synthesize empty text").with_provider(PROVIDER));
        }
        let body = json!({
            "model": self.model,
            "text": text,
            "voice": options.voice.clone().or_else(|| self.voice.clone()),
            "speed": options.speed,
        });
        // Connect errors (refused, 401, 429, 5xx) come back from here, after the retries.
        let response = self.client.send("v1/tts", |r| r.json(&body)).await?;
        let (events, stream) = TtsAudioStream::channel(TTS_OUTPUT_FORMAT, options);
        tokio::spawn(async move {
            tokio::select! {
                () = events.cancelled() => {}
                () = pump(response, &events) => {}
            }
        });
        Ok(stream)
    }
}

/// Forwards the PCM body as frames, then one `SegmentEnd`; a failure mid-body is one error.
async fn pump(response: reqwest::Response, events: &EventSender<TtsEvent>) {
    let mut body = response.bytes_stream();
    let mut odd_byte: Option<u8> = None;
    while let Some(chunk) = body.next().await {
        let chunk = match chunk {
            Ok(chunk) => chunk,
            Err(e) => {
                let _ = events.send_error(transport_error(e)).await;
                return;
            }
        };
        let mut bytes = Vec::with_capacity(chunk.len() + 1);
        bytes.extend(odd_byte.take());
        bytes.extend_from_slice(&chunk);
        if bytes.len() % 2 == 1 {
            odd_byte = bytes.pop();
        }
        if bytes.is_empty() {
            continue;
        }
        match AudioFrame::from_le_bytes(&bytes, TTS_OUTPUT_FORMAT) {
            Ok(frame) => {
                if events.send(TtsEvent::Audio(frame)).await.is_err() {
                    return;
                }
            }
            Err(e) => {
                let _ = events.send_error(e.with_provider(PROVIDER)).await;
                return;
            }
        }
    }
    let _ = events.send(TtsEvent::SegmentEnd).await;
}
