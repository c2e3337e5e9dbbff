//! Every metric ticketpulse exports, defined in one place (business metrics and the pipeline's own).
//! Names follow Prometheus conventions: `ticketpulse_` prefix, base units (`_seconds`), `_total`
//! for counters, histograms for durations. Labels come from small fixed sets (channel, component,
//! reason, table, partition), never from ids or user text.
//!
//! Business metrics are updated when a window closes (so they agree with the `window_metrics`
//! table row for row) or when a conversation row is written.

use prometheus::{
    Encoder, GaugeVec, Histogram, HistogramOpts, HistogramVec, IntCounter, IntCounterVec, IntGauge,
    IntGaugeVec, Opts, Registry, TextEncoder,
};

/// The stages that report events in, events out and errors.
pub mod component {
    /// Reads records from Kafka, a file or the generator.
    pub const SOURCE: &str = "source";
    /// Turns bytes into events or invalid records.
    pub const DECODE: &str = "decode";
    /// Drops repeated event ids.
    pub const DEDUP: &str = "dedup";
    /// Per-conversation lifecycle state.
    pub const CONVERSATION: &str = "conversation";
    /// Tumbling-window aggregates.
    pub const WINDOW: &str = "window";
    /// Parquet tables.
    pub const SINK_PARQUET: &str = "sink_parquet";
    /// Dead-letter output.
    pub const SINK_DEAD_LETTER: &str = "sink_dead_letter";
    /// Takes and commits checkpoints (errors only: a failed attempt, retried).
    pub const CHECKPOINT: &str = "checkpoint";
    /// Every component that passes events on, for pre-registering label values.
    pub const ALL: [&str; 7] = [SOURCE, DECODE, DEDUP, CONVERSATION, WINDOW, SINK_PARQUET, SINK_DEAD_LETTER];

    /// The errors each component can report (`error` label values), pre-registered at zero;
    /// the decoder's are the invalid-record reasons.
    pub const ERRORS: [(&str, &str); 8] = [
        (SOURCE, "kafka"),
        (SOURCE, "offset_commit"),
        (DEDUP, "duplicate"),
        (CONVERSATION, "conversation_ended"),
        (WINDOW, "closed_window"),
        (SINK_PARQUET, "write"),
        (SINK_DEAD_LETTER, "write"),
        (CHECKPOINT, "write"),
    ];
}

/// Bucket bounds (seconds) for response-time histograms: from a bot's second to a day.
pub const RESPONSE_BUCKETS: [f64; 16] = [
    1.0, 2.0, 5.0, 10.0, 20.0, 30.0, 60.0, 120.0, 300.0, 600.0, 1800.0, 3600.0, 7200.0, 14400.0, 43200.0,
    86400.0,
];

/// Bucket bounds (seconds) for resolution-time histograms: from a minute to two weeks.
pub const RESOLUTION_BUCKETS: [f64; 14] = [
    60.0, 300.0, 600.0, 1800.0, 3600.0, 7200.0, 14400.0, 28800.0, 43200.0, 86400.0, 172800.0, 345600.0,
    604800.0, 1209600.0,
];

/// Labels of the spike-detection gauges: what a series measures, its dimension and group.
pub const SERIES_LABELS: [&str; 3] = ["kind", "dimension", "group"];

/// Labels of the recent-window gauges: the group, each empty when it does not apply.
pub const WINDOW_GROUP_LABELS: [&str; 2] = ["channel", "tier"];

/// Handles to every metric, registered in one [`Registry`].
#[derive(Clone)]
pub struct Telemetry {
    registry: Registry,
    /// `ticketpulse_conversations_started_total{channel}`
    pub conversations_started: IntCounterVec,
    /// `ticketpulse_conversations_ended_total{channel,end_reason}`
    pub conversations_ended: IntCounterVec,
    /// `ticketpulse_messages_total{channel}`
    pub messages: IntCounterVec,
    /// `ticketpulse_first_response_seconds{channel}`
    pub first_response: HistogramVec,
    /// `ticketpulse_first_human_response_seconds{channel}`
    pub first_human_response: HistogramVec,
    /// `ticketpulse_reply_seconds{channel}`
    pub reply: HistogramVec,
    /// `ticketpulse_resolution_seconds{channel}`: start to first resolution.
    pub resolution: HistogramVec,
    /// `ticketpulse_conversations_resolved_total{channel}`: first resolutions.
    pub resolved: IntCounterVec,
    /// `ticketpulse_conversations_bot_contained_total{channel}`
    pub bot_contained: IntCounterVec,
    /// `ticketpulse_escalations_total{channel,tier}`: first handoffs past the bot (tier 2) and to an expert (tier 3).
    pub escalations: IntCounterVec,
    /// `ticketpulse_conversations_reopened_total{channel}`: `reopened` events.
    pub reopened: IntCounterVec,
    /// `ticketpulse_csat_ratings_total{channel,satisfied}`
    pub csat_ratings: IntCounterVec,
    /// `ticketpulse_sla_clocks_total{channel,target,outcome}`: SLA clocks met or breached (a
    /// breach counted in the window of its deadline).
    pub sla_clocks: IntCounterVec,
    /// `ticketpulse_customer_messages_total{channel,label}`: scored customer messages by sentiment label.
    pub customer_messages: IntCounterVec,
    /// `ticketpulse_angry_with_bot_total{channel}`: sentiment escalation signals (angry customer still with the bot).
    pub angry_with_bot: IntCounterVec,
    /// `ticketpulse_signals_total{kind,action,channel}`: signal events as they are emitted
    /// (raised the moment the message meeting the rule is processed; withdrawn by late data).
    pub signals: IntCounterVec,
    /// `ticketpulse_topic_conversations_total{topic}`: conversations started, by topic group (a
    /// top topic's id or `other`), added when a tumbling window closes.
    pub topic_conversations: IntCounterVec,
    /// `ticketpulse_topic_info{topic,label}`: 1 for each top topic of the current model.
    pub topic_info: prometheus::IntGaugeVec,
    /// `ticketpulse_topic_model_version`: the current topic model version (0 before the first fit).
    pub topic_model_version: IntGauge,
    /// `ticketpulse_spike_score{kind,dimension,group}`: the latest spike score of each watched
    /// series ((observed − expected) / σ over the detection window).
    pub spike_score: GaugeVec,
    /// `ticketpulse_spike_observed{kind,dimension,group}`: its observed value (a count or a rate).
    pub spike_observed: GaugeVec,
    /// `ticketpulse_spike_expected{kind,dimension,group}`: its expected value.
    pub spike_expected: GaugeVec,
    /// `ticketpulse_alerts_firing{kind,dimension,group,severity,terms}`: 1 for each firing alert.
    pub alerts_firing: IntGaugeVec,
    /// `ticketpulse_alert_events_total{kind,state}`: alert lifecycle events.
    pub alert_events: IntCounterVec,
    /// `ticketpulse_webhook_deliveries_total{result}`: webhook posts (ok, retried, dropped).
    pub webhook_deliveries: IntCounterVec,
    /// `ticketpulse_pii_masked_total{kind}`: spans of personal data masked.
    pub pii_masked: IntCounterVec,
    /// `ticketpulse_window_sentiment{channel,tier}`: mean customer sentiment of the latest tumbling window.
    pub window_sentiment: GaugeVec,
    /// `ticketpulse_window_count{measure,channel,tier}`: counts of the latest tumbling window.
    pub window_count: GaugeVec,
    /// `ticketpulse_window_seconds{measure,quantile,channel,tier}`: duration quantiles of the latest tumbling window.
    pub window_seconds: GaugeVec,
    /// `ticketpulse_window_ratio{ratio,channel,tier}`: rates of the latest tumbling window.
    pub window_ratio: GaugeVec,
    /// `ticketpulse_backlog_conversations{channel,tier}`: waiting for a human at the end of the latest tumbling window.
    pub backlog: GaugeVec,
    /// `ticketpulse_backlog_oldest_wait_seconds{channel,tier}`: the longest of those waits.
    pub oldest_wait: GaugeVec,
    /// `ticketpulse_window_end_timestamp_seconds{channel,tier}`: end of the window the gauges show.
    pub window_end: GaugeVec,
    /// `ticketpulse_window_corrections_total`: window rows re-emitted because late data changed them.
    pub window_corrections: IntCounter,
    /// `ticketpulse_component_received_events_total{component}`
    pub received: IntCounterVec,
    /// `ticketpulse_component_sent_events_total{component}`
    pub sent: IntCounterVec,
    /// `ticketpulse_component_errors_total{component,error}`
    pub errors: IntCounterVec,
    /// `ticketpulse_invalid_events_total{reason}`
    pub invalid: IntCounterVec,
    /// `ticketpulse_duplicate_events_total`
    pub duplicates: IntCounter,
    /// `ticketpulse_late_events_total`: events older than the watermark minus the allowed lateness.
    pub late: IntCounter,
    /// `ticketpulse_dead_letter_events_total{reason}`
    pub dead_letters: IntCounterVec,
    /// `ticketpulse_consumer_lag{partition}`: records between the consumer position and the high watermark.
    pub consumer_lag: IntGaugeVec,
    /// `ticketpulse_watermark_timestamp_seconds`
    pub watermark: IntGauge,
    /// `ticketpulse_watermark_delay_seconds`: wall clock minus the watermark.
    pub watermark_delay: IntGauge,
    /// `ticketpulse_open_conversations`
    pub open_conversations: IntGauge,
    /// `ticketpulse_open_windows`
    pub open_windows: IntGauge,
    /// `ticketpulse_dedup_entries`
    pub dedup_entries: IntGauge,
    /// `ticketpulse_rows_written_total{table}`
    pub rows_written: IntCounterVec,
    /// `ticketpulse_files_committed_total{table}`
    pub files_committed: IntCounterVec,
    /// `ticketpulse_checkpoints_total`
    pub checkpoints: IntCounter,
    /// `ticketpulse_checkpoints_deferred_total`: barriers let pass because the last checkpoint
    /// ended too recently for its duration (checkpoints take at most about a quarter of the time).
    pub checkpoints_deferred: IntCounter,
    /// `ticketpulse_checkpoint_duration_seconds`
    pub checkpoint_duration: Histogram,
    /// `ticketpulse_last_checkpoint_timestamp_seconds`
    pub last_checkpoint: IntGauge,
    /// `ticketpulse_kafka_brokers_up`: brokers the source's consumer is connected to.
    pub kafka_brokers_up: IntGauge,
    /// `ticketpulse_assigned_partitions`: input partitions this instance owns.
    pub assigned_partitions: IntGauge,
    /// `ticketpulse_healthy` and `ticketpulse_health_check_failing{check}`, and `/health`.
    pub health: crate::health::Health,
}

impl std::fmt::Debug for Telemetry {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Telemetry")
    }
}

fn counter_vec(r: &Registry, name: &str, help: &str, labels: &[&str]) -> prometheus::Result<IntCounterVec> {
    let m = IntCounterVec::new(Opts::new(name, help), labels)?;
    r.register(Box::new(m.clone()))?;
    Ok(m)
}

fn gauge(r: &Registry, name: &str, help: &str) -> prometheus::Result<IntGauge> {
    let m = IntGauge::new(name, help)?;
    r.register(Box::new(m.clone()))?;
    Ok(m)
}

fn int_gauge_vec(r: &Registry, name: &str, help: &str, labels: &[&str]) -> prometheus::Result<IntGaugeVec> {
    let m = IntGaugeVec::new(Opts::new(name, help), labels)?;
    r.register(Box::new(m.clone()))?;
    Ok(m)
}

fn gauge_vec(r: &Registry, name: &str, help: &str, labels: &[&str]) -> prometheus::Result<GaugeVec> {
    let m = GaugeVec::new(Opts::new(name, help), labels)?;
    r.register(Box::new(m.clone()))?;
    Ok(m)
}

fn histogram_vec(r: &Registry, name: &str, help: &str, labels: &[&str]) -> prometheus::Result<HistogramVec> {
    buckets_vec(r, name, help, labels, &RESPONSE_BUCKETS)
}

fn buckets_vec(
    r: &Registry,
    name: &str,
    help: &str,
    labels: &[&str],
    buckets: &[f64],
) -> prometheus::Result<HistogramVec> {
    let m = HistogramVec::new(HistogramOpts::new(name, help).buckets(buckets.to_vec()), labels)?;
    r.register(Box::new(m.clone()))?;
    Ok(m)
}

impl Telemetry {
    /// Creates and registers every metric in a fresh registry.
    pub fn new() -> prometheus::Result<Self> {
        let r = Registry::new();
        let counter = |name: &str, help: &str| -> prometheus::Result<IntCounter> {
            let m = IntCounter::new(name, help)?;
            r.register(Box::new(m.clone()))?;
            Ok(m)
        };
        let checkpoint_duration = Histogram::with_opts(
            HistogramOpts::new(
                "ticketpulse_checkpoint_duration_seconds",
                "Time to take and commit one checkpoint.",
            )
            .buckets(vec![0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0]),
        )?;
        r.register(Box::new(checkpoint_duration.clone()))?;
        let t = Telemetry {
            conversations_started: counter_vec(
                &r,
                "ticketpulse_conversations_started_total",
                "Conversations started, counted when their window closes.",
                &["channel"],
            )?,
            conversations_ended: counter_vec(
                &r,
                "ticketpulse_conversations_ended_total",
                "Conversation rows written, by why the conversation ended.",
                &["channel", "end_reason"],
            )?,
            messages: counter_vec(
                &r,
                "ticketpulse_messages_total",
                "Messages, counted when their window closes.",
                &["channel"],
            )?,
            first_response: histogram_vec(
                &r,
                "ticketpulse_first_response_seconds",
                "First response time (first customer message to first bot/agent/expert message).",
                &["channel"],
            )?,
            first_human_response: histogram_vec(
                &r,
                "ticketpulse_first_human_response_seconds",
                "First human response time (handoff to first agent/expert message).",
                &["channel"],
            )?,
            reply: histogram_vec(
                &r,
                "ticketpulse_reply_seconds",
                "Reply time (a customer turn to the next bot/agent/expert message).",
                &["channel"],
            )?,
            resolution: buckets_vec(
                &r,
                "ticketpulse_resolution_seconds",
                "First resolution time (start to first resolved).",
                &["channel"],
                &RESOLUTION_BUCKETS,
            )?,
            resolved: counter_vec(
                &r,
                "ticketpulse_conversations_resolved_total",
                "Conversations resolved for the first time, counted when their window closes.",
                &["channel"],
            )?,
            bot_contained: counter_vec(
                &r,
                "ticketpulse_conversations_bot_contained_total",
                "Resolutions with no handoff and no human message.",
                &["channel"],
            )?,
            escalations: counter_vec(
                &r,
                "ticketpulse_escalations_total",
                "First handoffs past the bot (tier 2) and first handoffs to an expert (tier 3).",
                &["channel", "tier"],
            )?,
            reopened: counter_vec(
                &r,
                "ticketpulse_conversations_reopened_total",
                "Reopened events.",
                &["channel"],
            )?,
            csat_ratings: counter_vec(
                &r,
                "ticketpulse_csat_ratings_total",
                "CSAT ratings; satisfied = rating 4 or 5.",
                &["channel", "satisfied"],
            )?,
            sla_clocks: counter_vec(
                &r,
                "ticketpulse_sla_clocks_total",
                "SLA clocks by outcome: met (at the stopping event) or breached (at the deadline).",
                &["channel", "target", "outcome"],
            )?,
            customer_messages: counter_vec(
                &r,
                "ticketpulse_customer_messages_total",
                "Scored customer messages by sentiment label (negative, neutral, positive).",
                &["channel", "label"],
            )?,
            angry_with_bot: counter_vec(
                &r,
                "ticketpulse_angry_with_bot_total",
                "Customers angry while still with the bot (conversation.angry_with_bot), at the message that made them so.",
                &["channel"],
            )?,
            signals: counter_vec(
                &r,
                "ticketpulse_signals_total",
                "Signal events (kind angry_with_bot) as emitted: raised at the message meeting the rule, withdrawn when late data cancels one.",
                &["kind", "action", "channel"],
            )?,
            topic_conversations: counter_vec(
                &r,
                "ticketpulse_topic_conversations_total",
                "Conversations started, by topic group: a top topic's id (topics.top) or other; added when a tumbling window closes.",
                &["topic"],
            )?,
            topic_info: int_gauge_vec(
                &r,
                "ticketpulse_topic_info",
                "1 for each top topic of the current model, with its label.",
                &["topic", "label"],
            )?,
            topic_model_version: gauge(
                &r,
                "ticketpulse_topic_model_version",
                "The current topic model version (0 before the first fit).",
            )?,
            spike_score: gauge_vec(
                &r,
                "ticketpulse_spike_score",
                "Latest spike score of each watched series: distance of the observed from the expected value in units of noise, over the detection window (alerts.window).",
                &SERIES_LABELS,
            )?,
            spike_observed: gauge_vec(
                &r,
                "ticketpulse_spike_observed",
                "Observed value of each watched series over the latest detection window (a count, or a rate 0..1).",
                &SERIES_LABELS,
            )?,
            spike_expected: gauge_vec(
                &r,
                "ticketpulse_spike_expected",
                "Expected value of each watched series over the latest detection window (seasonal baseline).",
                &SERIES_LABELS,
            )?,
            alerts_firing: int_gauge_vec(
                &r,
                "ticketpulse_alerts_firing",
                "1 for each firing spike alert, with its topic's label terms.",
                &["kind", "dimension", "group", "severity", "terms"],
            )?,
            alert_events: counter_vec(
                &r,
                "ticketpulse_alert_events_total",
                "Spike alert lifecycle events: pending, firing, cancelled, resolved.",
                &["kind", "state"],
            )?,
            webhook_deliveries: counter_vec(
                &r,
                "ticketpulse_webhook_deliveries_total",
                "Alert webhook posts: ok, retried (a failed attempt), dropped (retries exhausted).",
                &["result"],
            )?,
            pii_masked: counter_vec(
                &r,
                "ticketpulse_pii_masked_total",
                "Spans of personal data masked in texts and dead letters, by kind (phone, email, id_number, bank_card, or a configured pattern's name).",
                &["kind"],
            )?,
            window_sentiment: gauge_vec(
                &r,
                "ticketpulse_window_sentiment",
                "Mean customer sentiment (-1..1) of the latest closed tumbling window.",
                &WINDOW_GROUP_LABELS,
            )?,
            window_count: gauge_vec(
                &r,
                "ticketpulse_window_count",
                "Counts of the latest closed tumbling window (moves when late data corrects it).",
                &["measure", "channel", "tier"],
            )?,
            window_seconds: gauge_vec(
                &r,
                "ticketpulse_window_seconds",
                "Duration quantiles of the latest closed tumbling window (sketch, 1% relative error).",
                &["measure", "quantile", "channel", "tier"],
            )?,
            window_ratio: gauge_vec(
                &r,
                "ticketpulse_window_ratio",
                "Rates of the latest closed tumbling window, 0..1.",
                &["ratio", "channel", "tier"],
            )?,
            backlog: gauge_vec(
                &r,
                "ticketpulse_backlog_conversations",
                "Conversations waiting for a human (handed off, no human reply yet) at the end of the latest tumbling window.",
                &WINDOW_GROUP_LABELS,
            )?,
            oldest_wait: gauge_vec(
                &r,
                "ticketpulse_backlog_oldest_wait_seconds",
                "How long the longest-waiting conversation had waited for a human at the end of the latest tumbling window.",
                &WINDOW_GROUP_LABELS,
            )?,
            window_end: gauge_vec(
                &r,
                "ticketpulse_window_end_timestamp_seconds",
                "End of the tumbling window the window gauges show.",
                &WINDOW_GROUP_LABELS,
            )?,
            window_corrections: counter(
                "ticketpulse_window_corrections_total",
                "Window rows emitted again because late data changed them.",
            )?,
            received: counter_vec(
                &r,
                "ticketpulse_component_received_events_total",
                "Events a component received.",
                &["component"],
            )?,
            sent: counter_vec(
                &r,
                "ticketpulse_component_sent_events_total",
                "Events a component passed on.",
                &["component"],
            )?,
            errors: counter_vec(
                &r,
                "ticketpulse_component_errors_total",
                "Events a component could not process, by error.",
                &["component", "error"],
            )?,
            invalid: counter_vec(
                &r,
                "ticketpulse_invalid_events_total",
                "Invalid input records, by reason.",
                &["reason"],
            )?,
            duplicates: counter(
                "ticketpulse_duplicate_events_total",
                "Events dropped because their event_id was seen.",
            )?,
            late: counter(
                "ticketpulse_late_events_total",
                "Events older than the watermark minus the allowed lateness (kept in conversations, not in windows).",
            )?,
            dead_letters: counter_vec(
                &r,
                "ticketpulse_dead_letter_events_total",
                "Records written to the dead-letter output, by reason.",
                &["reason"],
            )?,
            consumer_lag: int_gauge_vec(
                &r,
                "ticketpulse_consumer_lag",
                "Kafka records not yet consumed, per partition.",
                &["partition"],
            )?,
            watermark: gauge(
                &r,
                "ticketpulse_watermark_timestamp_seconds",
                "Current event-time watermark (epoch seconds).",
            )?,
            watermark_delay: gauge(
                &r,
                "ticketpulse_watermark_delay_seconds",
                "Wall-clock time minus the watermark.",
            )?,
            open_conversations: gauge(&r, "ticketpulse_open_conversations", "Conversations held in state.")?,
            open_windows: gauge(&r, "ticketpulse_open_windows", "Windows not yet closed.")?,
            dedup_entries: gauge(
                &r,
                "ticketpulse_dedup_entries",
                "Event ids remembered for duplicate detection.",
            )?,
            rows_written: counter_vec(
                &r,
                "ticketpulse_rows_written_total",
                "Rows committed to a table.",
                &["table"],
            )?,
            files_committed: counter_vec(
                &r,
                "ticketpulse_files_committed_total",
                "Files committed to a table.",
                &["table"],
            )?,
            checkpoints: counter("ticketpulse_checkpoints_total", "Checkpoints committed.")?,
            checkpoints_deferred: counter(
                "ticketpulse_checkpoints_deferred_total",
                "Checkpoint barriers let pass because the last checkpoint ended too recently for its duration.",
            )?,
            checkpoint_duration,
            last_checkpoint: gauge(
                &r,
                "ticketpulse_last_checkpoint_timestamp_seconds",
                "When the last checkpoint committed.",
            )?,
            kafka_brokers_up: gauge(
                &r,
                "ticketpulse_kafka_brokers_up",
                "Kafka brokers the source's consumer is connected to (from its statistics, every second).",
            )?,
            assigned_partitions: gauge(
                &r,
                "ticketpulse_assigned_partitions",
                "Input partitions assigned to this instance by the consumer group.",
            )?,
            health: crate::health::Health::new(
                gauge(&r, "ticketpulse_healthy", "1 while no health check fails (see /health), else 0.")?,
                int_gauge_vec(
                    &r,
                    "ticketpulse_health_check_failing",
                    "1 while the check fails: kafka_brokers, kafka_delivery, checkpoint.",
                    &["check"],
                )?,
            ),
            registry: r,
        };
        t.preregister();
        Ok(t)
    }

    /// Makes the fixed label values visible (at 0) before the first event, so dashboards and
    /// alerts see the series from the start.
    fn preregister(&self) {
        for c in component::ALL {
            self.received.with_label_values(&[c]);
            self.sent.with_label_values(&[c]);
        }
        for r in crate::decode::InvalidReason::ALL {
            self.invalid.with_label_values(&[r.as_str()]);
            self.errors.with_label_values(&[component::DECODE, r.as_str()]);
        }
        for (c, e) in component::ERRORS {
            self.errors.with_label_values(&[c, e]);
        }
        for r in ["ok", "retried", "dropped"] {
            self.webhook_deliveries.with_label_values(&[r]);
        }
        for k in crate::pii::Kind::ALL {
            self.pii_masked.with_label_values(&[k.label()]);
        }
    }

    /// The registry, for serving.
    pub fn registry(&self) -> &Registry {
        &self.registry
    }

    /// Text exposition format of every metric.
    pub fn render(&self) -> String {
        let mut buf = Vec::new();
        // Encoding into a Vec cannot fail for well-formed metrics; an error yields what was written.
        let _ = TextEncoder::new().encode(&self.registry.gather(), &mut buf);
        String::from_utf8_lossy(&buf).into_owned()
    }

    /// Counts `n` events received by `component`.
    pub fn received(&self, component: &str, n: u64) {
        self.received.with_label_values(&[component]).inc_by(n);
    }

    /// Counts `n` events passed on by `component`.
    pub fn sent(&self, component: &str, n: u64) {
        self.sent.with_label_values(&[component]).inc_by(n);
    }

    /// Counts one error of `component`.
    pub fn error(&self, component: &str, error: &str) {
        self.errors.with_label_values(&[component, error]).inc();
    }
}
