//! The receipt journal: every queued receipt is on disk until the chain has
//! it, so a vault that crashes after serving reads still commits their
//! receipts when it starts again.
//!
//! Receipts are appended to segment files (`receipts-<n>.log`) in a
//! directory. Each block slot the committer starts a new segment (the old
//! one is synced to disk), and a segment is deleted once every receipt in
//! it is in a finalized block. On start, the receipts of the segments left
//! are queued again: a receipt whose batch was in a block but not yet
//! finalized when the vault stopped is committed twice (at least once,
//! never lost).
//!
//! A record is `length (u32, little-endian) | SCALE-encoded receipt |
//! first 8 bytes of its BLAKE3 hash`; a record cut short by a crash fails
//! its check and ends the segment.
//!
//! Durability: a receipt is written (not synced) before its read is
//! served, so it survives the vault process being killed; segments are
//! synced once per slot, so a power failure of the machine can lose the
//! receipts of the last slot.

use std::{
    collections::BTreeMap,
    fs::{File, OpenOptions},
    io::{self, Read, Write},
    path::{Path, PathBuf},
};

use medigate_chain_client::subxt::ext::codec::{DecodeAll, Encode};

use crate::receipts::Receipt;

/// The segment a journaled receipt is in.
pub type SegmentId = u64;

/// Bytes of the check after each record.
const CHECK_LEN: usize = 8;
/// The largest record read back (a receipt is about 150 bytes).
const MAX_RECORD_LEN: usize = 4096;

/// Why the journal could not be used.
#[derive(Debug, thiserror::Error)]
pub enum JournalError {
    /// A file or directory of the journal could not be read or written.
    #[error("receipt journal {path}: {source}")]
    Io {
        /// The file or directory.
        path: PathBuf,
        /// The error.
        source: io::Error,
    },
}

/// The journal of the receipts a vault has not yet seen finalized.
#[derive(Debug)]
pub struct Journal {
    dir: PathBuf,
    current: File,
    current_id: SegmentId,
    current_records: usize,
    /// Receipts not yet finalized, per segment.
    outstanding: BTreeMap<SegmentId, usize>,
}

impl Journal {
    /// Opens the journal in `dir` (created if missing) and returns it with
    /// the receipts its earlier run left uncommitted, in order, each with
    /// its segment.
    pub fn open(dir: &Path) -> Result<(Self, Vec<(Receipt, SegmentId)>), JournalError> {
        let io_error = |path: &Path| {
            let path = path.to_path_buf();
            move |source| JournalError::Io { path, source }
        };
        std::fs::create_dir_all(dir).map_err(io_error(dir))?;
        let mut segments = Vec::new();
        for entry in std::fs::read_dir(dir).map_err(io_error(dir))? {
            let entry = entry.map_err(io_error(dir))?;
            if let Some(id) = segment_id(&entry.file_name().to_string_lossy()) {
                segments.push(id);
            }
        }
        segments.sort_unstable();
        let mut left = Vec::new();
        for &id in &segments {
            let path = segment_path(dir, id);
            let mut bytes = Vec::new();
            File::open(&path)
                .and_then(|mut file| file.read_to_end(&mut bytes))
                .map_err(io_error(&path))?;
            let (receipts, torn) = decode_records(&bytes);
            if torn {
                tracing::warn!(path = %path.display(), "a receipt journal segment ends in a record cut short; the rest of it is ignored");
            }
            left.extend(receipts);
        }

        // The receipts left go into a fresh segment, synced, before the old
        // segments are removed.
        let current_id = segments.last().map_or(0, |last| last + 1);
        let current = create_segment(dir, current_id)?;
        let mut journal = Self {
            dir: dir.to_path_buf(),
            current,
            current_id,
            current_records: 0,
            outstanding: BTreeMap::new(),
        };
        let mut recovered = Vec::with_capacity(left.len());
        for receipt in left {
            let segment = journal.append(&receipt)?;
            recovered.push((receipt, segment));
        }
        journal.sync()?;
        for id in segments {
            let path = segment_path(dir, id);
            std::fs::remove_file(&path).map_err(io_error(&path))?;
        }
        sync_dir(dir)?;
        Ok((journal, recovered))
    }

    /// Appends `receipt` (one write, not synced) and returns its segment.
    pub fn append(&mut self, receipt: &Receipt) -> Result<SegmentId, JournalError> {
        let record = encode_record(receipt);
        self.current
            .write_all(&record)
            .map_err(|source| JournalError::Io {
                path: segment_path(&self.dir, self.current_id),
                source,
            })?;
        self.current_records += 1;
        *self.outstanding.entry(self.current_id).or_default() += 1;
        Ok(self.current_id)
    }

    /// Syncs the current segment and, if it holds receipts, starts a new
    /// one. Called once per block slot.
    pub fn rotate(&mut self) -> Result<(), JournalError> {
        if self.current_records == 0 {
            return Ok(());
        }
        self.sync()?;
        let next = self.current_id + 1;
        self.current = create_segment(&self.dir, next)?;
        let finished = std::mem::replace(&mut self.current_id, next);
        self.current_records = 0;
        if !self.outstanding.contains_key(&finished) {
            self.remove_segment(finished)?;
        }
        Ok(())
    }

    /// Marks receipts of these segments (one entry per receipt) as
    /// finalized; segments left with none are deleted.
    pub fn committed(
        &mut self,
        segments: impl IntoIterator<Item = SegmentId>,
    ) -> Result<(), JournalError> {
        for segment in segments {
            let Some(count) = self.outstanding.get_mut(&segment) else {
                continue;
            };
            *count -= 1;
            if *count == 0 {
                self.outstanding.remove(&segment);
                if segment == self.current_id {
                    // Everything in it is finalized: it starts over empty.
                    self.current.set_len(0).map_err(|source| JournalError::Io {
                        path: segment_path(&self.dir, segment),
                        source,
                    })?;
                    self.current_records = 0;
                } else {
                    self.remove_segment(segment)?;
                }
            }
        }
        Ok(())
    }

    /// How many receipts the journal holds that are not finalized.
    pub fn outstanding(&self) -> usize {
        self.outstanding.values().sum()
    }

    fn sync(&self) -> Result<(), JournalError> {
        self.current.sync_data().map_err(|source| JournalError::Io {
            path: segment_path(&self.dir, self.current_id),
            source,
        })
    }

    fn remove_segment(&self, id: SegmentId) -> Result<(), JournalError> {
        let path = segment_path(&self.dir, id);
        match std::fs::remove_file(&path) {
            Ok(()) => Ok(()),
            Err(error) if error.kind() == io::ErrorKind::NotFound => Ok(()),
            Err(source) => Err(JournalError::Io { path, source }),
        }
    }
}

fn segment_path(dir: &Path, id: SegmentId) -> PathBuf {
    dir.join(format!("receipts-{id:020}.log"))
}

fn segment_id(file_name: &str) -> Option<SegmentId> {
    file_name
        .strip_prefix("receipts-")?
        .strip_suffix(".log")?
        .parse()
        .ok()
}

fn create_segment(dir: &Path, id: SegmentId) -> Result<File, JournalError> {
    let path = segment_path(dir, id);
    let file = OpenOptions::new()
        .create(true)
        .append(true)
        .open(&path)
        .map_err(|source| JournalError::Io {
            path: path.clone(),
            source,
        })?;
    sync_dir(dir)?;
    Ok(file)
}

/// Makes a file's creation or removal in `dir` durable.
fn sync_dir(dir: &Path) -> Result<(), JournalError> {
    File::open(dir)
        .and_then(|dir| dir.sync_all())
        .map_err(|source| JournalError::Io {
            path: dir.to_path_buf(),
            source,
        })
}

fn check(body: &[u8]) -> [u8; CHECK_LEN] {
    let hash = blake3::hash(body);
    let mut check = [0u8; CHECK_LEN];
    check.copy_from_slice(&hash.as_bytes()[..CHECK_LEN]);
    check
}

fn encode_record(receipt: &Receipt) -> Vec<u8> {
    let body = receipt.encode();
    let mut record = Vec::with_capacity(4 + body.len() + CHECK_LEN);
    record.extend_from_slice(&(body.len() as u32).to_le_bytes());
    record.extend_from_slice(&body);
    record.extend_from_slice(&check(&body));
    record
}

/// A journaled receipt, whole: in this format, or in the one before the
/// evidence's signature was sr25519 only (a `MultiSignature`, whose variant
/// byte 1, sr25519, came before the 64 bytes that end a receipt), as a
/// vault upgraded with receipts in its journal finds them.
fn decode_receipt(body: &[u8]) -> Option<Receipt> {
    if let Ok(receipt) = Receipt::decode_all(&mut &body[..]) {
        return Some(receipt);
    }
    const SR25519_VARIANT: u8 = 1;
    let variant_at = body.len().checked_sub(65)?;
    if body[variant_at] != SR25519_VARIANT {
        return None;
    }
    let mut current = body[..variant_at].to_vec();
    current.extend_from_slice(&body[variant_at + 1..]);
    Receipt::decode_all(&mut &current[..]).ok()
}

/// The receipts of a segment's bytes, and whether it ends in a record that
/// is cut short or fails its check.
fn decode_records(mut bytes: &[u8]) -> (Vec<Receipt>, bool) {
    let mut receipts = Vec::new();
    while !bytes.is_empty() {
        let Some((length, rest)) = bytes.split_first_chunk::<4>() else {
            return (receipts, true);
        };
        let length = u32::from_le_bytes(*length) as usize;
        if length > MAX_RECORD_LEN || rest.len() < length + CHECK_LEN {
            return (receipts, true);
        }
        let (body, rest) = rest.split_at(length);
        let (stored_check, rest) = rest.split_at(CHECK_LEN);
        if stored_check != check(body) {
            return (receipts, true);
        }
        let Some(receipt) = decode_receipt(body) else {
            return (receipts, true);
        };
        receipts.push(receipt);
        bytes = rest;
    }
    (receipts, false)
}

#[cfg(test)]
mod tests {
    use super::*;
    use medigate_chain_client::{
        medigate::runtime_types::medigate_access_policy::terms::{Action, Purpose},
        subxt::utils::{AccountId32, H256},
    };

    fn receipt(accessed_at: u64) -> Receipt {
        Receipt {
            accessor: AccountId32([1; 32]),
            patient: AccountId32([2; 32]),
            record: H256::repeat_byte(3),
            purpose: Purpose::Treatment,
            action: Action::Read,
            grant: Some(7),
            vault: AccountId32([4; 32]),
            accessed_at,
            request: medigate_chain_client::medigate::runtime_types::pallet_audit::RequestEvidence {
                signed_at: accessed_at.saturating_sub(5),
                nonce: [5; 16],
                signature: medigate_chain_client::medigate::runtime_types::pallet_audit::Sr25519RequestSignature([6; 64]),
            },
        }
    }

    fn times(receipts: &[(Receipt, SegmentId)]) -> Vec<u64> {
        receipts
            .iter()
            .map(|(receipt, _)| receipt.accessed_at)
            .collect()
    }

    fn segment_files(dir: &Path) -> usize {
        std::fs::read_dir(dir).unwrap().count()
    }

    #[test]
    fn a_receipt_journaled_with_the_earlier_signature_format_comes_back_whole() {
        let current = receipt(9).encode();
        // The earlier format: the signature as a MultiSignature, its
        // variant byte (1, sr25519) before the 64 bytes.
        let mut earlier = current.clone();
        earlier.insert(current.len() - 64, 1);
        assert_eq!(
            decode_receipt(&earlier).map(|receipt| receipt.encode()),
            Some(current.clone())
        );
        assert_eq!(
            decode_receipt(&current).map(|receipt| receipt.encode()),
            Some(current.clone())
        );
        // Another variant byte, or a byte too many elsewhere, is no receipt.
        let mut ed25519 = current.clone();
        ed25519.insert(current.len() - 64, 0);
        assert!(decode_receipt(&ed25519).is_none());
        let mut longer = current.clone();
        longer.push(0);
        assert!(decode_receipt(&longer).is_none());
    }

    #[test]
    fn receipts_not_finalized_come_back_after_a_restart() {
        let dir = tempfile::tempdir().unwrap();
        let (mut journal, recovered) = Journal::open(dir.path()).unwrap();
        assert!(recovered.is_empty());
        let first: Vec<_> = (0..3)
            .map(|at| journal.append(&receipt(at)).unwrap())
            .collect();
        journal.rotate().unwrap();
        let second: Vec<_> = (3..5)
            .map(|at| journal.append(&receipt(at)).unwrap())
            .collect();
        // The first slot's receipts are finalized; the second's are not.
        journal.committed(first).unwrap();
        assert_eq!(journal.outstanding(), 2);
        drop(journal);

        let (mut journal, recovered) = Journal::open(dir.path()).unwrap();
        assert_eq!(times(&recovered), vec![3, 4]);
        assert_eq!(segment_files(dir.path()), 1, "old segments are gone");
        journal
            .committed(recovered.iter().map(|(_, segment)| *segment))
            .unwrap();
        drop((journal, second));
        let (_, recovered) = Journal::open(dir.path()).unwrap();
        assert!(recovered.is_empty());
    }

    #[test]
    fn finalized_segments_are_deleted_and_empty_slots_make_no_files() {
        let dir = tempfile::tempdir().unwrap();
        let (mut journal, _) = Journal::open(dir.path()).unwrap();
        for _ in 0..5 {
            journal.rotate().unwrap();
        }
        assert_eq!(segment_files(dir.path()), 1);
        let segment = journal.append(&receipt(1)).unwrap();
        journal.rotate().unwrap();
        assert_eq!(segment_files(dir.path()), 2);
        journal.committed([segment]).unwrap();
        assert_eq!(segment_files(dir.path()), 1);
        // Finalized before its slot ended: deleted at the rotation.
        let segment = journal.append(&receipt(2)).unwrap();
        journal.committed([segment]).unwrap();
        journal.rotate().unwrap();
        assert_eq!(segment_files(dir.path()), 1);
        assert_eq!(journal.outstanding(), 0);
    }

    #[test]
    fn a_record_cut_short_ends_the_segment_and_the_rest_is_kept() {
        let dir = tempfile::tempdir().unwrap();
        let (mut journal, _) = Journal::open(dir.path()).unwrap();
        for at in 0..3 {
            journal.append(&receipt(at)).unwrap();
        }
        let path = segment_path(dir.path(), journal.current_id);
        drop(journal);
        let bytes = std::fs::read(&path).unwrap();
        // A crash in the middle of the third record's write.
        std::fs::write(&path, &bytes[..bytes.len() - 5]).unwrap();
        let (_, recovered) = Journal::open(dir.path()).unwrap();
        assert_eq!(times(&recovered), vec![0, 1]);
        // A flipped bit fails the check.
        let mut corrupt = encode_record(&receipt(9));
        corrupt[10] ^= 1;
        let (receipts, torn) = decode_records(&corrupt);
        assert!(receipts.is_empty() && torn);
    }
}
