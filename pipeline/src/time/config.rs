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
    /// Hopping (sliding) windows computed beside the tumbling ones: `[{ width = "1h", slide =
    /// "15m" }]` (the default). `slide` must divide `width`; `[]` turns them off.
    pub hopping: Vec<HoppingConfig>,
}

/// One hopping window spec, as written in `[[time.hopping]]` or `hopping = [{...}]`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HoppingConfig {
    /// Window width; `1h`.
    #[serde(with = "humantime_serde")]
    pub width: Duration,
    /// Distance between window starts; `15m`. Divides `width`.
    #[serde(with = "humantime_serde")]
    pub slide: Duration,
}

impl Default for TimeConfig {
    fn default() -> Self {
        TimeConfig {
            window: Duration::from_secs(60),
            allowed_lateness: Duration::from_secs(300),
            idle_partition_timeout: Duration::from_secs(30),
            hopping: vec![HoppingConfig {
                width: Duration::from_secs(3600),
                slide: Duration::from_secs(900),
            }],
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
        for (i, h) in self.hopping.iter().enumerate() {
            let (width, slide) = (millis(h.width), millis(h.slide));
            let field = |f: &str| format!("time.hopping[{i}].{f}");
            if slide == 0 {
                return Err(Error::config(field("slide"), "must be at least 1ms"));
            }
            if width % slide != 0 || width == slide {
                return Err(Error::config(field("slide"), "must divide width and be shorter than it"));
            }
            if width / slide > 96 {
                return Err(Error::config(field("slide"), "width / slide must be at most 96"));
            }
            if h.width > Duration::from_secs(7 * 86_400) {
                return Err(Error::config(field("width"), "must be at most 7 days"));
            }
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

    /// Every window spec: the tumbling one first, then the hopping ones.
    pub fn window_specs(&self) -> Vec<crate::metrics::WindowSpec> {
        let mut specs = vec![crate::metrics::WindowSpec::tumbling(self.window_ms())];
        specs.extend(
            self.hopping
                .iter()
                .map(|h| crate::metrics::WindowSpec { width_ms: millis(h.width), slide_ms: millis(h.slide) }),
        );
        specs
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
