//! The contracts of ticketpulse, in one place: the input event (version 1 of
//! `../shared/spec/conversation-events.md`, also as `conversation-events.schema.json` beside this
//! crate) and the Arrow schema of every output table. Sinks build their batches from
//! [`tables`], so a column exists in exactly one definition.

pub mod event;
pub mod tables;

pub use event::{Event, EventKind, EventType, Role};

/// The JSON Schema of the input contract, as shipped in `schemas/conversation-events.schema.json`.
pub const EVENT_JSON_SCHEMA: &str = include_str!("../conversation-events.schema.json");
