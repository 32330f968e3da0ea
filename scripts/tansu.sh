#!/usr/bin/env bash
# tansu, an Apache Kafka compatible broker from crates.io, for the tests of the kafka check and
# of `probe kpow` against a real broker. Built from source on first use (about 20 minutes on two
# cores) and reused afterwards.
#
# Usage:
#   scripts/tansu.sh install
#       builds and installs tansu (with the in-memory storage engine) once
#   scripts/tansu.sh path
#       prints the path of the installed binary (installing it first if needed)
#
# The installation lives in $TANSU_HOME (default: ~/.cache/probe/tansu): the binary in
# bin/tansu, the build directory in target/ so a rebuild reuses it.
# Needs cargo (rustup) and a C compiler (Debian/Ubuntu: apt-get install build-essential).
set -euo pipefail

version=0.6.0
home=${TANSU_HOME:-$HOME/.cache/probe/tansu}
bin=$home/bin/tansu

install() {
    if [ -x "$bin" ] && [ "$(cat "$home/version" 2>/dev/null)" = "$version" ]; then
        return
    fi
    command -v cargo >/dev/null || {
        echo "cargo not found: install Rust (rustup), then run $0 install" >&2
        exit 1
    }
    mkdir -p "$home"
    export CARGO_TARGET_DIR=$home/target
    if ! cargo install --locked --root "$home" --version "$version" tansu --features dynostore; then
        echo "tansu.sh: install with its lock file failed; trying with fresh dependency versions" >&2
        cargo install --root "$home" --version "$version" tansu --features dynostore || {
            echo "cargo could not build tansu $version from crates.io into $home: see the errors above, then run $0 install" >&2
            exit 1
        }
    fi
    echo "$version" >"$home/version"
}

case "${1:-}" in
install)
    install
    "$bin" --version
    ;;
path)
    install >&2
    echo "$bin"
    ;;
*)
    sed -n '2,14p' "$0" >&2
    exit 64
    ;;
esac
