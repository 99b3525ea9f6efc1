#!/usr/bin/env bash
# Fails when src/cli/hot-functions.txt (the start-up functions the release link places
# together) is stale: fewer than 90 % of the symbols it names are in the built caprun. A stale
# list costs start-up pages, never correctness, so only a test notices it; regenerate it with
# scripts/hot-functions.sh. Prints one line: how many of the names the binary has.
#
#   scripts/check-hot-functions.sh [CAPRUN]    (default ./build/src/cli/caprun)
set -euo pipefail
cd "$(dirname "$0")/.."
caprun="${1:-build/src/cli/caprun}"
list=src/cli/hot-functions.txt
[ -x "$caprun" ] || { echo "hot-functions: no $caprun: build first (./scripts/setup.sh)"; exit 1; }
names=$(grep -v '^#' "$list" | sed '/^$/d' | sort -u)
total=$(wc -l <<<"$names")
present=$(comm -12 <(echo "$names") <(nm --defined-only "$caprun" | awk '{print $NF}' | sort -u) | wc -l)
percent=$((present * 100 / total))
msg="$list: $present of $total symbols are in $caprun ($percent %)"
if [ "$percent" -lt 90 ]; then
    echo "$msg, under 90 %: regenerate it with scripts/hot-functions.sh"
    exit 1
fi
echo "$msg"
