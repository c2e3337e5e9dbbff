//! The consumer loop: poll, decode, batch; barriers on the checkpoint interval; heartbeats and
//! `--stop-when-idle` while nothing arrives; consumer lag from the client's cached high
//! watermarks.

use super::KafkaSourceConfig;
use super::context::SourceClientContext;
use crate::source::{
    MAX_BATCH, OffsetCommitter, Position, Record, SourceContext, SourceMessage, SourceOffsets,
};
use crate::telemetry::component;
use crate::{Error, Result};
use rdkafka::consumer::{BaseConsumer, CommitMode, Consumer};
use rdkafka::message::Message;
use rdkafka::{Offset, TopicPartitionList};
use std::collections::BTreeMap;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

/// How long a member may wait for its first partitions before a warning says so.
const UNASSIGNED_WARNING: Duration = Duration::from_secs(30);

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
        // only partitions this member owns: the broker would accept others and move them back
        let owned = self.consumer.assignment().map_err(|e| Error::kafka("reading the assignment", e))?;
        let owned: Vec<i32> = owned.elements_for_topic(&self.topic).iter().map(|e| e.partition()).collect();
        let mut tpl = TopicPartitionList::new();
        for (&p, &o) in next.iter().filter(|(p, _)| owned.contains(p)) {
            tpl.add_partition_offset(&self.topic, p, Offset::Offset(o))
                .map_err(|e| Error::kafka("building the commit list", e))?;
        }
        if tpl.count() == 0 {
            return Ok(());
        }
        self.consumer.commit(&tpl, CommitMode::Sync).map_err(|e| Error::kafka("committing offsets", e))
    }
}

/// Loop state of one consumer.
struct Reader<'a> {
    cfg: &'a KafkaSourceConfig,
    consumer: &'a BaseConsumer<SourceClientContext>,
    cx: &'a SourceContext,
    /// Next offset to read per partition: records below it were already processed (in this
    /// run, or before the checkpoint resumed from); it only moves forward.
    next: BTreeMap<i32, i64>,
    batch: Vec<Record>,
    /// Records polled while a rebalance was waiting to be reported: they go after it.
    held: Vec<(i32, i64, Vec<u8>)>,
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
    consumer.context().publish_positions(&resume);
    let mut r = Reader {
        cfg,
        consumer,
        cx: &cx,
        next: resume,
        batch: Vec::with_capacity(MAX_BATCH),
        held: Vec::new(),
    };
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
        let mut assigned: Vec<i32> = Vec::new();
        // since when no partition is assigned, and when that was last logged
        let mut unassigned: (Option<Instant>, Option<Instant>) = (Some(Instant::now()), None);
        loop {
            self.warn_unassigned(&assigned, &mut unassigned);
            if !self.report_assignment(&mut assigned)? {
                return Ok(());
            }
            if self.cx.stop.is_stopping() {
                if self.flush() {
                    let offsets = self.offsets();
                    self.send(SourceMessage::End { offsets, drain: false });
                }
                return Ok(());
            }
            let timeout = if self.batch.is_empty() { Duration::from_millis(100) } else { Duration::ZERO };
            match self.consumer.poll(timeout) {
                Some(Ok(m)) => {
                    last_record = Instant::now();
                    // a rebalance served inside this poll is reported before its records
                    if !self.report_assignment(&mut assigned)? {
                        return Ok(());
                    }
                    self.accept(m.partition(), m.offset(), m.payload().unwrap_or_default());
                    if self.batch.len() >= MAX_BATCH && !self.flush() {
                        return Ok(());
                    }
                }
                Some(Err(e)) => {
                    self.log_error(&e);
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
                        // idle means caught up: a slow broker or a busy machine can leave a gap
                        // between fetches longer than the wait with records still unread
                        if self.caught_up(&assigned) {
                            let offsets = self.offsets();
                            self.send(SourceMessage::End { offsets, drain: true });
                            return Ok(());
                        }
                        last_record = Instant::now();
                    }
                    if last_heartbeat.elapsed() >= heartbeat_every {
                        last_heartbeat = Instant::now();
                        if !self.send(SourceMessage::Heartbeat) {
                            return Ok(());
                        }
                    }
                }
            }
            // a rebalance served inside the poll goes before the barrier, with its claims
            if !self.report_assignment(&mut assigned)? {
                return Ok(());
            }
            if last_barrier.elapsed() >= self.cx.checkpoint_interval {
                last_barrier = Instant::now();
                if !self.flush() || !self.send(SourceMessage::Barrier(self.offsets())) {
                    return Ok(());
                }
            }
        }
    }

    /// After a rebalance, sends the new assignment (flushing the batch first, so that the
    /// runtime sees it before any record of it); false when the runtime has gone away, an error
    /// when claiming the partitions failed. Claimed partitions are read from where their claim
    /// says; revoked ones are forgotten.
    fn report_assignment(&mut self, assigned: &mut Vec<i32>) -> Result<bool> {
        let context = self.consumer.context();
        loop {
            if let Some(e) = context.take_failure() {
                return Err(e);
            }
            if !context.assignment_changed.swap(false, Ordering::SeqCst) {
                break;
            }
            if !self.flush() {
                return Ok(false);
            }
            let starts = context.take_starts();
            let now = self.assignment();
            if now == *assigned && starts.is_empty() {
                continue;
            }
            tracing::info!("assigned partitions {now:?} of {} (had {assigned:?})", self.cfg.topic);
            self.cx.telemetry.assigned_partitions.set(now.len() as i64);
            if self.cx.handover.is_some() {
                self.next.retain(|p, _| now.contains(p));
            }
            for (p, start) in starts {
                match start {
                    Some(offset) => self.next.insert(p, offset),
                    None => self.next.remove(&p),
                };
            }
            *assigned = now;
            if !self.send(SourceMessage::Assigned(assigned.clone())) {
                return Ok(false);
            }
        }
        for (partition, offset, payload) in std::mem::take(&mut self.held) {
            self.accept(partition, offset, &payload);
        }
        Ok(true)
    }

    /// Warns while no partition is assigned: after [`UNASSIGNED_WARNING`], then every 5 minutes.
    /// Not a fault by itself (a group can have more members than partitions), but a run that
    /// waits silently looks like a hang.
    fn warn_unassigned(&self, assigned: &[i32], (since, logged): &mut (Option<Instant>, Option<Instant>)) {
        if !assigned.is_empty() {
            *since = None;
            *logged = None;
            return;
        }
        let since = *since.get_or_insert_with(Instant::now);
        let due = match logged {
            None => since.elapsed() >= UNASSIGNED_WARNING,
            Some(at) => at.elapsed() >= Duration::from_secs(300),
        };
        if due {
            *logged = Some(Instant::now());
            tracing::warn!(
                "no partition of {} assigned for {} s in group {}: the group may have more members than the topic has partitions, or the broker has not completed the rebalance",
                self.cfg.topic,
                since.elapsed().as_secs(),
                self.cfg.group
            );
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

    /// Whether every assigned partition has been read up to its high watermark, as the broker
    /// reports it now; false when that cannot be told (the broker unreachable, say).
    fn caught_up(&self, assigned: &[i32]) -> bool {
        let timeout = Duration::from_secs(5);
        let position = self.consumer.position().ok();
        let committed = self.consumer.committed(timeout).ok();
        let known = |tpl: &Option<TopicPartitionList>, p: i32| {
            tpl.as_ref()?
                .find_partition(&self.cfg.topic, p)
                .and_then(|e| e.offset().to_raw())
                .filter(|&o| o >= 0)
        };
        assigned.iter().all(|&p| {
            let (low, high) = match self.consumer.fetch_watermarks(&self.cfg.topic, p, timeout) {
                Ok(w) => w,
                Err(e) => {
                    tracing::warn!("kafka consumer: reading the high watermark of partition {p}: {e}");
                    return false;
                }
            };
            let read = [self.next.get(&p).copied(), known(&position, p), known(&committed, p)]
                .into_iter()
                .flatten()
                .max();
            let caught_up = high <= low || read.is_some_and(|r| r >= high);
            if !caught_up {
                tracing::info!(
                    "kafka consumer: idle, but partition {p} is at {read:?} of {high}: waiting on"
                );
            }
            caught_up
        })
    }

    fn accept(&mut self, partition: i32, offset: i64, payload: &[u8]) {
        self.cx.telemetry.received(component::SOURCE, 1);
        if self.next.get(&partition).is_some_and(|&n| offset < n) {
            return; // already processed (redelivered after a rebalance, or before the checkpoint)
        }
        self.next.insert(partition, offset + 1);
        self.batch.push(Record::decode(
            Position::Kafka { partition, offset },
            payload,
            payload.len(),
            self.cx.max_record_bytes,
        ));
    }

    /// Sends the batch if not empty; false when the runtime has gone away.
    fn flush(&mut self) -> bool {
        if self.batch.is_empty() {
            return true;
        }
        self.cx.telemetry.sent(component::SOURCE, self.batch.len() as u64);
        if self.cx.handover.is_none() {
            // without claims, a rebalance starts partitions at these positions
            self.consumer.context().publish_positions(&self.next);
        }
        let batch = std::mem::replace(&mut self.batch, Vec::with_capacity(MAX_BATCH));
        self.send(SourceMessage::Batch(batch))
    }

    /// Sends `msg` to the runtime; false when it has gone away. While the runtime's queue is full
    /// (a checkpoint waiting for the disk or the broker), the consumer goes on being polled with
    /// its partitions paused: librdkafka's callbacks (statistics and with them the broker health
    /// check, errors, rebalances) keep being served and the member stays in its group (past
    /// `max.poll.interval.ms`), while nothing more is fetched, so memory stays flat.
    fn send(&mut self, msg: SourceMessage) -> bool {
        use tokio::sync::mpsc::error::TrySendError;
        let mut msg = msg;
        let mut paused = false;
        let sent = loop {
            match self.cx.tx.try_send(msg) {
                Ok(()) => break true,
                Err(TrySendError::Closed(_)) => break false,
                Err(TrySendError::Full(m)) => msg = m,
            }
            if !paused {
                paused = true;
                self.pause(true);
            }
            if self.consumer.context().assignment_changed.load(Ordering::SeqCst) {
                // a rebalance to report first: records of it must wait for that
                std::thread::sleep(Duration::from_millis(50));
                continue;
            }
            match self.consumer.poll(Duration::from_millis(100)) {
                // a rebalance served inside this poll: the record waits until it is reported
                Some(Ok(m)) if self.consumer.context().assignment_changed.load(Ordering::SeqCst) => {
                    self.held.push((m.partition(), m.offset(), m.payload().unwrap_or_default().to_vec()))
                }
                // fetched before the pause took effect: it goes into the next batch
                Some(Ok(m)) => self.accept(m.partition(), m.offset(), m.payload().unwrap_or_default()),
                Some(Err(e)) => self.log_error(&e),
                None => {}
            }
        };
        if paused {
            self.pause(false);
        }
        sent
    }

    /// Logs a consumer error, once per 30 s per message.
    fn log_error(&self, e: &rdkafka::error::KafkaError) {
        if let Some(held) = self.consumer.context().errors.admit(&e.to_string()) {
            tracing::warn!("kafka consumer: {e} ({held} repeats not logged)");
        }
    }

    /// Pauses (or resumes) fetching every assigned partition.
    fn pause(&self, pause: bool) {
        let result = self
            .consumer
            .assignment()
            .and_then(|tpl| if pause { self.consumer.pause(&tpl) } else { self.consumer.resume(&tpl) });
        if let Err(e) = result {
            tracing::warn!(
                "kafka consumer: {} the assignment: {e}",
                if pause { "pausing" } else { "resuming" }
            );
        }
    }
}
