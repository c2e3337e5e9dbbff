//! The Parquet sink: one per table. Rows are buffered between checkpoints; `prepare` writes one
//! zstd-compressed file per UTC date (Hive partition `date=YYYY-MM-DD/`), named after the
//! checkpoint (`part-<checkpoint>.parquet`), under a `.tmp` name until the runtime commits it.
//! The schema is the table's from `ticketpulse_schemas::tables`.

mod read;
mod rows;
#[cfg(test)]
mod tests;

pub use read::{parquet_files, read_table};
pub use rows::{MessageRow, TableRow};

use super::PendingFile;
use crate::{Error, Result};
use parquet::arrow::ArrowWriter;
use parquet::basic::{Compression, ZstdLevel};
use parquet::file::properties::WriterProperties;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// Buffers rows of one table and writes them at checkpoints.
#[derive(Debug)]
pub struct ParquetSink<R> {
    root: PathBuf,
    rows: Vec<R>,
    zstd_level: i32,
}

/// UTC date (`YYYY-MM-DD`) of epoch milliseconds.
pub fn utc_date(ms: i64) -> String {
    chrono::DateTime::from_timestamp_millis(ms)
        .map_or_else(|| "invalid".to_string(), |t| t.date_naive().format("%Y-%m-%d").to_string())
}

impl<R: TableRow> ParquetSink<R> {
    /// A sink writing under `root/<table>/`.
    pub fn new(root: &Path, zstd_level: i32) -> Self {
        ParquetSink { root: root.to_path_buf(), rows: Vec::new(), zstd_level }
    }

    /// Buffers a row.
    pub fn push(&mut self, row: R) {
        self.rows.push(row);
    }

    /// Takes the buffered rows out without writing them (for a caller that writes elsewhere,
    /// and for tests comparing rows).
    pub fn take(&mut self) -> Vec<R> {
        std::mem::take(&mut self.rows)
    }

    /// Rows buffered since the last checkpoint.
    pub fn buffered(&self) -> usize {
        self.rows.len()
    }

    /// Writes the buffered rows as `.tmp` files (fsynced), one per date, and returns them.
    pub fn prepare(&mut self, checkpoint: &crate::sink::Stamp) -> Result<Vec<PendingFile>> {
        let table = R::TABLE.name();
        let mut by_date: BTreeMap<String, Vec<&R>> = BTreeMap::new();
        for row in &self.rows {
            by_date.entry(utc_date(row.date_ms())).or_default().push(row);
        }
        let mut pending = Vec::with_capacity(by_date.len());
        for (date, rows) in by_date {
            let rel = format!("{table}/date={date}/part-{checkpoint}.parquet");
            let file = PendingFile::new(table, rel, rows.len() as u64);
            self.write(&self.root.join(&file.tmp), &rows)?;
            pending.push(file);
        }
        self.rows.clear();
        Ok(pending)
    }

    fn write(&self, path: &Path, rows: &[&R]) -> Result<()> {
        let batch = R::to_batch(rows)?;
        let props = WriterProperties::builder()
            .set_compression(Compression::ZSTD(
                ZstdLevel::try_new(self.zstd_level)
                    .map_err(|source| Error::Parquet { path: path.into(), source })?,
            ))
            .set_created_by(format!("ticketpulse {}", env!("CARGO_PKG_VERSION")))
            .build();
        let mut buf = Vec::with_capacity(64 * 1024);
        let mut writer = ArrowWriter::try_new(&mut buf, batch.schema(), Some(props))
            .map_err(|source| Error::Parquet { path: path.into(), source })?;
        writer.write(&batch).map_err(|source| Error::Parquet { path: path.into(), source })?;
        writer.close().map_err(|source| Error::Parquet { path: path.into(), source })?;
        super::write_synced(path, &buf)
    }
}
