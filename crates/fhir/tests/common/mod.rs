//! What the crate's integration tests share.

use std::path::PathBuf;

/// Where HL7's R4 examples (the npm package `hl7.fhir.r4.examples` 4.0.1)
/// are: `MEDIGATE_R4_EXAMPLES`, or where `scripts/setup.sh` fetches them,
/// `~/.cache/medigate/corpora`. The directory may not exist.
pub fn r4_examples() -> PathBuf {
    std::env::var_os("MEDIGATE_R4_EXAMPLES")
        .map(PathBuf::from)
        .unwrap_or_else(|| {
            PathBuf::from(std::env::var_os("HOME").expect("HOME is set"))
                .join(".cache/medigate/corpora/hl7.fhir.r4.examples-4.0.1/package")
        })
}
