#!/usr/bin/env bash
# Runs every MediGate test: formatting, unit and mock-runtime tests, and the
# integration tests that start real nodes on loopback.
set -euo pipefail
cd "$(dirname "$0")/.."

./scripts/setup.sh
cargo fmt --all --check
cargo build --workspace --all-targets
cargo test --workspace --no-fail-fast -- --nocapture
