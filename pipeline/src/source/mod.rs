//! Sources: each reads records from somewhere (Kafka, a JSONL file or stdin, the built-in
//! generator), decodes them ([`crate::decode`]) and sends them with their position to the runtime
//! on one ordered channel, interleaved with control messages ([`SourceMessage`]).
//!
//! Invariants every source keeps:
//! - a [`SourceMessage::Barrier`] carries offsets that cover exactly the records sent before it;
//! - after [`SourceMessage::End`] nothing more is sent;
//! - when resumed from [`SourceOffsets`], no record before those offsets is sent again.

pub mod file;
pub mod generator;
pub mod kafka;

use crate::decode::{self, Invalid};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicU8, Ordering};
use std::time::Duration;
use ticketpulse_schemas::Event;

/// Where a record came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum Position {
    /// A Kafka record.
    Kafka {
        /// Partition of the source topic.
        partition: i32,
        /// Offset in that partition.
        offset: i64,
    },
    /// A line of a file (1-based line number) or of stdin.
    Line {
        /// 1-based line number.
        line: u64,
    },
}

impl Position {
    /// The source partition, for per-partition watermarks (0 for files).
    pub fn partition(&self) -> i32 {
        match self {
            Position::Kafka { partition, .. } => *partition,
            Position::Line { .. } => 0,
        }
    }
}

/// A decoded record or the raw bytes of an invalid one.
#[derive(Debug, Clone)]
pub enum Payload {
    /// A valid event.
    Event(Event),
    /// An invalid record, kept whole for the dead-letter output.
    Invalid {
        /// Why it is invalid.
        invalid: Invalid,
        /// The record exactly as received.
        raw: Vec<u8>,
    },
}

/// One input record with its position.
#[derive(Debug, Clone)]
pub struct Record {
    /// Where it came from.
    pub position: Position,
    /// What it is.
    pub payload: Payload,
}

impl Record {
    /// Decodes `raw` into a record at `position`; `size` is the record's length as received
    /// (a file line longer than `max` arrives cut at `max + 1` bytes). A record over `max` bytes
    /// is invalid (`too_large`), keeping its first [`crate::limits::KEPT_PREFIX`] bytes.
    pub fn decode(position: Position, raw: &[u8], size: usize, max: usize) -> Self {
        if size > max {
            let kept = &raw[..raw.len().min(crate::limits::KEPT_PREFIX)];
            let detail = format!(
                "record of {size} bytes exceeds limits.max_record_bytes = {max}; its first {} bytes are kept",
                kept.len()
            );
            let invalid = decode::Invalid::new(decode::InvalidReason::TooLarge, detail);
            return Record { position, payload: Payload::Invalid { invalid, raw: kept.to_vec() } };
        }
        let payload = match decode::decode(raw) {
            Ok(event) => Payload::Event(event),
            Err(invalid) => Payload::Invalid { invalid, raw: raw.to_vec() },
        };
        Record { position, payload }
    }
}

/// How far a source has read: what a checkpoint stores and a restart resumes from.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum SourceOffsets {
    /// Next offset to read, per partition of `topic`.
    Kafka {
        /// The topic.
        topic: String,
        /// Partition -> next offset.
        next: BTreeMap<i32, i64>,
    },
    /// Lines of a file (or stdin) read so far.
    Lines {
        /// The file path, `-` for stdin, `generator:<seed>` for the generator.
        origin: String,
        /// Lines consumed.
        lines: u64,
        /// Bytes consumed (the resume position in a file).
        bytes: u64,
    },
}

/// What a source sends to the runtime, in order.
#[derive(Debug)]
pub enum SourceMessage {
    /// Records, in source order.
    Batch(Vec<Record>),
    /// Nothing new for a while: lets processing time (idle partitions) advance.
    Heartbeat,
    /// The source now reads exactly these partitions (Kafka assignment changes).
    Assigned(Vec<i32>),
    /// Take a checkpoint covering every record sent so far.
    Barrier(SourceOffsets),
    /// These Kafka partitions are being taken away in a rebalance (sent by the rebalance
    /// callback, which waits): checkpoint what was processed of them, drop their state, then
    /// answer on `done`. Records of them that arrive afterwards are dropped (their next owner
    /// reads them again from the checkpoint).
    Revoked {
        /// The source topic.
        topic: String,
        /// The partitions revoked.
        partitions: Vec<i32>,
        /// Answered once the checkpoint is durable (or dropped if the run failed).
        done: std::sync::mpsc::Sender<()>,
    },
    /// The source stopped; take a final checkpoint. With `drain`, the input is complete: close
    /// every window and write every open conversation before it.
    End {
        /// Offsets after the last record.
        offsets: SourceOffsets,
        /// The input has ended (end of file, `--stop-when-idle`), as opposed to a stop request.
        drain: bool,
    },
}

/// Commits offsets back to where the source reads from (Kafka consumer-group offsets), after a
/// checkpoint has made them durable.
pub trait OffsetCommitter: Send + Sync {
    /// Commits `offsets`; an error is reported but does not undo the checkpoint.
    fn commit(&self, offsets: &SourceOffsets) -> crate::Result<()>;
}

/// A stop request shared by the runtime, the signal handler and the source.
#[derive(Debug, Clone, Default)]
pub struct StopSignal(Arc<AtomicU8>);

impl StopSignal {
    const RUN: u8 = 0;
    const GRACEFUL: u8 = 1;
    const IMMEDIATE: u8 = 2;

    /// A signal in the running state.
    pub fn new() -> Self {
        Self::default()
    }
    /// Asks for a graceful stop: a final checkpoint, then exit (open state is kept, not drained).
    pub fn request_graceful(&self) {
        let _ = self.0.compare_exchange(Self::RUN, Self::GRACEFUL, Ordering::SeqCst, Ordering::SeqCst);
    }
    /// Asks for an immediate stop: no final checkpoint; a restart resumes from the last one.
    pub fn request_immediate(&self) {
        self.0.store(Self::IMMEDIATE, Ordering::SeqCst);
    }
    /// A graceful stop was requested.
    pub fn is_graceful(&self) -> bool {
        self.0.load(Ordering::SeqCst) == Self::GRACEFUL
    }
    /// An immediate stop was requested.
    pub fn is_immediate(&self) -> bool {
        self.0.load(Ordering::SeqCst) == Self::IMMEDIATE
    }
    /// Any stop was requested.
    pub fn is_stopping(&self) -> bool {
        self.0.load(Ordering::SeqCst) != Self::RUN
    }
}

/// Moves partitions' state between the members of a consumer group that share an output
/// directory; the runtime implements it (see [`crate::runtime::handover`]) and the Kafka source
/// calls it from its rebalance callback.
pub trait PartitionHandover: Send + Sync + std::fmt::Debug {
    /// `partitions` are being taken away: returns once what was read of them is checkpointed.
    fn revoke(&self, topic: &str, partitions: &[i32]);
    /// `partitions` are given to this member: claims them and returns the offset to read each
    /// from (`None`: from the beginning, no checkpoint holds it).
    fn assign(&self, partitions: &[i32]) -> crate::Result<BTreeMap<i32, Option<i64>>>;
}

/// What every source gets from the runtime.
#[derive(Debug, Clone)]
pub struct SourceContext {
    /// Where to send records and control messages.
    pub tx: tokio::sync::mpsc::Sender<SourceMessage>,
    /// How often to send a [`SourceMessage::Barrier`].
    pub checkpoint_interval: Duration,
    /// Stop requests.
    pub stop: StopSignal,
    /// Offsets of the last checkpoint, to resume from.
    pub resume: Option<SourceOffsets>,
    /// Metrics.
    pub telemetry: crate::telemetry::Telemetry,
    /// `limits.max_record_bytes`.
    pub max_record_bytes: usize,
    /// Where a Kafka source's partitions are claimed and handed over (`None`: it starts each
    /// assigned partition at the checkpoint's offset, or the group's).
    pub handover: Option<Arc<dyn PartitionHandover>>,
}

/// A JSONL line without its line ending (`\n` or `\r\n`): the record itself.
pub fn record_of_line(line: &[u8]) -> &[u8] {
    let line = line.strip_suffix(b"\n").unwrap_or(line);
    line.strip_suffix(b"\r").unwrap_or(line)
}

/// Most records sent in one batch.
pub const MAX_BATCH: usize = 1024;

/// A running source: its thread and, for Kafka, the committer of consumer-group offsets.
pub struct SourceHandle {
    /// The source's thread; its result says whether it failed.
    pub thread: std::thread::JoinHandle<crate::Result<()>>,
    /// Commits offsets after each checkpoint (Kafka only).
    pub committer: Option<Arc<dyn OffsetCommitter>>,
}

/// Sends `msg`, reporting whether the runtime is still listening.
pub(crate) fn send(cx: &SourceContext, msg: SourceMessage) -> bool {
    cx.tx.blocking_send(msg).is_ok()
}
