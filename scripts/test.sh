#!/usr/bin/env bash
# The project's test command: makes sure the real servers the tests talk to are running
# (starting or installing them where they are missing) and the metrics linters
# (scripts/metrics-lint.sh), then runs the whole test suite to
# the end, doc tests included, then deploy/ and the container image (scripts/deploy-check.sh,
# scripts/image-test.sh), even when some tests fail; exits non-zero if any did.
# Usage: scripts/test.sh [extra cargo test arguments]
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/services.sh
ensure_services
# promtool and the official Python client, for the /metrics tests.
scripts/metrics-lint.sh install
# tansu, the real Kafka-compatible broker of the kafka and kpow tests (built once, cached).
scripts/tansu.sh install
status=0
cargo test --workspace --all-targets --no-fail-fast "$@" || status=$?
cargo test --workspace --doc --no-fail-fast || status=$?
# deploy/ against the Kubernetes schemas, yamllint and probe lint; then the container image
# with podman (apt-get install -y podman runc).
# The probe binary the tests just built (cargo test builds it with the tests' features).
scripts/deploy-check.sh target/debug/probe || status=$?
scripts/image-test.sh || status=$?
if [ "$status" != 0 ]; then
    echo "test.sh: some tests failed (see above)" >&2
fi
exit "$status"
