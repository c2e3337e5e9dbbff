//! The source consumer's librdkafka context: log forwarding, broker connectivity (the
//! `kafka_brokers` health check), consumer lag from librdkafka's
//! statistics (high watermark minus the position handed to us, from fetch responses; no extra
//! requests), and the rebalance callback. With a [`PartitionHandover`] (the runtime's), it
//! claims each assigned partition and starts it where the partition's newest checkpoint says,
//! and waits for a checkpoint before letting revoked partitions go. Without one, it starts every
//! assigned partition at the pipeline's own position — the checkpoint's offsets at start, then
//! what has been read — rather than at the group's committed offsets, which may lag behind (or,
//! restored from elsewhere, run ahead).

use crate::health::check;
use crate::kafka::LogContext;
use crate::source::PartitionHandover;
use crate::telemetry::Telemetry;
use rdkafka::consumer::{BaseConsumer, Consumer, ConsumerContext, RebalanceProtocol};
use rdkafka::statistics::Statistics;
use rdkafka::types::{RDKafkaErrorCode, RDKafkaRespErr};
use rdkafka::{ClientContext, Offset, TopicPartitionList};
use std::collections::BTreeMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};

/// Context of the source's consumer.
pub struct SourceClientContext {
    telemetry: Telemetry,
    topic: String,
    /// Next offset to read per partition, as far as the pipeline knows (published by the reader).
    positions: Mutex<BTreeMap<i32, i64>>,
    /// Set by the rebalance callback; the reader reports the new assignment and clears it.
    pub(crate) assignment_changed: AtomicBool,
    /// Client errors repeat for every request while a broker is away: logged once per 30 s.
    pub(crate) errors: crate::kafka::LogThrottle,
    handover: Option<Arc<dyn PartitionHandover>>,
    /// Where each partition claimed since the reader last looked starts (`None`: the beginning).
    starts: Mutex<BTreeMap<i32, Option<i64>>>,
    /// A claim that failed: the reader ends the run with it.
    failure: Mutex<Option<crate::Error>>,
}

impl SourceClientContext {
    pub(crate) fn new(
        telemetry: Telemetry,
        topic: String,
        handover: Option<Arc<dyn PartitionHandover>>,
    ) -> Self {
        SourceClientContext {
            telemetry,
            topic,
            positions: Mutex::new(BTreeMap::new()),
            assignment_changed: AtomicBool::new(false),
            errors: crate::kafka::LogThrottle::new(std::time::Duration::from_secs(30)),
            handover,
            starts: Mutex::new(BTreeMap::new()),
            failure: Mutex::new(None),
        }
    }

    /// Where the partitions claimed since the last call start.
    pub(crate) fn take_starts(&self) -> BTreeMap<i32, Option<i64>> {
        self.starts.lock().map(|mut s| std::mem::take(&mut *s)).unwrap_or_default()
    }

    /// A failed claim, if any.
    pub(crate) fn take_failure(&self) -> Option<crate::Error> {
        self.failure.lock().ok().and_then(|mut f| f.take())
    }

    /// Claims the assigned partitions and sets where each starts; false if the claim failed.
    fn claim(&self, handover: &dyn PartitionHandover, tpl: &mut TopicPartitionList) -> bool {
        let parts: Vec<i32> = tpl.elements_for_topic(&self.topic).iter().map(|e| e.partition()).collect();
        let starts = match handover.assign(&parts) {
            Ok(s) => s,
            Err(e) => {
                tracing::error!("claiming partitions {parts:?}: {e}");
                if let Ok(mut f) = self.failure.lock() {
                    *f = Some(e);
                }
                return false;
            }
        };
        for (&p, start) in &starts {
            let offset = start.map_or(Offset::Beginning, Offset::Offset);
            if let Err(e) = tpl.set_partition_offset(&self.topic, p, offset) {
                tracing::warn!("cannot start partition {p} at {offset:?}: {e}");
            }
        }
        if let Ok(mut s) = self.starts.lock() {
            s.extend(starts);
        }
        true
    }

    /// Records the pipeline's read positions (the reader calls it per batch).
    pub(crate) fn publish_positions(&self, next: &BTreeMap<i32, i64>) {
        if let Ok(mut p) = self.positions.lock() {
            p.extend(next.iter().map(|(k, v)| (*k, *v)));
        }
    }

    /// Sets the start offset of every assigned partition of our topic that has a known position.
    fn start_at_positions(&self, tpl: &mut TopicPartitionList) {
        let Ok(positions) = self.positions.lock() else { return };
        let parts: Vec<i32> = tpl.elements_for_topic(&self.topic).iter().map(|e| e.partition()).collect();
        for p in parts {
            if let Some(&next) = positions.get(&p)
                && let Err(e) = tpl.set_partition_offset(&self.topic, p, Offset::Offset(next))
            {
                tracing::warn!("cannot start partition {p} at offset {next}: {e}");
            }
        }
    }
}

impl SourceClientContext {
    /// Brokers up, and the `kafka_brokers` health check, from the client's statistics.
    fn broker_health(&self, statistics: &Statistics) {
        // the real brokers: not librdkafka's internal and logical (coordinator) handles
        let brokers: Vec<_> = statistics
            .brokers
            .values()
            .filter(|b| matches!(b.source.as_str(), "learned" | "configured"))
            .collect();
        let up = brokers.iter().filter(|b| b.nodeid >= 0 && b.state == "UP").count();
        self.telemetry.kafka_brokers_up.set(up as i64);
        if brokers.iter().any(|b| b.state == "UP") {
            self.telemetry.health.pass(check::KAFKA_BROKERS);
        } else {
            let states: Vec<String> = brokers.iter().map(|b| format!("{} {}", b.nodename, b.state)).collect();
            self.telemetry.health.fail(
                check::KAFKA_BROKERS,
                format!("no Kafka broker reachable ({}); retrying", states.join(", ")),
            );
        }
    }
}

impl ClientContext for SourceClientContext {
    fn log(&self, level: rdkafka::config::RDKafkaLogLevel, fac: &str, log_message: &str) {
        LogContext.log(level, fac, log_message);
    }
    fn error(&self, error: rdkafka::error::KafkaError, reason: &str) {
        // the statistics report it within a second too; this is sooner
        if error.rdkafka_error_code() == Some(RDKafkaErrorCode::AllBrokersDown) {
            self.telemetry.kafka_brokers_up.set(0);
            self.telemetry.health.fail(check::KAFKA_BROKERS, format!("no Kafka broker reachable: {reason}"));
        }
        if let Some(held) = self.errors.admit(&error.to_string()) {
            LogContext.error(error, &format!("{reason} ({held} repeats not logged)"));
        }
    }
    fn stats(&self, statistics: Statistics) {
        self.broker_health(&statistics);
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

impl ConsumerContext for SourceClientContext {
    fn rebalance(&self, consumer: &BaseConsumer<Self>, err: RDKafkaRespErr, tpl: &mut TopicPartitionList) {
        let cooperative = matches!(consumer.rebalance_protocol(), RebalanceProtocol::Cooperative);
        let result = match err {
            RDKafkaRespErr::RD_KAFKA_RESP_ERR__ASSIGN_PARTITIONS => {
                let claimed = match &self.handover {
                    Some(h) => self.claim(h.as_ref(), tpl),
                    None => {
                        self.start_at_positions(tpl);
                        true
                    }
                };
                match (claimed, cooperative) {
                    (true, true) => consumer.incremental_assign(tpl),
                    (true, false) => consumer.assign(tpl),
                    // nothing is read; the reader ends the run with the failure
                    (false, true) => Ok(()),
                    (false, false) => consumer.assign(&TopicPartitionList::new()),
                }
            }
            RDKafkaRespErr::RD_KAFKA_RESP_ERR__REVOKE_PARTITIONS => {
                if let Some(h) = &self.handover {
                    let parts: Vec<i32> =
                        tpl.elements_for_topic(&self.topic).iter().map(|e| e.partition()).collect();
                    tracing::info!("partitions {parts:?} revoked: checkpointing them before they go");
                    h.revoke(&self.topic, &parts);
                }
                // another member may own them next; if they come back, start from the group's offsets
                if let Ok(mut positions) = self.positions.lock() {
                    for e in tpl.elements_for_topic(&self.topic) {
                        positions.remove(&e.partition());
                    }
                }
                if cooperative { consumer.incremental_unassign(tpl) } else { consumer.unassign() }
            }
            other => {
                tracing::error!("rebalance failed: {other:?}");
                consumer.unassign()
            }
        };
        if let Err(e) = result {
            tracing::error!("applying a rebalance: {e}");
            self.telemetry.error(crate::telemetry::component::SOURCE, "kafka");
        }
        self.assignment_changed.store(true, Ordering::SeqCst);
    }
}
