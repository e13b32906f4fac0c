//! A batch's files written to a local vault directory on one thread.
//!
//! `object_store`'s local backend runs each write, and each existence
//! check, on a blocking thread of its own. A batch holds a thousand small
//! files or more, and handing each one to another thread costs more than
//! writing it. Here a whole batch is checked and written on one blocking
//! thread, in the layout and with the publication `object_store` uses, so
//! that its reads and listings see the same files:
//! - a file is staged under `<name>#<digits>` (a name the listings skip)
//!   and renamed into place, so it is seen whole or not at all;
//! - missing directories are made on the way;
//! - nothing is synced here: the caller syncs the file system once
//!   afterwards.

use std::{
    io::{ErrorKind, Write},
    path::{Path, PathBuf},
    sync::atomic::{AtomicU64, Ordering},
};

use bytes::Bytes;

/// One file of a batch.
#[derive(Debug)]
pub struct FileWrite {
    /// Its path under the root, `/`-separated.
    pub path: String,
    /// Its content.
    pub bytes: Bytes,
    /// Whether an existing file is left as it is (content-addressed
    /// blobs) rather than replaced.
    pub keep_existing: bool,
}

/// Why a batch could not be written.
#[derive(Debug, thiserror::Error)]
pub enum LocalBatchError {
    /// A file the batch needs is not there.
    #[error("{0} is not stored")]
    Missing(String),
    /// The file system failed.
    #[error("{what} {path}: {source}")]
    Io {
        /// What was being done.
        what: &'static str,
        /// The file or directory.
        path: String,
        /// The error.
        source: std::io::Error,
    },
}

/// Tells staged files apart; they are made with `create_new`, so a name
/// left by an earlier run is skipped, never reused.
static NEXT_STAGING: AtomicU64 = AtomicU64::new(1);

/// Writes `writes` under `root`, in order, after checking that every path
/// in `required` (under `root`) exists: if one does not, nothing is
/// written. Returns, for each write, whether a file was written (false for
/// a `keep_existing` file that was there already).
pub fn write_batch(
    root: &Path,
    required: &[String],
    writes: &[FileWrite],
) -> Result<Vec<bool>, LocalBatchError> {
    for path in required {
        if !root.join(path).is_file() {
            return Err(LocalBatchError::Missing(path.clone()));
        }
    }
    writes
        .iter()
        .map(|write| {
            let path = root.join(&write.path);
            if write.keep_existing && path.is_file() {
                return Ok(false);
            }
            publish(&path, &write.bytes)?;
            Ok(true)
        })
        .collect()
}

/// Writes `bytes` to a staged file beside `path` and renames it into place.
fn publish(path: &Path, bytes: &[u8]) -> Result<(), LocalBatchError> {
    let io = |what: &'static str, path: &Path| {
        let path = path.display().to_string();
        move |source| LocalBatchError::Io { what, path, source }
    };
    let (mut file, staged) = staged_file(path)?;
    let written = file.write_all(bytes).and_then(|()| {
        drop(file);
        std::fs::rename(&staged, path)
    });
    if let Err(error) = written {
        let _ = std::fs::remove_file(&staged);
        return Err(io("writing", path)(error));
    }
    Ok(())
}

/// A new staged file beside `path`, making missing directories.
fn staged_file(path: &Path) -> Result<(std::fs::File, PathBuf), LocalBatchError> {
    let mut made_directories = false;
    loop {
        let mut staged = path.as_os_str().to_owned();
        staged.push(format!("#{}", NEXT_STAGING.fetch_add(1, Ordering::Relaxed)));
        let staged = PathBuf::from(staged);
        match std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .open(&staged)
        {
            Ok(file) => return Ok((file, staged)),
            Err(error) if error.kind() == ErrorKind::AlreadyExists => continue,
            Err(error) if error.kind() == ErrorKind::NotFound && !made_directories => {
                let parent = path.parent().unwrap_or(path);
                std::fs::create_dir_all(parent).map_err(|source| LocalBatchError::Io {
                    what: "making the directory",
                    path: parent.display().to_string(),
                    source,
                })?;
                made_directories = true;
            }
            Err(source) => {
                return Err(LocalBatchError::Io {
                    what: "creating",
                    path: staged.display().to_string(),
                    source,
                });
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn write(path: &str, bytes: &'static [u8], keep_existing: bool) -> FileWrite {
        FileWrite {
            path: path.to_string(),
            bytes: Bytes::from_static(bytes),
            keep_existing,
        }
    }

    #[test]
    fn files_land_in_new_directories_and_no_staged_file_stays() {
        let root = tempfile::tempdir().unwrap();
        let written = write_batch(
            root.path(),
            &[],
            &[write("a/b/c", b"one", false), write("a/d", b"two", true)],
        )
        .unwrap();
        assert_eq!(written, [true, true]);
        assert_eq!(std::fs::read(root.path().join("a/b/c")).unwrap(), b"one");
        assert_eq!(std::fs::read(root.path().join("a/d")).unwrap(), b"two");
        let names: Vec<String> = std::fs::read_dir(root.path().join("a"))
            .unwrap()
            .map(|entry| entry.unwrap().file_name().into_string().unwrap())
            .collect();
        assert!(names.iter().all(|name| !name.contains('#')), "{names:?}");
    }

    #[test]
    fn a_kept_file_is_left_and_a_replaced_one_is_replaced() {
        let root = tempfile::tempdir().unwrap();
        write_batch(
            root.path(),
            &[],
            &[
                write("kept", b"old", true),
                write("replaced", b"old", false),
            ],
        )
        .unwrap();
        let written = write_batch(
            root.path(),
            &[],
            &[
                write("kept", b"new", true),
                write("replaced", b"new", false),
            ],
        )
        .unwrap();
        assert_eq!(written, [false, true]);
        assert_eq!(std::fs::read(root.path().join("kept")).unwrap(), b"old");
        assert_eq!(std::fs::read(root.path().join("replaced")).unwrap(), b"new");
    }

    #[test]
    fn a_missing_required_file_writes_nothing() {
        let root = tempfile::tempdir().unwrap();
        let error = write_batch(
            root.path(),
            &["blobs/absent".to_string()],
            &[write("blobs/present", b"x", true)],
        )
        .unwrap_err();
        assert!(matches!(error, LocalBatchError::Missing(ref path) if path == "blobs/absent"));
        assert!(!root.path().join("blobs").exists());
    }
}
