#!/usr/bin/env bash
# Runs every fuzz target of the parsers of untrusted input for FUZZ_SECONDS
# each (default 10: a smoke run; give it hours to hunt). Needs a nightly
# toolchain and cargo-fuzz, installed here when missing. Crashes are kept
# under crates/crypto/fuzz/artifacts/.
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
cd crates/crypto
for target in envelope wrap keystore; do
    echo "fuzzing $target for ${seconds}s..." >&2
    mkdir -p "fuzz/corpus/$target"
    cargo +nightly fuzz run "$target" "fuzz/corpus/$target" -- \
        -max_total_time="$seconds" -dict=fuzz/dict.txt -rss_limit_mb=2048
done
