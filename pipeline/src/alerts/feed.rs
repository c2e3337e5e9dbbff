//! What the detector sees: windowed counts summed into its buckets (e.g. 15 minutes of 1-minute
//! windows), one observation per series and bucket, handed out in time order once the watermark
//! has passed a bucket's end — every bucket, also those without any count, so that a series
//! that falls silent is observed at zero.

use super::detector::{Kind, Observation, SeriesKey};
use crate::metrics::{Aggregate, Dimension};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// Empty buckets handed out at most in one go; a longer silence (a stream paused for days)
/// resumes at the next bucket with counts.
const MAX_GAP: i64 = 30 * 96;

/// The series a window row of `dimension` / `group` contributes to, with their counts:
/// conversations started by channel, topic and channel × topic; by channel also the SLA breach
/// rate (breached clocks of all clocks that stopped or breached) and the share of negative
/// customer messages (of those scored).
pub fn series_of(dimension: Dimension, group: &str, a: &Aggregate) -> Vec<(SeriesKey, Observation)> {
    let key = |kind| SeriesKey { kind, dimension: dimension.as_str().to_string(), group: group.to_string() };
    let started = Observation { count: a.conversations_started.max(0) as f64, total: None };
    match dimension {
        Dimension::Channel => {
            let breached: i64 = a.sla_breached.iter().sum();
            let clocks = breached + a.sla_met.iter().sum::<i64>();
            let scored: i64 = a.sentiment.iter().sum();
            vec![
                (key(Kind::Volume), started),
                (
                    key(Kind::SlaBreachRate),
                    Observation { count: breached as f64, total: Some(clocks as f64) },
                ),
                (
                    key(Kind::NegativeShare),
                    Observation { count: a.sentiment[0] as f64, total: Some(scored as f64) },
                ),
            ]
        }
        Dimension::Topic | Dimension::ChannelTopic => vec![(key(Kind::Volume), started)],
        Dimension::Team | Dimension::Tier => Vec::new(),
    }
}

/// Buckets in the making.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Feed {
    bucket_ms: i64,
    /// The next bucket to hand out (`None` before the first hand-out).
    next: Option<i64>,
    open: BTreeMap<i64, BTreeMap<SeriesKey, Observation>>,
}

impl Feed {
    /// A feed of `bucket_ms` buckets.
    pub fn new(bucket_ms: i64) -> Self {
        Feed { bucket_ms: bucket_ms.max(1), next: None, open: BTreeMap::new() }
    }

    /// Adds `observation` of `series` at `at`; false (nothing added) when its bucket was already
    /// handed out.
    pub fn add(&mut self, at: i64, series: SeriesKey, observation: Observation) -> bool {
        let bucket = at.div_euclid(self.bucket_ms) * self.bucket_ms;
        if self.next.is_some_and(|n| bucket < n) {
            tracing::trace!(target: "ticketpulse::alerts::feed", "late count for {series:?} at {at} (next bucket {:?})", self.next);
            return false;
        }

        self.open
            .entry(bucket)
            .or_default()
            .entry(series)
            .or_insert(Observation::ZERO)
            .add(&observation, 1.0);
        true
    }

    /// Applies `f` to the counts of every bucket in the making.
    pub fn remap(&mut self, f: &dyn Fn(&mut BTreeMap<SeriesKey, Observation>)) {
        self.open.values_mut().for_each(f);
    }

    /// The buckets that end at or before `watermark`, oldest first, each with its observations
    /// (rates without any trial left out).
    pub fn complete(&mut self, watermark: i64) -> Vec<(i64, BTreeMap<SeriesKey, Observation>)> {
        let mut out = Vec::new();
        // the first hand-out starts at the earliest bucket with counts (counts may come in any
        // order before that: a first topic model assigns the tickets waiting since the start)
        let Some(mut next) = self.next.or_else(|| self.open.keys().next().copied()) else { return out };
        let mut empty = 0;
        while next.saturating_add(self.bucket_ms) <= watermark {
            let counts = self.open.remove(&next);
            if counts.is_none() {
                empty += 1;
                if empty > MAX_GAP {
                    // skip the silence to the next bucket with counts (or to the watermark)
                    let resume = self.open.keys().next().copied().unwrap_or(watermark);
                    next = resume.div_euclid(self.bucket_ms) * self.bucket_ms;
                    empty = 0;
                    continue;
                }
            } else {
                empty = 0;
            }
            let mut observations = counts.unwrap_or_default();
            observations.retain(|_, o| o.total.is_none_or(|t| t > 0.0));
            out.push((next, observations));
            next += self.bucket_ms;
        }
        self.next = Some(next);
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn weibo() -> SeriesKey {
        SeriesKey { kind: Kind::Volume, dimension: "channel".into(), group: "weibo".into() }
    }

    #[test]
    fn sums_windows_into_buckets_in_order_with_empty_ones_and_refuses_late_counts() {
        let mut f = Feed::new(15);
        let one = Observation { count: 1.0, total: None };
        assert!(f.add(3, weibo(), one));
        assert!(f.add(14, weibo(), Observation { count: 2.0, total: None }));
        assert!(f.add(50, weibo(), one));
        assert!(f.complete(14).is_empty(), "the first bucket ends at 15");
        let done = f.complete(45);
        let starts: Vec<i64> = done.iter().map(|b| b.0).collect();
        assert_eq!(starts, [0, 15, 30]);
        assert_eq!(done[0].1[&weibo()].count, 3.0);
        assert!(done[1].1.is_empty() && done[2].1.is_empty());
        assert!(!f.add(20, weibo(), one), "bucket 15 was handed out");
        let done = f.complete(60);
        assert_eq!(done.len(), 1);
        assert_eq!((done[0].0, done[0].1[&weibo()].count), (45, 1.0));
    }

    #[test]
    fn a_channel_row_feeds_volume_breach_rate_and_negative_share() {
        let a = Aggregate {
            conversations_started: 7,
            sla_met: [3, 1, 0],
            sla_breached: [1, 0, 0],
            sentiment: [2, 5, 1],
            ..Aggregate::default()
        };
        let s = series_of(Dimension::Channel, "weibo", &a);
        let get = |k: Kind| s.iter().find(|(key, _)| key.kind == k).unwrap().1;
        assert_eq!(get(Kind::Volume), Observation { count: 7.0, total: None });
        assert_eq!(get(Kind::SlaBreachRate), Observation { count: 1.0, total: Some(5.0) });
        assert_eq!(get(Kind::NegativeShare), Observation { count: 2.0, total: Some(8.0) });
        assert_eq!(series_of(Dimension::ChannelTopic, "weibo/3", &a).len(), 1);
        assert!(series_of(Dimension::Tier, "1", &a).is_empty());
        // a rate without trials is left out of its bucket
        let mut f = Feed::new(10);
        let silent = series_of(Dimension::Channel, "email", &Aggregate::default());
        for (k, o) in silent {
            f.add(0, k, o);
        }
        let done = f.complete(10);
        assert_eq!(done[0].1.len(), 1, "{:?}", done[0].1);
    }

    #[test]
    fn a_long_silence_is_skipped() {
        let mut f = Feed::new(10);
        let one = Observation { count: 1.0, total: None };
        f.add(0, weibo(), one);
        f.add(10 * 10_000, weibo(), one);
        let done = f.complete(10 * 10_001);
        assert!(done.len() < MAX_GAP as usize + 10, "{}", done.len());
        assert_eq!(done.last().unwrap().0, 10 * 10_000);
        assert_eq!(done.last().unwrap().1[&weibo()].count, 1.0);
    }
}
