//! A Deepgram emulator: live `/v1/listen` (WebSocket), `POST /v1/listen`, `POST /v1/speak` and
//! the `/v1/speak` WebSocket, with the real message shapes and knobs for the faults Deepgram
//! produces.
//!
//! The "transcription" is deterministic: words of a configured script are revealed as audio
//! arrives (one word per [`DeepgramConfig::word_ms`] of received audio), interim results are sent
//! every [`DeepgramConfig::interim_every_ms`] of audio, and each utterance of
//! [`DeepgramConfig::utterance_words`] words ends with a final result (`speech_final`, or an
//! `UtteranceEnd`). Every audio byte received is recorded per connection, so tests can check that
//! nothing was lost across a reconnect.
//!
//! ```no_run
//! use agents_testing::emulators::deepgram::{DeepgramConfig, DeepgramEmulator};
//!
//! # async fn demo() -> std::io::Result<()> {
//! let dg = DeepgramEmulator::start(DeepgramConfig::default()).await?;
//! let base_url = dg.http_url(); // give this to the plugin's builder
//! # let _ = base_url;
//! # Ok(()) }
//! ```

use std::sync::{Arc, Mutex};
use std::time::Duration;

use async_trait::async_trait;
use futures_util::{SinkExt, StreamExt};
use serde_json::{Value, json};
use tokio::net::TcpStream;
use tokio_tungstenite::WebSocketStream;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::protocol::CloseFrame;
use tokio_tungstenite::tungstenite::protocol::frame::coding::CloseCode;

use super::server::{
    EmulatorServer, Handler, HttpConnection, HttpRequest, HttpResponse, UpgradeDecision, pause,
};

/// What the emulator does to a connection when a fault fires.
#[non_exhaustive]
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CloseAction {
    /// Drop the TCP connection without a close frame.
    Drop,
    /// Send a close frame with this code and reason.
    Close {
        /// The close code (1000, 1002, 1011, ...).
        code: u16,
        /// The UTF-8 reason (`"DATA-0000"`, `"NET-0001"`).
        reason: String,
    },
}

/// A fault on one live connection, fired once that connection received `after_audio_ms` of audio.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ListenFault {
    /// The connection it applies to, counting from 0 in handshake order.
    pub connection: usize,
    /// Milliseconds of audio received on that connection before it fires.
    pub after_audio_ms: u32,
    /// What happens.
    pub action: CloseAction,
}

/// The emulator's behaviour.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct DeepgramConfig {
    /// The expected key (`Authorization: Token <key>`); `None` accepts any key.
    pub api_key: Option<String>,
    /// Reject every handshake and request with this status and `dg-error` text.
    pub reject: Option<(u16, String)>,
    /// Reject WebSocket handshakes from this one on (counting from 0) with this status, to
    /// keep a reconnecting client disconnected.
    pub reject_handshakes_from: Option<(usize, u16)>,
    /// Delay WebSocket handshakes from this one on (counting from 0), to keep a reconnecting
    /// client waiting while audio is pushed.
    pub delay_handshakes_from: Option<(usize, Duration)>,
    /// The words revealed as audio arrives, cycled.
    pub words: Vec<String>,
    /// Audio per revealed word, in ms.
    pub word_ms: u32,
    /// Words per utterance.
    pub utterance_words: usize,
    /// An interim result every this many ms of audio (when `interim_results=true`).
    pub interim_every_ms: u32,
    /// Send `speech_final: true` on the final that ends an utterance. When false, the final
    /// says `speech_final: false` and an `UtteranceEnd` follows instead.
    pub speech_final: bool,
    /// Send `SpeechStarted` when the first word of an utterance is revealed (needs
    /// `vad_events=true`).
    pub speech_started: bool,
    /// Close `1011 NET-0001` after this long without audio or a text message.
    pub idle_timeout: Duration,
    /// Close `1002 DATA-0000` on the first audio unless the `sample_rate` query has this value.
    pub required_sample_rate: Option<u32>,
    /// Faults on live connections.
    pub faults: Vec<ListenFault>,
    /// A pause before every server message (slow server).
    pub message_delay: Duration,
    /// Bytes per body chunk or binary frame of synthesized audio (odd sizes split samples).
    pub tts_chunk_bytes: usize,
    /// Milliseconds of synthesized audio per character of text.
    pub tts_ms_per_char: u32,
    /// On the speak WebSocket, what happens at the first `Flush` instead of audio.
    pub speak_fault: Option<CloseAction>,
    /// Voice-aware mode: only audio louder than -40 dBFS counts as speech, words are revealed
    /// while it lasts, and this much silence after speech ends the utterance (like Deepgram's
    /// `endpointing`) with a final carrying every word of the utterance.
    pub voice_endpointing: Option<Duration>,
}

impl Default for DeepgramConfig {
    fn default() -> Self {
        DeepgramConfig {
            api_key: None,
            reject: None,
            reject_handshakes_from: None,
            delay_handshakes_from: None,
            words: ["hello", "world", "this", "is", "a", "test"]
                .iter()
                .map(|w| (*w).to_string())
                .collect(),
            word_ms: 200,
            utterance_words: 3,
            interim_every_ms: 100,
            speech_final: true,
            speech_started: true,
            idle_timeout: Duration::from_secs(10),
            required_sample_rate: None,
            faults: Vec::new(),
            message_delay: Duration::ZERO,
            tts_chunk_bytes: 4001,
            tts_ms_per_char: 10,
            speak_fault: None,
            voice_endpointing: None,
        }
    }
}

impl DeepgramConfig {
    /// Expects `key`.
    #[must_use]
    pub fn with_api_key(mut self, key: impl Into<String>) -> Self {
        self.api_key = Some(key.into());
        self
    }

    /// Rejects handshakes and requests with `status` and the `dg-error` text.
    #[must_use]
    pub fn with_reject(mut self, status: u16, text: impl Into<String>) -> Self {
        self.reject = Some((status, text.into()));
        self
    }

    /// Rejects WebSocket handshakes number `from` (counting from 0) and later with `status`.
    #[must_use]
    pub fn with_reject_handshakes_from(mut self, from: usize, status: u16) -> Self {
        self.reject_handshakes_from = Some((from, status));
        self
    }

    /// Delays WebSocket handshakes number `from` (counting from 0) and later by `delay`.
    #[must_use]
    pub fn with_delay_handshakes_from(mut self, from: usize, delay: Duration) -> Self {
        self.delay_handshakes_from = Some((from, delay));
        self
    }

    /// Sets the idle timeout.
    #[must_use]
    pub fn with_idle_timeout(mut self, timeout: Duration) -> Self {
        self.idle_timeout = timeout;
        self
    }

    /// Adds a fault.
    #[must_use]
    pub fn with_fault(
        mut self,
        connection: usize,
        after_audio_ms: u32,
        action: CloseAction,
    ) -> Self {
        self.faults.push(ListenFault {
            connection,
            after_audio_ms,
            action,
        });
        self
    }

    /// Sets the audio per word and words per utterance.
    #[must_use]
    pub fn with_cadence(
        mut self,
        word_ms: u32,
        utterance_words: usize,
        interim_every_ms: u32,
    ) -> Self {
        self.word_ms = word_ms.max(1);
        self.utterance_words = utterance_words.max(1);
        self.interim_every_ms = interim_every_ms.max(1);
        self
    }

    /// Ends utterances with `UtteranceEnd` instead of `speech_final`.
    #[must_use]
    pub fn with_utterance_end_only(mut self) -> Self {
        self.speech_final = false;
        self
    }

    /// The words revealed as audio arrives, cycled.
    #[must_use]
    pub fn with_words<I, S>(mut self, words: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.words = words.into_iter().map(Into::into).collect();
        self
    }

    /// Voice-aware transcription: each run of speech in the audio is one utterance of
    /// `utterance_words` words, ended by `endpointing` of silence.
    #[must_use]
    pub fn with_voice_activity(mut self, utterance_words: usize, endpointing: Duration) -> Self {
        self.utterance_words = utterance_words.max(1);
        self.voice_endpointing = Some(endpointing);
        self
    }

    /// Requires this `sample_rate` query value, closing `1002 DATA-0000` otherwise.
    #[must_use]
    pub fn with_required_sample_rate(mut self, rate: u32) -> Self {
        self.required_sample_rate = Some(rate);
        self
    }

    /// Makes the speak WebSocket fail at the first `Flush`.
    #[must_use]
    pub fn with_speak_fault(mut self, action: CloseAction) -> Self {
        self.speak_fault = Some(action);
        self
    }

    /// Pauses before every server message.
    #[must_use]
    pub fn with_message_delay(mut self, delay: Duration) -> Self {
        self.message_delay = delay;
        self
    }
}

/// What one live (`/v1/listen` WebSocket) connection received.
#[derive(Debug, Clone, Default)]
#[non_exhaustive]
pub struct ListenConnection {
    /// The handshake request (query, headers).
    pub request: Option<HttpRequest>,
    /// Every audio byte received, in order.
    pub audio: Vec<u8>,
    /// The size in bytes of every binary (audio) message, in order.
    pub audio_messages: Vec<usize>,
    /// Every text message received, parsed (`KeepAlive`, `Finalize`, `CloseStream`).
    pub messages: Vec<Value>,
    /// For each of [`Self::messages`], the audio bytes received before it.
    pub audio_before_message: Vec<usize>,
    /// Every message sent to the client.
    pub sent: Vec<Value>,
    /// True once the connection ended.
    pub ended: bool,
    /// True when the client closed (close frame or EOF) rather than the server.
    pub closed_by_client: bool,
}

impl ListenConnection {
    /// The `type`s of the text messages received.
    #[must_use]
    pub fn message_types(&self) -> Vec<String> {
        self.messages
            .iter()
            .map(|m| m["type"].as_str().unwrap_or("").to_string())
            .collect()
    }
}

/// What one speak WebSocket connection received.
#[derive(Debug, Clone, Default)]
#[non_exhaustive]
pub struct SpeakConnection {
    /// The handshake request.
    pub request: Option<HttpRequest>,
    /// Every text message received, parsed.
    pub messages: Vec<Value>,
    /// True once the connection ended.
    pub ended: bool,
}

#[derive(Debug, Default)]
struct State {
    handshakes: usize,
    listen: Vec<ListenConnection>,
    speak: Vec<SpeakConnection>,
}

/// A running Deepgram emulator. Dropping it stops the server.
#[derive(Debug)]
pub struct DeepgramEmulator {
    server: EmulatorServer,
    state: Arc<Mutex<State>>,
}

impl DeepgramEmulator {
    /// Starts the emulator on 127.0.0.1 port 0.
    pub async fn start(config: DeepgramConfig) -> std::io::Result<Self> {
        let state = Arc::new(Mutex::new(State::default()));
        let handler = DeepgramHandler {
            config,
            state: state.clone(),
        };
        let server = EmulatorServer::start(Arc::new(handler)).await?;
        Ok(DeepgramEmulator { server, state })
    }

    /// `http://127.0.0.1:<port>`: the plugin's base URL (WebSocket URLs are derived from it).
    #[must_use]
    pub fn http_url(&self) -> String {
        self.server.http_url()
    }

    /// The underlying server (request log, shutdown).
    #[must_use]
    pub fn server(&self) -> &EmulatorServer {
        &self.server
    }

    /// Every live connection so far, in handshake order.
    #[must_use]
    pub fn listen_connections(&self) -> Vec<ListenConnection> {
        self.state
            .lock()
            .map(|s| s.listen.clone())
            .unwrap_or_default()
    }

    /// Every speak WebSocket connection so far.
    #[must_use]
    pub fn speak_connections(&self) -> Vec<SpeakConnection> {
        self.state
            .lock()
            .map(|s| s.speak.clone())
            .unwrap_or_default()
    }

    /// Every HTTP request and handshake so far.
    #[must_use]
    pub fn requests(&self) -> Vec<HttpRequest> {
        self.server.requests()
    }
}

struct DeepgramHandler {
    config: DeepgramConfig,
    state: Arc<Mutex<State>>,
}

fn request_id() -> String {
    use std::sync::atomic::{AtomicU64, Ordering};
    static NEXT: AtomicU64 = AtomicU64::new(1);
    format!(
        "00000000-0000-4000-8000-{:012x}",
        NEXT.fetch_add(1, Ordering::Relaxed)
    )
}

fn query_u32(request: &HttpRequest, name: &str, default: u32) -> u32 {
    request
        .query_param(name)
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

/// A deterministic tone-like signal for synthesized audio.
fn synth_samples(count: usize, offset: usize) -> Vec<i16> {
    (0..count)
        .map(|i| {
            let n = (i + offset) as i64;
            (((n * 7919) % 16000) - 8000) as i16
        })
        .collect()
}

impl DeepgramHandler {
    fn check(&self, request: &HttpRequest) -> Option<HttpResponse> {
        if let Some((status, text)) = &self.config.reject {
            return Some(error_response(*status, text));
        }
        if let Some(key) = &self.config.api_key {
            let got = request
                .header("authorization")
                .and_then(|v| v.strip_prefix("Token "));
            if got != Some(key.as_str()) {
                return Some(error_response(
                    401,
                    "Invalid credentials. Could not authenticate the request.",
                ));
            }
        }
        None
    }

    fn with_listen<R>(
        &self,
        index: usize,
        f: impl FnOnce(&mut ListenConnection) -> R,
    ) -> Option<R> {
        self.state
            .lock()
            .ok()
            .and_then(|mut s| s.listen.get_mut(index).map(f))
    }

    async fn serve_listen(&self, request: HttpRequest, mut ws: WebSocketStream<TcpStream>) {
        let index = match self.state.lock() {
            Ok(mut s) => {
                s.listen.push(ListenConnection {
                    request: Some(request.clone()),
                    ..Default::default()
                });
                s.listen.len() - 1
            }
            Err(_) => return,
        };
        let cfg = &self.config;
        let rate = query_u32(&request, "sample_rate", 16_000);
        let channels = query_u32(&request, "channels", 1).max(1);
        let bytes_per_ms = f64::from(rate * channels * 2) / 1000.0;
        let interim = request.query_param("interim_results") == Some("true");
        let vad_events = request.query_param("vad_events") == Some("true");
        let utterance_end_param = request.query_param("utterance_end_ms").is_some();
        let bad_audio = request
            .query_param("encoding")
            .is_some_and(|e| e != "linear16")
            || cfg.required_sample_rate.is_some_and(|r| r != rate);
        let mut script = Script {
            cfg: cfg.clone(),
            request_id: request_id(),
            received_ms: 0.0,
            utt_start_ms: 0.0,
            revealed: 0,
            word_index: 0,
            last_interim_ms: 0.0,
            interim,
            vad_events: vad_events && cfg.speech_started,
            utterance_end: utterance_end_param || !cfg.speech_final,
            in_speech: false,
            voiced_ms: 0.0,
            silence_ms: 0.0,
        };
        let mut faults: Vec<ListenFault> = cfg
            .faults
            .iter()
            .filter(|f| f.connection == index)
            .cloned()
            .collect();
        loop {
            let next = tokio::time::timeout(cfg.idle_timeout, ws.next()).await;
            let msg = match next {
                Err(_) => {
                    let _ = self
                        .close(&mut ws, index, 1011, "NET-0001", Vec::new())
                        .await;
                    return;
                }
                Ok(None) | Ok(Some(Err(_))) => {
                    self.with_listen(index, |c| {
                        c.ended = true;
                        c.closed_by_client = true;
                    });
                    return;
                }
                Ok(Some(Ok(m))) => m,
            };
            let mut out = Vec::new();
            match msg {
                Message::Binary(data) => {
                    if data.is_empty() {
                        out.extend(script.finish(false));
                        out.push(script.metadata());
                        let _ = self.close(&mut ws, index, 1000, "", out).await;
                        return;
                    }
                    if bad_audio {
                        let _ = self
                            .close(&mut ws, index, 1002, "DATA-0000", Vec::new())
                            .await;
                        return;
                    }
                    self.with_listen(index, |c| {
                        c.audio.extend_from_slice(&data);
                        c.audio_messages.push(data.len());
                    });
                    let total = self.with_listen(index, |c| c.audio.len()).unwrap_or(0);
                    let now_ms = total as f64 / bytes_per_ms;
                    if let Some(pos) = faults
                        .iter()
                        .position(|f| now_ms >= f64::from(f.after_audio_ms))
                    {
                        let fault = faults.remove(pos);
                        match fault.action {
                            CloseAction::Drop => {
                                self.with_listen(index, |c| c.ended = true);
                                return;
                            }
                            CloseAction::Close { code, reason } => {
                                let _ = self.close(&mut ws, index, code, &reason, Vec::new()).await;
                                return;
                            }
                        }
                    }
                    if cfg.voice_endpointing.is_some() {
                        out.extend(script.advance_voice(now_ms, is_voiced(&data)));
                    } else {
                        out.extend(script.advance(now_ms));
                    }
                }
                Message::Text(text) => {
                    let value: Value = serde_json::from_str(text.as_str()).unwrap_or(Value::Null);
                    self.with_listen(index, |c| {
                        c.messages.push(value.clone());
                        c.audio_before_message.push(c.audio.len());
                    });
                    match value["type"].as_str() {
                        Some("KeepAlive") => {}
                        Some("Finalize") => out.extend(script.finish(true)),
                        Some("CloseStream") => {
                            out.extend(script.finish(false));
                            out.push(script.metadata());
                            let _ = self.close(&mut ws, index, 1000, "", out).await;
                            return;
                        }
                        _ => out.push(json!({
                            "type": "Error",
                            "variant": "SchemaError",
                            "description": format!("Could not deserialize last text message: {text}"),
                            "message": "unknown message",
                        })),
                    }
                }
                Message::Close(_) => {
                    self.with_listen(index, |c| {
                        c.ended = true;
                        c.closed_by_client = true;
                    });
                    let _ = ws.close(None).await;
                    return;
                }
                _ => {}
            }
            for m in out {
                pause(cfg.message_delay).await;
                self.with_listen(index, |c| c.sent.push(m.clone()));
                if ws.send(Message::Text(m.to_string().into())).await.is_err() {
                    self.with_listen(index, |c| c.ended = true);
                    return;
                }
            }
        }
    }

    async fn close(
        &self,
        ws: &mut WebSocketStream<TcpStream>,
        index: usize,
        code: u16,
        reason: &str,
        before: Vec<Value>,
    ) -> Result<(), tokio_tungstenite::tungstenite::Error> {
        for m in before {
            pause(self.config.message_delay).await;
            self.with_listen(index, |c| c.sent.push(m.clone()));
            ws.send(Message::Text(m.to_string().into())).await?;
        }
        self.with_listen(index, |c| c.ended = true);
        ws.close(Some(CloseFrame {
            code: CloseCode::from(code),
            reason: reason.to_string().into(),
        }))
        .await?;
        // Drain until the client answers the close, so the close frame is delivered.
        let _ = tokio::time::timeout(Duration::from_secs(2), async {
            while let Some(Ok(_)) = ws.next().await {}
        })
        .await;
        Ok(())
    }

    async fn serve_speak_ws(&self, request: HttpRequest, mut ws: WebSocketStream<TcpStream>) {
        let index = match self.state.lock() {
            Ok(mut s) => {
                s.speak.push(SpeakConnection {
                    request: Some(request.clone()),
                    ..Default::default()
                });
                s.speak.len() - 1
            }
            Err(_) => return,
        };
        let cfg = &self.config;
        let rate = query_u32(&request, "sample_rate", 24_000) as usize;
        let rid = request_id();
        let meta = json!({"type":"Metadata","request_id":rid,"model_name":request.query_param("model").unwrap_or("aura-2-thalia-en"),"model_version":"2025-01-01","model_uuid":rid});
        if ws
            .send(Message::Text(meta.to_string().into()))
            .await
            .is_err()
        {
            return;
        }
        let mut buffered = String::new();
        let mut sequence = 0u64;
        let mut offset = 0usize;
        loop {
            let msg = match tokio::time::timeout(cfg.idle_timeout, ws.next()).await {
                Err(_) => {
                    let _ = ws
                        .close(Some(CloseFrame {
                            code: CloseCode::from(1011),
                            reason: "NET-0001".into(),
                        }))
                        .await;
                    break;
                }
                Ok(Some(Ok(m))) => m,
                Ok(_) => break,
            };
            let Message::Text(text) = msg else {
                if matches!(msg, Message::Close(_)) {
                    break;
                }
                continue;
            };
            let value: Value = serde_json::from_str(text.as_str()).unwrap_or(Value::Null);
            if let Ok(mut s) = self.state.lock() {
                if let Some(c) = s.speak.get_mut(index) {
                    c.messages.push(value.clone());
                }
            }
            match value["type"].as_str() {
                Some("Speak") => buffered.push_str(value["text"].as_str().unwrap_or("")),
                Some("Flush") | Some("Close") => {
                    match cfg.speak_fault.clone() {
                        Some(CloseAction::Drop) => break,
                        Some(CloseAction::Close { code, reason }) => {
                            let _ = ws
                                .close(Some(CloseFrame {
                                    code: CloseCode::from(code),
                                    reason: reason.into(),
                                }))
                                .await;
                            let _ = tokio::time::timeout(Duration::from_secs(2), async {
                                while let Some(Ok(_)) = ws.next().await {}
                            })
                            .await;
                            break;
                        }
                        None => {}
                    }
                    let chars = buffered.chars().count();
                    buffered.clear();
                    let samples = rate * chars * cfg.tts_ms_per_char as usize / 1000;
                    let pcm: Vec<u8> = synth_samples(samples, offset)
                        .iter()
                        .flat_map(|s| s.to_le_bytes())
                        .collect();
                    offset += samples;
                    for chunk in pcm.chunks(cfg.tts_chunk_bytes.max(1)) {
                        pause(cfg.message_delay).await;
                        if ws
                            .send(Message::Binary(chunk.to_vec().into()))
                            .await
                            .is_err()
                        {
                            break;
                        }
                    }
                    if value["type"] == "Close" {
                        let _ = ws.close(None).await;
                        break;
                    }
                    let flushed = json!({"type":"Flushed","sequence_id":sequence});
                    sequence += 1;
                    if ws
                        .send(Message::Text(flushed.to_string().into()))
                        .await
                        .is_err()
                    {
                        break;
                    }
                }
                Some("Clear") => {
                    buffered.clear();
                    let cleared = json!({"type":"Cleared","sequence_id":sequence});
                    if ws
                        .send(Message::Text(cleared.to_string().into()))
                        .await
                        .is_err()
                    {
                        break;
                    }
                }
                _ => {
                    let warn = json!({"type":"Warning","description":"unknown message","code":"UNKNOWN","warn_msg":"unknown message"});
                    let _ = ws.send(Message::Text(warn.to_string().into())).await;
                }
            }
        }
        if let Ok(mut s) = self.state.lock() {
            if let Some(c) = s.speak.get_mut(index) {
                c.ended = true;
            }
        }
    }

    async fn serve_listen_rest(&self, request: HttpRequest, conn: &mut HttpConnection) {
        let mut rate = query_u32(&request, "sample_rate", 16_000);
        let mut channels = query_u32(&request, "channels", 1).max(1);
        let body = &request.body;
        let audio = if request.header("content-type") == Some("audio/wav") && body.len() >= 44 {
            channels = u32::from(u16::from_le_bytes([body[22], body[23]])).max(1);
            rate = u32::from_le_bytes([body[24], body[25], body[26], body[27]]).max(1);
            &body[44..]
        } else {
            &body[..]
        };
        let ms = audio.len() as f64 / (f64::from(rate * channels * 2) / 1000.0);
        if audio.is_empty() {
            let _ = conn
                .respond(HttpResponse::json(400, &json!({"err_code":"Bad Request","err_msg":"Bad Request: failed to process audio: corrupt or unsupported data","request_id":request_id()})))
                .await;
            return;
        }
        let count = (ms / f64::from(self.config.word_ms)).floor() as usize;
        let words: Vec<Value> = (0..count)
            .map(|i| {
                let w = &self.config.words[i % self.config.words.len().max(1)];
                let start = i as f64 * f64::from(self.config.word_ms) / 1000.0;
                json!({"word":w,"start":start,"end":start + f64::from(self.config.word_ms) * 0.0008,"confidence":0.99,"punctuated_word":w})
            })
            .collect();
        let transcript = words
            .iter()
            .filter_map(|w| w["word"].as_str())
            .collect::<Vec<_>>()
            .join(" ");
        let rid = request_id();
        let body = json!({
            "metadata":{"transaction_key":"deprecated","request_id":rid,"sha256":"00","created":"2026-01-01T00:00:00Z","duration":ms / 1000.0,"channels":channels,"models":["m"],"model_info":{"m":{"name":"general-nova-3","version":"1","arch":"nova-3"}}},
            "results":{"channels":[{"alternatives":[{"transcript":transcript,"confidence":0.99,"words":words}]}]}
        });
        pause(self.config.message_delay).await;
        let _ = conn
            .respond(HttpResponse::json(200, &body).with_header("dg-request-id", rid))
            .await;
    }

    async fn serve_speak_rest(&self, request: HttpRequest, conn: &mut HttpConnection) {
        let rate = query_u32(&request, "sample_rate", 24_000) as usize;
        let text = request
            .json()
            .ok()
            .and_then(|v| v["text"].as_str().map(str::to_string))
            .unwrap_or_default();
        if text.is_empty() {
            let _ = conn
                .respond(HttpResponse::json(400, &json!({"err_code":"Bad Request","err_msg":"text must not be empty","request_id":request_id()})))
                .await;
            return;
        }
        let samples = rate * text.chars().count() * self.config.tts_ms_per_char as usize / 1000;
        let pcm: Vec<u8> = synth_samples(samples, 0)
            .iter()
            .flat_map(|s| s.to_le_bytes())
            .collect();
        let rid = request_id();
        let Ok(mut body) = conn
            .start_chunked(
                200,
                &[("content-type", "audio/l16"), ("dg-request-id", &rid)],
            )
            .await
        else {
            return;
        };
        for chunk in pcm.chunks(self.config.tts_chunk_bytes.max(1)) {
            pause(self.config.message_delay).await;
            if body.write(chunk).await.is_err() {
                return;
            }
        }
        let _ = body.finish().await;
    }
}

fn error_response(status: u16, text: &str) -> HttpResponse {
    let code = match status {
        401 => "INVALID_AUTH",
        429 => "TOO_MANY_REQUESTS",
        _ => "Bad Request",
    };
    HttpResponse::json(
        status,
        &json!({"err_code": code, "err_msg": text, "request_id": request_id()}),
    )
    .with_header("dg-error", text)
    .with_header("dg-request-id", request_id())
}

struct Script {
    cfg: DeepgramConfig,
    request_id: String,
    received_ms: f64,
    utt_start_ms: f64,
    revealed: usize,
    word_index: usize,
    last_interim_ms: f64,
    interim: bool,
    vad_events: bool,
    utterance_end: bool,
    in_speech: bool,
    voiced_ms: f64,
    silence_ms: f64,
}

/// True when little-endian s16 audio is louder than -40 dBFS.
fn is_voiced(data: &[u8]) -> bool {
    let samples = data.len() / 2;
    if samples == 0 {
        return false;
    }
    let sum: f64 = data
        .chunks_exact(2)
        .map(|b| {
            let v = f64::from(i16::from_le_bytes([b[0], b[1]])) / 32768.0;
            v * v
        })
        .sum();
    (sum / samples as f64).sqrt() > 0.01
}

impl Script {
    /// Voice-aware progress: words revealed while speech lasts, the utterance ended by silence.
    fn advance_voice(&mut self, now_ms: f64, voiced: bool) -> Vec<Value> {
        let mut out = Vec::new();
        let step = (now_ms - self.received_ms).max(0.0);
        self.received_ms = now_ms;
        let endpointing = self
            .cfg
            .voice_endpointing
            .map(|d| d.as_secs_f64() * 1000.0)
            .unwrap_or(300.0);
        let words = self.cfg.utterance_words.max(1);
        if voiced {
            if !self.in_speech {
                self.in_speech = true;
                self.utt_start_ms = now_ms - step;
                self.voiced_ms = 0.0;
                if self.vad_events {
                    out.push(json!({"type":"SpeechStarted","channel":[0,1],"timestamp": self.utt_start_ms / 1000.0}));
                }
            }
            self.voiced_ms += step;
            self.silence_ms = 0.0;
            let revealed =
                ((self.voiced_ms / f64::from(self.cfg.word_ms)).floor() as usize).min(words - 1);
            if revealed > self.revealed {
                self.revealed = revealed;
                if self.interim {
                    out.push(self.results(now_ms, false, false, false));
                }
            }
        } else if self.in_speech {
            self.silence_ms += step;
            if self.silence_ms >= endpointing {
                self.in_speech = false;
                self.revealed = words;
                let end = now_ms - self.silence_ms;
                out.extend(self.end_utterance(end, self.cfg.speech_final, false));
                self.utt_start_ms = now_ms;
            }
        }
        out
    }

    fn word(&self, i: usize) -> String {
        let words = &self.cfg.words;
        if words.is_empty() {
            return String::new();
        }
        words[(self.word_index + i) % words.len()].clone()
    }

    fn results(
        &self,
        end_ms: f64,
        is_final: bool,
        speech_final: bool,
        from_finalize: bool,
    ) -> Value {
        let word_ms = f64::from(self.cfg.word_ms);
        let words: Vec<Value> = (0..self.revealed)
            .map(|i| {
                let start = (self.utt_start_ms + i as f64 * word_ms) / 1000.0;
                let w = self.word(i);
                json!({"word": w, "start": start, "end": start + word_ms * 0.0008,
                       "confidence": 0.98, "punctuated_word": w})
            })
            .collect();
        let transcript = (0..self.revealed)
            .map(|i| self.word(i))
            .collect::<Vec<_>>()
            .join(" ");
        json!({
            "type": "Results",
            "channel_index": [0, 1],
            "duration": (end_ms - self.utt_start_ms).max(0.0) / 1000.0,
            "start": self.utt_start_ms / 1000.0,
            "is_final": is_final,
            "speech_final": speech_final,
            "from_finalize": from_finalize,
            "channel": {"alternatives": [{"transcript": transcript, "confidence": 0.98, "words": words}]},
            "metadata": {"request_id": self.request_id, "model_info": {"name": "general-nova-3", "version": "2024-01-01", "arch": "nova-3"}, "model_uuid": "uuid"},
        })
    }

    fn advance(&mut self, now_ms: f64) -> Vec<Value> {
        let mut out = Vec::new();
        self.received_ms = now_ms;
        let word_ms = f64::from(self.cfg.word_ms);
        loop {
            let next_word_end = self.utt_start_ms + word_ms * (self.revealed + 1) as f64;
            if now_ms < next_word_end {
                break;
            }
            self.revealed += 1;
            if self.revealed == 1 && self.vad_events {
                out.push(json!({"type":"SpeechStarted","channel":[0,1],"timestamp": self.utt_start_ms / 1000.0}));
            }
            if self.revealed == self.cfg.utterance_words {
                out.extend(self.end_utterance(next_word_end, self.cfg.speech_final, false));
            }
        }
        if self.interim
            && self.revealed > 0
            && now_ms - self.last_interim_ms >= f64::from(self.cfg.interim_every_ms)
        {
            self.last_interim_ms = now_ms;
            out.push(self.results(now_ms, false, false, false));
        }
        out
    }

    fn end_utterance(
        &mut self,
        end_ms: f64,
        speech_final: bool,
        from_finalize: bool,
    ) -> Vec<Value> {
        let mut out = vec![self.results(end_ms, true, speech_final, from_finalize)];
        if self.utterance_end && self.revealed > 0 {
            let last =
                self.utt_start_ms + f64::from(self.cfg.word_ms) * (self.revealed as f64 - 0.2);
            out.push(json!({"type":"UtteranceEnd","channel":[0,1],"last_word_end": last / 1000.0}));
        }
        self.word_index += self.revealed;
        self.revealed = 0;
        self.utt_start_ms = end_ms;
        self.last_interim_ms = end_ms;
        out
    }

    /// Finalize / CloseStream: a final for what was heard (empty transcript without speech).
    fn finish(&mut self, from_finalize: bool) -> Vec<Value> {
        let end = self.received_ms;
        if self.in_speech {
            self.in_speech = false;
            self.revealed = self.cfg.utterance_words.max(1);
        }
        if end <= self.utt_start_ms && self.revealed == 0 {
            return vec![self.results(end, true, false, from_finalize)];
        }
        let speech_final = self.revealed > 0 && self.cfg.speech_final;
        self.end_utterance(end, speech_final, from_finalize)
    }

    fn metadata(&self) -> Value {
        json!({"type":"Metadata","transaction_key":"deprecated","request_id":self.request_id,
               "sha256":"00","created":"2026-01-01T00:00:00.000Z","duration": self.received_ms / 1000.0,"channels":1})
    }
}

#[async_trait]
impl Handler for DeepgramHandler {
    async fn handle_http(&self, request: HttpRequest, conn: &mut HttpConnection) {
        if let Some(rejection) = self.check(&request) {
            let _ = conn.respond(rejection).await;
            return;
        }
        match (request.method.as_str(), request.path.as_str()) {
            ("POST", "/v1/listen") => self.serve_listen_rest(request, conn).await,
            ("POST", "/v1/speak") => self.serve_speak_rest(request, conn).await,
            _ => {
                let _ = conn.respond(HttpResponse::new(404, "not found")).await;
            }
        }
    }

    async fn accept_ws(&self, request: &HttpRequest) -> UpgradeDecision {
        if let Some(rejection) = self.check(request) {
            return UpgradeDecision::Reject(rejection);
        }
        let number = match self.state.lock() {
            Ok(mut s) => {
                s.handshakes += 1;
                s.handshakes - 1
            }
            Err(_) => 0,
        };
        if let Some((from, delay)) = self.config.delay_handshakes_from {
            if number >= from {
                tokio::time::sleep(delay).await;
            }
        }
        if let Some((from, status)) = self.config.reject_handshakes_from {
            if number >= from {
                return UpgradeDecision::Reject(error_response(
                    status,
                    "Service temporarily unavailable",
                ));
            }
        }
        match request.path.as_str() {
            "/v1/listen" | "/v1/speak" => UpgradeDecision::Accept,
            _ => UpgradeDecision::Reject(HttpResponse::new(404, "not found")),
        }
    }

    async fn handle_ws(&self, request: HttpRequest, ws: WebSocketStream<TcpStream>) {
        if request.path == "/v1/speak" {
            self.serve_speak_ws(request, ws).await;
        } else {
            self.serve_listen(request, ws).await;
        }
    }
}
