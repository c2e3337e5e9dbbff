//! Criterion benchmarks of topics: live assignment of a ticket (tokens, TF-IDF, the mixture's most
//! likely topic) and a fit, on the first customer messages of the built-in generator's conversations
//! (the gen_events.py templates, Chinese and English). Run: `cargo bench -p ticketpulse-pipeline
//! --bench topics`.
#![allow(missing_docs, clippy::unwrap_used, clippy::expect_used)]

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use std::collections::HashSet;
use std::hint::black_box;
use ticketpulse_pipeline::decode::decode;
use ticketpulse_pipeline::source::generator::{GeneratorConfig, generate};
use ticketpulse_pipeline::topics::{FitConfig, TopicModel};
use ticketpulse_schemas::{EventKind, Role};

/// The first customer message of each conversation.
fn tickets() -> Vec<String> {
    let config = GeneratorConfig { conversations: 10_000, days: 1, seed: 9, ..Default::default() };
    let (lines, _) = generate(&config).unwrap();
    let mut seen = HashSet::new();
    let mut out = Vec::new();
    for l in lines {
        if let Ok(e) = decode(l.as_bytes())
            && let EventKind::Message { role: Role::Customer, text } = e.kind
            && seen.insert(e.conversation_id.to_string())
        {
            out.push(text);
        }
    }
    out
}

fn bench(c: &mut Criterion) {
    let texts = tickets();
    let config = FitConfig { k: Some(24), ..FitConfig::default() };
    let model = TopicModel::fit(&texts[..5000], &config, &|_, _| {}).unwrap().model;
    let mut g = c.benchmark_group("topics");
    g.throughput(Throughput::Elements(texts.len() as u64));
    g.bench_function("assign_ticket", |b| {
        b.iter(|| {
            for t in &texts {
                black_box(model.assign(t));
            }
        })
    });
    g.sample_size(10);
    g.throughput(Throughput::Elements(5000));
    g.bench_function("fit_5000_tickets_k24", |b| {
        b.iter(|| black_box(TopicModel::fit(&texts[..5000], &config, &|_, _| {}).unwrap().model.k()))
    });
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
