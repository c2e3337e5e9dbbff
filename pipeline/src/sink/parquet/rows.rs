//! Row types -> Arrow record batches with the schemas of `ticketpulse_schemas::tables`. The
//! column order here is checked against the schema by `RecordBatch::try_new`.

use crate::Result;
use crate::conversation::ConversationRow;
use crate::metrics::{ClosedWindow, quantile};
use arrow::array::{
    ArrayRef, Float64Array, StringArray, TimestampMillisecondArray, UInt8Array, UInt32Array, UInt64Array,
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

impl TableRow for ConversationRow {
    const TABLE: Table = Table::Conversations;

    fn date_ms(&self) -> i64 {
        self.started_at
    }

    fn to_batch(rows: &[&Self]) -> Result<RecordBatch> {
        let columns: Vec<ArrayRef> = vec![
            Arc::new(StringArray::from_iter_values(rows.iter().map(|r| &*r.conversation_id))),
            Arc::new(StringArray::from_iter_values(rows.iter().map(|r| &*r.channel))),
            Arc::new(StringArray::from(rows.iter().map(|r| r.customer_id.as_deref()).collect::<Vec<_>>())),
            ts(rows, |r| Some(r.started_at)),
            ts(rows, |r| Some(r.last_event_at)),
            Arc::new(StringArray::from_iter_values(rows.iter().map(|r| r.end_reason.as_str()))),
            u32s(rows, |r| r.events),
            u32s(rows, |r| r.messages),
            u32s(rows, |r| r.customer_messages),
            Arc::new(UInt8Array::from(rows.iter().map(|r| r.max_tier).collect::<Vec<_>>())),
            ts(rows, |r| r.first_customer_message_at),
            ts(rows, |r| r.first_response_at),
            f64s(rows, |r| r.first_response_s),
            ts(rows, |r| r.first_handoff_at),
            ts(rows, |r| r.first_human_response_at),
            f64s(rows, |r| r.first_human_response_s),
        ];
        Ok(RecordBatch::try_new(Self::TABLE.schema(), columns)?)
    }
}

/// Percentiles of a window's duration values.
struct Percentiles {
    p50: Option<f64>,
    p90: Option<f64>,
    p99: Option<f64>,
}

fn percentiles(values: &[f64]) -> Percentiles {
    let mut v = values.to_vec();
    Percentiles { p50: quantile(&mut v, 0.5), p90: quantile(&mut v, 0.9), p99: quantile(&mut v, 0.99) }
}

impl TableRow for ClosedWindow {
    const TABLE: Table = Table::WindowMetrics;

    fn date_ms(&self) -> i64 {
        self.start
    }

    fn to_batch(rows: &[&Self]) -> Result<RecordBatch> {
        let fr: Vec<Percentiles> = rows.iter().map(|r| percentiles(&r.aggregate.first_response_s)).collect();
        let fhr: Vec<Percentiles> =
            rows.iter().map(|r| percentiles(&r.aggregate.first_human_response_s)).collect();
        let pick = |p: &[Percentiles], f: fn(&Percentiles) -> Option<f64>| -> ArrayRef {
            Arc::new(Float64Array::from(p.iter().map(f).collect::<Vec<_>>()))
        };
        let columns: Vec<ArrayRef> = vec![
            ts(rows, |r| Some(r.start)),
            ts(rows, |r| Some(r.end)),
            Arc::new(StringArray::from_iter_values(rows.iter().map(|r| &*r.channel))),
            u64s(rows, |r| r.aggregate.conversations_started.max(0) as u64),
            u64s(rows, |r| r.aggregate.messages.max(0) as u64),
            u64s(rows, |r| r.aggregate.first_response_s.len() as u64),
            pick(&fr, |p| p.p50),
            pick(&fr, |p| p.p90),
            pick(&fr, |p| p.p99),
            u64s(rows, |r| r.aggregate.first_human_response_s.len() as u64),
            pick(&fhr, |p| p.p50),
            pick(&fhr, |p| p.p90),
        ];
        Ok(RecordBatch::try_new(Self::TABLE.schema(), columns)?)
    }
}
