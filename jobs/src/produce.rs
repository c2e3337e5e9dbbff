//! `ticketpulse produce`: loads a JSONL file into a topic (key = conversation_id, so a
//! conversation stays on one partition), creating the topic if missing, with a progress bar.
//! Every line is produced, invalid ones included: they are input the pipeline must dead-letter.

use crate::report;
use crate::settings::KafkaProperties;
use anyhow::{Context, Result};
use clap::Args;
use std::io::BufReader;
use std::path::PathBuf;
use std::time::{Duration, Instant};
use ticketpulse_pipeline::kafka::{client_config, ensure_topic, produce_lines};

/// Flags of `ticketpulse produce`.
#[derive(Debug, Clone, Args)]
pub struct ProduceArgs {
    /// Kafka bootstrap servers.
    #[arg(long, value_name = "HOST:PORT")]
    pub brokers: String,
    /// Target topic.
    #[arg(long)]
    pub topic: String,
    /// JSONL file to load (`-` for stdin).
    #[arg(long, value_name = "FILE|-")]
    pub input: PathBuf,
    /// Partitions of the topic when it has to be created.
    #[arg(long, default_value_t = 4)]
    pub partitions: i32,
    #[command(flatten)]
    pub kafka: KafkaProperties,
}

/// Entry point of `ticketpulse produce`.
pub fn main(args: ProduceArgs) -> Result<()> {
    let config = client_config(&args.brokers, &args.kafka.map()?);
    let partitions = ensure_topic(&config, &args.topic, args.partitions, Duration::from_secs(30))
        .with_context(|| format!("creating topic {}", args.topic))?;
    let started = Instant::now();
    let stats = if args.input.as_os_str() == "-" {
        produce_lines(&config, &args.topic, std::io::stdin().lock(), |_| {})?
    } else {
        let file =
            std::fs::File::open(&args.input).with_context(|| format!("opening {}", args.input.display()))?;
        let bar = report::bar(Some(file.metadata()?.len()), "producing");
        let stats = produce_lines(&config, &args.topic, BufReader::with_capacity(1 << 20, file), |b| {
            bar.set_position(b)
        })?;
        bar.finish_and_clear();
        stats
    };
    let secs = started.elapsed().as_secs_f64();
    println!(
        "produced {} records ({} bytes) to {} ({} partitions) in {:.1}s ({:.0} records/s)",
        stats.records,
        stats.bytes,
        args.topic,
        partitions,
        secs,
        stats.records as f64 / secs.max(1e-9)
    );
    Ok(())
}
