//! The global stage's windows: each input partition's task aggregates its own share of every
//! window (a [`super::WindowOperator`] per task, closing at the partition's event time) and emits
//! it, revision by revision, as a *partial*; [`WindowMerge`] keeps the latest partial of each
//! partition and emits the merged window once the global watermark (the slowest active
//! partition's) has passed its close. A partial arriving after that (an idle partition catching
//! up, a late event corrected in a task) changes the merged window, which is emitted again with
//! the next revision.
//!
//! Keeping the *latest* partial per partition, instead of adding deltas, makes the merge
//! idempotent: a partial offered twice (a task replaying from its checkpoint after a crash or a
//! rebalance) changes nothing, and the latest one wins.

use super::{Aggregate, ClosedWindow, Group, WindowId, WindowSpec};
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, BTreeSet};

/// One window and group: the latest partial of each partition, and what was emitted.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
struct Merged {
    parts: BTreeMap<i32, Aggregate>,
    /// The revision last emitted (0: not yet).
    revision: u32,
    /// What that revision held.
    emitted: Aggregate,
}

impl Merged {
    fn aggregate(&self) -> Aggregate {
        let mut a = Aggregate::default();
        self.parts.values().for_each(|p| a.merge(p));
        a
    }
}

/// Merges the partial windows of every partition (see the module doc).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct WindowMerge {
    specs: Vec<WindowSpec>,
    lateness_ms: i64,
    retention_ms: i64,
    /// Windows not emitted yet.
    pending: BTreeMap<WindowId, BTreeMap<Group, Merged>>,
    /// Emitted windows kept for corrections, within the correction horizon.
    emitted: BTreeMap<WindowId, BTreeMap<Group, Merged>>,
    /// Emitted windows whose partials changed since.
    dirty: BTreeSet<(WindowId, Group)>,
    watermark: i64,
}

impl WindowMerge {
    /// Merges windows of `specs`, closing `lateness_ms` after their end and kept `retention_ms`
    /// longer for corrections (the settings of the tasks' window operators).
    pub fn new(specs: Vec<WindowSpec>, lateness_ms: i64, retention_ms: i64) -> Self {
        WindowMerge {
            specs,
            lateness_ms,
            retention_ms,
            pending: BTreeMap::new(),
            emitted: BTreeMap::new(),
            dirty: BTreeSet::new(),
            watermark: crate::time::MIN_WATERMARK,
        }
    }

    /// The window specs.
    pub fn specs(&self) -> &[WindowSpec] {
        &self.specs
    }

    /// Allowed lateness, ms.
    pub fn lateness_ms(&self) -> i64 {
        self.lateness_ms
    }

    /// Windows (per group) waiting for the global watermark.
    pub fn pending_windows(&self) -> usize {
        self.pending.values().map(BTreeMap::len).sum()
    }

    /// Partition `partition`'s task emitted `w`, a revision of its share of the window. A
    /// window past the correction horizon is ignored (its task refuses such changes before).
    pub fn offer(&mut self, partition: i32, w: ClosedWindow) {
        let Some(spec) = self.specs.iter().position(|s| *s == w.spec) else { return };
        let close_at = w.end.saturating_add(self.lateness_ms);
        let id = WindowId { close_at, spec: spec as u8, start: w.start };
        if let Some(groups) = self.emitted.get_mut(&id) {
            let m = groups.entry(w.group.clone()).or_default();
            m.parts.insert(partition, w.aggregate);
            self.dirty.insert((id, w.group));
        } else if close_at.saturating_add(self.retention_ms) > self.watermark
            || self.watermark == crate::time::MAX_WATERMARK
        {
            let m = self.pending.entry(id).or_default().entry(w.group).or_default();
            m.parts.insert(partition, w.aggregate);
        }
    }

    /// [`WindowMerge::offer`] for each of `windows`, from partition `partition`'s task.
    pub fn offer_all(&mut self, partition: i32, windows: impl IntoIterator<Item = ClosedWindow>) {
        windows.into_iter().for_each(|w| self.offer(partition, w));
    }

    /// Moves the global watermark and returns the windows it closes (revision 1), oldest first,
    /// groups sorted; forgets emitted windows past the correction horizon.
    pub fn close(&mut self, watermark: i64) -> Vec<ClosedWindow> {
        self.watermark = self.watermark.max(watermark);
        let wm = self.watermark;
        let mut out = Vec::new();
        while let Some(entry) = self.pending.first_entry() {
            let id = *entry.key();
            if id.close_at > wm {
                break;
            }
            let mut groups = entry.remove();
            for (group, m) in &mut groups {
                let aggregate = m.aggregate();
                out.push(self.row(id, group.clone(), 1, aggregate.clone()));
                (m.revision, m.emitted) = (1, aggregate);
            }
            // a drain (watermark at the maximum) keeps everything; `rest_at` then forgets
            if id.close_at.saturating_add(self.retention_ms) > wm || wm == crate::time::MAX_WATERMARK {
                self.emitted.insert(id, groups);
            }
        }
        if wm < crate::time::MAX_WATERMARK {
            self.forget(wm);
        }
        out
    }

    /// The emitted windows whose merged aggregate changed, each with its next revision and what
    /// the previous revision held, in window and group order. A change that cancelled out is not
    /// emitted again.
    pub fn corrections(&mut self) -> Vec<(ClosedWindow, Aggregate)> {
        let mut out = Vec::with_capacity(self.dirty.len());
        for (id, group) in std::mem::take(&mut self.dirty) {
            let Some(m) = self.emitted.get_mut(&id).and_then(|w| w.get_mut(&group)) else { continue };
            let aggregate = m.aggregate();
            if aggregate == m.emitted {
                continue;
            }
            m.revision += 1;
            let previous = std::mem::replace(&mut m.emitted, aggregate.clone());
            let revision = m.revision;
            out.push((self.row(id, group, revision, aggregate), previous));
        }
        out
    }

    /// After a drain: later partials are judged against `watermark`.
    pub fn rest_at(&mut self, watermark: i64) {
        self.watermark = watermark;
        self.forget(watermark);
    }

    fn forget(&mut self, wm: i64) {
        while let Some(entry) = self.emitted.first_entry() {
            if entry.key().close_at.saturating_add(self.retention_ms) > wm {
                break;
            }
            entry.remove();
        }
        let horizon = self.retention_ms;
        self.dirty.retain(|(id, _)| id.close_at.saturating_add(horizon) > wm);
    }

    fn row(&self, id: WindowId, group: Group, revision: u32, aggregate: Aggregate) -> ClosedWindow {
        let spec = self.specs[usize::from(id.spec)];
        ClosedWindow { spec, start: id.start, end: id.start + spec.width_ms, group, revision, aggregate }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::metrics::{Dimension, Item, Measure, WindowOperator};
    use std::sync::Arc;

    const MIN: i64 = 60_000;

    fn spec() -> WindowSpec {
        WindowSpec { width_ms: 5 * MIN, slide_ms: 5 * MIN }
    }

    fn item(at: i64, measure: Measure, value: i64) -> Item {
        Item { at, measure, value, tier: 1 }
    }

    fn web() -> Vec<Group> {
        vec![(Dimension::Channel, Arc::from("web"))]
    }

    /// Items of one stream, by partition; every item is applied in one operator, and in the
    /// operator of its partition.
    fn streams() -> Vec<(i32, Item)> {
        let mut out = Vec::new();
        for i in 0..60 {
            let p = (i * 7 % 3) as i32;
            let at = i * 37_000;
            out.push((p, item(at, Measure::Started, 1)));
            out.push((p, item(at + 5_000, Measure::FirstResponse, 1_000 + i * 900)));
            out.push((p, item(at + 9_000, Measure::Message, 1)));
        }
        out
    }

    #[test]
    fn merged_partials_equal_one_operator_over_every_partition() {
        let (lateness, retention) = (MIN, 30 * MIN);
        let mut whole = WindowOperator::new(vec![spec()], lateness, retention);
        let mut tasks: BTreeMap<i32, WindowOperator> = BTreeMap::new();
        let mut merge = WindowMerge::new(vec![spec()], lateness, retention);
        let (mut expected, mut merged) = (Vec::new(), Vec::new());
        for (p, it) in streams() {
            whole.apply(&web(), &it, 1);
            let t = tasks.entry(p).or_insert_with(|| WindowOperator::new(vec![spec()], lateness, retention));
            t.apply(&web(), &it, 1);
            // every partition is at the same event time here: the global watermark is it
            let wm = it.at;
            expected.extend(whole.close(wm, wm));
            for (q, t) in &mut tasks {
                t.close(wm, wm).into_iter().for_each(|w| merge.offer(*q, w));
            }
            merged.extend(merge.close(wm));
        }
        expected.extend(whole.close(crate::time::MAX_WATERMARK, 60 * 37_000));
        for (q, t) in &mut tasks {
            t.close(crate::time::MAX_WATERMARK, 60 * 37_000).into_iter().for_each(|w| merge.offer(*q, w));
        }
        merged.extend(merge.close(crate::time::MAX_WATERMARK));
        assert!(expected.len() > 10);
        assert_eq!(merged, expected);
    }

    #[test]
    fn a_late_partial_corrects_the_merged_window_and_a_replayed_one_changes_nothing() {
        let mut merge = WindowMerge::new(vec![spec()], MIN, 30 * MIN);
        let window = |n: i64, revision: u32| {
            let mut aggregate = Aggregate::default();
            aggregate.apply(&item(0, Measure::Started, 1), n);
            ClosedWindow {
                spec: spec(),
                start: 0,
                end: 5 * MIN,
                group: web()[0].clone(),
                revision,
                aggregate,
            }
        };
        merge.offer(0, window(2, 1));
        assert!(merge.close(6 * MIN - 1).is_empty(), "not closed before the lateness passed");
        let first = merge.close(6 * MIN);
        assert_eq!(first.len(), 1);
        assert_eq!((first[0].revision, first[0].aggregate.conversations_started), (1, 2));
        // partition 1 was idle: its share comes after the global close
        merge.offer(1, window(3, 1));
        let fixed = merge.corrections();
        assert_eq!(fixed.len(), 1);
        assert_eq!((fixed[0].0.revision, fixed[0].0.aggregate.conversations_started), (2, 5));
        assert_eq!(fixed[0].1.conversations_started, 2, "the previous revision");
        // partition 1's task replays from its checkpoint: the same partial again
        merge.offer(1, window(3, 1));
        assert!(merge.corrections().is_empty());
        // past the correction horizon the window is forgotten
        merge.close(6 * MIN + 30 * MIN);
        merge.offer(0, window(9, 2));
        assert!(merge.corrections().is_empty());
        assert_eq!(merge.pending_windows(), 0);
    }
}
