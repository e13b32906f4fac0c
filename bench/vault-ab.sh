#!/usr/bin/env bash
# Gated-read figures of two builds in one sitting: runs `medigate-vault-load`
# (see bench/vault-load) once per build per round, alternating the builds so
# that the machine's drift falls on both alike, then prints each build's
# runs and medians and, round by round, the second build's reads/s over the
# first's with their median.
#
# Usage: bench/vault-ab.sh DIR_A DIR_B [ROUNDS]
#   DIR_A, DIR_B: directories each holding medigate-node, medigate-vault and
#   medigate-vault-load of one build (copy them from target/debug after
#   building each commit; a load generator drives its own build's vault).
#   ROUNDS: default 5.
set -euo pipefail
a="${1:?usage: bench/vault-ab.sh DIR_A DIR_B [ROUNDS]}"
b="${2:?usage: bench/vault-ab.sh DIR_A DIR_B [ROUNDS]}"
rounds="${3:-5}"
for dir in "$a" "$b"; do
    for binary in medigate-node medigate-vault medigate-vault-load; do
        [ -x "$dir/$binary" ] || { echo "bench/vault-ab.sh: $dir/$binary is missing" >&2; exit 2; }
    done
done
results=$(mktemp)
trap 'rm -f "$results"' EXIT
for round in $(seq "$rounds"); do
    for dir in "$a" "$b"; do
        line=$("$dir/medigate-vault-load" "$dir/medigate-node" "$dir/medigate-vault" 1 | grep '^run 1:')
        echo "round $round, $dir: $line" >&2
        # "...; 4132 reads/s (32 in flight..." and "read p50 1.06 ms"
        rate=$(sed -E 's/.*; ([0-9]+) reads\/s.*/\1/' <<<"$line")
        p50=$(sed -E 's/.*read p50 ([0-9.]+) ms.*/\1/' <<<"$line")
        echo "$round $dir $rate $p50" >>"$results"
    done
done
python3 - "$results" "$a" "$b" <<'PY'
import statistics, sys
path, a, b = sys.argv[1:]
rows = [line.split() for line in open(path)]
for build in (a, b):
    rates = [int(r[2]) for r in rows if r[1] == build]
    p50s = [float(r[3]) for r in rows if r[1] == build]
    print(f"{build}: reads/s (32 in flight) {rates}, median {statistics.median(rates):.0f}; "
          f"one at a time p50 median {statistics.median(p50s):.2f} ms")
ratios = []
for round_ in sorted({r[0] for r in rows}, key=int):
    by = {r[1]: int(r[2]) for r in rows if r[0] == round_}
    ratios.append(by[b] / by[a])
print("B/A reads/s by round:", " ".join(f"{x:.3f}" for x in ratios),
      f"median {statistics.median(ratios):.3f}")
PY
