#!/usr/bin/env bash
# Builds caprun with every dependency taken from its wrap in subprojects/ (sources from
# Debian's pool, hashes checked by meson), as on a machine without the -dev packages, and
# runs the unit tests of that build. In a copy of the tracked files under a temp dir, so
# the ~530 MB of extracted sources never land in the checkout. Exit status 0 when the
# build and the tests pass. Needs network access to deb.debian.org (as apt does).
#
#   scripts/test-fallback.sh                  build and test in a temp dir, removed after
#   scripts/test-fallback.sh --build-only DIR build in DIR (scripts/test.sh builds while the
#   scripts/test-fallback.sh --test-only DIR  integration suites run, then tests)
set -euo pipefail
cd "$(dirname "$0")/.."
extra_name=fallback
source scripts/extra-build-args.bash "$@"
if [ "$phase" != test ]; then
    mkdir -p "$work"
    git ls-files -z | tar --null -T - -cf - | tar -xf - -C "$work"
    cd "$work"
    meson setup build -Dsystemd=disabled --force-fallback-for=libseccomp,libcap,RapidJSON,spdlog,fmt,doctest,boost-program-options,libbpf \
        >meson-setup.log 2>&1 || { tail -30 meson-setup.log; exit 1; }
    for dep in libseccomp libcap RapidJSON spdlog fmt doctest boost-program-options libbpf; do
        # meson says "Dependency X found: YES <version> (overridden)" for a wrap it used.
        grep -qE "Dependency $dep found: YES .*\(overridden\)" meson-setup.log ||
            { echo "fallback: $dep was not taken from its wrap" >&2; grep -i "$dep" meson-setup.log >&2; exit 1; }
    done
    ninja -C build >ninja.log 2>&1 || { tail -40 ninja.log; exit 1; }
    if grep -q "warning:" ninja.log; then
        echo "fallback: the build has warnings:" >&2
        grep -B2 -A4 "warning:" ninja.log | head -40 >&2
        exit 1
    fi
    # The compiled ones are linked in, not taken from the system's shared libraries.
    if ldd build/src/cli/caprun | grep -E "libseccomp|libcap\.|libboost_program_options|libspdlog|libfmt|libbpf|libsystemd"; then
        echo "fallback: caprun still links the system libraries above" >&2
        exit 1
    fi
fi
[ "$phase" = build ] && exit 0
cd "$work"
./build/tests/unit-tests --no-colors=true | tail -n 3
./build/src/cli/caprun --version
