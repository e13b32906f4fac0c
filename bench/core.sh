#!/usr/bin/env bash
# Load figures of the on-chain core (anchors/s, grants/s, check_access
# latency, on-chain bytes), each a median over RUNS fresh dev nodes (default 3).
set -euo pipefail
cd "$(dirname "$0")/.."
cargo build --workspace --all-targets
target_dir=$(cargo metadata --format-version 1 --no-deps | python3 -c 'import json,sys; print(json.load(sys.stdin)["target_directory"])')
exec "$target_dir/debug/medigate-core-load" "$target_dir/debug/medigate-node" "${RUNS:-3}"
