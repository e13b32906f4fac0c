#!/usr/bin/env bash
# Builds MediGate and runs `medigate dev`: a complete network on this machine
# (a dev node, a vault, one gateway per demo participant: a patient with
# imported records, a hospital, a doctor, an emergency responder, a
# researcher, an insurer, a guardian), printing where each gateway listens
# and what to try first. Stop it with Ctrl-C. Arguments go to `medigate dev` (see
# `medigate dev --help`: --dir, --port, --encounters).
set -euo pipefail
cd "$(dirname "$0")/.."

./scripts/setup.sh
# The same build as the test command (scripts/test.sh), so that both share
# one set of compiled dependencies.
cargo build --workspace --all-targets
target_dir=$(cargo metadata --format-version 1 --no-deps | python3 -c 'import json,sys; print(json.load(sys.stdin)["target_directory"])')
exec "$target_dir/debug/medigate" dev "$@"
