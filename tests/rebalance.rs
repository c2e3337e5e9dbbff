//! A rebalance with state: two instances in one consumer group share a four-partition topic and
//! one output directory; one is SIGKILLed mid-run. The survivor takes its partitions over,
//! restores their state from the dead instance's last checkpoint (completing its publication),
//! reads on from its offsets, and finishes. The per-conversation outputs (`messages`,
//! `conversations`, dead letters) must then equal those of one instance reading the same topic
//! alone: nothing lost, nothing doubled, and no conversation split by the handover.
//!
//! The broker is librdkafka's mock cluster served by `ticketpulse kafka-mock` in a process of
//! its own: tansu 0.6 never reassigns a SIGKILLed member's partitions (measured: after the
//! member's session expires, the survivor is handed its own partitions again and nothing
//! else), so it cannot host this test.
//!
//! Window metrics and alerts are left out of the comparison: they need every partition, and
//! until the global stage (issue 9) each instance computes them over the partitions it reads.

#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

mod support;

use std::io::BufRead;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};
use support::*;
use ticketpulse_schemas::tables::Table;

const TOPIC: &str = "events";

/// The mock cluster's process; killed on drop.
struct Mock {
    child: Child,
    brokers: String,
}

impl Mock {
    fn start() -> Self {
        let mut child = bin()
            .args(["kafka-mock", "--topic", &format!("{TOPIC}:4")])
            .args(["--topic", &format!("{TOPIC}.signals:1"), "--topic", &format!("{TOPIC}.alerts:1")])
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let mut line = String::new();
        std::io::BufReader::new(child.stdout.take().unwrap()).read_line(&mut line).unwrap();
        let brokers = line.trim().to_string();
        assert!(brokers.starts_with("127.0.0.1:"), "the mock cluster's address: {brokers:?}");
        Mock { child, brokers }
    }
}

impl Drop for Mock {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn run(brokers: &str, group: &str, out: &Path, instance: &str, config: &Path, idle: &str) -> Command {
    let mut cmd = bin();
    cmd.args(["run", "--brokers", brokers, "--topic", TOPIC, "--group", group, "--instance", instance])
        .arg("--out")
        .arg(out)
        .arg("--config")
        .arg(config)
        .args(["--allowed-lateness", "20m", "--checkpoint-interval", "300ms", "--stop-when-idle", idle])
        .args(["--metrics-addr", "127.0.0.1:0"])
        // a dead member's session ends soon; small fetches keep a run going for a while
        .args(["-X", "session.timeout.ms=6000", "-X", "heartbeat.interval.ms=500"])
        .args(["-X", "queued.max.messages.kbytes=64", "-X", "max.partition.fetch.bytes=16384"])
        .env("RUST_LOG", "warn,ticketpulse=info")
        .stdout(Stdio::null())
        .stderr(Stdio::piped());
    cmd
}

/// How many partitions the checkpoint file at `path` holds with records of them processed
/// (`None`: not a readable checkpoint).
fn holds(path: &Path) -> Option<usize> {
    let bytes = std::fs::read(path).ok()?;
    let len = u64::from_le_bytes(bytes.get(8..16)?.try_into().ok()?) as usize;
    let manifest: serde_json::Value = serde_json::from_slice(bytes.get(16..16 + len)?).ok()?;
    let next = &manifest["offsets"]["Kafka"]["next"];
    let read = |p: &String| next[p].as_i64().is_some_and(|o| o > 0);
    Some(manifest["partitions"].as_object()?.keys().filter(|p| read(p)).count())
}

/// The `(partition, offset)` each partition of instance `from` was restored at, from a log.
fn restored(log: &str, from: &str) -> Vec<(i32, i64)> {
    let marker = format!("restoring instance {from}'s checkpoint");
    log.lines()
        .filter(|l| l.contains(&marker))
        .map(|l| {
            let p = l.split("claimed partition ").nth(1).unwrap().split(' ').next().unwrap().parse().unwrap();
            // `reading on at offset Some(N)`, or `from the beginning` when nothing of it was read
            let o =
                l.split("offset Some(").nth(1).map_or(0, |o| o.split(')').next().unwrap().parse().unwrap());
            (p, o)
        })
        .collect()
}

#[test]
fn a_killed_instances_partitions_move_with_their_state_and_nothing_is_lost_or_doubled() {
    let dir = tempfile::tempdir().unwrap();
    let input = dir.path().join("events.jsonl");
    generate_file(&input, 5_000, 23);
    let mock = Mock::start();
    let brokers = mock.brokers.clone();
    run_ok(bin().args(["produce", "--brokers", &brokers, "--topic", TOPIC, "--input"]).arg(&input));
    let config = dir.path().join("config.toml");
    // dead letters to files, to compare them; topics are fitted per instance until the shared
    // model (issue 9), so conversations would differ in their topic only
    std::fs::write(&config, "[output]\ndead_letter = \"file\"\n[topics]\nenabled = false\n").unwrap();

    // the reference: one instance alone
    let single = dir.path().join("single");
    let (status, _, log) = wait_within(
        run(&brokers, "alone", &single, "main", &config, "3s").spawn().unwrap(),
        Duration::from_secs(300),
    );
    assert!(status.is_some_and(|s| s.success()), "the single run: {log}");

    // two instances; `a` dies once it has committed a checkpoint holding its partitions
    let shared = dir.path().join("shared");
    let mut a = run(&brokers, "pair", &shared, "a", &config, "15s").spawn().unwrap();
    let b = run(&brokers, "pair", &shared, "b", &config, "15s").spawn().unwrap();
    let started = Instant::now();
    wait_for("a checkpoint of instance a holding partitions", Duration::from_secs(120), || {
        let files = std::fs::read_dir(shared.join("_checkpoints/a")).ok()?;
        files.filter_map(|f| holds(&f.ok()?.path())).any(|n| n > 0).then_some(())
    });
    a.kill().unwrap();
    let a_status = a.wait().unwrap();
    eprintln!("instance a killed after {:.1?}: {a_status}", started.elapsed());
    let (status, _, b_log) = wait_within(b, Duration::from_secs(300));
    assert!(status.is_some_and(|s| s.success()), "instance b: {b_log}");

    // b restored a's partitions from a's checkpoint, mid-way through them
    let taken = restored(&b_log, "a");
    assert!(!taken.is_empty(), "instance b restored a's partitions: {b_log}");
    let c = consumer(&brokers, &unique("watermarks"));
    let mid = taken.iter().any(|&(p, o)| {
        let (_, high) =
            rdkafka::consumer::Consumer::fetch_watermarks(&c, TOPIC, p, Duration::from_secs(10)).unwrap();
        o > 0 && o < high
    });
    assert!(mid, "a was killed with records of its partitions left to read: {taken:?}");

    // the per-conversation outputs equal the single instance's
    let want = rows(&single, Table::Messages);
    let got = rows(&shared, Table::Messages);
    assert_eq!(got.len(), want.len(), "messages: nothing lost, nothing doubled");
    assert!(got == want, "messages: the same rows");
    let messages = want.len();
    let all = rows(&shared, Table::Conversations);
    let mut revisions: Vec<(&str, &str)> =
        all.iter().map(|r| (cell(r, "conversation_id"), cell(r, "revision"))).collect();
    revisions.sort_unstable();
    let written = revisions.len();
    revisions.dedup();
    assert_eq!(revisions.len(), written, "no conversation revision written twice");
    let without_revision = |rows: Vec<String>| -> Vec<String> {
        latest_conversations(&rows)
            .into_iter()
            .map(|r| r.split(" | ").filter(|c| !c.starts_with("revision=")).collect::<Vec<_>>().join(" | "))
            .collect()
    };
    let want = without_revision(rows(&single, Table::Conversations));
    let got = without_revision(all);
    assert_eq!(got.len(), want.len(), "conversations");
    for (g, w) in got.iter().zip(&want) {
        assert_eq!(g, w, "the latest revision of each conversation");
    }
    let sorted = |mut v: Vec<serde_json::Value>| {
        v.sort_by_key(|x| x.to_string());
        v
    };
    assert_eq!(sorted(dead_letters(&shared)), sorted(dead_letters(&single)), "dead letters");
    eprintln!("{messages} messages, {} conversations, identical", got.len());

    // what the dead instance had written after its last checkpoint was never published; its
    // restart removes it
    let leftovers: Vec<String> = files_under(&shared)
        .into_iter()
        .map(|p| p.file_name().unwrap().to_string_lossy().into_owned())
        .filter(|n| n.ends_with(".tmp"))
        .collect();
    assert!(leftovers.iter().all(|n| n.starts_with("part-a-")), "only a's uncommitted files: {leftovers:?}");
}
