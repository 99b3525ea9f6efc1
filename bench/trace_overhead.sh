#!/usr/bin/env bash
# What `run --trace-eperm` and `record` cost (issues 13, 32): the start-up of `caprun run` of
# /bin/true with and without them, and a syscall-heavy loop in the container (busybox dd, bs=1: two syscalls a
# byte) with tracing on and off; the loop's own time is the run's minus the /bin/true run's.
# caprun only, on the same busybox bundle as bench/startup.sh. Prints the figures; asserts
# nothing. Run as root.
#
#   RUNS=20 BYTES=1000000 bench/trace_overhead.sh
set -euo pipefail
here="$(cd "$(dirname "$0")/.." && pwd)"
caprun="${CAPRUN:-$here/build/src/cli/caprun}"
runs="${RUNS:-20}" bytes="${BYTES:-1000000}"
for tool in hyperfine jq; do
    command -v "$tool" >/dev/null || { echo "bench: $tool is missing" >&2; exit 1; }
done
[ -x "$caprun" ] || { echo "bench: caprun is not built at $caprun" >&2; exit 1; }
if "$caprun" trace --help | grep -q "eBPF tracer: MISSING"; then
    echo "bench: this caprun has no eBPF tracer" >&2
    exit 1
fi
work=$(mktemp -d /tmp/caprun-bench-trace.XXXXXX)
trap '"$caprun" --root "$work/state" delete -f bench >/dev/null 2>&1; rm -rf "$work"' EXIT

bundle() {
    CAPRUN="$caprun" "$here/scripts/make-bundle.sh" "$1" >/dev/null
    jq --argjson a "$2" '.process.terminal = false | .process.args = $a' "$1/config.json" >"$1/c.json"
    mv "$1/c.json" "$1/config.json"
}
bundle "$work/true" '["/bin/true"]'
bundle "$work/loop" "[\"/bin/dd\", \"if=/dev/zero\", \"of=/dev/null\", \"bs=1\", \"count=$bytes\"]"

run_cmd() { echo "$caprun --root $work/state run --bundle $1 ${2:-} bench"; }
hyperfine -N --style basic --warmup 3 --runs "$runs" --export-json "$work/r.json" \
    -n plain "$(run_cmd "$work/true")" \
    -n traced "$(run_cmd "$work/true" --trace-eperm)" \
    -n loop "$(run_cmd "$work/loop")" \
    -n loop-traced "$(run_cmd "$work/loop" --trace-eperm)" \
    -n recorded "$caprun --root $work/state record --bundle $work/true --output $work/rec bench" \
    -n loop-recorded "$caprun --root $work/state record --bundle $work/loop --output $work/rec bench" \
    >"$work/hyperfine.log" 2>&1 ||
    { cat "$work/hyperfine.log"; exit 1; }

m() { jq -r --arg n "$1" '.results[] | select(.command == $n) | .median' "$work/r.json"; }
ms() { awk -v s="$1" 'BEGIN { printf "%.2f", s * 1000 }'; }
echo "== caprun run, median of $runs (ms)"
for n in plain traced recorded loop loop-traced loop-recorded; do printf '  %-12s %9s\n' "$n" "$(ms "$(m "$n")")"; done
awk -v p="$(m plain)" -v t="$(m traced)" -v l="$(m loop)" -v lt="$(m loop-traced)" -v b="$bytes" \
    -v r="$(m recorded)" -v lr="$(m loop-recorded)" 'BEGIN {
    printf "start-up cost of --trace-eperm:          %8.2f ms (%.2fx)\n", (t - p) * 1000, t / p
    loop = l - p; looptr = lt - t
    printf "dd loop (%d read+write pairs) untraced:  %8.2f ms (%.0f ns a syscall)\n", b, loop * 1000, loop / (2 * b) * 1e9
    printf "dd loop traced:                          %8.2f ms (%.0f ns a syscall)\n", looptr * 1000, looptr / (2 * b) * 1e9
    printf "overhead of tracing on the loop:         %8.1f %%\n", (looptr / loop - 1) * 100
    looprec = lr - r
    printf "start-up cost of record:                 %8.2f ms (%.2fx)\n", (r - p) * 1000, r / p
    printf "overhead of recording on the loop:       %8.1f %%\n", (looprec / loop - 1) * 100
}'
