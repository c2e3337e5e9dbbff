//! Reading a table back: every committed `*.parquet` file under `<out>/<table>/`, in path order.
//! Used by the jobs' summaries and by tests; analysts use DataFusion over the same folders.

use crate::{Error, Result};
use arrow::record_batch::RecordBatch;
use parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;
use std::path::{Path, PathBuf};
use ticketpulse_schemas::tables::Table;

/// Committed Parquet files of `table` under `out`, sorted.
pub fn parquet_files(out: &Path, table: Table) -> Result<Vec<PathBuf>> {
    let mut files = Vec::new();
    let mut stack = vec![out.join(table.name())];
    while let Some(dir) = stack.pop() {
        let entries = match std::fs::read_dir(&dir) {
            Ok(e) => e,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => continue,
            Err(e) => return Err(Error::io("listing", dir, e)),
        };
        for entry in entries {
            let path = entry.map_err(|e| Error::io("listing", &dir, e))?.path();
            if path.is_dir() {
                stack.push(path);
            } else if path.extension().is_some_and(|x| x == "parquet") {
                files.push(path);
            }
        }
    }
    files.sort();
    Ok(files)
}

/// Every row of `table` under `out`.
pub fn read_table(out: &Path, table: Table) -> Result<Vec<RecordBatch>> {
    let mut batches = Vec::new();
    for path in parquet_files(out, table)? {
        let file = std::fs::File::open(&path).map_err(|e| Error::io("opening", &path, e))?;
        let reader = ParquetRecordBatchReaderBuilder::try_new(file)
            .and_then(|b| b.build())
            .map_err(|source| Error::Parquet { path: path.clone(), source })?;
        for batch in reader {
            batches.push(batch?);
        }
    }
    Ok(batches)
}
