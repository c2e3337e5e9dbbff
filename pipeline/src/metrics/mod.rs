//! Tumbling-window aggregates per (window, channel): conversations started, messages, and the
//! exact first-response and first-human-response time distributions (p50/p90/p99 by linear
//! interpolation, as numpy/pandas compute them).
//!
//! Invariant: a window `[s, s + width)` accepts changes while it is open
//! (`watermark < s + width + allowed_lateness`) and is emitted exactly once, when the watermark
//! passes that point; a change aimed at a closed window is refused (the caller counts it late).
//! Contributions can be retracted while the window is open, so a late-arriving earlier reply
//! moves a first response from one window to another without double counting.

mod quantile;
#[cfg(test)]
mod tests;

pub use quantile::quantile;

use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;

/// One aggregate of a window and channel.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct WindowAggregate {
    /// Conversations whose start is in the window.
    pub conversations_started: i64,
    /// Messages whose event time is in the window.
    pub messages: i64,
    /// First response times (s) whose responding message is in the window.
    pub first_response_s: Vec<f64>,
    /// First human response times (s) whose human message is in the window.
    pub first_human_response_s: Vec<f64>,
}

impl WindowAggregate {
    fn is_empty(&self) -> bool {
        self.conversations_started == 0
            && self.messages == 0
            && self.first_response_s.is_empty()
            && self.first_human_response_s.is_empty()
    }
}

/// A closed window of one channel, ready for the sinks.
#[derive(Debug, Clone, PartialEq)]
pub struct ClosedWindow {
    /// Inclusive start, epoch ms.
    pub start: i64,
    /// Exclusive end, epoch ms.
    pub end: i64,
    /// The channel.
    pub channel: Arc<str>,
    /// What was aggregated.
    pub aggregate: WindowAggregate,
}

/// Which duration distribution a contribution goes to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Duration {
    /// First response time.
    FirstResponse,
    /// First human response time.
    FirstHumanResponse,
}

/// The open windows.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct WindowOperator {
    width_ms: i64,
    lateness_ms: i64,
    open: BTreeMap<i64, HashMap<Arc<str>, WindowAggregate>>,
    /// The watermark as last seen by [`WindowOperator::close`].
    watermark: i64,
}

impl WindowOperator {
    /// Windows of `width_ms`, closing `lateness_ms` after their end.
    pub fn new(width_ms: i64, lateness_ms: i64) -> Self {
        WindowOperator { width_ms, lateness_ms, open: BTreeMap::new(), watermark: crate::time::MIN_WATERMARK }
    }

    /// Window width, ms.
    pub fn width_ms(&self) -> i64 {
        self.width_ms
    }

    /// Allowed lateness, ms.
    pub fn lateness_ms(&self) -> i64 {
        self.lateness_ms
    }

    /// Start of the window containing `ts_ms`.
    pub fn window_of(&self, ts_ms: i64) -> i64 {
        crate::time::window_start(ts_ms, self.width_ms)
    }

    /// The window starting at `start` still accepts changes.
    pub fn is_open(&self, start: i64) -> bool {
        start.saturating_add(self.width_ms).saturating_add(self.lateness_ms) > self.watermark
    }

    /// Windows held.
    pub fn open_windows(&self) -> usize {
        self.open.values().map(HashMap::len).sum()
    }

    fn slot(&mut self, start: i64, channel: &Arc<str>) -> Option<&mut WindowAggregate> {
        if !self.is_open(start) {
            return None;
        }
        Some(self.open.entry(start).or_default().entry(channel.clone()).or_default())
    }

    /// Adds `delta` conversation starts; false if the window is closed.
    pub fn add_started(&mut self, start: i64, channel: &Arc<str>, delta: i64) -> bool {
        self.slot(start, channel).map(|a| a.conversations_started += delta).is_some()
    }

    /// Adds `delta` messages; false if the window is closed.
    pub fn add_messages(&mut self, start: i64, channel: &Arc<str>, delta: i64) -> bool {
        self.slot(start, channel).map(|a| a.messages += delta).is_some()
    }

    /// Adds one duration value; false if the window is closed.
    pub fn add_duration(&mut self, start: i64, channel: &Arc<str>, which: Duration, seconds: f64) -> bool {
        self.slot(start, channel).map(|a| values(a, which).push(seconds)).is_some()
    }

    /// Retracts one duration value added before; false if the window is closed.
    pub fn remove_duration(&mut self, start: i64, channel: &Arc<str>, which: Duration, seconds: f64) -> bool {
        let Some(a) = self.slot(start, channel) else { return false };
        let v = values(a, which);
        if let Some(i) = v.iter().position(|x| x.to_bits() == seconds.to_bits()) {
            v.swap_remove(i);
        }
        true
    }

    /// After a drain (which closed every window at [`crate::time::MAX_WATERMARK`]): further
    /// changes are judged against `watermark`, at or after the end of every drained window.
    pub fn rest_at(&mut self, watermark: i64) {
        self.watermark = watermark;
    }

    /// Moves the watermark and returns the windows it closes, oldest first, channels sorted.
    pub fn close(&mut self, watermark: i64) -> Vec<ClosedWindow> {
        self.watermark = self.watermark.max(watermark);
        let mut closed = Vec::new();
        let (width, lateness, wm) = (self.width_ms, self.lateness_ms, self.watermark);
        while let Some(entry) = self.open.first_entry() {
            let start = *entry.key();
            if start.saturating_add(width).saturating_add(lateness) > wm {
                break;
            }
            let mut channels: Vec<_> = entry.remove().into_iter().filter(|(_, a)| !a.is_empty()).collect();
            channels.sort_by(|a, b| a.0.cmp(&b.0));
            for (channel, aggregate) in channels {
                closed.push(ClosedWindow { start, end: start + width, channel, aggregate });
            }
        }
        closed
    }
}

fn values(a: &mut WindowAggregate, which: Duration) -> &mut Vec<f64> {
    match which {
        Duration::FirstResponse => &mut a.first_response_s,
        Duration::FirstHumanResponse => &mut a.first_human_response_s,
    }
}
