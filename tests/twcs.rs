//! `import twcs` on the real Customer Support on Twitter sample, then `run`: per-company median
//! first response times. The README shows the top 10 companies by volume; this test recomputes
//! that table from the pipeline's output and requires the README to carry it unchanged.
#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

mod support;

use std::collections::BTreeMap;
use support::*;
use ticketpulse_pipeline::metrics::quantile;
use ticketpulse_schemas::tables::Table;

/// The README table: company, conversations, median first response time.
fn table(out: &std::path::Path) -> String {
    let mut by_team: BTreeMap<String, (u64, Vec<f64>)> = BTreeMap::new();
    for r in latest_conversations(&rows(out, Table::Conversations)) {
        let entry = by_team.entry(cell(&r, "team").to_string()).or_default();
        entry.0 += 1;
        if let Ok(v) = cell(&r, "first_response_s").parse::<f64>() {
            entry.1.push(v);
        }
    }
    let mut teams: Vec<(String, u64, Option<f64>)> =
        by_team.into_iter().map(|(t, (n, mut v))| (t, n, quantile(&mut v, 0.5))).collect();
    teams.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(&b.0)));
    let mut text =
        String::from("| company (team) | conversations | median first response |\n|---|---:|---:|\n");
    for (team, n, median) in teams.into_iter().take(10) {
        let median = median.map_or("-".to_string(), |s| format!("{s:.0} s ({:.1} min)", s / 60.0));
        text.push_str(&format!("| {team} | {n} | {median} |\n"));
    }
    text
}

#[test]
fn twcs_sample_gives_per_company_median_first_response_times_shown_in_the_readme() {
    let Some(shared) = shared() else { return };
    let dir = tempfile::tempdir().unwrap();
    let events = dir.path().join("twcs.jsonl");
    let stdout = run_ok(
        bin()
            .args(["import", "twcs"])
            .arg(shared.join("data/twcs/twcs_head5000.csv"))
            .arg("--out")
            .arg(&events),
    );
    assert!(stdout.contains("read 5000 rows"), "{stdout}");
    let out = dir.path().join("out");
    let stdout = run_ok(
        bin()
            .args(["run", "--input"])
            .arg(&events)
            .arg("--out")
            .arg(&out)
            .args(["--metrics-addr", "127.0.0.1:0"]),
    );
    assert!(stdout.contains(" 0 invalid"), "every imported event is valid: {stdout}");
    let expected = table(&out);
    let readme = std::fs::read_to_string(repo().join("README.md")).unwrap();
    assert!(readme.contains(&expected), "README.md must show this table:\n{expected}");
}
