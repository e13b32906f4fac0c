//! Runs a fuzz target's property as an ordinary test on the stable
//! toolchain: on every input of the target's committed seeds
//! (`fuzz/seeds/<target>/`), of its local corpus (`fuzz/corpus/<target>/`,
//! grown by `scripts/fuzz.sh`), on seeds the test makes with the real API,
//! and on mutants of all of them made the way libFuzzer makes them (with the
//! target's `fuzz/dict.txt`).
//!
//! The property is the very function the libFuzzer target calls, so the test
//! runs the same code paths as the fuzzer, without its nightly sanitizer
//! build. Long, coverage-guided fuzzing stays with `scripts/fuzz.sh`.
//!
//! Each run draws a new generator seed and prints it; `FUZZ_REPLAY_SEED=N`
//! makes the same mutants again, `FUZZ_REPLAY_MUTANTS=N` changes how many are
//! made. An input that breaks the property is written to
//! `fuzz/artifacts/<target>/`, where `cargo fuzz run <target> <file>` also
//! replays it, and the test fails naming the file.

pub mod dict;
pub mod mutate;

use std::{
    fs,
    panic::{self, AssertUnwindSafe},
    path::{Path, PathBuf},
    time::{SystemTime, UNIX_EPOCH},
};

use mutate::{Mutator, Rng};

/// Inputs no longer than this are made unless a seed is longer.
const DEFAULT_MAX_LEN: usize = 4096;

/// A replay of one fuzz target.
#[derive(Debug)]
pub struct Replay {
    fuzz_dir: PathBuf,
    target: String,
    seeds: Vec<(String, Vec<u8>)>,
    mutants: usize,
}

/// What a replay ran.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Report {
    /// Inputs taken as they are: seeds, corpus files, the test's own seeds.
    pub inputs: usize,
    /// Mutants made of them.
    pub mutants: usize,
    /// The generator's seed.
    pub seed: u64,
}

impl Replay {
    /// A replay of `target`, whose seeds, corpus, dictionary and artifacts
    /// are under `fuzz_dir` (a crate's `fuzz` directory). It makes 10,000
    /// mutants unless told otherwise.
    pub fn new(fuzz_dir: impl Into<PathBuf>, target: &str) -> Self {
        Self {
            fuzz_dir: fuzz_dir.into(),
            target: target.to_owned(),
            seeds: Vec::new(),
            mutants: 10_000,
        }
    }

    /// Adds an input made by the test, named `name` in reports.
    pub fn seed(mut self, name: &str, input: impl Into<Vec<u8>>) -> Self {
        self.seeds.push((name.to_owned(), input.into()));
        self
    }

    /// Makes `count` mutants (unless `FUZZ_REPLAY_MUTANTS` says otherwise).
    pub fn mutants(mut self, count: usize) -> Self {
        self.mutants = count;
        self
    }

    /// Runs `check` on every input and mutant. Panics, after writing the
    /// input to `fuzz/artifacts/<target>/`, at the first input `check`
    /// panics on; panics too when the target has no input at all.
    pub fn run(self, check: impl Fn(&[u8])) -> Report {
        let mut inputs = self.seeds;
        for kind in ["seeds", "corpus"] {
            inputs.extend(read_inputs(&self.fuzz_dir.join(kind).join(&self.target)));
        }
        assert!(
            !inputs.is_empty(),
            "fuzz target {}: no seed in {} and none made by the test",
            self.target,
            self.fuzz_dir.join("seeds").join(&self.target).display()
        );
        let dictionary = match fs::read_to_string(self.fuzz_dir.join("dict.txt")) {
            Ok(text) => dict::parse(&text).unwrap_or_else(|error| panic!("{error}")),
            Err(_) => Vec::new(),
        };
        let mutants = env_number("FUZZ_REPLAY_MUTANTS").unwrap_or(self.mutants as u64) as usize;
        let seed = env_number("FUZZ_REPLAY_SEED").unwrap_or_else(fresh_seed);
        println!(
            "fuzz replay {}: {} inputs, {mutants} mutants, FUZZ_REPLAY_SEED={seed}",
            self.target,
            inputs.len()
        );

        let failing = Failing {
            fuzz_dir: &self.fuzz_dir,
            target: &self.target,
            seed,
        };
        for (name, input) in &inputs {
            failing.check(&check, input, || name.clone());
        }
        let longest = inputs
            .iter()
            .map(|(_, input)| input.len())
            .max()
            .unwrap_or(0);
        let mutator = Mutator::new(&dictionary, DEFAULT_MAX_LEN.max(2 * longest));
        let mut rng = Rng::new(seed);
        for index in 0..mutants {
            let (name, input) = &inputs[rng.below(inputs.len())];
            let (_, other) = &inputs[rng.below(inputs.len())];
            let mutant = mutator.mutant(&mut rng, input, other);
            failing.check(&check, &mutant, || format!("mutant {index} of {name}"));
        }
        Report {
            inputs: inputs.len(),
            mutants,
            seed,
        }
    }
}

/// Where a failing input is written and how it is named.
struct Failing<'a> {
    fuzz_dir: &'a Path,
    target: &'a str,
    seed: u64,
}

impl Failing<'_> {
    fn check(&self, check: &impl Fn(&[u8]), input: &[u8], origin: impl Fn() -> String) {
        if panic::catch_unwind(AssertUnwindSafe(|| check(input))).is_ok() {
            return;
        }
        let directory = self.fuzz_dir.join("artifacts").join(self.target);
        let path = directory.join(format!("replay-{}-{}", self.seed, fnv1a(input)));
        let written = fs::create_dir_all(&directory).and_then(|()| fs::write(&path, input));
        let kept = match written {
            Ok(()) => format!("kept in {}", path.display()),
            Err(error) => format!("not kept ({error})"),
        };
        panic!(
            "fuzz target {} fails on {} (FUZZ_REPLAY_SEED={}, {} bytes, {kept}); \
             replay it with `cargo +nightly fuzz run {} <file>`",
            self.target,
            origin(),
            self.seed,
            input.len(),
            self.target
        );
    }
}

/// The files of `directory` (none if it does not exist), by name.
fn read_inputs(directory: &Path) -> Vec<(String, Vec<u8>)> {
    let Ok(entries) = fs::read_dir(directory) else {
        return Vec::new();
    };
    let mut paths: Vec<PathBuf> = entries
        .filter_map(|entry| entry.ok().map(|entry| entry.path()))
        .filter(|path| path.is_file())
        .collect();
    paths.sort();
    paths
        .into_iter()
        .map(|path| {
            let input = fs::read(&path)
                .unwrap_or_else(|error| panic!("reading {}: {error}", path.display()));
            (path.display().to_string(), input)
        })
        .collect()
}

fn env_number(name: &str) -> Option<u64> {
    let value = std::env::var(name).ok()?;
    Some(
        value
            .parse()
            .unwrap_or_else(|_| panic!("{name}={value} is not a whole number")),
    )
}

fn fresh_seed() -> u64 {
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |elapsed| elapsed.as_nanos() as u64);
    Rng::new(nanos ^ (u64::from(std::process::id()) << 32)).next_u64()
}

/// A short, stable name for an input (FNV-1a, 64 bits, in hex).
fn fnv1a(input: &[u8]) -> String {
    let hash = input.iter().fold(0xcbf2_9ce4_8422_2325_u64, |hash, byte| {
        (hash ^ u64::from(*byte)).wrapping_mul(0x0000_0100_0000_01b3)
    });
    format!("{hash:016x}")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fuzz_dir(name: &str) -> PathBuf {
        let dir = std::env::temp_dir().join(format!(
            "medigate-fuzz-replay-{name}-{}",
            std::process::id()
        ));
        let _ = fs::remove_dir_all(&dir);
        fs::create_dir_all(dir.join("seeds/target")).unwrap();
        dir
    }

    #[test]
    fn runs_committed_seeds_test_seeds_and_mutants() {
        let dir = fuzz_dir("runs");
        fs::write(dir.join("seeds/target/one"), b"committed").unwrap();
        fs::write(dir.join("dict.txt"), "\"TOKEN\"\n").unwrap();
        let seen = std::cell::RefCell::new(Vec::new());
        let report = Replay::new(&dir, "target")
            .seed("made", b"made by the test".to_vec())
            .mutants(500)
            .run(|input| seen.borrow_mut().push(input.to_vec()));
        assert_eq!(report.inputs, 2);
        let seen = seen.into_inner();
        assert_eq!(seen.len(), 2 + report.mutants);
        assert!(seen.contains(&b"committed".to_vec()));
        assert!(seen.contains(&b"made by the test".to_vec()));
        assert!(
            seen.iter()
                .any(|input| input.windows(5).any(|w| w == b"TOKEN"))
        );
        fs::remove_dir_all(dir).unwrap();
    }

    #[test]
    fn a_failing_input_is_kept_and_named() {
        let dir = fuzz_dir("fails");
        fs::write(dir.join("seeds/target/good"), b"good").unwrap();
        let outcome = panic::catch_unwind(|| {
            Replay::new(&dir, "target")
                .mutants(10_000)
                .run(|input| assert!(!input.is_empty(), "an empty input"))
        });
        let message = *outcome.unwrap_err().downcast::<String>().unwrap();
        assert!(
            message.contains("fuzz target target fails on mutant"),
            "{message}"
        );
        let kept: Vec<_> = fs::read_dir(dir.join("artifacts/target"))
            .unwrap()
            .collect();
        assert_eq!(kept.len(), 1);
        let path = kept[0].as_ref().unwrap().path();
        assert_eq!(fs::read(path).unwrap(), b"");
        fs::remove_dir_all(dir).unwrap();
    }

    #[test]
    fn a_target_without_inputs_is_an_error() {
        let dir = fuzz_dir("empty");
        let outcome = panic::catch_unwind(|| Replay::new(&dir, "target").run(|_| {}));
        assert!(outcome.is_err());
        fs::remove_dir_all(dir).unwrap();
    }
}
