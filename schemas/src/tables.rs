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
    /// One row per conversation revision, written when it settles or its state is evicted.
    Conversations,
    /// One row per (window, group, revision), written when the window closes and when late data corrects it.
    WindowMetrics,
    /// One row per message (customer messages with their sentiment), written as it arrives.
    Messages,
    /// One row per signal event (an angry customer still with the bot: raised, withdrawn).
    Signals,
    /// One row per topic of each fitted topic model version.
    Topics,
    /// One row per spike alert lifecycle event (pending, firing, cancelled, resolved).
    Alerts,
}

impl Table {
    /// Every table.
    pub const ALL: [Table; 6] = [
        Table::Conversations,
        Table::WindowMetrics,
        Table::Messages,
        Table::Signals,
        Table::Topics,
        Table::Alerts,
    ];

    /// Folder and table name: `conversations`, `window_metrics`.
    pub fn name(self) -> &'static str {
        match self {
            Table::Conversations => "conversations",
            Table::WindowMetrics => "window_metrics",
            Table::Messages => "messages",
            Table::Signals => "signals",
            Table::Topics => "topics",
            Table::Alerts => "alerts",
        }
    }

    /// The Arrow schema of the table.
    pub fn schema(self) -> SchemaRef {
        match self {
            Table::Conversations => conversations_schema(),
            Table::WindowMetrics => window_metrics_schema(),
            Table::Messages => messages_schema(),
            Table::Signals => signals_schema(),
            Table::Topics => topics_schema(),
            Table::Alerts => alerts_schema(),
        }
    }
}

fn ts() -> DataType {
    DataType::Timestamp(TimeUnit::Millisecond, Some("+00:00".into()))
}

fn field(name: &str, data_type: DataType, nullable: bool, doc: &str) -> Field {
    Field::new(name, data_type, nullable).with_metadata([("doc".to_string(), doc.to_string())].into())
}

/// Schema of `conversations`: one row per conversation revision (analysts take the latest
/// `revision` of each `conversation_id`).
pub fn conversations_schema() -> SchemaRef {
    static SCHEMA: OnceLock<SchemaRef> = OnceLock::new();
    SCHEMA
        .get_or_init(|| {
            use DataType::{Boolean, Float32, Float64, UInt8, UInt32, Utf8};
            let reasons = DataType::List(Arc::new(Field::new("item", Utf8, true)));
            let columns: Vec<(&str, DataType, bool, &str)> = vec![
                ("conversation_id", Utf8, false, "the conversation (ticket) id"),
                (
                    "revision",
                    UInt32,
                    false,
                    "1 for the first row of the conversation, then +1 per later row; take the latest",
                ),
                (
                    "channel",
                    Utf8,
                    false,
                    "entry channel, from the earliest event naming one; `unknown` if none does",
                ),
                ("team", Utf8, true, "team, from the earliest event naming one"),
                ("customer_id", Utf8, true, "customer, from the earliest event naming one"),
                ("agent_id", Utf8, true, "agent or expert named on the earliest human message naming one"),
                ("status", Utf8, false, "after the latest event: open | resolved | closed"),
                (
                    "end_reason",
                    Utf8,
                    false,
                    "why this revision was written: resolved | closed | idle_timeout | end_of_input",
                ),
                ("started_at", ts(), false, "event time of the earliest event of the conversation"),
                ("last_event_at", ts(), false, "event time of the latest event"),
                ("events", UInt32, false, "valid, non-duplicate events"),
                ("messages", UInt32, false, "messages of any role"),
                ("customer_messages", UInt32, false, "messages by the customer"),
                ("bot_messages", UInt32, false, "messages by the bot"),
                ("agent_messages", UInt32, false, "messages by agents"),
                ("expert_messages", UInt32, false, "messages by experts"),
                ("system_messages", UInt32, false, "system messages (never a turn or a reply)"),
                ("first_customer_message_at", ts(), true, "earliest customer message"),
                ("first_response_at", ts(), true, "earliest bot, agent or expert message"),
                (
                    "first_response_s",
                    Float64,
                    true,
                    "first customer message (or start, if a reply came first) to first response",
                ),
                ("first_handoff_at", ts(), true, "earliest handoff"),
                (
                    "first_human_response_at",
                    ts(),
                    true,
                    "first agent or expert message at or after the human start",
                ),
                (
                    "first_human_response_s",
                    Float64,
                    true,
                    "first handoff (or start, if a human replied without one) to first human message",
                ),
                ("replies", UInt32, false, "answered customer turns"),
                (
                    "reply_mean_s",
                    Float64,
                    true,
                    "mean reply time: customer turn to the next bot/agent/expert message",
                ),
                ("reply_p50_s", Float64, true, "median reply time"),
                ("reply_max_s", Float64, true, "longest reply time"),
                ("waiting_since", ts(), true, "start of a customer turn still waiting for a reply"),
                ("handoffs", UInt32, false, "handoff events"),
                ("max_tier", UInt8, false, "highest tier reached: 1 bot, 2 agent, 3 expert"),
                ("handoff_reasons", reasons, false, "distinct handoff reasons, sorted"),
                ("resolved", Boolean, false, "resolved at least once"),
                ("first_resolved_at", ts(), true, "earliest resolved event"),
                ("first_resolution_s", Float64, true, "start to the first resolved"),
                ("full_resolution_s", Float64, true, "start to the latest resolved"),
                ("reopens", UInt32, false, "reopened events"),
                ("bot_contained", Boolean, false, "resolved with no handoff and no human message"),
                ("one_touch", Boolean, false, "resolved with at most one human message"),
                ("csat_rating", UInt8, true, "the latest CSAT rating, 1..5"),
                ("night", Boolean, false, "started in the night range (conversation.night, local time)"),
                (
                    "business_first_response_s",
                    Float64,
                    true,
                    "first response time counting business hours of the team's calendar only",
                ),
                (
                    "business_first_human_response_s",
                    Float64,
                    true,
                    "first human response time in business hours",
                ),
                ("business_first_resolution_s", Float64, true, "first resolution time in business hours"),
                (
                    "sla_first_response",
                    Utf8,
                    true,
                    "met | breached | pending; null without a first-response target",
                ),
                (
                    "sla_next_reply",
                    Utf8,
                    true,
                    "over every customer turn: breached if any was, else pending if any is, else met",
                ),
                ("sla_resolution", Utf8, true, "met | breached | pending; null without a resolution target"),
                ("sla_breaches", UInt32, false, "SLA clocks breached (as of when the revision was written)"),
                ("sentiment_first", Float32, true, "sentiment of the first scored customer message, -1..1"),
                ("sentiment_last", Float32, true, "sentiment of the last customer message"),
                ("sentiment_min", Float32, true, "the lowest customer sentiment"),
                ("sentiment_mean", Float32, true, "the mean customer sentiment"),
                (
                    "sentiment_trajectory",
                    Utf8,
                    true,
                    "improved | worsened | flat (last minus first beyond 0.2)",
                ),
                (
                    "turned_negative",
                    Boolean,
                    false,
                    "a customer message that was not negative was followed by a negative one",
                ),
                (
                    "angry_with_bot_at",
                    ts(),
                    true,
                    "when the customer became angry while still with the bot (conversation.angry_with_bot)",
                ),
                (
                    "topic_id",
                    UInt32,
                    true,
                    "stable id of the ticket's topic (the first customer messages), once a model exists",
                ),
                ("topic_label", Utf8, true, "that topic's top terms when it was assigned"),
                ("topic_model_version", UInt32, true, "the topic model version that assigned it"),
            ];
            Arc::new(Schema::new(
                columns.into_iter().map(|(n, t, null, doc)| field(n, t, null, doc)).collect::<Vec<_>>(),
            ))
        })
        .clone()
}

/// Schema of `window_metrics`: one row per window, group and revision that saw any activity.
/// A row is grouped by one `dimension`; the other group columns are null.
pub fn window_metrics_schema() -> SchemaRef {
    static SCHEMA: OnceLock<SchemaRef> = OnceLock::new();
    SCHEMA
        .get_or_init(|| {
            use DataType::{Float64, UInt8, UInt32, UInt64, Utf8};
            let mut columns: Vec<(String, DataType, bool, String)> = Vec::new();
            let mut col = |n: &str, t: DataType, null: bool, doc: &str| {
                columns.push((n.to_string(), t, null, doc.to_string()));
            };
            col("window_kind", Utf8, false, "tumbling | hopping");
            col("window_start", ts(), false, "inclusive start of the window");
            col("window_end", ts(), false, "exclusive end of the window");
            col("dimension", Utf8, false, "what the row is grouped by: channel | team | tier | topic | channel_topic (channel and topic both set)");
            col("channel", Utf8, true, "the channel, on rows grouped by channel");
            col("team", Utf8, true, "the team, on rows grouped by team");
            col(
                "tier",
                UInt8,
                true,
                "on rows grouped by tier: the tier a conversation was at when each counted event happened",
            );
            col(
                "topic",
                Utf8,
                true,
                "on rows grouped by topic: a top topic's id (topics.top), or other; conversations count from when their topic was assigned",
            );
            col(
                "revision",
                UInt32,
                false,
                "1 when the window closed, +1 per correction by late data; take the latest",
            );
            col("conversations_started", UInt64, false, "conversations whose start is in the window");
            col("messages", UInt64, false, "messages whose event time is in the window");
            let durations = [
                (
                    "first_response",
                    "first_responses",
                    "first responses whose responding message is in the window",
                ),
                (
                    "first_human_response",
                    "first_human_responses",
                    "first human responses whose human message is in the window",
                ),
                ("reply", "replies", "replies (to a customer turn) in the window"),
                (
                    "resolution",
                    "resolved",
                    "first resolutions in the window; durations are start to first resolved",
                ),
            ];
            for (name, count, doc) in durations {
                col(count, UInt64, false, doc);
                col(&format!("{name}_mean_s"), Float64, true, "exact mean, seconds");
                for p in ["p50", "p90", "p99"] {
                    col(
                        &format!("{name}_{p}_s"),
                        Float64,
                        true,
                        "quantile, seconds, within 1% (log-bucket sketch)",
                    );
                }
            }
            col("resolution_rate", Float64, true, "resolved / conversations_started");
            col("bot_contained", UInt64, false, "first resolutions with no handoff and no human message");
            col("bot_containment_rate", Float64, true, "bot_contained / resolved");
            col("escalated_tier2", UInt64, false, "first handoffs past the bot in the window");
            col("escalation_tier2_rate", Float64, true, "escalated_tier2 / conversations_started");
            col("escalated_tier3", UInt64, false, "first handoffs to an expert in the window");
            col("escalation_tier3_rate", Float64, true, "escalated_tier3 / conversations_started");
            col("reopened", UInt64, false, "reopened events in the window");
            col("reopen_rate", Float64, true, "reopened / resolved");
            col("csat_ratings", UInt64, false, "CSAT ratings in the window");
            col("csat_satisfied", UInt64, false, "ratings of 4 or 5");
            col("csat_satisfied_share", Float64, true, "csat_satisfied / csat_ratings");
            col(
                "backlog",
                UInt64,
                false,
                "conversations waiting for a human (handed off, no human reply yet) at the window end",
            );
            col(
                "oldest_wait_s",
                Float64,
                true,
                "how long the longest-waiting of them had waited at the window end",
            );
            col("customer_messages_negative", UInt64, false, "scored customer messages labelled negative");
            col("customer_messages_neutral", UInt64, false, "labelled neutral");
            col("customer_messages_positive", UInt64, false, "labelled positive");
            col("negative_share", Float64, true, "negative / scored customer messages");
            col("sentiment_mean", Float64, true, "mean score of the scored customer messages, -1..1");
            col(
                "angry_with_bot",
                UInt64,
                false,
                "sentiment escalation signals: customers angry while still with the bot",
            );
            col("night_starts", UInt64, false, "conversations started in the night range");
            col("night_share", Float64, true, "night_starts / conversations_started");
            for t in ["first_response", "next_reply", "resolution"] {
                col(&format!("sla_{t}_met"), UInt64, false, "SLA clocks met by an event in the window");
                col(
                    &format!("sla_{t}_breached"),
                    UInt64,
                    false,
                    "SLA clocks whose deadline passed unmet in the window",
                );
                col(&format!("sla_{t}_compliance"), Float64, true, "met / (met + breached)");
            }
            Arc::new(Schema::new(
                columns.into_iter().map(|(n, t, null, doc)| field(&n, t, null, &doc)).collect::<Vec<_>>(),
            ))
        })
        .clone()
}

/// Schema of `messages`: one row per message, with the sentiment of customer messages.
pub fn messages_schema() -> SchemaRef {
    static SCHEMA: OnceLock<SchemaRef> = OnceLock::new();
    SCHEMA
        .get_or_init(|| {
            Arc::new(Schema::new(vec![
                field("event_id", DataType::Utf8, false, "the message's event id"),
                field("conversation_id", DataType::Utf8, false, "its conversation"),
                field("ts", ts(), false, "event time"),
                field("role", DataType::Utf8, false, "customer | bot | agent | expert | system"),
                field("lang", DataType::Utf8, false, "zh | en | mixed: the event's lang hint, else detected"),
                field("score", DataType::Float32, true, "sentiment in [-1, 1], customer messages only"),
                field("label", DataType::Utf8, true, "negative | neutral | positive, customer messages only"),
                field(
                    "text",
                    DataType::Utf8,
                    false,
                    "the message text, personal data masked (<PHONE>, <EMAIL>, <ID>, <CARD>, configured tokens)",
                ),
            ]))
        })
        .clone()
}

/// Schema of `signals`: one row per signal event. A signal is raised when a conversation meets
/// the `conversation.angry_with_bot` rule and withdrawn (same `signal_id`) if late data shows it
/// did not; the live signals are the raised ones without a later withdrawal.
pub fn signals_schema() -> SchemaRef {
    static SCHEMA: OnceLock<SchemaRef> = OnceLock::new();
    SCHEMA
        .get_or_init(|| {
            Arc::new(Schema::new(vec![
                field(
                    "signal_id",
                    DataType::Utf8,
                    false,
                    "<kind>:<conversation_id>:<at ms>, the same for a raise and its withdrawal",
                ),
                field("kind", DataType::Utf8, false, "angry_with_bot"),
                field("action", DataType::Utf8, false, "raised | withdrawn"),
                field("at", ts(), false, "event time of the customer message that met the rule"),
                field("conversation_id", DataType::Utf8, false, "the conversation"),
                field("channel", DataType::Utf8, false, "its channel"),
                field("team", DataType::Utf8, true, "its team"),
                field("customer_id", DataType::Utf8, true, "its customer"),
                field(
                    "trigger",
                    DataType::Utf8,
                    false,
                    "negative_in_a_row | below: the part of the rule met",
                ),
                field("score", DataType::Float32, false, "sentiment of that message, -1..1"),
                field(
                    "negative_in_a_row",
                    DataType::UInt32,
                    false,
                    "negative customer messages in a row up to it",
                ),
                field("watermark", ts(), true, "event-time watermark when the signal was emitted"),
            ]))
        })
        .clone()
}

/// Schema of `topics`: one row per topic of each fitted model version (the latest version is
/// the current model).
pub fn topics_schema() -> SchemaRef {
    static SCHEMA: OnceLock<SchemaRef> = OnceLock::new();
    SCHEMA
        .get_or_init(|| {
            Arc::new(Schema::new(vec![
                field(
                    "model_version",
                    DataType::UInt32,
                    false,
                    "the model version, 1, 2, ... (one per refit)",
                ),
                field("fitted_at", ts(), false, "event time (watermark) of the fit"),
                field(
                    "topic_id",
                    DataType::UInt32,
                    false,
                    "stable id: kept across refits by the most similar topic",
                ),
                field("label", DataType::Utf8, false, "the top terms, joined by spaces"),
                field(
                    "terms",
                    DataType::List(Arc::new(Field::new("item", DataType::Utf8, true))),
                    false,
                    "the top terms (class-based TF-IDF), most telling first",
                ),
                field("size", DataType::UInt64, false, "tickets of the fit in the topic"),
                field("share", DataType::Float64, false, "its share of the fit's tickets"),
                field(
                    "emerging",
                    DataType::Boolean,
                    false,
                    "new in this version: no previous topic matched it",
                ),
                field(
                    "matched_similarity",
                    DataType::Float32,
                    true,
                    "cosine similarity to the previous topic whose id it kept",
                ),
                field(
                    "top",
                    DataType::Boolean,
                    false,
                    "among the topics.top largest: its own window rows and Prometheus series",
                ),
            ]))
        })
        .clone()
}

/// Schema of `alerts`: one row per spike alert lifecycle event; the latest row of an `alert_id`
/// is its current state.
pub fn alerts_schema() -> SchemaRef {
    static SCHEMA: OnceLock<SchemaRef> = OnceLock::new();
    SCHEMA
        .get_or_init(|| {
            use DataType::{Float64, UInt32, Utf8};
            let list = || DataType::List(Arc::new(Field::new("item", Utf8, true)));
            Arc::new(Schema::new(vec![
                field("alert_id", Utf8, false, "<kind>:<dimension>:<group>:<start ms>: the same for every event of one alert"),
                field("event_id", Utf8, false, "<alert_id>:<state>: identifies the event"),
                field("state", Utf8, false, "pending | firing | cancelled | resolved"),
                field("kind", Utf8, false, "volume | sla_breach_rate | negative_share"),
                field("dimension", Utf8, false, "channel | topic | channel_topic"),
                field("series_group", Utf8, false, "the series' group: weibo, 7, weibo/7"),
                field("channel", Utf8, true, "the channel of a channel or channel_topic series"),
                field("topic_id", UInt32, true, "the topic id of a topic or channel_topic series"),
                field("severity", Utf8, false, "warning | critical (from the peak's ratio to its expectation)"),
                field("window_start", ts(), false, "start of the detection window that caused the event"),
                field("window_end", ts(), false, "its end: when, in event time, the event happened"),
                field("started_at", ts(), false, "start of the alert's first hot window"),
                field("ended_at", ts(), true, "end of its last hot window (cancelled, resolved)"),
                field("observed", Float64, false, "observed in the window: a count, or a rate 0..1"),
                field("expected", Float64, false, "expected from the seasonal baseline"),
                field("score", Float64, false, "distance from the expectation in units of noise (Poisson or binomial, widened by the history spread)"),
                field("peak_at", ts(), false, "start of the hottest window so far"),
                field("peak_observed", Float64, false, "observed at the peak"),
                field("peak_expected", Float64, false, "expected at the peak"),
                field("peak_score", Float64, false, "score at the peak"),
                field("terms", list(), false, "the topic's label terms when the alert began (topic series)"),
                field("sample_conversation_ids", list(), false, "conversations of the spiking topic in the window"),
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
