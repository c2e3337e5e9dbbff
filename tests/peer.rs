//! The acceptance check against the Python peer (../shared/bench/peer_reference.py) on
//! `gen_events.py --conversations 20000 --days 2 --seed 11`: for both `run --input` and
//! `produce` + `run --brokers` (tansu), the conversation count, dead-letter lines, duplicates and
//! per-channel median first (human) response times must match the peer (medians within 0.5 %).
//!
//! Needs ../shared (skips outside CI when absent) and a Python with pandas and scikit-learn:
//! `$TICKETPULSE_PEER_PYTHON` (set by .ci/run to its virtual environment), else `python3`.
#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

mod support;

use arrow::array::{Array, Float64Array, StringArray};
use std::collections::BTreeMap;
use std::path::Path;
use std::process::Command;
use support::*;
use ticketpulse_pipeline::metrics::quantile;
use ticketpulse_pipeline::sink::parquet::read_table;
use ticketpulse_schemas::tables::Table;

fn python() -> Option<String> {
    let py = std::env::var("TICKETPULSE_PEER_PYTHON").unwrap_or_else(|_| "python3".into());
    let ok =
        Command::new(&py).args(["-c", "import pandas, sklearn"]).output().is_ok_and(|o| o.status.success());
    if ok {
        return Some(py);
    }
    assert!(
        std::env::var_os("CI").is_none(),
        "CI must provide pandas + scikit-learn ($TICKETPULSE_PEER_PYTHON)"
    );
    eprintln!("SKIP: {py} lacks pandas/scikit-learn (set TICKETPULSE_PEER_PYTHON)");
    None
}

/// Per-channel medians of a column of the conversations table.
fn medians(out: &Path, column: &str) -> BTreeMap<String, f64> {
    let mut values: BTreeMap<String, Vec<f64>> = BTreeMap::new();
    for b in read_table(out, Table::Conversations).unwrap() {
        let ch = b.column_by_name("channel").unwrap().as_any().downcast_ref::<StringArray>().unwrap().clone();
        let v = b.column_by_name(column).unwrap().as_any().downcast_ref::<Float64Array>().unwrap().clone();
        for i in 0..b.num_rows() {
            if v.is_valid(i) {
                values.entry(ch.value(i).to_string()).or_default().push(v.value(i));
            }
        }
    }
    values.into_iter().map(|(k, mut v)| (k, quantile(&mut v, 0.5).unwrap())).collect()
}

fn check(what: &str, out: &Path, stdout: &str, dead_letters: usize, peer: &serde_json::Value) {
    let conversations = rows(out, Table::Conversations).len();
    assert_eq!(conversations as u64, peer["conversations"].as_u64().unwrap(), "{what}: conversations");
    assert_eq!(dead_letters as u64, peer["invalid_lines"].as_u64().unwrap(), "{what}: dead letters");
    let dups = format!("{} duplicates dropped", peer["duplicates_dropped"]);
    assert!(stdout.contains(&dups), "{what}: expected '{dups}' in {stdout}");
    for (column, key) in [
        ("first_response_s", "first_response_p50_s_by_channel"),
        ("first_human_response_s", "first_human_response_p50_s_by_channel"),
    ] {
        let ours = medians(out, column);
        let theirs = peer[key].as_object().unwrap();
        assert_eq!(ours.len(), theirs.len(), "{what}: channels of {column}");
        for (channel, v) in theirs {
            let want = v.as_f64().unwrap();
            let got = ours[channel];
            assert!(
                (got - want).abs() <= 0.005 * want.abs(),
                "{what}: {channel} median {column} {got} vs peer {want}"
            );
        }
    }
}

#[test]
fn matches_the_python_peer_on_the_reference_file_by_file_and_by_broker() {
    let Some(shared) = shared() else { return };
    let Some(py) = python() else { return };
    let dir = tempfile::tempdir().unwrap();
    let input = dir.path().join("events.jsonl");
    run_ok(
        Command::new(&py)
            .arg(shared.join("bench/gen_events.py"))
            .args(["--conversations", "20000", "--days", "2", "--seed", "11", "--out"])
            .arg(&input),
    );
    let peer: serde_json::Value = serde_json::from_str(&run_ok(
        Command::new(&py)
            .arg(shared.join("bench/peer_reference.py"))
            .arg(&input)
            .args(["--sentiment", "none"]),
    ))
    .unwrap();

    let file_out = dir.path().join("file");
    let stdout = run_ok(bin().args(["run", "--input"]).arg(&input).arg("--out").arg(&file_out).args([
        "--allowed-lateness",
        "20m",
        "--metrics-addr",
        "127.0.0.1:0",
    ]));
    check("run --input", &file_out, &stdout, dead_letters(&file_out).len(), &peer);

    let Some(brokers) = brokers() else { return };
    let topic = unique("peer");
    run_ok(
        bin()
            .args(["produce", "--brokers", &brokers, "--topic", &topic, "--input"])
            .arg(&input)
            .args(ONE_RECORD_BATCHES),
    );
    let kafka_out = dir.path().join("kafka");
    let stdout = run_ok(
        bin()
            .args(["run", "--brokers", &brokers, "--topic", &topic, "--group", &unique("g"), "--out"])
            .arg(&kafka_out)
            .args(["--allowed-lateness", "20m", "--stop-when-idle", "3s", "--metrics-addr", "127.0.0.1:0"]),
    );
    let letters = stdout.split_whitespace().collect::<Vec<_>>();
    let i = letters.iter().position(|w| *w == "dead").unwrap();
    let dead: usize = letters[i - 1].parse().unwrap();
    check("run --brokers", &kafka_out, &stdout, dead, &peer);
}
