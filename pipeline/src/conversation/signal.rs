//! Escalation signals: a conversation's customer turned angry while still with the bot
//! (`conversation.angry_with_bot`). A signal is *raised* at the customer message that met the
//! rule, the moment that message is folded in (not when the conversation settles), so ops can
//! step in while the customer is still there. Because the facts are recomputed from the sorted
//! marks, a late event can move or cancel it (a late handoff before that message, a late
//! neutral message breaking the run): the earlier signal is then *withdrawn* (same
//! `signal_id`) and, if the rule is now met elsewhere, a new one raised.

use super::facts::{Anger, Trigger};
use std::sync::Arc;

/// What kind of signal.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum SignalKind {
    /// An angry customer still with the bot.
    AngryWithBot,
}

impl SignalKind {
    /// The value of the `kind` column and label.
    pub fn as_str(self) -> &'static str {
        match self {
            SignalKind::AngryWithBot => "angry_with_bot",
        }
    }
}

/// Whether a signal starts or is cancelled.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum SignalAction {
    /// The rule is met.
    Raised,
    /// A late event showed that the rule was not met at that message after all.
    Withdrawn,
}

impl SignalAction {
    /// The value of the `action` column and label.
    pub fn as_str(self) -> &'static str {
        match self {
            SignalAction::Raised => "raised",
            SignalAction::Withdrawn => "withdrawn",
        }
    }
}

/// One signal event (a row of the `signals` table, a record of the signals topic).
#[derive(Debug, Clone, PartialEq)]
pub struct Signal {
    /// What kind.
    pub kind: SignalKind,
    /// Raised or withdrawn.
    pub action: SignalAction,
    /// Event time of the customer message that met the rule.
    pub at: i64,
    /// Which part of the rule it met.
    pub trigger: Trigger,
    /// That message's sentiment score.
    pub score: f32,
    /// Negative customer messages in a row up to and including it.
    pub negative_in_a_row: u32,
    /// The conversation.
    pub conversation_id: Arc<str>,
    /// Its channel (`unknown` when no event named one yet).
    pub channel: Arc<str>,
    /// Its team, when named.
    pub team: Option<Arc<str>>,
    /// Its customer, when named.
    pub customer_id: Option<Box<str>>,
    /// The watermark when it was emitted (how far event time had got).
    pub watermark: i64,
}

impl Signal {
    /// Stable identity of the signal, the same for its raise and its withdrawal (and for a
    /// repeat produced again after a crash): `<kind>:<conversation_id>:<at ms>`.
    pub fn signal_id(&self) -> String {
        format!("{}:{}:{}", self.kind.as_str(), self.conversation_id, self.at)
    }
}

/// The signal changes between the anger before and after an event: a withdrawal of the old
/// one when it is gone or moved, a raise of the new one when it is new or moved.
pub(super) fn changes(before: Option<Anger>, after: Option<Anger>) -> [(SignalAction, Option<Anger>); 2] {
    let moved = |a: Option<Anger>, b: Option<Anger>| a.filter(|a| b.is_none_or(|b| b.at != a.at));
    [(SignalAction::Withdrawn, moved(before, after)), (SignalAction::Raised, moved(after, before))]
}
