#!/usr/bin/env bash
# Builds the MediGate node and starts a bare development chain (no vault,
# no gateways; for those, scripts/dev.sh): one validator
# (Alice), a block every second, GRANDPA finality, JSON-RPC on
# ws://127.0.0.1:9944, peers on 127.0.0.1:30333: loopback only, no unsafe
# RPC methods, no web page allowed to call it (`--dev` alone would allow all
# three). The chain starts fresh each time unless MEDIGATE_BASE_PATH names a
# directory to keep it in. Extra arguments go to the node (e.g. --rpc-port
# 9955).
set -euo pipefail
cd "$(dirname "$0")/.."

./scripts/setup.sh
# The same build as the test command (scripts/test.sh), so that both share
# one set of compiled dependencies.
cargo build --workspace --all-targets
target_dir=$(cargo metadata --format-version 1 --no-deps | python3 -c 'import json,sys; print(json.load(sys.stdin)["target_directory"])')

if [ -n "${MEDIGATE_BASE_PATH:-}" ]; then
    storage=(--base-path "$MEDIGATE_BASE_PATH")
else
    storage=(--tmp)
fi
exec "$target_dir/debug/medigate-node" --dev "${storage[@]}" \
    --listen-addr /ip4/127.0.0.1/tcp/30333 --rpc-methods safe \
    --rpc-cors http://127.0.0.1:9944 "$@"
