//! Dead letters to a Kafka topic: value = the raw record, headers = reason, detail and source
//! position. Delivery failures are counted by the producer's context and turn the next
//! [`KafkaDeadLetter::flush`] into an error, so a checkpoint never commits over a lost letter.

use super::DeadLetter;
use crate::kafka::{DeliveryCounter, send_waiting};
use crate::source::Position;
use crate::{Error, Result};
use rdkafka::message::{Header, OwnedHeaders};
use rdkafka::producer::{BaseRecord, Producer, ThreadedProducer};
use std::time::Duration;

/// Produces dead letters to a topic.
pub struct KafkaDeadLetter {
    producer: ThreadedProducer<DeliveryCounter>,
    topic: String,
    source_topic: String,
}

impl KafkaDeadLetter {
    /// A producer for `topic` (created if missing) with the given client settings.
    pub fn new(config: &rdkafka::ClientConfig, topic: &str, source_topic: &str) -> Result<Self> {
        crate::kafka::ensure_topic(config, topic, 1, Duration::from_secs(30))?;
        let producer: ThreadedProducer<DeliveryCounter> = config
            .create_with_context(DeliveryCounter::default())
            .map_err(|e| Error::kafka("creating the dead-letter producer", e))?;
        Ok(KafkaDeadLetter { producer, topic: topic.to_string(), source_topic: source_topic.to_string() })
    }

    /// Queues one dead letter (waiting while the local queue is full).
    pub fn push(&mut self, d: &DeadLetter) -> Result<()> {
        let (partition, offset, line) = match d.position {
            Position::Kafka { partition, offset } => (partition.to_string(), offset.to_string(), None),
            Position::Line { line } => (String::new(), String::new(), Some(line.to_string())),
        };
        let mut headers = OwnedHeaders::new()
            .insert(Header { key: "ticketpulse.error.reason", value: Some(d.reason.as_bytes()) })
            .insert(Header { key: "ticketpulse.error.detail", value: Some(d.detail.as_bytes()) })
            .insert(Header { key: "ticketpulse.source.topic", value: Some(self.source_topic.as_bytes()) });
        headers = match &line {
            Some(l) => headers.insert(Header { key: "ticketpulse.source.line", value: Some(l.as_bytes()) }),
            None => headers
                .insert(Header { key: "ticketpulse.source.partition", value: Some(partition.as_bytes()) })
                .insert(Header { key: "ticketpulse.source.offset", value: Some(offset.as_bytes()) }),
        };
        let record: BaseRecord<'_, (), [u8]> =
            BaseRecord::to(&self.topic).payload(d.raw.as_slice()).headers(headers);
        send_waiting(&self.producer, record).map_err(|e| Error::kafka("queueing a dead letter", e))
    }

    /// Waits until every queued letter is delivered; an error if any delivery failed.
    pub fn flush(&mut self) -> Result<()> {
        self.producer.flush(Duration::from_secs(60)).map_err(|e| Error::kafka("flushing dead letters", e))?;
        let failed = self.producer.context().take_failed();
        if failed > 0 {
            return Err(Error::Runtime(format!(
                "{failed} dead letters could not be delivered to {}",
                self.topic
            )));
        }
        Ok(())
    }
}
