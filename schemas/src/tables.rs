//! Arrow schemas of every output table. The Parquet sink writes exactly these schemas and the
//! tests read files back against them. Timestamps are UTC milliseconds; durations are `f64`
//! seconds with the `_s` suffix; names are snake_case and use the same words as the code and the
//! Prometheus metrics (`conversation`, `window`, `first_response`).
//!
//! Tables are written with Hive partitions by UTC date (`date=YYYY-MM-DD/`); the `date` column
//! comes from the path and is not stored inside the files.

use arrow_schema::{DataType, Field, Schema, SchemaRef, TimeUnit};
use std::sync::{Arc, OnceLock};

/// An output table: its name (also its folder under the output directory) and its schema.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Table {
    /// One row per conversation, written when the conversation ends.
    Conversations,
    /// One row per (tumbling window, channel), written when the window closes.
    WindowMetrics,
}

impl Table {
    /// Every table.
    pub const ALL: [Table; 2] = [Table::Conversations, Table::WindowMetrics];

    /// Folder and table name: `conversations`, `window_metrics`.
    pub fn name(self) -> &'static str {
        match self {
            Table::Conversations => "conversations",
            Table::WindowMetrics => "window_metrics",
        }
    }

    /// The Arrow schema of the table.
    pub fn schema(self) -> SchemaRef {
        match self {
            Table::Conversations => conversations_schema(),
            Table::WindowMetrics => window_metrics_schema(),
        }
    }
}

fn ts() -> DataType {
    DataType::Timestamp(TimeUnit::Millisecond, Some("+00:00".into()))
}

fn field(name: &str, data_type: DataType, nullable: bool, doc: &str) -> Field {
    Field::new(name, data_type, nullable).with_metadata([("doc".to_string(), doc.to_string())].into())
}

/// Schema of `conversations`: one row per conversation.
pub fn conversations_schema() -> SchemaRef {
    static SCHEMA: OnceLock<SchemaRef> = OnceLock::new();
    SCHEMA
        .get_or_init(|| {
            Arc::new(Schema::new(vec![
                field("conversation_id", DataType::Utf8, false, "the conversation (ticket) id"),
                field("channel", DataType::Utf8, false, "entry channel; `unknown` when no event named one"),
                field("customer_id", DataType::Utf8, true, "customer, from the first event that names one"),
                field("started_at", ts(), false, "event time of the earliest event of the conversation"),
                field("last_event_at", ts(), false, "event time of the latest event"),
                field(
                    "end_reason",
                    DataType::Utf8,
                    false,
                    "why the row was written: closed | idle_timeout | end_of_input",
                ),
                field("events", DataType::UInt32, false, "valid, non-duplicate events"),
                field("messages", DataType::UInt32, false, "messages of any role"),
                field("customer_messages", DataType::UInt32, false, "messages by the customer"),
                field("max_tier", DataType::UInt8, false, "highest tier reached: 1 bot, 2 agent, 3 expert"),
                field("first_customer_message_at", ts(), true, "earliest customer message"),
                field("first_response_at", ts(), true, "earliest bot, agent or expert message"),
                field(
                    "first_response_s",
                    DataType::Float64,
                    true,
                    "first response time: first customer message (or start, if a reply came first) to first response",
                ),
                field("first_handoff_at", ts(), true, "earliest handoff"),
                field("first_human_response_at", ts(), true, "first agent or expert message at or after human start"),
                field(
                    "first_human_response_s",
                    DataType::Float64,
                    true,
                    "first human response time: first handoff (or start, if a human replied without one) to first human message",
                ),
            ]))
        })
        .clone()
}

/// Schema of `window_metrics`: one row per tumbling window and channel that saw any activity.
pub fn window_metrics_schema() -> SchemaRef {
    static SCHEMA: OnceLock<SchemaRef> = OnceLock::new();
    SCHEMA
        .get_or_init(|| {
            Arc::new(Schema::new(vec![
                field("window_start", ts(), false, "inclusive start of the tumbling window"),
                field("window_end", ts(), false, "exclusive end of the tumbling window"),
                field("channel", DataType::Utf8, false, "entry channel of the conversations"),
                field(
                    "conversations_started",
                    DataType::UInt64,
                    false,
                    "conversations whose start is in the window",
                ),
                field("messages", DataType::UInt64, false, "messages whose event time is in the window"),
                field(
                    "first_responses",
                    DataType::UInt64,
                    false,
                    "first responses whose responding message is in the window",
                ),
                field("first_response_p50_s", DataType::Float64, true, "median first response time, seconds"),
                field(
                    "first_response_p90_s",
                    DataType::Float64,
                    true,
                    "90th percentile, linear interpolation",
                ),
                field(
                    "first_response_p99_s",
                    DataType::Float64,
                    true,
                    "99th percentile, linear interpolation",
                ),
                field(
                    "first_human_responses",
                    DataType::UInt64,
                    false,
                    "first human responses whose message is in the window",
                ),
                field(
                    "first_human_response_p50_s",
                    DataType::Float64,
                    true,
                    "median first human response time",
                ),
                field("first_human_response_p90_s", DataType::Float64, true, "90th percentile"),
            ]))
        })
        .clone()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn columns_are_snake_case_documented_and_unique() {
        for table in Table::ALL {
            let schema = table.schema();
            let mut names = std::collections::HashSet::new();
            for f in schema.fields() {
                assert!(
                    f.name().chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_'),
                    "{}.{} is not snake_case",
                    table.name(),
                    f.name()
                );
                assert!(f.metadata().get("doc").is_some_and(|d| !d.is_empty()), "{} lacks a doc", f.name());
                assert!(names.insert(f.name().clone()), "duplicate column {}", f.name());
            }
        }
    }

    #[test]
    fn conversations_has_the_contracted_columns() {
        let schema = conversations_schema();
        for c in ["conversation_id", "channel", "started_at", "first_response_s", "first_human_response_s"] {
            assert!(schema.field_with_name(c).is_ok(), "missing {c}");
        }
    }
}
