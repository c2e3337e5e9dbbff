//! Spike alerting end to end.
//!
//! - The backtest over four generated days with three injected spikes of different channels,
//!   topics, sizes and times of day finds each within two detection windows of its start, with
//!   at most one false alert per simulated day (the full-size figures, 300k conversations over a
//!   week with and without spikes, are in BENCHMARKS.md).
//! - Live: events with a spike at their end go through the real broker (tansu); the alert is on
//!   the `<topic>.alerts` Kafka topic, in the `alerts` table and on /metrics, a real Prometheus
//!   scraping the pipeline turns the deploy/ rule `TicketpulseConsultationSpike` to firing, and
//!   the webhook gets it once; after a graceful stop and a restart the alert fires again on
//!   /metrics (restored from the checkpoint) and nothing is posted twice.
#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

mod support;

use std::path::Path;
use std::process::{Command, Stdio};
use std::time::Duration;
use support::prometheus::*;
use support::*;
use ticketpulse_schemas::tables::Table;

/// `gen_events.py --conversations N --days D --seed 5` with `spikes`, into `dir` (events.jsonl,
/// truth/).
fn generate(shared: &Path, dir: &Path, conversations: &str, days: &str, spikes: &[&str]) {
    let mut cmd = Command::new("python3");
    cmd.arg(shared.join("bench/gen_events.py"))
        .args(["--conversations", conversations, "--days", days, "--seed", "5", "--out"])
        .arg(dir.join("events.jsonl"))
        .arg("--truth")
        .arg(dir.join("truth"));
    for s in spikes {
        cmd.args(["--spike", s]);
    }
    run_ok(&mut cmd);
}

#[test]
fn backtest_finds_every_injected_spike_within_two_windows_with_few_false_alerts() {
    let Some(shared) = shared() else { return };
    let dir = tempfile::tempdir().unwrap();
    generate(
        &shared,
        dir.path(),
        "120000",
        "4",
        &[
            "battery_heat:weibo:2026-11-04T20:00:00+08:00:45:8",
            "logistics:app:2026-11-05T11:10:00+08:00:60:3",
            "cannot_boot:douyin:2026-11-05T15:20:00+08:00:30:10",
        ],
    );
    let summary = dir.path().join("summary.json");
    let stdout = run_ok(
        bin()
            .args(["alerts", "backtest", "--input"])
            .arg(dir.path().join("events.jsonl"))
            .arg("--truth")
            .arg(dir.path().join("truth"))
            .arg("--summary")
            .arg(&summary),
    );
    let s: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(&summary).unwrap()).unwrap();
    let n = |k: &str| s[k].as_f64().unwrap();
    assert_eq!(n("spikes"), 3.0, "{s}");
    assert_eq!(n("detected"), 3.0, "every spike found:\n{stdout}");
    assert_eq!(n("within_two_windows"), 3.0, "each within two windows of its start:\n{stdout}");
    assert!(n("false_alerts") <= n("days"), "at most one false alert per simulated day:\n{stdout}");
    // what the person paged sees: the spiking topic's words
    assert!(stdout.contains("电池") || stdout.contains("battery"), "{stdout}");
}

#[test]
fn a_live_spike_reaches_kafka_the_alerts_table_metrics_and_fires_the_prometheus_rule() {
    let Some(shared) = shared() else { return };
    let Some(brokers) = brokers() else { return };
    if !have("prometheus") {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    // two days (the first teaches the baseline), cut 45 minutes into a spike: the alert is still
    // firing when the input is consumed
    generate(&shared, dir.path(), "30000", "2", &["battery_heat:weibo:2026-11-03T22:30:00+08:00:90:10"]);
    let cut = chrono::DateTime::parse_from_rfc3339("2026-11-03T23:15:00+08:00").unwrap().timestamp_millis();
    let text = std::fs::read_to_string(dir.path().join("events.jsonl")).unwrap();
    // the file is in arrival order: keep it up to the first event at the cut
    let kept: Vec<&str> = text
        .lines()
        .take_while(|l| ticketpulse_pipeline::decode::decode(l.as_bytes()).map_or(true, |e| e.ts_ms < cut))
        .collect();
    let input = dir.path().join("cut.jsonl");
    std::fs::write(&input, kept.join("\n") + "\n").unwrap();
    let topic = unique("spikes");
    run_ok(
        bin()
            .args(["produce", "--brokers", &brokers, "--topic", &topic, "--input"])
            .arg(&input)
            .args(ONE_RECORD_BATCHES),
    );
    let out = dir.path().join("out");
    let port = free_port();
    let (hook, posts) = webhook_server();
    let config = dir.path().join("ticketpulse.toml");
    std::fs::write(&config, format!("[alerts.webhook]\nurl = \"{hook}\"\nformat = \"generic\"\n")).unwrap();
    let group = unique("g");
    let start = || {
        bin()
            .args(["run", "--brokers", &brokers, "--topic", &topic, "--group", &group, "--out"])
            .arg(&out)
            .args(["--checkpoint-interval", "2s", "--metrics-addr", &format!("127.0.0.1:{port}")])
            .arg("--config")
            .arg(&config)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap()
    };
    let pipeline = Killed(start());
    let prometheus_dir = tempfile::tempdir().unwrap();
    let (prometheus, _prometheus) = start_prometheus(port, prometheus_dir.path());

    // /metrics: the firing gauge of a weibo topic series, with its words
    let firing = wait_for("a firing alert on /metrics", Duration::from_secs(900), || {
        let metrics = http_get(port, "/metrics")?;
        metrics
            .lines()
            .find(|l| {
                l.starts_with("ticketpulse_alerts_firing{") && l.contains("weibo/") && l.ends_with(" 1")
            })
            .map(str::to_string)
    });
    assert!(firing.contains("kind=\"volume\"") && firing.contains("dimension=\"channel_topic\""), "{firing}");

    // Prometheus: the deploy/ rule fires from it
    let alerts = wait_for("the Prometheus rule firing", Duration::from_secs(120), || {
        let body = http_get(prometheus, "/api/v1/alerts")?;
        (body.contains("TicketpulseConsultationSpike") && body.contains("\"state\":\"firing\""))
            .then_some(body)
    });
    assert!(alerts.contains("weibo/"), "{alerts}");

    // the alerts table (after the next checkpoint) and the alerts topic
    let rows = wait_for("a firing row in the alerts table", Duration::from_secs(60), || {
        let rows = std::panic::catch_unwind(|| rows(&out, Table::Alerts)).ok()?;
        rows.iter()
            .any(|r| cell(r, "state") == "firing" && cell(r, "series_group").starts_with("weibo/"))
            .then_some(rows)
    });
    let fired: Vec<&String> = rows.iter().filter(|r| cell(r, "state") == "firing").collect();
    let records = read_topic(&brokers, &format!("{topic}.alerts"), rows.len());
    for row in fired {
        let id = cell(row, "alert_id");
        // sample conversations come with topic series (README: `samples`); a channel series
        // (a share of negative messages rising with the spike, say) has none
        let topic_series = cell(row, "dimension").contains("topic");
        let on_topic = records.iter().any(|(payload, _)| {
            let v: serde_json::Value = serde_json::from_slice(payload).unwrap();
            v["alert_id"] == id
                && v["state"] == "firing"
                && (!topic_series || v["samples"].as_array().is_some_and(|s| !s.is_empty()))
        });
        assert!(on_topic, "alert {id} is on {topic}.alerts");
    }

    // the webhook got each firing alert once, after the checkpoint that holds it
    let firing_posts = |posts: &std::sync::mpsc::Receiver<String>, seen: &mut Vec<String>| {
        seen.extend(posts.try_iter());
        let mut ids: Vec<String> = seen
            .iter()
            .filter_map(|b| serde_json::from_str::<serde_json::Value>(b).ok())
            .filter(|v| v["state"] == "firing")
            .map(|v| v["event_id"].as_str().unwrap().to_string())
            .collect();
        ids.sort();
        ids
    };
    let mut seen = Vec::new();
    let fired = rows.iter().filter(|r| cell(r, "state") == "firing").count();
    let posted = wait_for("the webhook posts", Duration::from_secs(60), || {
        let ids = firing_posts(&posts, &mut seen);
        (ids.len() >= fired).then_some(ids)
    });
    let mut distinct = posted.clone();
    distinct.dedup();
    assert_eq!(posted, distinct, "each firing alert posted once");

    // a graceful stop and a restart: the alert is firing again on /metrics (from the
    // checkpoint), and nothing is posted twice
    run_ok(Command::new("kill").args(["-TERM", &pipeline.0.id().to_string()]));
    let mut pipeline = pipeline;
    wait_for("the pipeline to stop", Duration::from_secs(60), || pipeline.0.try_wait().unwrap());
    let _restarted = Killed(start());
    wait_for("the firing gauge after the restart", Duration::from_secs(120), || {
        let metrics = http_get(port, "/metrics")?;
        metrics.lines().any(|l| l == firing).then_some(())
    });
    std::thread::sleep(Duration::from_secs(6)); // three checkpoint intervals
    assert_eq!(firing_posts(&posts, &mut seen), posted, "no notification repeated after the restart");
}

/// A webhook receiver on 127.0.0.1 (axum, on a thread of its own) that answers 200 to every
/// POST and hands out the bodies.
fn webhook_server() -> (String, std::sync::mpsc::Receiver<String>) {
    let (tx, rx) = std::sync::mpsc::channel::<String>();
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}/hook", listener.local_addr().unwrap());
    listener.set_nonblocking(true).unwrap();
    std::thread::spawn(move || {
        let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
        rt.block_on(async move {
            let app = axum::Router::new().route(
                "/hook",
                axum::routing::post(move |body: String| {
                    let tx = tx.clone();
                    async move {
                        let _ = tx.send(body);
                        "ok"
                    }
                }),
            );
            let listener = tokio::net::TcpListener::from_std(listener).unwrap();
            axum::serve(listener, app).await.unwrap();
        });
    });
    (url, rx)
}
