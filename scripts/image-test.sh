#!/usr/bin/env bash
# The container image, tested as a user runs it: built by scripts/image.sh, then run with
# podman (runc): healthy through its own HEALTHCHECK, a read-only root and no network, a
# non-root user, readiness failing and exit 0 after SIGTERM, a bad configuration exiting
# 64 with one line naming the key (hadolint runs in scripts/deploy-check.sh). Fails, saying how to install them,
# when podman or runc is missing. Prints "N passed, N failed" last.
set -uo pipefail
cd "$(dirname "$0")/.."
. scripts/podman.sh
tag=probe:dev
passed=0 failed=0
ok() { echo "ok   $*"; passed=$((passed + 1)); }
bad() { echo "FAIL $*" >&2; failed=$((failed + 1)); }
work=$(mktemp -d)
name=probe-image-test-$$
cleanup() { pm rm -f "$name" >/dev/null 2>&1; rm -rf "$work"; }
trap cleanup EXIT
t() { timeout -k 5 120 "$@"; }
# podman under a time limit.
tpm() { timeout -k 5 120 podman --runtime "${PODMAN_RUNTIME:-runc}" "$@"; }
# probe check inside the running container (the image has no shell, but has probe).
inside() { tpm exec "$name" /usr/local/bin/probe check "$1" >/dev/null 2>&1; }

t scripts/image.sh "$tag" > "$work/build.log" 2>&1 || { tail -20 "$work/build.log" >&2; echo "image-test: scripts/image.sh failed" >&2; exit 1; }
size=$(pm image inspect "$tag" --format '{{.Size}}')
[ "$size" -le 10000000 ] && ok "image size $size bytes (at most 10 MB)" || bad "image size $size bytes, more than 10 MB"
user=$(pm image inspect "$tag" --format '{{.Config.User}}')
[ "$user" = "65532:65532" ] && ok "runs as $user" || bad "runs as '$user', want 65532:65532"
entry=$(pm image inspect "$tag" --format '{{json .Config.Entrypoint}}')
[ "$entry" = '["/usr/local/bin/probe"]' ] && ok "exec-form entrypoint $entry" || bad "entrypoint $entry"
hc=$(pm image inspect "$tag" --format '{{json .Config.Healthcheck.Test}}')
case $hc in *'"probe","check"'*|*'/usr/local/bin/probe","check"'*) ok "HEALTHCHECK $hc";; *) bad "HEALTHCHECK is $hc";; esac
label=$(pm image inspect "$tag" --format '{{index .Labels "org.opencontainers.image.title"}}')
[ "$label" = probe ] && ok "OCI labels" || bad "org.opencontainers.image.title is '$label'"
# No shell: the image holds the binary and the CA bundle only.
tpm run --rm --no-healthcheck --network none --entrypoint /bin/sh "$tag" -c true > /dev/null 2> "$work/sh"; rc=$?
if [ $rc = 127 ] || grep -qi 'no such file\|not found' "$work/sh"; then ok "no shell in the image (/bin/sh: exit $rc)"; else bad "/bin/sh in the image: exit $rc $(cat "$work/sh")"; fi

start=$(date +%s%N)
tpm run -d --name "$name" --read-only --network none "$tag" > /dev/null; rc=$?
echo "podman run -d --read-only --network none $tag: exit $rc"
healthy=0
for _ in $(seq 1 100); do
    if tpm healthcheck run "$name" >/dev/null 2>&1; then healthy=1; break; fi
    sleep 0.1
done
ms=$(( ($(date +%s%N) - start) / 1000000 ))
if [ $healthy = 1 ]; then ok "healthy (podman healthcheck run) ${ms} ms after podman run, read-only root, no network"; else bad "never healthy: $(pm logs "$name" 2>&1 | tail -2)"; fi
state=$(pm inspect "$name" --format '{{.State.Health.Status}}' 2>/dev/null)
[ "$state" = healthy ] && ok "health status $state" || bad "health status '$state'"
inside http://127.0.0.1:8080/readyz && ok "ready before SIGTERM" || bad "not ready before SIGTERM"
# The static binary resolves host names (glibc's files and dns backends are in libc).
inside http://localhost:8080/livez && ok "localhost resolves in the static binary" || bad "http://localhost:8080/livez fails inside the container"

pm kill --signal TERM "$name" >/dev/null
# During the drain (5 s by default) readiness fails and liveness still passes.
drained=0
for _ in $(seq 1 40); do
    inside http://127.0.0.1:8080/readyz; rc=$?
    # 1: probe check said down; anything else (125: no container) is not an answer.
    if [ $rc = 1 ]; then drained=1; break; fi
    sleep 0.05
done
[ $drained = 1 ] && ok "readiness fails after SIGTERM" || bad "readiness still passes after SIGTERM"
inside http://127.0.0.1:8080/livez && ok "liveness passes during the drain" || bad "liveness fails during the drain"
rc=$(tpm wait "$name" | tail -1)
echo "podman kill --signal TERM; podman wait: exit $rc"
[ "$rc" = 0 ] && ok "exit 0 after SIGTERM and the drain" || bad "exit '$rc' after SIGTERM"

printf '[server]\nlisten = "0.0.0.0:8080"\ncolour = "red"\n' > "$work/bad.toml"; chmod 644 "$work/bad.toml"
tpm run --rm --no-healthcheck --network none -v "$work/bad.toml:/bad.toml:ro" "$tag" serve --config /bad.toml > "$work/out" 2> "$work/err"; rc=$?
echo "podman run --no-healthcheck -v bad.toml:/bad.toml:ro $tag serve --config /bad.toml: exit $rc"
lines=$(grep -c . "$work/err")
if [ $rc = 64 ] && [ "$lines" = 1 ] && grep -q 'colour' "$work/err"; then ok "a bad configuration exits 64: $(cat "$work/err")"; else bad "a bad configuration: exit $rc, stderr: $(cat "$work/err")"; fi

echo "image: $passed passed, $failed failed"
[ $failed = 0 ]
