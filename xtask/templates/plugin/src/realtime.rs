//! [`{{Name}}Realtime`]: speech-to-speech over a WebSocket at
//! `ws(s)://{base_url host}/v1/realtime?model=..`, JSON text messages both ways.
//!
//! Client messages: `session.update` (`instructions`, `voice`, `tools`), `audio` (`audio`:
//! base64 PCM at 24 kHz mono), `commit`, `text` (`text`), `response.create`, `tool_result`
//! (`call_id`, `output`), `interrupt`, `instructions` (`instructions`).
//!
//! Server messages: `session.started`, `speech.started`, `speech.stopped`, `transcript`
//! (`text`, `final`), `response.started` (`id`), `audio` (`audio`), `text.delta` (`text`),
//! `tool_call` (`id`, `name`, `arguments`), `response.done` (`id`, `status`), `error`
//! (`message`).

use agents_core::ws::{self, BaseUrl, Rejection, Url, WsProvider, WsStream};
use agents_core::{
    AudioFormat, AudioFrame, Error, ProviderConfig, ProviderInfo, Realtime, RealtimeBackend,
    RealtimeCapabilities, RealtimeEvent, RealtimeInput, RealtimeOptions, RealtimeSession,
    ResponseStatus, Result, ToolCall, async_trait,
};
use base64::Engine as _;
use futures_util::{SinkExt, StreamExt};
use serde_json::{Value, json};
use tokio_tungstenite::tungstenite::Message;

use crate::client::{Client, PROVIDER};

/// The default realtime model.
pub const DEFAULT_REALTIME_MODEL: &str = "{{name}}-realtime-1";

/// The audio format both ways: 24 kHz mono. The core converts to and from it.
pub const REALTIME_FORMAT: AudioFormat = AudioFormat::MONO_24K;

type Socket = WsStream;

/// What is {{Name}}'s own about the realtime WebSocket: its name in errors, and how it refuses a
/// handshake. The core's `ws` module does the rest (URL, headers, connect with retries, a
/// 16 KiB read buffer and `TCP_NODELAY`, transport errors).
struct {{Name}}Socket;

impl WsProvider for {{Name}}Socket {
    fn id(&self) -> &str {
        PROVIDER
    }

    fn name(&self) -> &str {
        "{{Name}}"
    }

    fn rejected(&self, rejection: &Rejection<'_>) -> Error {
        let status = rejection.status();
        let text = format!("the realtime handshake was refused with HTTP {status}");
        match status {
            401 | 403 => Error::auth(text),
            429 => Error::rate_limited(text, rejection.retry_after()),
            _ => Error::provider_status(status, text),
        }
    }
}

/// A {{Name}} speech-to-speech model.
///
/// ```no_run
/// use agents_core::{ProviderConfig, Realtime, RealtimeOptions};
/// use futures_util::StreamExt;
/// use {{crate_ident}}::{{Name}}Realtime;
///
/// # async fn run() -> agents_core::Result<()> {
/// let model = {{Name}}Realtime::from_config(&ProviderConfig::new("{{name}}"))?;
/// let mut session = model.connect(&RealtimeOptions::default().with_instructions("Be brief.")).await?;
/// session.send_text("Hello!").await?;
/// session.create_response().await?;
/// while let Some(event) = session.next().await {
///     println!("{:?}", event?);
/// }
/// # Ok(()) }
/// ```
#[derive(Debug, Clone)]
pub struct {{Name}}Realtime {
    client: Client,
    model: String,
}

impl {{Name}}Realtime {
    /// Builds from a config section (no options).
    pub fn from_config(config: &ProviderConfig) -> Result<Self> {
        config.deny_unknown_options(&[])?;
        Ok({{Name}}Realtime {
            client: Client::from_config(config)?,
            model: config
                .model
                .clone()
                .unwrap_or_else(|| DEFAULT_REALTIME_MODEL.to_string()),
        })
    }

    /// The WebSocket URL: the base URL with the `ws`/`wss` scheme, `/v1/realtime` and the
    /// model. Fails for a base URL that is not `http`, `https`, `ws` or `wss`.
    pub fn ws_url(&self) -> Result<Url> {
        let base = BaseUrl::parse(&{{Name}}Socket, Some(self.client.base_url()), self.client.base_url())?;
        let mut url = base.ws("/v1/realtime")?;
        url.query_pairs_mut().append_pair("model", &self.model);
        Ok(url)
    }

    /// Opens the socket, retrying connect-phase failures as the connect options allow.
    async fn open(&self) -> Result<Socket> {
        let auth = format!("Bearer {}", self.client.api_key().expose());
        ws::connect(
            &{{Name}}Socket,
            &self.ws_url()?,
            ("authorization", &auth),
            self.client.headers(),
            self.client.connect_options(),
        )
        .await
    }
}

#[async_trait]
impl Realtime for {{Name}}Realtime {
    fn info(&self) -> ProviderInfo {
        ProviderInfo::new(PROVIDER, self.model.clone())
    }

    fn capabilities(&self) -> RealtimeCapabilities {
        RealtimeCapabilities::new(REALTIME_FORMAT, REALTIME_FORMAT)
    }

    async fn connect(&self, options: &RealtimeOptions) -> Result<RealtimeSession> {
        // The handshake is the connect phase: retried; nothing after it is.
        let mut socket = self.open().await?;
        let update = json!({
            "type": "session.update",
            "instructions": options.instructions,
            "voice": options.voice,
            "tools": options.tools,
        });
        socket
            .send(Message::text(update.to_string()))
            .await
            .map_err(|e| ws_error(&e))?;
        let (session, backend) = RealtimeSession::channel(&self.capabilities(), options);
        tokio::spawn(drive(socket, backend));
        Ok(session)
    }
}

fn ws_error(e: &tokio_tungstenite::tungstenite::Error) -> Error {
    ws::map_error(&{{Name}}Socket, e)
}

/// Moves inputs to the socket and server messages to events until either side ends.
async fn drive(mut socket: Socket, mut backend: RealtimeBackend) {
    let outcome: Result<()> = async {
        loop {
            tokio::select! {
                () = backend.events.cancelled() => return Ok(()),
                input = backend.input.recv() => {
                    let Some(input) = input else { return Ok(()) };
                    if let Some(message) = client_message(input) {
                        socket.send(Message::text(message.to_string())).await.map_err(|e| ws_error(&e))?;
                    }
                }
                message = socket.next() => match message {
                    None | Some(Ok(Message::Close(_))) => return Ok(()),
                    Some(Err(e)) => return Err(ws_error(&e)),
                    Some(Ok(Message::Text(text))) => {
                        let value: Value = serde_json::from_str(text.as_str()).map_err(|e| {
                            Error::protocol(format!("malformed server message: {e}")).with_provider(PROVIDER)
                        })?;
                        if let Some(event) = server_event(&value)? {
                            if backend.events.send(event).await.is_err() {
                                return Ok(());
                            }
                        }
                    }
                    Some(Ok(_)) => {}
                },
            }
        }
    }
    .await;
    if let Err(error) = outcome {
        let _ = backend.events.send_error(error).await;
    }
    let _ = socket.close(None).await;
}

fn client_message(input: RealtimeInput) -> Option<Value> {
    Some(match input {
        RealtimeInput::Audio(frame) => json!({
            "type": "audio",
            "audio": base64::engine::general_purpose::STANDARD.encode(frame.to_le_bytes()),
        }),
        RealtimeInput::CommitAudio => json!({ "type": "commit" }),
        RealtimeInput::Text(text) => json!({ "type": "text", "text": text }),
        RealtimeInput::CreateResponse => json!({ "type": "response.create" }),
        RealtimeInput::ToolResult { call_id, output } => {
            json!({ "type": "tool_result", "call_id": call_id, "output": output })
        }
        RealtimeInput::Interrupt { .. } => json!({ "type": "interrupt" }),
        RealtimeInput::UpdateInstructions(instructions) => {
            json!({ "type": "instructions", "instructions": instructions })
        }
        _ => return None,
    })
}

fn field(value: &Value, name: &str) -> String {
    value.get(name).and_then(Value::as_str).unwrap_or_default().to_string()
}

fn server_event(value: &Value) -> Result<Option<RealtimeEvent>> {
    Ok(Some(match value.get("type").and_then(Value::as_str).unwrap_or_default() {
        "session.started" => RealtimeEvent::SessionStarted,
        "speech.started" => RealtimeEvent::SpeechStarted,
        "speech.stopped" => RealtimeEvent::SpeechStopped,
        "transcript" => RealtimeEvent::InputTranscript {
            text: field(value, "text"),
            is_final: value.get("final").and_then(Value::as_bool).unwrap_or(true),
        },
        "response.started" => RealtimeEvent::ResponseStarted { response_id: field(value, "id") },
        "audio" => {
            let bytes = base64::engine::general_purpose::STANDARD
                .decode(field(value, "audio"))
                .map_err(|e| Error::protocol(format!("bad audio: {e}")).with_provider(PROVIDER))?;
            RealtimeEvent::Audio(AudioFrame::from_le_bytes(&bytes, REALTIME_FORMAT)?)
        }
        "text.delta" => RealtimeEvent::OutputTranscriptDelta(field(value, "text")),
        "tool_call" => RealtimeEvent::ToolCall(ToolCall::new(
            field(value, "id"),
            field(value, "name"),
            field(value, "arguments"),
        )),
        "response.done" => RealtimeEvent::ResponseDone {
            response_id: field(value, "id"),
            status: match field(value, "status").as_str() {
                "cancelled" => ResponseStatus::Cancelled,
                "incomplete" => ResponseStatus::Incomplete,
                "failed" => ResponseStatus::Failed(field(value, "reason")),
                _ => ResponseStatus::Completed,
            },
            usage: None,
        },
        "error" => {
            return Err(Error::protocol(format!("server error: {}", field(value, "message")))
                .with_provider(PROVIDER));
        }
        other => RealtimeEvent::Warning(format!("unknown server message `{other}`")),
    }))
}
