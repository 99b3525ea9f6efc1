#!/usr/bin/env bash
# demo-transcript.sh [--update]: the README's transcript of scripts/demo.sh. Reads demo.sh's
# output on stdin (or runs it when stdin is a terminal) and normalises what varies between
# runs and hosts: temp paths, pids, and the capability masks of the host it ran on. --update
# runs the demo and writes the result into README.md between its transcript markers;
# integration/newcomer.bats compares the two.
set -euo pipefail
cd "$(dirname "$0")/.."
begin='<!-- demo transcript: scripts/demo-transcript.sh --update -->'
end='<!-- end of demo transcript -->'
normalise() {
    sed -E -e 's#/tmp/caprun-demo\.[A-Za-z0-9]+#/tmp/caprun-demo.XXXXXX#g' \
        -e 's/\bpid [0-9]+/pid N/g' \
        -e 's/\b(Cap(Bnd|Prm|Eff|Inh|Amb))=[0-9a-f]{16}/\1=<host mask>/g'
}
if [ "${1:-}" = --update ]; then
    text="$(./scripts/demo.sh | normalise)"
    T="$text" B="$begin" E="$end" perl -0pi -e \
        's/\Q$ENV{B}\E\n.*?\Q$ENV{E}\E/$ENV{B}\n```console\n$ENV{T}\n```\n$ENV{E}/s' README.md
    grep -qF "$begin" README.md || { echo "README.md has no transcript markers" >&2; exit 1; }
elif [ -t 0 ]; then
    ./scripts/demo.sh | normalise
else
    normalise
fi
