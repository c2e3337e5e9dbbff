//! Settings of event-time handling.

use crate::{Error, Result};
use serde::{Deserialize, Serialize};
use std::time::Duration;

/// Event-time settings, as written under `[time]`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct TimeConfig {
    /// Width of the tumbling windows of `window_metrics`; `60s`, `5m`, `1h`. Default `1m`.
    #[serde(with = "humantime_serde")]
    pub window: Duration,
    /// How far behind the watermark an event may be and still count in its window; later
    /// events still update their conversation but are counted as late. Default `5m`.
    #[serde(with = "humantime_serde")]
    pub allowed_lateness: Duration,
    /// Processing time without records after which a partition no longer holds the watermark.
    /// Default `30s`.
    #[serde(with = "humantime_serde")]
    pub idle_partition_timeout: Duration,
}

impl Default for TimeConfig {
    fn default() -> Self {
        TimeConfig {
            window: Duration::from_secs(60),
            allowed_lateness: Duration::from_secs(300),
            idle_partition_timeout: Duration::from_secs(30),
        }
    }
}

impl TimeConfig {
    /// Checks the settings; errors name the field.
    pub fn validate(&self) -> Result<()> {
        if self.window.as_millis() == 0 {
            return Err(Error::config("time.window", "must be at least 1ms"));
        }
        if self.window > Duration::from_secs(7 * 86_400) {
            return Err(Error::config("time.window", "must be at most 7 days"));
        }
        if self.idle_partition_timeout.is_zero() {
            return Err(Error::config("time.idle_partition_timeout", "must be greater than zero"));
        }
        Ok(())
    }

    /// Window width in milliseconds.
    pub fn window_ms(&self) -> i64 {
        millis(self.window)
    }

    /// Allowed lateness in milliseconds.
    pub fn lateness_ms(&self) -> i64 {
        millis(self.allowed_lateness)
    }
}

/// A duration in whole milliseconds, saturating.
pub fn millis(d: Duration) -> i64 {
    i64::try_from(d.as_millis()).unwrap_or(i64::MAX)
}
