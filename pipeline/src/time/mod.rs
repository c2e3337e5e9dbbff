//! Event time: per-partition watermarks and tumbling-window assignment.
//!
//! The watermark is the smallest, over the source partitions that are not idle, of the largest
//! event time seen in each partition; it never goes back. A partition that is assigned but has
//! not delivered anything yet holds the watermark (so a consumer catching up on one partition
//! cannot make another partition's records late), until it has been idle for
//! `idle_partition_timeout` of processing time; an idle partition never holds it. When every
//! partition is idle, the watermark is the largest event time seen anywhere.
//!
//! An event is *late* when its time is before `watermark - allowed_lateness`; a window
//! `[start, start + width)` closes once `watermark >= start + width + allowed_lateness`.

pub(crate) mod config;
#[cfg(test)]
mod tests;

pub use config::{HoppingConfig, TimeConfig, millis};

use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::time::{Duration, Instant};

/// The watermark before any event: nothing is late, no window closes.
pub const MIN_WATERMARK: i64 = i64::MIN;
/// The watermark after a drain: every window closes, every timer fires.
pub const MAX_WATERMARK: i64 = i64::MAX;

/// Epoch milliseconds as RFC 3339 in UTC with milliseconds (`2026-11-05T12:00:00.000Z`).
pub fn rfc3339(ms: i64) -> String {
    chrono::DateTime::from_timestamp_millis(ms)
        .map_or_else(|| ms.to_string(), |t| t.to_rfc3339_opts(chrono::SecondsFormat::Millis, true))
}

/// The wall clock in epoch milliseconds.
pub fn now_ms() -> i64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_millis() as i64)
}

/// The watermark as a time, `None` before any event and after a drain.
pub fn finite(watermark: i64) -> Option<i64> {
    (watermark > MIN_WATERMARK && watermark < MAX_WATERMARK).then_some(watermark)
}

/// Start of the tumbling window of `width_ms` that contains `ts_ms`.
pub fn window_start(ts_ms: i64, width_ms: i64) -> i64 {
    ts_ms.div_euclid(width_ms) * width_ms
}

#[derive(Debug, Clone, Serialize, Deserialize)]
struct PartitionClock {
    /// Largest event time seen; `None` while the partition has delivered nothing.
    max_ts: Option<i64>,
    /// Processing time of the last record (or of the assignment); reset on restore.
    #[serde(skip, default = "Instant::now")]
    last_active: Instant,
}

/// Tracks per-partition event time and derives the watermark.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct WatermarkTracker {
    partitions: BTreeMap<i32, PartitionClock>,
    watermark: i64,
    idle_timeout: Duration,
    /// Largest event time ever seen (survives partition revocation).
    max_seen: Option<i64>,
}

impl WatermarkTracker {
    /// A tracker whose partitions count as idle after `idle_timeout` without records.
    pub fn new(idle_timeout: Duration) -> Self {
        WatermarkTracker {
            partitions: BTreeMap::new(),
            watermark: MIN_WATERMARK,
            idle_timeout,
            max_seen: None,
        }
    }

    /// The current watermark (epoch ms; [`MIN_WATERMARK`] before the first event).
    pub fn watermark(&self) -> i64 {
        self.watermark
    }

    /// The largest event time ever seen.
    pub fn max_event_time(&self) -> Option<i64> {
        self.max_seen
    }

    /// Processing time without records after which a partition stops holding the watermark.
    pub fn set_idle_timeout(&mut self, idle_timeout: Duration) {
        self.idle_timeout = idle_timeout;
    }

    /// The source's partitions are now `partitions`: revoked ones stop holding the watermark;
    /// every assigned one counts as active from `now` (it has the whole idle timeout to deliver,
    /// however long the assignment took), and new ones hold the watermark until they deliver.
    pub fn assign(&mut self, partitions: &[i32], now: Instant) {
        self.partitions.retain(|p, _| partitions.contains(p));
        for &p in partitions {
            self.partitions
                .entry(p)
                .or_insert(PartitionClock { max_ts: None, last_active: now })
                .last_active = now;
        }
    }

    /// Records an event of `partition` at `ts_ms` and advances the watermark. Returns the
    /// watermark as it was before this event (the one to judge its lateness by).
    pub fn observe(&mut self, partition: i32, ts_ms: i64, now: Instant) -> i64 {
        let before = self.watermark;
        self.max_seen = Some(self.max_seen.map_or(ts_ms, |m| m.max(ts_ms)));
        let clock =
            self.partitions.entry(partition).or_insert(PartitionClock { max_ts: None, last_active: now });
        clock.last_active = now;
        if clock.max_ts.is_none_or(|m| ts_ms > m) {
            clock.max_ts = Some(ts_ms);
            self.recompute(now);
        }
        before
    }

    /// Re-evaluates idleness at processing time `now` (on heartbeats); returns the watermark.
    pub fn tick(&mut self, now: Instant) -> i64 {
        self.recompute(now);
        self.watermark
    }

    /// After a drain: moves the watermark up to `watermark` (the end of the last drained window
    /// plus the lateness), never down, so that a later run treats drained windows as closed.
    pub fn rest_at(&mut self, watermark: i64) {
        self.watermark = self.watermark.max(watermark);
    }

    fn recompute(&mut self, now: Instant) {
        let mut min_active: Option<i64> = None;
        let mut holding = false;
        for clock in self.partitions.values() {
            if now.saturating_duration_since(clock.last_active) >= self.idle_timeout {
                continue;
            }
            match clock.max_ts {
                None => holding = true,
                Some(m) => min_active = Some(min_active.map_or(m, |x| x.min(m))),
            }
        }
        let candidate = if holding {
            return;
        } else if let Some(m) = min_active {
            m
        } else if let Some(m) = self.partitions.values().filter_map(|p| p.max_ts).max() {
            m // every partition idle
        } else {
            return;
        };
        self.watermark = self.watermark.max(candidate);
    }
}
