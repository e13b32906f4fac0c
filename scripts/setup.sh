#!/usr/bin/env bash
# Installs what building MediGate needs and a fresh machine lacks:
# Debian packages (protoc for libp2p's protobuf code, libssl-dev + pkg-config
# for the system OpenSSL, postgresql for the throwaway server of the gateway's
# PostgreSQL tests, see scripts/postgres.sh; chromium and chromium-driver for
# the web app's browser tests), the Rust WebAssembly target of the runtime
# (wasm32v1-none), rustfmt for the format check, HL7's FHIR R4 examples
# (npm) under ~/.cache/medigate/corpora, and the outside FHIR validator of
# scripts/check_fhir.py (PyPI fhir.resources, pinned) in the virtual
# environment ~/.cache/medigate/venv. Safe to run again: it only installs
# what is missing.
set -euo pipefail

packages=(protobuf-compiler pkg-config libssl-dev postgresql chromium chromium-driver)
# npm (for the FHIR corpus below) from Debian unless some npm is there.
command -v npm >/dev/null || packages+=(nodejs npm)
# Debian's python3 makes virtual environments (below) only with python3-venv.
python3 -c 'import ensurepip, venv' 2>/dev/null || packages+=(python3-venv)
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
for target in wasm32v1-none; do
    grep -qx "$target" <<<"$installed_targets" || rustup target add "$target"
done
installed_components=$(rustup component list --installed)
for component in rustfmt; do
    grep -q "^$component" <<<"$installed_components" || rustup component add "$component"
done

# HL7's published FHIR R4 examples, the corpus the FHIR validator is tested on.
corpora="$HOME/.cache/medigate/corpora"
examples="$corpora/hl7.fhir.r4.examples-4.0.1"
if [ ! -d "$examples/package" ]; then
    echo "setup: fetching hl7.fhir.r4.examples 4.0.1 into $corpora"
    mkdir -p "$examples"
    (cd "$examples" && npm pack --silent hl7.fhir.r4.examples@4.0.1 >/dev/null \
        && tar xzf hl7.fhir.r4.examples-4.0.1.tgz && rm hl7.fhir.r4.examples-4.0.1.tgz)
fi

# The outside FHIR validator of scripts/check_fhir.py: fhir.resources 6.4.0,
# the last release whose models are FHIR R4 (4.0.1) (6.5 and later are R4B
# and R5). It is built on pydantic 1; every package is pinned.
venv="$HOME/.cache/medigate/venv"
python_packages=(fhir.resources==6.4.0 pydantic==1.10.27 email-validator==2.4.0
    dnspython==2.9.2 idna==3.20 typing_extensions==4.16.0)
if ! "$venv/bin/python" -c 'import fhir.resources as f; assert f.__version__ == "6.4.0"' 2>/dev/null; then
    echo "setup: installing fhir.resources 6.4.0 into $venv"
    [ -x "$venv/bin/python" ] || python3 -m venv "$venv"
    "$venv/bin/pip" install --quiet --disable-pip-version-check "${python_packages[@]}"
fi
