#!/usr/bin/env bash
# Start-up benchmark (DESIGN.md §6): `run` of /bin/true in a default bundle with caprun,
# runc and crun, and a bare unshare+chroot of the same binary, measured in one run with
# hyperfine; then the peak RSS of each runtime process. Prints ratios against crun and
# against the bare baseline. Run as root after ./scripts/setup.sh.
#
# crun needs the hugetlb controller off cgroup v2 on this kernel: like the project notes
# say, this script mounts it as a v1 hierarchy if it is not mounted yet (and says so).
set -euo pipefail
here="$(cd "$(dirname "$0")/.." && pwd)"
caprun="$here/build/src/cli/caprun"
runs="${RUNS:-30}"
work=$(mktemp -d /tmp/caprun-bench.XXXXXX)
cleanup() {
    for rt in runc crun "$caprun"; do
        "$rt" --root "$work/state-$(basename "$rt")" delete -f bench >/dev/null 2>&1 || true
    done
    rm -rf "$work"
}
trap cleanup EXIT

CAPRUN="$caprun" "$here/scripts/make-bundle.sh" "$work/bundle" >/dev/null
# /bin/true without a terminal, otherwise the default spec.
sed -i -e 's/"terminal": true/"terminal": false/' -e 's/"args": \[ "sh" \]/"args": [ "\/bin\/true" ]/' \
    "$work/bundle/config.json"
if ! grep -q ' /sys/fs/cgroup/hugetlb ' /proc/self/mountinfo && [ -d /sys/fs/cgroup/unified ]; then
    echo "note: mounting the hugetlb controller at /sys/fs/cgroup/hugetlb for crun" >&2
    mkdir -p /sys/fs/cgroup/hugetlb
    mount -t cgroup -o hugetlb cgroup /sys/fs/cgroup/hugetlb
fi

cd "$work/bundle"
cmd() { echo "$1 --root $work/state-$2 run bench"; }
hyperfine -N --style basic --warmup 3 --runs "$runs" --export-json "$work/h.json" \
    -n caprun "$(cmd "$caprun" caprun)" \
    -n crun "$(cmd crun crun)" \
    -n runc "$(cmd runc runc)" \
    -n unshare+chroot "unshare --pid --fork --mount --uts --ipc --net chroot $work/bundle/rootfs /bin/true"

median() { jq -r --arg n "$1" '.results[] | select(.command == $n) | .median' "$work/h.json"; }
c=$(median caprun); k=$(median crun); r=$(median runc); u=$(median unshare+chroot)
echo
echo "median wall time (ms): caprun $(awk "BEGIN{printf \"%.2f\", $c*1000}")  crun $(awk "BEGIN{printf \"%.2f\", $k*1000}")  runc $(awk "BEGIN{printf \"%.2f\", $r*1000}")  unshare+chroot $(awk "BEGIN{printf \"%.2f\", $u*1000}")"
echo "ratio caprun/crun:           $(awk "BEGIN{printf \"%.2f\", $c/$k}")   (target <= 0.75)"
echo "ratio caprun/unshare+chroot: $(awk "BEGIN{printf \"%.2f\", $c/$u}")   (target <= 1.5)"
echo "ratio caprun/runc:           $(awk "BEGIN{printf \"%.2f\", $c/$r}")"

rss="$here/build/bench/peak-rss"
mc=$("$rss" 10 $(cmd "$caprun" caprun)); mk=$("$rss" 10 $(cmd crun crun)); mr=$("$rss" 10 $(cmd runc runc))
echo "median peak RSS (KiB): caprun $mc  crun $mk  runc $mr"
echo "ratio caprun/crun peak RSS:  $(awk "BEGIN{printf \"%.2f\", $mc/$mk}")   (target <= 1.0)"
