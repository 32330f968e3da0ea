#!/usr/bin/env bash
# The real django-health-check and maykin-common, serving the small Django project in
# scripts/django-peer/, for the tests that compare the open-klant dialect with them.
#
# Usage:
#   scripts/django-health.sh install
#       creates the virtualenv and installs the peer into it (once), prints the versions
#   scripts/django-health.sh run PORT
#       serves the project on 127.0.0.1:PORT in the foreground; the project reads its
#       database, cache and storage from PEER_* variables (see scripts/django-peer/peer/settings.py)
#
# Installs the newest django-health-check 4 that supports this machine's Python, Django
# as it requires, psycopg 3, redis-py, and maykin-common 0.23.0. maykin-common declares
# Python 3.12 or later; its health-check URLs are plain Python that runs on 3.11, so it is
# installed without its Python marker (and its one dependency, python-decouple, by hand).
#
# The virtualenv lives in $DJANGO_HEALTH_VENV (default: ~/.cache/probe/django-health-venv).
# Needs python3 with the venv module (Debian/Ubuntu: apt-get install python3-venv).
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
venv=${DJANGO_HEALTH_VENV:-$HOME/.cache/probe/django-health-venv}
pip_quiet=(--quiet --disable-pip-version-check)

install() {
    if [ -x "$venv/bin/python" ] && "$venv/bin/python" -c 'import health_check, maykin_common.health_checks, psycopg, redis' 2>/dev/null; then
        return
    fi
    command -v python3 >/dev/null || {
        echo "python3 not found: install python3 and python3-venv, then run $0 install" >&2
        exit 1
    }
    rm -rf "$venv"
    mkdir -p "$(dirname "$venv")"
    python3 -m venv "$venv" || {
        echo "cannot create a virtualenv at $venv: install python3-venv, then run $0 install" >&2
        exit 1
    }
    "$venv/bin/pip" install "${pip_quiet[@]}" 'django-health-check>=4.8,<5' 'psycopg[binary]' redis python-decouple || {
        rm -rf "$venv"
        echo "pip could not install django-health-check from PyPI into $venv: check network access to PyPI, then run $0 install" >&2
        exit 1
    }
    "$venv/bin/pip" install "${pip_quiet[@]}" --no-deps --ignore-requires-python 'maykin-common==0.23.0' || {
        rm -rf "$venv"
        echo "pip could not install maykin-common 0.23.0 from PyPI into $venv: check network access to PyPI, then run $0 install" >&2
        exit 1
    }
}

case "${1:-}" in
install)
    install
    "$venv/bin/python" -c 'import importlib.metadata as m; print(" ".join(f"{p} {m.version(p)}" for p in ("django", "django-health-check", "maykin-common", "psycopg", "redis")))'
    ;;
run)
    [ $# -eq 2 ] || { echo "usage: $0 run PORT" >&2; exit 64; }
    install
    exec "$venv/bin/python" "$root/scripts/django-peer/serve.py" "$2"
    ;;
*)
    sed -n '2,18p' "$0" >&2
    exit 64
    ;;
esac
