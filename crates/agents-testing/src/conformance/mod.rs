//! Conformance suites: the stream contracts of `docs/stream-contracts.md`, checked against any
//! provider: [`stt`], [`llm`], [`tts`], and the per-frame [`vad`] rules.
//!
//! Every plugin runs them from its own tests (`plugins/<name>/tests/conformance.rs`), pointed
//! at its emulator or, for the mock plugin, at the mocks themselves:
//!
//! ```no_run
//! use agents_testing::conformance::{stt, tts, llm};
//! # async fn demo(my_stt: &dyn agents_core::Stt, my_tts: &dyn agents_core::Tts,
//! #     my_llm: &dyn agents_core::Llm) {
//! stt::run(my_stt, &stt::SttSuiteConfig::default()).await.assert_passed();
//! tts::run(my_tts, &tts::TtsSuiteConfig::default()).await.assert_passed();
//! llm::run(my_llm, &llm::LlmSuiteConfig::default()).await.assert_passed();
//! # }
//! ```
//!
//! A suite never panics: it returns a [`SuiteReport`] with one [`Check`] per rule, named by the
//! rule's number in the contract (`"stt-2"`, `"tts-4"`), saying what was seen when it failed.
//! [`SuiteReport::assert_passed`] panics with every failure listed, for use in tests.
//!
//! Each suite also has a `run_failing` entry point for a provider pointed at a failing
//! emulator (or a mock with an injected fault): it checks that the failure surfaces as one
//! classified error of the expected kind, per rules stt-7, llm-1/llm-5 and tts-6.

mod collect;
pub mod llm;
pub mod stt;
pub mod tts;
pub mod vad;

use std::fmt;
use std::time::Duration;

use agents_core::{Error, ErrorKind};

pub(crate) use collect::Collector;

/// The outcome of one check.
#[non_exhaustive]
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// The rule held.
    Passed,
    /// The rule was broken; the text says what was seen.
    Failed(String),
    /// The rule does not apply to this provider (for example word timings from a provider that
    /// gives none); the text says why.
    Skipped(String),
}

/// One rule checked by a suite.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct Check {
    /// The rule's id in `stream-contracts.md`, for example `"stt-2"`.
    pub rule: &'static str,
    /// What was checked, in a few words.
    pub name: String,
    /// What happened.
    pub outcome: Outcome,
}

impl Check {
    /// True when the check failed.
    #[must_use]
    pub fn is_failed(&self) -> bool {
        matches!(self.outcome, Outcome::Failed(_))
    }
}

impl fmt::Display for Check {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.outcome {
            Outcome::Passed => write!(f, "[pass] {} {}", self.rule, self.name),
            Outcome::Failed(why) => write!(f, "[FAIL] {} {}: {why}", self.rule, self.name),
            Outcome::Skipped(why) => write!(f, "[skip] {} {}: {why}", self.rule, self.name),
        }
    }
}

/// What a suite found: one [`Check`] per rule it checked.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct SuiteReport {
    /// The suite (`"stt"`, `"tts"`, `"llm"`, `"stt-failing"`, ...).
    pub suite: &'static str,
    /// The provider checked, as `provider/model`.
    pub provider: String,
    /// The checks, in the order run.
    pub checks: Vec<Check>,
}

impl SuiteReport {
    /// An empty report.
    #[must_use]
    pub fn new(suite: &'static str, provider: impl Into<String>) -> Self {
        SuiteReport {
            suite,
            provider: provider.into(),
            checks: Vec::new(),
        }
    }

    /// Records a check.
    pub fn record(&mut self, rule: &'static str, name: impl Into<String>, outcome: Outcome) {
        self.checks.push(Check {
            rule,
            name: name.into(),
            outcome,
        });
    }

    /// Records a passed check when `problems` is empty, else a failed one listing them.
    pub fn record_problems(
        &mut self,
        rule: &'static str,
        name: impl Into<String>,
        problems: Vec<String>,
    ) {
        let outcome = if problems.is_empty() {
            Outcome::Passed
        } else {
            Outcome::Failed(problems.join("; "))
        };
        self.record(rule, name, outcome);
    }

    /// Appends the checks of another report.
    pub fn merge(&mut self, other: SuiteReport) {
        self.checks.extend(other.checks);
    }

    /// The failed checks.
    pub fn failures(&self) -> impl Iterator<Item = &Check> {
        self.checks.iter().filter(|c| c.is_failed())
    }

    /// True when no check failed (and at least one ran).
    #[must_use]
    pub fn is_passed(&self) -> bool {
        !self.checks.is_empty() && self.failures().next().is_none()
    }

    /// True when the check for `rule` failed.
    #[must_use]
    pub fn failed(&self, rule: &str) -> bool {
        self.checks.iter().any(|c| c.rule == rule && c.is_failed())
    }

    /// True when a check for `rule` ran and passed (and none for it failed).
    #[must_use]
    pub fn passed(&self, rule: &str) -> bool {
        self.checks
            .iter()
            .any(|c| c.rule == rule && c.outcome == Outcome::Passed)
            && !self.failed(rule)
    }

    /// Panics with every failure listed when a check failed (or none ran). For tests.
    #[track_caller]
    pub fn assert_passed(&self) {
        if !self.is_passed() {
            panic!("conformance suite failed:\n{self}");
        }
    }
}

impl fmt::Display for SuiteReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let failed = self.failures().count();
        writeln!(
            f,
            "{} suite for {}: {} checks, {} failed",
            self.suite,
            self.provider,
            self.checks.len(),
            failed
        )?;
        for c in &self.checks {
            writeln!(f, "  {c}")?;
        }
        Ok(())
    }
}

/// The error a failing provider is expected to produce, for the `run_failing` suites.
///
/// ```
/// use agents_core::{Error, ErrorKind};
/// use agents_testing::conformance::ExpectedError;
///
/// let expect = ExpectedError::kind(ErrorKind::ProviderStatus { status: 503 }).retryable(true);
/// assert!(expect.matches(&Error::provider_status(503, "unavailable")).is_ok());
/// assert!(expect.matches(&Error::auth("bad key")).is_err());
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Default)]
#[non_exhaustive]
pub struct ExpectedError {
    /// The kind, or `None` for any kind.
    pub kind: Option<ErrorKind>,
    /// The retry classification, or `None` for either.
    pub retryable: Option<bool>,
}

impl ExpectedError {
    /// Any error.
    #[must_use]
    pub fn any() -> Self {
        Self::default()
    }

    /// An error of `kind`.
    #[must_use]
    pub fn kind(kind: ErrorKind) -> Self {
        ExpectedError {
            kind: Some(kind),
            retryable: None,
        }
    }

    /// Also requires this retry classification.
    #[must_use]
    pub fn retryable(mut self, retryable: bool) -> Self {
        self.retryable = Some(retryable);
        self
    }

    /// `Ok` when `error` is as expected, else what differs.
    pub fn matches(&self, error: &Error) -> Result<(), String> {
        if let Some(kind) = &self.kind {
            if error.kind() != kind {
                return Err(format!(
                    "expected an error of kind {kind:?}, got {:?} ({error})",
                    error.kind()
                ));
            }
        }
        if let Some(r) = self.retryable {
            if error.is_retryable() != r {
                return Err(format!(
                    "expected is_retryable() == {r} for {error}, got {}",
                    error.is_retryable()
                ));
            }
        }
        Ok(())
    }
}

/// Awaits a call that opens a stream or session, at most `limit`.
pub(crate) async fn open<T>(
    limit: Duration,
    fut: impl std::future::Future<Output = agents_core::Result<T>>,
) -> agents_core::Result<T> {
    tokio::time::timeout(limit, fut).await.unwrap_or_else(|_| {
        Err(Error::timeout(format!(
            "opening the stream took more than {limit:?}"
        )))
    })
}

/// [`open`], recording a failed check of `rule` named `name` when the stream cannot be opened
/// (an error or the time limit); `None` then, and the check stops there.
pub(crate) async fn open_or_record<T>(
    limit: Duration,
    fut: impl std::future::Future<Output = agents_core::Result<T>>,
    report: &mut SuiteReport,
    rule: &'static str,
    name: impl Into<String>,
) -> Option<T> {
    match open(limit, fut).await {
        Ok(stream) => Some(stream),
        Err(e) => {
            report.record(rule, name, Outcome::Failed(format!("stream() failed: {e}")));
            None
        }
    }
}

/// Checks the rule every provider obeys: its `Debug` output never shows a secret (an API key
/// given in its config).
///
/// ```
/// use agents_core::plugin::ApiKey;
/// use agents_testing::conformance::{check_debug_redacts, Outcome};
///
/// let key = ApiKey::new("sk-very-secret");
/// assert_eq!(check_debug_redacts(&key, "sk-very-secret"), Outcome::Passed);
/// assert!(matches!(check_debug_redacts(&"sk-very-secret", "sk-very-secret"), Outcome::Failed(_)));
/// ```
pub fn check_debug_redacts(value: &dyn fmt::Debug, secret: &str) -> Outcome {
    if secret.is_empty() {
        return Outcome::Failed("the secret to look for is empty".into());
    }
    let plain = format!("{value:?}");
    let pretty = format!("{value:#?}");
    if plain.contains(secret) || pretty.contains(secret) {
        Outcome::Failed("the Debug output shows the secret".into())
    } else {
        Outcome::Passed
    }
}

/// Bounded waits shared by the suites.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub struct Timeouts {
    /// The longest a whole stream (or request) may take from the last input to its end.
    pub stream: Duration,
    /// The longest wait for one expected event (a final after a flush, a segment end).
    pub event: Duration,
    /// The longest the provider may take to stop after the handle is dropped.
    pub drop: Duration,
}

impl Default for Timeouts {
    fn default() -> Self {
        Timeouts {
            stream: Duration::from_secs(20),
            event: Duration::from_secs(10),
            drop: Duration::from_secs(2),
        }
    }
}

impl Timeouts {
    /// Sets the whole-stream limit.
    #[must_use]
    pub fn with_stream(mut self, limit: Duration) -> Self {
        self.stream = limit;
        self
    }

    /// Sets the per-event limit.
    #[must_use]
    pub fn with_event(mut self, limit: Duration) -> Self {
        self.event = limit;
        self
    }

    /// Sets the drop limit.
    #[must_use]
    pub fn with_drop(mut self, limit: Duration) -> Self {
        self.drop = limit;
        self
    }
}

/// What a transcript or reply must contain.
#[non_exhaustive]
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub enum ExpectedText {
    /// Any non-empty text.
    #[default]
    AnyNonEmpty,
    /// Text containing this substring, compared case-insensitively and ignoring punctuation.
    Contains(String),
}

impl ExpectedText {
    /// `Ok` when `text` is as expected, else what differs.
    pub fn check(&self, text: &str) -> Result<(), String> {
        match self {
            ExpectedText::AnyNonEmpty if text.trim().is_empty() => {
                Err("expected a non-empty text, got an empty one".to_string())
            }
            ExpectedText::AnyNonEmpty => Ok(()),
            ExpectedText::Contains(want) => {
                if normalize(text).contains(&normalize(want)) {
                    Ok(())
                } else {
                    Err(format!("expected text containing {want:?}, got {text:?}"))
                }
            }
        }
    }
}

/// Lowercases, drops punctuation and collapses white space.
pub(crate) fn normalize(text: &str) -> String {
    text.chars()
        .filter(|c| c.is_alphanumeric() || c.is_whitespace())
        .flat_map(char::to_lowercase)
        .collect::<String>()
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn expected_text() {
        let want = ExpectedText::Contains("the weather in paris".into());
        assert!(want.check("What is the Weather in Paris, today?").is_ok());
        assert!(want.check("what is the time").is_err());
        assert!(ExpectedText::AnyNonEmpty.check("  ").is_err());
    }

    #[test]
    fn report_pass_and_fail() {
        let mut r = SuiteReport::new("stt", "x/y");
        assert!(!r.is_passed(), "an empty report is not a pass");
        r.record("stt-1", "a", Outcome::Passed);
        assert!(r.is_passed());
        r.record_problems("stt-2", "b", vec!["interim after final".into()]);
        assert!(!r.is_passed());
        assert!(r.failed("stt-2"));
        assert!(r.passed("stt-1"));
        assert!(
            r.to_string()
                .contains("[FAIL] stt-2 b: interim after final")
        );
    }
}
