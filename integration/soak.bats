#!/usr/bin/env bats
# Soak (issue 15): SOAK_PARALLEL (50) containers at once go through create, start, exec,
# kill and delete (one soak_cycle.bash each), SOAK_ROUNDS times (CI: 2; scripts/soak.sh
# runs 1000), while `state` runs concurrently on the same ids (the container lock
# serialises them). Every exit code must
# be the expected one, the exec'd process holds only stdio, and after each round nothing is
# left: no state dir, process, zombie, cgroup, mount, or host fd into the test's files.

load helpers

@test "soak: concurrent create/start/exec/kill/delete cycles leave nothing behind" {
    local rounds="${SOAK_ROUNDS:-2}" parallel="${SOAK_PARALLEL:-50}" r j bad cycles=0
    cfg '.process.args = ["/bin/sh", "-c", "trap \"exit 0\" TERM; sleep 1000 & wait"]'
    mkdir -p "$TMP/res"
    for r in $(seq 1 "$rounds"); do
        rm -f "$TMP/res"/*
        local pids=()
        for j in $(seq 1 "$parallel"); do
            CAPRUN="$CAPRUN" ROOT="$ROOT" BUNDLE="$BUNDLE" TMP="$TMP" \
                bash "$BATS_TEST_DIRNAME/soak_cycle.bash" "$ID-$r-$j" &
            pids+=($!)
        done
        # The outcome of each cycle is in its result file.
        wait "${pids[@]}" || true
        rm -f "$TMP/res"/*.err
        bad=$(grep -vh '^ok$' "$TMP/res"/* || true)
        [ "$(ls "$TMP/res" | wc -l)" -eq "$parallel" ] || bad+=" missing results: $(ls "$TMP/res" | wc -l) of $parallel"
        [ -z "$bad" ] || { echo "round $r: $bad" >&2; return 1; }
        # Nothing left of this round.
        [ -z "$(ls -A "$ROOT" | grep -v '^seccomp-cache$' || true)" ] || { echo "round $r: state left: $(ls "$ROOT")" >&2; return 1; }
        [ -z "$(leftover_processes "$BUNDLE/rootfs")" ] || { echo "round $r: processes left" >&2; return 1; }
        [ -z "$(ps -o pid=,stat= --ppid $$ | awk '$2 ~ /^Z/')" ] || { echo "round $r: zombies" >&2; return 1; }
        local held
        held=$(find /proc/[0-9]*/fd -lname "$TMP/*" 2>/dev/null | grep -v "^/proc/$$/" || true)
        [ -z "$held" ] || { echo "round $r: fds still open on the test's files: $held" >&2; return 1; }
        cycles=$((cycles + parallel))
        # Progress of a long soak (scripts/soak.sh), every 50 rounds.
        if ((r % 50 == 0)); then echo "# round $r of $rounds: $cycles cycles ok ($SECONDS s)" >&3; fi
    done
    echo "# $cycles cycles in $rounds rounds of $parallel" >&3
}
