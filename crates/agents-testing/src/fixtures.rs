//! Speech fixtures: short real recordings of English sentences, committed as WAV files and
//! embedded in the crate, so that a dependent crate loads them without knowing any path.
//!
//! The recordings were made with espeak-ng and sox by `fixtures/make-fixtures.sh` (kept for
//! reproducibility; nobody needs to run it). Every file is 16-bit PCM.
//!
//! | fixture | file | format | text |
//! | --- | --- | --- | --- |
//! | [`Fixture::Weather16k`] | `weather_16k.wav` | 16 kHz mono | "What is the weather in Paris today?" |
//! | [`Fixture::BookTable16k`] | `book_table_16k.wav` | 16 kHz mono | "Please book a table for two at seven." |
//! | [`Fixture::Hello48k`] | `hello_48k.wav` | 48 kHz mono | "Hello, can you hear me?" |
//! | [`Fixture::HelloStereo44k`] | `hello_stereo_44k.wav` | 44.1 kHz stereo | "Hello, can you hear me?" |
//! | [`Fixture::HelloPadded16k`] | `hello_padded_16k.wav` | 16 kHz mono | "Hello, can you hear me?" with 0.5 s of silence before and after (for VAD tests) |
//!
//! ```
//! use agents_testing::fixtures::{self, Fixture};
//!
//! let audio = fixtures::load(Fixture::Weather16k).unwrap();
//! assert_eq!(audio.sample_rate(), 16_000);
//! assert_eq!(Fixture::Weather16k.text(), "What is the weather in Paris today?");
//! assert!(audio.duration() > std::time::Duration::from_secs(1));
//! assert!(fixtures::path("weather_16k.wav").exists());
//! ```

use std::io::Cursor;
use std::path::PathBuf;
use std::time::Duration;

use agents_core::{AudioFormat, AudioFrame, Error, Result};

/// One of the committed speech recordings.
#[non_exhaustive]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Fixture {
    /// "What is the weather in Paris today?", 16 kHz mono.
    Weather16k,
    /// "Please book a table for two at seven.", 16 kHz mono.
    BookTable16k,
    /// "Hello, can you hear me?", 48 kHz mono.
    Hello48k,
    /// "Hello, can you hear me?", 44.1 kHz stereo.
    HelloStereo44k,
    /// "Hello, can you hear me?", 16 kHz mono, with 0.5 s of silence before and after.
    HelloPadded16k,
}

const WEATHER: &str = "What is the weather in Paris today?";
const BOOK_TABLE: &str = "Please book a table for two at seven.";
const HELLO: &str = "Hello, can you hear me?";

impl Fixture {
    /// Every fixture.
    pub const ALL: [Fixture; 5] = [
        Fixture::Weather16k,
        Fixture::BookTable16k,
        Fixture::Hello48k,
        Fixture::HelloStereo44k,
        Fixture::HelloPadded16k,
    ];

    /// The file name under `fixtures/`.
    #[must_use]
    pub fn file_name(&self) -> &'static str {
        match self {
            Fixture::Weather16k => "weather_16k.wav",
            Fixture::BookTable16k => "book_table_16k.wav",
            Fixture::Hello48k => "hello_48k.wav",
            Fixture::HelloStereo44k => "hello_stereo_44k.wav",
            Fixture::HelloPadded16k => "hello_padded_16k.wav",
        }
    }

    /// The fixture with file name `name`, if any.
    #[must_use]
    pub fn from_file_name(name: &str) -> Option<Fixture> {
        Self::ALL.into_iter().find(|f| f.file_name() == name)
    }

    /// The sentence spoken in the recording.
    #[must_use]
    pub fn text(&self) -> &'static str {
        match self {
            Fixture::Weather16k => WEATHER,
            Fixture::BookTable16k => BOOK_TABLE,
            Fixture::Hello48k | Fixture::HelloStereo44k | Fixture::HelloPadded16k => HELLO,
        }
    }

    /// The recording's format.
    #[must_use]
    pub fn format(&self) -> AudioFormat {
        match self {
            Fixture::Weather16k | Fixture::BookTable16k | Fixture::HelloPadded16k => {
                AudioFormat::MONO_16K
            }
            Fixture::Hello48k => AudioFormat::MONO_48K,
            Fixture::HelloStereo44k => AudioFormat {
                sample_rate: 44_100,
                channels: 2,
            },
        }
    }

    /// Silence before the speech (and after it), for VAD tests.
    #[must_use]
    pub fn padding(&self) -> Duration {
        match self {
            Fixture::HelloPadded16k => Duration::from_millis(500),
            _ => Duration::ZERO,
        }
    }

    /// The WAV file's bytes, embedded in the crate.
    #[must_use]
    pub fn wav_bytes(&self) -> &'static [u8] {
        match self {
            Fixture::Weather16k => include_bytes!("../fixtures/weather_16k.wav"),
            Fixture::BookTable16k => include_bytes!("../fixtures/book_table_16k.wav"),
            Fixture::Hello48k => include_bytes!("../fixtures/hello_48k.wav"),
            Fixture::HelloStereo44k => include_bytes!("../fixtures/hello_stereo_44k.wav"),
            Fixture::HelloPadded16k => include_bytes!("../fixtures/hello_padded_16k.wav"),
        }
    }

    /// The path of the WAV file in this crate's source tree (useful for CLI examples; tests
    /// should prefer [`Fixture::load`], which needs no file system).
    #[must_use]
    pub fn path(&self) -> PathBuf {
        path(self.file_name())
    }

    /// Decodes the recording.
    pub fn load(&self) -> Result<AudioFrame> {
        decode_wav(self.wav_bytes())
            .map_err(|e| Error::invalid_input(format!("fixture {}: {e}", self.file_name())))
    }
}

impl std::fmt::Display for Fixture {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.file_name())
    }
}

/// The path of fixture file `name` (for example `"weather_16k.wav"`) in this crate's source
/// tree. The file exists for every name in [`Fixture::file_name`].
#[must_use]
pub fn path(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("fixtures")
        .join(name)
}

/// Decodes `fixture` into one [`AudioFrame`] in the recording's format.
pub fn load(fixture: Fixture) -> Result<AudioFrame> {
    fixture.load()
}

/// Decodes a WAV file held in memory with the core's reader
/// ([`agents_core::audio::read_wav_from`]); a malformed file is an `InvalidInput` error.
pub fn decode_wav(bytes: &[u8]) -> Result<AudioFrame> {
    agents_core::audio::read_wav_from(Cursor::new(bytes))
}

/// Splits `audio` into frames of `duration` (the last one may be shorter), as a transport
/// would deliver it.
///
/// ```
/// use agents_testing::fixtures::{chunk, Fixture};
/// use std::time::Duration;
///
/// let audio = Fixture::Weather16k.load().unwrap();
/// let frames = chunk(&audio, Duration::from_millis(20)).unwrap();
/// assert_eq!(frames[0].samples().len(), 320);
/// ```
pub fn chunk(audio: &AudioFrame, duration: Duration) -> Result<Vec<AudioFrame>> {
    let per = audio.format().samples_for(duration);
    if per == 0 {
        return Err(Error::invalid_input(format!(
            "a chunk of {duration:?} holds no samples at {}",
            audio.format()
        )));
    }
    audio
        .samples()
        .chunks(per)
        .map(|c| AudioFrame::new(c.to_vec(), audio.format()))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_fixture_loads_in_its_declared_format() {
        for f in Fixture::ALL {
            let audio = f.load().unwrap();
            assert_eq!(audio.format(), f.format(), "{f}");
            assert!(audio.duration() > Duration::from_millis(800), "{f}");
            assert!(audio.duration() < Duration::from_secs(5), "{f}");
            assert!(audio.rms() > 0.02, "{f} should be audible speech");
            assert!(f.path().exists(), "{f}");
            assert_eq!(Fixture::from_file_name(f.file_name()), Some(f));
        }
    }

    #[test]
    fn padded_fixture_starts_and_ends_silent() {
        let audio = Fixture::HelloPadded16k.load().unwrap();
        let pad = audio.format().samples_for(Duration::from_millis(400));
        let samples = audio.samples();
        assert!(agents_core::audio::rms(&samples[..pad]) < 0.001);
        assert!(agents_core::audio::rms(&samples[samples.len() - pad..]) < 0.001);
    }

    #[test]
    fn texts_match_the_generating_script() {
        let script = std::fs::read_to_string(path("make-fixtures.sh")).unwrap();
        for f in Fixture::ALL {
            let line = script
                .lines()
                .find(|l| l.contains(f.file_name()))
                .unwrap_or_else(|| panic!("{f} is not made by the script"));
            assert!(line.contains(&format!("\"{}\"", f.text())), "{f}: {line}");
        }
    }

    #[test]
    fn bad_wav_is_an_error() {
        assert!(decode_wav(b"RIFF....WAVE").is_err());
        assert!(decode_wav(&[]).is_err());
    }
}
