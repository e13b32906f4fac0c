#!/usr/bin/env bash
# Runs every MediGate test: formatting, unit and mock-runtime tests, and the
# integration tests that start real nodes on loopback.
set -euo pipefail
cd "$(dirname "$0")/.."

./scripts/setup.sh
export PATH="${MEDIGATE_TOOLS:-$HOME/.cache/medigate/tools}/bin:$PATH"
cargo fmt --all --check
cargo build --workspace --all-targets
cargo test --workspace --no-fail-fast -- --nocapture
# The pallets' benchmarks, run once each against their mock runtimes, so that
# the weight measurements keep working.
cargo test -p pallet-registry -p pallet-records -p pallet-consent -p pallet-audit -p pallet-fee-waiver --lib \
    --features pallet-registry/runtime-benchmarks,pallet-records/runtime-benchmarks,pallet-consent/runtime-benchmarks,pallet-audit/runtime-benchmarks,pallet-fee-waiver/runtime-benchmarks \
    -- benchmarking
# A short run of every fuzz target (see scripts/fuzz.sh).
FUZZ_SECONDS="${FUZZ_SECONDS:-10}" ./scripts/fuzz.sh
