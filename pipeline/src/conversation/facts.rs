//! The lifecycle facts of one conversation, computed in one pass over its sorted marks by the
//! definitions of `docs/metrics.md`, and the window contributions ([`Item`]s) they imply.

use super::marks::{Kind, Mark};
use crate::metrics::{Item, Measure};

/// A measured duration: from `from` to `to`, epoch ms.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Span {
    /// When the clock started.
    pub from: i64,
    /// When it stopped (the event that ends the duration).
    pub to: i64,
}

impl Span {
    /// Length in ms.
    pub fn ms(self) -> i64 {
        self.to - self.from
    }

    /// Length in seconds.
    pub fn seconds(self) -> f64 {
        self.ms() as f64 / 1000.0
    }
}

/// Where a conversation stands after its latest lifecycle event.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub enum Status {
    /// Not resolved, or reopened since.
    Open,
    /// Resolved (and not reopened since).
    Resolved,
    /// Closed for good.
    Closed,
}

impl Status {
    /// The value of the `status` column.
    pub fn as_str(self) -> &'static str {
        match self {
            Status::Open => "open",
            Status::Resolved => "resolved",
            Status::Closed => "closed",
        }
    }
}

/// Every fact of one conversation.
#[derive(Debug, Clone, PartialEq)]
pub struct Facts {
    /// Earliest event.
    pub started_at: i64,
    /// Latest event.
    pub last_event_at: i64,
    /// Earliest customer message.
    pub first_customer: Option<i64>,
    /// First response: first customer message (or the start, if a reply came first) to the first
    /// bot/agent/expert message.
    pub first_response: Option<Span>,
    /// When a human took over: the first handoff, or the start if a human replied without one.
    pub human_start: Option<i64>,
    /// Human start to the first agent/expert message at or after it.
    pub first_human_response: Option<Span>,
    /// One per answered customer turn: the turn's first customer message to the next reply.
    pub replies: Vec<Span>,
    /// Start of a customer turn still waiting for a reply.
    pub waiting_since: Option<i64>,
    /// Earliest handoff.
    pub first_handoff: Option<i64>,
    /// Handoffs.
    pub handoffs: u32,
    /// Highest tier reached: 1 bot, 2 agent, 3 expert.
    pub max_tier: u8,
    /// First handoff to tier 2 or 3 (escalated past the bot).
    pub escalated_tier2_at: Option<i64>,
    /// First handoff to tier 3.
    pub escalated_tier3_at: Option<i64>,
    /// Earliest and latest `resolved`.
    pub first_resolved: Option<i64>,
    /// Latest `resolved`.
    pub last_resolved: Option<i64>,
    /// Times of `reopened` events.
    pub reopens: Vec<i64>,
    /// Earliest `closed`.
    pub closed_at: Option<i64>,
    /// The latest CSAT rating and its time.
    pub csat: Option<(i64, u8)>,
    /// Messages by role: customer, bot, agent, expert, system.
    pub messages_by_role: [u32; 5],
    /// Lifecycle state after the latest lifecycle event.
    pub status: Status,
    /// Time of the event that put it in that state (`resolved` or `closed`).
    pub settled_at: Option<i64>,
    /// Customer sentiment over the scored customer messages, if any.
    pub mood: Option<Mood>,
    /// (handoff time, highest tier reached by then), one per handoff, in time order.
    tiers: Vec<(i64, u8)>,
}

/// Customer sentiment over a conversation (scores in [-1, 1]).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Mood {
    /// Of the first scored customer message.
    pub first: f32,
    /// Of the last one.
    pub last: f32,
    /// The lowest.
    pub min: f32,
    /// The mean.
    pub mean: f32,
    /// `improved`, `worsened` or `flat`: last minus first beyond ±0.2.
    pub trajectory: &'static str,
    /// A customer message that was not negative was later followed by a negative one.
    pub turned_negative: bool,
}

/// Change of score between the first and the last customer message that counts as a trajectory.
pub const TRAJECTORY_DELTA: f32 = 0.2;

fn mood(marks: &[Mark]) -> Option<Mood> {
    let scored: Vec<&Mark> =
        marks.iter().filter(|m| m.kind == Kind::Customer && m.arg != super::marks::SENTIMENT_NONE).collect();
    let (first, last) = (scored.first()?, scored.last()?);
    let score = |m: &Mark| f32::from(m.score) / 100.0;
    let min = scored.iter().map(|m| score(m)).fold(f32::MAX, f32::min);
    let mean = scored.iter().map(|m| f32::from(m.score)).sum::<f32>() / scored.len() as f32 / 100.0;
    let delta = score(last) - score(first);
    let trajectory = if delta > TRAJECTORY_DELTA {
        "improved"
    } else if delta < -TRAJECTORY_DELTA {
        "worsened"
    } else {
        "flat"
    };
    let negative = super::marks::label_code(crate::sentiment::Label::Negative);
    let first_calm = scored.iter().position(|m| m.arg != negative);
    let turned_negative = first_calm.is_some_and(|i| scored[i..].iter().any(|m| m.arg == negative));
    Some(Mood { first: score(first), last: score(last), min, mean, trajectory, turned_negative })
}

fn role_index(kind: Kind) -> Option<usize> {
    match kind {
        Kind::Customer => Some(0),
        Kind::Bot => Some(1),
        Kind::Agent => Some(2),
        Kind::Expert => Some(3),
        Kind::System => Some(4),
        _ => None,
    }
}

/// An angry customer still with the bot: the escalation signal's facts.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Anger {
    /// Event time of the customer message that made the customer count as angry.
    pub at: i64,
    /// Its sentiment score.
    pub score: f32,
    /// Negative customer messages in a row up to and including it.
    pub negative_in_a_row: u32,
    /// Which part of the rule it met.
    pub trigger: Trigger,
}

/// The part of the `conversation.angry_with_bot` rule a signal met.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Trigger {
    /// `negative_in_a_row` negative customer messages in a row.
    NegativeInARow,
    /// A score at or below `below`.
    Below,
}

impl Trigger {
    /// The value of the `trigger` column: `negative_in_a_row` | `below`.
    pub fn as_str(self) -> &'static str {
        match self {
            Trigger::NegativeInARow => "negative_in_a_row",
            Trigger::Below => "below",
        }
    }
}

impl Facts {
    /// Computes the facts of `marks` (sorted, non-empty).
    pub fn of(marks: &[Mark]) -> Facts {
        let started_at = marks.first().map_or(0, |m| m.ts);
        let mut f = Facts {
            started_at,
            last_event_at: marks.last().map_or(0, |m| m.ts),
            first_customer: None,
            first_response: None,
            human_start: None,
            first_human_response: None,
            replies: Vec::new(),
            waiting_since: None,
            first_handoff: None,
            handoffs: 0,
            max_tier: 1,
            escalated_tier2_at: None,
            escalated_tier3_at: None,
            first_resolved: None,
            last_resolved: None,
            reopens: Vec::new(),
            closed_at: None,
            csat: None,
            messages_by_role: [0; 5],
            status: Status::Open,
            settled_at: None,
            mood: mood(marks),
            tiers: Vec::new(),
        };
        let mut first_reply = None;
        let mut first_human = None;
        for m in marks {
            if let Some(i) = role_index(m.kind) {
                f.messages_by_role[i] += 1;
            }
            match m.kind {
                Kind::Customer => {
                    f.first_customer.get_or_insert(m.ts);
                    f.waiting_since.get_or_insert(m.ts);
                }
                k if k.is_reply() => {
                    first_reply.get_or_insert(m.ts);
                    if k.is_human() {
                        first_human.get_or_insert(m.ts);
                    }
                    if let Some(from) = f.waiting_since.take() {
                        f.replies.push(Span { from, to: m.ts });
                    }
                }
                Kind::Handoff => {
                    f.handoffs += 1;
                    f.first_handoff.get_or_insert(m.ts);
                    f.max_tier = f.max_tier.max(m.arg);
                    f.tiers.push((m.ts, f.max_tier));
                    f.escalated_tier2_at.get_or_insert(m.ts);
                    if m.arg >= 3 {
                        f.escalated_tier3_at.get_or_insert(m.ts);
                    }
                }
                Kind::Resolved => {
                    f.first_resolved.get_or_insert(m.ts);
                    f.last_resolved = Some(m.ts);
                    if f.status != Status::Closed {
                        f.status = Status::Resolved;
                        f.settled_at = Some(m.ts);
                    }
                }
                Kind::Reopened => {
                    f.reopens.push(m.ts);
                    if f.status != Status::Closed {
                        f.status = Status::Open;
                        f.settled_at = None;
                    }
                }
                Kind::Closed if f.closed_at.is_none() => {
                    f.closed_at = Some(m.ts);
                    f.status = Status::Closed;
                    f.settled_at = Some(m.ts);
                }
                Kind::Csat => f.csat = Some((m.ts, m.arg)),
                _ => {}
            }
        }
        f.first_response = first_reply.map(|to| {
            let from = match f.first_customer {
                Some(c) if c <= to => c,
                _ => started_at,
            };
            Span { from, to }
        });
        f.human_start = f.first_handoff.or(first_human.map(|_| started_at));
        if let Some(start) = f.human_start {
            f.first_human_response = marks
                .iter()
                .find(|m| m.kind.is_human() && m.ts >= start)
                .map(|m| Span { from: start, to: m.ts });
        }
        f
    }

    /// Resolved at least once.
    pub fn resolved(&self) -> bool {
        self.first_resolved.is_some()
    }

    /// Messages by agents and experts.
    pub fn human_messages(&self) -> u32 {
        self.messages_by_role[2] + self.messages_by_role[3]
    }

    /// Resolved with no handoff and no human message.
    pub fn bot_contained(&self) -> bool {
        self.resolved() && self.handoffs == 0 && self.human_messages() == 0
    }

    /// Resolved with at most one human message.
    pub fn one_touch(&self) -> bool {
        self.resolved() && self.human_messages() <= 1
    }

    /// First resolution: start to the first `resolved`.
    pub fn first_resolution(&self) -> Option<Span> {
        self.first_resolved.map(|to| Span { from: self.started_at, to })
    }

    /// Full resolution: start to the latest `resolved`.
    pub fn full_resolution(&self) -> Option<Span> {
        self.last_resolved.map(|to| Span { from: self.started_at, to })
    }

    /// Reply time statistics: (count, mean s, p50 s, max s); `None` without replies.
    pub fn reply_stats(&self) -> Option<(u32, f64, f64, f64)> {
        if self.replies.is_empty() {
            return None;
        }
        let mut v: Vec<f64> = self.replies.iter().map(|s| s.seconds()).collect();
        let mean = v.iter().sum::<f64>() / v.len() as f64;
        let max = v.iter().copied().fold(f64::MIN, f64::max);
        let p50 = crate::metrics::quantile(&mut v, 0.5).unwrap_or(mean);
        Some((self.replies.len() as u32, mean, p50, max))
    }

    /// When the conversation waited for a human: from a handoff (while not already waiting) to
    /// the next agent or expert message, or the next `resolved`/`closed`; a wait still open ends
    /// when the conversation expires, its last event plus `idle_ms`.
    pub fn waits(&self, marks: &[Mark], idle_ms: i64) -> Vec<Span> {
        let mut waits = Vec::new();
        let mut since = None;
        for m in marks {
            match m.kind {
                Kind::Handoff => {
                    since.get_or_insert(m.ts);
                }
                k if k.is_human() || matches!(k, Kind::Resolved | Kind::Closed) => {
                    if let Some(from) = since.take() {
                        waits.push(Span { from, to: m.ts });
                    }
                }
                _ => {}
            }
        }
        if let Some(from) = since {
            waits.push(Span { from, to: self.last_event_at.saturating_add(idle_ms) });
        }
        waits
    }

    /// When and why the customer became angry while still with the bot (tier 1): the first
    /// customer message that is the `streak`-th negative one in a row, or scores at or below `below`.
    pub fn angry_with_bot(&self, marks: &[Mark], streak: u32, below: f32) -> Option<Anger> {
        let negative = super::marks::label_code(crate::sentiment::Label::Negative);
        let mut tier = 1;
        let mut run = 0;
        for m in marks {
            match m.kind {
                Kind::Handoff => tier = tier.max(m.arg),
                Kind::Customer if m.arg != super::marks::SENTIMENT_NONE => {
                    run = if m.arg == negative { run + 1 } else { 0 };
                    let score = f32::from(m.score) / 100.0;
                    if tier == 1 && (run >= streak || score <= below) {
                        let trigger = if run >= streak { Trigger::NegativeInARow } else { Trigger::Below };
                        return Some(Anger { at: m.ts, score, negative_in_a_row: run, trigger });
                    }
                }
                _ => {}
            }
        }
        None
    }

    /// The tier in effect at `at`: the highest tier handed to at or before it (1 without a handoff).
    pub fn tier_at(&self, at: i64) -> u8 {
        let i = self.tiers.partition_point(|t| t.0 <= at);
        if i == 0 { 1 } else { self.tiers[i - 1].1 }
    }

    /// The window contributions of these facts, sorted. `marks` are the same the facts came
    /// from (messages count one each).
    pub fn items(&self, marks: &[Mark]) -> Vec<Item> {
        let mut items = Vec::with_capacity(marks.len() + 8);
        let mut push = |at: i64, measure: Measure, value: i64| {
            items.push(Item { at, measure, value, tier: self.tier_at(at) })
        };
        push(self.started_at, Measure::Started, 1);
        for m in marks.iter().filter(|m| m.kind.is_message()) {
            push(m.ts, Measure::Message, 1);
            if m.kind == Kind::Customer
                && let Some(label) = super::marks::code_label(m.arg)
            {
                push(m.ts, Measure::Sentiment(label), i64::from(m.score));
            }
        }
        if let Some(s) = self.first_response {
            push(s.to, Measure::FirstResponse, s.ms());
        }
        if let Some(s) = self.first_human_response {
            push(s.to, Measure::FirstHumanResponse, s.ms());
        }
        for s in &self.replies {
            push(s.to, Measure::Reply, s.ms());
        }
        if let Some(s) = self.first_resolution() {
            push(s.to, Measure::Resolved, s.ms());
            if self.bot_contained() {
                push(s.to, Measure::BotContained, 1);
            }
        }
        if let Some(at) = self.escalated_tier2_at {
            push(at, Measure::EscalatedTier2, 1);
        }
        if let Some(at) = self.escalated_tier3_at {
            push(at, Measure::EscalatedTier3, 1);
        }
        for &at in &self.reopens {
            push(at, Measure::Reopened, 1);
        }
        if let Some((at, rating)) = self.csat {
            push(at, Measure::Csat, i64::from(rating));
        }
        items.sort_unstable();
        items
    }
}
