#!/usr/bin/env bats
# caprun under containerd (Debian's containerd 1.6): `ctr run --runc-binary caprun` with
# the runc v2 shim, on a private containerd (own socket, root, state, runc root) that the
# test starts and stops by pid.

load common

setup_file() {
    [ "$(id -u)" = 0 ] || skip "needs root"
    command -v containerd >/dev/null || skip "containerd not installed (apt install containerd)"
    export T="$(mktemp -d /tmp/caprun-ctrd.XXXXXX)"
    export ROOTFS="$T/rootfs" RUNC_ROOT="$T/runc-root" SOCK="$T/containerd.sock"
    make_rootfs "$ROOTFS"
    export CGROUPS_BEFORE="$(cgroup_dirs)"
    # caprun on a host without CAP_SYS_RESOURCE (capsh drops it), as on this machine.
    make_poorer_runtime "$T/caprun-no-sys-resource" cap_sys_resource
    # containerd 1.6 keeps shim sockets and ctr's fifos under /run/containerd; remove them
    # afterwards only if this test created the directory.
    [ -d /run/containerd ] && export RUN_CONTAINERD_EXISTED=1 || export RUN_CONTAINERD_EXISTED=0
    cat >"$T/config.toml" <<EOT
version = 2
root = "$T/root"
state = "$T/state"
disabled_plugins = ["io.containerd.grpc.v1.cri", "io.containerd.snapshotter.v1.btrfs",
  "io.containerd.snapshotter.v1.zfs", "io.containerd.snapshotter.v1.devmapper",
  "io.containerd.snapshotter.v1.aufs"]
[grpc]
  address = "$SOCK"
[ttrpc]
  address = "$SOCK.ttrpc"
[debug]
  address = "$T/debug.sock"
EOT
    containerd --config "$T/config.toml" >"$T/containerd.log" 2>&1 3>&- &
    echo $! >"$T/containerd.pid"
    wait_until ctr --address "$SOCK" version
}

teardown_file() {
    [ -n "${T:-}" ] || return 0
    stop_pid "$(cat "$T/containerd.pid" 2>/dev/null)"
    local left
    left="$(leftover_processes "$ROOTFS")"
    [ "$RUN_CONTAINERD_EXISTED" = 1 ] || rm -rf /run/containerd
    remove_cgroup_dirs "$(new_cgroup_dirs "$CGROUPS_BEFORE")"
    rm -rf "$T"
    [ -z "$left" ] || { echo "processes left: $left" >&2; return 1; }
}

ctr_() { ctr --address "$SOCK" "$@"; }
# ctr_run [ctr run options] -- ID CMD...: --rootfs is a flag and the rootfs directory the
# first positional, so options go before it.
ctr_run() {
    local opts=()
    while [ "$1" != "--" ]; do opts+=("$1"); shift; done
    shift
    timeout 60 ctr --address "$SOCK" run --runc-binary "${RUNTIME:-$CAPRUN}" --runc-root "$RUNC_ROOT" \
        "${opts[@]}" --rootfs "$ROOTFS" "$@"
}

# After each test: caprun's state root holds no container, and no cgroup is left.
teardown() {
    local c
    for c in $(ctr_ task ls -q 2>/dev/null); do ctr_ task kill -s SIGKILL "$c" || true; ctr_ task rm -f "$c" || true; done
    for c in $(ctr_ c ls -q 2>/dev/null); do ctr_ c rm "$c" || true; done
    local left=""
    [ -d "$RUNC_ROOT/default" ] && left="$(ls -A "$RUNC_ROOT/default")"
    [ -z "$left" ] || { echo "caprun state left: $left" >&2; return 1; }
    check_cgroups_left
}

@test "containerd: ctr run prints the output and returns the exit code" {
    run ctr_run --rm -- ctr-exit /bin/sh -c 'echo hello from caprun; exit 3'
    [ "$status" -eq 3 ]
    [ "$output" = "hello from caprun" ]
}

@test "containerd: ctr task exec, ps and kill" {
    ctr_run -d -- ctr-exec /bin/sleep 1000
    run timeout 30 ctr --address "$SOCK" task exec --exec-id e1 ctr-exec /bin/echo hi from exec
    [ "$status" -eq 0 ]
    [ "$output" = "hi from exec" ]
    run timeout 30 ctr --address "$SOCK" task ps ctr-exec
    [ "$status" -eq 0 ]
    pid="$(ctr_ task ls | awk '$1 == "ctr-exec" {print $2}')"
    [[ "$output" == *"$pid"* ]]
    timeout 30 ctr --address "$SOCK" task kill -s SIGKILL ctr-exec
    wait_until sh -c "ctr --address '$SOCK' task ls | grep -q 'ctr-exec .*STOPPED'"
    ctr_ task rm ctr-exec
    ctr_ c rm ctr-exec
}

@test "containerd: --cap-add CAP_SYS_NICE reaches the container" {
    run ctr_run --rm -- ctr-nice /bin/probe
    [ "$status" -eq 0 ]
    ! has_cap_bit "$(jq -r .caps.CapEff <<<"$output")" 23 || false
    run ctr_run --rm --cap-add CAP_SYS_NICE -- ctr-nice /bin/probe
    [ "$status" -eq 0 ]
    has_cap_bit "$(jq -r .caps.CapEff <<<"$output")" 23
    has_cap_bit "$(jq -r .caps.CapBnd <<<"$output")" 23
}

@test "containerd: a capability the host lacks fails under strict and names it; lenient runs and warns" {
    local poor="$T/caprun-no-sys-resource"
    RUNTIME="$poor" check_strict_lenient ctr_with_policy "$poor"
}

@test "containerd: --apparmor-profile on a host without AppArmor fails with caprun's reason" {
    [ -e /sys/module/apparmor/parameters/enabled ] && skip "this host runs AppArmor"
    run ctr_run --rm --apparmor-profile docker-default -- ctr-aa /bin/true
    echo "$output"
    [ "$status" -ne 0 ]
    # ctr shows the shim's error, which carries caprun's message verbatim.
    [[ "$output" == *"config.json: process.apparmorProfile: AppArmor is not enabled on this host (no /sys/module/apparmor/parameters/enabled)"* ]]
    # Without the field the same container runs.
    run ctr_run --rm -- ctr-aa /bin/true
    [ "$status" -eq 0 ]
}

@test "containerd: --runc-systemd-cgroup without systemd is a clear error" {
    [ -d /run/systemd/system ] && skip "this host runs systemd"
    run ctr_run --rm --runc-systemd-cgroup --cgroup system.slice:ctr:sd -- ctr-sd /bin/true
    [ "$status" -ne 0 ]
    echo "$output"
    [[ "$output" == *"systemd is not running"* ]]
}

@test "containerd: --annotation run.caprun.trace-eperm=true gets the report to caprun's log" {
    # caprun behind a wrapper that keeps a copy of the shim's log.json (the shim passes
    # --log <bundle>/log.json, and ctr run --rm removes the bundle) after every invocation.
    local wrapper="$T/caprun-keep-log"
    cat >"$wrapper" <<EOT
#!/bin/bash
log="" prev=""
for a in "\$@"; do
    [ "\$prev" = --log ] && log="\$a"
    prev="\$a"
done
"$CAPRUN" "\$@"
rc=\$?
[ -n "\$log" ] && [ -f "\$log" ] && cat "\$log" >>"$wrapper.log"
exit \$rc
EOT
    chmod +x "$wrapper"
    rm -f "$wrapper.log"
    RUNTIME="$wrapper" run ctr_run --rm --annotation run.caprun.trace-eperm=true -- ctr-trace /bin/probe syscalls settimeofday
    echo "$output"
    [ "$status" -eq 0 ]
    [[ "$output" == *'"settimeofday":"EPERM"'* ]]
    logged_warnings "$wrapper.log" | grep 'settimeofday failed with EPERM' | grep -q 'capability: the kernel checked CAP_SYS_TIME'
    # The tracer create left behind ended with the container: none is left.
    [ -z "$(pgrep -f -- "--root $RUNC_ROOT/.* trace ctr-trace --report-on-exit")" ]

    # A detached container: its tracer runs while it does, and goes with ctr task rm.
    RUNTIME="$wrapper" ctr_run -d --annotation run.caprun.trace-eperm=true -- ctr-trace-d /bin/sleep 1000
    [ -n "$(pgrep -f -- "--root $RUNC_ROOT/.* trace ctr-trace-d --report-on-exit")" ]
    timeout 30 ctr --address "$SOCK" task kill -s SIGKILL ctr-trace-d
    wait_until sh -c "ctr --address '$SOCK' task ls | grep -q 'ctr-trace-d .*STOPPED'"
    ctr_ task rm ctr-trace-d
    ctr_ c rm ctr-trace-d
    [ -z "$(pgrep -f -- "--root $RUNC_ROOT/.* trace ctr-trace-d --report-on-exit")" ]
    logged_warnings "$wrapper.log" | grep -q 'trace-eperm: no syscall of the container failed'
}
