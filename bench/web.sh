#!/usr/bin/env bash
# Figures of the web app on a `medigate dev` network whose patient has about
# 1,000 records (ENCOUNTERS, default 71): time to first meaningful paint of
# the patient's timeline in headless Chromium (first contentful paint and
# largest contentful paint, each load in a fresh browser profile, signed in),
# the server's time to answer the page, and the page's weight (HTML, style
# sheet, script, as transferred). Medians over RUNS (default 5).
set -euo pipefail
cd "$(dirname "$0")/.."
./scripts/setup.sh
cargo build --workspace --all-targets
target_dir=$(cargo metadata --format-version 1 --no-deps | python3 -c 'import json,sys; print(json.load(sys.stdin)["target_directory"])')
exec python3 bench/web.py "$target_dir/debug/medigate" "${RUNS:-5}" "${ENCOUNTERS:-71}"
