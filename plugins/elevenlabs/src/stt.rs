//! ElevenLabs Scribe speech-to-text over `POST /v1/speech-to-text`.

use std::sync::Arc;
use std::time::Duration;

use agents_core::ws::BaseUrl;
use agents_core::{
    ApiKey, AudioFormat, AudioFrame, ConnectOptions, Error, ProviderInfo, RecognizeOptions, Result,
    SpeechAlternative, SpeechEvent, Stt, SttCapabilities, WordTiming, async_trait,
};
use serde::Deserialize;

use crate::client::{self, PROVIDER};

#[derive(Debug)]
struct Inner {
    api_key: ApiKey,
    headers: Vec<(String, String)>,
    base_url: BaseUrl,
    model: String,
    language: Option<String>,
    sample_rate: u32,
    tag_audio_events: bool,
    connect: ConnectOptions,
    http: reqwest::Client,
}

/// ElevenLabs Scribe speech-to-text: one utterance per request, sent as a WAV file in a
/// multipart form. It does not stream; wrap it in the runtime's `StreamAdapter` for that.
///
/// ```no_run
/// use agents_plugin_elevenlabs::ElevenLabsStt;
///
/// # fn demo() -> agents_core::Result<()> {
/// let stt = ElevenLabsStt::builder().model("scribe_v1").language("en").build()?;
/// # let _ = stt;
/// # Ok(()) }
/// ```
#[derive(Debug, Clone)]
pub struct ElevenLabsStt {
    inner: Arc<Inner>,
}

/// Builds an [`ElevenLabsStt`].
#[derive(Debug, Clone, Default)]
#[must_use]
pub struct ElevenLabsSttBuilder {
    api_key: Option<ApiKey>,
    headers: Vec<(String, String)>,
    base_url: Option<String>,
    model: Option<String>,
    language: Option<String>,
    sample_rate: Option<u32>,
    tag_audio_events: bool,
    connect: Option<ConnectOptions>,
    http: Option<reqwest::Client>,
}

impl ElevenLabsSttBuilder {
    /// The API key; without one, `ELEVEN_API_KEY` or `ELEVENLABS_API_KEY` is read.
    pub fn api_key(mut self, key: impl Into<ApiKey>) -> Self {
        self.api_key = Some(key.into());
        self
    }

    /// Adds an HTTP header sent with every request and WebSocket handshake.
    pub fn header(mut self, name: impl Into<String>, value: impl Into<String>) -> Self {
        self.headers.push((name.into(), value.into()));
        self
    }

    /// The endpoint (`https://api.elevenlabs.io` by default).
    pub fn base_url(mut self, url: impl Into<String>) -> Self {
        self.base_url = Some(url.into());
        self
    }

    /// `model_id` (`scribe_v1` by default).
    pub fn model(mut self, model: impl Into<String>) -> Self {
        self.model = Some(model.into());
        self
    }

    /// `language_code`; without it Scribe detects the language.
    pub fn language(mut self, language: impl Into<String>) -> Self {
        self.language = Some(language.into());
        self
    }

    /// The rate of the WAV sent (16 kHz by default); the core converts to it.
    pub fn sample_rate(mut self, rate: u32) -> Self {
        self.sample_rate = Some(rate);
        self
    }

    /// `tag_audio_events` (laughter, applause) in the transcript.
    pub fn tag_audio_events(mut self, on: bool) -> Self {
        self.tag_audio_events = on;
        self
    }

    /// Connect retries and timeouts.
    pub fn connect_options(mut self, connect: ConnectOptions) -> Self {
        self.connect = Some(connect);
        self
    }

    /// Uses this HTTP client.
    pub fn http_client(mut self, client: reqwest::Client) -> Self {
        self.http = Some(client);
        self
    }

    /// Validates and builds.
    pub fn build(self) -> Result<ElevenLabsStt> {
        let api_key = client::resolve_key(self.api_key)?;
        let base_url = client::parse_base_url(self.base_url.as_deref())?;
        client::validate_headers(&self.headers)?;
        let sample_rate = self.sample_rate.unwrap_or(16_000);
        AudioFormat::new(sample_rate, 1).map_err(|e| e.with_provider(PROVIDER))?;
        let connect = self.connect.unwrap_or_default();
        let http = match self.http {
            Some(c) => c,
            None => client::http_client(connect.timeout)?,
        };
        Ok(ElevenLabsStt {
            inner: Arc::new(Inner {
                api_key,
                headers: self.headers,
                base_url,
                model: self.model.unwrap_or_else(|| "scribe_v1".into()),
                language: self.language,
                sample_rate,
                tag_audio_events: self.tag_audio_events,
                connect,
                http,
            }),
        })
    }
}

impl ElevenLabsStt {
    /// A builder with the defaults.
    pub fn builder() -> ElevenLabsSttBuilder {
        ElevenLabsSttBuilder::default()
    }

    /// Defaults with the key from the environment.
    pub fn from_env() -> Result<Self> {
        Self::builder().build()
    }
}

#[derive(Debug, Deserialize)]
struct WireWord {
    #[serde(default)]
    text: String,
    #[serde(default)]
    start: f64,
    #[serde(default)]
    end: f64,
    #[serde(default, rename = "type")]
    kind: String,
    #[serde(default)]
    logprob: Option<f32>,
}

#[derive(Debug, Deserialize)]
struct WireResponse {
    #[serde(default)]
    text: String,
    #[serde(default)]
    language_code: Option<String>,
    #[serde(default)]
    language_probability: Option<f32>,
    #[serde(default)]
    words: Vec<WireWord>,
    #[serde(default)]
    transcription_id: Option<String>,
}

fn secs(v: f64) -> Duration {
    if !v.is_finite() || v <= 0.0 {
        return Duration::ZERO;
    }
    Duration::from_micros((v * 1e6).round() as u64)
}

#[async_trait]
impl Stt for ElevenLabsStt {
    fn info(&self) -> ProviderInfo {
        ProviderInfo::new(PROVIDER, self.inner.model.clone())
    }

    fn capabilities(&self) -> SttCapabilities {
        SttCapabilities::new(AudioFormat {
            sample_rate: self.inner.sample_rate,
            channels: 1,
        })
        .with_word_timings(true)
    }

    async fn recognize_native(
        &self,
        audio: &AudioFrame,
        options: &RecognizeOptions,
    ) -> Result<SpeechEvent> {
        let wav = agents_core::audio::wav_bytes(audio).map_err(|e| e.with_provider(PROVIDER))?;
        let url = self.inner.base_url.http("/v1/speech-to-text")?;
        let inner = &self.inner;
        let language = options.language.clone().or_else(|| inner.language.clone());
        let response = agents_core::retry(&inner.connect, || {
            let url = url.clone();
            let wav = wav.clone();
            let language = language.clone();
            async move {
                let file = reqwest::multipart::Part::bytes(wav)
                    .file_name("audio.wav")
                    .mime_str("audio/wav")
                    .map_err(|e| client::http_error(&e))?;
                let mut form = reqwest::multipart::Form::new()
                    .part("file", file)
                    .text("model_id", inner.model.clone())
                    .text(
                        "tag_audio_events",
                        if inner.tag_audio_events {
                            "true"
                        } else {
                            "false"
                        },
                    );
                if let Some(lang) = language {
                    form = form.text("language_code", lang);
                }
                let mut request = inner.http.post(url);
                for (name, value) in &inner.headers {
                    request = request.header(name.as_str(), value.as_str());
                }
                let response = request
                    .header("xi-api-key", inner.api_key.expose())
                    .multipart(form)
                    .send()
                    .await
                    .map_err(|e| client::http_error(&e))?;
                if !response.status().is_success() {
                    return Err(client::response_error(response).await);
                }
                Ok(response)
            }
        })
        .await?;
        let trace = response
            .headers()
            .get("x-trace-id")
            .and_then(|v| v.to_str().ok())
            .map(str::to_string);
        let body = response.text().await.map_err(|e| client::http_error(&e))?;
        let parsed: WireResponse =
            serde_json::from_str(&body).map_err(|e| Error::from(e).with_provider(PROVIDER))?;
        let words: Vec<WordTiming> = parsed
            .words
            .iter()
            .filter(|w| w.kind == "word" || w.kind.is_empty())
            .map(|w| WordTiming {
                word: w.text.clone(),
                start: secs(w.start),
                end: secs(w.end.max(w.start)),
                confidence: w.logprob.map(|p| p.exp().clamp(0.0, 1.0)),
            })
            .collect();
        let alternative = SpeechAlternative {
            text: parsed.text.trim().to_string(),
            language: parsed.language_code,
            confidence: parsed.language_probability.unwrap_or(0.0),
            start: Duration::ZERO,
            end: audio.duration(),
            words,
        };
        let mut event = SpeechEvent::final_transcript(alternative);
        if let Some(id) = parsed.transcription_id.or(trace) {
            event = event.with_request_id(id);
        }
        Ok(event)
    }
}
