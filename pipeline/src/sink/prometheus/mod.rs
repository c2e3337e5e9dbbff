//! The Prometheus sink: business metrics from closed windows and written conversation rows, and
//! the HTTP endpoint serving every metric of [`crate::telemetry`] at `/metrics`.

mod server;

pub use server::{MetricsServer, MetricsServerConfig};

use crate::conversation::ConversationRow;
use crate::metrics::ClosedWindow;
use crate::telemetry::Telemetry;

/// Adds a closed window to the business counters and histograms (so Prometheus agrees with the
/// `window_metrics` table).
pub fn record_window(t: &Telemetry, w: &ClosedWindow) {
    let channel = [&*w.channel];
    t.conversations_started
        .with_label_values(&channel)
        .inc_by(w.aggregate.conversations_started.max(0) as u64);
    t.messages.with_label_values(&channel).inc_by(w.aggregate.messages.max(0) as u64);
    let frt = t.first_response.with_label_values(&channel);
    for &v in &w.aggregate.first_response_s {
        frt.observe(v);
    }
    let fhrt = t.first_human_response.with_label_values(&channel);
    for &v in &w.aggregate.first_human_response_s {
        fhrt.observe(v);
    }
}

/// Counts a written conversation row.
pub fn record_conversation(t: &Telemetry, row: &ConversationRow) {
    t.conversations_ended.with_label_values(&[&*row.channel, row.end_reason.as_str()]).inc();
}
