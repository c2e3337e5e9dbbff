//! Criterion benchmarks of the hot operators, per event (`Throughput::Elements`): decoding, and
//! the whole operator chain (dedup, watermark, conversation state, windows) over a realistic
//! generated stream. Run: `cargo bench -p ticketpulse-pipeline --bench operators`.
#![allow(missing_docs, clippy::unwrap_used, clippy::expect_used)]

use criterion::{BatchSize, Criterion, Throughput, criterion_group, criterion_main};
use std::hint::black_box;
use std::time::{Duration, Instant};
use ticketpulse_pipeline::config::{PipelineConfig, SourceConfig};
use ticketpulse_pipeline::decode::decode;
use ticketpulse_pipeline::runtime::{Outputs, Processor, ProcessorState};
use ticketpulse_pipeline::source::file::FileSourceConfig;
use ticketpulse_pipeline::source::generator::{GeneratorConfig, generate};
use ticketpulse_pipeline::source::{Position, Record};
use ticketpulse_pipeline::telemetry::Telemetry;

fn lines() -> Vec<String> {
    let config = GeneratorConfig { conversations: 3_000, days: 1, seed: 3, ..Default::default() };
    generate(&config).unwrap().0
}

fn bench_decode(c: &mut Criterion) {
    let lines = lines();
    let mut g = c.benchmark_group("decode");
    g.throughput(Throughput::Elements(lines.len() as u64));
    g.bench_function("generated_lines", |b| {
        b.iter(|| {
            for l in &lines {
                let _ = black_box(decode(l.as_bytes()));
            }
        })
    });
    g.finish();
}

fn bench_operators(c: &mut Criterion) {
    let lines = lines();
    let dir = tempfile::tempdir().unwrap();
    let mut config = PipelineConfig {
        source: Some(SourceConfig::File(FileSourceConfig { path: "bench".into() })),
        ..Default::default()
    };
    config.output.dir = dir.path().to_path_buf();
    config.time.allowed_lateness = Duration::from_secs(1200);
    config.dedup.horizon = Duration::from_secs(3600);
    let records = || -> Vec<Record> {
        lines
            .iter()
            .enumerate()
            .map(|(i, l)| {
                Record::decode(Position::Line { line: i as u64 + 1 }, l.as_bytes(), l.len(), 1 << 20)
            })
            .collect()
    };
    let telemetry = Telemetry::new().unwrap();
    let mut g = c.benchmark_group("operators");
    g.throughput(Throughput::Elements(lines.len() as u64));
    g.bench_function("dedup_watermark_conversation_windows", |b| {
        b.iter_batched(
            || {
                let outputs = Outputs::files(dir.path(), 3, "bench");
                (
                    Processor::new(&config, ProcessorState::new(&config), outputs, telemetry.clone())
                        .unwrap(),
                    records(),
                )
            },
            |(mut p, recs)| {
                p.on_batch(recs, Instant::now()).unwrap();
                p.drain().unwrap();
                black_box(p.stats.conversation_rows)
            },
            BatchSize::LargeInput,
        )
    });
    g.finish();
}

criterion_group!(benches, bench_decode, bench_operators);
criterion_main!(benches);
