#!/usr/bin/env bash
# Start-up benchmark: caprun, crun and runc side by side in one run on the same bundle
# (runc's default spec, busybox rootfs, /bin/true), with a bare `unshare -m -p -i -u -f
# chroot` of the same binary as the floor. Prints every figure with its ratio and the target
# next to it; asserts nothing (a benchmark, not a test). Run as root after ./scripts/setup.sh.
#
#   RUNS=40 bench/startup.sh
#
# Figures: median wall time of `run` (plain, with the built-in default seccomp profile
# against crun with the equivalent OCI profile, and without a network namespace); peak RSS
# of the runtime process; `check`; `state`/`list` with 100 containers; the first start in a
# fresh state root against warm starts.
set -euo pipefail
source "$(dirname "$0")/lib.sh"
runs="${RUNS:-40}"

plain="$work/plain"
make_bench_bundle "$plain"
seccomp="$work/seccomp"
make_bench_bundle "$seccomp"
jq --argjson s "$(oci_default_seccomp "$seccomp")" '.linux.seccomp = $s' \
    "$seccomp/config.json" >"$work/crun-seccomp.json"
nonet="$work/nonet"
make_bench_bundle "$nonet" 'del(.linux.namespaces[] | select(.type == "network"))'

# run_cmd RUNTIME BUNDLE [EXTRA]: the `run` command line for a runtime with its own root.
run_cmd() { echo "$1 --root $work/state-$(basename "$1") run --bundle $2 ${3:-} bench"; }
crun_seccomp_bundle="$work/crun-seccomp"
mkdir -p "$crun_seccomp_bundle"
ln -s "$seccomp/rootfs" "$crun_seccomp_bundle/rootfs"
cp "$work/crun-seccomp.json" "$crun_seccomp_bundle/config.json"
bench_cleanup_hooks+=('for r in runc crun "$caprun"; do "$r" --root "$work/state-$(basename "$r")" delete -f bench >/dev/null 2>&1; done')

floor="unshare -m -p -i -u -f chroot $plain/rootfs /bin/true"
floor_net="unshare -m -p -i -u -n -f chroot $plain/rootfs /bin/true"
hyperfine -N --style basic --warmup 3 --runs "$runs" --export-json "$work/run.json" \
    -n caprun "$(run_cmd "$caprun" "$plain")" \
    -n crun "$(run_cmd crun "$plain")" \
    -n runc "$(run_cmd runc "$plain")" \
    -n caprun-seccomp "$(run_cmd "$caprun" "$seccomp" "--seccomp-profile default")" \
    -n crun-seccomp "$(run_cmd crun "$crun_seccomp_bundle")" \
    -n caprun-nonet "$(run_cmd "$caprun" "$nonet")" \
    -n caprun-trace "$(run_cmd "$caprun" "$plain" "--trace-eperm")" \
    -n crun-nonet "$(run_cmd crun "$nonet")" \
    -n floor "$floor" \
    -n floor-net "$floor_net" >"$work/hyperfine-run.log"

m() { median_of "$work/run.json" "$1"; }
echo
echo "== run of /bin/true, median of $runs (ms)"
for n in caprun crun runc caprun-seccomp crun-seccomp caprun-nonet crun-nonet caprun-trace floor floor-net; do
    printf '  %-16s %8s\n' "$n" "$(ms "$(m "$n")")"
done
echo "  (the default spec has a new network namespace, so its floor is floor-net)"
figure "caprun/crun, default spec" "$(ratio "$(m caprun)" "$(m crun)")" "<=" 0.75
figure "caprun/floor-net, default spec" "$(ratio "$(m caprun)" "$(m floor-net)")" "<=" 2
figure "caprun/crun, built-in seccomp vs crun's OCI copy" "$(ratio "$(m caprun-seccomp)" "$(m crun-seccomp)")" "<=" 0.75
figure "caprun/floor-net, built-in seccomp" "$(ratio "$(m caprun-seccomp)" "$(m floor-net)")" "<=" 2
figure "caprun/crun, no network namespace" "$(ratio "$(m caprun-nonet)" "$(m crun-nonet)")" "<=" 0.75
figure "caprun/floor, no network namespace" "$(ratio "$(m caprun-nonet)" "$(m floor)")" "<=" 2
printf '%-52s %8s\n' "caprun/runc, default spec" "$(ratio "$(m caprun)" "$(m runc)")"
printf '%-52s %8s ms\n' "cost of run --trace-eperm (caprun; bench/trace_overhead.sh: the loop)" \
    "$(awk -v a="$(m caprun-trace)" -v b="$(m caprun)" 'BEGIN { printf "%.2f", (a - b) * 1000 }')"
printf '%-52s %8s ms\n' "cost of the cached seccomp filter (caprun)" \
    "$(awk -v a="$(m caprun-seccomp)" -v b="$(m caprun)" 'BEGIN { printf "%.2f", (a - b) * 1000 }')"

echo
echo "== peak RSS of the runtime process (KiB, median of 10, /usr/bin/time -v)"
rc=$(peak_rss 10 $(run_cmd "$caprun" "$plain"))
rk=$(peak_rss 10 $(run_cmd crun "$plain"))
rr=$(peak_rss 10 $(run_cmd runc "$plain"))
printf '  caprun %s  crun %s  runc %s\n' "$rc" "$rk" "$rr"
figure "caprun/crun peak RSS" "$(ratio "$rc" "$rk")" "<=" 1.0

echo
echo "== check, state and list"
hyperfine -N --style basic --warmup 3 --runs "$runs" --export-json "$work/check.json" \
    -n check "$caprun check --bundle $plain" >"$work/hyperfine-check.log"
figure "caprun check of the default bundle (ms)" "$(ms "$(median_of "$work/check.json" check)")" "<=" 2
# 100 created containers per runtime (blocked before user code), then state and list.
for rt in "$caprun" crun; do
    for i in $(seq 1 100); do
        "$rt" --root "$work/state100-$(basename "$rt")" create --bundle "$plain" "c$i" </dev/null >/dev/null 2>&1
    done
done
bench_cleanup_hooks+=('for r in crun "$caprun"; do for i in $(seq 1 100); do "$r" --root "$work/state100-$(basename "$r")" delete -f "c$i" >/dev/null 2>&1; done; done')
hyperfine -N --style basic --warmup 3 --runs "$runs" --export-json "$work/state.json" \
    -n caprun-state "$caprun --root $work/state100-caprun state c50" \
    -n crun-state "crun --root $work/state100-crun state c50" \
    -n caprun-list "$caprun --root $work/state100-caprun list" \
    -n crun-list "crun --root $work/state100-crun list" >"$work/hyperfine-state.log"
s() { median_of "$work/state.json" "$1"; }
printf '  state: caprun %s ms  crun %s ms;  list of 100: caprun %s ms  crun %s ms\n' \
    "$(ms "$(s caprun-state)")" "$(ms "$(s crun-state)")" "$(ms "$(s caprun-list)")" "$(ms "$(s crun-list)")"
figure "caprun/crun state with 100 containers" "$(ratio "$(s caprun-state)" "$(s crun-state)")" "<=" 1.0
figure "caprun/crun list of 100 containers" "$(ratio "$(s caprun-list)" "$(s crun-list)")" "<=" 1.0

echo
echo "== first start in a fresh state root vs warm (ms; caprun's seccomp cache starts empty)"
for rt in "$caprun" crun; do
    name=$(basename "$rt")
    extra=""; bundle="$seccomp"
    [ "$name" = crun ] && bundle="$crun_seccomp_bundle"
    [ "$name" = caprun ] && extra="--seccomp-profile default"
    first=$(hyperfine -N --style none --runs 1 --export-json "$work/first-$name.json" \
        --prepare "rm -rf $work/state-first-$name" \
        "$rt --root $work/state-first-$name run --bundle $bundle $extra bench" >/dev/null &&
        jq -r '.results[0].median' "$work/first-$name.json")
    warm=$(m "$name-seccomp")
    printf '  %-8s first %8s  warm %8s  first/warm %s\n' "$name" "$(ms "$first")" "$(ms "$warm")" "$(ratio "$first" "$warm")"
done
echo "  (page cache stays warm: a first start after boot also reads the binaries from disk)"
