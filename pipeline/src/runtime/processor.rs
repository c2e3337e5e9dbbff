//! The operator chain, run synchronously on one thread. Per input partition, a task (see
//! [`TaskState`]): dedup -> partition watermark -> conversation -> the partition's share of the
//! windows; then the global stage: the watermark over every partition -> merged windows
//! ([`WindowMerge`]) -> topic model -> alerting; and the sinks. Records are handled one at a
//! time in source order; watermarks are advanced per event, so which events are late does not
//! depend on how records were batched.

use super::task::TaskState;
use crate::conversation::{Applied, ConversationRow};
use crate::metrics::{Aggregate, ClosedWindow, WindowMerge};
use crate::sink::PendingFile;
use crate::sink::dead_letter::{CONVERSATION_ENDED, DeadLetter, DeadLetterSink};
use crate::sink::parquet::{MessageRow, ParquetSink};
use crate::sink::prometheus::{WindowGauges, record_conversation, record_window};
use crate::source::{Payload, Record};
use crate::telemetry::{Telemetry, component};
use crate::time::{WatermarkTracker, window_start};
use crate::{Error, Result};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::time::{Instant, SystemTime, UNIX_EPOCH};

/// Everything a checkpoint must hold to resume exactly: a task per input partition (its
/// duplicates, conversations and share of every window, see [`TaskState`]) and the global stage
/// (the watermark over every partition, the merged windows, the topic model and alerting).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ProcessorState {
    /// An empty task with the settings the state was built with: each new partition's task
    /// starts as a copy.
    template: TaskState,
    /// The task of each partition that delivered a record.
    tasks: BTreeMap<i32, TaskState>,
    /// The global watermark: the slowest active partition's event time.
    clock: WatermarkTracker,
    windows: WindowMerge,
    topics: crate::topics::TopicOperator,
    alerts: crate::alerts::AlertOperator,
}

impl ProcessorState {
    /// Empty state for `config`.
    pub fn new(config: &crate::config::PipelineConfig) -> Self {
        let lateness = config.time.lateness_ms();
        ProcessorState {
            template: TaskState::new(config),
            tasks: BTreeMap::new(),
            clock: WatermarkTracker::new(config.time.idle_partition_timeout),
            windows: WindowMerge::new(
                config.time.window_specs(),
                lateness,
                crate::time::millis(config.conversation.idle_timeout),
            ),
            topics: crate::topics::TopicOperator::new(&config.topics),
            alerts: crate::alerts::AlertOperator::new(&config.alerts),
        }
    }

    /// Conversations held open, over every partition.
    pub fn open_conversations(&self) -> usize {
        self.tasks.values().map(|t| t.conversations.open_conversations()).sum()
    }

    /// Checks that `config` keeps the event-time settings the state was built with (they shape
    /// the open windows, timers and dedup set); takes over the ones that may change.
    pub fn adopt(&mut self, config: &crate::config::PipelineConfig) -> Result<()> {
        let human = |ms: i64| {
            humantime::format_duration(std::time::Duration::from_millis(ms.max(0) as u64)).to_string()
        };
        let specs = config.time.window_specs();
        if self.windows.specs() != specs.as_slice() {
            let show = |specs: &[crate::metrics::WindowSpec]| {
                let s: Vec<String> =
                    specs.iter().map(|s| format!("{}/{}", human(s.width_ms), human(s.slide_ms))).collect();
                s.join(", ")
            };
            return Err(Error::config(
                "time.window",
                format!(
                    "windows are {} but the checkpoint in {} was taken with {}; keep them or use a new output directory",
                    show(&specs),
                    config.output.dir.display(),
                    show(self.windows.specs())
                ),
            ));
        }
        let checks = [
            ("time.allowed_lateness", self.windows.lateness_ms(), config.time.lateness_ms()),
            (
                "conversation.idle_timeout",
                crate::time::millis(self.template.conversations.config().idle_timeout),
                crate::time::millis(config.conversation.idle_timeout),
            ),
            ("dedup.horizon", self.template.dedup.horizon_ms(), crate::time::millis(config.dedup.horizon)),
        ];
        for (field, was, now) in checks {
            if was != now {
                return Err(Error::config(
                    field,
                    format!(
                        "is {} but the checkpoint in {} was taken with {}; keep {} or use a new output directory",
                        human(now),
                        config.output.dir.display(),
                        human(was),
                        human(was)
                    ),
                ));
            }
        }
        let (was, now) = (self.template.conversations.config(), &config.conversation);
        let lifecycle = [
            ("conversation.night", was.night != now.night),
            ("conversation.business_hours", was.business_hours != now.business_hours),
            ("conversation.sla", was.sla != now.sla),
            ("conversation.angry_with_bot", was.angry_with_bot != now.angry_with_bot),
        ];
        if let Some((field, _)) = lifecycle.into_iter().find(|(_, changed)| *changed) {
            return Err(Error::config(
                field,
                format!(
                    "differs from the checkpoint in {}: the window contributions already made depend on it; keep it or use a new output directory",
                    config.output.dir.display()
                ),
            ));
        }
        self.template.conversations.compile()?;
        for task in self.tasks.values() {
            task.conversations.compile()?;
        }
        let (was, now) = (self.alerts.config(), &config.alerts);
        for (field, changed) in
            [("alerts.window", was.window != now.window), ("alerts.every", was.every != now.every)]
        {
            if changed {
                return Err(Error::config(
                    field,
                    format!(
                        "differs from the checkpoint in {}: the learned baselines are per window; keep it or use a new output directory",
                        config.output.dir.display()
                    ),
                ));
            }
        }
        self.alerts.set_config(&config.alerts);
        // topic settings shape only what comes next (assigned topics stand): take them over
        self.topics.restore();
        self.topics.set_config(&config.topics);
        self.clock.set_idle_timeout(config.time.idle_partition_timeout);
        Ok(())
    }

    /// Serialises (postcard) and compresses (zstd) the state.
    pub fn to_bytes(&self) -> Result<Vec<u8>> {
        let raw =
            postcard::to_allocvec(self).map_err(|e| Error::Runtime(format!("serialising state: {e}")))?;
        zstd::encode_all(raw.as_slice(), 3).map_err(|e| Error::io("compressing", "state", e))
    }

    /// The inverse of [`ProcessorState::to_bytes`].
    pub fn from_bytes(bytes: &[u8]) -> std::result::Result<Self, String> {
        let raw = zstd::decode_all(bytes).map_err(|e| format!("decompressing state: {e}"))?;
        postcard::from_bytes(&raw).map_err(|e| format!("decoding state: {e}"))
    }
}

/// Counts of one run, for the final summary.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RunStats {
    /// Records received from the source.
    pub records: u64,
    /// Valid, non-duplicate events.
    pub events: u64,
    /// Invalid records.
    pub invalid: u64,
    /// Duplicates dropped.
    pub duplicates: u64,
    /// Late events.
    pub late: u64,
    /// Dead letters written.
    pub dead_letters: u64,
    /// Changes to a conversation's window contributions that were refused because the window
    /// was past the correction horizon.
    pub refused_window_changes: u64,
    /// Window rows emitted again (next revision) because late data changed them.
    pub corrected_windows: u64,
    /// Conversation rows written.
    pub conversation_rows: u64,
    /// Window rows written.
    pub window_rows: u64,
    /// Signal events emitted (raised and withdrawn).
    pub signals: u64,
    /// Alert lifecycle events emitted.
    pub alert_events: u64,
    /// Alerts that fired.
    pub alerts_fired: u64,
    /// Spans of personal data masked.
    pub pii_masked: u64,
}

/// Events passing each stage within one batch.
#[derive(Debug, Default)]
struct Flow {
    decoded: u64,
    unique: u64,
    folded: u64,
}

/// The sinks the processor writes to.
#[derive(Debug)]
pub struct Outputs {
    /// The `conversations` table.
    pub conversations: ParquetSink<ConversationRow>,
    /// The `window_metrics` table.
    pub windows: ParquetSink<ClosedWindow>,
    /// The `messages` table.
    pub messages: ParquetSink<MessageRow>,
    /// The `signals` table and topic.
    pub signals: crate::sink::signals::SignalSink,
    /// The `topics` table.
    pub topics: ParquetSink<crate::topics::TopicRow>,
    /// The `alerts` table, topic and webhook outbox.
    pub alerts: crate::sink::alerts::AlertSink,
    /// The dead-letter output.
    pub dead_letter: DeadLetterSink,
}

impl Outputs {
    /// Every output as files under `dir` (dead letters as JSONL naming `origin`, no topics).
    pub fn files(dir: &std::path::Path, zstd_level: i32, origin: &str) -> Self {
        Outputs {
            conversations: ParquetSink::new(dir, zstd_level),
            windows: ParquetSink::new(dir, zstd_level),
            messages: ParquetSink::new(dir, zstd_level),
            signals: crate::sink::signals::SignalSink::new(ParquetSink::new(dir, zstd_level), None),
            topics: ParquetSink::new(dir, zstd_level),
            alerts: crate::sink::alerts::AlertSink::new(ParquetSink::new(dir, zstd_level), None, None),
            dead_letter: DeadLetterSink::File(crate::sink::dead_letter::FileDeadLetter::new(dir, origin)),
        }
    }
}

/// The operator chain with its state and sinks.
#[derive(Debug)]
pub struct Processor {
    state: ProcessorState,
    lateness_ms: i64,
    fired_at: i64,
    outputs: Outputs,
    gauges: WindowGauges,
    /// The sentiment scorer, when `sentiment.enabled`.
    scorer: Option<&'static crate::sentiment::Scorer>,
    /// `topics.enabled`.
    topics: bool,
    /// The tumbling windows spike alerting counts in.
    tumbling: Option<crate::metrics::WindowSpec>,
    /// Series whose spike gauges are exported.
    exported: std::collections::BTreeSet<crate::alerts::SeriesKey>,
    /// Masks personal data in each event and dead letter (`pii.enabled`), with its kinds' labels.
    masker: Option<(crate::pii::Masker, Vec<String>)>,
    /// Event times accepted (`limits`), and the wall clock of the batch being handled.
    bounds: crate::limits::TimeBounds,
    now_ms: i64,
    telemetry: Telemetry,
    /// Files of the checkpoint being prepared that are written already: when a later sink fails
    /// (disk full), the retry lists them once more without writing them again.
    prepared: Vec<PendingFile>,
    /// Counts so far.
    pub stats: RunStats,
    /// The Kafka partitions this instance owns, with the generation of each claim (`None`
    /// until the source first reports an assignment with claims, and for other sources).
    owned: Option<BTreeMap<i32, u64>>,
    /// The next offset of each owned partition: what was processed of it.
    positions: BTreeMap<i32, i64>,
    /// `limits.max_open_conversations`, for tasks restored from another instance.
    max_open: usize,
}

impl Processor {
    /// A processor resuming from `state`; fails if the shipped sentiment models cannot be loaded
    /// while sentiment is enabled.
    pub fn new(
        config: &crate::config::PipelineConfig,
        mut state: ProcessorState,
        outputs: Outputs,
        telemetry: Telemetry,
    ) -> Result<Self> {
        // the limit holds per partition (a task's conversations move with it)
        state.template.conversations.set_max_open(config.limits.max_open_conversations);
        for task in state.tasks.values_mut() {
            task.conversations.set_max_open(config.limits.max_open_conversations);
        }
        let scorer = match (&config.sentiment.enabled, &config.sentiment.zh_model) {
            (false, _) => None,
            (true, None) => Some(crate::sentiment::Scorer::shipped()?),
            // one custom scorer per process run: leaked so that it lives as long as the shipped one
            (true, Some(path)) => Some(&*Box::leak(Box::new(
                crate::sentiment::Scorer::with_chinese_model(path)
                    .map_err(|e| Error::config("sentiment.zh_model", e.to_string()))?,
            ))),
        };
        // alerts firing when the checkpoint was taken are firing again
        for labels in state.alerts.firing_gauges() {
            telemetry.alerts_firing.with_label_values(labels).set(1);
        }
        let masker = match config.pii.enabled {
            true => {
                let m = crate::pii::Masker::new(&config.pii)?;
                let labels = m.labels();
                for l in &labels {
                    telemetry.pii_masked.with_label_values(&[l]);
                }
                Some((m, labels))
            }
            false => None,
        };
        Ok(Processor {
            masker,
            bounds: config.limits.time_bounds()?,
            now_ms: crate::time::now_ms(),
            scorer,
            topics: config.topics.enabled,
            tumbling: state.windows.specs().iter().copied().find(|s| s.width_ms == s.slide_ms),
            exported: std::collections::BTreeSet::new(),
            fired_at: state.clock.watermark(),
            state,
            lateness_ms: config.time.lateness_ms(),
            outputs,
            gauges: WindowGauges::default(),
            telemetry,
            prepared: Vec::new(),
            stats: RunStats::default(),
            owned: None,
            positions: BTreeMap::new(),
            max_open: config.limits.max_open_conversations,
        })
    }

    /// The partitions owned, with their generations (see [`crate::runtime::handover`]).
    pub fn owned(&self) -> Option<&BTreeMap<i32, u64>> {
        self.owned.as_ref()
    }

    /// The next offset of each owned partition.
    pub fn positions(&self) -> &BTreeMap<i32, i64> {
        &self.positions
    }

    /// Whether any of `partitions` is owned.
    pub fn holds_any(&self, partitions: &[i32]) -> bool {
        self.owned.as_ref().is_some_and(|o| partitions.iter().any(|p| o.contains_key(p)))
    }

    /// The source reads exactly `partitions` now; `claims` are those just claimed (each restored
    /// from the checkpoint holding its newest state, or started empty). Partitions no longer
    /// assigned are dropped: their state is another instance's now.
    pub fn on_assigned(
        &mut self,
        partitions: &[i32],
        claims: BTreeMap<i32, crate::runtime::handover::Claim>,
        now: Instant,
    ) -> Result<()> {
        self.state.clock.assign(partitions, now);
        if claims.is_empty() && self.owned.is_none() {
            return Ok(()); // a source without claims
        }
        let owned = self.owned.get_or_insert_with(BTreeMap::new);
        owned.retain(|p, _| partitions.contains(p));
        self.state.tasks.retain(|p, _| partitions.contains(p));
        self.positions.retain(|p, _| partitions.contains(p));
        // each checkpoint restored from is decoded once
        let mut decoded = Vec::new();
        for (p, claim) in claims {
            owned.insert(p, claim.generation);
            match claim.next {
                Some(next) => self.positions.insert(p, next),
                None => self.positions.remove(&p),
            };
            let restored = match &claim.source {
                None => None,
                Some(source) => restored_task(&mut decoded, source, p)?,
            };
            match restored {
                Some(mut task) => {
                    task.conversations.set_max_open(self.max_open);
                    if let Some(max) = task.max_event_time() {
                        self.state.clock.observe(p, max, now);
                    }
                    self.state.tasks.insert(p, task);
                }
                None => {
                    self.state.tasks.remove(&p);
                }
            }
        }
        self.update_gauges();
        Ok(())
    }

    /// `partitions` were revoked (and checkpointed): their state is dropped, and records of
    /// them still in flight are ignored.
    pub fn on_revoked(&mut self, partitions: &[i32]) {
        let Some(owned) = &mut self.owned else { return };
        owned.retain(|p, _| !partitions.contains(p));
        self.state.tasks.retain(|p, _| !partitions.contains(p));
        self.positions.retain(|p, _| !partitions.contains(p));
        let held: Vec<i32> = owned.keys().copied().collect();
        self.state.clock.assign(&held, Instant::now());
        self.update_gauges();
    }

    /// Scores a customer message and writes the message's row; its sentiment for the state.
    fn message(&mut self, event: &ticketpulse_schemas::Event) -> Option<crate::sentiment::Sentiment> {
        let ticketpulse_schemas::EventKind::Message { role, text } = &event.kind else { return None };
        let scorer = self.scorer?;
        let hint = event.lang.as_deref().and_then(crate::sentiment::Lang::from_hint);
        let sentiment = (*role == ticketpulse_schemas::Role::Customer).then(|| scorer.score(text, hint));
        let lang =
            sentiment.map_or_else(|| hint.unwrap_or_else(|| crate::sentiment::detect(text)), |s| s.lang);
        self.outputs.messages.push(MessageRow {
            event_id: event.event_id.to_string(),
            conversation_id: event.conversation_id.to_string(),
            ts: event.ts_ms,
            role: *role,
            lang,
            sentiment,
            text: text.clone(),
        });
        self.telemetry.received(component::SINK_PARQUET, 1);
        sentiment
    }

    /// The sinks (to take buffered rows when the caller writes them itself, and in tests).
    pub fn outputs_mut(&mut self) -> &mut Outputs {
        &mut self.outputs
    }

    /// The current state (for checkpoints and tests).
    pub fn state(&self) -> &ProcessorState {
        &self.state
    }

    /// Handles a batch of records in order.
    pub fn on_batch(&mut self, mut records: Vec<Record>, now: Instant) -> Result<()> {
        if let Some(owned) = &self.owned {
            // read before their partition was revoked: the next owner reads them again
            records.retain(|r| match r.position {
                crate::source::Position::Kafka { partition, .. } => owned.contains_key(&partition),
                _ => true,
            });
            for r in &records {
                if let crate::source::Position::Kafka { partition, offset } = r.position {
                    self.positions.insert(partition, offset + 1);
                }
            }
        }
        let n = records.len() as u64;
        self.now_ms = crate::time::now_ms();
        self.stats.records += n;
        self.telemetry.received(component::DECODE, n);
        // per-event flow counters are summed here and published once per batch
        let mut flow = Flow::default();
        let result = records.into_iter().try_for_each(|record| self.on_record(record, now, &mut flow));
        let t = &self.telemetry;
        t.sent(component::DECODE, flow.decoded);
        t.received(component::DEDUP, flow.decoded);
        t.sent(component::DEDUP, flow.unique);
        t.received(component::CONVERSATION, flow.unique);
        t.sent(component::CONVERSATION, flow.folded);
        self.update_gauges();
        result
    }

    fn on_record(&mut self, record: Record, now: Instant, flow: &mut Flow) -> Result<()> {
        let mut event = match record.payload {
            Payload::Invalid { invalid, raw } => return self.invalid(invalid, record.position, raw),
            Payload::Event(e) => e,
        };
        if let Some(detail) = self.bounds.check(event.ts_ms, self.now_ms) {
            // a year-9999 (or 1970) event would drag the watermark or open absurd windows
            let invalid = crate::decode::Invalid::new(crate::decode::InvalidReason::OutOfRange, detail);
            return self.invalid(invalid, record.position, event.to_json().into_bytes());
        }
        flow.decoded += 1;
        let partition = record.position.partition();
        let task = self.task(partition);
        if !task.dedup.insert(&event.event_id, event.ts_ms) {
            let t = &self.telemetry;
            self.stats.duplicates += 1;
            t.duplicates.inc();
            t.error(component::DEDUP, "duplicate");
            return Ok(());
        }
        let before = task.observe(event.ts_ms);
        flow.unique += 1;
        self.state.clock.observe(partition, event.ts_ms, now);
        if event.ts_ms < before.saturating_sub(self.lateness_ms) {
            self.stats.late += 1;
            self.telemetry.late.inc();
        }
        self.mask_event(&mut event);
        let ended = self.task(partition).conversations.is_ended(&event.conversation_id);
        let sentiment = if ended { None } else { self.message(&event) };
        // conversations follow their partition's event time; a row waits for nothing but its
        // topic (see `TopicOperator`)
        let task = self.task(partition);
        let watermark = task.watermark();
        match task.conversations.apply_scored(&event, sentiment, &mut task.windows, watermark) {
            Applied::Folded { refused_window_changes, corrected_windows: _, due } => {
                self.emit_signals(partition)?;
                self.topic_of(partition, &event);
                self.stats.events += 1;
                flow.folded += 1;
                self.stats.refused_window_changes += u64::from(refused_window_changes);
                for _ in 0..refused_window_changes {
                    self.telemetry.error(component::WINDOW, "closed_window");
                }
                let task = self.task(partition);
                let mut rows = if due { task.conversations.fire(watermark) } else { Vec::new() };
                rows.extend(task.conversations.take_evicted());
                rows.into_iter().for_each(|row| self.emit_conversation(row));
            }
            Applied::AlreadyEnded => {
                self.telemetry.error(component::CONVERSATION, CONVERSATION_ENDED);
                let detail = format!(
                    "conversation {} was already written; event arrived too late",
                    event.conversation_id
                );
                let letter = DeadLetter {
                    reason: CONVERSATION_ENDED.to_string(),
                    detail,
                    position: record.position,
                    raw: event.to_json().into_bytes(),
                };
                self.dead_letter(letter)?;
            }
        }
        self.advance(Some(partition))
    }

    /// The task of `partition` (which delivered a record: it exists).
    fn task(&mut self, partition: i32) -> &mut TaskState {
        let template = &self.state.template;
        self.state.tasks.entry(partition).or_insert_with(|| template.clone())
    }

    /// Fires what the watermarks made due: when the global watermark moved, the topic model's
    /// boundaries it passed (refits, and the topics decided, which move window contributions);
    /// then the task of `partition` when its own watermark moved (its conversations that are
    /// due, its windows' partials), and when the global watermark moved, the tasks of idle
    /// partitions (their time follows it) and the global stage.
    fn advance(&mut self, partition: Option<i32>) -> Result<()> {
        let global = self.state.clock.watermark();
        if global > self.fired_at && self.topics {
            let events = self.state.topics.advance(global, self.lateness_ms);
            self.on_topic_events(events);
        }
        if let Some(p) = partition
            && let Some(task) = self.state.tasks.get(&p)
            && task.watermark() > task.fired_at
        {
            self.fire_task(p);
        }
        if global > self.fired_at {
            // a task behind the global watermark belongs to an idle partition
            let idle: Vec<i32> =
                self.state.tasks.iter_mut().filter_map(|(&p, t)| t.follow(global).then_some(p)).collect();
            idle.into_iter().for_each(|p| self.fire_task(p));
            self.fire(global)?;
        }
        Ok(())
    }

    /// Writes the conversations of partition `p`'s task that its watermark made due, closes the
    /// windows it made due (their partials go to the global merge) and expires its duplicates'
    /// ids.
    fn fire_task(&mut self, p: i32) {
        let global = self.state.clock.watermark();
        let Some(task) = self.state.tasks.get_mut(&p) else { return };
        let watermark = task.watermark();
        task.fired_at = watermark;
        task.windows.hold_until(global);
        let mut rows = task.conversations.fire(watermark);
        rows.extend(task.conversations.take_evicted());
        let merge = &mut self.state.windows;
        merge.offer_all(p, task.windows.corrections().into_iter().map(|(w, _)| w));
        merge.offer_all(p, task.windows.close(watermark, watermark));
        task.dedup.expire(watermark);
        rows.into_iter().for_each(|row| self.emit_conversation(row));
    }

    /// Registers a customer message with the topic model (the conversation is told when its
    /// topic waits for a decision) and applies a decision made at once.
    fn topic_of(&mut self, partition: i32, event: &ticketpulse_schemas::Event) {
        let ticketpulse_schemas::EventKind::Message { role: ticketpulse_schemas::Role::Customer, text } =
            &event.kind
        else {
            return;
        };
        if !self.topics {
            return;
        }
        let id = event.conversation_id.as_str();
        match self.state.topics.on_customer_message(id, event.ts_ms, text) {
            crate::topics::Registered::No => {}
            crate::topics::Registered::Pending(k) => {
                if let Some(task) = self.state.tasks.get_mut(&partition) {
                    task.conversations.expect_topic(id, k);
                }
            }
            crate::topics::Registered::Decided(d) => self.decide(Some(partition), d),
        }
    }

    /// Applies a topic decision to its conversation (in `partition`'s task, or wherever it is).
    fn decide(&mut self, partition: Option<i32>, d: crate::topics::Decision) {
        let state = &mut self.state;
        let task = match partition {
            Some(p) => state.tasks.get_mut(&p),
            None => state.tasks.values_mut().find(|t| t.conversations.holds(&d.conversation)),
        };
        let Some(task) = task else { return };
        if let Some(m) = task.conversations.decide_topic(&d.conversation, d.k, d.tag, &mut task.windows) {
            state.alerts.on_topic_move(&m);
        }
    }

    /// Handles what passing the topic model's boundaries produced, in order: a refit's topics
    /// (written, exported, and re-expressed in alerting), and decisions. Afterwards the tasks'
    /// corrected partials go to the merge, and parked conversations that got their topic are
    /// written.
    fn on_topic_events(&mut self, events: Vec<crate::topics::TopicEvent>) {
        if events.is_empty() {
            return;
        }
        for event in events {
            match event {
                crate::topics::TopicEvent::Refit(refit) => self.on_refit(refit),
                crate::topics::TopicEvent::Decided(d) => self.decide(None, d),
            }
        }
        let mut rows = Vec::new();
        let merge = &mut self.state.windows;
        for (&p, task) in &mut self.state.tasks {
            merge.offer_all(p, task.windows.corrections().into_iter().map(|(w, _)| w));
            rows.extend(task.conversations.take_evicted());
        }
        rows.into_iter().for_each(|row| self.emit_conversation(row));
    }

    /// A refit: its topics are written and exported, and alerting re-expresses its series.
    fn on_refit(&mut self, refit: crate::topics::Refit) {
        let t = &self.telemetry;
        t.topic_info.reset();
        for row in refit.rows.iter().filter(|r| r.top) {
            t.topic_info.with_label_values(&[&row.topic_id.to_string(), &row.terms.join(" ")]).set(1);
        }
        t.topic_model_version.set(i64::from(self.state.topics.version()));
        self.state.alerts.on_refit(&refit.transitions);
        for row in refit.rows {
            self.outputs.topics.push(row);
        }
    }

    fn emit_signals(&mut self, partition: i32) -> Result<()> {
        for s in self.task(partition).conversations.take_signals() {
            let labels = [s.kind.as_str(), s.action.as_str(), &*s.channel];
            self.telemetry.signals.with_label_values(&labels).inc();
            self.telemetry.received(component::SINK_PARQUET, 1);
            self.stats.signals += 1;
            self.outputs
                .signals
                .push(s)
                .inspect_err(|_| self.telemetry.error(component::SINK_PARQUET, "write"))?;
        }
        Ok(())
    }

    /// Counts an invalid record and writes its dead letter.
    fn invalid(
        &mut self,
        invalid: crate::decode::Invalid,
        position: crate::source::Position,
        raw: Vec<u8>,
    ) -> Result<()> {
        let reason = invalid.reason.as_str();
        self.stats.invalid += 1;
        self.telemetry.invalid.with_label_values(&[reason]).inc();
        self.telemetry.error(component::DECODE, reason);
        self.dead_letter(DeadLetter { reason: reason.to_string(), detail: invalid.detail, position, raw })
    }

    /// Masks personal data in the free-text fields of `event` (text, handoff reason, attrs):
    /// everything downstream (tables, topics, samples, dead letters) sees the masked text.
    fn mask_event(&mut self, event: &mut ticketpulse_schemas::Event) {
        let Some((masker, _)) = &self.masker else { return };
        let mut counts = crate::pii::Counts::default();
        match &mut event.kind {
            ticketpulse_schemas::EventKind::Message { text, .. } => {
                masker.mask_string(text, &mut counts);
            }
            ticketpulse_schemas::EventKind::Handoff { reason: Some(reason), .. } => {
                masker.mask_string(reason, &mut counts);
            }
            _ => {}
        }
        if let Some(attrs) = &mut event.attrs {
            masker.mask_string(attrs, &mut counts);
        }
        self.count_masked(&counts);
    }

    fn count_masked(&mut self, counts: &crate::pii::Counts) {
        let Some((_, labels)) = &self.masker else { return };
        for (n, label) in counts.0.iter().zip(labels) {
            if *n > 0 {
                self.telemetry.pii_masked.with_label_values(&[label]).inc_by(*n);
                self.stats.pii_masked += n;
            }
        }
    }

    fn dead_letter(&mut self, mut letter: DeadLetter) -> Result<()> {
        if let Some((masker, _)) = &self.masker {
            // the raw record and the detail (which may quote a value) are masked too
            let mut counts = crate::pii::Counts::default();
            if let std::borrow::Cow::Owned(raw) = masker.mask_bytes(&letter.raw, &mut counts) {
                letter.raw = raw;
            }
            masker.mask_string(&mut letter.detail, &mut crate::pii::Counts::default());
            self.count_masked(&counts);
        }
        self.stats.dead_letters += 1;
        self.telemetry.dead_letters.with_label_values(&[&letter.reason]).inc();
        self.telemetry.received(component::SINK_DEAD_LETTER, 1);
        self.outputs.dead_letter.push(letter)?;
        self.telemetry.sent(component::SINK_DEAD_LETTER, 1);
        Ok(())
    }

    /// The global stage at global watermark `watermark`: emits the merged windows' corrections
    /// and the windows it closes, and evaluates alerting. Corrections wait for the next watermark
    /// advance, so that how many revisions a window gets depends on the order of events only,
    /// not on how they were batched.
    fn fire(&mut self, watermark: i64) -> Result<()> {
        self.fired_at = watermark;
        self.emit_corrections();
        for w in self.state.windows.close(watermark) {
            self.emit_window(w, None);
        }
        let topics = &self.state.topics;
        let evaluations =
            self.state.alerts.advance(watermark.saturating_sub(self.lateness_ms), &|id| topics.terms_of(id));
        self.emit_evaluations(evaluations)
    }

    /// Exports the spike scores and writes the alert events of `evaluations`.
    fn emit_evaluations(&mut self, evaluations: Vec<crate::alerts::Evaluation>) -> Result<()> {
        let t = &self.telemetry;
        for e in evaluations {
            for s in &e.scores {
                let labels = [s.series.kind.as_str(), &s.series.dimension, &s.series.group];
                t.spike_score.with_label_values(&labels).set(s.score);
                t.spike_observed.with_label_values(&labels).set(s.observed);
                t.spike_expected.with_label_values(&labels).set(s.expected);
            }
            // a series the detector forgot (a topic gone for the whole history) leaves /metrics
            let scored: std::collections::BTreeSet<&crate::alerts::SeriesKey> =
                e.scores.iter().map(|s| &s.series).collect();
            self.exported.retain(|k| {
                let keep = scored.contains(k);
                if !keep {
                    let labels = [k.kind.as_str(), &k.dimension, &k.group];
                    let _ = t.spike_score.remove_label_values(&labels);
                    let _ = t.spike_observed.remove_label_values(&labels);
                    let _ = t.spike_expected.remove_label_values(&labels);
                }
                keep
            });
            for k in scored {
                if !self.exported.contains(k) {
                    self.exported.insert(k.clone());
                }
            }
            for row in e.alerts {
                let ev = &row.event;
                let state = crate::alerts::state_name(ev.state);
                t.alert_events.with_label_values(&[ev.series.kind.as_str(), state]).inc();
                let terms = row.terms.join(" ");
                match ev.state {
                    crate::alerts::State::Firing => {
                        if let Some(labels) = &row.gauge {
                            t.alerts_firing.with_label_values(labels).set(1);
                        }
                        self.stats.alerts_fired += 1;
                        tracing::warn!(
                            "alert firing: {} (observed {:.1}, expected {:.1}, score {:.1}){}",
                            ev.alert_id,
                            ev.observed,
                            ev.expected,
                            ev.score,
                            if terms.is_empty() { String::new() } else { format!(": {terms}") }
                        );
                    }
                    crate::alerts::State::Resolved => {
                        // the labels it fired with (its severity may have risen since)
                        if let Some(labels) = &row.gauge {
                            let labels: Vec<&str> = labels.iter().map(String::as_str).collect();
                            let _ = t.alerts_firing.remove_label_values(&labels);
                        }
                        tracing::info!("alert resolved: {}", ev.alert_id);
                    }
                    _ => {}
                }
                self.stats.alert_events += 1;
                t.received(component::SINK_PARQUET, 1);
                self.outputs.alerts.push(row).inspect_err(|_| t.error(component::SINK_PARQUET, "write"))?;
            }
        }
        Ok(())
    }

    /// Emits the corrected revisions of windows that late data changed.
    fn emit_corrections(&mut self) {
        for (w, previous) in self.state.windows.corrections() {
            self.stats.corrected_windows += 1;
            self.telemetry.window_corrections.inc();
            self.emit_window(w, Some(&previous));
        }
    }

    fn emit_window(&mut self, w: ClosedWindow, previous: Option<&Aggregate>) {
        if Some(w.spec) == self.tumbling {
            let a = &w.aggregate;
            self.state.alerts.on_window(w.start, w.group.0, &w.group.1, a, previous);
        }
        let t = &self.telemetry;
        t.received(component::WINDOW, 1);
        if w.spec == self.state.windows.specs()[0] {
            record_window(t, &w, previous.unwrap_or(&Aggregate::default()));
            self.gauges.show(t, &w);
        }
        t.sent(component::WINDOW, 1);
        t.received(component::SINK_PARQUET, 1);
        self.stats.window_rows += 1;
        self.outputs.windows.push(w);
    }

    fn emit_conversation(&mut self, row: ConversationRow) {
        let t = &self.telemetry;
        record_conversation(t, &row);
        t.received(component::SINK_PARQUET, 1);
        self.stats.conversation_rows += 1;
        self.outputs.conversations.push(row);
    }

    /// The source has exactly these partitions now.
    /// Nothing new arrived: re-evaluates idle partitions and fires what is due.
    pub fn on_heartbeat(&mut self, now: Instant) -> Result<()> {
        self.state.clock.tick(now);
        self.advance(None)?;
        self.update_gauges();
        Ok(())
    }

    /// The input is complete: closes every window and writes every conversation. Afterwards the
    /// watermark rests at the end of the last window drained, so a later run (more input) treats
    /// earlier events as late instead of re-opening written windows.
    pub fn drain(&mut self) -> Result<()> {
        let before = self.state.clock.watermark();
        let max = self.state.clock.max_event_time();
        let until = max.unwrap_or(before);
        // every ticket message gets its topic before the conversations and windows are written
        if self.topics {
            let events = self.state.topics.drain(until);
            self.on_topic_events(events);
        }
        // the input is complete in every partition: each task reports its backlog up to the
        // last event time of all
        let merge = &mut self.state.windows;
        for (&p, task) in &mut self.state.tasks {
            task.windows.hold_until(crate::time::MAX_WATERMARK);
            merge.offer_all(p, task.windows.corrections().into_iter().map(|(w, _)| w));
            merge.offer_all(p, task.windows.close(crate::time::MAX_WATERMARK, until));
        }
        self.emit_corrections();
        for w in self.state.windows.close(crate::time::MAX_WATERMARK) {
            self.emit_window(w, None);
        }
        let mut rows = Vec::new();
        for task in self.state.tasks.values_mut() {
            rows.extend(task.conversations.drain(until));
        }
        rows.into_iter().for_each(|row| self.emit_conversation(row));
        if let Some(m) = max {
            let topics = &self.state.topics;
            let evaluations = self.state.alerts.drain(m, &|id| topics.terms_of(id));
            self.emit_evaluations(evaluations)?;
        }
        let lateness = self.lateness_ms;
        // the latest end of a window containing the last event, plus the lateness
        let specs = self.state.windows.specs().to_vec();
        let last_end = |m: i64| {
            let ends = specs.iter().map(|s| window_start(m, s.slide_ms).saturating_add(s.width_ms));
            ends.max().unwrap_or(m).saturating_add(lateness)
        };
        for task in self.state.tasks.values_mut() {
            let rest = task.max_event_time().map_or(task.watermark(), last_end);
            task.rest_at(rest);
        }
        let rest = max.map_or(before, last_end).max(before);
        self.state.clock.rest_at(rest);
        self.state.windows.rest_at(rest);
        self.fired_at = rest;
        self.update_gauges();
        Ok(())
    }

    /// Writes every sink's buffered output as pending files and serialises the state.
    pub fn prepare(&mut self, checkpoint: &crate::sink::Stamp) -> Result<(Vec<PendingFile>, Vec<u8>)> {
        // Each sink either writes all its files (and forgets its rows) or fails keeping its rows;
        // the files written are kept here, so a retry after a failure writes each file once.
        let (t, done, o) = (&self.telemetry, &mut self.prepared, &mut self.outputs);
        let mut step = |component: &'static str, written: Result<Vec<PendingFile>>| match written {
            Ok(files) => {
                done.extend(files);
                Ok(())
            }
            Err(e) => {
                t.error(component, "write");
                Err(e)
            }
        };
        step(component::SINK_PARQUET, o.conversations.prepare(checkpoint))?;
        step(component::SINK_PARQUET, o.windows.prepare(checkpoint))?;
        step(component::SINK_PARQUET, o.messages.prepare(checkpoint))?;
        step(component::SINK_PARQUET, o.signals.prepare(checkpoint))?;
        step(component::SINK_PARQUET, o.topics.prepare(checkpoint))?;
        step(component::SINK_PARQUET, o.alerts.prepare(checkpoint))?;
        step(component::SINK_DEAD_LETTER, o.dead_letter.prepare(checkpoint))?;
        let state = self.state.to_bytes()?;
        Ok((std::mem::take(&mut self.prepared), state))
    }

    fn update_gauges(&self) {
        let t = &self.telemetry;
        let tasks = self.state.tasks.values();
        let (mut open, mut windows, mut dedup) = (0, 0, 0);
        for task in tasks {
            open += task.conversations.open_conversations();
            windows += task.windows.open_windows();
            dedup += task.dedup.len();
        }
        t.open_conversations.set(open as i64);
        t.open_windows.set((windows + self.state.windows.pending_windows()) as i64);
        t.dedup_entries.set(dedup as i64);
        let w = self.state.clock.watermark();
        if crate::time::finite(w).is_some() {
            t.watermark.set(w / 1000);
            let now_ms = SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| d.as_millis() as i64);
            t.watermark_delay.set((now_ms - w) / 1000);
        }
    }
}

/// Partition `p`'s task in the checkpoint `source`, decoding each checkpoint once (`decoded`
/// holds those decoded so far; a task taken is removed from it).
fn restored_task(
    decoded: &mut Vec<(std::sync::Arc<super::checkpoint::Recovered>, ProcessorState)>,
    source: &std::sync::Arc<super::checkpoint::Recovered>,
    p: i32,
) -> Result<Option<TaskState>> {
    let at = match decoded.iter().position(|(s, _)| std::sync::Arc::ptr_eq(s, source)) {
        Some(i) => i,
        None => {
            let state = ProcessorState::from_bytes(&source.state).map_err(|message| Error::Checkpoint {
                path: format!("checkpoint {} of instance {}", source.manifest.id, source.manifest.instance)
                    .into(),
                message,
            })?;
            decoded.push((source.clone(), state));
            decoded.len() - 1
        }
    };
    Ok(decoded[at].1.tasks.remove(&p))
}
