//! Settings of the conversation operator: idle timeout, night range, business-hours calendars
//! and SLA policies.

use super::calendar::{Calendar, CalendarConfig, Night, NightConfig};
use super::sla::{Lifecycle, Policy};
use crate::{Error, Result};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::time::Duration;

/// Conversation lifecycle settings, as written under `[conversation]`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ConversationConfig {
    /// A conversation with no event for this long (event time) is closed by timeout and its
    /// state evicted. Default `24h`.
    #[serde(with = "humantime_serde")]
    pub idle_timeout: Duration,
    /// When a conversation counts as started at night (`night` column, `night_share`).
    pub night: NightConfig,
    /// Business-hours calendars: `default`, and per team under `teams`. Without any, the
    /// business-hours columns are null.
    pub business_hours: BusinessHoursConfig,
    /// SLA policies, `[[conversation.sla]]`; the most specific one matching a conversation's
    /// channel and tier sets each target.
    pub sla: Vec<SlaPolicyConfig>,
    /// The sentiment escalation signal: an angry customer still with the bot.
    pub angry_with_bot: AngryConfig,
}

/// `[conversation.angry_with_bot]`: when a customer still with the bot (no handoff yet) counts
/// as angry — `negative_in_a_row` negative messages in a row, or one scoring at or below `below`.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct AngryConfig {
    /// Negative customer messages in a row. Default 2.
    pub negative_in_a_row: u32,
    /// Score at or below which one message is enough, in [-1, 1]. Default -0.6.
    pub below: f32,
}

impl Default for AngryConfig {
    fn default() -> Self {
        AngryConfig { negative_in_a_row: 2, below: -0.6 }
    }
}

/// `[conversation.business_hours]`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct BusinessHoursConfig {
    /// The calendar of conversations whose team has none of its own.
    pub default: Option<CalendarConfig>,
    /// Calendars per team name.
    pub teams: BTreeMap<String, CalendarConfig>,
}

/// One SLA policy, `[[conversation.sla]]`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct SlaPolicyConfig {
    /// Channel it applies to; unset: every channel.
    pub channel: Option<String>,
    /// Tier it applies to (1 bot, 2 agent, 3 expert); unset: every tier. First response and next
    /// reply use the tier in effect when their clock starts, resolution the highest tier reached.
    pub tier: Option<u8>,
    /// First response target; `30s`, `5m`.
    #[serde(with = "humantime_serde::option")]
    pub first_response: Option<Duration>,
    /// Target for the reply to every customer turn.
    #[serde(with = "humantime_serde::option")]
    pub next_reply: Option<Duration>,
    /// Resolution target (start to first resolution).
    #[serde(with = "humantime_serde::option")]
    pub resolution: Option<Duration>,
    /// Targets count business hours of the conversation's calendar (default: calendar time).
    pub business_hours: bool,
}

impl Default for ConversationConfig {
    fn default() -> Self {
        ConversationConfig {
            idle_timeout: Duration::from_secs(24 * 3600),
            night: NightConfig::default(),
            business_hours: BusinessHoursConfig::default(),
            sla: Vec::new(),
            angry_with_bot: AngryConfig::default(),
        }
    }
}

impl ConversationConfig {
    /// Checks the settings; errors name the field.
    pub fn validate(&self) -> Result<()> {
        if self.idle_timeout < Duration::from_secs(1) {
            return Err(Error::config("conversation.idle_timeout", "must be at least 1s"));
        }
        self.lifecycle().map(|_| ())
    }

    /// Compiles the calendars, the night range and the policies.
    pub fn lifecycle(&self) -> Result<Lifecycle> {
        let night = Night::new("conversation.night", &self.night)?;
        let default = match &self.business_hours.default {
            Some(c) => Some(Calendar::new("conversation.business_hours.default", c)?),
            None => None,
        };
        let mut teams = std::collections::HashMap::new();
        for (team, c) in &self.business_hours.teams {
            teams.insert(
                team.clone(),
                Calendar::new(&format!("conversation.business_hours.teams.{team}"), c)?,
            );
        }
        let mut policies = Vec::with_capacity(self.sla.len());
        for (i, p) in self.sla.iter().enumerate() {
            let field = |f: &str| format!("conversation.sla[{i}].{f}");
            if p.tier.is_some_and(|t| !(1..=3).contains(&t)) {
                return Err(Error::config(field("tier"), "must be 1, 2 or 3"));
            }
            if p.first_response.is_none() && p.next_reply.is_none() && p.resolution.is_none() {
                return Err(Error::config(field("first_response"), "a policy needs at least one target"));
            }
            if p.business_hours && default.is_none() {
                return Err(Error::config(
                    field("business_hours"),
                    "needs a calendar: set conversation.business_hours.default",
                ));
            }
            let ms = |d: Option<Duration>| d.map(crate::time::millis);
            for (name, d) in [
                ("first_response", p.first_response),
                ("next_reply", p.next_reply),
                ("resolution", p.resolution),
            ] {
                if d.is_some_and(|d| d.is_zero()) {
                    return Err(Error::config(field(name), "must be greater than zero"));
                }
            }
            policies.push(Policy {
                channel: p.channel.clone(),
                tier: p.tier,
                targets: [ms(p.first_response), ms(p.next_reply), ms(p.resolution)],
                business_hours: p.business_hours,
            });
        }
        let angry = self.angry_with_bot;
        if angry.negative_in_a_row == 0 {
            return Err(Error::config("conversation.angry_with_bot.negative_in_a_row", "must be at least 1"));
        }
        if !(-1.0..=1.0).contains(&angry.below) {
            return Err(Error::config("conversation.angry_with_bot.below", "must be within [-1, 1]"));
        }
        Ok(Lifecycle { night, default, teams, policies, angry })
    }
}
