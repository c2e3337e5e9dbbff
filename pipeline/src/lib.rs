//! ticketpulse's streaming library. Data flows one way:
//!
//! ```text
//! source (kafka | file | generator) --decode--> Record{position, Event | Invalid}
//!   -> runtime::Processor: dedup -> time (watermarks) -> conversation (lifecycle state)
//!        -> metrics (tumbling windows) -> sink (parquet, prometheus, dead_letter)
//! ```
//!
//! Control travels with the data: a source sends batches, heartbeats, checkpoint barriers and its
//! end on one channel, in order (see [`source::SourceMessage`]). At a barrier the runtime runs the
//! commit protocol of [`runtime::checkpoint`].

pub mod alerts;
pub mod config;
pub mod conversation;
pub mod decode;
pub mod dedup;
pub mod error;
pub mod health;
pub mod kafka;
pub mod limits;
pub mod metrics;
pub mod pii;
pub mod runtime;
pub mod sentiment;
pub mod sink;
pub mod source;
pub mod telemetry;
pub mod time;
pub mod topics;

pub use error::{Error, Result};
