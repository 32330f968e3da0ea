#!/usr/bin/env bash
# Checks deploy/: every manifest and the rendered chart against the Kubernetes schemas
# (kubernetes-validate --strict, for 1.27 and the newest version it knows), yamllint, and
# `probe lint` with no findings; the Containerfile with hadolint and `probe lint
# --dockerfile`. Prints "N passed, N failed" last.
# Usage: scripts/deploy-check.sh [PROBE_BINARY]   (default: cargo's debug build)
set -uo pipefail
cd "$(dirname "$0")/.."
. scripts/deploy-venv.sh
probe=${1:-}
if [ -z "$probe" ]; then cargo build -q -p probe || exit 1; probe=target/debug/probe; fi
passed=0 failed=0
ok() { echo "ok   $*"; passed=$((passed + 1)); }
bad() { echo "FAIL $*" >&2; failed=$((failed + 1)); }
work=$(mktemp -d); trap 'rm -rf "$work"' EXIT
manifests=$(find deploy -name '*.yaml' -not -path '*/templates/*' -not -path '*/charts/*' | sort)
chart=$work/probe-sidecar.yaml
if "$DEPLOY_VENV/bin/python" scripts/render-chart.py deploy/charts/probe-sidecar release > "$chart" 2> "$work/render"; then
    ok "chart rendered ($(grep -c '^kind:' "$chart") objects)"
else
    bad "render-chart: $(cat "$work/render")"
fi
newest=$("$DEPLOY_VENV/bin/kubernetes-validate" --help | sed -n 's/.*Defaults to \([0-9.]*\).*/\1/p' | head -1)
for k in 1.27.0 "$newest"; do
    if "$DEPLOY_VENV/bin/kubernetes-validate" --strict --quiet -k "$k" $manifests "$chart" > "$work/kv" 2>&1; then
        ok "kubernetes-validate --strict -k $k: $(echo $manifests | wc -w) manifests and the chart"
    else
        bad "kubernetes-validate --strict -k $k: $(grep -v '^INFO' "$work/kv" | head -5)"
    fi
done
"$DEPLOY_VENV/bin/yamllint" -s deploy/ "$chart" > "$work/yl" 2>&1 && ok "yamllint deploy/ and the chart" || bad "yamllint: $(cat "$work/yl")"
for m in $manifests "$chart"; do
    if "$probe" lint "$m" > "$work/lint" 2>&1 && ! [ -s "$work/lint" ]; then
        ok "probe lint $(basename "$m"): no findings"
    else
        bad "probe lint $m: $(cat "$work/lint")"
    fi
done
"$probe" lint --dockerfile Containerfile > "$work/lint" 2>&1 && ! [ -s "$work/lint" ] && ok "probe lint --dockerfile Containerfile: no findings" || bad "probe lint --dockerfile Containerfile: $(cat "$work/lint")"
"$DEPLOY_VENV/bin/hadolint" Containerfile > "$work/hl" 2>&1 && ok "hadolint Containerfile" || bad "hadolint: $(cat "$work/hl")"
echo "deploy: $passed passed, $failed failed"
[ $failed = 0 ]
