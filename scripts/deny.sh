#!/usr/bin/env bash
# Checks MediGate's dependency tree with cargo-deny against deny.toml:
# licences, bans, sources, and security advisories.
#
# Advisories: cargo-deny reads advisory databases as git repositories. The
# project keeps its own, deny/advisory-db, in RustSec's format: the RustSec
# advisories on crates in Cargo.lock, reviewed when the lock file changes
# (deny/README.md says how far the review goes). When the public RustSec database can be fetched, it is
# checked too, so that an advisory published since the last review fails
# the check; where it cannot (a closed network), the project's copy alone is.
set -euo pipefail
cd "$(dirname "$0")/.."

# cargo-deny, built from crates.io (no binary can be fetched here) into
# ~/.cache/medigate/tools the first time: some six minutes on two cores.
deny_version=0.20.2
tools="$HOME/.cache/medigate/tools"
deny="$tools/bin/cargo-deny"
if ! "$deny" --version 2>/dev/null | grep -qx "cargo-deny $deny_version"; then
    echo "deny: installing cargo-deny $deny_version into $tools"
    CARGO_TARGET_DIR="$HOME/.cache/medigate/tools-build" \
        cargo install --quiet --locked "cargo-deny@$deny_version" --root "$tools"
    rm -rf "$HOME/.cache/medigate/tools-build"
fi

work=$(mktemp -d "${TMPDIR:-/tmp}/medigate-deny.XXXXXX")
trap 'rm -rf "$work"' EXIT

# The project's database as the git repository cargo-deny fetches.
mkdir -p "$work/advisory-db"
cp -r deny/advisory-db/crates "$work/advisory-db/"
git -C "$work/advisory-db" init -q -b main
git -C "$work/advisory-db" add -A
git -C "$work/advisory-db" -c user.name=medigate -c user.email=medigate@localhost \
    -c commit.gpgsign=false commit -q --no-verify -m "MediGate's advisories"
# cargo-deny takes databases by URL with a host name; git, which it fetches
# with, is told to take this one from the repository just made.
local_url=https://advisory-db.medigate.invalid/advisory-db
export GIT_CONFIG_COUNT=1 GIT_CONFIG_KEY_0="url.file://$work/advisory-db.insteadOf" \
    GIT_CONFIG_VALUE_0="$local_url"
urls="\"$local_url\""
rustsec=https://github.com/rustsec/advisory-db
if timeout 20 git ls-remote --quiet "$rustsec" HEAD >/dev/null 2>&1; then
    urls+=", \"$rustsec\""
    echo "deny: checking against $rustsec and deny/advisory-db"
else
    echo "deny: $rustsec cannot be reached; checking against deny/advisory-db alone"
fi
sed -e "s|^db-urls = .*|db-urls = [$urls]|" -e "s|^db-path = .*|db-path = \"$work/dbs\"|" \
    deny.toml >"$work/deny.toml"
"$deny" --log-level error --config "$work/deny.toml" check "$@"
