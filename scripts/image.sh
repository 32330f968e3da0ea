#!/usr/bin/env bash
# Builds the container image `probe:dev` (or the tag given) from a local build: a static
# binary (x86_64-unknown-linux-gnu, `-C target-feature=+crt-static`: static-pie against
# glibc), copied into an empty image by the Containerfile. Nothing is pulled.
#
# Usage: scripts/image.sh [TAG]          (default probe:dev)
# Needs podman (apt-get install -y podman runc). CONTAINERS_CONF and PODMAN_RUNTIME are
# honoured; without them the defaults of scripts/podman.sh apply.
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/podman.sh
tag=${1:-probe:dev}
target=x86_64-unknown-linux-gnu

# The profile `image` is `release` with symbols stripped: the same code, a smaller file.
# A build directory of its own, outside the clone, keeps these flags from rebuilding
# target/release and lets later runs on the same machine reuse the compiled dependencies
# (IMAGE_TARGET_DIR puts it elsewhere).
build_dir=${IMAGE_TARGET_DIR:-$HOME/.cache/probe/image-target}
RUSTFLAGS="${RUSTFLAGS:-} -C target-feature=+crt-static" CARGO_TARGET_DIR="$build_dir" \
    cargo build --locked --profile image -p probe --target "$target"
bin=$build_dir/$target/image/probe
file "$bin" 2>/dev/null | grep -q 'static' || ldd "$bin" 2>&1 | grep -q 'not a dynamic' \
    || { echo "image.sh: $bin is not statically linked" >&2; exit 1; }

context=$(mktemp -d)
trap 'rm -rf "$context"' EXIT
cp "$bin" "$context/probe"
bundle=/etc/ssl/certs/ca-certificates.crt
if [ -r "$bundle" ]; then cp "$bundle" "$context/"; else : > "$context/ca-certificates.crt"; fi
chmod 0755 "$context/probe"; chmod 0644 "$context/ca-certificates.crt"

version=$(sed -n 's/^version = "\(.*\)"/\1/p' Cargo.toml | head -1)
revision=$(git rev-parse --short HEAD 2>/dev/null || echo unknown)
pm build --format docker --pull=never -f Containerfile \
    --build-arg VERSION="$version" --build-arg REVISION="$revision" \
    -t "$tag" "$context"
pm image inspect "$tag" --format 'image.sh: {{.RepoTags}} {{.Size}} bytes'
