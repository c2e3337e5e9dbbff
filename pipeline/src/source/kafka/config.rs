//! Settings of the Kafka source, and the client settings every Kafka-facing part shares.

use super::context::SourceClientContext;
use super::source::{KafkaCommitter, run};
use crate::source::{SourceContext, SourceHandle};
use crate::{Error, Result};
use rdkafka::consumer::{BaseConsumer, Consumer};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

/// Settings of the Kafka source, as written under `[source.kafka]`. TLS and SASL settings are
/// librdkafka properties here (`security.protocol`, `ssl.ca.location`, `sasl.mechanism`,
/// `sasl.username`, `sasl.password`, ...); every Kafka client of the run uses them. Its `Debug`
/// form hides the values of secret properties.
#[derive(Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct KafkaSourceConfig {
    /// Bootstrap servers, `host:port[,host:port]`.
    pub brokers: String,
    /// The topic of conversation events.
    pub topic: String,
    /// Consumer group id.
    pub group: String,
    /// Extra librdkafka properties (`-X key=value` on the command line); they override ours.
    #[serde(default)]
    pub properties: BTreeMap<String, String>,
    /// Stop cleanly (drain, checkpoint, commit) once every assigned partition is read up to its
    /// high watermark and no new record has come for this long; unset: run until stopped.
    #[serde(default, with = "humantime_serde::option")]
    pub stop_when_idle: Option<Duration>,
}

/// `properties` with the values of secret ones replaced by `[redacted]`.
pub fn redacted(properties: &BTreeMap<String, String>) -> BTreeMap<&str, &str> {
    properties
        .iter()
        .map(|(k, v)| {
            (k.as_str(), if crate::kafka::is_secret_property(k) { "[redacted]" } else { v.as_str() })
        })
        .collect()
}

impl std::fmt::Debug for KafkaSourceConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("KafkaSourceConfig")
            .field("brokers", &self.brokers)
            .field("topic", &self.topic)
            .field("group", &self.group)
            .field("properties", &redacted(&self.properties))
            .field("stop_when_idle", &self.stop_when_idle)
            .finish()
    }
}

impl KafkaSourceConfig {
    /// Checks the settings; errors name the field.
    pub fn validate(&self) -> Result<()> {
        for (field, value) in [("brokers", &self.brokers), ("topic", &self.topic), ("group", &self.group)] {
            if value.trim().is_empty() {
                return Err(Error::config(format!("source.kafka.{field}"), "must not be empty"));
            }
        }
        // offsets are committed by the commit protocol only, never by the client on its own
        for owned in ["enable.auto.commit", "enable.auto.offset.store"] {
            if self.properties.get(owned).is_some_and(|v| v != "false") {
                return Err(Error::config(
                    format!("source.kafka.properties.{owned}"),
                    "must stay false: offsets are committed only after a checkpoint makes them durable",
                ));
            }
        }
        // consumer lag and the broker health check come from the statistics
        if let Some(v) = self.properties.get("statistics.interval.ms")
            && v.trim().parse::<u64>().is_ok_and(|ms| ms == 0 || ms > 60_000)
        {
            return Err(Error::config(
                "source.kafka.properties.statistics.interval.ms",
                format!(
                    "is {v}; must be 1..=60000: consumer lag and the kafka_brokers health check come from the statistics"
                ),
            ));
        }
        Ok(())
    }

    /// The consumer settings: ours first, then the user's properties.
    fn consumer_config(&self) -> rdkafka::ClientConfig {
        let ours = [
            ("group.id", self.group.as_str()),
            ("enable.auto.commit", "false"),
            ("enable.auto.offset.store", "false"),
            ("auto.offset.reset", "earliest"),
            ("enable.partition.eof", "false"),
            ("statistics.interval.ms", "1000"),
        ];
        let mut properties: BTreeMap<String, String> =
            ours.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect();
        properties.extend(self.properties.clone());
        crate::kafka::client_config(&self.brokers, &properties)
    }

    /// Creates the consumer, subscribes, and starts reading on a thread of its own.
    pub fn spawn(&self, cx: SourceContext) -> Result<SourceHandle> {
        self.validate()?;
        let context = SourceClientContext::new(cx.telemetry.clone(), self.topic.clone(), cx.handover.clone());
        let consumer: BaseConsumer<SourceClientContext> = self
            .consumer_config()
            .create_with_context(context)
            .map_err(|e| Error::kafka("creating the consumer", e))?;
        consumer
            .subscribe(&[&self.topic])
            .map_err(|e| Error::kafka(format!("subscribing to {}", self.topic), e))?;
        let consumer = Arc::new(consumer);
        let committer = Arc::new(KafkaCommitter::new(consumer.clone(), self.topic.clone()));
        let cfg = self.clone();
        let thread = std::thread::Builder::new()
            .name("source-kafka".into())
            .spawn(move || run(&cfg, &consumer, cx))
            .map_err(|e| Error::io("starting a thread for", "source-kafka", e))?;
        Ok(SourceHandle { thread, committer: Some(committer) })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secret_properties_never_show_in_the_debug_form() {
        let cfg = KafkaSourceConfig {
            brokers: "b:9093".into(),
            topic: "t".into(),
            group: "g".into(),
            properties: BTreeMap::from(
                [
                    ("security.protocol", "SASL_SSL"),
                    ("sasl.mechanism", "SCRAM-SHA-512"),
                    ("sasl.username", "svc-ticketpulse"),
                    ("sasl.password", "hunter2-secret-value"),
                    ("ssl.key.password", "keypass-value"),
                    ("ssl.key.pem", "-----BEGIN PRIVATE KEY-----abc"),
                    ("sasl.oauthbearer.client.secret", "oauth-secret-value"),
                ]
                .map(|(k, v)| (k.to_string(), v.to_string())),
            ),
            stop_when_idle: None,
        };
        let shown = format!("{cfg:?} {cfg:#?}");
        for secret in ["hunter2-secret-value", "keypass-value", "BEGIN PRIVATE KEY", "oauth-secret-value"] {
            assert!(!shown.contains(secret), "{shown}");
        }
        for kept in ["SASL_SSL", "SCRAM-SHA-512", "svc-ticketpulse", "[redacted]"] {
            assert!(shown.contains(kept), "{shown}");
        }
    }
}
