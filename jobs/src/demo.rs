//! `ticketpulse demo`: the embedded default, no broker needed. It generates a realistic event
//! stream (built-in generator), produces it into an in-process Kafka (librdkafka's mock cluster,
//! 4 partitions), runs the real Kafka source path through every operator with a progress bar and
//! /metrics, and ends with the per-channel summary and the paths of its outputs.

use crate::report;
use crate::run::execute;
use crate::settings::{self, CommonArgs};
use anyhow::{Context, Result};
use clap::Args;
use rdkafka::mocking::MockCluster;
use std::io::Cursor;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};
use ticketpulse_pipeline::config::{DeadLetterTarget, SourceConfig};
use ticketpulse_pipeline::kafka::{client_config, produce_lines};
use ticketpulse_pipeline::runtime::checkpoint::CHECKPOINT_DIR;
use ticketpulse_pipeline::source::generator::{GeneratorConfig, generate};
use ticketpulse_pipeline::source::kafka::KafkaSourceConfig;

const TOPIC: &str = "conversation-events";
const PARTITIONS: i32 = 4;

/// Flags of `ticketpulse demo`.
#[derive(Debug, Clone, Args)]
pub struct DemoArgs {
    /// Conversations to generate.
    #[arg(long, default_value_t = 5_000)]
    pub conversations: u64,
    /// Output directory (its previous demo output is replaced).
    #[arg(long, value_name = "DIR", default_value = "demo-out")]
    pub out: PathBuf,
    /// Keep serving /metrics after the run, until Ctrl-C.
    #[arg(long)]
    pub keep_serving: bool,
    /// Random seed of the generator.
    #[arg(long, default_value_t = 7)]
    pub seed: u64,
    #[command(flatten)]
    pub common: CommonArgs,
}

/// Removes what an earlier demo wrote under `out` (only the folders the pipeline owns): the
/// in-process broker is new each time, so old checkpoints would point at offsets it never had.
fn clear_previous(out: &Path) -> Result<()> {
    let tables = ticketpulse_schemas::tables::Table::ALL.map(|t| t.name());
    let others = ["dead_letter", ticketpulse_pipeline::alerts::webhook::OUTBOX_DIR, CHECKPOINT_DIR];
    for dir in tables.iter().chain(others.iter()) {
        let path = out.join(dir);
        if path.exists() {
            std::fs::remove_dir_all(&path).with_context(|| format!("removing {}", path.display()))?;
        }
    }
    Ok(())
}

/// Entry point of `ticketpulse demo`.
pub fn main(args: DemoArgs) -> Result<()> {
    let mut config = settings::load(&args.common)?;
    clear_previous(&args.out)?;
    let generator =
        GeneratorConfig { conversations: args.conversations, days: 1, seed: args.seed, ..Default::default() };
    let (lines, truth) = generate(&generator)?;
    eprintln!(
        "generated {} events of {} conversations ({} duplicates, {} invalid lines, {} with personal data)",
        truth.lines, truth.conversations, truth.duplicate_lines, truth.invalid_lines, truth.personal_data
    );

    let cluster = MockCluster::new(1).context("starting the in-process Kafka")?;
    cluster.create_topic(TOPIC, PARTITIONS, 1).context("creating the demo topic")?;
    // the mock cluster has no admin API: the signals topic the run writes to is created here
    let signals_topic = format!("{TOPIC}.signals");
    cluster.create_topic(&signals_topic, 1, 1).context("creating the demo signals topic")?;
    cluster.create_topic(&format!("{TOPIC}.alerts"), 1, 1).context("creating the demo alerts topic")?;
    let brokers = cluster.bootstrap_servers();
    let mut text = lines.join("\n").into_bytes();
    text.push(b'\n');
    let bar = report::bar(Some(text.len() as u64), "producing");
    let producer = client_config(&brokers, &Default::default());
    let produced = produce_lines(&producer, TOPIC, Cursor::new(text), |b| bar.set_position(b))?;
    bar.finish_and_clear();
    eprintln!(
        "produced {} records into the in-process Kafka ({TOPIC}, {PARTITIONS} partitions)",
        produced.records
    );

    config.source = Some(SourceConfig::Kafka(KafkaSourceConfig {
        brokers,
        topic: TOPIC.into(),
        group: "ticketpulse-demo".into(),
        properties: Default::default(),
        stop_when_idle: Some(Duration::from_secs(2)),
    }));
    config.output.dir = args.out.clone();
    config.output.dead_letter = DeadLetterTarget::File;
    // the generator delays up to 15 minutes of events: count them in their windows
    config.time.allowed_lateness = config.time.allowed_lateness.max(Duration::from_secs(20 * 60));
    config.dedup.horizon = config.dedup.horizon.max(config.time.allowed_lateness);
    if config.conversation.sla.is_empty() && config.conversation.business_hours.default.is_none() {
        demo_lifecycle(&mut config.conversation);
    }
    config.validate().context("configuration")?;

    let started = Instant::now();
    execute(&config, Some(produced.records), "processing", args.keep_serving, |summary| {
        report::print_summary(summary, &config, started.elapsed())
    })?;
    drop(cluster);
    Ok(())
}

/// SLA policies, a calendar and a night range for the demo when the config file sets none: the
/// generator's conversations are in China Standard Time.
fn demo_lifecycle(c: &mut ticketpulse_pipeline::conversation::ConversationConfig) {
    use ticketpulse_pipeline::conversation::{CalendarConfig, NightConfig, SlaPolicyConfig};
    let tz = "Asia/Shanghai".to_string();
    c.night = NightConfig { timezone: tz.clone(), hours: "22:00-06:00".into() };
    c.business_hours.default = Some(CalendarConfig {
        timezone: tz,
        days: ["mon", "tue", "wed", "thu", "fri", "sat"].map(String::from).to_vec(),
        hours: "09:00-21:00".into(),
        holidays: vec![],
        week: Default::default(),
    });
    let s = Duration::from_secs;
    c.sla = vec![
        SlaPolicyConfig {
            first_response: Some(s(30)),
            next_reply: Some(s(120)),
            resolution: Some(s(4 * 3600)),
            ..Default::default()
        },
        SlaPolicyConfig { tier: Some(2), next_reply: Some(s(300)), ..Default::default() },
        SlaPolicyConfig {
            channel: Some("email".into()),
            first_response: Some(s(4 * 3600)),
            next_reply: Some(s(8 * 3600)),
            resolution: Some(s(24 * 3600)),
            business_hours: true,
            ..Default::default()
        },
    ];
}
