//! Tests of the generator: determinism, counts, lifecycle shape, channel shares, settings.
use super::*;
use serde_json::Value;
use std::collections::{BTreeMap, HashMap, HashSet};

/// A small run with enough late, duplicate and invalid lines to see them.
fn small(seed: u64, conversations: u64) -> GeneratorConfig {
    GeneratorConfig {
        conversations,
        seed,
        late_fraction: 0.05,
        dup_fraction: 0.02,
        bad_fraction: 0.01,
        ..GeneratorConfig::default()
    }
}

fn is_invalid(line: &str) -> bool {
    INVALID_LINES.contains(&line)
}

fn ts_ms(ts: &Value) -> i64 {
    match ts {
        Value::Number(n) => n.as_i64().unwrap(),
        Value::String(s) => DateTime::parse_from_rfc3339(s).unwrap().timestamp_millis(),
        other => panic!("bad ts {other}"),
    }
}

fn seq(event: &Value) -> u32 {
    event["event_id"].as_str().unwrap().rsplit('-').next().unwrap().parse().unwrap()
}

/// The valid events, first copy of each, per conversation in sequence order.
fn by_conversation(lines: &[String]) -> BTreeMap<String, Vec<Value>> {
    let mut seen = HashSet::new();
    let mut out: BTreeMap<String, Vec<Value>> = BTreeMap::new();
    for line in lines.iter().filter(|l| !is_invalid(l)) {
        let v: Value = serde_json::from_str(line).unwrap();
        if seen.insert(v["event_id"].as_str().unwrap().to_owned()) {
            out.entry(v["conversation_id"].as_str().unwrap().to_owned()).or_default().push(v);
        }
    }
    out.values_mut().for_each(|events| events.sort_by_key(seq));
    out
}

fn spike(topic: &str) -> SpikeSpec {
    SpikeSpec {
        topic: topic.to_owned(),
        channel: "app".to_owned(),
        start: GeneratorConfig::default().start,
        length: Duration::from_secs(600),
        multiplier: 3.0,
    }
}

#[test]
fn same_seed_gives_identical_output() {
    assert_eq!(generate(&small(3, 300)).unwrap(), generate(&small(3, 300)).unwrap());
}

#[test]
fn different_seed_gives_different_output() {
    assert_ne!(generate(&small(3, 300)).unwrap().0, generate(&small(4, 300)).unwrap().0);
}

#[test]
fn valid_lines_follow_the_contract_in_arrival_order() {
    let cfg = small(5, 500);
    let (lines, _) = generate(&cfg).unwrap();
    let lo = cfg.start.timestamp_millis();
    let hi = lo + (i64::from(cfg.days) + 10) * 86_400_000;
    let slack_ms = (cfg.max_lateness.as_millis() as i64) + 122_000;
    let (mut millis, mut texts, mut late, mut latest) = (0u32, 0u32, 0usize, lo);
    for line in lines.iter().filter(|l| !is_invalid(l)) {
        let [cid, ts, kind] = ["\"conversation_id\":", "\"ts\":", "\"type\":"].map(|k| line.find(k).unwrap());
        assert!(line.starts_with("{\"event_id\":") && cid < ts && ts < kind, "key order: {line}");
        assert!(!line.contains("\\u"), "escaped text: {line}");
        let v: Value = serde_json::from_str(line).unwrap();
        let conversation = v["conversation_id"].as_str().unwrap();
        assert!(v["event_id"].as_str().unwrap().starts_with(&format!("{conversation}-")));
        match &v["ts"] {
            Value::Number(_) => millis += 1,
            Value::String(s) => {
                assert!(s.ends_with("+08:00") && s.len() == "2026-11-02T00:00:00.000+08:00".len(), "{s}");
                texts += 1;
            }
            other => panic!("bad ts {other}"),
        }
        let t = ts_ms(&v["ts"]);
        assert!((lo..=hi).contains(&t), "ts out of range: {line}");
        assert!(latest - t <= slack_ms, "arrival order broken at {line}");
        late += usize::from(latest - t > 1000);
        latest = latest.max(t);
        match v["type"].as_str().unwrap() {
            "conversation_started" => assert!(v["channel"].is_string() && v["customer_id"].is_string()),
            "message" => {
                assert!(["customer", "bot", "agent", "expert"].contains(&v["role"].as_str().unwrap()));
                assert!(v["text"].is_string());
                if matches!(v["role"].as_str(), Some("agent" | "expert")) {
                    assert!(v["agent_id"].is_string());
                }
            }
            "handoff" => assert!(v["tier"] == 2 || v["tier"] == 3),
            "csat" => assert!((1..=5).contains(&v["rating"].as_i64().unwrap())),
            "resolved" | "reopened" | "closed" => {}
            other => panic!("unknown type {other}"),
        }
    }
    let share = f64::from(millis) / f64::from(millis + texts);
    assert!((0.15..0.25).contains(&share), "epoch-ms share {share}");
    assert!(late > 0, "no late arrival");
    assert!(lines.iter().any(|l| l.contains("的")), "no Chinese text");
}

#[test]
fn summary_counts_match_the_lines() {
    let cfg = small(6, 800);
    let (lines, summary) = generate(&cfg).unwrap();
    assert_eq!(summary.lines, lines.len() as u64);
    let invalid = lines.iter().filter(|l| is_invalid(l)).count() as u64;
    assert_eq!(invalid, summary.invalid_lines);
    let valid = summary.lines - invalid;
    assert!(invalid > 0);
    assert_eq!(invalid, (valid as f64 * cfg.bad_fraction).floor() as u64);
    let mut first: HashMap<String, &String> = HashMap::new();
    let mut repeats = 0;
    for line in lines.iter().filter(|l| !is_invalid(l)) {
        let v: Value = serde_json::from_str(line).unwrap();
        let id = v["event_id"].as_str().unwrap().to_owned();
        match first.get(&id) {
            Some(earlier) => {
                assert_eq!(*earlier, line, "a duplicate differs from its original");
                repeats += 1;
            }
            None => {
                first.insert(id, line);
            }
        }
    }
    assert!(repeats > 0);
    assert_eq!(repeats, summary.duplicate_lines);
    assert_eq!(by_conversation(&lines).len() as u64, summary.conversations);
    assert!(summary.conversations >= cfg.conversations + MIN_SPIKE_CONVERSATIONS);
}

#[test]
fn invalid_lines_land_where_successive_inserts_would_put_them() {
    let cfg = GeneratorConfig::default();
    let entries: Vec<Arrival> =
        (0..50).map(|i| Arrival { at: i, order: i as u64, line: i.to_string() }).collect();
    let fast = insert_invalid(&mut Gen::new(&cfg), entries, 30);
    let mut g = Gen::new(&cfg);
    let mut slow: Vec<String> = (0..50).map(|i| i.to_string()).collect();
    for k in 0..30 {
        let pos = g.index(50 + k);
        slow.insert(pos, (*g.pick(&INVALID_LINES)).to_owned());
    }
    assert_eq!(fast, slow);
}

#[test]
fn conversations_respect_the_lifecycle() {
    let (lines, _) = generate(&small(7, 600)).unwrap();
    for (cid, events) in by_conversation(&lines) {
        let types: Vec<&str> = events.iter().map(|e| e["type"].as_str().unwrap()).collect();
        let seqs: Vec<u32> = events.iter().map(seq).collect();
        assert_eq!(seqs, (1..=events.len() as u32).collect::<Vec<_>>(), "{cid}: missing events");
        assert_eq!(types[0], "conversation_started", "{cid}");
        assert_eq!(types.iter().filter(|t| **t == "conversation_started").count(), 1, "{cid}");
        assert_eq!(events[1]["role"], "customer", "{cid}");
        let times: Vec<i64> = events.iter().map(|e| ts_ms(&e["ts"])).collect();
        assert!(times.windows(2).all(|w| w[0] <= w[1]), "{cid}: event time goes back");
        if let Some(closed) = types.iter().position(|t| *t == "closed") {
            assert_eq!(closed, types.len() - 1, "{cid}: events after closed");
        }
        let resolved = types.iter().position(|t| *t == "resolved");
        for (i, t) in types.iter().enumerate().filter(|(_, t)| matches!(**t, "csat" | "reopened")) {
            assert!(resolved.is_some_and(|r| r < i), "{cid}: {t} before any resolved");
        }
        let bot_channel = !matches!(events[0]["channel"].as_str(), Some("email" | "phone"));
        let position = |f: &dyn Fn(&Value) -> bool| events.iter().position(f);
        let tier2 = position(&|e| e["type"] == "handoff" && e["tier"] == 2);
        let tier3 = position(&|e| e["type"] == "handoff" && e["tier"] == 3);
        if bot_channel {
            assert_eq!(events[2]["role"], "bot", "{cid}");
            let agent = position(&|e| e["role"] == "agent");
            if let Some(a) = agent.filter(|&a| !types[..a].contains(&"reopened")) {
                assert!(tier2.is_some_and(|h| h < a), "{cid}: agent before a handoff");
            }
        }
        if let Some(x) = position(&|e| e["role"] == "expert") {
            assert!(tier3.is_some_and(|h| h < x), "{cid}: expert before a tier-3 handoff");
        }
    }
}

#[test]
fn channel_shares_follow_the_weights_and_email_phone_have_no_bot() {
    let cfg = GeneratorConfig { conversations: 2000, seed: 11, no_spike: true, ..GeneratorConfig::default() };
    let (lines, summary) = generate(&cfg).unwrap();
    assert_eq!(summary.conversations, 2000);
    let mut per_channel: HashMap<String, u32> = HashMap::new();
    for events in by_conversation(&lines).values() {
        let channel = events[0]["channel"].as_str().unwrap();
        *per_channel.entry(channel.to_owned()).or_default() += 1;
        if matches!(channel, "email" | "phone") {
            assert!(events.iter().all(|e| e["role"] != "bot"), "bot message on {channel}");
        }
    }
    let total: f64 = CHANNELS.iter().map(|c| c.weight).sum();
    for c in &CHANNELS {
        let share = f64::from(per_channel.get(c.name).copied().unwrap_or(0)) / 2000.0;
        let expected = c.weight / total;
        assert!((share - expected).abs() < 0.035, "{}: share {share:.3}, expected {expected:.3}", c.name);
    }
}

#[test]
fn default_spike_adds_weibo_battery_conversations_in_its_window() {
    let cfg = GeneratorConfig { conversations: 1000, seed: 2, ..GeneratorConfig::default() };
    let (lines, _) = generate(&cfg).unwrap();
    let conversations = by_conversation(&lines);
    let from = cfg.start.timestamp_millis() + 20 * 3_600_000;
    let spike: Vec<_> = conversations.iter().filter(|(cid, _)| cid.starts_with("s2-0-")).collect();
    assert!(spike.len() as u64 >= MIN_SPIKE_CONVERSATIONS);
    for (cid, events) in spike {
        assert_eq!(events[0]["channel"], "weibo", "{cid}");
        assert!((from..=from + 40 * 60_000).contains(&ts_ms(&events[0]["ts"])), "{cid}");
    }
    assert_eq!(conversations.keys().filter(|cid| cid.starts_with("c2-")).count(), 1000);
    let none = GeneratorConfig { no_spike: true, ..cfg };
    assert!(generate(&none).unwrap().0.iter().all(|l| !l.contains("\"conversation_id\":\"s2-")));
}

#[test]
fn config_reads_with_defaults_round_trips_and_rejects_unknown_fields() {
    let text = r#"{"seed": 9, "max_lateness": "5m", "spikes": [{"topic": "refund", "channel": "app",
        "start": "2026-11-02T10:00:00+08:00", "length": "30m", "multiplier": 3.5}]}"#;
    let cfg: GeneratorConfig = serde_json::from_str(text).unwrap();
    assert_eq!((cfg.seed, cfg.conversations, cfg.max_lateness), (9, 10_000, Duration::from_secs(300)));
    assert_eq!(cfg.start, GeneratorConfig::default().start);
    assert_eq!(cfg.spikes[0].length, Duration::from_secs(1800));
    assert_eq!(cfg.spikes[0].start.to_rfc3339(), "2026-11-02T10:00:00+08:00");
    let again: GeneratorConfig = serde_json::from_str(&serde_json::to_string(&cfg).unwrap()).unwrap();
    assert_eq!(again, cfg);
    assert!(serde_json::from_str::<GeneratorConfig>(r#"{"sead": 1}"#).is_err());
    assert!(serde_json::from_str::<GeneratorConfig>(r#"{"start": "yesterday"}"#).is_err());
}

#[test]
fn bad_settings_name_the_field() {
    let base = GeneratorConfig::default;
    let cases = [
        (GeneratorConfig { days: 0, ..base() }, "`days`"),
        (GeneratorConfig { bad_fraction: 1.5, ..base() }, "`bad_fraction`"),
        (GeneratorConfig { late_fraction: f64::NAN, ..base() }, "`late_fraction`"),
        (GeneratorConfig { spikes: vec![spike("weather")], ..base() }, "`spikes[0].topic`"),
        (
            GeneratorConfig {
                spikes: vec![spike("refund"), SpikeSpec { multiplier: 0.5, ..spike("refund") }],
                ..base()
            },
            "`spikes[1].multiplier`",
        ),
    ];
    for (cfg, field) in cases {
        let err = generate(&cfg).unwrap_err().to_string();
        assert!(err.contains(field), "{err} does not name {field}");
    }
}
