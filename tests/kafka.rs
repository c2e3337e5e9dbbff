//! End-to-end tests against a real Kafka-protocol broker (tansu on 127.0.0.1, started by
//! .ci/run): `produce` + `run --brokers` must give exactly the conversations of `run --input`
//! on the same file, dead-letter every invalid record to the dead-letter topic with its reason
//! and position, commit the consumer group's offsets, and survive a crash (SIGKILL) in the
//! middle without losing or repeating a row.
//!
//! Producers use one-record batches: tansu 0.6 skips records when a fetch starts inside a batch
//! (see support::ONE_RECORD_BATCHES).
#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

mod support;

use rdkafka::consumer::Consumer;
use rdkafka::{Offset, TopicPartitionList};
use std::collections::{BTreeMap, HashSet};
use std::path::Path;
use std::time::Duration;
use support::*;
use ticketpulse_schemas::tables::Table;

fn produce(brokers: &str, topic: &str, input: &Path) {
    run_ok(
        bin()
            .args(["produce", "--brokers", brokers, "--topic", topic, "--partitions", "4", "--input"])
            .arg(input)
            .args(ONE_RECORD_BATCHES),
    );
}

fn run_kafka(brokers: &str, topic: &str, group: &str, out: &Path) -> String {
    run_ok_within(
        bin()
            .args(["run", "--brokers", brokers, "--topic", topic, "--group", group, "--out"])
            .arg(out)
            .args(["--allowed-lateness", "20m", "--stop-when-idle", "3s", "--checkpoint-interval", "500ms"])
            .args(["--metrics-addr", "127.0.0.1:0"])
            .args(ONE_RECORD_BATCHES),
        Duration::from_secs(240),
    )
}

fn run_file(input: &Path, out: &Path) -> String {
    run_ok(bin().args(["run", "--input"]).arg(input).arg("--out").arg(out).args([
        "--allowed-lateness",
        "20m",
        "--metrics-addr",
        "127.0.0.1:0",
    ]))
}

/// The signal ids raised and not withdrawn, in table order.
fn live_signals(rows: &[String]) -> std::collections::BTreeSet<String> {
    let mut live = std::collections::BTreeSet::new();
    for r in rows {
        let id = cell(r, "signal_id").to_string();
        match cell(r, "action") {
            "raised" => assert!(live.insert(id), "raised twice: {r}"),
            _ => assert!(live.remove(&id), "withdrawn without a raise: {r}"),
        }
    }
    live
}

fn number(stdout: &str, after_word: &str) -> u64 {
    let words: Vec<&str> = stdout.split_whitespace().collect();
    let i = words
        .iter()
        .position(|w| w.trim_end_matches(',') == after_word)
        .unwrap_or_else(|| panic!("no '{after_word}' in {stdout}"));
    words[i - 1].parse().unwrap()
}

#[test]
fn broker_path_equals_file_path_with_dead_letters_and_committed_offsets() {
    let Some(brokers) = brokers() else { return };
    let dir = tempfile::tempdir().unwrap();
    let input = dir.path().join("events.jsonl");
    generate_file(&input, 1_500, 5);
    let topic = unique("events");
    let group = unique("group");
    produce(&brokers, &topic, &input);

    let kafka_out = dir.path().join("kafka");
    let stdout = run_kafka(&brokers, &topic, &group, &kafka_out);
    let file_out = dir.path().join("file");
    let file_stdout = run_file(&input, &file_out);
    assert_eq!(number(&stdout, "late"), 0, "{stdout}");
    assert_eq!(number(&stdout, "duplicates"), number(&file_stdout, "duplicates"));

    // When a revision is written depends on the watermark, which follows the slowest partition,
    // so the revisions in between may differ; the latest revision of every conversation and of
    // every window may not.
    let via_kafka = rows(&kafka_out, Table::Conversations);
    let revisions: HashSet<(&str, &str)> =
        via_kafka.iter().map(|r| (cell(r, "conversation_id"), cell(r, "revision"))).collect();
    assert_eq!(revisions.len(), via_kafka.len(), "each revision written once");
    let (via_kafka, via_file) =
        (latest_conversations(&via_kafka), latest_conversations(&rows(&file_out, Table::Conversations)));
    assert!(via_kafka.len() > 1_500, "{} conversations", via_kafka.len());
    let strip = |rows: Vec<String>| -> Vec<String> {
        // the revision number and why it was written (resolved, then closed) depend on timing,
        // and so do topics: which tickets the first model is fitted on depends on the watermark,
        // which follows the slowest partition (tests/topics.rs checks topics)
        rows.iter()
            .map(|r| {
                r.split(" | ")
                    .filter(|c| {
                        !c.starts_with("revision=")
                            && !c.starts_with("end_reason=")
                            && !c.starts_with("topic_")
                    })
                    .collect::<Vec<_>>()
                    .join(" | ")
            })
            .collect()
    };
    assert_eq!(
        strip(via_kafka),
        strip(via_file),
        "the broker path ends with exactly the file path's conversations"
    );
    let windows = |out: &Path| -> BTreeMap<String, String> {
        latest_windows(&rows(out, Table::WindowMetrics))
            .into_iter()
            .filter(|r| !["topic", "channel_topic"].contains(&cell(r, "dimension")))
            .map(|r| {
                (
                    window_key(&r),
                    r.split(" | ").filter(|c| !c.starts_with("revision=")).collect::<Vec<_>>().join(" | "),
                )
            })
            .collect()
    };
    assert_eq!(windows(&kafka_out), windows(&file_out), "and with the same windows");

    // every invalid record is in the dead-letter topic, as received, with reason and position
    let invalid = invalid_lines(&input);
    assert!(invalid > 0);
    let letters = read_topic(&brokers, &format!("{topic}.dead-letter"), invalid);
    assert_eq!(letters.len(), invalid, "one dead letter per invalid record");
    let raw_lines: HashSet<Vec<u8>> =
        std::fs::read(&input).unwrap().split(|&b| b == b'\n').map(<[u8]>::to_vec).collect();
    for (value, headers) in &letters {
        assert!(
            raw_lines.contains(value),
            "dead letter is not an input line: {}",
            String::from_utf8_lossy(value)
        );
        assert!(headers.contains_key("ticketpulse.error.reason"), "{headers:?}");
        assert!(headers["ticketpulse.source.offset"].parse::<i64>().is_ok(), "{headers:?}");
        assert_eq!(headers["ticketpulse.source.topic"], topic);
    }

    // signals: the topic carries exactly the table's signal events, and what stays raised is
    // what the file path raised
    let signal_rows = rows(&kafka_out, Table::Signals);
    let table: Vec<(String, String)> = signal_rows
        .iter()
        .map(|r| (cell(r, "signal_id").to_string(), cell(r, "action").to_string()))
        .collect();
    assert!(!table.is_empty(), "the generator's angry customers raise signals");
    let records = read_topic(&brokers, &format!("{topic}.signals"), table.len());
    let mut from_topic: Vec<(String, String)> = records
        .iter()
        .map(|(value, _)| {
            let v: serde_json::Value = serde_json::from_slice(value).unwrap();
            assert_eq!(v["kind"], "angry_with_bot", "{v}");
            assert!(v["at"].as_str().unwrap().ends_with('Z') && v["conversation_id"].is_string(), "{v}");
            (v["signal_id"].as_str().unwrap().to_string(), v["action"].as_str().unwrap().to_string())
        })
        .collect();
    let mut sorted_table = table.clone();
    sorted_table.sort();
    from_topic.sort();
    assert_eq!(from_topic, sorted_table, "one topic record per signal event");
    assert_eq!(
        live_signals(&signal_rows),
        live_signals(&rows(&file_out, Table::Signals)),
        "the same signals stay raised"
    );

    // the group's committed offsets cover the whole topic
    let c = consumer(&brokers, &group);
    let mut tpl = TopicPartitionList::new();
    for p in 0..4 {
        tpl.add_partition(&topic, p);
    }
    let committed = c.committed_offsets(tpl, Duration::from_secs(10)).unwrap();
    let mut total = 0;
    for e in committed.elements() {
        let Offset::Offset(o) = e.offset() else {
            panic!("partition {} has no committed offset", e.partition())
        };
        let (_, high) = c.fetch_watermarks(&topic, e.partition(), Duration::from_secs(10)).unwrap();
        assert_eq!(o, high, "partition {} committed up to its end", e.partition());
        total += o;
    }
    assert_eq!(total as usize, std::fs::read_to_string(&input).unwrap().lines().count());
}

#[test]
fn a_crash_in_the_middle_neither_loses_nor_repeats_rows() {
    let Some(brokers) = brokers() else { return };
    let dir = tempfile::tempdir().unwrap();
    let input = dir.path().join("events.jsonl");
    generate_file(&input, 1_200, 9);
    let text = std::fs::read_to_string(&input).unwrap();
    let lines: Vec<&str> = text.lines().collect();
    let (first, second) = lines.split_at(lines.len() / 2);
    let first_path = dir.path().join("first.jsonl");
    let second_path = dir.path().join("second.jsonl");
    std::fs::write(&first_path, first.join("\n") + "\n").unwrap();
    std::fs::write(&second_path, second.join("\n") + "\n").unwrap();

    let topic = unique("crash");
    let group = unique("group");
    let out = dir.path().join("out");
    produce(&brokers, &topic, &first_path);
    // run without an end, checkpointing often; kill -9 once a few checkpoints have committed
    let mut child = bin()
        .args(["run", "--brokers", &brokers, "--topic", &topic, "--group", &group, "--out"])
        .arg(&out)
        .args([
            "--allowed-lateness",
            "20m",
            "--checkpoint-interval",
            "200ms",
            "--metrics-addr",
            "127.0.0.1:0",
        ])
        .args(["-X", "session.timeout.ms=6000"])
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    wait_for("three checkpoints", Duration::from_secs(90), || {
        let n = std::fs::read_dir(out.join("_checkpoints/main")).ok()?.count();
        (n >= 2 && rows(&out, Table::WindowMetrics).len() > 10).then_some(())
    });
    child.kill().unwrap(); // SIGKILL: no final checkpoint
    child.wait().unwrap();

    produce(&brokers, &topic, &second_path);
    // The restart joins a new consumer group: after a member is SIGKILLed, tansu 0.6 can leave
    // its group without ever assigning the partitions again (seen in CI: the restarted run got
    // no assignment for minutes). The pipeline resumes from its own checkpointed offsets
    // whatever the group committed, so every assertion below holds the same; only the group
    // rejoin, a broker behaviour, is left out.
    let stdout = run_kafka(&brokers, &topic, &unique("group-after-crash"), &out);
    assert_eq!(number(&stdout, "late"), 0, "{stdout}");

    let reference = dir.path().join("reference");
    run_file(&input, &reference);
    let got = rows(&out, Table::Conversations);
    let revisions: HashSet<(&str, &str)> =
        got.iter().map(|r| (cell(r, "conversation_id"), cell(r, "revision"))).collect();
    assert_eq!(revisions.len(), got.len(), "no conversation revision written twice");
    let want = latest_conversations(&rows(&reference, Table::Conversations));
    let got = latest_conversations(&got);
    assert_eq!(got.len(), want.len(), "conversations after the crash");
    let facts = |r: &String| {
        let cells = r.split(" | ").filter(|c| {
            !c.starts_with("revision=") && !c.starts_with("end_reason=") && !c.starts_with("topic_")
        });
        cells.collect::<Vec<_>>().join(" | ")
    };
    assert_eq!(got.iter().map(facts).collect::<Vec<_>>(), want.iter().map(facts).collect::<Vec<_>>());
    let windows = rows(&out, Table::WindowMetrics);
    let keys: HashSet<(String, &str)> =
        windows.iter().map(|r| (window_key(r), cell(r, "revision"))).collect();
    assert_eq!(keys.len(), windows.len(), "no window revision written twice");
    let messages = |rows: &[String]| {
        let tumbling =
            rows.iter().filter(|r| cell(r, "window_kind") == "tumbling" && cell(r, "dimension") == "channel");
        tumbling.map(|r| cell(r, "messages").parse::<u64>().unwrap()).sum::<u64>()
    };
    assert_eq!(
        messages(&latest_windows(&windows)),
        messages(&latest_windows(&rows(&reference, Table::WindowMetrics)))
    );
    let leftovers: Vec<_> = std::fs::read_dir(out.join("conversations"))
        .unwrap()
        .flat_map(|d| std::fs::read_dir(d.unwrap().path()).unwrap())
        .map(|f| f.unwrap().path())
        .filter(|p| p.to_string_lossy().ends_with(".tmp"))
        .collect();
    assert!(leftovers.is_empty(), "uncommitted files removed: {leftovers:?}");
}
