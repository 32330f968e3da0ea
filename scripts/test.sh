#!/usr/bin/env bash
# The project's test command: makes sure the real servers the tests talk to are running
# (starting or installing them where they are missing), then runs the whole test suite.
# Usage: scripts/test.sh [extra cargo test arguments]
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/services.sh
ensure_services
cargo test --workspace --all-targets "$@"
cargo test --workspace --doc
