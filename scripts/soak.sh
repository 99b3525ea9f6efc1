#!/usr/bin/env bash
# The long soak: integration/soak.bats with SOAK_ROUNDS rounds (default 1000) of
# SOAK_PARALLEL (default 50) concurrent create/start/exec/kill/delete cycles. As root.
#   scripts/soak.sh [ROUNDS]
set -euo pipefail
cd "$(dirname "$0")/.."
export CAPRUN="${CAPRUN:-$PWD/build/src/cli/caprun}"
export CAPRUN_PROBE="${CAPRUN_PROBE:-$PWD/build/integration/probe/caprun-probe}"
export SOAK_ROUNDS="${1:-${SOAK_ROUNDS:-1000}}"
unset BATS_TEST_TIMEOUT  # a long soak has no per-test limit
exec bats --tap integration/soak.bats
