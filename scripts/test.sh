#!/usr/bin/env bash
# Runs every test: doctest unit tests, then the bats integration tests (as root). The last
# line is "N passed, N failed" summed over both.
set -uo pipefail
cd "$(dirname "$0")/.."
export CAPRUN="$PWD/build/src/cli/caprun"
export CAPRUN_PROBE="$PWD/build/integration/probe/caprun-probe"
passed=0 failed=0 skipped=0
log_dir=$(mktemp -d /tmp/caprun-tests.XXXXXX)

echo "== unit tests"
./build/tests/unit-tests --no-colors=true > "$log_dir/unit.log" 2>&1
unit_rc=$?
tail -n 4 "$log_dir/unit.log"
line=$(grep -E '^\[doctest\] test cases:' "$log_dir/unit.log" | tail -1)
if [ -n "$line" ]; then
    p=$(sed -E 's/.*\| *([0-9]+) passed.*/\1/' <<<"$line")
    f=$(sed -E 's/.*\| *([0-9]+) failed.*/\1/' <<<"$line")
    passed=$((passed + p)); failed=$((failed + f))
    [ "$f" -gt 0 ] && grep -B2 -A12 -E 'ERROR|FATAL' "$log_dir/unit.log" | head -150
elif [ $unit_rc -ne 0 ]; then
    cat "$log_dir/unit.log"; failed=$((failed + 1))
fi

# The wraps in subprojects/: a build with every dependency from its wrap, and its unit
# tests, counted as one test.
echo "== fallback wraps (scripts/test-fallback.sh)"
if ./scripts/test-fallback.sh > "$log_dir/fallback.log" 2>&1; then
    tail -n 8 "$log_dir/fallback.log"
    echo "ok - the build from the wraps passes its unit tests"
    passed=$((passed + 1))
else
    tail -n 40 "$log_dir/fallback.log"
    echo "not ok - the build from the wraps failed"
    failed=$((failed + 1))
fi

# The build without any optional dependency (no eBPF tracer, no systemd driver): no warnings, its unit tests, and the missing features reported as missing.
echo "== minimal build (scripts/test-minimal.sh)"
if ./scripts/test-minimal.sh > "$log_dir/minimal.log" 2>&1; then
    tail -n 6 "$log_dir/minimal.log"
    echo "ok - the build without optional dependencies passes and reports what it lacks"
    passed=$((passed + 1))
else
    tail -n 40 "$log_dir/minimal.log"
    echo "not ok - the build without optional dependencies failed"
    failed=$((failed + 1))
fi

# The Debian package and meson install (one more compilation, the package's): one test per
# check it prints.
echo "== Debian package and meson install (scripts/test-package.sh)"
./scripts/test-package.sh > "$log_dir/package.log" 2>&1
cat "$log_dir/package.log"
p=$(grep -cE '^ok - ' "$log_dir/package.log")
f=$(grep -cE '^not ok - ' "$log_dir/package.log")
if [ "$p" -eq 0 ] && [ "$f" -eq 0 ]; then f=1; fi
passed=$((passed + p)); failed=$((failed + f))

# Every C/C++ file of the repository is clang-formatted (.clang-format): one test.
echo "== clang-format"
unformatted=$(git ls-files '*.cpp' '*.hpp' '*.c' '*.h' | while read -r f; do
    clang-format --dry-run -Werror "$f" >/dev/null 2>&1 || echo "$f"; done)
if [ -z "$unformatted" ]; then
    echo "ok - every source file is clang-formatted"
    passed=$((passed + 1))
else
    echo "not ok - not clang-formatted (run clang-format -i): $(echo $unformatted)"
    failed=$((failed + 1))
fi

# The libFuzzer targets (fuzz/), a bounded number of executions each: one test per target.
echo "== fuzz targets (scripts/fuzz.sh --short)"
./scripts/fuzz.sh --short > "$log_dir/fuzz.log" 2>&1
cat "$log_dir/fuzz.log"
p=$(grep -cE '^ok - ' "$log_dir/fuzz.log")
f=$(grep -cE '^not ok - ' "$log_dir/fuzz.log")
if [ "$p" -eq 0 ] && [ "$f" -eq 0 ]; then f=1; fi
passed=$((passed + p)); failed=$((failed + f))

# The unit tests and part of the integration suite once more against an ASan+UBSan build.
echo "== sanitizers (scripts/test-sanitizers.sh)"
./scripts/test-sanitizers.sh > "$log_dir/sanitizers.log" 2>&1
cat "$log_dir/sanitizers.log"
p=$(grep -cE '^ok - ' "$log_dir/sanitizers.log")
f=$(grep -cE '^not ok - ' "$log_dir/sanitizers.log")
if [ "$p" -eq 0 ] && [ "$f" -eq 0 ]; then f=1; fi
passed=$((passed + p)); failed=$((failed + f))

if [ "$(id -u)" -ne 0 ]; then
    echo "== integration tests need root: not run"
else
    shopt -s nullglob
    suites=(integration/*.bats integration/callers/*.bats)
    # A hung test must not eat CI's time budget: bats stops a test after
    # BATS_TEST_TIMEOUT seconds and a whole suite is stopped after SUITE_TIMEOUT.
    export BATS_TEST_TIMEOUT="${BATS_TEST_TIMEOUT:-300}"
    suite_timeout="${SUITE_TIMEOUT:-900}"
    for suite in "${suites[@]}"; do
        echo "== $suite"
        log="$log_dir/$(basename "$suite").log"
        # Through a file, not a pipe: a process that leaked the output descriptor cannot
        # keep this loop waiting; a hung suite is stopped by the timeout and still shown.
        timeout --kill-after=30 "$suite_timeout" bats --tap "$suite" >"$log" 2>&1 </dev/null
        suite_rc=$?
        cat "$log"
        p=$(grep -cE '^ok [0-9]+' "$log" | head -1)
        s=$(grep -cE '^ok [0-9]+ .*# skip' "$log" | head -1)
        f=$(grep -cE '^not ok [0-9]+' "$log" | head -1)
        # A suite that died before reporting anything counts as one failure.
        if [ "$p" -eq 0 ] && [ "$f" -eq 0 ]; then f=1; fi
        if [ "$suite_rc" -eq 124 ] || [ "$suite_rc" -eq 137 ]; then
            echo "# $suite was stopped after ${suite_timeout}s: counted as one more failure"
            f=$((f + 1))
        fi
        passed=$((passed + p - s)); skipped=$((skipped + s)); failed=$((failed + f))
    done
fi
rm -rf "$log_dir"
if [ $skipped -gt 0 ]; then
    echo "$passed passed, $failed failed, $skipped skipped"
else
    echo "$passed passed, $failed failed"
fi
[ $failed -eq 0 ]
