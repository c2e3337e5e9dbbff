//! Kafka plumbing shared by the source, the dead-letter sink and the `produce` job: client
//! settings, log forwarding, and topic creation.

use crate::{Error, Result};
use rdkafka::ClientConfig;
use rdkafka::ClientContext;
use rdkafka::admin::{AdminClient, AdminOptions, NewTopic, TopicReplication};
use rdkafka::consumer::{BaseConsumer, Consumer, ConsumerContext};
use rdkafka::types::RDKafkaErrorCode;
use std::collections::BTreeMap;
use std::time::Duration;

/// A librdkafka configuration for `brokers` with `properties` (`-X key=value`) applied last.
pub fn client_config(brokers: &str, properties: &BTreeMap<String, String>) -> ClientConfig {
    let mut c = ClientConfig::new();
    c.set("bootstrap.servers", brokers);
    for (k, v) in properties {
        c.set(k, v);
    }
    c
}

/// Forwards librdkafka's log lines and errors to `tracing`.
#[derive(Debug, Clone, Copy, Default)]
pub struct LogContext;

impl ClientContext for LogContext {
    fn log(&self, level: rdkafka::config::RDKafkaLogLevel, fac: &str, log_message: &str) {
        use rdkafka::config::RDKafkaLogLevel as L;
        match level {
            L::Emerg | L::Alert | L::Critical | L::Error => tracing::error!(target: "librdkafka", "{fac}: {log_message}"),
            L::Warning => tracing::warn!(target: "librdkafka", "{fac}: {log_message}"),
            _ => tracing::debug!(target: "librdkafka", "{fac}: {log_message}"),
        }
    }
    fn error(&self, error: rdkafka::error::KafkaError, reason: &str) {
        tracing::warn!(target: "librdkafka", "{error}: {reason}");
    }
}

impl ConsumerContext for LogContext {}

/// Partitions of `topic`, or `None` if the broker does not know it.
pub fn topic_partitions(config: &ClientConfig, topic: &str, timeout: Duration) -> Result<Option<usize>> {
    let client: BaseConsumer<LogContext> = config
        .clone()
        .set("allow.auto.create.topics", "false")
        .create_with_context(LogContext)
        .map_err(|e| Error::kafka("creating a metadata client", e))?;
    let md = client.fetch_metadata(Some(topic), timeout).map_err(|e| Error::kafka("fetching metadata", e))?;
    Ok(md.topics().iter().find(|t| t.name() == topic && t.error().is_none()).map(|t| t.partitions().len()))
}

/// Creates `topic` with `partitions` partitions unless it exists; returns its partition count.
pub fn ensure_topic(config: &ClientConfig, topic: &str, partitions: i32, timeout: Duration) -> Result<usize> {
    if let Some(n) = topic_partitions(config, topic, timeout)?.filter(|&n| n > 0) {
        return Ok(n);
    }
    let admin: AdminClient<LogContext> =
        config.create_with_context(LogContext).map_err(|e| Error::kafka("creating an admin client", e))?;
    let new = NewTopic::new(topic, partitions, TopicReplication::Fixed(1));
    let opts = AdminOptions::new().operation_timeout(Some(timeout)).request_timeout(Some(timeout));
    let results = futures::executor::block_on(admin.create_topics(&[new], &opts))
        .map_err(|e| Error::kafka(format!("creating topic {topic}"), e))?;
    for r in results {
        match r {
            Ok(_) | Err((_, RDKafkaErrorCode::TopicAlreadyExists)) => {}
            Err((name, code)) => {
                return Err(Error::kafka(
                    format!("creating topic {name}"),
                    rdkafka::error::KafkaError::AdminOp(code),
                ));
            }
        }
    }
    // Wait (bounded) until the metadata shows the new topic.
    let deadline = std::time::Instant::now() + timeout;
    loop {
        if let Some(n) = topic_partitions(config, topic, timeout)?.filter(|&n| n > 0) {
            return Ok(n);
        }
        if std::time::Instant::now() >= deadline {
            return Err(Error::Runtime(format!("topic {topic} was created but does not show in the metadata")));
        }
        std::thread::sleep(Duration::from_millis(100));
    }
}
