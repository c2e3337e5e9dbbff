//! Helpers shared by the end-to-end tests: the binary, the shared data folder, the real Kafka
//! broker (tansu) on 127.0.0.1, and tables rendered as sorted text rows.
#![allow(dead_code, clippy::unwrap_used, clippy::expect_used, missing_docs)]

pub mod prometheus;

use arrow::util::display::{ArrayFormatter, FormatOptions};
use rdkafka::ClientConfig;
use rdkafka::consumer::{BaseConsumer, Consumer};
use rdkafka::message::{Headers, Message};
use std::collections::BTreeMap;
use std::net::{SocketAddr, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::time::{Duration, Instant};
use ticketpulse_pipeline::sink::parquet::read_table;
use ticketpulse_schemas::tables::Table;

/// The `ticketpulse` binary under test (`TICKETPULSE_BIN` overrides it: the long runs of
/// bench/ drive a release build with the debug test harness).
pub fn bin() -> Command {
    let path =
        std::env::var_os("TICKETPULSE_BIN").unwrap_or_else(|| env!("CARGO_BIN_EXE_ticketpulse").into());
    let mut c = Command::new(path);
    c.env("RUST_LOG", "warn");
    c
}

/// Runs a command, failing the test with its output unless it succeeds; returns stdout.
pub fn run_ok(cmd: &mut Command) -> String {
    let out: Output = cmd.output().expect("spawn");
    assert!(
        out.status.success(),
        "{cmd:?} failed ({}):\nstdout:\n{}\nstderr:\n{}",
        out.status,
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// [`run_ok`] with a deadline: a run still going after `limit` is killed and fails the test with
/// its output, rather than hanging the suite (a consumer group that never gets its partitions —
/// tansu 0.6 can leave a group stuck after a member is killed — keeps `--stop-when-idle` from
/// ever counting).
pub fn run_ok_within(cmd: &mut Command, limit: Duration) -> String {
    let child =
        cmd.stdout(std::process::Stdio::piped()).stderr(std::process::Stdio::piped()).spawn().expect("spawn");
    match wait_within(child, limit) {
        (Some(s), out, _) if s.success() => out,
        (Some(s), out, err) => panic!("{cmd:?} failed ({s}):\nstdout:\n{out}\nstderr:\n{err}"),
        (None, out, err) => panic!(
            "{cmd:?} still running after {limit:?} (killed): the consumer group never finished (stuck group?)\nstdout:\n{out}\nstderr:\n{err}"
        ),
    }
}

/// Waits at most `limit` for a child spawned with piped stdout and stderr, draining both (so a
/// chatty child never blocks on a full pipe), and kills it at the deadline. Its exit status
/// (`None`: killed at the deadline), stdout and stderr.
pub fn wait_within(
    mut child: std::process::Child,
    limit: Duration,
) -> (Option<std::process::ExitStatus>, String, String) {
    use std::io::Read;
    let drain = |pipe: Option<Box<dyn Read + Send>>| {
        std::thread::spawn(move || {
            let mut s = String::new();
            if let Some(mut p) = pipe {
                let _ = p.read_to_string(&mut s);
            }
            s
        })
    };
    let out_thread = drain(child.stdout.take().map(|p| Box::new(p) as Box<dyn Read + Send>));
    let err_thread = drain(child.stderr.take().map(|p| Box::new(p) as Box<dyn Read + Send>));
    let deadline = Instant::now() + limit;
    let status = loop {
        if let Some(status) = child.try_wait().expect("wait") {
            break Some(status);
        }
        if Instant::now() >= deadline {
            let _ = child.kill();
            let _ = child.wait();
            break None;
        }
        std::thread::sleep(Duration::from_millis(100));
    };
    (status, out_thread.join().unwrap_or_default(), err_thread.join().unwrap_or_default())
}

/// The repository root.
pub fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).parent().unwrap().to_path_buf()
}

/// `../shared` beside the repository (or `$TICKETPULSE_SHARED`); `None` (with a message) when
/// absent, so tests that need it skip outside CI.
pub fn shared() -> Option<PathBuf> {
    let dir =
        std::env::var_os("TICKETPULSE_SHARED").map(PathBuf::from).unwrap_or_else(|| repo().join("../shared"));
    if dir.join("bench/gen_events.py").exists() {
        return Some(dir);
    }
    assert!(std::env::var_os("CI").is_none(), "CI must have the shared folder at {}", dir.display());
    eprintln!("SKIP: {} is absent", dir.display());
    None
}

/// The reference peer's Python (`$TICKETPULSE_PEER_PYTHON`, set by .ci/run to its virtual
/// environment, else `python3`) when it can import `modules`; `None` (with a message) outside CI.
pub fn peer_python(modules: &str) -> Option<String> {
    let py = std::env::var("TICKETPULSE_PEER_PYTHON").unwrap_or_else(|_| "python3".into());
    let import = format!("import {modules}");
    let ok = std::process::Command::new(&py).args(["-c", &import]).output().is_ok_and(|o| o.status.success());
    if ok {
        return Some(py);
    }
    assert!(std::env::var_os("CI").is_none(), "CI must provide {modules} ($TICKETPULSE_PEER_PYTHON)");
    eprintln!("SKIP: {py} lacks {modules} (set TICKETPULSE_PEER_PYTHON)");
    None
}

/// The real broker's address (`$TICKETPULSE_TEST_BROKERS`, default 127.0.0.1:9092) once it
/// accepts connections; `None` (with a message) outside CI when it is not running.
pub fn brokers() -> Option<String> {
    let addr = std::env::var("TICKETPULSE_TEST_BROKERS").unwrap_or_else(|_| "127.0.0.1:9092".into());
    let sock: SocketAddr = addr.parse().expect("TICKETPULSE_TEST_BROKERS must be host:port with an IP");
    let deadline =
        Instant::now() + Duration::from_secs(if std::env::var_os("CI").is_some() { 30 } else { 2 });
    while Instant::now() < deadline {
        if TcpStream::connect_timeout(&sock, Duration::from_millis(500)).is_ok() {
            return Some(addr);
        }
        std::thread::sleep(Duration::from_millis(200));
    }
    assert!(std::env::var_os("CI").is_none(), "CI must run a Kafka broker (tansu) at {addr}");
    eprintln!("SKIP: no Kafka broker at {addr} (start tansu, see .ci/run)");
    None
}

/// A topic name no other test uses.
pub fn unique(prefix: &str) -> String {
    let nanos = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_nanos();
    format!("{prefix}-{}-{nanos}", std::process::id())
}

/// Producer properties for tansu 0.6: one-record batches (its fetch at an offset inside a
/// batch skips records, and its high watermark is a batch's base offset + 1).
pub const ONE_RECORD_BATCHES: [&str; 4] = ["-X", "batch.num.messages=1", "-X", "linger.ms=0"];

/// Every row of `table` under `out` as `col=value | ...` text, sorted.
pub fn rows(out: &Path, table: Table) -> Vec<String> {
    let mut rows = Vec::new();
    for batch in read_table(out, table).unwrap() {
        let options = FormatOptions::default().with_null("null");
        let formatters: Vec<_> =
            batch.columns().iter().map(|c| ArrayFormatter::try_new(c.as_ref(), &options).unwrap()).collect();
        let names: Vec<String> = batch.schema().fields().iter().map(|f| f.name().clone()).collect();
        for i in 0..batch.num_rows() {
            let cells: Vec<String> =
                formatters.iter().zip(&names).map(|(f, n)| format!("{n}={}", f.value(i))).collect();
            rows.push(cells.join(" | "));
        }
    }
    rows.sort();
    rows
}

/// The latest revision of every conversation among rendered `conversations` rows, sorted by id.
pub fn latest_conversations(rows: &[String]) -> Vec<String> {
    let mut latest: std::collections::BTreeMap<String, (u32, String)> = Default::default();
    for r in rows {
        let revision: u32 = cell(r, "revision").parse().unwrap();
        let entry = latest.entry(cell(r, "conversation_id").to_string()).or_insert((0, String::new()));
        if revision > entry.0 {
            *entry = (revision, r.clone());
        }
    }
    latest.into_values().map(|(_, r)| r).collect()
}

/// The identity of a rendered `window_metrics` row without its revision.
pub fn window_key(r: &str) -> String {
    ["window_kind", "window_start", "dimension", "channel", "team", "tier", "topic"]
        .map(|c| cell(r, c))
        .join("/")
}

/// The latest revision of every window among rendered `window_metrics` rows, sorted by key.
pub fn latest_windows(rows: &[String]) -> Vec<String> {
    let mut latest: std::collections::BTreeMap<String, (u32, String)> = Default::default();
    for r in rows {
        let revision: u32 = cell(r, "revision").parse().unwrap();
        let entry = latest.entry(window_key(r)).or_insert((0, String::new()));
        if revision > entry.0 {
            *entry = (revision, r.clone());
        }
    }
    latest.into_values().map(|(_, r)| r).collect()
}

/// The value of column `name` in a row rendered by [`rows`].
pub fn cell<'a>(row: &'a str, name: &str) -> &'a str {
    row.split(" | ")
        .find_map(|c| c.strip_prefix(&format!("{name}=")))
        .unwrap_or_else(|| panic!("no {name} in {row}"))
}

/// Every file under `dir`, at any depth.
pub fn files_under(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).unwrap() {
            let p = e.unwrap().path();
            if p.is_dir() { stack.push(p) } else { out.push(p) }
        }
    }
    out
}

/// Lines of the JSONL dead-letter files under `out`.
pub fn dead_letters(out: &Path) -> Vec<serde_json::Value> {
    let mut lines = Vec::new();
    let Ok(entries) = std::fs::read_dir(out.join("dead_letter")) else { return lines };
    let mut files: Vec<PathBuf> =
        entries.map(|e| e.unwrap().path()).filter(|p| p.extension().is_some_and(|x| x == "jsonl")).collect();
    files.sort();
    for f in files {
        for line in std::fs::read_to_string(f).unwrap().lines() {
            lines.push(serde_json::from_str(line).unwrap());
        }
    }
    lines
}

/// Compares `actual` with the golden file `name` under tests/golden/, or rewrites it when
/// `UPDATE_GOLDEN=1`.
pub fn golden(name: &str, actual: &[String]) {
    let path = repo().join("tests/golden").join(name);
    let text = actual.join("\n") + "\n";
    if std::env::var_os("UPDATE_GOLDEN").is_some() {
        std::fs::write(&path, &text).unwrap();
        return;
    }
    let expected = std::fs::read_to_string(&path)
        .unwrap_or_else(|e| panic!("{}: {e} (UPDATE_GOLDEN=1 writes it)", path.display()));
    if expected != text {
        let diff: Vec<String> = expected
            .lines()
            .zip(text.lines())
            .filter(|(a, b)| a != b)
            .map(|(a, b)| format!("- {a}\n+ {b}"))
            .collect();
        panic!(
            "{name} differs from the golden file ({} vs {} lines):\n{}",
            expected.lines().count(),
            text.lines().count(),
            diff.join("\n")
        );
    }
}

/// Writes the built-in generator's stream to `path`.
pub fn generate_file(path: &Path, conversations: u64, seed: u64) {
    run_ok(
        bin()
            .args([
                "generate",
                "--conversations",
                &conversations.to_string(),
                "--seed",
                &seed.to_string(),
                "--out",
            ])
            .arg(path),
    );
}

/// Counts the invalid records of a JSONL file by the pipeline's own decoder.
pub fn invalid_lines(path: &Path) -> usize {
    let bytes = std::fs::read(path).unwrap();
    let body = bytes.strip_suffix(b"\n").unwrap_or(&bytes);
    body.split(|&b| b == b'\n').filter(|l| ticketpulse_pipeline::decode::decode(l).is_err()).count()
}

/// Produces `input` into a new one-partition topic (one-record batches); its name.
pub fn produce_to_new_topic(brokers: &str, input: &Path, prefix: &str) -> String {
    let topic = unique(prefix);
    run_ok(
        bin()
            .args(["produce", "--brokers", brokers, "--topic", &topic, "--partitions", "1", "--input"])
            .arg(input)
            .args(ONE_RECORD_BATCHES),
    );
    topic
}

/// A free TCP port on 127.0.0.1.
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

/// A plain HTTP GET on 127.0.0.1: its body; `None` when nothing answers.
pub fn http_get(port: u16, path: &str) -> Option<String> {
    http_get_status(port, path).map(|(_, body)| body)
}

/// A plain HTTP GET on 127.0.0.1: its status code and body; `None` when nothing answers.
pub fn http_get_status(port: u16, path: &str) -> Option<(u16, String)> {
    use std::io::{Read, Write};
    let mut s =
        TcpStream::connect_timeout(&SocketAddr::from(([127, 0, 0, 1], port)), Duration::from_secs(1)).ok()?;
    s.set_read_timeout(Some(Duration::from_secs(5))).ok()?;
    write!(s, "GET {path} HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n").ok()?;
    let mut response = String::new();
    s.read_to_string(&mut response).ok()?;
    let (head, body) = response.split_once("\r\n\r\n").unwrap_or((&response, ""));
    let status = head.split_whitespace().nth(1)?.parse().ok()?;
    Some((status, body.to_string()))
}

/// The value of one series (`name{labels}` exactly as exposed, or a bare name) in a /metrics
/// text; `None` when absent.
pub fn metric(text: &str, series: &str) -> Option<f64> {
    text.lines().find_map(|l| l.strip_prefix(series)?.strip_prefix(' ')?.trim().parse().ok())
}

/// Waits (bounded) until `f` returns `Some`, polling every 100 ms.
pub fn wait_for<T>(what: &str, timeout: Duration, mut f: impl FnMut() -> Option<T>) -> T {
    let deadline = Instant::now() + timeout;
    loop {
        if let Some(v) = f() {
            return v;
        }
        assert!(Instant::now() < deadline, "timed out after {timeout:?} waiting for {what}");
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// A consumer of `group` reading from the earliest offset, committing nothing.
pub fn consumer(brokers: &str, group: &str) -> BaseConsumer {
    ClientConfig::new()
        .set("bootstrap.servers", brokers)
        .set("group.id", group)
        .set("enable.auto.commit", "false")
        .set("auto.offset.reset", "earliest")
        .create()
        .unwrap()
}

/// Reads every record of `topic` (bounded wait for `expected` records).
pub fn read_topic(brokers: &str, topic: &str, expected: usize) -> Vec<(Vec<u8>, BTreeMap<String, String>)> {
    let c = consumer(brokers, &unique("reader"));
    c.subscribe(&[topic]).unwrap();
    let mut records = Vec::new();
    let take = |records: &mut Vec<_>| {
        while let Some(m) = c.poll(Duration::from_millis(200)) {
            let m = m.unwrap();
            let mut headers = BTreeMap::new();
            if let Some(h) = m.headers() {
                for x in h.iter() {
                    headers.insert(
                        x.key.to_string(),
                        String::from_utf8_lossy(x.value.unwrap_or_default()).into_owned(),
                    );
                }
            }
            records.push((m.payload().unwrap_or_default().to_vec(), headers));
        }
    };
    wait_for(topic, Duration::from_secs(60), || {
        take(&mut records);
        (records.len() >= expected).then_some(())
    });
    // whatever follows (tansu's high watermark can undercount multi-record batches)
    std::thread::sleep(Duration::from_millis(500));
    take(&mut records);
    records
}
