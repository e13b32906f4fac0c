#!/usr/bin/env bash
# Installs what building MediGate needs and a fresh machine lacks:
# Debian packages (protoc for libp2p's protobuf code, libssl-dev + pkg-config
# for the system OpenSSL), the Rust WebAssembly targets and rust-src for the
# runtime, rustfmt for the format check, and s3s-fs (an S3-compatible server
# the vault's tests store blobs in) under ~/.cache/medigate/tools. Safe to run
# again: it only installs what is missing.
set -euo pipefail

packages=(protobuf-compiler pkg-config libssl-dev)
missing=()
for package in "${packages[@]}"; do
    dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q "install ok installed" || missing+=("$package")
done
if ((${#missing[@]})); then
    echo "setup: installing ${missing[*]}"
    sudo_cmd=()
    [ "$(id -u)" -ne 0 ] && sudo_cmd=(sudo)
    "${sudo_cmd[@]}" apt-get update -qq
    DEBIAN_FRONTEND=noninteractive "${sudo_cmd[@]}" apt-get install -y -qq "${missing[@]}" >/dev/null
fi

installed_targets=$(rustup target list --installed)
for target in wasm32-unknown-unknown wasm32v1-none; do
    grep -qx "$target" <<<"$installed_targets" || rustup target add "$target"
done
installed_components=$(rustup component list --installed)
for component in rust-src rustfmt; do
    grep -q "^$component" <<<"$installed_components" || rustup component add "$component"
done

# The S3-compatible server of the vault's object-store test.
tools="${MEDIGATE_TOOLS:-$HOME/.cache/medigate/tools}"
if [ ! -x "$tools/bin/s3s-fs" ]; then
    echo "setup: installing s3s-fs into $tools"
    cargo install s3s-fs --version 0.14.1 --features binary --locked --quiet \
        --root "$tools" --target-dir "$tools/target"
fi
