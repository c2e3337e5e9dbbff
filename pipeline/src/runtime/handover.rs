//! Moving a Kafka partition's state between the instances of one consumer group that share an
//! output directory (Kafka Streams' task migration, with the checkpoints as the changelog).
//!
//! - **Claim.** When the group assigns a partition to an instance, the instance finds the newest
//!   state of it among every instance's checkpoints (the highest generation, then the newest
//!   checkpoint), takes it, and claims the partition under the next generation by creating
//!   `_checkpoints/_claims/<partition>/<generation>-<instance>` (exclusive create: two claimants
//!   of one generation cannot both win). It starts reading at that checkpoint's offset, or at the
//!   beginning when no checkpoint holds the partition (nothing of it was ever output). Before
//!   that it completes the publication of every other instance's newest checkpoint, in case its
//!   owner died between the commit point and renaming its files.
//! - **Revoke.** An instance losing a partition in a rebalance checkpoints first (the rebalance
//!   waits for it), so the next owner resumes exactly where it stopped; records of it still in
//!   flight are dropped, and read again by the next owner.
//! - **Fencing.** Before each commit, an instance checks that nobody claimed its partitions under
//!   a newer generation. One that did (this instance stalled past its session timeout, and the
//!   group moved its partitions) stops without committing; a restart rejoins the group. A
//!   `.committed` marker beside a claim says that its owner has committed a checkpoint under it,
//!   which lets older instances prune the checkpoints that held the partition before.
//!
//! A killed instance's partitions are thus restored from its last checkpoint, and the output
//! stays complete and not doubled: what it wrote after that checkpoint was never committed, and
//! its restart deletes it.

use super::checkpoint::{CHECKPOINT_DIR, CheckpointStore, Recovered};
use crate::source::{PartitionHandover, SourceMessage, StopSignal};
use crate::{Error, Result};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

/// Folder of the claims, under `_checkpoints/`.
pub const CLAIMS_DIR: &str = "_claims";
const COMMITTED: &str = ".committed";

/// A partition claimed by this instance.
#[derive(Debug, Clone)]
pub struct Claim {
    /// The generation it is owned under.
    pub generation: u64,
    /// The next offset to read (`None`: from the beginning, no checkpoint holds it).
    pub next: Option<i64>,
    /// The checkpoint holding its newest state.
    pub source: Option<Arc<Recovered>>,
}

fn claims_dir(out: &Path, partition: i32) -> PathBuf {
    out.join(CHECKPOINT_DIR).join(CLAIMS_DIR).join(partition.to_string())
}

/// One claim file: its generation, its instance, and whether it is a `.committed` marker.
struct ClaimFile {
    generation: u64,
    instance: String,
    committed: bool,
    path: PathBuf,
}

/// The claim files of `partition`.
fn claims(out: &Path, partition: i32) -> Result<Vec<ClaimFile>> {
    let dir = claims_dir(out, partition);
    let entries = match std::fs::read_dir(&dir) {
        Ok(e) => e,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => return Err(Error::io("listing", &dir, e)),
    };
    let mut found = Vec::new();
    for entry in entries {
        let path = entry.map_err(|e| Error::io("listing", &dir, e))?.path();
        let name = path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
        let (name, committed) = match name.strip_suffix(COMMITTED) {
            Some(n) => (n.to_string(), true),
            None => (name, false),
        };
        if let Some((generation, instance)) = name.split_once('-')
            && let Ok(generation) = generation.parse()
        {
            found.push(ClaimFile { generation, instance: instance.to_string(), committed, path });
        }
    }
    Ok(found)
}

/// Whether some instance has committed `partition` under a generation above `generation`.
pub(crate) fn superseded(out: &Path, partition: i32, generation: u64) -> Result<bool> {
    Ok(claims(out, partition)?.iter().any(|c| c.committed && c.generation > generation))
}

/// The instance that claimed `partition` under a generation above `generation`, if any.
pub(crate) fn fenced_by(out: &Path, partition: i32, generation: u64) -> Result<Option<(u64, String)>> {
    Ok(claims(out, partition)?
        .into_iter()
        .filter(|c| c.generation > generation)
        .max_by_key(|c| c.generation)
        .map(|c| (c.generation, c.instance)))
}

/// Records that `instance` committed `partition` under `generation`, and removes the claims of
/// older generations (their checkpoints are superseded).
pub(crate) fn mark_committed(out: &Path, instance: &str, partition: i32, generation: u64) -> Result<()> {
    let dir = claims_dir(out, partition);
    let marker = dir.join(format!("{generation:010}-{instance}{COMMITTED}"));
    crate::sink::write_synced(&marker, b"")?;
    for old in claims(out, partition)?.into_iter().filter(|c| c.generation < generation) {
        if let Err(e) = std::fs::remove_file(&old.path)
            && e.kind() != std::io::ErrorKind::NotFound
        {
            return Err(Error::io("removing", &old.path, e));
        }
    }
    Ok(())
}

/// Claims `partitions` for `store`'s instance (see the module doc).
pub fn claim(store: &CheckpointStore, partitions: &[i32]) -> Result<BTreeMap<i32, Claim>> {
    let instances = store.instances()?;
    for name in instances.iter().filter(|n| **n != store.instance) {
        store.sibling(name).roll_forward()?;
    }
    // the newest state of each partition: (generation, store, checkpoint id)
    let mut newest: BTreeMap<i32, (u64, String, u64)> = BTreeMap::new();
    for name in &instances {
        let s = store.sibling(name);
        for id in s.ids()? {
            // pruned meanwhile by its owner, or written by another version: its owner (or a
            // restart of it) deals with it; a newer checkpoint holds the partition then
            let Ok(m) = s.manifest(id) else { continue };
            for (p, g) in m.partitions.into_iter().filter(|(p, _)| partitions.contains(p)) {
                if newest.get(&p).is_none_or(|(ng, _, nid)| (g, id) > (*ng, *nid)) {
                    newest.insert(p, (g, name.clone(), id));
                }
            }
        }
    }
    let mut loaded: BTreeMap<(String, u64), Arc<Recovered>> = BTreeMap::new();
    let mut claimed = BTreeMap::new();
    for &p in partitions {
        let source = match newest.get(&p) {
            Some((_, name, id)) => Some(match loaded.get(&(name.clone(), *id)) {
                Some(r) => r.clone(),
                None => {
                    let s = store.sibling(name);
                    let r = Arc::new(s.read(*id).map_err(|message| Error::Checkpoint {
                        path: s.out.join(CHECKPOINT_DIR).join(name),
                        message: format!(
                            "reading checkpoint {id}, the newest state of partition {p}: {message}"
                        ),
                    })?);
                    loaded.insert((name.clone(), *id), r.clone());
                    r
                }
            }),
            None => None,
        };
        let held = newest.get(&p).map_or(0, |(g, _, _)| *g);
        let claimed_before = claims(&store.out, p)?.iter().map(|c| c.generation).max().unwrap_or(0);
        let generation = held.max(claimed_before) + 1;
        let dir = claims_dir(&store.out, p);
        std::fs::create_dir_all(&dir).map_err(|e| Error::io("creating", &dir, e))?;
        let file = dir.join(format!("{generation:010}-{}", store.instance));
        // fails if another instance claimed this generation at the same moment
        std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .open(&file)
            .map_err(|e| Error::io("claiming a partition by creating", &file, e))?;
        crate::sink::sync_dir(&dir)?;
        let next = source.as_ref().and_then(|r| match &r.manifest.offsets {
            crate::source::SourceOffsets::Kafka { next, .. } => next.get(&p).copied(),
            crate::source::SourceOffsets::Lines { .. } => None,
        });
        tracing::info!(
            "claimed partition {p} (generation {generation}){}",
            match newest.get(&p) {
                Some((_, name, id)) => format!(
                    ": restoring instance {name}'s checkpoint {id}, {}",
                    next.map_or("reading from the beginning".into(), |o| format!(
                        "reading on at offset Some({o})"
                    ))
                ),
                None => ": no checkpoint holds it, reading from the beginning".into(),
            }
        );
        claimed.insert(p, Claim { generation, next, source });
    }
    Ok(claimed)
}

/// The runtime's side of the Kafka source's rebalances: claims assigned partitions (the driver
/// takes what was restored with the assignment), and checkpoints before partitions are revoked.
#[derive(Debug)]
pub struct Handover {
    store: CheckpointStore,
    /// Weak: the run ends when the source drops its sender.
    tx: tokio::sync::mpsc::WeakSender<SourceMessage>,
    claimed: Mutex<BTreeMap<i32, Claim>>,
    stop: StopSignal,
}

impl Handover {
    /// The handover of `store`'s instance; revocations go to the runtime through `tx`.
    pub fn new(
        store: CheckpointStore,
        tx: tokio::sync::mpsc::Sender<SourceMessage>,
        stop: StopSignal,
    ) -> Self {
        Handover { store, tx: tx.downgrade(), claimed: Mutex::new(BTreeMap::new()), stop }
    }

    /// The partitions claimed since the last call.
    pub fn take(&self) -> BTreeMap<i32, Claim> {
        self.claimed.lock().map(|mut c| std::mem::take(&mut *c)).unwrap_or_default()
    }
}

impl PartitionHandover for Handover {
    fn revoke(&self, topic: &str, partitions: &[i32]) {
        if self.stop.is_immediate() {
            return;
        }
        let (done, wait) = std::sync::mpsc::channel();
        let msg = SourceMessage::Revoked { topic: topic.to_string(), partitions: partitions.to_vec(), done };
        if let Some(tx) = self.tx.upgrade()
            && tx.blocking_send(msg).is_ok()
        {
            // an error on the other side drops `done`: nothing to wait for then
            let _ = wait.recv();
        }
    }

    fn assign(&self, partitions: &[i32]) -> Result<BTreeMap<i32, Option<i64>>> {
        let claims = claim(&self.store, partitions)?;
        let starts = claims.iter().map(|(&p, c)| (p, c.next)).collect();
        if let Ok(mut c) = self.claimed.lock() {
            c.extend(claims);
        }
        Ok(starts)
    }
}
