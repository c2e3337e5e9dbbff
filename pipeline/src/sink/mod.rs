//! Sinks: the Parquet tables, the dead-letter output (a JSONL file, or a Kafka topic when reading
//! Kafka), the signals (a Parquet table, and a Kafka topic when reading Kafka), and Prometheus. File-producing sinks take part in the commit protocol: between
//! checkpoints they buffer; at a checkpoint they `prepare` (write and fsync files under a
//! temporary `.tmp` name) and return [`PendingFile`]s, which the runtime renames to their final
//! names only after the checkpoint that lists them is durable. Readers ignore `.tmp` files.

pub mod alerts;
pub mod dead_letter;
pub mod parquet;
pub mod prometheus;
pub mod signals;
pub mod topic;

use serde::{Deserialize, Serialize};

/// A written but not yet committed file, relative to the output directory.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PendingFile {
    /// Table (folder) it belongs to.
    pub table: String,
    /// Where it was written (`<path>.tmp`).
    pub tmp: String,
    /// Its final name.
    pub path: String,
    /// Rows (or lines) in it.
    pub rows: u64,
}

impl PendingFile {
    /// A pending file at `path` (relative), written as `path.tmp`.
    pub fn new(table: &str, path: String, rows: u64) -> Self {
        PendingFile { table: table.to_string(), tmp: format!("{path}{TMP_SUFFIX}"), path, rows }
    }
}

/// Names the files of one checkpoint of one instance (`part-<instance>-<id>`), so that the
/// instances sharing an output directory never write the same name, and each can tell its own
/// uncommitted files from the others'.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Stamp {
    /// The instance (`output.instance`).
    pub instance: String,
    /// The checkpoint id, increasing per instance.
    pub id: u64,
}

impl Stamp {
    /// Checkpoint `id` of `instance`.
    pub fn new(instance: &str, id: u64) -> Self {
        Stamp { instance: instance.to_string(), id }
    }

    /// Whether `name` (a file name, maybe `.tmp`) is a part file of `instance`.
    pub fn owns(instance: &str, name: &str) -> bool {
        name.strip_prefix("part-")
            .and_then(|rest| rest.strip_prefix(instance))
            .and_then(|rest| rest.strip_prefix('-'))
            .is_some_and(|rest| rest.starts_with(|c: char| c.is_ascii_digit()))
    }
}

impl std::fmt::Display for Stamp {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}-{:010}", self.instance, self.id)
    }
}

/// Suffix of files not yet committed.
pub const TMP_SUFFIX: &str = ".tmp";

/// Writes `bytes` to `path` and fsyncs it, its folder and the folder above (which may have just
/// gained a new `date=` folder), so that the file survives a power loss once this returns.
pub(crate) fn write_synced(path: &std::path::Path, bytes: &[u8]) -> crate::Result<()> {
    use std::io::Write;
    let dir = path.parent().unwrap_or(std::path::Path::new("."));
    std::fs::create_dir_all(dir).map_err(|e| crate::Error::io("creating", dir, e))?;
    let mut f = std::fs::File::create(path).map_err(|e| crate::Error::io("creating", path, e))?;
    // fault injection (reliability tests): the process dies with the file half written
    fail::fail_point!("sink::partial_write", |_| {
        let _ = f.write_all(&bytes[..bytes.len() / 2]);
        std::process::abort()
    });
    f.write_all(bytes).map_err(|e| crate::Error::io("writing", path, e))?;
    f.sync_all().map_err(|e| crate::Error::io("syncing", path, e))?;
    sync_dir(dir)?;
    match dir.parent() {
        Some(up) if !up.as_os_str().is_empty() => sync_dir(up),
        _ => Ok(()),
    }
}

/// Fsyncs a folder (its entries: new files, renames).
pub(crate) fn sync_dir(dir: &std::path::Path) -> crate::Result<()> {
    std::fs::File::open(dir).and_then(|d| d.sync_all()).map_err(|e| crate::Error::io("syncing", dir, e))
}
