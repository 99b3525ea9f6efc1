#!/usr/bin/env bash
# Builds, one after the other, what the full suite tests beyond ./build: the build from the
# wraps, the minimal build and the Debian package (in DIR/fallback, DIR/minimal and
# DIR/package), the ASan+UBSan build
# (./build-asan) and the fuzz targets (./build-fuzz). Only compiles: no test, no root, nothing
# outside DIR and those two build directories, so scripts/test.sh runs it at nice 19 while
# the integration suites run. For each build B it writes DIR/B.log (the build's output),
# DIR/B.rc (its exit status) and DIR/B.took (seconds).
#
#   scripts/build-extras.sh DIR
set -uo pipefail
cd "$(dirname "$0")/.."
dir="${1:?usage: build-extras.sh DIR}"
mkdir -p "$dir"
for b in fallback minimal package sanitizers fuzz; do
    start=$SECONDS
    case "$b" in
        fallback) ./scripts/test-fallback.sh --build-only "$dir/fallback" ;;
        minimal) ./scripts/test-minimal.sh --build-only "$dir/minimal" ;;
        package) ./scripts/test-package.sh --build-only "$dir/package" ;;
        sanitizers) ./scripts/test-sanitizers.sh --build-only ;;
        fuzz) ./scripts/fuzz.sh --build-only ;;
    esac >"$dir/$b.log" 2>&1
    echo $? >"$dir/$b.rc"
    echo $((SECONDS - start)) >"$dir/$b.took"
done
