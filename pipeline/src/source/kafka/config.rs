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

/// Settings of the Kafka source, as written under `[source.kafka]`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
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
        let context = SourceClientContext::new(cx.telemetry.clone(), self.topic.clone());
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
