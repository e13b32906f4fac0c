#!/usr/bin/env bash
# Figures of emergency access on a `medigate dev` network with five
# custodians, three needed: the time from a break-glass in the web app to
# the patient's summary on screen, after the call is included in a block and
# from the call itself, p50 and p99 over ROUNDS (default 3) rounds of eleven
# break-glasses, a minute apart (about four minutes in all).
set -euo pipefail
cd "$(dirname "$0")/.."
./scripts/setup.sh
# The same build as the test command (the same features), so nothing is built twice.
cargo build --workspace --all-targets
target_dir=$(cargo metadata --format-version 1 --no-deps | python3 -c 'import json,sys; print(json.load(sys.stdin)["target_directory"])')
exec python3 bench/emergency.py "$target_dir/debug/medigate" "${ROUNDS:-3}"
