//! Every fuzz target of this crate (`fuzz/fuzz_targets/`), run on the stable
//! toolchain over its seeds, its local corpus, Bundles made here (a
//! synthetic patient's, and HL7's own R4 examples where `scripts/setup.sh`
//! fetched them) and mutants of them all (see `medigate-fuzz-replay`).

mod common;
#[path = "../fuzz/src/lib.rs"]
mod targets;

use medigate_fuzz_replay::Replay;

/// HL7's example Bundles used as seeds, when the corpus is installed.
const HL7_BUNDLES: [&str; 3] = [
    "Bundle-bundle-transaction.json",
    "Bundle-bundle-example.json",
    "Bundle-bundle-response.json",
];

fn replay(target: &str) -> Replay {
    let mut replay = Replay::new(concat!(env!("CARGO_MANIFEST_DIR"), "/fuzz"), target).seed(
        "a synthetic patient's Bundle",
        serde_json::to_vec(&medigate_fhir::synthetic::patient_bundle(7, 1)).expect("JSON"),
    );
    let examples = common::r4_examples();
    for name in HL7_BUNDLES {
        if let Ok(bytes) = std::fs::read(examples.join(name)) {
            replay = replay.seed(name, bytes);
        }
    }
    replay
}

#[test]
fn bundle() {
    replay("bundle").mutants(3_000).run(targets::bundle);
}

#[test]
fn raw_bundle() {
    replay("raw_bundle").mutants(3_000).run(targets::raw_bundle);
}
