//! The compact event log of one conversation: one 16-byte [`Mark`] per event that matters to a
//! metric, kept sorted by event time. Every fact is recomputed from the marks, so a fact never
//! depends on the order in which events arrived.

use serde::{Deserialize, Serialize};
use ticketpulse_schemas::{Event, EventKind, Role};

/// What a mark records. The declaration order breaks ties between marks at the same
/// millisecond: a customer message sorts before the reply that shares its time.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub enum Kind {
    /// `conversation_started`.
    Started,
    /// A customer message.
    Customer,
    /// A handoff; `arg` is the tier. Before replies at the same millisecond: a human message
    /// sent with the handoff answers it (the wait for a human is then zero).
    Handoff,
    /// A bot message.
    Bot,
    /// An agent message.
    Agent,
    /// An expert message.
    Expert,
    /// A system message (counted, never a turn or a reply).
    System,
    /// `resolved`.
    Resolved,
    /// `reopened`.
    Reopened,
    /// `closed`.
    Closed,
    /// A CSAT rating; `arg` is the rating.
    Csat,
}

impl Kind {
    /// A message by the bot, an agent or an expert.
    pub fn is_reply(self) -> bool {
        matches!(self, Kind::Bot | Kind::Agent | Kind::Expert)
    }

    /// A message by an agent or an expert.
    pub fn is_human(self) -> bool {
        matches!(self, Kind::Agent | Kind::Expert)
    }

    /// A message of any role.
    pub fn is_message(self) -> bool {
        matches!(self, Kind::Customer | Kind::Bot | Kind::Agent | Kind::Expert | Kind::System)
    }
}

/// One event of a conversation, as the metrics need it (16 bytes).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct Mark {
    /// Event time, epoch ms.
    pub ts: i64,
    /// What happened.
    pub kind: Kind,
    /// Tier of a handoff, rating of a CSAT; for a customer message its sentiment label
    /// ([`SENTIMENT_NONE`], or 1 negative, 2 neutral, 3 positive); else 0.
    pub arg: u8,
    /// A customer message's sentiment score in hundredths (-100..=100), else 0.
    pub score: i8,
}

/// `arg` of a customer message that was not scored.
pub const SENTIMENT_NONE: u8 = 0;

/// The `arg` code of a label.
pub fn label_code(label: crate::sentiment::Label) -> u8 {
    match label {
        crate::sentiment::Label::Negative => 1,
        crate::sentiment::Label::Neutral => 2,
        crate::sentiment::Label::Positive => 3,
    }
}

/// The label of an `arg` code.
pub fn code_label(code: u8) -> Option<crate::sentiment::Label> {
    match code {
        1 => Some(crate::sentiment::Label::Negative),
        2 => Some(crate::sentiment::Label::Neutral),
        3 => Some(crate::sentiment::Label::Positive),
        _ => None,
    }
}

impl Mark {
    /// The mark of `event`, with the sentiment of a customer message if it was scored.
    pub fn of(event: &Event, sentiment: Option<crate::sentiment::Sentiment>) -> Mark {
        let (kind, arg) = match &event.kind {
            EventKind::ConversationStarted => (Kind::Started, 0),
            EventKind::Message { role, .. } => (
                match role {
                    Role::Customer => Kind::Customer,
                    Role::Bot => Kind::Bot,
                    Role::Agent => Kind::Agent,
                    Role::Expert => Kind::Expert,
                    Role::System => Kind::System,
                },
                0,
            ),
            EventKind::Handoff { tier, .. } => (Kind::Handoff, *tier),
            EventKind::Resolved => (Kind::Resolved, 0),
            EventKind::Reopened => (Kind::Reopened, 0),
            EventKind::Closed => (Kind::Closed, 0),
            EventKind::Csat { rating } => (Kind::Csat, *rating),
        };
        match sentiment {
            Some(s) if kind == Kind::Customer => Mark {
                ts: event.ts_ms,
                kind,
                arg: label_code(s.label),
                score: (s.score.clamp(-1.0, 1.0) * 100.0).round() as i8,
            },
            _ => Mark { ts: event.ts_ms, kind, arg, score: 0 },
        }
    }
}

/// Inserts `mark` keeping `marks` sorted.
pub fn insert(marks: &mut Vec<Mark>, mark: Mark) {
    let i = marks.partition_point(|m| *m <= mark);
    marks.insert(i, mark);
}
