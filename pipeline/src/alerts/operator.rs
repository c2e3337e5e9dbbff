//! Spike alerting in the stream. Counts come from two places: the closed tumbling windows by
//! channel (conversations started, SLA clocks breached and met, customer messages by sentiment)
//! and every topic assignment of a conversation (conversations started by topic and by channel ×
//! topic, for every topic of the model, not only the top ones that get window rows: a surging
//! topic is usually a small one). They are summed into buckets of `alerts.every`; once the
//! watermark (less the allowed lateness) passes a bucket's end, the last `alerts.window` of
//! buckets is one observation per series for the [`Detector`]. Each alert event carries, for a
//! topic series, the topic's label terms and sample conversation ids of the window.

use super::config::AlertsConfig;
use super::detector::{AlertEvent, Detector, Kind, Observation, Score, SeriesKey, State};
use super::feed::{Feed, series_of};
use crate::metrics::{Aggregate, Dimension};
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, VecDeque};
use std::sync::Arc;

/// A conversation's topic changed (a first assignment, or a ticket that grew and moved).
#[derive(Debug, Clone, PartialEq)]
pub struct TopicMove {
    /// The conversation.
    pub conversation: Arc<str>,
    /// Its channel.
    pub channel: Arc<str>,
    /// When it started (the bucket it counts in).
    pub started_at: i64,
    /// Its previous topic id.
    pub from: Option<u32>,
    /// Its topic id now.
    pub to: u32,
}

/// One alert event as written to the `alerts` table, the alerts topic and the webhook.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AlertRow {
    /// The detector's event.
    #[serde(flatten)]
    pub event: AlertEvent,
    /// End of the window that caused it (its evaluation time in event time), epoch ms.
    pub window_end: i64,
    /// The channel of a channel or channel × topic series.
    pub channel: Option<String>,
    /// The topic id of a topic or channel × topic series.
    pub topic_id: Option<u32>,
    /// The topic's label terms when the alert began.
    pub terms: Vec<String>,
    /// Sample conversations of the spiking series (topic series).
    pub samples: Vec<String>,
    /// Labels of the alert's `ticketpulse_alerts_firing` gauge (kind, dimension, group,
    /// severity, terms) as set when it fired: on the firing and the resolved event.
    #[serde(skip, default)]
    pub gauge: Option<[String; 5]>,
}

impl AlertRow {
    /// `<alert_id>:<state>`: identifies this event (a repeat after a crash has the same).
    pub fn event_id(&self) -> String {
        format!("{}:{}", self.event.alert_id, state_name(self.event.state))
    }
}

/// The name of a lifecycle state in outputs.
pub fn state_name(state: State) -> &'static str {
    match state {
        State::Pending => "pending",
        State::Cancelled => "cancelled",
        State::Firing => "firing",
        State::Resolved => "resolved",
    }
}

/// One evaluation of the detection window.
#[derive(Debug, Clone, PartialEq)]
pub struct Evaluation {
    /// The window evaluated: start and end, epoch ms.
    pub window_start: i64,
    /// Its end.
    pub window_end: i64,
    /// Every series' score.
    pub scores: Vec<Score>,
    /// The lifecycle events.
    pub alerts: Vec<AlertRow>,
}

/// What an alert in progress keeps for its later events.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
struct Context {
    terms: Vec<String>,
    samples: Vec<String>,
    /// The labels of its `ticketpulse_alerts_firing` gauge, once firing.
    #[serde(default)]
    gauge: Option<[String; 5]>,
}

/// The alerting state of the stream.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct AlertOperator {
    config: AlertsConfig,
    feed: Feed,
    /// The last completed buckets (start, observations), oldest first: one window's worth.
    recent: VecDeque<(i64, BTreeMap<SeriesKey, Observation>)>,
    /// Sample conversations per bucket and topic series (buckets still open or in `recent`).
    samples: BTreeMap<i64, BTreeMap<SeriesKey, Vec<Arc<str>>>>,
    detector: Detector,
    /// Alerts begun and not yet over, by id.
    active: BTreeMap<String, Context>,
}

fn volume(dimension: Dimension, group: String) -> SeriesKey {
    SeriesKey { kind: Kind::Volume, dimension: dimension.as_str().to_string(), group }
}

impl AlertOperator {
    /// An operator without history; `config` was validated.
    pub fn new(config: &AlertsConfig) -> Self {
        AlertOperator {
            config: config.clone(),
            feed: Feed::new(config.every_ms()),
            recent: VecDeque::new(),
            samples: BTreeMap::new(),
            detector: Detector::new(config.every_ms()),
            active: BTreeMap::new(),
        }
    }

    /// The settings the state was built with.
    pub fn config(&self) -> &AlertsConfig {
        &self.config
    }

    /// Takes over changed settings; the detection window and its step shape the state, so
    /// they must stay (the caller checks).
    pub fn set_config(&mut self, config: &AlertsConfig) {
        self.config = config.clone();
    }

    /// A tumbling window row by `dimension` / `group` closed (`previous`: the revision it
    /// corrects). Only channel rows count here; topic counts come from [`Self::on_topic_move`].
    pub fn on_window(
        &mut self,
        start: i64,
        dimension: Dimension,
        group: &str,
        now: &Aggregate,
        previous: Option<&Aggregate>,
    ) {
        if !self.config.enabled || dimension != Dimension::Channel {
            return;
        }
        let before: BTreeMap<SeriesKey, Observation> =
            previous.map(|p| series_of(dimension, group, p).into_iter().collect()).unwrap_or_default();
        for (key, o) in series_of(dimension, group, now) {
            let (count, total) = match before.get(&key) {
                Some(b) => (o.count - b.count, o.total.map(|t| t - b.total.unwrap_or(0.0))),
                None => (o.count, o.total),
            };
            self.feed.add(start, key, Observation { count, total });
        }
    }

    /// A conversation's topic changed: it moves from its old topic's series to the new one's.
    pub fn on_topic_move(&mut self, m: &TopicMove) {
        if !self.config.enabled || m.from == Some(m.to) {
            return;
        }
        let bucket = m.started_at.div_euclid(self.config.every_ms()) * self.config.every_ms();
        let keys = |id: u32| {
            [
                volume(Dimension::Topic, id.to_string()),
                volume(Dimension::ChannelTopic, format!("{}/{id}", m.channel)),
            ]
        };
        if let Some(from) = m.from {
            for key in keys(from) {
                if self.feed.add(m.started_at, key.clone(), Observation { count: -1.0, total: None })
                    && let Some(ids) = self.samples.get_mut(&bucket).and_then(|b| b.get_mut(&key))
                {
                    ids.retain(|id| *id != m.conversation);
                }
            }
        }
        let limit = self.config.samples;
        for key in keys(m.to) {
            if self.feed.add(m.started_at, key.clone(), Observation { count: 1.0, total: None }) {
                let ids = self.samples.entry(bucket).or_default().entry(key).or_default();
                if ids.len() < limit {
                    ids.push(m.conversation.clone());
                }
            }
        }
    }

    /// A topic model refit moved tickets between topics (`transitions`: old id, new id, share of
    /// the old topic's tickets): the topic series' histories and the counts in hand are
    /// re-expressed in the new topics, so that a refit is not taken for a spike.
    pub fn on_refit(&mut self, transitions: &[(u32, u32, f64)]) {
        if transitions.is_empty() {
            return;
        }
        let mut to: BTreeMap<u32, Vec<(u32, f64)>> = BTreeMap::new();
        for &(o, n, w) in transitions {
            to.entry(o).or_default().push((n, w));
        }
        let targets = |key: &SeriesKey| -> Option<Vec<(SeriesKey, f64)>> {
            let (prefix, id) = match key.dimension.as_str() {
                "topic" => ("", key.group.as_str()),
                "channel_topic" => key.group.rsplit_once('/')?,
                _ => return None,
            };
            let id: u32 = id.parse().ok()?;
            let group = |n: u32| if prefix.is_empty() { n.to_string() } else { format!("{prefix}/{n}") };
            let list = to.get(&id).map(|v| v.as_slice()).unwrap_or_default();
            Some(list.iter().map(|&(n, w)| (SeriesKey { group: group(n), ..key.clone() }, w)).collect())
        };
        self.detector.remap(&targets);
        let remap_counts = |counts: &mut BTreeMap<SeriesKey, Observation>| {
            let mut moved: BTreeMap<SeriesKey, Observation> = BTreeMap::new();
            counts.retain(|key, o| match targets(key) {
                None => true,
                Some(list) => {
                    for (k, w) in list {
                        moved.entry(k).or_insert(Observation::ZERO).add(o, w);
                    }
                    false
                }
            });
            for (k, o) in moved {
                counts.entry(k).or_insert(Observation::ZERO).add(&o, 1.0);
            }
        };
        for (_, counts) in &mut self.recent {
            remap_counts(counts);
        }
        self.feed.remap(&remap_counts);
    }

    /// The bucket boundary at or after `t`.
    fn ceil(&self, t: i64) -> i64 {
        let every = self.config.every_ms();
        t.div_euclid(every) * every + if t.rem_euclid(every) == 0 { 0 } else { every }
    }

    /// Completes the buckets ending by `until` (the watermark less the allowed lateness; at the
    /// end of input, the end of the bucket of the last event) and evaluates a window at each.
    /// `terms` gives a topic id's label terms in the current model.
    pub fn advance(&mut self, until: i64, terms: &dyn Fn(u32) -> Vec<String>) -> Vec<Evaluation> {
        if !self.config.enabled {
            return Vec::new();
        }
        let steps = self.config.steps();
        let every = self.config.every_ms();
        let mut out = Vec::new();
        for (start, observations) in self.feed.complete(until) {
            self.recent.push_back((start, observations));
            while self.recent.len() > steps
                || self.recent.front().is_some_and(|(s, _)| *s <= start - steps as i64 * every)
            {
                self.recent.pop_front();
            }
            let oldest = self.recent.front().map_or(start, |r| r.0);
            self.samples.retain(|&b, _| b >= oldest);
            if self.recent.len() < steps {
                continue; // the first window is not complete yet
            }
            let window_end = start + every;
            let window_start = window_end - steps as i64 * every;
            let mut sums: BTreeMap<SeriesKey, Observation> = BTreeMap::new();
            for (_, obs) in &self.recent {
                for (key, o) in obs {
                    sums.entry(key.clone()).or_insert(Observation::ZERO).add(o, 1.0);
                }
            }
            // a count that corrections took below zero is zero; a rate needs a trial
            sums.retain(|_, o| o.total.is_none_or(|t| t > 0.0));
            for o in sums.values_mut() {
                o.count = o.count.max(0.0);
            }
            let rules = &self.config;
            let (scores, events) =
                self.detector.observe(window_start, &sums, &self.config.baseline, &|k| rules.rule(k).clone());
            for s in &scores {
                tracing::trace!(
                    target: "ticketpulse::alerts::scores",
                    "{} {} {} {} observed {:.3} expected {:.3} score {:.2}",
                    crate::time::rfc3339(window_start),
                    s.series.kind.as_str(),
                    s.series.dimension,
                    s.series.group,
                    s.observed,
                    s.expected,
                    s.score
                );
            }
            let alerts = events.into_iter().map(|e| self.row(e, window_end, terms)).collect();
            out.push(Evaluation { window_start, window_end, scores, alerts });
        }
        out
    }

    /// The end of input: completes every bucket up to the one holding `last_event`.
    pub fn drain(&mut self, last_event: i64, terms: &dyn Fn(u32) -> Vec<String>) -> Vec<Evaluation> {
        let until = self.ceil(last_event.saturating_add(1));
        self.advance(until, terms)
    }

    /// The row of `e`, with the topic's terms and samples for a topic series.
    fn row(&mut self, e: AlertEvent, window_end: i64, terms: &dyn Fn(u32) -> Vec<String>) -> AlertRow {
        let (channel, topic_id) = match Dimension::parse(&e.series.dimension) {
            Some(Dimension::Channel) => (Some(e.series.group.clone()), None),
            Some(Dimension::Topic) => (None, e.series.group.parse().ok()),
            Some(Dimension::ChannelTopic) => match e.series.group.rsplit_once('/') {
                Some((c, t)) => (Some(c.to_string()), t.parse().ok()),
                None => (None, None),
            },
            _ => (None, None),
        };
        let known = self.active.get(&e.alert_id).cloned();
        let fresh = known.is_none();
        let mut context = known.unwrap_or_else(|| Context {
            terms: topic_id.map(terms).unwrap_or_default(),
            samples: Vec::new(),
            gauge: None,
        });
        if fresh || e.state == State::Firing {
            // the samples of the window that began it, then of the one that made it fire
            context.samples = self.window_samples(&e.series);
        }
        if e.state == State::Firing {
            let s = &e.series;
            let labels = [s.kind.as_str(), &s.dimension, &s.group, &e.severity, &context.terms.join(" ")];
            context.gauge = Some(labels.map(str::to_string));
        }
        match e.state {
            State::Pending | State::Firing => {
                self.active.insert(e.alert_id.clone(), context.clone());
            }
            State::Cancelled | State::Resolved => {
                self.active.remove(&e.alert_id);
            }
        }
        let gauge = context.gauge.filter(|_| matches!(e.state, State::Firing | State::Resolved));
        AlertRow {
            event: e,
            window_end,
            channel,
            topic_id,
            terms: context.terms,
            samples: context.samples,
            gauge,
        }
    }

    /// Sample conversations of `series` in the current window, newest buckets first.
    fn window_samples(&self, series: &SeriesKey) -> Vec<String> {
        let mut out: Vec<String> = Vec::new();
        for (_, by_series) in self.samples.iter().rev() {
            for id in by_series.get(series).into_iter().flatten() {
                if out.len() < self.config.samples && !out.iter().any(|o| **o == **id) {
                    out.push(id.to_string());
                }
            }
        }
        out
    }

    /// Alerts begun and not over.
    pub fn active(&self) -> usize {
        self.active.len()
    }

    /// Every firing alert's gauge labels (to export them again after a restart).
    pub fn firing_gauges(&self) -> impl Iterator<Item = &[String; 5]> {
        self.active.values().filter_map(|c| c.gauge.as_ref())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::alerts::Kind;

    const MIN: i64 = 60_000;
    const DAY: i64 = 86_400_000;

    fn operator() -> AlertOperator {
        AlertOperator::new(&AlertsConfig::default())
    }

    fn assign(op: &mut AlertOperator, id: &str, channel: &str, at: i64, from: Option<u32>, to: u32) {
        op.on_topic_move(&TopicMove {
            conversation: Arc::from(id),
            channel: Arc::from(channel),
            started_at: at,
            from,
            to,
        });
    }

    fn key(dimension: &str, group: &str) -> SeriesKey {
        SeriesKey { kind: Kind::Volume, dimension: dimension.into(), group: group.into() }
    }

    /// Three conversations of topic 7 on weibo per 5 minutes for `days`, then `extra` more per 5
    /// minutes from `spike` for 45 minutes; topic 7's label is `battery hot`.
    fn run(op: &mut AlertOperator, days: i64, spike: Option<(i64, usize)>) -> Vec<Evaluation> {
        let mut out = Vec::new();
        let mut n = 0;
        for step in 0..days * 288 {
            let at = step * 5 * MIN;
            let extra = spike.filter(|(s, _)| (*s..*s + 45 * MIN).contains(&at)).map_or(0, |s| s.1);
            for i in 0..3 + extra {
                n += 1;
                assign(op, &format!("c{n}"), "weibo", at + i as i64, None, 7);
            }
            let terms = |id: u32| if id == 7 { vec!["battery".into(), "hot".into()] } else { vec![] };
            out.extend(op.advance(at + 5 * MIN, &terms));
        }
        out
    }

    #[test]
    fn topic_assignments_count_per_topic_and_channel_and_a_move_moves_the_count() {
        let mut op = operator();
        assign(&mut op, "a", "weibo", 0, None, 7);
        assign(&mut op, "b", "weibo", MIN, None, 7);
        assign(&mut op, "c", "app", 2 * MIN, None, 7);
        // b's ticket grew and went to topic 9
        assign(&mut op, "b", "weibo", MIN, Some(7), 9);
        let e = op.advance(30 * MIN, &|_| Vec::new());
        assert_eq!(e.len(), 1, "the first full 30-minute window");
        let observed = |k: &SeriesKey| e[0].scores.iter().find(|s| s.series == *k).map(|s| s.observed);
        assert_eq!(observed(&key("channel_topic", "weibo/7")), Some(1.0));
        assert_eq!(observed(&key("channel_topic", "weibo/9")), Some(1.0));
        assert_eq!(observed(&key("channel_topic", "app/7")), Some(1.0));
        assert_eq!(observed(&key("topic", "7")), Some(2.0));
        assert_eq!((e[0].window_start, e[0].window_end), (0, 30 * MIN));
        // the next evaluation slides by five minutes
        let e = op.advance(35 * MIN, &|_| Vec::new());
        assert_eq!((e[0].window_start, e[0].window_end), (5 * MIN, 35 * MIN));
    }

    #[test]
    fn a_topic_spike_fires_with_its_terms_and_sample_conversations() {
        let mut op = operator();
        let spike = 2 * DAY + 20 * 60 * MIN;
        let evaluations = run(&mut op, 3, Some((spike, 6)));
        let firing: Vec<&AlertRow> = evaluations
            .iter()
            .flat_map(|e| &e.alerts)
            .filter(|a| a.event.state == State::Firing && a.event.series.dimension == "channel_topic")
            .collect();
        assert_eq!(firing.len(), 1, "{firing:#?}");
        let a = firing[0];
        assert_eq!((a.channel.as_deref(), a.topic_id), (Some("weibo"), Some(7)));
        assert_eq!(a.terms, ["battery", "hot"]);
        assert_eq!(a.samples.len(), 5);
        assert!(a.window_end > spike && a.window_end <= spike + 30 * MIN, "{a:?}");
        // the same alert resolves, carrying the same terms
        let resolved = evaluations
            .iter()
            .flat_map(|e| &e.alerts)
            .find(|r| r.event.alert_id == a.event.alert_id && r.event.state == State::Resolved)
            .expect("resolved");
        assert_eq!(resolved.terms, a.terms);
        assert_eq!(op.active(), 0);
    }

    #[test]
    fn a_refit_that_renames_a_topic_carries_its_history_over() {
        let mut op = operator();
        run(&mut op, 2, None);
        let at = 2 * DAY;
        let before = op.detector.expect(&key("channel_topic", "weibo/7"), at, &op.config.baseline).unwrap();
        // the refit gives topic 7's tickets to topic 12 (three quarters) and 13 (a quarter)
        op.on_refit(&[(7, 12, 0.75), (7, 13, 0.25)]);
        let moved = op.detector.expect(&key("channel_topic", "weibo/12"), at, &op.config.baseline).unwrap();
        assert!((moved - 0.75 * before).abs() < 0.1 * before, "{before} -> {moved}");
        let rest = op.detector.expect(&key("channel_topic", "weibo/13"), at, &op.config.baseline).unwrap();
        assert!((rest - 0.25 * before).abs() < 0.1 * before, "{before} -> {rest}");
        // and the renamed series runs on without alerting
        let mut fired = 0;
        let mut n = 0;
        for step in 0..288 {
            let at = 2 * DAY + step * 5 * MIN;
            for i in 0..3 {
                n += 1;
                assign(
                    &mut op,
                    &format!("r{n}"),
                    "weibo",
                    at + i,
                    None,
                    if i == 0 && n % 4 == 0 { 13 } else { 12 },
                );
            }
            let e = op.advance(at, &|_| Vec::new());
            fired += e.iter().flat_map(|e| &e.alerts).filter(|a| a.event.state == State::Firing).count();
        }
        assert_eq!(fired, 0);
    }

    #[test]
    fn channel_windows_feed_rates_and_a_correction_adds_only_its_difference() {
        let mut op = operator();
        let a = Aggregate {
            conversations_started: 4,
            sla_met: [3, 0, 0],
            sla_breached: [1, 0, 0],
            ..Aggregate::default()
        };
        op.on_window(0, Dimension::Channel, "email", &a, None);
        let corrected = Aggregate { conversations_started: 6, ..a.clone() };
        op.on_window(0, Dimension::Channel, "email", &corrected, Some(&a));
        // topic rows do not count here (assignments do)
        op.on_window(0, Dimension::Topic, "7", &a, None);
        let e = op.advance(30 * MIN, &|_| Vec::new());
        let get = |k: Kind, d: &str, g: &str| {
            e[0].scores
                .iter()
                .find(|s| s.series == SeriesKey { kind: k, dimension: d.into(), group: g.into() })
                .map(|s| s.observed)
        };
        assert_eq!(get(Kind::Volume, "channel", "email"), Some(6.0));
        assert_eq!(get(Kind::SlaBreachRate, "channel", "email"), Some(0.25));
        assert_eq!(get(Kind::Volume, "topic", "7"), None);
    }
}
