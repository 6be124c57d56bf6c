//! Deepgram text-to-speech: `POST /v1/speak` for whole texts and the speak WebSocket for text
//! pushed as it is produced.

use std::sync::Arc;

use agents_core::ws::BaseUrl;
use agents_core::{
    ApiKey, AudioFormat, AudioFrame, ConnectOptions, Error, EventSender, ProviderInfo, Result,
    SynthesizeOptions, Tts, TtsAudioStream, TtsCapabilities, TtsEvent, TtsInput, TtsStream,
    TtsStreamBackend, async_trait,
};
use futures_util::{SinkExt, StreamExt};
use serde_json::json;
use tokio_tungstenite::tungstenite::Message;
use url::Url;

use crate::client::{self, PROVIDER, PcmAssembler, Ws};

/// The sample rates the speak endpoints accept for `linear16`.
pub const SUPPORTED_SAMPLE_RATES: &[u32] = &[8_000, 16_000, 24_000, 32_000, 48_000];

#[derive(Debug)]
struct Inner {
    api_key: ApiKey,
    headers: Vec<(String, String)>,
    base_url: BaseUrl,
    model: String,
    sample_rate: u32,
    speed: Option<f32>,
    connect: ConnectOptions,
    http: reqwest::Client,
}

/// Deepgram text-to-speech (Aura voices), producing 16-bit mono PCM at the configured rate.
///
/// [`Tts::synthesize`] uses `POST /v1/speak` (`encoding=linear16`, `container=none`);
/// [`Tts::stream`] uses the speak WebSocket (`Speak`, `Flush`, `Clear`, `Close`); dropping the
/// stream sends `Clear` then `Close`.
///
/// ```no_run
/// use agents_plugin_deepgram::DeepgramTts;
///
/// # fn demo() -> agents_core::Result<()> {
/// let tts = DeepgramTts::builder().model("aura-2-thalia-en").sample_rate(24_000).build()?;
/// # let _ = tts;
/// # Ok(()) }
/// ```
#[derive(Debug, Clone)]
pub struct DeepgramTts {
    inner: Arc<Inner>,
}

/// Builds a [`DeepgramTts`].
#[derive(Debug, Clone, Default)]
#[must_use]
pub struct DeepgramTtsBuilder {
    api_key: Option<ApiKey>,
    headers: Vec<(String, String)>,
    base_url: Option<String>,
    model: Option<String>,
    sample_rate: Option<u32>,
    speed: Option<f32>,
    connect: Option<ConnectOptions>,
    http: Option<reqwest::Client>,
}

impl DeepgramTtsBuilder {
    /// The API key; without one, `DEEPGRAM_API_KEY` is read at [`Self::build`].
    pub fn api_key(mut self, key: impl Into<ApiKey>) -> Self {
        self.api_key = Some(key.into());
        self
    }

    /// Adds an HTTP header sent with every request and WebSocket handshake.
    pub fn header(mut self, name: impl Into<String>, value: impl Into<String>) -> Self {
        self.headers.push((name.into(), value.into()));
        self
    }

    /// The endpoint (`https://api.deepgram.com` by default).
    pub fn base_url(mut self, url: impl Into<String>) -> Self {
        self.base_url = Some(url.into());
        self
    }

    /// The voice model (`aura-2-thalia-en` by default).
    pub fn model(mut self, model: impl Into<String>) -> Self {
        self.model = Some(model.into());
        self
    }

    /// The output rate: one of [`SUPPORTED_SAMPLE_RATES`] (24 kHz by default).
    pub fn sample_rate(mut self, rate: u32) -> Self {
        self.sample_rate = Some(rate);
        self
    }

    /// `speed` (0.7 to 1.5).
    pub fn speed(mut self, speed: f32) -> Self {
        self.speed = Some(speed);
        self
    }

    /// Connect retries and timeouts.
    pub fn connect_options(mut self, connect: ConnectOptions) -> Self {
        self.connect = Some(connect);
        self
    }

    /// Uses this HTTP client for `POST /v1/speak`.
    pub fn http_client(mut self, client: reqwest::Client) -> Self {
        self.http = Some(client);
        self
    }

    /// Validates and builds.
    pub fn build(self) -> Result<DeepgramTts> {
        let api_key = client::resolve_key(self.api_key)?;
        let base_url = client::parse_base_url(self.base_url.as_deref())?;
        client::validate_headers(&self.headers)?;
        let sample_rate = self.sample_rate.unwrap_or(24_000);
        if !SUPPORTED_SAMPLE_RATES.contains(&sample_rate) {
            return Err(Error::invalid_input(format!(
                "Deepgram TTS sample rate {sample_rate} is not one of {SUPPORTED_SAMPLE_RATES:?}"
            ))
            .with_provider(PROVIDER));
        }
        if let Some(speed) = self.speed {
            if !(0.7..=1.5).contains(&speed) {
                return Err(Error::invalid_input(format!(
                    "Deepgram TTS speed {speed} is outside 0.7..=1.5"
                ))
                .with_provider(PROVIDER));
            }
        }
        let connect = self.connect.unwrap_or_default();
        let http = match self.http {
            Some(c) => c,
            None => client::http_client(connect.timeout)?,
        };
        Ok(DeepgramTts {
            inner: Arc::new(Inner {
                api_key,
                headers: self.headers,
                base_url,
                model: self.model.unwrap_or_else(|| "aura-2-thalia-en".into()),
                sample_rate,
                speed: self.speed,
                connect,
                http,
            }),
        })
    }
}

impl DeepgramTts {
    /// A builder with the defaults.
    pub fn builder() -> DeepgramTtsBuilder {
        DeepgramTtsBuilder::default()
    }

    /// Defaults with the key from `DEEPGRAM_API_KEY`.
    pub fn from_env() -> Result<Self> {
        Self::builder().build()
    }

    fn format(&self) -> AudioFormat {
        AudioFormat {
            sample_rate: self.inner.sample_rate,
            channels: 1,
        }
    }

    /// The rate of one request: the caller's when the speak endpoints offer it (no conversion
    /// needed), else the configured one (the core converts).
    fn format_for(&self, options: &SynthesizeOptions) -> AudioFormat {
        let rate = options
            .output_format
            .map(|f| f.sample_rate)
            .filter(|r| SUPPORTED_SAMPLE_RATES.contains(r))
            .unwrap_or(self.inner.sample_rate);
        AudioFormat {
            sample_rate: rate,
            channels: 1,
        }
    }

    fn query(&self, url: &mut Url, options: &SynthesizeOptions, rest: bool) {
        let mut q = url.query_pairs_mut();
        q.append_pair(
            "model",
            options.voice.as_deref().unwrap_or(&self.inner.model),
        );
        q.append_pair("encoding", "linear16");
        q.append_pair(
            "sample_rate",
            &self.format_for(options).sample_rate.to_string(),
        );
        if rest {
            q.append_pair("container", "none");
        }
        if let Some(speed) = options.speed.or(self.inner.speed) {
            q.append_pair("speed", &speed.to_string());
        }
    }
}

#[async_trait]
impl Tts for DeepgramTts {
    fn info(&self) -> ProviderInfo {
        ProviderInfo::new(PROVIDER, self.inner.model.clone())
    }

    fn capabilities(&self) -> TtsCapabilities {
        TtsCapabilities::new(self.format()).with_streaming(true)
    }

    async fn synthesize(&self, text: &str, options: &SynthesizeOptions) -> Result<TtsAudioStream> {
        if text.trim().is_empty() {
            return Err(
                Error::invalid_input("cannot synthesize empty text").with_provider(PROVIDER)
            );
        }
        let mut url = self.inner.base_url.http("/v1/speak")?;
        self.query(&mut url, options, true);
        let inner = &self.inner;
        let body = json!({ "text": text }).to_string();
        let response = agents_core::retry(&inner.connect, || {
            let url = url.clone();
            let body = body.clone();
            async move {
                let mut request = inner.http.post(url);
                for (name, value) in &inner.headers {
                    request = request.header(name.as_str(), value.as_str());
                }
                let response = request
                    .header("authorization", format!("Token {}", inner.api_key.expose()))
                    .header("content-type", "application/json")
                    .body(body)
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
        let format = self.format_for(options);
        let (tx, stream) = TtsAudioStream::channel(format, options);
        tokio::spawn(async move {
            let mut body = response.bytes_stream();
            let mut pcm = PcmAssembler::default();
            loop {
                let chunk = tokio::select! {
                    _ = tx.cancelled() => return,
                    c = body.next() => c,
                };
                match chunk {
                    Some(Ok(data)) => {
                        if send_pcm(&tx, &mut pcm, &data, format).await.is_err() {
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
        let mut url = self.inner.base_url.ws("/v1/speak")?;
        self.query(&mut url, options, false);
        let ws = client::connect_ws(
            &url,
            &self.inner.api_key,
            &self.inner.headers,
            &self.inner.connect,
        )
        .await?;
        let format = self.format_for(options);
        let (handle, backend) = TtsStream::channel(format, options);
        tokio::spawn(speak_session(ws, backend, format));
        Ok(handle)
    }
}

async fn send_pcm(
    tx: &EventSender<TtsEvent>,
    pcm: &mut PcmAssembler,
    data: &[u8],
    format: AudioFormat,
) -> Result<()> {
    let samples = pcm.push(data, format.channels);
    if samples.is_empty() {
        return Ok(());
    }
    let frame = AudioFrame::new(samples, format)?;
    tx.send(TtsEvent::Audio(frame)).await
}

async fn speak_session(mut ws: Ws, backend: TtsStreamBackend, format: AudioFormat) {
    let TtsStreamBackend {
        mut input, events, ..
    } = backend;
    let result = speak_loop(&mut ws, &mut input, &events, format).await;
    match result {
        Ok(()) => {
            let _ = tokio::time::timeout(std::time::Duration::from_secs(1), ws.close(None)).await;
        }
        Err(e) if e.is_cancelled() => {
            // Interrupt: drop whatever the server still holds, then close.
            let _ = ws.send(Message::Text(r#"{"type":"Clear"}"#.into())).await;
            let _ = ws.send(Message::Text(r#"{"type":"Close"}"#.into())).await;
            let _ = tokio::time::timeout(std::time::Duration::from_secs(1), ws.close(None)).await;
        }
        Err(e) => {
            let _ = tokio::time::timeout(std::time::Duration::from_secs(1), ws.close(None)).await;
            let _ = events.send_error(e).await;
        }
    }
}

async fn speak_loop(
    ws: &mut Ws,
    input: &mut tokio::sync::mpsc::Receiver<TtsInput>,
    events: &EventSender<TtsEvent>,
    format: AudioFormat,
) -> Result<()> {
    let mut pcm = PcmAssembler::default();
    let mut has_text = false;
    let mut outstanding = 0u32;
    let mut ending = false;
    let send = |text: String| Message::Text(text.into());
    loop {
        tokio::select! {
            biased;
            _ = events.cancelled() => return Err(Error::cancelled("the stream was dropped")),
            msg = ws.next() => match msg {
                Some(Ok(Message::Binary(data))) => send_pcm(events, &mut pcm, &data, format).await?,
                Some(Ok(Message::Text(text))) => {
                    let value: serde_json::Value = serde_json::from_str(text.as_str()).unwrap_or_default();
                    match value["type"].as_str() {
                        Some("Flushed") => {
                            outstanding = outstanding.saturating_sub(1);
                            events.send(TtsEvent::SegmentEnd).await?;
                            if ending && outstanding == 0 {
                                let _ = ws.send(send(json!({"type":"Close"}).to_string())).await;
                                return Ok(());
                            }
                        }
                        Some("Warning") => tracing::warn!(message = %text.as_str(), "Deepgram speak warning"),
                        Some("Error") | Some("error") => {
                            let msg = value["description"].as_str().or(value["err_msg"].as_str()).unwrap_or(text.as_str());
                            return Err(Error::protocol("Deepgram speak reported an error").with_provider(PROVIDER).with_provider_message(msg.to_string()));
                        }
                        _ => {}
                    }
                }
                Some(Ok(Message::Close(frame))) => {
                    let (code, reason) = frame.map(|f| (u16::from(f.code), f.reason.to_string())).unwrap_or((1005, String::new()));
                    if ending && outstanding == 0 {
                        return Ok(());
                    }
                    return Err(client::close_error(code, &reason));
                }
                Some(Ok(_)) => {}
                Some(Err(e)) => return Err(client::ws_error(&e)),
                None => {
                    if ending && outstanding == 0 {
                        return Ok(());
                    }
                    return Err(Error::connection("the Deepgram speak socket closed before the audio was complete").with_provider(PROVIDER));
                }
            },
            i = input.recv(), if !ending => match i {
                Some(TtsInput::Text(text)) => {
                    has_text = true;
                    ws.send(send(json!({"type":"Speak","text":text}).to_string())).await.map_err(|e| client::ws_error(&e))?;
                }
                Some(TtsInput::Flush) => {
                    if has_text {
                        has_text = false;
                        outstanding += 1;
                        ws.send(send(json!({"type":"Flush"}).to_string())).await.map_err(|e| client::ws_error(&e))?;
                    } else if outstanding == 0 {
                        events.send(TtsEvent::SegmentEnd).await?;
                    }
                }
                Some(_) | None => {
                    ending = true;
                    if has_text {
                        has_text = false;
                        outstanding += 1;
                        ws.send(send(json!({"type":"Flush"}).to_string())).await.map_err(|e| client::ws_error(&e))?;
                    } else if outstanding == 0 {
                        events.send(TtsEvent::SegmentEnd).await?;
                        let _ = ws.send(send(json!({"type":"Close"}).to_string())).await;
                        return Ok(());
                    }
                }
            },
        }
    }
}
