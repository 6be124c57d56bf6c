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

use agents_core::{
    AudioFormat, AudioFrame, Error, ProviderConfig, ProviderInfo, Realtime, RealtimeBackend,
    RealtimeCapabilities, RealtimeEvent, RealtimeInput, RealtimeOptions, RealtimeSession,
    ResponseStatus, Result, ToolCall, async_trait, retry,
};
use base64::Engine as _;
use futures_util::{SinkExt, StreamExt};
use serde_json::{Value, json};
use tokio::net::TcpStream;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream};

use crate::client::{Client, PROVIDER};

/// The default realtime model.
pub const DEFAULT_REALTIME_MODEL: &str = "{{name}}-realtime-1";

/// The audio format both ways: 24 kHz mono. The core converts to and from it.
pub const REALTIME_FORMAT: AudioFormat = AudioFormat::MONO_24K;

type Socket = WebSocketStream<MaybeTlsStream<TcpStream>>;

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

    /// The WebSocket URL.
    #[must_use]
    pub fn ws_url(&self) -> String {
        let base = self.client.base_url();
        let base = if let Some(rest) = base.strip_prefix("https://") {
            format!("wss://{rest}")
        } else if let Some(rest) = base.strip_prefix("http://") {
            format!("ws://{rest}")
        } else {
            base.to_string()
        };
        format!("{base}/v1/realtime?model={}", self.model)
    }

    async fn open(&self) -> Result<Socket> {
        let mut request = self
            .ws_url()
            .into_client_request()
            .map_err(|e| Error::invalid_input(format!("bad realtime URL: {e}")).with_provider(PROVIDER))?;
        let auth = format!("Bearer {}", self.client.api_key().expose());
        let headers = request.headers_mut();
        headers.insert(
            "authorization",
            auth.parse()
                .map_err(|_| Error::auth("the API key is not a valid header value").with_provider(PROVIDER))?,
        );
        for (name, value) in self.client.headers() {
            if let (Ok(name), Ok(value)) = (
                name.parse::<tokio_tungstenite::tungstenite::http::HeaderName>(),
                value.parse(),
            ) {
                headers.insert(name, value);
            }
        }
        match tokio_tungstenite::connect_async(request).await {
            Ok((socket, _)) => Ok(socket),
            Err(tokio_tungstenite::tungstenite::Error::Http(response)) => {
                let status = response.status().as_u16();
                let text = format!("the realtime handshake was refused with HTTP {status}");
                Err(match status {
                    401 | 403 => Error::auth(text),
                    429 => Error::rate_limited(text, None),
                    _ => Error::provider_status(status, text),
                }
                .with_provider(PROVIDER))
            }
            Err(e) => Err(Error::connection(format!("realtime connect failed: {e}")).with_provider(PROVIDER)),
        }
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
        let mut socket = retry(self.client.connect_options(), || self.open()).await?;
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
    Error::connection(format!("realtime socket failed: {e}")).with_provider(PROVIDER)
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
