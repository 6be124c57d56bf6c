//! Deepgram speech-to-text: streaming over the live `/v1/listen` WebSocket and whole
//! utterances over `POST /v1/listen`.

use std::collections::VecDeque;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;

use agents_core::ws::BaseUrl;
use agents_core::{
    ApiKey, AudioFormat, AudioFrame, ConnectOptions, Error, ProviderInfo, RecognizeOptions, Result,
    SpeechAlternative, SpeechEvent, Stt, SttCapabilities, SttInput, SttStream, SttStreamBackend,
    SttStreamOptions, SttUsage, WordTiming, async_trait,
};
use bytes::Bytes;
use futures_util::{SinkExt, StreamExt};
use serde::Deserialize;
use tokio::time::Instant;
use tokio_tungstenite::tungstenite::Message;
use url::Url;

use crate::client::{self, PROVIDER, Ws};

/// When Deepgram declares the end of an utterance from silence (`endpointing`).
#[non_exhaustive]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Endpointing {
    /// `endpointing=false`: no `speech_final` from silence (use `utterance_end_ms`).
    Disabled,
    /// `endpointing=<ms>`: this much silence ends an utterance.
    Millis(u32),
}

/// The typed options of the live and prerecorded endpoints.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct SttOptions {
    /// `model` (`nova-3`, `nova-2-general`, ...).
    pub model: String,
    /// `language` (`en-US`, `multi`, ...); `None` uses the model's default.
    pub language: Option<String>,
    /// `sample_rate` of the audio sent (`encoding` is always `linear16`).
    pub sample_rate: u32,
    /// `channels`.
    pub channels: u16,
    /// `interim_results`.
    pub interim_results: bool,
    /// `punctuate`.
    pub punctuate: bool,
    /// `smart_format`.
    pub smart_format: bool,
    /// `endpointing`; `None` leaves Deepgram's default (10 ms).
    pub endpointing: Option<Endpointing>,
    /// `utterance_end_ms` (needs interim results).
    pub utterance_end_ms: Option<u32>,
    /// `vad_events` (gives `SpeechStarted`).
    pub vad_events: bool,
    /// `no_delay`.
    pub no_delay: bool,
    /// `filler_words`.
    pub filler_words: bool,
    /// `profanity_filter`.
    pub profanity_filter: bool,
    /// `numerals`.
    pub numerals: bool,
    /// `mip_opt_out`.
    pub mip_opt_out: bool,
    /// `keyterm`, repeated (Nova-3 only).
    pub keyterms: Vec<String>,
    /// `tag`, repeated.
    pub tags: Vec<String>,
}

impl Default for SttOptions {
    fn default() -> Self {
        SttOptions {
            model: "nova-3".into(),
            language: Some("en-US".into()),
            sample_rate: 16_000,
            channels: 1,
            interim_results: true,
            punctuate: true,
            smart_format: false,
            endpointing: Some(Endpointing::Millis(25)),
            utterance_end_ms: None,
            vad_events: true,
            no_delay: true,
            filler_words: false,
            profanity_filter: false,
            numerals: false,
            mip_opt_out: false,
            keyterms: Vec::new(),
            tags: Vec::new(),
        }
    }
}

fn flag(b: bool) -> &'static str {
    if b { "true" } else { "false" }
}

impl SttOptions {
    /// Writes the live query (`encoding=linear16` included).
    fn live_query(&self, url: &mut Url, language: Option<&str>) {
        let mut q = url.query_pairs_mut();
        q.append_pair("model", &self.model);
        if let Some(lang) = language.or(self.language.as_deref()) {
            q.append_pair("language", lang);
        }
        q.append_pair("encoding", "linear16");
        q.append_pair("sample_rate", &self.sample_rate.to_string());
        q.append_pair("channels", &self.channels.to_string());
        q.append_pair("interim_results", flag(self.interim_results));
        q.append_pair("punctuate", flag(self.punctuate));
        q.append_pair("smart_format", flag(self.smart_format));
        match self.endpointing {
            Some(Endpointing::Disabled) => {
                q.append_pair("endpointing", "false");
            }
            Some(Endpointing::Millis(ms)) => {
                q.append_pair("endpointing", &ms.to_string());
            }
            None => {}
        }
        if let Some(ms) = self.utterance_end_ms {
            q.append_pair("utterance_end_ms", &ms.to_string());
        }
        q.append_pair("vad_events", flag(self.vad_events));
        q.append_pair("no_delay", flag(self.no_delay));
        q.append_pair("filler_words", flag(self.filler_words));
        q.append_pair("profanity_filter", flag(self.profanity_filter));
        q.append_pair("numerals", flag(self.numerals));
        q.append_pair("mip_opt_out", flag(self.mip_opt_out));
        for k in &self.keyterms {
            q.append_pair("keyterm", k);
        }
        for t in &self.tags {
            q.append_pair("tag", t);
        }
    }

    /// Writes the prerecorded query (the WAV body carries encoding and rate).
    fn rest_query(&self, url: &mut Url, language: Option<&str>) {
        let mut q = url.query_pairs_mut();
        q.append_pair("model", &self.model);
        if let Some(lang) = language.or(self.language.as_deref()) {
            q.append_pair("language", lang);
        }
        q.append_pair("punctuate", flag(self.punctuate));
        q.append_pair("smart_format", flag(self.smart_format));
        q.append_pair("filler_words", flag(self.filler_words));
        q.append_pair("profanity_filter", flag(self.profanity_filter));
        q.append_pair("numerals", flag(self.numerals));
        q.append_pair("mip_opt_out", flag(self.mip_opt_out));
        for k in &self.keyterms {
            q.append_pair("keyterm", k);
        }
        for t in &self.tags {
            q.append_pair("tag", t);
        }
    }
}

/// Audio per WebSocket message unless [`DeepgramSttBuilder::audio_chunk`] says otherwise.
pub const DEFAULT_AUDIO_CHUNK: Duration = Duration::from_millis(50);
/// The longest [`DeepgramSttBuilder::audio_chunk`] accepted.
pub const MAX_AUDIO_CHUNK: Duration = Duration::from_millis(1_000);

#[derive(Debug)]
struct Inner {
    api_key: ApiKey,
    headers: Vec<(String, String)>,
    base_url: BaseUrl,
    options: SttOptions,
    connect: ConnectOptions,
    keepalive_interval: Duration,
    max_reconnect_buffer: Duration,
    drain_timeout: Duration,
    audio_chunk: Duration,
    http: reqwest::Client,
}

/// Deepgram speech-to-text.
///
/// Streaming uses the live `/v1/listen` WebSocket: audio goes out as `linear16` at
/// [`SttOptions::sample_rate`] (the core converts whatever the caller pushes), `Results` come
/// back as interim and final events, `SpeechStarted` as start of speech and
/// `speech_final`/`UtteranceEnd` as end of speech. A dropped connection is reconnected with the
/// connect retry policy, and the audio not yet covered by a final result is sent again, so no
/// accepted speech is lost.
///
/// ```no_run
/// use agents_plugin_deepgram::DeepgramStt;
/// use agents_core::{Stt, SttStreamOptions};
///
/// # async fn demo() -> agents_core::Result<()> {
/// let stt = DeepgramStt::builder().model("nova-3").language("en-US").build()?;
/// let mut stream = stt.stream(&SttStreamOptions::default()).await?;
/// # let _ = &mut stream;
/// # Ok(()) }
/// ```
#[derive(Debug, Clone)]
pub struct DeepgramStt {
    inner: Arc<Inner>,
}

/// Builds a [`DeepgramStt`].
#[derive(Debug, Clone, Default)]
#[must_use]
pub struct DeepgramSttBuilder {
    api_key: Option<ApiKey>,
    headers: Vec<(String, String)>,
    base_url: Option<String>,
    options: SttOptions,
    connect: Option<ConnectOptions>,
    keepalive_interval: Option<Duration>,
    max_reconnect_buffer: Option<Duration>,
    drain_timeout: Option<Duration>,
    audio_chunk: Option<Duration>,
    http: Option<reqwest::Client>,
}

impl DeepgramSttBuilder {
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

    /// The endpoint (`https://api.deepgram.com` by default); `ws://`/`wss://` URLs are derived
    /// from `http://`/`https://`.
    pub fn base_url(mut self, url: impl Into<String>) -> Self {
        self.base_url = Some(url.into());
        self
    }

    /// All options at once.
    pub fn options(mut self, options: SttOptions) -> Self {
        self.options = options;
        self
    }

    /// `model`.
    pub fn model(mut self, model: impl Into<String>) -> Self {
        self.options.model = model.into();
        self
    }

    /// `language`.
    pub fn language(mut self, language: impl Into<String>) -> Self {
        self.options.language = Some(language.into());
        self
    }

    /// `sample_rate` of the audio sent; the plugin declares this rate as its input format.
    pub fn sample_rate(mut self, rate: u32) -> Self {
        self.options.sample_rate = rate;
        self
    }

    /// `channels`.
    pub fn channels(mut self, channels: u16) -> Self {
        self.options.channels = channels;
        self
    }

    /// `interim_results`.
    pub fn interim_results(mut self, on: bool) -> Self {
        self.options.interim_results = on;
        self
    }

    /// `punctuate`.
    pub fn punctuate(mut self, on: bool) -> Self {
        self.options.punctuate = on;
        self
    }

    /// `smart_format`.
    pub fn smart_format(mut self, on: bool) -> Self {
        self.options.smart_format = on;
        self
    }

    /// `endpointing`.
    pub fn endpointing(mut self, endpointing: Endpointing) -> Self {
        self.options.endpointing = Some(endpointing);
        self
    }

    /// `utterance_end_ms`.
    pub fn utterance_end_ms(mut self, ms: u32) -> Self {
        self.options.utterance_end_ms = Some(ms);
        self
    }

    /// `vad_events`.
    pub fn vad_events(mut self, on: bool) -> Self {
        self.options.vad_events = on;
        self
    }

    /// Adds a `keyterm` (Nova-3).
    pub fn keyterm(mut self, term: impl Into<String>) -> Self {
        self.options.keyterms.push(term.into());
        self
    }

    /// Connect retries and timeouts, used for the first connect and every reconnect.
    pub fn connect_options(mut self, connect: ConnectOptions) -> Self {
        self.connect = Some(connect);
        self
    }

    /// How long without audio before a `KeepAlive` is sent (default 4 s; Deepgram closes after
    /// 10 s).
    pub fn keepalive_interval(mut self, interval: Duration) -> Self {
        self.keepalive_interval = Some(interval);
        self
    }

    /// The most audio kept while reconnecting (default 30 s); beyond it the stream fails.
    pub fn max_reconnect_buffer(mut self, max: Duration) -> Self {
        self.max_reconnect_buffer = Some(max);
        self
    }

    /// How long to wait for the last results after end of input (default 10 s).
    pub fn drain_timeout(mut self, timeout: Duration) -> Self {
        self.drain_timeout = Some(timeout);
        self
    }

    /// Audio per WebSocket message (default 50 ms, within the 20-100 ms Deepgram recommends).
    /// Pushed frames are gathered until a message is full; a flush or the end of input sends
    /// what is gathered at once. Larger messages cost fewer system calls and wake-ups per
    /// second of audio and add at most their own duration to the time the audio reaches
    /// Deepgram; zero sends every pushed frame as it comes.
    pub fn audio_chunk(mut self, chunk: Duration) -> Self {
        self.audio_chunk = Some(chunk);
        self
    }

    /// Uses this HTTP client for `POST /v1/listen` (custom TLS, proxies).
    pub fn http_client(mut self, client: reqwest::Client) -> Self {
        self.http = Some(client);
        self
    }

    /// Validates and builds. Fails without a key (argument or `DEEPGRAM_API_KEY`) or with a bad
    /// base URL, sample rate or channel count.
    pub fn build(self) -> Result<DeepgramStt> {
        let api_key = client::resolve_key(self.api_key)?;
        let base_url = client::parse_base_url(self.base_url.as_deref())?;
        client::validate_headers(&self.headers)?;
        AudioFormat::new(self.options.sample_rate, self.options.channels)
            .map_err(|e| e.with_provider(PROVIDER))?;
        if self.options.model.trim().is_empty() {
            return Err(Error::invalid_input("the Deepgram model must not be empty")
                .with_provider(PROVIDER));
        }
        let audio_chunk = self.audio_chunk.unwrap_or(DEFAULT_AUDIO_CHUNK);
        if audio_chunk > MAX_AUDIO_CHUNK {
            return Err(Error::invalid_input(format!(
                "the Deepgram audio_chunk of {} ms is too long (at most {} ms)",
                audio_chunk.as_millis(),
                MAX_AUDIO_CHUNK.as_millis()
            ))
            .with_provider(PROVIDER));
        }
        let connect = self.connect.unwrap_or_default();
        let http = match self.http {
            Some(c) => c,
            None => client::http_client(connect.timeout)?,
        };
        Ok(DeepgramStt {
            inner: Arc::new(Inner {
                api_key,
                headers: self.headers,
                base_url,
                options: self.options,
                connect,
                keepalive_interval: self.keepalive_interval.unwrap_or(Duration::from_secs(4)),
                max_reconnect_buffer: self.max_reconnect_buffer.unwrap_or(Duration::from_secs(30)),
                drain_timeout: self.drain_timeout.unwrap_or(Duration::from_secs(10)),
                audio_chunk,
                http,
            }),
        })
    }
}

impl DeepgramStt {
    /// A builder with the defaults (`nova-3`, `en-US`, 16 kHz mono, interim results).
    pub fn builder() -> DeepgramSttBuilder {
        DeepgramSttBuilder::default()
    }

    /// Defaults with the key from `DEEPGRAM_API_KEY`.
    pub fn from_env() -> Result<Self> {
        Self::builder().build()
    }

    /// The options in use.
    #[must_use]
    pub fn options(&self) -> &SttOptions {
        &self.inner.options
    }

    /// The live URL a stream connects to (without the key, which goes in a header).
    pub fn live_url(&self, language: Option<&str>) -> Result<Url> {
        let mut url = self.inner.base_url.ws("/v1/listen")?;
        self.inner.options.live_query(&mut url, language);
        Ok(url)
    }

    fn input_format(&self) -> AudioFormat {
        AudioFormat {
            sample_rate: self.inner.options.sample_rate,
            channels: self.inner.options.channels,
        }
    }
}

#[async_trait]
impl Stt for DeepgramStt {
    fn info(&self) -> ProviderInfo {
        ProviderInfo::new(PROVIDER, self.inner.options.model.clone())
    }

    fn capabilities(&self) -> SttCapabilities {
        SttCapabilities::new(self.input_format())
            .with_streaming(true)
            .with_interim_results(self.inner.options.interim_results)
            .with_word_timings(true)
    }

    async fn recognize_native(
        &self,
        audio: &AudioFrame,
        options: &RecognizeOptions,
    ) -> Result<SpeechEvent> {
        let mut url = self.inner.base_url.http("/v1/listen")?;
        self.inner
            .options
            .rest_query(&mut url, options.language.as_deref());
        let body = Bytes::from(
            agents_core::audio::wav_bytes(audio).map_err(|e| e.with_provider(PROVIDER))?,
        );
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
                    .header("authorization", format!("Token {}", inner.api_key.expose()))
                    .header("content-type", "audio/wav")
                    .header("accept", "application/json")
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
        let request_id = response
            .headers()
            .get("dg-request-id")
            .and_then(|v| v.to_str().ok())
            .map(str::to_string);
        let text = response.text().await.map_err(|e| client::http_error(&e))?;
        let parsed: PrerecordedResponse =
            serde_json::from_str(&text).map_err(|e| Error::from(e).with_provider(PROVIDER))?;
        let alt = parsed
            .results
            .channels
            .into_iter()
            .next()
            .and_then(|c| c.alternatives.into_iter().next())
            .unwrap_or_default();
        let words_text = self.inner.options.punctuate || self.inner.options.smart_format;
        let mut alternative = alt.to_alternative(0.0, words_text);
        alternative.start = Duration::ZERO;
        alternative.end = if parsed.metadata.duration > 0.0 {
            secs(parsed.metadata.duration)
        } else {
            audio.duration()
        };
        let mut event = SpeechEvent::final_transcript(alternative);
        if let Some(id) = request_id.or(parsed.metadata.request_id) {
            event = event.with_request_id(id);
        }
        Ok(event)
    }

    async fn stream(&self, options: &SttStreamOptions) -> Result<SttStream> {
        let url = self.live_url(options.language.as_deref())?;
        let ws = client::connect_ws(
            &url,
            &self.inner.api_key,
            &self.inner.headers,
            &self.inner.connect,
        )
        .await?;
        let (handle, backend) = SttStream::channel(self.input_format());
        let handle = handle.with_audio_chunk(self.inner.audio_chunk);
        let session = LiveSession::new(self.inner.clone(), url, ws, backend, self.input_format());
        tokio::spawn(session.run());
        Ok(handle)
    }
}

// ---- wire types (unknown fields ignored) ----

#[derive(Debug, Deserialize, Default)]
struct WireWord {
    #[serde(default)]
    word: String,
    #[serde(default)]
    punctuated_word: Option<String>,
    #[serde(default)]
    start: f64,
    #[serde(default)]
    end: f64,
    #[serde(default)]
    confidence: Option<f32>,
}

#[derive(Debug, Deserialize, Default)]
struct WireAlternative {
    #[serde(default)]
    transcript: String,
    #[serde(default)]
    confidence: f32,
    #[serde(default)]
    languages: Vec<String>,
    #[serde(default)]
    words: Vec<WireWord>,
}

/// Seconds from the wire, rounded to the microsecond (so `0.3` is exactly 300 ms).
fn secs(v: f64) -> Duration {
    if !v.is_finite() || v <= 0.0 {
        return Duration::ZERO;
    }
    Duration::from_micros((v * 1e6).round() as u64)
}

impl WireAlternative {
    /// Converts, shifting every time by `offset` seconds.
    fn to_alternative(&self, offset: f64, punctuated: bool) -> SpeechAlternative {
        SpeechAlternative {
            text: self.transcript.clone(),
            language: self.languages.first().cloned(),
            confidence: self.confidence,
            start: Duration::ZERO,
            end: Duration::ZERO,
            words: self
                .words
                .iter()
                .map(|w| WordTiming {
                    word: if punctuated {
                        w.punctuated_word.clone().unwrap_or_else(|| w.word.clone())
                    } else {
                        w.word.clone()
                    },
                    start: secs(offset + w.start),
                    end: secs(offset + w.end),
                    confidence: w.confidence,
                })
                .collect(),
        }
    }
}

#[derive(Debug, Deserialize, Default)]
struct WireChannel {
    #[serde(default)]
    alternatives: Vec<WireAlternative>,
}

#[derive(Debug, Deserialize, Default)]
struct WireMetadata {
    #[serde(default)]
    request_id: Option<String>,
    #[serde(default)]
    duration: f64,
}

#[derive(Debug, Deserialize, Default)]
struct PrerecordedResults {
    #[serde(default)]
    channels: Vec<WireChannel>,
}

#[derive(Debug, Deserialize, Default)]
struct PrerecordedResponse {
    #[serde(default)]
    metadata: WireMetadata,
    #[serde(default)]
    results: PrerecordedResults,
}

#[derive(Debug, Deserialize)]
#[serde(tag = "type")]
enum LiveMessage {
    Results {
        #[serde(default)]
        start: f64,
        #[serde(default)]
        duration: f64,
        #[serde(default)]
        is_final: bool,
        #[serde(default)]
        speech_final: bool,
        #[serde(default)]
        channel: WireChannel,
        #[serde(default)]
        metadata: WireMetadata,
    },
    SpeechStarted {},
    UtteranceEnd {},
    Metadata {},
    Error {
        #[serde(default)]
        variant: String,
        #[serde(default)]
        description: String,
    },
    #[serde(other)]
    Other,
}

// ---- the live session ----

/// Completes the close handshake the server started (the reply is sent while reading), for a
/// short while at most.
async fn finish_close(mut ws: Ws) {
    let _ = tokio::time::timeout(Duration::from_millis(250), async {
        while let Some(Ok(_)) = ws.next().await {}
    })
    .await;
}

type ConnectFuture = Pin<Box<dyn Future<Output = Result<Ws>> + Send>>;

enum Step {
    Cancelled,
    Input(Option<SttInput>),
    Ws(Option<std::result::Result<Message, tokio_tungstenite::tungstenite::Error>>),
    Reconnected(Box<Result<Ws>>),
    KeepAlive,
    DrainTimeout,
}

/// How a connection ended.
enum Closed {
    /// Expected: the server closed after `CloseStream`.
    Done,
    /// Unexpected but recoverable: reconnect.
    Reconnect(String),
    /// Not recoverable.
    Fatal(Error),
}

struct LiveSession {
    inner: Arc<Inner>,
    url: Url,
    ws: Option<Ws>,
    reconnect: Option<ConnectFuture>,
    input: tokio::sync::mpsc::Receiver<SttInput>,
    events: agents_core::EventSender<SpeechEvent>,
    bytes_per_sec: f64,
    frame_bytes: u64,
    /// Stream byte offset of the current connection's time zero.
    conn_base: u64,
    /// Stream byte offset up to which final results covered the audio.
    acked: u64,
    /// Audio sent on this connection and not yet covered by a final, starting at `acked`.
    replay: VecDeque<Bytes>,
    replay_bytes: u64,
    /// Audio pushed while disconnected.
    pending: VecDeque<Bytes>,
    pending_bytes: u64,
    max_buffer_bytes: u64,
    pending_finalize: bool,
    input_done: bool,
    close_sent: bool,
    drain_deadline: Option<Instant>,
    last_sent: Instant,
    speaking: bool,
    last_start: Duration,
    reconnects_without_results: u32,
    /// Every audio byte accepted from the caller.
    total_bytes: u64,
}

impl LiveSession {
    fn new(
        inner: Arc<Inner>,
        url: Url,
        ws: Ws,
        backend: SttStreamBackend,
        format: AudioFormat,
    ) -> Self {
        let bytes_per_sec = f64::from(format.sample_rate) * format.bytes_per_frame() as f64;
        let max_buffer_bytes = (inner.max_reconnect_buffer.as_secs_f64() * bytes_per_sec) as u64;
        let SttStreamBackend { input, events, .. } = backend;
        LiveSession {
            inner,
            url,
            ws: Some(ws),
            reconnect: None,
            input,
            events,
            bytes_per_sec,
            frame_bytes: format.bytes_per_frame() as u64,
            conn_base: 0,
            acked: 0,
            replay: VecDeque::new(),
            replay_bytes: 0,
            pending: VecDeque::new(),
            pending_bytes: 0,
            max_buffer_bytes,
            pending_finalize: false,
            input_done: false,
            close_sent: false,
            drain_deadline: None,
            last_sent: Instant::now(),
            speaking: false,
            last_start: Duration::ZERO,
            reconnects_without_results: 0,
            total_bytes: 0,
        }
    }

    async fn run(mut self) {
        let result = self.drive().await;
        if let Some(mut ws) = self.ws.take() {
            let _ = tokio::time::timeout(Duration::from_secs(1), ws.close(None)).await;
        }
        if let Err(e) = result {
            if !e.is_cancelled() {
                let _ = self.events.send_error(e).await;
            }
        }
    }

    async fn drive(&mut self) -> Result<()> {
        loop {
            let step = self.next_step().await;
            match step {
                Step::Cancelled => {
                    return Err(Error::cancelled("the stream was dropped"));
                }
                Step::Input(Some(SttInput::Audio(frame))) => self.on_audio(frame).await?,
                Step::Input(Some(SttInput::Flush)) => {
                    if self.ws.is_some() {
                        self.send_text(r#"{"type":"Finalize"}"#).await;
                    } else {
                        self.pending_finalize = true;
                    }
                }
                Step::Input(Some(SttInput::EndInput)) | Step::Input(None) => {
                    self.input_done = true;
                    self.drain_deadline = Some(Instant::now() + self.inner.drain_timeout);
                    if self.ws.is_some() {
                        self.send_close_stream().await;
                    }
                }
                Step::Input(Some(_)) => {}
                Step::Ws(msg) => match self.on_ws(msg).await? {
                    None => {}
                    Some(Closed::Done) => return Ok(()),
                    Some(Closed::Fatal(e)) => return Err(e),
                    Some(Closed::Reconnect(why)) => {
                        if self.input_done && self.replay_bytes == 0 && self.pending_bytes == 0 {
                            return Ok(());
                        }
                        self.start_reconnect(&why)?;
                    }
                },
                Step::Reconnected(r) => match *r {
                    Ok(ws) => self.on_reconnected(ws).await,
                    Err(e) => return Err(e),
                },
                Step::KeepAlive => {
                    self.send_text(r#"{"type":"KeepAlive"}"#).await;
                }
                Step::DrainTimeout => {
                    return Err(Error::timeout(format!(
                        "Deepgram did not close the stream within {} ms of CloseStream",
                        self.inner.drain_timeout.as_millis()
                    ))
                    .with_provider(PROVIDER));
                }
            }
        }
    }

    async fn next_step(&mut self) -> Step {
        let LiveSession {
            ws,
            reconnect,
            input,
            events,
            input_done,
            last_sent,
            inner,
            drain_deadline,
            ..
        } = self;
        let connected = ws.is_some();
        let ws_next = async {
            match ws.as_mut() {
                Some(ws) => ws.next().await,
                None => std::future::pending().await,
            }
        };
        let reconnected = async {
            match reconnect.as_mut() {
                Some(f) => f.as_mut().await,
                None => std::future::pending().await,
            }
        };
        let keepalive = tokio::time::sleep_until(*last_sent + inner.keepalive_interval);
        let drain = async {
            match drain_deadline {
                Some(d) => tokio::time::sleep_until(*d).await,
                None => std::future::pending().await,
            }
        };
        tokio::select! {
            biased;
            _ = events.cancelled() => Step::Cancelled,
            msg = ws_next => Step::Ws(msg),
            r = reconnected => Step::Reconnected(Box::new(r)),
            i = input.recv(), if !*input_done => Step::Input(i),
            _ = keepalive, if connected => Step::KeepAlive,
            _ = drain => Step::DrainTimeout,
        }
    }

    async fn send_text(&mut self, text: &'static str) {
        self.last_sent = Instant::now();
        if let Some(ws) = self.ws.as_mut() {
            if let Err(e) = ws.send(Message::Text(text.into())).await {
                tracing::debug!(error = %e, "Deepgram send failed; reconnecting");
                self.drop_connection();
            }
        }
    }

    async fn send_close_stream(&mut self) {
        self.close_sent = true;
        self.send_text(r#"{"type":"CloseStream"}"#).await;
    }

    /// Forgets the current socket; the next step starts a reconnect.
    fn drop_connection(&mut self) {
        self.ws = None;
        if self.reconnect.is_none() {
            // A failed send: schedule the reconnect now (errors surface from the future).
            let url = self.url.clone();
            let inner = self.inner.clone();
            self.reconnect = Some(Box::pin(async move {
                client::connect_ws(&url, &inner.api_key, &inner.headers, &inner.connect).await
            }));
        }
    }

    fn start_reconnect(&mut self, why: &str) -> Result<()> {
        self.reconnects_without_results += 1;
        if self.reconnects_without_results > self.inner.connect.max_retries + 1 {
            return Err(Error::connection(format!(
                "the Deepgram stream kept dropping without results: {why}"
            ))
            .with_provider(PROVIDER));
        }
        tracing::info!(reason = why, "Deepgram stream dropped; reconnecting");
        self.ws = None;
        self.reconnect = None;
        self.drop_connection();
        Ok(())
    }

    async fn on_audio(&mut self, frame: AudioFrame) -> Result<()> {
        let bytes = Bytes::from(frame.to_le_bytes());
        if bytes.is_empty() {
            return Ok(());
        }
        self.total_bytes += bytes.len() as u64;
        if self.ws.is_none() {
            self.pending_bytes += bytes.len() as u64;
            self.pending.push_back(bytes);
            if self.pending_bytes > self.max_buffer_bytes {
                return Err(Error::connection(format!(
                    "more than {} ms of audio was pushed while reconnecting to Deepgram; the reconnect buffer is full",
                    self.inner.max_reconnect_buffer.as_millis()
                ))
                .with_provider(PROVIDER));
            }
            return Ok(());
        }
        self.replay_bytes += bytes.len() as u64;
        self.replay.push_back(bytes.clone());
        self.trim_replay_to_bound();
        self.last_sent = Instant::now();
        if let Some(ws) = self.ws.as_mut() {
            if let Err(e) = ws.send(Message::Binary(bytes)).await {
                tracing::debug!(error = %e, "Deepgram audio send failed; reconnecting");
                self.reconnects_without_results += 1;
                self.drop_connection();
            }
        }
        Ok(())
    }

    /// Keeps the replay buffer within the bound by forgetting its oldest audio.
    fn trim_replay_to_bound(&mut self) {
        while self.replay_bytes > self.max_buffer_bytes {
            let Some(front) = self.replay.pop_front() else {
                break;
            };
            self.replay_bytes -= front.len() as u64;
            self.acked += front.len() as u64;
        }
    }

    /// A final result covered the audio up to `end` seconds of this connection.
    fn ack_until(&mut self, end: f64) {
        let end_bytes = (end.max(0.0) * self.bytes_per_sec).round() as u64 / self.frame_bytes
            * self.frame_bytes;
        let stream_end = self.conn_base + end_bytes;
        let mut drop = stream_end.saturating_sub(self.acked).min(self.replay_bytes);
        while drop > 0 {
            let Some(front) = self.replay.front_mut() else {
                break;
            };
            let n = (front.len() as u64).min(drop);
            if n == front.len() as u64 {
                self.replay.pop_front();
            } else {
                let _ = front.split_to(n as usize);
            }
            self.replay_bytes -= n;
            self.acked += n;
            drop -= n;
        }
    }

    async fn on_reconnected(&mut self, mut ws: Ws) {
        self.reconnect = None;
        // The new connection's time zero is the first byte it receives: the replayed audio.
        self.conn_base = self.acked;
        let mut queue: Vec<Bytes> = self.replay.iter().cloned().collect();
        for b in self.pending.drain(..) {
            self.replay_bytes += b.len() as u64;
            self.replay.push_back(b.clone());
            queue.push(b);
        }
        self.pending_bytes = 0;
        let mut ok = true;
        for b in queue {
            if ws.feed(Message::Binary(b)).await.is_err() {
                ok = false;
                break;
            }
        }
        if ok && self.pending_finalize {
            ok = ws
                .feed(Message::Text(r#"{"type":"Finalize"}"#.into()))
                .await
                .is_ok();
            self.pending_finalize = false;
        }
        if ok && self.input_done {
            self.close_sent = true;
            ok = ws
                .feed(Message::Text(r#"{"type":"CloseStream"}"#.into()))
                .await
                .is_ok();
            self.drain_deadline = Some(Instant::now() + self.inner.drain_timeout);
        }
        if ok {
            ok = ws.flush().await.is_ok();
        }
        self.last_sent = Instant::now();
        self.ws = Some(ws);
        self.trim_replay_to_bound();
        if !ok {
            self.drop_connection();
        }
    }

    async fn on_ws(
        &mut self,
        msg: Option<std::result::Result<Message, tokio_tungstenite::tungstenite::Error>>,
    ) -> Result<Option<Closed>> {
        let msg = match msg {
            None => {
                self.ws = None;
                return Ok(Some(if self.close_sent && self.replay_bytes == 0 {
                    Closed::Done
                } else {
                    Closed::Reconnect("the connection ended".into())
                }));
            }
            Some(Err(e)) => {
                self.ws = None;
                return Ok(Some(Closed::Reconnect(e.to_string())));
            }
            Some(Ok(m)) => m,
        };
        match msg {
            Message::Text(text) => {
                self.on_text(text.as_str()).await?;
                Ok(None)
            }
            Message::Close(frame) => {
                if let Some(ws) = self.ws.take() {
                    finish_close(ws).await;
                }
                let (code, reason) = frame
                    .map(|f| (u16::from(f.code), f.reason.to_string()))
                    .unwrap_or((1005, String::new()));
                Ok(Some(self.classify_close(code, &reason)))
            }
            _ => Ok(None),
        }
    }

    fn classify_close(&self, code: u16, reason: &str) -> Closed {
        let bad_audio = code == 1002 || reason.starts_with("DATA-");
        if bad_audio || reason.starts_with("NET-0001") {
            return Closed::Fatal(client::close_error(code, reason));
        }
        match code {
            1000 | 1005 if self.close_sent => Closed::Done,
            1000 | 1001 | 1005 | 1006 | 1011 | 1012 | 1013 | 1014 => {
                Closed::Reconnect(format!("closed with code {code} {reason}"))
            }
            _ => Closed::Fatal(client::close_error(code, reason)),
        }
    }

    fn stream_time(&self, conn_secs: f64) -> Duration {
        secs(self.conn_base as f64 / self.bytes_per_sec + conn_secs)
    }

    async fn on_text(&mut self, text: &str) -> Result<()> {
        let message: LiveMessage = match serde_json::from_str(text) {
            Ok(m) => m,
            Err(e) => {
                tracing::warn!(error = %e, "unreadable Deepgram message ignored");
                return Ok(());
            }
        };
        match message {
            LiveMessage::Results {
                start,
                duration,
                is_final,
                speech_final,
                channel,
                metadata,
            } => {
                self.reconnects_without_results = 0;
                if is_final {
                    self.ack_until(start + duration);
                }
                let offset = self.conn_base as f64 / self.bytes_per_sec;
                let punctuated = self.inner.options.punctuate || self.inner.options.smart_format;
                if let Some(alt) = channel.alternatives.first() {
                    if !alt.transcript.trim().is_empty() {
                        if !self.speaking {
                            self.speaking = true;
                            self.events.send(SpeechEvent::start_of_speech()).await?;
                        }
                        let mut a = alt.to_alternative(offset, punctuated);
                        a.start = self.stream_time(start).max(self.last_start);
                        a.end = self.stream_time(start + duration).max(a.start);
                        self.last_start = a.start;
                        let mut ev = if is_final {
                            SpeechEvent::final_transcript(a)
                        } else {
                            SpeechEvent::interim(a)
                        };
                        if let Some(id) = metadata.request_id {
                            ev = ev.with_request_id(id);
                        }
                        self.events.send(ev).await?;
                    }
                }
                if speech_final && self.speaking {
                    self.speaking = false;
                    self.events.send(SpeechEvent::end_of_speech()).await?;
                }
            }
            LiveMessage::SpeechStarted {} => {
                if !self.speaking {
                    self.speaking = true;
                    self.events.send(SpeechEvent::start_of_speech()).await?;
                }
            }
            LiveMessage::UtteranceEnd {} => {
                if self.speaking {
                    self.speaking = false;
                    self.events.send(SpeechEvent::end_of_speech()).await?;
                }
            }
            LiveMessage::Metadata {} => {
                // Sent after CloseStream: report the audio streamed, for billing and metrics.
                if self.close_sent {
                    let usage = SttUsage {
                        audio_duration: secs(self.total_bytes as f64 / self.bytes_per_sec),
                    };
                    self.events.send(SpeechEvent::usage(usage)).await?;
                }
            }
            LiveMessage::Error {
                variant,
                description,
            } => {
                tracing::warn!(%variant, %description, "Deepgram reported an error");
            }
            LiveMessage::Other => tracing::debug!("unexpected Deepgram message type ignored"),
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn live_messages_parse_and_ignore_unknown_fields() {
        let r: LiveMessage = serde_json::from_str(
            r#"{"type":"Results","channel_index":[0,1],"duration":1.02,"start":3.4,"is_final":true,
               "speech_final":true,"from_finalize":false,"new_field":1,
               "channel":{"alternatives":[{"transcript":"hello world","confidence":0.98,"languages":["en"],
               "words":[{"word":"hello","start":3.42,"end":3.7,"confidence":0.99,"punctuated_word":"Hello"}]}]},
               "metadata":{"request_id":"rid","model_info":{"name":"x"}}}"#,
        )
        .unwrap();
        let LiveMessage::Results {
            start,
            duration,
            is_final,
            speech_final,
            channel,
            metadata,
        } = r
        else {
            panic!("not results");
        };
        assert!(is_final && speech_final);
        assert_eq!(metadata.request_id.as_deref(), Some("rid"));
        let alt = channel.alternatives[0].to_alternative(1.0, true);
        assert_eq!(alt.words[0].word, "Hello");
        assert_eq!(alt.words[0].start, Duration::from_millis(4420));
        assert_eq!(alt.language.as_deref(), Some("en"));
        assert_eq!(secs(start + duration), Duration::from_millis(4420));
        assert!(matches!(
            serde_json::from_str::<LiveMessage>(
                r#"{"type":"SpeechStarted","channel":[0,1],"timestamp":3.3}"#
            )
            .unwrap(),
            LiveMessage::SpeechStarted {}
        ));
        assert!(matches!(
            serde_json::from_str::<LiveMessage>(
                r#"{"type":"UtteranceEnd","channel":[0,1],"last_word_end":4.1}"#
            )
            .unwrap(),
            LiveMessage::UtteranceEnd {}
        ));
        assert!(matches!(
            serde_json::from_str::<LiveMessage>(r#"{"type":"Brand New","x":1}"#).unwrap(),
            LiveMessage::Other
        ));
    }

    #[test]
    fn close_codes_are_classified() {
        let e = client::close_error(1002, "DATA-0000");
        assert_eq!(e.kind(), &agents_core::ErrorKind::InvalidInput);
        let e = client::close_error(1011, "NET-0001");
        assert_eq!(e.status(), Some(1011));
        assert!(!e.is_retryable());
        let e = client::close_error(4000, "custom");
        assert_eq!(e.status(), Some(4000));
    }

    #[test]
    fn query_uses_typed_options() {
        let mut url = Url::parse("wss://api.deepgram.com/v1/listen").unwrap();
        let opts = SttOptions {
            endpointing: Some(Endpointing::Disabled),
            keyterms: vec!["a b".into()],
            ..SttOptions::default()
        };
        opts.live_query(&mut url, None);
        let q = url.query().unwrap();
        assert!(q.contains("endpointing=false"), "{q}");
        assert!(q.contains("keyterm=a+b"), "{q}");
        assert!(
            q.contains("encoding=linear16&sample_rate=16000&channels=1"),
            "{q}"
        );
    }
}
