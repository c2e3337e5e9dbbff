//! `ticketpulse alerts backtest`: runs the whole pipeline over a file (topics, windows, spike
//! detection exactly as in the stream), prints every alert that fired, and, given the
//! generator's truth folder, scores them against the injected spikes: recall, precision,
//! detection delay and false alerts per simulated day.
//!
//! An alert matches a spike when its series is about the spike (a channel series of the spike's
//! channel, a topic series whose topic is mostly the spike's topic, or both for channel × topic)
//! and it fired between the spike's start and two detection windows after its end. Which
//! generator topic a topic id stands for is read off the run's own `conversations` table: the
//! truth topic of most of its conversations.

use crate::report::{self, column};
use crate::settings::{self, CommonArgs};
use anyhow::{Context, Result};
use arrow::array::{Array, Float64Array, StringArray, TimestampMillisecondArray, UInt32Array};
use clap::{Args, Subcommand};
use comfy_table::{Table, presets::UTF8_FULL_CONDENSED};
use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};
use ticketpulse_pipeline::config::SourceConfig;
use ticketpulse_pipeline::sink::parquet::read_table;
use ticketpulse_pipeline::source::StopSignal;
use ticketpulse_pipeline::source::file::FileSourceConfig;
use ticketpulse_pipeline::telemetry::Telemetry;
use ticketpulse_schemas::tables::Table as OutputTable;

/// `ticketpulse alerts ...`.
#[derive(Debug, Args)]
pub struct AlertsArgs {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Run the detector over a file and print each alert (and precision / recall / delay
    /// against the generator's truth).
    Backtest(BacktestArgs),
}

#[derive(Debug, Args)]
struct BacktestArgs {
    /// JSONL events.
    #[arg(long)]
    input: PathBuf,
    /// The generator's truth folder (`gen_events.py --truth DIR`): summary.json and
    /// conversations.jsonl.
    #[arg(long)]
    truth: Option<PathBuf>,
    /// Output directory of the run [default: a temporary one, removed afterwards].
    #[arg(long)]
    out: Option<PathBuf>,
    /// How far behind the watermark an event still counts [default: the config's, 5m].
    #[arg(long, value_name = "DUR", value_parser = settings::duration)]
    allowed_lateness: Option<Duration>,
    /// Print every lifecycle event, not only the alerts that fired.
    #[arg(long)]
    all: bool,
    /// Also write the scores against the truth as JSON here.
    #[arg(long, value_name = "FILE")]
    summary: Option<PathBuf>,
    #[command(flatten)]
    common: CommonArgs,
}

/// Entry point of `ticketpulse alerts`.
pub fn main(args: AlertsArgs) -> Result<()> {
    match args.command {
        Command::Backtest(a) => backtest(a),
    }
}

/// One alert event read back from the `alerts` table.
#[derive(Debug, Clone)]
struct Alert {
    alert_id: String,
    state: String,
    kind: String,
    dimension: String,
    group: String,
    channel: Option<String>,
    topic_id: Option<u32>,
    severity: String,
    window_end: i64,
    started_at: i64,
    observed: f64,
    expected: f64,
    score: f64,
    terms: String,
}

fn read_alerts(out: &Path) -> Result<Vec<Alert>> {
    use arrow::array::ListArray;
    let mut alerts = Vec::new();
    for batch in read_table(out, OutputTable::Alerts)? {
        let s = |name: &str| column::<StringArray>(&batch, name);
        let (id, state, kind, dimension, group, channel, severity) = (
            s("alert_id")?,
            s("state")?,
            s("kind")?,
            s("dimension")?,
            s("series_group")?,
            s("channel")?,
            s("severity")?,
        );
        let topic = column::<UInt32Array>(&batch, "topic_id")?;
        let t = |name: &str| column::<TimestampMillisecondArray>(&batch, name);
        let (window_end, started_at) = (t("window_end")?, t("started_at")?);
        let f = |name: &str| column::<Float64Array>(&batch, name);
        let (observed, expected, score) = (f("observed")?, f("expected")?, f("score")?);
        let terms = column::<ListArray>(&batch, "terms")?;
        for i in 0..batch.num_rows() {
            let words = terms.value(i);
            let words = words
                .as_any()
                .downcast_ref::<StringArray>()
                .map(|a| (0..a.len()).map(|j| a.value(j).to_string()).collect::<Vec<_>>().join(" "));
            alerts.push(Alert {
                alert_id: id.value(i).to_string(),
                state: state.value(i).to_string(),
                kind: kind.value(i).to_string(),
                dimension: dimension.value(i).to_string(),
                group: group.value(i).to_string(),
                channel: channel.is_valid(i).then(|| channel.value(i).to_string()),
                topic_id: topic.is_valid(i).then(|| topic.value(i)),
                severity: severity.value(i).to_string(),
                window_end: window_end.value(i),
                started_at: started_at.value(i),
                observed: observed.value(i),
                expected: expected.value(i),
                score: score.value(i),
                terms: words.unwrap_or_default(),
            });
        }
    }
    alerts.sort_by(|a, b| (a.window_end, &a.alert_id).cmp(&(b.window_end, &b.alert_id)));
    Ok(alerts)
}

/// Each conversation's final topic id, from the `conversations` table.
fn topics_of(out: &Path) -> Result<HashMap<String, u32>> {
    let mut latest: HashMap<String, (u32, u32)> = HashMap::new();
    for batch in read_table(out, OutputTable::Conversations)? {
        let id = column::<StringArray>(&batch, "conversation_id")?;
        let revision = column::<UInt32Array>(&batch, "revision")?;
        let topic = column::<UInt32Array>(&batch, "topic_id")?;
        for i in 0..batch.num_rows() {
            if !topic.is_valid(i) {
                continue;
            }
            let e = latest.entry(id.value(i).to_string()).or_insert((0, 0));
            if revision.value(i) >= e.0 {
                *e = (revision.value(i), topic.value(i));
            }
        }
    }
    Ok(latest.into_iter().map(|(k, (_, t))| (k, t)).collect())
}

/// An injected spike of the generator's truth.
#[derive(Debug)]
struct Spike {
    topic: String,
    channel: String,
    start: i64,
    end: i64,
    multiplier: f64,
    extra: u64,
}

struct Truth {
    spikes: Vec<Spike>,
    days: f64,
    /// Topic id -> the generator topic most of its conversations have.
    topic_names: HashMap<u32, String>,
}

fn parse_time(s: &str) -> Result<i64> {
    Ok(chrono::DateTime::parse_from_rfc3339(s).with_context(|| format!("time {s}"))?.timestamp_millis())
}

fn read_truth(dir: &Path, topics: &HashMap<String, u32>) -> Result<Truth> {
    let path = dir.join("summary.json");
    let summary: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(&path).with_context(|| format!("reading {}", path.display()))?,
    )
    .with_context(|| format!("parsing {}", path.display()))?;
    let mut spikes = Vec::new();
    for s in summary["spikes"].as_array().into_iter().flatten() {
        let text = |k: &str| s[k].as_str().map(str::to_string).context("spike field");
        spikes.push(Spike {
            topic: text("topic")?,
            channel: text("channel")?,
            start: parse_time(&text("start")?)?,
            end: parse_time(&text("end")?)?,
            multiplier: s["multiplier"].as_f64().unwrap_or(0.0),
            extra: s["extra_conversations"].as_u64().unwrap_or(0),
        });
    }
    let days = summary["days"].as_f64().unwrap_or(1.0);
    let path = dir.join("conversations.jsonl");
    let text = std::fs::read_to_string(&path).with_context(|| format!("reading {}", path.display()))?;
    let mut votes: HashMap<u32, HashMap<String, u64>> = HashMap::new();
    for line in text.lines() {
        let Ok(v) = serde_json::from_str::<serde_json::Value>(line) else { continue };
        let (Some(id), Some(topic)) = (v["conversation_id"].as_str(), v["topic"].as_str()) else { continue };
        if let Some(t) = topics.get(id) {
            *votes.entry(*t).or_default().entry(topic.to_string()).or_default() += 1;
        }
    }
    let topic_names = votes
        .into_iter()
        .filter_map(|(id, v)| {
            v.into_iter().max_by_key(|(name, n)| (*n, name.clone())).map(|(name, _)| (id, name))
        })
        .collect();
    Ok(Truth { spikes, days, topic_names })
}

/// Whether `a`'s series is about spike `s`.
fn about(a: &Alert, s: &Spike, names: &HashMap<u32, String>) -> bool {
    let channel_ok = a.channel.as_deref().is_none_or(|c| c == s.channel);
    let topic_ok = a.topic_id.is_none_or(|t| names.get(&t).is_some_and(|n| *n == s.topic));
    channel_ok && topic_ok && a.kind == "volume"
}

fn time(ms: i64) -> String {
    chrono::DateTime::from_timestamp_millis(ms)
        .map(|t| t.format("%Y-%m-%d %H:%M").to_string() + " UTC")
        .unwrap_or_else(|| ms.to_string())
}

fn backtest(args: BacktestArgs) -> Result<()> {
    let mut config = settings::load(&args.common)?;
    config.source = Some(SourceConfig::File(FileSourceConfig { path: args.input.clone() }));
    let temp = match &args.out {
        Some(out) => {
            if std::fs::read_dir(out).is_ok_and(|mut d| d.next().is_some()) {
                anyhow::bail!("{} is not empty: a backtest needs a new output directory", out.display());
            }
            config.output.dir = out.clone();
            None
        }
        None => {
            let t = tempfile::tempdir().context("creating a temporary output directory")?;
            config.output.dir = t.path().to_path_buf();
            Some(t)
        }
    };
    if let Some(d) = args.allowed_lateness {
        config.time.allowed_lateness = d;
        config.dedup.horizon = config.dedup.horizon.max(d);
    }
    config.alerts.webhook = None; // a backtest notifies no one
    config.validate().context("configuration")?;
    let window = config.alerts.window;
    let started = Instant::now();
    let bar = report::bar(None, "backtesting");
    let telemetry = Telemetry::new()?;
    let summary = {
        let (config, shared) = (config.clone(), telemetry.clone());
        let run = std::thread::spawn(move || {
            ticketpulse_pipeline::runtime::run(&config, shared, StopSignal::new())
        });
        let source =
            telemetry.received.with_label_values(&[ticketpulse_pipeline::telemetry::component::SOURCE]);
        while !run.is_finished() {
            bar.set_position(source.get());
            std::thread::sleep(Duration::from_millis(100));
        }
        bar.finish_and_clear();
        run.join().map_err(|_| anyhow::anyhow!("the pipeline thread panicked"))??
    };
    let out = &config.output.dir;
    let alerts = read_alerts(out)?;
    let firing: Vec<&Alert> = alerts.iter().filter(|a| a.state == "firing").collect();
    println!(
        "{} events in {:.1}s: {} alert events, {} alerts fired",
        summary.stats.events,
        started.elapsed().as_secs_f64(),
        alerts.len(),
        firing.len()
    );
    let truth = match &args.truth {
        Some(dir) => Some(read_truth(dir, &topics_of(out)?)?),
        None => None,
    };
    let window_ms = window.as_millis() as i64;
    let matches = |a: &Alert| -> Vec<usize> {
        let Some(t) = &truth else { return Vec::new() };
        (0..t.spikes.len())
            .filter(|&i| {
                let s = &t.spikes[i];
                about(a, s, &t.topic_names) && a.window_end > s.start && a.started_at <= s.end + 2 * window_ms
            })
            .collect()
    };
    let mut table = Table::new();
    table.load_preset(UTF8_FULL_CONDENSED).set_header(vec![
        "fired (window end)",
        "state",
        "series",
        "observed",
        "expected",
        "score",
        "severity",
        "terms",
        "spike",
    ]);
    for a in alerts.iter().filter(|a| args.all || a.state == "firing") {
        let m = matches(a);
        let spike = match (&truth, m.first()) {
            (None, _) => String::new(),
            (Some(_), None) => "false".into(),
            (Some(t), Some(&i)) => format!("#{} {}×{}", i + 1, t.spikes[i].topic, t.spikes[i].channel),
        };
        let series = format!("{} {} {}", a.kind, a.dimension, a.group);
        let value =
            |v: f64| if a.kind == "volume" { format!("{v:.0}") } else { format!("{:.1}%", v * 100.0) };
        table.add_row(vec![
            time(a.window_end),
            a.state.clone(),
            series,
            value(a.observed),
            value(a.expected),
            format!("{:.1}", a.score),
            a.severity.clone(),
            a.terms.clone(),
            spike,
        ]);
    }
    println!("{table}");
    if let Some(t) = &truth {
        let mut detected: BTreeMap<usize, i64> = BTreeMap::new();
        let mut false_alerts = 0;
        for a in &firing {
            let m = matches(a);
            if m.is_empty() {
                false_alerts += 1;
            }
            for i in m {
                let delay = a.window_end - t.spikes[i].start;
                let d = detected.entry(i).or_insert(delay);
                *d = (*d).min(delay);
            }
        }
        let mut spikes = Table::new();
        spikes.load_preset(UTF8_FULL_CONDENSED).set_header(vec![
            "#",
            "spike",
            "start",
            "minutes",
            "multiplier",
            "extra conversations",
            "detected after",
        ]);
        for (i, s) in t.spikes.iter().enumerate() {
            spikes.add_row(vec![
                (i + 1).to_string(),
                format!("{} × {}", s.topic, s.channel),
                time(s.start),
                ((s.end - s.start) / 60_000).to_string(),
                format!("{}", s.multiplier),
                s.extra.to_string(),
                detected.get(&i).map_or_else(|| "missed".into(), |d| format!("{} min", d / 60_000)),
            ]);
        }
        println!("{spikes}");
        let n = t.spikes.len();
        let within = detected.values().filter(|&&d| d <= 2 * window_ms).count();
        let delays: Vec<i64> = detected.values().copied().collect();
        if let Some(path) = &args.summary {
            let json = serde_json::json!({
                "spikes": n,
                "detected": detected.len(),
                "within_two_windows": within,
                "window_minutes": window_ms / 60_000,
                "delays_minutes": delays.iter().map(|d| d / 60_000).collect::<Vec<_>>(),
                "alerts_fired": firing.len(),
                "false_alerts": false_alerts,
                "days": t.days,
                "events": summary.stats.events,
            });
            std::fs::write(path, json.to_string()).with_context(|| format!("writing {}", path.display()))?;
        }
        println!(
            "recall {}/{} ({:.0} %), {} within two windows ({} min); precision {}/{} ({:.0} %); \
             false alerts {} over {} days ({:.2} per day); detection delay {}",
            detected.len(),
            n,
            100.0 * detected.len() as f64 / n.max(1) as f64,
            within,
            2 * window_ms / 60_000,
            firing.len() - false_alerts,
            firing.len(),
            100.0 * (firing.len() - false_alerts) as f64 / firing.len().max(1) as f64,
            false_alerts,
            t.days,
            false_alerts as f64 / t.days.max(1.0),
            if delays.is_empty() {
                "-".to_string()
            } else {
                format!(
                    "mean {} min, max {} min",
                    delays.iter().sum::<i64>() / delays.len() as i64 / 60_000,
                    delays.iter().max().unwrap_or(&0) / 60_000
                )
            }
        );
    }
    drop(temp);
    Ok(())
}
