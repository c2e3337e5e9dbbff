//! The read loop shared by the file and generator sources: lines -> decoded records, batches,
//! periodic barriers, and an `End` at end of input or on a stop request.

use crate::source::{
    MAX_BATCH, Position, Record, SourceContext, SourceMessage, SourceOffsets, record_of_line, send,
};
use crate::telemetry::component;
use crate::{Error, Result};
use std::fs::File;
use std::io::{BufRead, BufReader, Seek, SeekFrom};
use std::path::Path;
use std::time::Instant;

pub(super) fn run(path: &Path, cx: SourceContext) -> Result<()> {
    let origin = path.display().to_string();
    let (lines, bytes) = resume_point(&origin, cx.resume.as_ref())?;
    if origin == "-" {
        let mut reader = std::io::stdin().lock();
        skip_lines(&mut reader, lines)
            .map_err(|e| Error::io("skipping already processed lines of", "stdin", e))?;
        return read_lines(reader, &origin, (lines, bytes), &cx);
    }
    let mut file = File::open(path).map_err(|e| Error::io("opening", path, e))?;
    file.seek(SeekFrom::Start(bytes)).map_err(|e| Error::io("seeking in", path, e))?;
    read_lines(BufReader::with_capacity(1 << 20, file), &origin, (lines, bytes), &cx)
}

/// Lines and bytes already consumed according to the checkpoint (0, 0 without one).
pub(crate) fn resume_point(origin: &str, resume: Option<&SourceOffsets>) -> Result<(u64, u64)> {
    match resume {
        None => Ok((0, 0)),
        Some(SourceOffsets::Lines { origin: o, lines, bytes }) if o == origin => Ok((*lines, *bytes)),
        Some(other) => Err(Error::config(
            "source",
            format!(
                "the output directory holds a checkpoint of another input ({other:?}), not {origin}; use a new --out"
            ),
        )),
    }
}

fn skip_lines(reader: &mut impl BufRead, n: u64) -> std::io::Result<()> {
    let mut buf = Vec::new();
    for _ in 0..n {
        buf.clear();
        if reader.read_until(b'\n', &mut buf)? == 0 {
            break;
        }
    }
    Ok(())
}

/// Reads `reader` to its end (or a stop request), starting after `start` = (lines, bytes).
pub(crate) fn read_lines(
    mut reader: impl BufRead,
    origin: &str,
    start: (u64, u64),
    cx: &SourceContext,
) -> Result<()> {
    let (mut lines, mut bytes) = start;
    let offsets = |lines, bytes| SourceOffsets::Lines { origin: origin.to_string(), lines, bytes };
    let mut buf = Vec::with_capacity(4096);
    let mut batch = Vec::with_capacity(MAX_BATCH);
    let mut last_barrier = Instant::now();
    loop {
        if cx.stop.is_stopping() {
            if !flush(cx, &mut batch) {
                return Ok(());
            }
            send(cx, SourceMessage::End { offsets: offsets(lines, bytes), drain: false });
            return Ok(());
        }
        buf.clear();
        let n = reader.read_until(b'\n', &mut buf).map_err(|e| Error::io("reading", origin, e))?;
        if n == 0 {
            if flush(cx, &mut batch) {
                send(cx, SourceMessage::End { offsets: offsets(lines, bytes), drain: true });
            }
            return Ok(());
        }
        bytes += n as u64;
        lines += 1;
        batch.push(Record::decode(Position::Line { line: lines }, record_of_line(&buf)));
        if batch.len() >= MAX_BATCH {
            if !flush(cx, &mut batch) {
                return Ok(());
            }
            if last_barrier.elapsed() >= cx.checkpoint_interval {
                last_barrier = Instant::now();
                if !send(cx, SourceMessage::Barrier(offsets(lines, bytes))) {
                    return Ok(());
                }
            }
        }
    }
}

/// Sends the batch if not empty; false when the runtime has gone away.
fn flush(cx: &SourceContext, batch: &mut Vec<crate::source::Record>) -> bool {
    if batch.is_empty() {
        return true;
    }
    let n = batch.len() as u64;
    cx.telemetry.sent(component::SOURCE, n);
    send(cx, SourceMessage::Batch(std::mem::replace(batch, Vec::with_capacity(MAX_BATCH))))
}
