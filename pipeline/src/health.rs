//! What is wrong right now, for `/health` and the `ticketpulse_healthy` gauge.
//!
//! Parts of the pipeline report a failing check while a fault lasts (no Kafka broker reachable,
//! records waiting for delivery, a checkpoint that cannot be written) and pass it once the fault
//! is over. The pipeline keeps running through them: it retries with backoff and pauses
//! consumption, so nothing is lost or committed early; health tells people and probes that it is
//! stuck and why. Each transition is logged once (a warning when a check starts failing, and how
//! long it failed when it passes again), not on every retry.

use prometheus::{IntGauge, IntGaugeVec};
use std::collections::BTreeMap;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

/// The checks (`check` label values of `ticketpulse_health_check_failing`).
pub mod check {
    /// The source's consumer reaches no Kafka broker.
    pub const KAFKA_BROKERS: &str = "kafka_brokers";
    /// Records produced to an output topic are not delivered yet (the broker is away or slow).
    pub const KAFKA_DELIVERY: &str = "kafka_delivery";
    /// A checkpoint cannot be written (disk full, say): consumption is paused while it retries.
    pub const CHECKPOINT: &str = "checkpoint";
    /// Every check, for pre-registering label values.
    pub const ALL: [&str; 3] = [KAFKA_BROKERS, KAFKA_DELIVERY, CHECKPOINT];
}

#[derive(Debug)]
struct Problem {
    message: String,
    since: Instant,
}

/// A failing check as reported.
#[derive(Debug, Clone, PartialEq)]
pub struct Failing {
    /// Its name (one of [`check::ALL`]).
    pub check: &'static str,
    /// What is wrong, as last reported.
    pub message: String,
    /// How long it has been failing.
    pub failing_for: Duration,
}

/// The health registry, shared by every part of one pipeline (cheap to clone).
#[derive(Clone)]
pub struct Health {
    problems: Arc<Mutex<BTreeMap<&'static str, Problem>>>,
    healthy: IntGauge,
    failing: IntGaugeVec,
}

impl std::fmt::Debug for Health {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_list().entries(self.failing_checks()).finish()
    }
}

impl Health {
    /// A registry exporting through `healthy` (1 or 0) and `failing` (label `check`, 1 or 0).
    pub(crate) fn new(healthy: IntGauge, failing: IntGaugeVec) -> Self {
        healthy.set(1);
        for c in check::ALL {
            failing.with_label_values(&[c]).set(0);
        }
        Health { problems: Arc::default(), healthy, failing }
    }

    /// Reports `check` failing with `message` (updating the message if it already fails).
    pub fn fail(&self, check: &'static str, message: impl Into<String>) {
        let message = message.into();
        let mut problems = self.problems.lock().unwrap_or_else(PoisonError::into_inner);
        match problems.get_mut(check) {
            Some(p) => p.message = message,
            None => {
                tracing::warn!("unhealthy: {check}: {message}");
                problems.insert(check, Problem { message, since: Instant::now() });
            }
        }
        self.failing.with_label_values(&[check]).set(1);
        self.healthy.set(0);
    }

    /// Reports `check` passing.
    pub fn pass(&self, check: &'static str) {
        let mut problems = self.problems.lock().unwrap_or_else(PoisonError::into_inner);
        if let Some(p) = problems.remove(check) {
            tracing::info!(
                "healthy again: {check} (failed for {:.1?}; last: {})",
                p.since.elapsed(),
                p.message
            );
            self.failing.with_label_values(&[check]).set(0);
        }
        self.healthy.set(i64::from(problems.is_empty()));
    }

    /// Whether no check fails.
    pub fn is_healthy(&self) -> bool {
        self.problems.lock().unwrap_or_else(PoisonError::into_inner).is_empty()
    }

    /// The failing checks, by name.
    pub fn failing_checks(&self) -> Vec<Failing> {
        let problems = self.problems.lock().unwrap_or_else(PoisonError::into_inner);
        problems
            .iter()
            .map(|(check, p)| Failing { check, message: p.message.clone(), failing_for: p.since.elapsed() })
            .collect()
    }

    /// The `/health` answer: `ok`, or `unhealthy` and one line per failing check.
    pub fn report(&self) -> (bool, String) {
        let failing = self.failing_checks();
        if failing.is_empty() {
            return (true, "ok\n".to_string());
        }
        let mut text = String::from("unhealthy\n");
        for f in failing {
            text.push_str(&format!("{}: {} (for {} s)\n", f.check, f.message, f.failing_for.as_secs()));
        }
        (false, text)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn health() -> (Health, IntGauge, IntGaugeVec) {
        let healthy = IntGauge::new("h", "h").unwrap();
        let failing = IntGaugeVec::new(prometheus::Opts::new("f", "f"), &["check"]).unwrap();
        (Health::new(healthy.clone(), failing.clone()), healthy, failing)
    }

    #[test]
    fn checks_fail_and_pass_independently_and_show_in_the_gauges_and_the_report() {
        let (h, healthy, failing) = health();
        assert_eq!(h.report(), (true, "ok\n".to_string()));
        assert_eq!(healthy.get(), 1);
        h.fail(check::KAFKA_BROKERS, "no broker reachable");
        h.fail(check::CHECKPOINT, "disk full");
        h.fail(check::CHECKPOINT, "disk still full");
        assert_eq!(healthy.get(), 0);
        assert_eq!(failing.with_label_values(&[check::CHECKPOINT]).get(), 1);
        let (ok, text) = h.report();
        assert!(!ok);
        assert!(text.starts_with("unhealthy\n"), "{text}");
        assert!(text.contains("checkpoint: disk still full (for 0 s)"), "{text}");
        assert!(text.contains("kafka_brokers: no broker reachable"), "{text}");
        h.pass(check::CHECKPOINT);
        assert_eq!(failing.with_label_values(&[check::CHECKPOINT]).get(), 0);
        assert_eq!(healthy.get(), 0, "the broker check still fails");
        assert!(!h.is_healthy());
        h.pass(check::KAFKA_BROKERS);
        h.pass(check::KAFKA_DELIVERY); // passing a check that never failed changes nothing
        assert!(h.is_healthy());
        assert_eq!(healthy.get(), 1);
        assert_eq!(h.failing_checks(), vec![]);
    }
}
