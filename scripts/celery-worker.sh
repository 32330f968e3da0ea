#!/usr/bin/env bash
# A real Celery worker for the tests of the Celery ping, installed from PyPI on first use.
#
# Usage:
#   scripts/celery-worker.sh install
#       creates the virtualenv and installs celery[redis] into it (once)
#   scripts/celery-worker.sh run NAME BROKER_URL PIDFILE
#       starts a worker named NAME (celery@host) on BROKER_URL in the foreground,
#       writing its pid to PIDFILE; it logs "NAME ready." once it takes work
#
# The virtualenv lives in $CELERY_VENV (default: target/celery-venv in this checkout).
# Needs python3 with the venv module (Debian/Ubuntu: apt-get install python3-venv).
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
venv=${CELERY_VENV:-$root/target/celery-venv}

install() {
    if [ -x "$venv/bin/celery" ]; then
        return
    fi
    command -v python3 >/dev/null || {
        echo "python3 not found: install python3 and python3-venv, then run $0 install" >&2
        exit 1
    }
    mkdir -p "$(dirname "$venv")"
    python3 -m venv "$venv" || {
        echo "cannot create a virtualenv at $venv: install python3-venv, then run $0 install" >&2
        exit 1
    }
    "$venv/bin/pip" install --quiet --disable-pip-version-check 'celery[redis]' || {
        rm -rf "$venv"
        echo "pip could not install celery[redis] from PyPI into $venv: check network access to pypi.org, then run $0 install" >&2
        exit 1
    }
}

case "${1:-}" in
install)
    install
    "$venv/bin/celery" --version
    ;;
run)
    [ $# -eq 4 ] || { echo "usage: $0 run NAME BROKER_URL PIDFILE" >&2; exit 64; }
    install
    name=$2 broker=$3 pidfile=$4
    # Run from the pidfile's directory so no celeryconfig.py nearby is picked up.
    cd "$(dirname "$pidfile")"
    exec "$venv/bin/celery" --broker "$broker" worker \
        --hostname "$name" --pool solo --loglevel INFO --pidfile "$pidfile"
    ;;
*)
    sed -n '2,13p' "$0" >&2
    exit 64
    ;;
esac
