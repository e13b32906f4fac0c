//! The sealed shares a custodian keeps: one file per patient,
//! `shares/<patient account hex>.json`, holding the key generation, the
//! dealing, the patient's endorsement and the share as the patient sealed
//! it (a new dealing of the same generation replaces the share). A file is written to a temporary name,
//! synced, renamed into place and the directory synced, so a crash leaves
//! the old share or the new one, never half of one.

use std::{
    io::Write,
    path::{Path, PathBuf},
};

use medigate_crypto::shares::SEALED_SHARE_LEN;
use serde::{Deserialize, Serialize};

/// One patient's share, as kept.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct StoredShare {
    /// The generation of the patient's emergency key it is a share of.
    pub generation: u32,
    /// The dealing it is of (hex; empty in a share kept before dealings
    /// were endorsed, which a responder then leaves out).
    #[serde(default)]
    pub dealing: String,
    /// How many of the dealing's shares rebuild the key.
    #[serde(default)]
    pub threshold: u8,
    /// The patient's endorsement of it (hex), handed on with the share.
    #[serde(default)]
    pub endorsement: String,
    /// The share, sealed to this custodian (hex).
    pub sealed: String,
}

impl StoredShare {
    /// The sealed share's bytes.
    pub fn sealed_bytes(&self) -> Result<Vec<u8>, ShareStoreError> {
        hex::decode(&self.sealed)
            .ok()
            .filter(|bytes| bytes.len() == SEALED_SHARE_LEN)
            .ok_or(ShareStoreError::Corrupt)
    }
}

/// Why the share store failed.
#[derive(Debug, thiserror::Error)]
pub enum ShareStoreError {
    /// The file system failed.
    #[error("cannot read or write the share store: {0}")]
    Io(#[from] std::io::Error),
    /// A share file is not what this custodian wrote.
    #[error("a share file is damaged; ask the patient's gateway to hand the share over again")]
    Corrupt,
}

/// The share files under a directory.
#[derive(Clone, Debug)]
pub struct ShareStore {
    dir: PathBuf,
}

impl ShareStore {
    /// Opens (creating it if needed) the store under `data_dir`.
    pub fn open(data_dir: &Path) -> Result<Self, ShareStoreError> {
        let dir = data_dir.join("shares");
        std::fs::create_dir_all(&dir)?;
        Ok(Self { dir })
    }

    fn path(&self, patient: &[u8; 32]) -> PathBuf {
        self.dir.join(format!("{}.json", hex::encode(patient)))
    }

    /// The share kept for `patient`, if any.
    pub fn get(&self, patient: &[u8; 32]) -> Result<Option<StoredShare>, ShareStoreError> {
        match std::fs::read(self.path(patient)) {
            Ok(bytes) => serde_json::from_slice(&bytes)
                .map(Some)
                .map_err(|_| ShareStoreError::Corrupt),
            Err(error) if error.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(error) => Err(error.into()),
        }
    }

    /// Keeps `share` for `patient`, replacing the one kept before, durably.
    pub fn put(&self, patient: &[u8; 32], share: &StoredShare) -> Result<(), ShareStoreError> {
        let path = self.path(patient);
        let temporary = path.with_extension("json.tmp");
        let mut file = std::fs::File::create(&temporary)?;
        file.write_all(&serde_json::to_vec(share).expect("a share serializes"))?;
        file.sync_all()?;
        std::fs::rename(&temporary, &path)?;
        std::fs::File::open(&self.dir)?.sync_all()?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_share_is_kept_replaced_and_read_back() {
        let dir = tempfile::tempdir().unwrap();
        let store = ShareStore::open(dir.path()).unwrap();
        let patient = [7u8; 32];
        assert_eq!(store.get(&patient).unwrap(), None);
        let first = StoredShare {
            generation: 0,
            dealing: hex::encode([2u8; 32]),
            threshold: 3,
            endorsement: hex::encode([3u8; 64]),
            sealed: hex::encode([1u8; SEALED_SHARE_LEN]),
        };
        store.put(&patient, &first).unwrap();
        assert_eq!(store.get(&patient).unwrap(), Some(first.clone()));
        let second = StoredShare {
            generation: 1,
            ..first
        };
        store.put(&patient, &second).unwrap();
        let reopened = ShareStore::open(dir.path()).unwrap();
        assert_eq!(reopened.get(&patient).unwrap(), Some(second.clone()));
        assert_eq!(second.sealed_bytes().unwrap().len(), SEALED_SHARE_LEN);
    }

    #[test]
    fn a_damaged_file_is_told_apart() {
        let dir = tempfile::tempdir().unwrap();
        let store = ShareStore::open(dir.path()).unwrap();
        std::fs::write(store.path(&[1; 32]), b"{not json").unwrap();
        assert!(matches!(store.get(&[1; 32]), Err(ShareStoreError::Corrupt)));
        let short = StoredShare {
            generation: 0,
            dealing: String::new(),
            threshold: 0,
            endorsement: String::new(),
            sealed: "abcd".into(),
        };
        assert!(matches!(
            short.sealed_bytes(),
            Err(ShareStoreError::Corrupt)
        ));
    }
}
