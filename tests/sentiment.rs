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
