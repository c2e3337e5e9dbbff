//! `ticketpulse run`: the pipeline over a JSONL file/stdin or a Kafka topic, with /metrics, a
//! progress bar, Ctrl-C handling (first: checkpoint and stop; second: stop now) and a summary.

use crate::report;
use crate::settings::{self, CommonArgs, KafkaProperties};
use anyhow::{Context, Result, bail};
use clap::Args;
use std::path::PathBuf;
use std::time::{Duration, Instant};
use ticketpulse_pipeline::config::{PipelineConfig, SourceConfig};
use ticketpulse_pipeline::runtime::{self, RunSummary};
use ticketpulse_pipeline::sink::prometheus::MetricsServer;
use ticketpulse_pipeline::source::StopSignal;
use ticketpulse_pipeline::source::file::FileSourceConfig;
use ticketpulse_pipeline::source::kafka::KafkaSourceConfig;
use ticketpulse_pipeline::telemetry::{Telemetry, component};

/// Flags of `ticketpulse run`.
#[derive(Debug, Clone, Args)]
pub struct RunArgs {
    /// JSONL input file, `-` for stdin; exits at its end after flushing everything.
    #[arg(long, value_name = "FILE|-", conflicts_with = "brokers")]
    pub input: Option<PathBuf>,
    /// Kafka bootstrap servers (with --topic and --group).
    #[arg(long, value_name = "HOST:PORT", requires_all = ["topic", "group"])]
    pub brokers: Option<String>,
    /// Kafka topic of conversation events.
    #[arg(long)]
    pub topic: Option<String>,
    /// Kafka consumer group.
    #[arg(long)]
    pub group: Option<String>,
    /// Output directory [default: out].
    #[arg(long, value_name = "DIR")]
    pub out: Option<PathBuf>,
    /// This instance's name among the members of one consumer group writing to one output
    /// directory; stable across its restarts [default: main].
    #[arg(long, value_name = "NAME", env = "TICKETPULSE_INSTANCE")]
    pub instance: Option<String>,
    /// How far behind the watermark an event still counts in its window [default: 5m].
    #[arg(long, value_name = "DUR", value_parser = settings::duration)]
    pub allowed_lateness: Option<Duration>,
    /// Event time without any event after which a conversation is closed and its state evicted [default: 24h].
    #[arg(long, value_name = "DUR", value_parser = settings::duration)]
    pub idle_timeout: Option<Duration>,
    /// Tumbling window width [default: 1m].
    #[arg(long, value_name = "DUR", value_parser = settings::duration)]
    pub window: Option<Duration>,
    /// Kafka: drain, checkpoint, commit and exit once caught up to the high watermarks and this
    /// long without a new record.
    #[arg(long, value_name = "DUR", value_parser = settings::duration)]
    pub stop_when_idle: Option<Duration>,
    /// Checkpoint interval [default: 10s].
    #[arg(long, value_name = "DUR", value_parser = settings::duration)]
    pub checkpoint_interval: Option<Duration>,
    #[command(flatten)]
    pub kafka: KafkaProperties,
    #[command(flatten)]
    pub common: CommonArgs,
}

/// Combines the config file and the flags.
pub fn resolve(args: &RunArgs) -> Result<PipelineConfig> {
    let mut config = settings::load(&args.common)?;
    let properties = args.kafka.map()?;
    if let Some(input) = &args.input {
        config.source = Some(SourceConfig::File(FileSourceConfig { path: input.clone() }));
    } else if let Some(brokers) = &args.brokers {
        let (Some(topic), Some(group)) = (&args.topic, &args.group) else {
            bail!("--brokers needs --topic and --group")
        };
        config.source = Some(SourceConfig::Kafka(KafkaSourceConfig {
            brokers: brokers.clone(),
            topic: topic.clone(),
            group: group.clone(),
            properties: properties.clone(),
            stop_when_idle: None,
        }));
    }
    if let Some(SourceConfig::Kafka(k)) = &mut config.source {
        k.properties.extend(properties);
        if args.stop_when_idle.is_some() {
            k.stop_when_idle = args.stop_when_idle;
        }
    } else if args.stop_when_idle.is_some() {
        bail!("--stop-when-idle applies to a Kafka source (--brokers)");
    }
    if let Some(out) = &args.out {
        config.output.dir = out.clone();
    }
    if let Some(name) = &args.instance {
        config.output.instance = name.clone();
    }
    if let Some(d) = args.allowed_lateness {
        config.time.allowed_lateness = d;
        if config.dedup.horizon < d {
            config.dedup.horizon = d; // the horizon must cover the lateness; widen it with the flag
        }
    }
    if let Some(d) = args.window {
        config.time.window = d;
    }
    if let Some(d) = args.idle_timeout {
        config.conversation.idle_timeout = d;
    }
    if let Some(d) = args.checkpoint_interval {
        config.checkpoint.interval = d;
    }
    config.validate().context("configuration")?;
    Ok(config)
}

/// Entry point of `ticketpulse run`.
pub fn main(args: RunArgs) -> Result<()> {
    let config = resolve(&args)?;
    let started = Instant::now();
    execute(&config, None, "running", false, |summary| {
        report::print_summary(summary, &config, started.elapsed())
    })
    .map(|_| ())
}

/// Runs `config` with the metrics endpoint, a progress bar over `total` records (a spinner
/// without), and signal handling; calls `done` with the result; then, with `keep_serving`, keeps
/// /metrics up until Ctrl-C.
pub fn execute(
    config: &PipelineConfig,
    total: Option<u64>,
    label: &str,
    keep_serving: bool,
    done: impl FnOnce(&RunSummary) -> Result<()>,
) -> Result<RunSummary> {
    let rt = tokio::runtime::Builder::new_multi_thread().worker_threads(1).enable_all().build()?;
    rt.block_on(async {
        let telemetry = Telemetry::new()?;
        let server = MetricsServer::start(&config.metrics, telemetry.clone()).await?;
        eprintln!("serving metrics on http://{}/metrics", server.addr);
        let stop = StopSignal::new();
        tokio::spawn(watch_signals(stop.clone()));
        let bar = report::bar(total, label);
        let pipeline = {
            let (config, telemetry, stop) = (config.clone(), telemetry.clone(), stop.clone());
            tokio::task::spawn_blocking(move || runtime::run(&config, telemetry, stop))
        };
        let source = telemetry.received.with_label_values(&[component::SOURCE]);
        while !pipeline.is_finished() {
            bar.set_position(source.get());
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        bar.set_position(source.get());
        bar.finish_and_clear();
        let summary = pipeline.await.context("pipeline task")??;
        done(&summary)?;
        if keep_serving {
            eprintln!("done; still serving http://{}/metrics — press Ctrl-C to exit", server.addr);
            let _ = tokio::signal::ctrl_c().await;
        }
        server.stop();
        Ok(summary)
    })
}

/// First Ctrl-C or SIGTERM: graceful stop (final checkpoint). Second: immediate stop.
async fn watch_signals(stop: StopSignal) {
    #[cfg(unix)]
    let mut term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()).ok();
    loop {
        #[cfg(unix)]
        let term_recv = async {
            match term.as_mut() {
                Some(t) => t.recv().await,
                None => std::future::pending().await,
            }
        };
        #[cfg(not(unix))]
        let term_recv = std::future::pending::<Option<()>>();
        tokio::select! {
            _ = tokio::signal::ctrl_c() => {}
            _ = term_recv => {}
        }
        if stop.is_stopping() {
            // an immediate stop takes no checkpoint: a restart resumes from the last one
            eprintln!("stopping now, without a final checkpoint");
            stop.request_immediate();
            std::process::exit(130);
        }
        eprintln!("stopping: taking a final checkpoint (press Ctrl-C again to stop at once)");
        stop.request_graceful();
    }
}
