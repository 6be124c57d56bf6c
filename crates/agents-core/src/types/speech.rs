//! Speech-to-text results: [`SpeechEvent`] and what it carries.

use std::time::Duration;

use serde::{Deserialize, Serialize};

/// What a [`SpeechEvent`] reports.
///
/// Per utterance the events come in this order: `StartOfSpeech` (optional), `Interim`*,
/// `Final`+, `EndOfSpeech` (optional). `Usage` may come anywhere.
#[non_exhaustive]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SpeechEventKind {
    /// The provider heard speech begin.
    StartOfSpeech,
    /// A provisional transcript; the next interim or final of the same utterance replaces it.
    Interim,
    /// A final transcript of one span. Finals are not cumulative: an utterance is the
    /// concatenation of its finals.
    Final,
    /// The provider decided the utterance ended.
    EndOfSpeech,
    /// Billing information ([`SpeechEvent::usage`]).
    Usage,
}

/// One timed word of a transcript.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct WordTiming {
    /// The word as the provider wrote it (punctuated when the provider punctuates).
    pub word: String,
    /// Start, relative to the stream's start.
    #[serde(with = "secs")]
    pub start: Duration,
    /// End, relative to the stream's start.
    #[serde(with = "secs")]
    pub end: Duration,
    /// The provider's confidence in `[0, 1]`, when given.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub confidence: Option<f32>,
}

/// One hypothesis of a transcript.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct SpeechAlternative {
    /// The transcript text.
    pub text: String,
    /// The language (BCP-47 or ISO-639-1) when known.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub language: Option<String>,
    /// Confidence in `[0, 1]` (0 when the provider gives none).
    pub confidence: f32,
    /// Start of the span, relative to the stream's start.
    #[serde(with = "secs")]
    pub start: Duration,
    /// End of the span, relative to the stream's start.
    #[serde(with = "secs")]
    pub end: Duration,
    /// Word timings, when the provider gives them.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub words: Vec<WordTiming>,
}

impl SpeechAlternative {
    /// An alternative with only text; the other fields at their defaults.
    pub fn text(text: impl Into<String>) -> Self {
        SpeechAlternative {
            text: text.into(),
            ..Default::default()
        }
    }
}

/// Audio consumed, for billing and metrics.
#[derive(Debug, Clone, Copy, PartialEq, Default, Serialize, Deserialize)]
pub struct SttUsage {
    /// Audio the provider processed.
    #[serde(with = "secs")]
    pub audio_duration: Duration,
}

/// An event from a speech-to-text provider.
///
/// ```
/// use agents_core::{SpeechEvent, SpeechEventKind};
///
/// let ev = SpeechEvent::final_text("hello world");
/// assert_eq!(ev.kind, SpeechEventKind::Final);
/// assert_eq!(ev.text(), "hello world");
/// ```
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct SpeechEvent {
    /// What the event reports.
    pub kind: SpeechEventKind,
    /// Hypotheses, best first. Empty for start/end of speech and usage.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub alternatives: Vec<SpeechAlternative>,
    /// The provider's request id, when it gives one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub request_id: Option<String>,
    /// Usage, on [`SpeechEventKind::Usage`] events.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub usage: Option<SttUsage>,
}

impl SpeechEvent {
    /// An event of `kind` with no alternatives.
    #[must_use]
    pub fn new(kind: SpeechEventKind) -> Self {
        SpeechEvent {
            kind,
            alternatives: Vec::new(),
            request_id: None,
            usage: None,
        }
    }

    /// A start-of-speech event.
    #[must_use]
    pub fn start_of_speech() -> Self {
        Self::new(SpeechEventKind::StartOfSpeech)
    }

    /// An end-of-speech event.
    #[must_use]
    pub fn end_of_speech() -> Self {
        Self::new(SpeechEventKind::EndOfSpeech)
    }

    /// An interim event with one alternative.
    #[must_use]
    pub fn interim(alternative: SpeechAlternative) -> Self {
        Self::new(SpeechEventKind::Interim).with_alternative(alternative)
    }

    /// A final event with one alternative.
    #[must_use]
    pub fn final_transcript(alternative: SpeechAlternative) -> Self {
        Self::new(SpeechEventKind::Final).with_alternative(alternative)
    }

    /// A final event with only text.
    #[must_use]
    pub fn final_text(text: impl Into<String>) -> Self {
        Self::final_transcript(SpeechAlternative::text(text))
    }

    /// A usage event.
    #[must_use]
    pub fn usage(usage: SttUsage) -> Self {
        let mut ev = Self::new(SpeechEventKind::Usage);
        ev.usage = Some(usage);
        ev
    }

    /// Adds an alternative.
    #[must_use]
    pub fn with_alternative(mut self, alternative: SpeechAlternative) -> Self {
        self.alternatives.push(alternative);
        self
    }

    /// Sets the provider's request id.
    #[must_use]
    pub fn with_request_id(mut self, id: impl Into<String>) -> Self {
        self.request_id = Some(id.into());
        self
    }

    /// The best alternative's text, or `""`.
    #[must_use]
    pub fn text(&self) -> &str {
        self.alternatives
            .first()
            .map(|a| a.text.as_str())
            .unwrap_or("")
    }

    /// True for interim and final events.
    #[must_use]
    pub fn is_transcript(&self) -> bool {
        matches!(self.kind, SpeechEventKind::Interim | SpeechEventKind::Final)
    }
}

/// Serde helper: a [`Duration`] as floating-point seconds.
pub mod secs {
    use serde::{Deserialize, Deserializer, Serializer};
    use std::time::Duration;

    /// Writes seconds as `f64`.
    pub fn serialize<S: Serializer>(d: &Duration, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_f64(d.as_secs_f64())
    }

    /// Reads seconds from `f64`; negative or non-finite values are an error.
    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Duration, D::Error> {
        let v = f64::deserialize(d)?;
        Duration::try_from_secs_f64(v).map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn serde_round_trip_uses_seconds() {
        let ev = SpeechEvent::final_transcript(SpeechAlternative {
            text: "hi".into(),
            start: Duration::from_millis(1500),
            end: Duration::from_millis(2250),
            ..Default::default()
        });
        let json = serde_json::to_value(&ev).unwrap();
        assert_eq!(json["kind"], "final");
        assert_eq!(json["alternatives"][0]["start"], 1.5);
        let back: SpeechEvent = serde_json::from_value(json).unwrap();
        assert_eq!(back, ev);
        assert!(serde_json::from_str::<WordTiming>(r#"{"word":"a","start":-1,"end":0}"#).is_err());
    }
}
