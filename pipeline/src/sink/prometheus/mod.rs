//! The Prometheus sink: business metrics from closed windows and written conversation rows, and
//! the HTTP endpoint serving every metric of [`crate::telemetry`] at `/metrics`.

mod server;

pub use server::{MetricsServer, MetricsServerConfig};

use crate::conversation::{ConversationRow, Target};
use crate::metrics::{Aggregate, ClosedWindow, Dimension, Sketch};
use crate::telemetry::Telemetry;

/// Adds what an emitted window row added since its previous revision (`previous`; all zero for a
/// first emission) to the business counters and histograms. Only rows of the primary tumbling
/// spec grouped by channel count, so each event is counted once and Prometheus agrees with those
/// `window_metrics` rows. A correction that lowers a count leaves the counter as it is (counters
/// only go up); the gauges and the table carry the corrected value.
pub fn record_window(t: &Telemetry, w: &ClosedWindow, previous: &Aggregate) {
    if w.group.0 == Dimension::Topic {
        let grew = (w.aggregate.conversations_started - previous.conversations_started).max(0) as u64;
        t.topic_conversations.with_label_values(&[&*w.group.1]).inc_by(grew);
        return;
    }
    if w.group.0 != Dimension::Channel {
        return;
    }
    let (a, p) = (&w.aggregate, previous);
    let channel = [&*w.group.1];
    let grew = |now: i64, before: i64| (now - before).max(0) as u64;
    t.conversations_started
        .with_label_values(&channel)
        .inc_by(grew(a.conversations_started, p.conversations_started));
    t.messages.with_label_values(&channel).inc_by(grew(a.messages, p.messages));
    t.resolved
        .with_label_values(&channel)
        .inc_by(grew(a.resolution.count() as i64, p.resolution.count() as i64));
    t.bot_contained.with_label_values(&channel).inc_by(grew(a.bot_contained, p.bot_contained));
    t.escalations.with_label_values(&[&*w.group.1, "2"]).inc_by(grew(a.escalated_tier2, p.escalated_tier2));
    t.escalations.with_label_values(&[&*w.group.1, "3"]).inc_by(grew(a.escalated_tier3, p.escalated_tier3));
    t.reopened.with_label_values(&channel).inc_by(grew(a.reopened, p.reopened));
    let satisfied = grew(a.csat_satisfied, p.csat_satisfied);
    let unsatisfied = grew(a.csat_ratings - a.csat_satisfied, p.csat_ratings - p.csat_satisfied);
    t.csat_ratings.with_label_values(&[&*w.group.1, "true"]).inc_by(satisfied);
    t.csat_ratings.with_label_values(&[&*w.group.1, "false"]).inc_by(unsatisfied);
    for target in Target::ALL {
        let i = target.index();
        let clocks = |outcome: &str| t.sla_clocks.with_label_values(&[&*w.group.1, target.as_str(), outcome]);
        clocks("met").inc_by(grew(a.sla_met[i], p.sla_met[i]));
        clocks("breached").inc_by(grew(a.sla_breached[i], p.sla_breached[i]));
    }
    for label in crate::sentiment::Label::ALL {
        let i = label as usize;
        t.customer_messages
            .with_label_values(&[&*w.group.1, label.as_str()])
            .inc_by(grew(a.sentiment[i], p.sentiment[i]));
    }
    t.angry_with_bot.with_label_values(&channel).inc_by(grew(a.angry_with_bot, p.angry_with_bot));
    let observe = |h: &prometheus::HistogramVec, now: &Sketch, before: &Sketch| {
        let h = h.with_label_values(&channel);
        for (v, n) in now.added_since(before) {
            for _ in 0..n {
                h.observe(v);
            }
        }
    };
    observe(&t.first_response, &a.first_response, &p.first_response);
    observe(&t.first_human_response, &a.first_human_response, &p.first_human_response);
    observe(&t.reply, &a.reply, &p.reply);
    observe(&t.resolution, &a.resolution, &p.resolution);
}

/// The latest tumbling window per channel and per tier, shown as gauges.
#[derive(Debug, Default)]
pub struct WindowGauges {
    /// Start of the window each group's gauges show.
    shown: std::collections::HashMap<(Dimension, std::sync::Arc<str>), i64>,
}

impl WindowGauges {
    /// Shows `w` if it is the latest window of its group (a correction of the latest window
    /// moves the gauges to the corrected values). Team rows are left to the tables: team names
    /// come from the data, not from a fixed set.
    pub fn show(&mut self, t: &Telemetry, w: &ClosedWindow) {
        let labels: [&str; 2] = match w.group.0 {
            Dimension::Channel => [&w.group.1, ""],
            Dimension::Tier => ["", &w.group.1],
            Dimension::Team | Dimension::Topic | Dimension::ChannelTopic => return,
        };
        let shown = self.shown.entry(w.group.clone()).or_insert(i64::MIN);
        if w.start < *shown {
            return;
        }
        *shown = w.start;
        let a = &w.aggregate;
        let [channel, tier] = labels;
        t.window_end.with_label_values(&labels).set(w.end as f64 / 1000.0);
        t.backlog.with_label_values(&labels).set(a.backlog as f64);
        t.window_sentiment.with_label_values(&labels).set(a.sentiment_mean().unwrap_or(f64::NAN));
        t.oldest_wait.with_label_values(&labels).set(a.oldest_wait_ms as f64 / 1000.0);
        let counts: [(&str, i64); 11] = [
            ("conversations_started", a.conversations_started),
            ("messages", a.messages),
            ("resolved", a.resolution.count() as i64),
            ("bot_contained", a.bot_contained),
            ("escalated_tier2", a.escalated_tier2),
            ("escalated_tier3", a.escalated_tier3),
            ("reopened", a.reopened),
            ("csat_ratings", a.csat_ratings),
            ("night_starts", a.night_starts),
            ("sla_breached", a.sla_breached.iter().sum()),
            ("angry_with_bot", a.angry_with_bot),
        ];
        for (measure, v) in counts {
            t.window_count.with_label_values(&[measure, channel, tier]).set(v as f64);
        }
        for (measure, sketch) in a.durations() {
            for (q, label) in [(0.5, "0.5"), (0.9, "0.9"), (0.99, "0.99")] {
                let g = t.window_seconds.with_label_values(&[measure, label, channel, tier]);
                g.set(sketch.quantile(q).unwrap_or(f64::NAN));
            }
        }
        for (name, v) in a.rates() {
            t.window_ratio.with_label_values(&[name, channel, tier]).set(v.unwrap_or(f64::NAN));
        }
    }
}

/// Counts a written conversation row.
pub fn record_conversation(t: &Telemetry, row: &ConversationRow) {
    t.conversations_ended.with_label_values(&[&*row.channel, row.end_reason.as_str()]).inc();
}
