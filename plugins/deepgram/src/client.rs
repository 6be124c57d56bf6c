//! What the STT and TTS clients share: endpoints, authentication, the WebSocket connect with
//! retries, and the mapping of HTTP statuses and close codes to typed errors.

use std::time::Duration;

use agents_core::ws::{self, BaseUrl, HandshakeResponse, Rejection, WsProvider};
use agents_core::{ApiKey, ConnectOptions, Error, Result};
use url::Url;

/// The provider name used in errors and events.
pub(crate) const PROVIDER: &str = "deepgram";

/// The public API.
pub(crate) const DEFAULT_BASE_URL: &str = "https://api.deepgram.com";

/// The environment variable holding the key.
pub(crate) const API_KEY_ENV: &str = "DEEPGRAM_API_KEY";

pub(crate) type Ws = ws::WsStream;

/// Resolves the key: the given one, else `DEEPGRAM_API_KEY`.
pub(crate) fn resolve_key(key: Option<ApiKey>) -> Result<ApiKey> {
    if let Some(key) = key.filter(|k| !k.is_blank()) {
        return Ok(key);
    }
    match std::env::var(API_KEY_ENV) {
        Ok(v) if !v.trim().is_empty() => Ok(ApiKey::new(v)),
        _ => Err(Error::auth(format!(
            "no Deepgram API key: pass one to the builder or set {API_KEY_ENV}"
        ))
        .with_provider(PROVIDER)),
    }
}

/// What is Deepgram's own about its WebSockets: the provider name and the errors of a rejected
/// handshake (the `dg-error` header, else the body's `err_msg`).
#[derive(Debug, Clone, Copy)]
pub(crate) struct Deepgram;

impl WsProvider for Deepgram {
    fn id(&self) -> &str {
        PROVIDER
    }

    fn name(&self) -> &str {
        "Deepgram"
    }

    fn rejected(&self, rejection: &Rejection<'_>) -> Error {
        let body = rejection.body();
        let text = rejection
            .header("dg-error")
            .map(str::to_string)
            .or_else(|| body_message(&body))
            .unwrap_or(body);
        status_error(rejection.status(), &text, rejection.retry_after())
    }

    fn connected(&self, response: &HandshakeResponse) {
        if let Some(id) = response.headers().get("dg-request-id") {
            tracing::debug!(request_id = ?id, "connected to Deepgram");
        }
    }
}

/// Parses a base URL (`https://api.deepgram.com`, `http://127.0.0.1:1234`, with or without a
/// path prefix).
pub(crate) fn parse_base_url(base: Option<&str>) -> Result<BaseUrl> {
    BaseUrl::parse(&Deepgram, base, DEFAULT_BASE_URL)
}

/// Opens a WebSocket with `Authorization: Token <key>`, retrying connect-phase failures as
/// `opts` allow.
pub(crate) async fn connect_ws(
    url: &Url,
    key: &ApiKey,
    headers: &[(String, String)],
    opts: &ConnectOptions,
) -> Result<Ws> {
    let auth = format!("Token {}", key.expose());
    ws::connect(&Deepgram, url, ("authorization", &auth), headers, opts).await
}

/// Checks extra headers (from the builder or `ProviderConfig::headers`) once, at build time.
pub(crate) fn validate_headers(headers: &[(String, String)]) -> Result<()> {
    ws::validate_headers(&Deepgram, headers)
}

/// Maps a tungstenite error (a rejected handshake, an I/O failure) to a typed error.
pub(crate) fn ws_error(err: &tokio_tungstenite::tungstenite::Error) -> Error {
    ws::map_error(&Deepgram, err)
}

/// The error text of a Deepgram JSON error body (`err_msg`, or `message` for newer endpoints).
pub(crate) fn body_message(body: &str) -> Option<String> {
    let value: serde_json::Value = serde_json::from_str(body).ok()?;
    ["err_msg", "message", "description"]
        .iter()
        .find_map(|k| value[*k].as_str().map(str::to_string))
}

/// Maps an HTTP status (or rejected handshake) and the provider's text to a typed error.
pub(crate) fn status_error(status: u16, text: &str, retry_after: Option<Duration>) -> Error {
    let err = match status {
        401 | 403 => Error::auth(format!(
            "Deepgram refused the API key (HTTP {status}); check {API_KEY_ENV}"
        )),
        402 => Error::quota_exceeded("the Deepgram project has no credit left (HTTP 402)"),
        429 => Error::rate_limited(
            "Deepgram is over the project's concurrency limit (HTTP 429)",
            retry_after,
        ),
        400 | 413 | 415 | 422 => {
            Error::invalid_input(format!("Deepgram rejected the request (HTTP {status})"))
        }
        _ => Error::provider_status(status, "Deepgram answered with an error status"),
    };
    err.with_provider(PROVIDER)
        .with_provider_message(text.to_string())
}

/// Maps a close frame the server sent mid-stream to a typed error.
pub(crate) fn close_error(code: u16, reason: &str) -> Error {
    let err = if code == 1002 || reason.starts_with("DATA-") {
        Error::invalid_input(format!(
            "Deepgram could not decode the audio (close {code}); check the encoding and sample rate"
        ))
    } else if reason == "NET-0001" {
        Error::provider_status(
            code,
            "Deepgram closed the stream: no audio or KeepAlive received within its idle timeout",
        )
    } else {
        Error::provider_status(code, format!("Deepgram closed the stream with code {code}"))
    };
    err.with_provider(PROVIDER)
        .with_provider_message(reason.to_string())
}

/// Maps a non-success HTTP response to a typed error.
pub(crate) async fn response_error(response: reqwest::Response) -> Error {
    let status = response.status().as_u16();
    let header = |name: &str| {
        response
            .headers()
            .get(name)
            .and_then(|v| v.to_str().ok())
            .map(str::to_string)
    };
    let dg_error = header("dg-error");
    let retry_after = header("retry-after")
        .and_then(|v| v.parse::<u64>().ok())
        .map(Duration::from_secs);
    let body = response.text().await.unwrap_or_default();
    let text = dg_error.or_else(|| body_message(&body)).unwrap_or(body);
    status_error(status, &text, retry_after)
}

/// Maps a reqwest failure to a typed error.
pub(crate) fn http_error(err: &reqwest::Error) -> Error {
    let e = if err.is_timeout() {
        Error::timeout(format!("HTTP request timed out: {err}"))
    } else if err.is_connect() || err.is_request() || err.is_body() {
        Error::connection(format!("HTTP request failed: {err}"))
    } else if err.is_decode() {
        Error::protocol(format!("could not read the response: {err}"))
    } else {
        Error::connection(format!("HTTP error: {err}"))
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

/// Turns little-endian PCM bytes that may split samples into whole samples, keeping the odd
/// byte for the next chunk.
#[derive(Debug, Default)]
pub(crate) struct PcmAssembler {
    carry: Vec<u8>,
}

impl PcmAssembler {
    pub(crate) fn push(&mut self, data: &[u8], channels: u16) -> Vec<i16> {
        self.carry.extend_from_slice(data);
        let frame = 2 * usize::from(channels.max(1));
        let whole = self.carry.len() / frame * frame;
        let samples = self.carry[..whole]
            .chunks_exact(2)
            .map(|c| i16::from_le_bytes([c[0], c[1]]))
            .collect();
        self.carry.drain(..whole);
        samples
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn endpoints_derive_schemes() {
        let base = parse_base_url(Some("https://api.deepgram.com/")).unwrap();
        assert_eq!(
            base.ws("/v1/listen").unwrap().as_str(),
            "wss://api.deepgram.com/v1/listen"
        );
        assert_eq!(
            base.http("/v1/listen").unwrap().as_str(),
            "https://api.deepgram.com/v1/listen"
        );
        let local = parse_base_url(Some("http://127.0.0.1:9/proxy")).unwrap();
        assert_eq!(
            local.ws("/v1/speak").unwrap().as_str(),
            "ws://127.0.0.1:9/proxy/v1/speak"
        );
        assert!(parse_base_url(Some("ftp://x")).is_err());
    }

    #[test]
    fn pcm_assembler_keeps_odd_bytes() {
        let mut a = PcmAssembler::default();
        assert_eq!(a.push(&[1, 0, 2], 1), vec![1]);
        assert_eq!(a.push(&[0], 1), vec![2]);
        assert!(a.push(&[], 1).is_empty());
    }
}
