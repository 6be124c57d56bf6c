//! The one error type of the framework, its classification and the retry policy.
//!
//! Every fallible call in `agents-core` and in every plugin returns [`Result<T>`]. An [`Error`]
//! carries an [`ErrorKind`] that says what went wrong in a way code can act on, the name of the
//! provider that failed (when there is one), a human message, and the provider's own message kept
//! verbatim. [`Error::is_retryable`] answers whether repeating the same request may succeed.
//!
//! The message text is for people and logs; decisions are made on [`Error::kind`] and
//! [`Error::is_retryable`], never on the text.

use std::borrow::Cow;
use std::fmt;
use std::time::Duration;

/// A specialised `Result` whose error is [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// What kind of failure an [`Error`] describes.
///
/// New kinds may be added in minor releases, so matches need a wildcard arm.
#[non_exhaustive]
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ErrorKind {
    /// The credentials were missing, malformed or refused (HTTP 401/403, a WebSocket auth close).
    Auth,
    /// The account has no quota or credit left (OpenAI `insufficient_quota`, OpenRouter 402,
    /// ElevenLabs `quota_exceeded`). Waiting does not help.
    QuotaExceeded,
    /// The provider asked the client to slow down. `retry_after` is the provider's hint, if any.
    RateLimited {
        /// How long the provider asked the client to wait, from `retry-after` or an equivalent.
        retry_after: Option<Duration>,
    },
    /// A connect, read or whole-request deadline passed.
    Timeout,
    /// The connection could not be made, or dropped (refused, reset, closed mid-stream).
    Connection,
    /// The peer sent something that does not follow its protocol (malformed JSON, an unexpected
    /// frame, a truncated stream).
    Protocol,
    /// The caller's input is invalid: bad audio, a bad option, a bad config field, bad tool
    /// arguments. Repeating it gives the same answer.
    InvalidInput,
    /// The provider or plugin does not support what was asked (a capability, a format, a model).
    Unsupported,
    /// The provider answered with an HTTP status (or a close code) not covered by a more specific
    /// kind.
    ProviderStatus {
        /// The HTTP status code, or the WebSocket close code for stream closes.
        status: u16,
    },
    /// The operation was cancelled by the caller (barge-in, shutdown, a dropped handle).
    Cancelled,
    /// The stream or session was already closed (for example `push_frame` after `end_input`).
    Closed,
}

impl ErrorKind {
    /// Whether an error of this kind may succeed when the same request is repeated.
    ///
    /// Rate limits, timeouts, connection failures and 408/409/425/429/5xx statuses are
    /// retryable; everything else is not.
    #[must_use]
    pub fn is_retryable(&self) -> bool {
        match self {
            ErrorKind::RateLimited { .. } | ErrorKind::Timeout | ErrorKind::Connection => true,
            ErrorKind::ProviderStatus { status } => {
                matches!(status, 408 | 409 | 425 | 429) || (500..600).contains(status)
            }
            _ => false,
        }
    }

    fn label(&self) -> &'static str {
        match self {
            ErrorKind::Auth => "authentication failed",
            ErrorKind::QuotaExceeded => "quota exceeded",
            ErrorKind::RateLimited { .. } => "rate limited",
            ErrorKind::Timeout => "timed out",
            ErrorKind::Connection => "connection failed",
            ErrorKind::Protocol => "protocol error",
            ErrorKind::InvalidInput => "invalid input",
            ErrorKind::Unsupported => "unsupported",
            ErrorKind::ProviderStatus { .. } => "provider error",
            ErrorKind::Cancelled => "cancelled",
            ErrorKind::Closed => "closed",
        }
    }
}

/// The error type of the framework.
///
/// Build one with the constructor named after its kind ([`Error::auth`],
/// [`Error::invalid_input`], ...) and refine it with [`Error::with_provider`],
/// [`Error::with_provider_message`] and [`Error::with_source`].
///
/// ```
/// use agents_core::{Error, ErrorKind};
/// use std::time::Duration;
///
/// let err = Error::rate_limited("too many requests", Some(Duration::from_millis(250)))
///     .with_provider("openai")
///     .with_provider_message("Rate limit reached for gpt-4o-mini. Please try again in 250ms.");
/// assert!(err.is_retryable());
/// assert_eq!(err.retry_after(), Some(Duration::from_millis(250)));
/// assert_eq!(err.provider(), Some("openai"));
/// assert!(err.to_string().contains("openai"));
/// ```
pub struct Error {
    inner: Box<Inner>,
}

struct Inner {
    kind: ErrorKind,
    message: Cow<'static, str>,
    provider: Option<Cow<'static, str>>,
    provider_message: Option<String>,
    retryable: Option<bool>,
    source: Option<Box<dyn std::error::Error + Send + Sync + 'static>>,
}

impl Error {
    /// Creates an error of `kind` with a message for people.
    pub fn new(kind: ErrorKind, message: impl Into<Cow<'static, str>>) -> Self {
        Error {
            inner: Box::new(Inner {
                kind,
                message: message.into(),
                provider: None,
                provider_message: None,
                retryable: None,
                source: None,
            }),
        }
    }

    /// An [`ErrorKind::Auth`] error.
    pub fn auth(message: impl Into<Cow<'static, str>>) -> Self {
        Self::new(ErrorKind::Auth, message)
    }

    /// An [`ErrorKind::QuotaExceeded`] error.
    pub fn quota_exceeded(message: impl Into<Cow<'static, str>>) -> Self {
        Self::new(ErrorKind::QuotaExceeded, message)
    }

    /// An [`ErrorKind::RateLimited`] error with the provider's wait hint.
    pub fn rate_limited(
        message: impl Into<Cow<'static, str>>,
        retry_after: Option<Duration>,
    ) -> Self {
        Self::new(ErrorKind::RateLimited { retry_after }, message)
    }

    /// An [`ErrorKind::Timeout`] error.
    pub fn timeout(message: impl Into<Cow<'static, str>>) -> Self {
        Self::new(ErrorKind::Timeout, message)
    }

    /// An [`ErrorKind::Connection`] error.
    pub fn connection(message: impl Into<Cow<'static, str>>) -> Self {
        Self::new(ErrorKind::Connection, message)
    }

    /// An [`ErrorKind::Protocol`] error.
    pub fn protocol(message: impl Into<Cow<'static, str>>) -> Self {
        Self::new(ErrorKind::Protocol, message)
    }

    /// An [`ErrorKind::InvalidInput`] error.
    pub fn invalid_input(message: impl Into<Cow<'static, str>>) -> Self {
        Self::new(ErrorKind::InvalidInput, message)
    }

    /// An [`ErrorKind::Unsupported`] error.
    pub fn unsupported(message: impl Into<Cow<'static, str>>) -> Self {
        Self::new(ErrorKind::Unsupported, message)
    }

    /// An [`ErrorKind::ProviderStatus`] error for an HTTP status or close code.
    pub fn provider_status(status: u16, message: impl Into<Cow<'static, str>>) -> Self {
        Self::new(ErrorKind::ProviderStatus { status }, message)
    }

    /// An [`ErrorKind::Cancelled`] error.
    pub fn cancelled(message: impl Into<Cow<'static, str>>) -> Self {
        Self::new(ErrorKind::Cancelled, message)
    }

    /// An [`ErrorKind::Closed`] error.
    pub fn closed(message: impl Into<Cow<'static, str>>) -> Self {
        Self::new(ErrorKind::Closed, message)
    }

    /// Names the provider (or plugin) that failed, for example `"deepgram"`.
    #[must_use]
    pub fn with_provider(mut self, provider: impl Into<Cow<'static, str>>) -> Self {
        self.inner.provider = Some(provider.into());
        self
    }

    /// Keeps the provider's own error text verbatim.
    #[must_use]
    pub fn with_provider_message(mut self, message: impl Into<String>) -> Self {
        self.inner.provider_message = Some(message.into());
        self
    }

    /// Attaches the underlying cause.
    #[must_use]
    pub fn with_source(mut self, source: impl std::error::Error + Send + Sync + 'static) -> Self {
        self.inner.source = Some(Box::new(source));
        self
    }

    /// Overrides the retry decision of the kind, for example when a provider marks a 429 as
    /// final (`insufficient_quota`) or sends `x-should-retry: false`.
    #[must_use]
    pub fn with_retryable(mut self, retryable: bool) -> Self {
        self.inner.retryable = Some(retryable);
        self
    }

    /// What kind of failure this is.
    #[must_use]
    pub fn kind(&self) -> &ErrorKind {
        &self.inner.kind
    }

    /// The message for people, without the provider's text.
    #[must_use]
    pub fn message(&self) -> &str {
        &self.inner.message
    }

    /// The provider (or plugin) that failed, if known.
    #[must_use]
    pub fn provider(&self) -> Option<&str> {
        self.inner.provider.as_deref()
    }

    /// The provider's own error text, verbatim, if it sent one.
    #[must_use]
    pub fn provider_message(&self) -> Option<&str> {
        self.inner.provider_message.as_deref()
    }

    /// Whether repeating the same request may succeed.
    #[must_use]
    pub fn is_retryable(&self) -> bool {
        self.inner
            .retryable
            .unwrap_or_else(|| self.inner.kind.is_retryable())
    }

    /// The provider's wait hint for rate limits.
    #[must_use]
    pub fn retry_after(&self) -> Option<Duration> {
        match self.inner.kind {
            ErrorKind::RateLimited { retry_after } => retry_after,
            _ => None,
        }
    }

    /// The HTTP status or close code for [`ErrorKind::ProviderStatus`] errors.
    #[must_use]
    pub fn status(&self) -> Option<u16> {
        match self.inner.kind {
            ErrorKind::ProviderStatus { status } => Some(status),
            _ => None,
        }
    }

    /// True for [`ErrorKind::Cancelled`].
    #[must_use]
    pub fn is_cancelled(&self) -> bool {
        self.inner.kind == ErrorKind::Cancelled
    }

    /// True for [`ErrorKind::Closed`].
    #[must_use]
    pub fn is_closed(&self) -> bool {
        self.inner.kind == ErrorKind::Closed
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if let Some(provider) = &self.inner.provider {
            write!(f, "{provider}: ")?;
        }
        write!(f, "{}: {}", self.inner.kind.label(), self.inner.message)?;
        if let ErrorKind::ProviderStatus { status } = self.inner.kind {
            write!(f, " (status {status})")?;
        }
        if let Some(text) = &self.inner.provider_message {
            if !self.inner.message.contains(text.as_str()) {
                write!(f, ": {text}")?;
            }
        }
        Ok(())
    }
}

impl fmt::Debug for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut d = f.debug_struct("Error");
        d.field("kind", &self.inner.kind)
            .field("message", &self.inner.message);
        if let Some(p) = &self.inner.provider {
            d.field("provider", p);
        }
        if let Some(m) = &self.inner.provider_message {
            d.field("provider_message", m);
        }
        if let Some(r) = self.inner.retryable {
            d.field("retryable", &r);
        }
        if let Some(s) = &self.inner.source {
            d.field("source", s);
        }
        d.finish()
    }
}

impl std::error::Error for Error {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        self.inner
            .source
            .as_deref()
            .map(|e| e as &(dyn std::error::Error + 'static))
    }
}

impl Clone for Error {
    /// Clones kind, messages and the retry override; the source is kept as its text.
    fn clone(&self) -> Self {
        Error {
            inner: Box::new(Inner {
                kind: self.inner.kind.clone(),
                message: self.inner.message.clone(),
                provider: self.inner.provider.clone(),
                provider_message: self.inner.provider_message.clone(),
                retryable: self.inner.retryable,
                source: self
                    .inner
                    .source
                    .as_ref()
                    .map(|s| Box::new(SourceText(s.to_string())) as Box<_>),
            }),
        }
    }
}

#[derive(Debug)]
struct SourceText(String);

impl fmt::Display for SourceText {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for SourceText {}

impl From<std::io::Error> for Error {
    fn from(err: std::io::Error) -> Self {
        use std::io::ErrorKind as Io;
        let kind = match err.kind() {
            Io::TimedOut => ErrorKind::Timeout,
            Io::ConnectionRefused
            | Io::ConnectionReset
            | Io::ConnectionAborted
            | Io::NotConnected
            | Io::BrokenPipe
            | Io::UnexpectedEof => ErrorKind::Connection,
            Io::InvalidData | Io::InvalidInput | Io::NotFound | Io::PermissionDenied => {
                ErrorKind::InvalidInput
            }
            _ => ErrorKind::Connection,
        };
        Error::new(kind, err.to_string()).with_source(err)
    }
}

impl From<serde_json::Error> for Error {
    fn from(err: serde_json::Error) -> Self {
        Error::protocol(format!("invalid JSON: {err}")).with_source(err)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn classification() {
        assert!(Error::timeout("x").is_retryable());
        assert!(Error::connection("x").is_retryable());
        assert!(Error::rate_limited("x", None).is_retryable());
        assert!(Error::provider_status(500, "x").is_retryable());
        assert!(Error::provider_status(503, "x").is_retryable());
        assert!(Error::provider_status(429, "x").is_retryable());
        assert!(Error::provider_status(408, "x").is_retryable());
        assert!(!Error::provider_status(400, "x").is_retryable());
        assert!(!Error::provider_status(404, "x").is_retryable());
        assert!(!Error::auth("x").is_retryable());
        assert!(!Error::quota_exceeded("x").is_retryable());
        assert!(!Error::invalid_input("x").is_retryable());
        assert!(!Error::protocol("x").is_retryable());
        assert!(!Error::cancelled("x").is_retryable());
        assert!(!Error::closed("x").is_retryable());
        assert!(!Error::unsupported("x").is_retryable());
        assert!(
            !Error::rate_limited("insufficient_quota", None)
                .with_retryable(false)
                .is_retryable()
        );
    }

    #[test]
    fn display_keeps_provider_text() {
        let err = Error::auth("invalid API key (set OPENAI_API_KEY)")
            .with_provider("openai")
            .with_provider_message("Incorrect API key provided: sk-xx");
        let text = err.to_string();
        assert!(text.starts_with("openai: authentication failed"), "{text}");
        assert!(text.contains("OPENAI_API_KEY"));
        assert!(text.contains("Incorrect API key provided"));
        let status = Error::provider_status(502, "bad gateway").to_string();
        assert!(status.contains("status 502"), "{status}");
    }

    #[test]
    fn clone_keeps_everything_but_typed_source() {
        let io = std::io::Error::new(std::io::ErrorKind::ConnectionReset, "reset by peer");
        let err = Error::from(io).with_provider("deepgram");
        let cloned = err.clone();
        assert_eq!(cloned.kind(), &ErrorKind::Connection);
        assert_eq!(cloned.provider(), Some("deepgram"));
        assert!(
            std::error::Error::source(&cloned)
                .map(|s| s.to_string().contains("reset by peer"))
                .unwrap_or(false)
        );
    }

    #[test]
    fn io_errors_are_classified() {
        let refused = std::io::Error::new(std::io::ErrorKind::ConnectionRefused, "no");
        assert!(Error::from(refused).is_retryable());
        let missing = std::io::Error::new(std::io::ErrorKind::NotFound, "no such file");
        assert_eq!(Error::from(missing).kind(), &ErrorKind::InvalidInput);
    }
}
