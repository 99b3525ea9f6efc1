#!/usr/bin/env bash
# The main job on a bundle the project builds itself: a busybox rootfs with caprun's
# capability probe, the plan caprun makes for it, then the container itself.
set -euo pipefail
cd "$(dirname "$0")/.."
caprun="$PWD/build/src/cli/caprun"
bundle=$(mktemp -d /tmp/caprun-demo.XXXXXX)
trap 'rm -rf "$bundle"' EXIT
./scripts/make-bundle.sh "$bundle"
echo "== caprun check: what would run, and why"
"$caprun" check --bundle "$bundle"
