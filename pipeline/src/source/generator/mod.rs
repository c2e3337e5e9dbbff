//! The built-in deterministic generator as a source: it generates the whole seeded stream (see
//! [`generate`]) and reads it like a JSONL file, so decoding, positions and resume behave exactly
//! as for files. Used by the embedded demo (which produces it into Kafka instead) and by tests.

pub mod generate;
mod vocab;

pub use generate::{GeneratedSummary, GeneratorConfig, SpikeSpec, generate};

use crate::source::file::read_lines;
use crate::source::{SourceContext, SourceHandle};
use crate::{Error, Result};
use std::io::{Cursor, Seek, SeekFrom};

impl GeneratorConfig {
    /// The origin recorded in checkpoints.
    pub fn origin(&self) -> String {
        format!("generator:{}:{}", self.seed, self.conversations)
    }

    /// Generates the stream and starts reading it on a thread of its own.
    pub fn spawn(&self, cx: SourceContext) -> Result<SourceHandle> {
        let (lines, _) = generate(self).map_err(|e| Error::config("source.generator", e.to_string()))?;
        let origin = self.origin();
        let thread = std::thread::Builder::new()
            .name("source-generator".into())
            .spawn(move || {
                let mut text = lines.join("\n").into_bytes();
                text.push(b'\n');
                let start = crate::source::file::resume_point(&origin, cx.resume.as_ref())?;
                let mut cursor = Cursor::new(text);
                cursor.seek(SeekFrom::Start(start.1)).map_err(|e| Error::io("seeking in", "generator", e))?;
                read_lines(cursor, &origin, start, &cx)
            })
            .map_err(|e| Error::io("starting a thread for", "source-generator", e))?;
        Ok(SourceHandle { thread, committer: None })
    }
}
