#!/usr/bin/env bats
# Soak (issue 15): SOAK_PARALLEL (50) containers at once go through create, start, exec,
# kill and delete, SOAK_ROUNDS times (CI: 2; scripts/soak.sh runs 1000), while `state` runs
# concurrently on the same ids (the container lock serialises them). Every exit code must
# be the expected one, the exec'd process holds only stdio, and after each round nothing is
# left: no state dir, process, zombie, cgroup, mount, or host fd into the test's files.

load helpers

# One container's cycle; writes "ok" or what went wrong to $TMP/res/$1.
cycle() {
    local id="$1" out rc i
    local res="$TMP/res/$id"
    fail() { echo "$id: $*" >"$res"; "$CAPRUN" --root "$ROOT" delete --force "$id" >/dev/null 2>&1; exit 0; }
    "$CAPRUN" --root "$ROOT" create --bundle "$BUNDLE" "$id" >/dev/null 2>"$res.err" || fail "create: $(cat "$res.err")"
    # Concurrent readers of the same container while it changes state.
    ( for i in 1 2 3 4 5; do "$CAPRUN" --root "$ROOT" state "$id" >/dev/null 2>&1; done ) &
    local reader=$!
    "$CAPRUN" --root "$ROOT" start "$id" 2>"$res.err" || fail "start: $(cat "$res.err")"
    out=$("$CAPRUN" --root "$ROOT" exec "$id" /bin/probe fds 2>"$res.err") || fail "exec: $(cat "$res.err")"
    [ "$(jq -r 'keys | join(",")' <<<"$out")" = "0,1,2" ] || fail "exec fds: $out"
    rc=0
    "$CAPRUN" --root "$ROOT" exec "$id" /bin/sh -c 'exit 3' 2>/dev/null || rc=$?
    [ $rc -eq 3 ] || fail "exec exit status $rc, expected 3"
    # The init is pid 1 of its namespace: a TERM that arrives before sh has set its trap
    # is discarded by the kernel, so wait until the handler is installed (SigCgt bit 15).
    local pid caught=""
    pid=$("$CAPRUN" --root "$ROOT" state "$id" | jq -r .pid)
    for i in $(seq 1 400); do
        caught=$(awk '/^SigCgt:/ {print $2}' "/proc/$pid/status" 2>/dev/null)
        [ -n "$caught" ] && (( 0x$caught & 0x4000 )) && break
        sleep 0.05
    done
    (( 0x${caught:-0} & 0x4000 )) || fail "the init never set its TERM trap (SigCgt ${caught:-unreadable})"
    "$CAPRUN" --root "$ROOT" kill "$id" TERM 2>"$res.err" || fail "kill: $(cat "$res.err")"
    for i in $(seq 1 400); do
        [ "$("$CAPRUN" --root "$ROOT" state "$id" 2>/dev/null | jq -r .status)" = stopped ] && break
        sleep 0.05
    done
    [ "$("$CAPRUN" --root "$ROOT" state "$id" | jq -r .status)" = stopped ] || fail "never stopped"
    wait "$reader" || true
    "$CAPRUN" --root "$ROOT" delete "$id" 2>"$res.err" || fail "delete: $(cat "$res.err")"
    [ ! -e "$ROOT/$id" ] || fail "state dir left after delete"
    rm -f "$res.err"
    echo ok >"$res"
}

@test "soak: concurrent create/start/exec/kill/delete cycles leave nothing behind" {
    local rounds="${SOAK_ROUNDS:-2}" parallel="${SOAK_PARALLEL:-50}" r j bad cycles=0
    cfg '.process.args = ["/bin/sh", "-c", "trap \"exit 0\" TERM; sleep 1000 & wait"]'
    mkdir -p "$TMP/res"
    for r in $(seq 1 "$rounds"); do
        rm -f "$TMP/res"/*
        local pids=()
        for j in $(seq 1 "$parallel"); do
            cycle "$ID-$r-$j" &
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
    done
    echo "# $cycles cycles in $rounds rounds of $parallel" >&3
}
