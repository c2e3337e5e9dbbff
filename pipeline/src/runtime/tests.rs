use super::*;
use crate::source::file::FileSourceConfig;
use crate::source::{Position, Record};
use std::time::Duration;

fn config(dir: &std::path::Path, lateness_s: u64) -> PipelineConfig {
    let mut c = PipelineConfig {
        source: Some(SourceConfig::File(FileSourceConfig { path: "t".into() })),
        ..Default::default()
    };
    c.time.allowed_lateness = Duration::from_secs(lateness_s);
    c.output.dir = dir.to_path_buf();
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
        .map(|(i, l)| Record::decode(Position::Line { line: i as u64 + 1 }, l.as_bytes()))
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
    assert_eq!(p.state().conversations.open_conversations(), 1, "a was evicted after 5 s + 100 s + 60 s");
    assert_eq!(p.stats.dead_letters, 1);
    assert_eq!(t.dead_letters.with_label_values(&["conversation_ended"]).get(), 1);
    let (pending, _) = p.prepare(1).unwrap();
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
