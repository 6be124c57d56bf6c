//! G.711 mu-law and A-law (telephony: 8 kHz mono, one byte per sample), on
//! `audio-codec-algorithms` (bit-exact with the ITU G.191 reference tools).

use audio_codec_algorithms::{decode_alaw, decode_ulaw, encode_alaw, encode_ulaw};

use super::frame::{AudioFormat, AudioFrame};
use crate::error::Result;

/// Encodes s16 samples to G.711 mu-law bytes.
///
/// ```
/// use agents_core::audio::{mulaw_decode, mulaw_encode};
///
/// let bytes = mulaw_encode(&[0, 1000, -1000]);
/// assert_eq!(bytes[0], 0xFF); // silence
/// let back = mulaw_decode(&bytes);
/// assert_eq!(back[0], 0);
/// assert!((back[1] - 1000).abs() < 40);
/// ```
#[must_use]
pub fn mulaw_encode(samples: &[i16]) -> Vec<u8> {
    let mut out = Vec::with_capacity(samples.len());
    mulaw_encode_into(samples, &mut out);
    out
}

/// Encodes s16 samples to mu-law, appending to `out`.
pub fn mulaw_encode_into(samples: &[i16], out: &mut Vec<u8>) {
    out.extend(samples.iter().map(|&s| encode_ulaw(s)));
}

/// Decodes G.711 mu-law bytes to s16 samples.
#[must_use]
pub fn mulaw_decode(bytes: &[u8]) -> Vec<i16> {
    let mut out = Vec::with_capacity(bytes.len());
    mulaw_decode_into(bytes, &mut out);
    out
}

/// Decodes mu-law bytes, appending the s16 samples to `out`.
pub fn mulaw_decode_into(bytes: &[u8], out: &mut Vec<i16>) {
    out.extend(bytes.iter().map(|&b| decode_ulaw(b)));
}

/// Decodes mu-law bytes into an 8 kHz mono frame (the telephony format).
///
/// ```
/// use agents_core::AudioFormat;
/// use agents_core::audio::mulaw_to_frame;
///
/// let frame = mulaw_to_frame(&[0xFF; 160]).unwrap();
/// assert_eq!(frame.format(), AudioFormat::MONO_8K);
/// assert_eq!(frame.duration().as_millis(), 20);
/// ```
pub fn mulaw_to_frame(bytes: &[u8]) -> Result<AudioFrame> {
    AudioFrame::new(mulaw_decode(bytes), AudioFormat::MONO_8K)
}

/// Encodes s16 samples to G.711 A-law bytes.
///
/// ```
/// use agents_core::audio::{alaw_decode, alaw_encode};
///
/// let bytes = alaw_encode(&[0, 1000, -1000]);
/// assert_eq!(bytes[0], 0xD5); // A-law's "zero"
/// let back = alaw_decode(&bytes);
/// assert_eq!(back[0], 8);
/// assert!((back[1] - 1000).abs() < 40);
/// ```
#[must_use]
pub fn alaw_encode(samples: &[i16]) -> Vec<u8> {
    let mut out = Vec::with_capacity(samples.len());
    alaw_encode_into(samples, &mut out);
    out
}

/// Encodes s16 samples to A-law, appending to `out`.
pub fn alaw_encode_into(samples: &[i16], out: &mut Vec<u8>) {
    out.extend(samples.iter().map(|&s| encode_alaw(s)));
}

/// Decodes G.711 A-law bytes to s16 samples.
#[must_use]
pub fn alaw_decode(bytes: &[u8]) -> Vec<i16> {
    let mut out = Vec::with_capacity(bytes.len());
    alaw_decode_into(bytes, &mut out);
    out
}

/// Decodes A-law bytes, appending the s16 samples to `out`.
pub fn alaw_decode_into(bytes: &[u8], out: &mut Vec<i16>) {
    out.extend(bytes.iter().map(|&b| decode_alaw(b)));
}

/// Decodes A-law bytes into an 8 kHz mono frame (the telephony format).
pub fn alaw_to_frame(bytes: &[u8]) -> Result<AudioFrame> {
    AudioFrame::new(alaw_decode(bytes), AudioFormat::MONO_8K)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Half the G.711 quantisation step around `x`, plus a little: the steps grow with the
    /// magnitude (mu-law: 8 s16 units in the first segment, doubling per segment; A-law: 16
    /// in the first two), so half a step is about `(|x| + 132) / 32`.
    fn g711_bound(x: i16) -> i32 {
        5 + (i32::from(x).abs() + 132) / 32
    }

    #[test]
    fn known_values() {
        assert_eq!(mulaw_encode(&[0]), vec![0xFF]);
        assert_eq!(
            mulaw_decode(&[0xFF, 0x7F, 0x00, 0x80]),
            vec![0, 0, -32_124, 32_124]
        );
        assert_eq!(mulaw_encode(&[i16::MAX, i16::MIN]), vec![0x80, 0x00]);
        assert_eq!(alaw_encode(&[0]), vec![0xD5]);
        assert_eq!(alaw_decode(&[0xD5, 0x55]), vec![8, -8]);
    }

    #[test]
    fn round_trip_every_value_within_quantisation() {
        for x in i16::MIN..=i16::MAX {
            let m = i32::from(mulaw_decode(&mulaw_encode(&[x]))[0]);
            assert!(
                (m - i32::from(x)).abs() <= g711_bound(x),
                "mu-law {x} -> {m}"
            );
            let a = i32::from(alaw_decode(&alaw_encode(&[x]))[0]);
            assert!(
                (a - i32::from(x)).abs() <= g711_bound(x),
                "A-law {x} -> {a}"
            );
        }
        // Every code decodes and re-encodes to itself (except mu-law's negative zero).
        for b in 0..=255u8 {
            let m = mulaw_encode(&mulaw_decode(&[b]));
            assert!(
                m[0] == b || (b == 0x7F && m[0] == 0xFF),
                "mu-law code {b:#x}"
            );
            assert_eq!(
                alaw_encode(&alaw_decode(&[b])),
                vec![b],
                "A-law code {b:#x}"
            );
        }
    }

    #[test]
    fn into_variants_append() {
        let mut bytes = vec![1u8];
        mulaw_encode_into(&[0, 0], &mut bytes);
        alaw_encode_into(&[0], &mut bytes);
        assert_eq!(bytes, vec![1, 0xFF, 0xFF, 0xD5]);
        let mut samples = vec![7i16];
        mulaw_decode_into(&[0xFF], &mut samples);
        alaw_decode_into(&[0xD5], &mut samples);
        assert_eq!(samples, vec![7, 0, 8]);
        let f = alaw_to_frame(&[0xD5; 80]).unwrap();
        assert_eq!(f.format(), AudioFormat::MONO_8K);
        assert!(mulaw_to_frame(&[]).unwrap().is_empty());
    }
}
