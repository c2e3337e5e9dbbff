//! The dead-letter output: every input record that cannot be used, with its reason, its raw
//! bytes and its source position, so nothing is lost. Reading a file, it is JSONL under
//! `<out>/dead_letter/` (committed with the checkpoint like the Parquet files: exactly once);
//! reading Kafka, it is a Kafka topic (default `<topic>.dead-letter`) whose record value is the
//! raw input and whose headers carry the reason and position (the Kafka Connect convention),
//! flushed before each checkpoint commits (at least once; the position headers identify
//! repeats after a crash).

mod file;
mod kafka;

pub use file::FileDeadLetter;
pub use kafka::KafkaDeadLetter;

use super::PendingFile;
use crate::Result;
use crate::source::Position;
use serde::{Deserialize, Serialize};

/// Reason of a record refused because its conversation's row was already written.
pub const CONVERSATION_ENDED: &str = "conversation_ended";

/// One dead letter.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DeadLetter {
    /// Reason class: an [`crate::decode::InvalidReason`] label or [`CONVERSATION_ENDED`].
    pub reason: String,
    /// Human-readable detail naming the field.
    pub detail: String,
    /// Where the record came from.
    pub position: Position,
    /// The record exactly as received.
    pub raw: Vec<u8>,
}

/// Where dead letters go.
#[derive(Debug)]
pub enum DeadLetterSink {
    /// JSONL files under `<out>/dead_letter/`.
    File(FileDeadLetter),
    /// A Kafka topic.
    Kafka(KafkaDeadLetter),
}

impl DeadLetterSink {
    /// Accepts one dead letter.
    pub fn push(&mut self, letter: DeadLetter) -> Result<()> {
        match self {
            DeadLetterSink::File(s) => {
                s.push(letter);
                Ok(())
            }
            DeadLetterSink::Kafka(s) => s.push(&letter),
        }
    }

    /// Makes everything accepted so far durable (files: written as `.tmp`; Kafka: delivered).
    pub fn prepare(&mut self, checkpoint: &crate::sink::Stamp) -> Result<Vec<PendingFile>> {
        match self {
            DeadLetterSink::File(s) => s.prepare(checkpoint),
            DeadLetterSink::Kafka(s) => s.flush().map(|()| Vec::new()),
        }
    }
}
