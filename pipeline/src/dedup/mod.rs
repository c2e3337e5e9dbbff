//! Duplicate detection by `event_id` with bounded memory. An id is remembered (as a 128-bit hash)
//! until the watermark passes its event time plus the horizon; so memory is bounded by the
//! events of one horizon, and a duplicate is caught as long as it is not older than the horizon.
//! The horizon must cover the allowed lateness (checked at start).

use crate::{Error, Result};
use serde::{Deserialize, Serialize};
use std::collections::hash_map::Entry;
use std::collections::{BTreeMap, HashMap};
use std::time::Duration;
use xxhash_rust::xxh3::xxh3_128;

/// Settings of duplicate detection, as written under `[dedup]`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct DedupConfig {
    /// How long (in event time, behind the watermark) an event id is remembered. Default `1h`.
    #[serde(with = "humantime_serde")]
    pub horizon: Duration,
}

impl Default for DedupConfig {
    fn default() -> Self {
        DedupConfig { horizon: Duration::from_secs(3600) }
    }
}

impl DedupConfig {
    /// Checks the settings against the allowed lateness; errors name the field.
    pub fn validate(&self, allowed_lateness: Duration) -> Result<()> {
        if self.horizon < allowed_lateness {
            return Err(Error::config(
                "dedup.horizon",
                format!(
                    "{} is shorter than time.allowed_lateness ({}): late duplicates would pass",
                    humantime::format_duration(self.horizon),
                    humantime::format_duration(allowed_lateness)
                ),
            ));
        }
        Ok(())
    }
}

/// Granularity of expiry, in ms of event time.
const BUCKET_MS: i64 = 60_000;

/// The set of recently seen event ids.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct Dedup {
    horizon_ms: i64,
    seen: HashMap<u128, i64>,
    /// Expiry bucket (event-time minute) -> ids whose event time falls in it.
    buckets: BTreeMap<i64, Vec<u128>>,
}

impl Dedup {
    /// An empty set remembering ids for `horizon` of event time.
    pub fn new(horizon: Duration) -> Self {
        Dedup { horizon_ms: crate::time::millis(horizon), ..Default::default() }
    }

    /// True when `event_id` is new (and remembers it); false for a duplicate.
    pub fn insert(&mut self, event_id: &str, ts_ms: i64) -> bool {
        let key = xxh3_128(event_id.as_bytes());
        match self.seen.entry(key) {
            Entry::Occupied(_) => return false,
            Entry::Vacant(slot) => slot.insert(ts_ms),
        };
        self.buckets.entry(ts_ms.div_euclid(BUCKET_MS)).or_default().push(key);
        true
    }

    /// Forgets ids whose event time is more than the horizon behind `watermark`.
    pub fn expire(&mut self, watermark: i64) {
        let cutoff = watermark.saturating_sub(self.horizon_ms).div_euclid(BUCKET_MS);
        while let Some(entry) = self.buckets.first_entry() {
            if *entry.key() >= cutoff {
                break;
            }
            for key in entry.remove() {
                self.seen.remove(&key);
            }
        }
    }

    /// The horizon, ms of event time.
    pub fn horizon_ms(&self) -> i64 {
        self.horizon_ms
    }

    /// Ids remembered.
    pub fn len(&self) -> usize {
        self.seen.len()
    }

    /// Nothing remembered.
    pub fn is_empty(&self) -> bool {
        self.seen.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn drops_repeats_and_forgets_after_the_horizon() {
        let mut d = Dedup::new(Duration::from_secs(600));
        assert!(d.insert("a", 0));
        assert!(!d.insert("a", 0));
        assert!(d.insert("b", 0));
        d.expire(5 * 60_000);
        assert!(!d.insert("a", 0), "within the horizon");
        d.expire(12 * 60_000);
        assert_eq!(d.len(), 0);
        assert!(d.insert("a", 0), "forgotten after the horizon");
    }

    #[test]
    fn memory_is_bounded_by_the_horizon() {
        let mut d = Dedup::new(Duration::from_secs(600));
        for i in 0..100_000i64 {
            let ts = i * 1_000; // one event a second
            d.insert(&format!("e{i}"), ts);
            d.expire(ts);
        }
        assert!(d.len() <= 11 * 60 + 60, "{} ids kept", d.len());
    }

    #[test]
    fn horizon_must_cover_lateness() {
        let c = DedupConfig { horizon: Duration::from_secs(60) };
        let e = c.validate(Duration::from_secs(300)).unwrap_err().to_string();
        assert!(e.contains("dedup.horizon"), "{e}");
        assert!(c.validate(Duration::from_secs(60)).is_ok());
    }
}
