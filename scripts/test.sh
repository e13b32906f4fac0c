#!/usr/bin/env bash
# Runs every MediGate test: formatting, unit and mock-runtime tests, and the
# integration tests that start real nodes (and a PostgreSQL server, see
# scripts/postgres.sh) on loopback.
set -euo pipefail
cd "$(dirname "$0")/.."

# Runs a phase of the tests and reports its wall time as
# "test: phase NAME took N s" (bench/ci.sh tabulates these lines).
phase() {
    local name="$1" started=$SECONDS
    shift
    "$@"
    echo "test: phase $name took $((SECONDS - started)) s"
}

phase setup ./scripts/setup.sh
phase format cargo fmt --all --check
# Licences, bans, sources and security advisories of every dependency
# (deny.toml; the advisory databases are described in deny/README.md).
phase dependencies ./scripts/deny.sh
# --timings: a report of what each crate took, in target/cargo-timings/.
phase build cargo build --workspace --all-targets --timings
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
# Every test program of the workspace, a few at a time (most wait for
# blocks and services, not for the processor); see scripts/run_tests.py.
phase test ./scripts/run_tests.py -- --nocapture
# The pallets' benchmarks, run once each against their mock runtimes, so that
# the weight measurements keep working. They need the `runtime-benchmarks`
# features; selecting the whole workspace, as the test pass above does, keeps
# every other crate's features as they were, so that only the crates those
# features change are built again. The benchmarks run in the pallets' mock
# runtimes, so no WebAssembly runtime with benchmarks is built
# (SKIP_WASM_BUILD; bench/weights.sh builds one to measure weights).
benchmarked=(pallet-registry pallet-records pallet-consent pallet-audit pallet-fee-waiver pallet-emergency medigate-runtime)
benchmark_features=$(IFS=,; echo "${benchmarked[*]/%//runtime-benchmarks}")
phase benchmarks env SKIP_WASM_BUILD=1 cargo test --workspace --lib --features "$benchmark_features" \
    -- benchmarking
