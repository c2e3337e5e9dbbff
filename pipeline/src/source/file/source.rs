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
        let mut input = StdinLines::spawn(cx.max_record_bytes)?;
        input
            .skip(lines, &cx.stop)
            .map_err(|e| Error::io("skipping already processed lines of", "stdin", e))?;
        return read_lines(input, &origin, (lines, bytes), &cx);
    }
    let mut file = File::open(path).map_err(|e| Error::io("opening", path, e))?;
    file.seek(SeekFrom::Start(bytes)).map_err(|e| Error::io("seeking in", path, e))?;
    read_lines(BufReader::with_capacity(1 << 20, file), &origin, (lines, bytes), &cx)
}

/// What reading the next line gave.
pub(crate) enum NextLine {
    /// A line (with its newline, if it had one) is in the buffer, cut after `max + 1` bytes;
    /// its whole length in bytes.
    Line(usize),
    /// Nothing arrived for a while (only inputs that can wait, like a pipe).
    Waiting,
    /// The input has ended.
    End,
}

/// A source of lines: a file (never waits) or stdin (may wait for a writer).
pub(crate) trait LineInput {
    /// Reads the next line into `buf` (cleared first), keeping at most `max + 1` bytes of it;
    /// [`NextLine::Line`] carries the line's whole length.
    fn next_line(&mut self, buf: &mut Vec<u8>, max: usize) -> std::io::Result<NextLine>;
}

impl<R: BufRead> LineInput for R {
    fn next_line(&mut self, buf: &mut Vec<u8>, max: usize) -> std::io::Result<NextLine> {
        let n = read_line_bounded(self, buf, max)?;
        Ok(if n == 0 { NextLine::End } else { NextLine::Line(n) })
    }
}

/// Reads up to and including the next `\n` (or to the end), keeping at most `max + 1` bytes in
/// `buf` (cleared first) and skipping the rest: a huge line never sits in memory. Returns the
/// line's whole length in bytes.
pub(crate) fn read_line_bounded(
    r: &mut impl BufRead,
    buf: &mut Vec<u8>,
    max: usize,
) -> std::io::Result<usize> {
    buf.clear();
    let mut total = 0;
    loop {
        let chunk = match r.fill_buf() {
            Ok(c) => c,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(e),
        };
        if chunk.is_empty() {
            return Ok(total);
        }
        let (take, done) = match chunk.iter().position(|&b| b == b'\n') {
            Some(i) => (i + 1, true),
            None => (chunk.len(), false),
        };
        let room = (max + 1).saturating_sub(buf.len());
        buf.extend_from_slice(&chunk[..take.min(room)]);
        r.consume(take);
        total += take;
        if done {
            return Ok(total);
        }
    }
}

/// Stdin read on a thread of its own, so that the read loop notices stop requests, flushes its
/// batch and takes its checkpoints while a writer is silent.
pub(crate) struct StdinLines {
    rx: std::sync::mpsc::Receiver<std::io::Result<(Vec<u8>, usize)>>,
}

impl StdinLines {
    fn spawn(max: usize) -> Result<Self> {
        let (tx, rx) = std::sync::mpsc::sync_channel(4096);
        std::thread::Builder::new()
            .name("stdin-reader".into())
            .spawn(move || {
                let mut stdin = std::io::stdin().lock();
                loop {
                    let mut line = Vec::new();
                    match read_line_bounded(&mut stdin, &mut line, max) {
                        Ok(0) => return,
                        Ok(size) => {
                            if tx.send(Ok((line, size))).is_err() {
                                return;
                            }
                        }
                        Err(e) => {
                            let _ = tx.send(Err(e));
                            return;
                        }
                    }
                }
            })
            .map_err(|e| Error::io("starting a thread for", "stdin", e))?;
        Ok(StdinLines { rx })
    }

    /// Discards `n` lines (already processed before a restart), giving up on a stop request.
    fn skip(&mut self, n: u64, stop: &crate::source::StopSignal) -> std::io::Result<()> {
        let mut buf = Vec::new();
        let mut skipped = 0;
        while skipped < n && !stop.is_stopping() {
            match self.next_line(&mut buf, 0)? {
                NextLine::Line(_) => skipped += 1,
                NextLine::Waiting => {}
                NextLine::End => break,
            }
        }
        Ok(())
    }
}

impl LineInput for StdinLines {
    /// (The reader thread already cut lines at its own `max`.)
    fn next_line(&mut self, buf: &mut Vec<u8>, _max: usize) -> std::io::Result<NextLine> {
        use std::sync::mpsc::RecvTimeoutError;
        match self.rx.recv_timeout(std::time::Duration::from_millis(100)) {
            Ok(line) => {
                let (line, size) = line?;
                *buf = line;
                Ok(NextLine::Line(size))
            }
            Err(RecvTimeoutError::Timeout) => Ok(NextLine::Waiting),
            Err(RecvTimeoutError::Disconnected) => Ok(NextLine::End),
        }
    }
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

/// Reads `input` to its end (or a stop request), starting after `start` = (lines, bytes).
/// Batches are sent when full or when the input waits; a barrier follows a sent batch (or a
/// wait) once the checkpoint interval has passed.
pub(crate) fn read_lines(
    mut input: impl LineInput,
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
            if flush(cx, &mut batch) {
                send(cx, SourceMessage::End { offsets: offsets(lines, bytes), drain: false });
            }
            return Ok(());
        }
        let waiting = match input
            .next_line(&mut buf, cx.max_record_bytes)
            .map_err(|e| Error::io("reading", origin, e))?
        {
            NextLine::End => {
                if flush(cx, &mut batch) {
                    send(cx, SourceMessage::End { offsets: offsets(lines, bytes), drain: true });
                }
                return Ok(());
            }
            NextLine::Waiting => true,
            NextLine::Line(size) => {
                bytes += size as u64;
                lines += 1;
                let record = record_of_line(&buf);
                let size = size - (buf.len() - record.len()).min(size);
                batch.push(Record::decode(Position::Line { line: lines }, record, size, cx.max_record_bytes));
                false
            }
        };
        // a steady trickle (never waiting, never filling a batch) is still flushed and checkpointed
        let due = lines % 64 == 0 && last_barrier.elapsed() >= cx.checkpoint_interval;
        if waiting || due || batch.len() >= MAX_BATCH {
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
    cx.telemetry.received(component::SOURCE, n);
    cx.telemetry.sent(component::SOURCE, n);
    send(cx, SourceMessage::Batch(std::mem::replace(batch, Vec::with_capacity(MAX_BATCH))))
}
