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

/// A channel as a conversation sees it.
#[derive(Clone, Copy)]
struct ChannelInfo<'a> {
    name: &'a str,
    human_median_s: f64,
    bot: bool,
}

impl ChannelInfo<'static> {
    fn of(c: &'static Channel) -> Self {
        Self { name: c.name, human_median_s: c.human_median_s, bot: c.bot }
    }
}

/// What is fixed before a conversation is drawn; `None` means drawn by weight.
struct ConvSpec<'a> {
    cid: String,
    /// Start, µs since the epoch.
    start: i64,
    offset: FixedOffset,
    topic: Option<&'static Topic>,
    channel: Option<ChannelInfo<'a>>,
}

/// One event before it is written; `t` is µs since the epoch, `seq` numbers it in its conversation.
#[derive(Default)]
struct Event {
    seq: u32,
    t: i64,
    kind: &'static str,
    channel: Option<String>,
    customer_id: Option<String>,
    lang: Option<&'static str>,
    role: Option<&'static str>,
    agent_id: Option<String>,
    text: Option<String>,
    tier: Option<u8>,
    reason: Option<&'static str>,
    rating: Option<u8>,
}

impl Event {
    fn of(kind: &'static str) -> Self {
        Self { kind, ..Self::default() }
    }

    fn message(role: &'static str, agent_id: Option<String>, text: String) -> Self {
        Self { kind: "message", role: Some(role), agent_id, text: Some(text), ..Self::default() }
    }
}

/// A conversation being drawn: its fixed traits, its clock `t` (µs) and its events.
struct Conv<'a> {
    cid: String,
    offset: FixedOffset,
    channel: ChannelInfo<'a>,
    topic: &'static Topic,
    mood: Mood,
    lang: Lang,
    t: i64,
    seq: u32,
    events: Vec<Event>,
    bot_resolved: bool,
}

impl Conv<'_> {
    fn emit(&mut self, t: i64, mut ev: Event) {
        self.seq += 1;
        ev.seq = self.seq;
        ev.t = t;
        self.events.push(ev);
    }
}

/// The wire form of an event; field order = key order (`event_id`, `conversation_id`, `ts`,
/// `type`, then the rest as the Python writes them).
#[derive(Serialize)]
struct Wire<'a> {
    event_id: &'a str,
    conversation_id: &'a str,
    ts: Ts,
    #[serde(rename = "type")]
    kind: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    channel: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    customer_id: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    lang: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    role: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    agent_id: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    text: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    tier: Option<u8>,
    #[serde(skip_serializing_if = "Option::is_none")]
    reason: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    rating: Option<u8>,
}

/// The two wire forms of `ts`.
#[derive(Serialize)]
#[serde(untagged)]
enum Ts {
    Millis(i64),
    Text(String),
}

fn encode(conv: &Conv<'_>, ev: &Event, ts: Ts) -> Result<String, GenerateError> {
    let event_id = format!("{}-{}", conv.cid, ev.seq);
    let wire = Wire {
        event_id: &event_id,
        conversation_id: &conv.cid,
        ts,
        kind: ev.kind,
        channel: ev.channel.as_deref(),
        customer_id: ev.customer_id.as_deref(),
        lang: ev.lang,
        role: ev.role,
        agent_id: ev.agent_id.as_deref(),
        text: ev.text.as_deref(),
        tier: ev.tier,
        reason: ev.reason,
        rating: ev.rating,
    };
    Ok(serde_json::to_string(&wire)?)
}

/// The random source and the draws of the Python script built on it.
struct Gen {
    rng: ChaCha8Rng,
    /// `start` in µs since the epoch.
    start: i64,
    /// Cumulative hour weights over all days (Python `cum_hours`).
    cum_hours: Vec<f64>,
}

impl Gen {
    fn new(cfg: &GeneratorConfig) -> Self {
        let mut total = 0.0;
        let mut cum_hours = Vec::with_capacity(cfg.days as usize * 24);
        for _ in 0..cfg.days {
            for w in HOUR_WEIGHT {
                total += w;
                cum_hours.push(total);
            }
        }
        Self { rng: ChaCha8Rng::seed_from_u64(cfg.seed), start: cfg.start.timestamp_micros(), cum_hours }
    }

    /// Uniform in [0, 1).
    fn unit(&mut self) -> f64 {
        self.rng.random::<f64>()
    }

    /// Uniform in [a, b) (Python `uniform`).
    fn uniform(&mut self, a: f64, b: f64) -> f64 {
        a + (b - a) * self.unit()
    }

    /// Uniform integer in lo..=hi (Python `randint`).
    fn int(&mut self, lo: u64, hi: u64) -> u64 {
        self.rng.random_range(lo..=hi)
    }

    /// Uniform index below `len`, which must be positive (Python `randrange`).
    fn index(&mut self, len: usize) -> usize {
        self.rng.random_range(0..len)
    }

    /// A uniform element of `items`, which is never empty (see the invariant of `vocab`).
    fn pick<'t, T>(&mut self, items: &'t [T]) -> &'t T {
        &items[self.index(items.len())]
    }

    /// Index of an element drawn by weight (Python `choices`: bisect over the cumulative weights).
    fn weighted<T>(&mut self, items: &[T], weight: impl Fn(&T) -> f64) -> usize {
        let total: f64 = items.iter().map(&weight).sum();
        let r = self.unit() * total;
        let mut acc = 0.0;
        for (i, item) in items.iter().enumerate() {
            acc += weight(item);
            if acc > r {
                return i;
            }
        }
        items.len().saturating_sub(1)
    }

    /// Normal with `mean` and standard deviation `sd` (Python `gauss`).
    fn gauss(&mut self, mean: f64, sd: f64) -> f64 {
        let z: f64 = StandardNormal.sample(&mut self.rng);
        mean + sd * z
    }

    /// Start of a regular conversation: an hour drawn by the diurnal weights, then uniform in it.
    fn start_time(&mut self) -> i64 {
        let total = self.cum_hours.last().copied().unwrap_or(0.0);
        let r = self.unit() * total;
        let hour = self.cum_hours.partition_point(|&c| c < r).min(self.cum_hours.len().saturating_sub(1));
        let offset = self.unit() * 3600.0;
        after(self.start.saturating_add(hour as i64 * HOUR_US), offset)
    }

    /// `ts` of a line: 20% epoch milliseconds, else RFC 3339 with milliseconds at `offset`.
    fn ts(&mut self, t: i64, offset: FixedOffset) -> Result<Ts, GenerateError> {
        if self.unit() < 0.2 {
            return Ok(Ts::Millis(t.div_euclid(1000)));
        }
        let utc = DateTime::<Utc>::from_timestamp_micros(t)
            .ok_or_else(|| invalid("start", "generated times leave the representable time range"))?;
        Ok(Ts::Text(utc.with_timezone(&offset).to_rfc3339_opts(SecondsFormat::Millis, false)))
    }

    /// `template` with `{n}`, `{order}`, `{item}`, `{a}` filled in (all four always drawn).
    fn fill(&mut self, template: &str, lang: Lang) -> String {
        let n = self.int(2, 9);
        let order = self.int(1_000_000_000, 9_999_999_999);
        let item = *self.pick(ITEMS.get(lang));
        let a = self.int(100, 999);
        template
            .replace("{n}", &n.to_string())
            .replace("{order}", &order.to_string())
            .replace("{item}", item)
            .replace("{a}", &a.to_string())
    }

    /// The first customer message: a topic template with a mood prefix.
    fn customer_text(&mut self, topic: &Topic, mood: Mood, lang: Lang) -> String {
        let template = *self.pick(topic.texts.get(lang));
        let body = self.fill(template, lang);
        match mood {
            Mood::Negative => {
                let prefix = *self.pick(NEGATIVE_PREFIX.get(lang));
                self.fill(prefix, lang) + &body
            }
            Mood::Positive => format!("{}{body}", self.pick(POSITIVE_PREFIX.get(lang))),
            Mood::Neutral => body,
        }
    }

    /// Draws one whole conversation (Python `Gen.conversation`).
    fn conversation<'a>(&mut self, spec: ConvSpec<'a>) -> Conv<'a> {
        let channel = match spec.channel {
            Some(channel) => channel,
            None => ChannelInfo::of(&CHANNELS[self.weighted(&CHANNELS, |c| c.weight)]),
        };
        let topic = match spec.topic {
            Some(topic) => topic,
            None => &TOPICS[self.weighted(&TOPICS, |t| t.weight)],
        };
        let mood = MOODS[self.weighted(&MOODS, |m| m.1)].0;
        let p_en = if matches!(channel.name, "email" | "web") { 0.45 } else { 0.12 };
        let lang = if self.unit() < p_en { Lang::En } else { Lang::Zh };
        let mut c = Conv {
            cid: spec.cid,
            offset: spec.offset,
            channel,
            topic,
            mood,
            lang,
            t: spec.start,
            seq: 0,
            events: Vec::new(),
            bot_resolved: false,
        };
        self.open(&mut c);
        let human = !c.channel.bot || self.bot_turn(&mut c);
        if human {
            self.human_turn(&mut c);
        }
        self.after_turns(&mut c);
        c
    }

    /// `conversation_started` and the first customer message.
    fn open(&mut self, c: &mut Conv<'_>) {
        let customer_id = format!("u{}", self.int(1, 1_000_000));
        let lang = (self.unit() < 0.5).then_some(c.lang.as_str());
        let channel = Some(c.channel.name.to_owned());
        c.emit(
            c.t,
            Event { channel, customer_id: Some(customer_id), lang, ..Event::of("conversation_started") },
        );
        c.t = after(c.t, self.uniform(0.5, 20.0));
        let text = self.customer_text(c.topic, c.mood, c.lang);
        c.emit(c.t, Event::message("customer", None, text));
    }

    /// A customer message drawn from `texts`, at `t`.
    fn customer_says(&mut self, c: &mut Conv<'_>, t: i64, texts: Texts) {
        let text = (*self.pick(texts.get(c.lang))).to_owned();
        c.emit(t, Event::message("customer", None, text));
    }

    /// An agent or expert message by `agent_id`, at the conversation's clock.
    fn staff_says(&mut self, c: &mut Conv<'_>, role: &'static str, agent_id: String) {
        let template = *self.pick(AGENT.get(c.lang));
        let text = self.fill(template, c.lang);
        c.emit(c.t, Event::message(role, Some(agent_id), text));
    }

    /// The bot answers; it resolves the conversation or hands it off. True if handed off.
    fn bot_turn(&mut self, c: &mut Conv<'_>) -> bool {
        c.t = after(c.t, self.uniform(0.8, 6.0));
        let text = (*self.pick(BOT.get(c.lang))).to_owned();
        c.emit(c.t, Event::message("bot", None, text));
        if self.unit() < c.mood.p_bot_resolves() {
            c.bot_resolved = true;
            if self.unit() < 0.5 {
                c.t = after(c.t, self.uniform(5.0, 90.0));
                let (t, texts) =
                    (c.t, if c.mood == Mood::Negative { FOLLOW_NEUTRAL } else { FOLLOW_POSITIVE });
                self.customer_says(c, t, texts);
            }
            c.t = after(c.t, self.uniform(2.0, 120.0));
            c.emit(c.t, Event::of("resolved"));
            return false;
        }
        c.t = after(c.t, self.uniform(10.0, 240.0));
        let reason = if c.mood == Mood::Negative && self.unit() < 0.6 {
            "negative_sentiment"
        } else {
            *self.pick(&HANDOFF_REASONS)
        };
        c.emit(c.t, Event { tier: Some(2), reason: Some(reason), ..Event::of("handoff") });
        true
    }

    /// Agent replies (with a lognormal wait), more rounds, maybe an expert, usually a resolution.
    fn human_turn(&mut self, c: &mut Conv<'_>) {
        let agent = format!("a{}", self.int(1, 400));
        let wait = c.channel.human_median_s * self.gauss(0.0, 0.9).exp();
        if c.mood == Mood::Negative && self.unit() < 0.5 {
            // an unanswered, waiting customer writes again
            let t2 = after(c.t, wait * self.uniform(0.3, 0.9));
            self.customer_says(c, t2, FOLLOW_NEGATIVE);
        }
        c.t = after(c.t, wait);
        self.staff_says(c, "agent", agent.clone());
        for _ in 0..*self.pick(&EXTRA_ROUNDS) {
            c.t = after(c.t, self.uniform(10.0, 600.0));
            let (t, texts) = (c.t, c.mood.follow_ups());
            self.customer_says(c, t, texts);
            c.t = after(c.t, c.channel.human_median_s * 0.5 * self.gauss(0.0, 0.7).exp());
            self.staff_says(c, "agent", agent.clone());
        }
        if self.unit() < c.mood.p_expert() {
            c.t = after(c.t, self.uniform(60.0, 1800.0));
            c.emit(c.t, Event { tier: Some(3), reason: Some("complex_issue"), ..Event::of("handoff") });
            c.t = after(c.t, self.uniform(120.0, 7200.0));
            let expert = format!("e{}", self.int(1, 30));
            self.staff_says(c, "expert", expert);
        }
        if self.unit() < 0.92 {
            c.t = after(c.t, self.uniform(30.0, 3600.0));
            c.emit(c.t, Event::of("resolved"));
        }
    }

    /// Reopen (rare), CSAT and close.
    fn after_turns(&mut self, c: &mut Conv<'_>) {
        let resolved = c.events.iter().any(|e| e.kind == "resolved");
        if resolved && self.unit() < c.mood.p_reopen() {
            c.t = after(c.t, self.uniform(1.0, 20.0) * 3600.0);
            c.emit(c.t, Event::of("reopened"));
            let t = c.t;
            self.customer_says(c, t, FOLLOW_NEGATIVE);
            c.t = after(c.t, c.channel.human_median_s * self.gauss(0.0, 0.9).exp());
            let agent = format!("a{}", self.int(1, 400));
            self.staff_says(c, "agent", agent);
            c.t = after(c.t, self.uniform(60.0, 3600.0));
            c.emit(c.t, Event::of("resolved"));
        }
        if resolved && self.unit() < 0.4 {
            c.t = after(c.t, self.uniform(5.0, 300.0));
            let penalty = if !c.bot_resolved && c.mood == Mood::Negative { 0.8 } else { 0.0 };
            let rating = self.gauss(c.mood.csat_base() - penalty, 0.8).round_ties_even().clamp(1.0, 5.0);
            c.emit(c.t, Event { rating: Some(rating as u8), ..Event::of("csat") });
        }
        if self.unit() < 0.7 {
            c.t = after(c.t, self.uniform(60.0, 7200.0));
            c.emit(c.t, Event::of("closed"));
        }
    }
}

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
