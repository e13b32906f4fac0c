#!/usr/bin/env bash
# FHIR R4 validation throughput (MB/s) on a realistic synthetic Bundle, the
# lean 8,403-resource one and the real-world Bundles of
# crates/fhir/tests/data/real-world (median of 7 runs, release profile).
set -euo pipefail
cd "$(dirname "$0")/.."
exec cargo bench -p medigate-fhir --bench validate
