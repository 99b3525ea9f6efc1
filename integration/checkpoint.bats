#!/usr/bin/env bats
# checkpoint / restore over CRIU (issue 35), with ../shared/bin/criu (CRIU 4.2: Debian's 3.17
# cannot run on this kernel) or $CAPRUN_CRIU. A counter container is dumped and restored and
# goes on counting; what the container holds (capabilities, no_new_privs, seccomp, its network
# namespace, a bind mount) comes back; bad input and what CRIU cannot do here fail with the
# path or the reason and leave nothing. teardown (helpers.bash) fails a test that leaves state,
# cgroups, mounts or processes.

load helpers
bats_require_minimum_version 1.5.0

CRIU="${CAPRUN_CRIU:-$(cd "$BATS_TEST_DIRNAME/../.." && pwd)/shared/bin/criu}"

setup() {
    [ -x "$CRIU" ] || skip "no CRIU at $CRIU"
    setup_bundle "cr"
    IMG="$TMP/img"
    cfg '.root.readonly = false'
    # The counter writes where the host can read it: the rootfs (or $1 when bind-mounted).
    counter /tmp/count
}

counter() {
    cfg --arg f "$1" '.process.args = ["/bin/sh", "-c", "i=0; while true; do i=$((i+1)); echo $i > \($f); sleep 0.05; done"]'
}

# The counter's current value, read until it is there (the container writes it every 50 ms).
count() {
    local f="${1:-$BUNDLE/rootfs/tmp/count}" v i
    for i in $(seq 1 100); do
        v="$(cat "$f" 2>/dev/null || true)"
        [[ "$v" =~ ^[0-9]+$ ]] && { echo "$v"; return 0; }
        sleep 0.05
    done
    echo "no count in $f" >&2
    return 1
}

# Waits (bounded) until the count is above $1.
count_above() {
    local i
    for i in $(seq 1 100); do
        [ "$(count "${2:-}")" -gt "$1" ] && return 0
        sleep 0.05
    done
    echo "the count stayed at $(count "${2:-}") (not above $1)" >&2
    return 1
}

gone_or_zombie() {
    local i
    for i in $(seq 1 100); do
        [ -d "/proc/$1" ] || return 0
        grep -q '^State:[[:space:]]*Z' "/proc/$1/status" 2>/dev/null && return 0
        sleep 0.05
    done
    echo "process $1 still runs: $(grep State "/proc/$1/status")" >&2
    return 1
}

crun_c() {
    caprun --criu "$CRIU" "$@"
}

init_pid() {
    caprun state "$ID" | jq -r .pid
}

status_lines() {
    grep -E '^(Cap(Inh|Prm|Eff|Bnd|Amb)|NoNewPrivs|Seccomp|Seccomp_filters):' "/proc/$1/status"
}

@test "checkpoint: counter stops; restore goes on counting from the checkpoint; delete leaves nothing" {
    caprun run -d "$ID" </dev/null >/dev/null 2>&1
    pid="$(init_pid)"
    count_above 3
    # criu from PATH when no --criu is given.
    PATH="$(dirname "$CRIU"):$PATH" caprun checkpoint --image-path "$IMG" "$ID"
    at="$(count)"
    # The container is gone (runc's behaviour) and its id free; the images, runc's
    # descriptors.json and dump.log (work path = image path) are there.
    # CRIU killed it: gone, or a zombie until its parent (it was reparented) reaps it.
    gone_or_zombie "$pid"
    run -1 caprun state "$ID"
    [[ "$output" == *"container $ID does not exist"* ]]
    [ -f "$IMG/inventory.img" ] && [ -s "$IMG/dump.log" ]
    run -0 jq -r 'length, .[0]' "$IMG/descriptors.json"
    # fd 0 is /dev/null of the caller, outside the container: kept under its CRIU key.
    [ "${lines[0]}" = 3 ] && [[ "${lines[1]}" == "file["*"]" ]]
    sleep 0.3
    [ "$(count)" = "$at" ]   # nothing counts while checkpointed

    # Not through `run`: the restored init gets restore's stdio, and would hold its pipe.
    crun_c restore -d -no-subreaper --image-path "$IMG" --pid-file "$TMP/pid" "$ID" \
        </dev/null >"$TMP/restore.out" 2>&1 || { cat "$TMP/restore.out"; false; }
    [ -s "$IMG/restore.log" ]
    run -0 caprun state "$ID"
    [ "$(json_get .status)" = running ]
    [ "$(json_get .pid)" = "$(cat "$TMP/pid")" ]
    count_above "$at"
    first="$(count)"
    # It went on from where it stopped: a restart would count from 1 again.
    [ "$first" -ge "$at" ] && [ "$first" -lt $((at + 100)) ]

    # exec joins the restored container; delete removes it, its cgroup and processes.
    run -0 caprun exec "$ID" /bin/cat /tmp/count
    [[ "$output" =~ ^[0-9]+$ ]] && [ "$output" -ge "$at" ]
    rpid="$(init_pid)"
    caprun kill "$ID" KILL
    gone_or_zombie "$rpid"
    caprun delete "$ID"
    [ ! -d "$ROOT/$ID" ]
}

@test "checkpoint: --leave-running keeps the container; --work-path gets dump.log" {
    caprun run -d "$ID" </dev/null >/dev/null 2>&1
    pid="$(init_pid)"
    count_above 2
    crun_c checkpoint --leave-running --image-path "$IMG" --work-path "$TMP/work" "$ID"
    [ -f "$IMG/inventory.img" ] && [ -s "$TMP/work/dump.log" ] && [ ! -e "$IMG/dump.log" ]
    run -0 caprun state "$ID"
    [ "$(json_get .status)" = running ] && [ "$(json_get .pid)" = "$pid" ]
    at="$(count)"
    count_above "$at"
    caprun delete --force "$ID"
}

@test "checkpoint: capability sets, NoNewPrivs and Seccomp of the restored init equal the checkpointed" {
    cfg '.process.capabilities = {"bounding":["CAP_CHOWN","CAP_KILL","CAP_NET_BIND_SERVICE","CAP_SETUID"],
          "effective":["CAP_KILL","CAP_NET_BIND_SERVICE"],"permitted":["CAP_KILL","CAP_NET_BIND_SERVICE"],
          "inheritable":["CAP_KILL"],"ambient":["CAP_KILL"]} | .process.noNewPrivileges = true
        | .linux.seccomp = {"defaultAction":"SCMP_ACT_ALLOW","syscalls":[{"names":["mount"],"action":"SCMP_ACT_ERRNO"}]}'
    caprun run -d "$ID" </dev/null >/dev/null 2>&1
    count_above 1
    before="$(status_lines "$(init_pid)")"
    # The sets are the spec's, not the host's: the comparison below is of something.
    grep -qx "CapAmb:	$(cap_mask CAP_KILL)" <<<"$before"
    grep -qx "CapBnd:	$(cap_mask CAP_CHOWN CAP_KILL CAP_NET_BIND_SERVICE CAP_SETUID)" <<<"$before"
    grep -qx "Seccomp:	2" <<<"$before" && grep -qx "NoNewPrivs:	1" <<<"$before"
    crun_c checkpoint --image-path "$IMG" "$ID"
    crun_c restore -d --image-path "$IMG" "$ID"
    after="$(status_lines "$(init_pid)")"
    [ "$after" = "$before" ]
    caprun delete --force "$ID"
}

@test "checkpoint: a container with its own network namespace, a bind mount and the host's cgroup namespace" {
    mkdir "$TMP/data"
    cfg --arg d "$TMP/data" '.mounts += [{"destination":"/data","type":"bind","source":$d,"options":["rbind","rw"]}]'
    # No cgroup namespace (podman's default on cgroup v1): /sys/fs/cgroup holds binds of the
    # container's cgroup directories, which restore binds to the new ones.
    cfg 'del(.linux.namespaces[] | select(.type == "cgroup"))'
    counter /data/count
    caprun run -d "$ID" </dev/null >/dev/null 2>&1
    count_above 2 "$TMP/data/count"
    netns="$(readlink "/proc/$(init_pid)/ns/net")"
    [ "$netns" != "$(readlink /proc/self/ns/net)" ]
    crun_c checkpoint --image-path "$IMG" "$ID"
    at="$(count "$TMP/data/count")"
    crun_c restore -d --image-path "$IMG" "$ID"
    # The bind mount is the host directory again: the count goes on there.
    count_above "$at" "$TMP/data/count"
    # Its own network namespace again (a new one: CRIU made it from the image).
    after="$(readlink "/proc/$(init_pid)/ns/net")"
    [ "$after" != "$(readlink /proc/self/ns/net)" ] && [ "$after" != "$netns" ]
    # The bind is the restored container's own pids cgroup: its init (pid 1) is in it.
    run -0 caprun exec "$ID" /bin/cat /sys/fs/cgroup/pids/cgroup.procs
    grep -qx 1 <<<"$output"
    caprun delete --force "$ID"
}

@test "restore: bad input fails naming the path or id and leaves nothing" {
    # A missing image directory.
    run -1 crun_c restore -d --image-path "$TMP/nope" "$ID"
    [[ "$output" == *"the image directory $TMP/nope does not exist"* ]]
    [ ! -d "$ROOT/$ID" ]
    # A directory that holds no checkpoint.
    mkdir "$TMP/empty"
    run -1 crun_c restore -d --image-path "$TMP/empty" "$ID"
    [[ "$output" == *"$TMP/empty holds no checkpoint (no inventory.img)"* ]]
    # A corrupt checkpoint: CRIU fails, restore.log is named, nothing stays.
    caprun run -d "$ID" </dev/null >/dev/null 2>&1
    count_above 1
    crun_c checkpoint --image-path "$IMG" "$ID"
    cp -a "$IMG" "$TMP/bad"
    for f in "$TMP"/bad/pages-*.img "$TMP"/bad/core-*.img; do : >"$f"; done
    run -1 crun_c restore -d --image-path "$TMP/bad" "$ID"
    [[ "$output" == *"restore of container $ID from $TMP/bad: CRIU failed"*"see $TMP/bad/restore.log"* ]]
    [ ! -d "$ROOT/$ID" ]
    [ -z "$(leftover_processes "$BUNDLE/rootfs")" ]
    # A corrupt descriptors.json is named.
    cp -a "$IMG" "$TMP/baddesc"
    echo '{"not":"a list"' >"$TMP/baddesc/descriptors.json"
    run -1 crun_c restore -d --image-path "$TMP/baddesc" "$ID"
    [[ "$output" == *"$TMP/baddesc/descriptors.json"* ]]
    # No bundle (no config.json where --bundle points).
    run -1 crun_c restore -d --bundle "$TMP/nobundle" --image-path "$IMG" "$ID"
    [[ "$output" == *"$TMP/nobundle"* ]]
    [ ! -d "$ROOT/$ID" ]
    # An id in use.
    caprun run -d "$ID-2" </dev/null >/dev/null 2>&1
    run -1 crun_c restore -d --image-path "$IMG" "$ID-2"
    [[ "$output" == *"container $ID-2 already exists"* ]]
    caprun delete --force "$ID-2"
    # The good image still restores.
    crun_c restore -d --image-path "$IMG" "$ID"
    caprun delete --force "$ID"
}

@test "checkpoint: what CRIU cannot do is refused before anything is dumped" {
    caprun run -d "$ID" </dev/null >/dev/null 2>&1
    pid="$(init_pid)"
    run -1 crun_c --rootless true checkpoint --image-path "$IMG" "$ID"
    [[ "$output" == *"not supported in rootless mode: CRIU needs CAP_SYS_ADMIN"* ]]
    [ ! -e "$IMG" ]
    if "$CRIU" check --feature mem_dirty_track >/dev/null 2>&1; then
        crun_c checkpoint --pre-dump --image-path "$IMG" "$ID"
    else
        run -1 crun_c checkpoint --pre-dump --image-path "$IMG" "$ID"
        [[ "$output" == *"--pre-dump: CRIU reports no memory change tracking on this kernel"* ]]
        [ ! -e "$IMG" ]
    fi
    # --criu names the binary: a missing one is named and the container keeps running.
    run -1 caprun --criu "$TMP/no-criu" checkpoint --image-path "$IMG" "$ID"
    [[ "$output" == *"starting CRIU $TMP/no-criu (swrk): No such file or directory"* ]]
    [ "$(init_pid)" = "$pid" ] && [ -d "/proc/$pid" ]
    caprun delete --force "$ID"
}

@test "checkpoint/restore: runc's command line" {
    run -0 "$CAPRUN" checkpoint --help
    [[ "$output" == *"--leave-running"* ]] && [[ "$output" == *"--pre-dump"* ]]
    run -0 "$CAPRUN" restore --help
    [[ "$output" == *"--lsm-mount-context"* ]] && [[ "$output" == *"--no-subreaper"* ]]
    # podman probes for --lsm-mount-context by this text.
    run -1 "$CAPRUN" restore --lsm-mount-context
    [[ "$output" == *"flag needs an argument"* ]]
}
