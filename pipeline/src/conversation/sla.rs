//! SLA clocks. Each target (first response, next reply per customer turn, resolution) starts a
//! clock; its deadline is the start plus the policy's target, in calendar time or in business
//! hours of the conversation's calendar. A clock is *met* when its stopping event comes at or
//! before the deadline, *breached* at the deadline otherwise — the breach happens, and is counted
//! in the window of, the deadline itself in event time, not when the late reply finally comes.
//! A response clock still running when the conversation is resolved or closed stops without an
//! outcome if that happened before the deadline (nobody owed a reply any more).

use super::calendar::{Calendar, Night};
use super::facts::Facts;
use super::marks::{Kind, Mark};
use serde::{Deserialize, Serialize};
use std::collections::HashMap;

/// An SLA target.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub enum Target {
    /// First response.
    FirstResponse,
    /// The reply to each customer turn.
    NextReply,
    /// First resolution.
    Resolution,
}

impl Target {
    /// Every target, in column order.
    pub const ALL: [Target; 3] = [Target::FirstResponse, Target::NextReply, Target::Resolution];

    /// Column and label name.
    pub fn as_str(self) -> &'static str {
        match self {
            Target::FirstResponse => "first_response",
            Target::NextReply => "next_reply",
            Target::Resolution => "resolution",
        }
    }

    /// Index in [`Target::ALL`].
    pub fn index(self) -> usize {
        self as usize
    }
}

/// A compiled SLA policy.
#[derive(Debug, Clone)]
pub struct Policy {
    /// Channel it applies to (any if `None`).
    pub channel: Option<String>,
    /// Tier it applies to (any if `None`).
    pub tier: Option<u8>,
    /// Targets in ms, by [`Target::index`].
    pub targets: [Option<i64>; 3],
    /// Targets count business hours.
    pub business_hours: bool,
}

/// The compiled lifecycle settings: night range, calendars, SLA policies.
#[derive(Debug, Clone)]
pub struct Lifecycle {
    /// Night range.
    pub night: Night,
    /// Calendar of teams without their own.
    pub default: Option<Calendar>,
    /// Calendars per team.
    pub teams: HashMap<String, Calendar>,
    /// Policies, in file order.
    pub policies: Vec<Policy>,
    /// The sentiment escalation rule.
    pub angry: super::config::AngryConfig,
}

/// Where an SLA clock stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum Outcome {
    /// Stopped at or before the deadline (at the stopping event's time).
    Met(i64),
    /// Not stopped by the deadline.
    Breached(i64),
    /// Still running, deadline not reached as of the evaluation time.
    Pending,
}

impl Outcome {
    /// Column value.
    pub fn as_str(self) -> &'static str {
        match self {
            Outcome::Met(_) => "met",
            Outcome::Breached(_) => "breached",
            Outcome::Pending => "pending",
        }
    }
}

/// One SLA clock of a conversation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Clock {
    /// Its target.
    pub target: Target,
    /// When it started.
    pub started: i64,
    /// Its deadline (`None`: the calendar has no working time within 400 days).
    pub deadline: Option<i64>,
    /// The event that stopped it, if any.
    pub stopped: Option<i64>,
    /// Resolution or closure that made it moot, if any (response clocks only).
    pub cancelled: Option<i64>,
}

impl Clock {
    /// The outcome as of `as_of` (epoch ms); `None` when the clock was cancelled before its
    /// deadline or has no deadline.
    pub fn outcome(&self, as_of: i64) -> Option<Outcome> {
        let deadline = self.deadline?;
        match self.stopped {
            Some(s) if s <= deadline => Some(Outcome::Met(s)),
            Some(_) => Some(Outcome::Breached(deadline)),
            None if self.cancelled.is_some_and(|c| c < deadline) => None,
            None if deadline <= as_of => Some(Outcome::Breached(deadline)),
            None => Some(Outcome::Pending),
        }
    }

    /// The outcome once every event is known: a running clock is breached at its deadline.
    pub fn final_outcome(&self) -> Option<Outcome> {
        self.outcome(i64::MAX)
    }
}

impl Lifecycle {
    /// The calendar of `team`, else the default one.
    pub fn calendar(&self, team: Option<&str>) -> Option<&Calendar> {
        team.and_then(|t| self.teams.get(t)).or(self.default.as_ref())
    }

    /// The most specific policy setting `target` for `channel` at `tier` (channel counts more
    /// than tier; on a tie, the first in the file): (target ms, business hours).
    fn target(&self, target: Target, channel: &str, tier: u8) -> Option<(i64, bool)> {
        let mut best: Option<(u8, &Policy, i64)> = None;
        for p in &self.policies {
            let Some(ms) = p.targets[target.index()] else { continue };
            if p.channel.as_deref().is_some_and(|c| c != channel) || p.tier.is_some_and(|t| t != tier) {
                continue;
            }
            let score = 2 * u8::from(p.channel.is_some()) + u8::from(p.tier.is_some());
            if best.is_none_or(|(s, _, _)| score > s) {
                best = Some((score, p, ms));
            }
        }
        best.map(|(_, p, ms)| (ms, p.business_hours))
    }

    /// The SLA clocks of a conversation.
    pub fn clocks(&self, f: &Facts, marks: &[Mark], channel: &str, team: Option<&str>) -> Vec<Clock> {
        if self.policies.is_empty() {
            return Vec::new();
        }
        let calendar = self.calendar(team);
        let tier_at = |at: i64| f.tier_at(at);
        let cancelled_after = |at: i64| {
            marks.iter().find(|m| matches!(m.kind, Kind::Resolved | Kind::Closed) && m.ts >= at).map(|m| m.ts)
        };
        let deadline = |started: i64, (ms, business): (i64, bool)| match (business, calendar) {
            (true, Some(c)) => c.add_business(started, ms),
            _ => Some(started.saturating_add(ms)),
        };
        let mut clocks = Vec::new();
        // first response: from the first customer message (or the start, if a reply came first);
        // no clock before either exists
        let first_start = f.first_response.map(|s| s.from).or(f.first_customer);
        if let Some(first_start) = first_start
            && let Some(t) = self.target(Target::FirstResponse, channel, tier_at(first_start))
        {
            clocks.push(Clock {
                target: Target::FirstResponse,
                started: first_start,
                deadline: deadline(first_start, t),
                stopped: f.first_response.map(|s| s.to),
                cancelled: cancelled_after(first_start),
            });
        }
        // next reply: every customer turn except the one the first response answered (a turn
        // still waiting only once there was a first response)
        let first_reply = f.first_response.map(|s| s.to);
        let answered = f.replies.iter().filter(|s| Some(s.to) != first_reply).map(|s| (s.from, Some(s.to)));
        let waiting = f.waiting_since.filter(|_| first_reply.is_some()).map(|w| (w, None));
        let turns = answered.chain(waiting);
        for (from, to) in turns {
            if let Some(t) = self.target(Target::NextReply, channel, tier_at(from)) {
                clocks.push(Clock {
                    target: Target::NextReply,
                    started: from,
                    deadline: deadline(from, t),
                    stopped: to,
                    cancelled: cancelled_after(from),
                });
            }
        }
        if let Some(t) = self.target(Target::Resolution, channel, f.max_tier) {
            clocks.push(Clock {
                target: Target::Resolution,
                started: f.started_at,
                deadline: deadline(f.started_at, t),
                stopped: f.first_resolved,
                cancelled: None,
            });
        }
        clocks
    }
}

/// The per-target summary of a conversation's clocks as of `as_of`: breached if any breached,
/// else pending if any is pending, else met; `None` without a clock with an outcome.
pub fn summary(clocks: &[Clock], target: Target, as_of: i64) -> Option<Outcome> {
    let outcomes = clocks.iter().filter(|c| c.target == target).filter_map(|c| c.outcome(as_of));
    outcomes.fold(None, |acc, o| match (acc, o) {
        (Some(Outcome::Breached(t)), _) | (_, Outcome::Breached(t)) => Some(Outcome::Breached(t)),
        (Some(Outcome::Pending), _) | (_, Outcome::Pending) => Some(Outcome::Pending),
        (_, met) => Some(met),
    })
}
