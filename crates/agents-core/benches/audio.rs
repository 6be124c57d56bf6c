//! Audio toolkit benchmarks. Each iteration processes one second of audio, so the reported time
//! per iteration reads as "time per second of audio" (real-time factor = 1 s / that time).

#![allow(missing_docs)]
// Setup failures in a benchmark should abort it loudly.
#![allow(clippy::unwrap_used)]

use std::hint::black_box;
use std::time::Duration;

use agents_core::AudioFormat;
use agents_core::audio::{FrameChunker, Resampler, mulaw_decode_into, mulaw_encode_into};
use criterion::{Criterion, Throughput, criterion_group, criterion_main};

fn tone(rate: u32, frames: usize) -> Vec<i16> {
    (0..frames)
        .map(|n| {
            let t = n as f64 / f64::from(rate);
            (12_000.0 * (2.0 * std::f64::consts::PI * 440.0 * t).sin()) as i16
        })
        .collect()
}

fn resampler(c: &mut Criterion) {
    let mut group = c.benchmark_group("resample");
    for (from, to) in [
        (AudioFormat::MONO_48K, AudioFormat::MONO_16K),
        (AudioFormat::MONO_24K, AudioFormat::MONO_48K),
    ] {
        let second = tone(from.sample_rate, from.sample_rate as usize);
        for ms in [10usize, 20] {
            let frame = from.sample_rate as usize * ms / 1000;
            let mut rs = Resampler::new(from, to).unwrap();
            let mut out = Vec::with_capacity(to.sample_rate as usize * 2);
            group.throughput(Throughput::Elements(second.len() as u64));
            let name = format!(
                "{}k_to_{}k_{ms}ms",
                from.sample_rate / 1000,
                to.sample_rate / 1000
            );
            group.bench_function(name, |b| {
                b.iter(|| {
                    out.clear();
                    for piece in second.chunks(frame) {
                        rs.process_into(black_box(piece), &mut out).unwrap();
                    }
                    black_box(out.len())
                })
            });
        }
    }
    group.finish();
}

fn chunker(c: &mut Criterion) {
    let mut group = c.benchmark_group("chunker");
    let format = AudioFormat::MONO_16K;
    let bytes: Vec<u8> = tone(16_000, 16_000)
        .iter()
        .flat_map(|s| s.to_le_bytes())
        .collect();
    group.throughput(Throughput::Bytes(bytes.len() as u64));
    // Network-sized pieces with odd lengths, cut into 20 ms frames.
    group.bench_function("bytes_to_20ms_16k", |b| {
        let mut ch = FrameChunker::new(format, Duration::from_millis(20)).unwrap();
        b.iter(|| {
            let mut frames = 0usize;
            for piece in bytes.chunks(1_001) {
                ch.push_bytes(black_box(piece)).unwrap();
                while let Some(f) = ch.next_frame() {
                    frames += f.samples().len();
                }
            }
            ch.clear();
            black_box(frames)
        })
    });
    group.finish();
}

fn mulaw(c: &mut Criterion) {
    let mut group = c.benchmark_group("mulaw");
    let second = tone(8_000, 8_000);
    let encoded = {
        let mut v = Vec::new();
        mulaw_encode_into(&second, &mut v);
        v
    };
    group.throughput(Throughput::Elements(second.len() as u64));
    let mut bytes = Vec::with_capacity(8_000);
    group.bench_function("encode_1s_8k", |b| {
        b.iter(|| {
            bytes.clear();
            mulaw_encode_into(black_box(&second), &mut bytes);
            black_box(bytes.len())
        })
    });
    let mut samples = Vec::with_capacity(8_000);
    group.bench_function("decode_1s_8k", |b| {
        b.iter(|| {
            samples.clear();
            mulaw_decode_into(black_box(&encoded), &mut samples);
            black_box(samples.len())
        })
    });
    group.finish();
}

criterion_group!(benches, resampler, chunker, mulaw);
criterion_main!(benches);
