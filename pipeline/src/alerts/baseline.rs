//! The expected value of a series in a window: seasonal and robust.
//!
//! Support volume repeats every day (an evening peak, quiet nights), so a window is compared
//! with the same time of day on earlier days: the trimmed mean of the slot's last `history` days,
//! pooled with `neighbours` slots on either side (robust to one odd day and to a spike in the
//! history), spread measured by the median absolute deviation. A short-term level (an EWMA of
//! observed / seasonal over normal windows) scales it, so a gradual shift (a growing customer
//! base, a holiday) moves the expectation instead of alerting. Until a slot has
//! `warmup_seasons` days of history, the expectation is the median of the last `recent`
//! windows. The detector bounds what a window teaches (to a band around its expectation), so a
//! spike does not raise the baseline that should catch the next one.

use serde::{Deserialize, Serialize};
use std::collections::VecDeque;

/// How a baseline learns.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct BaselineConfig {
    /// Days kept per slot.
    pub history: usize,
    /// Days of history before the seasonal expectation is used.
    pub warmup_seasons: usize,
    /// Slots on either side pooled with a window's own slot.
    pub neighbours: usize,
    /// Weight of the newest window in the short-term level (0..1).
    pub level_alpha: f64,
    /// Windows of the warm-up expectation (their median).
    pub recent: usize,
}

impl Default for BaselineConfig {
    fn default() -> Self {
        BaselineConfig { history: 14, warmup_seasons: 1, neighbours: 1, level_alpha: 0.03, recent: 12 }
    }
}

/// What a window is expected to hold.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Expectation {
    /// Expected value.
    pub expected: f64,
    /// Robust spread of the history around it (1.4826 × MAD, scaled by the level).
    pub spread: f64,
    /// True once the seasonal history is used (false: warm-up).
    pub seasonal: bool,
}

/// The learned history of one series.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Baseline {
    /// Per slot of the day, the latest observations (oldest first).
    slots: Vec<VecDeque<f64>>,
    /// The last windows' observations (oldest first).
    recent: VecDeque<f64>,
    /// Observed / seasonal expectation, smoothed.
    level: f64,
}

fn median(values: &mut [f64]) -> f64 {
    if values.is_empty() {
        return 0.0;
    }
    values.sort_by(f64::total_cmp);
    let n = values.len();
    if n % 2 == 1 { values[n / 2] } else { (values[n / 2 - 1] + values[n / 2]) / 2.0 }
}

/// The mean of sorted `values` without their lowest and highest fifth: robust like the median,
/// but not biased low for the skewed small counts of a quiet series (the median of
/// Poisson(0.7) draws is 0 or 1).
fn trimmed_mean(sorted: &[f64]) -> f64 {
    let n = sorted.len();
    let cut = n / 5;
    let kept = &sorted[cut..n - cut];
    if kept.is_empty() { 0.0 } else { kept.iter().sum::<f64>() / kept.len() as f64 }
}

impl Baseline {
    /// An empty history for windows of `slots` per day.
    pub fn new(slots: usize) -> Self {
        Baseline { slots: vec![VecDeque::new(); slots.max(1)], recent: VecDeque::new(), level: 1.0 }
    }

    /// The seasonal median and MAD of `slot` (pooled with its neighbours), when warm.
    fn seasonal(&self, slot: usize, config: &BaselineConfig) -> Option<(f64, f64)> {
        let n = self.slots.len();
        let own = &self.slots[slot % n];
        if own.len() < config.warmup_seasons.max(1) {
            return None;
        }
        let width = config.neighbours.min((n - 1) / 2);
        let mut pooled: Vec<f64> =
            (0..=2 * width).flat_map(|d| self.slots[(slot + n + d - width) % n].iter().copied()).collect();
        let m = median(&mut pooled);
        let mut deviations: Vec<f64> = pooled.iter().map(|v| (v - m).abs()).collect();
        Some((trimmed_mean(&pooled), median(&mut deviations)))
    }

    /// The expectation of the window in `slot` (`None` before any history).
    pub fn expect(&self, slot: usize, config: &BaselineConfig) -> Option<Expectation> {
        if let Some((m, mad)) = self.seasonal(slot, config) {
            return Some(Expectation {
                expected: m * self.level,
                spread: 1.4826 * mad * self.level,
                seasonal: true,
            });
        }
        if self.recent.is_empty() {
            return None;
        }
        let mut recent: Vec<f64> = self.recent.iter().copied().collect();
        let m = median(&mut recent);
        let mut deviations: Vec<f64> = recent.iter().map(|v| (v - m).abs()).collect();
        Some(Expectation { expected: m, spread: 1.4826 * median(&mut deviations), seasonal: false })
    }

    /// The weighted sum of `parts` (weight, baseline): what a series made of those parts would
    /// have looked like (when a topic model refit moves tickets between topics). Histories are
    /// aligned from their newest value; a shorter one fills in with its mean; levels are baked in.
    pub fn mix(parts: &[(f64, &Baseline)], slots: usize) -> Baseline {
        fn combine(parts: &[(f64, &VecDeque<f64>, f64)]) -> VecDeque<f64> {
            let len = parts.iter().map(|(_, d, _)| d.len()).max().unwrap_or(0);
            let mean =
                |d: &VecDeque<f64>| if d.is_empty() { 0.0 } else { d.iter().sum::<f64>() / d.len() as f64 };
            (0..len)
                .rev()
                .map(|age| {
                    parts
                        .iter()
                        .map(|(w, d, scale)| {
                            let v = if age < d.len() { d[d.len() - 1 - age] } else { mean(d) };
                            w * v * scale
                        })
                        .sum()
                })
                .collect()
        }
        let mut out = Baseline::new(slots);
        for (slot, own) in out.slots.iter_mut().enumerate() {
            let of: Vec<(f64, &VecDeque<f64>, f64)> =
                parts.iter().filter_map(|(w, b)| Some((*w, b.slots.get(slot)?, b.level))).collect();
            *own = combine(&of);
        }
        let recent: Vec<(f64, &VecDeque<f64>, f64)> =
            parts.iter().map(|(w, b)| (*w, &b.recent, 1.0)).collect();
        out.recent = combine(&recent);
        out
    }

    /// Learns the window in `slot` (the caller bounds what a spike may teach: see
    /// [`super::detector`]).
    pub fn learn(&mut self, slot: usize, value: f64, config: &BaselineConfig) {
        if let Some((m, _)) = self.seasonal(slot, config) {
            // +1 on both sides: a ratio of small counts stays tame
            let ratio = ((value + 1.0) / (m + 1.0)).clamp(0.25, 4.0);
            self.level += config.level_alpha * (ratio - self.level);
        }
        let n = self.slots.len();
        // what the slot learns is the value before the level scaled it
        let seasonal_value = if self.level > 0.0 { value / self.level } else { value };
        let own = &mut self.slots[slot % n];
        own.push_back(seasonal_value);
        while own.len() > config.history.max(1) {
            own.pop_front();
        }
        self.recent.push_back(value);
        while self.recent.len() > config.recent.max(1) {
            self.recent.pop_front();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A daily curve of 24 slots: quiet nights, an evening peak 10× the night.
    fn curve(slot: usize) -> f64 {
        [3., 2., 1., 1., 1., 1., 2., 3., 5., 7., 8., 8., 7., 7., 7., 7., 7., 7., 8., 9., 10., 10., 8., 5.]
            [slot]
            * 4.0
    }

    #[test]
    fn expects_the_daily_curve_after_a_day_and_the_recent_median_before() {
        let config = BaselineConfig::default();
        let mut b = Baseline::new(24);
        assert_eq!(b.expect(0, &config), None);
        for slot in 0..24 {
            b.learn(slot, curve(slot), &config);
        }
        // one day in: the evening slot expects the evening (pooled with its neighbours)
        let e = b.expect(20, &config).unwrap();
        assert!(e.seasonal);
        assert!((e.expected - 40.0).abs() <= 4.0, "{e:?}");
        let night = b.expect(3, &config).unwrap();
        assert!(night.expected <= 8.0, "{night:?}");
        // before a full day, slot 5 of a fresh baseline has only the recent median
        let mut fresh = Baseline::new(24);
        for slot in 0..5 {
            fresh.learn(slot, curve(slot), &config);
        }
        assert!(!fresh.expect(5, &config).unwrap().seasonal);
    }

    #[test]
    fn one_outlier_barely_moves_it_and_a_gradual_shift_does() {
        let config = BaselineConfig::default();
        let mut b = Baseline::new(24);
        for _ in 0..3 {
            for slot in 0..24 {
                b.learn(slot, curve(slot), &config);
            }
        }
        let before = b.expect(20, &config).unwrap().expected;
        b.learn(20, 400.0, &config);
        for slot in 21..24 {
            b.learn(slot, curve(slot), &config);
        }
        let after = b.expect(20, &config).unwrap().expected;
        // trimmed out of the slot's history; only the level moves, by one bounded step
        assert!((after - before).abs() < 0.1 * before, "{before} -> {after}");
        // everything 1.5× for four days: the expectation follows
        for _ in 0..4 {
            for slot in 0..24 {
                b.learn(slot, 1.5 * curve(slot), &config);
            }
        }
        let shifted = b.expect(20, &config).unwrap().expected;
        assert!(shifted > 1.3 * before, "{before} -> {shifted}");
    }
}
