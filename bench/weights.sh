#!/usr/bin/env bash
# Measures the benchmarks of MediGate's pallets against the runtime and writes
# the runtime's weight files, runtime/src/weights/pallet_*.rs.
#
# The runtime is built with the `runtime-benchmarks` feature, and the
# benchmarking CLI (tools/benchmark, a workspace of its own) in separate
# target directories, so neither disturbs the everyday build. STEPS and
# REPEAT trade precision for time (defaults 50 and 20, FRAME's own).
set -euo pipefail
cd "$(dirname "$0")/.."
cache="${MEDIGATE_CACHE:-$HOME/.cache/medigate}"
runtime_target="$cache/bench-runtime-target"
tool_target="$cache/tools-target"

echo "building the runtime with its benchmarks..." >&2
CARGO_TARGET_DIR="$runtime_target" cargo build -p medigate-runtime --features runtime-benchmarks
wasm="$runtime_target/debug/wbuild/medigate-runtime/medigate_runtime.wasm"

echo "building the benchmarking CLI..." >&2
# The CLI needs no WebAssembly of its own (SKIP_WASM_BUILD): it runs ours.
(cd tools/benchmark && SKIP_WASM_BUILD=1 CARGO_TARGET_DIR="$tool_target" cargo build)

# PALLETS names the pallets to measure (default: all of MediGate's).
for pallet in ${PALLETS:-pallet_registry pallet_records pallet_consent pallet_audit pallet_fee_waiver pallet_emergency}; do
    echo "measuring $pallet..." >&2
    "$tool_target/debug/medigate-benchmark" \
        --runtime "$wasm" --genesis-builder-preset development \
        --pallet "$pallet" --extrinsic '*' \
        --steps "${STEPS:-50}" --repeat "${REPEAT:-20}" \
        --output "runtime/src/weights/$pallet.rs"
done
