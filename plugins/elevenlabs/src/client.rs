//! What the TTS and STT clients share: endpoints, the key, the WebSocket connect with retries,
//! and the mapping of HTTP statuses, error messages and close codes to typed errors.

use std::time::Duration;

use agents_core::ws::{self, BaseUrl, Rejection, WsProvider};
use agents_core::{ApiKey, ConnectOptions, Error, Result};
use url::Url;

/// The provider name used in errors and events.
pub(crate) const PROVIDER: &str = "elevenlabs";

/// The public API.
pub(crate) const DEFAULT_BASE_URL: &str = "https://api.elevenlabs.io";

/// The environment variables holding the key, in the order they are read.
pub(crate) const API_KEY_ENVS: &[&str] = &["ELEVEN_API_KEY", "ELEVENLABS_API_KEY"];

pub(crate) type Ws = ws::WsStream;

/// Resolves the key: the given one, else `ELEVEN_API_KEY`, else `ELEVENLABS_API_KEY`.
pub(crate) fn resolve_key(key: Option<ApiKey>) -> Result<ApiKey> {
    if let Some(key) = key.filter(|k| !k.is_blank()) {
        return Ok(key);
    }
    for var in API_KEY_ENVS {
        if let Ok(v) = std::env::var(var) {
            if !v.trim().is_empty() {
                return Ok(ApiKey::new(v));
            }
        }
    }
    Err(Error::auth(format!(
        "no ElevenLabs API key: pass one to the builder or set {}",
        API_KEY_ENVS.join(" or ")
    ))
    .with_provider(PROVIDER))
}

/// What is ElevenLabs' own about its WebSockets: the provider name and the errors of a
/// rejected handshake (the body's `detail`).
#[derive(Debug, Clone, Copy)]
pub(crate) struct ElevenLabs;

impl WsProvider for ElevenLabs {
    fn id(&self) -> &str {
        PROVIDER
    }

    fn name(&self) -> &str {
        "ElevenLabs"
    }

    fn rejected(&self, rejection: &Rejection<'_>) -> Error {
        status_error(
            rejection.status(),
            &rejection.body(),
            rejection.retry_after(),
        )
    }
}

/// Parses a base URL (`https://api.elevenlabs.io`, `http://127.0.0.1:1234`, optionally with a
/// path prefix; a trailing `/v1` is accepted and dropped).
pub(crate) fn parse_base_url(base: Option<&str>) -> Result<BaseUrl> {
    let text = base.unwrap_or(DEFAULT_BASE_URL).trim_end_matches('/');
    let text = text.strip_suffix("/v1").unwrap_or(text);
    BaseUrl::parse(&ElevenLabs, Some(text), DEFAULT_BASE_URL)
}

/// Opens a WebSocket with the `xi-api-key` header, retrying connect-phase failures.
pub(crate) async fn connect_ws(
    url: &Url,
    key: &ApiKey,
    headers: &[(String, String)],
    opts: &ConnectOptions,
) -> Result<Ws> {
    ws::connect(
        &ElevenLabs,
        url,
        ("xi-api-key", key.expose()),
        headers,
        opts,
    )
    .await
}

/// Checks extra headers (from the builder or `ProviderConfig::headers`) once, at build time.
pub(crate) fn validate_headers(headers: &[(String, String)]) -> Result<()> {
    ws::validate_headers(&ElevenLabs, headers)
}

/// Maps a tungstenite error (a rejected handshake, an I/O failure) to a typed error.
pub(crate) fn ws_error(err: &tokio_tungstenite::tungstenite::Error) -> Error {
    ws::map_error(&ElevenLabs, err)
}

/// `(detail.status, detail.message)` of an ElevenLabs error body. `detail` may be an object,
/// a list of validation errors, or a string.
pub(crate) fn parse_detail(body: &str) -> (Option<String>, String) {
    let Ok(value) = serde_json::from_str::<serde_json::Value>(body) else {
        return (None, body.to_string());
    };
    let detail = &value["detail"];
    if let Some(obj) = detail.as_object() {
        let status = obj
            .get("status")
            .and_then(|v| v.as_str())
            .map(str::to_string);
        let message = obj
            .get("message")
            .and_then(|v| v.as_str())
            .map(str::to_string)
            .unwrap_or_else(|| detail.to_string());
        return (status, message);
    }
    if let Some(list) = detail.as_array() {
        let msgs: Vec<String> = list
            .iter()
            .map(|e| {
                let loc = e["loc"]
                    .as_array()
                    .map(|l| {
                        l.iter()
                            .map(|p| {
                                p.as_str()
                                    .map(str::to_string)
                                    .unwrap_or_else(|| p.to_string())
                            })
                            .collect::<Vec<_>>()
                            .join(".")
                    })
                    .unwrap_or_default();
                format!("{loc}: {}", e["msg"].as_str().unwrap_or(""))
            })
            .collect();
        return (Some("validation_error".into()), msgs.join("; "));
    }
    if let Some(s) = detail.as_str() {
        return (None, s.to_string());
    }
    if let Some(m) = value["message"].as_str() {
        return (value["error"].as_str().map(str::to_string), m.to_string());
    }
    (None, body.to_string())
}

/// Maps an HTTP status and body to a typed error.
///
/// - 401 with `quota_exceeded` (and 402) → [`QuotaExceeded`](agents_core::ErrorKind::QuotaExceeded);
///   other 401/403 → `Auth`.
/// - 429 `system_busy` → `RateLimited`, retryable with backoff.
/// - 429 `too_many_concurrent_requests` → `RateLimited` but **not retryable**: the plan's
///   concurrency is used up, so backing off does not help; the caller should queue the request
///   until one of its own requests finishes.
/// - 400/422 → `InvalidInput`; anything else → `ProviderStatus`.
pub(crate) fn status_error(status: u16, body: &str, retry_after: Option<Duration>) -> Error {
    let (code, message) = parse_detail(body);
    let code_str = code.as_deref().unwrap_or("");
    let err = match (status, code_str) {
        (401 | 402, "quota_exceeded") | (402, _) => Error::quota_exceeded(
            "the ElevenLabs account has no characters left (quota_exceeded)",
        ),
        (401 | 403, _) => Error::auth(format!(
            "ElevenLabs refused the API key (HTTP {status}{}); check {}",
            if code_str.is_empty() { String::new() } else { format!(", {code_str}") },
            API_KEY_ENVS.join(" or ")
        )),
        (429, "too_many_concurrent_requests") => Error::rate_limited(
            "too_many_concurrent_requests: the plan's concurrency limit is reached; queue the request until another one finishes",
            retry_after,
        )
        .with_retryable(false),
        (429, "system_busy") => Error::rate_limited(
            "system_busy: ElevenLabs is overloaded; retry with backoff",
            retry_after,
        ),
        (429, _) => Error::rate_limited("ElevenLabs rate limit (HTTP 429)", retry_after),
        (400 | 422, _) => {
            Error::invalid_input(format!("ElevenLabs rejected the request (HTTP {status})"))
        }
        _ => Error::provider_status(status, "ElevenLabs answered with an error status"),
    };
    err.with_provider(PROVIDER).with_provider_message(message)
}

/// Maps a WebSocket error message (`{"error": ..., "message": ..., "code": ...}`) to a typed
/// error.
pub(crate) fn message_error(error: &str, message: &str, code: u16) -> Error {
    let err = match error {
        "input_timeout_exceeded" => Error::timeout(
            "ElevenLabs closed the stream: no text arrived within its inactivity timeout",
        ),
        "quota_exceeded" => Error::quota_exceeded("the ElevenLabs account has no characters left"),
        "invalid_api_key" | "needs_authorization" | "unauthorized" | "auth_error" => {
            Error::auth("ElevenLabs refused the API key")
        }
        "too_many_concurrent_requests" => Error::rate_limited(
            "too_many_concurrent_requests: the plan's concurrency limit is reached",
            None,
        )
        .with_retryable(false),
        "system_busy" | "rate_limited" => Error::rate_limited("ElevenLabs is busy", None),
        "max_active_conversations" => {
            Error::rate_limited("too many simultaneous contexts on one connection", None)
        }
        other => Error::provider_status(
            code,
            format!("ElevenLabs closed the stream ({other}, code {code})"),
        ),
    };
    err.with_provider(PROVIDER)
        .with_provider_message(message.to_string())
}

/// Maps a non-success HTTP response to a typed error.
pub(crate) async fn response_error(response: reqwest::Response) -> Error {
    let status = response.status().as_u16();
    let retry_after = response
        .headers()
        .get("retry-after")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok())
        .map(Duration::from_secs);
    let body = response.text().await.unwrap_or_default();
    status_error(status, &body, retry_after)
}

/// Maps a reqwest failure to a typed error.
pub(crate) fn http_error(err: &reqwest::Error) -> Error {
    let e = if err.is_timeout() {
        Error::timeout(format!("HTTP request timed out: {err}"))
    } else if err.is_decode() {
        Error::protocol(format!("could not read the response: {err}"))
    } else {
        Error::connection(format!("HTTP request failed: {err}"))
    };
    e.with_provider(PROVIDER)
}

/// Builds the shared HTTP client.
pub(crate) fn http_client(timeout: Duration) -> Result<reqwest::Client> {
    reqwest::Client::builder()
        .connect_timeout(timeout)
        .build()
        .map_err(|e| {
            Error::connection(format!("cannot build the HTTP client: {e}")).with_provider(PROVIDER)
        })
}

/// The encodings ElevenLabs can send that the plugin decodes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Codec {
    /// 16-bit little-endian PCM.
    Pcm,
    /// G.711 mu-law.
    Ulaw,
}

/// Decodes audio bytes that may split samples into whole samples, keeping the remainder.
#[derive(Debug)]
pub(crate) struct Decoder {
    codec: Codec,
    carry: Vec<u8>,
}

impl Decoder {
    pub(crate) fn new(codec: Codec) -> Self {
        Decoder {
            codec,
            carry: Vec::new(),
        }
    }

    pub(crate) fn push(&mut self, data: &[u8]) -> Vec<i16> {
        match self.codec {
            Codec::Ulaw => agents_core::audio::mulaw_decode(data),
            Codec::Pcm => {
                self.carry.extend_from_slice(data);
                let whole = self.carry.len() / 2 * 2;
                let samples = self.carry[..whole]
                    .chunks_exact(2)
                    .map(|c| i16::from_le_bytes([c[0], c[1]]))
                    .collect();
                self.carry.drain(..whole);
                samples
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn details_are_parsed() {
        let (s, m) =
            parse_detail(r#"{"detail":{"status":"quota_exceeded","message":"no credits"}}"#);
        assert_eq!(s.as_deref(), Some("quota_exceeded"));
        assert_eq!(m, "no credits");
        let (s, m) = parse_detail(
            r#"{"detail":[{"loc":["body","text"],"msg":"field required","type":"x"}]}"#,
        );
        assert_eq!(s.as_deref(), Some("validation_error"));
        assert_eq!(m, "body.text: field required");
        assert_eq!(parse_detail("oops").1, "oops");
    }

    #[test]
    fn decoder_keeps_odd_bytes() {
        let mut d = Decoder::new(Codec::Pcm);
        assert_eq!(d.push(&[1, 0, 2]), vec![1]);
        assert_eq!(d.push(&[0]), vec![2]);
    }

    #[test]
    fn endpoints() {
        let b = parse_base_url(Some("https://api.elevenlabs.io/v1/")).unwrap();
        assert_eq!(
            b.ws("/v1/text-to-speech/v/stream-input").unwrap().as_str(),
            "wss://api.elevenlabs.io/v1/text-to-speech/v/stream-input"
        );
    }
}
