//! The state of one conversation: its sorted marks, the attributes named by its events (each
//! taken from the earliest event naming it, so arrival order does not matter), and its
//! revision bookkeeping. Facts and rows are derived from it on demand.

use super::ConversationRow;
use super::facts::{Anger, Facts};
use super::marks::{self, Mark};
use super::sla::{self, Lifecycle, Outcome, Target};
use crate::metrics::{Item, Measure};
use serde::{Deserialize, Serialize};
use std::sync::Arc;
use ticketpulse_schemas::{Event, EventKind};

/// Channel of a conversation whose events never named one.
pub const UNKNOWN_CHANNEL: &str = "unknown";

/// Why a conversation row (revision) was written.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum EndReason {
    /// The conversation was resolved (plus the allowed lateness passed).
    Resolved,
    /// A `closed` event (plus the allowed lateness) passed.
    Closed,
    /// No event for the idle timeout of event time: the state is evicted.
    IdleTimeout,
    /// The input ended (end of file, `--stop-when-idle`) with the conversation still open.
    EndOfInput,
    /// Ended early to keep `limits.max_open_conversations`: it was the open conversation
    /// nearest to its idle deadline.
    Evicted,
}

impl EndReason {
    /// The value of the `end_reason` column and label.
    pub fn as_str(self) -> &'static str {
        match self {
            EndReason::Resolved => "resolved",
            EndReason::Closed => "closed",
            EndReason::IdleTimeout => "idle_timeout",
            EndReason::EndOfInput => "end_of_input",
            EndReason::Evicted => "evicted",
        }
    }
}

/// An attribute with the event time of the event that named it.
type Named<T> = Option<(i64, T)>;

/// Keeps the value of the earliest event naming the attribute (on a tie, the smallest value, so
/// that arrival order never decides).
fn name<T: Ord>(slot: &mut Named<T>, ts: i64, value: Option<T>) -> bool {
    match value {
        Some(v) if slot.as_ref().is_none_or(|(t, old)| ts < *t || (ts == *t && v < *old)) => {
            *slot = Some((ts, v));
            true
        }
        _ => false,
    }
}

/// Per-conversation state.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Conversation {
    pub(super) id: Arc<str>,
    channel: Named<Arc<str>>,
    team: Named<Arc<str>>,
    customer_id: Named<Box<str>>,
    /// The first agent or expert named on a human message.
    agent_id: Named<Box<str>>,
    /// Distinct handoff reasons, sorted.
    reasons: Vec<Arc<str>>,
    pub(super) marks: Vec<Mark>,
    /// Revisions written so far.
    pub(super) revision: u32,
    /// Changed since the last revision was written.
    pub(super) dirty: bool,
    /// Deadline of the timer currently registered for this conversation.
    pub(super) timer: i64,
    /// The topic of its ticket, once assigned.
    #[serde(default)]
    pub(super) topic: Option<crate::topics::TopicTag>,
    /// The topic decision for each ticket message registered with the topic model (by k − 1;
    /// `None` while undecided, `Some(None)` when decided without a topic). While one is
    /// undecided, evicting the conversation parks it.
    #[serde(default)]
    pub(super) decisions: Vec<Option<Option<crate::topics::TopicTag>>>,
    /// Rows written while the topic for the ticket messages they saw (k) was undecided: they go
    /// out, in order, with that topic once it is.
    #[serde(default)]
    pub(super) held: Vec<(super::ConversationRow, u32)>,
}

/// The interned strings an event's attributes map to.
pub(super) struct Interned {
    pub channel: Option<Arc<str>>,
    pub team: Option<Arc<str>>,
    pub reason: Option<Arc<str>>,
    /// The sentiment of a customer message, when scored.
    pub sentiment: Option<crate::sentiment::Sentiment>,
}

/// The grouping key of a conversation's window contributions.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct Key {
    pub channel: Arc<str>,
    pub team: Option<Arc<str>>,
    /// The topic group (a top topic's id, or `other`).
    pub topic: Option<Arc<str>>,
}

impl Conversation {
    pub(super) fn new(id: Arc<str>) -> Self {
        Conversation {
            id,
            channel: None,
            team: None,
            customer_id: None,
            agent_id: None,
            reasons: Vec::new(),
            marks: Vec::new(),
            revision: 0,
            dirty: false,
            timer: i64::MAX,
            topic: None,
            decisions: Vec::new(),
            held: Vec::new(),
        }
    }

    /// Ticket messages registered with the topic model so far.
    pub(super) fn ticket_k(&self) -> u32 {
        self.decisions.len() as u32
    }

    /// Whether a ticket message's topic is still undecided.
    pub(super) fn awaits_topic(&self) -> bool {
        self.decisions.iter().any(Option::is_none)
    }

    /// Whether the topic decisions for the first `k` ticket messages are all in.
    pub(super) fn decided(&self, k: u32) -> bool {
        let k = k as usize;
        self.decisions.len() >= k && self.decisions[..k].iter().all(Option::is_some)
    }

    /// The topic of the ticket as of its first `k` messages: the newest decision with a topic.
    pub(super) fn topic_at(&self, k: u32) -> Option<&crate::topics::TopicTag> {
        self.decisions.iter().take(k as usize).rev().find_map(|d| d.as_ref().and_then(Option::as_ref))
    }

    /// `row` (written when the ticket had `k` messages) with the topic decided for them.
    pub(super) fn with_topic(&self, mut row: super::ConversationRow, k: u32) -> super::ConversationRow {
        let t = self.topic_at(k);
        row.topic_id = t.map(|t| t.id);
        row.topic_label = t.map(|t| t.label.clone());
        row.topic_model_version = t.map(|t| t.version);
        row
    }

    /// Writes `row` to `out` with its topic, or holds it (in order) until its topic is decided.
    pub(super) fn write(&mut self, row: super::ConversationRow, out: &mut Vec<super::ConversationRow>) {
        let k = self.ticket_k();
        if self.held.is_empty() && self.decided(k) {
            out.push(self.with_topic(row, k));
        } else {
            self.held.push((row, k));
        }
    }

    /// Writes the held rows whose topic is decided now, in order (`all`: every held row, with
    /// the topic decided so far).
    pub(super) fn release(&mut self, out: &mut Vec<super::ConversationRow>, all: bool) {
        let ready = self.held.iter().take_while(|(_, k)| all || self.decided(*k)).count();
        let rows: Vec<_> = self.held.drain(..ready).collect();
        out.extend(rows.into_iter().map(|(row, k)| self.with_topic(row, k)));
    }

    /// Its last row, written at eviction (`reason`, SLA clocks judged as of `at`) when it changed
    /// since the last one, with the topic decided so far.
    pub(super) fn last_row(
        &self,
        f: &Facts,
        reason: EndReason,
        life: &Lifecycle,
        at: i64,
        unknown: &Arc<str>,
    ) -> Option<super::ConversationRow> {
        self.dirty.then(|| self.with_topic(self.row(f, reason, life, at, unknown), self.ticket_k()))
    }

    /// The channel, or `unknown`.
    pub(super) fn channel(&self, unknown: &Arc<str>) -> Arc<str> {
        self.channel.as_ref().map_or_else(|| unknown.clone(), |(_, c)| c.clone())
    }

    /// The grouping key.
    pub(super) fn key(&self, unknown: &Arc<str>) -> Key {
        Key {
            channel: self.channel(unknown),
            team: self.team.as_ref().map(|(_, t)| t.clone()),
            topic: self.topic.as_ref().map(|t| t.group.clone()),
        }
    }

    /// Folds `event` into the state.
    pub(super) fn fold(&mut self, event: &Event, interned: Interned) {
        let ts = event.ts_ms;
        name(&mut self.channel, ts, interned.channel);
        name(&mut self.team, ts, interned.team);
        name(&mut self.customer_id, ts, event.customer_id.as_deref().map(Box::from));
        if let EventKind::Message { role, .. } = &event.kind
            && role.is_human()
        {
            name(&mut self.agent_id, ts, event.agent_id.as_deref().map(Box::from));
        }
        if let Some(r) = interned.reason
            && let Err(i) = self.reasons.binary_search(&r)
        {
            self.reasons.insert(i, r);
        }
        marks::insert(&mut self.marks, Mark::of(event, interned.sentiment));
        self.dirty = true;
    }

    /// The facts of the marks.
    pub(super) fn facts(&self) -> Facts {
        Facts::of(&self.marks)
    }

    /// The escalation signal's facts under the `conversation.angry_with_bot` rule.
    pub(super) fn anger(&self, f: &Facts, life: &Lifecycle) -> Option<Anger> {
        f.angry_with_bot(&self.marks, life.angry.negative_in_a_row, life.angry.below)
    }

    /// The customer's id, when an event named one.
    pub(super) fn customer_id(&self) -> Option<&str> {
        self.customer_id.as_ref().map(|(_, c)| &**c)
    }

    /// The output row for the next revision.
    fn team(&self) -> Option<&str> {
        self.team.as_ref().map(|(_, t)| &**t)
    }

    /// Every window contribution: the facts' own, the waits for a human, the night start, the
    /// angry-with-bot message (`anger`, from [`Conversation::anger`] of the same facts), and the
    /// SLA outcomes (a met clock at its stopping event, a breached one at its deadline).
    pub(super) fn items(
        &self,
        f: &Facts,
        life: &Lifecycle,
        anger: Option<Anger>,
        idle_ms: i64,
        unknown: &Arc<str>,
    ) -> Vec<Item> {
        let mut items = f.items(&self.marks);
        for w in f.waits(&self.marks, idle_ms) {
            let tier = f.tier_at(w.from);
            items.push(Item { at: w.from, measure: Measure::Waiting, value: w.to, tier });
        }
        if life.night.contains(f.started_at) {
            let tier = f.tier_at(f.started_at);
            items.push(Item { at: f.started_at, measure: Measure::Night, value: 1, tier });
        }
        if let Some(a) = anger {
            items.push(Item { at: a.at, measure: Measure::AngryWithBot, value: 1, tier: 1 });
        }
        let clocks = life.clocks(f, &self.marks, &self.channel(unknown), self.team());
        for c in &clocks {
            let (at, measure) = match c.final_outcome() {
                Some(Outcome::Met(at)) => (at, Measure::SlaMet(c.target)),
                Some(Outcome::Breached(at)) => (at, Measure::SlaBreached(c.target)),
                _ => continue,
            };
            items.push(Item { at, measure, value: 1, tier: f.tier_at(c.started) });
        }
        items.sort_unstable();
        items
    }

    /// The output row for the next revision; SLA clocks still running are judged as of `as_of`.
    pub(super) fn row(
        &self,
        f: &Facts,
        end_reason: EndReason,
        life: &Lifecycle,
        as_of: i64,
        unknown: &Arc<str>,
    ) -> ConversationRow {
        let replies = f.reply_stats();
        let fr = f.first_resolution();
        let calendar = life.calendar(self.team());
        let business = |span: Option<super::Span>| {
            let (c, s) = (calendar?, span?);
            c.business_ms(s.from, s.to).map(|ms| ms as f64 / 1000.0)
        };
        let clocks = life.clocks(f, &self.marks, &self.channel(unknown), self.team());
        let sla = |t: Target| sla::summary(&clocks, t, as_of);
        let breaches =
            clocks.iter().filter(|c| matches!(c.outcome(as_of), Some(Outcome::Breached(_)))).count();
        ConversationRow {
            conversation_id: self.id.clone(),
            revision: self.revision + 1,
            channel: self.channel(unknown),
            team: self.team.as_ref().map(|(_, t)| t.clone()),
            customer_id: self.customer_id.as_ref().map(|(_, c)| c.to_string()),
            agent_id: self.agent_id.as_ref().map(|(_, a)| a.to_string()),
            status: f.status,
            end_reason,
            started_at: f.started_at,
            last_event_at: f.last_event_at,
            events: self.marks.len() as u32,
            messages_by_role: f.messages_by_role,
            first_customer_message_at: f.first_customer,
            first_response_at: f.first_response.map(|s| s.to),
            first_response_s: f.first_response.map(|s| s.seconds()),
            first_handoff_at: f.first_handoff,
            first_human_response_at: f.first_human_response.map(|s| s.to),
            first_human_response_s: f.first_human_response.map(|s| s.seconds()),
            replies: replies.map_or(0, |r| r.0),
            reply_mean_s: replies.map(|r| r.1),
            reply_p50_s: replies.map(|r| r.2),
            reply_max_s: replies.map(|r| r.3),
            waiting_since: f.waiting_since,
            handoffs: f.handoffs,
            max_tier: f.max_tier,
            handoff_reasons: self.reasons.iter().map(|r| r.to_string()).collect(),
            resolved: f.resolved(),
            first_resolved_at: f.first_resolved,
            first_resolution_s: fr.map(|s| s.seconds()),
            full_resolution_s: f.full_resolution().map(|s| s.seconds()),
            reopens: f.reopens.len() as u32,
            bot_contained: f.bot_contained(),
            one_touch: f.one_touch(),
            csat_rating: f.csat.map(|c| c.1),
            night: life.night.contains(f.started_at),
            business_first_response_s: business(f.first_response),
            business_first_human_response_s: business(f.first_human_response),
            business_first_resolution_s: business(fr),
            sla_first_response: sla(Target::FirstResponse),
            sla_next_reply: sla(Target::NextReply),
            sla_resolution: sla(Target::Resolution),
            sla_breaches: breaches as u32,
            sentiment_first: f.mood.map(|m| m.first),
            sentiment_last: f.mood.map(|m| m.last),
            sentiment_min: f.mood.map(|m| m.min),
            sentiment_mean: f.mood.map(|m| m.mean),
            sentiment_trajectory: f.mood.map(|m| Arc::from(m.trajectory)),
            turned_negative: f.mood.is_some_and(|m| m.turned_negative),
            angry_with_bot_at: self.anger(f, life).map(|a| a.at),
            topic_id: self.topic.as_ref().map(|t| t.id),
            topic_label: self.topic.as_ref().map(|t| t.label.clone()),
            topic_model_version: self.topic.as_ref().map(|t| t.version),
        }
    }
}
