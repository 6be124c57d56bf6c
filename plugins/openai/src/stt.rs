//! [`OpenAiStt`]: `POST /audio/transcriptions`, the utterance sent as a WAV file.

use agents_core::{
    AudioFormat, AudioFrame, Error, ProviderConfig, ProviderInfo, RecognizeOptions, Result,
    SpeechAlternative, SpeechEvent, Stt, SttCapabilities, async_trait,
};
use serde::Deserialize;

use crate::config::{Common, common_builder_methods};
use crate::endpoint::HttpClient;

/// The default transcription model.
pub const DEFAULT_STT_MODEL: &str = "gpt-4o-mini-transcribe";

/// The format audio is uploaded in (the core converts to it): 16 kHz mono, the rate the
/// transcription models work at.
pub const STT_INPUT_FORMAT: AudioFormat = AudioFormat::MONO_16K;

/// OpenAI speech-to-text over the transcriptions endpoint (whole utterances; wrap it in the
/// runtime's `StreamAdapter` to stream).
///
/// ```no_run
/// use agents_core::{AudioFormat, AudioFrame, RecognizeOptions, Stt};
/// use agents_plugin_openai::OpenAiStt;
///
/// # async fn run(audio: AudioFrame) -> agents_core::Result<()> {
/// let stt = OpenAiStt::builder().model("whisper-1").language("en").build()?;
/// let event = stt.recognize(&audio, &RecognizeOptions::default()).await?;
/// println!("{}", event.text());
/// # Ok(()) }
/// ```
#[derive(Debug, Clone)]
pub struct OpenAiStt {
    http: HttpClient,
    model: String,
    language: Option<String>,
    prompt: Option<String>,
}

/// Builds an [`OpenAiStt`].
#[derive(Debug, Clone, Default)]
#[must_use]
pub struct OpenAiSttBuilder {
    common: Common,
    language: Option<String>,
    prompt: Option<String>,
}

impl OpenAiSttBuilder {
    common_builder_methods!();

    /// Sets the default language (ISO-639-1, such as `en`).
    pub fn language(mut self, language: impl Into<String>) -> Self {
        self.language = Some(language.into());
        self
    }

    /// Sets the default prompt (vocabulary, previous text).
    pub fn prompt(mut self, prompt: impl Into<String>) -> Self {
        self.prompt = Some(prompt.into());
        self
    }

    /// Builds the provider; fails without a key (naming `OPENAI_API_KEY`).
    pub fn build(self) -> Result<OpenAiStt> {
        Ok(OpenAiStt {
            http: self.common.endpoint()?.connect()?,
            model: self
                .common
                .model
                .unwrap_or_else(|| DEFAULT_STT_MODEL.to_string()),
            language: self.language,
            prompt: self.prompt,
        })
    }
}

impl OpenAiStt {
    /// A builder.
    pub fn builder() -> OpenAiSttBuilder {
        OpenAiSttBuilder::default()
    }

    /// The defaults with the key from `OPENAI_API_KEY`.
    pub fn from_env() -> Result<Self> {
        Self::builder().build()
    }

    /// Builds from a config section (options: `language`, `prompt`, `organization`,
    /// `project`, `read_timeout_secs`).
    pub fn from_config(config: &ProviderConfig) -> Result<Self> {
        config.deny_unknown_options(&[
            "language",
            "prompt",
            "organization",
            "project",
            "read_timeout_secs",
        ])?;
        OpenAiSttBuilder {
            common: Common::from_config(config)?,
            language: config.option("language")?,
            prompt: config.option("prompt")?,
        }
        .build()
    }
}

#[derive(Deserialize)]
struct Transcription {
    text: String,
}

#[async_trait]
impl Stt for OpenAiStt {
    fn info(&self) -> ProviderInfo {
        ProviderInfo::new("openai", self.model.clone())
    }

    fn capabilities(&self) -> SttCapabilities {
        SttCapabilities::new(STT_INPUT_FORMAT)
    }

    async fn recognize_native(
        &self,
        audio: &AudioFrame,
        options: &RecognizeOptions,
    ) -> Result<SpeechEvent> {
        let wav = wav_bytes(audio);
        let language = options.language.clone().or_else(|| self.language.clone());
        // OpenAI wants ISO-639-1 (`en`), callers may pass BCP-47 (`en-US`).
        let language = language.map(|l| l.split(['-', '_']).next().unwrap_or("").to_string());
        let prompt = options.prompt.clone().or_else(|| self.prompt.clone());
        let response = self
            .http
            .send(|http| {
                let file = reqwest::multipart::Part::bytes(wav.clone())
                    .file_name("audio.wav")
                    .mime_str("audio/wav")
                    .unwrap_or_else(|_| reqwest::multipart::Part::bytes(wav.clone()));
                let mut form = reqwest::multipart::Form::new()
                    .part("file", file)
                    .text("model", self.model.clone())
                    .text("response_format", "json");
                if let Some(l) = language.clone().filter(|l| !l.is_empty()) {
                    form = form.text("language", l);
                }
                if let Some(p) = prompt.clone() {
                    form = form.text("prompt", p);
                }
                http.post("audio/transcriptions").multipart(form)
            })
            .await?;
        let body = response
            .bytes()
            .await
            .map_err(|e| self.http.transport_error(e, true))?;
        let parsed: Transcription = serde_json::from_slice(&body).map_err(|e| {
            Error::protocol(format!("the transcription is not the expected JSON: {e}"))
                .with_provider("openai")
        })?;
        let mut alt = SpeechAlternative::text(parsed.text.trim());
        alt.language = options.language.clone().or_else(|| self.language.clone());
        alt.end = audio.duration();
        Ok(SpeechEvent::final_transcript(alt))
    }
}

/// A 16-bit PCM WAV file of `audio`.
fn wav_bytes(audio: &AudioFrame) -> Vec<u8> {
    let data = audio.to_le_bytes();
    let channels = audio.channels();
    let rate = audio.sample_rate();
    let block_align = channels * 2;
    let byte_rate = rate * u32::from(block_align);
    let data_len = u32::try_from(data.len()).unwrap_or(u32::MAX);
    let mut out = Vec::with_capacity(44 + data.len());
    out.extend_from_slice(b"RIFF");
    out.extend_from_slice(&(36u32.saturating_add(data_len)).to_le_bytes());
    out.extend_from_slice(b"WAVEfmt ");
    out.extend_from_slice(&16u32.to_le_bytes());
    out.extend_from_slice(&1u16.to_le_bytes());
    out.extend_from_slice(&channels.to_le_bytes());
    out.extend_from_slice(&rate.to_le_bytes());
    out.extend_from_slice(&byte_rate.to_le_bytes());
    out.extend_from_slice(&block_align.to_le_bytes());
    out.extend_from_slice(&16u16.to_le_bytes());
    out.extend_from_slice(b"data");
    out.extend_from_slice(&data_len.to_le_bytes());
    out.extend_from_slice(&data);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wav_header() {
        let audio = AudioFrame::new(vec![1, -1, 300], AudioFormat::MONO_16K).unwrap();
        let wav = wav_bytes(&audio);
        assert_eq!(wav.len(), 44 + 6);
        assert_eq!(&wav[..4], b"RIFF");
        assert_eq!(
            u32::from_le_bytes([wav[24], wav[25], wav[26], wav[27]]),
            16000
        );
        assert_eq!(&wav[44..46], &1i16.to_le_bytes());
    }
}
