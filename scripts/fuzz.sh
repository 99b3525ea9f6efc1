#!/usr/bin/env bash
# Runs caprun's libFuzzer targets (fuzz/) over their seed corpora. Builds them with clang in
# ./build-fuzz (meson -Dfuzz=true) when needed.
#
#   scripts/fuzz.sh [--short] [--build-only] [TARGET...]
#
# Short mode (--short, or CI=true in the environment): FUZZ_SHORT_RUNS executions per target
# (default 20000), for CI. Long mode: FUZZ_LONG_RUNS (default 1000000). New inputs are
# written to a temp dir, never into fuzz/corpus/; a crash is saved as
# build-fuzz/crashes/<target>/crash-* and the script ends with status 1. Prints one line per
# target: "ok - fuzz_spec: 20000 runs" or "not ok - fuzz_spec: ...".
set -uo pipefail
cd "$(dirname "$0")/.."

short=false build_only=false
[ "${CI:-}" = true ] && short=true
targets=()
for a in "$@"; do
    case "$a" in
        --short) short=true ;;
        --long) short=false ;;
        --build-only) build_only=true ;;
        -h | --help) sed -n '2,11p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
        *) targets+=("$a") ;;
    esac
done
[ ${#targets[@]} -gt 0 ] || targets=(fuzz_spec fuzz_seccomp_profile fuzz_host_status fuzz_cli)
if $short; then runs="${FUZZ_SHORT_RUNS:-20000}"; else runs="${FUZZ_LONG_RUNS:-1000000}"; fi

build=build-fuzz
if [ ! -f "$build/build.ninja" ]; then
    CC=clang CXX=clang++ meson setup "$build" -Dfuzz=true -Dtests=false -Dprobe=false -Dstatic_deps=false >"/tmp/caprun-fuzz-setup.$$.log" 2>&1 ||
        { cat "/tmp/caprun-fuzz-setup.$$.log"; rm -f "/tmp/caprun-fuzz-setup.$$.log"; echo "not ok - fuzz: meson setup failed"; exit 1; }
    rm -f "/tmp/caprun-fuzz-setup.$$.log"
fi
ninja -C "$build" $(printf 'fuzz/%s ' "${targets[@]}") >"$build/fuzz-build.log" 2>&1 ||
    { tail -40 "$build/fuzz-build.log"; echo "not ok - fuzz: the targets do not build"; exit 1; }
$build_only && exit 0

failed=0
for t in "${targets[@]}"; do
    work=$(mktemp -d /tmp/caprun-fuzz.XXXXXX)
    mkdir -p "$build/crashes/$t"
    # The seed corpus is read only; libFuzzer adds what it finds to the first directory.
    ASAN_OPTIONS="${ASAN_OPTIONS:-detect_leaks=1:allocator_may_return_null=1}" \
    UBSAN_OPTIONS="${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}" \
        "$build/fuzz/$t" -runs="$runs" -max_len=65536 -rss_limit_mb=2048 -timeout=25 \
        -artifact_prefix="$build/crashes/$t/" -print_final_stats=1 \
        "$work" "fuzz/corpus/$t" >"$work.log" 2>&1
    rc=$?
    done_runs=$(sed -nE 's/^stat::number_of_executed_units: *([0-9]+).*/\1/p' "$work.log" | tail -1)
    if [ $rc -eq 0 ]; then
        echo "ok - $t: ${done_runs:-?} runs, corpus $(ls "fuzz/corpus/$t" | wc -l) seeds + $(ls "$work" | wc -l) new"
    else
        grep -E "ERROR|SUMMARY|==[0-9]+==|artifact|terminate|what\(\)" "$work.log" | head -20
        echo "not ok - $t: exit $rc after ${done_runs:-?} runs (inputs in $build/crashes/$t/)"
        failed=$((failed + 1))
    fi
    rm -rf "$work" "$work.log"
done
[ $failed -eq 0 ]
