#!/usr/bin/env bash
# caprun's story in one run: a host that lacks a capability the container asks for.
# The "poorer host" is simulated: every runtime below runs under `capsh --drop=cap_sys_nice`,
# which removes CAP_SYS_NICE from that process tree's bounding set only (the host itself
# is never changed). The bundle is the same throughout: a busybox rootfs with caprun's
# probe, runc's default config.json plus CAP_SYS_NICE, and caprun's built-in seccomp
# profile (docker's), which allows get_mempolicy only with CAP_SYS_NICE.
set -euo pipefail
cd "$(dirname "$0")/.."
caprun="${CAPRUN:-$PWD/build/src/cli/caprun}"
work=$(mktemp -d /tmp/caprun-demo.XXXXXX)
bundle="$work/bundle" root="$work/state" runc_root="$work/runc-state"
cleanup() {
    "$caprun" --root "$root" delete --force demo >/dev/null 2>&1 || true
    "$caprun" --root "$root" delete --force demo-traced >/dev/null 2>&1 || true
    if command -v runc >/dev/null; then
        runc --root "$runc_root" delete --force demo-runc >/dev/null 2>&1 || true
    fi
    rm -rf "$work"
}
trap cleanup EXIT
mkdir -p "$bundle"
./scripts/make-bundle.sh "$bundle" >/dev/null
# The probe calls get_mempolicy (read-only: it changes nothing) and prints what it got.
sed -i -e 's/"terminal": true/"terminal": false/' \
    -e 's|"args": \[ "sh" \]|"args": [ "/bin/probe", "syscalls", "get_mempolicy" ]|' \
    -e 's/"CAP_KILL",/"CAP_KILL", "CAP_SYS_NICE",/g' "$bundle/config.json"

# Runs "$@" (a caprun or runc command line) on the simulated host, showing it first.
drop=cap_sys_nice
show() { echo "\$ capsh --drop=$drop -- -c '${*/#$caprun/caprun}'"; }
poorer_host() { capsh --drop="$drop" -- -c '"$@"' caprun-demo "$@"; }
on_poorer_host() {
    show "$@"
    poorer_host "$@"
}
# Long lines are kept whole; only a run's own noise (timestamps, log levels) is cut.
oneline() { sed -e 's/^time="[^"]*" level=[a-z]* msg="\(.*\)"$/\1/'; }
c="$caprun --root $root"

echo "== 1. The bundle asks for CAP_SYS_NICE; this host (capsh --drop=$drop) cannot grant it"
grep -o '"bounding": \[[^]]*\]' "$bundle/config.json" | head -1

echo "== 2. runc there fails, naming nothing"
if command -v runc >/dev/null; then
    show runc --root "$runc_root" run --bundle "$bundle" demo-runc
    poorer_host runc --root "$runc_root" run --bundle "$bundle" demo-runc 2>&1 | oneline | tail -1 || true
else
    echo "(runc is not installed here: it reports \"unable to apply caps: operation not permitted\")"
fi

echo "== 3. caprun --cap-policy strict refuses before anything exists, naming the capability"
on_poorer_host $c --cap-policy strict run --bundle "$bundle" --seccomp-profile default demo 2>&1 || true

echo "== 4. caprun check: the verdict first (the default policy is lenient)"
on_poorer_host $c check --bundle "$bundle" --seccomp-profile default | sed '/^$/,$d'

echo "== 5. caprun lenient drops it with a warning, and the container runs"
on_poorer_host $c run --bundle "$bundle" --seccomp-profile default demo 2>&1

echo "== 6. caprun explain: why get_mempolicy fails there, and the fix (from its verdict on)"
show $c explain --bundle "$bundle" --seccomp-profile default get_mempolicy
poorer_host $c explain --bundle "$bundle" --seccomp-profile default get_mempolicy |
    sed -n '/^  result/,$p'

echo "== 7. caprun run --trace-eperm: the live report of each EPERM and its cause"
# (its warning is step 5's)
on_poorer_host $c run --trace-eperm --bundle "$bundle" --seccomp-profile default demo-traced 2>&1 |
    grep -v '^caprun: warn: '
