//! What a person sees: progress bars while running and the summary at the end (counts, and a
//! per-channel table computed from the `conversations` Parquet files just written).

use anyhow::Result;
use arrow::array::{Array, Float64Array, StringArray};
use comfy_table::{Table, presets::UTF8_FULL_CONDENSED};
use indicatif::{ProgressBar, ProgressStyle};
use std::collections::{BTreeMap, HashMap};
use std::path::Path;
use std::time::Duration;
use ticketpulse_pipeline::config::{DeadLetterTarget, PipelineConfig, SourceConfig};
use ticketpulse_pipeline::metrics::quantile;
use ticketpulse_pipeline::runtime::RunSummary;
use ticketpulse_pipeline::sink::parquet::read_table;
use ticketpulse_schemas::tables::Table as OutputTable;

/// A progress bar on stderr (hidden when stderr is not a terminal).
pub fn bar(total: Option<u64>, what: &str) -> ProgressBar {
    let bar = match total {
        Some(n) => ProgressBar::new(n).with_style(
            ProgressStyle::with_template(
                "{msg:>12} [{bar:40.cyan/blue}] {human_pos}/{human_len} {per_sec} eta {eta}",
            )
            .unwrap_or_else(|_| ProgressStyle::default_bar())
            .progress_chars("=> "),
        ),
        None => ProgressBar::new_spinner().with_style(
            ProgressStyle::with_template("{spinner} {msg} {human_pos} records {per_sec}")
                .unwrap_or_else(|_| ProgressStyle::default_spinner()),
        ),
    };
    bar.set_message(what.to_string());
    bar.enable_steady_tick(Duration::from_millis(120));
    bar
}

/// Per-channel figures of the written conversations (latest revision of each).
#[derive(Debug, Default, Clone, PartialEq)]
pub struct ChannelFigures {
    /// Conversations.
    pub conversations: u64,
    /// Median first response time, seconds.
    pub frt_p50: Option<f64>,
    /// 90th percentile first response time, seconds.
    pub frt_p90: Option<f64>,
    /// Median first human response time, seconds.
    pub fhrt_p50: Option<f64>,
    /// Share resolved.
    pub resolved: Option<f64>,
    /// Share bot contained.
    pub bot_contained: Option<f64>,
}

/// The latest revision of one conversation.
#[derive(Default)]
struct Latest {
    revision: u32,
    channel: String,
    frt: Option<f64>,
    fhrt: Option<f64>,
    resolved: bool,
    bot_contained: bool,
}

/// Column `name` of `batch` as array type `T`.
pub fn column<'a, T: 'static>(batch: &'a arrow::record_batch::RecordBatch, name: &str) -> Result<&'a T> {
    batch
        .column_by_name(name)
        .and_then(|c| c.as_any().downcast_ref::<T>())
        .ok_or_else(|| anyhow::anyhow!("the table lacks a {name} column of the expected type"))
}

/// Reads the `conversations` table under `out`, keeps the latest revision of each conversation
/// and computes per-channel figures.
pub fn channel_figures(out: &Path) -> Result<BTreeMap<String, ChannelFigures>> {
    use arrow::array::{BooleanArray, UInt32Array};
    let mut latest: HashMap<String, Latest> = HashMap::new();
    for batch in read_table(out, OutputTable::Conversations)? {
        let id = column::<StringArray>(&batch, "conversation_id")?;
        let revision = column::<UInt32Array>(&batch, "revision")?;
        let ch = column::<StringArray>(&batch, "channel")?;
        let frt = column::<Float64Array>(&batch, "first_response_s")?;
        let fhrt = column::<Float64Array>(&batch, "first_human_response_s")?;
        let resolved = column::<BooleanArray>(&batch, "resolved")?;
        let contained = column::<BooleanArray>(&batch, "bot_contained")?;
        let opt = |a: &Float64Array, i: usize| a.is_valid(i).then(|| a.value(i));
        for i in 0..batch.num_rows() {
            let entry = latest.entry(id.value(i).to_string()).or_default();
            if revision.value(i) > entry.revision {
                *entry = Latest {
                    revision: revision.value(i),
                    channel: ch.value(i).to_string(),
                    frt: opt(frt, i),
                    fhrt: opt(fhrt, i),
                    resolved: resolved.value(i),
                    bot_contained: contained.value(i),
                };
            }
        }
    }
    let mut by_channel: BTreeMap<String, Vec<Latest>> = BTreeMap::new();
    for l in latest.into_values() {
        by_channel.entry(l.channel.clone()).or_default().push(l);
    }
    Ok(by_channel
        .into_iter()
        .map(|(ch, rows)| {
            let mut frt: Vec<f64> = rows.iter().filter_map(|r| r.frt).collect();
            let mut fhrt: Vec<f64> = rows.iter().filter_map(|r| r.fhrt).collect();
            let n = rows.len() as u64;
            let share = |f: fn(&Latest) -> bool| {
                (n > 0).then(|| rows.iter().filter(|r| f(r)).count() as f64 / n as f64)
            };
            let figures = ChannelFigures {
                conversations: n,
                frt_p50: quantile(&mut frt, 0.5),
                frt_p90: quantile(&mut frt, 0.9),
                fhrt_p50: quantile(&mut fhrt, 0.5),
                resolved: share(|r| r.resolved),
                bot_contained: share(|r| r.bot_contained),
            };
            (ch, figures)
        })
        .collect())
}

fn percent(v: Option<f64>) -> String {
    v.map_or_else(|| "-".to_string(), |s| format!("{:.1}%", s * 100.0))
}

fn secs(v: Option<f64>) -> String {
    v.map_or_else(|| "-".to_string(), |s| format!("{s:.1}"))
}

/// Prints the run's counts, the per-channel table and the output paths.
pub fn print_summary(summary: &RunSummary, config: &PipelineConfig, elapsed: Duration) -> Result<()> {
    let out = config.output.dir.as_path();
    let s = &summary.stats;
    let rate = s.records as f64 / elapsed.as_secs_f64().max(1e-9);
    println!(
        "processed {} records in {:.1}s ({:.0}/s): {} events, {} invalid, {} duplicates dropped, {} late, {} dead letters, {} personal data masked",
        s.records,
        elapsed.as_secs_f64(),
        rate,
        s.events,
        s.invalid,
        s.duplicates,
        s.late,
        s.dead_letters,
        s.pii_masked
    );
    if let Some(active) = summary.active {
        let secs = active.as_secs_f64();
        println!(
            "records flowed for {secs:.2}s ({:.0} records/s, without start-up, group join or idle wait)",
            s.records as f64 / secs.max(1e-9)
        );
    }
    println!(
        "wrote {} conversation rows, {} window rows ({} corrections), {} signals and {} alert events ({} alerts fired) in {} checkpoints{}",
        s.conversation_rows,
        s.window_rows,
        s.corrected_windows,
        s.signals,
        s.alert_events,
        s.alerts_fired,
        summary.checkpoints,
        if summary.drained { " (input complete)" } else { " (open state saved for the next run)" }
    );
    let mut table = Table::new();
    table.load_preset(UTF8_FULL_CONDENSED).set_header(vec![
        "channel",
        "conversations",
        "first response p50 (s)",
        "first response p90 (s)",
        "first human response p50 (s)",
        "resolved",
        "bot contained",
    ]);
    for (ch, f) in channel_figures(out)? {
        table.add_row(vec![
            ch,
            f.conversations.to_string(),
            secs(f.frt_p50),
            secs(f.frt_p90),
            secs(f.fhrt_p50),
            percent(f.resolved),
            percent(f.bot_contained),
        ]);
    }
    println!("{table}");
    println!("outputs:");
    let out = std::fs::canonicalize(out).unwrap_or_else(|_| out.to_path_buf());
    let tables = ticketpulse_schemas::tables::Table::ALL.map(|t| t.name());
    for dir in tables.iter().chain(["dead_letter"].iter()) {
        let path = out.join(dir);
        if path.exists() {
            println!("  {}", path.display());
        }
    }
    if let Some(SourceConfig::Kafka(k)) = &config.source
        && config.output.dead_letter == DeadLetterTarget::Auto
    {
        let topic =
            config.output.dead_letter_topic.clone().unwrap_or_else(|| format!("{}.dead-letter", k.topic));
        println!("  dead letters: Kafka topic {topic} on {}", k.brokers);
    }
    if let Some(SourceConfig::Kafka(k)) = &config.source {
        let topic = config.output.signals_topic(&k.topic);
        println!("  signals: Kafka topic {topic} on {}", k.brokers);
        if config.alerts.enabled {
            let topic = config.output.alerts_topic(&k.topic);
            println!("  alerts: Kafka topic {topic} on {}", k.brokers);
        }
    }
    Ok(())
}
