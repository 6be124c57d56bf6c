//! The mocks' audio: a harmonic buzz generator and an energy-based speech segmenter.

use std::time::Duration;

use agents_core::{AudioFormat, AudioFrame, Error, Result};

/// Generates a harmonic buzz (a fundamental and three overtones) with short fades, so that the
/// audio is audible, not silence, and has no clicks at segment edges.
#[derive(Debug, Clone)]
pub(crate) struct Buzz {
    format: AudioFormat,
    frequency: f32,
    amplitude: f32,
}

impl Buzz {
    pub(crate) fn new(format: AudioFormat, frequency: f32, amplitude: f32) -> Self {
        Buzz {
            format,
            frequency,
            amplitude,
        }
    }

    /// `duration` of buzz split into frames of `frame` (the last may be shorter).
    pub(crate) fn frames(&self, duration: Duration, frame: Duration) -> Result<Vec<AudioFrame>> {
        let rate = self.format.sample_rate as f32;
        let total = self.format.frames_for(duration);
        let per = self.format.frames_for(frame).max(1);
        let fade = self.format.frames_for(Duration::from_millis(5)).max(1);
        let channels = usize::from(self.format.channels);
        let mut out = Vec::with_capacity(total.div_ceil(per));
        let mut samples = Vec::with_capacity(per * channels);
        for n in 0..total {
            let t = n as f32 / rate;
            let phase = std::f32::consts::TAU * self.frequency * t;
            let mut v = phase.sin()
                + 0.5 * (2.0 * phase).sin()
                + 0.33 * (3.0 * phase).sin()
                + 0.25 * (4.0 * phase).sin();
            v /= 2.08;
            let edge = n.min(total - 1 - n);
            if edge < fade {
                v *= edge as f32 / fade as f32;
            }
            let s = agents_core::audio::f32_to_i16(v * self.amplitude);
            samples.extend(std::iter::repeat_n(s, channels));
            if samples.len() == per * channels {
                out.push(AudioFrame::new(std::mem::take(&mut samples), self.format)?);
            }
        }
        if !samples.is_empty() {
            out.push(AudioFrame::new(samples, self.format)?);
        }
        Ok(out)
    }
}

/// Settings of the energy segmenter.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct EnergyConfig {
    pub(crate) threshold: f32,
    pub(crate) window: Duration,
    pub(crate) min_speech: Duration,
    pub(crate) min_silence: Duration,
    pub(crate) progress_every: Duration,
}

impl Default for EnergyConfig {
    fn default() -> Self {
        EnergyConfig {
            threshold: 0.02,
            window: Duration::from_millis(20),
            min_speech: Duration::from_millis(60),
            min_silence: Duration::from_millis(300),
            progress_every: Duration::from_millis(200),
        }
    }
}

impl EnergyConfig {
    pub(crate) fn validate(&self) -> Result<()> {
        if !(self.threshold > 0.0 && self.threshold <= 1.0) {
            return Err(Error::invalid_input(format!(
                "energy_threshold must be in (0, 1], got {}",
                self.threshold
            )));
        }
        if self.min_silence.is_zero() {
            return Err(Error::invalid_input("min_silence must be longer than zero"));
        }
        if self.progress_every.is_zero() {
            return Err(Error::invalid_input(
                "interim_interval must be longer than zero",
            ));
        }
        Ok(())
    }
}

/// What the segmenter found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Segment {
    /// Speech began at this time.
    Start(Duration),
    /// Speech that began at `start` goes on at `now`.
    Progress { start: Duration, now: Duration },
    /// Speech from `start` to `end` is over.
    End { start: Duration, end: Duration },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    Idle {
        loud: usize,
        since: Duration,
    },
    Speaking {
        start: Duration,
        last_loud_end: Duration,
        quiet: usize,
        next_progress: Duration,
    },
}

/// Marks speech by the RMS of fixed windows against a threshold. Times count from the first
/// sample pushed.
#[derive(Debug, Clone)]
pub(crate) struct EnergySegmenter {
    config: EnergyConfig,
    format: AudioFormat,
    window_samples: usize,
    buffer: Vec<i16>,
    windows: u64,
    state: State,
}

impl EnergySegmenter {
    pub(crate) fn new(format: AudioFormat, config: EnergyConfig) -> Self {
        let window_samples = format.samples_for(config.window).max(1);
        EnergySegmenter {
            config,
            format,
            window_samples,
            buffer: Vec::with_capacity(window_samples),
            windows: 0,
            state: State::Idle {
                loud: 0,
                since: Duration::ZERO,
            },
        }
    }

    fn window_duration(&self) -> Duration {
        self.format.duration_of(self.window_samples)
    }

    fn count(&self, d: Duration) -> usize {
        let w = self.window_duration().as_nanos().max(1);
        d.as_nanos().div_ceil(w) as usize
    }

    /// Time of the end of everything pushed so far.
    pub(crate) fn now(&self) -> Duration {
        self.window_duration() * self.windows as u32 + self.format.duration_of(self.buffer.len())
    }

    /// Feeds samples; returns what was found.
    pub(crate) fn push(&mut self, samples: &[i16]) -> Vec<Segment> {
        let mut out = Vec::new();
        let mut rest = samples;
        while !rest.is_empty() {
            let take = (self.window_samples - self.buffer.len()).min(rest.len());
            self.buffer.extend_from_slice(&rest[..take]);
            rest = &rest[take..];
            if self.buffer.len() == self.window_samples {
                let loud = agents_core::audio::rms(&self.buffer) >= self.config.threshold;
                self.buffer.clear();
                self.window(loud, &mut out);
            }
        }
        out
    }

    fn window(&mut self, loud: bool, out: &mut Vec<Segment>) {
        let w = self.window_duration();
        let start_of = w * self.windows as u32;
        self.windows += 1;
        let end_of = w * self.windows as u32;
        let min_speech = self.count(self.config.min_speech).max(1);
        let min_silence = self.count(self.config.min_silence).max(1);
        self.state = match self.state {
            State::Idle { loud: n, since } => {
                if !loud {
                    State::Idle {
                        loud: 0,
                        since: end_of,
                    }
                } else {
                    let since = if n == 0 { start_of } else { since };
                    if n + 1 >= min_speech {
                        out.push(Segment::Start(since));
                        State::Speaking {
                            start: since,
                            last_loud_end: end_of,
                            quiet: 0,
                            next_progress: since + self.config.progress_every,
                        }
                    } else {
                        State::Idle { loud: n + 1, since }
                    }
                }
            }
            State::Speaking {
                start,
                last_loud_end,
                quiet,
                mut next_progress,
            } => {
                if end_of >= next_progress {
                    out.push(Segment::Progress { start, now: end_of });
                    next_progress += self.config.progress_every;
                }
                if loud {
                    State::Speaking {
                        start,
                        last_loud_end: end_of,
                        quiet: 0,
                        next_progress,
                    }
                } else if quiet + 1 >= min_silence {
                    out.push(Segment::End {
                        start,
                        end: last_loud_end,
                    });
                    State::Idle {
                        loud: 0,
                        since: end_of,
                    }
                } else {
                    State::Speaking {
                        start,
                        last_loud_end,
                        quiet: quiet + 1,
                        next_progress,
                    }
                }
            }
        };
    }

    /// Ends the current speech, if any, as if silence followed (flush or end of input).
    pub(crate) fn flush(&mut self) -> Option<Segment> {
        let now = self.now();
        match std::mem::replace(
            &mut self.state,
            State::Idle {
                loud: 0,
                since: now,
            },
        ) {
            State::Speaking {
                start,
                last_loud_end,
                ..
            } => Some(Segment::End {
                start,
                end: last_loud_end,
            }),
            State::Idle { .. } => None,
        }
    }

    /// Runs over a whole buffer and returns the speech spans.
    pub(crate) fn spans(
        format: AudioFormat,
        config: EnergyConfig,
        samples: &[i16],
    ) -> Vec<(Duration, Duration)> {
        let mut seg = EnergySegmenter::new(format, config);
        let mut found: Vec<Segment> = seg.push(samples);
        found.extend(seg.flush());
        found
            .into_iter()
            .filter_map(|s| match s {
                Segment::End { start, end } => Some((start, end)),
                _ => None,
            })
            .collect()
    }
}

/// `"<speech 1.2s>"`: the text the mocks give for unscripted speech of `d`.
pub(crate) fn speech_label(d: Duration) -> String {
    format!("<speech {:.1}s>", d.as_secs_f64())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn buzz_is_audible_and_chunked() {
        let buzz = Buzz::new(AudioFormat::MONO_24K, 150.0, 0.3);
        let frames = buzz
            .frames(Duration::from_millis(110), Duration::from_millis(20))
            .unwrap();
        assert_eq!(frames.len(), 6);
        assert_eq!(frames[0].samples().len(), 480);
        assert_eq!(frames[5].samples().len(), 240);
        assert!(frames[2].rms() > 0.05);
    }

    #[test]
    fn segmenter_finds_one_span() {
        let f = AudioFormat::MONO_16K;
        let buzz = Buzz::new(f, 200.0, 0.3);
        let mut samples = vec![0i16; 8000];
        for fr in buzz
            .frames(Duration::from_millis(600), Duration::from_millis(20))
            .unwrap()
        {
            samples.extend_from_slice(fr.samples());
        }
        samples.extend(vec![0i16; 8000]);
        let spans = EnergySegmenter::spans(f, EnergyConfig::default(), &samples);
        assert_eq!(spans.len(), 1);
        let (s, e) = spans[0];
        assert!(
            s >= Duration::from_millis(480) && s <= Duration::from_millis(520),
            "{s:?}"
        );
        assert!(
            e >= Duration::from_millis(1060) && e <= Duration::from_millis(1120),
            "{e:?}"
        );
    }
}
