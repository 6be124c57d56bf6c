//! The voice-activity suite: rules vad-1 and vad-3 of the contract, with a reference
//! hysteresis (start after [`VadSuiteConfig::min_speech`] above the threshold, end after
//! [`VadSuiteConfig::min_silence`] below).
//!
//! ```no_run
//! use agents_testing::conformance::vad::{self, VadSuiteConfig};
//!
//! # fn demo(my_vad: &mut dyn agents_core::Vad) {
//! vad::run(my_vad, &VadSuiteConfig::default()).assert_passed();
//! # }
//! ```

use std::time::Duration;

use agents_core::{AudioFrame, ErrorKind, Vad};

use super::{Outcome, SuiteReport};
use crate::fixtures::Fixture;

/// Configuration of the voice-activity suite.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct VadSuiteConfig {
    /// A recording with silence before and after one utterance.
    pub fixture: Fixture,
    /// The probability above which a frame counts as speech.
    pub threshold: f32,
    /// Speech needed before a start.
    pub min_speech: Duration,
    /// Silence needed before an end.
    pub min_silence: Duration,
    /// How far the start may be from the end of the fixture's leading silence.
    pub start_tolerance: Duration,
}

impl Default for VadSuiteConfig {
    fn default() -> Self {
        VadSuiteConfig {
            fixture: Fixture::HelloPadded16k,
            threshold: 0.5,
            min_speech: Duration::from_millis(60),
            min_silence: Duration::from_millis(400),
            start_tolerance: Duration::from_millis(250),
        }
    }
}

impl VadSuiteConfig {
    /// Sets the recording (it should have silence around one utterance).
    #[must_use]
    pub fn with_fixture(mut self, fixture: Fixture) -> Self {
        self.fixture = fixture;
        self
    }

    /// Sets the speech threshold.
    #[must_use]
    pub fn with_threshold(mut self, threshold: f32) -> Self {
        self.threshold = threshold;
        self
    }

    /// Sets the minimum speech and silence durations.
    #[must_use]
    pub fn with_durations(mut self, min_speech: Duration, min_silence: Duration) -> Self {
        self.min_speech = min_speech;
        self.min_silence = min_silence;
        self
    }
}

/// Runs the rules against `vad` and reports each one. The detector is reset between runs.
pub fn run(vad: &mut dyn Vad, config: &VadSuiteConfig) -> SuiteReport {
    let mut report = SuiteReport::new("vad", "vad");
    let format = vad.input_format();
    let size = vad.frame_samples() * usize::from(format.channels);
    if size == 0 {
        report.record(
            "vad-1",
            "frame size",
            Outcome::Failed("frame size 0".into()),
        );
        return report;
    }
    let frame_time = format.duration_of(size);

    let wrong = vec![0i16; size + usize::from(format.channels)];
    report.record(
        "vad-1",
        "a frame of the wrong size is an InvalidInput error",
        match vad.speech_probability(&wrong) {
            Err(e) if e.kind() == &ErrorKind::InvalidInput => Outcome::Passed,
            Err(e) => Outcome::Failed(format!("expected InvalidInput, got {e}")),
            Ok(p) => Outcome::Failed(format!("a wrong-size frame gave probability {p}")),
        },
    );

    vad.reset();
    let silence = vec![0i16; size * 200];
    match probabilities(vad, &silence, size) {
        Err(why) => report.record("vad-3", "silence gives no speech", Outcome::Failed(why)),
        Ok(p) => {
            let (starts, _) = segments(&p, config, frame_time);
            report.record(
                "vad-3",
                "silence gives no speech",
                if starts.is_empty() {
                    Outcome::Passed
                } else {
                    Outcome::Failed(format!("{} speech starts in silence", starts.len()))
                },
            );
        }
    }

    vad.reset();
    let audio = match config.fixture.load().and_then(|a| convert(&a, format)) {
        Ok(a) => a,
        Err(e) => {
            report.record("setup", "load fixture", Outcome::Failed(e.to_string()));
            return report;
        }
    };
    let name = format!("{} gives exactly one start and one end", config.fixture);
    match probabilities(vad, audio.samples(), size) {
        Err(why) => report.record("vad-3", name, Outcome::Failed(why)),
        Ok(p) => {
            let mut problems = Vec::new();
            if let Some((i, v)) = p
                .iter()
                .enumerate()
                .find(|(_, v)| !(0.0..=1.0).contains(*v))
            {
                problems.push(format!("frame {i} has probability {v}, outside [0, 1]"));
            }
            let (starts, ends) = segments(&p, config, frame_time);
            if starts.len() != 1 || ends.len() != 1 {
                problems.push(format!(
                    "{} starts at {starts:?} and {} ends at {ends:?}",
                    starts.len(),
                    ends.len()
                ));
            } else if starts[0].abs_diff(config.fixture.padding()) > config.start_tolerance {
                problems.push(format!(
                    "speech starts at {:?}, the recording's speech at {:?}",
                    starts[0],
                    config.fixture.padding()
                ));
            }
            report.record_problems("vad-3", name, problems);
        }
    }
    vad.reset();
    report
}

fn convert(
    audio: &AudioFrame,
    format: agents_core::AudioFormat,
) -> agents_core::Result<AudioFrame> {
    if audio.format() == format {
        Ok(audio.clone())
    } else {
        agents_core::audio::resample(audio, format)
    }
}

fn probabilities(vad: &mut dyn Vad, samples: &[i16], size: usize) -> Result<Vec<f32>, String> {
    samples
        .chunks_exact(size)
        .enumerate()
        .map(|(i, f)| {
            vad.speech_probability(f)
                .map_err(|e| format!("frame {i} failed: {e}"))
        })
        .collect()
}

/// Start and end times from probabilities with the reference hysteresis.
fn segments(
    probs: &[f32],
    config: &VadSuiteConfig,
    frame: Duration,
) -> (Vec<Duration>, Vec<Duration>) {
    let frames = |d: Duration| (d.as_nanos().div_ceil(frame.as_nanos().max(1)) as usize).max(1);
    let (need_speech, need_silence) = (frames(config.min_speech), frames(config.min_silence));
    let (mut starts, mut ends) = (Vec::new(), Vec::new());
    let (mut speaking, mut run, mut run_start) = (false, 0usize, 0usize);
    for (i, p) in probs.iter().enumerate() {
        let loud = *p > config.threshold;
        if loud != speaking {
            if run == 0 {
                run_start = i;
            }
            run += 1;
        } else {
            run = 0;
        }
        if !speaking && run >= need_speech {
            speaking = true;
            starts.push(frame * run_start as u32);
            run = 0;
        } else if speaking && run >= need_silence {
            speaking = false;
            ends.push(frame * run_start as u32);
            run = 0;
        }
    }
    if speaking {
        ends.push(frame * probs.len() as u32);
    }
    (starts, ends)
}
