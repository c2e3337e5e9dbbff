//! Window specs (tumbling and hopping) and the groups a window is split by.

use serde::{Deserialize, Serialize};
use std::sync::Arc;

/// A window spec: windows of `width_ms` starting every `slide_ms` (tumbling when equal).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct WindowSpec {
    /// Width, ms.
    pub width_ms: i64,
    /// Distance between window starts, ms; divides `width_ms`.
    pub slide_ms: i64,
}

impl WindowSpec {
    /// Tumbling windows of `width_ms`.
    pub fn tumbling(width_ms: i64) -> Self {
        WindowSpec { width_ms, slide_ms: width_ms }
    }

    /// `tumbling` or `hopping`.
    pub fn kind(&self) -> &'static str {
        if self.slide_ms == self.width_ms { "tumbling" } else { "hopping" }
    }

    /// Starts of the windows containing `ts`, ascending.
    pub fn starts(&self, ts: i64) -> impl Iterator<Item = i64> + use<> {
        let last = crate::time::window_start(ts, self.slide_ms);
        let slide = self.slide_ms;
        let n = self.width_ms / self.slide_ms;
        (0..n).rev().map(move |k| last - k * slide)
    }
}

/// What a window row is grouped by.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub enum Dimension {
    /// The conversation's entry channel.
    Channel,
    /// The conversation's team (conversations without one are not in any team row).
    Team,
    /// The tier the conversation was at when the counted event happened (`1`, `2`, `3`): a
    /// message before the handoff counts under tier 1, one after it under tier 2.
    Tier,
    /// The topic group of the conversation's ticket: a top topic's id, or `other`
    /// (conversations without a topic yet are not in any topic row).
    Topic,
    /// The channel and the topic group together (`weibo/7`): where a topic surges.
    ChannelTopic,
}

impl Dimension {
    /// The value of the `dimension` column and Prometheus label name.
    pub fn as_str(self) -> &'static str {
        match self {
            Dimension::Channel => "channel",
            Dimension::Team => "team",
            Dimension::Tier => "tier",
            Dimension::Topic => "topic",
            Dimension::ChannelTopic => "channel_topic",
        }
    }

    /// The inverse of [`Dimension::as_str`].
    pub fn parse(name: &str) -> Option<Dimension> {
        [Dimension::Channel, Dimension::Team, Dimension::Tier, Dimension::Topic, Dimension::ChannelTopic]
            .into_iter()
            .find(|d| d.as_str() == name)
    }
}

/// A dimension and its value (`web`, `billing`, `3`).
pub type Group = (Dimension, Arc<str>);

/// The group value of a tier (`1`, `2`, `3`), allocated once.
pub fn tier_key(tier: u8) -> Arc<str> {
    static TIERS: std::sync::OnceLock<[Arc<str>; 4]> = std::sync::OnceLock::new();
    let tiers = TIERS.get_or_init(|| ["0", "1", "2", "3"].map(Arc::from));
    tiers[usize::from(tier.min(3))].clone()
}
