//! The HTTP client every {{Name}} provider shares: base URL, key, headers, connect retries
//! and the mapping from HTTP failures to [`agents_core::ErrorKind`]s.
//!
//! The protocol (the emulator in `tests/emulator/` speaks it too):
//!
//! - every request carries `Authorization: Bearer <key>`;
//! - a failure is an HTTP status with a JSON body `{"error": "<message>"}`; 401 and 403 are
//!   [`ErrorKind::Auth`](agents_core::ErrorKind::Auth), 402 is `QuotaExceeded`, 429 is
//!   `RateLimited` (honouring `retry-after` seconds), anything else is `ProviderStatus`.

// {{#if rest}}
use std::time::Duration;

use agents_core::retry;
// {{/if}}
use agents_core::{ApiKey, ConnectOptions, Error, ProviderConfig, Result};
// {{#if llm|video}}
use agents_core::{ChatChunk, ChatStream};
use futures_util::StreamExt;
// {{/if}}

/// The environment variable holding the API key.
pub const API_KEY_ENV: &str = "{{ENV}}";

/// The public endpoint, used when the config gives no `base_url`.
pub const DEFAULT_BASE_URL: &str = "https://api.{{name}}.example";

/// The provider name used in errors and [`agents_core::ProviderInfo`].
pub(crate) const PROVIDER: &str = "{{name}}";

/// An HTTP client for one base URL and key.
#[derive(Debug, Clone)]
pub struct Client {
// {{#if rest}}
    http: reqwest::Client,
// {{/if}}
    base_url: String,
    api_key: ApiKey,
    headers: Vec<(String, String)>,
    connect: ConnectOptions,
}

impl Client {
    /// Builds a client from a config section: `base_url` (default [`DEFAULT_BASE_URL`]), the
    /// key from `api_key` or [`API_KEY_ENV`], extra `headers` and the connect options.
    pub fn from_config(config: &ProviderConfig) -> Result<Self> {
        let api_key = config.api_key_or_env(&[API_KEY_ENV])?;
        let base_url = config
            .base_url
            .clone()
            .unwrap_or_else(|| DEFAULT_BASE_URL.to_string());
        if !(base_url.starts_with("http://") || base_url.starts_with("https://")) {
            return Err(Error::invalid_input(format!(
                "base_url `{base_url}` must start with http:// or https://"
            ))
            .with_provider(PROVIDER));
        }
// {{#if rest}}
        let http = reqwest::Client::builder()
            .connect_timeout(config.connect.timeout)
            .build()
            .map_err(|e| Error::connection(format!("cannot build the HTTP client: {e}")))?;
// {{/if}}
        Ok(Client {
// {{#if rest}}
            http,
// {{/if}}
            base_url: base_url.trim_end_matches('/').to_string(),
            api_key,
            headers: config
                .headers
                .iter()
                .map(|(k, v)| (k.clone(), v.clone()))
                .collect(),
            connect: config.connect.clone(),
        })
    }

    /// The base URL without a trailing slash.
    #[must_use]
    pub fn base_url(&self) -> &str {
        &self.base_url
    }

// {{#if realtime}}
    /// The key, for the one place that sends it.
    pub(crate) fn api_key(&self) -> &ApiKey {
        &self.api_key
    }

    /// Extra headers from the config.
    pub(crate) fn headers(&self) -> &[(String, String)] {
        &self.headers
    }

    /// The connect options.
    pub(crate) fn connect_options(&self) -> &ConnectOptions {
        &self.connect
    }

// {{/if}}
// {{#if rest}}
    /// Sends a request built by `build` (called again for each retry) and returns the response
    /// once its status is a success. Only this connect phase is retried.
    pub(crate) async fn send(
        &self,
        path: &str,
        build: impl Fn(reqwest::RequestBuilder) -> reqwest::RequestBuilder,
    ) -> Result<reqwest::Response> {
        let url = format!("{}/{}", self.base_url, path.trim_start_matches('/'));
        retry(&self.connect, || async {
            let mut request = self
                .http
                .post(&url)
                .bearer_auth(self.api_key.expose());
            for (name, value) in &self.headers {
                request = request.header(name, value);
            }
            let response = build(request).send().await.map_err(transport_error)?;
            if response.status().is_success() {
                Ok(response)
            } else {
                Err(status_error(response).await)
            }
        })
        .await
    }
// {{/if}}
}
// {{#if rest}}

/// Classifies a transport failure.
pub(crate) fn transport_error(e: reqwest::Error) -> Error {
    let error = if e.is_timeout() {
        Error::timeout(format!("request timed out: {e}"))
    } else if e.is_decode() || e.is_body() {
        Error::protocol(format!("unreadable response body: {e}"))
    } else {
        Error::connection(format!("connection failed: {e}"))
    };
    error.with_provider(PROVIDER)
}

/// Classifies an HTTP failure status and its `{"error": ...}` body.
pub(crate) async fn status_error(response: reqwest::Response) -> Error {
    let status = response.status().as_u16();
    let retry_after = response
        .headers()
        .get("retry-after")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.trim().parse::<u64>().ok())
        .map(Duration::from_secs);
    let body = response.text().await.unwrap_or_default();
    let message = serde_json::from_str::<serde_json::Value>(&body)
        .ok()
        .and_then(|v| v.get("error").and_then(|m| m.as_str()).map(str::to_string))
        .unwrap_or(body);
    let text = format!("HTTP {status}: {message}");
    let error = match status {
        401 | 403 => Error::auth(text),
        402 => Error::quota_exceeded(text),
        429 => Error::rate_limited(text, retry_after),
        _ => Error::provider_status(status, text),
    };
    error.with_provider(PROVIDER).with_provider_message(message)
}
// {{/if}}
// {{#if llm|video}}

/// Reads a JSON-lines body of [`ChatChunk`]s (one serialized chunk per line) as a
/// [`ChatStream`]. A malformed line or a body that ends before a `finish` chunk yields one
/// classified error, then the stream ends.
pub(crate) fn chat_stream(response: reqwest::Response) -> ChatStream {
    struct State {
        body: futures_util::stream::BoxStream<'static, reqwest::Result<bytes::Bytes>>,
        buffer: Vec<u8>,
        finished: bool,
        done: bool,
    }
    let state = State {
        body: response.bytes_stream().boxed(),
        buffer: Vec::new(),
        finished: false,
        done: false,
    };
    futures_util::stream::unfold(state, |mut s| async move {
        loop {
            if s.done {
                return None;
            }
            if let Some(pos) = s.buffer.iter().position(|b| *b == b'\n') {
                let line: Vec<u8> = s.buffer.drain(..=pos).collect();
                let line = line.trim_ascii();
                if line.is_empty() {
                    continue;
                }
                if s.finished {
                    s.done = true;
                    return Some((
                        Err(Error::protocol("a chunk came after the finish chunk")
                            .with_provider(PROVIDER)),
                        s,
                    ));
                }
                return match serde_json::from_slice::<ChatChunk>(line) {
                    Ok(chunk) => {
                        s.finished = matches!(chunk, ChatChunk::Finish { .. });
                        Some((Ok(chunk), s))
                    }
                    Err(e) => {
                        s.done = true;
                        Some((
                            Err(Error::protocol(format!("malformed chunk: {e}"))
                                .with_provider(PROVIDER)),
                            s,
                        ))
                    }
                };
            }
            match s.body.next().await {
                Some(Ok(bytes)) => s.buffer.extend_from_slice(&bytes),
                Some(Err(e)) => {
                    s.done = true;
                    return Some((Err(transport_error(e)), s));
                }
                None if !s.buffer.trim_ascii().is_empty() => s.buffer.push(b'\n'),
                None => {
                    s.done = true;
                    if s.finished {
                        return None;
                    }
                    return Some((
                        Err(Error::protocol("the stream ended before the finish chunk")
                            .with_provider(PROVIDER)),
                        s,
                    ));
                }
            }
        }
    })
    .boxed()
}

// {{/if}}
