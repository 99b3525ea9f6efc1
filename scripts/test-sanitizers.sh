#!/usr/bin/env bash
# Builds caprun with AddressSanitizer + UndefinedBehaviorSanitizer (g++, meson
# -Db_sanitize=address,undefined) in ./build-asan and runs the unit tests and, as root, a part
# of the integration suite (SANITIZER_SUITES, default lifecycle, exec and escape) against
# that caprun. Any sanitizer report fails the run (halt_on_error; the reports also go to
# a log that is checked). The probe comes from ./build (a static binary, not sanitized).
# Prints one line per part: "ok - ..." / "not ok - ...", counted by scripts/test.sh.
#
#   scripts/test-sanitizers.sh [--build-only | --test-only]   (scripts/test.sh builds while
#                                                              the integration suites run)
set -uo pipefail
cd "$(dirname "$0")/.."
build=build-asan
phase=all
case "${1:-}" in
    --build-only) phase=build ;;
    --test-only) phase=test ;;
    "") ;;
    *) echo "test-sanitizers.sh: unknown argument $1" >&2; exit 2 ;;
esac
if [ "$phase" != test ]; then
    if [ ! -f "$build/build.ninja" ]; then
        meson setup "$build" -Db_sanitize=address,undefined -Db_lundef=false -Dprobe=false -Dstatic_deps=false \
            -Dbuildtype=debugoptimized >"/tmp/caprun-asan-setup.$$.log" 2>&1 ||
            { cat "/tmp/caprun-asan-setup.$$.log"; rm -f "/tmp/caprun-asan-setup.$$.log"; echo "not ok - sanitizers: meson setup failed"; exit 1; }
        rm -f "/tmp/caprun-asan-setup.$$.log"
    fi
    if ! ninja -C "$build" src/cli/caprun tests/unit-tests >"$build/ninja.log" 2>&1; then
        tail -40 "$build/ninja.log"
        echo "not ok - sanitizers: the ASan+UBSan build failed"
        exit 1
    fi
fi
[ "$phase" = build ] && exit 0
reports=$(mktemp -d /tmp/caprun-asan.XXXXXX)
trap 'rm -rf "$reports"' EXIT
# log_path: a report from any caprun process (also the container's init before execve,
# whose stderr may be the container's) lands in $reports.
export ASAN_OPTIONS="halt_on_error=1:abort_on_error=0:detect_leaks=1:log_path=$reports/asan"
export UBSAN_OPTIONS="halt_on_error=1:print_stacktrace=1:suppressions=$PWD/scripts/ubsan.supp:log_path=$reports/ubsan"
failed=0

report_check() {
    if compgen -G "$reports/*" >/dev/null; then
        head -60 "$reports"/* >&2
        rm -f "$reports"/*
        return 1
    fi
}

if ./"$build"/tests/unit-tests --no-colors=true >"$reports.unit.log" 2>&1 && report_check; then
    echo "ok - sanitizers: unit tests ($(grep -E '^\[doctest\] test cases:' "$reports.unit.log" | tail -1))"
else
    tail -40 "$reports.unit.log"
    echo "not ok - sanitizers: unit tests"
    failed=$((failed + 1))
fi
rm -f "$reports.unit.log"

if [ "$(id -u)" -eq 0 ]; then
    for suite in ${SANITIZER_SUITES:-lifecycle exec escape}; do
        log="$reports.$suite.log"
        CAPRUN="$PWD/$build/src/cli/caprun" CAPRUN_PROBE="$PWD/build/integration/probe/caprun-probe" \
            BATS_TEST_TIMEOUT="${BATS_TEST_TIMEOUT:-300}" \
            timeout --kill-after=30 "${SUITE_TIMEOUT:-900}" bats --tap "integration/$suite.bats" >"$log" 2>&1 </dev/null
        p=$(grep -cE '^ok [0-9]+' "$log")
        f=$(grep -cE '^not ok [0-9]+' "$log")
        if [ "$f" -eq 0 ] && [ "$p" -gt 0 ] && report_check; then
            echo "ok - sanitizers: integration/$suite.bats ($p tests) against the ASan+UBSan caprun"
        else
            grep -A15 '^not ok' "$log" | head -80
            echo "not ok - sanitizers: integration/$suite.bats ($f of $((p + f)) failed, or a sanitizer report)"
            failed=$((failed + 1))
        fi
        rm -f "$log"
    done
else
    echo "# sanitizers: integration tests need root: not run"
fi
[ $failed -eq 0 ]
