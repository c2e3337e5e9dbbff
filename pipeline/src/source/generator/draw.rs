//! Drawing one conversation: the per-conversation random walk of the generator (channel, topic,
//! mood, language, bot/agent/expert path, delays) and its encoding as contract-v1 JSON lines.
//! A child of `generate`, whose settings, helpers and vocabulary it uses.

use super::*;
/// A channel as a conversation sees it.
#[derive(Clone, Copy)]
pub(super) struct ChannelInfo<'a> {
    pub(super) name: &'a str,
    pub(super) human_median_s: f64,
    pub(super) bot: bool,
}

impl ChannelInfo<'static> {
    pub(super) fn of(c: &'static Channel) -> Self {
        Self { name: c.name, human_median_s: c.human_median_s, bot: c.bot }
    }
}

/// What is fixed before a conversation is drawn; `None` means drawn by weight.
pub(super) struct ConvSpec<'a> {
    pub(super) cid: String,
    /// Start, µs since the epoch.
    pub(super) start: i64,
    pub(super) offset: FixedOffset,
    pub(super) topic: Option<&'static Topic>,
    pub(super) channel: Option<ChannelInfo<'a>>,
}

/// One event before it is written; `t` is µs since the epoch, `seq` numbers it in its conversation.
#[derive(Default)]
pub(super) struct Event {
    pub(super) seq: u32,
    pub(super) t: i64,
    pub(super) kind: &'static str,
    pub(super) channel: Option<String>,
    pub(super) customer_id: Option<String>,
    pub(super) lang: Option<&'static str>,
    pub(super) role: Option<&'static str>,
    pub(super) agent_id: Option<String>,
    pub(super) text: Option<String>,
    pub(super) tier: Option<u8>,
    pub(super) reason: Option<&'static str>,
    pub(super) rating: Option<u8>,
}

impl Event {
    pub(super) fn of(kind: &'static str) -> Self {
        Self { kind, ..Self::default() }
    }

    pub(super) fn message(role: &'static str, agent_id: Option<String>, text: String) -> Self {
        Self { kind: "message", role: Some(role), agent_id, text: Some(text), ..Self::default() }
    }
}

/// A conversation being drawn: its fixed traits, its clock `t` (µs) and its events.
pub(super) struct Conv<'a> {
    pub(super) cid: String,
    pub(super) offset: FixedOffset,
    pub(super) channel: ChannelInfo<'a>,
    pub(super) topic: &'static Topic,
    pub(super) mood: Mood,
    pub(super) lang: Lang,
    pub(super) t: i64,
    pub(super) seq: u32,
    pub(super) events: Vec<Event>,
    pub(super) bot_resolved: bool,
}

impl Conv<'_> {
    pub(super) fn emit(&mut self, t: i64, mut ev: Event) {
        self.seq += 1;
        ev.seq = self.seq;
        ev.t = t;
        self.events.push(ev);
    }
}

/// The wire form of an event; field order = key order (`event_id`, `conversation_id`, `ts`,
/// `type`, then the rest as the Python writes them).
#[derive(Serialize)]
pub(super) struct Wire<'a> {
    pub(super) event_id: &'a str,
    pub(super) conversation_id: &'a str,
    pub(super) ts: Ts,
    #[serde(rename = "type")]
    pub(super) kind: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(super) channel: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(super) customer_id: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(super) lang: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(super) role: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(super) agent_id: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(super) text: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(super) tier: Option<u8>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(super) reason: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(super) rating: Option<u8>,
}

/// The two wire forms of `ts`.
#[derive(Serialize)]
#[serde(untagged)]
pub(super) enum Ts {
    Millis(i64),
    Text(String),
}

pub(super) fn encode(conv: &Conv<'_>, ev: &Event, ts: Ts) -> Result<String, GenerateError> {
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
pub(super) struct Gen {
    pub(super) rng: ChaCha8Rng,
    /// The stream personal data is drawn from (apart, so that the other draws stay the same).
    pii: ChaCha8Rng,
    pii_fraction: f64,
    /// Spans of personal data planted.
    pub(super) planted: u64,
    /// `start` in µs since the epoch.
    pub(super) start: i64,
    /// Cumulative hour weights over all days (Python `cum_hours`).
    pub(super) cum_hours: Vec<f64>,
}

impl Gen {
    pub(super) fn new(cfg: &GeneratorConfig) -> Self {
        let mut total = 0.0;
        let mut cum_hours = Vec::with_capacity(cfg.days as usize * 24);
        for _ in 0..cfg.days {
            for w in HOUR_WEIGHT {
                total += w;
                cum_hours.push(total);
            }
        }
        Self {
            rng: ChaCha8Rng::seed_from_u64(cfg.seed),
            pii: ChaCha8Rng::seed_from_u64(cfg.seed ^ 0x5049_4900_0000_0000),
            pii_fraction: cfg.pii_fraction,
            planted: 0,
            start: cfg.start.timestamp_micros(),
            cum_hours,
        }
    }

    /// Uniform in [0, 1).
    pub(super) fn unit(&mut self) -> f64 {
        self.rng.random::<f64>()
    }

    /// Uniform in [a, b) (Python `uniform`).
    pub(super) fn uniform(&mut self, a: f64, b: f64) -> f64 {
        a + (b - a) * self.unit()
    }

    /// Uniform integer in lo..=hi (Python `randint`).
    pub(super) fn int(&mut self, lo: u64, hi: u64) -> u64 {
        self.rng.random_range(lo..=hi)
    }

    /// Uniform index below `len`, which must be positive (Python `randrange`).
    pub(super) fn index(&mut self, len: usize) -> usize {
        self.rng.random_range(0..len)
    }

    /// A uniform element of `items`, which is never empty (see the invariant of `vocab`).
    pub(super) fn pick<'t, T>(&mut self, items: &'t [T]) -> &'t T {
        &items[self.index(items.len())]
    }

    /// Index of an element drawn by weight (Python `choices`: bisect over the cumulative weights).
    pub(super) fn weighted<T>(&mut self, items: &[T], weight: impl Fn(&T) -> f64) -> usize {
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
    pub(super) fn gauss(&mut self, mean: f64, sd: f64) -> f64 {
        let z: f64 = StandardNormal.sample(&mut self.rng);
        mean + sd * z
    }

    /// Start of a regular conversation: an hour drawn by the diurnal weights, then uniform in it.
    pub(super) fn start_time(&mut self) -> i64 {
        let total = self.cum_hours.last().copied().unwrap_or(0.0);
        let r = self.unit() * total;
        let hour = self.cum_hours.partition_point(|&c| c < r).min(self.cum_hours.len().saturating_sub(1));
        let offset = self.unit() * 3600.0;
        after(self.start.saturating_add(hour as i64 * HOUR_US), offset)
    }

    /// `ts` of a line: 20% epoch milliseconds, else RFC 3339 with milliseconds at `offset`.
    pub(super) fn ts(&mut self, t: i64, offset: FixedOffset) -> Result<Ts, GenerateError> {
        if self.unit() < 0.2 {
            return Ok(Ts::Millis(t.div_euclid(1000)));
        }
        let utc = DateTime::<Utc>::from_timestamp_micros(t)
            .ok_or_else(|| invalid("start", "generated times leave the representable time range"))?;
        Ok(Ts::Text(utc.with_timezone(&offset).to_rfc3339_opts(SecondsFormat::Millis, false)))
    }

    /// `template` with `{n}`, `{order}`, `{item}`, `{a}` filled in (all four always drawn).
    pub(super) fn fill(&mut self, template: &str, lang: Lang) -> String {
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
    pub(super) fn customer_text(&mut self, topic: &Topic, mood: Mood, lang: Lang) -> String {
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
    pub(super) fn conversation<'a>(&mut self, spec: ConvSpec<'a>) -> Conv<'a> {
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
    pub(super) fn open(&mut self, c: &mut Conv<'_>) {
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
    pub(super) fn customer_says(&mut self, c: &mut Conv<'_>, t: i64, texts: Texts) {
        let mut text = (*self.pick(texts.get(c.lang))).to_owned();
        if self.pii.random::<f64>() < self.pii_fraction {
            text.push_str(&self.personal_data(c.lang));
            self.planted += 1;
        }
        c.emit(t, Event::message("customer", None, text));
    }

    /// A sentence with one piece of personal data, as customers add them to a follow-up.
    fn personal_data(&mut self, lang: Lang) -> String {
        let r = &mut self.pii;
        let digits = |r: &mut ChaCha8Rng, n: usize| -> String {
            (0..n).map(|_| char::from(b'0' + r.random_range(0..10u8))).collect()
        };
        let kind = r.random_range(0..4u8);
        let zh = lang == Lang::Zh;
        match kind {
            0 if zh => format!("，我的手机号是1{}{}", r.random_range(3..10u8), digits(r, 9)),
            0 => format!(" You can call me at +1 ({}) 555-{}", r.random_range(201..990u16), digits(r, 4)),
            1 => {
                let user = format!(
                    "{}{}",
                    ["wang.li", "jchen", "mei_zhang", "alex.k"][r.random_range(0..4)],
                    digits(r, 3)
                );
                let host = ["qq.com", "163.com", "example.com", "mail.example.org"][r.random_range(0..4)];
                if zh { format!("，邮箱{user}@{host}") } else { format!(" my email is {user}@{host}") }
            }
            2 => {
                // area 110101, a birth date in 1960..2005, sequence, then the check character
                let body = format!(
                    "110101{}{:02}{:02}{}",
                    r.random_range(1960..2006u16),
                    r.random_range(1..13u8),
                    r.random_range(1..29u8),
                    digits(r, 3)
                );
                let id = format!("{body}{}", char::from(crate::pii::id_check_char(body.as_bytes())));
                if zh { format!("，身份证号{id}") } else { format!(" my ID number is {id}") }
            }
            _ => {
                let body = format!("62{}", digits(r, 13));
                let card = format!("{body}{}", char::from(crate::pii::luhn_check_digit(body.as_bytes())));
                let grouped: Vec<&str> = (0..4).map(|i| &card[i * 4..i * 4 + 4]).collect();
                if zh {
                    format!("，扣款卡号{}", grouped.join(" "))
                } else {
                    format!(" charged to card {}", grouped.join(" "))
                }
            }
        }
    }

    /// An agent or expert message by `agent_id`, at the conversation's clock.
    pub(super) fn staff_says(&mut self, c: &mut Conv<'_>, role: &'static str, agent_id: String) {
        let template = *self.pick(AGENT.get(c.lang));
        let text = self.fill(template, c.lang);
        c.emit(c.t, Event::message(role, Some(agent_id), text));
    }

    /// The bot answers; it resolves the conversation or hands it off. True if handed off.
    pub(super) fn bot_turn(&mut self, c: &mut Conv<'_>) -> bool {
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
    pub(super) fn human_turn(&mut self, c: &mut Conv<'_>) {
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
    pub(super) fn after_turns(&mut self, c: &mut Conv<'_>) {
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
