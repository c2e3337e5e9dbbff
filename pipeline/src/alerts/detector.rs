//! Spike detection over windowed series, with an alert lifecycle.
//!
//! Each series (a count per window, or a rate with its denominator) is compared with its
//! [`Baseline`]. The score measures the distance from the expectation in units of noise: the
//! noise of the observation itself (Poisson for counts, through Anscombe's square root; binomial
//! for rates) widened by the history's robust spread, so that a quiet series is not alarmed by a
//! few extra conversations. Until a series' slot has its seasonal history it only learns. A window is *hot* when the
//! score, the observed count and the ratio to the expectation all pass the rule's thresholds.
//!
//! Lifecycle: the first hot window makes the series *pending*; `hold` hot windows make it
//! *firing* (an alert is raised); while firing its peak is tracked; `clear` normal windows in a
//! row (score below half the bar) *resolve* it, after which the series stays quiet for `cooldown`. A pending series stays
//! pending through windows that are still elevated (score at least half the bar, for at most
//! `2 × hold` windows without a hot one) and is *cancelled* by a normal one. The baseline learns
//! each window held within half the bar of its expectation. Each transition is an [`AlertEvent`].

use super::baseline::{Baseline, BaselineConfig};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// When a series alerts.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct RuleConfig {
    /// Score at least this.
    pub z: f64,
    /// Observed count at least this (for a rate: its numerator).
    pub min_count: f64,
    /// Observed at least this many times the expectation.
    pub min_ratio: f64,
    /// Hot windows in a row before an alert fires (1: the first).
    pub hold: u32,
    /// Normal windows in a row before a firing alert resolves.
    pub clear: u32,
    /// Quiet time after a resolution.
    #[serde(with = "humantime_serde")]
    pub cooldown: std::time::Duration,
    /// Ratio to the expectation from which an alert is critical (else warning).
    pub critical_ratio: f64,
}

impl Default for RuleConfig {
    fn default() -> Self {
        RuleConfig {
            z: 4.0,
            min_count: 8.0,
            min_ratio: 2.0,
            hold: 2,
            clear: 2,
            cooldown: std::time::Duration::from_secs(3600),
            critical_ratio: 5.0,
        }
    }
}

/// What a series measures.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Kind {
    /// Conversations started per window.
    Volume,
    /// Share of SLA clocks that breached.
    SlaBreachRate,
    /// Share of customer messages that were negative.
    NegativeShare,
}

impl Kind {
    /// Its name in outputs.
    pub fn as_str(self) -> &'static str {
        match self {
            Kind::Volume => "volume",
            Kind::SlaBreachRate => "sla_breach_rate",
            Kind::NegativeShare => "negative_share",
        }
    }
}

/// A series: what it measures, by what it is grouped, and the group.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct SeriesKey {
    /// What it measures.
    pub kind: Kind,
    /// `channel`, `topic` or `channel_topic`.
    pub dimension: String,
    /// The group (`weibo`, a topic id, `weibo/7`).
    pub group: String,
}

/// One window of a series: a count (`total` = `None`) or a rate `count / total`.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Observation {
    /// The count (or the rate's numerator).
    pub count: f64,
    /// The rate's denominator.
    pub total: Option<f64>,
}

impl Observation {
    /// Nothing counted yet.
    pub const ZERO: Observation = Observation { count: 0.0, total: None };

    /// Adds `other` (`weight` times) to this observation: counts add, and so do trials.
    pub fn add(&mut self, other: &Observation, weight: f64) {
        self.count += weight * other.count;
        if let Some(t) = other.total {
            self.total = Some(self.total.unwrap_or(0.0) + weight * t);
        }
    }

    fn value(&self) -> f64 {
        match self.total {
            Some(t) if t > 0.0 => self.count / t,
            Some(_) => 0.0,
            None => self.count,
        }
    }
}

/// A series' window as the detector saw it (what Prometheus exports as observed, expected and
/// spike score).
#[derive(Debug, Clone, PartialEq)]
pub struct Score {
    /// The series.
    pub series: SeriesKey,
    /// Observed value (a count or a rate).
    pub observed: f64,
    /// Expected value (the observed one before any history).
    pub expected: f64,
    /// Distance from the expectation in units of noise (0 before any history).
    pub score: f64,
}

/// A lifecycle transition.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum State {
    /// A first hot window.
    Pending,
    /// A pending series that cooled down before firing.
    Cancelled,
    /// Hot for `hold` windows: the alert.
    Firing,
    /// Normal for `clear` windows after firing.
    Resolved,
}

/// An alert event.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AlertEvent {
    /// `<kind>:<dimension>:<group>:<start ms>`: the same for every event of one alert.
    pub alert_id: String,
    /// The series.
    pub series: SeriesKey,
    /// The transition.
    pub state: State,
    /// The window that caused it, epoch ms.
    pub window_start: i64,
    /// The first hot window's start, epoch ms.
    pub started_at: i64,
    /// The end of the last hot window (resolved and cancelled events), epoch ms.
    pub ended_at: Option<i64>,
    /// This window: observed, expected, score.
    pub observed: f64,
    /// Expected value of this window.
    pub expected: f64,
    /// Score of this window.
    pub score: f64,
    /// The hottest window so far: its start, observed, expected and score.
    pub peak_at: i64,
    /// Observed at the peak.
    pub peak_observed: f64,
    /// Expected at the peak.
    pub peak_expected: f64,
    /// Score at the peak.
    pub peak_score: f64,
    /// `warning` or `critical` (from the peak's ratio to its expectation).
    pub severity: String,
}

/// Where a series' history goes when series are re-expressed (`None`: it stays).
pub type Targets<'a> = dyn Fn(&SeriesKey) -> Option<Vec<(SeriesKey, f64)>> + 'a;

/// Where a series is in its lifecycle.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
enum Phase {
    Quiet,
    Hot { started_at: i64, hot: u32, normal: u32, firing: bool, peak: (i64, f64, f64, f64) },
    Cooldown { until: i64 },
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
struct Series {
    baseline: Baseline,
    phase: Phase,
    /// Start of the last window with an observation above zero.
    last_seen: i64,
}

/// The detector: every series' baseline and lifecycle.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Detector {
    window_ms: i64,
    slots: usize,
    series: BTreeMap<SeriesKey, Series>,
}

/// The score of `value` against its expectation `e` (spread `spread`): for a count, the
/// difference of Anscombe square roots (Poisson noise becomes unit variance, so small counts
/// are judged by their real tail, not a normal one); for a rate over `t` trials, the difference
/// in binomial standard deviations (with a floor of one trial's worth). Where the history varies
/// more than that noise (its robust spread is larger), the spread is the unit instead.
fn score(value: f64, e: f64, spread: f64, total: Option<f64>) -> f64 {
    let unit = unit(e, spread, total);
    match total {
        None => 2.0 * (root(value) - root(e)) / unit,
        Some(_) => (value - e) / unit,
    }
}

/// Anscombe's square root of a count.
fn root(x: f64) -> f64 {
    (x.max(0.0) + 0.375).sqrt()
}

/// The unit of [`score`]: for a count, on Anscombe's scale (1 for Poisson noise; the history's
/// spread already holds its Poisson noise, so only more than that widens it); for a rate over
/// `t` trials, binomial noise (at least one trial's worth) or the spread, whichever is larger.
fn unit(e: f64, spread: f64, total: Option<f64>) -> f64 {
    match total {
        None => (spread * spread / (e.max(0.0) + 1.0)).max(1.0).sqrt(),
        Some(t) => {
            let p = e.clamp(0.0, 1.0);
            let noise = (p * (1.0 - p)).max(0.25 / t.max(1.0)) / t.max(1.0);
            (spread * spread).max(noise).sqrt()
        }
    }
}

/// What a window teaches the baseline: its value, held within the band where its score would
/// be within ±`band` (winsorised, the same way up and down, so that neither a spike nor a dip
/// drags the baseline, while a lasting shift still moves it a bounded step at a time).
fn bounded(value: f64, e: f64, spread: f64, total: Option<f64>, band: f64) -> f64 {
    let unit = unit(e, spread, total);
    match total {
        None => {
            let at = |d: f64| ((root(e) + d * unit / 2.0).max(0.0).powi(2) - 0.375).max(0.0);
            value.clamp(at(-band), at(band))
        }
        Some(_) => value.clamp((e - band * unit).max(0.0), (e + band * unit).min(1.0)),
    }
}

impl Detector {
    /// A detector of windows `window_ms` wide (the day is split into slots of that width).
    pub fn new(window_ms: i64) -> Self {
        let window_ms = window_ms.max(1);
        let slots = (86_400_000 / window_ms).max(1) as usize;
        Detector { window_ms, slots, series: BTreeMap::new() }
    }

    /// Series known so far.
    pub fn series(&self) -> impl Iterator<Item = &SeriesKey> {
        self.series.keys()
    }

    /// Re-expresses series in new terms: `targets` gives, for a series to remap, the series its
    /// history goes to with weights (a topic whose tickets a refit split between topics). Each
    /// remapped series' baseline becomes the weighted sum of what goes to it (empty when
    /// nothing does); lifecycles stay with their series.
    pub fn remap(&mut self, targets: &Targets<'_>) {
        let mut incoming: BTreeMap<SeriesKey, Vec<(f64, SeriesKey)>> = BTreeMap::new();
        let mut remapped = Vec::new();
        for key in self.series.keys() {
            if let Some(to) = targets(key) {
                remapped.push(key.clone());
                for (target, w) in to {
                    incoming.entry(target).or_default().push((w, key.clone()));
                }
            }
        }
        let mixed: Vec<(SeriesKey, Baseline, i64)> = incoming
            .into_iter()
            .map(|(target, from)| {
                let parts: Vec<(f64, &Baseline)> =
                    from.iter().filter_map(|(w, k)| Some((*w, &self.series.get(k)?.baseline))).collect();
                let seen = from.iter().filter_map(|(_, k)| self.series.get(k).map(|s| s.last_seen)).max();
                (target, Baseline::mix(&parts, self.slots), seen.unwrap_or(i64::MIN))
            })
            .collect();
        for key in remapped {
            if let Some(s) = self.series.get_mut(&key) {
                s.baseline = Baseline::new(self.slots);
            }
        }
        for (key, baseline, seen) in mixed {
            let s = self.series.entry(key).or_insert_with(|| Series {
                baseline: Baseline::new(self.slots),
                phase: Phase::Quiet,
                last_seen: seen,
            });
            s.baseline = baseline;
            s.last_seen = s.last_seen.max(seen);
        }
    }

    /// The expectation of a series for the window starting at `start` (`None` before history).
    pub fn expect(&self, key: &SeriesKey, start: i64, config: &BaselineConfig) -> Option<f64> {
        let slot = self.slot(start);
        self.series.get(key)?.baseline.expect(slot, config).map(|e| e.expected)
    }

    fn slot(&self, start: i64) -> usize {
        (start.rem_euclid(86_400_000) / self.window_ms) as usize % self.slots
    }

    /// The window starting at `start` closed with `observations` (a series without one observed
    /// zero, if it is a count); returns each series' [`Score`] and the lifecycle events, in
    /// series order. `rule` gives each kind's thresholds.
    pub fn observe(
        &mut self,
        start: i64,
        observations: &BTreeMap<SeriesKey, Observation>,
        baseline: &BaselineConfig,
        rule: &dyn Fn(Kind) -> RuleConfig,
    ) -> (Vec<Score>, Vec<AlertEvent>) {
        let slot = self.slot(start);
        let slots = self.slots;
        for key in observations.keys() {
            if !self.series.contains_key(key) {
                let s = Series { baseline: Baseline::new(slots), phase: Phase::Quiet, last_seen: start };
                self.series.insert(key.clone(), s);
            }
        }
        // a series silent for the whole history (a topic id that is gone) is forgotten
        let forget = start.saturating_sub(86_400_000 * baseline.history.max(1) as i64);
        self.series.retain(|key, s| {
            observations.contains_key(key) || s.last_seen >= forget || !matches!(s.phase, Phase::Quiet)
        });
        let mut scores = Vec::new();
        let mut events = Vec::new();
        let end = start + self.window_ms;
        for (key, series) in &mut self.series {
            let observation = match observations.get(key) {
                Some(o) => *o,
                // a rate without trials says nothing; a count without conversations is zero
                None if key.kind != Kind::Volume => continue,
                None => Observation::ZERO,
            };
            let r = rule(key.kind);
            let value = observation.value();
            if observation.count > 0.0 || observation.total.is_some() {
                series.last_seen = start;
            }
            let expectation = series.baseline.expect(slot, baseline);
            let (expected, score) = match expectation {
                Some(e) => (e.expected, score(value, e.expected, e.spread, observation.total)),
                None => (value, 0.0),
            };
            scores.push(Score { series: key.clone(), observed: value, expected, score });
            let ratio = (value + f64::EPSILON) / (expected.max(0.0) + f64::EPSILON);
            // no alert while warming up: a day without history has no seasonal expectation
            // (a share never seen above zero at this time of day cannot be judged)
            let hot = expectation
                .is_some_and(|e| e.seasonal && (observation.total.is_none() || e.expected > 0.0))
                && score >= r.z
                && observation.count >= r.min_count
                && ratio >= r.min_ratio;
            let event = |state, started_at, ended_at, peak: (i64, f64, f64, f64)| AlertEvent {
                alert_id: format!("{}:{}:{}:{}", key.kind.as_str(), key.dimension, key.group, started_at),
                series: key.clone(),
                state,
                window_start: start,
                started_at,
                ended_at,
                observed: value,
                expected,
                score,
                peak_at: peak.0,
                peak_observed: peak.1,
                peak_expected: peak.2,
                peak_score: peak.3,
                severity: if peak.1 >= r.critical_ratio * peak.2.max(f64::EPSILON) {
                    "critical"
                } else {
                    "warning"
                }
                .to_string(),
            };
            // what the window teaches: within half the bar of the expectation
            let learned = match expectation {
                Some(e) => bounded(value, e.expected, e.spread, observation.total, r.z / 2.0),
                None => value,
            };
            series.phase = match std::mem::replace(&mut series.phase, Phase::Quiet) {
                Phase::Cooldown { until } if start < until => {
                    // a cooling series still keeps its hot windows out of the baseline
                    Phase::Cooldown { until }
                }
                Phase::Quiet | Phase::Cooldown { .. } => {
                    if hot {
                        let peak = (start, value, expected, score);
                        let (state, firing) =
                            if r.hold <= 1 { (State::Firing, true) } else { (State::Pending, false) };
                        events.push(event(state, start, None, peak));
                        Phase::Hot { started_at: start, hot: 1, normal: 0, firing, peak }
                    } else {
                        Phase::Quiet
                    }
                }
                Phase::Hot { started_at, hot: n, normal, firing, mut peak } => {
                    if hot {
                        if score > peak.3 {
                            peak = (start, value, expected, score);
                        }
                        let n = n + 1;
                        if !firing && n >= r.hold {
                            events.push(event(State::Firing, started_at, None, peak));
                        }
                        Phase::Hot { started_at, hot: n, normal: 0, firing: firing || n >= r.hold, peak }
                    } else if !firing && score >= r.z / 2.0 && normal < 2 * r.hold {
                        // still elevated, just below the bar: pending goes on (a spike hovering
                        // around the threshold is not cancelled by one window)
                        Phase::Hot { started_at, hot: n, normal: normal + 1, firing, peak }
                    } else if !firing {
                        events.push(event(State::Cancelled, started_at, Some(start), peak));
                        Phase::Quiet
                    } else if score >= r.z / 2.0 {
                        // still elevated: a firing alert is not over while the spike goes on
                        Phase::Hot { started_at, hot: n, normal: 0, firing, peak }
                    } else {
                        let normal = normal + 1;
                        if normal >= r.clear.max(1) {
                            let ended = start - i64::from(normal - 1) * self.window_ms;
                            events.push(event(State::Resolved, started_at, Some(ended), peak));
                            Phase::Cooldown { until: end + crate::time::millis(r.cooldown) }
                        } else {
                            Phase::Hot { started_at, hot: n, normal, firing, peak }
                        }
                    }
                }
            };
            series.baseline.learn(slot, learned, baseline);
        }
        (scores, events)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const HOUR: i64 = 3_600_000;
    const WINDOW: i64 = 15 * 60_000;

    fn key() -> SeriesKey {
        SeriesKey { kind: Kind::Volume, dimension: "channel_topic".into(), group: "weibo/3".into() }
    }

    /// A deterministic pseudo-Poisson count around `mean`.
    fn noisy(mean: f64, i: u64) -> f64 {
        let mut x = i.wrapping_mul(0x9E37_79B9_7F4A_7C15) ^ 0xD1B5_4A32_D192_ED03;
        x ^= x >> 29;
        let u = (x % 10_000) as f64 / 10_000.0; // 0..1
        (mean + (u - 0.5) * 2.0 * mean.sqrt()).round().max(0.0)
    }

    /// Support volume by hour: quiet nights, a peak at 20:00-22:00 ten times the night.
    fn daily(at: i64) -> f64 {
        let hour = (at.rem_euclid(86_400_000) / HOUR) as usize;
        [3., 2., 1., 1., 1., 1., 1.5, 3., 5., 7., 8., 8., 7., 7., 7., 7., 7., 7., 8., 9., 10., 10., 8., 5.]
            [hour]
    }

    /// Runs `days` days of windows; `extra(start)` adds to the normal volume.
    fn run(days: i64, extra: &dyn Fn(i64) -> f64) -> Vec<AlertEvent> {
        let mut d = Detector::new(WINDOW);
        let mut events = Vec::new();
        for (i, start) in (0..days * 96).map(|w| w * WINDOW).enumerate() {
            let mut obs = BTreeMap::new();
            let count = noisy(daily(start) * 1.5, i as u64) + extra(start);
            obs.insert(key(), Observation { count, total: None });
            events.extend(d.observe(start, &obs, &BaselineConfig::default(), &|_| RuleConfig::default()).1);
        }
        events
    }

    #[test]
    fn the_evening_peak_and_the_quiet_night_do_not_alert() {
        let events = run(7, &|_| 0.0);
        assert!(events.iter().all(|e| e.state != State::Firing), "{events:#?}");
    }

    #[test]
    fn a_spike_fires_within_two_windows_then_resolves() {
        // day 4, 20:00 to 20:45: eight times the evening volume
        let from = 4 * 86_400_000 + 20 * HOUR;
        let events = run(6, &|at| if (from..from + 45 * 60_000).contains(&at) { 7.0 * 15.0 } else { 0.0 });
        let firing: Vec<&AlertEvent> = events.iter().filter(|e| e.state == State::Firing).collect();
        assert_eq!(firing.len(), 1, "{events:#?}");
        let f = firing[0];
        assert_eq!(f.started_at, from);
        assert!(f.window_start <= from + WINDOW, "fired within two windows: {f:?}");
        assert!(f.peak_observed > 5.0 * f.peak_expected, "{f:?}");
        assert_eq!(f.severity, "critical");
        let resolved = events.iter().find(|e| e.state == State::Resolved).expect("resolved");
        assert_eq!(resolved.alert_id, f.alert_id);
        assert_eq!(resolved.ended_at, Some(from + 3 * WINDOW));
    }

    #[test]
    fn a_gradual_rise_is_followed_not_alerted() {
        // +10 % a day for a week
        let mut d = Detector::new(WINDOW);
        let mut fired = 0;
        for (i, start) in (0..7 * 96).map(|w| w * WINDOW).enumerate() {
            let growth = 1.0 + 0.1 * (start as f64 / 86_400_000.0);
            let mut obs = BTreeMap::new();
            obs.insert(
                key(),
                Observation { count: noisy(daily(start) * 1.5 * growth, i as u64), total: None },
            );
            let (_, events) = d.observe(start, &obs, &BaselineConfig::default(), &|_| RuleConfig::default());
            fired += events.iter().filter(|e| e.state == State::Firing).count();
        }
        assert_eq!(fired, 0);
    }

    #[test]
    fn a_rate_alerts_on_its_share_not_its_volume() {
        let mut d = Detector::new(WINDOW);
        let k = SeriesKey { kind: Kind::SlaBreachRate, dimension: "channel".into(), group: "email".into() };
        let mut events = Vec::new();
        for w in 0..3 * 96 {
            let start = w * WINDOW;
            let total = 40.0 + (w % 7) as f64;
            // 5 % breaches, then half of the clocks breach for an hour on day 2 at 10:00
            let bad = (2 * 86_400_000 + 10 * HOUR..2 * 86_400_000 + 11 * HOUR).contains(&start);
            let count = if bad { total * 0.5 } else { (total * 0.05).round() };
            let obs = BTreeMap::from([(k.clone(), Observation { count, total: Some(total) })]);
            events.extend(d.observe(start, &obs, &BaselineConfig::default(), &|_| RuleConfig::default()).1);
        }
        let firing: Vec<&AlertEvent> = events.iter().filter(|e| e.state == State::Firing).collect();
        assert_eq!(firing.len(), 1, "{events:#?}");
        assert!(firing[0].observed > 0.4 && firing[0].expected < 0.1, "{:?}", firing[0]);
    }

    #[test]
    fn one_hot_window_is_pending_then_cancelled() {
        let at = 3 * 86_400_000 + 15 * HOUR;
        let events = run(4, &|s| if s == at { 80.0 } else { 0.0 });
        let states: Vec<State> = events.iter().map(|e| e.state).collect();
        assert_eq!(states, [State::Pending, State::Cancelled], "{events:#?}");
    }
}
