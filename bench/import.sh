#!/usr/bin/env bash
# Figures of the gateway on a `medigate dev` network: import throughput of
# Synthea-sized Bundles end to end (validation, encryption, staging,
# anchoring on chain, storing in the vault), and the time from a patient's
# approval to the doctor's first decrypted read, and the import of a
# realistic Bundle (shaped like real Synthea output, about 800 resources and
# 2.7 MB) on a fresh account. Medians over RUNS (default 3); ENCOUNTERS
# (default 150, about 2,100 resources) sets the throughput Bundles' size,
# REALISTIC_ENCOUNTERS (default 50) the realistic one's.
set -euo pipefail
cd "$(dirname "$0")/.."
cargo build --workspace --all-targets
target_dir=$(cargo metadata --format-version 1 --no-deps | python3 -c 'import json,sys; print(json.load(sys.stdin)["target_directory"])')
exec python3 bench/import.py "$target_dir/debug/medigate" "${RUNS:-3}" "${ENCOUNTERS:-150}"
