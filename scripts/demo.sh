#!/usr/bin/env bash
# The main job on a bundle the project builds itself: a busybox rootfs with caprun's
# capability probe. Shows the plan caprun makes (`check`), then runs the container, whose
# probe prints the capability sets it really holds and which privileged syscalls work.
set -euo pipefail
cd "$(dirname "$0")/.."
caprun="$PWD/build/src/cli/caprun"
bundle=$(mktemp -d /tmp/caprun-demo.XXXXXX)
root=$(mktemp -d /tmp/caprun-demo-state.XXXXXX)
trap '"$caprun" --root "$root" delete --force demo >/dev/null 2>&1 || true; rm -rf "$bundle" "$root"' EXIT
./scripts/make-bundle.sh "$bundle"
# The probe as the process, no terminal; ask for CAP_SYS_NICE on top of runc's defaults.
sed -i -e 's/"terminal": true/"terminal": false/' \
       -e 's|"args": \[ "sh" \]|"args": [ "/bin/probe" ]|' \
       -e 's/"CAP_KILL",/"CAP_KILL", "CAP_SYS_NICE",/g' "$bundle/config.json"
echo "== caprun check: what would run, and why"
"$caprun" --root "$root" check --bundle "$bundle" --seccomp-profile default
echo
echo "== caprun run: the container's own view (probe output: its sets and syscall results)"
"$caprun" --root "$root" run --bundle "$bundle" --seccomp-profile default demo
