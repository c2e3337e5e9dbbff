//! A task: the state of one input partition. Conversations are keyed by the partition key (the
//! conversation id), so each lives in exactly one partition; the task holds them, the event ids
//! seen (duplicates repeat their conversation's key), and the partition's share of every window.
//! Its conversations and its share of the windows follow the partition's own event time, so the
//! rows and partials it emits depend only on the partition's records (and on the topic model,
//! which decides each ticket's topic in event time, see [`crate::topics::TopicOperator`]). An
//! idle partition's time follows the global watermark, so that its windows and conversations
//! close.

use crate::conversation::ConversationOperator;
use crate::dedup::Dedup;
use crate::metrics::WindowOperator;
use serde::{Deserialize, Serialize};

/// The state of one input partition (see the module doc).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct TaskState {
    pub(crate) dedup: Dedup,
    pub(crate) conversations: ConversationOperator,
    /// The partition's share of every window.
    pub(crate) windows: WindowOperator,
    /// The partition's watermark: the largest event time it delivered (lateness is judged
    /// against it), or where it rests after a drain.
    watermark: i64,
    /// The largest event time it delivered.
    max_ts: Option<i64>,
    /// The watermark at which the task last fired.
    pub(crate) fired_at: i64,
}

impl TaskState {
    /// An empty task for `config`.
    pub fn new(config: &crate::config::PipelineConfig) -> Self {
        let lateness = config.time.lateness_ms();
        let horizon = crate::time::millis(config.dedup.horizon);
        TaskState {
            dedup: Dedup::new(config.dedup.horizon),
            conversations: ConversationOperator::new(&config.conversation, lateness, horizon),
            windows: WindowOperator::new(
                config.time.window_specs(),
                lateness,
                crate::time::millis(config.conversation.idle_timeout),
            ),
            watermark: crate::time::MIN_WATERMARK,
            max_ts: None,
            fired_at: crate::time::MIN_WATERMARK,
        }
    }

    /// The partition's watermark.
    pub fn watermark(&self) -> i64 {
        self.watermark
    }

    /// The largest event time the partition delivered.
    pub fn max_event_time(&self) -> Option<i64> {
        self.max_ts
    }

    /// An event at `ts_ms`: advances the watermark; returns it as it was before (the one to
    /// judge the event's lateness by).
    pub fn observe(&mut self, ts_ms: i64) -> i64 {
        let before = self.watermark;
        self.max_ts = Some(self.max_ts.map_or(ts_ms, |m| m.max(ts_ms)));
        self.watermark = self.watermark.max(ts_ms);
        before
    }

    /// The partition stopped holding the global watermark (idle): its watermark follows the
    /// global `watermark`, never down; returns whether it moved.
    pub fn follow(&mut self, watermark: i64) -> bool {
        let moved = watermark > self.watermark;
        self.watermark = self.watermark.max(watermark);
        moved
    }

    /// After a drain: moves the watermark up to `watermark`, never down.
    pub fn rest_at(&mut self, watermark: i64) {
        self.watermark = self.watermark.max(watermark);
        self.windows.rest_at(self.watermark);
        self.fired_at = self.watermark;
    }
}
