#!/usr/bin/env bats
# exec: a new process in a running container's namespaces and cgroup.

load helpers

setup_running() {
    cfg '.hostname = "boxed" | .process.args = ["/bin/sleep", "1000"]'
    caprun run -d --pid-file "$TMP/initpid" "$ID"
}

@test "exec CMD joins the container's namespaces and cgroup and returns the exit status" {
    setup_running
    local init
    init=$(cat "$TMP/initpid")
    run caprun exec "$ID" /bin/sh -c 'hostname; cat /proc/1/cmdline | tr "\0" " "; echo; for n in mnt pid net ipc uts; do readlink /proc/self/ns/$n; done; exit 7'
    [ "$status" -eq 7 ]
    [ "${lines[0]}" = boxed ]
    [ "${lines[1]}" = "/bin/sleep 1000 " ]
    local i=2 n
    for n in mnt pid net ipc uts; do
        [ "${lines[$i]}" = "$(readlink /proc/$init/ns/$n)" ]
        i=$((i + 1))
    done
    run -0 caprun exec "$ID" cat /proc/self/cgroup
    [ "$output" = "$(cat /proc/$init/cgroup | sed 's#:/.*#:/#')" ] || [ "$output" = "$(cat /proc/$init/cgroup)" ]
    caprun delete --force "$ID"
}

@test "exec --process FILE with user, env and cwd; no runtime fd leaks" {
    setup_running
    cat >"$TMP/process.json" <<'P'
{"args": ["/bin/sh", "-c", "id -u; echo $GREETING; pwd; probe fds"], "cwd": "/tmp",
 "env": ["PATH=/bin", "GREETING=hello"], "user": {"uid": 1000, "gid": 1000}}
P
    run caprun exec --process "$TMP/process.json" "$ID"
    [ "$status" -eq 0 ]
    [ "${lines[0]}" = 1000 ]
    [ "${lines[1]}" = hello ]
    [ "${lines[2]}" = /tmp ]
    [ "$(jq -r 'keys | join(",")' <<<"${lines[3]}")" = "0,1,2" ]
    caprun delete --force "$ID"
}

@test "exec --env, --cwd, --user and --cap on the command line" {
    setup_running
    run caprun exec --env FOO=bar --cwd /home --user 1000:1000 "$ID" /bin/sh -c 'echo $FOO; pwd; id -u'
    [ "$status" -eq 0 ]
    [ "${lines[0]}" = bar ]
    [ "${lines[1]}" = /home ]
    [ "${lines[2]}" = 1000 ]
    run -0 caprun exec "$ID" /bin/probe syscalls chroot
    [ "$(json_get .chroot)" = EPERM ]
    run -0 caprun exec --cap CAP_SYS_CHROOT "$ID" /bin/probe syscalls chroot
    [ "$(json_get .chroot)" = OK ]
    caprun delete --force "$ID"
}

@test "exec --detach --pid-file: the process is a direct child of the caller's subreaper" {
    setup_running
    # The detached process keeps exec's stdio, so they go to a file that `run` would not
    # wait on.
    "$PROBE" subreaper "$CAPRUN" --root "$ROOT" exec -d --pid-file "$TMP/execpid" "$ID" /bin/sleep 1000 \
        >"$TMP/subreaper.out" 2>&1
    local pid
    pid=$(cat "$TMP/execpid")
    [[ "$pid" =~ ^[0-9]+$ ]]
    [ "$(cat "$TMP/subreaper.out")" = "$pid" ]
    [ "$(readlink /proc/$pid/ns/pid)" = "$(readlink /proc/$(cat "$TMP/initpid")/ns/pid)" ]
    caprun delete --force "$ID"
}

@test "exec --tty gives a pty of the container's devpts" {
    setup_running
    run caprun exec -t "$ID" /bin/sh -c 'tty' </dev/null
    [ "$status" -eq 0 ]
    [[ "$output" == /dev/pts/* ]]
    caprun delete --force "$ID"
}

@test "exec into a stopped or unknown container fails" {
    cfg '.process.args = ["/bin/true"]'
    caprun create "$ID"
    caprun start "$ID"
    local i
    for i in $(seq 1 100); do [ "$(caprun state "$ID" | jq -r .status)" = stopped ] && break; sleep 0.05; done
    run caprun exec "$ID" /bin/true
    [ "$status" -ne 0 ]
    [[ "$output" == *stopped* ]]
    run caprun exec "$ID-nope" /bin/true
    [ "$status" -ne 0 ]
    [[ "$output" == *"does not exist"* ]]
    caprun delete "$ID"
}

@test "exec: the process leads its own process group (pgid = pid), with and without a terminal" {
    setup_running
    # /proc/self/stat: field 1 is the pid, field 5 the process group (0: outside the pid
    # namespace), field 6 the session.
    run -0 caprun exec "$ID" /bin/sh -c 'read -r pid comm state ppid pgrp session rest </proc/self/stat; echo "$pid $pgrp $session"'
    local plain=$output
    run -0 caprun exec --tty "$ID" /bin/sh -c 'read -r pid comm state ppid pgrp session rest </proc/self/stat; echo "$pid $pgrp $session"' </dev/null
    local tty=${output%$'\r'}
    caprun delete --force "$ID"
    echo "plain: $plain tty: $tty"
    local pid pgrp session
    read -r pid pgrp session <<<"$plain"
    [ "$pgrp" = "$pid" ]
    [ "$session" = "$pid" ]
    read -r pid pgrp session <<<"$tty"
    [ "$pgrp" = "$pid" ]
    [ "$session" = "$pid" ]
}
