//! The built-in event generator: a stream of customer-support conversation events (input contract
//! v1, `../shared/spec/conversation-events.md`) for tests, demos and benchmarks.
//!
//! Deterministic: the same [`GeneratorConfig`] (above all the same `seed`) gives the same lines,
//! byte for byte. It mirrors `../shared/bench/gen_events.py` in shape — weighted channels, Chinese
//! and English texts, a diurnal load, bot / agent / expert paths with reopen, CSAT and close, both
//! timestamp forms, late arrivals, duplicate lines, invalid lines and volume spikes — but not byte
//! for byte (the random number generator differs).
//!
//! Invariant: the lines come out in arrival order — valid lines sorted by (arrival time, emission
//! order), where arrival is the event time, later for late events and for the second copy of a
//! duplicate — and then the invalid lines are inserted at random positions.

use chrono::{DateTime, Datelike, FixedOffset, SecondsFormat, TimeDelta, Utc};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use rand_distr::{Distribution, StandardNormal};
use serde::Serialize;
use std::time::Duration;

use super::vocab::{
    AGENT, BOT, CHANNELS, Channel, EXTRA_ROUNDS, FOLLOW_NEGATIVE, FOLLOW_NEUTRAL, FOLLOW_POSITIVE,
    HANDOFF_REASONS, HOUR_WEIGHT, INVALID_LINES, ITEMS, LOCAL_OFFSET_S, Lang, MOODS, Mood, NEGATIVE_PREFIX,
    POSITIVE_PREFIX, TOPICS, Texts, Topic, UNKNOWN_CHANNEL_HUMAN_MEDIAN_S, UNKNOWN_CHANNEL_WEIGHT,
};

/// +08:00, the offset of the default start.
const CST: FixedOffset = match FixedOffset::east_opt(8 * 3600) {
    Some(offset) => offset,
    None => panic!("+08:00 is a valid offset"),
};
/// 2026-11-02T00:00:00+08:00 as a UTC instant (checked at compile time).
const DEFAULT_START_UTC: DateTime<Utc> = match DateTime::from_timestamp(1_793_548_800, 0) {
    Some(t) => t,
    None => panic!("the default start is a valid time"),
};
/// Upper bound of `days` (ten years; keeps the hour table small).
const MAX_DAYS: u32 = 3660;
/// Accepted years of `start` and of a spike's start (keeps every generated time a 4-digit year).
const YEARS: std::ops::RangeInclusive<i32> = 1..=9000;
/// A spike adds at least this many conversations.
const MIN_SPIKE_CONVERSATIONS: u64 = 20;
const HOUR_US: i64 = 3_600_000_000;

/// A volume spike to inject: `(multiplier - 1)` times the usual volume of `topic` on `channel`
/// during `[start, start + length)`, and at least 20 extra conversations.
#[derive(Debug, Clone, serde::Deserialize, serde::Serialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct SpikeSpec {
    /// Topic of the extra conversations, one of the generator's topics (`logistics`, `refund`,
    /// `login`, `payment`, `coupon`, `live_permission`, `battery_heat`, `screen_flicker`,
    /// `cannot_boot`, `invoice`, `membership`, `address_change`).
    pub topic: String,
    /// Entry channel of the extra conversations, lower-case. A channel outside `app`, `web`,
    /// `wechat`, `weibo`, `douyin`, `email`, `phone` counts with weight 5, a bot answers first and
    /// the median wait for a human is 120 s.
    pub channel: String,
    /// When the spike begins (RFC 3339 with offset, e.g. `2026-11-02T20:00:00+08:00`).
    #[serde(with = "rfc3339")]
    pub start: DateTime<FixedOffset>,
    /// How long it lasts (humantime, e.g. `40m`); more than zero.
    #[serde(with = "humantime_serde")]
    pub length: Duration,
    /// Volume during the spike as a multiple of the usual volume; finite and at least 1.
    pub multiplier: f64,
}

/// Settings of the built-in generator. Every field has a default (the Python script's).
#[derive(Debug, Clone, serde::Deserialize, serde::Serialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct GeneratorConfig {
    /// Number of regular conversations (spikes add more). Default 10000.
    pub conversations: u64,
    /// Number of days the regular conversations start in, from `start`; 1..=3660. Default 1.
    pub days: u32,
    /// Beginning of the first day (RFC 3339 with offset; its offset is the one of the generated
    /// times; hour weights count from it). Default `2026-11-02T00:00:00+08:00`.
    #[serde(with = "rfc3339")]
    pub start: DateTime<FixedOffset>,
    /// Seed of the random number generator. Default 1.
    pub seed: u64,
    /// Share of events that arrive late, 0..=1. Default 0.02.
    pub late_fraction: f64,
    /// A late event arrives uniformly 1 s to this much after its event time (humantime, e.g.
    /// `15m`). Default 900 s.
    #[serde(with = "humantime_serde")]
    pub max_lateness: Duration,
    /// Share of events whose line is sent twice (the copy arrives 1..120 s later), 0..=1.
    /// Default 0.005.
    pub dup_fraction: f64,
    /// Invalid lines inserted, as a share of the valid lines (rounded down), 0..=1. Default 0.001.
    pub bad_fraction: f64,
    /// Share of follow-up customer messages that carry personal data (a phone number, e-mail
    /// address, resident ID or bank card number, as customers paste them), 0..=1. Drawn from a
    /// random stream of its own, so it changes only those texts. Default 0.05.
    pub pii_fraction: f64,
    /// Volume spikes to inject. Default none, which means the default spike (`battery_heat` on
    /// `weibo`, 40 min, x10, at 20:00 of the middle day) unless `no_spike`.
    pub spikes: Vec<SpikeSpec>,
    /// With no `spikes`, do not add the default spike. Default false.
    pub no_spike: bool,
}

impl Default for GeneratorConfig {
    fn default() -> Self {
        Self {
            conversations: 10_000,
            days: 1,
            start: DEFAULT_START_UTC.with_timezone(&CST),
            seed: 1,
            late_fraction: 0.02,
            max_lateness: Duration::from_secs(900),
            dup_fraction: 0.005,
            bad_fraction: 0.001,
            pii_fraction: 0.05,
            spikes: Vec::new(),
            no_spike: false,
        }
    }
}

/// What was generated besides the lines (ground truth counts).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct GeneratedSummary {
    /// Conversations generated, regular and spike ones.
    pub conversations: u64,
    /// Lines returned, including duplicates and invalid lines.
    pub lines: u64,
    /// Lines that repeat an earlier line byte for byte.
    pub duplicate_lines: u64,
    /// Lines that break the input contract.
    pub invalid_lines: u64,
    /// Spans of personal data planted in message texts (each counted once, not per duplicate
    /// line).
    pub personal_data: u64,
}

/// Error for bad settings of the generator.
#[derive(Debug, thiserror::Error)]
pub enum GenerateError {
    /// A setting is out of range or unknown.
    #[error("invalid generator setting `{field}`: {message}")]
    Invalid {
        /// Name of the field, e.g. `bad_fraction` or `spikes[0].topic`.
        field: String,
        /// What is wrong with it.
        message: String,
    },
    /// An event could not be encoded as JSON (not expected to happen).
    #[error("encoding a generated event as JSON: {0}")]
    Encode(#[from] serde_json::Error),
}

fn invalid(field: impl Into<String>, message: impl Into<String>) -> GenerateError {
    GenerateError::Invalid { field: field.into(), message: message.into() }
}

/// All lines (JSON text, no trailing newline) in arrival order, plus the summary.
pub fn generate(cfg: &GeneratorConfig) -> Result<(Vec<String>, GeneratedSummary), GenerateError> {
    validate(cfg)?;
    let spikes = effective_spikes(cfg)?;
    let mut run = Run::new(cfg);
    let offset = *cfg.start.offset();
    for i in 0..cfg.conversations {
        let start = run.g.start_time();
        let cid = format!("c{}-{i}", cfg.seed);
        let conv = run.g.conversation(ConvSpec { cid, start, offset, topic: None, channel: None });
        run.push(&conv)?;
    }
    for (k, spike) in spikes.iter().enumerate() {
        run.spike(k, spike)?;
    }
    Ok(run.finish())
}

fn validate(cfg: &GeneratorConfig) -> Result<(), GenerateError> {
    if cfg.days == 0 || cfg.days > MAX_DAYS {
        return Err(invalid("days", format!("must be within 1..={MAX_DAYS}, got {}", cfg.days)));
    }
    check_year("start", &cfg.start)?;
    let fractions = [
        ("late_fraction", cfg.late_fraction),
        ("dup_fraction", cfg.dup_fraction),
        ("bad_fraction", cfg.bad_fraction),
        ("pii_fraction", cfg.pii_fraction),
    ];
    for (field, value) in fractions {
        if !(0.0..=1.0).contains(&value) {
            return Err(invalid(field, format!("must be within 0..=1, got {value}")));
        }
    }
    for (k, spike) in cfg.spikes.iter().enumerate() {
        let field = |name: &str| format!("spikes[{k}].{name}");
        if find_topic(&spike.topic).is_none() {
            let known: Vec<&str> = TOPICS.iter().map(|t| t.name).collect();
            let message = format!("unknown topic {:?}; known: {}", spike.topic, known.join(", "));
            return Err(invalid(field("topic"), message));
        }
        if spike.channel.is_empty() || spike.channel != spike.channel.to_lowercase() {
            return Err(invalid(
                field("channel"),
                format!("must be a non-empty lower-case name, got {:?}", spike.channel),
            ));
        }
        check_year(&field("start"), &spike.start)?;
        if spike.length.is_zero() {
            return Err(invalid(field("length"), "must be more than zero"));
        }
        if !spike.multiplier.is_finite() || spike.multiplier < 1.0 {
            return Err(invalid(
                field("multiplier"),
                format!("must be finite and at least 1, got {}", spike.multiplier),
            ));
        }
    }
    Ok(())
}

fn check_year(field: &str, t: &DateTime<FixedOffset>) -> Result<(), GenerateError> {
    if YEARS.contains(&t.year()) {
        return Ok(());
    }
    Err(invalid(field, format!("year must be within {}..={}, got {t}", YEARS.start(), YEARS.end())))
}

fn find_topic(name: &str) -> Option<&'static Topic> {
    TOPICS.iter().find(|t| t.name == name)
}

/// The spikes to inject: the configured ones, or the default one (Python: `battery_heat` on
/// `weibo` at `start + days/2 - (days*12 % 24) h + 20 h`, 40 min, x10) unless `no_spike`.
fn effective_spikes(cfg: &GeneratorConfig) -> Result<Vec<SpikeSpec>, GenerateError> {
    if !cfg.spikes.is_empty() || cfg.no_spike {
        return Ok(cfg.spikes.clone());
    }
    let half = i64::from(cfg.days) * 12;
    let start = TimeDelta::try_hours(half - half % 24 + 20)
        .and_then(|d| cfg.start.checked_add_signed(d))
        .ok_or_else(|| invalid("start", "the default spike falls outside the representable time range"))?;
    Ok(vec![SpikeSpec {
        topic: "battery_heat".to_owned(),
        channel: "weibo".to_owned(),
        start,
        length: Duration::from_secs(40 * 60),
        multiplier: 10.0,
    }])
}

/// `t` (µs since the epoch) plus `seconds`, rounded to the microsecond like Python's `timedelta`.
fn after(t: i64, seconds: f64) -> i64 {
    t.saturating_add((seconds * 1e6).round_ties_even() as i64)
}

/// The hour of the day of `t` (µs since the epoch) at +08:00.
fn local_hour(t: i64) -> usize {
    ((t.div_euclid(1_000_000) + LOCAL_OFFSET_S).rem_euclid(86_400) / 3600) as usize
}

/// A line waiting to be sorted into arrival order.
struct Arrival {
    at: i64,
    order: u64,
    line: String,
}

/// State of one `generate` call: the random source and the lines emitted so far.
struct Run<'c> {
    cfg: &'c GeneratorConfig,
    g: Gen,
    entries: Vec<Arrival>,
    order: u64,
    duplicates: u64,
    conversations: u64,
}

impl<'c> Run<'c> {
    fn new(cfg: &'c GeneratorConfig) -> Self {
        Self { cfg, g: Gen::new(cfg), entries: Vec::new(), order: 0, duplicates: 0, conversations: 0 }
    }

    /// Emits the extra conversations of spike number `k`.
    fn spike(&mut self, k: usize, spike: &SpikeSpec) -> Result<(), GenerateError> {
        let topic = find_topic(&spike.topic).ok_or_else(|| {
            invalid(format!("spikes[{k}].topic"), format!("unknown topic {:?}", spike.topic))
        })?;
        let known = CHANNELS.iter().find(|c| c.name == spike.channel);
        let channel = ChannelInfo {
            name: &spike.channel,
            human_median_s: known.map_or(UNKNOWN_CHANNEL_HUMAN_MEDIAN_S, |c| c.human_median_s),
            bot: known.is_none_or(|c| c.bot),
        };
        let channel_weight = known.map_or(UNKNOWN_CHANNEL_WEIGHT, |c| c.weight);
        let extra = self.spike_size(spike, topic.weight, channel_weight);
        let start = spike.start.timestamp_micros();
        let minutes = spike.length.as_secs_f64() / 60.0;
        for j in 0..extra {
            let at = after(start, self.g.unit() * minutes * 60.0);
            let cid = format!("s{}-{k}-{j}", self.cfg.seed);
            let spec = ConvSpec {
                cid,
                start: at,
                offset: *spike.start.offset(),
                topic: Some(topic),
                channel: Some(channel),
            };
            let conv = self.g.conversation(spec);
            self.push(&conv)?;
        }
        Ok(())
    }

    /// Extra conversations of a spike: `(multiplier - 1)` x the usual volume of its topic on its
    /// channel at its hour, at least [`MIN_SPIKE_CONVERSATIONS`] (same arithmetic as the Python).
    fn spike_size(&self, spike: &SpikeSpec, topic_weight: f64, channel_weight: f64) -> u64 {
        let per_hour = self.cfg.conversations as f64 / (f64::from(self.cfg.days) * 24.0);
        let topic_total: f64 = TOPICS.iter().map(|t| t.weight).sum();
        let channel_total: f64 = CHANNELS.iter().map(|c| c.weight).sum();
        let hour_total: f64 = HOUR_WEIGHT.iter().sum();
        let hour_weight = HOUR_WEIGHT[local_hour(spike.start.timestamp_micros())];
        let base = per_hour
            * (spike.length.as_secs_f64() / 3600.0)
            * (topic_weight / topic_total)
            * (channel_weight / channel_total)
            * 24.0
            / hour_total
            * hour_weight;
        ((base * (spike.multiplier - 1.0)).round_ties_even() as u64).max(MIN_SPIKE_CONVERSATIONS)
    }

    /// Turns the events of `conv` into lines with their arrival times: some late, some twice.
    fn push(&mut self, conv: &Conv<'_>) -> Result<(), GenerateError> {
        let max_late_s = self.cfg.max_lateness.as_secs_f64();
        for ev in &conv.events {
            let mut at = ev.t;
            if self.g.unit() < self.cfg.late_fraction {
                at = after(at, self.g.uniform(1.0, max_late_s));
            }
            let ts = self.g.ts(ev.t, conv.offset)?;
            let line = encode(conv, ev, ts)?;
            self.order += 1;
            if self.g.unit() < self.cfg.dup_fraction {
                let again = after(at, self.g.uniform(1.0, 120.0));
                self.entries.push(Arrival { at, order: self.order, line: line.clone() });
                self.duplicates += 1;
                self.order += 1;
                self.entries.push(Arrival { at: again, order: self.order, line });
            } else {
                self.entries.push(Arrival { at, order: self.order, line });
            }
        }
        self.conversations += 1;
        Ok(())
    }

    /// Sorts into arrival order, inserts the invalid lines, and counts.
    fn finish(mut self) -> (Vec<String>, GeneratedSummary) {
        self.entries.sort_unstable_by_key(|a| (a.at, a.order));
        let invalid_lines = (self.entries.len() as f64 * self.cfg.bad_fraction).floor() as u64;
        let lines = insert_invalid(&mut self.g, self.entries, invalid_lines);
        let summary = GeneratedSummary {
            conversations: self.conversations,
            lines: lines.len() as u64,
            duplicate_lines: self.duplicates,
            invalid_lines,
            personal_data: self.g.planted,
        };
        (lines, summary)
    }
}

/// Inserts `count` invalid lines like the Python does — each at a uniform position of the list
/// as it is at that moment — without moving the list `count` times: the final index of an insert
/// is its position shifted by one for every later insert at or before it.
fn insert_invalid(g: &mut Gen, entries: Vec<Arrival>, count: u64) -> Vec<String> {
    let valid = entries.len();
    let count = count as usize;
    let mut inserts: Vec<(usize, &'static str)> = Vec::with_capacity(count);
    for k in 0..count {
        let pos = g.index(valid + k);
        inserts.push((pos, *g.pick(&INVALID_LINES)));
    }
    let mut placed: Vec<(usize, &'static str)> = inserts
        .iter()
        .enumerate()
        .map(|(k, &(pos, line))| (final_index(pos, &inserts[k + 1..]), line))
        .collect();
    placed.sort_unstable_by_key(|p| p.0);
    let mut lines = Vec::with_capacity(valid + count);
    let mut placed = placed.into_iter().peekable();
    let mut entries = entries.into_iter();
    for index in 0..valid + count {
        match placed.next_if(|p| p.0 == index) {
            Some((_, line)) => lines.push(line.to_owned()),
            None => lines.extend(entries.next().map(|a| a.line)),
        }
    }
    lines
}

/// Where an element inserted at `pos` ends up after the `later` inserts (each at a position of
/// the list as it is then): every later insert at or before it moves it one to the right.
fn final_index(pos: usize, later: &[(usize, &str)]) -> usize {
    later.iter().fold(pos, |at, &(p, _)| if p <= at { at + 1 } else { at })
}

#[path = "draw.rs"]
mod draw;
use draw::{ChannelInfo, Conv, ConvSpec, Gen, encode};

/// Serde of `DateTime<FixedOffset>` as an RFC 3339 string, whether or not chrono's `serde`
/// feature is on; also accepts a TOML native date-time (it reaches serde as a one-entry map).
mod rfc3339 {
    use chrono::{DateTime, FixedOffset, SecondsFormat};
    use serde::de::{self, MapAccess, Visitor};
    use serde::{Deserializer, Serializer};
    use std::fmt;

    pub(super) fn serialize<S: Serializer>(t: &DateTime<FixedOffset>, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&t.to_rfc3339_opts(SecondsFormat::AutoSi, false))
    }

    pub(super) fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<DateTime<FixedOffset>, D::Error> {
        d.deserialize_any(Rfc3339)
    }

    struct Rfc3339;

    impl<'de> Visitor<'de> for Rfc3339 {
        type Value = DateTime<FixedOffset>;

        fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            f.write_str("an RFC 3339 date-time with offset, e.g. 2026-11-02T00:00:00+08:00")
        }

        fn visit_str<E: de::Error>(self, v: &str) -> Result<Self::Value, E> {
            DateTime::parse_from_rfc3339(v)
                .map_err(|e| E::custom(format!("invalid RFC 3339 date-time {v:?}: {e}")))
        }

        fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
            match map.next_entry::<String, String>()? {
                Some((_, text)) => self.visit_str(&text),
                None => Err(de::Error::custom("an empty map is not a date-time")),
            }
        }
    }
}

#[cfg(test)]
#[path = "tests.rs"]
mod tests;
