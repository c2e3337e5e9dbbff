//! The sessionizer: per-conversation lifecycle state, keyed by `conversation_id`, and the
//! conversation facts it emits (one [`ConversationRow`] per conversation).
//!
//! Definitions (the reference ones of the input contract):
//! - *start*: the earliest event time of the conversation;
//! - *first response time*: from the first customer message (or the start, if a reply came
//!   before any customer message) to the first `bot`, `agent` or `expert` message;
//! - *first human response time*: from the first `handoff` (or the start, if a human replied
//!   without one) to the first `agent`/`expert` message at or after it;
//! - *channel*: that of the earliest event naming one (`unknown` if none does).
//!
//! Invariants: a conversation is written once, when the watermark passes (is beyond) its `closed` time plus
//! the allowed lateness, or its last event plus the idle timeout plus the allowed lateness, or
//! when the input is drained. Its id is then remembered for the dedup horizon, and events for it
//! in that time are refused ([`Applied::AlreadyEnded`], dead-lettered by the runtime) instead of
//! opening a second row. Durations are counted in the window of the message that ends them, a
//! start in the window of the start, a message in its own window; these contributions move
//! while their windows are open (see [`crate::metrics`]). A change aimed at a window that has
//! already closed — a late event, or a handoff after a human already replied, which by the
//! reference definition moves the human start — is not made: the window keeps what it emitted,
//! the refusal is counted (`ticketpulse_component_errors_total{component="window",
//! error="closed_window"}`), and the conversation row still carries the exact value.

mod config;
mod state;
#[cfg(test)]
mod tests;

pub use config::ConversationConfig;
pub use state::{Conversation, EndReason, UNKNOWN_CHANNEL};

use crate::metrics::WindowOperator;
use serde::{Deserialize, Serialize};
use std::collections::{BTreeSet, HashMap};
use std::sync::Arc;
use ticketpulse_schemas::{Event, EventKind};

/// One row of the `conversations` table.
#[derive(Debug, Clone, PartialEq)]
pub struct ConversationRow {
    /// The conversation id.
    pub conversation_id: Arc<str>,
    /// Entry channel.
    pub channel: Arc<str>,
    /// Customer, if any event named one.
    pub customer_id: Option<String>,
    /// Earliest event time, epoch ms.
    pub started_at: i64,
    /// Latest event time, epoch ms.
    pub last_event_at: i64,
    /// Why the row was written.
    pub end_reason: EndReason,
    /// Valid, non-duplicate events.
    pub events: u32,
    /// Messages of any role.
    pub messages: u32,
    /// Customer messages.
    pub customer_messages: u32,
    /// Highest tier reached (1 = bot only).
    pub max_tier: u8,
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
}

/// What happened to an event given to [`ConversationOperator::apply`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Applied {
    /// Folded in; `refused_window_changes` changes aimed at closed windows were not made.
    Folded {
        /// Window contributions that could not move because their window had closed.
        refused_window_changes: u32,
    },
    /// The conversation's row was already written; the event was not applied.
    AlreadyEnded,
}

/// The open conversations, their timers, and the recently ended ids.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ConversationOperator {
    idle_timeout_ms: i64,
    lateness_ms: i64,
    ended_horizon_ms: i64,
    open: HashMap<Arc<str>, Conversation>,
    /// (deadline, id); an entry is stale when the conversation's `timer` differs.
    timers: BTreeSet<(i64, Arc<str>)>,
    /// Ended ids -> when they may be forgotten (watermark), and that order.
    ended: HashMap<Arc<str>, i64>,
    ended_order: BTreeSet<(i64, Arc<str>)>,
    #[serde(skip)]
    channels: HashMap<String, Arc<str>>,
    #[serde(skip, default = "unknown_channel")]
    unknown: Arc<str>,
}

fn deadline(c: &Conversation, idle_timeout_ms: i64, lateness_ms: i64) -> i64 {
    match c.closed_at {
        Some(closed) => closed.saturating_add(lateness_ms),
        None => c.last_event_at.saturating_add(idle_timeout_ms).saturating_add(lateness_ms),
    }
}

fn unknown_channel() -> Arc<str> {
    Arc::from(UNKNOWN_CHANNEL)
}

impl ConversationOperator {
    /// An operator with no conversations.
    pub fn new(idle_timeout_ms: i64, lateness_ms: i64, ended_horizon_ms: i64) -> Self {
        ConversationOperator {
            idle_timeout_ms,
            lateness_ms,
            ended_horizon_ms,
            open: HashMap::new(),
            timers: BTreeSet::new(),
            ended: HashMap::new(),
            ended_order: BTreeSet::new(),
            channels: HashMap::new(),
            unknown: unknown_channel(),
        }
    }

    /// Idle timeout, ms of event time.
    pub fn idle_timeout_ms(&self) -> i64 {
        self.idle_timeout_ms
    }

    /// Conversations held.
    pub fn open_conversations(&self) -> usize {
        self.open.len()
    }

    fn intern(&mut self, channel: &str) -> Arc<str> {
        if let Some(c) = self.channels.get(channel) {
            return c.clone();
        }
        let c: Arc<str> = Arc::from(channel);
        self.channels.insert(channel.to_string(), c.clone());
        c
    }

    /// When `c` is due: its `closed` time plus the lateness, else its last event plus the
    /// idle timeout plus the lateness.
    fn deadline(&self, c: &Conversation) -> i64 {
        deadline(c, self.idle_timeout_ms, self.lateness_ms)
    }

    /// Folds `event` into its conversation and updates the window contributions.
    pub fn apply(&mut self, event: &Event, windows: &mut WindowOperator) -> Applied {
        if self.ended.contains_key(event.conversation_id.as_str()) {
            return Applied::AlreadyEnded;
        }
        let channel = event.channel.as_deref().map(|c| self.intern(c));
        let id: &str = &event.conversation_id;
        let created = !self.open.contains_key(id);
        if created {
            let id: Arc<str> = Arc::from(id);
            self.open.insert(id.clone(), Conversation::new(id, event.ts_ms));
        }
        let unknown = self.unknown.clone();
        let Some(conv) = self.open.get_mut(id) else { return Applied::AlreadyEnded };
        let before =
            if created { Default::default() } else { conv.desired(&conv.channel(&unknown), windows) };
        let channel_changed = conv.fold(event, channel);
        let current = conv.channel(&unknown);
        let mut refused = 0;
        if matches!(event.kind, EventKind::Message { .. })
            && !conv.count_message(event.ts_ms, current.clone(), windows)
        {
            refused += 1;
        }
        if channel_changed {
            refused += conv.move_messages(&current, windows);
        }
        refused += conv.reconcile(&before, &current, windows);
        let conv_id = conv.id.clone();
        let registered = conv.timer;
        let deadline = deadline(conv, self.idle_timeout_ms, self.lateness_ms);
        if deadline < registered {
            conv.timer = deadline;
            self.timers.insert((deadline, conv_id));
        }
        Applied::Folded { refused_window_changes: refused }
    }

    /// Writes the conversations whose deadline the watermark has passed, in deadline order.
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
            let actual = self.deadline(conv);
            if actual >= watermark {
                if let Some(conv) = self.open.get_mut(&id) {
                    conv.timer = actual;
                }
                self.timers.insert((actual, id));
                continue;
            }
            let reason = if conv.closed_at.is_some() { EndReason::Closed } else { EndReason::IdleTimeout };
            rows.push(self.end(&id, reason, deadline));
        }
        self.forget_ended(watermark);
        rows
    }

    /// The input is complete: writes every open conversation (`closed` if it was closed,
    /// `idle_timeout` if its idle time had passed by `max_event_time`, else `end_of_input`),
    /// ordered by start and id.
    pub fn drain(&mut self, max_event_time: i64) -> Vec<ConversationRow> {
        let mut ids: Vec<(i64, Arc<str>)> =
            self.open.values().map(|c| (c.started_at, c.id.clone())).collect();
        ids.sort();
        let mut rows = Vec::with_capacity(ids.len());
        for (_, id) in ids {
            let Some(conv) = self.open.get(&id) else { continue };
            let reason = if conv.closed_at.is_some() {
                EndReason::Closed
            } else if conv.last_event_at.saturating_add(self.idle_timeout_ms) <= max_event_time {
                EndReason::IdleTimeout
            } else {
                EndReason::EndOfInput
            };
            rows.push(self.end(&id, reason, max_event_time));
        }
        self.timers.clear();
        rows
    }

    fn end(&mut self, id: &Arc<str>, reason: EndReason, at: i64) -> ConversationRow {
        let conv = self.open.remove(id);
        let row = conv.map(|c| c.row(reason, &self.unknown));
        let forget_at = at.saturating_add(self.ended_horizon_ms);
        self.ended.insert(id.clone(), forget_at);
        self.ended_order.insert((forget_at, id.clone()));
        row.unwrap_or_else(|| Conversation::new(id.clone(), at).row(reason, &self.unknown))
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
