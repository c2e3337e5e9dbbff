//! Topics in the stream. Each conversation's ticket text (its first `messages` customer
//! messages) is assigned to the most likely topic of the current model as it arrives. The model is
//! refitted in event time: first once `min_tickets` tickets are in (then the tickets of the
//! conversations still open are assigned too), then every `refit_every` of event time on the
//! tickets of the last `window` (the newest `max_fit_tickets`), and also whenever the tickets in
//! hand have doubled since the last fit while fewer than `max_fit_tickets` were used, so the
//! first, small model is soon replaced. While the window fills, a refit starts from scratch;
//! after that it runs EM from the previous topics and keeps their k, so that topics persist
//! (and costs a few passes over the tickets instead of a full fit). Topic ids stay stable across
//! refits: each new topic takes the id of the previous model's topic whose term-space centroid is
//! most similar (cosine ≥ `match_threshold`, one-to-one, best pairs first); a topic without a match
//! gets a new id and is flagged *emerging*. A ticket keeps the topic (and model version) it was
//! assigned; refits do not rewrite history.

use super::model::{FitConfig, TopicModel};
use super::tfidf::VocabularyLimits;
use crate::{Error, Result};
use serde::{Deserialize, Serialize};
use std::collections::{HashMap, VecDeque};
use std::sync::Arc;
use std::time::Duration;

/// `[topics]`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct TopicsConfig {
    /// Assign topics and refit the model. Default true.
    pub enabled: bool,
    /// Number of topics; chosen by silhouette over `k_range` at each fit when absent.
    pub k: Option<usize>,
    /// Range of k tried when choosing.
    pub k_range: (usize, usize),
    /// A ticket's text: its first this many customer messages. Default 1.
    pub messages: usize,
    /// Event time between refits. Default 6 h.
    #[serde(with = "humantime_serde")]
    pub refit_every: Duration,
    /// Refits use the tickets of this much recent event time. Default 24 h.
    #[serde(with = "humantime_serde")]
    pub window: Duration,
    /// The first fit waits for this many tickets. Default 200.
    pub min_tickets: usize,
    /// A fit uses at most this many tickets (the newest). Default 5,000.
    pub max_fit_tickets: usize,
    /// Cosine similarity of term-space centroids for a new topic to keep an old topic's id.
    pub match_threshold: f32,
    /// Topics with their own window rows and Prometheus series (the largest); the rest are
    /// `other`. Default 10.
    pub top: usize,
    /// LSA dimensions. Default 100.
    pub dims: usize,
    /// Character bigrams of Chinese text as extra tokens. Default true.
    pub char_bigrams: bool,
}

impl Default for TopicsConfig {
    fn default() -> Self {
        TopicsConfig {
            enabled: true,
            k: None,
            k_range: (4, 40),
            messages: 1,
            refit_every: Duration::from_secs(6 * 3600),
            window: Duration::from_secs(24 * 3600),
            min_tickets: 200,
            max_fit_tickets: 5000,
            match_threshold: 0.5,
            top: 10,
            dims: 100,
            char_bigrams: true,
        }
    }
}

impl TopicsConfig {
    /// Checks the values, naming the field at fault.
    pub fn validate(&self) -> Result<()> {
        let checks = [
            ("topics.messages", self.messages >= 1, "must be at least 1"),
            ("topics.k", self.k.is_none_or(|k| k >= 2), "must be at least 2"),
            (
                "topics.k_range",
                self.k_range.0 >= 2 && self.k_range.0 <= self.k_range.1,
                "must be [low, high] with 2 <= low <= high",
            ),
            ("topics.refit_every", !self.refit_every.is_zero(), "must be positive"),
            ("topics.window", !self.window.is_zero(), "must be positive"),
            ("topics.min_tickets", self.min_tickets >= 10, "must be at least 10"),
            (
                "topics.max_fit_tickets",
                self.max_fit_tickets >= self.min_tickets,
                "must be at least topics.min_tickets",
            ),
            ("topics.match_threshold", (0.0..=1.0).contains(&self.match_threshold), "must be within [0, 1]"),
            ("topics.dims", self.dims >= 2, "must be at least 2"),
        ];
        match checks.into_iter().find(|c| !c.1) {
            Some((field, _, why)) => Err(Error::config(field, why)),
            None => Ok(()),
        }
    }

    fn fit_config(&self) -> FitConfig {
        FitConfig {
            k: self.k,
            k_range: self.k_range,
            dims: self.dims,
            char_bigrams: self.char_bigrams,
            vocabulary: VocabularyLimits::default(),
            ..FitConfig::default()
        }
    }
}

/// The topic a ticket was assigned.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TopicTag {
    /// Stable topic id.
    pub id: u32,
    /// Its label (top terms) in the model that assigned it.
    pub label: Arc<str>,
    /// The model version that assigned it.
    pub version: u32,
    /// The window and Prometheus group: the id when it is among the `top` topics, else `other`.
    pub group: Arc<str>,
}

/// One topic of a fitted model (a row of the `topics` table).
#[derive(Debug, Clone, PartialEq)]
pub struct TopicRow {
    /// Model version (1, 2, ...).
    pub model_version: u32,
    /// Event time (watermark) of the fit.
    pub fitted_at: i64,
    /// Stable id.
    pub topic_id: u32,
    /// Top terms.
    pub terms: Vec<String>,
    /// Tickets of the fit in it.
    pub size: u64,
    /// Its share of the fit's tickets.
    pub share: f64,
    /// New in this version (no previous topic matched).
    pub emerging: bool,
    /// Similarity to the previous topic whose id it kept.
    pub matched_similarity: Option<f32>,
    /// Among the `top` topics (its own window rows and series).
    pub top: bool,
}

/// What a refit produced.
#[derive(Debug, Clone)]
pub struct Refit {
    /// The new model's topics.
    pub rows: Vec<TopicRow>,
    /// The first model: the waiting tickets of open conversations to assign now.
    pub backlog: Vec<(Arc<str>, TopicTag)>,
    /// Where the previous model's topics went: (old id, new id, share of the old topic's
    /// tickets of the fit that the new model gives the new id).
    pub transitions: Vec<(u32, u32, f64)>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
struct Ticket {
    ts: i64,
    conversation: Arc<str>,
    text: String,
    messages: usize,
}

/// The topic state of the stream.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct TopicOperator {
    config: TopicsConfig,
    model: Option<TopicModel>,
    version: u32,
    /// Stable id of each topic of the current model, by index.
    ids: Vec<u32>,
    /// The group of each topic of the current model (id or `other`).
    groups: Vec<Arc<str>>,
    /// The label of each topic of the current model (shared by the tickets it is given to).
    labels: Vec<Arc<str>>,
    next_id: u32,
    next_refit_at: i64,
    /// Tickets the last fit used: while the window fills, a refit also comes once twice as many
    /// are in (so the first model, fitted on `min_tickets`, is soon replaced by better ones).
    #[serde(default)]
    fitted_on: usize,
    /// Tickets by arrival, within `window` of event time.
    recent: VecDeque<Ticket>,
    /// Tickets dropped from the front of `recent` so far (numbers tickets: front = `popped`).
    popped: u64,
    /// The ticket of each conversation in `recent`: conversation -> ticket number.
    tickets: HashMap<Arc<str>, u64>,
}

/// The group of topics outside the top ones.
pub const OTHER: &str = "other";

impl TopicOperator {
    /// An operator with no model yet.
    pub fn new(config: &TopicsConfig) -> Self {
        TopicOperator {
            config: config.clone(),
            model: None,
            version: 0,
            ids: Vec::new(),
            groups: Vec::new(),
            labels: Vec::new(),
            next_id: 1,
            next_refit_at: i64::MIN,
            fitted_on: 0,
            recent: VecDeque::new(),
            popped: 0,
            tickets: HashMap::new(),
        }
    }

    /// The settings the state was built with.
    pub fn config(&self) -> &TopicsConfig {
        &self.config
    }

    /// Takes over changed settings (they apply from the next ticket and refit on).
    pub fn set_config(&mut self, config: &TopicsConfig) {
        self.config = config.clone();
    }

    /// The current model, if fitted.
    pub fn model(&self) -> Option<&TopicModel> {
        self.model.as_ref()
    }

    /// The current model version (0 before the first fit).
    pub fn version(&self) -> u32 {
        self.version
    }

    /// Tickets kept for the next refit.
    pub fn recent_tickets(&self) -> usize {
        self.recent.len()
    }

    /// Rebuilds what is not serialised (after a restore).
    pub fn restore(&mut self) {
        if let Some(m) = &mut self.model {
            m.reindex();
        }
    }

    /// The label terms of topic `id` in the current model (empty when it has none).
    pub fn terms_of(&self, id: u32) -> Vec<String> {
        self.ids
            .iter()
            .position(|&i| i == id)
            .and_then(|index| Some(self.model.as_ref()?.topics.get(index)?.terms.clone()))
            .unwrap_or_default()
    }

    fn tag(&self, index: usize) -> TopicTag {
        TopicTag {
            id: self.ids[index],
            label: self.labels[index].clone(),
            version: self.version,
            group: self.groups[index].clone(),
        }
    }

    /// A customer message of `conversation` at `ts`: starts or extends its ticket (up to
    /// `messages` messages) and returns the ticket's topic when a model exists and knows a word
    /// of it; `None` once the ticket is complete (its topic stands).
    pub fn on_customer_message(&mut self, conversation: &str, ts: i64, text: &str) -> Option<TopicTag> {
        let known = self.tickets.get(conversation).and_then(|&n| n.checked_sub(self.popped));
        let j = match known.map(|j| j as usize).filter(|&j| j < self.recent.len()) {
            Some(j) if &*self.recent[j].conversation == conversation => {
                let t = &mut self.recent[j];
                if t.messages >= self.config.messages {
                    return None; // complete: its topic stands
                }
                t.messages += 1;
                t.text.push('\n');
                t.text.push_str(text);
                j
            }
            _ => {
                let conversation: Arc<str> = Arc::from(conversation);
                self.tickets.insert(conversation.clone(), self.popped + self.recent.len() as u64);
                self.recent.push_back(Ticket { ts, conversation, text: text.to_string(), messages: 1 });
                self.recent.len() - 1
            }
        };
        let (index, _) = self.model.as_ref()?.assign(&self.recent[j].text)?;
        Some(self.tag(index))
    }

    /// Drops tickets older than the window before `watermark`.
    fn expire(&mut self, watermark: i64) {
        let horizon = watermark.saturating_sub(crate::time::millis(self.config.window));
        while self.recent.front().is_some_and(|t| t.ts < horizon) {
            if let Some(t) = self.recent.pop_front() {
                if self.tickets.get(&t.conversation) == Some(&self.popped) {
                    self.tickets.remove(&t.conversation);
                }
                self.popped += 1;
            }
        }
    }

    /// Refits when due at `watermark`: the first time once `min_tickets` tickets are in, then
    /// every `refit_every`. `open` says whether a conversation is still open (the first model
    /// assigns the waiting tickets of those).
    pub fn maybe_refit(&mut self, watermark: i64, open: &dyn Fn(&str) -> bool) -> Result<Option<Refit>> {
        if crate::time::finite(watermark).is_none() {
            return Ok(None);
        }
        let first = self.model.is_none();
        let growing =
            !first && self.fitted_on < self.config.max_fit_tickets && self.recent.len() >= 2 * self.fitted_on;
        if first && self.recent.len() < self.config.min_tickets
            || !first && !growing && watermark < self.next_refit_at
        {
            return Ok(None);
        }
        self.expire(watermark);
        if self.recent.len() < self.config.min_tickets {
            self.next_refit_at = watermark.saturating_add(crate::time::millis(self.config.refit_every));
            return Ok(None);
        }
        let skip = self.recent.len().saturating_sub(self.config.max_fit_tickets);
        let texts: Vec<String> = self.recent.iter().skip(skip).map(|t| t.text.clone()).collect();
        // while the window is still filling, a refit on half as many tickets again starts from
        // scratch (a model fitted on a few hundred tickets is a poor start); after that each refit
        // starts from the previous topics (EM only), so that they persist: fresh fits at every
        // refit were measured, ids churned and NMI against the generator's topics fell (0.65 vs
        // 0.69 at k = 32)
        let filling = self.fitted_on < self.config.max_fit_tickets && 2 * texts.len() >= 3 * self.fitted_on;
        let previous = if filling { None } else { self.model.as_ref() };
        self.fitted_on = texts.len();
        let fitted = match TopicModel::refit(&texts, &self.config.fit_config(), previous, &|_, _| {}) {
            Ok(f) => f,
            Err(e) => {
                // too few distinct words yet: try again at the next refit
                tracing::warn!("topic refit skipped: {e}");
                self.next_refit_at = watermark.saturating_add(crate::time::millis(self.config.refit_every));
                return Ok(None);
            }
        };
        tracing::debug!("topic refit on {} tickets: {:?} ({:?})", texts.len(), fitted.start, fitted.stages);
        let model = fitted.model;
        let (ids, similarity, emerging) = self.match_ids(&model);
        let total = fitted.assignments.iter().filter(|a| a.is_some()).count().max(1);
        let mut by_size: Vec<usize> = (0..model.k()).collect();
        by_size.sort_by_key(|&i| (std::cmp::Reverse(model.topics[i].size), ids[i]));
        // the top topics, sticky: one that was top stays top while it is among the 2 × top
        // largest, so the set of series and window groups changes only when sizes really shift
        let top: Vec<bool> = {
            let n = self.config.top;
            let was_top = |i: usize| self.groups.iter().any(|g| **g == *ids[i].to_string());
            let mut t = vec![false; model.k()];
            let mut taken = 0;
            for &i in by_size.iter().take(2 * n) {
                if taken < n && was_top(i) {
                    t[i] = true;
                    taken += 1;
                }
            }
            for &i in &by_size {
                if taken < n && !t[i] {
                    t[i] = true;
                    taken += 1;
                }
            }
            t
        };
        let transitions = self.transitions(&texts, &fitted.assignments, &ids);
        self.groups = (0..model.k())
            .map(|i| if top[i] { Arc::from(ids[i].to_string()) } else { Arc::from(OTHER) })
            .collect();
        self.labels = model.topics.iter().map(|t| Arc::from(t.label())).collect();
        self.version += 1;
        self.ids = ids;
        let rows = (0..model.k())
            .map(|i| TopicRow {
                model_version: self.version,
                fitted_at: watermark,
                topic_id: self.ids[i],
                terms: model.topics[i].terms.clone(),
                size: model.topics[i].size as u64,
                share: model.topics[i].size as f64 / total as f64,
                emerging: emerging[i],
                matched_similarity: similarity[i],
                top: top[i],
            })
            .collect();
        let mut backlog = Vec::new();
        if first {
            // every waiting ticket of an open conversation, also those older than the fit's
            // newest `max_fit_tickets` (a first fit can come late: a partition read far ahead)
            for (j, t) in self.recent.iter().enumerate() {
                if !open(&t.conversation) {
                    continue;
                }
                let index = match j.checked_sub(skip) {
                    Some(k) => fitted.assignments.get(k).copied().flatten(),
                    None => model.assign(&t.text).map(|(i, _)| i),
                };
                if let Some(i) = index {
                    backlog.push((t.conversation.clone(), self.tag(i)));
                }
            }
        }
        self.model = Some(model);
        self.next_refit_at = watermark.saturating_add(crate::time::millis(self.config.refit_every));
        Ok(Some(Refit { rows, backlog, transitions }))
    }

    /// Where the current model's topics go in a new one: each fit ticket's topic under both.
    fn transitions(
        &self,
        texts: &[String],
        assignments: &[Option<usize>],
        new_ids: &[u32],
    ) -> Vec<(u32, u32, f64)> {
        let Some(old) = &self.model else { return Vec::new() };
        let mut pairs: std::collections::BTreeMap<(u32, u32), f64> = Default::default();
        let mut per_old: HashMap<u32, f64> = HashMap::new();
        for (text, a) in texts.iter().zip(assignments) {
            if let (Some((o, _)), Some(n)) = (old.assign(text), a) {
                let (o, n) = (self.ids[o], new_ids[*n]);
                *pairs.entry((o, n)).or_default() += 1.0;
                *per_old.entry(o).or_default() += 1.0;
            }
        }
        pairs.into_iter().map(|((o, n), c)| (o, n, c / per_old[&o])).collect()
    }

    /// Stable ids for a new model's topics: (ids, similarity to the matched old topic, emerging).
    fn match_ids(&mut self, new: &TopicModel) -> (Vec<u32>, Vec<Option<f32>>, Vec<bool>) {
        let k = new.k();
        let mut ids = vec![0u32; k];
        let mut similarity = vec![None; k];
        let mut taken = vec![false; k];
        if let Some(old) = &self.model {
            let old_centroids: Vec<HashMap<&str, f32>> = old
                .topics
                .iter()
                .map(|t| t.signature.iter().map(|(term, w)| (term.as_str(), *w)).collect())
                .collect();
            let new_centroids: Vec<&Vec<(String, f32)>> = new.topics.iter().map(|t| &t.signature).collect();
            let mut pairs: Vec<(f32, usize, usize)> = Vec::new();
            for (i, n) in new_centroids.iter().enumerate() {
                for (j, o) in old_centroids.iter().enumerate() {
                    let s: f32 = n.iter().filter_map(|(term, w)| o.get(term.as_str()).map(|v| v * w)).sum();
                    if s >= self.config.match_threshold {
                        pairs.push((s, i, j));
                    }
                }
            }
            pairs.sort_by(|a, b| b.0.total_cmp(&a.0).then(a.1.cmp(&b.1)).then(a.2.cmp(&b.2)));
            let mut old_taken = vec![false; old.k()];
            for (s, i, j) in pairs {
                if taken[i] || old_taken[j] {
                    continue;
                }
                taken[i] = true;
                old_taken[j] = true;
                ids[i] = self.ids[j];
                similarity[i] = Some(s);
            }
        }
        let first = self.model.is_none();
        let mut emerging = vec![false; k];
        for i in 0..k {
            if !taken[i] {
                ids[i] = self.next_id;
                self.next_id += 1;
                emerging[i] = !first;
            }
        }
        (ids, similarity, emerging)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::{Rng, SeedableRng};

    /// A ticket of topic `t` (each topic has its own words, plus shared filler).
    fn ticket(rng: &mut rand_chacha::ChaCha8Rng, t: usize) -> String {
        const TOPICS: [&[&str]; 5] = [
            &["battery", "overheating", "hot", "charging", "charger", "swollen"],
            &["refund", "money", "returned", "reimburse", "credited", "chargeback"],
            &["login", "password", "locked", "account", "reset", "verification"],
            &["delivery", "parcel", "courier", "tracking", "shipped", "package"],
            &["livestream", "permission", "streaming", "host", "broadcast", "studio"],
        ];
        const FILLER: [&str; 6] = ["please", "help", "today", "order", "urgent", "phone"];
        let mut words: Vec<&str> = (0..3).map(|_| TOPICS[t][rng.random_range(0..6)]).collect();
        words.extend((0..2).map(|_| FILLER[rng.random_range(0..6)]));
        words.join(" ")
    }

    #[test]
    fn ids_stay_stable_across_refits_and_a_new_topic_emerges_with_a_new_id() {
        let config = TopicsConfig {
            k: Some(4),
            min_tickets: 100,
            max_fit_tickets: 1000,
            refit_every: Duration::from_secs(3600),
            dims: 16,
            ..TopicsConfig::default()
        };
        let mut op = TopicOperator::new(&config);
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(3);
        let hour = 3_600_000i64;
        let mut rows_by_version: Vec<Vec<TopicRow>> = Vec::new();
        let mut n = 0u64;
        // five hours of the first four topics, a refit every hour
        for h in 0..5 {
            for _ in 0..200 {
                let id: Arc<str> = Arc::from(format!("c{n}"));
                n += 1;
                op.on_customer_message(&id, h * hour + (n as i64 % 1000), &ticket(&mut rng, n as usize % 4));
            }
            if let Some(r) = op.maybe_refit((h + 1) * hour, &|_| true).unwrap() {
                rows_by_version.push(r.rows);
            }
        }
        assert!(rows_by_version.len() >= 4, "{} fits", rows_by_version.len());
        let ids = |rows: &[TopicRow]| {
            let mut v: Vec<u32> = rows.iter().map(|r| r.topic_id).collect();
            v.sort_unstable();
            v
        };
        for rows in &rows_by_version[1..] {
            assert_eq!(ids(rows), ids(&rows_by_version[0]), "same ids after each refit");
            assert!(rows.iter().all(|r| !r.emerging && r.matched_similarity.is_some_and(|s| s > 0.8)));
        }
        // each id keeps its meaning: most of its label terms
        let first_terms: HashMap<u32, &Vec<String>> =
            rows_by_version[0].iter().map(|r| (r.topic_id, &r.terms)).collect();
        for r in rows_by_version.last().unwrap() {
            let common = r.terms.iter().filter(|t| first_terms[&r.topic_id].contains(t)).count();
            assert!(common >= 3, "{:?} vs {:?}", r.terms, first_terms[&r.topic_id]);
        }
        // a new kind of ticket comes (a fifth of them): with k = 5 a topic about it emerges
        // under a new id, the others keep theirs
        op.set_config(&TopicsConfig { k: Some(5), ..config });
        for _ in 0..500 {
            let id: Arc<str> = Arc::from(format!("c{n}"));
            n += 1;
            let t = n as usize % 5;
            op.on_customer_message(&id, 5 * hour + (n as i64 % 1000), &ticket(&mut rng, t));
        }
        let r = op.maybe_refit(6 * hour, &|_| true).unwrap().unwrap();
        let emerging: Vec<&TopicRow> = r.rows.iter().filter(|r| r.emerging).collect();
        assert_eq!(emerging.len(), 1, "{:?}", r.rows);
        assert!(
            emerging[0].topic_id > 4
                && emerging[0]
                    .terms
                    .iter()
                    .any(|t| t == "livestream" || t == "streaming" || t == "broadcast")
        );
        // a new ticket of it is assigned that id
        let id: Arc<str> = Arc::from("new");
        let tag = op.on_customer_message(&id, 6 * hour, "livestream permission for my studio").unwrap();
        assert_eq!(tag.id, emerging[0].topic_id);
    }

    #[test]
    fn the_model_survives_a_checkpoint() {
        let config = TopicsConfig { k: Some(4), min_tickets: 100, dims: 16, ..TopicsConfig::default() };
        let mut op = TopicOperator::new(&config);
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(7);
        for n in 0..200 {
            let id: Arc<str> = Arc::from(format!("c{n}"));
            op.on_customer_message(&id, n, &ticket(&mut rng, n as usize % 4));
        }
        op.maybe_refit(1000, &|_| false).unwrap().unwrap();
        let mut restored: TopicOperator = postcard::from_bytes(&postcard::to_allocvec(&op).unwrap()).unwrap();
        restored.restore();
        for (i, text) in
            ["battery overheating", "refund money", "password reset", "parcel tracking"].iter().enumerate()
        {
            let id: Arc<str> = Arc::from(format!("new{i}"));
            assert_eq!(
                restored.on_customer_message(&id, 2000, text),
                op.on_customer_message(&id, 2000, text)
            );
        }
        assert_eq!(restored.version(), 1);
        // the same ticket is not assigned twice
        assert_eq!(restored.on_customer_message(&Arc::from("new0"), 2001, "refund"), None);
    }

    #[test]
    fn a_ticket_is_its_first_messages_and_keeps_its_topic() {
        let config =
            TopicsConfig { k: Some(4), min_tickets: 100, dims: 16, messages: 2, ..TopicsConfig::default() };
        let mut op = TopicOperator::new(&config);
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(5);
        for n in 0..200 {
            let id: Arc<str> = Arc::from(format!("c{n}"));
            op.on_customer_message(&id, n, &ticket(&mut rng, n as usize % 4));
        }
        let refit = op.maybe_refit(1000, &|id: &str| id == "c0").unwrap().unwrap();
        assert_eq!(
            refit.backlog.len(),
            1,
            "the first model assigns the waiting tickets of open conversations"
        );
        let c: Arc<str> = Arc::from("x");
        let first = op.on_customer_message(&c, 2000, "my parcel delivery").unwrap();
        let second = op.on_customer_message(&c, 2001, "the courier tracking says shipped").unwrap();
        assert_eq!(first.id, second.id);
        assert_eq!(
            op.on_customer_message(&c, 2002, "refund money now"),
            None,
            "two messages make the ticket"
        );
    }
}
