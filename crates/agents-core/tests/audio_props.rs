//! Property tests of the audio toolkit: resampler lengths and chunking invariance, frame
//! chunker splits, G.711 round trips.

use agents_core::audio::{
    FrameChunker, Resampler, alaw_decode, alaw_encode, mulaw_decode, mulaw_encode,
};
use agents_core::{AudioFormat, AudioFrame};
use proptest::prelude::*;

const RATES: [u32; 6] = [8_000, 16_000, 22_050, 24_000, 44_100, 48_000];

/// The documented length: `round(frames * out / in)`, halves rounded up.
fn expected(frames: usize, a: u32, b: u32) -> usize {
    ((frames as u128 * u128::from(b) * 2 + u128::from(a)) / (2 * u128::from(a))) as usize
}

/// Cuts `len` into pieces whose sizes come from `cuts` (cycled), each at least 1.
fn split_points(len: usize, cuts: &[usize]) -> Vec<usize> {
    let mut points = vec![0];
    let mut at = 0;
    let mut i = 0;
    while at < len {
        let step = cuts[i % cuts.len()].max(1);
        at = (at + step).min(len);
        points.push(at);
        i += 1;
    }
    points
}

#[allow(clippy::unwrap_used)] // a test helper
fn run(rs: &mut Resampler, input: &[i16], points: &[usize], channels: usize) -> Vec<i16> {
    let mut out = Vec::new();
    for w in points.windows(2) {
        rs.process_into(&input[w[0] * channels..w[1] * channels], &mut out)
            .unwrap();
    }
    rs.flush_into(&mut out).unwrap();
    out
}

fn signal(frames: usize, channels: usize, seed: u64) -> Vec<i16> {
    // A deterministic mix of a sweep-like tone and pseudo-noise.
    let mut state = seed | 1;
    (0..frames * channels)
        .map(|i| {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            let noise = (state % 2_001) as i32 - 1_000;
            let tone = (8_000.0 * ((i as f64) * 0.01 + (i as f64).powf(1.3) * 1e-4).sin()) as i32;
            (tone + noise) as i16
        })
        .collect()
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(48))]

    /// Any split of any input gives exactly the documented length, and the same samples as
    /// pushing it in one piece.
    #[test]
    fn resampler_length_and_chunking_invariance(
        a in 0usize..6,
        b in 0usize..6,
        frames in 0usize..6_000,
        cuts in prop::collection::vec(1usize..1_500, 1..12),
        stereo in any::<bool>(),
        seed in any::<u64>(),
    ) {
        let (ra, rb) = (RATES[a], RATES[b]);
        let ch = if stereo { 2 } else { 1 };
        let fin = AudioFormat::new(ra, ch).unwrap();
        let fout = AudioFormat::new(rb, ch).unwrap();
        let input = signal(frames, usize::from(ch), seed);

        let mut rs = Resampler::new(fin, fout).unwrap();
        let whole = run(&mut rs, &input, &[0, frames], usize::from(ch));
        prop_assert_eq!(whole.len(), expected(frames, ra, rb) * usize::from(ch));

        // Reused after flush, with a random split.
        let points = split_points(frames, &cuts);
        let pieces = run(&mut rs, &input, &points, usize::from(ch));
        prop_assert_eq!(pieces.len(), whole.len());
        for (x, y) in pieces.iter().zip(&whole) {
            prop_assert!((i32::from(*x) - i32::from(*y)).abs() <= 1, "{} vs {}", x, y);
        }
    }

    /// Single-sample pushes work too (the awkward extreme).
    #[test]
    fn resampler_one_sample_at_a_time(a in 0usize..6, b in 0usize..6, frames in 0usize..700) {
        let (ra, rb) = (RATES[a], RATES[b]);
        let input = signal(frames, 1, 7);
        let mut rs = Resampler::new(
            AudioFormat::new(ra, 1).unwrap(),
            AudioFormat::new(rb, 1).unwrap(),
        )
        .unwrap();
        let whole = run(&mut rs, &input, &[0, frames], 1);
        let ones: Vec<usize> = (0..=frames).collect();
        let single = run(&mut rs, &input, &ones, 1);
        prop_assert_eq!(whole.len(), expected(frames, ra, rb));
        prop_assert_eq!(single, whole);
    }

    /// Any split of a byte stream (odd splits included) gives the same frames as chunking it
    /// at once, all of exactly the frame size.
    #[test]
    fn chunker_split_invariance(
        bytes_len in 0usize..4_000,
        cuts in prop::collection::vec(1usize..700, 1..16),
        frame_ms in prop::sample::select(vec![10u64, 20, 30]),
        stereo in any::<bool>(),
        pad in any::<bool>(),
    ) {
        let format = AudioFormat::new(16_000, if stereo { 2 } else { 1 }).unwrap();
        let bytes: Vec<u8> = (0..bytes_len).map(|i| (i * 31 % 251) as u8).collect();
        let dur = std::time::Duration::from_millis(frame_ms);

        let collect = |points: &[usize]| {
            let mut c = FrameChunker::new(format, dur).unwrap();
            let mut frames = Vec::new();
            for w in points.windows(2) {
                c.push_bytes(&bytes[w[0]..w[1]]).unwrap();
                while let Some(f) = c.next_frame() {
                    frames.push(f);
                }
            }
            let last = c.flush(pad);
            (frames, last.map_err(|e| e.to_string()))
        };
        let (once, last_once) = collect(&[0, bytes_len]);
        let (split, last_split) = collect(&split_points(bytes_len, &cuts));
        prop_assert_eq!(&once, &split);
        prop_assert_eq!(&last_once, &last_split);

        let fs = format.samples_for(dur);
        for f in &once {
            prop_assert_eq!(f.samples().len(), fs);
        }
        let samples = bytes_len / 2;
        prop_assert_eq!(once.len(), samples / fs);
        let rem = samples % fs;
        match last_once {
            Err(_) => prop_assert!(
                bytes_len % 2 == 1 || (!pad && !rem.is_multiple_of(usize::from(format.channels)))
            ),
            Ok(None) => prop_assert_eq!(rem, 0),
            Ok(Some(f)) => {
                prop_assert_eq!(f.samples().len(), if pad { fs } else { rem });
                let all: Vec<i16> = bytes
                    .chunks_exact(2)
                    .map(|b| i16::from_le_bytes([b[0], b[1]]))
                    .collect();
                prop_assert_eq!(&f.samples()[..rem], &all[samples - rem..]);
                prop_assert!(f.samples()[rem..].iter().all(|&s| s == 0));
            }
        }
    }

    /// Frames pushed in any sizes come out the same as the concatenated samples, cut evenly.
    #[test]
    fn chunker_frames_in_any_sizes(
        sizes in prop::collection::vec(0usize..900, 0..20),
        per_channel in 1usize..600,
    ) {
        let format = AudioFormat::MONO_16K;
        let mut c = FrameChunker::with_frame_samples(format, per_channel).unwrap();
        let mut all = Vec::new();
        let mut out = Vec::new();
        let mut next = 0i16;
        for n in sizes {
            let samples: Vec<i16> = (0..n).map(|_| { next = next.wrapping_add(1); next }).collect();
            all.extend_from_slice(&samples);
            c.push_frame(&AudioFrame::new(samples, format).unwrap()).unwrap();
            while let Some(f) = c.next_frame() {
                out.extend_from_slice(f.samples());
            }
        }
        prop_assert_eq!(out.len(), all.len() / per_channel * per_channel);
        prop_assert_eq!(&out[..], &all[..out.len()]);
        prop_assert_eq!(c.pending_samples(), all.len() - out.len());
    }

    /// mu-law and A-law round trips stay within G.711's quantisation (half a step, which
    /// grows with the magnitude), and a second round trip changes nothing.
    #[test]
    fn g711_round_trip(samples in prop::collection::vec(any::<i16>(), 0..2_000)) {
        let mu = mulaw_decode(&mulaw_encode(&samples));
        let al = alaw_decode(&alaw_encode(&samples));
        prop_assert_eq!(mu.len(), samples.len());
        prop_assert_eq!(al.len(), samples.len());
        for ((&x, &m), &a) in samples.iter().zip(&mu).zip(&al) {
            let bound = 5 + (i32::from(x).abs() + 132) / 32;
            prop_assert!((i32::from(m) - i32::from(x)).abs() <= bound, "mu {} -> {}", x, m);
            prop_assert!((i32::from(a) - i32::from(x)).abs() <= bound, "A {} -> {}", x, a);
        }
        // Decoding is idempotent through a second round trip (mu-law's two zero codes both
        // decode to 0, so compare decoded values, not codes).
        prop_assert_eq!(mulaw_decode(&mulaw_encode(&mu)), mu);
        prop_assert_eq!(alaw_decode(&alaw_encode(&al)), al);
    }
}

#[test]
fn every_pair_streams_exact_lengths_in_10ms_frames() {
    for &a in &RATES {
        for &b in &RATES {
            let fin = AudioFormat::new(a, 1).unwrap();
            let fout = AudioFormat::new(b, 1).unwrap();
            let mut rs = Resampler::new(fin, fout).unwrap();
            let ten_ms = a as usize / 100;
            let input = signal(ten_ms * 50 + 3, 1, 1);
            let mut out = Vec::new();
            for piece in input.chunks(ten_ms) {
                let f = rs
                    .process(&AudioFrame::new(piece.to_vec(), fin).unwrap())
                    .unwrap();
                out.extend_from_slice(f.samples());
            }
            out.extend_from_slice(rs.flush().unwrap().samples());
            assert_eq!(out.len(), expected(input.len(), a, b), "{a}->{b}");
        }
    }
}
