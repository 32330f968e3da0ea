#!/usr/bin/env bash
# Checks a /metrics answer with the reference tools, installing them on first use.
#
# Usage:
#   scripts/metrics-lint.sh install
#       installs promtool (Debian's prometheus package) if missing, and creates a virtualenv
#       with the official Python client (PyPI prometheus-client), once
#   scripts/metrics-lint.sh promtool < BODY
#       `promtool check metrics` on the Prometheus text format
#   scripts/metrics-lint.sh openmetrics < BODY
#       parses OpenMetrics with prometheus_client's strict parser
#       (prometheus_client.openmetrics.parser.text_string_to_metric_families)
#
# The virtualenv lives in $METRICS_VENV (default: target/metrics-venv in this checkout).
# Needs python3 with the venv module (Debian/Ubuntu: apt-get install python3-venv).
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
venv=${METRICS_VENV:-$root/target/metrics-venv}
apt_cmd="apt-get install -y --no-install-recommends prometheus"

install_promtool() {
    command -v promtool >/dev/null && return
    if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
        { apt-get install -y --no-install-recommends prometheus \
            || { apt-get update && apt-get install -y --no-install-recommends prometheus; }; } >/dev/null 2>&1 || true
    fi
    command -v promtool >/dev/null || {
        echo "promtool not found and not installable here: run $apt_cmd (as root), then $0 install" >&2
        exit 1
    }
}

install_client() {
    [ -x "$venv/bin/python" ] && "$venv/bin/python" -c 'import prometheus_client' 2>/dev/null && return
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
    "$venv/bin/pip" install --quiet --disable-pip-version-check prometheus-client || {
        rm -rf "$venv"
        echo "pip could not install prometheus-client from PyPI into $venv: check network access to pypi.org, then run $0 install" >&2
        exit 1
    }
}

case "${1:-}" in
install)
    install_promtool
    install_client
    ;;
promtool)
    install_promtool
    promtool check metrics
    ;;
openmetrics)
    install_client
    "$venv/bin/python" -c '
import sys
from prometheus_client.openmetrics.parser import text_string_to_metric_families
families = list(text_string_to_metric_families(sys.stdin.read()))
print(len(families), "families")
'
    ;;
*)
    sed -n '2,15p' "$0" >&2
    exit 64
    ;;
esac
