//! Personal data never leaves the pipeline unmasked: the demo's generator plants phone numbers,
//! e-mail addresses, resident ID and bank card numbers in follow-up messages; afterwards no
//! output (every Parquet table, the dead letters, the alert outbox, the checkpoints' state, the
//! logs, /metrics) holds one of them, the `messages` table holds their tokens instead, and the
//! masked count equals the planted count. Through Kafka, the dead-letter topic's raw records are
//! masked too.

#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

mod support;

use regex::Regex;
use std::collections::BTreeSet;
use std::path::Path;
use std::process::{Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use support::prometheus::Killed;
use support::*;
use ticketpulse_schemas::tables::Table;

/// The values the generator planted in `input` (its sentences are known), in the text form they
/// were written in.
fn planted(input: &str) -> BTreeSet<String> {
    let patterns = [
        r"我的手机号是(\d{11})",
        r"call me at (\+1 \(\d{3}\) 555-\d{4})",
        r"(?:邮箱|my email is )([\w.]+@[\w.]+\w)",
        r"(?:身份证号|my ID number is )(\d{17}[\dX])",
        r"(?:扣款卡号|charged to card )(\d{4} \d{4} \d{4} \d{4})",
    ];
    let mut out = BTreeSet::new();
    for p in patterns {
        for c in Regex::new(p).unwrap().captures_iter(input) {
            out.insert(c[1].to_string());
        }
    }
    out
}

/// Every text an output directory holds: table rows, dead letters, outbox, decompressed
/// checkpoint state.
fn every_output(out: &Path) -> Vec<(String, String)> {
    let mut texts = Vec::new();
    for table in Table::ALL {
        for row in rows(out, table) {
            texts.push((table.name().to_string(), row));
        }
    }
    for path in files_under(out) {
        let name = path.to_string_lossy().to_string();
        if name.ends_with(".jsonl") || name.ends_with(".progress") {
            texts.push((name, std::fs::read_to_string(&path).unwrap()));
        } else if name.ends_with(".ckpt") {
            let bytes = std::fs::read(&path).unwrap();
            let header = u64::from_le_bytes(bytes[8..16].try_into().unwrap()) as usize;
            let state = zstd::decode_all(&bytes[16 + header..]).unwrap();
            texts.push((name, String::from_utf8_lossy(&state).into_owned()));
        }
    }
    texts
}

/// Reads a child's pipe on a thread into a shared string.
/// Spawns `cmd` with debug logging and collects its stdout and stderr as they come.
fn spawn_collecting(cmd: &mut Command) -> (std::process::Child, Arc<Mutex<String>>, Arc<Mutex<String>>) {
    let mut child =
        cmd.env("RUST_LOG", "debug").stdout(Stdio::piped()).stderr(Stdio::piped()).spawn().unwrap();
    let stdout = collect(child.stdout.take().unwrap());
    let stderr = collect(child.stderr.take().unwrap());
    (child, stdout, stderr)
}

fn collect(pipe: impl std::io::Read + Send + 'static) -> Arc<Mutex<String>> {
    let text = Arc::new(Mutex::new(String::new()));
    let sink = text.clone();
    std::thread::spawn(move || {
        let mut reader = std::io::BufReader::new(pipe);
        let mut line = String::new();
        while std::io::BufRead::read_line(&mut reader, &mut line).is_ok_and(|n| n > 0) {
            sink.lock().unwrap().push_str(&line);
            line.clear();
        }
    });
    text
}

fn assert_none_leaks(planted: &BTreeSet<String>, texts: &[(String, String)]) {
    for value in planted {
        // also the digits alone, in case a writer dropped the separators
        let digits: String = value.chars().filter(char::is_ascii_digit).collect();
        for (place, text) in texts {
            assert!(!text.contains(value.as_str()), "{value} unmasked in {place}");
            if digits.len() >= 11 {
                assert!(!text.contains(&digits), "{digits} unmasked in {place}");
            }
        }
    }
}

#[test]
fn the_demo_masks_every_planted_value_everywhere() {
    let dir = tempfile::tempdir().unwrap();
    let input = dir.path().join("events.jsonl");
    let generated = bin()
        .args(["generate", "--conversations", "2000", "--days", "1", "--seed", "7", "--out"])
        .arg(&input)
        .output()
        .unwrap();
    assert!(generated.status.success());
    let generated = String::from_utf8_lossy(&generated.stderr).to_string();
    let text = std::fs::read_to_string(&input).unwrap();
    let planted = planted(&text);
    assert!(planted.len() >= 40, "the generator planted {} values", planted.len());

    let out = dir.path().join("demo");
    let port = free_port();
    let (child, stdout, stderr) = spawn_collecting(
        bin()
            .args(["demo", "--conversations", "2000", "--seed", "7", "--keep-serving", "--metrics-addr"])
            .arg(format!("127.0.0.1:{port}"))
            .arg("--out")
            .arg(&out),
    );
    let _child = Killed(child);
    // the demo has finished (and keeps serving /metrics) once its summary is printed
    wait_for("the demo's summary", Duration::from_secs(300), || {
        stderr.lock().unwrap().contains("still serving").then_some(())
    });
    let metrics = http_get(port, "/metrics").expect("/metrics after the run");
    let stdout = stdout.lock().unwrap().clone();
    let stderr = stderr.lock().unwrap().clone();

    // the counts agree: what the generator planted is what the pipeline masked
    let count = |text: &str, before: &str| -> u64 {
        let i = text.find(before).unwrap_or_else(|| panic!("no {before:?} in {text}"));
        text[..i].split_whitespace().last().unwrap().parse().unwrap()
    };
    let planted_count = count(&generated, " with personal data");
    assert_eq!(count(&stderr, " with personal data"), planted_count, "{stderr}");
    assert_eq!(count(&stdout, " personal data masked"), planted_count, "{stdout}");
    let by_kind: Vec<f64> = ["phone", "email", "id_number", "bank_card"]
        .iter()
        .map(|k| {
            let series = format!("ticketpulse_pii_masked_total{{kind=\"{k}\"}}");
            metrics
                .lines()
                .find(|l| l.starts_with(&series))
                .and_then(|l| l.rsplit(' ').next()?.parse().ok())
                .unwrap()
        })
        .collect();
    assert_eq!(by_kind.iter().sum::<f64>() as u64, planted_count);
    assert!(by_kind.iter().all(|&n| n > 0.0), "every kind planted and masked: {by_kind:?}");

    let messages = rows(&out, Table::Messages);
    for token in ["<PHONE>", "<EMAIL>", "<ID>", "<CARD>"] {
        assert!(messages.iter().any(|r| cell(r, "text").contains(token)), "no {token} in messages");
    }
    let mut texts = every_output(&out);
    texts.push(("stdout".into(), stdout));
    texts.push(("logs".into(), stderr));
    texts.push(("/metrics".into(), metrics));
    assert_none_leaks(&planted, &texts);
}

#[test]
fn dead_letters_on_kafka_are_masked() {
    let Some(brokers) = brokers() else { return };
    let dir = tempfile::tempdir().unwrap();
    let input = dir.path().join("events.jsonl");
    let lines = [
        r#"{"event_id":"p1","conversation_id":"pc1","ts":1793550000000,"type":"conversation_started","channel":"wechat"}"#,
        r#"{"event_id":"p2","conversation_id":"pc1","ts":1793550001000,"type":"message","role":"customer","text":"电话13812345678，邮箱li.wei@example.com"}"#,
        // invalid: a bad rating, with a card number and an ID number in its text
        r#"{"event_id":"p3","conversation_id":"pc1","ts":1793550002000,"type":"csat","rating":9,"text":"卡 6222021234567890128 身份证110101199003074514"}"#,
        // not JSON at all, with a phone number
        r#"call me on +44 20 7946 0958 {"#,
        r#"{"event_id":"p4","conversation_id":"pc1","ts":1793550003000,"type":"closed"}"#,
    ];
    std::fs::write(&input, lines.join("\n") + "\n").unwrap();
    let topic = produce_to_new_topic(&brokers, &input, "pii");
    let out = dir.path().join("out");
    let stdout = run_ok(
        bin()
            .args(["run", "--brokers", &brokers, "--topic", &topic, "--group", &unique("g"), "--out"])
            .arg(&out)
            .args(["--stop-when-idle", "2s", "--metrics-addr", "127.0.0.1:0"]),
    );
    assert!(stdout.contains("2 dead letters, 5 personal data masked"), "{stdout}");
    let letters = read_topic(&brokers, &format!("{topic}.dead-letter"), 2);
    let raw: Vec<String> = letters.iter().map(|(v, _)| String::from_utf8_lossy(v).into_owned()).collect();
    assert!(raw.iter().any(|r| r.contains("卡 <CARD> 身份证<ID>")), "{raw:?}");
    assert!(raw.iter().any(|r| r.contains("call me on <PHONE> {")), "{raw:?}");
    let messages = rows(&out, Table::Messages);
    assert!(messages.iter().any(|r| cell(r, "text") == "电话<PHONE>，邮箱<EMAIL>"), "{messages:?}");
    let planted: BTreeSet<String> =
        ["13812345678", "li.wei@example.com", "6222021234567890128", "110101199003074514", "7946 0958"]
            .map(String::from)
            .into();
    let mut texts = every_output(&out);
    texts.extend(raw.into_iter().map(|r| ("dead-letter topic".to_string(), r)));
    assert_none_leaks(&planted, &texts);
}

/// TLS and SASL settings are librdkafka properties (`-X`); their secrets appear in no log line
/// (even with every debug log on, librdkafka's configuration dump included), no metric and no
/// output file.
#[test]
fn kafka_secrets_stay_out_of_logs_metrics_and_outputs() {
    let Some(brokers) = brokers() else { return };
    let dir = tempfile::tempdir().unwrap();
    let input = dir.path().join("events.jsonl");
    std::fs::write(
        &input,
        concat!(
            r#"{"event_id":"s1","conversation_id":"sc1","ts":1793550000000,"type":"conversation_started","channel":"web"}"#,
            "\nnot json\n",
            r#"{"event_id":"s2","conversation_id":"sc1","ts":1793550003000,"type":"closed"}"#,
            "\n"
        ),
    )
    .unwrap();
    let topic = produce_to_new_topic(&brokers, &input, "secrets");
    let secret = "S3cr3t-Pa55-w0rd";
    let out = dir.path().join("out");
    let port = free_port();
    let (mut child, stdout, stderr) = spawn_collecting(
        bin()
            .args(["run", "--brokers", &brokers, "--topic", &topic, "--group", &unique("g"), "--out"])
            .arg(&out)
            .args(["--stop-when-idle", "2s", "--metrics-addr", &format!("127.0.0.1:{port}")])
            // SASL settings on a plaintext listener: librdkafka keeps them unused, but holds them
            .args(["-X", "sasl.username=svc-ticketpulse", "-X", &format!("sasl.password={secret}")])
            .args(["-X", &format!("ssl.key.password={secret}"), "-X", "debug=conf,security,generic"]),
    );
    let metrics = wait_for("/metrics", Duration::from_secs(60), || http_get(port, "/metrics"));
    assert!(child.wait().unwrap().success(), "{}", stderr.lock().unwrap());
    let (stdout, stderr) = (stdout.lock().unwrap().clone(), stderr.lock().unwrap().clone());
    assert!(stdout.contains("1 dead letters"), "{stdout}");
    assert!(stderr.contains("sasl.username"), "librdkafka's configuration dump was logged: {stderr}");
    let mut texts = every_output(&out);
    texts.extend([("stdout".into(), stdout), ("stderr".into(), stderr), ("/metrics".into(), metrics)]);
    for (place, text) in &texts {
        assert!(!text.contains(secret), "the password shows in {place}");
    }
}
