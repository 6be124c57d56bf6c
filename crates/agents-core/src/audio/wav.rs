//! WAV files in and out (via `hound`): any common PCM or float WAV in, 16-bit PCM out.

use std::io::{Cursor, Read, Seek, Write};
use std::path::Path;

use super::frame::{AudioFormat, AudioFrame, MAX_BUFFER_DURATION, f32_to_i16};
use crate::error::{Error, Result};

/// Reads a WAV file into a frame, converting 8/16/24/32-bit integer or 32-bit float samples to
/// s16. Errors name the path and the problem (missing file, not a WAV file, unsupported
/// sample format, truncated data). A file with no audio gives an empty frame.
///
/// ```
/// use agents_core::{AudioFormat, AudioFrame};
/// use agents_core::audio::{read_wav, write_wav};
///
/// let path = std::env::temp_dir().join(format!("agents-doc-{}.wav", std::process::id()));
/// let frame = AudioFrame::new(vec![0, 1000, -1000, 0], AudioFormat::MONO_16K).unwrap();
/// write_wav(&path, &frame).unwrap();
/// assert_eq!(read_wav(&path).unwrap(), frame);
/// std::fs::remove_file(&path).unwrap();
/// assert!(read_wav("/no/such/file.wav").is_err());
/// ```
pub fn read_wav(path: impl AsRef<Path>) -> Result<AudioFrame> {
    let path = path.as_ref();
    let file = std::fs::File::open(path).map_err(|e| {
        Error::from(std::io::Error::new(
            e.kind(),
            format!("cannot open WAV file {}: {e}", path.display()),
        ))
    })?;
    read(std::io::BufReader::new(file), &path.display().to_string())
}

/// Reads WAV data from any reader into a frame; see [`read_wav`].
pub fn read_wav_from<R: Read>(reader: R) -> Result<AudioFrame> {
    read(reader, "WAV data")
}

fn read<R: Read>(reader: R, what: &str) -> Result<AudioFrame> {
    let mut wav = hound::WavReader::new(reader).map_err(|e| header_error(e, what))?;
    let spec = wav.spec();
    let format = AudioFormat::new(spec.sample_rate, spec.channels)
        .map_err(|e| Error::invalid_input(format!("{what}: {}", e.message())))?;
    let total = wav.len() as usize;
    if total > format.samples_for(MAX_BUFFER_DURATION) {
        return Err(Error::invalid_input(format!(
            "{what}: {total} samples is longer than the {} s limit",
            MAX_BUFFER_DURATION.as_secs()
        )));
    }
    // The header's length is only a claim: cap the up-front reservation.
    let mut out: Vec<i16> = Vec::with_capacity(total.min(1 << 20));
    let sample_error = |e: hound::Error| match e {
        hound::Error::IoError(io) if is_short_read(&io) => Error::invalid_input(format!(
            "{what} is truncated: the data chunk ends before its declared {total} samples"
        )),
        other => Error::invalid_input(format!("{what}: cannot read samples: {other}")),
    };
    match (spec.sample_format, spec.bits_per_sample) {
        (hound::SampleFormat::Int, bits @ (8 | 16 | 24 | 32)) => {
            for s in wav.samples::<i32>() {
                out.push(int_to_i16(s.map_err(sample_error)?, bits));
            }
        }
        (hound::SampleFormat::Float, 32) => {
            for s in wav.samples::<f32>() {
                out.push(f32_to_i16(s.map_err(sample_error)?));
            }
        }
        (hound::SampleFormat::Int, bits) => {
            return Err(Error::invalid_input(format!(
                "{what}: unsupported {bits}-bit integer samples (8, 16, 24 and 32 are supported)"
            )));
        }
        (hound::SampleFormat::Float, bits) => {
            return Err(Error::invalid_input(format!(
                "{what}: unsupported {bits}-bit float samples (32 is supported)"
            )));
        }
    }
    if out.len() != total {
        return Err(Error::invalid_input(format!(
            "{what} is truncated: {} of {total} samples present",
            out.len()
        )));
    }
    AudioFrame::new(out, format)
}

/// A read that ran out of data. hound reports a short data chunk as
/// `Other("Failed to read enough bytes.")` rather than `UnexpectedEof`.
fn is_short_read(io: &std::io::Error) -> bool {
    io.kind() == std::io::ErrorKind::UnexpectedEof || io.to_string().contains("enough bytes")
}

fn header_error(e: hound::Error, what: &str) -> Error {
    match e {
        hound::Error::IoError(io) if is_short_read(&io) => Error::invalid_input(format!(
            "{what} is truncated or not a WAV file (header ends early)"
        )),
        hound::Error::IoError(io) => {
            Error::invalid_input(format!("{what}: cannot read: {io}")).with_source(io)
        }
        hound::Error::FormatError(reason) => Error::invalid_input(format!(
            "{what} is not a WAV file or is malformed: {reason}"
        )),
        hound::Error::Unsupported => Error::invalid_input(format!(
            "{what}: unsupported WAV encoding (only PCM integer and 32-bit float are read)"
        )),
        other => Error::invalid_input(format!("{what}: {other}")),
    }
}

/// Scales an integer sample of `bits` bits to 16 bits (rounding, saturating).
fn int_to_i16(v: i32, bits: u16) -> i16 {
    match bits {
        8 => (v << 8).clamp(i32::from(i16::MIN), i32::from(i16::MAX)) as i16,
        16 => v.clamp(i32::from(i16::MIN), i32::from(i16::MAX)) as i16,
        _ => {
            let shift = u32::from(bits.saturating_sub(16)).min(31);
            let rounded = (i64::from(v) + (1i64 << (shift - 1).min(62))) >> shift;
            rounded.clamp(i64::from(i16::MIN), i64::from(i16::MAX)) as i16
        }
    }
}

fn spec(frame: &AudioFrame) -> hound::WavSpec {
    hound::WavSpec {
        channels: frame.channels(),
        sample_rate: frame.sample_rate(),
        bits_per_sample: 16,
        sample_format: hound::SampleFormat::Int,
    }
}

fn write_error(e: hound::Error, what: &str) -> Error {
    match e {
        hound::Error::IoError(io) => {
            let text = format!("{what}: cannot write: {io}");
            Error::from(io).with_provider_message(text)
        }
        other => Error::invalid_input(format!("{what}: cannot write WAV: {other}")),
    }
}

/// Writes a frame as a 16-bit PCM WAV file (created or truncated).
pub fn write_wav(path: impl AsRef<Path>, frame: &AudioFrame) -> Result<()> {
    let path = path.as_ref();
    let what = path.display().to_string();
    let file = std::fs::File::create(path).map_err(|e| {
        Error::from(std::io::Error::new(
            e.kind(),
            format!("cannot create WAV file {what}: {e}"),
        ))
    })?;
    write(std::io::BufWriter::new(file), frame, &what)
}

/// Writes a frame as 16-bit PCM WAV to any seekable writer.
pub fn write_wav_to<W: Write + Seek>(writer: W, frame: &AudioFrame) -> Result<()> {
    write(writer, frame, "WAV output")
}

fn write<W: Write + Seek>(writer: W, frame: &AudioFrame, what: &str) -> Result<()> {
    // A RIFF size field is 32 bits.
    let data_bytes = frame.samples().len() as u64 * 2;
    if data_bytes > u64::from(u32::MAX) - 64 {
        return Err(Error::invalid_input(format!(
            "{what}: {} of audio is too long for a WAV file (4 GiB limit)",
            frame.format()
        )));
    }
    let mut w = hound::WavWriter::new(writer, spec(frame)).map_err(|e| write_error(e, what))?;
    for chunk in frame.samples().chunks(WRITE_CHUNK) {
        // `chunk.len()` is at most WRITE_CHUNK, so it fits in u32.
        let mut s = w.get_i16_writer(chunk.len() as u32);
        for &x in chunk {
            s.write_sample(x);
        }
        s.flush().map_err(|e| write_error(e, what))?;
    }
    w.finalize().map_err(|e| write_error(e, what))
}

/// Samples handed to hound per buffered write.
const WRITE_CHUNK: usize = 8_192;

/// A frame as the bytes of a 16-bit PCM WAV file.
///
/// ```
/// use agents_core::{AudioFormat, AudioFrame};
/// use agents_core::audio::{read_wav_from, wav_bytes};
///
/// let frame = AudioFrame::new(vec![1, -1, 2, -2], AudioFormat::new(8_000, 2).unwrap()).unwrap();
/// let bytes = wav_bytes(&frame).unwrap();
/// assert_eq!(&bytes[..4], b"RIFF");
/// assert_eq!(read_wav_from(&bytes[..]).unwrap(), frame);
/// assert!(read_wav_from(&b"not a wav file at all"[..]).is_err());
/// ```
pub fn wav_bytes(frame: &AudioFrame) -> Result<Vec<u8>> {
    let mut cursor = Cursor::new(Vec::with_capacity(44 + frame.samples().len() * 2));
    write_wav_to(&mut cursor, frame)?;
    Ok(cursor.into_inner())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn temp_path(tag: &str) -> std::path::PathBuf {
        use std::sync::atomic::{AtomicU32, Ordering};
        static N: AtomicU32 = AtomicU32::new(0);
        std::env::temp_dir().join(format!(
            "agents-core-wav-{}-{}-{tag}.wav",
            std::process::id(),
            N.fetch_add(1, Ordering::Relaxed)
        ))
    }

    fn write_with_hound<S: hound::Sample + Copy>(spec: hound::WavSpec, samples: &[S]) -> Vec<u8> {
        let mut cursor = Cursor::new(Vec::new());
        {
            let mut w = hound::WavWriter::new(&mut cursor, spec).unwrap();
            for &s in samples {
                w.write_sample(s).unwrap();
            }
            w.finalize().unwrap();
        }
        cursor.into_inner()
    }

    #[test]
    fn round_trip_bytes_and_file() {
        let stereo = AudioFormat::new(44_100, 2).unwrap();
        let samples: Vec<i16> = (0..882)
            .map(|i| ((i * 797) % 65_536 - 32_768) as i16)
            .collect();
        let frame = AudioFrame::new(samples, stereo).unwrap();
        let bytes = wav_bytes(&frame).unwrap();
        assert_eq!(bytes.len(), 44 + 882 * 2);
        assert_eq!(read_wav_from(&bytes[..]).unwrap(), frame);

        let path = temp_path("rt");
        write_wav(&path, &frame).unwrap();
        let back = read_wav(&path).unwrap();
        std::fs::remove_file(&path).unwrap();
        assert_eq!(back, frame);
    }

    #[test]
    fn empty_data_is_an_empty_frame() {
        let empty = AudioFrame::empty(AudioFormat::MONO_16K).unwrap();
        let bytes = wav_bytes(&empty).unwrap();
        let back = read_wav_from(&bytes[..]).unwrap();
        assert!(back.is_empty());
        assert_eq!(back.format(), AudioFormat::MONO_16K);
    }

    #[test]
    fn converts_24_bit_8_bit_32_bit_and_float() {
        let spec = |bits, fmt| hound::WavSpec {
            channels: 1,
            sample_rate: 16_000,
            bits_per_sample: bits,
            sample_format: fmt,
        };
        let b24 = write_with_hound(
            spec(24, hound::SampleFormat::Int),
            &[0i32, 8_388_607, -8_388_608, 256, -256, 1 << 16],
        );
        let f = read_wav_from(&b24[..]).unwrap();
        assert_eq!(f.samples(), &[0, i16::MAX, i16::MIN, 1, -1, 256]);

        let b32 = write_with_hound(
            spec(32, hound::SampleFormat::Int),
            &[i32::MAX, i32::MIN, 1 << 16],
        );
        assert_eq!(
            read_wav_from(&b32[..]).unwrap().samples(),
            &[i16::MAX, i16::MIN, 1]
        );

        let b8 = write_with_hound(spec(8, hound::SampleFormat::Int), &[0i8, 127, -128, 1]);
        assert_eq!(
            read_wav_from(&b8[..]).unwrap().samples(),
            &[0, 127 << 8, i16::MIN, 256]
        );

        let bf = write_with_hound(
            spec(32, hound::SampleFormat::Float),
            &[0.0f32, 0.5, -0.5, 1.0, -1.0, 2.0],
        );
        assert_eq!(
            read_wav_from(&bf[..]).unwrap().samples(),
            &[0, 16_384, -16_384, i16::MAX, i16::MIN, i16::MAX]
        );
    }

    #[test]
    fn rejects_garbage_missing_truncated_and_unsupported() {
        let err = read_wav_from(&b"RIFF....WAVEjunkjunkjunk"[..]).unwrap_err();
        assert!(err.message().contains("WAV"), "{err}");
        assert!(read_wav_from(&[][..]).is_err());
        assert!(read_wav_from(&[0u8; 100][..]).is_err());

        let path = temp_path("missing");
        let err = read_wav(&path).unwrap_err();
        assert!(
            err.to_string().contains(&path.display().to_string()),
            "{err}"
        );

        let path = temp_path("garbage");
        std::fs::write(&path, b"this is not audio").unwrap();
        let err = read_wav(&path).unwrap_err();
        std::fs::remove_file(&path).unwrap();
        assert!(err.message().contains(&path.display().to_string()), "{err}");
        assert!(err.message().contains("not a WAV file"), "{err}");

        // Cut the data chunk short.
        let frame = AudioFrame::new(vec![5; 100], AudioFormat::MONO_8K).unwrap();
        let bytes = wav_bytes(&frame).unwrap();
        let err = read_wav_from(&bytes[..bytes.len() - 50]).unwrap_err();
        assert!(err.message().contains("truncated"), "{err}");

        // 12 bits used in 16-bit containers (WAVE_FORMAT_EXTENSIBLE, which hound cannot
        // write, so the header is built by hand).
        let mut b12 = Vec::new();
        b12.extend_from_slice(b"RIFF");
        b12.extend_from_slice(&(4u32 + 8 + 40 + 8 + 8).to_le_bytes());
        b12.extend_from_slice(b"WAVEfmt ");
        b12.extend_from_slice(&40u32.to_le_bytes());
        b12.extend_from_slice(&0xFFFEu16.to_le_bytes()); // extensible
        b12.extend_from_slice(&1u16.to_le_bytes()); // channels
        b12.extend_from_slice(&8_000u32.to_le_bytes()); // rate
        b12.extend_from_slice(&16_000u32.to_le_bytes()); // byte rate
        b12.extend_from_slice(&2u16.to_le_bytes()); // block align
        b12.extend_from_slice(&16u16.to_le_bytes()); // container bits
        b12.extend_from_slice(&22u16.to_le_bytes()); // cbSize
        b12.extend_from_slice(&12u16.to_le_bytes()); // valid bits
        b12.extend_from_slice(&4u32.to_le_bytes()); // channel mask
        b12.extend_from_slice(&[
            0x01, 0x00, 0x00, 0x00, 0x00, 0x00, 0x10, 0x00, 0x80, 0x00, 0x00, 0xAA, 0x00, 0x38,
            0x9B, 0x71,
        ]); // KSDATAFORMAT_SUBTYPE_PCM
        b12.extend_from_slice(b"data");
        b12.extend_from_slice(&8u32.to_le_bytes());
        b12.extend_from_slice(&[0u8; 8]);
        let err = read_wav_from(&b12[..]).unwrap_err();
        assert!(err.message().contains("unsupported 12-bit"), "{err}");

        // A header with zero channels or an absurd rate.
        let mut bad = wav_bytes(&frame).unwrap();
        bad[24..28].copy_from_slice(&0u32.to_le_bytes()); // sample rate 0
        bad[28..32].copy_from_slice(&0u32.to_le_bytes()); // byte rate 0, to stay consistent
        assert!(read_wav_from(&bad[..]).is_err());
    }

    #[test]
    fn write_to_a_bad_path_is_an_error() {
        let frame = AudioFrame::new(vec![0; 4], AudioFormat::MONO_8K).unwrap();
        let err = write_wav("/nonexistent-dir-agents/x.wav", &frame).unwrap_err();
        assert!(err.to_string().contains("nonexistent-dir-agents"), "{err}");
    }
}
