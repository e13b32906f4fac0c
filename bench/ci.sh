#!/usr/bin/env bash
# Times CI as a fresh machine runs it: `.ci/run` on a clean clone of HEAD
# (or of REF), with everything a build caches made empty: a new HOME, so
# an empty cargo target directory (~/.cache/medigate/target), an empty
# cargo home (no downloaded crate, no cargo-fuzz), empty MediGate tool
# caches (no FHIR corpus, no Python environment) and empty pip
# and npm caches. Rust toolchains and targets (RUSTUP_HOME) and Debian
# packages stay installed: on a fresh machine setup fetches them too (about
# a minute more). Prints each phase's time, as scripts/test.sh reports it,
# and the total.
#
# Usage: bench/ci.sh [--warm | --twice] [--keep] [REF]
#   --warm   use this machine's caches instead (HOME untouched): the time of
#            a CI run after an earlier one
#   --twice  run cold, then once more with the caches the first run filled:
#            both times, cold and warm, from one clean start
#   --keep   keep the clone and the new HOME (under $TMPDIR) afterwards
# Cold, this takes most of an hour on two cores and needs about 30 GB of
# free disk.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"

warm=0 twice=0 keep=0 ref=HEAD
for arg in "$@"; do
    case "$arg" in
    --warm) warm=1 ;;
    --twice) twice=1 ;;
    --keep) keep=1 ;;
    -*) echo "bench/ci.sh: unknown option $arg (options: --warm, --twice, --keep)" >&2; exit 2 ;;
    *) ref="$arg" ;;
    esac
done

work=$(mktemp -d "${TMPDIR:-/tmp}/medigate-ci.XXXXXX")
cleanup() {
    if ((keep)); then
        echo "bench/ci.sh: kept $work"
    else
        rm -rf "$work"
    fi
}
trap cleanup EXIT

commit=$(git -C "$root" rev-parse --verify "$ref^{commit}")
git clone --quiet --no-local "$root" "$work/clone"
git -C "$work/clone" checkout --quiet --detach "$commit"

if ((warm)); then
    env_args=()
    mode="warm: this machine's caches"
else
    # A new HOME empties every cache below it; the toolchains stay where
    # rustup keeps them. Only rustup's proxies come along on PATH, not what
    # `cargo install` put beside them (cargo-fuzz, say).
    real_home="$HOME"
    mkdir -p "$work/home" "$work/rustup-bin"
    rustup_binary=$(command -v rustup)
    for proxy in rustup cargo rustc rustdoc rustfmt cargo-fmt; do
        ln -s "$rustup_binary" "$work/rustup-bin/$proxy"
    done
    path=$(tr ':' '\n' <<<"$PATH" | grep -vxF "$(dirname "$rustup_binary")" | paste -sd:)
    env_args=(
        HOME="$work/home"
        RUSTUP_HOME="${RUSTUP_HOME:-$real_home/.rustup}"
        CARGO_HOME="$work/home/.cargo"
        PATH="$work/home/.cargo/bin:$work/rustup-bin:$path"
    )
    unset CARGO_TARGET_DIR
    mode="cold: empty target directory, cargo home and tool caches"
fi

# The ten units of the build phase that took longest, from the report of
# `cargo build --timings` that the log names.
slowest_units() {
    local report
    report=$(grep -oE 'Timing report saved to [^ ]+\.html' "$1" | head -n 1 | cut -d' ' -f5)
    [ -n "$report" ] && [ -f "$report" ] || return 0
    echo "slowest units of the build (seconds, started at):"
    python3 - "$report" <<'PY'
import json, re, sys
text = open(sys.argv[1], encoding="utf-8").read()
units = json.loads(re.search(r"const UNIT_DATA = (\[.*?\]);\n", text, re.S).group(1))
for unit in sorted(units, key=lambda unit: -unit["duration"])[:10]:
    what = unit.get("target", "").strip() or "lib"
    print(f"  {unit['duration']:7.1f} {unit['start']:7.1f}  {unit['name']} {what}")
PY
}

# Runs .ci/run once, logging to $work/$1.log, and prints its phases.
run_ci() {
    local log="$work/$1.log" started status=0 total tests
    echo "bench/ci.sh: .ci/run on a clean clone of ${commit:0:12} ($2); log in $log"
    started=$(date +%s)
    env "${env_args[@]}" "$work/clone/.ci/run" >"$log" 2>&1 || status=$?
    total=$(($(date +%s) - started))
    {
        grep -E '^test: phase [a-z-]+ took [0-9]+ s$' "$log" | awk '{ print $3, $5 }'
        echo total "$total"
    } | awk 'BEGIN { printf "%-12s %8s %8s\n", "phase", "seconds", "minutes" }
            { printf "%-12s %8d %8.1f\n", $1, $2, $2 / 60 }'
    tests=$(grep -cE '^test .* \.\.\. ok$' "$log" || true)
    echo "tests passed: $tests"
    slowest_units "$log"
    if ((status)); then
        echo "bench/ci.sh: .ci/run FAILED (exit $status); the end of its log:" >&2
        tail -n 40 "$log" >&2
        keep=1
        exit "$status"
    fi
    echo "bench/ci.sh: .ci/run passed"
    echo
}

run_ci ci "$mode"
if ((twice)); then
    run_ci ci-again "warm: the caches the run above filled"
fi
