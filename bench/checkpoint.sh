#!/usr/bin/env bash
# Checkpoint and restore times of the busybox counter container (issue 35), caprun and runc
# side by side in one run, both driving the same CRIU (../shared/bin/criu or $CRIU) on the
# same bundle: RUNS rounds of run -d, checkpoint (the container stops), restore -d, delete;
# the median and spread of checkpoint and of restore per runtime. Prints; asserts nothing.
# Run as root.
#
#   RUNS=10 bench/checkpoint.sh
set -euo pipefail
here="$(cd "$(dirname "$0")/.." && pwd)"
caprun="${CAPRUN:-$here/build/src/cli/caprun}"
criu="${CRIU:-$(cd "$here/.." && pwd)/shared/bin/criu}"
runs="${RUNS:-10}"
for tool in runc jq; do
    command -v "$tool" >/dev/null || { echo "bench: $tool is missing" >&2; exit 1; }
done
[ -x "$caprun" ] || { echo "bench: caprun is not built at $caprun" >&2; exit 1; }
[ -x "$criu" ] || { echo "bench: no CRIU at $criu" >&2; exit 1; }
work=$(mktemp -d /tmp/caprun-bench-cr.XXXXXX)
cleanup() {
    "$caprun" --root "$work/state-caprun" delete -f bench >/dev/null 2>&1 || true
    runc --root "$work/state-runc" delete -f bench >/dev/null 2>&1 || true
    rm -rf "$work"
}
trap cleanup EXIT

CAPRUN="$caprun" "$here/scripts/make-bundle.sh" "$work/bundle" >/dev/null
jq '.process.terminal = false | .root.readonly = false
    | .process.args = ["/bin/sh", "-c", "i=0; while true; do i=$((i+1)); echo $i > /tmp/count; sleep 0.05; done"]' \
    "$work/bundle/config.json" >"$work/c.json"
mv "$work/c.json" "$work/bundle/config.json"

ms() { echo $(( ($(date +%s%N) - $1) / 1000000 )); }

# one RUNTIME STATE-ROOT: prints "checkpoint_ms restore_ms" per round.
one() {
    local rt="$1" root="$2" i t0 c r
    for i in $(seq 1 "$runs"); do
        rm -rf "$work/img"
        (cd "$work/bundle" && "$rt" --root "$root" run -d bench </dev/null >/dev/null 2>&1)
        sleep 0.3
        t0=$(date +%s%N)
        (cd "$work/bundle" && "$rt" --root "$root" --criu "$criu" checkpoint --image-path "$work/img" bench)
        c=$(ms "$t0")
        t0=$(date +%s%N)
        (cd "$work/bundle" && "$rt" --root "$root" --criu "$criu" restore -d --image-path "$work/img" bench \
            </dev/null >/dev/null 2>&1)
        r=$(ms "$t0")
        "$rt" --root "$root" delete -f bench >/dev/null
        echo "$c $r"
    done
}

median() { sort -n | awk '{a[NR]=$1} END {m=(NR%2)?a[(NR+1)/2]:(a[NR/2]+a[NR/2+1])/2; printf "%s ms (min %s, max %s)", m, a[1], a[NR]}'; }

"$criu" --version | head -1
runc --version | head -1
"$caprun" --version | head -1
echo "$runs rounds each, counter container, images on $(df --output=fstype "$work" | tail -1)"
for rt in caprun runc; do
    bin="$caprun"; [ "$rt" = runc ] && bin=runc
    one "$bin" "$work/state-$rt" >"$work/$rt.times"
done
printf '%-8s %-36s %s\n' runtime checkpoint restore
for rt in caprun runc; do
    printf '%-8s %-36s %s\n' "$rt" "$(cut -d' ' -f1 "$work/$rt.times" | median)" \
        "$(cut -d' ' -f2 "$work/$rt.times" | median)"
done
