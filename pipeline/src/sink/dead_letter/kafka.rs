//! Dead letters to a Kafka topic: value = the raw record, headers = reason, detail and source
//! position (the Kafka Connect convention). Delivered before each checkpoint commits.

use super::DeadLetter;
use crate::Result;
use crate::sink::topic::TopicSink;
use crate::source::Position;
use rdkafka::message::{Header, OwnedHeaders};

/// Produces dead letters to a topic.
#[derive(Debug)]
pub struct KafkaDeadLetter {
    topic: TopicSink,
    source_topic: String,
}

impl KafkaDeadLetter {
    /// A producer for `topic` (created if missing) with the given client settings.
    pub fn new(
        config: &rdkafka::ClientConfig,
        topic: &str,
        source_topic: &str,
        health: crate::health::Health,
    ) -> Result<Self> {
        Ok(KafkaDeadLetter {
            topic: TopicSink::new(config, topic, "dead letters", health)?,
            source_topic: source_topic.to_string(),
        })
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
        self.topic.send(None, &d.raw, Some(headers))
    }

    /// Waits until every queued letter is delivered; an error if any delivery failed.
    pub fn flush(&mut self) -> Result<()> {
        self.topic.flush()
    }
}
