//! Criterion benchmark of sentiment scoring per customer message (`Throughput::Elements`), Chinese
//! and English separately, on the customer messages of the built-in generator (the
//! gen_events.py templates). Run: `cargo bench -p ticketpulse-pipeline --bench sentiment`.
#![allow(missing_docs, clippy::unwrap_used, clippy::expect_used)]

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use std::hint::black_box;
use ticketpulse_pipeline::decode::decode;
use ticketpulse_pipeline::sentiment::{Lang, Scorer, detect};
use ticketpulse_pipeline::source::generator::{GeneratorConfig, generate};
use ticketpulse_schemas::{EventKind, Role};

fn messages() -> (Vec<String>, Vec<String>) {
    let config = GeneratorConfig { conversations: 5_000, days: 1, seed: 9, ..Default::default() };
    let (lines, _) = generate(&config).unwrap();
    let (mut zh, mut en) = (Vec::new(), Vec::new());
    for l in lines {
        if let Ok(e) = decode(l.as_bytes())
            && let EventKind::Message { role: Role::Customer, text } = e.kind
        {
            if detect(&text) == Lang::En { en.push(text) } else { zh.push(text) }
        }
    }
    (zh, en)
}

fn bench(c: &mut Criterion) {
    let scorer = Scorer::shipped().unwrap();
    let (zh, en) = messages();
    let mut g = c.benchmark_group("sentiment");
    for (name, msgs) in [("chinese_messages", &zh), ("english_messages", &en)] {
        g.throughput(Throughput::Elements(msgs.len() as u64));
        g.bench_function(name, |b| {
            b.iter(|| {
                for m in msgs.iter() {
                    black_box(scorer.score(m, None));
                }
            })
        });
    }
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
