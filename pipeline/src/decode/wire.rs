//! The wire shape of an event as serde sees it: every known field kept as a loosely typed
//! value (so that the validator can say "field `tier`: expected an integer, got a string"
//! instead of serde's positional message), unknown fields skipped. Strings borrow from the
//! input when they contain no escapes.

use serde::Deserialize;
use serde::de::{self, Deserializer, IgnoredAny, MapAccess, Visitor};
use serde_json::value::RawValue;
use std::borrow::Cow;
use std::fmt;

/// A JSON value reduced to what validation needs.
#[derive(Debug)]
pub(super) enum Loose<'a> {
    Null,
    Bool,
    Int(i64),
    /// A number that is not an i64 (float, or integer beyond i64).
    Float(f64),
    Str(Cow<'a, str>),
    Array,
    Object,
}

impl Loose<'_> {
    /// The value as an integer: an integer, or a number with no fractional part (JSON Schema's
    /// `integer` includes `2.0`).
    pub(super) fn as_integer(&self) -> Option<i64> {
        match *self {
            Loose::Int(i) => Some(i),
            Loose::Float(f) if f.fract() == 0.0 && f.abs() < 9.0e15 => Some(f as i64),
            _ => None,
        }
    }

    pub(super) fn type_name(&self) -> &'static str {
        match self {
            Loose::Null => "null",
            Loose::Bool => "a boolean",
            Loose::Int(_) => "an integer",
            Loose::Float(_) => "a non-integer number",
            Loose::Str(_) => "a string",
            Loose::Array => "an array",
            Loose::Object => "an object",
        }
    }
}

impl<'de> Deserialize<'de> for Loose<'de> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_any(LooseVisitor)
    }
}

struct LooseVisitor;

impl<'de> Visitor<'de> for LooseVisitor {
    type Value = Loose<'de>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("any JSON value")
    }
    fn visit_unit<E>(self) -> Result<Self::Value, E> {
        Ok(Loose::Null)
    }
    fn visit_none<E>(self) -> Result<Self::Value, E> {
        Ok(Loose::Null)
    }
    fn visit_bool<E>(self, _: bool) -> Result<Self::Value, E> {
        Ok(Loose::Bool)
    }
    fn visit_i64<E>(self, v: i64) -> Result<Self::Value, E> {
        Ok(Loose::Int(v))
    }
    fn visit_u64<E>(self, v: u64) -> Result<Self::Value, E> {
        Ok(i64::try_from(v).map_or(Loose::Float(v as f64), Loose::Int))
    }
    fn visit_f64<E>(self, v: f64) -> Result<Self::Value, E> {
        Ok(Loose::Float(v))
    }
    fn visit_borrowed_str<E>(self, v: &'de str) -> Result<Self::Value, E> {
        Ok(Loose::Str(Cow::Borrowed(v)))
    }
    fn visit_str<E>(self, v: &str) -> Result<Self::Value, E> {
        Ok(Loose::Str(Cow::Owned(v.to_owned())))
    }
    fn visit_string<E>(self, v: String) -> Result<Self::Value, E> {
        Ok(Loose::Str(Cow::Owned(v)))
    }
    fn visit_seq<A: de::SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
        while seq.next_element::<IgnoredAny>()?.is_some() {}
        Ok(Loose::Array)
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
        while map.next_entry::<IgnoredAny, IgnoredAny>()?.is_some() {}
        Ok(Loose::Object)
    }
}

/// A key, borrowed when possible.
struct Key<'a>(Cow<'a, str>);

impl<'de> Deserialize<'de> for Key<'de> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        match Loose::deserialize(d)? {
            Loose::Str(s) => Ok(Key(s)),
            other => {
                Err(de::Error::custom(format!("object key must be a string, got {}", other.type_name())))
            }
        }
    }
}

/// The known fields of an event, as found on the wire (last occurrence wins, like most JSON
/// parsers).
#[derive(Debug, Default)]
pub(super) struct Wire<'a> {
    pub event_id: Option<Loose<'a>>,
    pub conversation_id: Option<Loose<'a>>,
    pub ts: Option<Loose<'a>>,
    pub kind: Option<Loose<'a>>,
    pub channel: Option<Loose<'a>>,
    pub role: Option<Loose<'a>>,
    pub text: Option<Loose<'a>>,
    pub tier: Option<Loose<'a>>,
    pub reason: Option<Loose<'a>>,
    pub agent_id: Option<Loose<'a>>,
    pub team: Option<Loose<'a>>,
    pub customer_id: Option<Loose<'a>>,
    pub rating: Option<Loose<'a>>,
    pub lang: Option<Loose<'a>>,
    pub attrs: Option<&'a RawValue>,
}

impl<'de> Deserialize<'de> for Wire<'de> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_map(WireVisitor)
    }
}

struct WireVisitor;

impl<'de> Visitor<'de> for WireVisitor {
    type Value = Wire<'de>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a JSON object")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
        let mut w = Wire::default();
        while let Some(Key(key)) = map.next_key::<Key<'de>>()? {
            let slot = match key.as_ref() {
                "event_id" => &mut w.event_id,
                "conversation_id" => &mut w.conversation_id,
                "ts" => &mut w.ts,
                "type" => &mut w.kind,
                "channel" => &mut w.channel,
                "role" => &mut w.role,
                "text" => &mut w.text,
                "tier" => &mut w.tier,
                "reason" => &mut w.reason,
                "agent_id" => &mut w.agent_id,
                "team" => &mut w.team,
                "customer_id" => &mut w.customer_id,
                "rating" => &mut w.rating,
                "lang" => &mut w.lang,
                "attrs" => {
                    w.attrs = Some(map.next_value::<&'de RawValue>()?);
                    continue;
                }
                _ => {
                    map.next_value::<IgnoredAny>()?;
                    continue;
                }
            };
            *slot = Some(map.next_value::<Loose<'de>>()?);
        }
        Ok(w)
    }
}
