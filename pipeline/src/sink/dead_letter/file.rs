//! Dead letters as JSONL: `{"reason", "detail", "origin", "line" | "topic"/"partition"/"offset",
//! "raw" | "raw_base64"}` — `raw` when the record is UTF-8 text, `raw_base64` otherwise.

use super::DeadLetter;
use crate::Result;
use crate::sink::PendingFile;
use crate::source::Position;
use base64::Engine;
use serde::Serialize;
use std::path::{Path, PathBuf};

/// Folder of the dead-letter output under the output directory.
pub const DEAD_LETTER_DIR: &str = "dead_letter";

/// Buffers dead letters and writes them at checkpoints.
#[derive(Debug)]
pub struct FileDeadLetter {
    root: PathBuf,
    origin: String,
    buf: Vec<u8>,
    lines: u64,
}

#[derive(Serialize)]
struct Line<'a> {
    reason: &'a str,
    detail: &'a str,
    origin: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    line: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    partition: Option<i32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    offset: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    raw: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    raw_base64: Option<String>,
}

impl FileDeadLetter {
    /// Writes under `root/dead_letter/`; `origin` names the input (file path, topic).
    pub fn new(root: &Path, origin: &str) -> Self {
        FileDeadLetter { root: root.to_path_buf(), origin: origin.to_string(), buf: Vec::new(), lines: 0 }
    }

    /// Buffers one dead letter as a JSON line.
    pub fn push(&mut self, d: DeadLetter) {
        let text = std::str::from_utf8(&d.raw).ok();
        let (line, partition, offset) = match d.position {
            Position::Line { line } => (Some(line), None, None),
            Position::Kafka { partition, offset } => (None, Some(partition), Some(offset)),
        };
        let record = Line {
            reason: &d.reason,
            detail: &d.detail,
            origin: &self.origin,
            line,
            partition,
            offset,
            raw: text,
            raw_base64: text.is_none().then(|| base64::engine::general_purpose::STANDARD.encode(&d.raw)),
        };
        // Serialising this struct of strings and integers cannot fail.
        if serde_json::to_writer(&mut self.buf, &record).is_ok() {
            self.buf.push(b'\n');
            self.lines += 1;
        }
    }

    /// Writes the buffered lines as `dead_letter/part-<checkpoint>.jsonl.tmp`.
    pub fn prepare(&mut self, checkpoint: &crate::sink::Stamp) -> Result<Vec<PendingFile>> {
        if self.lines == 0 {
            return Ok(Vec::new());
        }
        let file = PendingFile::new(
            DEAD_LETTER_DIR,
            format!("{DEAD_LETTER_DIR}/part-{checkpoint}.jsonl"),
            self.lines,
        );
        crate::sink::write_synced(&self.root.join(&file.tmp), &self.buf)?;
        self.buf.clear();
        self.lines = 0;
        Ok(vec![file])
    }
}
