//! Windowed aggregates of conversation facts: tumbling and hopping windows, each grouped by
//! channel, by team and by tier, holding counts and quantile sketches ([`Aggregate`]).
//!
//! Conversations contribute [`Item`]s (an event time, a measure, a value); a window spec maps an
//! item to every window containing its time. Invariants:
//! - a window `[s, s + width)` is *open* while `watermark < s + width + allowed_lateness`; it is
//!   emitted (revision 1) once the watermark reaches that point;
//! - afterwards it is *retained* for the correction horizon: a late change to it is applied and
//!   the window is emitted again with the next revision (see [`WindowOperator::corrections`]);
//! - past the horizon a change is refused and counted by the caller;
//! - every change can be retracted (sketches hold counts), so contributions move between windows
//!   without double counting and the result does not depend on arrival order.

mod backlog;
mod merge;
mod quantile;
mod sketch;
mod spec;
#[cfg(test)]
mod tests;

pub use merge::WindowMerge;
pub use quantile::quantile;
pub use sketch::{RELATIVE_ACCURACY, Sketch};
pub use spec::{Dimension, Group, WindowSpec};

pub use crate::conversation::Target;
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, BTreeSet};

/// What an [`Item`] measures.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub enum Measure {
    /// A conversation started (at its start).
    Started,
    /// A message.
    Message,
    /// A first response (at the responding message; value: ms).
    FirstResponse,
    /// A first human response (value: ms).
    FirstHumanResponse,
    /// A reply to a customer turn (value: ms).
    Reply,
    /// A first resolution (at the first `resolved`; value: ms since the start).
    Resolved,
    /// A bot-contained resolution.
    BotContained,
    /// The first handoff past the bot.
    EscalatedTier2,
    /// The first handoff to an expert.
    EscalatedTier3,
    /// A `reopened` event.
    Reopened,
    /// A CSAT rating (value: the rating).
    Csat,
    /// A conversation started in the night range (at its start).
    Night,
    /// An SLA clock met (at the event that stopped it).
    SlaMet(Target),
    /// An SLA clock breached (at its deadline).
    SlaBreached(Target),
    /// Waiting for a human from `at` until `value` (epoch ms): counted in the backlog of every
    /// window whose end falls in `(at, value]`.
    Waiting,
    /// A scored customer message (value: its score in hundredths).
    Sentiment(crate::sentiment::Label),
    /// A customer angry while still with the bot (the sentiment escalation signal).
    AngryWithBot,
}

/// One contribution of a conversation to the windows containing `at`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Item {
    /// Event time that places it, epoch ms.
    pub at: i64,
    /// What it counts.
    pub measure: Measure,
    /// 1 for counts, ms for durations, the rating for CSAT.
    pub value: i64,
    /// The tier the conversation was at, at `at` (1 bot, 2 agent, 3 expert): its tier group.
    pub tier: u8,
}

/// The aggregate of one window and group.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Aggregate {
    /// Conversations whose start is in the window.
    pub conversations_started: i64,
    /// Messages whose event time is in the window.
    pub messages: i64,
    /// First response times whose responding message is in the window.
    pub first_response: Sketch,
    /// First human response times whose human message is in the window.
    pub first_human_response: Sketch,
    /// Reply times whose reply is in the window.
    pub reply: Sketch,
    /// First resolution times whose first `resolved` is in the window (count = resolutions).
    pub resolution: Sketch,
    /// Bot-contained resolutions in the window.
    pub bot_contained: i64,
    /// First handoffs past the bot in the window.
    pub escalated_tier2: i64,
    /// First handoffs to an expert in the window.
    pub escalated_tier3: i64,
    /// `reopened` events in the window.
    pub reopened: i64,
    /// CSAT ratings in the window.
    pub csat_ratings: i64,
    /// Of those, 4 or 5.
    pub csat_satisfied: i64,
    /// Conversations started in the night range.
    pub night_starts: i64,
    /// SLA clocks met in the window, by target (first response, next reply, resolution).
    pub sla_met: [i64; 3],
    /// SLA clocks breached in the window (deadline in the window), by target.
    pub sla_breached: [i64; 3],
    /// Conversations waiting for a human at the window's end.
    pub backlog: i64,
    /// How long the longest of them had been waiting at the window's end, ms.
    pub oldest_wait_ms: i64,
    /// Scored customer messages by label: negative, neutral, positive.
    pub sentiment: [i64; 3],
    /// Sum of their scores, hundredths (exact under retraction).
    pub sentiment_sum: i64,
    /// Sentiment escalation signals (angry customers still with the bot).
    pub angry_with_bot: i64,
}

impl Aggregate {
    /// Adds (`sign` 1) or retracts (`sign` −1) an item.
    pub fn apply(&mut self, item: &Item, sign: i64) {
        match item.measure {
            Measure::Started => self.conversations_started += sign,
            Measure::Message => self.messages += sign,
            Measure::FirstResponse => self.first_response.add(item.value, sign),
            Measure::FirstHumanResponse => self.first_human_response.add(item.value, sign),
            Measure::Reply => self.reply.add(item.value, sign),
            Measure::Resolved => self.resolution.add(item.value, sign),
            Measure::BotContained => self.bot_contained += sign,
            Measure::EscalatedTier2 => self.escalated_tier2 += sign,
            Measure::EscalatedTier3 => self.escalated_tier3 += sign,
            Measure::Reopened => self.reopened += sign,
            Measure::Csat => {
                self.csat_ratings += sign;
                if item.value >= 4 {
                    self.csat_satisfied += sign;
                }
            }
            Measure::Night => self.night_starts += sign,
            Measure::SlaMet(t) => self.sla_met[t.index()] += sign,
            Measure::SlaBreached(t) => self.sla_breached[t.index()] += sign,
            Measure::Waiting => {} // a state over time, kept by the operator's backlog
            Measure::Sentiment(label) => {
                self.sentiment[label as usize] += sign;
                self.sentiment_sum += item.value * sign;
            }
            Measure::AngryWithBot => self.angry_with_bot += sign,
        }
    }

    /// Adds `other` (the aggregate of another partition's share of the same window and group):
    /// counts and sketches add up, the backlog adds up and the oldest wait is the larger one.
    pub fn merge(&mut self, other: &Aggregate) {
        self.conversations_started += other.conversations_started;
        self.messages += other.messages;
        self.first_response.merge(&other.first_response);
        self.first_human_response.merge(&other.first_human_response);
        self.reply.merge(&other.reply);
        self.resolution.merge(&other.resolution);
        self.bot_contained += other.bot_contained;
        self.escalated_tier2 += other.escalated_tier2;
        self.escalated_tier3 += other.escalated_tier3;
        self.reopened += other.reopened;
        self.csat_ratings += other.csat_ratings;
        self.csat_satisfied += other.csat_satisfied;
        self.night_starts += other.night_starts;
        for i in 0..3 {
            self.sla_met[i] += other.sla_met[i];
            self.sla_breached[i] += other.sla_breached[i];
            self.sentiment[i] += other.sentiment[i];
        }
        self.backlog += other.backlog;
        self.oldest_wait_ms = self.oldest_wait_ms.max(other.oldest_wait_ms);
        self.sentiment_sum += other.sentiment_sum;
        self.angry_with_bot += other.angry_with_bot;
    }

    /// The duration sketches by their `measure` label, in the column order of `window_metrics`.
    pub fn durations(&self) -> [(&'static str, &Sketch); 4] {
        [
            ("first_response", &self.first_response),
            ("first_human_response", &self.first_human_response),
            ("reply", &self.reply),
            ("resolution", &self.resolution),
        ]
    }

    /// Mean score of the scored customer messages, in [-1, 1].
    pub fn sentiment_mean(&self) -> Option<f64> {
        ratio(self.sentiment_sum, self.sentiment.iter().sum()).map(|m| m / 100.0)
    }

    /// The rates by name (`None` when the denominator is zero): resolutions per conversation
    /// started, bot-contained share of resolutions, escalations per conversation started, reopens
    /// per resolution, satisfied share of CSAT ratings, night share of starts, the shares of
    /// negative, neutral and positive customer messages, and per SLA target the compliance
    /// met / (met + breached).
    pub fn rates(&self) -> [(&'static str, Option<f64>); 13] {
        let resolved = self.resolution.count() as i64;
        let scored = self.sentiment.iter().sum();
        let compliance = |t: Target| {
            let i = t.index();
            ratio(self.sla_met[i], self.sla_met[i] + self.sla_breached[i])
        };
        [
            ("night", ratio(self.night_starts, self.conversations_started)),
            ("sentiment_negative", ratio(self.sentiment[0], scored)),
            ("sentiment_neutral", ratio(self.sentiment[1], scored)),
            ("sentiment_positive", ratio(self.sentiment[2], scored)),
            ("sla_first_response_compliance", compliance(Target::FirstResponse)),
            ("sla_next_reply_compliance", compliance(Target::NextReply)),
            ("sla_resolution_compliance", compliance(Target::Resolution)),
            ("resolution", ratio(resolved, self.conversations_started)),
            ("bot_containment", ratio(self.bot_contained, resolved)),
            ("escalation_tier2", ratio(self.escalated_tier2, self.conversations_started)),
            ("escalation_tier3", ratio(self.escalated_tier3, self.conversations_started)),
            ("reopen", ratio(self.reopened, resolved)),
            ("csat_satisfied", ratio(self.csat_satisfied, self.csat_ratings)),
        ]
    }

    /// The rate named `name` in [`Aggregate::rates`].
    pub fn rate(&self, name: &str) -> Option<f64> {
        self.rates().into_iter().find(|(n, _)| *n == name).and_then(|(_, v)| v)
    }

    /// Nothing counted.
    pub fn is_empty(&self) -> bool {
        *self == Aggregate::default()
    }
}

/// `part / whole`, `None` when `whole` is zero.
pub fn ratio(part: i64, whole: i64) -> Option<f64> {
    (whole > 0).then(|| part as f64 / whole as f64)
}

/// An emitted window of one group, ready for the sinks.
#[derive(Debug, Clone, PartialEq)]
pub struct ClosedWindow {
    /// Its window spec.
    pub spec: WindowSpec,
    /// Inclusive start, epoch ms.
    pub start: i64,
    /// Exclusive end, epoch ms.
    pub end: i64,
    /// The group.
    pub group: Group,
    /// 1 when first emitted, then one more per correction.
    pub revision: u32,
    /// What was aggregated.
    pub aggregate: Aggregate,
}

/// Identifies a window; ordered by the watermark at which it closes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
struct WindowId {
    close_at: i64,
    spec: u8,
    start: i64,
}

/// An emitted window kept for corrections.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
struct Retained {
    aggregate: Aggregate,
    revision: u32,
    /// What the last emitted revision held, once a correction is pending.
    emitted: Option<Aggregate>,
}

/// What happened to an item given to [`WindowOperator::apply`].
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Applied {
    /// Windows past the correction horizon that the item could not reach.
    pub refused: u32,
    /// Emitted windows it corrected.
    pub corrected: u32,
}

/// The open and retained windows.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct WindowOperator {
    specs: Vec<WindowSpec>,
    lateness_ms: i64,
    retention_ms: i64,
    open: BTreeMap<WindowId, BTreeMap<Group, Aggregate>>,
    closed: BTreeMap<WindowId, BTreeMap<Group, Retained>>,
    dirty: BTreeSet<(WindowId, Group)>,
    /// Conversations waiting for a human.
    backlog: backlog::Backlog,
    /// Per spec, the start of the next window to create even without activity (so that the
    /// backlog of quiet periods is reported).
    next_fill: Vec<Option<i64>>,
    /// The watermark as last seen by [`WindowOperator::close`].
    watermark: i64,
    /// A watermark the correction horizon also waits for (the global one, for a partition's
    /// share: topics decided in global event time still move contributions of windows its own
    /// partition has closed); [`crate::time::MAX_WATERMARK`] when none.
    #[serde(default = "no_hold")]
    hold: i64,
}

fn no_hold() -> i64 {
    crate::time::MAX_WATERMARK
}

impl WindowOperator {
    /// Windows of `specs` (at least one), closing `lateness_ms` after their end and kept
    /// `retention_ms` longer for corrections.
    pub fn new(specs: Vec<WindowSpec>, lateness_ms: i64, retention_ms: i64) -> Self {
        let next_fill = vec![None; specs.len()];
        WindowOperator {
            specs,
            lateness_ms,
            retention_ms,
            open: BTreeMap::new(),
            closed: BTreeMap::new(),
            dirty: BTreeSet::new(),
            backlog: backlog::Backlog::default(),
            next_fill,
            watermark: crate::time::MIN_WATERMARK,
            hold: no_hold(),
        }
    }

    /// Retained windows are kept for corrections until `watermark` too has passed their
    /// horizon (see the field).
    pub fn hold_until(&mut self, watermark: i64) {
        self.hold = watermark;
    }

    /// The watermark the correction horizon is judged by.
    fn horizon_watermark(&self) -> i64 {
        self.watermark.min(self.hold)
    }

    /// The window specs.
    pub fn specs(&self) -> &[WindowSpec] {
        &self.specs
    }

    /// Allowed lateness, ms.
    pub fn lateness_ms(&self) -> i64 {
        self.lateness_ms
    }

    /// Correction horizon, ms.
    pub fn retention_ms(&self) -> i64 {
        self.retention_ms
    }

    /// Open windows (per group).
    pub fn open_windows(&self) -> usize {
        self.open.values().map(BTreeMap::len).sum()
    }

    /// Emitted windows kept for corrections (per group).
    pub fn retained_windows(&self) -> usize {
        self.closed.values().map(BTreeMap::len).sum()
    }

    /// Adds (`sign` 1) or retracts (`sign` −1) `item` in every window containing it, under each
    /// of the conversation's `groups` (channel, team) and under the item's tier.
    pub fn apply(&mut self, conversation: &[Group], item: &Item, sign: i64) -> Applied {
        let mut applied = Applied::default();
        let mut groups = Vec::with_capacity(conversation.len() + 1);
        groups.extend_from_slice(conversation);
        groups.push((Dimension::Tier, spec::tier_key(item.tier)));
        let groups = groups.as_slice();
        if item.measure == Measure::Waiting {
            return self.wait(groups, item.at, item.value, sign);
        }
        for (i, spec) in self.specs.iter().enumerate() {
            for start in spec.starts(item.at) {
                let close_at = start.saturating_add(spec.width_ms).saturating_add(self.lateness_ms);
                let id = WindowId { close_at, spec: i as u8, start };
                if close_at > self.watermark {
                    self.next_fill[i] = Some(self.next_fill[i].map_or(start, |f| f.min(start)));
                    let window = self.open.entry(id).or_default();
                    for g in groups {
                        window.entry(g.clone()).or_default().apply(item, sign);
                    }
                } else if close_at.saturating_add(self.retention_ms) > self.horizon_watermark() {
                    let window = self.closed.entry(id).or_default();
                    for g in groups {
                        let r = window.entry(g.clone()).or_default();
                        if r.emitted.is_none() {
                            r.emitted = Some(r.aggregate.clone());
                        }
                        r.aggregate.apply(item, sign);
                        self.dirty.insert((id, g.clone()));
                    }
                    applied.corrected += 1;
                } else {
                    applied.refused += 1;
                }
            }
        }
        applied
    }

    /// Adds or retracts a waiting interval `[a, b)` under `groups`; emitted windows whose end it
    /// covers are corrected.
    fn wait(&mut self, groups: &[Group], a: i64, b: i64, sign: i64) -> Applied {
        let mut applied = Applied::default();
        for g in groups {
            self.backlog.apply(g, a, b, sign);
        }
        let horizon = self.horizon_watermark().saturating_sub(self.retention_ms);
        let (from, to) = (a.saturating_add(self.lateness_ms), b.saturating_add(self.lateness_ms));
        let range = WindowId { close_at: from.max(horizon), spec: u8::MAX, start: i64::MAX }..=WindowId {
            close_at: to,
            spec: u8::MAX,
            start: i64::MAX,
        };
        if to <= from.max(horizon) {
            return applied;
        }
        for (id, window) in self.closed.range_mut(range) {
            for g in groups {
                let r = window.entry(g.clone()).or_default();
                if r.emitted.is_none() {
                    r.emitted = Some(r.aggregate.clone());
                }
                self.dirty.insert((*id, g.clone()));
            }
            applied.corrected += 1;
        }
        applied
    }

    /// Creates, per spec, the windows closing by `watermark` whose end is at most `until`, so
    /// quiet windows still report the backlog.
    fn fill(&mut self, watermark: i64, until: i64) {
        // windows older than the correction horizon can no longer change: never create them, so a
        // jump of the watermark (a far-future event) costs at most one horizon of windows
        let effective = watermark.min(until.saturating_add(self.lateness_ms));
        let floor = effective.saturating_sub(self.lateness_ms).saturating_sub(self.retention_ms);
        for (i, spec) in self.specs.iter().enumerate() {
            if let Some(start) = self.next_fill[i]
                && start.saturating_add(spec.width_ms) < floor
            {
                let aligned = crate::time::window_start(floor.saturating_sub(spec.width_ms), spec.slide_ms);
                self.next_fill[i] = Some(aligned.max(start));
            }
            while let Some(start) = self.next_fill[i] {
                let end = start.saturating_add(spec.width_ms);
                let close_at = end.saturating_add(self.lateness_ms);
                if close_at > watermark || end > until {
                    break;
                }
                let id = WindowId { close_at, spec: i as u8, start };
                if !self.closed.contains_key(&id) {
                    self.open.entry(id).or_default();
                }
                self.next_fill[i] = Some(start + spec.slide_ms);
            }
        }
    }

    /// Sets the backlog fields of `a` for `group` at instant `end`.
    fn measure_backlog(&self, a: &mut Aggregate, group: &Group, end: i64) {
        let (count, oldest) = self.backlog.at(group, end);
        a.backlog = count;
        a.oldest_wait_ms = oldest;
    }

    /// After a drain (which closed every window at [`crate::time::MAX_WATERMARK`]): further
    /// changes are judged against `watermark`, at or after the end of every drained window.
    pub fn rest_at(&mut self, watermark: i64) {
        self.watermark = watermark;
        self.forget_retained(self.horizon_watermark());
    }

    /// Forgets emitted windows past the correction horizon at `watermark`.
    fn forget_retained(&mut self, wm: i64) {
        while let Some(entry) = self.closed.first_entry() {
            let id = *entry.key();
            if id.close_at.saturating_add(self.retention_ms) > wm {
                break;
            }
            entry.remove();
        }
        let horizon = self.retention_ms;
        self.dirty.retain(|(id, _)| id.close_at.saturating_add(horizon) > wm);
    }

    /// Moves the watermark and returns the windows it closes (revision 1), oldest first, groups
    /// sorted. The backlog is measured at the end of windows ending by `fill_until` (the latest
    /// event time known), and such windows are closed even without activity when someone is
    /// waiting for a human. Forgets retained windows past the correction horizon.
    pub fn close(&mut self, watermark: i64, fill_until: i64) -> Vec<ClosedWindow> {
        self.watermark = self.watermark.max(watermark);
        let wm = self.watermark;
        self.fill(wm, fill_until);
        let mut out = Vec::new();
        while let Some(entry) = self.open.first_entry() {
            let id = *entry.key();
            if id.close_at > wm {
                break;
            }
            let mut groups = entry.remove();
            let end = id.start + self.specs[usize::from(id.spec)].width_ms;
            // the backlog is reported up to the latest event time (beyond it, a forecast)
            let known = end <= fill_until;
            if known {
                for g in self.backlog.groups() {
                    groups.entry(g.clone()).or_default();
                }
            }
            let slide = self.specs[usize::from(id.spec)].slide_ms;
            let mut retained = BTreeMap::new();
            for (group, mut aggregate) in groups {
                // a group whose backlog just emptied is written too, so gauges come back to zero
                let emptied = known && self.backlog.at(&group, end - slide).0 > 0;
                if known {
                    self.measure_backlog(&mut aggregate, &group, end);
                }
                if aggregate.is_empty() && !(emptied && aggregate.backlog == 0) {
                    continue;
                }
                out.push(self.row(id, group.clone(), 1, aggregate.clone()));
                retained.insert(group, Retained { aggregate, revision: 1, emitted: None });
            }
            // a drain (watermark at the maximum) keeps everything; `rest_at` then forgets
            let keep = self.horizon_watermark();
            if id.close_at.saturating_add(self.retention_ms) > keep || wm == crate::time::MAX_WATERMARK {
                self.closed.insert(id, retained);
            }
        }
        let keep = self.horizon_watermark();
        if wm < crate::time::MAX_WATERMARK {
            self.forget_retained(keep);
        }
        let horizon = self.retention_ms;
        // no window that can still change ends before this
        let widest = self.specs.iter().map(|s| s.width_ms).max().unwrap_or(0);
        let oldest_end = keep.saturating_sub(self.lateness_ms).saturating_sub(horizon).saturating_sub(widest);
        if wm < crate::time::MAX_WATERMARK {
            self.backlog.prune(oldest_end);
        }
        out
    }

    /// The retained windows changed since they were last emitted, each with its next revision
    /// and what the previous revision held (all zero if it was never emitted). A window whose
    /// changes cancelled out is not emitted again.
    pub fn corrections(&mut self) -> Vec<(ClosedWindow, Aggregate)> {
        let mut out = Vec::with_capacity(self.dirty.len());
        for (id, group) in std::mem::take(&mut self.dirty) {
            let end = id.start + self.specs[usize::from(id.spec)].width_ms;
            let (count, oldest) = self.backlog.at(&group, end);
            let Some(r) = self.closed.get_mut(&id).and_then(|w| w.get_mut(&group)) else { continue };
            (r.aggregate.backlog, r.aggregate.oldest_wait_ms) = (count, oldest);
            let previous = r.emitted.take().unwrap_or_default();
            if previous == r.aggregate {
                continue;
            }
            r.revision += 1;
            let (revision, aggregate) = (r.revision, r.aggregate.clone());
            out.push((self.row(id, group, revision, aggregate), previous));
        }
        out
    }

    fn row(&self, id: WindowId, group: Group, revision: u32, aggregate: Aggregate) -> ClosedWindow {
        let spec = self.specs[usize::from(id.spec)];
        ClosedWindow { spec, start: id.start, end: id.start + spec.width_ms, group, revision, aggregate }
    }
}
