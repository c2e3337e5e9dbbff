//! The sessionizer: per-conversation lifecycle state, keyed by `conversation_id`, the
//! conversation rows it writes and the window contributions it keeps in line with its facts.
//!
//! Every fact is recomputed from the conversation's sorted marks ([`marks`]) by the definitions
//! of `docs/metrics.md` ([`facts`]), so results do not depend on arrival order. After each event
//! the conversation's window [`crate::metrics::Item`]s before and after are compared and only the
//! difference is applied (retracted, added) to the windows.
//!
//! Rows and revisions. A conversation writes a row revision when it *settles* — its latest
//! lifecycle event is `resolved` or `closed` and the watermark has passed that event plus the
//! allowed lateness — if it changed since its last revision. Its state is kept until the
//! watermark passes its last event plus the idle timeout plus the allowed lateness; then a final
//! revision is written if anything changed (`idle_timeout`, or `closed`) and the state is
//! evicted. So a reopen, or any late event, while the state is kept appends a new revision;
//! analysts take the latest revision of each conversation. An event for an evicted conversation
//! (within the dedup horizon) is refused ([`Applied::AlreadyEnded`], dead-lettered by the
//! runtime) rather than starting a second conversation with the same id.

mod calendar;
mod config;
mod facts;
mod marks;
mod signal;
mod sla;
mod state;
#[cfg(test)]
mod tests;

pub use calendar::{Calendar, CalendarConfig, Night, NightConfig};
pub use config::{AngryConfig, BusinessHoursConfig, ConversationConfig, SlaPolicyConfig};
pub use facts::{Anger, Facts, Mood, Span, Status, Trigger};
pub use marks::{Kind, Mark};
pub use signal::{Signal, SignalAction, SignalKind};
pub use sla::{Clock, Lifecycle, Outcome, Target};
pub use state::{Conversation, EndReason, UNKNOWN_CHANNEL};

use crate::metrics::{Dimension, Group, Item, WindowOperator};
use serde::{Deserialize, Serialize};
use state::{Interned, Key};
use std::collections::{BTreeSet, HashMap};
use std::sync::Arc;
use ticketpulse_schemas::{Event, EventKind};

/// One revision of a conversation's row in the `conversations` table (serialisable: a row can
/// wait in a checkpoint for its topic).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ConversationRow {
    /// The conversation id.
    pub conversation_id: Arc<str>,
    /// 1 for the first row written, then one more per later row of the same conversation.
    pub revision: u32,
    /// Entry channel.
    pub channel: Arc<str>,
    /// Team, from the earliest event naming one.
    pub team: Option<Arc<str>>,
    /// Customer, from the earliest event naming one.
    pub customer_id: Option<String>,
    /// Agent or expert named on the earliest human message naming one.
    pub agent_id: Option<String>,
    /// Lifecycle state after the latest event.
    pub status: Status,
    /// Why this revision was written.
    pub end_reason: EndReason,
    /// Earliest event time, epoch ms.
    pub started_at: i64,
    /// Latest event time, epoch ms.
    pub last_event_at: i64,
    /// Valid, non-duplicate events.
    pub events: u32,
    /// Messages by role: customer, bot, agent, expert, system.
    pub messages_by_role: [u32; 5],
    /// Earliest customer message.
    pub first_customer_message_at: Option<i64>,
    /// Earliest bot/agent/expert message.
    pub first_response_at: Option<i64>,
    /// First response time, seconds.
    pub first_response_s: Option<f64>,
    /// Earliest handoff.
    pub first_handoff_at: Option<i64>,
    /// First human message at or after the human start.
    pub first_human_response_at: Option<i64>,
    /// First human response time, seconds.
    pub first_human_response_s: Option<f64>,
    /// Answered customer turns.
    pub replies: u32,
    /// Mean reply time, seconds.
    pub reply_mean_s: Option<f64>,
    /// Median reply time, seconds.
    pub reply_p50_s: Option<f64>,
    /// Longest reply time, seconds.
    pub reply_max_s: Option<f64>,
    /// Start of a customer turn still waiting for a reply.
    pub waiting_since: Option<i64>,
    /// Handoffs.
    pub handoffs: u32,
    /// Highest tier reached (1 = bot only).
    pub max_tier: u8,
    /// Distinct handoff reasons, sorted.
    pub handoff_reasons: Vec<String>,
    /// Resolved at least once.
    pub resolved: bool,
    /// Earliest `resolved`.
    pub first_resolved_at: Option<i64>,
    /// Start to the first `resolved`, seconds.
    pub first_resolution_s: Option<f64>,
    /// Start to the latest `resolved`, seconds.
    pub full_resolution_s: Option<f64>,
    /// `reopened` events.
    pub reopens: u32,
    /// Resolved with no handoff and no human message.
    pub bot_contained: bool,
    /// Resolved with at most one human message.
    pub one_touch: bool,
    /// The latest CSAT rating.
    pub csat_rating: Option<u8>,
    /// Started in the night range.
    pub night: bool,
    /// First response time in business hours of the conversation's calendar, seconds.
    pub business_first_response_s: Option<f64>,
    /// First human response time in business hours, seconds.
    pub business_first_human_response_s: Option<f64>,
    /// First resolution time in business hours, seconds.
    pub business_first_resolution_s: Option<f64>,
    /// First-response SLA outcome, if a policy sets that target.
    pub sla_first_response: Option<Outcome>,
    /// Next-reply SLA outcome over every customer turn (breached if any turn was).
    pub sla_next_reply: Option<Outcome>,
    /// Resolution SLA outcome.
    pub sla_resolution: Option<Outcome>,
    /// SLA clocks breached.
    pub sla_breaches: u32,
    /// Sentiment of the first scored customer message, [-1, 1].
    pub sentiment_first: Option<f32>,
    /// Of the last one.
    pub sentiment_last: Option<f32>,
    /// The lowest.
    pub sentiment_min: Option<f32>,
    /// The mean.
    pub sentiment_mean: Option<f32>,
    /// `improved`, `worsened` or `flat`.
    pub sentiment_trajectory: Option<Arc<str>>,
    /// A calm customer later wrote a negative message.
    pub turned_negative: bool,
    /// When the customer became angry while still with the bot (the escalation signal).
    pub angry_with_bot_at: Option<i64>,
    /// The stable topic id of its ticket.
    pub topic_id: Option<u32>,
    /// That topic's label when it was assigned.
    pub topic_label: Option<Arc<str>>,
    /// The topic model version that assigned it.
    pub topic_model_version: Option<u32>,
}

impl ConversationRow {
    /// Messages of any role.
    pub fn messages(&self) -> u32 {
        self.messages_by_role.iter().sum()
    }
}

/// What happened to an event given to [`ConversationOperator::apply`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Applied {
    /// Folded in.
    Folded {
        /// Window contributions that could not be made because their window was past the
        /// correction horizon.
        refused_window_changes: u32,
        /// Emitted windows that were corrected.
        corrected_windows: u32,
        /// The conversation is already due (a late event for a settled conversation): fire now.
        due: bool,
    },
    /// The conversation's state was evicted; the event was not applied.
    AlreadyEnded,
}

/// The open conversations, their timers, and the recently evicted ids.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ConversationOperator {
    /// The settings the state was built with (SLA policies, calendars and night range shape the
    /// window contributions already made).
    config: ConversationConfig,
    #[serde(skip)]
    lifecycle: std::sync::OnceLock<Arc<Lifecycle>>,
    idle_timeout_ms: i64,
    lateness_ms: i64,
    ended_horizon_ms: i64,
    open: HashMap<Arc<str>, Conversation>,
    /// (deadline, id); an entry is stale when the conversation's `timer` differs.
    timers: BTreeSet<(i64, Arc<str>)>,
    /// Evicted ids -> when they may be forgotten (watermark), and that order.
    ended: HashMap<Arc<str>, i64>,
    ended_order: BTreeSet<(i64, Arc<str>)>,
    #[serde(skip)]
    strings: HashMap<String, Arc<str>>,
    #[serde(skip, default = "unknown_channel")]
    unknown: Arc<str>,
    /// Signals emitted since the last [`ConversationOperator::take_signals`].
    #[serde(skip)]
    signals: Vec<Signal>,
    /// `limits.max_open_conversations` (set by the runtime; not part of the state).
    #[serde(skip, default = "unlimited")]
    max_open: usize,
    /// Rows written outside [`ConversationOperator::fire`] (of conversations evicted to keep
    /// `max_open`, and of parked ones once their topic is decided), since the last
    /// [`ConversationOperator::take_evicted`].
    #[serde(skip)]
    evicted: Vec<ConversationRow>,
    /// Evicted conversations whose ticket's topic is not decided yet, with why and when
    /// (watermark) they were evicted: their events are refused, but their state stays until the
    /// topic can move their window contributions and go into their last row.
    parked: HashMap<Arc<str>, (Conversation, EndReason, i64)>,
}

fn unlimited() -> usize {
    usize::MAX
}

/// The lifecycle of the default settings, which always compile (UTC night, no calendars).
fn unreachable_default() -> Lifecycle {
    Lifecycle {
        night: Night::utc_default(),
        default: None,
        teams: Default::default(),
        policies: Vec::new(),
        angry: AngryConfig::default(),
    }
}

fn unknown_channel() -> Arc<str> {
    Arc::from(UNKNOWN_CHANNEL)
}

/// The window groups of a key: its channel, its team, its topic group and its channel with its
/// topic group (`weibo/7`, if it has a topic); the tier comes with each item.
fn groups(key: &Key) -> Vec<Group> {
    let mut g = Vec::with_capacity(4);
    g.push((Dimension::Channel, key.channel.clone()));
    if let Some(t) = &key.team {
        g.push((Dimension::Team, t.clone()));
    }
    if let Some(t) = &key.topic {
        g.push((Dimension::Topic, t.clone()));
        g.push((Dimension::ChannelTopic, Arc::from(format!("{}/{t}", key.channel))));
    }
    g
}

/// What applying a set of item changes did to the windows.
#[derive(Default)]
struct WindowChange {
    refused: u32,
    corrected: u32,
}

impl WindowChange {
    fn apply(&mut self, windows: &mut WindowOperator, groups: &[Group], item: &Item, sign: i64) {
        let a = windows.apply(groups, item, sign);
        self.refused += a.refused;
        self.corrected += a.corrected;
    }
}

/// Gives `conv` the topic `tag` (a decision without a topic leaves its topic as it is) and
/// moves its window contributions into the topic's group; the move of its topic id, if any. A
/// topic alone writes no revision: each row carries the topic decided for the ticket messages
/// it saw (see [`ConversationOperator::decide_topic`]).
fn set_topic(
    conv: &mut Conversation,
    tag: Option<crate::topics::TopicTag>,
    windows: &mut WindowOperator,
    life: &Lifecycle,
    idle_ms: i64,
    unknown: &Arc<str>,
) -> Option<crate::alerts::TopicMove> {
    let tag = tag?;
    if conv.topic.as_ref() == Some(&tag) {
        return None;
    }
    let from = conv.topic.as_ref().map(|t| t.id);
    let to = tag.id;
    let old = groups(&conv.key(unknown));
    conv.topic = Some(tag);
    let new = groups(&conv.key(unknown));
    if old != new {
        let f = conv.facts();
        let items = conv.items(&f, life, conv.anger(&f, life), idle_ms, unknown);
        let mut change = WindowChange::default();
        items.iter().for_each(|i| change.apply(windows, &old, i, -1));
        items.iter().for_each(|i| change.apply(windows, &new, i, 1));
    }
    (from != Some(to)).then(|| crate::alerts::TopicMove {
        conversation: conv.id.clone(),
        channel: conv.channel(unknown),
        started_at: conv.marks.first().map_or(0, |m| m.ts),
        from,
        to,
    })
}

impl ConversationOperator {
    /// An operator with no conversations; `config` was validated.
    pub fn new(config: &ConversationConfig, lateness_ms: i64, ended_horizon_ms: i64) -> Self {
        ConversationOperator {
            config: config.clone(),
            lifecycle: std::sync::OnceLock::new(),
            idle_timeout_ms: crate::time::millis(config.idle_timeout),
            lateness_ms,
            ended_horizon_ms,
            open: HashMap::new(),
            timers: BTreeSet::new(),
            ended: HashMap::new(),
            ended_order: BTreeSet::new(),
            strings: HashMap::new(),
            unknown: unknown_channel(),
            signals: Vec::new(),
            max_open: usize::MAX,
            evicted: Vec::new(),
            parked: HashMap::new(),
        }
    }

    /// The settings the state was built with.
    pub fn config(&self) -> &ConversationConfig {
        &self.config
    }

    /// Compiles the lifecycle settings the state was built with; the runtime calls it when it
    /// resumes from a checkpoint, so a setting that no longer compiles stops the start.
    pub fn compile(&self) -> crate::Result<()> {
        let compiled = Arc::new(self.config.lifecycle()?);
        let _ = self.lifecycle.set(compiled);
        Ok(())
    }

    /// The compiled lifecycle settings (compiled by [`ConversationOperator::compile`], or on
    /// first use: the config was validated at start, so the fallback below is not reached).
    fn lifecycle(&self) -> Arc<Lifecycle> {
        self.lifecycle
            .get_or_init(|| {
                let compiled = self.config.lifecycle().or_else(|_| ConversationConfig::default().lifecycle());
                Arc::new(compiled.unwrap_or_else(|_| unreachable_default()))
            })
            .clone()
    }

    /// The conversation's state was evicted (events for it are refused).
    pub fn is_ended(&self, conversation_id: &str) -> bool {
        self.ended.contains_key(conversation_id)
    }

    /// Conversations held.
    pub fn open_conversations(&self) -> usize {
        self.open.len()
    }

    fn intern(&mut self, s: Option<&str>) -> Option<Arc<str>> {
        let s = s?;
        if let Some(c) = self.strings.get(s) {
            return Some(c.clone());
        }
        let c: Arc<str> = Arc::from(s);
        self.strings.insert(s.to_string(), c.clone());
        Some(c)
    }

    /// When the state is evicted: its last event plus the idle timeout plus the lateness.
    fn evict_at(&self, f: &Facts) -> i64 {
        f.last_event_at.saturating_add(self.idle_timeout_ms).saturating_add(self.lateness_ms)
    }

    /// When `c` is next due: settling (if changed), else eviction.
    fn deadline(&self, c: &Conversation, f: &Facts) -> i64 {
        let evict = self.evict_at(f);
        match f.settled_at {
            Some(s) if c.dirty => s.saturating_add(self.lateness_ms).min(evict),
            _ => evict,
        }
    }

    /// Folds `event` into its conversation and moves the window contributions accordingly.
    pub fn apply(&mut self, event: &Event, windows: &mut WindowOperator, watermark: i64) -> Applied {
        self.apply_scored(event, None, windows, watermark)
    }

    /// [`ConversationOperator::apply`] with the sentiment of a customer message.
    pub fn apply_scored(
        &mut self,
        event: &Event,
        sentiment: Option<crate::sentiment::Sentiment>,
        windows: &mut WindowOperator,
        watermark: i64,
    ) -> Applied {
        if self.ended.contains_key(event.conversation_id.as_str()) {
            return Applied::AlreadyEnded;
        }
        let interned = Interned {
            channel: self.intern(event.channel.as_deref()),
            team: self.intern(event.team.as_deref()),
            reason: match &event.kind {
                EventKind::Handoff { reason, .. } => self.intern(reason.as_deref()),
                _ => None,
            },
            sentiment,
        };
        let id: &str = &event.conversation_id;
        if !self.open.contains_key(id) {
            if self.open.len() >= self.max_open {
                self.evict_nearest(watermark.max(event.ts_ms));
            }
            let id: Arc<str> = Arc::from(id);
            self.open.insert(id.clone(), Conversation::new(id));
        }
        let unknown = self.unknown.clone();
        let life = self.lifecycle();
        let idle_ms = self.idle_timeout_ms;
        let Some(conv) = self.open.get_mut(id) else { return Applied::AlreadyEnded };
        let before = (!conv.marks.is_empty()).then(|| {
            let f = conv.facts();
            let anger = conv.anger(&f, &life);
            (conv.key(&unknown), conv.items(&f, &life, anger, idle_ms, &unknown), anger)
        });
        conv.fold(event, interned);
        let after = conv.facts();
        let key = conv.key(&unknown);
        let anger = conv.anger(&after, &life);
        let items = conv.items(&after, &life, anger, idle_ms, &unknown);
        for (action, a) in signal::changes(before.as_ref().and_then(|b| b.2), anger) {
            let Some(a) = a else { continue };
            self.signals.push(Signal {
                kind: SignalKind::AngryWithBot,
                action,
                at: a.at,
                trigger: a.trigger,
                score: a.score,
                negative_in_a_row: a.negative_in_a_row,
                conversation_id: conv.id.clone(),
                channel: key.channel.clone(),
                team: key.team.clone(),
                customer_id: conv.customer_id().map(Box::from),
                watermark,
            });
        }
        let before = before.map(|(k, i, _)| (k, i));
        let mut change = WindowChange::default();
        match before {
            Some((old_key, old)) if old_key == key => {
                let g = groups(&key);
                diff(&old, &items, |item, sign| change.apply(windows, &g, item, sign));
            }
            before => {
                if let Some((old_key, old)) = before {
                    let g = groups(&old_key);
                    old.iter().for_each(|i| change.apply(windows, &g, i, -1));
                }
                let g = groups(&key);
                items.iter().for_each(|i| change.apply(windows, &g, i, 1));
            }
        }
        let Some(conv) = self.open.get(id) else { return Applied::AlreadyEnded };
        let deadline = self.deadline(conv, &after);
        let conv_id = conv.id.clone();
        if deadline < conv.timer {
            if let Some(c) = self.open.get_mut(id) {
                c.timer = deadline;
            }
            self.timers.insert((deadline, conv_id));
        }
        Applied::Folded {
            refused_window_changes: change.refused,
            corrected_windows: change.corrected,
            due: deadline < watermark,
        }
    }

    /// The `k`-th ticket message of open conversation `id` waits for its topic decision
    /// ([`ConversationOperator::decide_topic`]); until then its rows are held, and an eviction
    /// parks the conversation.
    pub fn expect_topic(&mut self, id: &str, k: u32) {
        if let Some(conv) = self.open.get_mut(id)
            && conv.decisions.len() < k as usize
        {
            conv.decisions.resize(k as usize, None);
        }
    }

    /// The topic of conversation `id`'s ticket as of its `k`-th ticket message is decided. The
    /// newest decision stands: the conversation takes its topic and its window contributions
    /// move into the topic's group. Rows held for it go out with it, and a parked conversation
    /// whose last decision this was writes its last row (both taken with
    /// [`ConversationOperator::take_evicted`]). Returns the move of its topic id, for spike
    /// alerting, when the id changed.
    pub fn decide_topic(
        &mut self,
        id: &str,
        k: u32,
        tag: Option<crate::topics::TopicTag>,
        windows: &mut WindowOperator,
    ) -> Option<crate::alerts::TopicMove> {
        let unknown = self.unknown.clone();
        let life = self.lifecycle();
        let idle_ms = self.idle_timeout_ms;
        let parked = !self.open.contains_key(id);
        let conv = match self.open.get_mut(id) {
            Some(c) => c,
            None => &mut self.parked.get_mut(id)?.0,
        };
        let i = (k as usize).saturating_sub(1);
        if conv.decisions.len() <= i {
            conv.decisions.resize(i + 1, None);
        }
        conv.decisions[i] = Some(tag.clone());
        // no later ticket message decided yet: this is the newest decision
        let newest = conv.decisions[i + 1..].iter().all(Option::is_none);
        let moved = if newest { set_topic(conv, tag, windows, &life, idle_ms, &unknown) } else { None };
        conv.release(&mut self.evicted, false);
        if parked && !conv.awaits_topic() && conv.held.is_empty() {
            let (conv, reason, at) = self.parked.remove(id)?;
            self.evicted.extend(conv.last_row(&conv.facts(), reason, &life, at, &unknown));
        }
        moved
    }

    /// Parked conversations (evicted, waiting for their topic).
    pub fn parked(&self) -> usize {
        self.parked.len()
    }

    /// Holds at most `max` conversations open (see `limits.max_open_conversations`).
    pub fn set_max_open(&mut self, max: usize) {
        self.max_open = max.max(1);
    }

    /// The rows written outside [`ConversationOperator::fire`] since the last call: of
    /// conversations evicted to keep the limit, and of parked ones whose topic was decided.
    pub fn take_evicted(&mut self) -> Vec<ConversationRow> {
        std::mem::take(&mut self.evicted)
    }

    /// Ends the open conversation whose deadline is nearest (the least recently active, in
    /// effect) early, with `end_reason = "evicted"`.
    fn evict_nearest(&mut self, at: i64) {
        let mut victim = None;
        while let Some((deadline, id)) = self.timers.pop_first() {
            if self.open.get(&id).is_some_and(|c| c.timer == deadline) {
                victim = Some(id);
                break;
            }
        }
        let Some(id) = victim.or_else(|| self.open.keys().next().cloned()) else { return };
        let Some(conv) = self.open.get(&id) else { return };
        let f = conv.facts();
        if let Some(row) = self.evict(&id, &f, EndReason::Evicted, at) {
            self.evicted.push(row);
        }
    }

    /// Whether conversation `id`'s state is kept (open, or parked for its topic).
    pub fn holds(&self, id: &str) -> bool {
        self.open.contains_key(id) || self.parked.contains_key(id)
    }

    /// The signals emitted since the last call, in the order of the events that caused them.
    pub fn take_signals(&mut self) -> Vec<Signal> {
        std::mem::take(&mut self.signals)
    }

    /// Writes the revisions and evicts the conversations that the watermark has made due, in
    /// deadline order.
    pub fn fire(&mut self, watermark: i64) -> Vec<ConversationRow> {
        let mut rows = Vec::new();
        while let Some((deadline, id)) = self.timers.first().cloned() {
            if deadline >= watermark {
                break; // due once the watermark is past the deadline: an event at it is not late yet
            }
            self.timers.pop_first();
            let Some(conv) = self.open.get(&id) else { continue };
            if conv.timer != deadline {
                continue; // superseded by an earlier deadline
            }
            let f = conv.facts();
            let actual = self.deadline(conv, &f);
            if actual < watermark && self.evict_at(&f) < watermark {
                let reason = if f.closed_at.is_some() { EndReason::Closed } else { EndReason::IdleTimeout };
                rows.extend(self.evict(&id, &f, reason, watermark));
                continue;
            }
            let unknown = self.unknown.clone();
            let life = self.lifecycle();
            let mut next = actual;
            if actual < watermark
                && let Some(conv) = self.open.get_mut(&id)
            {
                let reason = if f.closed_at.is_some() { EndReason::Closed } else { EndReason::Resolved };
                let row = conv.row(&f, reason, &life, watermark, &unknown);
                conv.write(row, &mut rows);
                conv.revision += 1;
                conv.dirty = false;
                next = self.evict_at(&f);
            }
            if let Some(conv) = self.open.get_mut(&id) {
                conv.timer = next;
            }
            self.timers.insert((next, id));
        }
        self.forget_ended(watermark);
        rows
    }

    /// The input is complete: writes a revision of every changed conversation (`closed` if it was
    /// closed, `idle_timeout` if its idle time had passed by `max_event_time`, `resolved` if it is
    /// resolved, else `end_of_input`), ordered by start and id, and evicts them all.
    pub fn drain(&mut self, max_event_time: i64) -> Vec<ConversationRow> {
        let mut ids: Vec<(i64, Arc<str>)> =
            self.open.values().map(|c| (c.marks.first().map_or(0, |m| m.ts), c.id.clone())).collect();
        ids.sort();
        let mut rows = Vec::with_capacity(ids.len());
        for (_, id) in ids {
            let Some(conv) = self.open.get(&id) else { continue };
            let f = conv.facts();
            let reason = if f.closed_at.is_some() {
                EndReason::Closed
            } else if f.last_event_at.saturating_add(self.idle_timeout_ms) <= max_event_time {
                EndReason::IdleTimeout
            } else if f.status == Status::Resolved {
                EndReason::Resolved
            } else {
                EndReason::EndOfInput
            };
            rows.extend(self.evict(&id, &f, reason, max_event_time));
        }
        self.timers.clear();
        // the runtime decides every topic before draining; a conversation still parked writes
        // its last row with the topic it has
        let mut parked: Vec<_> = self.parked.drain().map(|(_, p)| p).collect();
        parked.sort_by(|a, b| a.0.id.cmp(&b.0.id));
        let life = self.lifecycle();
        for (mut conv, reason, at) in parked {
            conv.release(&mut rows, true);
            rows.extend(conv.last_row(&conv.facts(), reason, &life, at, &self.unknown));
        }
        rows
    }

    /// Removes a conversation, remembering its id; its last revision (SLA clocks judged as of
    /// `at`) if it changed.
    fn evict(&mut self, id: &Arc<str>, f: &Facts, reason: EndReason, at: i64) -> Option<ConversationRow> {
        let conv = self.open.remove(id)?;
        let forget_at = at.saturating_add(self.ended_horizon_ms);
        self.ended.insert(id.clone(), forget_at);
        self.ended_order.insert((forget_at, id.clone()));
        if conv.awaits_topic() || !conv.held.is_empty() {
            self.parked.insert(id.clone(), (conv, reason, at));
            return None;
        }
        conv.last_row(f, reason, &self.lifecycle(), at, &self.unknown)
    }

    fn forget_ended(&mut self, watermark: i64) {
        while let Some((at, id)) = self.ended_order.first().cloned() {
            if at > watermark {
                break;
            }
            self.ended_order.pop_first();
            self.ended.remove(&id);
        }
    }
}

/// Calls `f(item, -1)` for items only in `old` and `f(item, 1)` for items only in `new` (both
/// sorted; multiset difference).
fn diff(old: &[Item], new: &[Item], mut f: impl FnMut(&Item, i64)) {
    let (mut i, mut j) = (0, 0);
    while i < old.len() || j < new.len() {
        match (old.get(i), new.get(j)) {
            (Some(a), Some(b)) if a == b => {
                i += 1;
                j += 1;
            }
            (Some(a), Some(b)) if a < b => {
                f(a, -1);
                i += 1;
            }
            (Some(a), None) => {
                f(a, -1);
                i += 1;
            }
            (_, Some(b)) => {
                f(b, 1);
                j += 1;
            }
            (None, None) => break,
        }
    }
}
