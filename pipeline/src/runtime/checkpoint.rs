//! The commit protocol and its durable store, `<out>/_checkpoints/<instance>/`.
//!
//! A checkpoint, in order:
//! 1. every sink writes what it buffered as `.tmp` files and fsyncs them (pending files);
//!    the Kafka dead-letter producer flushes;
//! 2. the state (open conversations, open windows, dedup set, watermarks) is serialised;
//! 3. the checkpoint file — source offsets, pending files, state — is written as `.tmp`, fsynced
//!    and renamed to `checkpoint-<id>.ckpt`: **this rename is the commit point**;
//! 4. pending files are renamed to their final names (readers ignore `.tmp`);
//! 5. the source offsets are committed to Kafka (informational: the checkpoint is the truth).
//!
//! Recovery takes the newest readable checkpoint, redoes step 4 for it (idempotent), deletes every
//! other `.tmp` file (output of a checkpoint that never committed), and resumes the source from
//! its offsets with its state. So a crash at any point neither loses nor repeats output rows.
//!
//! Several instances (`output.instance`) may share one output directory: each has its own
//! checkpoint folder, and its files carry its name, so each one's recovery touches its own files
//! only. A Kafka partition's state moves between them through the checkpoints (see
//! [`super::handover`]).

use crate::sink::{PendingFile, TMP_SUFFIX, sync_dir};
use crate::source::SourceOffsets;
use crate::{Error, Result};
use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};

/// Folder of checkpoints under the output directory.
pub const CHECKPOINT_DIR: &str = "_checkpoints";
const MAGIC: &[u8; 8] = b"TPCKPT01";

/// Version of the serialised processor state; a checkpoint of another version is refused.
pub const STATE_VERSION: u32 = 9;

/// What a checkpoint records besides the state.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Manifest {
    /// [`STATE_VERSION`] of the ticketpulse that wrote it (0: before versions existed).
    #[serde(default)]
    pub state_version: u32,
    /// Increasing id; also names the files of this checkpoint.
    pub id: u64,
    /// Wall-clock time of the commit, epoch ms.
    pub created_at_ms: i64,
    /// Source offsets covered.
    pub offsets: SourceOffsets,
    /// Files this checkpoint publishes.
    pub pending: Vec<PendingFile>,
    /// The input was complete (drained) at this checkpoint.
    pub drained: bool,
    /// The instance that wrote it.
    #[serde(default)]
    pub instance: String,
    /// The Kafka partitions whose state this checkpoint holds, each with the generation under
    /// which this instance owns it (see [`super::handover`]).
    #[serde(default)]
    pub partitions: std::collections::BTreeMap<i32, u64>,
}

/// A checkpoint read back.
#[derive(Debug)]
pub struct Recovered {
    /// Its manifest.
    pub manifest: Manifest,
    /// The serialised processor state.
    pub state: Vec<u8>,
}

/// The checkpoint folder of one instance in an output directory.
#[derive(Debug, Clone)]
pub struct CheckpointStore {
    pub(crate) out: PathBuf,
    dir: PathBuf,
    pub(crate) instance: String,
}

fn io<'a>(action: &'static str, path: &'a Path) -> impl FnOnce(std::io::Error) -> Error + 'a {
    move |e| Error::io(action, path, e)
}

impl CheckpointStore {
    /// The store of `instance` in `out` (created if missing). Fails on a folder written before
    /// instances existed (its checkpoints sit directly in `_checkpoints/`).
    pub fn open(out: &Path, instance: &str) -> Result<Self> {
        let root = out.join(CHECKPOINT_DIR);
        if root.is_dir() && !ids_in(&root)?.is_empty() {
            return Err(Error::Checkpoint {
                path: root,
                message: format!(
                    "written by a ticketpulse older than state version {STATE_VERSION} (no instance folders); use a new output directory"
                ),
            });
        }
        let dir = root.join(instance);
        std::fs::create_dir_all(&dir).map_err(io("creating", &dir))?;
        Ok(CheckpointStore { out: out.to_path_buf(), dir, instance: instance.to_string() })
    }

    /// The store of another instance in the same output directory (not created).
    pub(crate) fn sibling(&self, instance: &str) -> Self {
        CheckpointStore {
            out: self.out.clone(),
            dir: self.out.join(CHECKPOINT_DIR).join(instance),
            instance: instance.to_string(),
        }
    }

    /// Names of the instances with a checkpoint folder here, this one included.
    pub(crate) fn instances(&self) -> Result<Vec<String>> {
        let root = self.out.join(CHECKPOINT_DIR);
        let mut names = Vec::new();
        for entry in std::fs::read_dir(&root).map_err(io("listing", &root))? {
            let entry = entry.map_err(io("listing", &root))?;
            let name = entry.file_name().to_string_lossy().into_owned();
            if entry.path().is_dir() && !name.starts_with(['_', '.']) {
                names.push(name);
            }
        }
        names.sort();
        Ok(names)
    }

    fn file(&self, id: u64) -> PathBuf {
        self.dir.join(format!("checkpoint-{id:010}.ckpt"))
    }

    /// Ids of committed checkpoints, ascending.
    pub(crate) fn ids(&self) -> Result<Vec<u64>> {
        if !self.dir.is_dir() {
            return Ok(Vec::new());
        }
        ids_in(&self.dir)
    }
}

/// Ids of the checkpoint files in `dir`, ascending.
fn ids_in(dir: &Path) -> Result<Vec<u64>> {
    let mut ids = Vec::new();
    for entry in std::fs::read_dir(dir).map_err(io("listing", dir))? {
        let name = entry.map_err(io("listing", dir))?.file_name();
        let name = name.to_string_lossy();
        if let Some(id) = name.strip_prefix("checkpoint-").and_then(|s| s.strip_suffix(".ckpt"))
            && let Ok(id) = id.parse()
        {
            ids.push(id);
        }
    }
    ids.sort_unstable();
    Ok(ids)
}

impl CheckpointStore {
    /// Commits a checkpoint (steps 3 and 4 of the protocol).
    pub fn commit(&self, manifest: &Manifest, state: &[u8]) -> Result<()> {
        let header =
            serde_json::to_vec(manifest).map_err(|e| Error::Runtime(format!("encoding manifest: {e}")))?;
        let mut bytes = Vec::with_capacity(16 + header.len() + state.len());
        bytes.extend_from_slice(MAGIC);
        bytes.extend_from_slice(&(header.len() as u64).to_le_bytes());
        bytes.extend_from_slice(&header);
        bytes.extend_from_slice(state);
        let path = self.file(manifest.id);
        let tmp = path.with_extension("ckpt.tmp");
        crate::sink::write_synced(&tmp, &bytes)?;
        std::fs::rename(&tmp, &path).map_err(io("renaming", &tmp))?;
        sync_dir(&self.dir)?;
        // fault injection: dead right after the commit point, before the files are published
        fail::fail_point!("checkpoint::committed", |_| std::process::abort());
        self.publish(&manifest.pending)?;
        self.prune(manifest.id)
    }

    /// Renames pending files to their final names; those already renamed are skipped (another
    /// instance may be rolling the same checkpoint forward).
    pub(crate) fn publish(&self, pending: &[PendingFile]) -> Result<()> {
        let mut dirs = std::collections::BTreeSet::new();
        for p in pending {
            let tmp = self.out.join(&p.tmp);
            let dst = self.out.join(&p.path);
            let renamed = match std::fs::rename(&tmp, &dst) {
                Ok(()) => true,
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => false,
                Err(e) => return Err(Error::io("renaming", &tmp, e)),
            };
            if !renamed && !dst.exists() {
                return Err(Error::Checkpoint {
                    path: dst,
                    message: "a committed checkpoint lists this file but neither it nor its .tmp exists"
                        .into(),
                });
            }
            if let Some(d) = dst.parent() {
                dirs.insert(d.to_path_buf());
            }
        }
        for d in dirs {
            sync_dir(&d)?;
        }
        Ok(())
    }

    /// Keeps the newest two checkpoints, and an older one while it is this instance's newest
    /// state of a partition that no other instance has committed a newer generation of (the
    /// partition's next owner restores it from there, see [`super::handover`]).
    fn prune(&self, newest: u64) -> Result<()> {
        let ids = self.ids()?;
        // partitions held by a newer checkpoint, walking from the newest down
        let mut newer: std::collections::BTreeSet<i32> = std::collections::BTreeSet::new();
        for &id in ids.iter().rev() {
            let held = match self.manifest(id) {
                Ok(m) => m.partitions,
                Err(_) if id + 1 < newest => Default::default(),
                Err(_) => continue,
            };
            let needed = held
                .iter()
                .filter(|(p, _)| !newer.contains(p))
                .map(|(&p, &g)| super::handover::superseded(&self.out, p, g).map(|s| !s))
                .collect::<Result<Vec<bool>>>()?
                .contains(&true);
            newer.extend(held.keys());
            if id + 1 < newest && !needed {
                let f = self.file(id);
                match std::fs::remove_file(&f) {
                    Err(e) if e.kind() != std::io::ErrorKind::NotFound => {
                        return Err(Error::io("removing", &f, e));
                    }
                    _ => {}
                }
            }
        }
        Ok(())
    }

    fn bytes(&self, id: u64) -> std::result::Result<Vec<u8>, String> {
        std::fs::read(self.file(id)).map_err(|e| e.to_string())
    }

    /// The manifest of checkpoint `id` (its header only).
    pub(crate) fn manifest(&self, id: u64) -> std::result::Result<Manifest, String> {
        use std::io::Read;
        let mut f = std::fs::File::open(self.file(id)).map_err(|e| e.to_string())?;
        let mut head = [0u8; 16];
        f.read_exact(&mut head).map_err(|e| format!("truncated header: {e}"))?;
        let mut header = vec![0u8; header_len(&head)?];
        f.read_exact(&mut header).map_err(|e| format!("truncated manifest: {e}"))?;
        parse_manifest(&header)
    }

    pub(crate) fn read(&self, id: u64) -> std::result::Result<Recovered, String> {
        let bytes = self.bytes(id)?;
        let head = bytes.get(..16).ok_or("truncated header")?;
        let len = header_len(head)?;
        let (header, state) = bytes[16..].split_at_checked(len).ok_or("truncated manifest")?;
        Ok(Recovered { manifest: parse_manifest(header)?, state: state.to_vec() })
    }

    /// Reads the newest checkpoint, completes its publication, and removes the output of
    /// checkpoints that never committed. `None` on a fresh output directory. An unreadable newest
    /// checkpoint is an error, not a reason to fall back silently: its files are already
    /// published, so resuming from an older one would write their rows again.
    pub fn recover(&self) -> Result<Option<Recovered>> {
        let found = match self.ids()?.last() {
            None => None,
            Some(&id) => Some(self.read(id).map_err(|e| Error::Checkpoint {
                path: self.file(id),
                message: format!(
                    "unreadable ({e}); to resume from the previous checkpoint instead, move this file away \
                     (rows published since that checkpoint would then be written again)"
                ),
            })?),
        };
        if let Some(r) = &found {
            self.publish(&r.manifest.pending)?;
        }
        remove_tmp_files(&self.out, &self.instance)?;
        Ok(found)
    }

    /// Completes the publication of this (other) instance's newest checkpoint: an instance that
    /// died after its commit point and never came back leaves its last files pending, and the
    /// instance taking over its partitions publishes them. Nothing to do without a checkpoint.
    pub(crate) fn roll_forward(&self) -> Result<()> {
        let Some(&id) = self.ids()?.last() else { return Ok(()) };
        match self.manifest(id) {
            Ok(m) => self.publish(&m.pending),
            // pruned meanwhile by its living owner, who published it
            Err(_) if !self.file(id).exists() => Ok(()),
            Err(message) => Err(Error::Checkpoint { path: self.file(id), message }),
        }
    }

    /// The id the next checkpoint should take.
    pub fn next_id(&self) -> Result<u64> {
        Ok(self.ids()?.last().map_or(1, |id| id + 1))
    }
}

fn header_len(head: &[u8]) -> std::result::Result<usize, String> {
    let rest = head.strip_prefix(MAGIC.as_slice()).ok_or("not a ticketpulse checkpoint")?;
    let len: [u8; 8] = rest.get(..8).and_then(|b| b.try_into().ok()).ok_or("truncated header")?;
    Ok(u64::from_le_bytes(len) as usize)
}

fn parse_manifest(header: &[u8]) -> std::result::Result<Manifest, String> {
    let manifest: Manifest = serde_json::from_slice(header).map_err(|e| format!("manifest: {e}"))?;
    if manifest.state_version != STATE_VERSION {
        return Err(format!(
            "its state is version {}, this ticketpulse reads version {STATE_VERSION}; use a new output directory",
            manifest.state_version
        ));
    }
    Ok(manifest)
}

/// Deletes the `*.tmp` files of `instance` under `out` (orphans of its uncommitted checkpoint):
/// its part files, and whatever is under its own checkpoint and outbox folders. Other
/// instances' files are theirs to handle.
fn remove_tmp_files(out: &Path, instance: &str) -> Result<()> {
    let own = [
        out.join(CHECKPOINT_DIR).join(instance),
        out.join(crate::alerts::webhook::OUTBOX_DIR).join(instance),
    ];
    let mut stack = vec![out.to_path_buf()];
    while let Some(dir) = stack.pop() {
        for entry in std::fs::read_dir(&dir).map_err(io("listing", &dir))? {
            let path = entry.map_err(io("listing", &dir))?.path();
            let name = path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
            let ours =
                || crate::sink::Stamp::owns(instance, &name) || own.iter().any(|d| path.starts_with(d));
            if path.is_dir() {
                stack.push(path);
            } else if name.ends_with(TMP_SUFFIX) && ours() {
                tracing::info!("removing uncommitted {}", path.display());
                std::fs::remove_file(&path).map_err(io("removing", &path))?;
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeMap;

    fn manifest(id: u64, pending: Vec<PendingFile>) -> Manifest {
        Manifest {
            state_version: STATE_VERSION,
            id,
            created_at_ms: 0,
            offsets: SourceOffsets::Kafka { topic: "t".into(), next: BTreeMap::from([(0, id as i64 * 10)]) },
            pending,
            drained: false,
            instance: "main".into(),
            partitions: BTreeMap::new(),
        }
    }

    fn pending(out: &Path, name: &str) -> PendingFile {
        let p = PendingFile::new("conversations", format!("conversations/date=2026-11-02/{name}.parquet"), 1);
        crate::sink::write_synced(&out.join(&p.tmp), name.as_bytes()).unwrap();
        p
    }

    #[test]
    fn commit_publishes_files_and_recover_returns_the_newest_checkpoint() {
        let dir = tempfile::tempdir().unwrap();
        let store = CheckpointStore::open(dir.path(), "main").unwrap();
        assert!(store.recover().unwrap().is_none());
        assert_eq!(store.next_id().unwrap(), 1);
        for id in 1..=4 {
            let files = vec![pending(dir.path(), &format!("part-main-{id:010}"))];
            store.commit(&manifest(id, files), b"state").unwrap();
        }
        assert!(dir.path().join("conversations/date=2026-11-02/part-main-0000000004.parquet").exists());
        assert_eq!(store.ids().unwrap(), vec![3, 4], "older checkpoints are pruned");
        let r = store.recover().unwrap().unwrap();
        assert_eq!(r.manifest.id, 4);
        assert_eq!(r.state, b"state");
        assert_eq!(store.next_id().unwrap(), 5);
    }

    #[test]
    fn recovery_rolls_forward_a_committed_checkpoint_and_drops_uncommitted_files() {
        let dir = tempfile::tempdir().unwrap();
        let store = CheckpointStore::open(dir.path(), "main").unwrap();
        // checkpoint 1 committed, but the process died before renaming its files
        let committed = pending(dir.path(), "part-main-0000000001");
        let m = manifest(1, vec![committed.clone()]);
        assert_eq!(m.state_version, STATE_VERSION);
        let header = serde_json::to_vec(&m).unwrap();
        let mut bytes = MAGIC.to_vec();
        bytes.extend_from_slice(&(header.len() as u64).to_le_bytes());
        bytes.extend_from_slice(&header);
        std::fs::write(store.file(1), bytes).unwrap();
        // checkpoint 2 wrote its files but never reached its commit point
        let orphan = pending(dir.path(), "part-main-0000000002");
        // another instance's file being written: not this instance's to remove
        let theirs = pending(dir.path(), "part-other-0000000002");
        std::fs::write(
            dir.path().join(CHECKPOINT_DIR).join("main/checkpoint-0000000002.ckpt.tmp"),
            b"partial",
        )
        .unwrap();

        let r = store.recover().unwrap().unwrap();
        assert_eq!(r.manifest.id, 1);
        assert!(dir.path().join(&committed.path).exists(), "rolled forward");
        assert!(!dir.path().join(&committed.tmp).exists());
        assert!(!dir.path().join(&orphan.tmp).exists(), "uncommitted output removed");
        assert!(!dir.path().join(&orphan.path).exists());
        assert!(dir.path().join(&theirs.tmp).exists(), "another instance's file is left alone");
        // recovering again changes nothing (idempotent)
        assert_eq!(store.recover().unwrap().unwrap().manifest, r.manifest);
    }

    #[test]
    fn an_unreadable_newest_checkpoint_stops_recovery_with_a_clear_error() {
        let dir = tempfile::tempdir().unwrap();
        let store = CheckpointStore::open(dir.path(), "main").unwrap();
        store.commit(&manifest(1, vec![]), b"one").unwrap();
        std::fs::write(store.file(2), b"garbage").unwrap();
        let err = store.recover().unwrap_err().to_string();
        assert!(err.contains("checkpoint-0000000002.ckpt") && err.contains("move this file away"), "{err}");
        std::fs::remove_file(store.file(2)).unwrap();
        assert_eq!(store.recover().unwrap().unwrap().manifest.id, 1);
    }

    /// Partition 0's state, in a checkpoint of `store` owning it under `generation`.
    fn holding(store: &CheckpointStore, id: u64, generation: u64, next: i64) {
        let mut m = manifest(id, vec![]);
        m.instance = store.instance.clone();
        m.offsets = SourceOffsets::Kafka { topic: "t".into(), next: BTreeMap::from([(0, next)]) };
        m.partitions = BTreeMap::from([(0, generation)]);
        store.commit(&m, format!("state of {} at {next}", store.instance).as_bytes()).unwrap();
    }

    #[test]
    fn a_partition_moves_to_its_claimant_with_the_newest_state_and_fences_the_old_owner() {
        let dir = tempfile::tempdir().unwrap();
        let a = CheckpointStore::open(dir.path(), "a").unwrap();
        let b = CheckpointStore::open(dir.path(), "b").unwrap();
        let first = super::super::handover::claim(&a, &[0]).unwrap();
        assert_eq!(first[&0].generation, 1);
        assert!(first[&0].source.is_none() && first[&0].next.is_none(), "nothing holds it yet");
        holding(&a, 1, 1, 40);
        super::super::handover::mark_committed(dir.path(), "a", 0, 1).unwrap();
        // a's last checkpoint committed but its files were not published when it died
        let unpublished = pending(dir.path(), "part-a-0000000002");
        let mut m = manifest(2, vec![unpublished.clone()]);
        (m.instance, m.partitions) = ("a".into(), BTreeMap::from([(0, 1)]));
        m.offsets = SourceOffsets::Kafka { topic: "t".into(), next: BTreeMap::from([(0, 55)]) };
        let header = serde_json::to_vec(&m).unwrap();
        let mut bytes = MAGIC.to_vec();
        bytes.extend_from_slice(&(header.len() as u64).to_le_bytes());
        bytes.extend_from_slice(&header);
        bytes.extend_from_slice(b"state of a at 55");
        std::fs::write(a.file(2), bytes).unwrap();

        let taken = super::super::handover::claim(&b, &[0]).unwrap();
        let c = &taken[&0];
        assert_eq!(c.generation, 2);
        assert_eq!(c.next, Some(55), "the newest checkpoint holding it");
        assert_eq!(c.source.as_ref().unwrap().state, b"state of a at 55");
        assert!(dir.path().join(&unpublished.path).exists(), "the dead owner's last files are published");
        // the old owner may not commit it any more
        let fenced = super::super::handover::fenced_by(dir.path(), 0, 1).unwrap();
        assert_eq!(fenced, Some((2, "b".to_string())));
        assert_eq!(super::super::handover::fenced_by(dir.path(), 0, 2).unwrap(), None);
        // a's checkpoints holding the partition stay until b has committed it
        for id in 3..=5 {
            a.commit(&manifest(id, vec![]), b"a without the partition").unwrap();
        }
        assert!(a.ids().unwrap().contains(&2), "kept: the newest state of partition 0");
        holding(&b, 1, 2, 70);
        super::super::handover::mark_committed(dir.path(), "b", 0, 2).unwrap();
        a.commit(&manifest(6, vec![]), b"a without the partition").unwrap();
        assert_eq!(a.ids().unwrap(), vec![5, 6], "pruned once superseded");
        // a third claim takes b's state
        let again = super::super::handover::claim(&a, &[0]).unwrap();
        assert_eq!((again[&0].generation, again[&0].next), (3, Some(70)));
    }

    #[test]
    fn an_output_directory_of_an_older_layout_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(dir.path().join(CHECKPOINT_DIR)).unwrap();
        std::fs::write(dir.path().join(CHECKPOINT_DIR).join("checkpoint-0000000003.ckpt"), b"old").unwrap();
        let err = CheckpointStore::open(dir.path(), "main").unwrap_err().to_string();
        assert!(err.contains("use a new output directory"), "{err}");
    }
}
