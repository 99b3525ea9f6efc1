#!/usr/bin/env bash
# Runs caprun's tests and ends with one line "N passed, N failed" (", N skipped" when some
# were) summed over every block. After each block it prints "# <block> took N s", and at the
# end the five slowest blocks.
#
#   scripts/test.sh            the full suite, what CI runs: unit tests (as root and as an
#                              ordinary user), clang-format, the hot-functions list, the
#                              build from the wraps, the minimal build, the fuzz targets, the
#                              sanitizer build, every integration suite (callers, the systemd
#                              host, soak and fault injection included)
#   scripts/test.sh --quick    from a built tree (./build): the unit tests, clang-format, the
#                              hot-functions list and the integration suites that drive caprun
#                              itself; no extra build, caller daemon, systemd host, fuzzing,
#                              soak or fault injection. Under 10 minutes here.
#
# Either fails when the run changed the work tree (git status --porcelain).
# CAPRUN_TEST_LOCK=FILE: each block that creates containers or cgroups holds flock(FILE),
# so that test runs of several checkouts on one machine take turns (the suites' teardown
# diffs the host's cgroups and mounts).
set -uo pipefail
cd "$(dirname "$0")/.."

quick=false
for a in "$@"; do
    case "$a" in
        --quick) quick=true ;;
        -h | --help) sed -n '2,16p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
        *) echo "test.sh: unknown argument $a (see --help)" >&2; exit 2 ;;
    esac
done

locked=()
[ -n "${CAPRUN_TEST_LOCK:-}" ] && locked=(flock "$CAPRUN_TEST_LOCK")
export CAPRUN="$PWD/build/src/cli/caprun"
export CAPRUN_PROBE="$PWD/build/integration/probe/caprun-probe"
passed=0 failed=0 skipped=0
timings=()
log_dir=$(mktemp -d /tmp/caprun-tests.XXXXXX)
extras_pid=""
trap '[ -n "$extras_pid" ] && kill -- -"$extras_pid" 2>/dev/null; rm -rf "$log_dir"' EXIT
tree_before=$(git status --porcelain 2>/dev/null)

# block NAME COMMAND...: runs COMMAND (a function of this file), then prints its time.
block() {
    local name="$1" start=$SECONDS
    shift
    echo "== $name"
    "$@"
    local took=$((SECONDS - start))
    echo "# $name took $took s"
    timings+=("$took $name")
}

ok() { echo "ok - $*"; passed=$((passed + 1)); }
not_ok() { echo "not ok - $*"; failed=$((failed + 1)); }

# Adds the "ok -" / "not ok -" lines of a log; a log with neither counts as one failure.
count_ok_lines() {
    local p f
    p=$(grep -cE '^ok - ' "$1")
    f=$(grep -cE '^not ok - ' "$1")
    if [ "$p" -eq 0 ] && [ "$f" -eq 0 ]; then f=1; fi
    passed=$((passed + p)); failed=$((failed + f))
}

# Adds doctest's summary line of a log ("test cases: N | N passed | N failed | N skipped").
count_doctest() {
    local log="$1" rc="$2" line p f s
    tail -n 4 "$log"
    line=$(grep -E '^\[doctest\] test cases:' "$log" | tail -1)
    if [ -z "$line" ]; then
        cat "$log"; failed=$((failed + 1)); return
    fi
    p=$(sed -E 's/.*\| *([0-9]+) passed.*/\1/' <<<"$line")
    f=$(sed -E 's/.*\| *([0-9]+) failed.*/\1/' <<<"$line")
    s=$(sed -nE 's/.*\| *([0-9]+) skipped.*/\1/p' <<<"$line")
    passed=$((passed + p)); failed=$((failed + f)); skipped=$((skipped + ${s:-0}))
    if [ "$f" -gt 0 ]; then
        grep -B2 -A12 -E 'ERROR|FATAL' "$log" | head -150
    elif [ "$rc" -ne 0 ]; then
        echo "not ok - unit tests exited $rc"; failed=$((failed + 1))
    fi
}

build_tree() {
    if [ ! -f build/build.ninja ]; then
        not_ok "no build in ./build: run ./scripts/setup.sh first"
        return
    fi
    if ninja -C build >"$log_dir/build.log" 2>&1; then
        ok "./build is up to date ($(./build/src/cli/caprun --version | head -1))"
    else
        tail -n 40 "$log_dir/build.log"
        not_ok "ninja -C build failed"
    fi
}

unit_tests() {
    "${locked[@]}" ./build/tests/unit-tests --no-colors=true >"$log_dir/unit.log" 2>&1
    count_doctest "$log_dir/unit.log" $?
}

# Every case passes for an ordinary user too, or doctest reports it skipped.
unit_tests_unprivileged() {
    if [ "$(id -u)" -ne 0 ]; then
        echo "# already run as an ordinary user above"
        return
    fi
    # The unit tests read tests/data from the source tree, so nobody must reach it.
    if ! setpriv --reuid=nobody --regid=nogroup --clear-groups test -r tests/data/runtime-spec-1.3.0-fields.txt; then
        echo "not ok - unit tests as nobody: the user nobody cannot read $PWD (make it and its parents o+rx)"
        failed=$((failed + 1))
        return
    fi
    (cd /tmp && "${locked[@]}" setpriv --reuid=nobody --regid=nogroup --clear-groups \
        env -u CAPRUN -u CAPRUN_PROBE HOME=/nonexistent "$OLDPWD/build/tests/unit-tests" --no-colors=true) \
        >"$log_dir/unit-nobody.log" 2>&1
    count_doctest "$log_dir/unit-nobody.log" $?
}

# Every C/C++ file of the repository is clang-formatted (.clang-format): one test.
clang_format() {
    local unformatted
    unformatted=$(git ls-files '*.cpp' '*.hpp' '*.c' '*.h' | while read -r f; do
        clang-format --dry-run -Werror "$f" >/dev/null 2>&1 || echo "$f"; done)
    if [ -z "$unformatted" ]; then
        ok "every source file is clang-formatted"
    else
        not_ok "not clang-formatted (run clang-format -i): $(echo $unformatted)"
    fi
}

hot_functions() {
    if out=$(./scripts/check-hot-functions.sh 2>&1); then ok "$out"; else not_ok "$out"; fi
}

# The builds beyond ./build compile in the background (scripts/build-extras.sh, nice 19)
# while the integration suites run; their tests run after. A build that failed is one
# failure, with its log.
start_extra_builds() {
    extras="$log_dir/extras"
    mkdir -p "$extras"
    # The package is built by nobody (test-package.sh), who must reach its directory.
    chmod 755 "$log_dir" "$extras"
    # Its own process group, so that an early exit stops every compiler it started.
    setsid nice -n 19 ./scripts/build-extras.sh "$extras" </dev/null >"$extras/all.log" 2>&1 &
    extras_pid=$!
}

wait_extra_builds() {
    wait "$extras_pid"
    extras_pid=""
    local b
    for b in fallback minimal package sanitizers fuzz; do
        echo "# $b build took $(cat "$extras/$b.took" 2>/dev/null || echo '?') s (in the background)"
        timings+=("$(cat "$extras/$b.took" 2>/dev/null || echo 0) $b build (in the background)")
    done
}

# The build finished (status 0), else its log is shown and it counts as one failure.
extra_built() {
    local b="$1"
    [ "$(cat "$extras/$b.rc" 2>/dev/null)" = 0 ] && return 0
    tail -n 40 "$extras/$b.log"
    not_ok "the $b build failed (exit $(cat "$extras/$b.rc" 2>/dev/null || echo '?'))"
    return 1
}

# extra_build_test BUILD SCRIPT TAIL OK FAILED: BUILD's tests (SCRIPT --test-only on its
# directory), the last TAIL lines of their output and one ok/not ok line.
extra_build_test() {
    local b="$1" script="$2" lines="$3"
    extra_built "$b" || return
    if "${locked[@]}" "$script" --test-only "$extras/$b" >"$log_dir/$b.log" 2>&1; then
        tail -n "$lines" "$log_dir/$b.log"
        ok "$4"
    else
        tail -n 40 "$log_dir/$b.log"
        not_ok "$5"
    fi
}

# The wraps in subprojects/: a build with every dependency from its wrap, and its unit tests.
fallback_build() {
    extra_build_test fallback ./scripts/test-fallback.sh 8 \
        "the build from the wraps passes its unit tests" "the build from the wraps failed"
}

# The build without any optional dependency (no eBPF tracer, no systemd driver): no
# warnings, its unit tests, and the missing features reported as missing.
minimal_build() {
    extra_build_test minimal ./scripts/test-minimal.sh 6 \
        "the build without optional dependencies passes and reports what it lacks" \
        "the build without optional dependencies failed"
}

# The Debian package and meson install: one test per check test-package.sh prints.
debian_package() {
    extra_built package || return
    CAPRUN_TEST_LOCK="${CAPRUN_TEST_LOCK:-}" ./scripts/test-package.sh --test-only "$extras/package" \
        >"$log_dir/package.log" 2>&1
    cat "$log_dir/package.log"
    count_ok_lines "$log_dir/package.log"
}

# The libFuzzer targets (fuzz/), a bounded number of executions each: one test per target.
fuzz_targets() {
    extra_built fuzz || return
    ./scripts/fuzz.sh --short >"$log_dir/fuzz.log" 2>&1
    cat "$log_dir/fuzz.log"
    count_ok_lines "$log_dir/fuzz.log"
}

# The unit tests and part of the integration suite once more against an ASan+UBSan build.
sanitizers() {
    extra_built sanitizers || return
    "${locked[@]}" ./scripts/test-sanitizers.sh --test-only >"$log_dir/sanitizers.log" 2>&1
    cat "$log_dir/sanitizers.log"
    count_ok_lines "$log_dir/sanitizers.log"
}

# One bats suite: its TAP lines counted; a suite that died before reporting counts as one
# failure, and so does one stopped by the timeout.
bats_suite() {
    local suite="$1" log suite_rc p s f
    log="$log_dir/$(basename "$suite").log"
    # Through a file, not a pipe: a process that leaked the output descriptor cannot
    # keep this loop waiting; a hung suite is stopped by the timeout and still shown.
    "${locked[@]}" timeout --kill-after=30 "$suite_timeout" bats --tap "$suite" >"$log" 2>&1 </dev/null
    suite_rc=$?
    cat "$log"
    p=$(grep -cE '^ok [0-9]+' "$log")
    s=$(grep -cE '^ok [0-9]+ .*# skip' "$log")
    f=$(grep -cE '^not ok [0-9]+' "$log")
    if [ "$p" -eq 0 ] && [ "$f" -eq 0 ]; then f=1; fi
    if [ "$suite_rc" -eq 124 ] || [ "$suite_rc" -eq 137 ]; then
        echo "# $suite was stopped after ${suite_timeout}s: counted as one more failure"
        f=$((f + 1))
    fi
    passed=$((passed + p - s)); skipped=$((skipped + s)); failed=$((failed + f))
}

work_tree_unchanged() {
    local after
    after=$(git status --porcelain 2>/dev/null)
    if [ "$after" = "$tree_before" ]; then
        ok "the run left the work tree as it found it"
    else
        not_ok "the run changed the work tree (git status --porcelain): $(diff <(echo "$tree_before") <(echo "$after") | grep '^[<>]' | tr '\n' ' ')"
    fi
}

block "build" build_tree
$quick || start_extra_builds
block "unit tests" unit_tests
block "unit tests as an ordinary user" unit_tests_unprivileged
block "clang-format" clang_format
block "hot-functions list" hot_functions

if [ "$(id -u)" -ne 0 ]; then
    echo "== integration tests need root: not run"
else
    shopt -s nullglob
    if $quick; then
        # The suites that drive caprun itself: no caller daemon, systemd host, soak or
        # fault injection.
        suites=()
        for s in integration/*.bats; do
            case "$(basename "$s")" in systemd.bats | soak.bats | faults.bats) continue ;; esac
            suites+=("$s")
        done
    else
        suites=(integration/*.bats integration/callers/*.bats)
    fi
    # A hung test must not eat CI's time budget: bats stops a test after
    # BATS_TEST_TIMEOUT seconds and a whole suite is stopped after SUITE_TIMEOUT.
    export BATS_TEST_TIMEOUT="${BATS_TEST_TIMEOUT:-300}"
    suite_timeout="${SUITE_TIMEOUT:-900}"
    for suite in "${suites[@]}"; do
        block "$suite" bats_suite "$suite"
    done
fi
if ! $quick; then
    block "waiting for the extra builds" wait_extra_builds
    block "fallback wraps: unit tests (scripts/test-fallback.sh)" fallback_build
    block "minimal build: unit tests and features (scripts/test-minimal.sh)" minimal_build
    block "Debian package and meson install (scripts/test-package.sh)" debian_package
    block "fuzz targets (scripts/fuzz.sh --short)" fuzz_targets
    block "sanitizers: unit tests and suites (scripts/test-sanitizers.sh)" sanitizers
fi
block "work tree unchanged" work_tree_unchanged

echo "# the five slowest blocks:"
printf '%s\n' "${timings[@]}" | sort -rn | head -5 | sed -E 's/^([0-9]+) (.*)/#   \2: \1 s/'
if [ $skipped -gt 0 ]; then
    echo "$passed passed, $failed failed, $skipped skipped"
else
    echo "$passed passed, $failed failed"
fi
[ $failed -eq 0 ]
