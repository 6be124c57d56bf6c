//! The text-to-speech suite: rules tts-1 to tts-6 of the stream contract.
//!
//! ```no_run
//! use agents_core::AudioFormat;
//! use agents_testing::conformance::tts::{self, TtsSuiteConfig};
//!
//! # async fn demo(my_tts: &dyn agents_core::Tts) {
//! let config = TtsSuiteConfig::default()
//!     .with_output_formats(vec![AudioFormat::MONO_16K, AudioFormat::MONO_48K]);
//! tts::run(my_tts, &config).await.assert_passed();
//! # }
//! ```

use std::time::Duration;

use agents_core::{AudioFormat, ErrorKind, SynthesizeOptions, Tts, TtsEvent, WordTiming};

use super::{Collector, ExpectedError, Outcome, SuiteReport, Timeouts};

/// Slack allowed for word timings past the end of the audio.
const WORD_SLACK: Duration = Duration::from_millis(50);

/// Configuration of the text-to-speech suite.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct TtsSuiteConfig {
    /// Bounded waits.
    pub timeouts: Timeouts,
    /// A short text.
    pub short_text: String,
    /// A text clearly longer than [`Self::short_text`] (rule tts-1: longer text, longer audio).
    pub long_text: String,
    /// Formats the caller asks for (rule tts-1); the core converts from the provider's.
    pub output_formats: Vec<AudioFormat>,
}

impl Default for TtsSuiteConfig {
    fn default() -> Self {
        TtsSuiteConfig {
            timeouts: Timeouts::default(),
            short_text: "Hello there.".into(),
            long_text: "The weather in Paris today is sunny with a light breeze, and it will \
                        stay warm until the evening."
                .into(),
            output_formats: vec![AudioFormat::MONO_16K, AudioFormat::MONO_48K],
        }
    }
}

impl TtsSuiteConfig {
    /// Sets the bounded waits.
    #[must_use]
    pub fn with_timeouts(mut self, timeouts: Timeouts) -> Self {
        self.timeouts = timeouts;
        self
    }

    /// Sets the short and long texts.
    #[must_use]
    pub fn with_texts(mut self, short: impl Into<String>, long: impl Into<String>) -> Self {
        self.short_text = short.into();
        self.long_text = long.into();
        self
    }

    /// Sets the requested output formats (empty skips the conversion checks).
    #[must_use]
    pub fn with_output_formats(mut self, formats: Vec<AudioFormat>) -> Self {
        self.output_formats = formats;
        self
    }
}

/// What one synthesis produced.
#[derive(Debug, Default)]
struct Synthesis {
    events: Vec<TtsEvent>,
    errors: Vec<String>,
    ended: bool,
}

impl Synthesis {
    fn audio_duration(&self) -> Duration {
        self.events
            .iter()
            .filter_map(|e| match e {
                TtsEvent::Audio(f) => Some(f.duration()),
                _ => None,
            })
            .sum()
    }
}

async fn synthesize(
    tts: &dyn Tts,
    text: &str,
    format: Option<AudioFormat>,
    limit: Duration,
) -> Result<Synthesis, String> {
    let mut options = SynthesizeOptions::default();
    if let Some(f) = format {
        options = options.with_output_format(f);
    }
    let stream = tokio::time::timeout(limit, tts.synthesize(text, &options))
        .await
        .map_err(|_| format!("synthesize did not answer within {limit:?}"))?
        .map_err(|e| format!("synthesize failed: {e}"))?;
    let mut c = Collector::new(stream, limit);
    let ended = c.read_to_end(limit).await;
    Ok(Synthesis {
        errors: c.errors(),
        events: c.items.into_iter().filter_map(Result::ok).collect(),
        ended,
    })
}

/// Runs every rule against `tts` and reports each one. Streaming rules are skipped when the
/// provider does not declare streaming.
pub async fn run(tts: &dyn Tts, config: &TtsSuiteConfig) -> SuiteReport {
    let mut report = SuiteReport::new("tts", tts.info().to_string());
    let limit = config.timeouts.stream;
    let short = synthesize(tts, &config.short_text, None, limit).await;
    let long = synthesize(tts, &config.long_text, None, limit).await;
    match (&short, &long) {
        (Ok(s), Ok(l)) => {
            report.record_problems(
                "tts-6",
                "synthesize yields the audio, one SegmentEnd, then ends",
                synthesis_problems(s, tts.capabilities().output_format),
            );
            let (sd, ld) = (s.audio_duration(), l.audio_duration());
            report.record(
                "tts-1",
                "longer text gives longer audio",
                if ld > sd {
                    Outcome::Passed
                } else {
                    Outcome::Failed(format!(
                        "{} characters gave {ld:?}, {} characters gave {sd:?}",
                        config.long_text.len(),
                        config.short_text.len()
                    ))
                },
            );
            let mut word_problems = word_timing_problems(&s.events);
            word_problems.extend(word_timing_problems(&l.events));
            let has_words = s.events.iter().any(|e| matches!(e, TtsEvent::Words(_)));
            if !has_words && tts.capabilities().word_timings {
                word_problems.push("word timings declared but none were yielded".into());
            }
            if has_words || !word_problems.is_empty() {
                report.record_problems(
                    "tts-4",
                    "word timings are monotonic and within the audio",
                    word_problems,
                );
            } else {
                report.record(
                    "tts-4",
                    "word timings are monotonic and within the audio",
                    Outcome::Skipped("the provider gives no word timings".into()),
                );
            }
        }
        (Err(e), _) | (_, Err(e)) => {
            report.record("tts-6", "synthesize", Outcome::Failed(e.clone()));
        }
    }
    let native = short.as_ref().map(Synthesis::audio_duration).ok();
    for format in &config.output_formats {
        let name = format!("synthesize in {format} yields frames in {format}");
        match synthesize(tts, &config.short_text, Some(*format), limit).await {
            Err(e) => report.record("tts-1", name, Outcome::Failed(e)),
            Ok(s) => {
                let mut problems = synthesis_problems(&s, *format);
                if let Some(native) = native {
                    let got = s.audio_duration();
                    let diff = got.abs_diff(native);
                    if diff > native / 10 + Duration::from_millis(20) {
                        problems.push(format!(
                            "converted audio lasts {got:?}, the provider's own {native:?}"
                        ));
                    }
                }
                report.record_problems("tts-1", name, problems);
            }
        }
    }
    if !tts.capabilities().streaming {
        for rule in ["tts-2", "tts-3", "tts-5"] {
            report.record(
                rule,
                "streaming rules",
                Outcome::Skipped("the provider does not declare streaming".into()),
            );
        }
        return report;
    }
    check_stream(tts, config, None, &mut report).await;
    for format in &config.output_formats {
        check_stream(tts, config, Some(*format), &mut report).await;
    }
    check_drop(tts, config, &mut report).await;
    report
}

/// Problems of a complete synthesis: errors, formats, empty audio, segment end, end.
fn synthesis_problems(s: &Synthesis, format: AudioFormat) -> Vec<String> {
    let mut problems: Vec<String> = s.errors.iter().map(|e| format!("got {e}")).collect();
    if !s.ended {
        problems.push("the stream did not end".into());
    }
    problems.extend(frame_problems(&s.events, format));
    if s.audio_duration().is_zero() {
        problems.push("non-empty text gave no audio".into());
    }
    let ends = s
        .events
        .iter()
        .filter(|e| matches!(e, TtsEvent::SegmentEnd))
        .count();
    if ends != 1 {
        problems.push(format!("expected one SegmentEnd, got {ends}"));
    } else if !matches!(s.events.last(), Some(TtsEvent::SegmentEnd)) {
        problems.push("the SegmentEnd is not the last event".into());
    }
    problems
}

fn frame_problems(events: &[TtsEvent], format: AudioFormat) -> Vec<String> {
    let mut problems = Vec::new();
    for (i, e) in events.iter().enumerate() {
        if let TtsEvent::Audio(f) = e {
            if f.format() != format {
                problems.push(format!(
                    "frame {i} is {}, the caller asked for {format}",
                    f.format()
                ));
                break;
            }
            if f.samples().len() % usize::from(format.channels) != 0 {
                problems.push(format!("frame {i} holds a partial sample frame"));
                break;
            }
        }
    }
    problems
}

/// tts-4 on a log: per segment, word timings are monotonic and end within its audio.
fn word_timing_problems(events: &[TtsEvent]) -> Vec<String> {
    let mut problems = Vec::new();
    let mut audio = Duration::ZERO;
    let mut words = Vec::new();
    let mut segment = 0;
    let check =
        |segment: usize, words: &[WordTiming], audio: Duration, problems: &mut Vec<String>| {
            let mut last = Duration::ZERO;
            for w in words {
                if w.end < w.start || w.start < last {
                    problems.push(format!(
                        "segment {segment}: word {:?} at {:?}..{:?} goes backwards",
                        w.word, w.start, w.end
                    ));
                }
                if w.end > audio + WORD_SLACK {
                    problems.push(format!(
                        "segment {segment}: word {:?} ends at {:?}, after the audio ({audio:?})",
                        w.word, w.end
                    ));
                }
                last = last.max(w.start);
            }
        };
    for e in events {
        match e {
            TtsEvent::Audio(f) => audio += f.duration(),
            TtsEvent::Words(w) => words.extend(w.iter().cloned()),
            TtsEvent::SegmentEnd => {
                check(segment, &words, audio, &mut problems);
                words.clear();
                audio = Duration::ZERO;
                segment += 1;
            }
            _ => {}
        }
    }
    // a last segment without its SegmentEnd
    check(segment, &words, audio, &mut problems);
    problems
}

/// tts-2 and tts-3 (and tts-1 for streams): two flushed segments, then text ended by
/// `end_input`.
pub async fn check_stream(
    tts: &dyn Tts,
    config: &TtsSuiteConfig,
    format: Option<AudioFormat>,
    report: &mut SuiteReport,
) {
    let label = format.map(|f| format!(" ({f})")).unwrap_or_default();
    let mut options = SynthesizeOptions::default();
    if let Some(f) = format {
        options = options.with_output_format(f);
    }
    let Some(stream) = super::open_or_record(
        config.timeouts.stream,
        tts.stream(&options),
        report,
        "tts-2",
        format!("open a stream{label}"),
    )
    .await
    else {
        return;
    };
    let target = format.unwrap_or(stream.output_format());
    let (mut input, output) = stream.split();
    let mut c = Collector::new(output, config.timeouts.event);
    let is_end = |e: &TtsEvent| matches!(e, TtsEvent::SegmentEnd);
    let mut flush_problems = Vec::new();
    let text = &config.short_text;
    let mid = (0..=text.len() / 2)
        .rev()
        .find(|i| text.is_char_boundary(*i))
        .unwrap_or(0);
    let halves = text.split_at(mid);
    let texts = [
        vec![halves.0.to_string(), halves.1.to_string()],
        vec![config.long_text.clone()],
    ];
    let mut segment_start = 0;
    for (round, pieces) in texts.iter().enumerate() {
        for p in pieces {
            if let Err(e) = c.during(input.push_text(p.clone())).await {
                flush_problems.push(format!("segment {round}: push_text failed: {e}"));
            }
        }
        if let Err(e) = c.during(input.flush()).await {
            flush_problems.push(format!("segment {round}: flush failed: {e}"));
            break;
        }
        match c.until(segment_start, config.timeouts.event, is_end).await {
            None => {
                flush_problems.push(format!(
                    "segment {round}: no SegmentEnd within {:?} after flush{}",
                    config.timeouts.event,
                    if c.ended { " (the stream ended)" } else { "" }
                ));
                break;
            }
            Some(at) => {
                let audio = c.items[segment_start..at]
                    .iter()
                    .any(|i| matches!(i, Ok(TtsEvent::Audio(f)) if !f.is_empty()));
                if !audio {
                    flush_problems.push(format!("segment {round}: no audio before SegmentEnd"));
                }
                segment_start = at + 1;
            }
        }
        if c.ended {
            flush_problems.push(format!("segment {round}: the stream ended after flush"));
            break;
        }
    }
    report.record_problems(
        "tts-2",
        format!("flush closes a segment and the stream stays open{label}"),
        flush_problems,
    );

    let mut end_problems = Vec::new();
    if let Err(e) = c.during(input.push_text("Goodbye.")).await {
        end_problems.push(format!("push_text failed: {e}"));
    }
    if let Err(e) = c.during(input.end_input()).await {
        end_problems.push(format!("end_input failed: {e}"));
    }
    if !c.read_to_end(config.timeouts.stream).await {
        end_problems.push(format!(
            "the stream did not end within {:?} after end_input",
            config.timeouts.stream
        ));
    }
    let tail: Vec<&TtsEvent> = c
        .items
        .iter()
        .skip(segment_start)
        .filter_map(|i| i.as_ref().ok())
        .collect();
    if !tail.iter().any(|e| matches!(e, TtsEvent::Audio(_))) {
        end_problems.push("no audio for the text pushed before end_input".into());
    }
    if !matches!(tail.last(), Some(TtsEvent::SegmentEnd)) {
        end_problems.push("the last event before the end is not a SegmentEnd".into());
    }
    match input.push_text("more").await {
        Err(e) if e.kind() == &ErrorKind::Closed => {}
        Err(e) => end_problems.push(format!(
            "push_text after end_input: expected Closed, got {e}"
        )),
        Ok(()) => end_problems.push("push_text after end_input returned Ok".into()),
    }
    report.record_problems(
        "tts-3",
        format!("end_input yields the rest and a final SegmentEnd, then ends{label}"),
        end_problems,
    );

    let events: Vec<TtsEvent> = c.oks().cloned().collect();
    let mut problems: Vec<String> = c.errors().into_iter().map(|e| format!("got {e}")).collect();
    problems.extend(frame_problems(&events, target));
    problems.extend(word_timing_problems(&events));
    report.record_problems(
        "tts-1",
        format!("streamed frames are in the requested format{label}"),
        problems,
    );
}

/// tts-5: after the output half is dropped no more audio is produced and the provider's task
/// ends within bounded time, observed as the input half closing.
pub async fn check_drop(tts: &dyn Tts, config: &TtsSuiteConfig, report: &mut SuiteReport) {
    let name = "dropping the stream stops synthesis in bounded time";
    let Some(stream) = super::open_or_record(
        config.timeouts.stream,
        tts.stream(&SynthesizeOptions::default()),
        report,
        "tts-5",
        name,
    )
    .await
    else {
        return;
    };
    let (mut input, output) = stream.split();
    let mut c = Collector::new(output, config.timeouts.event);
    let _ = c.during(input.push_text(config.long_text.clone())).await;
    let _ = c.during(input.flush()).await;
    let got_audio = c
        .until(0, config.timeouts.event, |e| {
            matches!(e, TtsEvent::Audio(_))
        })
        .await;
    drop(c.into_stream());
    let closed = tokio::time::timeout(config.timeouts.drop, async {
        loop {
            if let Err(e) = input.push_text("more text ").await {
                return e;
            }
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
    })
    .await;
    let outcome = match (got_audio, closed) {
        (None, _) => Outcome::Failed("no audio before the drop".into()),
        (Some(_), Ok(e)) if e.kind() == &ErrorKind::Closed => Outcome::Passed,
        (Some(_), Ok(e)) => Outcome::Failed(format!("push after drop failed with {e}, not Closed")),
        (Some(_), Err(_)) => Outcome::Failed(format!(
            "the provider still took text {:?} after its output was dropped",
            config.timeouts.drop
        )),
    };
    report.record("tts-5", name, outcome);
}

/// Configuration of [`run_failing`].
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct TtsFailingConfig {
    /// Bounded waits.
    pub timeouts: Timeouts,
    /// The text sent.
    pub text: String,
    /// The expected error.
    pub expected: ExpectedError,
    /// Check `synthesize` (one call).
    pub check_synthesize: bool,
    /// Check `stream` (one call).
    pub check_stream: bool,
}

impl TtsFailingConfig {
    /// Expects `expected` from both `synthesize` and `stream`.
    #[must_use]
    pub fn new(expected: ExpectedError) -> Self {
        TtsFailingConfig {
            timeouts: Timeouts::default(),
            text: "Hello there, this should fail.".into(),
            expected,
            check_synthesize: true,
            check_stream: true,
        }
    }

    /// Sets the bounded waits.
    #[must_use]
    pub fn with_timeouts(mut self, timeouts: Timeouts) -> Self {
        self.timeouts = timeouts;
        self
    }

    /// Checks `synthesize` or not.
    #[must_use]
    pub fn with_synthesize(mut self, on: bool) -> Self {
        self.check_synthesize = on;
        self
    }

    /// Checks `stream` or not.
    #[must_use]
    pub fn with_stream(mut self, on: bool) -> Self {
        self.check_stream = on;
        self
    }
}

/// Checks that a failing provider reports one classified error (tts-6): `synthesize` and
/// `stream` either fail with the expected error or yield exactly one `Err` with it, last, then
/// end.
pub async fn run_failing(tts: &dyn Tts, config: &TtsFailingConfig) -> SuiteReport {
    let mut report = SuiteReport::new("tts-failing", tts.info().to_string());
    let limit = config.timeouts.stream;
    if config.check_synthesize {
        let outcome = match tokio::time::timeout(
            limit,
            tts.synthesize(&config.text, &SynthesizeOptions::default()),
        )
        .await
        {
            Err(_) => Outcome::Failed("synthesize did not answer in time".into()),
            Ok(Err(e)) => match config.expected.matches(&e) {
                Ok(()) => Outcome::Passed,
                Err(why) => Outcome::Failed(why),
            },
            Ok(Ok(stream)) => {
                let mut c = Collector::new(stream, config.timeouts.event);
                let ended = c.read_to_end(limit).await;
                super::stt::failing_outcome(&c.items, ended, &config.expected)
            }
        };
        report.record(
            "tts-6",
            "synthesize fails with one classified error",
            outcome,
        );
    }
    if config.check_stream {
        let outcome = match super::open(
            config.timeouts.stream,
            tts.stream(&SynthesizeOptions::default()),
        )
        .await
        {
            Err(e) => match config.expected.matches(&e) {
                Ok(()) => Outcome::Passed,
                Err(why) => Outcome::Failed(why),
            },
            Ok(stream) => {
                let (mut input, output) = stream.split();
                let mut c = Collector::new(output, config.timeouts.event);
                let _ = c.during(input.push_text(config.text.clone())).await;
                let _ = c.during(input.end_input()).await;
                let ended = c.read_to_end(limit).await;
                super::stt::failing_outcome(&c.items, ended, &config.expected)
            }
        };
        report.record("tts-6", "a stream fails with one classified error", outcome);
    }
    report
}
