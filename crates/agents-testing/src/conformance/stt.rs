//! The speech-to-text suite: rules stt-1 to stt-9 of the stream contract.
//!
//! ```no_run
//! use agents_testing::conformance::{ExpectedText, stt::{self, SttSuiteConfig}};
//! use agents_testing::fixtures::Fixture;
//!
//! # async fn demo(my_stt: &dyn agents_core::Stt) {
//! let config = SttSuiteConfig::default()
//!     .with_fixture(Fixture::Weather16k)
//!     .with_expected_text(ExpectedText::Contains("weather in Paris".into()))
//!     .with_expect_interim(true);
//! stt::run(my_stt, &config).await.assert_passed();
//! # }
//! ```

use std::time::Duration;

use agents_core::{
    AudioFrame, ErrorKind, RecognizeOptions, SpeechEvent, SpeechEventKind, Stt, SttStreamOptions,
};

use super::{Collector, ExpectedError, ExpectedText, Outcome, SuiteReport, Timeouts, normalize};
use crate::fixtures::{self, Fixture};

/// Tolerance for comparing times reported by a provider.
const TIME_SLACK: Duration = Duration::from_millis(10);

/// Configuration of the speech-to-text suite.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct SttSuiteConfig {
    /// Bounded waits.
    pub timeouts: Timeouts,
    /// The recording streamed and recognized.
    pub fixture: Fixture,
    /// What the transcript of [`Self::fixture`] must contain.
    pub expected_text: ExpectedText,
    /// Require at least one interim result (when the provider declares interim results).
    pub expect_interim: bool,
    /// Recordings in other formats that must be accepted and transcribed (rule stt-1); the
    /// core converts them to the provider's declared format.
    pub format_fixtures: Vec<Fixture>,
    /// The size of the frames pushed.
    pub frame_duration: Duration,
    /// Push frames in real time (sleeping one frame duration between pushes) instead of as
    /// fast as the provider takes them.
    pub realtime_pacing: bool,
}

impl Default for SttSuiteConfig {
    fn default() -> Self {
        SttSuiteConfig {
            timeouts: Timeouts::default(),
            fixture: Fixture::Weather16k,
            expected_text: ExpectedText::AnyNonEmpty,
            expect_interim: false,
            format_fixtures: vec![Fixture::Hello48k, Fixture::HelloStereo44k],
            frame_duration: Duration::from_millis(20),
            realtime_pacing: false,
        }
    }
}

impl SttSuiteConfig {
    /// Sets the bounded waits.
    #[must_use]
    pub fn with_timeouts(mut self, timeouts: Timeouts) -> Self {
        self.timeouts = timeouts;
        self
    }

    /// Sets the recording.
    #[must_use]
    pub fn with_fixture(mut self, fixture: Fixture) -> Self {
        self.fixture = fixture;
        self
    }

    /// Sets what the transcript must contain.
    #[must_use]
    pub fn with_expected_text(mut self, expected: ExpectedText) -> Self {
        self.expected_text = expected;
        self
    }

    /// Requires interim results.
    #[must_use]
    pub fn with_expect_interim(mut self, expect: bool) -> Self {
        self.expect_interim = expect;
        self
    }

    /// Sets the recordings of other formats checked by rule stt-1 (empty skips the rule).
    #[must_use]
    pub fn with_format_fixtures(mut self, fixtures: Vec<Fixture>) -> Self {
        self.format_fixtures = fixtures;
        self
    }

    /// Sets the frame size pushed.
    #[must_use]
    pub fn with_frame_duration(mut self, duration: Duration) -> Self {
        self.frame_duration = duration;
        self
    }

    /// Pushes in real time.
    #[must_use]
    pub fn with_realtime_pacing(mut self, pacing: bool) -> Self {
        self.realtime_pacing = pacing;
        self
    }
}

/// Runs every rule against `stt` and reports each one.
///
/// Rules that need streaming are skipped when the provider does not declare it.
pub async fn run(stt: &dyn Stt, config: &SttSuiteConfig) -> SuiteReport {
    let mut report = SuiteReport::new("stt", stt.info().to_string());
    let audio = match config.fixture.load() {
        Ok(a) => a,
        Err(e) => {
            report.record("setup", "load fixture", Outcome::Failed(e.to_string()));
            return report;
        }
    };
    check_recognize(stt, &audio, config, &mut report).await;
    if !stt.capabilities().streaming {
        for rule in ["stt-1", "stt-2", "stt-5", "stt-6", "stt-8"] {
            report.record(
                rule,
                "streaming rules",
                Outcome::Skipped("the provider does not declare streaming".into()),
            );
        }
        return report;
    }
    check_stream(stt, &audio, config, &mut report).await;
    check_flush(stt, &audio, config, &mut report).await;
    check_formats(stt, config, &mut report).await;
    check_drop(stt, &audio, config, &mut report).await;
    report
}

/// stt-9: `recognize` returns one `Final` with the expected text.
pub async fn check_recognize(
    stt: &dyn Stt,
    audio: &AudioFrame,
    config: &SttSuiteConfig,
    report: &mut SuiteReport,
) {
    let name = "recognize returns one Final with the expected text";
    let result = tokio::time::timeout(
        config.timeouts.stream,
        stt.recognize(audio, &RecognizeOptions::default()),
    )
    .await;
    let outcome = match result {
        Err(_) => Outcome::Failed(format!("no answer within {:?}", config.timeouts.stream)),
        Ok(Err(e)) => Outcome::Failed(format!("recognize failed: {e}")),
        Ok(Ok(ev)) if ev.kind != SpeechEventKind::Final => {
            Outcome::Failed(format!("expected a Final event, got {:?}", ev.kind))
        }
        Ok(Ok(ev)) => match config.expected_text.check(ev.text()) {
            Ok(()) => Outcome::Passed,
            Err(why) => Outcome::Failed(why),
        },
    };
    report.record("stt-9", name, outcome);
}

/// Pushes `frames`, optionally paced, while collecting events. Returns the first push error.
async fn push_all<S>(
    input: &mut agents_core::SttInputSender,
    collector: &mut Collector<S, SpeechEvent>,
    frames: &[AudioFrame],
    config: &SttSuiteConfig,
) -> Option<agents_core::Error>
where
    S: futures_util::Stream<Item = agents_core::Result<SpeechEvent>> + Unpin,
{
    for frame in frames {
        if let Err(e) = collector.during(input.push_frame(frame.clone())).await {
            return Some(e);
        }
        if config.realtime_pacing {
            collector.pause(config.frame_duration).await;
        }
    }
    None
}

/// stt-2, stt-3, stt-4, stt-6 (and the healthy half of stt-7): stream the fixture, end the
/// input, and check the events.
pub async fn check_stream(
    stt: &dyn Stt,
    audio: &AudioFrame,
    config: &SttSuiteConfig,
    report: &mut SuiteReport,
) {
    let Some(stream) = super::open_or_record(
        config.timeouts.stream,
        stt.stream(&SttStreamOptions::default()),
        report,
        "stt-6",
        "open a stream",
    )
    .await
    else {
        return;
    };
    let frames = match fixtures::chunk(audio, config.frame_duration) {
        Ok(f) => f,
        Err(e) => {
            report.record("setup", "chunk fixture", Outcome::Failed(e.to_string()));
            return;
        }
    };
    let (mut input, events) = stream.split();
    let mut c = Collector::new(events, config.timeouts.event);
    if let Some(e) = push_all(&mut input, &mut c, &frames, config).await {
        report.record(
            "stt-1",
            "frames in the declared format are accepted",
            Outcome::Failed(format!("push_frame failed: {e}")),
        );
    }
    let end = c.during(input.end_input()).await;
    let ended = c.read_to_end(config.timeouts.stream).await;
    let mut problems = Vec::new();
    if let Err(e) = end {
        problems.push(format!("end_input failed: {e}"));
    }
    if !ended {
        problems.push(format!(
            "the stream did not end within {:?} after end_input",
            config.timeouts.stream
        ));
    }
    report.record_problems("stt-6", "end_input drains, then the stream ends", problems);

    let after = input.push_frame(audio.clone()).await;
    report.record(
        "stt-6",
        "push_frame after end_input is Err(Closed)",
        match after {
            Err(e) if e.kind() == &ErrorKind::Closed => Outcome::Passed,
            Err(e) => Outcome::Failed(format!("expected a Closed error, got {e}")),
            Ok(()) => Outcome::Failed("push_frame after end_input returned Ok".into()),
        },
    );

    let errors = c.errors();
    report.record_problems(
        "stt-7",
        "a healthy stream yields no error",
        errors.into_iter().map(|e| format!("got {e}")).collect(),
    );
    let events: Vec<SpeechEvent> = c.oks().cloned().collect();
    check_events(&events, config, &stt.capabilities(), report);
}

/// Checks rules stt-2, stt-3 and stt-4 (and the expected transcript) on a complete event log.
pub fn check_events(
    events: &[SpeechEvent],
    config: &SttSuiteConfig,
    capabilities: &agents_core::SttCapabilities,
    report: &mut SuiteReport,
) {
    report.record_problems(
        "stt-2",
        "events per utterance in order (no interim after its own final)",
        order_problems(events),
    );
    report.record_problems(
        "stt-3",
        "finals are not cumulative",
        cumulative_problems(events),
    );
    report.record_problems(
        "stt-4",
        "times relative to the stream start never go backwards",
        time_problems(events),
    );
    let transcript = finals_text(events);
    report.record(
        "stt-3",
        "the finals' concatenation is the expected transcript",
        match config.expected_text.check(&transcript) {
            Ok(()) => Outcome::Passed,
            Err(why) => Outcome::Failed(why),
        },
    );
    let interims = events
        .iter()
        .filter(|e| e.kind == SpeechEventKind::Interim)
        .count();
    let outcome = if !config.expect_interim {
        Outcome::Skipped("interim results not required by the config".into())
    } else if !capabilities.interim_results {
        Outcome::Failed("interim results required but the provider does not declare them".into())
    } else if interims == 0 {
        Outcome::Failed("no interim result while streaming the fixture".into())
    } else {
        Outcome::Passed
    };
    report.record("stt-2", "interim results are produced", outcome);
}

/// The concatenated text of every `Final`, separated by spaces.
#[must_use]
pub fn finals_text(events: &[SpeechEvent]) -> String {
    events
        .iter()
        .filter(|e| e.kind == SpeechEventKind::Final)
        .map(|e| e.text().trim())
        .filter(|t| !t.is_empty())
        .collect::<Vec<_>>()
        .join(" ")
}

fn span(e: &SpeechEvent) -> Option<(Duration, Duration)> {
    e.alternatives
        .first()
        .filter(|a| a.end > Duration::ZERO)
        .map(|a| (a.start, a.end))
}

fn order_problems(events: &[SpeechEvent]) -> Vec<String> {
    let mut problems = Vec::new();
    let uses_markers = events.iter().any(|e| {
        matches!(
            e.kind,
            SpeechEventKind::StartOfSpeech | SpeechEventKind::EndOfSpeech
        )
    });
    // The last final of the current utterance: (index, its span).
    let mut last_final: Option<(usize, Option<(Duration, Duration)>)> = None;
    for (i, e) in events.iter().enumerate() {
        match e.kind {
            SpeechEventKind::StartOfSpeech | SpeechEventKind::EndOfSpeech => last_final = None,
            SpeechEventKind::Final => last_final = Some((i, span(e))),
            SpeechEventKind::Interim => {
                let Some((fi, fspan)) = last_final else {
                    continue;
                };
                let same_utterance = match (span(e), fspan) {
                    (Some((start, _)), Some((_, fend))) => start + TIME_SLACK < fend,
                    // Without times: a provider that marks utterances would have sent a start
                    // or end of speech between two utterances, and an interim of the same
                    // utterance repeats (a prefix of) the final's words.
                    _ => {
                        let (i, f) = (normalize(e.text()), normalize(events[fi].text()));
                        uses_markers && !i.is_empty() && (i.starts_with(&f) || f.starts_with(&i))
                    }
                };
                if same_utterance {
                    problems.push(format!(
                        "event {i} is an Interim ({:?}) after the Final of its own utterance \
                         (event {fi})",
                        e.text()
                    ));
                }
            }
            _ => {}
        }
    }
    problems
}

fn cumulative_problems(events: &[SpeechEvent]) -> Vec<String> {
    let mut problems = Vec::new();
    let mut prev: Option<(usize, &SpeechEvent)> = None;
    for (i, e) in events.iter().enumerate() {
        match e.kind {
            SpeechEventKind::StartOfSpeech | SpeechEventKind::EndOfSpeech => prev = None,
            SpeechEventKind::Final => {
                if let Some((pi, p)) = prev {
                    let (a, b) = (normalize(p.text()), normalize(e.text()));
                    if !a.is_empty() && b.len() > a.len() && b.starts_with(&a) {
                        problems.push(format!(
                            "Final {i} ({:?}) repeats Final {pi} ({:?}): finals must not be \
                             cumulative",
                            e.text(),
                            p.text()
                        ));
                    } else if let (Some((_, pend)), Some((start, _))) = (span(p), span(e)) {
                        if start + TIME_SLACK < pend {
                            problems.push(format!(
                                "Final {i} starts at {start:?}, inside Final {pi} which ends at \
                                 {pend:?}: finals must cover disjoint spans"
                            ));
                        }
                    }
                }
                prev = Some((i, e));
            }
            _ => {}
        }
    }
    problems
}

fn time_problems(events: &[SpeechEvent]) -> Vec<String> {
    let mut problems = Vec::new();
    let mut final_start = Duration::ZERO;
    let mut final_end = Duration::ZERO;
    for (i, e) in events.iter().enumerate() {
        for alt in &e.alternatives {
            if alt.end < alt.start {
                problems.push(format!(
                    "event {i} ends ({:?}) before it starts ({:?})",
                    alt.end, alt.start
                ));
            }
            let mut word_start = Duration::ZERO;
            for w in &alt.words {
                if w.end < w.start || w.start + TIME_SLACK < word_start {
                    problems.push(format!(
                        "event {i}: word {:?} at {:?}..{:?} goes backwards",
                        w.word, w.start, w.end
                    ));
                }
                word_start = word_start.max(w.start);
            }
        }
        if e.kind == SpeechEventKind::Final {
            if let Some((start, end)) = span(e) {
                if start + TIME_SLACK < final_start || end + TIME_SLACK < final_end {
                    problems.push(format!(
                        "Final {i} spans {start:?}..{end:?}, before an earlier Final \
                         ({final_start:?}..{final_end:?})"
                    ));
                }
                final_start = final_start.max(start);
                final_end = final_end.max(end);
            }
        }
    }
    problems
}

/// stt-5: `flush` yields a `Final` for the buffered speech and the stream stays open.
pub async fn check_flush(
    stt: &dyn Stt,
    audio: &AudioFrame,
    config: &SttSuiteConfig,
    report: &mut SuiteReport,
) {
    let name = "flush yields a Final and the stream stays open";
    let Some(stream) = super::open_or_record(
        config.timeouts.stream,
        stt.stream(&SttStreamOptions::default()),
        report,
        "stt-5",
        name,
    )
    .await
    else {
        return;
    };
    let frames = match fixtures::chunk(audio, config.frame_duration) {
        Ok(f) => f,
        Err(e) => {
            report.record("setup", "chunk fixture", Outcome::Failed(e.to_string()));
            return;
        }
    };
    let is_final = |e: &SpeechEvent| e.kind == SpeechEventKind::Final && !e.text().is_empty();
    let (mut input, events) = stream.split();
    let mut c = Collector::new(events, config.timeouts.event);
    let mut problems = Vec::new();
    for round in 1..=2 {
        let from = c.items.len();
        if let Some(e) = push_all(&mut input, &mut c, &frames, config).await {
            problems.push(format!("round {round}: push_frame failed: {e}"));
            break;
        }
        if let Err(e) = c.during(input.flush()).await {
            problems.push(format!("round {round}: flush failed: {e}"));
            break;
        }
        if c.until(from, config.timeouts.event, is_final)
            .await
            .is_none()
        {
            problems.push(format!(
                "round {round}: no non-empty Final within {:?} after flush{}",
                config.timeouts.event,
                if c.ended { " (the stream ended)" } else { "" }
            ));
            break;
        }
        if c.ended {
            problems.push(format!("round {round}: the stream ended after flush"));
            break;
        }
    }
    let _ = c.during(input.end_input()).await;
    let _ = c.read_to_end(config.timeouts.stream).await;
    problems.extend(c.errors().into_iter().map(|e| format!("got {e}")));
    report.record_problems("stt-5", name, problems);
}

/// stt-1: recordings in other formats are accepted at push and transcribed, streamed and with
/// `recognize`.
pub async fn check_formats(stt: &dyn Stt, config: &SttSuiteConfig, report: &mut SuiteReport) {
    if config.format_fixtures.is_empty() {
        report.record(
            "stt-1",
            "other formats are accepted",
            Outcome::Skipped("no format fixtures configured".into()),
        );
        return;
    }
    for fixture in &config.format_fixtures {
        let name = format!(
            "{} ({}) is accepted and transcribed",
            fixture,
            fixture.format()
        );
        let mut problems = Vec::new();
        let audio = match fixture.load() {
            Ok(a) => a,
            Err(e) => {
                report.record("stt-1", name, Outcome::Failed(e.to_string()));
                continue;
            }
        };
        match tokio::time::timeout(
            config.timeouts.stream,
            stt.recognize(&audio, &RecognizeOptions::default()),
        )
        .await
        {
            Err(_) => problems.push("recognize did not answer in time".into()),
            Ok(Err(e)) => problems.push(format!("recognize failed: {e}")),
            Ok(Ok(ev)) if ev.text().trim().is_empty() => {
                problems.push("recognize gave an empty transcript".into());
            }
            Ok(Ok(_)) => {}
        }
        match stream_once(stt, &audio, config).await {
            Ok(events) if finals_text(&events).is_empty() => {
                problems.push("the stream gave no non-empty Final".into());
            }
            Ok(_) => {}
            Err(why) => problems.push(why),
        }
        report.record_problems("stt-1", name, problems);
    }
}

/// Streams `audio` whole, ends the input and returns the events, or what went wrong.
async fn stream_once(
    stt: &dyn Stt,
    audio: &AudioFrame,
    config: &SttSuiteConfig,
) -> Result<Vec<SpeechEvent>, String> {
    let stream = super::open(
        config.timeouts.stream,
        stt.stream(&SttStreamOptions::default()),
    )
    .await
    .map_err(|e| format!("stream() failed: {e}"))?;
    let frames = fixtures::chunk(audio, config.frame_duration).map_err(|e| e.to_string())?;
    let (mut input, events) = stream.split();
    let mut c = Collector::new(events, config.timeouts.event);
    if let Some(e) = push_all(&mut input, &mut c, &frames, config).await {
        return Err(format!("push_frame failed: {e}"));
    }
    c.during(input.end_input())
        .await
        .map_err(|e| format!("end_input failed: {e}"))?;
    if !c.read_to_end(config.timeouts.stream).await {
        return Err("the stream did not end after end_input".into());
    }
    if let Some(e) = c.errors().into_iter().next() {
        return Err(format!("the stream failed: {e}"));
    }
    Ok(c.oks().cloned().collect())
}

/// stt-8: dropping the event half ends the provider's task within bounded time, observed as
/// the input half closing.
pub async fn check_drop(
    stt: &dyn Stt,
    audio: &AudioFrame,
    config: &SttSuiteConfig,
    report: &mut SuiteReport,
) {
    let name = "dropping the stream ends its task in bounded time";
    let Some(stream) = super::open_or_record(
        config.timeouts.stream,
        stt.stream(&SttStreamOptions::default()),
        report,
        "stt-8",
        name,
    )
    .await
    else {
        return;
    };
    let (mut input, events) = stream.split();
    let frames = fixtures::chunk(audio, config.frame_duration).unwrap_or_default();
    let mut c = Collector::new(events, config.timeouts.event);
    for f in frames.iter().take(10) {
        let _ = c.during(input.push_frame(f.clone())).await;
    }
    drop(c.into_stream());
    let silence = AudioFrame::silence(input.input_format(), config.frame_duration);
    let outcome = match silence {
        Err(e) => Outcome::Failed(e.to_string()),
        Ok(silence) => {
            let closed = tokio::time::timeout(config.timeouts.drop, async {
                loop {
                    if let Err(e) = input.push_frame(silence.clone()).await {
                        return e;
                    }
                    tokio::time::sleep(Duration::from_millis(5)).await;
                }
            })
            .await;
            match closed {
                Ok(e) if e.kind() == &ErrorKind::Closed => Outcome::Passed,
                Ok(e) => Outcome::Failed(format!("push after drop failed with {e}, not Closed")),
                Err(_) => Outcome::Failed(format!(
                    "the provider still took audio {:?} after its events were dropped",
                    config.timeouts.drop
                )),
            }
        }
    };
    report.record("stt-8", name, outcome);
}

/// Configuration of [`run_failing`]: the error a provider pointed at a failing emulator (or a
/// mock with an injected fault) must produce.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct SttFailingConfig {
    /// Bounded waits.
    pub timeouts: Timeouts,
    /// The recording sent.
    pub fixture: Fixture,
    /// The expected error.
    pub expected: ExpectedError,
    /// Check `recognize` (one call).
    pub check_recognize: bool,
    /// Check `stream` (one call).
    pub check_stream: bool,
}

impl SttFailingConfig {
    /// Expects `expected` from both `recognize` and `stream`.
    #[must_use]
    pub fn new(expected: ExpectedError) -> Self {
        SttFailingConfig {
            timeouts: Timeouts::default(),
            fixture: Fixture::Weather16k,
            expected,
            check_recognize: true,
            check_stream: true,
        }
    }

    /// Sets the bounded waits.
    #[must_use]
    pub fn with_timeouts(mut self, timeouts: Timeouts) -> Self {
        self.timeouts = timeouts;
        self
    }

    /// Sets the recording.
    #[must_use]
    pub fn with_fixture(mut self, fixture: Fixture) -> Self {
        self.fixture = fixture;
        self
    }

    /// Checks `recognize` or not.
    #[must_use]
    pub fn with_recognize(mut self, on: bool) -> Self {
        self.check_recognize = on;
        self
    }

    /// Checks `stream` or not.
    #[must_use]
    pub fn with_stream(mut self, on: bool) -> Self {
        self.check_stream = on;
        self
    }
}

/// Checks that a failing provider reports one classified error (stt-7, stt-9): `recognize`
/// returns the expected error, and a stream either fails to open with it or yields exactly one
/// `Err` with it, last, then ends.
pub async fn run_failing(stt: &dyn Stt, config: &SttFailingConfig) -> SuiteReport {
    let mut report = SuiteReport::new("stt-failing", stt.info().to_string());
    let audio = match config.fixture.load() {
        Ok(a) => a,
        Err(e) => {
            report.record("setup", "load fixture", Outcome::Failed(e.to_string()));
            return report;
        }
    };
    if config.check_recognize {
        let outcome = match tokio::time::timeout(
            config.timeouts.stream,
            stt.recognize(&audio, &RecognizeOptions::default()),
        )
        .await
        {
            Err(_) => Outcome::Failed("recognize did not answer in time".into()),
            Ok(Ok(ev)) => Outcome::Failed(format!(
                "recognize succeeded ({:?}) but an error was expected",
                ev.text()
            )),
            Ok(Err(e)) => match config.expected.matches(&e) {
                Ok(()) => Outcome::Passed,
                Err(why) => Outcome::Failed(why),
            },
        };
        report.record("stt-9", "recognize returns the classified error", outcome);
    }
    if config.check_stream {
        let outcome = match super::open(
            config.timeouts.stream,
            stt.stream(&SttStreamOptions::default()),
        )
        .await
        {
            Err(e) => match config.expected.matches(&e) {
                Ok(()) => Outcome::Passed,
                Err(why) => Outcome::Failed(why),
            },
            Ok(stream) => {
                let frames = fixtures::chunk(&audio, Duration::from_millis(20)).unwrap_or_default();
                let (mut input, events) = stream.split();
                let mut c = Collector::new(events, config.timeouts.event);
                for f in frames {
                    if c.during(input.push_frame(f)).await.is_err() {
                        break;
                    }
                }
                let _ = c.during(input.end_input()).await;
                let ended = c.read_to_end(config.timeouts.stream).await;
                failing_outcome(&c.items, ended, &config.expected)
            }
        };
        report.record(
            "stt-7",
            "an unrecoverable fault yields one classified Err, then the end",
            outcome,
        );
    }
    report
}

/// Judges the log of a stream expected to fail: exactly one `Err`, last, as expected.
pub(crate) fn failing_outcome<T>(
    items: &[agents_core::Result<T>],
    ended: bool,
    expected: &ExpectedError,
) -> Outcome {
    let errors: Vec<(usize, &agents_core::Error)> = items
        .iter()
        .enumerate()
        .filter_map(|(i, r)| r.as_ref().err().map(|e| (i, e)))
        .collect();
    match errors.as_slice() {
        [] => Outcome::Failed(format!(
            "the stream {} without an error ({} items)",
            if ended { "ended" } else { "stalled" },
            items.len()
        )),
        [(i, e)] if *i + 1 == items.len() => {
            if !ended {
                return Outcome::Failed("the stream did not end after its error".into());
            }
            match expected.matches(e) {
                Ok(()) => Outcome::Passed,
                Err(why) => Outcome::Failed(why),
            }
        }
        [(i, _)] => Outcome::Failed(format!(
            "the error was item {i} but {} items followed it",
            items.len() - i - 1
        )),
        many => Outcome::Failed(format!("{} errors, expected exactly one", many.len())),
    }
}
