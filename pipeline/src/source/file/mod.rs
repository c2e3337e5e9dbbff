//! The JSONL source: a file or stdin, one event per line. Resumes from a checkpoint by seeking
//! to the byte offset (files) or skipping the lines already read (stdin). Ends with a draining
//! [`super::SourceMessage::End`] at end of input.

mod config;
mod source;
#[cfg(test)]
mod tests;

pub use config::FileSourceConfig;
pub(crate) use source::{read_lines, resume_point};
