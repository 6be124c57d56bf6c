//! The provider-independent half of a WebSocket plugin (cargo feature `ws`, off by default).
//!
//! A plugin describes its provider once with [`WsProvider`] (its name and how it reports a
//! rejected handshake) and gets from this module:
//! - [`BaseUrl`]: the configured base URL, checked for an `http`, `https`, `ws` or `wss`
//!   scheme, joined with a path in either scheme family ([`BaseUrl::ws`], [`BaseUrl::http`]);
//! - [`validate_headers`]: extra headers checked once, at build time;
//! - [`connect`]: the WebSocket handshake with the authentication and extra headers, a 16 KiB
//!   read buffer and `TCP_NODELAY`, retried as [`ConnectOptions`] allow;
//! - [`map_error`]: a tungstenite error turned into a typed [`Error`] naming the provider.
//!
//! What is the provider's own (its status codes, error bodies, close codes, environment
//! variables) stays in the plugin, behind [`WsProvider::rejected`].

use std::time::Duration;

use tokio::net::TcpStream;
use tokio_tungstenite::tungstenite;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::http::{HeaderName, HeaderValue};
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream};

use crate::{ConnectOptions, Error, Result, retry};

/// The URL type [`BaseUrl`] derives endpoints as and [`connect`] takes (from the `url` crate),
/// re-exported so that plugins need no dependency of their own to name it.
pub use url::Url;

/// An open client WebSocket, plain or over TLS.
pub type WsStream = WebSocketStream<MaybeTlsStream<TcpStream>>;

/// The server's answer to a WebSocket handshake (status, headers and, when rejected, body).
pub type HandshakeResponse = tungstenite::handshake::client::Response;

/// What is provider-specific about a WebSocket connection.
///
/// Implemented by a plugin, usually on a unit struct:
///
/// ```
/// use agents_core::ws::{Rejection, WsProvider};
/// use agents_core::Error;
///
/// struct Example;
///
/// impl WsProvider for Example {
///     fn id(&self) -> &str {
///         "example"
///     }
///     fn name(&self) -> &str {
///         "Example"
///     }
///     fn rejected(&self, rejection: &Rejection<'_>) -> Error {
///         let text = rejection.header("x-error").map_or_else(|| rejection.body(), str::to_string);
///         match rejection.status() {
///             401 | 403 => Error::auth("Example refused the API key"),
///             429 => Error::rate_limited("Example rate limit", rejection.retry_after()),
///             status => Error::provider_status(status, "Example answered with an error status"),
///         }
///         .with_provider_message(text)
///     }
/// }
/// ```
pub trait WsProvider: Sync {
    /// The provider name set on every error ([`Error::with_provider`]), for example `deepgram`.
    fn id(&self) -> &str;

    /// The name used in messages, for example `Deepgram`; the [`id`](Self::id) by default.
    fn name(&self) -> &str {
        self.id()
    }

    /// The error for a handshake the server answered with a status other than 101: reads the
    /// provider's error text (a header, a JSON body field) and maps the status, that text and
    /// [`Rejection::retry_after`] to an error. [`map_error`] sets the provider on the result.
    fn rejected(&self, rejection: &Rejection<'_>) -> Error;

    /// Called with the server's answer after each successful handshake, for example to log a
    /// request id. Does nothing by default.
    fn connected(&self, response: &HandshakeResponse) {
        let _ = response;
    }
}

/// A WebSocket handshake the server rejected with an HTTP status.
#[derive(Debug, Clone, Copy)]
pub struct Rejection<'a> {
    response: &'a tungstenite::http::Response<Option<Vec<u8>>>,
}

impl<'a> Rejection<'a> {
    /// Wraps the response of a rejected handshake.
    #[must_use]
    pub fn new(response: &'a tungstenite::http::Response<Option<Vec<u8>>>) -> Self {
        Rejection { response }
    }

    /// The HTTP status.
    #[must_use]
    pub fn status(&self) -> u16 {
        self.response.status().as_u16()
    }

    /// A response header, when present and valid UTF-8.
    #[must_use]
    pub fn header(&self, name: &str) -> Option<&'a str> {
        self.response
            .headers()
            .get(name)
            .and_then(|v| v.to_str().ok())
    }

    /// The body as text (invalid UTF-8 replaced), empty when there is none.
    #[must_use]
    pub fn body(&self) -> String {
        self.response
            .body()
            .as_ref()
            .map(|b| String::from_utf8_lossy(b).into_owned())
            .unwrap_or_default()
    }

    /// `Retry-After` in seconds, when present.
    #[must_use]
    pub fn retry_after(&self) -> Option<Duration> {
        self.header("retry-after")
            .and_then(|v| v.parse::<u64>().ok())
            .map(Duration::from_secs)
    }

    /// The whole response.
    #[must_use]
    pub fn response(&self) -> &'a tungstenite::http::Response<Option<Vec<u8>>> {
        self.response
    }
}

/// A provider's base URL: `https://api.example.com`, `http://127.0.0.1:1234` (a local
/// emulator), with or without a path prefix, from which the endpoints are derived.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BaseUrl {
    url: Url,
    provider: String,
}

impl BaseUrl {
    /// Parses `base`, or `default` when it is `None`, ignoring trailing slashes. Fails with
    /// [`InvalidInput`](crate::ErrorKind::InvalidInput) naming the provider when the text is
    /// not a URL or its scheme is not `http`, `https`, `ws` or `wss`.
    pub fn parse<P: WsProvider + ?Sized>(
        provider: &P,
        base: Option<&str>,
        default: &str,
    ) -> Result<Self> {
        let text = base.unwrap_or(default).trim_end_matches('/');
        let name = provider.name();
        let url = Url::parse(text).map_err(|e| {
            Error::invalid_input(format!("invalid {name} base URL `{text}`: {e}"))
                .with_provider(provider.id().to_string())
        })?;
        match url.scheme() {
            "http" | "https" | "ws" | "wss" => Ok(BaseUrl {
                url,
                provider: provider.id().to_string(),
            }),
            other => Err(Error::invalid_input(format!(
                "unsupported scheme `{other}` in {name} base URL (use http, https, ws or wss)"
            ))
            .with_provider(provider.id().to_string())),
        }
    }

    /// The parsed URL.
    #[must_use]
    pub fn url(&self) -> &Url {
        &self.url
    }

    /// The base URL's path followed by `path` (which starts with `/`), with the WebSocket
    /// scheme: `http` and `ws` give `ws`, `https` and `wss` give `wss`.
    pub fn ws(&self, path: &str) -> Result<Url> {
        self.join(path, true)
    }

    /// The base URL's path followed by `path` (which starts with `/`), with the HTTP scheme:
    /// `http` and `ws` give `http`, `https` and `wss` give `https`.
    pub fn http(&self, path: &str) -> Result<Url> {
        self.join(path, false)
    }

    fn join(&self, path: &str, ws: bool) -> Result<Url> {
        let mut url = self.url.clone();
        let joined = format!("{}{}", self.url.path().trim_end_matches('/'), path);
        url.set_path(&joined);
        let scheme = match (self.url.scheme(), ws) {
            ("http" | "ws", true) => "ws",
            ("https" | "wss", true) => "wss",
            ("http" | "ws", false) => "http",
            _ => "https",
        };
        url.set_scheme(scheme).map_err(|()| {
            Error::invalid_input("cannot set the URL scheme").with_provider(self.provider.clone())
        })?;
        Ok(url)
    }
}

/// Checks extra headers (from a builder or `ProviderConfig::headers`) once, at build time, so
/// that [`connect`] can rely on them. Fails with
/// [`InvalidInput`](crate::ErrorKind::InvalidInput) naming the first invalid header.
pub fn validate_headers<P: WsProvider + ?Sized>(
    provider: &P,
    headers: &[(String, String)],
) -> Result<()> {
    for (name, value) in headers {
        if HeaderName::from_bytes(name.as_bytes()).is_err() || HeaderValue::from_str(value).is_err()
        {
            return Err(
                Error::invalid_input(format!("invalid HTTP header `{name}`"))
                    .with_provider(provider.id().to_string()),
            );
        }
    }
    Ok(())
}

/// Opens a WebSocket to `url` with the authentication header `auth` (`(name, value)`, for
/// example `("authorization", "Token …")`) and the extra `headers`, retrying connect-phase
/// failures as `opts` allow (see [`retry`](crate::retry())).
///
/// The socket reads with a 16 KiB buffer and sets `TCP_NODELAY`. Extra headers that are not
/// valid are skipped (check them with [`validate_headers`] when building the client); `auth`
/// replaces an extra header of the same name. Errors are mapped with [`map_error`].
///
/// ```no_run
/// use agents_core::ws::{self, BaseUrl, Rejection, WsProvider};
/// use agents_core::{ConnectOptions, Error};
///
/// struct Example;
///
/// impl WsProvider for Example {
///     fn id(&self) -> &str {
///         "example"
///     }
///     fn rejected(&self, rejection: &Rejection<'_>) -> Error {
///         Error::provider_status(rejection.status(), "the handshake was rejected")
///             .with_provider_message(rejection.body())
///     }
/// }
///
/// # async fn run() -> agents_core::Result<()> {
/// let headers = vec![("x-client".to_string(), "demo".to_string())];
/// ws::validate_headers(&Example, &headers)?;
/// let base = BaseUrl::parse(&Example, None, "https://api.example.com")?;
/// let url = base.ws("/v1/listen")?;
/// assert_eq!(url.as_str(), "wss://api.example.com/v1/listen");
/// let socket = ws::connect(
///     &Example,
///     &url,
///     ("authorization", "Bearer secret"),
///     &headers,
///     &ConnectOptions::default(),
/// )
/// .await?;
/// # drop(socket);
/// # Ok(())
/// # }
/// ```
pub async fn connect<P: WsProvider + ?Sized>(
    provider: &P,
    url: &Url,
    auth: (&str, &str),
    headers: &[(String, String)],
    opts: &ConnectOptions,
) -> Result<WsStream> {
    retry(opts, || connect_once(provider, url, auth, headers)).await
}

async fn connect_once<P: WsProvider + ?Sized>(
    provider: &P,
    url: &Url,
    (auth_name, auth_value): (&str, &str),
    headers: &[(String, String)],
) -> Result<WsStream> {
    let mut request = url
        .as_str()
        .into_client_request()
        .map_err(|e| map_error(provider, &e))?;
    let invalid_auth = || {
        Error::invalid_input("the API key is not a valid header value")
            .with_provider(provider.id().to_string())
    };
    let auth_name = HeaderName::from_bytes(auth_name.as_bytes()).map_err(|_| invalid_auth())?;
    let mut auth_value = HeaderValue::from_str(auth_value).map_err(|_| invalid_auth())?;
    auth_value.set_sensitive(true);
    for (name, value) in headers {
        if let (Ok(n), Ok(v)) = (
            HeaderName::from_bytes(name.as_bytes()),
            HeaderValue::from_str(value),
        ) {
            request.headers_mut().insert(n, v);
        }
    }
    request.headers_mut().insert(auth_name, auth_value);
    // tungstenite zeroes `read_buffer_size` bytes on every read attempt (128 KiB by default,
    // which was most of the client's CPU per streamed second); messages larger than this
    // are still read whole, across several reads.
    let config = tungstenite::protocol::WebSocketConfig::default().read_buffer_size(16 * 1024);
    // TCP_NODELAY: small text frames must not wait for a delayed ACK (Nagle adds ~40 ms).
    let (ws, response) = tokio_tungstenite::connect_async_with_config(request, Some(config), true)
        .await
        .map_err(|e| map_error(provider, &e))?;
    provider.connected(&response);
    Ok(ws)
}

/// Maps a tungstenite error (a rejected handshake, an I/O failure, a closed socket) to a
/// typed error naming the provider.
///
/// A rejected handshake goes to [`WsProvider::rejected`]; I/O, TLS and closed-socket errors
/// are [`Connection`](crate::ErrorKind::Connection) errors (retryable), a bad URL is
/// [`InvalidInput`](crate::ErrorKind::InvalidInput), and other protocol violations are
/// [`Protocol`](crate::ErrorKind::Protocol) errors.
pub fn map_error<P: WsProvider + ?Sized>(provider: &P, err: &tungstenite::Error) -> Error {
    use tungstenite::Error as E;
    let error = match err {
        E::Http(response) => provider.rejected(&Rejection::new(response)),
        E::Io(io) => Error::connection(format!("WebSocket I/O error: {io}")),
        E::ConnectionClosed | E::AlreadyClosed => Error::connection("the WebSocket closed"),
        E::Url(e) => Error::invalid_input(format!("invalid WebSocket URL: {e}")),
        E::Tls(e) => Error::connection(format!("TLS error: {e}")),
        E::Protocol(tungstenite::error::ProtocolError::ResetWithoutClosingHandshake) => {
            Error::connection("the connection dropped without a close frame")
        }
        other => Error::protocol(format!("WebSocket error: {other}")),
    };
    error.with_provider(provider.id().to_string())
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;
    use crate::ErrorKind;

    struct Test;

    impl WsProvider for Test {
        fn id(&self) -> &str {
            "test"
        }
        fn name(&self) -> &str {
            "Test"
        }
        fn rejected(&self, rejection: &Rejection<'_>) -> Error {
            let text = rejection
                .header("x-error")
                .map_or_else(|| rejection.body(), str::to_string);
            match rejection.status() {
                429 => Error::rate_limited("slow down", rejection.retry_after()),
                status => Error::provider_status(status, "rejected"),
            }
            .with_provider_message(text)
        }
    }

    fn base(text: &str) -> BaseUrl {
        BaseUrl::parse(&Test, Some(text), "https://unused.example").unwrap()
    }

    #[test]
    fn urls_join_paths_and_map_schemes() {
        let b = base("https://api.example.com/");
        assert_eq!(
            b.ws("/v1/listen").unwrap().as_str(),
            "wss://api.example.com/v1/listen"
        );
        assert_eq!(
            b.http("/v1/listen").unwrap().as_str(),
            "https://api.example.com/v1/listen"
        );
        let b = base("http://127.0.0.1:9/proxy/");
        assert_eq!(
            b.ws("/v1/speak").unwrap().as_str(),
            "ws://127.0.0.1:9/proxy/v1/speak"
        );
        assert_eq!(
            b.http("/v1/speak").unwrap().as_str(),
            "http://127.0.0.1:9/proxy/v1/speak"
        );
        let b = base("wss://api.example.com");
        assert_eq!(b.http("/x").unwrap().as_str(), "https://api.example.com/x");
        assert_eq!(b.ws("/x").unwrap().as_str(), "wss://api.example.com/x");
        let b = base("ws://localhost:1234");
        assert_eq!(b.http("/x").unwrap().as_str(), "http://localhost:1234/x");
        assert_eq!(b.url().as_str(), "ws://localhost:1234/");
    }

    #[test]
    fn the_default_applies_without_a_base() {
        let b = BaseUrl::parse(&Test, None, "https://api.example.com").unwrap();
        assert_eq!(b.ws("/a").unwrap().as_str(), "wss://api.example.com/a");
    }

    #[test]
    fn bad_base_urls_name_the_provider() {
        let e = BaseUrl::parse(&Test, Some("ftp://x"), "https://a").unwrap_err();
        assert_eq!(e.kind(), &ErrorKind::InvalidInput);
        assert_eq!(e.provider(), Some("test"));
        assert!(
            e.to_string()
                .contains("unsupported scheme `ftp` in Test base URL"),
            "{e}"
        );
        let e = BaseUrl::parse(&Test, Some("not a url"), "https://a").unwrap_err();
        assert_eq!(e.kind(), &ErrorKind::InvalidInput);
        assert_eq!(e.provider(), Some("test"));
        assert!(
            e.to_string().contains("invalid Test base URL `not a url`"),
            "{e}"
        );
    }

    #[test]
    fn headers_are_validated() {
        let ok = vec![("x-client".to_string(), "demo 1".to_string())];
        assert!(validate_headers(&Test, &ok).is_ok());
        assert!(validate_headers(&Test, &[]).is_ok());
        let bad_name = vec![("bad header".to_string(), "v".to_string())];
        let e = validate_headers(&Test, &bad_name).unwrap_err();
        assert_eq!(e.kind(), &ErrorKind::InvalidInput);
        assert_eq!(e.provider(), Some("test"));
        assert!(
            e.to_string().contains("invalid HTTP header `bad header`"),
            "{e}"
        );
        let bad_value = vec![("x-a".to_string(), "line\nbreak".to_string())];
        assert!(validate_headers(&Test, &bad_value).is_err());
    }

    #[test]
    fn rejected_handshakes_go_to_the_provider() {
        let response = tungstenite::http::Response::builder()
            .status(429)
            .header("retry-after", "7")
            .header("x-error", "too fast")
            .body(Some(b"ignored".to_vec()))
            .unwrap();
        let e = map_error(&Test, &tungstenite::Error::Http(Box::new(response)));
        assert!(matches!(e.kind(), ErrorKind::RateLimited { .. }));
        assert_eq!(e.provider(), Some("test"));
        assert_eq!(e.provider_message(), Some("too fast"));
        assert_eq!(e.retry_after(), Some(Duration::from_secs(7)));

        let response = tungstenite::http::Response::builder()
            .status(500)
            .body(Some(b"{\"error\":\"boom\"}".to_vec()))
            .unwrap();
        let rejection = Rejection::new(&response);
        assert_eq!(rejection.status(), 500);
        assert_eq!(rejection.body(), "{\"error\":\"boom\"}");
        assert_eq!(rejection.retry_after(), None);
        assert_eq!(rejection.header("x-error"), None);
    }

    #[test]
    fn transport_errors_are_typed() {
        let io = tungstenite::Error::Io(std::io::Error::new(
            std::io::ErrorKind::ConnectionRefused,
            "refused",
        ));
        let e = map_error(&Test, &io);
        assert_eq!(e.kind(), &ErrorKind::Connection);
        assert_eq!(e.provider(), Some("test"));
        assert!(e.is_retryable());
        let e = map_error(&Test, &tungstenite::Error::ConnectionClosed);
        assert_eq!(e.kind(), &ErrorKind::Connection);
        let reset = tungstenite::Error::Protocol(
            tungstenite::error::ProtocolError::ResetWithoutClosingHandshake,
        );
        let e = map_error(&Test, &reset);
        assert!(e.to_string().contains("without a close frame"), "{e}");
        let url = tungstenite::Error::Url(tungstenite::error::UrlError::NoHostName);
        assert_eq!(map_error(&Test, &url).kind(), &ErrorKind::InvalidInput);
    }

    #[tokio::test]
    async fn connect_reports_a_refused_connection() {
        // A port nobody listens on: bind, read the port, close.
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        drop(listener);
        let url = Url::parse(&format!("ws://127.0.0.1:{port}/")).unwrap();
        let opts = ConnectOptions::default().with_max_retries(0);
        let e = connect(&Test, &url, ("authorization", "x"), &[], &opts)
            .await
            .unwrap_err();
        assert_eq!(e.kind(), &ErrorKind::Connection);
        assert_eq!(e.provider(), Some("test"));
        let e = connect(&Test, &url, ("authorization", "bad\nkey"), &[], &opts)
            .await
            .unwrap_err();
        assert_eq!(e.kind(), &ErrorKind::InvalidInput);
        assert!(e.to_string().contains("API key"), "{e}");
    }
}
