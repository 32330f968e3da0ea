#!/usr/bin/env bash
# Runs every fuzz target of fuzz/: every parser a peer or a client can reach (the
# hand-written protocol readers, the Kafka, Connect and Celery answers, the HTTP service's
# paths, query strings and Accept, the configuration and its values) must never panic,
# whatever bytes arrive.
#   scripts/fuzz.sh          each target for FUZZ_SECONDS (default 10), as CI runs it
#   scripts/fuzz.sh --long   each target for FUZZ_RUNS executions (default 10 million)
# Prints the executions of each target. Needs a nightly toolchain (cargo-fuzz builds with
# sanitizer flags) and cargo-fuzz, which this script installs from crates.io when missing.
set -euo pipefail
cd "$(dirname "$0")/../fuzz"
seconds=${FUZZ_SECONDS:-10}
mode=(-max_total_time="$seconds")
what="${seconds}s"
if [ "${1:-}" = "--long" ]; then
  mode=(-runs="${FUZZ_RUNS:-10000000}")
  what="${FUZZ_RUNS:-10000000} executions"
fi
if ! rustup toolchain list | grep -q '^nightly'; then
  echo "fuzz: no nightly toolchain (rustup toolchain install nightly); cargo fuzz needs one" >&2
  exit 1
fi
command -v cargo-fuzz >/dev/null 2>&1 || cargo install --locked cargo-fuzz
mkdir -p ../target
# The sanitizer build lives outside the clone, so later runs on the same machine reuse its
# dependencies (FUZZ_TARGET_DIR puts it elsewhere).
build_dir=${FUZZ_TARGET_DIR:-$HOME/.cache/probe/fuzz-target}
for target in $(cargo +nightly fuzz list); do
  echo "fuzz: $target for $what" >&2
  log="../target/fuzz-$target.log"
  cargo +nightly fuzz run --target-dir "$build_dir" "$target" -- "${mode[@]}" -rss_limit_mb=2048 >/dev/null 2>"$log" \
    || { tail -n 40 "$log" >&2; echo "fuzz: $target found a crash (see above)" >&2; exit 1; }
  echo "fuzz: $target: $(grep -o 'Done [0-9]* runs in [0-9]* second(s)' "$log" | tail -1)" >&2
done
echo "fuzz: every target ran $what without a crash" >&2
