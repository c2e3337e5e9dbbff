//! Fuzzing the decoder, with proptest as the engine (`cargo fuzz` needs a nightly toolchain,
//! which this project's machines do not have). Three generators: arbitrary bytes, valid
//! records of the built-in generator mutated (bytes flipped, inserted, deleted, spans repeated,
//! cut), and JSON objects with the contract's keys holding hostile values (huge and negative
//! numbers, floats, deep nesting, odd Unicode, wrong types). Properties: `decode` never panics;
//! an accepted event meets the contract (ids of 1..=128 characters, `ts` within years
//! 0000..=9999, the type's required fields); re-encoding it and decoding again gives the same
//! event; a refusal has a reason and a detail.
//!
//! The budget is wall-clock time: `TICKETPULSE_FUZZ_SECS` (default 20 s, split between the three
//! generators) so that CI runs it bounded; `bench/fuzz.sh` runs it for 10 minutes or more on a
//! release build and prints how many cases ran.

use super::*;
use proptest::prelude::*;
use proptest::test_runner::{Config, TestCaseError, TestRunner};
use serde_json::{Map, Value};
use std::time::{Duration, Instant};

fn budget() -> Duration {
    let secs = std::env::var("TICKETPULSE_FUZZ_SECS").ok().and_then(|v| v.parse().ok()).unwrap_or(20.0);
    Duration::from_secs_f64(secs)
}

/// Runs `test` on values of `strategy` in rounds of fresh random seeds until `share` of the
/// budget is spent; returns the cases run.
fn fuzz<S: Strategy>(
    name: &str,
    share: f64,
    strategy: S,
    test: impl Fn(S::Value) -> Result<(), TestCaseError>,
) -> u64
where
    S::Value: std::fmt::Debug,
{
    let deadline = Instant::now() + budget().mul_f64(share);
    let mut cases = 0u64;
    loop {
        let config = Config { cases: 1_000, failure_persistence: None, ..Config::default() };
        let mut runner = TestRunner::new(config);
        if let Err(e) = runner.run(&strategy, &test) {
            panic!("{name}: {e}");
        }
        cases += 1_000;
        if Instant::now() >= deadline {
            break;
        }
    }
    eprintln!("fuzz {name}: {cases} cases in {:.0?} without a failure", budget().mul_f64(share));
    cases
}

/// The contract's checks on an accepted event, and the round trip through its wire form.
fn check(bytes: &[u8]) -> Result<(), TestCaseError> {
    match decode(bytes) {
        Ok(e) => {
            for id in [&e.event_id, &e.conversation_id] {
                let n = id.chars().count();
                prop_assert!((1..=MAX_ID_CHARS).contains(&n), "id of {n} chars accepted");
            }
            prop_assert!((MIN_TS_MS..=MAX_TS_MS).contains(&e.ts_ms));
            if e.kind.event_type() == ticketpulse_schemas::EventType::ConversationStarted {
                prop_assert!(e.channel.is_some());
            }
            let again = decode(e.to_json().as_bytes());
            prop_assert_eq!(again.as_ref(), Ok(&e), "re-encoded event decodes the same");
        }
        Err(invalid) => {
            prop_assert!(InvalidReason::ALL.contains(&invalid.reason));
            prop_assert!(!invalid.detail.is_empty());
        }
    }
    Ok(())
}

fn valid_lines() -> Vec<String> {
    let cfg = crate::source::generator::GeneratorConfig {
        conversations: 40,
        bad_fraction: 0.0,
        pii_fraction: 0.5,
        ..Default::default()
    };
    crate::source::generator::generate(&cfg).map(|(lines, _)| lines).unwrap_or_default()
}

#[derive(Debug, Clone)]
enum Mutation {
    Flip(usize, u8),
    Insert(usize, u8),
    Delete(usize),
    Repeat(usize, usize),
    Cut(usize),
}

fn mutation() -> impl Strategy<Value = Mutation> {
    prop_oneof![
        (any::<usize>(), any::<u8>()).prop_map(|(i, b)| Mutation::Flip(i, b)),
        (any::<usize>(), prop_oneof![any::<u8>(), Just(b'"'), Just(b'\\'), Just(b'{'), Just(b'[')])
            .prop_map(|(i, b)| Mutation::Insert(i, b)),
        any::<usize>().prop_map(Mutation::Delete),
        (any::<usize>(), 1usize..64).prop_map(|(i, n)| Mutation::Repeat(i, n)),
        any::<usize>().prop_map(Mutation::Cut),
    ]
}

fn mutate(line: &str, ms: &[Mutation]) -> Vec<u8> {
    let mut b = line.as_bytes().to_vec();
    for m in ms {
        if b.is_empty() {
            break;
        }
        let at = |i: usize| i % b.len();
        match *m {
            Mutation::Flip(i, x) => {
                let i = at(i);
                b[i] ^= x;
            }
            Mutation::Insert(i, x) => {
                let i = at(i);
                b.insert(i, x);
            }
            Mutation::Delete(i) => {
                let i = at(i);
                b.remove(i);
            }
            Mutation::Repeat(i, n) => {
                let i = at(i);
                let end = (i + n).min(b.len());
                let span = b[i..end].to_vec();
                b.splice(i..i, span);
            }
            Mutation::Cut(i) => {
                let i = at(i);
                b.truncate(i);
            }
        }
    }
    b
}

fn hostile_value() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(Value::from),
        any::<u64>().prop_map(Value::from),
        any::<f64>().prop_map(|f| serde_json::Number::from_f64(f).map_or(Value::Null, Value::Number)),
        prop_oneof![
            Just(0i64),
            Just(-1),
            Just(253_402_300_800_000),
            Just(-62_167_219_200_001),
            Just(1_793_548_800_000)
        ]
        .prop_map(Value::from),
        ".{0,40}".prop_map(Value::String),
        prop_oneof![
            Just("9999-12-31T23:59:59.9999Z"),
            Just("0000-01-01T00:00:00Z"),
            Just("2026-11-02T10:00:00+08:00"),
            Just("2026-02-30T10:00:00Z"),
            Just("message"),
            Just("conversation_started"),
            Just("customer"),
            Just("WEB"),
        ]
        .prop_map(|s| Value::String(s.into())),
        (1usize..200).prop_map(|n| Value::String("é".repeat(n))),
    ];
    leaf.prop_recursive(4, 64, 8, |inner| {
        prop_oneof![
            proptest::collection::vec(inner.clone(), 0..8).prop_map(Value::Array),
            proptest::collection::btree_map(".{0,8}", inner, 0..8)
                .prop_map(|m| Value::Object(m.into_iter().collect::<Map<_, _>>())),
        ]
    })
}

const KEYS: [&str; 14] = [
    "event_id",
    "conversation_id",
    "ts",
    "type",
    "channel",
    "role",
    "text",
    "tier",
    "rating",
    "reason",
    "attrs",
    "agent_id",
    "lang",
    "customer_id",
];

#[test]
fn the_decoder_survives_fuzzing() {
    let bytes = fuzz("arbitrary bytes", 0.3, proptest::collection::vec(any::<u8>(), 0..600), |b| check(&b));
    let lines = valid_lines();
    assert!(!lines.is_empty());
    let n = lines.len();
    let mutated = fuzz(
        "mutated valid records",
        0.35,
        (0..n, proptest::collection::vec(mutation(), 1..6)),
        |(i, ms)| check(&mutate(&lines[i], &ms)),
    );
    let structured = fuzz(
        "hostile JSON objects",
        0.35,
        proptest::collection::btree_map(
            proptest::sample::select(KEYS.to_vec()),
            hostile_value(),
            0..KEYS.len(),
        ),
        |m| {
            let obj: Map<String, Value> = m.into_iter().map(|(k, v)| (k.to_string(), v)).collect();
            check(&serde_json::to_vec(&Value::Object(obj)).unwrap_or_default())
        },
    );
    assert!(bytes + mutated + structured >= 3_000);
}
