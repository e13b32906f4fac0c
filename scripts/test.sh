#!/usr/bin/env bash
# Runs every MediGate test: formatting, unit and mock-runtime tests, and the
# integration tests that start real nodes (and a PostgreSQL server, see
# scripts/postgres.sh) on loopback.
set -euo pipefail
cd "$(dirname "$0")/.."

./scripts/setup.sh
export PATH="${MEDIGATE_TOOLS:-$HOME/.cache/medigate/tools}/bin:$PATH"
cargo fmt --all --check
cargo build --workspace --all-targets
# A throwaway PostgreSQL server for the gateway's PostgreSQL tests, stopped
# and deleted however this script ends.
pg_dir=$(mktemp -d "${TMPDIR:-/tmp}/medigate-pg.XXXXXX")
trap './scripts/postgres.sh stop "$pg_dir" || true; rm -rf "$pg_dir"' EXIT
MEDIGATE_TEST_POSTGRES_URL=$(./scripts/postgres.sh start "$pg_dir")
export MEDIGATE_TEST_POSTGRES_URL
# Here the PostgreSQL index and the outside FHIR validator (fhir.resources,
# installed by setup.sh) must be tested, not skipped.
export MEDIGATE_REQUIRE_POSTGRES=1 MEDIGATE_REQUIRE_FHIR_CHECK=1
echo "test: PostgreSQL listens at $MEDIGATE_TEST_POSTGRES_URL (data and log in $pg_dir)"
cargo test --workspace --no-fail-fast -- --nocapture
# The pallets' benchmarks, run once each against their mock runtimes, so that
# the weight measurements keep working.
cargo test -p pallet-registry -p pallet-records -p pallet-consent -p pallet-audit -p pallet-fee-waiver -p pallet-emergency --lib \
    --features pallet-registry/runtime-benchmarks,pallet-records/runtime-benchmarks,pallet-consent/runtime-benchmarks,pallet-audit/runtime-benchmarks,pallet-fee-waiver/runtime-benchmarks,pallet-emergency/runtime-benchmarks \
    -- benchmarking
# A short run of every fuzz target (see scripts/fuzz.sh).
FUZZ_SECONDS="${FUZZ_SECONDS:-10}" ./scripts/fuzz.sh
