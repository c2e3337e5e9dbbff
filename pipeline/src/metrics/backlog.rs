//! The backlog: conversations waiting for a human, per group, as intervals `[a, b)` from a
//! handoff to the human reply (or resolution, closure, or idle expiry). A conversation is in the
//! backlog at a window's end `E` when `a < E <= b`; the oldest wait at `E` is `E - min a` over
//! those. Intervals are kept by end, so the ones that can still matter are found first.

use super::Group;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// Waiting intervals per group: (end, start) -> multiplicity.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Backlog {
    waits: BTreeMap<Group, BTreeMap<(i64, i64), i64>>,
    /// Intervals ending before this are forgotten (no window that can still change sees them).
    horizon: i64,
}

impl Backlog {
    /// Adds (`sign` 1) or retracts (`sign` −1) the interval `[a, b)` under `group`. Intervals
    /// ending before the horizon are ignored both ways.
    pub fn apply(&mut self, group: &Group, a: i64, b: i64, sign: i64) {
        if b <= a || b < self.horizon {
            return;
        }
        let set = self.waits.entry(group.clone()).or_default();
        let n = set.entry((b, a)).or_default();
        *n += sign;
        if *n == 0 {
            set.remove(&(b, a));
        }
        if set.is_empty() {
            self.waits.remove(group);
        }
    }

    /// (conversations waiting, oldest wait in ms) under `group` at instant `end`.
    pub fn at(&self, group: &Group, end: i64) -> (i64, i64) {
        let Some(set) = self.waits.get(group) else { return (0, 0) };
        let mut count = 0;
        let mut oldest = i64::MAX;
        for (&(_, a), &n) in set.range((end, i64::MIN)..) {
            if a < end {
                count += n;
                oldest = oldest.min(a);
            }
        }
        (count, if count > 0 { end - oldest } else { 0 })
    }

    /// The groups with any interval.
    pub fn groups(&self) -> impl Iterator<Item = &Group> {
        self.waits.keys()
    }

    /// Forgets intervals ending before `horizon`.
    pub fn prune(&mut self, horizon: i64) {
        if horizon <= self.horizon {
            return;
        }
        self.horizon = horizon;
        for set in self.waits.values_mut() {
            while set.first_key_value().is_some_and(|(&(b, _), _)| b < horizon) {
                set.pop_first();
            }
        }
        self.waits.retain(|_, s| !s.is_empty());
    }

    /// Intervals held.
    #[cfg(test)]
    pub fn len(&self) -> usize {
        self.waits.values().map(BTreeMap::len).sum()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::metrics::Dimension;

    #[test]
    fn counts_conversations_waiting_at_an_instant_and_the_oldest_wait() {
        let g: Group = (Dimension::Channel, "web".into());
        let mut b = Backlog::default();
        b.apply(&g, 10, 50, 1);
        b.apply(&g, 20, 30, 1);
        b.apply(&g, 40, 45, 1);
        assert_eq!(b.at(&g, 10), (0, 0), "not yet waiting at its own start");
        assert_eq!(b.at(&g, 30), (2, 20), "the reply at 30 ends the wait just after the instant");
        assert_eq!(b.at(&g, 31), (1, 21));
        b.apply(&g, 20, 30, -1);
        assert_eq!(b.at(&g, 30), (1, 20));
        b.prune(46);
        assert_eq!(b.len(), 1);
        b.apply(&g, 40, 45, -1); // below the horizon: ignored
        assert_eq!(b.at(&g, 50), (1, 40));
    }
}
