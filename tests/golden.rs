//! Golden test: a small hand-written JSONL (tests/golden/basic.jsonl) through `ticketpulse run
//! --input`, compared row by row with the expected tables (tests/golden/*.txt; `UPDATE_GOLDEN=1`
//! rewrites them, and the diff is reviewed). The first-response figures are also asserted from
//! hand computation, independently of the golden files (see tests/golden/README.md).
#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

mod support;

use support::*;
use ticketpulse_schemas::tables::Table;

#[test]
fn basic_conversations_windows_and_dead_letters() {
    let out = tempfile::tempdir().unwrap();
    let input = repo().join("tests/golden/basic.jsonl");
    let stdout = run_ok(
        bin()
            .args(["run", "--input"])
            .arg(&input)
            .arg("--out")
            .arg(out.path())
            .args(["--metrics-addr", "127.0.0.1:0"]),
    );
    assert!(stdout.contains("4 invalid, 1 duplicates dropped"), "{stdout}");

    let conversations = rows(out.path(), Table::Conversations);
    golden("basic.conversations.txt", &conversations);
    // Hand-computed (README.md beside the input): id -> (channel, first_response_s, first_human_response_s, end_reason)
    let expected = [
        ("g1", "wechat", "2.0", "40.0", "closed"),
        ("g2", "email", "1800.0", "1801.0", "end_of_input"),
        ("g3", "app", "4.0", "null", "end_of_input"),
        ("g4", "phone", "20.0", "20.0", "end_of_input"),
        ("g5", "web", "1.0", "60.0", "end_of_input"),
        ("g6", "unknown", "null", "null", "end_of_input"),
    ];
    assert_eq!(conversations.len(), expected.len());
    for (row, (id, channel, frt, fhrt, end)) in conversations.iter().zip(expected) {
        assert_eq!(cell(row, "conversation_id"), id);
        assert_eq!(cell(row, "channel"), channel, "{row}");
        assert_eq!(cell(row, "first_response_s"), frt, "{row}");
        assert_eq!(cell(row, "first_human_response_s"), fhrt, "{row}");
        assert_eq!(cell(row, "end_reason"), end, "{row}");
    }
    assert_eq!(cell(&conversations[4], "max_tier"), "3");

    // tumbling rows (by channel and tier) are compared in full; hopping rows are counted
    let (windows, hopping): (Vec<String>, Vec<String>) = rows(out.path(), Table::WindowMetrics)
        .into_iter()
        .partition(|r| cell(r, "window_kind") == "tumbling");
    golden("basic.window_metrics.txt", &windows);
    // default hopping windows are 1 h wide every 15 min: each event is in 4 of them; the input spans
    // 02:00-02:30 UTC, so windows start from 01:15 to 02:30 (6 starts), by channel and by tier
    let starts: std::collections::BTreeSet<&str> = hopping.iter().map(|r| cell(r, "window_start")).collect();
    assert_eq!(starts.len(), 6, "{starts:?}");
    let channel_rows =
        hopping.iter().filter(|r| cell(r, "dimension") == "channel" && cell(r, "revision") == "1");
    let started: u64 = channel_rows.map(|r| cell(r, "conversations_started").parse::<u64>().unwrap()).sum();
    assert_eq!(started, 6 * 4, "each start counted in its 4 hopping windows");

    let letters = dead_letters(out.path());
    let summary: Vec<(String, u64)> = letters
        .iter()
        .map(|l| (l["reason"].as_str().unwrap().to_string(), l["line"].as_u64().unwrap()))
        .collect();
    assert_eq!(
        summary,
        [
            ("not_json".to_string(), 10),
            ("out_of_range".to_string(), 16),
            ("missing_field".to_string(), 19),
            ("empty".to_string(), 25)
        ]
    );
    assert_eq!(letters[0]["raw"], "{bad json");
    assert!(letters[2]["detail"].as_str().unwrap().contains("`role`"), "{}", letters[2]);
}

#[test]
fn stdin_gives_the_same_rows_as_the_file() {
    use std::io::Write;
    let input = repo().join("tests/golden/basic.jsonl");
    let (a, b) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    run_ok(
        bin()
            .args(["run", "--input"])
            .arg(&input)
            .arg("--out")
            .arg(a.path())
            .args(["--metrics-addr", "127.0.0.1:0"]),
    );
    let mut child = bin()
        .args(["run", "--input", "-", "--out"])
        .arg(b.path())
        .args(["--metrics-addr", "127.0.0.1:0"])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::null())
        .spawn()
        .unwrap();
    child.stdin.take().unwrap().write_all(&std::fs::read(&input).unwrap()).unwrap();
    assert!(child.wait().unwrap().success());
    for table in [Table::Conversations, Table::WindowMetrics] {
        assert_eq!(rows(a.path(), table), rows(b.path(), table));
    }
    assert_eq!(dead_letters(b.path()).len(), 4);
    assert_eq!(dead_letters(b.path())[0]["origin"], "-");
}

#[test]
fn the_generator_source_from_a_config_file_and_a_bad_config_fails_naming_the_field() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("out");
    let config = dir.path().join("ticketpulse.toml");
    std::fs::write(
        &config,
        format!(
            "[source]\nkind = \"generator\"\nconversations = 300\nseed = 4\n\n[time]\nallowed_lateness = \"20m\"\n\n[output]\ndir = \"{}\"\n\n[metrics]\naddr = \"127.0.0.1:0\"\n",
            out.display()
        ),
    )
    .unwrap();
    let stdout = run_ok(bin().arg("run").arg("--config").arg(&config));
    let conversations = latest_conversations(&rows(&out, Table::Conversations));
    let generated = ticketpulse_pipeline::source::generator::generate(
        &ticketpulse_pipeline::source::generator::GeneratorConfig {
            conversations: 300,
            seed: 4,
            ..Default::default()
        },
    )
    .unwrap()
    .1;
    assert_eq!(conversations.len() as u64, generated.conversations, "{stdout}");
    assert_eq!(dead_letters(&out).len() as u64, generated.invalid_lines);

    std::fs::write(&config, "[time]\nwindow = \"1m\"\nallowed_latenes = \"5m\"\n").unwrap();
    let failed = bin().args(["run", "--input", "x.jsonl", "--config"]).arg(&config).output().unwrap();
    assert!(!failed.status.success());
    let err = String::from_utf8_lossy(&failed.stderr);
    assert!(
        err.contains("ticketpulse.toml") && err.contains("allowed_latenes") && err.contains("line 3"),
        "{err}"
    );
}

#[test]
fn a_graceful_stop_on_stdin_saves_open_state_and_a_rerun_resumes_exactly() {
    use std::io::Write;
    let dir = tempfile::tempdir().unwrap();
    let input = dir.path().join("events.jsonl");
    generate_file(&input, 400, 3);
    let text = std::fs::read(&input).unwrap();
    let half = text.iter().enumerate().filter(|(_, b)| **b == b'\n').nth(1_500).map(|(i, _)| i + 1).unwrap();
    let out = dir.path().join("out");
    let args = |c: &mut std::process::Command| {
        c.args(["run", "--input", "-", "--allowed-lateness", "20m", "--checkpoint-interval", "200ms"])
            .args(["--metrics-addr", "127.0.0.1:0", "--out"])
            .arg(&out)
            .stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::piped());
    };
    let mut first = bin();
    args(&mut first);
    let mut child = first.spawn().unwrap();
    let mut stdin = child.stdin.take().unwrap();
    stdin.write_all(&text[..half]).unwrap();
    stdin.flush().unwrap();
    // the writer goes quiet but keeps the pipe open: the run must still checkpoint, then stop on SIGTERM
    wait_for("a checkpoint of the first half", std::time::Duration::from_secs(30), || {
        (std::fs::read_dir(out.join("_checkpoints/main")).ok()?.count() >= 2).then_some(())
    });
    run_ok(std::process::Command::new("kill").args(["-TERM", &child.id().to_string()]));
    let stopped = child.wait_with_output().unwrap();
    drop(stdin);
    let stdout = String::from_utf8_lossy(&stopped.stdout);
    assert!(stopped.status.success(), "{stdout}");
    assert!(stdout.contains("open state saved"), "{stdout}");

    // a restart whose writer replays less than was already processed, then goes quiet, still
    // stops promptly on SIGTERM (while skipping the processed lines)
    let mut quiet = bin();
    args(&mut quiet);
    let mut child = quiet.spawn().unwrap();
    let mut stdin = child.stdin.take().unwrap();
    stdin.write_all(&text[..200]).unwrap();
    stdin.flush().unwrap();
    std::thread::sleep(std::time::Duration::from_millis(500));
    run_ok(std::process::Command::new("kill").args(["-TERM", &child.id().to_string()]));
    let started = std::time::Instant::now();
    let stopped = child.wait_with_output().unwrap();
    drop(stdin);
    assert!(stopped.status.success() && started.elapsed() < std::time::Duration::from_secs(10));

    let mut second = bin();
    args(&mut second);
    let mut child = second.spawn().unwrap();
    child.stdin.take().unwrap().write_all(&text).unwrap(); // the whole input again: read lines are skipped
    let resumed = child.wait_with_output().unwrap();
    assert!(resumed.status.success(), "{}", String::from_utf8_lossy(&resumed.stdout));

    let reference = dir.path().join("reference");
    run_ok(bin().args(["run", "--input"]).arg(&input).arg("--out").arg(&reference).args([
        "--allowed-lateness",
        "20m",
        "--metrics-addr",
        "127.0.0.1:0",
    ]));
    for table in [Table::Conversations, Table::WindowMetrics] {
        assert_eq!(rows(&out, table), rows(&reference, table), "{table:?} after stop and resume");
    }
    assert_eq!(dead_letters(&out).len(), dead_letters(&reference).len());
}
