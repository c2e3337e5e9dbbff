//! A Kafka topic as an output: records are queued as they come and delivered before each
//! checkpoint commits ([`TopicSink::flush`]), so a checkpoint never commits over a lost record
//! (at least once: after a crash, the records since the last checkpoint are produced again with
//! the same content, which carries its own identity for consumers to drop repeats).
//!
//! While the broker is away, the flush waits: librdkafka reconnects with backoff and retries the
//! records until `message.timeout.ms` (5 minutes by default; `-X` sets it); the
//! `kafka_delivery` health check fails meanwhile, and the checkpoint, with it consumption, waits
//! too. Records librdkafka gives up on (timed out, or refused by a broker going down) are kept
//! by the producer's context and sent again, with backoff, for [`REDELIVERY_ROUNDS`] rounds; then
//! the run stops with an error, and a restart produces them again from the last checkpoint.

use crate::health::{Health, check};
use crate::kafka::{DeliveryTracker, send_waiting};
use crate::{Error, Result};
use rdkafka::error::KafkaError;
use rdkafka::message::OwnedHeaders;
use rdkafka::producer::{BaseRecord, Producer, ThreadedProducer};
use rdkafka::types::RDKafkaErrorCode;
use std::time::{Duration, Instant};

/// How many times records whose delivery failed (for a reason that may pass) are sent again (after 1, 2, 4, ... 32 s of
/// backoff, about two minutes in all, plus each round's own wait of up to
/// `message.timeout.ms`) before the run stops. A resent record may arrive after later ones, or
/// twice: output topics are at least once, each record carrying its own identity.
pub const REDELIVERY_ROUNDS: u32 = 8;

/// Whether a delivery error cannot pass by sending again: the record or the request is refused
/// for what it is, or the client may not write.
fn permanent(e: &KafkaError) -> bool {
    use RDKafkaErrorCode as C;
    matches!(
        e.rdkafka_error_code(),
        Some(
            C::MessageSizeTooLarge
                | C::InvalidRecord
                | C::InvalidRequiredAcks
                | C::PolicyViolation
                | C::TopicAuthorizationFailed
                | C::ClusterAuthorizationFailed
        )
    )
}

/// Produces records to one topic.
pub struct TopicSink {
    producer: ThreadedProducer<DeliveryTracker>,
    topic: String,
    /// What the records are, for messages (`dead letters`, `signals`).
    what: &'static str,
    health: Health,
}

impl std::fmt::Debug for TopicSink {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "TopicSink({} -> {})", self.what, self.topic)
    }
}

impl TopicSink {
    /// A producer for `topic` (created with one partition if missing) with the given client settings.
    pub fn new(
        config: &rdkafka::ClientConfig,
        topic: &str,
        what: &'static str,
        health: Health,
    ) -> Result<Self> {
        crate::kafka::ensure_topic(config, topic, 1, Duration::from_secs(30))?;
        let producer: ThreadedProducer<DeliveryTracker> = config
            .create_with_context(DeliveryTracker::default())
            .map_err(|e| Error::kafka(format!("creating the {what} producer"), e))?;
        Ok(TopicSink { producer, topic: topic.to_string(), what, health })
    }

    /// The topic written to.
    pub fn topic(&self) -> &str {
        &self.topic
    }

    /// Queues one record (waiting while the local queue is full).
    pub fn send(&mut self, key: Option<&[u8]>, payload: &[u8], headers: Option<OwnedHeaders>) -> Result<()> {
        let mut record: BaseRecord<'_, [u8], [u8]> = BaseRecord::to(&self.topic).payload(payload);
        if let Some(k) = key {
            record = record.key(k);
        }
        if let Some(h) = headers {
            record = record.headers(h);
        }
        send_waiting(&self.producer, record).map_err(|e| Error::kafka(format!("queueing {}", self.what), e))
    }

    /// Waits until every queued record is delivered, sending failed ones again (with backoff,
    /// [`REDELIVERY_ROUNDS`] times); an error if some still fail, or at once if the broker
    /// refuses them for good (too large, not authorised).
    pub fn flush(&mut self) -> Result<()> {
        let started = Instant::now();
        let mut round = 0;
        loop {
            self.wait_queued(started)?;
            let failed = self.producer.context().take_failed();
            let Some(first) = failed.first() else { break };
            round += 1;
            let message = format!(
                "{} {} failed delivery to {} ({}; round {round} of {REDELIVERY_ROUNDS})",
                failed.len(),
                self.what,
                self.topic,
                first.error
            );
            if round > REDELIVERY_ROUNDS || permanent(&first.error) {
                return Err(Error::Runtime(message));
            }
            let wait = Duration::from_secs(1 << (round - 1).min(5));
            self.health.fail(check::KAFKA_DELIVERY, format!("{message}; sending them again in {wait:?}"));
            tracing::warn!("{message}; sending them again in {wait:?}");
            std::thread::sleep(wait);
            for r in failed {
                self.send(r.key.as_deref(), &r.payload, r.headers)?;
            }
        }
        self.health.pass(check::KAFKA_DELIVERY);
        Ok(())
    }

    /// Waits until the producer's queue is empty (delivered or failed), reporting the wait.
    fn wait_queued(&self, started: Instant) -> Result<()> {
        loop {
            match self.producer.flush(Duration::from_secs(5)) {
                Ok(()) => return Ok(()),
                Err(KafkaError::Flush(RDKafkaErrorCode::OperationTimedOut)) => self.health.fail(
                    check::KAFKA_DELIVERY,
                    format!(
                        "{} {} waiting {} s for delivery to {}; retrying",
                        self.producer.in_flight_count(),
                        self.what,
                        started.elapsed().as_secs(),
                        self.topic
                    ),
                ),
                Err(e) => return Err(Error::kafka(format!("flushing {}", self.what), e)),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn refusals_for_good_are_not_sent_again_but_outages_are() {
        let failed = |c| KafkaError::MessageProduction(c);
        assert!(permanent(&failed(RDKafkaErrorCode::MessageSizeTooLarge)));
        assert!(permanent(&failed(RDKafkaErrorCode::TopicAuthorizationFailed)));
        assert!(!permanent(&failed(RDKafkaErrorCode::MessageTimedOut)));
        assert!(!permanent(&failed(RDKafkaErrorCode::Unknown)), "what tansu answers as it stops");
        assert!(!permanent(&failed(RDKafkaErrorCode::NotLeaderForPartition)));
    }
}
