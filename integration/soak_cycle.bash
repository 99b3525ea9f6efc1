#!/usr/bin/env bash
# One container's soak cycle (soak.bats): create, concurrent `state` readers, start, exec
# (only stdio held; exit status passed on), TERM once the init's trap is set, wait for
# stopped, delete. Writes "ok" or what went wrong to $TMP/res/$1. Run by a fresh bash, not a
# subshell of bats: forking the large test shell 50 times a round and parsing each reply with
# jq made the harness, not caprun, most of the soak's CPU time. Needs CAPRUN, ROOT, BUNDLE,
# TMP in the environment.
set -u
id="$1"
res="$TMP/res/$id"
c() { "$CAPRUN" --root "$ROOT" "$@"; }
fail() {
    echo "$id: $*" >"$res"
    c delete --force "$id" >/dev/null 2>&1
    exit 0
}
# field KEY JSON: the value of "KEY": in caprun's one-line state JSON, in $field (no
# command substitution: each would fork this shell).
field() {
    local re="\"$1\":\"?([^\",}]*)"
    field=""
    [[ "$2" =~ $re ]] && field="${BASH_REMATCH[1]}"
    return 0
}

c create --bundle "$BUNDLE" "$id" >/dev/null 2>"$res.err" || fail "create: $(<"$res.err")"
# Concurrent readers of the same container while it changes state.
(for i in 1 2 3 4 5; do c state "$id" >/dev/null 2>&1; done) &
reader=$!
c start "$id" 2>"$res.err" || fail "start: $(<"$res.err")"
out=$("$CAPRUN" --root "$ROOT" exec "$id" /bin/probe fds 2>"$res.err") || fail "exec: $(<"$res.err")"
fds="" rest="$out"
while [[ "$rest" =~ \"([0-9]+)\": ]]; do
    fds+="${fds:+,}${BASH_REMATCH[1]}"
    rest="${rest#*"${BASH_REMATCH[0]}"}"
done
[ "$fds" = "0,1,2" ] || fail "exec fds: $out"
rc=0
c exec "$id" /bin/sh -c 'exit 3' 2>/dev/null || rc=$?
[ $rc -eq 3 ] || fail "exec exit status $rc, expected 3"
# The init is pid 1 of its namespace: a TERM that arrives before sh has set its trap is
# discarded by the kernel, so wait until the handler is installed (SigCgt bit 15).
field pid "$("$CAPRUN" --root "$ROOT" state "$id")"
pid="$field"
[ -n "$pid" ] || fail "state has no pid"
caught=0
for ((i = 0; i < 400; i++)); do
    while read -r key value; do
        [ "$key" = SigCgt: ] && caught=$((0x$value))
    done <"/proc/$pid/status" 2>/dev/null
    ((caught & 0x4000)) && break
    sleep 0.05
done
((caught & 0x4000)) || fail "the init never set its TERM trap (SigCgt $caught)"
c kill "$id" TERM 2>"$res.err" || fail "kill: $(<"$res.err")"
status=""
for ((i = 0; i < 400; i++)); do
    field status "$("$CAPRUN" --root "$ROOT" state "$id" 2>/dev/null)"
    status="$field"
    [ "$status" = stopped ] && break
    sleep 0.05
done
[ "$status" = stopped ] || fail "never stopped (status ${status:-unreadable})"
wait "$reader" || true
c delete "$id" 2>"$res.err" || fail "delete: $(<"$res.err")"
[ ! -e "$ROOT/$id" ] || fail "state dir left after delete"
rm -f "$res.err"
echo ok >"$res"
