//! Real Prometheus in tests: a child process killed on drop, tool presence (required in CI),
//! and a Prometheus that scrapes one target with ticketpulse's rules.
#![allow(dead_code, clippy::unwrap_used, clippy::expect_used, missing_docs)]

use super::{free_port, repo};
use std::process::{Child, Command, Stdio};

/// A child process killed (and reaped) when dropped.
pub struct Killed(pub Child);
impl Drop for Killed {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Whether `tool` runs; CI must have it.
pub fn have(tool: &str) -> bool {
    let found = Command::new(tool).arg("--version").output().is_ok_and(|o| o.status.success());
    assert!(
        found || std::env::var_os("CI").is_none(),
        "CI must have {tool} (apt-get install prometheus prometheus-alertmanager)"
    );
    if !found {
        eprintln!("SKIP: {tool} is not installed");
    }
    found
}

/// Percent-encodes a query parameter.
pub fn encode(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => (b as char).to_string(),
            _ => format!("%{b:02X}"),
        })
        .collect()
}

/// Starts Prometheus scraping 127.0.0.1:`target` every second, with ticketpulse's rules.
pub fn start_prometheus(target: u16, dir: &std::path::Path) -> (u16, Killed) {
    let rules = repo().join("deploy/prometheus/rules/ticketpulse.yml");
    let config = dir.join("prometheus.yml");
    std::fs::write(
        &config,
        format!(
            "global: {{scrape_interval: 1s, evaluation_interval: 1s}}\nrule_files: [\"{}\"]\nscrape_configs:\n  - job_name: ticketpulse\n    static_configs:\n      - targets: [\"127.0.0.1:{target}\"]\n",
            rules.display()
        ),
    )
    .unwrap();
    let port = free_port();
    let child = Command::new("prometheus")
        .arg(format!("--config.file={}", config.display()))
        .arg(format!("--storage.tsdb.path={}", dir.join("data").display()))
        .arg(format!("--web.listen-address=127.0.0.1:{port}"))
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    (port, Killed(child))
}
