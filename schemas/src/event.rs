//! The input event as Rust types. Values of these types are always valid by the contract: the
//! decoder (`ticketpulse_pipeline::decode`) is the only producer and enforces every rule; the
//! type-specific required fields live inside [`EventKind`], so "a handoff without a tier" cannot
//! be represented.

use serde::{Deserialize, Serialize};
use std::fmt;

/// One valid conversation event.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Event {
    /// Unique id of the event (1..=128 characters).
    pub event_id: String,
    /// The conversation (ticket) the event belongs to (1..=128 characters).
    pub conversation_id: String,
    /// Event time, epoch milliseconds (UTC).
    pub ts_ms: i64,
    /// What happened, with the fields that are required for that type.
    pub kind: EventKind,
    /// Entry channel, lower-case; `Some` on every `conversation_started`.
    pub channel: Option<String>,
    /// Agent or expert involved.
    pub agent_id: Option<String>,
    /// Team involved.
    pub team: Option<String>,
    /// Customer involved.
    pub customer_id: Option<String>,
    /// Language hint (`zh`, `en`, ...).
    pub lang: Option<String>,
    /// Free-form attributes as their JSON text, carried through and never indexed.
    pub attrs: Option<String>,
}

impl Event {
    /// The event in its wire form (contract v1, `ts` as epoch milliseconds): what the dead-letter
    /// output carries for a valid event that could not be used. Unknown fields of the original
    /// record are not kept.
    pub fn to_json(&self) -> String {
        use serde_json::{Map, Value};
        let mut m = Map::new();
        m.insert("event_id".into(), self.event_id.clone().into());
        m.insert("conversation_id".into(), self.conversation_id.clone().into());
        m.insert("ts".into(), self.ts_ms.into());
        m.insert("type".into(), self.kind.event_type().as_str().into());
        match &self.kind {
            EventKind::Message { role, text } => {
                m.insert("role".into(), role.as_str().into());
                m.insert("text".into(), text.clone().into());
            }
            EventKind::Handoff { tier, reason } => {
                m.insert("tier".into(), (*tier).into());
                if let Some(r) = reason {
                    m.insert("reason".into(), r.clone().into());
                }
            }
            EventKind::Csat { rating } => {
                m.insert("rating".into(), (*rating).into());
            }
            _ => {}
        }
        for (k, v) in [
            ("channel", &self.channel),
            ("agent_id", &self.agent_id),
            ("team", &self.team),
            ("customer_id", &self.customer_id),
            ("lang", &self.lang),
        ] {
            if let Some(v) = v {
                m.insert(k.into(), v.clone().into());
            }
        }
        if let Some(a) = &self.attrs {
            m.insert("attrs".into(), serde_json::from_str(a).unwrap_or(Value::Null));
        }
        Value::Object(m).to_string()
    }
}

/// The type of an event with its type-specific fields.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum EventKind {
    /// The conversation opens (its `channel` is on the [`Event`]).
    ConversationStarted,
    /// A message by `role`; `text` may be empty.
    Message {
        /// Who wrote it.
        role: Role,
        /// The message text, any language.
        text: String,
    },
    /// The conversation is handed to a human agent (tier 2) or an expert (tier 3).
    Handoff {
        /// 2 or 3.
        tier: u8,
        /// Why (`customer_request`, `negative_sentiment`, `bot_failed`, `vip`, ...).
        reason: Option<String>,
    },
    /// Marked solved.
    Resolved,
    /// Opened again after a resolution.
    Reopened,
    /// Ended for good.
    Closed,
    /// A customer satisfaction rating.
    Csat {
        /// 1..=5.
        rating: u8,
    },
}

impl EventKind {
    /// The wire `type` of this event.
    pub fn event_type(&self) -> EventType {
        match self {
            EventKind::ConversationStarted => EventType::ConversationStarted,
            EventKind::Message { .. } => EventType::Message,
            EventKind::Handoff { .. } => EventType::Handoff,
            EventKind::Resolved => EventType::Resolved,
            EventKind::Reopened => EventType::Reopened,
            EventKind::Closed => EventType::Closed,
            EventKind::Csat { .. } => EventType::Csat,
        }
    }
}

/// The wire values of `type`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum EventType {
    /// `conversation_started`
    ConversationStarted,
    /// `message`
    Message,
    /// `handoff`
    Handoff,
    /// `resolved`
    Resolved,
    /// `reopened`
    Reopened,
    /// `closed`
    Closed,
    /// `csat`
    Csat,
}

impl EventType {
    /// Every type, in contract order.
    pub const ALL: [EventType; 7] = [
        EventType::ConversationStarted,
        EventType::Message,
        EventType::Handoff,
        EventType::Resolved,
        EventType::Reopened,
        EventType::Closed,
        EventType::Csat,
    ];

    /// The wire spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            EventType::ConversationStarted => "conversation_started",
            EventType::Message => "message",
            EventType::Handoff => "handoff",
            EventType::Resolved => "resolved",
            EventType::Reopened => "reopened",
            EventType::Closed => "closed",
            EventType::Csat => "csat",
        }
    }

    /// Parses the wire spelling.
    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|t| t.as_str() == s)
    }
}

impl fmt::Display for EventType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Who wrote a message.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    /// The customer.
    Customer,
    /// The tier-1 bot.
    Bot,
    /// A tier-2 human agent.
    Agent,
    /// A tier-3 expert.
    Expert,
    /// The system (notices; never a response).
    System,
}

impl Role {
    /// Every role, in contract order.
    pub const ALL: [Role; 5] = [Role::Customer, Role::Bot, Role::Agent, Role::Expert, Role::System];

    /// The wire spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Customer => "customer",
            Role::Bot => "bot",
            Role::Agent => "agent",
            Role::Expert => "expert",
            Role::System => "system",
        }
    }

    /// Parses the wire spelling.
    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|r| r.as_str() == s)
    }

    /// A message by this role answers the customer (bot, agent or expert).
    pub fn is_responder(self) -> bool {
        matches!(self, Role::Bot | Role::Agent | Role::Expert)
    }

    /// A human responder (agent or expert).
    pub fn is_human(self) -> bool {
        matches!(self, Role::Agent | Role::Expert)
    }
}

impl fmt::Display for Role {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wire_spellings_round_trip() {
        for t in EventType::ALL {
            assert_eq!(EventType::parse(t.as_str()), Some(t));
        }
        for r in Role::ALL {
            assert_eq!(Role::parse(r.as_str()), Some(r));
        }
        assert_eq!(EventType::parse("teleport"), None);
        assert_eq!(Role::parse("Customer"), None);
    }

    #[test]
    fn json_schema_lists_the_same_types_and_roles() {
        let schema: serde_json::Value = serde_json::from_str(crate::EVENT_JSON_SCHEMA).unwrap();
        let types: Vec<&str> = schema["properties"]["type"]["enum"]
            .as_array()
            .unwrap()
            .iter()
            .filter_map(|v| v.as_str())
            .collect();
        assert_eq!(types, EventType::ALL.map(EventType::as_str));
        let roles: Vec<&str> = schema["properties"]["role"]["enum"]
            .as_array()
            .unwrap()
            .iter()
            .filter_map(|v| v.as_str())
            .collect();
        assert_eq!(roles, Role::ALL.map(Role::as_str));
    }
}
