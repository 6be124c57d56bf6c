//! The HTTP side shared by every provider of this crate (and by the OpenRouter plugin): base URL,
//! key, headers, timeouts, connect-phase retries and the mapping of HTTP errors to
//! [`agents_core::Error`].
//!
//! # Error mapping
//! | status | kind | retried |
//! |---|---|---|
//! | 400, 422 | `InvalidInput` | no |
//! | 401, 403 | `Auth` (403 with moderation `metadata.reasons`: `ProviderStatus { 403 }`) | no |
//! | 402 | `QuotaExceeded` | no |
//! | 404 with code `model_not_found` | `Unsupported` (the model is unknown) | no |
//! | other 404 | `ProviderStatus { 404 }` (usually a wrong `base_url`) | no |
//! | 429 with `insufficient_quota` | `QuotaExceeded` | no |
//! | 429 | `RateLimited { retry_after }` from `retry-after-ms`, then `retry-after` (seconds or an HTTP date) | yes |
//! | 408, 409, 5xx | `ProviderStatus { status }` | yes |
//!
//! `x-should-retry: true|false` overrides the decision. The provider's `error.message` is kept
//! verbatim ([`Error::provider_message`]).

use std::borrow::Cow;
use std::fmt;
use std::time::{Duration, SystemTime};

use agents_core::{ApiKey, ConnectOptions, Error, Result, retry};
use reqwest::header::{HeaderMap, HeaderName, HeaderValue};

/// The public OpenAI API.
pub const OPENAI_BASE_URL: &str = "https://api.openai.com/v1";

/// The default limit on the silence between two reads of a streamed body.
pub const DEFAULT_READ_TIMEOUT: Duration = Duration::from_secs(60);

/// Where and how to reach an OpenAI-compatible HTTP API.
///
/// ```
/// use agents_plugin_openai::endpoint::Endpoint;
///
/// let ep = Endpoint::new("openai", "https://api.openai.com/v1/", "sk-test")
///     .with_header("OpenAI-Organization", "org-1");
/// assert_eq!(ep.url("/chat/completions"), "https://api.openai.com/v1/chat/completions");
/// assert!(!format!("{ep:?}").contains("sk-test"));
/// ```
#[derive(Clone)]
#[non_exhaustive]
pub struct Endpoint {
    /// The provider name used in errors and [`agents_core::ProviderInfo`].
    pub provider: Cow<'static, str>,
    /// The base URL, such as `https://api.openai.com/v1` (no trailing slash needed).
    pub base_url: String,
    /// The bearer key.
    pub api_key: ApiKey,
    /// Extra headers sent with every request.
    pub headers: Vec<(String, String)>,
    /// Connect-phase retries and the per-attempt deadline.
    pub connect: ConnectOptions,
    /// The longest silence allowed between two reads of a streamed body.
    pub read_timeout: Duration,
}

impl fmt::Debug for Endpoint {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Endpoint")
            .field("provider", &self.provider)
            .field("base_url", &self.base_url)
            .field("api_key", &self.api_key)
            .field(
                "headers",
                &self.headers.iter().map(|(k, _)| k).collect::<Vec<_>>(),
            )
            .field("connect", &self.connect)
            .field("read_timeout", &self.read_timeout)
            .finish()
    }
}

impl Endpoint {
    /// An endpoint for `provider` at `base_url` with `api_key`.
    pub fn new(
        provider: impl Into<Cow<'static, str>>,
        base_url: impl Into<String>,
        api_key: impl Into<ApiKey>,
    ) -> Self {
        Endpoint {
            provider: provider.into(),
            base_url: base_url.into(),
            api_key: api_key.into(),
            headers: Vec::new(),
            connect: ConnectOptions::default(),
            read_timeout: DEFAULT_READ_TIMEOUT,
        }
    }

    /// Adds a header sent with every request.
    #[must_use]
    pub fn with_header(mut self, name: impl Into<String>, value: impl Into<String>) -> Self {
        self.headers.push((name.into(), value.into()));
        self
    }

    /// Sets the connect options.
    #[must_use]
    pub fn with_connect_options(mut self, connect: ConnectOptions) -> Self {
        self.connect = connect;
        self
    }

    /// Sets the read timeout.
    #[must_use]
    pub fn with_read_timeout(mut self, timeout: Duration) -> Self {
        self.read_timeout = timeout;
        self
    }

    /// `base_url` joined with `path`.
    #[must_use]
    pub fn url(&self, path: &str) -> String {
        format!(
            "{}/{}",
            self.base_url.trim_end_matches('/'),
            path.trim_start_matches('/')
        )
    }

    /// Checks the endpoint and builds the HTTP client for it.
    pub fn connect(&self) -> Result<HttpClient> {
        if self.api_key.is_blank() {
            return Err(self.error(Error::auth("the API key is empty")));
        }
        let parsed = url::Url::parse(&self.base_url).map_err(|e| {
            self.error(Error::invalid_input(format!(
                "base_url `{}` is not a URL: {e}",
                self.base_url
            )))
        })?;
        if !matches!(parsed.scheme(), "http" | "https") {
            return Err(self.error(Error::invalid_input(format!(
                "base_url `{}` must be http or https",
                self.base_url
            ))));
        }
        let mut headers = HeaderMap::new();
        let auth = HeaderValue::from_str(&format!("Bearer {}", self.api_key.expose()))
            .map_err(|_| self.error(Error::auth("the API key contains invalid characters")))?;
        let mut auth = auth;
        auth.set_sensitive(true);
        headers.insert(reqwest::header::AUTHORIZATION, auth);
        for (name, value) in &self.headers {
            let name = HeaderName::from_bytes(name.as_bytes()).map_err(|_| {
                self.error(Error::invalid_input(format!(
                    "invalid header name `{name}`"
                )))
            })?;
            let value = HeaderValue::from_str(value).map_err(|_| {
                self.error(Error::invalid_input(format!(
                    "invalid value for header `{name}`"
                )))
            })?;
            headers.insert(name, value);
        }
        let client = reqwest::Client::builder()
            .default_headers(headers)
            .user_agent(concat!("agents-plugin-openai/", env!("CARGO_PKG_VERSION")))
            .connect_timeout(self.connect.timeout)
            .read_timeout(self.read_timeout)
            .build()
            .map_err(|e| {
                self.error(Error::invalid_input(format!(
                    "cannot build the HTTP client: {e}"
                )))
            })?;
        Ok(HttpClient {
            client,
            endpoint: self.clone(),
        })
    }

    fn error(&self, error: Error) -> Error {
        error.with_provider(self.provider.clone())
    }
}

/// A built HTTP client for an [`Endpoint`]. Cheap to clone.
#[derive(Clone)]
pub struct HttpClient {
    client: reqwest::Client,
    endpoint: Endpoint,
}

impl fmt::Debug for HttpClient {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("HttpClient")
            .field("endpoint", &self.endpoint)
            .finish_non_exhaustive()
    }
}

impl HttpClient {
    /// The endpoint.
    #[must_use]
    pub fn endpoint(&self) -> &Endpoint {
        &self.endpoint
    }

    /// The provider name.
    #[must_use]
    pub fn provider(&self) -> &str {
        &self.endpoint.provider
    }

    /// A POST request to `path` under the base URL.
    pub fn post(&self, path: &str) -> reqwest::RequestBuilder {
        self.client.post(self.endpoint.url(path))
    }

    /// Sends the request `build` makes, retrying connect-phase failures (refused connections,
    /// 429, 5xx, timeouts) as [`Endpoint::connect`]'s options allow, honouring `retry-after`.
    /// Returns the first successful response, its body unread; any other status comes back as
    /// a classified error with the provider's message.
    pub async fn send<F>(&self, build: F) -> Result<reqwest::Response>
    where
        F: Fn(&Self) -> reqwest::RequestBuilder,
    {
        let build = &build;
        retry(&self.endpoint.connect, move || async move {
            let response = build(self)
                .send()
                .await
                .map_err(|e| self.transport_error(e, false))?;
            if response.status().is_success() {
                Ok(response)
            } else {
                Err(self.status_error(response).await)
            }
        })
        .await
    }

    /// Maps a transport error; `mid_stream` marks errors after the response began.
    #[must_use]
    pub fn transport_error(&self, error: reqwest::Error, mid_stream: bool) -> Error {
        let err = if error.is_timeout() {
            Error::timeout(if mid_stream {
                "no data within the read timeout"
            } else {
                "the request timed out"
            })
        } else if mid_stream {
            Error::connection("the connection dropped mid-stream")
        } else if error.is_connect() {
            Error::connection("cannot connect")
        } else if error.is_builder() {
            Error::invalid_input("cannot build the request")
        } else {
            Error::connection("the request failed")
        };
        self.endpoint.error(err.with_source(error))
    }

    /// Reads an error response and classifies it.
    pub async fn status_error(&self, response: reqwest::Response) -> Error {
        let status = response.status().as_u16();
        let headers = response.headers().clone();
        let body = response.bytes().await.unwrap_or_default();
        classify_http_error(
            self.endpoint.provider.clone(),
            status,
            &headers,
            &body,
            SystemTime::now(),
        )
    }
}

/// The parts of an OpenAI-style error body (`{"error": {"message", "type", "code"}}`; OpenRouter
/// sends a numeric `code`).
#[derive(Debug, Clone, Default, PartialEq)]
#[non_exhaustive]
pub struct ProviderError {
    /// `error.message`, verbatim.
    pub message: Option<String>,
    /// `error.type`.
    pub error_type: Option<String>,
    /// `error.code` as text (numbers are rendered).
    pub code: Option<String>,
    /// `error.metadata`, if any (OpenRouter).
    pub metadata: Option<serde_json::Value>,
}

impl ProviderError {
    /// Reads the error object out of a JSON value that has an `error` key (or is the error
    /// object itself when `error` is a string).
    #[must_use]
    pub fn from_value(value: &serde_json::Value) -> Self {
        let err = value.get("error").unwrap_or(value);
        if let Some(text) = err.as_str() {
            return ProviderError {
                message: Some(text.to_string()),
                ..Default::default()
            };
        }
        let text = |key: &str| {
            err.get(key).and_then(|v| match v {
                serde_json::Value::String(s) => Some(s.clone()),
                serde_json::Value::Number(n) => Some(n.to_string()),
                _ => None,
            })
        };
        ProviderError {
            message: text("message"),
            error_type: text("type"),
            code: text("code"),
            metadata: err.get("metadata").cloned(),
        }
    }

    /// Parses an error body; bodies that are not JSON keep their text as the message.
    #[must_use]
    pub fn from_body(body: &[u8]) -> Self {
        match serde_json::from_slice::<serde_json::Value>(body) {
            Ok(value) => Self::from_value(&value),
            Err(_) => {
                let text = String::from_utf8_lossy(body).trim().to_string();
                ProviderError {
                    message: (!text.is_empty()).then(|| truncate(&text, 500)),
                    ..Default::default()
                }
            }
        }
    }

    fn is(&self, what: &str) -> bool {
        self.code.as_deref() == Some(what) || self.error_type.as_deref() == Some(what)
    }
}

fn truncate(text: &str, max: usize) -> String {
    if text.len() <= max {
        return text.to_string();
    }
    let mut cut = max;
    while !text.is_char_boundary(cut) {
        cut -= 1;
    }
    format!("{}…", &text[..cut])
}

/// Classifies an HTTP error response (see the [module docs](self) for the table).
#[must_use]
pub fn classify_http_error(
    provider: impl Into<Cow<'static, str>>,
    status: u16,
    headers: &HeaderMap,
    body: &[u8],
    now: SystemTime,
) -> Error {
    let parsed = ProviderError::from_body(body);
    let retry_after = retry_after(headers, now);
    let mut err = classify(status, &parsed, retry_after);
    if let Some(flag) = headers
        .get("x-should-retry")
        .and_then(|v| v.to_str().ok())
        .map(str::trim)
    {
        match flag {
            "true" => err = err.with_retryable(true),
            "false" => err = err.with_retryable(false),
            _ => {}
        }
    }
    let err = err.with_provider(provider);
    match parsed.message {
        Some(message) => err.with_provider_message(message),
        None => err,
    }
}

/// Classifies an error by status and parsed body (also used for mid-stream error events, with
/// the status taken from a numeric `code`).
#[must_use]
pub fn classify(status: u16, parsed: &ProviderError, retry_after: Option<Duration>) -> Error {
    let what = match (&parsed.code, &parsed.error_type) {
        (Some(code), _) => format!(" ({code})"),
        (None, Some(t)) => format!(" ({t})"),
        _ => String::new(),
    };
    if parsed.is("insufficient_quota")
        || parsed.is("billing_hard_limit_reached")
        || parsed.is("credit_balance_exhausted")
    {
        return Error::quota_exceeded(format!("HTTP {status}{what}")).with_retryable(false);
    }
    match status {
        400 | 422 => Error::invalid_input(format!("the request was rejected: HTTP {status}{what}")),
        401 => Error::auth(format!("the API key was refused: HTTP 401{what}")),
        403 if parsed
            .metadata
            .as_ref()
            .and_then(|m| m.get("reasons"))
            .is_some() =>
        {
            Error::provider_status(403, format!("the input was flagged{what}"))
        }
        403 => Error::auth(format!("access denied: HTTP 403{what}")),
        402 => Error::quota_exceeded(format!("payment required: HTTP 402{what}")),
        404 if parsed.is("model_not_found") => {
            Error::unsupported(format!("the model does not exist: HTTP 404{what}"))
        }
        429 => Error::rate_limited(format!("rate limited: HTTP 429{what}"), retry_after),
        _ => Error::provider_status(status, format!("HTTP {status}{what}")),
    }
}

/// The wait hint of a response: `retry-after-ms` (milliseconds), then `retry-after` as seconds
/// (fractions allowed) or as an HTTP date. Zero, negative or unparsable hints give `None`.
///
/// ```
/// use agents_plugin_openai::endpoint::retry_after;
/// use reqwest::header::{HeaderMap, HeaderValue};
/// use std::time::{Duration, SystemTime, UNIX_EPOCH};
///
/// let mut h = HeaderMap::new();
/// h.insert("retry-after", HeaderValue::from_static("1.5"));
/// assert_eq!(retry_after(&h, SystemTime::now()), Some(Duration::from_millis(1500)));
/// h.insert("retry-after-ms", HeaderValue::from_static("250"));
/// assert_eq!(retry_after(&h, SystemTime::now()), Some(Duration::from_millis(250)));
/// let mut h = HeaderMap::new();
/// h.insert("retry-after", HeaderValue::from_static("Sun, 06 Nov 1994 08:49:40 GMT"));
/// let now = UNIX_EPOCH + Duration::from_secs(784_111_777);
/// assert_eq!(retry_after(&h, now), Some(Duration::from_secs(3)));
/// ```
#[must_use]
pub fn retry_after(headers: &HeaderMap, now: SystemTime) -> Option<Duration> {
    let get = |name: &str| {
        headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .map(str::trim)
    };
    if let Some(ms) = get("retry-after-ms").and_then(|v| v.parse::<f64>().ok()) {
        if ms.is_finite() && ms > 0.0 {
            return Some(Duration::from_secs_f64(ms / 1000.0));
        }
    }
    let value = get("retry-after")?;
    if let Ok(secs) = value.parse::<f64>() {
        return (secs.is_finite() && secs > 0.0).then(|| Duration::from_secs_f64(secs));
    }
    let at = parse_http_date(value)?;
    at.duration_since(now).ok().filter(|d| !d.is_zero())
}

/// Parses an IMF-fixdate (`Sun, 06 Nov 1994 08:49:37 GMT`).
fn parse_http_date(text: &str) -> Option<SystemTime> {
    let mut parts = text.split_whitespace();
    let _weekday = parts.next()?;
    let day: u64 = parts.next()?.parse().ok()?;
    let month = match parts.next()? {
        "Jan" => 1,
        "Feb" => 2,
        "Mar" => 3,
        "Apr" => 4,
        "May" => 5,
        "Jun" => 6,
        "Jul" => 7,
        "Aug" => 8,
        "Sep" => 9,
        "Oct" => 10,
        "Nov" => 11,
        "Dec" => 12,
        _ => return None,
    };
    let year: i64 = parts.next()?.parse().ok()?;
    let mut hms = parts.next()?.split(':');
    let h: u64 = hms.next()?.parse().ok()?;
    let m: u64 = hms.next()?.parse().ok()?;
    let s: u64 = hms.next()?.parse().ok()?;
    if parts.next()? != "GMT" || !(1..=31).contains(&day) || h > 23 || m > 59 || s > 60 {
        return None;
    }
    // Days from the civil date (Howard Hinnant's algorithm).
    let y = if month <= 2 { year - 1 } else { year };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (month + 9) % 12;
    let doy = (153 * mp + 2) / 5 + day as i64 - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    let days = era * 146_097 + doe - 719_468;
    let secs = days * 86_400 + (h * 3600 + m * 60 + s) as i64;
    let secs = u64::try_from(secs).ok()?;
    Some(SystemTime::UNIX_EPOCH + Duration::from_secs(secs))
}

#[cfg(test)]
mod tests {
    use super::*;
    use agents_core::ErrorKind;

    fn err(status: u16, body: &str) -> Error {
        classify_http_error(
            "openai",
            status,
            &HeaderMap::new(),
            body.as_bytes(),
            SystemTime::now(),
        )
    }

    #[test]
    fn statuses_are_classified() {
        let e = err(
            401,
            r#"{"error":{"message":"Incorrect API key provided: sk-x","type":"invalid_request_error","code":"invalid_api_key"}}"#,
        );
        assert_eq!(e.kind(), &ErrorKind::Auth);
        assert_eq!(
            e.provider_message(),
            Some("Incorrect API key provided: sk-x")
        );
        let e = err(
            429,
            r#"{"error":{"message":"You exceeded your current quota","type":"insufficient_quota","code":"insufficient_quota"}}"#,
        );
        assert_eq!(e.kind(), &ErrorKind::QuotaExceeded);
        assert!(!e.is_retryable());
        let e = err(
            404,
            r#"{"error":{"message":"The model `x` does not exist","code":"model_not_found"}}"#,
        );
        assert_eq!(e.kind(), &ErrorKind::Unsupported);
        assert_eq!(err(404, "not found").status(), Some(404));
        assert_eq!(
            err(
                402,
                r#"{"error":{"code":402,"message":"Insufficient credits"}}"#
            )
            .kind(),
            &ErrorKind::QuotaExceeded
        );
        assert!(err(503, "overloaded").is_retryable());
        assert_eq!(err(400, "{}").kind(), &ErrorKind::InvalidInput);
        let mut h = HeaderMap::new();
        h.insert("x-should-retry", HeaderValue::from_static("false"));
        assert!(!classify_http_error("openai", 500, &h, b"", SystemTime::now()).is_retryable());
    }

    #[test]
    fn http_dates() {
        let t = parse_http_date("Thu, 01 Jan 1970 00:00:10 GMT").unwrap();
        assert_eq!(t, SystemTime::UNIX_EPOCH + Duration::from_secs(10));
        let t = parse_http_date("Sun, 06 Nov 1994 08:49:37 GMT").unwrap();
        assert_eq!(
            t.duration_since(SystemTime::UNIX_EPOCH).unwrap().as_secs(),
            784_111_777
        );
        assert!(parse_http_date("yesterday").is_none());
    }
}
