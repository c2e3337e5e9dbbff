//! The lifecycle state of one conversation and the facts derived from it, by the reference
//! definitions (see the module doc of [`super`]). Every fact is a min/max/ordered-set function
//! of the events, so the result does not depend on arrival order.

use super::ConversationRow;
use crate::metrics::{Duration as Which, WindowOperator};
use serde::{Deserialize, Serialize};
use std::sync::Arc;
use ticketpulse_schemas::{Event, EventKind, Role};

/// Channel of a conversation whose events never named one.
pub const UNKNOWN_CHANNEL: &str = "unknown";

/// Why a conversation row was written.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum EndReason {
    /// A `closed` event (plus the allowed lateness) passed.
    Closed,
    /// No event for the idle timeout of event time.
    IdleTimeout,
    /// The input ended (end of file, `--stop-when-idle`) with the conversation still open.
    EndOfInput,
}

impl EndReason {
    /// The value of the `end_reason` column and label.
    pub fn as_str(self) -> &'static str {
        match self {
            EndReason::Closed => "closed",
            EndReason::IdleTimeout => "idle_timeout",
            EndReason::EndOfInput => "end_of_input",
        }
    }
}

/// A contribution to one window: (window start, channel, value in seconds).
type Slot = (i64, Arc<str>, f64);

/// What a conversation has added to the open windows, so it can be moved when facts change.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub(super) struct Contribution {
    started: Option<(i64, Arc<str>)>,
    first_response: Option<Slot>,
    first_human_response: Option<Slot>,
}

/// Messages counted in one window under one channel.
#[derive(Debug, Clone, Serialize, Deserialize)]
struct MessageWindow {
    start: i64,
    channel: Arc<str>,
    count: i64,
}

/// Per-conversation state.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Conversation {
    pub(super) id: Arc<str>,
    /// Channel of the earliest event naming one, with that event's time.
    channel: Option<(i64, Arc<str>)>,
    customer_id: Option<String>,
    pub(super) started_at: i64,
    pub(super) last_event_at: i64,
    events: u32,
    messages: u32,
    customer_messages: u32,
    max_tier: u8,
    first_customer: Option<i64>,
    first_response: Option<i64>,
    first_handoff: Option<i64>,
    /// Times of agent/expert messages, sorted.
    human_messages: Vec<i64>,
    pub(super) closed_at: Option<i64>,
    contributed: Contribution,
    message_windows: Vec<MessageWindow>,
    /// Deadline of the timer currently registered for this conversation.
    pub(super) timer: i64,
}

/// Keeps the earliest of two optional times.
fn earliest(slot: &mut Option<i64>, ts: i64) {
    if slot.is_none_or(|t| ts < t) {
        *slot = Some(ts);
    }
}

impl Conversation {
    pub(super) fn new(id: Arc<str>, ts: i64) -> Self {
        Conversation {
            id,
            channel: None,
            customer_id: None,
            started_at: ts,
            last_event_at: ts,
            events: 0,
            messages: 0,
            customer_messages: 0,
            max_tier: 1,
            first_customer: None,
            first_response: None,
            first_handoff: None,
            human_messages: Vec::new(),
            closed_at: None,
            contributed: Contribution::default(),
            message_windows: Vec::new(),
            timer: i64::MAX,
        }
    }

    /// The channel, or [`UNKNOWN_CHANNEL`].
    pub(super) fn channel(&self, unknown: &Arc<str>) -> Arc<str> {
        self.channel.as_ref().map_or_else(|| unknown.clone(), |(_, c)| c.clone())
    }

    /// Folds `event` into the facts. Returns true when the conversation's channel changed.
    pub(super) fn fold(&mut self, event: &Event, channel: Option<Arc<str>>) -> bool {
        let ts = event.ts_ms;
        self.events += 1;
        self.started_at = self.started_at.min(ts);
        self.last_event_at = self.last_event_at.max(ts);
        if self.customer_id.is_none() {
            self.customer_id.clone_from(&event.customer_id);
        }
        let mut channel_changed = false;
        if let Some(c) = channel
            && self.channel.as_ref().is_none_or(|(t, _)| ts < *t)
        {
            channel_changed = self.channel.as_ref().is_none_or(|(_, old)| *old != c);
            self.channel = Some((ts, c));
        }
        match &event.kind {
            EventKind::Message { role, .. } => {
                self.messages += 1;
                match role {
                    Role::Customer => {
                        self.customer_messages += 1;
                        earliest(&mut self.first_customer, ts);
                    }
                    r if r.is_responder() => {
                        earliest(&mut self.first_response, ts);
                        if r.is_human() {
                            let i = self.human_messages.partition_point(|&t| t <= ts);
                            self.human_messages.insert(i, ts);
                        }
                    }
                    _ => {}
                }
            }
            EventKind::Handoff { tier, .. } => {
                earliest(&mut self.first_handoff, ts);
                self.max_tier = self.max_tier.max(*tier);
            }
            EventKind::Closed => earliest(&mut self.closed_at, ts),
            _ => {}
        }
        channel_changed
    }

    /// First response: (time of the responding message, seconds).
    fn first_response(&self) -> Option<(i64, f64)> {
        let reply = self.first_response?;
        let began = match self.first_customer {
            Some(c) if c <= reply => c,
            _ => self.started_at,
        };
        Some((reply, (reply - began) as f64 / 1000.0))
    }

    /// When the conversation reached a human: its first handoff, or its start if a human
    /// replied without one.
    fn human_start(&self) -> Option<i64> {
        self.first_handoff.or_else(|| (!self.human_messages.is_empty()).then_some(self.started_at))
    }

    /// First human response: (time of the human message, seconds).
    fn first_human_response(&self) -> Option<(i64, f64)> {
        let start = self.human_start()?;
        let i = self.human_messages.partition_point(|&t| t < start);
        let at = *self.human_messages.get(i)?;
        Some((at, (at - start) as f64 / 1000.0))
    }

    /// Counts one message at `ts` in its window; false if the window is closed.
    pub(super) fn count_message(&mut self, ts: i64, channel: Arc<str>, windows: &mut WindowOperator) -> bool {
        let start = windows.window_of(ts);
        if !windows.add_messages(start, &channel, 1) {
            return false;
        }
        match self.message_windows.iter_mut().find(|m| m.start == start && m.channel == channel) {
            Some(m) => m.count += 1,
            None => self.message_windows.push(MessageWindow { start, channel, count: 1 }),
        }
        true
    }

    /// Moves message counts of still-open windows to the current channel; returns how many
    /// counts stayed behind in closed windows.
    pub(super) fn move_messages(&mut self, channel: &Arc<str>, windows: &mut WindowOperator) -> u32 {
        let mut stuck = 0;
        self.message_windows.retain(|m| {
            let open = windows.is_open(m.start);
            if !open && m.channel != *channel {
                stuck += 1;
            }
            open
        });
        for m in &mut self.message_windows {
            if m.channel != *channel {
                windows.add_messages(m.start, &m.channel, -m.count);
                windows.add_messages(m.start, channel, m.count);
                m.channel = channel.clone();
            }
        }
        stuck
    }

    /// What the facts want the window contributions to be, under `channel`.
    pub(super) fn desired(&self, channel: &Arc<str>, windows: &WindowOperator) -> Contribution {
        let slot = |fact: Option<(i64, f64)>| fact.map(|(at, s)| (windows.window_of(at), channel.clone(), s));
        Contribution {
            started: Some((windows.window_of(self.started_at), channel.clone())),
            first_response: slot(self.first_response()),
            first_human_response: slot(self.first_human_response()),
        }
    }

    /// Brings the window contributions in line with the facts. A change that would touch a
    /// closed window is not made; returns how many such refusals the current event caused
    /// (`before` is what was wanted before it: a refusal it did not cause is not counted again).
    pub(super) fn reconcile(
        &mut self,
        before: &Contribution,
        channel: &Arc<str>,
        windows: &mut WindowOperator,
    ) -> u32 {
        let wanted = self.desired(channel, windows);
        let mut refused = 0;
        if wanted.started != self.contributed.started {
            let open = |s: &Option<(i64, Arc<str>)>| s.as_ref().is_none_or(|(w, _)| windows.is_open(*w));
            if open(&self.contributed.started) && open(&wanted.started) {
                if let Some((w, c)) = &self.contributed.started {
                    windows.add_started(*w, c, -1);
                }
                if let Some((w, c)) = &wanted.started {
                    windows.add_started(*w, c, 1);
                }
                self.contributed.started = wanted.started.clone();
            } else if wanted.started != before.started {
                refused += 1;
            }
        }
        let moved = move_slot(
            &mut self.contributed.first_response,
            &wanted.first_response,
            Which::FirstResponse,
            windows,
        );
        refused += u32::from(!moved && wanted.first_response != before.first_response);
        let moved = move_slot(
            &mut self.contributed.first_human_response,
            &wanted.first_human_response,
            Which::FirstHumanResponse,
            windows,
        );
        refused += u32::from(!moved && wanted.first_human_response != before.first_human_response);
        refused
    }

    /// The output row.
    pub(super) fn row(&self, end_reason: EndReason, unknown: &Arc<str>) -> ConversationRow {
        let fr = self.first_response();
        let fhr = self.first_human_response();
        ConversationRow {
            conversation_id: self.id.clone(),
            channel: self.channel(unknown),
            customer_id: self.customer_id.clone(),
            started_at: self.started_at,
            last_event_at: self.last_event_at,
            end_reason,
            events: self.events,
            messages: self.messages,
            customer_messages: self.customer_messages,
            max_tier: self.max_tier,
            first_customer_message_at: self.first_customer,
            first_response_at: fr.map(|f| f.0),
            first_response_s: fr.map(|f| f.1),
            first_handoff_at: self.first_handoff,
            first_human_response_at: fhr.map(|f| f.0),
            first_human_response_s: fhr.map(|f| f.1),
        }
    }
}

/// Moves one duration contribution from `current` to `wanted` if both windows are open;
/// returns false if a needed move was refused.
fn move_slot(
    current: &mut Option<Slot>,
    wanted: &Option<Slot>,
    which: Which,
    windows: &mut WindowOperator,
) -> bool {
    if current == wanted {
        return true;
    }
    let open = |s: &Option<Slot>| s.as_ref().is_none_or(|(w, _, _)| windows.is_open(*w));
    if !open(current) || !open(wanted) {
        return false;
    }
    if let Some((w, c, v)) = current.as_ref() {
        windows.remove_duration(*w, c, which, *v);
    }
    if let Some((w, c, v)) = wanted.as_ref() {
        windows.add_duration(*w, c, which, *v);
    }
    current.clone_from(wanted);
    true
}
