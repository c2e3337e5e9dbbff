use super::*;
use crate::source::file::FileSourceConfig;
use crate::source::{Position, Record};
use std::collections::BTreeMap;
use std::time::Duration;

fn config(dir: &std::path::Path, lateness_s: u64) -> PipelineConfig {
    let mut c = PipelineConfig {
        source: Some(SourceConfig::File(FileSourceConfig { path: "t".into() })),
        ..Default::default()
    };
    c.time.allowed_lateness = Duration::from_secs(lateness_s);
    c.output.dir = dir.to_path_buf();
    // these tests count event time from the epoch
    c.limits.min_event_time = "1970-01-01T00:00:00Z".into();
    c
}

fn outputs(dir: &std::path::Path) -> Outputs {
    Outputs::files(dir, 3, "t")
}

fn processor(dir: &std::path::Path, lateness_s: u64) -> (Processor, Telemetry) {
    processor_with(config(dir, lateness_s))
}

fn processor_with(c: PipelineConfig) -> (Processor, Telemetry) {
    let dir = c.output.dir.clone();
    let dir = dir.as_path();
    let t = Telemetry::new().unwrap();
    (Processor::new(&c, ProcessorState::new(&c), outputs(dir), t.clone()).unwrap(), t)
}

fn records(lines: &[String]) -> Vec<Record> {
    lines
        .iter()
        .enumerate()
        .map(|(i, l)| Record::decode(Position::Line { line: i as u64 + 1 }, l.as_bytes(), l.len(), 1 << 20))
        .collect()
}

fn line(id: &str, conv: &str, ts_s: i64, rest: &str) -> String {
    format!(r#"{{"event_id":"{id}","conversation_id":"{conv}","ts":{},{rest}}}"#, ts_s * 1000)
}

#[test]
fn late_events_update_conversations_and_correct_closed_windows_and_are_counted() {
    let dir = tempfile::tempdir().unwrap();
    let (mut p, t) = processor(dir.path(), 60);
    let lines = vec![
        line("1", "a", 0, r#""type":"conversation_started","channel":"web""#),
        line("2", "b", 1_000, r#""type":"conversation_started","channel":"app""#),
        // 1000 s behind the watermark, lateness 60 s: late
        line("3", "a", 10, r#""type":"message","role":"bot","text":"hi""#),
    ];
    p.on_batch(records(&lines), std::time::Instant::now()).unwrap();
    assert_eq!(p.stats.late, 1);
    assert_eq!(t.late.get(), 1);
    p.drain().unwrap();
    let rows = p.outputs_mut().conversations.take();
    let a = rows.iter().find(|r| &*r.conversation_id == "a").unwrap();
    assert_eq!(a.messages(), 1, "the late message is in the conversation row");
    assert_eq!(a.first_response_s, Some(10.0));
    let windows = p.outputs_mut().windows.take();
    let web: Vec<_> = windows
        .iter()
        .filter(|w| w.spec.kind() == "tumbling" && &*w.group.1 == "web" && w.start == 0)
        .map(|w| (w.revision, w.aggregate.messages, w.aggregate.first_response.count()))
        .collect();
    assert_eq!(web, vec![(1, 0, 0), (2, 1, 1)], "the closed window was emitted again, corrected");
    assert!(p.stats.corrected_windows >= 1);
    assert_eq!(p.stats.refused_window_changes, 0, "within the correction horizon");
    assert!(t.window_corrections.get() >= 1);
    // web's latest tumbling window is the corrected one: its gauges show the corrected values
    let gauge = |measure: &str| t.window_count.with_label_values(&[measure, "web", ""]).get();
    assert_eq!(gauge("messages"), 1.0, "the recent-window gauge moved to the corrected value");
    let frt = t.window_seconds.with_label_values(&["first_response", "0.5", "web", ""]).get();
    assert!((frt - 10.0).abs() <= 0.1, "{frt}");
}

#[test]
fn events_of_an_evicted_conversation_are_dead_lettered_not_reopened() {
    let dir = tempfile::tempdir().unwrap();
    let mut c = config(dir.path(), 60);
    c.conversation.idle_timeout = Duration::from_secs(100);
    let (mut p, t) = processor_with(c);
    let lines = vec![
        line("1", "a", 0, r#""type":"conversation_started","channel":"web""#),
        line("2", "a", 5, r#""type":"closed""#),
        line("3", "b", 500, r#""type":"conversation_started","channel":"web""#),
        line("4", "a", 6, r#""type":"csat","rating":5"#),
    ];
    p.on_batch(records(&lines), std::time::Instant::now()).unwrap();
    assert_eq!(p.stats.conversation_rows, 1, "a was written once the watermark passed 5 s + 60 s");
    assert_eq!(p.state().open_conversations(), 1, "a was evicted after 5 s + 100 s + 60 s");
    assert_eq!(p.stats.dead_letters, 1);
    assert_eq!(t.dead_letters.with_label_values(&["conversation_ended"]).get(), 1);
    let (pending, _) = p.prepare(&crate::sink::Stamp::new("main", 1)).unwrap();
    let dl = pending.iter().find(|f| f.table == "dead_letter").unwrap();
    let text = std::fs::read_to_string(dir.path().join(&dl.tmp)).unwrap();
    let letter: serde_json::Value = serde_json::from_str(text.trim()).unwrap();
    assert_eq!(letter["reason"], "conversation_ended");
    assert_eq!(letter["line"], 4);
    let raw: serde_json::Value = serde_json::from_str(letter["raw"].as_str().unwrap()).unwrap();
    assert_eq!(raw["event_id"], "4");
    assert_eq!(raw["rating"], 5);
}

#[test]
fn state_round_trips_through_bytes() {
    let dir = tempfile::tempdir().unwrap();
    let (mut p, _) = processor(dir.path(), 60);
    p.on_batch(
        records(&[line("1", "a", 0, r#""type":"conversation_started","channel":"web""#)]),
        std::time::Instant::now(),
    )
    .unwrap();
    let bytes = p.state().to_bytes().unwrap();
    let back = ProcessorState::from_bytes(&bytes).unwrap();
    assert_eq!(back.to_bytes().unwrap(), bytes);
    assert!(ProcessorState::from_bytes(b"nope").is_err());
}

#[test]
fn resuming_with_other_event_time_settings_is_refused_naming_the_field() {
    let dir = tempfile::tempdir().unwrap();
    let (p, _) = processor(dir.path(), 60);
    let mut state = ProcessorState::from_bytes(&p.state().to_bytes().unwrap()).unwrap();
    let mut c = PipelineConfig::default();
    c.time.allowed_lateness = Duration::from_secs(60);
    c.time.idle_partition_timeout = Duration::from_secs(5);
    state.adopt(&c).unwrap();
    c.time.allowed_lateness = Duration::from_secs(1200);
    let err = state.adopt(&c).unwrap_err().to_string();
    assert!(err.contains("time.allowed_lateness") && err.contains("20m") && err.contains("1m"), "{err}");
}

#[test]
fn a_drain_without_events_leaves_windows_usable_for_the_next_run() {
    let dir = tempfile::tempdir().unwrap();
    let (mut p, _) = processor(dir.path(), 60);
    p.drain().unwrap();
    let state = ProcessorState::from_bytes(&p.state().to_bytes().unwrap()).unwrap();
    let mut p =
        Processor::new(&config(dir.path(), 60), state, outputs(dir.path()), Telemetry::new().unwrap())
            .unwrap();
    p.on_batch(
        records(&[line("1", "a", 0, r#""type":"conversation_started","channel":"web""#)]),
        std::time::Instant::now(),
    )
    .unwrap();
    p.drain().unwrap();
    let windows = p.outputs_mut().windows.take();
    let tumbling = windows.iter().filter(|w| w.spec.kind() == "tumbling" && w.group.0.as_str() == "channel");
    assert_eq!(tumbling.count(), 1, "the window of the new event is written");
    assert_eq!(p.stats.refused_window_changes, 0);
}

#[test]
fn hostile_records_are_dead_letters_with_a_reason_and_counted() {
    let dir = tempfile::tempdir().unwrap();
    let mut c = config(dir.path(), 60);
    c.limits.min_event_time = "2000-01-01T00:00:00Z".into();
    let (mut p, t) = processor_with(c);
    let now_s = crate::time::now_ms() / 1000;
    let deep = format!("{}{}", "[".repeat(100_000), "]".repeat(100_000));
    let deep_attrs = line(
        "d",
        "x",
        now_s,
        &format!(r#""type":"closed","attrs":{}{}"#, "{\"a\":".repeat(50_000), "1}".repeat(50_000)),
    );
    let huge = line(
        "h",
        "x",
        now_s,
        &format!(r#""type":"message","role":"customer","text":"{}""#, "x".repeat(2 << 20)),
    );
    let mut lines = vec![
        line("y", "x", 253_402_300_799, r#""type":"conversation_started","channel":"web""#), // year 9999
        line("n", "x", -86_400, r#""type":"conversation_started","channel":"web""#),         // 1969
        line("o", "x", 946_684_799, r#""type":"conversation_started","channel":"web""#),     // 1999
        deep,
        deep_attrs,
    ];
    let mut recs = records(&lines);
    recs.push(Record::decode(Position::Line { line: 6 }, huge.as_bytes(), huge.len(), 1 << 20));
    let bad_utf8 =
        b"{\"event_id\":\"u\",\"conversation_id\":\"\xff\xfe\",\"ts\":1,\"type\":\"closed\"}".to_vec();
    recs.push(Record::decode(Position::Line { line: 7 }, &bad_utf8, bad_utf8.len(), 1 << 20));
    lines.clear();
    p.on_batch(recs, std::time::Instant::now()).unwrap();
    assert_eq!(p.stats.invalid, 7);
    assert_eq!(p.stats.events, 0, "nothing reached the operators");
    let reasons = |r: &str| t.invalid.with_label_values(&[r]).get();
    assert_eq!(reasons("out_of_range"), 3, "year 9999, 1969 and 1999 refused");
    assert_eq!(reasons("not_json"), 2, "attrs nested past serde_json's limit (128), bad UTF-8");
    assert_eq!(reasons("not_object"), 1, "100 000 nested arrays: refused at the first bracket");
    assert_eq!(reasons("too_large"), 1);
    let pending = p.prepare(&crate::sink::Stamp::new("main", 1)).unwrap().0;
    assert!(pending.iter().any(|f| f.table == "dead_letter" && f.rows == 7), "{pending:?}");
    // the year-9999 event did not drag the watermark: an event of now is on time
    p.on_batch(
        records(&[line("ok", "z", now_s, r#""type":"conversation_started","channel":"web""#)]),
        std::time::Instant::now(),
    )
    .unwrap();
    assert_eq!((p.stats.events, p.stats.late), (1, 0));
}

#[test]
fn open_conversations_are_bounded_and_the_evicted_are_written() {
    let dir = tempfile::tempdir().unwrap();
    let mut c = config(dir.path(), 60);
    c.limits.max_open_conversations = 100;
    let (mut p, t) = processor_with(c);
    let lines: Vec<String> = (0..1_000)
        .map(|i| {
            line(
                &format!("e{i}"),
                &format!("c{i}"),
                1_000 + i,
                r#""type":"conversation_started","channel":"web""#,
            )
        })
        .collect();
    p.on_batch(records(&lines), std::time::Instant::now()).unwrap();
    assert_eq!(p.state().open_conversations(), 100);
    let rows = p.outputs_mut().conversations.take();
    assert_eq!(rows.len(), 900);
    assert!(rows.iter().all(|r| r.end_reason == crate::conversation::EndReason::Evicted));
    // the oldest went first
    assert_eq!(&*rows[0].conversation_id, "c0");
    let evicted = t.conversations_ended.with_label_values(&["web", "evicted"]).get();
    assert_eq!(evicted as usize, 900);
    // a later event of an evicted conversation is a dead letter, not a new conversation
    p.on_batch(records(&[line("late", "c0", 2_000, r#""type":"closed""#)]), std::time::Instant::now())
        .unwrap();
    assert_eq!(p.stats.dead_letters, 1);
}

/// Every row the sinks hold, taken out, in emission order, as text.
fn drained_rows(p: &mut Processor) -> Vec<String> {
    let o = p.outputs_mut();
    let mut rows: Vec<String> =
        o.conversations.take().iter().map(|r| format!("conversation {r:?}")).collect();
    rows.extend(o.windows.take().iter().map(|r| format!("window {r:?}")));
    rows.extend(o.messages.take().iter().map(|r| format!("message {r:?}")));
    rows.extend(o.signals.take().iter().map(|r| format!("signal {r:?}")));
    rows.extend(o.topics.take().iter().map(|r| format!("topic {r:?}")));
    rows.extend(o.alerts.take().iter().map(|r| format!("alert {r:?}")));
    rows
}

/// Runs `lines` through a processor in the given batch sizes; before the batch numbered
/// `restart_at`, if any, serialises the state and carries on with a new processor restored from
/// it (what a checkpoint and a restart do). Returns every row emitted, table by table, each
/// table's rows in the order emitted.
fn run_in_batches(lines: &[String], batches: &[usize], restart_at: Option<usize>) -> Vec<String> {
    let dir = tempfile::tempdir().unwrap();
    let c = config(dir.path(), 600);
    let now = std::time::Instant::now();
    let (mut p, _) = processor_with(c.clone());
    let all = records(lines);
    let mut rows = Vec::new();
    let mut rest = all.into_iter();
    for (i, &n) in batches.iter().enumerate() {
        if restart_at == Some(i) {
            rows.extend(drained_rows(&mut p));
            let (_, state) = p.prepare(&crate::sink::Stamp::new("main", 1)).unwrap();
            let mut restored = ProcessorState::from_bytes(&state).unwrap();
            restored.adopt(&c).unwrap();
            p = Processor::new(&c, restored, outputs(dir.path()), Telemetry::new().unwrap()).unwrap();
        }
        let batch: Vec<Record> = rest.by_ref().take(n).collect();
        p.on_batch(batch, now).unwrap();
    }
    p.on_batch(rest.collect(), now).unwrap();
    p.drain().unwrap();
    rows.extend(drained_rows(&mut p));
    // each stretch lists its rows table by table: keep the order within each table
    rows.sort_by_key(|r| r.split(' ').next().map(str::to_string));
    rows
}

/// The built-in generator's JSONL lines: `conversations` over one day.
fn generated(conversations: u64, seed: u64) -> Vec<String> {
    let config =
        crate::source::generator::GeneratorConfig { conversations, days: 1, seed, ..Default::default() };
    crate::source::generator::generate(&config).unwrap().0
}

/// Property tests of the operator chain as a whole: how the input is cut into batches, and
/// where a checkpoint and restart fall, change no output row and no row's order.
#[test]
fn outputs_do_not_depend_on_batching_or_on_a_restart() {
    use proptest::prelude::*;
    use proptest::test_runner::{Config, TestRunner};
    let generated = generated(150, 5);
    let reference = run_in_batches(&generated, &[], None);
    assert!(reference.iter().any(|r| r.starts_with("window")) && reference.len() > 1_000);
    let cases = std::env::var("TICKETPULSE_PROPTEST_CASES").ok().and_then(|v| v.parse().ok()).unwrap_or(12);
    let mut runner = TestRunner::new(Config { cases, ..Config::default() });
    let strategy = (proptest::collection::vec(1usize..400, 1..12), proptest::option::of(0usize..12));
    runner
        .run(&strategy, |(batches, restart)| {
            let restart = restart.filter(|&r| r < batches.len());
            let rows = run_in_batches(&generated, &batches, restart);
            prop_assert_eq!(rows.len(), reference.len());
            if let Some(i) = rows.iter().zip(&reference).position(|(a, b)| a != b) {
                prop_assert!(false, "row {i} differs:\n{}\n{}", rows[i], reference[i]);
            }
            Ok(())
        })
        .unwrap();
}

/// The generated stream as Kafka records of three partitions keyed by conversation (as a
/// producer keyed by conversation id would write them): (partition, line) in stream order.
fn partitioned(lines: &[String]) -> Vec<(i32, String)> {
    lines
        .iter()
        .map(|l| {
            // invalid records (the generator writes some) go to partition 0
            let v: serde_json::Value = serde_json::from_str(l).unwrap_or_default();
            let conv = v["conversation_id"].as_str().unwrap_or_default();
            let p = conv.bytes().fold(0u32, |h, b| h.wrapping_mul(31).wrapping_add(u32::from(b))) % 3;
            (p as i32, l.clone())
        })
        .collect()
}

/// Runs `records` (partition, line) through a processor that owns partitions 0 to 2; returns
/// the message rows, the latest revision of each conversation (without its revision number) and
/// the topics fitted, sorted, and the latest revision of each window.
fn run_partitions(records: &[(i32, String)]) -> (Vec<String>, Vec<String>) {
    let dir = tempfile::tempdir().unwrap();
    let mut c = config(dir.path(), 600);
    // a small model, refitted often, so that several versions decide tickets
    c.topics.min_tickets = 60;
    c.topics.refit_every = Duration::from_secs(2 * 3600);
    c.topics.k = Some(6);
    c.topics.dims = 16;
    let (mut p, _) = processor_with(c);
    let now = std::time::Instant::now();
    p.on_assigned(&[0, 1, 2], Default::default(), now).unwrap();
    let mut offsets = [0i64; 3];
    let batch: Vec<Record> = records
        .iter()
        .map(|(partition, l)| {
            let offset = &mut offsets[*partition as usize];
            *offset += 1;
            let position = Position::Kafka { partition: *partition, offset: *offset };
            Record::decode(position, l.as_bytes(), l.len(), 1 << 20)
        })
        .collect();
    for chunk in batch.chunks(100) {
        p.on_batch(chunk.to_vec(), now).unwrap();
    }
    p.drain().unwrap();
    let o = p.outputs_mut();
    let mut rows: Vec<String> = o.messages.take().iter().map(|r| format!("{r:?}")).collect();
    let mut conversations: BTreeMap<String, (u32, String)> = BTreeMap::new();
    for mut r in o.conversations.take() {
        let revision = std::mem::take(&mut r.revision);
        let id = r.conversation_id.to_string();
        if conversations.get(&id).is_none_or(|(n, _)| revision > *n) {
            conversations.insert(id, (revision, format!("conversation {r:?}")));
        }
    }
    rows.extend(conversations.into_values().map(|(_, r)| r));
    rows.extend(o.topics.take().iter().map(|t| format!("topic {t:?}")));
    rows.sort();
    let mut latest: BTreeMap<String, (u32, String)> = BTreeMap::new();
    for w in o.windows.take() {
        let key = format!("{:?} {} {:?}", w.spec, w.start, w.group);
        if latest.get(&key).is_none_or(|(r, _)| w.revision > *r) {
            latest.insert(key, (w.revision, format!("{:?}", w.aggregate)));
        }
    }
    (rows, latest.into_iter().map(|(k, (_, a))| format!("{k} {a}")).collect())
}

/// Every result depends on the records only, not on how the partitions' records interleave (one
/// consumer reading them round-robin, or one partition's backlog after another's): a task's
/// conversations and its share of the windows follow its partition's event time, and the topic
/// model and the merged windows follow event-time boundaries of the global watermark. So the
/// latest revision of every window and every conversation (topics included), every message row
/// and every fitted topic are the same.
#[test]
fn outputs_do_not_depend_on_how_partitions_interleave() {
    let generated = generated(300, 9);
    let records = partitioned(&generated);
    let (rows, windows) = run_partitions(&records);
    assert!(rows.len() > 500 && windows.len() > 100, "{} rows, {} windows", rows.len(), windows.len());
    let with_topic =
        rows.iter().filter(|r| r.starts_with("conversation") && !r.contains("topic_id: None")).count();
    assert!(with_topic > 150, "{with_topic} conversations with a topic");
    // one partition after another
    let mut sequential = records.clone();
    sequential.sort_by_key(|(p, _)| *p);
    let (rows_seq, windows_seq) = run_partitions(&sequential);
    same(&rows_seq, &rows);
    same(&windows_seq, &windows);
    // partition 2 first, then 0 and 1 alternating in bursts
    let mut bursts: Vec<(i32, String)> = records.iter().filter(|(p, _)| *p == 2).cloned().collect();
    let (zero, one): (Vec<_>, Vec<_>) =
        records.iter().filter(|(p, _)| *p != 2).cloned().partition(|(p, _)| *p == 0);
    for (a, b) in zero.chunks(37).zip(one.chunks(53)) {
        bursts.extend_from_slice(a);
        bursts.extend_from_slice(b);
    }
    let taken = zero.chunks(37).count().min(one.chunks(53).count());
    bursts.extend(zero.chunks(37).skip(taken).flatten().cloned());
    bursts.extend(one.chunks(53).skip(taken).flatten().cloned());
    assert_eq!(bursts.len(), records.len());
    let (rows_bursts, windows_bursts) = run_partitions(&bursts);
    same(&rows_bursts, &rows);
    same(&windows_bursts, &windows);
}

/// Asserts that two sorted row lists are equal, showing where the first rows that differ do.
fn same(got: &[String], want: &[String]) {
    let Some(i) = got.iter().zip(want).position(|(a, b)| a != b) else {
        assert_eq!(got.len(), want.len());
        return;
    };
    let (a, b) = (&got[i], &want[i]);
    let at = a.bytes().zip(b.bytes()).position(|(x, y)| x != y).unwrap_or(0);
    let from = a.floor_char_boundary(at.saturating_sub(150));
    panic!(
        "row {i} of {} differs at byte {at}:\n  this run: {}\n  first:    {}",
        got.len(),
        &a[from..a.floor_char_boundary((at + 150).min(a.len()))],
        &b[from.min(b.len())..b.floor_char_boundary((at + 150).min(b.len()))]
    );
}
