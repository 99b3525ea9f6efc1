#!/bin/bash
# syscalls.perf.c from syscalls.csv as libseccomp's src/Makefile.am makes it: the tarball's
# own arch-gperf-generate writes syscalls.perf into the current directory, then gperf.
# Usage: gen-syscalls-perf.sh GENERATOR CSV TEMPLATE GPERF OUTPUT
set -euo pipefail
gen=$(realpath "$1"); csv=$(realpath "$2"); tmpl=$(realpath "$3"); gperf=$4
out=$(realpath -m "$5")
dir=$(dirname "$out")
cd "$dir"
bash "$gen" "$csv" "$tmpl"
"$gperf" -m 100 --null-strings --pic -tCEG -T -S1 syscalls.perf >"$out"
rm -f syscalls.perf
