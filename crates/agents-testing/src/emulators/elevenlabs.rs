//! An ElevenLabs emulator: the `stream-input` WebSocket,
//! `POST /v1/text-to-speech/{voice}/stream` (and `/stream/with-timestamps`) and Scribe
//! `POST /v1/speech-to-text`, with the real message shapes and knobs for the faults ElevenLabs
//! produces.
//!
//! Synthesis is deterministic: every character of text gives
//! [`ElevenLabsConfig::ms_per_char`] of audio at the rate of `output_format`. On the WebSocket,
//! text is generated when a message says `flush: true`, when the buffer reaches the next
//! `chunk_length_schedule` size, or at the closing `{"text":""}`; each generation is sent as
//! several messages of base64 audio (split at odd byte offsets when
//! [`ElevenLabsConfig::odd_splits`] is on) with per-message character alignment whose times
//! start at 0 for each message's audio.
//!
//! ```no_run
//! use agents_testing::emulators::elevenlabs::{ElevenLabsConfig, ElevenLabsEmulator};
//!
//! # async fn demo() -> std::io::Result<()> {
//! let el = ElevenLabsEmulator::start(ElevenLabsConfig::default()).await?;
//! let base_url = el.http_url();
//! # let _ = base_url;
//! # Ok(()) }
//! ```

use std::sync::{Arc, Mutex};
use std::time::Duration;

use async_trait::async_trait;
use base64::Engine as _;
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

/// An error answer for REST requests (and rejected handshakes).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RestError {
    /// HTTP status (401, 429, ...).
    pub status: u16,
    /// `detail.status` (`quota_exceeded`, `too_many_concurrent_requests`, `system_busy`).
    pub code: String,
    /// `detail.message`.
    pub message: String,
}

/// The emulator's behaviour.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct ElevenLabsConfig {
    /// The expected `xi-api-key` (header, or `xi_api_key` in the first WebSocket message);
    /// `None` accepts any.
    pub api_key: Option<String>,
    /// Answer every REST request and handshake with this error.
    pub reject: Option<RestError>,
    /// Audio per character of text, in ms.
    pub ms_per_char: u32,
    /// Characters per audio message within one generation.
    pub chars_per_message: usize,
    /// Split audio messages at odd byte offsets (samples split across messages).
    pub odd_splits: bool,
    /// Close with `input_timeout_exceeded` / 1008 after this long without text (the real
    /// default is 20 s, or the `inactivity_timeout` query).
    pub inactivity_timeout: Option<Duration>,
    /// Before the first audio message of each generation (time to first audio).
    pub first_audio_delay: Duration,
    /// Before every other server message.
    pub message_delay: Duration,
    /// Close 1008 with this `error` after this many audio messages on the first connection.
    pub close_after_audio_messages: Option<(usize, String)>,
    /// Bytes per chunk of REST audio bodies.
    pub rest_chunk_bytes: usize,
    /// The words of Scribe transcripts, one per 200 ms of audio, cycled.
    pub words: Vec<String>,
}

impl Default for ElevenLabsConfig {
    fn default() -> Self {
        ElevenLabsConfig {
            api_key: None,
            reject: None,
            ms_per_char: 10,
            chars_per_message: 7,
            odd_splits: true,
            inactivity_timeout: None,
            first_audio_delay: Duration::ZERO,
            message_delay: Duration::ZERO,
            close_after_audio_messages: None,
            rest_chunk_bytes: 1001,
            words: ["Hello", "world", "from", "Scribe"]
                .iter()
                .map(|w| (*w).to_string())
                .collect(),
        }
    }
}

impl ElevenLabsConfig {
    /// Expects `key`.
    #[must_use]
    pub fn with_api_key(mut self, key: impl Into<String>) -> Self {
        self.api_key = Some(key.into());
        self
    }

    /// Answers everything with `status` and `detail: {status: code, message}`.
    #[must_use]
    pub fn with_reject(
        mut self,
        status: u16,
        code: impl Into<String>,
        message: impl Into<String>,
    ) -> Self {
        self.reject = Some(RestError {
            status,
            code: code.into(),
            message: message.into(),
        });
        self
    }

    /// Sets the text inactivity timeout.
    #[must_use]
    pub fn with_inactivity_timeout(mut self, timeout: Duration) -> Self {
        self.inactivity_timeout = Some(timeout);
        self
    }

    /// Delays the first audio of each generation.
    #[must_use]
    pub fn with_first_audio_delay(mut self, delay: Duration) -> Self {
        self.first_audio_delay = delay;
        self
    }

    /// Closes the first connection with 1008 and `error` after `messages` audio messages.
    #[must_use]
    pub fn with_close_after_audio_messages(
        mut self,
        messages: usize,
        error: impl Into<String>,
    ) -> Self {
        self.close_after_audio_messages = Some((messages, error.into()));
        self
    }
}

/// What one `stream-input` connection received.
#[derive(Debug, Clone, Default)]
#[non_exhaustive]
pub struct StreamInputConnection {
    /// The handshake (path with the voice id, query, headers).
    pub request: Option<HttpRequest>,
    /// Every text message received, parsed.
    pub messages: Vec<Value>,
    /// Every message sent, parsed.
    pub sent: Vec<Value>,
    /// True once the connection ended.
    pub ended: bool,
}

#[derive(Debug, Default)]
struct State {
    connections: Vec<StreamInputConnection>,
}

/// A running ElevenLabs emulator. Dropping it stops the server.
#[derive(Debug)]
pub struct ElevenLabsEmulator {
    server: EmulatorServer,
    state: Arc<Mutex<State>>,
}

impl ElevenLabsEmulator {
    /// Starts the emulator on 127.0.0.1 port 0.
    pub async fn start(config: ElevenLabsConfig) -> std::io::Result<Self> {
        let state = Arc::new(Mutex::new(State::default()));
        let server = EmulatorServer::start(Arc::new(ElevenLabsHandler {
            config,
            state: state.clone(),
        }))
        .await?;
        Ok(ElevenLabsEmulator { server, state })
    }

    /// `http://127.0.0.1:<port>`: the plugin's base URL.
    #[must_use]
    pub fn http_url(&self) -> String {
        self.server.http_url()
    }

    /// Every `stream-input` connection so far.
    #[must_use]
    pub fn connections(&self) -> Vec<StreamInputConnection> {
        self.state
            .lock()
            .map(|s| s.connections.clone())
            .unwrap_or_default()
    }

    /// Every HTTP request and handshake so far.
    #[must_use]
    pub fn requests(&self) -> Vec<HttpRequest> {
        self.server.requests()
    }
}

struct ElevenLabsHandler {
    config: ElevenLabsConfig,
    state: Arc<Mutex<State>>,
}

/// `(rate, ulaw)` from an `output_format` such as `pcm_24000` or `ulaw_8000`.
fn parse_format(format: &str) -> Option<(usize, bool)> {
    let (codec, rest) = format.split_once('_')?;
    let rate: usize = rest.split('_').next()?.parse().ok()?;
    match codec {
        "pcm" => Some((rate, false)),
        "ulaw" => Some((rate, true)),
        _ => None,
    }
}

fn synth_bytes(samples: usize, offset: usize, ulaw: bool) -> Vec<u8> {
    (0..samples)
        .flat_map(|i| {
            let n = (i + offset) as i64;
            let s = (((n * 7919) % 16000) - 8000) as i16;
            if ulaw {
                vec![(s as u16 >> 8) as u8 ^ 0x55]
            } else {
                s.to_le_bytes().to_vec()
            }
        })
        .collect()
}

fn rest_error(e: &RestError) -> HttpResponse {
    HttpResponse::json(
        e.status,
        &json!({"detail": {"status": e.code, "message": e.message}}),
    )
}

impl ElevenLabsHandler {
    fn check(&self, request: &HttpRequest) -> Option<HttpResponse> {
        if let Some(e) = &self.config.reject {
            return Some(rest_error(e));
        }
        if let Some(key) = &self.config.api_key {
            if let Some(got) = request.header("xi-api-key") {
                if got != key {
                    return Some(rest_error(&RestError {
                        status: 401,
                        code: "invalid_api_key".into(),
                        message: "Invalid API key".into(),
                    }));
                }
            } else if !request.is_websocket_upgrade() {
                return Some(rest_error(&RestError {
                    status: 401,
                    code: "needs_authorization".into(),
                    message: "Neither authorization header nor xi-api-key received".into(),
                }));
            }
        }
        None
    }

    fn update(&self, index: usize, f: impl FnOnce(&mut StreamInputConnection)) {
        if let Ok(mut s) = self.state.lock() {
            if let Some(c) = s.connections.get_mut(index) {
                f(c);
            }
        }
    }

    async fn send(&self, ws: &mut WebSocketStream<TcpStream>, index: usize, value: Value) -> bool {
        self.update(index, |c| c.sent.push(value.clone()));
        ws.send(Message::Text(value.to_string().into()))
            .await
            .is_ok()
    }

    async fn close(
        &self,
        ws: &mut WebSocketStream<TcpStream>,
        index: usize,
        code: u16,
        reason: &str,
    ) {
        self.update(index, |c| c.ended = true);
        let _ = ws
            .close(Some(CloseFrame {
                code: CloseCode::from(code),
                reason: reason.to_string().into(),
            }))
            .await;
        let _ = tokio::time::timeout(Duration::from_secs(2), async {
            while let Some(Ok(_)) = ws.next().await {}
        })
        .await;
    }

    async fn serve_stream_input(&self, request: HttpRequest, mut ws: WebSocketStream<TcpStream>) {
        let index = match self.state.lock() {
            Ok(mut s) => {
                s.connections.push(StreamInputConnection {
                    request: Some(request.clone()),
                    ..Default::default()
                });
                s.connections.len() - 1
            }
            Err(_) => return,
        };
        let cfg = &self.config;
        let Some((rate, ulaw)) = parse_format(
            request
                .query_param("output_format")
                .unwrap_or("mp3_44100_128"),
        ) else {
            let _ = self
                .send(&mut ws, index, json!({"message":"Unsupported output format","error":"invalid_output_format","code":1008}))
                .await;
            self.close(&mut ws, index, 1008, "invalid_output_format")
                .await;
            return;
        };
        let timeout = cfg.inactivity_timeout.unwrap_or_else(|| {
            Duration::from_secs(
                request
                    .query_param("inactivity_timeout")
                    .and_then(|v| v.parse().ok())
                    .unwrap_or(20),
            )
        });
        let mut buffer = String::new();
        let mut schedule: Vec<usize> = vec![120, 160, 250, 290];
        let mut generation = 0usize;
        let mut first = true;
        let mut offset = 0usize;
        let mut audio_messages = 0usize;
        loop {
            let msg = match tokio::time::timeout(timeout, ws.next()).await {
                Err(_) => {
                    let secs = timeout.as_secs_f64();
                    let _ = self.send(&mut ws, index, json!({
                        "message": format!("Have not received a new text input within the timeout of {secs:.1} seconds. Streaming input terminated. Please make sure to either feed the input in the timely manner, or to send the end of input text (empty string \"\") when done."),
                        "error": "input_timeout_exceeded",
                        "code": 1008
                    })).await;
                    self.close(&mut ws, index, 1008, "input_timeout_exceeded")
                        .await;
                    return;
                }
                Ok(Some(Ok(Message::Text(t)))) => t,
                Ok(Some(Ok(Message::Close(_)))) | Ok(None) | Ok(Some(Err(_))) => {
                    self.update(index, |c| c.ended = true);
                    return;
                }
                Ok(Some(Ok(_))) => continue,
            };
            let value: Value = serde_json::from_str(t_str(&msg)).unwrap_or(Value::Null);
            self.update(index, |c| c.messages.push(value.clone()));
            if first {
                first = false;
                if let Some(key) = &cfg.api_key {
                    let header = request.header("xi-api-key");
                    let inline = value["xi_api_key"]
                        .as_str()
                        .or(value["xi-api-key"].as_str());
                    if header.or(inline) != Some(key.as_str()) {
                        let _ = self.send(&mut ws, index, json!({"message":"Invalid API key","error":"invalid_api_key","code":1008})).await;
                        self.close(&mut ws, index, 1008, "invalid_api_key").await;
                        return;
                    }
                }
                if let Some(s) = value["generation_config"]["chunk_length_schedule"].as_array() {
                    schedule = s
                        .iter()
                        .filter_map(|v| v.as_u64())
                        .map(|v| v as usize)
                        .collect();
                }
                if value["text"] != " " {
                    let _ = self.send(&mut ws, index, json!({"message":"The first message must have text \" \"","error":"invalid_request","code":1008})).await;
                    self.close(&mut ws, index, 1008, "invalid_request").await;
                    return;
                }
                continue;
            }
            let text = value["text"].as_str().unwrap_or("");
            let end = text.is_empty() && value.get("flush").is_none();
            buffer.push_str(text);
            let threshold = schedule
                .get(generation)
                .or(schedule.last())
                .copied()
                .unwrap_or(usize::MAX);
            let generate = end
                || value["flush"] == true
                || (value["try_trigger_generation"] == true && buffer.chars().count() >= 50)
                || buffer.chars().count() >= threshold;
            if generate && !buffer.trim().is_empty() {
                let text = std::mem::take(&mut buffer);
                generation += 1;
                let chars: Vec<char> = text.chars().collect();
                let per_char = rate * cfg.ms_per_char as usize / 1000;
                let pieces: Vec<&[char]> = chars.chunks(cfg.chars_per_message.max(1)).collect();
                let mut carry: Vec<u8> = Vec::new();
                for (i, piece) in pieces.iter().enumerate() {
                    let samples = piece.len() * per_char;
                    let mut bytes = std::mem::take(&mut carry);
                    bytes.extend(synth_bytes(samples, offset, ulaw));
                    offset += samples;
                    // Odd splits: hold the last byte back for the next message, so a sample
                    // straddles two messages.
                    if cfg.odd_splits && !ulaw && i + 1 < pieces.len() && bytes.len() > 1 {
                        if let Some(b) = bytes.pop() {
                            carry.push(b);
                        }
                    }
                    pause(if i == 0 {
                        cfg.first_audio_delay
                    } else {
                        cfg.message_delay
                    })
                    .await;
                    let starts: Vec<u64> = (0..piece.len())
                        .map(|k| (k as u64) * u64::from(cfg.ms_per_char))
                        .collect();
                    let durations: Vec<u64> = vec![u64::from(cfg.ms_per_char); piece.len()];
                    let chars_json: Vec<String> = piece.iter().map(|c| c.to_string()).collect();
                    let alignment = json!({"chars": chars_json, "charStartTimesMs": starts, "charDurationsMs": durations});
                    let message = json!({
                        "audio": base64::engine::general_purpose::STANDARD.encode(&bytes),
                        "isFinal": null,
                        "normalizedAlignment": alignment,
                        "alignment": alignment,
                    });
                    audio_messages += 1;
                    if !self.send(&mut ws, index, message).await {
                        return;
                    }
                    if let Some((after, error)) = &cfg.close_after_audio_messages {
                        if index == 0 && audio_messages >= *after {
                            let _ = self.send(&mut ws, index, json!({"message":"Unusual activity detected.","error":error,"code":1008})).await;
                            self.close(&mut ws, index, 1008, error).await;
                            return;
                        }
                    }
                }
            }
            if end {
                pause(cfg.message_delay).await;
                let _ = self.send(&mut ws, index, json!({"isFinal": true})).await;
                self.close(&mut ws, index, 1000, "").await;
                return;
            }
        }
    }

    async fn serve_tts_rest(
        &self,
        request: HttpRequest,
        conn: &mut HttpConnection,
        timestamps: bool,
    ) {
        let format = request
            .query_param("output_format")
            .unwrap_or("mp3_44100_128")
            .to_string();
        let Some((rate, ulaw)) = parse_format(&format) else {
            let _ = conn
                .respond(HttpResponse::json(422, &json!({"detail":[{"loc":["query","output_format"],"msg":"unsupported output format","type":"value_error"}]})))
                .await;
            return;
        };
        let body = request.json().unwrap_or(Value::Null);
        let text = body["text"].as_str().unwrap_or("");
        if text.is_empty() {
            let _ = conn
                .respond(HttpResponse::json(422, &json!({"detail":[{"loc":["body","text"],"msg":"field required","type":"value_error.missing"}]})))
                .await;
            return;
        }
        if timestamps {
            self.serve_tts_timestamps(text, rate, ulaw, conn).await;
            return;
        }
        let samples = text.chars().count() * rate * self.config.ms_per_char as usize / 1000;
        let bytes = synth_bytes(samples, 0, ulaw);
        let content_type = if ulaw { "audio/basic" } else { "audio/pcm" };
        pause(self.config.first_audio_delay).await;
        let Ok(mut out) = conn
            .start_chunked(200, &[("content-type", content_type)])
            .await
        else {
            return;
        };
        for chunk in bytes.chunks(self.config.rest_chunk_bytes.max(1)) {
            pause(self.config.message_delay).await;
            if out.write(chunk).await.is_err() {
                return;
            }
        }
        let _ = out.finish().await;
    }

    /// `/stream/with-timestamps`: newline-separated JSON objects with base64 audio and
    /// character alignment in seconds from the start of the whole audio.
    async fn serve_tts_timestamps(
        &self,
        text: &str,
        rate: usize,
        ulaw: bool,
        conn: &mut HttpConnection,
    ) {
        let cfg = &self.config;
        let chars: Vec<char> = text.chars().collect();
        let per_char = rate * cfg.ms_per_char as usize / 1000;
        pause(cfg.first_audio_delay).await;
        let Ok(mut out) = conn
            .start_chunked(200, &[("content-type", "application/json")])
            .await
        else {
            return;
        };
        let char_s = f64::from(cfg.ms_per_char) / 1000.0;
        let mut offset = 0usize;
        for (k, piece) in chars.chunks(cfg.chars_per_message.max(1)).enumerate() {
            if k > 0 {
                pause(cfg.message_delay).await;
            }
            let samples = piece.len() * per_char;
            let bytes = synth_bytes(samples, offset * per_char, ulaw);
            let first = offset;
            offset += piece.len();
            let starts: Vec<f64> = (0..piece.len())
                .map(|i| (first + i) as f64 * char_s)
                .collect();
            let ends: Vec<f64> = starts.iter().map(|s| s + char_s).collect();
            let characters: Vec<String> = piece.iter().map(|c| c.to_string()).collect();
            let alignment = json!({
                "characters": characters,
                "character_start_times_seconds": starts,
                "character_end_times_seconds": ends,
            });
            let line = json!({
                "audio_base64": base64::engine::general_purpose::STANDARD.encode(&bytes),
                "alignment": alignment,
                "normalized_alignment": alignment,
            })
            .to_string()
                + "\n";
            // Split each line in two writes, so the client sees partial lines.
            let (a, b) = line.as_bytes().split_at(line.len() / 2);
            if out.write(a).await.is_err() || out.write(b).await.is_err() {
                return;
            }
        }
        let _ = out.finish().await;
    }

    async fn serve_scribe(&self, request: HttpRequest, conn: &mut HttpConnection) {
        let body = &request.body;
        let Some(riff) = body.windows(4).position(|w| w == b"RIFF") else {
            let _ = conn
                .respond(HttpResponse::json(
                    400,
                    &json!({"detail":{"status":"invalid_file","message":"No audio file received"}}),
                ))
                .await;
            return;
        };
        let wav = &body[riff..];
        if wav.len() < 44 {
            let _ = conn
                .respond(HttpResponse::json(
                    400,
                    &json!({"detail":{"status":"invalid_file","message":"Truncated audio"}}),
                ))
                .await;
            return;
        }
        let channels = u16::from_le_bytes([wav[22], wav[23]]).max(1) as usize;
        let rate = u32::from_le_bytes([wav[24], wav[25], wav[26], wav[27]]).max(1) as usize;
        let data_len = u32::from_le_bytes([wav[40], wav[41], wav[42], wav[43]]) as usize;
        let secs = data_len as f64 / (rate * channels * 2) as f64;
        let count = (secs / 0.2).floor() as usize;
        let mut words = Vec::new();
        let mut text = Vec::new();
        for i in 0..count {
            let w = &self.config.words[i % self.config.words.len().max(1)];
            let start = i as f64 * 0.2;
            if i > 0 {
                words.push(json!({"text":" ","start":start - 0.04,"end":start,"type":"spacing","logprob":0.0}));
            }
            words.push(json!({"text":w,"start":start,"end":start + 0.16,"type":"word","speaker_id":"speaker_0","logprob":-0.05}));
            text.push(w.clone());
        }
        let response = json!({
            "language_code": "en",
            "language_probability": 0.98,
            "text": text.join(" "),
            "words": words,
            "transcription_id": "tr_emulated",
            "audio_duration_secs": secs,
        });
        let _ = conn
            .respond(HttpResponse::json(200, &response).with_header("x-trace-id", "trace-1"))
            .await;
    }
}

fn t_str(t: &tokio_tungstenite::tungstenite::Utf8Bytes) -> &str {
    t.as_str()
}

#[async_trait]
impl Handler for ElevenLabsHandler {
    async fn handle_http(&self, request: HttpRequest, conn: &mut HttpConnection) {
        if let Some(rejection) = self.check(&request) {
            let _ = conn.respond(rejection).await;
            return;
        }
        let path = request.path.clone();
        if request.method == "POST"
            && path.starts_with("/v1/text-to-speech/")
            && path.ends_with("/stream")
        {
            self.serve_tts_rest(request, conn, false).await;
        } else if request.method == "POST"
            && path.starts_with("/v1/text-to-speech/")
            && path.ends_with("/stream/with-timestamps")
        {
            self.serve_tts_rest(request, conn, true).await;
        } else if request.method == "POST" && path == "/v1/speech-to-text" {
            self.serve_scribe(request, conn).await;
        } else {
            let _ = conn.respond(HttpResponse::new(404, "not found")).await;
        }
    }

    async fn accept_ws(&self, request: &HttpRequest) -> UpgradeDecision {
        if let Some(rejection) = self.check(request) {
            return UpgradeDecision::Reject(rejection);
        }
        if request.path.starts_with("/v1/text-to-speech/")
            && request.path.ends_with("/stream-input")
        {
            UpgradeDecision::Accept
        } else {
            UpgradeDecision::Reject(HttpResponse::new(404, "not found"))
        }
    }

    async fn handle_ws(&self, request: HttpRequest, ws: WebSocketStream<TcpStream>) {
        self.serve_stream_input(request, ws).await;
    }
}
