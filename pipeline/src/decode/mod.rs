//! Decoding: bytes of one record -> a valid [`Event`] or an [`Invalid`] with its reason; nothing
//! else. Every rule of the input contract (`schemas/conversation-events.schema.json`) is enforced
//! here: required fields per type, both timestamp forms, id lengths, ranges, field types. Unknown
//! top-level fields are skipped without being materialised; `null` in an optional field means
//! absent. The invariant: `decode` never panics and never allocates for fields it drops.

#[cfg(test)]
mod fuzz;
#[cfg(test)]
mod tests;
mod wire;

use std::fmt;
use ticketpulse_schemas::{Event, EventKind, EventType, Role};
use wire::{Loose, Wire};

/// Why a record is invalid: a small fixed set, used as the `reason` label of
/// `ticketpulse_invalid_events_total` and in the dead-letter output.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum InvalidReason {
    /// Empty or blank record.
    Empty,
    /// Not valid JSON (or not valid UTF-8).
    NotJson,
    /// Valid JSON but not an object.
    NotObject,
    /// A required field is absent (or `null`).
    MissingField,
    /// A field has the wrong JSON type.
    WrongType,
    /// A field's value is outside its allowed set or range.
    OutOfRange,
    /// `ts` is neither RFC 3339 with an offset nor integer epoch milliseconds.
    BadTimestamp,
    /// The record is larger than `limits.max_record_bytes`.
    TooLarge,
}

impl InvalidReason {
    /// Every reason, for pre-registering metric labels.
    pub const ALL: [InvalidReason; 8] = [
        InvalidReason::Empty,
        InvalidReason::NotJson,
        InvalidReason::NotObject,
        InvalidReason::MissingField,
        InvalidReason::WrongType,
        InvalidReason::OutOfRange,
        InvalidReason::BadTimestamp,
        InvalidReason::TooLarge,
    ];

    /// The label value.
    pub fn as_str(self) -> &'static str {
        match self {
            InvalidReason::Empty => "empty",
            InvalidReason::NotJson => "not_json",
            InvalidReason::NotObject => "not_object",
            InvalidReason::MissingField => "missing_field",
            InvalidReason::WrongType => "wrong_type",
            InvalidReason::OutOfRange => "out_of_range",
            InvalidReason::BadTimestamp => "bad_timestamp",
            InvalidReason::TooLarge => "too_large",
        }
    }
}

/// An invalid record: the reason class and a human-readable detail naming the field.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Invalid {
    /// The class of problem.
    pub reason: InvalidReason,
    /// What exactly is wrong, e.g. "field `rating`: 9 is outside 1..=5".
    pub detail: String,
}

impl Invalid {
    /// An invalid record of `reason`.
    pub fn new(reason: InvalidReason, detail: impl Into<String>) -> Self {
        Invalid { reason, detail: detail.into() }
    }
}

impl fmt::Display for Invalid {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.reason.as_str(), self.detail)
    }
}

/// Longest `event_id` / `conversation_id`, in characters.
pub const MAX_ID_CHARS: usize = 128;

/// Decodes one record (a Kafka value or a JSONL line without its newline).
pub fn decode(bytes: &[u8]) -> Result<Event, Invalid> {
    if bytes.iter().all(u8::is_ascii_whitespace) {
        return Err(Invalid::new(InvalidReason::Empty, "empty record"));
    }
    let wire: Wire<'_> = serde_json::from_slice(bytes).map_err(|e| {
        if e.is_data() {
            Invalid::new(InvalidReason::NotObject, format!("expected a JSON object: {e}"))
        } else {
            Invalid::new(InvalidReason::NotJson, format!("not valid JSON: {e}"))
        }
    })?;
    validate(wire)
}

fn validate(w: Wire<'_>) -> Result<Event, Invalid> {
    let event_id = id_field("event_id", w.event_id)?;
    let conversation_id = id_field("conversation_id", w.conversation_id)?;
    let ts_ms = timestamp(w.ts)?;
    let type_name = required_str("type", w.kind)?;
    let event_type = EventType::parse(&type_name).ok_or_else(|| {
        Invalid::new(InvalidReason::OutOfRange, format!("field `type`: unknown type {type_name:?}"))
    })?;
    let channel = optional_str("channel", w.channel)?;
    if let Some(c) = &channel
        && (c.is_empty() || c.bytes().any(|b| b.is_ascii_uppercase()))
    {
        return Err(Invalid::new(
            InvalidReason::OutOfRange,
            format!("field `channel`: {c:?} must be a non-empty lower-case name"),
        ));
    }
    // Every field is checked wherever it appears; the type then says which are required.
    let role = match optional_str("role", w.role)? {
        None => None,
        Some(name) => Some(Role::parse(&name).ok_or_else(|| {
            Invalid::new(InvalidReason::OutOfRange, format!("field `role`: unknown role {name:?}"))
        })?),
    };
    let text = optional_str("text", w.text)?;
    let tier = optional_int_in("tier", w.tier, 2, 3)?;
    let rating = optional_int_in("rating", w.rating, 1, 5)?;
    let reason = optional_str("reason", w.reason)?;
    let kind = match event_type {
        EventType::ConversationStarted => {
            if channel.is_none() {
                return Err(missing("channel", "conversation_started"));
            }
            EventKind::ConversationStarted
        }
        EventType::Message => EventKind::Message {
            role: role.ok_or_else(|| missing("role", "message"))?,
            text: text.ok_or_else(|| missing("text", "message"))?,
        },
        EventType::Handoff => {
            EventKind::Handoff { tier: tier.ok_or_else(|| missing("tier", "handoff"))?, reason }
        }
        EventType::Csat => EventKind::Csat { rating: rating.ok_or_else(|| missing("rating", "csat"))? },
        EventType::Resolved => EventKind::Resolved,
        EventType::Reopened => EventKind::Reopened,
        EventType::Closed => EventKind::Closed,
    };
    let attrs = match w.attrs {
        None => None,
        Some(raw) => {
            let text = raw.get().trim_start();
            if text.starts_with('{') {
                Some(raw.get().to_string())
            } else if text == "null" {
                None
            } else {
                return Err(Invalid::new(InvalidReason::WrongType, "field `attrs`: expected an object"));
            }
        }
    };
    Ok(Event {
        event_id,
        conversation_id,
        ts_ms,
        kind,
        channel,
        agent_id: optional_str("agent_id", w.agent_id)?,
        team: optional_str("team", w.team)?,
        customer_id: optional_str("customer_id", w.customer_id)?,
        lang: optional_str("lang", w.lang)?,
        attrs,
    })
}

fn missing(field: &str, event_type: &str) -> Invalid {
    Invalid::new(InvalidReason::MissingField, format!("field `{field}` is required on `{event_type}`"))
}

fn wrong_type(field: &str, expected: &str, got: &Loose<'_>) -> Invalid {
    Invalid::new(
        InvalidReason::WrongType,
        format!("field `{field}`: expected {expected}, got {}", got.type_name()),
    )
}

fn required_str(field: &str, v: Option<Loose<'_>>) -> Result<String, Invalid> {
    match v {
        None | Some(Loose::Null) => {
            Err(Invalid::new(InvalidReason::MissingField, format!("field `{field}` is required")))
        }
        Some(Loose::Str(s)) => Ok(s.into_owned()),
        Some(other) => Err(wrong_type(field, "a string", &other)),
    }
}

fn optional_str(field: &str, v: Option<Loose<'_>>) -> Result<Option<String>, Invalid> {
    match v {
        None | Some(Loose::Null) => Ok(None),
        Some(Loose::Str(s)) => Ok(Some(s.into_owned())),
        Some(other) => Err(wrong_type(field, "a string", &other)),
    }
}

fn id_field(field: &str, v: Option<Loose<'_>>) -> Result<String, Invalid> {
    let s = required_str(field, v)?;
    let n = s.chars().count();
    if n == 0 || n > MAX_ID_CHARS {
        return Err(Invalid::new(
            InvalidReason::OutOfRange,
            format!("field `{field}`: length {n} is outside 1..={MAX_ID_CHARS}"),
        ));
    }
    Ok(s)
}

/// An optional integer field that must lie in `lo..=hi` when present.
fn optional_int_in(field: &str, v: Option<Loose<'_>>, lo: i64, hi: i64) -> Result<Option<u8>, Invalid> {
    let v = match v {
        None | Some(Loose::Null) => return Ok(None),
        Some(v) => v,
    };
    let Some(i) = v.as_integer() else { return Err(wrong_type(field, "an integer", &v)) };
    if !(lo..=hi).contains(&i) {
        return Err(Invalid::new(
            InvalidReason::OutOfRange,
            format!("field `{field}`: {i} is outside {lo}..={hi}"),
        ));
    }
    u8::try_from(i)
        .map(Some)
        .map_err(|_| Invalid::new(InvalidReason::OutOfRange, format!("field `{field}`: {i} is too large")))
}

/// Earliest event time accepted: 0000-01-01T00:00:00Z, the start of RFC 3339's range.
pub const MIN_TS_MS: i64 = -62_167_219_200_000;
/// Latest event time accepted: 9999-12-31T23:59:59.999Z, the end of RFC 3339's range.
pub const MAX_TS_MS: i64 = 253_402_300_799_999;

/// `ts`: integer epoch milliseconds, or an RFC 3339 string with an offset (rounded to the
/// nearest millisecond); either way within RFC 3339's years 0000..=9999, so that window and
/// timer arithmetic on it cannot overflow.
fn timestamp(v: Option<Loose<'_>>) -> Result<i64, Invalid> {
    let ms = raw_timestamp(v)?;
    if !(MIN_TS_MS..=MAX_TS_MS).contains(&ms) {
        return Err(Invalid::new(
            InvalidReason::OutOfRange,
            format!("field `ts`: {ms} ms is outside the years 0000..=9999"),
        ));
    }
    Ok(ms)
}

fn raw_timestamp(v: Option<Loose<'_>>) -> Result<i64, Invalid> {
    match v {
        None | Some(Loose::Null) => Err(Invalid::new(InvalidReason::MissingField, "field `ts` is required")),
        Some(Loose::Str(s)) => parse_rfc3339_ms(&s).ok_or_else(|| {
            Invalid::new(
                InvalidReason::BadTimestamp,
                format!("field `ts`: {s:?} is not RFC 3339 with an offset nor epoch milliseconds"),
            )
        }),
        Some(n @ (Loose::Int(_) | Loose::Float(_))) => n.as_integer().ok_or_else(|| {
            Invalid::new(
                InvalidReason::BadTimestamp,
                format!("field `ts`: expected integer epoch milliseconds, got {}", n.type_name()),
            )
        }),
        Some(other) => Err(wrong_type("ts", "an RFC 3339 string or integer epoch milliseconds", &other)),
    }
}

/// Parses RFC 3339 (`2026-11-02T21:04:05.123+08:00`, `...Z`) into epoch milliseconds.
pub fn parse_rfc3339_ms(s: &str) -> Option<i64> {
    let t = chrono::DateTime::parse_from_rfc3339(s).ok()?;
    let secs = t.timestamp();
    let nanos = i64::from(t.timestamp_subsec_nanos());
    secs.checked_mul(1000)?.checked_add((nanos + 500_000) / 1_000_000)
}
