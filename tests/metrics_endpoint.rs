//! The observable surface: while `ticketpulse demo` runs, /metrics serves the business and
//! pipeline metrics, every component reports events in, events out and errors; a real
//! Prometheus scrapes it and every PromQL expression of every dashboard returns data; the
//! deployment's Prometheus config and rules pass `promtool check` and `promtool test rules`, and
//! its Alertmanager config passes `amtool check-config`. Prometheus, promtool and amtool come
//! from Debian (installed by .ci/run); outside CI the parts that need them skip when they are
//! missing.
#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

mod support;

use std::process::{Command, Stdio};
use std::time::Duration;
use support::prometheus::*;
use support::*;
use ticketpulse_pipeline::telemetry::component;

/// The value of an unlabelled or labelled sample line `name{...} value`.
fn sample(metrics: &str, series: &str) -> Option<f64> {
    metrics
        .lines()
        .find(|l| l.starts_with(series) && l[series.len()..].starts_with(' '))
        .and_then(|l| l.rsplit(' ').next()?.parse().ok())
}

#[test]
fn demo_serves_metrics_that_prometheus_scrapes_and_dashboards_query() {
    let port = free_port();
    let out = tempfile::tempdir().unwrap();
    let demo = Killed(
        bin()
            .args([
                "demo",
                "--conversations",
                "1500",
                "--keep-serving",
                "--metrics-addr",
                &format!("127.0.0.1:{port}"),
                "--out",
            ])
            .arg(out.path())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap(),
    );
    let prometheus_dir = tempfile::tempdir().unwrap();
    let prometheus = have("prometheus").then(|| start_prometheus(port, prometheus_dir.path()));

    // while it runs: events flow through the source before the run has finished
    let received = r#"ticketpulse_component_received_events_total{component="source"}"#;
    wait_for("records counted by the source", Duration::from_secs(60), || {
        sample(&http_get(port, "/metrics")?, received).filter(|&v| v > 0.0)
    });
    // at the end of the (draining) run every conversation has been written and committed
    let metrics = wait_for("conversation rows", Duration::from_secs(60), || {
        let m = http_get(port, "/metrics")?;
        let ended: f64 = m
            .lines()
            .filter(|l| l.starts_with("ticketpulse_conversations_ended_total{"))
            .filter_map(|l| l.rsplit(' ').next()?.parse::<f64>().ok())
            .sum();
        let committed =
            sample(&m, "ticketpulse_files_committed_total{table=\"conversations\"}").unwrap_or(0.0);
        (ended >= 1500.0 && committed > 0.0).then_some(m)
    });
    for name in [
        "ticketpulse_conversations_started_total{channel=\"wechat\"}",
        "ticketpulse_messages_total{channel=\"app\"}",
        "ticketpulse_first_response_seconds_bucket{channel=\"web\",le=\"5\"}",
        "ticketpulse_first_human_response_seconds_count{channel=\"email\"}",
        "ticketpulse_invalid_events_total{reason=\"not_json\"}",
        "ticketpulse_duplicate_events_total",
        "ticketpulse_late_events_total",
        "ticketpulse_watermark_delay_seconds",
        "ticketpulse_files_committed_total{table=\"conversations\"}",
        "ticketpulse_checkpoints_total",
    ] {
        assert!(sample(&metrics, name).is_some(), "/metrics lacks {name}");
    }
    assert!(metrics.contains("ticketpulse_consumer_lag{partition="), "consumer lag per partition");
    assert!(sample(&metrics, "ticketpulse_duplicate_events_total").unwrap() > 0.0);
    for c in component::ALL {
        for family in ["received_events_total", "sent_events_total"] {
            let series = format!("ticketpulse_component_{family}{{component=\"{c}\"}}");
            let v = sample(&metrics, &series).unwrap_or_else(|| panic!("/metrics lacks {series}"));
            assert!(v > 0.0, "{series} is {v}");
        }
        assert!(
            metrics.contains(&format!("ticketpulse_component_errors_total{{component=\"{c}\"")),
            "no errors series for {c}"
        );
    }

    let Some(prometheus) = prometheus else { return };
    let (prom_port, _child) = prometheus;
    wait_for("prometheus to have scraped the pipeline", Duration::from_secs(60), || {
        let body = http_get(prom_port, "/api/v1/query?query=ticketpulse_checkpoints_total")?;
        body.contains("\"result\":[{").then_some(())
    });
    let dashboard: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(repo().join("dashboards/ticketpulse-overview.json")).unwrap(),
    )
    .unwrap();
    for panel in dashboard["panels"].as_array().unwrap() {
        for target in panel["targets"].as_array().unwrap() {
            let expr = target["expr"].as_str().unwrap();
            let path = format!("/api/v1/query?query={}", encode(expr));
            wait_for(&format!("data for {expr:?}"), Duration::from_secs(60), || {
                let body = http_get(prom_port, &path)?;
                assert!(body.contains("\"status\":\"success\""), "{expr}: {body}");
                body.contains("\"result\":[{").then_some(())
            });
        }
    }
    drop(demo);
}

#[test]
fn deployment_config_and_rules_pass_promtool() {
    if have("promtool") {
        let dir = repo().join("deploy/prometheus");
        run_ok(Command::new("promtool").args(["check", "config", "prometheus.yml"]).current_dir(&dir));
        run_ok(
            Command::new("promtool").args(["test", "rules", "rules/ticketpulse_test.yml"]).current_dir(&dir),
        );
    }
    // the Alertmanager that prometheus.yml sends the alerts to (amtool: prometheus-alertmanager)
    if have("amtool") {
        let dir = repo().join("deploy/alertmanager");
        let out = run_ok(Command::new("amtool").args(["check-config", "alertmanager.yml"]).current_dir(&dir));
        assert!(
            out.contains("SUCCESS"),
            "amtool check-config did not report SUCCESS for alertmanager.yml:\n{out}"
        );
    }
}
