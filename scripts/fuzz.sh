#!/usr/bin/env bash
# Runs every fuzz target of fuzz/ briefly (FUZZ_SECONDS each, default 10): the hand-written
# protocol readers (RESP, the PostgreSQL startup answer, the MySQL greeting, AMQP frames,
# memcached replies) must never panic, whatever bytes a server sends.
# Needs a nightly toolchain (cargo-fuzz builds with sanitizer flags) and cargo-fuzz, which
# this script installs from crates.io when it is missing.
set -euo pipefail
cd "$(dirname "$0")/../fuzz"
seconds=${FUZZ_SECONDS:-10}
if ! rustup toolchain list | grep -q '^nightly'; then
  echo "fuzz: no nightly toolchain (rustup toolchain install nightly); cargo fuzz needs one" >&2
  exit 1
fi
command -v cargo-fuzz >/dev/null 2>&1 || cargo install --locked cargo-fuzz
for target in $(cargo +nightly fuzz list); do
  echo "fuzz: $target for ${seconds}s" >&2
  cargo +nightly fuzz run "$target" -- -max_total_time="$seconds" -rss_limit_mb=2048 >/dev/null 2>"../target/fuzz-$target.log" \
    || { tail -n 40 "../target/fuzz-$target.log" >&2; echo "fuzz: $target found a crash (see above)" >&2; exit 1; }
done
echo "fuzz: every target ran ${seconds}s without a crash" >&2
