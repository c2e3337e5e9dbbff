//! `ticketpulse topics fit` on the public intent and title sets in ../shared: agreement of the
//! topics with the true labels (NMI) against the anchors.
#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

mod support;

use support::*;
use ticketpulse_schemas::tables::Table;

fn nmi_of(report: &str) -> f64 {
    report
        .split("NMI ")
        .nth(1)
        .and_then(|s| s.split_whitespace().next())
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| panic!("no NMI in {report}"))
}

/// Banking77 test (3,080 banking queries, 77 intents), k = 77, fitted on that file alone:
/// scikit-learn's TF-IDF + KMeans(n_init=3) measures 0.609 here, the target is 0.63.
#[test]
fn banking77_intents_nmi_at_least_0_63() {
    let Some(shared) = shared() else { return };
    let report =
        run_ok(bin().args(["topics", "fit", "--input"]).arg(shared.join("data/banking77/test.csv")).args([
            "--text-column",
            "text",
            "--label-column",
            "category",
            "--k",
            "77",
            "--show",
            "5",
        ]));
    println!("{report}");
    assert!(report.contains("k = 77 (given)"), "{report}");
    assert!(nmi_of(&report) >= 0.63, "{report}");
}

/// THUCNews titles (10,000 Chinese news titles, 10 classes), k = 10: scikit-learn's recipe with
/// jieba reaches 0.178; the target is 0.40.
#[test]
fn thucnews_titles_nmi_at_least_0_40() {
    let Some(shared) = shared() else { return };
    let report =
        run_ok(
            bin().args(["topics", "fit", "--input"]).arg(shared.join("data/thucnews_titles/test.txt")).args(
                ["--no-header", "--text-column", "0", "--label-column", "1", "--k", "10", "--show", "10"],
            ),
        );
    println!("{report}");
    assert!(nmi_of(&report) >= 0.40, "{report}");
}

/// The pipeline on generated tickets (`gen_events.py`, 6,000 conversations over a day, 12 topics
/// in two languages, each written four ways, so k = 40): topics are assigned live, refitted every
/// 2 hours of event time with stable ids, and agree with the generator's topics (NMI against
/// `truth/conversations.jsonl` at least 0.7; scikit-learn's recipe reaches 0.56 at k = 24).
#[test]
fn live_topics_recover_the_generated_topics_with_ids_stable_across_refits() {
    let Some(shared) = shared() else { return };
    let dir = tempfile::tempdir().unwrap();
    let (input, truth) = (dir.path().join("events.jsonl"), dir.path().join("truth"));
    let generated = std::process::Command::new("python3")
        .arg(shared.join("bench/gen_events.py"))
        .args(["--conversations", "6000", "--days", "1", "--seed", "3", "--out"])
        .arg(&input)
        .arg("--truth")
        .arg(&truth)
        .output()
        .unwrap();
    assert!(generated.status.success(), "{}", String::from_utf8_lossy(&generated.stderr));
    let config = dir.path().join("topics.toml");
    std::fs::write(&config, "[topics]\nk = 40\nrefit_every = \"2h\"\nmax_fit_tickets = 3000\n").unwrap();
    let out = dir.path().join("out");
    run_ok(
        bin()
            .args(["run", "--input"])
            .arg(&input)
            .arg("--out")
            .arg(&out)
            .arg("--config")
            .arg(&config)
            .args(["--allowed-lateness", "20m", "--metrics-addr", "127.0.0.1:0"]),
    );
    let truth: std::collections::HashMap<String, String> =
        std::fs::read_to_string(truth.join("conversations.jsonl"))
            .unwrap()
            .lines()
            .map(|l| {
                let v: serde_json::Value = serde_json::from_str(l).unwrap();
                (v["conversation_id"].as_str().unwrap().to_string(), v["topic"].as_str().unwrap().to_string())
            })
            .collect();
    let conversations = latest_conversations(&rows(&out, Table::Conversations));
    let (mut want, mut got) = (Vec::new(), Vec::new());
    for r in &conversations {
        if let (Some(t), Ok(id)) = (truth.get(cell(r, "conversation_id")), cell(r, "topic_id").parse::<u32>())
        {
            want.push(t.clone());
            got.push(id);
        }
    }
    assert!(
        got.len() as f64 >= 0.95 * truth.len() as f64,
        "{} of {} conversations have a topic",
        got.len(),
        truth.len()
    );
    let nmi = ticketpulse_pipeline::topics::nmi(&want, &got);
    println!("NMI of live topics against the generated ones: {nmi:.3} ({} conversations)", got.len());
    assert!(nmi >= 0.7, "NMI {nmi}");

    // the topics table: one row per topic and version; ids stable across the refits
    let topics = rows(&out, Table::Topics);
    let mut versions: std::collections::BTreeMap<u32, Vec<(u32, bool)>> = Default::default();
    for r in &topics {
        let v = cell(r, "model_version").parse().unwrap();
        versions
            .entry(v)
            .or_default()
            .push((cell(r, "topic_id").parse().unwrap(), cell(r, "emerging") == "true"));
    }
    assert!(versions.len() >= 4, "{} versions", versions.len());
    let ids = |v: &Vec<(u32, bool)>| {
        let mut ids: Vec<u32> = v.iter().map(|x| x.0).collect();
        ids.sort_unstable();
        ids
    };
    let last: Vec<&Vec<(u32, bool)>> = versions.values().rev().take(4).collect();
    for v in &last {
        assert_eq!(ids(v), ids(last[0]), "the same ids over the last three refits");
        assert!(v.iter().all(|x| !x.1), "nothing emerging in a stable stream");
    }
    // topic volume per window: rows grouped by topic are the top topics (topics.top = 10 per
    // model version, sticky across refits) and other
    let mut top_ids: std::collections::HashSet<String> = Default::default();
    let mut top_per_version: std::collections::BTreeMap<u32, usize> = Default::default();
    for r in topics.iter().filter(|r| cell(r, "top") == "true") {
        top_ids.insert(cell(r, "topic_id").to_string());
        *top_per_version.entry(cell(r, "model_version").parse().unwrap()).or_default() += 1;
    }
    assert!(top_per_version.values().all(|&n| n <= 10), "{top_per_version:?}");
    // once the window is full (the last refits start from the previous topics), the top set
    // changes little
    let steady: std::collections::HashSet<&str> = topics
        .iter()
        .filter(|r| {
            cell(r, "top") == "true"
                && versions.keys().rev().take(4).any(|v| v.to_string() == cell(r, "model_version"))
        })
        .map(|r| cell(r, "topic_id"))
        .collect();
    assert!(steady.len() <= 12, "the top set changes little across the last refits: {steady:?}");
    let windows = latest_windows(&rows(&out, Table::WindowMetrics));
    let groups: std::collections::HashSet<&str> =
        windows.iter().filter(|r| cell(r, "dimension") == "topic").map(|r| cell(r, "topic")).collect();
    assert!(groups.contains("other"), "{groups:?}");
    // channel × topic rows split each topic row by channel, exactly
    let mut by_topic: std::collections::BTreeMap<(String, String, String), (u64, u64)> = Default::default();
    for r in &windows {
        let key = (
            cell(r, "window_kind").to_string(),
            cell(r, "window_start").to_string(),
            cell(r, "topic").to_string(),
        );
        let n: u64 = cell(r, "conversations_started").parse().unwrap();
        match cell(r, "dimension") {
            "topic" => by_topic.entry(key).or_default().0 += n,
            "channel_topic" => {
                assert!(!cell(r, "channel").is_empty(), "a channel_topic row names its channel");
                by_topic.entry(key).or_default().1 += n
            }
            _ => {}
        }
    }
    assert!(by_topic.values().any(|&(t, _)| t > 0), "topic rows with conversations");
    for (key, (topic, split)) in &by_topic {
        assert_eq!(topic, split, "{key:?}");
    }
    assert!(groups.iter().all(|g| *g == "other" || top_ids.contains(*g)), "{groups:?} vs {top_ids:?}");
}
