//! `[limits]`: bounds that keep broken or hostile input from exhausting memory or poisoning
//! event time. What exceeds them is refused to the dead-letter output (or, for open
//! conversations, ended early) and counted; nothing crashes and nothing grows without bound.

use crate::{Error, Result};
use serde::{Deserialize, Serialize};
use std::time::Duration;

/// Bytes of an oversized record kept in its dead letter.
pub const KEPT_PREFIX: usize = 64 * 1024;

/// `[limits]`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct LimitsConfig {
    /// Largest record accepted, in bytes (a Kafka value, a line of a file). A larger one is a
    /// dead letter (`too_large`) that keeps its first 64 KiB; a file line is never read into
    /// memory beyond this. Default 1 MiB (Kafka's own default `message.max.bytes`).
    pub max_record_bytes: usize,
    /// Most conversations held open at once. Beyond it, the conversation whose idle deadline is
    /// nearest is written early with `end_reason = "evicted"` (counted in
    /// `ticketpulse_conversations_evicted_total`); its later events are dead letters like those
    /// of any ended conversation. Default 2 000 000 (about 2 GB of state).
    pub max_open_conversations: usize,
    /// Event times further ahead of the wall clock than this are refused (`out_of_range`): a
    /// year-9999 event would otherwise move the watermark past everything. Default `1d`.
    #[serde(with = "humantime_serde")]
    pub max_clock_skew: Duration,
    /// Event times before this (RFC 3339) are refused (`out_of_range`). Default
    /// `2000-01-01T00:00:00Z`.
    pub min_event_time: String,
}

impl Default for LimitsConfig {
    fn default() -> Self {
        LimitsConfig {
            max_record_bytes: 1 << 20,
            max_open_conversations: 2_000_000,
            max_clock_skew: Duration::from_secs(86_400),
            min_event_time: "2000-01-01T00:00:00Z".into(),
        }
    }
}

impl LimitsConfig {
    /// Checks the settings; errors name the field.
    pub fn validate(&self) -> Result<()> {
        if self.max_record_bytes < 1024 {
            return Err(Error::config("limits.max_record_bytes", "must be at least 1024"));
        }
        if self.max_open_conversations == 0 {
            return Err(Error::config("limits.max_open_conversations", "must be at least 1"));
        }
        self.min_event_ms().map(|_| ())
    }

    /// `min_event_time` in epoch ms.
    pub fn min_event_ms(&self) -> Result<i64> {
        crate::decode::parse_rfc3339_ms(&self.min_event_time).ok_or_else(|| {
            Error::config(
                "limits.min_event_time",
                format!("{:?} is not RFC 3339 with an offset", self.min_event_time),
            )
        })
    }

    /// The event-time bounds: events outside `lo..=now + skew` are refused.
    pub fn time_bounds(&self) -> Result<TimeBounds> {
        Ok(TimeBounds { min_ms: self.min_event_ms()?, skew_ms: crate::time::millis(self.max_clock_skew) })
    }
}

/// Event times accepted, relative to the wall clock.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TimeBounds {
    /// Earliest accepted, epoch ms.
    pub min_ms: i64,
    /// How far past the wall clock an event may be.
    pub skew_ms: i64,
}

impl TimeBounds {
    /// Why `ts_ms` is refused at wall-clock time `now_ms`, if it is.
    pub fn check(&self, ts_ms: i64, now_ms: i64) -> Option<String> {
        let show = |ms: i64| {
            chrono::DateTime::from_timestamp_millis(ms).map_or_else(|| format!("{ms} ms"), |t| t.to_rfc3339())
        };
        if ts_ms < self.min_ms {
            return Some(format!(
                "field `ts`: {} is before limits.min_event_time {}",
                show(ts_ms),
                show(self.min_ms)
            ));
        }
        if ts_ms > now_ms.saturating_add(self.skew_ms) {
            return Some(format!(
                "field `ts`: {} is more than limits.max_clock_skew ahead of the clock ({})",
                show(ts_ms),
                show(now_ms)
            ));
        }
        None
    }
}
