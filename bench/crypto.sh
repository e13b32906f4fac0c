#!/usr/bin/env bash
# Record encryption and decryption throughput as a share of raw
# XChaCha20-Poly1305, measured in the same run (64 MiB, median of 7 runs).
set -euo pipefail
cd "$(dirname "$0")/.."
exec cargo bench -p medigate-crypto --bench throughput
