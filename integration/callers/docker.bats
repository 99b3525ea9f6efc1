#!/usr/bin/env bats
# caprun under dockerd (Debian's docker.io 20.10): a private dockerd (own socket, data-root,
# exec-root, its own managed containerd, vfs storage, no networking) with caprun added as a
# runtime, started and stopped by pid. The image is a busybox + probe rootfs imported
# with `docker import`.

load common

setup_file() {
    [ "$(id -u)" = 0 ] || skip "needs root"
    command -v dockerd >/dev/null || skip "docker.io not installed (apt install docker.io)"
    export T="$(mktemp -d /tmp/caprun-docker.XXXXXX)"
    export SOCK="$T/docker.sock"
    local d
    export PREEXISTING=""
    for d in /run/containerd /run/docker /etc/docker/key.json; do
        [ -e "$d" ] && PREEXISTING+="$d "
    done
    make_rootfs "$T/rootfs"
    export CGROUPS_BEFORE="$(cgroup_dirs)"
    # The runtimes of docs/callers.md's daemon.json: caprun, and two entries that choose the
    # capability policy per container. The test points them at this build, the policy
    # entries run as on a host without CAP_SYS_RESOURCE (capsh drops it), whatever this
    # machine has.
    make_poorer_runtime "$T/caprun-no-sys-resource" cap_sys_resource
    doc_snippet docker/daemon.json | jq --arg caprun "$CAPRUN" --arg poor "$T/caprun-no-sys-resource" '
        .runtimes.caprun.path = $caprun |
        .runtimes["caprun-strict"].path = $poor | .runtimes["caprun-lenient"].path = $poor' \
        >"$T/daemon.json"
    dockerd --config-file "$T/daemon.json" --data-root "$T/data" --exec-root "$T/exec" \
        --pidfile "$T/docker.pid" -H "unix://$SOCK" --bridge=none --iptables=false \
        --ip6tables=false --ip-masq=false --storage-driver vfs >"$T/dockerd.log" 2>&1 3>&- &
    echo $! >"$T/dockerd.pid"
    wait_until docker -H "unix://$SOCK" version
    tar -C "$T/rootfs" -c . | docker -H "unix://$SOCK" import - caprun-test:1 >/dev/null
}

teardown_file() {
    [ -n "${T:-}" ] || return 0
    docker -H "unix://$SOCK" rm -f $(docker -H "unix://$SOCK" ps -aq) >/dev/null 2>&1 || true
    stop_pid "$(cat "$T/dockerd.pid" 2>/dev/null)"
    local left d
    left="$(leftover_processes "$T/data")"
    for d in /run/containerd /run/docker /etc/docker/key.json; do
        [[ " $PREEXISTING " == *" $d "* ]] || rm -rf "$d"
    done
    grep -q " $T" /proc/self/mountinfo && left+=" mounts under $T"
    umount -R "$T/data" 2>/dev/null || true
    remove_cgroup_dirs "$(new_cgroup_dirs "$CGROUPS_BEFORE")"
    rm -rf "$T"
    [ -z "$left" ] || { echo "left behind: $left" >&2; return 1; }
}

# After each test: no container and no cgroup left.
teardown() {
    local c
    for c in $(dk ps -aq 2>/dev/null); do dk rm -f "$c" >/dev/null 2>&1 || true; done
    check_cgroups_left
}

dk() { timeout 120 docker -H "unix://$SOCK" "$@"; }
drun() { dk run --rm --network none "$@"; }

@test "docker: run with the default seccomp profile; get_mempolicy needs SYS_NICE" {
    run drun --runtime caprun caprun-test:1 /bin/probe
    [ "$status" -eq 0 ]
    [ "$(jq -r .syscalls.get_mempolicy <<<"$output")" = EPERM ]
    ! has_cap_bit "$(jq -r .caps.CapEff <<<"$output")" 23 || false
    run drun --runtime caprun --cap-add SYS_NICE caprun-test:1 /bin/probe
    [ "$status" -eq 0 ]
    [ "$(jq -r .syscalls.get_mempolicy <<<"$output")" = OK ]
    has_cap_bit "$(jq -r .caps.CapEff <<<"$output")" 23
}

@test "docker: exit code, docker exec and docker stop" {
    run drun --runtime caprun caprun-test:1 /bin/sh -c 'exit 5'
    [ "$status" -eq 5 ]
    dk run -d --name dk-exec --network none --runtime caprun caprun-test:1 /bin/sh -c 'trap "exit 0" TERM; sleep 1000 & wait'
    run dk exec dk-exec /bin/echo hi from exec
    [ "$status" -eq 0 ]
    [ "$output" = "hi from exec" ]
    dk stop dk-exec
    [ "$(dk inspect -f '{{.State.Status}} {{.State.ExitCode}}' dk-exec)" = "exited 0" ]
    dk rm dk-exec
}

@test "docker: run -t gives the container a terminal" {
    run drun -t --runtime caprun caprun-test:1 /bin/sh -c 'tty'
    [ "$status" -eq 0 ]
    [[ "$output" == /dev/pts/* ]]
}

@test "docker: a capability the host lacks fails under strict naming it; lenient runs and warns" {
    local poor="$T/caprun-no-sys-resource"
    check_strict_lenient docker_with_policy "$poor"
}
