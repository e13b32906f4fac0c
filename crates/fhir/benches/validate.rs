//! Validation throughput: how fast a patient's Bundle is checked against
//! the R4 schema, in MB/s of Bundle JSON, and how long an import's first
//! step (validating and taking the Bundle apart) takes.
//!
//! `cargo bench -p medigate-fhir --bench validate` (or `bench/fhir.sh`)
//! measures first a process's first validation (which compiles the
//! validator), then, over 7 runs after a warm-up, on every core the machine
//! has:
//! a realistic synthetic Bundle (about 800 resources and 2.7 MB, shaped
//! like real Synthea output: base64 notes, conditional references, large
//! claims), the project's lean 8,403-resource Bundle, and each real-world
//! Bundle kept in `tests/data/real-world/` (Synthea output, IPS documents).
//! It prints the median of each.

use std::{
    path::Path,
    time::{Duration, Instant},
};

use medigate_fhir::{raw::take_apart, synthetic};

const RUNS: usize = 7;

fn median(mut samples: Vec<Duration>) -> Duration {
    samples.sort();
    samples[samples.len() / 2]
}

/// The median time of `work` over [`RUNS`] runs after one warm-up.
fn timed(mut work: impl FnMut()) -> Duration {
    work();
    median(
        (0..RUNS)
            .map(|_| {
                let started = Instant::now();
                work();
                started.elapsed()
            })
            .collect(),
    )
}

fn measure(name: &str, bytes: &[u8]) {
    let resources = serde_json::from_slice::<serde_json::Value>(bytes)
        .ok()
        .and_then(|bundle| bundle["entry"].as_array().map(Vec::len))
        .unwrap_or(0);
    let validate = timed(|| {
        medigate_fhir::parse(bytes).expect("the Bundle is valid R4");
    });
    let taken = timed(|| {
        // Patient Bundles only: a support file (no Patient) is not one.
        let _ = take_apart(bytes, "bench");
    });
    let megabytes = bytes.len() as f64 / 1e6;
    println!(
        "{name:<44} {resources:>6} resources {megabytes:>6.2} MB  validate {:>7.1} ms = {:>6.1} MB/s  \
         validate and take apart {:>7.1} ms",
        validate.as_secs_f64() * 1e3,
        megabytes / validate.as_secs_f64(),
        taken.as_secs_f64() * 1e3,
    );
}

fn main() {
    let cores = std::thread::available_parallelism().map_or(1, usize::from);
    // A process's first validation of each resource type compiles that
    // type's validator: what a gateway's first import pays.
    let first = synthetic::realistic_bundle(2026, 50).to_string();
    let started = Instant::now();
    medigate_fhir::parse(first.as_bytes()).expect("the Bundle is valid R4");
    println!(
        "first validation in this process (validators compiled): {:.1} ms",
        started.elapsed().as_secs_f64() * 1e3
    );
    println!("FHIR R4 validation, median of {RUNS} runs, {cores} cores");
    let realistic = synthetic::realistic_bundle(2026, 50).to_string();
    measure("synthetic realistic (50 encounters)", realistic.as_bytes());
    let lean = synthetic::patient_bundle(2026, 600).to_string();
    measure("synthetic lean (600 encounters)", lean.as_bytes());
    let real_world = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/real-world");
    let mut files: Vec<_> = std::fs::read_dir(&real_world)
        .map(|entries| {
            entries
                .filter_map(Result::ok)
                .map(|entry| entry.path())
                .filter(|path| path.extension().is_some_and(|ext| ext == "json"))
                .collect()
        })
        .unwrap_or_default();
    files.sort();
    for path in files {
        let bytes = std::fs::read(&path).expect("a real-world Bundle reads");
        let name = path.file_name().unwrap().to_string_lossy().to_string();
        measure(&name, &bytes);
    }
}
