//! `ticketpulse sentiment`: the shipped models on ChnSentiCorp (hotel reviews, never used to
//! train) and the `score` command on customer-service messages in both languages.
#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

mod support;

use support::*;

#[test]
fn chnsenticorp_accuracy_is_at_least_0_88() {
    let Some(shared) = shared() else { return };
    let report = run_ok(
        bin()
            .args(["sentiment", "eval", "--data"])
            .arg(shared.join("data/chinese_sentiment/ChnSentiCorp_htl_all.csv")),
    );
    let accuracy: f64 = report
        .split("accuracy ")
        .nth(1)
        .and_then(|s| s.split(',').next())
        .and_then(|s| s.trim().parse().ok())
        .unwrap_or_else(|| panic!("no accuracy in {report}"));
    assert!(accuracy >= 0.88, "{report}");
    assert!(report.contains("confusion"), "{report}");
}

#[test]
fn score_reads_lines_and_prints_language_score_and_label() {
    use std::io::Write;
    let mut child = bin()
        .args(["sentiment", "score"])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all("退款申请提交五天了还没到账\nThanks, that fixed it!\n".as_bytes())
        .unwrap();
    let out = child.wait_with_output().unwrap();
    let text = String::from_utf8(out.stdout).unwrap();
    let rows: Vec<Vec<&str>> = text.lines().map(|l| l.split('\t').collect()).collect();
    assert_eq!((rows[0][0], rows[0][2]), ("zh", "negative"), "{text}");
    assert_eq!((rows[1][0], rows[1][2]), ("en", "positive"), "{text}");
}

#[test]
fn a_team_retrains_the_chinese_model_on_its_labelled_csv_and_uses_it() {
    let Some(shared) = shared() else { return };
    let dir = tempfile::tempdir().unwrap();
    // a team's labelled data: here the first 3,000 hotel reviews
    let text =
        std::fs::read_to_string(shared.join("data/chinese_sentiment/ChnSentiCorp_htl_all.csv")).unwrap();
    let mut reader = csv_lines(&text);
    let csv = dir.path().join("team.csv");
    let mut w = String::from("label,text\n");
    for (label, review) in reader.by_ref().take(3000) {
        w.push_str(&format!("{label},\"{}\"\n", review.replace('"', "\"\"")));
    }
    std::fs::write(&csv, w).unwrap();
    let out = dir.path().join("model");
    let trained = run_ok(bin().args(["sentiment", "train", "--csv"]).arg(&csv).arg("--out").arg(&out));
    assert!(trained.contains("Chinese model trained on"), "{trained}");
    let model = out.join("sentiment-zh.bin.zst");
    let report = run_ok(bin().args(["sentiment", "eval", "--data"]).arg(&csv).arg("--model").arg(&model));
    let accuracy: f64 =
        report.split("accuracy ").nth(1).unwrap().split(',').next().unwrap().trim().parse().unwrap();
    assert!(accuracy >= 0.9, "its own training data: {report}");
    // the pipeline takes it from the config; a wrong path fails at start naming the field
    let config = dir.path().join("ticketpulse.toml");
    std::fs::write(&config, "[sentiment]\nzh_model = \"/nonexistent/model.bin.zst\"\n").unwrap();
    let input = repo().join("tests/golden/basic.jsonl");
    let failed = bin()
        .args(["run", "--input"])
        .arg(&input)
        .arg("--out")
        .arg(dir.path().join("out"))
        .arg("--config")
        .arg(&config)
        .args(["--metrics-addr", "127.0.0.1:0"])
        .output()
        .unwrap();
    assert!(!failed.status.success());
    assert!(String::from_utf8_lossy(&failed.stderr).contains("sentiment.zh_model"), "{failed:?}");
    std::fs::write(&config, format!("[sentiment]\nzh_model = \"{}\"\n", model.display())).unwrap();
    run_ok(
        bin()
            .args(["run", "--input"])
            .arg(&input)
            .arg("--out")
            .arg(dir.path().join("out2"))
            .arg("--config")
            .arg(&config)
            .args(["--metrics-addr", "127.0.0.1:0"]),
    );
}

/// (label, review) pairs of the ChnSentiCorp CSV.
fn csv_lines(text: &str) -> impl Iterator<Item = (String, String)> + '_ {
    let mut r = csv::Reader::from_reader(text.as_bytes());
    let rows: Vec<(String, String)> = r
        .records()
        .filter_map(|x| x.ok())
        .filter_map(|x| Some((x.get(0)?.to_string(), x.get(1)?.to_string())))
        .collect();
    rows.into_iter()
}

/// `tests/data/support_sentiment.csv`: 53 customer-service messages in Chinese and English,
/// three classes, written for ticketpulse (a development set: the domain words and the damping of
/// lone-model scores were tuned on it, so it guards against regressions, it does not prove
/// generalisation).
#[test]
fn customer_service_messages_in_both_languages_three_classes() {
    let report = run_ok(
        bin().args(["sentiment", "eval", "--data"]).arg(repo().join("tests/data/support_sentiment.csv")),
    );
    let f1: f64 =
        report.split("macro-F1 ").nth(1).unwrap().split_whitespace().next().unwrap().parse().unwrap();
    assert!(report.contains("three classes") && f1 >= 0.9, "{report}");
}

/// Macro-F1 of `sentiment eval` on `rows` (label, text), written to a CSV in `dir`.
fn macro_f1(dir: &std::path::Path, name: &str, rows: &[(String, String)]) -> f64 {
    let path = dir.join(name);
    let mut w = csv::Writer::from_path(&path).unwrap();
    w.write_record(["label", "text"]).unwrap();
    for (label, text) in rows {
        w.write_record([label, text]).unwrap();
    }
    w.flush().unwrap();
    let report = run_ok(bin().args(["sentiment", "eval", "--data"]).arg(&path));
    report.split("macro-F1 ").nth(1).unwrap().split_whitespace().next().unwrap().parse().unwrap()
}

/// Held-out customer-service sets, labelled independently of the analyser: 300 Chinese messages
/// (`tests/data/support_sentiment_zh_heldout.csv`) and 400 real customer tweets of TWCS labelled by
/// hand (`tests/data/twcs_sentiment_labels.csv`: ids only, the text is read from ../shared). The
/// even rows were a development half (their errors were read while building the domain rules);
/// the odd rows were never looked at. Both halves must stay above what was measured, minus a
/// margin, and English must beat VADER (vaderSentiment, the usual choice) on the same tweets.
#[test]
fn held_out_customer_service_sets_in_both_languages() {
    let dir = tempfile::tempdir().unwrap();
    let halves = |rows: Vec<(String, String)>| -> [Vec<(String, String)>; 2] {
        let (mut even, mut odd) = (Vec::new(), Vec::new());
        for (i, r) in rows.into_iter().enumerate() {
            if i % 2 == 0 { even.push(r) } else { odd.push(r) }
        }
        [even, odd]
    };
    let zh = std::fs::read_to_string(repo().join("tests/data/support_sentiment_zh_heldout.csv")).unwrap();
    let [dev, test] = halves(csv_lines(&zh).collect());
    let (zh_dev, zh_test) =
        (macro_f1(dir.path(), "zh_dev.csv", &dev), macro_f1(dir.path(), "zh_test.csv", &test));
    println!("Chinese held-out macro-F1: development half {zh_dev:.3}, untouched half {zh_test:.3}");
    assert!(zh_dev >= 0.80 && zh_test >= 0.66, "Chinese: {zh_dev:.3} / {zh_test:.3}");

    let Some(shared) = shared() else { return };
    let labels = std::fs::read_to_string(repo().join("tests/data/twcs_sentiment_labels.csv")).unwrap();
    let labels: std::collections::HashMap<String, String> = csv_lines(&labels).collect();
    let mut r = csv::Reader::from_path(shared.join("data/twcs/twcs_head5000.csv")).unwrap();
    let tweets: Vec<(String, String)> = r
        .records()
        .filter_map(|x| x.ok())
        .filter_map(|x| Some((labels.get(x.get(0)?)?.clone(), x.get(4)?.to_string())))
        .collect();
    assert_eq!(tweets.len(), labels.len(), "every labelled tweet is in the TWCS sample");
    let [dev, test] = halves(tweets.clone());
    let (en_dev, en_test) =
        (macro_f1(dir.path(), "en_dev.csv", &dev), macro_f1(dir.path(), "en_test.csv", &test));
    let en_all = macro_f1(dir.path(), "en.csv", &tweets);
    println!(
        "English (TWCS) macro-F1: development half {en_dev:.3}, untouched half {en_test:.3}, all {en_all:.3}"
    );
    assert!(en_dev >= 0.66 && en_test >= 0.51, "English: {en_dev:.3} / {en_test:.3}");
    let Some(python) = peer_python("vaderSentiment, sklearn") else { return };
    let script = r#"
import csv, sys
from vaderSentiment.vaderSentiment import SentimentIntensityAnalyzer
from sklearn.metrics import f1_score
a = SentimentIntensityAnalyzer()
rows = list(csv.DictReader(open(sys.argv[1], encoding="utf-8")))
label = lambda s: "positive" if s >= 0.05 else "negative" if s <= -0.05 else "neutral"
print(f1_score([r["label"] for r in rows], [label(a.polarity_scores(r["text"])["compound"]) for r in rows], average="macro"))
"#;
    let out = std::process::Command::new(python)
        .args(["-c", script])
        .arg(dir.path().join("en.csv"))
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let vader: f64 = String::from_utf8_lossy(&out.stdout).trim().parse().unwrap();
    println!("vaderSentiment on the same tweets: {vader:.3}");
    assert!(en_all > vader + 0.08, "ticketpulse {en_all:.3} vs VADER {vader:.3}");
}
