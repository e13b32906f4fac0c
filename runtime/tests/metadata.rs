//! `metadata/medigate.scale` must match the runtime: clients generate their
//! code from it (subxt), so a stale file means clients that cannot talk to the
//! chain. Regenerate it with:
//!
//! ```sh
//! MEDIGATE_UPDATE_METADATA=1 cargo test -p medigate-runtime --test metadata
//! ```

use std::{fs, path::PathBuf};

/// The metadata version clients are generated from.
const METADATA_VERSION: u32 = 16;

fn metadata_file() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../metadata/medigate.scale")
}

#[test]
fn exported_metadata_matches_the_runtime() {
    let current = medigate_runtime::Runtime::metadata_at_version(METADATA_VERSION)
        .expect("the runtime offers metadata v16");
    let current: &[u8] = &current;
    let path = metadata_file();

    if std::env::var_os("MEDIGATE_UPDATE_METADATA").is_some() {
        fs::write(&path, current).expect("writes metadata/medigate.scale");
    }
    let exported = fs::read(&path).unwrap_or_default();
    assert!(
        exported == current,
        "{} is stale ({} bytes, the runtime's metadata has {}); regenerate it with \
         `MEDIGATE_UPDATE_METADATA=1 cargo test -p medigate-runtime --test metadata` and commit it",
        path.display(),
        exported.len(),
        current.len()
    );
}
