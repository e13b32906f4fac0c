//! The custodian's own record of every share it released: one JSON line per
//! release, appended and synced before the share leaves.

use std::{
    io::Write,
    path::{Path, PathBuf},
};

use serde::{Deserialize, Serialize};

/// One release.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Release {
    /// The break-glass it answered.
    pub break_glass: u64,
    /// Whose key (hex account).
    pub patient: String,
    /// To whom (hex account).
    pub responder: String,
    /// The block holding the break-glass.
    pub block: u64,
    /// When (this machine's clock, milliseconds since the Unix epoch).
    pub released_at_ms: u64,
}

/// The append-only release log, `releases.jsonl` in the data directory.
#[derive(Debug)]
pub struct ReleaseLog {
    path: PathBuf,
}

impl ReleaseLog {
    /// The log under `data_dir`.
    pub fn open(data_dir: &Path) -> std::io::Result<Self> {
        std::fs::create_dir_all(data_dir)?;
        Ok(Self {
            path: data_dir.join("releases.jsonl"),
        })
    }

    /// Appends `release` and syncs it.
    pub fn append(&self, release: &Release) -> std::io::Result<()> {
        let mut line = serde_json::to_vec(release).expect("a release serializes");
        line.push(b'\n');
        let mut file = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&self.path)?;
        file.write_all(&line)?;
        file.sync_data()
    }

    /// Every release logged, oldest first.
    pub fn all(&self) -> std::io::Result<Vec<Release>> {
        match std::fs::read_to_string(&self.path) {
            Ok(text) => Ok(text
                .lines()
                .filter_map(|line| serde_json::from_str(line).ok())
                .collect()),
            Err(error) if error.kind() == std::io::ErrorKind::NotFound => Ok(Vec::new()),
            Err(error) => Err(error),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn releases_are_appended_in_order() {
        let dir = tempfile::tempdir().unwrap();
        let log = ReleaseLog::open(dir.path()).unwrap();
        assert!(log.all().unwrap().is_empty());
        for break_glass in 0..3 {
            log.append(&Release {
                break_glass,
                patient: "aa".into(),
                responder: "bb".into(),
                block: 5,
                released_at_ms: 1,
            })
            .unwrap();
        }
        let ids: Vec<u64> = log.all().unwrap().iter().map(|r| r.break_glass).collect();
        assert_eq!(ids, [0, 1, 2]);
    }
}
