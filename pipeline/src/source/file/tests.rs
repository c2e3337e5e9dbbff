use super::*;
use crate::source::{Payload, Position, SourceContext, SourceMessage, SourceOffsets, StopSignal};
use crate::telemetry::Telemetry;
use std::io::Write;
use std::time::Duration;

fn collect(path: &std::path::Path, resume: Option<SourceOffsets>) -> Vec<SourceMessage> {
    let (tx, mut rx) = tokio::sync::mpsc::channel(1024);
    let cx = SourceContext {
        tx,
        checkpoint_interval: Duration::from_secs(3600),
        stop: StopSignal::new(),
        resume,
        telemetry: Telemetry::new().unwrap(),
        max_record_bytes: 1 << 20,
        handover: None,
    };
    let handle = FileSourceConfig { path: path.to_path_buf() }.spawn(cx).unwrap();
    handle.thread.join().unwrap().unwrap();
    let mut out = Vec::new();
    while let Ok(m) = rx.try_recv() {
        out.push(m);
    }
    out
}

#[test]
fn reads_every_line_with_its_position_and_ends_draining() {
    let mut f = tempfile::NamedTempFile::new().unwrap();
    writeln!(f, r#"{{"event_id":"a","conversation_id":"c","ts":1,"type":"resolved"}}"#).unwrap();
    writeln!(f, "not json\r").unwrap();
    write!(f, r#"{{"event_id":"b","conversation_id":"c","ts":2,"type":"closed"}}"#).unwrap(); // no final newline
    let msgs = collect(f.path(), None);
    let SourceMessage::Batch(records) = &msgs[0] else { panic!("batch expected: {msgs:?}") };
    assert_eq!(records.len(), 3);
    assert_eq!(records[1].position, Position::Line { line: 2 });
    match &records[1].payload {
        Payload::Invalid { raw, .. } => {
            assert_eq!(raw, b"not json", "newline and CR are not part of the record")
        }
        other => panic!("invalid expected, got {other:?}"),
    }
    let SourceMessage::End { offsets, drain: true } = &msgs[1] else { panic!("draining end expected") };
    let SourceOffsets::Lines { lines, bytes, .. } = offsets else { panic!("line offsets expected") };
    assert_eq!(*lines, 3);
    assert_eq!(*bytes, std::fs::metadata(f.path()).unwrap().len());
}

#[test]
fn resumes_after_the_checkpointed_line() {
    let mut f = tempfile::NamedTempFile::new().unwrap();
    let first = r#"{"event_id":"a","conversation_id":"c","ts":1,"type":"resolved"}"#;
    writeln!(f, "{first}").unwrap();
    writeln!(f, r#"{{"event_id":"b","conversation_id":"c","ts":2,"type":"closed"}}"#).unwrap();
    let origin = f.path().display().to_string();
    let resume = SourceOffsets::Lines { origin, lines: 1, bytes: first.len() as u64 + 1 };
    let msgs = collect(f.path(), Some(resume));
    let SourceMessage::Batch(records) = &msgs[0] else { panic!("batch expected") };
    assert_eq!(records.len(), 1);
    assert_eq!(records[0].position, Position::Line { line: 2 });
    let other = SourceOffsets::Lines { origin: "elsewhere.jsonl".into(), lines: 1, bytes: 1 };
    let (tx, _rx) = tokio::sync::mpsc::channel(4);
    let cx = SourceContext {
        tx,
        checkpoint_interval: Duration::from_secs(1),
        stop: StopSignal::new(),
        resume: Some(other),
        telemetry: Telemetry::new().unwrap(),
        max_record_bytes: 1 << 20,
        handover: None,
    };
    let err =
        FileSourceConfig { path: f.path().into() }.spawn(cx).unwrap().thread.join().unwrap().unwrap_err();
    assert!(err.to_string().contains("another input"), "{err}");
}

#[test]
fn a_huge_line_is_cut_not_held_and_the_next_line_is_whole() {
    let huge = "x".repeat(5 << 20);
    let text = format!("{huge}\n{{\"a\":1}}\n");
    let mut r = std::io::BufReader::with_capacity(4096, text.as_bytes());
    let mut buf = Vec::new();
    assert_eq!(super::source::read_line_bounded(&mut r, &mut buf, 1024).unwrap(), huge.len() + 1);
    assert_eq!(buf.len(), 1025, "only max + 1 bytes kept");
    assert_eq!(super::source::read_line_bounded(&mut r, &mut buf, 1024).unwrap(), 8);
    assert_eq!(buf, b"{\"a\":1}\n");
    assert_eq!(super::source::read_line_bounded(&mut r, &mut buf, 1024).unwrap(), 0);
}
