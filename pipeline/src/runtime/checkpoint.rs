//! The commit protocol and its durable store, `<out>/_checkpoints/`.
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

use crate::sink::{PendingFile, TMP_SUFFIX, sync_dir};
use crate::source::SourceOffsets;
use crate::{Error, Result};
use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};

/// Folder of checkpoints under the output directory.
pub const CHECKPOINT_DIR: &str = "_checkpoints";
const MAGIC: &[u8; 8] = b"TPCKPT01";

/// Version of the serialised processor state; a checkpoint of another version is refused.
pub const STATE_VERSION: u32 = 8;

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
}

/// A checkpoint read back.
#[derive(Debug)]
pub struct Recovered {
    /// Its manifest.
    pub manifest: Manifest,
    /// The serialised processor state.
    pub state: Vec<u8>,
}

/// The checkpoint folder of one output directory.
#[derive(Debug, Clone)]
pub struct CheckpointStore {
    out: PathBuf,
    dir: PathBuf,
}

fn io<'a>(action: &'static str, path: &'a Path) -> impl FnOnce(std::io::Error) -> Error + 'a {
    move |e| Error::io(action, path, e)
}

impl CheckpointStore {
    /// The store of `out` (created if missing).
    pub fn open(out: &Path) -> Result<Self> {
        let dir = out.join(CHECKPOINT_DIR);
        std::fs::create_dir_all(&dir).map_err(io("creating", &dir))?;
        Ok(CheckpointStore { out: out.to_path_buf(), dir })
    }

    fn file(&self, id: u64) -> PathBuf {
        self.dir.join(format!("checkpoint-{id:010}.ckpt"))
    }

    /// Ids of committed checkpoints, ascending.
    fn ids(&self) -> Result<Vec<u64>> {
        let mut ids = Vec::new();
        for entry in std::fs::read_dir(&self.dir).map_err(io("listing", &self.dir))? {
            let name = entry.map_err(io("listing", &self.dir))?.file_name();
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

    /// Renames pending files to their final names; those already renamed are skipped.
    fn publish(&self, pending: &[PendingFile]) -> Result<()> {
        let mut dirs = std::collections::BTreeSet::new();
        for p in pending {
            let tmp = self.out.join(&p.tmp);
            let dst = self.out.join(&p.path);
            if tmp.exists() {
                std::fs::rename(&tmp, &dst).map_err(io("renaming", &tmp))?;
            } else if !dst.exists() {
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

    /// Keeps the newest two checkpoints.
    fn prune(&self, newest: u64) -> Result<()> {
        for id in self.ids()? {
            if id + 1 < newest {
                let f = self.file(id);
                std::fs::remove_file(&f).map_err(io("removing", &f))?;
            }
        }
        Ok(())
    }

    fn read(&self, id: u64) -> std::result::Result<Recovered, String> {
        let path = self.file(id);
        let bytes = std::fs::read(&path).map_err(|e| e.to_string())?;
        let rest = bytes.strip_prefix(MAGIC.as_slice()).ok_or("not a ticketpulse checkpoint")?;
        let (len, rest) = rest.split_at_checked(8).ok_or("truncated header")?;
        let len = u64::from_le_bytes(len.try_into().map_err(|_| "bad header length")?) as usize;
        let (header, state) = rest.split_at_checked(len).ok_or("truncated manifest")?;
        let manifest: Manifest = serde_json::from_slice(header).map_err(|e| format!("manifest: {e}"))?;
        if manifest.state_version != STATE_VERSION {
            return Err(format!(
                "its state is version {}, this ticketpulse reads version {STATE_VERSION}; use a new output directory",
                manifest.state_version
            ));
        }
        Ok(Recovered { manifest, state: state.to_vec() })
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
        remove_tmp_files(&self.out)?;
        Ok(found)
    }

    /// The id the next checkpoint should take.
    pub fn next_id(&self) -> Result<u64> {
        Ok(self.ids()?.last().map_or(1, |id| id + 1))
    }
}

/// Deletes every `*.tmp` file under `out` (orphans of an uncommitted checkpoint).
fn remove_tmp_files(out: &Path) -> Result<()> {
    let mut stack = vec![out.to_path_buf()];
    while let Some(dir) = stack.pop() {
        for entry in std::fs::read_dir(&dir).map_err(io("listing", &dir))? {
            let path = entry.map_err(io("listing", &dir))?.path();
            if path.is_dir() {
                stack.push(path);
            } else if path.to_string_lossy().ends_with(TMP_SUFFIX) {
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
        let store = CheckpointStore::open(dir.path()).unwrap();
        assert!(store.recover().unwrap().is_none());
        assert_eq!(store.next_id().unwrap(), 1);
        for id in 1..=4 {
            let files = vec![pending(dir.path(), &format!("part-{id}"))];
            store.commit(&manifest(id, files), b"state").unwrap();
        }
        assert!(dir.path().join("conversations/date=2026-11-02/part-4.parquet").exists());
        assert_eq!(store.ids().unwrap(), vec![3, 4], "older checkpoints are pruned");
        let r = store.recover().unwrap().unwrap();
        assert_eq!(r.manifest.id, 4);
        assert_eq!(r.state, b"state");
        assert_eq!(store.next_id().unwrap(), 5);
    }

    #[test]
    fn recovery_rolls_forward_a_committed_checkpoint_and_drops_uncommitted_files() {
        let dir = tempfile::tempdir().unwrap();
        let store = CheckpointStore::open(dir.path()).unwrap();
        // checkpoint 1 committed, but the process died before renaming its files
        let committed = pending(dir.path(), "part-1");
        let m = manifest(1, vec![committed.clone()]);
        assert_eq!(m.state_version, STATE_VERSION);
        let header = serde_json::to_vec(&m).unwrap();
        let mut bytes = MAGIC.to_vec();
        bytes.extend_from_slice(&(header.len() as u64).to_le_bytes());
        bytes.extend_from_slice(&header);
        std::fs::write(store.file(1), bytes).unwrap();
        // checkpoint 2 wrote its files but never reached its commit point
        let orphan = pending(dir.path(), "part-2");
        std::fs::write(dir.path().join(CHECKPOINT_DIR).join("checkpoint-0000000002.ckpt.tmp"), b"partial")
            .unwrap();

        let r = store.recover().unwrap().unwrap();
        assert_eq!(r.manifest.id, 1);
        assert!(dir.path().join(&committed.path).exists(), "rolled forward");
        assert!(!dir.path().join(&committed.tmp).exists());
        assert!(!dir.path().join(&orphan.tmp).exists(), "uncommitted output removed");
        assert!(!dir.path().join(&orphan.path).exists());
        // recovering again changes nothing (idempotent)
        assert_eq!(store.recover().unwrap().unwrap().manifest, r.manifest);
    }

    #[test]
    fn an_unreadable_newest_checkpoint_stops_recovery_with_a_clear_error() {
        let dir = tempfile::tempdir().unwrap();
        let store = CheckpointStore::open(dir.path()).unwrap();
        store.commit(&manifest(1, vec![]), b"one").unwrap();
        std::fs::write(store.file(2), b"garbage").unwrap();
        let err = store.recover().unwrap_err().to_string();
        assert!(err.contains("checkpoint-0000000002.ckpt") && err.contains("move this file away"), "{err}");
        std::fs::remove_file(store.file(2)).unwrap();
        assert_eq!(store.recover().unwrap().unwrap().manifest.id, 1);
    }
}
