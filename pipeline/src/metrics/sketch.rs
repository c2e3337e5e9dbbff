//! A mergeable, retractable quantile sketch for durations (the DDSketch bucket scheme).
//!
//! A value `x` (ms) goes to bucket `ceil(log_γ(x))` with `γ = (1 + α) / (1 − α)`, `α = 1 %`; the
//! bucket's estimate `2γ^i / (γ + 1)` is within `α` relative error of every value in it. The
//! quantile `q` of `n` values is the estimate of the bucket holding the value of (0-based) rank
//! `⌊q·(n − 1)⌋`, so it is within 1 % of that exact order statistic. Values under 1 ms count in
//! a zero bucket (estimate 0). Because a sketch is just counts per bucket, a value can be removed
//! again (a late event moving a first response to another window) and two sketches add up; the
//! result does not depend on the order of additions and removals. The sum is kept exactly (in
//! integer ms), so means are exact.

use serde::{Deserialize, Serialize};

/// Relative accuracy of [`Sketch::quantile`].
pub const RELATIVE_ACCURACY: f64 = 0.01;

fn gamma_ln() -> f64 {
    ((1.0 + RELATIVE_ACCURACY) / (1.0 - RELATIVE_ACCURACY)).ln()
}

/// Counts of duration values per logarithmic bucket.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Sketch {
    /// Values held.
    count: i64,
    /// Their sum, ms.
    sum_ms: i64,
    /// Values under 1 ms.
    zeros: i64,
    /// (bucket index, count), sorted by index, no zero counts.
    buckets: Vec<(i32, i64)>,
}

fn bucket(ms: i64) -> i32 {
    ((ms as f64).ln() / gamma_ln()).ceil() as i32
}

impl Sketch {
    /// Adds (`delta` = 1) or removes (`delta` = −1) one value of `ms` milliseconds.
    pub fn add(&mut self, ms: i64, delta: i64) {
        self.count += delta;
        self.sum_ms += ms * delta;
        if ms < 1 {
            self.zeros += delta;
            return;
        }
        let b = bucket(ms);
        match self.buckets.binary_search_by_key(&b, |e| e.0) {
            Ok(i) => {
                self.buckets[i].1 += delta;
                if self.buckets[i].1 == 0 {
                    self.buckets.remove(i);
                }
            }
            Err(i) => self.buckets.insert(i, (b, delta)),
        }
    }

    /// Values held.
    pub fn count(&self) -> u64 {
        self.count.max(0) as u64
    }

    /// True when it holds nothing.
    pub fn is_empty(&self) -> bool {
        self.count == 0 && self.buckets.is_empty() && self.zeros == 0
    }

    /// Exact mean, seconds.
    pub fn mean_s(&self) -> Option<f64> {
        (self.count > 0).then(|| self.sum_ms as f64 / self.count as f64 / 1000.0)
    }

    /// The `q`-quantile in seconds, within [`RELATIVE_ACCURACY`] (see the module doc).
    pub fn quantile(&self, q: f64) -> Option<f64> {
        if self.count <= 0 {
            return None;
        }
        let rank = (q.clamp(0.0, 1.0) * (self.count - 1) as f64).floor() as i64;
        let mut seen = self.zeros;
        if rank < seen {
            return Some(0.0);
        }
        let g = gamma_ln().exp();
        for &(i, n) in &self.buckets {
            seen += n;
            if rank < seen {
                return Some(2.0 * g.powi(i) / (g + 1.0) / 1000.0);
            }
        }
        self.buckets.last().map(|&(i, _)| 2.0 * g.powi(i) / (g + 1.0) / 1000.0)
    }
}
impl Sketch {
    /// Adds every value of `other` (the sketch of the union of both value sets).
    pub fn merge(&mut self, other: &Sketch) {
        self.count += other.count;
        self.sum_ms += other.sum_ms;
        self.zeros += other.zeros;
        let mut merged = Vec::with_capacity(self.buckets.len().max(other.buckets.len()));
        let (mut a, mut b) = (self.buckets.iter().peekable(), other.buckets.iter().peekable());
        loop {
            let next = match (a.peek(), b.peek()) {
                (Some(&&(i, n)), Some(&&(j, m))) if i == j => {
                    a.next();
                    b.next();
                    (i, n + m)
                }
                (Some(&&x), Some(&&y)) if x.0 < y.0 => {
                    a.next();
                    x
                }
                (_, Some(&&y)) => {
                    b.next();
                    y
                }
                (Some(&&x), None) => {
                    a.next();
                    x
                }
                (None, None) => break,
            };
            if next.1 != 0 {
                merged.push(next);
            }
        }
        self.buckets = merged;
    }

    /// The values in `self` beyond those in `old` (bucket counts that grew), as (estimate in
    /// seconds, count); for histograms fed by corrections.
    pub fn added_since(&self, old: &Sketch) -> Vec<(f64, u64)> {
        let g = gamma_ln().exp();
        let mut out = Vec::new();
        if self.zeros > old.zeros {
            out.push((0.0, (self.zeros - old.zeros) as u64));
        }
        for &(i, n) in &self.buckets {
            let before = old.buckets.binary_search_by_key(&i, |e| e.0).map_or(0, |k| old.buckets[k].1);
            if n > before {
                out.push((2.0 * g.powi(i) / (g + 1.0) / 1000.0, (n - before) as u64));
            }
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quantiles_are_within_the_documented_error_of_the_exact_order_statistic() {
        let mut s = Sketch::default();
        let values: Vec<i64> = (0..1000).map(|i| (i * i * 37) % 3_600_000).collect();
        for &v in &values {
            s.add(v, 1);
        }
        let mut sorted = values.clone();
        sorted.sort_unstable();
        for q in [0.0, 0.1, 0.5, 0.9, 0.99, 1.0] {
            let exact = sorted[(q * 999.0f64).floor() as usize] as f64 / 1000.0;
            let got = s.quantile(q).unwrap();
            assert!((got - exact).abs() <= exact * RELATIVE_ACCURACY + 1e-9, "q {q}: {got} vs {exact}");
        }
        assert_eq!(s.mean_s(), Some(values.iter().sum::<i64>() as f64 / 1000.0 / 1000.0));
    }

    #[test]
    fn merging_equals_adding_every_value_to_one_sketch() {
        let (mut a, mut b, mut both) = (Sketch::default(), Sketch::default(), Sketch::default());
        for v in (0..400).map(|i| (i * 7919) % 90_000) {
            let target = if v % 3 == 0 { &mut a } else { &mut b };
            target.add(v, 1);
            both.add(v, 1);
        }
        a.add(5, -1); // a retraction whose addition is in `b`
        b.add(5, 1);
        let mut merged = a.clone();
        merged.merge(&b);
        assert_eq!(merged, both);
        let mut other_way = b;
        other_way.merge(&a);
        assert_eq!(other_way, both);
        let mut with_empty = Sketch::default();
        with_empty.merge(&both);
        assert_eq!(with_empty, both);
    }

    #[test]
    fn removal_undoes_addition_in_any_order() {
        let mut a = Sketch::default();
        a.add(5_000, 1);
        a.add(0, 1);
        a.add(120_000, 1);
        a.add(5_000, -1);
        a.add(0, -1);
        let mut b = Sketch::default();
        b.add(120_000, 1);
        assert_eq!(a, b);
        a.add(120_000, -1);
        assert!(a.is_empty());
        assert_eq!(a.quantile(0.5), None);
    }
}
