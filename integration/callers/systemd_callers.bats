#!/usr/bin/env bats
# caprun under its callers with the systemd cgroup driver, against a real systemd: a systemd
# host booted in a container (../systemd_host.bash, pure cgroup v2) runs a private
# containerd and a private dockerd as transient services of its own (systemd-run, each with
# its socket, root and state under this file's temp dir, stopped by pid), and podman with
# --cgroup-manager systemd. Each caller asks systemd for the container's scope and passes
# caprun --systemd-cgroup with a slice:prefix:name cgroupsPath.
#
# This host's cgroup v2 tree has no resource controllers (the outer host binds them to v1),
# so the callers' defaults that need one (ctr's cpu-shares 1024, podman's pids-limit 2048)
# are refused by name; runc fails on them too, at the missing cpu.weight/pids.max file.
#
# Needs (Debian packages): systemd-container, containerd, docker.io, podman, libcap2-bin,
# jq, busybox-static.

load common
source "$BATS_TEST_DIRNAME/../systemd_host.bash"

setup_file() {
    systemd_host_needs || return
    export T="$(mktemp -d /tmp/caprun-sdc.XXXXXX)"
    export ROOTFS="$T/rootfs" RUNC_ROOT="$T/runc-root" CTRD_SOCK="$T/ctrd/containerd.sock"
    export DOCKER_SOCK="$T/docker.sock"
    make_rootfs "$ROOTFS"
    # caprun as on a host without CAP_SYS_RESOURCE (capsh drops it), whatever this has.
    make_poorer_runtime "$T/caprun-no-sys-resource" cap_sys_resource
    systemd_host_boot "$T"
    mkdir -p "$T/ctrd"
    if command -v containerd >/dev/null; then
        cat >"$T/ctrd/config.toml" <<EOT
version = 2
root = "$T/ctrd/root"
state = "$T/ctrd/state"
disabled_plugins = ["io.containerd.grpc.v1.cri", "io.containerd.snapshotter.v1.btrfs",
  "io.containerd.snapshotter.v1.zfs", "io.containerd.snapshotter.v1.devmapper",
  "io.containerd.snapshotter.v1.aufs"]
[grpc]
  address = "$CTRD_SOCK"
[ttrpc]
  address = "$CTRD_SOCK.ttrpc"
[debug]
  address = "$T/ctrd/debug.sock"
EOT
        start_service caprun-it-containerd containerd --config "$T/ctrd/config.toml"
        wait_until sysctl_in ctr --address "$CTRD_SOCK" version
    fi
    if command -v dockerd >/dev/null && [ -s "$T/caprun-it-containerd.pid" ]; then
        # Two more runtime entries choose the capability policy per container, as a user
        # would in /etc/docker/daemon.json.
        cat >"$T/daemon.json" <<EOT
{
  "runtimes": {
    "caprun-strict": {"path": "$T/caprun-no-sys-resource", "runtimeArgs": ["--cap-policy=strict"]},
    "caprun-lenient": {"path": "$T/caprun-no-sys-resource", "runtimeArgs": ["--cap-policy=lenient"]}
  }
}
EOT
        # On the private containerd above (not the host's own, nor one dockerd would start).
        start_service caprun-it-dockerd dockerd --config-file "$T/daemon.json" \
            --containerd "$CTRD_SOCK" --data-root "$T/docker-data" --exec-root "$T/docker-exec" \
            --pidfile "$T/docker.pid" -H "unix://$DOCKER_SOCK" --bridge=none --iptables=false \
            --ip6tables=false --ip-masq=false --storage-driver vfs \
            --exec-opt native.cgroupdriver=systemd --add-runtime "caprun=$CAPRUN"
        wait_until sysctl_in docker -H "unix://$DOCKER_SOCK" version
        tar -C "$ROOTFS" -c . | sysctl_in docker -H "unix://$DOCKER_SOCK" import - caprun-test:1 >/dev/null
    fi
}

# A daemon as a transient service of the systemd host, its main pid recorded in $T/<unit>.pid
# (a pid in the host's pid namespace) to stop it by.
start_service() {
    local unit="$1"
    shift
    sysctl_in systemd-run --quiet --unit="$unit" --collect --service-type=exec -- "$@"
    sysctl_in systemctl show -p MainPID --value "$unit" >"$T/$unit.pid"
    [ "$(cat "$T/$unit.pid")" -gt 0 ] || {
        sysctl_in journalctl --no-pager -u "$unit" >&2
        return 1
    }
}

# Stops a daemon start_service started, by its pid: SIGTERM, SIGKILL if it lingers.
stop_service() {
    local unit="$1" pid i
    pid=$(cat "$T/$unit.pid" 2>/dev/null) || return 0
    [ -n "$pid" ] && [ "$pid" -gt 0 ] || return 0
    sysctl_in kill -TERM "$pid" 2>/dev/null || return 0
    for ((i = 0; i < 100; i++)); do
        sysctl_in kill -0 "$pid" 2>/dev/null || return 0
        sleep 0.1
    done
    sysctl_in kill -KILL "$pid" 2>/dev/null || true
}

# Units a caller asks caprun for, or that this file starts, still known to the systemd host.
our_units() {
    sysctl_in systemctl list-units --all --no-legend --plain \
        'ctr-*' 'cri-containerd-*' 'docker-*' 'libpod-*' 'caprun-*' 'kubepods*' |
        awk '$1 !~ /^caprun-it-(containerd|dockerd)\.service$/ {print $1}'
}

teardown_file() {
    [ -n "${T:-}" ] || return 0
    local problems="" units procs
    if [ -n "${SYSTEMD_PID:-}" ] && kill -0 "$SYSTEMD_PID" 2>/dev/null; then
        sysctl_in docker -H "unix://$DOCKER_SOCK" rm -f $(sysctl_in docker -H "unix://$DOCKER_SOCK" ps -aq 2>/dev/null) >/dev/null 2>&1 || true
        pm rm -af >/dev/null 2>&1 || true
        stop_service caprun-it-dockerd
        stop_service caprun-it-containerd
        units=$(our_units; sysctl_in systemctl list-units --all --no-legend --plain 'caprun-it-*' | awk '{print $1}')
        [ -z "$units" ] || problems+="units left in the systemd host: $(echo $units); "
        # The host's processes whose root is a container's (our rootfs or docker's images).
        procs=$(sysctl_in bash -c "source '$CAPRUN_REPO/integration/lib.bash'; leftover_processes '$ROOTFS'; leftover_processes '$T/docker-data'")
        [ -z "$procs" ] || problems+="processes left in the systemd host: $(echo $procs); "
        local state
        state=$(sysctl_in sh -c 'ls -A /run/caprun 2>/dev/null' | grep -vx seccomp-cache || true)
        [ -z "$state" ] || problems+="caprun state left in the systemd host: $(echo $state); "
    fi
    systemd_host_teardown '/(ctr|cri-containerd|docker|libpod)-|kubepods|caprun-it' || problems+="(outer host, above) "
    umount -R "$T/docker-data" 2>/dev/null || true
    rm -rf "$T"
    [ -z "$problems" ] || { echo "teardown_file: $problems" >&2; return 1; }
}

# After each test: the callers' containers are gone, and with them their units.
teardown() {
    local c problems="" units
    if command -v containerd >/dev/null; then
        for c in $(ctr_ task ls -q 2>/dev/null); do ctr_ task kill -s SIGKILL "$c" || true; ctr_ task rm -f "$c" || true; done
        for c in $(ctr_ c ls -q 2>/dev/null); do ctr_ c rm "$c" || true; done
        [ -d "$RUNC_ROOT/default" ] && [ -n "$(ls -A "$RUNC_ROOT/default")" ] &&
            problems+="caprun state left: $(ls -A "$RUNC_ROOT/default"); "
    fi
    # kubepods slices are the kubelet's to stop: the test that made them stops them.
    # podman's conmon scope ends a moment after `podman run` returns (conmon exits after
    # its cleanup): a unit counts as left only when it is still there 5 s later.
    local i
    for i in $(seq 1 50); do
        units=$(our_units | grep -v '^kubepods' || true)
        [ -z "$units" ] && break
        sleep 0.1
    done
    if [ -n "$units" ]; then
        problems+="units left: $(echo $units); "
        for c in $units; do sysctl_in systemctl stop "$c" || true; done
    fi
    [ -z "$problems" ] || { echo "teardown: $problems" >&2; return 1; }
}

# The controllers the systemd host's slice $1 can hand to a scope.
slice_controllers() {
    sysctl_in cat "/sys/fs/cgroup/$1/cgroup.controllers"
}

# A process's cgroup v2 path in the systemd host (pid in its namespace).
cgroup_of() {
    sysctl_in cat "/proc/$1/cgroup" | sed -n 's/^0:://p'
}

need() {
    command -v "$1" >/dev/null || skip "$1 not installed"
}

# --- containerd ---------------------------------------------------------------------------

ctr_() { sysctl_in ctr --address "$CTRD_SOCK" "$@"; }
# ctr_run [ctr run options] -- ID CMD...: caprun (or $RUNTIME) as the runc v2 shim's binary
# with SystemdCgroup (--runc-systemd-cgroup), the systemd form of cgroupsPath (--cgroup,
# default system.slice:ctr:<ID>), and no cpu-shares (this host has no cpu controller).
ctr_run() {
    local opts=() cgroup=""
    while [ "$1" != "--" ]; do
        [ "$1" = --cgroup ] && { cgroup="$2"; shift 2; continue; }
        opts+=("$1")
        shift
    done
    shift
    sysctl_in timeout 60 ctr --address "$CTRD_SOCK" run --runc-binary "${RUNTIME:-$CAPRUN}" \
        --runc-root "$RUNC_ROOT" --runc-systemd-cgroup --cgroup "${cgroup:-system.slice:ctr:$1}" \
        --cpu-shares "${CPU_SHARES:-0}" "${opts[@]}" --rootfs "$ROOTFS" "$@"
}

@test "containerd (systemd): ctr run prints the output, returns the exit code, and runs in system.slice/ctr-<id>.scope" {
    need containerd
    run ctr_run --rm -- ctr-exit /bin/sh -c 'echo hello from caprun; grep ^0:: /proc/self/cgroup; exit 3'
    [ "$status" -eq 3 ]
    [ "${lines[0]}" = "hello from caprun" ]
    [ "${lines[1]}" = "0::/system.slice/ctr-ctr-exit.scope" ]
    run sysctl_in systemctl status ctr-ctr-exit.scope
    [ "$status" -eq 4 ]  # gone with the container
}

@test "containerd (systemd): a kubelet-style cgroupsPath puts the scope under the expanded pod slice" {
    need containerd
    run ctr_run --rm --cgroup kubepods-besteffort-podabc.slice:cri-containerd:ctr-kube -- ctr-kube \
        /bin/sh -c 'grep ^0:: /proc/self/cgroup'
    [ "$status" -eq 0 ]
    [ "$output" = "0::/kubepods.slice/kubepods-besteffort.slice/kubepods-besteffort-podabc.slice/cri-containerd-ctr-kube.scope" ]
    run sysctl_in systemctl status cri-containerd-ctr-kube.scope
    [ "$status" -eq 4 ]
    # systemd made the slices on demand; the kubelet would own them, here the test does.
    sysctl_in systemctl stop kubepods.slice
}

@test "containerd (systemd): task exec and ps join the scope; kill stops it and the unit goes" {
    need containerd
    ctr_run -d -- ctr-exec /bin/sleep 1000
    pid="$(ctr_ task ls | awk '$1 == "ctr-exec" {print $2}')"
    [ "$(cgroup_of "$pid")" = /system.slice/ctr-ctr-exec.scope ]
    run -0 sysctl_in systemctl show ctr-ctr-exec.scope -p Delegate -p ActiveState
    [[ "$output" == *"Delegate=yes"* && "$output" == *"ActiveState=active"* ]]
    run sysctl_in timeout 30 ctr --address "$CTRD_SOCK" task exec --exec-id e1 ctr-exec /bin/sh -c 'grep ^0:: /proc/self/cgroup'
    [ "$status" -eq 0 ]
    [ "$output" = "0::/system.slice/ctr-ctr-exec.scope" ]
    run -0 ctr_ task ps ctr-exec
    [[ "$output" == *"$pid"* ]]
    ctr_ task kill -s SIGKILL ctr-exec
    wait_until sh -c "nsenter -t $SYSTEMD_PID -a ctr --address '$CTRD_SOCK' task ls | grep -q 'ctr-exec .*STOPPED'"
    ctr_ task rm ctr-exec
    ctr_ c rm ctr-exec
    run sysctl_in systemctl status ctr-ctr-exec.scope
    [ "$status" -eq 4 ]
}

@test "containerd (systemd): ctr's default cpu-shares runs, or is refused naming the missing cpu controller" {
    need containerd
    CPU_SHARES=1024 run ctr_run --rm -- ctr-shares /bin/true
    if [[ " $(slice_controllers system.slice) " == *" cpu "* ]]; then
        [ "$status" -eq 0 ]
    else
        [ "$status" -ne 0 ]
        [[ "$output" == *"linux.resources.cpu.shares needs the cpu cgroup controller"* ]]
    fi
    run sysctl_in systemctl status ctr-ctr-shares.scope
    [ "$status" -eq 4 ]
}

@test "containerd (systemd): a capability the host lacks fails under strict and names it; lenient runs and warns" {
    need containerd
    local poor="$T/caprun-no-sys-resource"
    RUNTIME="$poor" check_strict_lenient ctr_with_policy "$poor"
}

# --- dockerd ------------------------------------------------------------------------------

dk() { sysctl_in timeout 120 docker -H "unix://$DOCKER_SOCK" "$@"; }
drun() { dk run --rm --network none "$@"; }

@test "docker (systemd): docker info shows the systemd cgroup driver on cgroup v2 and the caprun runtime" {
    need dockerd
    run dk info
    [ "$status" -eq 0 ]
    [[ "$output" == *"Cgroup Driver: systemd"* ]]
    [[ "$output" == *"Cgroup Version: 2"* ]]
    [[ "$output" == *"Runtimes:"*caprun* ]]
}

@test "docker (systemd): run returns the exit code; the container is in system.slice/docker-<id>.scope; exec and stop" {
    need dockerd
    run drun --runtime caprun caprun-test:1 /bin/sh -c 'echo hi; exit 5'
    [ "$status" -eq 5 ]
    [ "$output" = hi ]
    id=$(dk run -d --name dk-exec --network none --runtime caprun caprun-test:1 /bin/sh -c 'trap "exit 0" TERM; sleep 1000 & wait')
    pid=$(dk inspect -f '{{.State.Pid}}' dk-exec)
    [ "$(cgroup_of "$pid")" = "/system.slice/docker-$id.scope" ]
    run -0 sysctl_in systemctl show "docker-$id.scope" -p Delegate -p Slice
    [[ "$output" == *"Delegate=yes"* && "$output" == *"Slice=system.slice"* ]]
    run dk exec dk-exec /bin/echo hi from exec
    [ "$status" -eq 0 ]
    [ "$output" = "hi from exec" ]
    # docker exec joins the scope's cgroup (the container has its own cgroup namespace).
    run -0 dk exec dk-exec /bin/sh -c 'grep ^0:: /proc/self/cgroup'
    [ "$output" = "0::/" ]
    dk stop dk-exec
    [ "$(dk inspect -f '{{.State.Status}} {{.State.ExitCode}}' dk-exec)" = "exited 0" ]
    run sysctl_in systemctl status "docker-$id.scope"
    [ "$status" -eq 4 ]
    dk rm dk-exec
}

@test "docker (systemd): a capability the host lacks fails under strict naming it; lenient runs and warns" {
    need dockerd
    local poor="$T/caprun-no-sys-resource"
    check_strict_lenient docker_with_policy "$poor"
}

# --- podman -------------------------------------------------------------------------------

# podman with the systemd cgroup manager, storage and run root private to this file; caprun's
# state root is its default (/run/caprun in the systemd host), as podman.bats explains.
pm() {
    sysctl_in timeout 120 podman --root "$T/podman/storage" --runroot "$T/podman/runroot" \
        --tmpdir "$T/podman/tmp" --cgroup-manager systemd --events-backend file \
        --runtime "${RUNTIME:-$CAPRUN}" "$@"
}
# podman run without its default pids-limit (2048), which this host's v2 tree cannot hold.
pm_run() {
    local flags=()
    while [ "$1" != run ]; do flags+=("$1"); shift; done
    shift
    pm "${flags[@]}" run --pids-limit 0 --network none "$@"
}

@test "podman (systemd): run prints and returns the exit code; its default pids-limit runs or is refused by controller" {
    need podman
    run pm_run run --rm --rootfs "$ROOTFS" /bin/sh -c 'echo hello from podman; exit 4'
    [ "$status" -eq 4 ]
    [[ "$output" == *"hello from podman"* ]]
    run pm run --rm --network none --rootfs "$ROOTFS" /bin/true
    if [[ " $(slice_controllers machine.slice) " == *" pids "* ]]; then
        [ "$status" -eq 0 ]
    else
        [ "$status" -ne 0 ]
        [[ "$output" == *"linux.resources.pids.limit needs the pids cgroup controller"* ]]
    fi
}

@test "podman (systemd): the container is in machine.slice/libpod-<id>.scope; exec and stop" {
    need podman
    id=$(pm_run run -d --name pm-exec --rootfs "$ROOTFS" /bin/sh -c 'trap "exit 0" TERM; sleep 1000 & wait')
    pid=$(pm inspect -f '{{.State.Pid}}' pm-exec)
    [ "$(cgroup_of "$pid")" = "/machine.slice/libpod-$id.scope" ]
    run -0 sysctl_in systemctl show "libpod-$id.scope" -p Delegate -p Slice
    [[ "$output" == *"Delegate=yes"* && "$output" == *"Slice=machine.slice"* ]]
    run pm exec pm-exec /bin/echo hi from exec
    [ "$status" -eq 0 ]
    [[ "$output" == *"hi from exec"* ]]
    pm stop pm-exec
    [ "$(pm inspect -f '{{.State.Status}} {{.State.ExitCode}}' pm-exec)" = "exited 0" ]
    pm rm pm-exec
    run sysctl_in systemctl status "libpod-$id.scope"
    [ "$status" -eq 4 ]
}

@test "podman (systemd): strict policy names a capability the host lacks (CAP_SYS_NICE); lenient runs and warns" {
    need podman
    # Not CAP_SYS_RESOURCE as above: this systemd host's bounding set lacks it already, and
    # podman leaves out of the spec what its own bounding set lacks.
    local poor="$T/caprun-no-sys-nice"
    make_poorer_runtime "$poor" cap_sys_nice
    RUNTIME="$poor" run pm_run --runtime-flag cap-policy=strict run --rm --cap-add SYS_NICE --rootfs "$ROOTFS" /bin/true
    [ "$status" -ne 0 ]
    [[ "$output" == *"cap policy strict"*CAP_SYS_NICE* ]]
    # podman passes no --log: caprun's warnings would go to its stderr, which conmon
    # drops when the runtime succeeds. --runtime-flag gives caprun a log file.
    RUNTIME="$poor" run pm_run --runtime-flag cap-policy=lenient --runtime-flag log="$T/caprun.log" \
        --runtime-flag log-format=json run --rm --cap-add SYS_NICE --rootfs "$ROOTFS" /bin/probe
    [ "$status" -eq 0 ]
    local caps
    caps="$(grep '^{' <<<"$output" | jq -r .caps.CapEff)"
    ! has_cap_bit "$caps" 23 || false
    has_cap_bit "$caps" 18  # CAP_SYS_CHROOT: the rest holds
    logged_warnings "$T/caprun.log" | grep -q CAP_SYS_NICE
}
