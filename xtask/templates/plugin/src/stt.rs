//! [`{{Name}}Stt`]: `POST {base_url}/v1/stt?model=..[&language=..]` with the utterance as raw
//! 16-bit little-endian PCM at 16 kHz mono; the answer is `{"text": "..."}`.

use agents_core::{
    AudioFormat, AudioFrame, Error, ProviderConfig, ProviderInfo, RecognizeOptions, Result,
    SpeechAlternative, SpeechEvent, Stt, SttCapabilities, async_trait,
};
use serde::Deserialize;

use crate::client::{Client, PROVIDER, transport_error};

/// The default speech-to-text model.
pub const DEFAULT_STT_MODEL: &str = "{{name}}-stt-1";

/// The format the provider takes. The core converts every caller's audio to it; the plugin
/// never resamples.
pub const STT_INPUT_FORMAT: AudioFormat = AudioFormat::MONO_16K;

/// {{Name}} speech-to-text (whole utterances; wrap it in the runtime's `StreamAdapter` to
/// stream).
///
/// ```no_run
/// use agents_core::{AudioFrame, ProviderConfig, RecognizeOptions, Stt};
/// use {{crate_ident}}::{{Name}}Stt;
///
/// # async fn run(audio: AudioFrame) -> agents_core::Result<()> {
/// let stt = {{Name}}Stt::from_config(&ProviderConfig::new("{{name}}").with_option("language", "en"))?;
/// let event = stt.recognize(&audio, &RecognizeOptions::default()).await?;
/// println!("{}", event.text());
/// # Ok(()) }
/// ```
#[derive(Debug, Clone)]
pub struct {{Name}}Stt {
    client: Client,
    model: String,
    language: Option<String>,
}

impl {{Name}}Stt {
    /// Builds from a config section (options: `language`).
    pub fn from_config(config: &ProviderConfig) -> Result<Self> {
        config.deny_unknown_options(&["language"])?;
        Ok({{Name}}Stt {
            client: Client::from_config(config)?,
            model: config
                .model
                .clone()
                .unwrap_or_else(|| DEFAULT_STT_MODEL.to_string()),
            language: config.option("language")?,
        })
    }
}

#[derive(Deserialize)]
struct Transcript {
    text: String,
}

#[async_trait]
impl Stt for {{Name}}Stt {
    fn info(&self) -> ProviderInfo {
        ProviderInfo::new(PROVIDER, self.model.clone())
    }

    fn capabilities(&self) -> SttCapabilities {
        SttCapabilities::new(STT_INPUT_FORMAT)
    }

    async fn recognize_native(
        &self,
        audio: &AudioFrame,
        options: &RecognizeOptions,
    ) -> Result<SpeechEvent> {
        let body = audio.to_le_bytes();
        let language = options.language.clone().or_else(|| self.language.clone());
        let mut path = format!("v1/stt?model={}", encode(&self.model));
        if let Some(language) = &language {
            path.push_str(&format!("&language={}", encode(language)));
        }
        let response = self
            .client
            .send(&path, |request| {
                request
                    .header("content-type", "audio/pcm;rate=16000;channels=1")
                    .body(body.clone())
            })
            .await?;
        let bytes = response.bytes().await.map_err(transport_error)?;
        let transcript: Transcript = serde_json::from_slice(&bytes).map_err(|e| {
            Error::protocol(format!("the transcript is not the expected JSON: {e}"))
                .with_provider(PROVIDER)
        })?;
        let mut alternative = SpeechAlternative::text(transcript.text.trim());
        alternative.language = language;
        alternative.end = audio.duration();
        Ok(SpeechEvent::final_transcript(alternative))
    }
}

/// Percent-encodes a query value (everything but unreserved characters).
fn encode(value: &str) -> String {
    value
        .bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'~' => {
                char::from(b).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}
