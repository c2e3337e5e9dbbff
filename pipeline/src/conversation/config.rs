//! Settings of the conversation operator.

use crate::{Error, Result};
use serde::{Deserialize, Serialize};
use std::time::Duration;

/// Conversation lifecycle settings, as written under `[conversation]`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ConversationConfig {
    /// A conversation with no event for this long (event time) is closed by timeout. Default `24h`.
    #[serde(with = "humantime_serde")]
    pub idle_timeout: Duration,
}

impl Default for ConversationConfig {
    fn default() -> Self {
        ConversationConfig { idle_timeout: Duration::from_secs(24 * 3600) }
    }
}

impl ConversationConfig {
    /// Checks the settings; errors name the field.
    pub fn validate(&self) -> Result<()> {
        if self.idle_timeout < Duration::from_secs(1) {
            return Err(Error::config("conversation.idle_timeout", "must be at least 1s"));
        }
        Ok(())
    }
}
