//! A Kafka topic as an output: records are queued as they come and delivered before each
//! checkpoint commits ([`TopicSink::flush`]), so a checkpoint never commits over a lost record
//! (at least once: after a crash, the records since the last checkpoint are produced again with
//! the same content, which carries its own identity for consumers to drop repeats).
//! Delivery failures are counted by the producer's context and turn the next flush into an error.
//!
//! While the broker is away, the flush waits (librdkafka reconnects with backoff and retries
//! the records until `message.timeout.ms`, 5 minutes by default, which `-X` can raise) and the
//! `kafka_delivery` health check fails; the checkpoint, and with it consumption, waits too. A
//! record that times out is a delivery failure: the run stops with an error and a restart
//! produces it again from the last checkpoint.

use crate::health::{Health, check};
use crate::kafka::{DeliveryCounter, send_waiting};
use crate::{Error, Result};
use rdkafka::error::KafkaError;
use rdkafka::message::OwnedHeaders;
use rdkafka::producer::{BaseRecord, Producer, ThreadedProducer};
use rdkafka::types::RDKafkaErrorCode;
use std::time::{Duration, Instant};

/// Produces records to one topic.
pub struct TopicSink {
    producer: ThreadedProducer<DeliveryCounter>,
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
        let producer: ThreadedProducer<DeliveryCounter> = config
            .create_with_context(DeliveryCounter::default())
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

    /// Waits until every queued record is delivered; an error if any delivery failed.
    pub fn flush(&mut self) -> Result<()> {
        let started = Instant::now();
        loop {
            match self.producer.flush(Duration::from_secs(5)) {
                Ok(()) => break,
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
        self.health.pass(check::KAFKA_DELIVERY);
        let failed = self.producer.context().take_failed();
        if failed > 0 {
            return Err(Error::Runtime(format!(
                "{failed} {} could not be delivered to {}",
                self.what, self.topic
            )));
        }
        Ok(())
    }
}
