//! Settings of the file source.

use super::source::run;
use crate::source::{SourceContext, SourceHandle};
use serde::{Deserialize, Serialize};
use std::path::PathBuf;

/// Settings of the JSONL file source, as written under `[source.file]`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FileSourceConfig {
    /// The JSONL file to read; `-` reads stdin.
    pub path: PathBuf,
}

impl FileSourceConfig {
    /// The origin recorded in checkpoints: the path as given.
    pub fn origin(&self) -> String {
        self.path.display().to_string()
    }

    /// Starts reading on a thread of its own.
    pub fn spawn(&self, cx: SourceContext) -> crate::Result<SourceHandle> {
        let path = self.path.clone();
        let thread = std::thread::Builder::new()
            .name("source-file".into())
            .spawn(move || run(&path, cx))
            .map_err(|e| crate::Error::io("starting a thread for", "source-file", e))?;
        Ok(SourceHandle { thread, committer: None })
    }
}
