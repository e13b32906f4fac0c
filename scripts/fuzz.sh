#!/usr/bin/env bash
# Runs every fuzz target of the parsers of untrusted input for FUZZ_SECONDS
# each (default 10: a smoke run; give it hours to hunt), coverage-guided and
# with AddressSanitizer. Needs a nightly toolchain and cargo-fuzz, installed
# here when missing. What it learns is kept in each crate's fuzz/corpus/,
# which the stable replay tests (tests/fuzz_replay.rs, run by
# scripts/test.sh) replay too; crashes are kept under fuzz/artifacts/.
set -euo pipefail
cd "$(dirname "$0")/.."
seconds="${FUZZ_SECONDS:-10}"

if ! rustup toolchain list | grep -q '^nightly'; then
    rustup toolchain install nightly --profile minimal
fi
if ! command -v cargo-fuzz >/dev/null; then
    cargo install cargo-fuzz --locked
fi

# Sanitizer builds stay apart from the everyday build.
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$PWD/target}/fuzz"
fuzz() {
    local crate="$1" target="$2"
    echo "fuzzing $crate/$target for ${seconds}s..." >&2
    mkdir -p "crates/$crate/fuzz/corpus/$target"
    # Seed inputs kept in the repository, when the target has them.
    local seeds=()
    [ -d "crates/$crate/fuzz/seeds/$target" ] && seeds=("fuzz/seeds/$target")
    (cd "crates/$crate" && cargo +nightly fuzz run "$target" "fuzz/corpus/$target" "${seeds[@]}" -- \
        -max_total_time="$seconds" -dict=fuzz/dict.txt -rss_limit_mb=2048)
}
for target in envelope wrap keystore card sealed_share; do
    fuzz crypto "$target"
done
fuzz vault signed_headers
fuzz vault batch
fuzz fhir bundle
fuzz fhir raw_bundle
