#!/usr/bin/env bash
# Checks that probe-core and probe-http build, without a warning, with every feature set an
# embedder can pick: the default, no features at all, and each feature on its own.
# The features are read from each crate's Cargo.toml, so a new one is checked without
# editing this script. Only the libraries are checked: a test target would turn on the
# self dev-dependency that enables `full`, and with it every feature.
# Usage: scripts/features.sh
set -euo pipefail
cd "$(dirname "$0")/.."

# The names in the [features] table of the manifest $1, `default` left out.
features_of() {
  awk '
    /^\[/ { in_features = ($0 == "[features]"); next }
    in_features && /^[A-Za-z0-9_-]+ *=/ { sub(/ *=.*/, ""); if ($0 != "default") print }
  ' "$1"
}

# Runs `cargo check` for the library of crate $1 with the remaining arguments; fails on
# an error or on any warning (cargo replays a fresh crate's warnings, so a cached build
# is judged too).
check() {
  local crate=$1
  shift
  echo "features: $crate ${*:-(default)}" >&2
  local out
  if ! out=$(cargo check --quiet --lib -p "$crate" "$@" 2>&1); then
    printf '%s\n' "$out" >&2
    echo "features: $crate ${*:-(default)} does not build" >&2
    exit 1
  fi
  if grep -q '^warning' <<<"$out"; then
    printf '%s\n' "$out" >&2
    echo "features: $crate ${*:-(default)} builds with warnings" >&2
    exit 1
  fi
}

for crate in probe-core probe-http; do
  manifest=crates/$crate/Cargo.toml
  check "$crate"
  check "$crate" --no-default-features
  for feature in $(features_of "$manifest"); do
    check "$crate" --no-default-features --features "$feature"
  done
done
echo "features: every feature set of probe-core and probe-http builds cleanly" >&2
