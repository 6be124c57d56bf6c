//! [`OpenAiRealtime`]: speech-to-speech over the Realtime WebSocket (GA protocol by default,
//! beta on request; server events of both spellings are understood).

use std::collections::HashMap;
use std::time::SystemTime;

use agents_core::ws::{self, Rejection, WsProvider, WsStream};
use agents_core::{
    AudioFormat, AudioFrame, Error, ProviderConfig, ProviderInfo, Realtime, RealtimeBackend,
    RealtimeCapabilities, RealtimeEvent, RealtimeInput, RealtimeOptions, RealtimeSession,
    ResponseStatus, Result, TokenUsage, ToolCall, async_trait,
};
use base64::Engine as _;
use futures_util::{SinkExt, StreamExt};
use serde_json::{Value, json};
use tokio_tungstenite::tungstenite::Message;

use crate::config::{Common, common_builder_methods};
use crate::endpoint::{Endpoint, classify_http_error};

/// The default realtime model.
pub const DEFAULT_REALTIME_MODEL: &str = "gpt-realtime";
/// The realtime audio format, both ways: 24 kHz s16 mono.
pub const REALTIME_FORMAT: AudioFormat = AudioFormat::MONO_24K;

/// Which spelling of the Realtime protocol to speak.
#[non_exhaustive]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum RealtimeApi {
    /// The GA protocol (`session.type = "realtime"`, nested `audio` config).
    #[default]
    Ga,
    /// The beta protocol (`OpenAI-Beta: realtime=v1`, flat session fields); Azure and older
    /// deployments.
    Beta,
}

/// Error codes after which the session must not be resumed.
const FATAL_CODES: &[&str] = &[
    "insufficient_quota",
    "credit_balance_exhausted",
    "invalid_api_key",
    "account_deactivated",
    "billing_hard_limit_reached",
    "session_expired",
];

/// OpenAI Realtime speech-to-speech.
///
/// ```no_run
/// use agents_core::{Realtime, RealtimeEvent, RealtimeOptions};
/// use agents_plugin_openai::OpenAiRealtime;
/// use futures_util::StreamExt;
///
/// # async fn run() -> agents_core::Result<()> {
/// let model = OpenAiRealtime::builder().voice("marin").build()?;
/// let mut session = model
///     .connect(&RealtimeOptions::default().with_instructions("Be brief.").with_server_turn_detection(true))
///     .await?;
/// while let Some(event) = session.next().await {
///     if let RealtimeEvent::Audio(frame) = event? { let _ = frame; /* play it */ }
/// }
/// # Ok(()) }
/// ```
#[derive(Debug, Clone)]
pub struct OpenAiRealtime {
    endpoint: Endpoint,
    model: String,
    voice: Option<String>,
    api: RealtimeApi,
    transcription_model: Option<String>,
}

/// Builds an [`OpenAiRealtime`].
#[derive(Debug, Clone, Default)]
#[must_use]
pub struct OpenAiRealtimeBuilder {
    common: Common,
    voice: Option<String>,
    api: RealtimeApi,
    transcription_model: Option<String>,
}

impl OpenAiRealtimeBuilder {
    common_builder_methods!();

    /// Sets the default voice (`marin`, `cedar`, `alloy`, ...).
    pub fn voice(mut self, voice: impl Into<String>) -> Self {
        self.voice = Some(voice.into());
        self
    }

    /// Chooses the GA (default) or beta protocol.
    pub fn api(mut self, api: RealtimeApi) -> Self {
        self.api = api;
        self
    }

    /// Transcribes the user's audio with this model (for example `gpt-4o-mini-transcribe`).
    pub fn input_transcription(mut self, model: impl Into<String>) -> Self {
        self.transcription_model = Some(model.into());
        self
    }

    /// Builds the model; fails without a key (naming `OPENAI_API_KEY`).
    pub fn build(self) -> Result<OpenAiRealtime> {
        let endpoint = self.common.endpoint()?;
        // Validate the URL and headers now rather than at connect.
        endpoint.connect()?;
        Ok(OpenAiRealtime {
            endpoint,
            model: self
                .common
                .model
                .unwrap_or_else(|| DEFAULT_REALTIME_MODEL.to_string()),
            voice: self.voice,
            api: self.api,
            transcription_model: self.transcription_model,
        })
    }
}

impl OpenAiRealtime {
    /// A builder.
    pub fn builder() -> OpenAiRealtimeBuilder {
        OpenAiRealtimeBuilder::default()
    }

    /// The defaults with the key from `OPENAI_API_KEY`.
    pub fn from_env() -> Result<Self> {
        Self::builder().build()
    }

    /// Builds from a config section (options: `voice`, `api` = `"ga"` | `"beta"`,
    /// `input_transcription`, `organization`, `project`).
    pub fn from_config(config: &ProviderConfig) -> Result<Self> {
        config.deny_unknown_options(&[
            "voice",
            "api",
            "input_transcription",
            "organization",
            "project",
            "read_timeout_secs",
        ])?;
        let api = match config.option::<String>("api")?.as_deref() {
            None | Some("ga") => RealtimeApi::Ga,
            Some("beta") => RealtimeApi::Beta,
            Some(other) => {
                return Err(Error::invalid_input(format!(
                    "option `api` must be `ga` or `beta`, got `{other}`"
                ))
                .with_provider("openai"));
            }
        };
        OpenAiRealtimeBuilder {
            common: Common::from_config(config)?,
            voice: config.option("voice")?,
            api,
            transcription_model: config.option("input_transcription")?,
        }
        .build()
    }

    /// The WebSocket URL: the base URL with `ws`/`wss` and `/realtime?model=...`.
    #[must_use]
    pub fn ws_url(&self) -> String {
        let base = self.endpoint.url("realtime");
        let base = if let Some(rest) = base.strip_prefix("https://") {
            format!("wss://{rest}")
        } else if let Some(rest) = base.strip_prefix("http://") {
            format!("ws://{rest}")
        } else {
            base
        };
        let mut url = match url::Url::parse(&base) {
            Ok(u) => u,
            Err(_) => return base,
        };
        url.query_pairs_mut().append_pair("model", &self.model);
        url.to_string()
    }

    /// The `session.update` event sent after connecting.
    #[must_use]
    pub fn session_update(&self, options: &RealtimeOptions) -> Value {
        let tools: Vec<Value> = options
            .tools
            .iter()
            .map(|t| {
                json!({"type": "function", "name": t.name, "description": t.description,
                       "parameters": t.parameters})
            })
            .collect();
        let turn_detection = if options.server_turn_detection {
            json!({"type": "server_vad", "threshold": 0.5, "prefix_padding_ms": 300,
                   "silence_duration_ms": 500, "create_response": true, "interrupt_response": true})
        } else {
            Value::Null
        };
        let voice = options
            .voice
            .clone()
            .or_else(|| self.voice.clone())
            .unwrap_or_else(|| "marin".into());
        let transcription = self
            .transcription_model
            .as_ref()
            .map(|m| json!({"model": m}))
            .unwrap_or(Value::Null);
        let mut session = if self.api == RealtimeApi::Ga {
            json!({
                "type": "realtime",
                "model": self.model,
                "output_modalities": ["audio"],
                "audio": {
                    "input": {"format": {"type": "audio/pcm", "rate": 24000},
                              "transcription": transcription,
                              "turn_detection": turn_detection},
                    "output": {"format": {"type": "audio/pcm", "rate": 24000}, "voice": voice},
                },
            })
        } else {
            json!({
                "modalities": ["audio", "text"],
                "voice": voice,
                "input_audio_format": "pcm16",
                "output_audio_format": "pcm16",
                "input_audio_transcription": transcription,
                "turn_detection": turn_detection,
            })
        };
        if let Some(i) = &options.instructions {
            session["instructions"] = json!(i);
        }
        if !tools.is_empty() {
            session["tools"] = Value::Array(tools);
            session["tool_choice"] = json!("auto");
        }
        json!({"type": "session.update", "session": session})
    }

    /// Opens the realtime socket, retrying connect-phase failures as the endpoint allows.
    async fn open(&self) -> Result<WsStream> {
        let provider = RealtimeProvider(&self.endpoint.provider);
        let url = url::Url::parse(&self.ws_url()).map_err(|e| {
            Error::invalid_input(format!("bad realtime URL: {e}"))
                .with_provider(self.endpoint.provider.clone())
        })?;
        let mut headers = self.endpoint.headers.clone();
        if self.api == RealtimeApi::Beta {
            headers.insert(0, ("openai-beta".into(), "realtime=v1".into()));
        }
        // As over HTTP, an `authorization` among the extra headers replaces the key's.
        let auth = match headers
            .iter()
            .rev()
            .find(|(name, _)| name.eq_ignore_ascii_case("authorization"))
        {
            Some((_, value)) => value.clone(),
            None => format!("Bearer {}", self.endpoint.api_key.expose()),
        };
        ws::connect(
            &provider,
            &url,
            ("authorization", &auth),
            &headers,
            &self.endpoint.connect,
        )
        .await
    }
}

/// The realtime socket's provider name, and its rejected handshakes classified like HTTP
/// errors.
struct RealtimeProvider<'a>(&'a str);

impl WsProvider for RealtimeProvider<'_> {
    fn id(&self) -> &str {
        self.0
    }

    fn rejected(&self, rejection: &Rejection<'_>) -> Error {
        let response = rejection.response();
        classify_http_error(
            self.0.to_string(),
            rejection.status(),
            response.headers(),
            response.body().as_deref().unwrap_or_default(),
            SystemTime::now(),
        )
    }
}

#[async_trait]
impl Realtime for OpenAiRealtime {
    fn info(&self) -> ProviderInfo {
        ProviderInfo::new("openai", self.model.clone())
    }

    fn capabilities(&self) -> RealtimeCapabilities {
        RealtimeCapabilities::new(REALTIME_FORMAT, REALTIME_FORMAT)
    }

    async fn connect(&self, options: &RealtimeOptions) -> Result<RealtimeSession> {
        let mut ws = self.open().await?;
        let update = self.session_update(options);
        ws.send(Message::text(update.to_string()))
            .await
            .map_err(|e| ws_error(e, "cannot send session.update"))?;
        let (session, backend) = RealtimeSession::channel(&self.capabilities(), options);
        let model = self.clone();
        tokio::spawn(async move {
            let mut driver = Driver {
                api: model.api,
                model,
                session_update: update,
                ws,
                backend,
                started: false,
                muted_response: None,
                current_response: None,
                audio_item: None,
                audio_samples: 0,
                call_names: HashMap::new(),
                transcript: String::new(),
                history: Vec::new(),
                reconnects: 0,
            };
            if let Err(e) = driver.run().await {
                let _ = driver.backend.events.send_error(e).await;
            }
            let _ = driver.ws.close(None).await;
        });
        Ok(session)
    }
}

fn ws_error(e: tokio_tungstenite::tungstenite::Error, what: &str) -> Error {
    Error::connection(format!("{what}: {e}"))
        .with_provider("openai")
        .with_source(e)
}

/// How many times a session reconnects after recoverable drops before giving up.
const MAX_RECONNECTS: u32 = 3;

struct Driver {
    api: RealtimeApi,
    model: OpenAiRealtime,
    /// The `session.update` sent at connect (kept current), resent after a reconnect.
    session_update: Value,
    ws: WsStream,
    backend: RealtimeBackend,
    started: bool,
    /// A response whose output is dropped (interrupted).
    muted_response: Option<String>,
    current_response: Option<String>,
    /// The assistant audio item being played, for truncation.
    audio_item: Option<String>,
    audio_samples: usize,
    call_names: HashMap<String, String>,
    /// The output transcript of the current response.
    transcript: String,
    /// Conversation items replayed after a reconnect (text, transcripts, calls, results).
    history: Vec<Value>,
    reconnects: u32,
}

impl Driver {
    async fn send(&mut self, event: Value) -> Result<()> {
        self.ws
            .send(Message::text(event.to_string()))
            .await
            .map_err(|e| ws_error(e, "the realtime socket closed"))
    }

    /// Drives the session; recoverable drops reconnect (the session config and the
    /// conversation so far are restored), anything else ends it with one error.
    async fn run(&mut self) -> Result<()> {
        loop {
            match self.pump().await {
                Err(e)
                    if e.kind() == &agents_core::ErrorKind::Connection
                        && self.reconnects < MAX_RECONNECTS =>
                {
                    self.reconnects += 1;
                    tracing::debug!(error = %e, attempt = self.reconnects, "realtime reconnect");
                    self.reconnect().await?;
                }
                other => return other,
            }
        }
    }

    async fn reconnect(&mut self) -> Result<()> {
        let mut ws = self.model.open().await?;
        ws.send(Message::text(self.session_update.to_string()))
            .await
            .map_err(|e| ws_error(e, "cannot send session.update"))?;
        for item in &self.history {
            let event = json!({"type": "conversation.item.create", "item": item});
            ws.send(Message::text(event.to_string()))
                .await
                .map_err(|e| ws_error(e, "cannot restore the conversation"))?;
        }
        self.ws = ws;
        self.muted_response = None;
        self.audio_item = None;
        self.audio_samples = 0;
        self.transcript.clear();
        if let Some(id) = self.current_response.take() {
            let done = RealtimeEvent::ResponseDone {
                response_id: id,
                status: ResponseStatus::Failed("the connection dropped".into()),
                usage: None,
            };
            if self.backend.events.send(done).await.is_err() {
                return Ok(());
            }
        }
        let _ = self.backend.events.send(RealtimeEvent::Reconnected).await;
        Ok(())
    }

    async fn pump(&mut self) -> Result<()> {
        loop {
            tokio::select! {
                _ = self.backend.events.cancelled() => return Ok(()),
                input = self.backend.input.recv() => match input {
                    None => return Ok(()),
                    Some(input) => self.on_input(input).await?,
                },
                msg = self.ws.next() => match msg {
                    Some(Ok(Message::Text(text))) => {
                        let event: Value = serde_json::from_str(text.as_str()).map_err(|e| {
                            Error::protocol(format!("a realtime event is not JSON: {e}"))
                                .with_provider("openai")
                        })?;
                        if !self.on_event(event).await? {
                            return Ok(());
                        }
                    }
                    Some(Ok(Message::Close(frame))) => {
                        let (code, reason) = frame
                            .map(|f| (u16::from(f.code), f.reason.to_string()))
                            .unwrap_or((1005, String::new()));
                        // Abnormal, server error, restart, try again later: recoverable.
                        let err = if matches!(code, 1005 | 1006 | 1011 | 1012 | 1013) {
                            Error::connection(format!("the realtime socket was closed ({code})"))
                        } else {
                            Error::provider_status(code, "the realtime socket was closed")
                        };
                        return Err(err.with_provider("openai").with_provider_message(reason));
                    }
                    Some(Ok(_)) => {}
                    Some(Err(e)) => return Err(ws_error(e, "the realtime connection dropped")),
                    None => {
                        return Err(Error::connection("the realtime connection dropped")
                            .with_provider("openai"));
                    }
                },
            }
        }
    }

    async fn on_input(&mut self, input: RealtimeInput) -> Result<()> {
        match input {
            RealtimeInput::Audio(frame) => {
                let audio = base64::engine::general_purpose::STANDARD.encode(frame.to_le_bytes());
                self.send(json!({"type": "input_audio_buffer.append", "audio": audio}))
                    .await
            }
            RealtimeInput::CommitAudio => {
                self.send(json!({"type": "input_audio_buffer.commit"}))
                    .await
            }
            RealtimeInput::Text(text) => {
                let item = json!({"type": "message", "role": "user",
                    "content": [{"type": "input_text", "text": text}]});
                self.history.push(item.clone());
                self.send(json!({"type": "conversation.item.create", "item": item}))
                    .await
            }
            RealtimeInput::CreateResponse => self.send(json!({"type": "response.create"})).await,
            RealtimeInput::ToolResult { call_id, output } => {
                let item = json!({"type": "function_call_output", "call_id": call_id,
                    "output": output});
                self.history.push(item.clone());
                self.send(json!({"type": "conversation.item.create", "item": item}))
                    .await?;
                self.send(json!({"type": "response.create"})).await
            }
            RealtimeInput::Interrupt { played } => {
                if let Some(id) = self.current_response.clone() {
                    self.muted_response = Some(id);
                }
                self.send(json!({"type": "response.cancel"})).await?;
                if let Some(item) = self.audio_item.take() {
                    let sent = REALTIME_FORMAT.duration_of(self.audio_samples);
                    let end = played.map_or(sent, |p| p.min(sent));
                    self.send(
                        json!({"type": "conversation.item.truncate", "item_id": item,
                        "content_index": 0, "audio_end_ms": end.as_millis() as u64}),
                    )
                    .await?;
                }
                self.audio_samples = 0;
                Ok(())
            }
            RealtimeInput::UpdateInstructions(instructions) => {
                self.session_update["session"]["instructions"] = json!(instructions.clone());
                let session = match self.api {
                    RealtimeApi::Ga => json!({"type": "realtime", "instructions": instructions}),
                    _ => json!({"instructions": instructions}),
                };
                self.send(json!({"type": "session.update", "session": session}))
                    .await
            }
            _ => Ok(()),
        }
    }

    fn muted(&self, event: &Value) -> bool {
        match (&self.muted_response, event["response_id"].as_str()) {
            (Some(m), Some(id)) => m == id,
            (Some(_), None) => true,
            _ => false,
        }
    }

    /// Handles one server event; `Ok(false)` ends the session quietly.
    async fn on_event(&mut self, event: Value) -> Result<bool> {
        let kind = event["type"].as_str().unwrap_or_default();
        let out = match kind {
            "session.created" if !self.started => {
                self.started = true;
                Some(RealtimeEvent::SessionStarted)
            }
            "input_audio_buffer.speech_started" => Some(RealtimeEvent::SpeechStarted),
            "input_audio_buffer.speech_stopped" => Some(RealtimeEvent::SpeechStopped),
            "conversation.item.input_audio_transcription.delta" => {
                Some(RealtimeEvent::InputTranscript {
                    text: event["delta"].as_str().unwrap_or_default().to_string(),
                    is_final: false,
                })
            }
            "conversation.item.input_audio_transcription.completed" => {
                let text = event["transcript"].as_str().unwrap_or_default().to_string();
                self.history.push(json!({"type": "message", "role": "user",
                    "content": [{"type": "input_text", "text": text}]}));
                Some(RealtimeEvent::InputTranscript {
                    text,
                    is_final: true,
                })
            }
            "response.created" => {
                let id = event["response"]["id"]
                    .as_str()
                    .unwrap_or_default()
                    .to_string();
                self.current_response = Some(id.clone());
                self.muted_response = None;
                self.audio_item = None;
                self.audio_samples = 0;
                self.transcript.clear();
                Some(RealtimeEvent::ResponseStarted { response_id: id })
            }
            "response.output_item.added" => {
                let item = &event["item"];
                if item["type"] == "function_call" {
                    if let (Some(call), Some(name)) =
                        (item["call_id"].as_str(), item["name"].as_str())
                    {
                        self.call_names.insert(call.to_string(), name.to_string());
                    }
                }
                None
            }
            "response.output_audio.delta" | "response.audio.delta" => {
                if self.muted(&event) {
                    None
                } else {
                    let b64 = event["delta"].as_str().unwrap_or_default();
                    let bytes = base64::engine::general_purpose::STANDARD
                        .decode(b64)
                        .map_err(|e| {
                            Error::protocol(format!("audio delta is not base64: {e}"))
                                .with_provider("openai")
                        })?;
                    let frame = AudioFrame::from_le_bytes(&bytes, REALTIME_FORMAT)?;
                    if let Some(item) = event["item_id"].as_str() {
                        if self.audio_item.as_deref() != Some(item) {
                            self.audio_item = Some(item.to_string());
                            self.audio_samples = 0;
                        }
                    }
                    self.audio_samples += frame.samples().len();
                    Some(RealtimeEvent::Audio(frame))
                }
            }
            "response.output_audio_transcript.delta"
            | "response.audio_transcript.delta"
            | "response.output_text.delta"
            | "response.text.delta" => {
                if self.muted(&event) {
                    None
                } else {
                    let delta = event["delta"].as_str().unwrap_or_default().to_string();
                    self.transcript.push_str(&delta);
                    Some(RealtimeEvent::OutputTranscriptDelta(delta))
                }
            }
            "response.function_call_arguments.done" => {
                let call_id = event["call_id"].as_str().unwrap_or_default().to_string();
                let name = event["name"]
                    .as_str()
                    .map(String::from)
                    .or_else(|| self.call_names.get(&call_id).cloned())
                    .unwrap_or_default();
                let arguments = event["arguments"].as_str().unwrap_or("{}").to_string();
                self.history
                    .push(json!({"type": "function_call", "call_id": call_id,
                    "name": name, "arguments": arguments}));
                if self.muted(&event) {
                    None
                } else {
                    Some(RealtimeEvent::ToolCall(ToolCall::new(
                        call_id, name, arguments,
                    )))
                }
            }
            "response.done" => {
                let r = &event["response"];
                let id = r["id"].as_str().unwrap_or_default().to_string();
                let status = match r["status"].as_str().unwrap_or("completed") {
                    "completed" => ResponseStatus::Completed,
                    "cancelled" => ResponseStatus::Cancelled,
                    "incomplete" => ResponseStatus::Incomplete,
                    _ => ResponseStatus::Failed(
                        r["status_details"]["error"]["message"]
                            .as_str()
                            .or_else(|| r["status_details"]["reason"].as_str())
                            .unwrap_or("failed")
                            .to_string(),
                    ),
                };
                let usage = r.get("usage").filter(|u| u.is_object()).map(|u| {
                    let n = |v: &Value| u32::try_from(v.as_u64().unwrap_or(0)).unwrap_or(u32::MAX);
                    TokenUsage {
                        prompt_tokens: n(&u["input_tokens"]),
                        completion_tokens: n(&u["output_tokens"]),
                        cached_tokens: n(&u["input_token_details"]["cached_tokens"]),
                        total_tokens: n(&u["total_tokens"]),
                    }
                });
                if self.current_response.as_deref() == Some(id.as_str()) {
                    self.current_response = None;
                }
                let said = std::mem::take(&mut self.transcript);
                if !said.trim().is_empty() {
                    let part = if self.api == RealtimeApi::Ga {
                        "output_text"
                    } else {
                        "text"
                    };
                    self.history
                        .push(json!({"type": "message", "role": "assistant",
                        "content": [{"type": part, "text": said}]}));
                }
                Some(RealtimeEvent::ResponseDone {
                    response_id: id,
                    status,
                    usage,
                })
            }
            "error" => {
                let e = &event["error"];
                let code = e["code"].as_str().unwrap_or_default();
                let etype = e["type"].as_str().unwrap_or_default();
                let message = e["message"].as_str().unwrap_or("error").to_string();
                if FATAL_CODES.contains(&code) || FATAL_CODES.contains(&etype) {
                    let err = match code {
                        "invalid_api_key" | "account_deactivated" => {
                            Error::auth(format!("realtime error ({code})"))
                        }
                        "session_expired" => {
                            Error::provider_status(1001, "the realtime session expired")
                                .with_retryable(false)
                        }
                        _ => Error::quota_exceeded(format!("realtime error ({code})")),
                    };
                    return Err(err.with_provider("openai").with_provider_message(message));
                }
                // Cancelling a response that already finished is harmless.
                if code == "response_cancel_not_active" {
                    None
                } else {
                    Some(RealtimeEvent::Warning(format!("{etype} {code}: {message}")))
                }
            }
            _ => None,
        };
        if let Some(out) = out {
            if self.backend.events.send(out).await.is_err() {
                return Ok(false);
            }
        }
        Ok(true)
    }
}
