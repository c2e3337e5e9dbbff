//! Row types -> Arrow record batches with the schemas of `ticketpulse_schemas::tables`. Columns
//! are matched by position: `RecordBatch::try_new` checks their number and types, and the tests
//! check values by column name.

use crate::Result;
use crate::conversation::ConversationRow;
use crate::metrics::{ClosedWindow, Dimension};
use arrow::array::{
    ArrayRef, BooleanArray, Float32Array, Float64Array, ListBuilder, StringArray, StringBuilder,
    TimestampMillisecondArray, UInt8Array, UInt32Array, UInt64Array,
};
use arrow::record_batch::RecordBatch;
use std::sync::Arc;
use ticketpulse_schemas::tables::Table;

/// A row type of one output table.
pub trait TableRow {
    /// The table it belongs to.
    const TABLE: Table;
    /// The time (epoch ms) whose UTC date is the row's Hive partition.
    fn date_ms(&self) -> i64;
    /// The rows as one batch with the table's schema.
    fn to_batch(rows: &[&Self]) -> Result<RecordBatch>
    where
        Self: Sized;
}

fn ts<T>(rows: &[&T], f: impl Fn(&T) -> Option<i64>) -> ArrayRef {
    Arc::new(
        TimestampMillisecondArray::from(rows.iter().map(|r| f(r)).collect::<Vec<_>>())
            .with_timezone("+00:00"),
    )
}

fn f64s<T>(rows: &[&T], f: impl Fn(&T) -> Option<f64>) -> ArrayRef {
    Arc::new(Float64Array::from(rows.iter().map(|r| f(r)).collect::<Vec<_>>()))
}

fn u64s<T>(rows: &[&T], f: impl Fn(&T) -> u64) -> ArrayRef {
    Arc::new(UInt64Array::from(rows.iter().map(|r| f(r)).collect::<Vec<_>>()))
}

fn u32s<T>(rows: &[&T], f: impl Fn(&T) -> u32) -> ArrayRef {
    Arc::new(UInt32Array::from(rows.iter().map(|r| f(r)).collect::<Vec<_>>()))
}

fn f32s<T>(rows: &[&T], f: impl Fn(&T) -> Option<f32>) -> ArrayRef {
    Arc::new(Float32Array::from(rows.iter().map(|r| f(r)).collect::<Vec<_>>()))
}

fn u8s<T>(rows: &[&T], f: impl Fn(&T) -> Option<u8>) -> ArrayRef {
    Arc::new(UInt8Array::from(rows.iter().map(|r| f(r)).collect::<Vec<_>>()))
}

fn bools<T>(rows: &[&T], f: impl Fn(&T) -> bool) -> ArrayRef {
    Arc::new(BooleanArray::from(rows.iter().map(|r| f(r)).collect::<Vec<_>>()))
}

fn string_lists<'a, T: 'a, I: Iterator<Item = &'a str>>(rows: &[&'a T], f: impl Fn(&'a T) -> I) -> ArrayRef {
    let mut lists = ListBuilder::new(StringBuilder::new());
    for r in rows {
        for s in f(r) {
            lists.values().append_value(s);
        }
        lists.append(true);
    }
    Arc::new(lists.finish())
}

fn strs<'a, T: 'a>(rows: &[&'a T], f: impl Fn(&'a T) -> Option<&'a str>) -> ArrayRef {
    Arc::new(StringArray::from(rows.iter().map(|r| f(r)).collect::<Vec<_>>()))
}

impl TableRow for ConversationRow {
    const TABLE: Table = Table::Conversations;

    fn date_ms(&self) -> i64 {
        self.started_at
    }

    fn to_batch(rows: &[&Self]) -> Result<RecordBatch> {
        let by_role = |i: usize| u32s(rows, move |r| r.messages_by_role[i]);
        let columns: Vec<ArrayRef> = vec![
            strs(rows, |r| Some(&*r.conversation_id)),
            u32s(rows, |r| r.revision),
            strs(rows, |r| Some(&*r.channel)),
            strs(rows, |r| r.team.as_deref()),
            strs(rows, |r| r.customer_id.as_deref()),
            strs(rows, |r| r.agent_id.as_deref()),
            strs(rows, |r| Some(r.status.as_str())),
            strs(rows, |r| Some(r.end_reason.as_str())),
            ts(rows, |r| Some(r.started_at)),
            ts(rows, |r| Some(r.last_event_at)),
            u32s(rows, |r| r.events),
            u32s(rows, |r| r.messages()),
            by_role(0),
            by_role(1),
            by_role(2),
            by_role(3),
            by_role(4),
            ts(rows, |r| r.first_customer_message_at),
            ts(rows, |r| r.first_response_at),
            f64s(rows, |r| r.first_response_s),
            ts(rows, |r| r.first_handoff_at),
            ts(rows, |r| r.first_human_response_at),
            f64s(rows, |r| r.first_human_response_s),
            u32s(rows, |r| r.replies),
            f64s(rows, |r| r.reply_mean_s),
            f64s(rows, |r| r.reply_p50_s),
            f64s(rows, |r| r.reply_max_s),
            ts(rows, |r| r.waiting_since),
            u32s(rows, |r| r.handoffs),
            u8s(rows, |r| Some(r.max_tier)),
            string_lists(rows, |r| r.handoff_reasons.iter().map(|x| &**x)),
            bools(rows, |r| r.resolved),
            ts(rows, |r| r.first_resolved_at),
            f64s(rows, |r| r.first_resolution_s),
            f64s(rows, |r| r.full_resolution_s),
            u32s(rows, |r| r.reopens),
            bools(rows, |r| r.bot_contained),
            bools(rows, |r| r.one_touch),
            u8s(rows, |r| r.csat_rating),
            bools(rows, |r| r.night),
            f64s(rows, |r| r.business_first_response_s),
            f64s(rows, |r| r.business_first_human_response_s),
            f64s(rows, |r| r.business_first_resolution_s),
            strs(rows, |r| r.sla_first_response.map(|o| o.as_str())),
            strs(rows, |r| r.sla_next_reply.map(|o| o.as_str())),
            strs(rows, |r| r.sla_resolution.map(|o| o.as_str())),
            u32s(rows, |r| r.sla_breaches),
            f32s(rows, |r| r.sentiment_first),
            f32s(rows, |r| r.sentiment_last),
            f32s(rows, |r| r.sentiment_min),
            f32s(rows, |r| r.sentiment_mean),
            strs(rows, |r| r.sentiment_trajectory.as_deref()),
            bools(rows, |r| r.turned_negative),
            ts(rows, |r| r.angry_with_bot_at),
            Arc::new(UInt32Array::from(rows.iter().map(|r| r.topic_id).collect::<Vec<_>>())),
            strs(rows, |r| r.topic_label.as_deref()),
            Arc::new(UInt32Array::from(rows.iter().map(|r| r.topic_model_version).collect::<Vec<_>>())),
        ];
        Ok(RecordBatch::try_new(Self::TABLE.schema(), columns)?)
    }
}

/// The group value of a window row grouped by `d`.
/// The value of group column `d` of a row: its group when grouped by `d`; a `channel_topic` row
/// (`weibo/7`) fills both the channel and the topic column.
fn group(r: &ClosedWindow, d: Dimension) -> Option<&str> {
    match (r.group.0, d) {
        (Dimension::ChannelTopic, Dimension::Channel) => r.group.1.rsplit_once('/').map(|p| p.0),
        (Dimension::ChannelTopic, Dimension::Topic) => r.group.1.rsplit_once('/').map(|p| p.1),
        (g, d) => (g == d).then_some(&*r.group.1),
    }
}

/// The `i`-th duration sketch of a window, in the column order of the schema.
fn sketch(r: &ClosedWindow, i: usize) -> &crate::metrics::Sketch {
    r.aggregate.durations()[i].1
}

impl TableRow for ClosedWindow {
    const TABLE: Table = Table::WindowMetrics;

    fn date_ms(&self) -> i64 {
        self.start
    }

    fn to_batch(rows: &[&Self]) -> Result<RecordBatch> {
        let mut columns: Vec<ArrayRef> = vec![
            strs(rows, |r| Some(r.spec.kind())),
            ts(rows, |r| Some(r.start)),
            ts(rows, |r| Some(r.end)),
            strs(rows, |r| Some(r.group.0.as_str())),
            strs(rows, |r| group(r, Dimension::Channel)),
            strs(rows, |r| group(r, Dimension::Team)),
            u8s(rows, |r| (r.group.0 == Dimension::Tier).then(|| r.group.1.parse().ok()).flatten()),
            strs(rows, |r| group(r, Dimension::Topic)),
            u32s(rows, |r| r.revision),
            u64s(rows, |r| r.aggregate.conversations_started.max(0) as u64),
            u64s(rows, |r| r.aggregate.messages.max(0) as u64),
        ];
        for i in 0..4 {
            columns.push(u64s(rows, |r| sketch(r, i).count()));
            columns.push(f64s(rows, |r| sketch(r, i).mean_s()));
            for q in [0.5, 0.9, 0.99] {
                columns.push(f64s(rows, |r| sketch(r, i).quantile(q)));
            }
        }
        let count =
            |f: fn(&crate::metrics::Aggregate) -> i64| u64s(rows, move |r| f(&r.aggregate).max(0) as u64);
        // rates come from their one definition, `Aggregate::rates`
        let rate = |name: &'static str| f64s(rows, move |r| r.aggregate.rate(name));
        let value = |f: fn(&crate::metrics::Aggregate) -> Option<f64>| f64s(rows, move |r| f(&r.aggregate));
        columns.extend([
            rate("resolution"),
            count(|a| a.bot_contained),
            rate("bot_containment"),
            count(|a| a.escalated_tier2),
            rate("escalation_tier2"),
            count(|a| a.escalated_tier3),
            rate("escalation_tier3"),
            count(|a| a.reopened),
            rate("reopen"),
            count(|a| a.csat_ratings),
            count(|a| a.csat_satisfied),
            rate("csat_satisfied"),
            count(|a| a.backlog),
            value(|a| (a.backlog > 0).then(|| a.oldest_wait_ms as f64 / 1000.0)),
            count(|a| a.sentiment[0]),
            count(|a| a.sentiment[1]),
            count(|a| a.sentiment[2]),
            rate("sentiment_negative"),
            value(crate::metrics::Aggregate::sentiment_mean),
            count(|a| a.angry_with_bot),
            count(|a| a.night_starts),
            rate("night"),
        ]);
        for (t, compliance) in
            ["sla_first_response_compliance", "sla_next_reply_compliance", "sla_resolution_compliance"]
                .into_iter()
                .enumerate()
        {
            columns.push(u64s(rows, move |r| r.aggregate.sla_met[t].max(0) as u64));
            columns.push(u64s(rows, move |r| r.aggregate.sla_breached[t].max(0) as u64));
            columns.push(rate(compliance));
        }
        Ok(RecordBatch::try_new(Self::TABLE.schema(), columns)?)
    }
}

/// One row of the `messages` table.
#[derive(Debug, Clone, PartialEq)]
pub struct MessageRow {
    /// The event id.
    pub event_id: String,
    /// Its conversation.
    pub conversation_id: String,
    /// Event time, epoch ms.
    pub ts: i64,
    /// Who wrote it.
    pub role: ticketpulse_schemas::Role,
    /// Its language.
    pub lang: crate::sentiment::Lang,
    /// Sentiment of a customer message.
    pub sentiment: Option<crate::sentiment::Sentiment>,
    /// The text, personal data masked.
    pub text: String,
}

impl TableRow for MessageRow {
    const TABLE: Table = Table::Messages;

    fn date_ms(&self) -> i64 {
        self.ts
    }

    fn to_batch(rows: &[&Self]) -> Result<RecordBatch> {
        let roles: Vec<String> = rows.iter().map(|r| r.role.to_string()).collect();
        let columns: Vec<ArrayRef> = vec![
            strs(rows, |r| Some(r.event_id.as_str())),
            strs(rows, |r| Some(r.conversation_id.as_str())),
            ts(rows, |r| Some(r.ts)),
            Arc::new(StringArray::from_iter_values(roles.iter())),
            strs(rows, |r| Some(r.lang.as_str())),
            f32s(rows, |r| r.sentiment.map(|s| s.score)),
            strs(rows, |r| r.sentiment.map(|s| s.label.as_str())),
            strs(rows, |r| Some(r.text.as_str())),
        ];
        Ok(RecordBatch::try_new(Self::TABLE.schema(), columns)?)
    }
}

impl TableRow for crate::conversation::Signal {
    const TABLE: Table = Table::Signals;

    fn date_ms(&self) -> i64 {
        self.at
    }

    fn to_batch(rows: &[&Self]) -> Result<RecordBatch> {
        let ids: Vec<String> = rows.iter().map(|r| r.signal_id()).collect();
        let columns: Vec<ArrayRef> = vec![
            Arc::new(StringArray::from_iter_values(ids.iter())),
            strs(rows, |r| Some(r.kind.as_str())),
            strs(rows, |r| Some(r.action.as_str())),
            ts(rows, |r| Some(r.at)),
            strs(rows, |r| Some(&*r.conversation_id)),
            strs(rows, |r| Some(&*r.channel)),
            strs(rows, |r| r.team.as_deref()),
            strs(rows, |r| r.customer_id.as_deref()),
            strs(rows, |r| Some(r.trigger.as_str())),
            f32s(rows, |r| Some(r.score)),
            u32s(rows, |r| r.negative_in_a_row),
            ts(rows, |r| crate::time::finite(r.watermark)),
        ];
        Ok(RecordBatch::try_new(Self::TABLE.schema(), columns)?)
    }
}

impl TableRow for crate::topics::TopicRow {
    const TABLE: Table = Table::Topics;

    fn date_ms(&self) -> i64 {
        self.fitted_at
    }

    fn to_batch(rows: &[&Self]) -> Result<RecordBatch> {
        let labels: Vec<String> = rows.iter().map(|r| r.terms.join(" ")).collect();
        let columns: Vec<ArrayRef> = vec![
            u32s(rows, |r| r.model_version),
            ts(rows, |r| Some(r.fitted_at)),
            u32s(rows, |r| r.topic_id),
            Arc::new(StringArray::from_iter_values(labels.iter())),
            string_lists(rows, |r| r.terms.iter().map(String::as_str)),
            u64s(rows, |r| r.size),
            f64s(rows, |r| Some(r.share)),
            bools(rows, |r| r.emerging),
            f32s(rows, |r| r.matched_similarity),
            bools(rows, |r| r.top),
        ];
        Ok(RecordBatch::try_new(Self::TABLE.schema(), columns)?)
    }
}

impl TableRow for crate::alerts::AlertRow {
    const TABLE: Table = Table::Alerts;

    fn date_ms(&self) -> i64 {
        self.window_end
    }

    fn to_batch(rows: &[&Self]) -> Result<RecordBatch> {
        let ids: Vec<String> = rows.iter().map(|r| r.event_id()).collect();
        let columns: Vec<ArrayRef> = vec![
            strs(rows, |r| Some(r.event.alert_id.as_str())),
            Arc::new(StringArray::from_iter_values(ids.iter())),
            strs(rows, |r| Some(crate::alerts::state_name(r.event.state))),
            strs(rows, |r| Some(r.event.series.kind.as_str())),
            strs(rows, |r| Some(r.event.series.dimension.as_str())),
            strs(rows, |r| Some(r.event.series.group.as_str())),
            strs(rows, |r| r.channel.as_deref()),
            Arc::new(UInt32Array::from(rows.iter().map(|r| r.topic_id).collect::<Vec<_>>())),
            strs(rows, |r| Some(r.event.severity.as_str())),
            ts(rows, |r| Some(r.event.window_start)),
            ts(rows, |r| Some(r.window_end)),
            ts(rows, |r| Some(r.event.started_at)),
            ts(rows, |r| r.event.ended_at),
            f64s(rows, |r| Some(r.event.observed)),
            f64s(rows, |r| Some(r.event.expected)),
            f64s(rows, |r| Some(r.event.score)),
            ts(rows, |r| Some(r.event.peak_at)),
            f64s(rows, |r| Some(r.event.peak_observed)),
            f64s(rows, |r| Some(r.event.peak_expected)),
            f64s(rows, |r| Some(r.event.peak_score)),
            string_lists(rows, |r| r.terms.iter().map(String::as_str)),
            string_lists(rows, |r| r.samples.iter().map(String::as_str)),
        ];
        Ok(RecordBatch::try_new(Self::TABLE.schema(), columns)?)
    }
}
