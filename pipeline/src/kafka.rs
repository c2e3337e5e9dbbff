//! Kafka plumbing shared by the source, the dead-letter sink and the `produce` job: client
//! settings, log forwarding, and topic creation.

use crate::{Error, Result};
use rdkafka::ClientConfig;
use rdkafka::ClientContext;
use rdkafka::admin::{AdminClient, AdminOptions, NewTopic, TopicReplication};
use rdkafka::consumer::{BaseConsumer, Consumer, ConsumerContext};
use rdkafka::error::KafkaError;
use rdkafka::producer::{BaseRecord, DeliveryResult, Producer, ProducerContext, ThreadedProducer};
use rdkafka::types::RDKafkaErrorCode;
use std::collections::BTreeMap;
use std::io::BufRead;
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

/// Whether a librdkafka property holds a secret (a password, a private key, a token, a JAAS
/// configuration): its value is never shown.
pub fn is_secret_property(key: &str) -> bool {
    let key = key.to_ascii_lowercase();
    ["password", "secret", "jaas", "ssl.key.pem", "private", "token", "credential", "oauthbearer.config"]
        .iter()
        .any(|s| key.contains(s))
}

/// Forwards librdkafka's log lines and errors to `tracing`.
#[derive(Debug, Clone, Copy, Default)]
pub struct LogContext;

impl ClientContext for LogContext {
    fn log(&self, level: rdkafka::config::RDKafkaLogLevel, fac: &str, log_message: &str) {
        use rdkafka::config::RDKafkaLogLevel as L;
        match level {
            L::Emerg | L::Alert | L::Critical | L::Error => {
                tracing::error!(target: "librdkafka", "{fac}: {log_message}")
            }
            L::Warning => tracing::warn!(target: "librdkafka", "{fac}: {log_message}"),
            _ => tracing::debug!(target: "librdkafka", "{fac}: {log_message}"),
        }
    }
    fn error(&self, error: rdkafka::error::KafkaError, reason: &str) {
        tracing::warn!(target: "librdkafka", "{error}: {reason}");
    }
}

impl ConsumerContext for LogContext {}

/// Lets through one log line per distinct message per interval: during a broker outage
/// librdkafka reports the same errors for every request, and a backlog of them arrives at once
/// when the client is polled again.
#[derive(Debug)]
pub struct LogThrottle {
    interval: Duration,
    /// Per message: when it was last let through, and how many were held back since.
    seen: std::sync::Mutex<std::collections::HashMap<String, (std::time::Instant, u64)>>,
}

impl LogThrottle {
    /// At most one line per distinct message per `interval`.
    pub fn new(interval: Duration) -> Self {
        LogThrottle { interval, seen: Default::default() }
    }

    /// Whether to log `message` now; if so, how many of it were held back since the last one.
    pub fn admit(&self, message: &str) -> Option<u64> {
        let mut seen = self.seen.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        if let Some((at, held)) = seen.get_mut(message) {
            if at.elapsed() < self.interval {
                *held += 1;
                return None;
            }
            *at = std::time::Instant::now();
            return Some(std::mem::take(held));
        }
        if seen.len() >= 256 {
            seen.clear(); // messages carry no ids, so this stays small; a bound all the same
        }
        seen.insert(message.to_string(), (std::time::Instant::now(), 0));
        Some(0)
    }
}

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
            return Err(Error::Runtime(format!(
                "topic {topic} was created but does not show in the metadata"
            )));
        }
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// A record whose delivery failed, kept to be sent again.
#[derive(Debug)]
pub struct FailedRecord {
    /// Its key.
    pub key: Option<Vec<u8>>,
    /// Its value.
    pub payload: Vec<u8>,
    /// Its headers.
    pub headers: Option<rdkafka::message::OwnedHeaders>,
    /// Why it failed.
    pub error: KafkaError,
}

/// A producer context that logs like [`LogContext`] and keeps the records whose delivery failed
/// (librdkafka gave up on them: `message.timeout.ms` passed, or the broker refused them).
#[derive(Debug, Default)]
pub struct DeliveryTracker {
    failed: std::sync::Mutex<Vec<FailedRecord>>,
}

impl DeliveryTracker {
    /// The records that failed since the last call.
    pub fn take_failed(&self) -> Vec<FailedRecord> {
        std::mem::take(&mut *self.failed.lock().unwrap_or_else(std::sync::PoisonError::into_inner))
    }
}

impl ClientContext for DeliveryTracker {
    fn log(&self, level: rdkafka::config::RDKafkaLogLevel, fac: &str, log_message: &str) {
        LogContext.log(level, fac, log_message);
    }
}

impl ProducerContext for DeliveryTracker {
    type DeliveryOpaque = ();
    fn delivery(&self, result: &DeliveryResult<'_>, _: Self::DeliveryOpaque) {
        use rdkafka::message::Message;
        if let Err((e, m)) = result {
            // one line per record would flood the log in an outage: the flush reports them
            tracing::debug!("delivery failed: {e}");
            let record = FailedRecord {
                key: m.key().map(<[u8]>::to_vec),
                payload: m.payload().unwrap_or_default().to_vec(),
                headers: m.headers().map(|h| h.detach()),
                error: e.clone(),
            };
            self.failed.lock().unwrap_or_else(std::sync::PoisonError::into_inner).push(record);
        }
    }
}

/// Queues `record`, waiting while the producer's local queue is full.
pub fn send_waiting<K, P>(
    producer: &ThreadedProducer<DeliveryTracker>,
    mut record: BaseRecord<'_, K, P>,
) -> std::result::Result<(), KafkaError>
where
    K: rdkafka::message::ToBytes + ?Sized,
    P: rdkafka::message::ToBytes + ?Sized,
{
    loop {
        match producer.send(record) {
            Ok(()) => return Ok(()),
            Err((KafkaError::MessageProduction(RDKafkaErrorCode::QueueFull), r)) => {
                record = r;
                std::thread::sleep(Duration::from_millis(5));
            }
            Err((e, _)) => return Err(e),
        }
    }
}

/// The `conversation_id` of a record, for use as its key (`None` if the record has none).
pub fn conversation_key(record: &[u8]) -> Option<String> {
    #[derive(serde::Deserialize)]
    struct Key<'a> {
        #[serde(borrow)]
        conversation_id: Option<std::borrow::Cow<'a, str>>,
    }
    serde_json::from_slice::<Key<'_>>(record).ok()?.conversation_id.map(|c| c.into_owned())
}

/// What [`produce_lines`] did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ProduceStats {
    /// Records produced (one per line, blank lines included: they are input too).
    pub records: u64,
    /// Bytes read.
    pub bytes: u64,
}

/// Produces every line of `reader` to `topic` (key = its `conversation_id`), in order, waits
/// for every delivery, and fails if any was not delivered. `progress` gets the bytes read so far.
pub fn produce_lines(
    config: &ClientConfig,
    topic: &str,
    mut reader: impl BufRead,
    mut progress: impl FnMut(u64),
) -> Result<ProduceStats> {
    let producer: ThreadedProducer<DeliveryTracker> = config
        .create_with_context(DeliveryTracker::default())
        .map_err(|e| Error::kafka("creating the producer", e))?;
    let mut stats = ProduceStats::default();
    let mut buf = Vec::with_capacity(4096);
    loop {
        buf.clear();
        let n = reader.read_until(b'\n', &mut buf).map_err(|e| Error::io("reading", "input", e))?;
        if n == 0 {
            break;
        }
        stats.bytes += n as u64;
        let line = crate::source::record_of_line(&buf);
        let key = conversation_key(line);
        let mut record: BaseRecord<'_, str, [u8]> = BaseRecord::to(topic).payload(line);
        if let Some(k) = key.as_deref() {
            record = record.key(k);
        }
        send_waiting(&producer, record).map_err(|e| Error::kafka(format!("producing to {topic}"), e))?;
        stats.records += 1;
        if stats.records % 1024 == 0 {
            progress(stats.bytes);
        }
    }
    producer.flush(Duration::from_secs(120)).map_err(|e| Error::kafka(format!("flushing to {topic}"), e))?;
    progress(stats.bytes);
    let failed = producer.context().take_failed();
    if let Some(first) = failed.first() {
        return Err(Error::Runtime(format!(
            "{} of {} records could not be delivered to {topic} ({})",
            failed.len(),
            stats.records,
            first.error
        )));
    }
    Ok(stats)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tls_and_sasl_settings_are_supported_by_this_build() {
        // client creation checks every property against what librdkafka was built with
        // ("not supported in this build: OpenSSL not available at build time" otherwise)
        for (protocol, mechanism) in
            [("SSL", None), ("SASL_SSL", Some("SCRAM-SHA-512")), ("SASL_SSL", Some("PLAIN"))]
        {
            let mut props: BTreeMap<String, String> = [
                ("security.protocol", protocol),
                ("ssl.key.password", "x"),
                ("ssl.endpoint.identification.algorithm", "https"),
            ]
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .into();
            if let Some(m) = mechanism {
                props.extend(
                    [("sasl.mechanism", m), ("sasl.username", "u"), ("sasl.password", "p")]
                        .map(|(k, v)| (k.to_string(), v.to_string())),
                );
            }
            let created = client_config("127.0.0.1:1", &props).create::<BaseConsumer>();
            assert!(created.is_ok(), "{protocol} {mechanism:?}: {:?}", created.err());
        }
    }

    #[test]
    fn the_log_throttle_lets_each_message_through_once_per_interval_and_counts_the_rest() {
        let t = LogThrottle::new(Duration::from_millis(200));
        assert_eq!(t.admit("a"), Some(0));
        assert_eq!(t.admit("b"), Some(0), "another message is not held back by the first");
        assert_eq!(t.admit("a"), None);
        assert_eq!(t.admit("a"), None);
        std::thread::sleep(Duration::from_millis(250));
        assert_eq!(t.admit("a"), Some(2), "the next line says how many were held back");
        assert_eq!(t.admit("b"), Some(0));
    }
}
