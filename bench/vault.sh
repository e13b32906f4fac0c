#!/usr/bin/env bash
# Load figures of the vault (gated 4 KiB reads: latency and reads/s; 64 MiB
# upload and download throughput; receipts on chain), each a median over RUNS
# fresh dev nodes and vaults (default 3).
set -euo pipefail
cd "$(dirname "$0")/.."
cargo build --workspace --all-targets
target_dir=$(cargo metadata --format-version 1 --no-deps | python3 -c 'import json,sys; print(json.load(sys.stdin)["target_directory"])')
exec "$target_dir/debug/medigate-vault-load" "$target_dir/debug/medigate-node" "$target_dir/debug/medigate-vault" "${RUNS:-3}"
