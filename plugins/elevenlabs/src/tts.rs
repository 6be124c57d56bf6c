//! ElevenLabs text-to-speech: the `stream-input` WebSocket for text pushed as an LLM produces
//! it, and `POST /v1/text-to-speech/{voice_id}/stream` for whole texts.

use std::sync::Arc;
use std::time::Duration;

use agents_core::ws::BaseUrl;
use agents_core::{
    ApiKey, AudioFormat, AudioFrame, ConnectOptions, Error, EventSender, ProviderInfo, Result,
    SynthesizeOptions, Tts, TtsAudioStream, TtsCapabilities, TtsEvent, TtsInput, TtsStream,
    TtsStreamBackend, WordTiming, async_trait,
};
use base64::Engine as _;
use futures_util::{SinkExt, StreamExt};
use serde::{Deserialize, Serialize};
use serde_json::json;
use tokio_tungstenite::tungstenite::Message;
use url::Url;

use crate::client::{self, Codec, Decoder, PROVIDER, Ws};

/// Voice settings sent in the opening message (WebSocket) or the body (REST).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct VoiceSettings {
    /// `stability` in `[0, 1]`.
    pub stability: f32,
    /// `similarity_boost` in `[0, 1]`.
    pub similarity_boost: f32,
    /// `style` in `[0, 1]`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub style: Option<f32>,
    /// `use_speaker_boost`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub use_speaker_boost: Option<bool>,
    /// `speed` (0.7 to 1.2).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub speed: Option<f32>,
}

impl Default for VoiceSettings {
    fn default() -> Self {
        VoiceSettings {
            stability: 0.5,
            similarity_boost: 0.75,
            style: None,
            use_speaker_boost: None,
            speed: None,
        }
    }
}

impl VoiceSettings {
    /// Sets `stability` and `similarity_boost`.
    #[must_use]
    pub fn new(stability: f32, similarity_boost: f32) -> Self {
        VoiceSettings {
            stability,
            similarity_boost,
            ..Default::default()
        }
    }

    /// Sets `speed`.
    #[must_use]
    pub fn with_speed(mut self, speed: f32) -> Self {
        self.speed = Some(speed);
        self
    }
}

/// The output rates the plugin asks ElevenLabs for: 8 kHz is `ulaw_8000` (decoded by the
/// plugin), the others `pcm_<rate>`.
pub const SUPPORTED_SAMPLE_RATES: &[u32] = &[8_000, 16_000, 22_050, 24_000, 32_000, 44_100, 48_000];

/// The `output_format` for `rate`, or `None` when ElevenLabs has none.
#[must_use]
pub fn output_format_for(rate: u32) -> Option<&'static str> {
    Some(match rate {
        8_000 => "ulaw_8000",
        16_000 => "pcm_16000",
        22_050 => "pcm_22050",
        24_000 => "pcm_24000",
        32_000 => "pcm_32000",
        44_100 => "pcm_44100",
        48_000 => "pcm_48000",
        _ => return None,
    })
}

#[derive(Debug)]
struct Inner {
    api_key: ApiKey,
    headers: Vec<(String, String)>,
    base_url: BaseUrl,
    voice_id: String,
    model: String,
    sample_rate: u32,
    voice_settings: VoiceSettings,
    chunk_length_schedule: Vec<u32>,
    language: Option<String>,
    inactivity_timeout: Option<u32>,
    enable_logging: Option<bool>,
    synthesize_timestamps: bool,
    final_timeout: Duration,
    connect: ConnectOptions,
    http: reqwest::Client,
}

/// ElevenLabs text-to-speech.
///
/// [`Tts::stream`] opens the `stream-input` WebSocket: the opening message carries the voice
/// settings and the chunk schedule, text goes out as it is pushed (with `flush: true` at
/// sentence ends), and `flush()` / `end_input()` send the closing `{"text":""}`; the server's
/// `isFinal` ends the segment, and the next text opens a new connection. Audio arrives as
/// base64 PCM and alignment arrives as character timings, yielded as
/// [`TtsEvent::Words`] relative to the segment's audio.
///
/// [`Tts::synthesize`] uses `POST /v1/text-to-speech/{voice_id}/stream/with-timestamps` (audio
/// and word timings; `/stream` without timings when
/// [`ElevenLabsTtsBuilder::synthesize_timestamps`] is off), with `output_format` chosen from the
/// requested rate (see [`output_format_for`]).
///
/// ```no_run
/// use agents_plugin_elevenlabs::ElevenLabsTts;
///
/// # fn demo() -> agents_core::Result<()> {
/// let tts = ElevenLabsTts::builder()
///     .voice_id("EXAVITQu4vr4xnSDxMaL")
///     .model("eleven_flash_v2_5")
///     .build()?;
/// # let _ = tts;
/// # Ok(()) }
/// ```
#[derive(Debug, Clone)]
pub struct ElevenLabsTts {
    inner: Arc<Inner>,
}

/// Builds an [`ElevenLabsTts`].
#[derive(Debug, Clone, Default)]
#[must_use]
pub struct ElevenLabsTtsBuilder {
    api_key: Option<ApiKey>,
    headers: Vec<(String, String)>,
    base_url: Option<String>,
    voice_id: Option<String>,
    model: Option<String>,
    sample_rate: Option<u32>,
    voice_settings: Option<VoiceSettings>,
    chunk_length_schedule: Option<Vec<u32>>,
    language: Option<String>,
    inactivity_timeout: Option<u32>,
    enable_logging: Option<bool>,
    synthesize_timestamps: Option<bool>,
    final_timeout: Option<Duration>,
    connect: Option<ConnectOptions>,
    http: Option<reqwest::Client>,
}

impl ElevenLabsTtsBuilder {
    /// The API key; without one, `ELEVEN_API_KEY` or `ELEVENLABS_API_KEY` is read at
    /// [`Self::build`].
    pub fn api_key(mut self, key: impl Into<ApiKey>) -> Self {
        self.api_key = Some(key.into());
        self
    }

    /// Adds an HTTP header sent with every request and WebSocket handshake.
    pub fn header(mut self, name: impl Into<String>, value: impl Into<String>) -> Self {
        self.headers.push((name.into(), value.into()));
        self
    }

    /// The endpoint (`https://api.elevenlabs.io` by default); WebSocket URLs are derived.
    pub fn base_url(mut self, url: impl Into<String>) -> Self {
        self.base_url = Some(url.into());
        self
    }

    /// The voice (`EXAVITQu4vr4xnSDxMaL` by default).
    pub fn voice_id(mut self, voice: impl Into<String>) -> Self {
        self.voice_id = Some(voice.into());
        self
    }

    /// The model (`eleven_flash_v2_5` by default).
    pub fn model(mut self, model: impl Into<String>) -> Self {
        self.model = Some(model.into());
        self
    }

    /// The default output rate, one of [`SUPPORTED_SAMPLE_RATES`] (24 kHz by default). A
    /// request for another supported rate is served at that rate.
    pub fn sample_rate(mut self, rate: u32) -> Self {
        self.sample_rate = Some(rate);
        self
    }

    /// Voice settings.
    pub fn voice_settings(mut self, settings: VoiceSettings) -> Self {
        self.voice_settings = Some(settings);
        self
    }

    /// `generation_config.chunk_length_schedule` (each in 50..=500; default
    /// `[120, 160, 250, 290]`).
    pub fn chunk_length_schedule(mut self, schedule: Vec<u32>) -> Self {
        self.chunk_length_schedule = Some(schedule);
        self
    }

    /// `language_code`.
    pub fn language(mut self, language: impl Into<String>) -> Self {
        self.language = Some(language.into());
        self
    }

    /// `inactivity_timeout` in seconds (at most 180; ElevenLabs' default is 20).
    pub fn inactivity_timeout(mut self, secs: u32) -> Self {
        self.inactivity_timeout = Some(secs);
        self
    }

    /// `enable_logging` (false is zero retention, enterprise only).
    pub fn enable_logging(mut self, on: bool) -> Self {
        self.enable_logging = Some(on);
        self
    }

    /// Whether [`Tts::synthesize`] asks for character timings
    /// (`/stream/with-timestamps`, the default) or plain audio (`/stream`).
    pub fn synthesize_timestamps(mut self, on: bool) -> Self {
        self.synthesize_timestamps = Some(on);
        self
    }

    /// How long to wait for `isFinal` after a segment's closing message (default 30 s); past
    /// it the stream fails with a `Timeout`.
    pub fn final_timeout(mut self, timeout: Duration) -> Self {
        self.final_timeout = Some(timeout);
        self
    }

    /// Connect retries and timeouts.
    pub fn connect_options(mut self, connect: ConnectOptions) -> Self {
        self.connect = Some(connect);
        self
    }

    /// Uses this HTTP client for REST synthesis.
    pub fn http_client(mut self, client: reqwest::Client) -> Self {
        self.http = Some(client);
        self
    }

    /// Validates and builds.
    pub fn build(self) -> Result<ElevenLabsTts> {
        let api_key = client::resolve_key(self.api_key)?;
        let base_url = client::parse_base_url(self.base_url.as_deref())?;
        client::validate_headers(&self.headers)?;
        let sample_rate = self.sample_rate.unwrap_or(24_000);
        if output_format_for(sample_rate).is_none() {
            return Err(Error::invalid_input(format!(
                "ElevenLabs has no output format at {sample_rate} Hz; use one of {SUPPORTED_SAMPLE_RATES:?}"
            ))
            .with_provider(PROVIDER));
        }
        let schedule = self
            .chunk_length_schedule
            .unwrap_or_else(|| vec![120, 160, 250, 290]);
        if schedule.is_empty() || schedule.iter().any(|v| !(50..=500).contains(v)) {
            return Err(Error::invalid_input(format!(
                "chunk_length_schedule {schedule:?} must be non-empty with every value in 50..=500"
            ))
            .with_provider(PROVIDER));
        }
        if let Some(t) = self.inactivity_timeout {
            if !(1..=180).contains(&t) {
                return Err(Error::invalid_input(format!(
                    "inactivity_timeout {t} s is outside 1..=180"
                ))
                .with_provider(PROVIDER));
            }
        }
        let voice_id = self
            .voice_id
            .unwrap_or_else(|| "EXAVITQu4vr4xnSDxMaL".into());
        if voice_id.is_empty() || voice_id.contains('/') {
            return Err(
                Error::invalid_input(format!("invalid voice id `{voice_id}`"))
                    .with_provider(PROVIDER),
            );
        }
        let connect = self.connect.unwrap_or_default();
        let http = match self.http {
            Some(c) => c,
            None => client::http_client(connect.timeout)?,
        };
        Ok(ElevenLabsTts {
            inner: Arc::new(Inner {
                api_key,
                headers: self.headers,
                base_url,
                voice_id,
                model: self.model.unwrap_or_else(|| "eleven_flash_v2_5".into()),
                sample_rate,
                voice_settings: self.voice_settings.unwrap_or_default(),
                chunk_length_schedule: schedule,
                language: self.language,
                inactivity_timeout: self.inactivity_timeout,
                enable_logging: self.enable_logging,
                synthesize_timestamps: self.synthesize_timestamps.unwrap_or(true),
                final_timeout: self.final_timeout.unwrap_or(Duration::from_secs(30)),
                connect,
                http,
            }),
        })
    }
}

/// The native format of one request and the `output_format` that gives it.
#[derive(Debug, Clone, Copy)]
struct Plan {
    format: AudioFormat,
    output_format: &'static str,
    codec: Codec,
}

impl ElevenLabsTts {
    /// A builder with the defaults.
    pub fn builder() -> ElevenLabsTtsBuilder {
        ElevenLabsTtsBuilder::default()
    }

    /// Defaults with the key from `ELEVEN_API_KEY` or `ELEVENLABS_API_KEY`.
    pub fn from_env() -> Result<Self> {
        Self::builder().build()
    }

    /// The rate asked for when it is supported, else the configured one.
    fn plan(&self, options: &SynthesizeOptions) -> Plan {
        let rate = options
            .output_format
            .map(|f| f.sample_rate)
            .filter(|r| output_format_for(*r).is_some())
            .unwrap_or(self.inner.sample_rate);
        let output_format = output_format_for(rate).unwrap_or("pcm_24000");
        Plan {
            format: AudioFormat {
                sample_rate: rate,
                channels: 1,
            },
            output_format,
            codec: if output_format.starts_with("ulaw") {
                Codec::Ulaw
            } else {
                Codec::Pcm
            },
        }
    }

    fn voice(&self, options: &SynthesizeOptions) -> String {
        options
            .voice
            .clone()
            .unwrap_or_else(|| self.inner.voice_id.clone())
    }

    fn stream_url(&self, options: &SynthesizeOptions, plan: &Plan) -> Result<Url> {
        let path = format!("/v1/text-to-speech/{}/stream-input", self.voice(options));
        let mut url = self.inner.base_url.ws(&path)?;
        {
            let mut q = url.query_pairs_mut();
            q.append_pair("model_id", &self.inner.model);
            q.append_pair("output_format", plan.output_format);
            if let Some(lang) = options.language.as_ref().or(self.inner.language.as_ref()) {
                q.append_pair("language_code", lang);
            }
            if let Some(t) = self.inner.inactivity_timeout {
                q.append_pair("inactivity_timeout", &t.to_string());
            }
            if let Some(on) = self.inner.enable_logging {
                q.append_pair("enable_logging", if on { "true" } else { "false" });
            }
        }
        Ok(url)
    }

    fn opening_message(&self, options: &SynthesizeOptions) -> String {
        let mut settings = self.inner.voice_settings.clone();
        if let Some(speed) = options.speed {
            settings.speed = Some(speed);
        }
        json!({
            "text": " ",
            "voice_settings": settings,
            "generation_config": {"chunk_length_schedule": self.inner.chunk_length_schedule},
        })
        .to_string()
    }
}

#[async_trait]
impl Tts for ElevenLabsTts {
    fn info(&self) -> ProviderInfo {
        ProviderInfo::new(PROVIDER, self.inner.model.clone())
    }

    fn capabilities(&self) -> TtsCapabilities {
        TtsCapabilities::new(AudioFormat {
            sample_rate: self.inner.sample_rate,
            channels: 1,
        })
        .with_streaming(true)
        .with_word_timings(true)
    }

    async fn synthesize(&self, text: &str, options: &SynthesizeOptions) -> Result<TtsAudioStream> {
        if text.trim().is_empty() {
            return Err(
                Error::invalid_input("cannot synthesize empty text").with_provider(PROVIDER)
            );
        }
        let plan = self.plan(options);
        let timestamps = self.inner.synthesize_timestamps;
        let path = if timestamps {
            format!(
                "/v1/text-to-speech/{}/stream/with-timestamps",
                self.voice(options)
            )
        } else {
            format!("/v1/text-to-speech/{}/stream", self.voice(options))
        };
        let mut url = self.inner.base_url.http(&path)?;
        url.query_pairs_mut()
            .append_pair("output_format", plan.output_format);
        let mut settings = self.inner.voice_settings.clone();
        if let Some(speed) = options.speed {
            settings.speed = Some(speed);
        }
        let mut body = json!({
            "text": text,
            "model_id": self.inner.model,
            "voice_settings": settings,
        });
        if let Some(lang) = options.language.as_ref().or(self.inner.language.as_ref()) {
            body["language_code"] = json!(lang);
        }
        let body = body.to_string();
        let inner = &self.inner;
        let response = agents_core::retry(&inner.connect, || {
            let url = url.clone();
            let body = body.clone();
            async move {
                let mut request = inner.http.post(url);
                for (name, value) in &inner.headers {
                    request = request.header(name.as_str(), value.as_str());
                }
                let response = request
                    .header("xi-api-key", inner.api_key.expose())
                    .header("content-type", "application/json")
                    .body(body)
                    .send()
                    .await
                    .map_err(|e| client::http_error(&e))?;
                if !response.status().is_success() {
                    return Err(client::response_error(response).await);
                }
                let content_type = response
                    .headers()
                    .get("content-type")
                    .and_then(|v| v.to_str().ok())
                    .unwrap_or("");
                let non_audio = content_type.starts_with("application/json")
                    || content_type.starts_with("text/");
                if non_audio && !timestamps {
                    let text = response.text().await.unwrap_or_default();
                    return Err(Error::protocol("ElevenLabs returned non-audio data")
                        .with_provider(PROVIDER)
                        .with_provider_message(text));
                }
                Ok(response)
            }
        })
        .await?;
        let (tx, stream) = TtsAudioStream::channel(plan.format, options);
        if timestamps {
            tokio::spawn(read_timestamped(response, tx, plan));
            return Ok(stream);
        }
        tokio::spawn(async move {
            let mut body = response.bytes_stream();
            let mut decoder = Decoder::new(plan.codec);
            loop {
                let chunk = tokio::select! {
                    _ = tx.cancelled() => return,
                    c = body.next() => c,
                };
                match chunk {
                    Some(Ok(data)) => {
                        if send_audio(&tx, &mut decoder, &data, plan.format)
                            .await
                            .is_err()
                        {
                            return;
                        }
                    }
                    Some(Err(e)) => {
                        let _ = tx.send_error(client::http_error(&e)).await;
                        return;
                    }
                    None => break,
                }
            }
            let _ = tx.send(TtsEvent::SegmentEnd).await;
        });
        Ok(stream)
    }

    async fn stream(&self, options: &SynthesizeOptions) -> Result<TtsStream> {
        let plan = self.plan(options);
        let url = self.stream_url(options, &plan)?;
        let opening = self.opening_message(options);
        // Connect now so that auth and connect errors come back from this call.
        let ws = open_segment(&url, &self.inner, &opening).await?;
        let (handle, backend) = TtsStream::channel(plan.format, options);
        let session = Session {
            preconnect: None,
            inner: self.inner.clone(),
            url,
            opening,
            plan,
            ws: Some(ws),
            segment_has_text: false,
            closing: false,
            final_deadline: None,
            ending: false,
            decoder: Decoder::new(plan.codec),
            segment_samples: 0,
            words: WordBuilder::default(),
            last_error: None,
        };
        tokio::spawn(session.run(backend));
        Ok(handle)
    }
}

async fn send_audio(
    tx: &EventSender<TtsEvent>,
    decoder: &mut Decoder,
    data: &[u8],
    format: AudioFormat,
) -> Result<usize> {
    let samples = decoder.push(data);
    let n = samples.len();
    if n == 0 {
        return Ok(0);
    }
    let frame = AudioFrame::new(samples, format)?;
    tx.send(TtsEvent::Audio(frame)).await?;
    Ok(n)
}

#[derive(Debug, Deserialize, Default)]
struct TimestampAlignment {
    #[serde(default)]
    characters: Vec<String>,
    #[serde(default)]
    character_start_times_seconds: Vec<f64>,
    #[serde(default)]
    character_end_times_seconds: Vec<f64>,
}

#[derive(Debug, Deserialize, Default)]
struct TimestampChunk {
    #[serde(default)]
    audio_base64: Option<String>,
    #[serde(default)]
    alignment: Option<TimestampAlignment>,
    #[serde(default)]
    normalized_alignment: Option<TimestampAlignment>,
}

/// Reads `/stream/with-timestamps`: newline-separated JSON objects, each with base64 audio
/// and character timings in seconds.
async fn read_timestamped(response: reqwest::Response, tx: EventSender<TtsEvent>, plan: Plan) {
    let mut body = response.bytes_stream();
    let mut decoder = Decoder::new(plan.codec);
    let mut words = WordBuilder::default();
    let mut samples = 0usize;
    let mut line = Vec::new();
    loop {
        let chunk = tokio::select! {
            _ = tx.cancelled() => return,
            c = body.next() => c,
        };
        let done = match chunk {
            Some(Ok(data)) => {
                line.extend_from_slice(&data);
                false
            }
            Some(Err(e)) => {
                let _ = tx.send_error(client::http_error(&e)).await;
                return;
            }
            None => true,
        };
        while let Some(pos) = line.iter().position(|b| *b == b'\n') {
            let text: Vec<u8> = line.drain(..=pos).collect();
            let result =
                timestamped_line(&text, &tx, &mut decoder, &mut words, &mut samples, plan).await;
            if let Err(e) = result {
                let _ = tx.send_error(e).await;
                return;
            }
        }
        if done {
            let rest = std::mem::take(&mut line);
            if let Err(e) =
                timestamped_line(&rest, &tx, &mut decoder, &mut words, &mut samples, plan).await
            {
                let _ = tx.send_error(e).await;
                return;
            }
            break;
        }
    }
    let tail = words.flush();
    if !tail.is_empty() && tx.send(TtsEvent::Words(tail)).await.is_err() {
        return;
    }
    let _ = tx.send(TtsEvent::SegmentEnd).await;
}

async fn timestamped_line(
    text: &[u8],
    tx: &EventSender<TtsEvent>,
    decoder: &mut Decoder,
    words: &mut WordBuilder,
    samples: &mut usize,
    plan: Plan,
) -> Result<()> {
    if text.iter().all(u8::is_ascii_whitespace) {
        return Ok(());
    }
    let chunk: TimestampChunk =
        serde_json::from_slice(text).map_err(|e| Error::from(e).with_provider(PROVIDER))?;
    let offset_ms = *samples as f64 * 1000.0 / f64::from(plan.format.sample_rate);
    if let Some(a) = chunk
        .alignment
        .as_ref()
        .or(chunk.normalized_alignment.as_ref())
    {
        let starts: Vec<f64> = a
            .character_start_times_seconds
            .iter()
            .map(|s| s * 1000.0)
            .collect();
        // Times are from the start of the whole audio; a chunk whose times restart near zero
        // is taken as relative to its own audio.
        let shift = match starts.first() {
            Some(first) if offset_ms > 0.0 && *first + 1.0 < offset_ms * 0.5 => offset_ms,
            _ => 0.0,
        };
        let durations: Vec<f64> = a
            .character_end_times_seconds
            .iter()
            .zip(&a.character_start_times_seconds)
            .map(|(e, s)| ((e - s) * 1000.0).max(0.0))
            .collect();
        let wire = WireAlignment {
            chars: a.characters.clone(),
            starts,
            durations,
        };
        let done = words.push(&wire, shift);
        if !done.is_empty() {
            tx.send(TtsEvent::Words(done)).await?;
        }
    }
    if let Some(audio) = chunk.audio_base64.as_deref().filter(|a| !a.is_empty()) {
        let bytes = base64::engine::general_purpose::STANDARD
            .decode(audio)
            .map_err(|e| {
                Error::protocol(format!("invalid base64 audio: {e}")).with_provider(PROVIDER)
            })?;
        *samples += send_audio(tx, decoder, &bytes, plan.format).await?;
    }
    Ok(())
}

async fn open_segment(url: &Url, inner: &Inner, opening: &str) -> Result<Ws> {
    let mut ws = client::connect_ws(url, &inner.api_key, &inner.headers, &inner.connect).await?;
    ws.send(Message::Text(opening.to_string().into()))
        .await
        .map_err(|e| client::ws_error(&e))?;
    Ok(ws)
}

/// True when `text` ends a sentence, so generation should start now.
fn ends_sentence(text: &str) -> bool {
    text.trim_end().chars().last().is_some_and(|c| {
        matches!(
            c,
            '.' | '!' | '?' | ';' | ':' | '\u{3002}' | '\u{FF01}' | '\u{FF1F}' | '\u{2026}'
        )
    })
}

#[derive(Debug, Deserialize, Default)]
struct WireAlignment {
    #[serde(default)]
    chars: Vec<String>,
    #[serde(default, alias = "charsStartTimesMs")]
    #[serde(rename = "charStartTimesMs")]
    starts: Vec<f64>,
    #[serde(default, alias = "charsDurationsMs")]
    #[serde(rename = "charDurationsMs")]
    durations: Vec<f64>,
}

#[derive(Debug, Deserialize, Default)]
struct WireMessage {
    #[serde(default)]
    audio: Option<String>,
    #[serde(default, alias = "is_final")]
    #[serde(rename = "isFinal")]
    is_final: Option<bool>,
    #[serde(default)]
    alignment: Option<WireAlignment>,
    #[serde(default, rename = "normalizedAlignment")]
    normalized_alignment: Option<WireAlignment>,
    #[serde(default)]
    error: Option<String>,
    #[serde(default)]
    message: Option<String>,
    #[serde(default)]
    code: Option<u16>,
}

/// Turns character timings into word timings, across message boundaries.
#[derive(Debug, Default)]
struct WordBuilder {
    word: String,
    start_ms: f64,
    end_ms: f64,
    last_end_ms: f64,
}

impl WordBuilder {
    fn ms(v: f64) -> Duration {
        Duration::from_micros((v.max(0.0) * 1000.0).round() as u64)
    }

    fn finish_word(&mut self, out: &mut Vec<WordTiming>) {
        if self.word.is_empty() {
            return;
        }
        let start = self.start_ms.max(self.last_end_ms);
        let end = self.end_ms.max(start);
        self.last_end_ms = end;
        out.push(WordTiming {
            word: std::mem::take(&mut self.word),
            start: Self::ms(start),
            end: Self::ms(end),
            confidence: None,
        });
    }

    /// Adds one message's alignment, whose times start at `offset_ms` of the segment.
    fn push(&mut self, a: &WireAlignment, offset_ms: f64) -> Vec<WordTiming> {
        let mut out = Vec::new();
        for (i, ch) in a.chars.iter().enumerate() {
            let start = offset_ms + a.starts.get(i).copied().unwrap_or(0.0);
            let end = start + a.durations.get(i).copied().unwrap_or(0.0);
            if ch.trim().is_empty() {
                self.finish_word(&mut out);
                continue;
            }
            if self.word.is_empty() {
                self.start_ms = start;
            }
            self.word.push_str(ch);
            self.end_ms = end;
        }
        out
    }

    fn flush(&mut self) -> Vec<WordTiming> {
        let mut out = Vec::new();
        self.finish_word(&mut out);
        self.last_end_ms = 0.0;
        out
    }
}

/// A connection being opened in the background for the next turn; aborted when dropped.
struct Preconnect(tokio::task::JoinHandle<Result<Ws>>);

impl Drop for Preconnect {
    fn drop(&mut self) {
        self.0.abort();
    }
}

struct Session {
    preconnect: Option<Preconnect>,
    inner: Arc<Inner>,
    url: Url,
    opening: String,
    plan: Plan,
    ws: Option<Ws>,
    segment_has_text: bool,
    closing: bool,
    final_deadline: Option<tokio::time::Instant>,
    ending: bool,
    decoder: Decoder,
    segment_samples: usize,
    words: WordBuilder,
    last_error: Option<Error>,
}

impl Session {
    async fn run(mut self, backend: TtsStreamBackend) {
        let TtsStreamBackend {
            mut input, events, ..
        } = backend;
        let result = self.drive(&mut input, &events).await;
        if let Some(mut ws) = self.ws.take() {
            let _ = tokio::time::timeout(Duration::from_secs(1), ws.close(None)).await;
        }
        if let Err(e) = result {
            if !e.is_cancelled() {
                let _ = events.send_error(e).await;
            }
        }
    }

    async fn send_json(&mut self, value: serde_json::Value) -> Result<()> {
        match self.ws.as_mut() {
            Some(ws) => ws
                .send(Message::Text(value.to_string().into()))
                .await
                .map_err(|e| client::ws_error(&e)),
            None => Err(Error::connection("not connected").with_provider(PROVIDER)),
        }
    }

    async fn end_segment(&mut self, events: &EventSender<TtsEvent>) -> Result<()> {
        let words = self.words.flush();
        if !words.is_empty() {
            events.send(TtsEvent::Words(words)).await?;
        }
        events.send(TtsEvent::SegmentEnd).await?;
        if let Some(mut ws) = self.ws.take() {
            let _ = tokio::time::timeout(Duration::from_secs(1), ws.close(None)).await;
        }
        self.segment_has_text = false;
        self.closing = false;
        self.segment_samples = 0;
        self.decoder = Decoder::new(self.plan.codec);
        self.last_error = None;
        if !self.ending {
            // Open the next turn's connection now, so its text does not wait for a handshake.
            let url = self.url.clone();
            let inner = self.inner.clone();
            let opening = self.opening.clone();
            self.preconnect = Some(Preconnect(tokio::spawn(async move {
                open_segment(&url, &inner, &opening).await
            })));
        }
        Ok(())
    }

    async fn drive(
        &mut self,
        input: &mut tokio::sync::mpsc::Receiver<TtsInput>,
        events: &EventSender<TtsEvent>,
    ) -> Result<()> {
        loop {
            let accept_input = !self.closing && !self.ending;
            let final_deadline = self.final_deadline.filter(|_| self.closing);
            let final_wait = async move {
                match final_deadline {
                    Some(d) => tokio::time::sleep_until(d).await,
                    None => std::future::pending().await,
                }
            };
            let Session { ws, preconnect, .. } = self;
            let ws_next = async {
                match ws.as_mut() {
                    Some(ws) => ws.next().await,
                    None => std::future::pending().await,
                }
            };
            let preconnected = async {
                match preconnect.as_mut() {
                    Some(p) => (&mut p.0).await,
                    None => std::future::pending().await,
                }
            };
            tokio::select! {
                biased;
                _ = events.cancelled() => return Err(Error::cancelled("the stream was dropped")),
                _ = final_wait => {
                    return Err(Error::timeout(format!(
                        "ElevenLabs sent no isFinal within {} ms of the end of the segment's text",
                        self.inner.final_timeout.as_millis()
                    ))
                    .with_provider(PROVIDER));
                }
                r = preconnected => {
                    self.preconnect = None;
                    // Polled here so that an idle close of this connection is seen (and the
                    // connection replaced) before text is sent on it.
                    if let Ok(Ok(ws)) = r {
                        if self.ws.is_none() {
                            self.ws = Some(ws);
                        }
                    }
                }
                msg = ws_next => {
                    if let Some(done) = self.on_ws(msg, events).await? {
                        if done {
                            return Ok(());
                        }
                    }
                }
                i = input.recv(), if accept_input => {
                    match i {
                        Some(TtsInput::Text(text)) => self.on_text(text).await?,
                        Some(TtsInput::Flush) => {
                            if self.segment_has_text {
                                self.closing = true;
                                self.final_deadline =
                                    Some(tokio::time::Instant::now() + self.inner.final_timeout);
                                self.send_json(json!({"text": ""})).await?;
                            } else {
                                events.send(TtsEvent::SegmentEnd).await?;
                            }
                        }
                        Some(_) | None => {
                            self.ending = true;
                            if self.segment_has_text {
                                self.closing = true;
                                self.final_deadline =
                                    Some(tokio::time::Instant::now() + self.inner.final_timeout);
                                self.send_json(json!({"text": ""})).await?;
                            } else {
                                events.send(TtsEvent::SegmentEnd).await?;
                                return Ok(());
                            }
                        }
                    }
                }
            }
        }
    }

    async fn on_text(&mut self, text: String) -> Result<()> {
        if self.ws.is_none() {
            // A new turn: a new connection with its own opening message, opened ahead when
            // possible.
            let ready = match self.preconnect.take() {
                Some(mut p) => match (&mut p.0).await {
                    Ok(Ok(ws)) => Some(ws),
                    _ => None,
                },
                None => None,
            };
            self.ws = Some(match ready {
                Some(ws) => ws,
                None => open_segment(&self.url, &self.inner, &self.opening).await?,
            });
        }
        self.segment_has_text = true;
        let mut message = json!({"text": text});
        if ends_sentence(&text) {
            message["flush"] = json!(true);
        }
        self.send_json(message).await
    }

    /// Handles one socket item; `Some(true)` when the stream is complete.
    async fn on_ws(
        &mut self,
        msg: Option<std::result::Result<Message, tokio_tungstenite::tungstenite::Error>>,
        events: &EventSender<TtsEvent>,
    ) -> Result<Option<bool>> {
        let (code, reason) = match msg {
            Some(Ok(Message::Text(text))) => {
                let m: WireMessage = serde_json::from_str(text.as_str())
                    .map_err(|e| Error::from(e).with_provider(PROVIDER))?;
                return self.on_message(m, events).await;
            }
            Some(Ok(Message::Close(frame))) => frame
                .map(|f| (u16::from(f.code), f.reason.to_string()))
                .unwrap_or((1005, String::new())),
            Some(Ok(_)) => return Ok(None),
            Some(Err(e)) => (1006, e.to_string()),
            None => (1006, String::new()),
        };
        self.ws = None;
        if !self.segment_has_text {
            // An idle connection opened ahead of the text was closed (typically its
            // inactivity timeout); the next text opens a new one.
            self.last_error = None;
            return Ok(None);
        }
        if let Some(err) = self.last_error.take() {
            return Err(err);
        }
        if self.closing && code == 1000 {
            // Closed normally without an isFinal: the segment is complete.
            self.end_segment(events).await?;
            return Ok(Some(self.ending));
        }
        Err(if code == 1006 {
            Error::connection(format!(
                "the ElevenLabs connection dropped mid-stream {reason}"
            ))
            .with_provider(PROVIDER)
        } else {
            client::message_error(&reason, &reason, code)
        })
    }

    async fn on_message(
        &mut self,
        m: WireMessage,
        events: &EventSender<TtsEvent>,
    ) -> Result<Option<bool>> {
        if let Some(error) = &m.error {
            let message = m.message.clone().unwrap_or_else(|| error.clone());
            self.last_error = Some(client::message_error(
                error,
                &message,
                m.code.unwrap_or(1008),
            ));
            return Ok(None);
        }
        if let Some(audio) = m.audio.as_deref().filter(|a| !a.is_empty()) {
            let offset_ms =
                self.segment_samples as f64 * 1000.0 / f64::from(self.plan.format.sample_rate);
            let bytes = base64::engine::general_purpose::STANDARD
                .decode(audio)
                .map_err(|e| {
                    Error::protocol(format!("invalid base64 audio: {e}")).with_provider(PROVIDER)
                })?;
            // The alignment of this message starts with its audio.
            let alignment = m.alignment.as_ref().or(m.normalized_alignment.as_ref());
            if let Some(a) = alignment {
                let words = self.words.push(a, offset_ms);
                if !words.is_empty() {
                    events.send(TtsEvent::Words(words)).await?;
                }
            }
            self.segment_samples +=
                send_audio(events, &mut self.decoder, &bytes, self.plan.format).await?;
        } else if let Some(a) = m.alignment.as_ref().or(m.normalized_alignment.as_ref()) {
            let offset_ms =
                self.segment_samples as f64 * 1000.0 / f64::from(self.plan.format.sample_rate);
            let words = self.words.push(a, offset_ms);
            if !words.is_empty() {
                events.send(TtsEvent::Words(words)).await?;
            }
        }
        if m.is_final == Some(true) {
            self.end_segment(events).await?;
            return Ok(Some(self.ending));
        }
        Ok(None)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn server_messages_accept_the_variant_keys() {
        let m: WireMessage = serde_json::from_str(
            r#"{"audio":"AAA=","alignment":{"chars":["a"],"charsStartTimesMs":[5],"charsDurationsMs":[7]},"is_final":false}"#,
        )
        .unwrap();
        let a = m.alignment.unwrap();
        assert_eq!(a.starts, vec![5.0]);
        assert_eq!(a.durations, vec![7.0]);
        assert_eq!(m.is_final, Some(false));
        let m: WireMessage = serde_json::from_str(r#"{"isFinal":true,"audio":null}"#).unwrap();
        assert_eq!(m.is_final, Some(true));
        assert!(m.audio.is_none());
        let m: WireMessage = serde_json::from_str(
            r#"{"message":"Have not received","error":"input_timeout_exceeded","code":1008}"#,
        )
        .unwrap();
        assert_eq!(m.error.as_deref(), Some("input_timeout_exceeded"));
    }

    #[test]
    fn words_continue_across_messages() {
        let mut b = WordBuilder::default();
        let first = WireAlignment {
            chars: ["H", "i", " ", "t", "h"].map(String::from).to_vec(),
            starts: vec![0.0, 10.0, 20.0, 30.0, 40.0],
            durations: vec![10.0; 5],
        };
        let words = b.push(&first, 0.0);
        assert_eq!(words.len(), 1);
        assert_eq!(words[0].word, "Hi");
        let second = WireAlignment {
            chars: ["e", "r", "e"].map(String::from).to_vec(),
            starts: vec![0.0, 10.0, 20.0],
            durations: vec![10.0; 3],
        };
        assert!(b.push(&second, 50.0).is_empty());
        let rest = b.flush();
        assert_eq!(rest[0].word, "there");
        assert_eq!(rest[0].start, Duration::from_millis(30));
        assert_eq!(rest[0].end, Duration::from_millis(80));
    }

    #[test]
    fn sentence_ends_and_formats() {
        assert!(ends_sentence("Hello world. "));
        assert!(ends_sentence("Really?"));
        assert!(!ends_sentence("Hello"));
        assert!(!ends_sentence(""));
        assert_eq!(output_format_for(8_000), Some("ulaw_8000"));
        assert_eq!(output_format_for(44_100), Some("pcm_44100"));
        assert_eq!(output_format_for(11_025), None);
    }
}
