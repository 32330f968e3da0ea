#!/usr/bin/env bash
# The official Python gRPC health client (grpcio-health-checking, from PyPI) for the tests
# of gRPC health, installed on first use.
#
# Usage:
#   scripts/grpc-health-client.sh install
#       creates the virtualenv and installs grpcio-health-checking into it (once)
#   scripts/grpc-health-client.sh run MODE PORT NAME...
#       runs scripts/grpc-health-client.py with the virtualenv's Python (see its modes)
#
# The virtualenv lives in $GRPC_HEALTH_VENV (default:
# ${XDG_CACHE_HOME:-~/.cache}/probe/grpc-health-venv), outside the checkout, so fresh
# clones on the same machine reuse it. Needs python3 with the venv module (Debian/Ubuntu:
# apt-get install python3-venv).
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
venv=${GRPC_HEALTH_VENV:-${XDG_CACHE_HOME:-$HOME/.cache}/probe/grpc-health-venv}

install() {
    if [ -x "$venv/bin/python" ] && "$venv/bin/python" -c 'import grpc_health.v1.health_pb2_grpc' 2>/dev/null; then
        return
    fi
    command -v python3 >/dev/null || {
        echo "python3 not found: install python3 and python3-venv, then run $0 install" >&2
        exit 1
    }
    rm -rf "$venv"
    mkdir -p "$(dirname "$venv")"
    python3 -m venv "$venv" || {
        rm -rf "$venv"
        echo "cannot create a virtualenv at $venv: install python3-venv, then run $0 install" >&2
        exit 1
    }
    "$venv/bin/pip" install --quiet --disable-pip-version-check grpcio-health-checking || {
        rm -rf "$venv"
        echo "pip could not install grpcio-health-checking from PyPI into $venv: check access to PyPI (or set GRPC_HEALTH_VENV to a virtualenv that has it), then run $0 install" >&2
        exit 1
    }
}

case "${1:-}" in
install)
    install
    "$venv/bin/python" -c 'import grpc; print("grpcio", grpc.__version__)'
    ;;
run)
    shift
    install
    exec "$venv/bin/python" -u "$here/grpc-health-client.py" "$@"
    ;;
*)
    sed -n '2,14p' "$0" >&2
    exit 64
    ;;
esac
