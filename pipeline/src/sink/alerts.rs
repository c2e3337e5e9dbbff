//! The alerts output: the `alerts` Parquet table (committed with the checkpoint: exactly once);
//! when reading Kafka, a topic (default `<topic>.alerts`) of JSON records keyed by `alert_id`,
//! delivered before each checkpoint commits (at least once: `event_id` identifies a repeat after
//! a crash); and, with a webhook, the outbox file of the events to notify, committed with the
//! checkpoint and posted after it (see [`crate::alerts::webhook`]).

use super::PendingFile;
use super::parquet::ParquetSink;
use super::topic::TopicSink;
use crate::Result;
use crate::alerts::AlertRow;
use crate::alerts::webhook::{WebhookConfig, outbox_file, to_json};
use std::path::PathBuf;

/// Where alert events go.
#[derive(Debug)]
pub struct AlertSink {
    table: ParquetSink<AlertRow>,
    topic: Option<TopicSink>,
    /// The output directory and webhook settings, when notifying.
    webhook: Option<(PathBuf, WebhookConfig)>,
    /// Events to notify since the last checkpoint.
    outbox: Vec<AlertRow>,
}

impl AlertSink {
    /// Alert events to `table`, to `topic` if given, and to the outbox under `webhook.0` if given.
    pub fn new(
        table: ParquetSink<AlertRow>,
        topic: Option<TopicSink>,
        webhook: Option<(PathBuf, WebhookConfig)>,
    ) -> Self {
        AlertSink { table, topic, webhook, outbox: Vec::new() }
    }

    /// Accepts one event.
    pub fn push(&mut self, row: AlertRow) -> Result<()> {
        if let Some(topic) = &mut self.topic {
            topic.send(Some(row.event.alert_id.as_bytes()), to_json(&row).as_bytes(), None)?;
        }
        if self.webhook.as_ref().is_some_and(|(_, w)| w.wants(&row)) {
            self.outbox.push(row.clone());
        }
        self.table.push(row);
        Ok(())
    }

    /// Takes the buffered table rows (tests, callers writing elsewhere).
    pub fn take(&mut self) -> Vec<AlertRow> {
        self.table.take()
    }

    /// Delivers the topic's records, writes the table's and the outbox's `.tmp` files.
    pub fn prepare(&mut self, checkpoint: &super::Stamp) -> Result<Vec<PendingFile>> {
        if let Some(topic) = &mut self.topic {
            topic.flush()?;
        }
        // the outbox first, kept until the table is written too: a failure leaves both to retry
        let outbox = match &self.webhook {
            Some((dir, _)) if !self.outbox.is_empty() => {
                let (path, bytes) = outbox_file(checkpoint, &self.outbox);
                let file =
                    PendingFile::new(crate::alerts::webhook::OUTBOX_DIR, path, self.outbox.len() as u64);
                super::write_synced(&dir.join(&file.tmp), &bytes)?;
                Some(file)
            }
            _ => None,
        };
        let mut pending = self.table.prepare(checkpoint)?;
        if let Some(file) = outbox {
            pending.push(file);
            self.outbox.clear();
        }
        Ok(pending)
    }
}
