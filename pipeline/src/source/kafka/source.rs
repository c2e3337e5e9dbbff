//! The consumer loop: poll, decode, batch; barriers on the checkpoint interval; heartbeats and
//! `--stop-when-idle` while nothing arrives; consumer lag from the client's cached high
//! watermarks.

use super::KafkaSourceConfig;
use crate::kafka::LogContext;
use crate::source::{
    MAX_BATCH, OffsetCommitter, Position, Record, SourceContext, SourceMessage, SourceOffsets, send,
};
use crate::telemetry::Telemetry;
use crate::telemetry::component;
use crate::{Error, Result};
use rdkafka::ClientContext;
use rdkafka::consumer::ConsumerContext;
use rdkafka::consumer::{BaseConsumer, CommitMode, Consumer};
use rdkafka::message::Message;
use rdkafka::statistics::Statistics;
use rdkafka::{Offset, TopicPartitionList};
use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

/// The source consumer's context: logs like [`LogContext`] and turns librdkafka's periodic
/// statistics into `ticketpulse_consumer_lag` (high watermark minus the position handed to us,
/// from fetch responses; no extra requests to the broker).
pub struct SourceClientContext {
    pub(crate) telemetry: Telemetry,
    pub(crate) topic: String,
}

impl ClientContext for SourceClientContext {
    fn log(&self, level: rdkafka::config::RDKafkaLogLevel, fac: &str, log_message: &str) {
        LogContext.log(level, fac, log_message);
    }
    fn error(&self, error: rdkafka::error::KafkaError, reason: &str) {
        LogContext.error(error, reason);
    }
    fn stats(&self, statistics: Statistics) {
        let Some(topic) = statistics.topics.get(&self.topic) else { return };
        for (p, s) in &topic.partitions {
            if *p >= 0 && s.hi_offset >= 0 && s.app_offset >= 0 {
                self.telemetry
                    .consumer_lag
                    .with_label_values(&[&p.to_string()])
                    .set((s.hi_offset - s.app_offset).max(0));
            }
        }
    }
}

impl ConsumerContext for SourceClientContext {}

/// Commits checkpointed offsets to the consumer group.
pub struct KafkaCommitter {
    consumer: Arc<BaseConsumer<SourceClientContext>>,
    topic: String,
}

impl KafkaCommitter {
    pub(crate) fn new(consumer: Arc<BaseConsumer<SourceClientContext>>, topic: String) -> Self {
        KafkaCommitter { consumer, topic }
    }
}

impl OffsetCommitter for KafkaCommitter {
    fn commit(&self, offsets: &SourceOffsets) -> Result<()> {
        let SourceOffsets::Kafka { next, .. } = offsets else { return Ok(()) };
        if next.is_empty() {
            return Ok(());
        }
        let mut tpl = TopicPartitionList::new();
        for (&p, &o) in next {
            tpl.add_partition_offset(&self.topic, p, Offset::Offset(o))
                .map_err(|e| Error::kafka("building the commit list", e))?;
        }
        self.consumer.commit(&tpl, CommitMode::Sync).map_err(|e| Error::kafka("committing offsets", e))
    }
}

/// Loop state of one consumer.
struct Reader<'a> {
    cfg: &'a KafkaSourceConfig,
    consumer: &'a BaseConsumer<SourceClientContext>,
    cx: &'a SourceContext,
    /// Offsets of the checkpoint resumed from: records below them were already processed.
    resume: BTreeMap<i32, i64>,
    next: BTreeMap<i32, i64>,
    batch: Vec<Record>,
}

pub(super) fn run(
    cfg: &KafkaSourceConfig,
    consumer: &BaseConsumer<SourceClientContext>,
    cx: SourceContext,
) -> Result<()> {
    let resume = match &cx.resume {
        None => BTreeMap::new(),
        Some(SourceOffsets::Kafka { topic, next }) if *topic == cfg.topic => next.clone(),
        Some(other) => {
            return Err(Error::config(
                "source.kafka.topic",
                format!(
                    "the output directory holds a checkpoint of another input ({other:?}); use a new --out"
                ),
            ));
        }
    };
    let mut r =
        Reader { cfg, consumer, cx: &cx, next: resume.clone(), resume, batch: Vec::with_capacity(MAX_BATCH) };
    r.run()
}

impl Reader<'_> {
    fn offsets(&self) -> SourceOffsets {
        SourceOffsets::Kafka { topic: self.cfg.topic.clone(), next: self.next.clone() }
    }

    fn run(&mut self) -> Result<()> {
        let heartbeat_every = Duration::from_millis(200);
        let mut last_barrier = Instant::now();
        let mut last_record = Instant::now();
        let mut last_heartbeat = Instant::now();
        let mut last_assignment_check = Instant::now();
        let mut assigned: Vec<i32> = Vec::new();
        loop {
            if last_assignment_check.elapsed() >= Duration::from_millis(100) {
                last_assignment_check = Instant::now();
                let now: Vec<i32> = self.assignment();
                if now != assigned {
                    assigned = now;
                    if !self.flush() || !send(self.cx, SourceMessage::Assigned(assigned.clone())) {
                        return Ok(());
                    }
                }
            }
            if self.cx.stop.is_stopping() {
                if self.flush() {
                    send(self.cx, SourceMessage::End { offsets: self.offsets(), drain: false });
                }
                return Ok(());
            }
            let timeout = if self.batch.is_empty() { Duration::from_millis(100) } else { Duration::ZERO };
            match self.consumer.poll(timeout) {
                Some(Ok(m)) => {
                    last_record = Instant::now();
                    self.accept(m.partition(), m.offset(), m.payload().unwrap_or_default());
                    if self.batch.len() >= MAX_BATCH && !self.flush() {
                        return Ok(());
                    }
                }
                Some(Err(e)) => {
                    tracing::warn!("kafka consumer: {e}");
                    self.cx.telemetry.error(component::SOURCE, "kafka");
                }
                None => {
                    if !self.flush() {
                        return Ok(());
                    }
                    if assigned.is_empty() {
                        last_record = Instant::now(); // idle time counts once partitions are assigned
                    }
                    if let Some(idle) = self.cfg.stop_when_idle
                        && last_record.elapsed() >= idle
                    {
                        send(self.cx, SourceMessage::End { offsets: self.offsets(), drain: true });
                        return Ok(());
                    }
                    if last_heartbeat.elapsed() >= heartbeat_every {
                        last_heartbeat = Instant::now();
                        if !send(self.cx, SourceMessage::Heartbeat) {
                            return Ok(());
                        }
                    }
                }
            }
            if last_barrier.elapsed() >= self.cx.checkpoint_interval {
                last_barrier = Instant::now();
                if !self.flush() || !send(self.cx, SourceMessage::Barrier(self.offsets())) {
                    return Ok(());
                }
            }
        }
    }

    /// Partitions of our topic currently assigned, sorted.
    fn assignment(&self) -> Vec<i32> {
        let Ok(tpl) = self.consumer.assignment() else { return Vec::new() };
        let mut parts: Vec<i32> =
            tpl.elements().iter().filter(|e| e.topic() == self.cfg.topic).map(|e| e.partition()).collect();
        parts.sort_unstable();
        parts
    }

    fn accept(&mut self, partition: i32, offset: i64, payload: &[u8]) {
        self.cx.telemetry.received(component::SOURCE, 1);
        if self.resume.get(&partition).is_some_and(|&n| offset < n) {
            return; // already covered by the checkpoint we resumed from
        }
        self.next.insert(partition, offset + 1);
        self.batch.push(Record::decode(Position::Kafka { partition, offset }, payload));
    }

    /// Sends the batch if not empty; false when the runtime has gone away.
    fn flush(&mut self) -> bool {
        if self.batch.is_empty() {
            return true;
        }
        self.cx.telemetry.sent(component::SOURCE, self.batch.len() as u64);
        send(self.cx, SourceMessage::Batch(std::mem::replace(&mut self.batch, Vec::with_capacity(MAX_BATCH))))
    }
}
