//! Wiring: builds the source and sinks a configuration names (the one place components are
//! registered, in [`run`]), recovers from the last checkpoint, runs the operator chain on the
//! calling thread over the source's ordered stream of batches and control messages, and takes
//! checkpoints at the source's barriers (see [`checkpoint`] for the protocol).
//!
//! Stopping: at the end of a file, or after `--stop-when-idle`, the source sends a draining end:
//! every window closes, every conversation is written, and a final checkpoint commits. A
//! graceful stop request (first Ctrl-C / SIGTERM) takes a final checkpoint without draining: open
//! state is saved and a restart resumes it. An immediate stop (second Ctrl-C) takes no
//! checkpoint; a restart resumes from the last one.

pub mod checkpoint;
pub mod handover;
mod processor;
mod task;
#[cfg(test)]
mod tests;

pub use checkpoint::{CheckpointStore, Manifest};
pub use processor::{Outputs, Processor, ProcessorState, RunStats};
pub use task::TaskState;

use crate::config::{DeadLetterTarget, PipelineConfig, SourceConfig};
use crate::sink::dead_letter::{DeadLetterSink, FileDeadLetter, KafkaDeadLetter};
use crate::sink::parquet::ParquetSink;
use crate::sink::signals::SignalSink;
use crate::sink::topic::TopicSink;
use crate::source::{OffsetCommitter, SourceContext, SourceHandle, SourceMessage, SourceOffsets, StopSignal};
use crate::telemetry::Telemetry;
use crate::{Error, Result};
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

/// What a run did.
#[derive(Debug, Clone, PartialEq)]
pub struct RunSummary {
    /// Counts.
    pub stats: RunStats,
    /// Checkpoints committed in this run.
    pub checkpoints: u64,
    /// Whether the input was drained (complete) at the end.
    pub drained: bool,
    /// Offsets of the last checkpoint.
    pub offsets: Option<SourceOffsets>,
    /// Time from the first batch received to the last one (what processing took, without
    /// start-up, group join or the idle wait of `--stop-when-idle`).
    pub active: Option<std::time::Duration>,
}

/// Runs the pipeline described by `config` until its input ends or `stop` is requested.
/// Blocks the calling thread (call it from a plain thread or `spawn_blocking`).
pub fn run(config: &PipelineConfig, telemetry: Telemetry, stop: StopSignal) -> Result<RunSummary> {
    config.validate()?;
    let source_config =
        config.source.clone().ok_or_else(|| Error::config("source", "no input configured"))?;
    let out = &config.output.dir;
    let store = CheckpointStore::open(out, &config.output.instance)?;
    let recovered = store.recover()?;
    let (state, resume) = match recovered {
        Some(r) => {
            let mut state = ProcessorState::from_bytes(&r.state).map_err(|message| Error::Checkpoint {
                path: out.join(checkpoint::CHECKPOINT_DIR),
                message,
            })?;
            state.adopt(config)?;
            tracing::info!("resuming from checkpoint {} ({:?})", r.manifest.id, r.manifest.offsets);
            (state, Some(r.manifest.offsets))
        }
        None => (ProcessorState::new(config), None),
    };
    let dead_letter = match &source_config {
        SourceConfig::Kafka(k) if config.output.dead_letter == DeadLetterTarget::Auto => {
            let topic =
                config.output.dead_letter_topic.clone().unwrap_or_else(|| format!("{}.dead-letter", k.topic));
            let client = crate::kafka::client_config(&k.brokers, &k.properties);
            DeadLetterSink::Kafka(KafkaDeadLetter::new(&client, &topic, &k.topic, telemetry.health.clone())?)
        }
        other => DeadLetterSink::File(FileDeadLetter::new(out, &other.origin())),
    };
    // reading Kafka, signals (and alerts) also go to topics beside the source
    let kafka = match &source_config {
        SourceConfig::Kafka(k) => Some((k, crate::kafka::client_config(&k.brokers, &k.properties))),
        _ => None,
    };
    let signals_topic = match &kafka {
        Some((k, client)) => Some(TopicSink::new(
            client,
            &config.output.signals_topic(&k.topic),
            "signals",
            telemetry.health.clone(),
        )?),
        None => None,
    };
    let alerts_topic = match &kafka {
        Some((k, client)) if config.alerts.enabled => Some(TopicSink::new(
            client,
            &config.output.alerts_topic(&k.topic),
            "alerts",
            telemetry.health.clone(),
        )?),
        _ => None,
    };
    let webhook = config.alerts.webhook.clone().filter(|_| config.alerts.enabled);
    let outputs = Outputs {
        conversations: ParquetSink::new(out, config.output.zstd_level),
        windows: ParquetSink::new(out, config.output.zstd_level),
        messages: ParquetSink::new(out, config.output.zstd_level),
        signals: SignalSink::new(ParquetSink::new(out, config.output.zstd_level), signals_topic),
        topics: ParquetSink::new(out, config.output.zstd_level),
        alerts: crate::sink::alerts::AlertSink::new(
            ParquetSink::new(out, config.output.zstd_level),
            alerts_topic,
            webhook.clone().map(|w| (out.clone(), w)),
        ),
        dead_letter,
    };
    let mut processor = Processor::new(config, state, outputs, telemetry.clone())?;
    // posts what earlier runs committed but did not deliver, then each checkpoint's events
    let notifier = webhook
        .map(|w| crate::alerts::webhook::Notifier::start(out, &config.output.instance, w, telemetry.clone()));
    let (tx, rx) = tokio::sync::mpsc::channel(16);
    // a consumer group's members hand partitions (and their state) over through the checkpoints
    let handover = match &source_config {
        SourceConfig::Kafka(_) => {
            Some(Arc::new(handover::Handover::new(store.clone(), tx.clone(), stop.clone())))
        }
        _ => None,
    };
    let cx = SourceContext {
        tx,
        checkpoint_interval: config.checkpoint.interval,
        stop: stop.clone(),
        resume: resume.clone(),
        telemetry: telemetry.clone(),
        max_record_bytes: config.limits.max_record_bytes,
        handover: handover.clone().map(|h| h as Arc<dyn crate::source::PartitionHandover>),
    };
    let handle = match &source_config {
        SourceConfig::Kafka(k) => k.spawn(cx)?,
        SourceConfig::File(f) => f.spawn(cx)?,
        SourceConfig::Generator(g) => g.spawn(cx)?,
    };
    let mut driver = Driver {
        store,
        processor: &mut processor,
        telemetry,
        committer: handle.committer.clone(),
        checkpoints: 0,
        offsets: resume,
        batches: None,
        notifier: notifier.as_ref(),
        stop: &stop,
        last: None,
        handover,
        marked: std::collections::BTreeSet::new(),
    };
    let outcome = driver.drive(rx);
    let checkpoints = driver.checkpoints;
    let offsets = driver.offsets.clone();
    let active = driver.batches.map(|(first, last)| last.duration_since(first));
    let source_result = join(handle);
    if let Some(n) = notifier {
        // a finished run delivers what it committed; a stopped one leaves the rest to the next
        n.finish(!matches!(outcome, Ok(true)));
    }
    let drained = outcome?;
    source_result?;
    Ok(RunSummary { stats: processor.stats.clone(), checkpoints, drained, offsets, active })
}

fn join(handle: SourceHandle) -> Result<()> {
    handle.thread.join().map_err(|_| Error::Runtime("the source thread panicked".into()))?
}

struct Driver<'a> {
    store: CheckpointStore,
    processor: &'a mut Processor,
    telemetry: Telemetry,
    committer: Option<Arc<dyn OffsetCommitter>>,
    checkpoints: u64,
    offsets: Option<SourceOffsets>,
    /// When the first and the latest batch were processed.
    batches: Option<(Instant, Instant)>,
    /// The alert webhook's notifier, told of each commit.
    notifier: Option<&'a crate::alerts::webhook::Notifier>,
    stop: &'a StopSignal,
    /// When the last checkpoint ended, and how long it took.
    last: Option<(Instant, Duration)>,
    /// Claims of the Kafka source's partitions (see [`handover`]).
    handover: Option<Arc<handover::Handover>>,
    /// (partition, generation) pairs marked committed.
    marked: std::collections::BTreeSet<(i32, u64)>,
}

/// Checkpoints take at most about this share of the time: a barrier that comes sooner after the
/// last checkpoint than `1 / SHARE - 1` times that checkpoint's duration is let pass (the next
/// one covers its records), so a large state or a slow disk stretches `checkpoint.interval`
/// instead of starving processing.
const CHECKPOINT_SHARE: u32 = 4;

impl Driver<'_> {
    /// Consumes the source's stream; returns whether the input was drained.
    fn drive(&mut self, mut rx: tokio::sync::mpsc::Receiver<SourceMessage>) -> Result<bool> {
        while let Some(msg) = rx.blocking_recv() {
            if self.stop.is_immediate() {
                return Ok(false);
            }
            match msg {
                SourceMessage::Batch(records) => {
                    let now = Instant::now();
                    self.processor.on_batch(records, now)?;
                    self.batches = Some((self.batches.map_or(now, |b| b.0), Instant::now()));
                }
                SourceMessage::Heartbeat => self.processor.on_heartbeat(Instant::now())?,
                SourceMessage::Assigned(parts) => {
                    let claims = self.handover.as_ref().map(|h| h.take()).unwrap_or_default();
                    self.processor.on_assigned(&parts, claims, Instant::now())?;
                }
                SourceMessage::Revoked { topic, partitions, done } => {
                    if self.processor.holds_any(&partitions) {
                        // the next owner resumes from here (the barrier rules do not apply)
                        self.checkpoint(SourceOffsets::Kafka { topic, next: Default::default() }, false)?;
                    }
                    self.processor.on_revoked(&partitions);
                    let _ = done.send(());
                }
                SourceMessage::Barrier(offsets) => {
                    let busy = self.last.is_some_and(|(ended, took)| {
                        ended.elapsed() < took.saturating_mul(CHECKPOINT_SHARE - 1)
                    });
                    if busy {
                        self.telemetry.checkpoints_deferred.inc();
                    } else {
                        self.checkpoint(offsets, false)?;
                    }
                }
                SourceMessage::End { offsets, drain } => {
                    if drain {
                        self.processor.drain()?;
                    }
                    self.checkpoint(offsets, drain)?;
                    return Ok(drain);
                }
            }
        }
        // The source went away without an End: its thread reports why.
        Ok(false)
    }

    fn checkpoint(&mut self, offsets: SourceOffsets, drained: bool) -> Result<()> {
        let started = Instant::now();
        // a partition's offset is what was processed of it, with its state
        let offsets = match (offsets, self.processor.owned()) {
            (SourceOffsets::Kafka { topic, .. }, Some(_)) => {
                SourceOffsets::Kafka { topic, next: self.processor.positions().clone() }
            }
            (offsets, _) => offsets,
        };
        let partitions = self.processor.owned().cloned().unwrap_or_default();
        // An I/O failure (disk full, say) is retried with the same id and the same files until it
        // passes: consumption waits meanwhile (the source blocks on the full channel), and
        // nothing is committed past what is durable.
        let mut retry = Retry::new(&self.telemetry, self.stop);
        let id = retry.run(|| self.store.next_id())?;
        let stamp = crate::sink::Stamp::new(&self.store.instance, id);
        let (pending, state) = retry.run(|| self.processor.prepare(&stamp))?;
        let created_at_ms = SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| d.as_millis() as i64);
        let manifest = Manifest {
            state_version: checkpoint::STATE_VERSION,
            id,
            created_at_ms,
            offsets: offsets.clone(),
            pending,
            drained,
            instance: self.store.instance.clone(),
            partitions,
        };
        // right before the commit point: a fenced instance's files stay uncommitted
        self.fence(&manifest.partitions)?;
        retry.run(|| self.store.commit(&manifest, &state))?;
        retry.passed();
        for (&p, &g) in &manifest.partitions {
            if !self.marked.contains(&(p, g)) {
                retry.run(|| handover::mark_committed(&self.store.out, &self.store.instance, p, g))?;
                self.marked.insert((p, g));
            }
        }
        // fault injection: dead between the file commit and the offset commit
        fail::fail_point!("checkpoint::published", |_| std::process::abort());
        if let Some(n) = self.notifier {
            n.wake();
        }
        let t = &self.telemetry;
        for p in &manifest.pending {
            t.files_committed.with_label_values(&[&p.table]).inc();
            t.rows_written.with_label_values(&[&p.table]).inc_by(p.rows);
            t.sent(
                crate::telemetry::component::SINK_PARQUET,
                if p.table == "dead_letter" { 0 } else { p.rows },
            );
        }
        if let Some(c) = &self.committer
            && let Err(e) = c.commit(&offsets)
        {
            // The checkpoint is the truth; a failed group commit only delays lag reporting.
            tracing::warn!("committing offsets to the consumer group: {e}");
            t.error(crate::telemetry::component::SOURCE, "offset_commit");
        }
        t.checkpoints.inc();
        t.checkpoint_duration.observe(started.elapsed().as_secs_f64());
        self.last = Some((Instant::now(), started.elapsed()));
        t.last_checkpoint.set(created_at_ms / 1000);
        self.checkpoints += 1;
        self.offsets = Some(offsets);
        Ok(())
    }

    /// Fails if another instance claimed one of `partitions` under a newer generation: this one
    /// missed its session (a long stall) and the group moved them; committing now would write
    /// their records a second time.
    fn fence(&self, partitions: &std::collections::BTreeMap<i32, u64>) -> Result<()> {
        for (&p, &g) in partitions {
            if let Some((newer, by)) = handover::fenced_by(&self.store.out, p, g)? {
                return Err(Error::Runtime(format!(
                    "partition {p} was taken over by instance {by} (generation {newer}, this instance holds {g}): it left the consumer group (a stall longer than the session timeout?); stopping without committing, a restart rejoins the group and resumes from the last checkpoint"
                )));
            }
        }
        Ok(())
    }
}

/// Retries a step of a checkpoint that failed on I/O, with backoff (0.5 s doubling to 10 s),
/// until it passes or an immediate stop is requested; other errors end the run. Each failure is
/// logged, counted (`ticketpulse_component_errors_total{component="checkpoint"}`) and fails the
/// `checkpoint` health check until the checkpoint commits.
struct Retry<'a> {
    telemetry: &'a Telemetry,
    stop: &'a StopSignal,
    failures: u32,
}

impl<'a> Retry<'a> {
    const FIRST: Duration = Duration::from_millis(500);
    const MAX: Duration = Duration::from_secs(10);

    fn new(telemetry: &'a Telemetry, stop: &'a StopSignal) -> Self {
        Retry { telemetry, stop, failures: 0 }
    }

    fn run<T>(&mut self, mut step: impl FnMut() -> Result<T>) -> Result<T> {
        loop {
            let e = match step() {
                Ok(v) => return Ok(v),
                Err(e @ Error::Io { .. }) if !self.stop.is_immediate() => e,
                Err(e) => return Err(e),
            };
            let wait = Self::FIRST.saturating_mul(1 << self.failures.min(5)).min(Self::MAX);
            self.failures += 1;
            self.telemetry.error(crate::telemetry::component::CHECKPOINT, "write");
            tracing::error!(
                "checkpoint failed ({} times): {e}; consumption is paused and nothing is committed past the last checkpoint; retrying in {wait:?}",
                self.failures
            );
            self.telemetry.health.fail(
                crate::health::check::CHECKPOINT,
                format!("{e}; consumption paused, retrying every {}s", wait.as_secs_f32()),
            );
            let until = Instant::now() + wait;
            while Instant::now() < until && !self.stop.is_immediate() {
                std::thread::sleep(Duration::from_millis(50));
            }
        }
    }

    /// The checkpoint committed.
    fn passed(&self) {
        if self.failures > 0 {
            self.telemetry.health.pass(crate::health::check::CHECKPOINT);
        }
    }
}
