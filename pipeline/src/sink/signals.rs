//! The signals output: the `signals` Parquet table (committed with the checkpoint: exactly
//! once) and, when reading Kafka, a topic (default `<topic>.signals`) of JSON records keyed by
//! conversation id, delivered before each checkpoint commits (at least once: `signal_id`
//! identifies a repeat after a crash). The topic is what on-call tooling and the alerting
//! subscribe to: a signal is there as soon as the message that raised it is processed.

use super::PendingFile;
use super::parquet::ParquetSink;
use super::topic::TopicSink;
use crate::Result;
use crate::conversation::Signal;
use serde::Serialize;

/// Where signals go.
#[derive(Debug)]
pub struct SignalSink {
    table: ParquetSink<Signal>,
    topic: Option<TopicSink>,
}

/// The JSON of one signal on the topic.
#[derive(Serialize)]
struct Json<'a> {
    signal_id: String,
    kind: &'static str,
    action: &'static str,
    /// RFC 3339, UTC.
    at: String,
    at_ms: i64,
    conversation_id: &'a str,
    channel: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    team: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    customer_id: Option<&'a str>,
    trigger: &'static str,
    score: f32,
    negative_in_a_row: u32,
    watermark_ms: Option<i64>,
}

/// The topic record of `s`.
pub fn to_json(s: &Signal) -> String {
    let json = Json {
        signal_id: s.signal_id(),
        kind: s.kind.as_str(),
        action: s.action.as_str(),
        at: crate::time::rfc3339(s.at),
        at_ms: s.at,
        conversation_id: &s.conversation_id,
        channel: &s.channel,
        team: s.team.as_deref(),
        customer_id: s.customer_id.as_deref(),
        trigger: s.trigger.as_str(),
        score: s.score,
        negative_in_a_row: s.negative_in_a_row,
        watermark_ms: crate::time::finite(s.watermark),
    };
    serde_json::to_string(&json).unwrap_or_default()
}

impl SignalSink {
    /// Signals to the table under `table`'s root, and to `topic` if given.
    pub fn new(table: ParquetSink<Signal>, topic: Option<TopicSink>) -> Self {
        SignalSink { table, topic }
    }

    /// Accepts one signal.
    pub fn push(&mut self, s: Signal) -> Result<()> {
        if let Some(topic) = &mut self.topic {
            topic.send(Some(s.conversation_id.as_bytes()), to_json(&s).as_bytes(), None)?;
        }
        self.table.push(s);
        Ok(())
    }

    /// Takes the buffered table rows (tests, callers writing elsewhere).
    pub fn take(&mut self) -> Vec<Signal> {
        self.table.take()
    }

    /// Delivers the topic's records and writes the table's `.tmp` files.
    pub fn prepare(&mut self, checkpoint: &super::Stamp) -> Result<Vec<PendingFile>> {
        if let Some(topic) = &mut self.topic {
            topic.flush()?;
        }
        self.table.prepare(checkpoint)
    }
}
