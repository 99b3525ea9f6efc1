#!/usr/bin/env bash
# make-bundle.sh DIR: an OCI bundle in DIR with a busybox rootfs (from Debian's
# busybox-static) and caprun's capability probe, plus caprun's default config.json.
set -euo pipefail
here="$(cd "$(dirname "$0")/.." && pwd)"
dir="$1"
caprun="${CAPRUN:-$here/build/src/cli/caprun}"
"$here/scripts/make-rootfs.sh" "$dir/rootfs"
[ -f "$dir/config.json" ] || "$caprun" spec --bundle "$dir"
