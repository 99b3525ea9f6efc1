#!/usr/bin/env bats
# The systemd cgroup driver against a real systemd: this machine does not boot systemd, so
# setup_file boots one in a container (systemd_host.bash: systemd-nspawn of the host's own
# OS, pure cgroup v2) and the tests run caprun inside it as a transient service
# (systemd-run), the way containerd or dockerd run it. teardown_file powers that systemd
# off by pid and fails when anything is left on the outer host.
#
# Needs (Debian packages): systemd-container, busybox-static, jq, bats.

source "$BATS_TEST_DIRNAME/lib.bash"
source "$BATS_TEST_DIRNAME/systemd_host.bash"

setup_file() {
    systemd_host_needs || return
    export ROOTFS_TEMPLATE="$BATS_FILE_TMPDIR/rootfs"
    make_rootfs "$ROOTFS_TEMPLATE"
    systemd_host_boot "$BATS_FILE_TMPDIR"
}

teardown_file() {
    systemd_host_teardown 'caprun-t[0-9]'
}

setup() {
    TMP="$BATS_FILE_TMPDIR/t$BATS_TEST_NUMBER"
    BUNDLE="$TMP/bundle"
    ROOT="$TMP/state"
    mkdir -p "$BUNDLE"
    cp -a "$ROOTFS_TEMPLATE" "$BUNDLE/rootfs"
    "$CAPRUN" spec --bundle "$BUNDLE"
    # No cgroup namespace: /proc/self/cgroup inside shows the scope's full path.
    cfg '.process.terminal = false | .process.args = ["/bin/sleep", "1000"]
         | .linux.namespaces |= map(select(.type != "cgroup"))'
}

# Every container of this test deleted; no caprun unit may be left in the systemd host.
teardown() {
    local d problems=""
    for d in "$ROOT"/*/; do
        [ -d "$d" ] || continue
        [ "$(basename "$d")" = seccomp-cache ] && continue
        problems+="state dir left: $d; "
        inside "$CAPRUN" --systemd-cgroup --root "$ROOT" delete --force "$(basename "$d")" || true
    done
    local units
    units=$(sysctl_in systemctl list-units --all --no-legend --plain 'caprun-*' | awk '{print $1}')
    if [ -n "$units" ]; then
        problems+="units left: $units; "
        for d in $units; do sysctl_in systemctl stop "$d" || true; done
    fi
    rm -rf "$TMP"
    [ -z "$problems" ] || { echo "teardown: $problems" >&2; return 1; }
}

cfg() {
    local f="$BUNDLE/config.json"
    jq "$@" "$f" >"$f.new" && mv "$f.new" "$f"
}

# caprun --systemd-cgroup inside the systemd host, with this test's state root.
caprun_sd() {
    inside "$CAPRUN" --systemd-cgroup --root "$ROOT" "$@"
}

# The controllers systemd's system.slice can hand to a scope in the systemd host.
slice_controllers() {
    sysctl_in cat /sys/fs/cgroup/system.slice/cgroup.controllers
}

@test "systemd: create starts system.slice/caprun-<name>.scope, delegated, with the init in it; delete removes unit and cgroup" {
    cfg '.linux.cgroupsPath = "system.slice:caprun:t1"'
    caprun_sd create --bundle "$BUNDLE" t1
    pid=$(caprun_sd state t1 | jq -r .pid)
    run sysctl_in cat "/proc/$pid/cgroup"
    [ "$status" -eq 0 ]
    [[ "$output" == *"0::/system.slice/caprun-t1.scope"* ]]
    run sysctl_in systemctl show caprun-t1.scope -p Delegate -p Slice -p ActiveState -p DefaultDependencies
    [[ "$output" == *"Delegate=yes"* ]]
    [[ "$output" == *"Slice=system.slice"* ]]
    [[ "$output" == *"ActiveState=active"* ]]
    [[ "$output" == *"DefaultDependencies=no"* ]]
    # The state records the driver and the unit; the cgroup is the scope's.
    run jq -r '.systemdCgroup, .systemdUnit, .cgroupPaths.unified' "$ROOT/t1/state.json"
    [ "${lines[0]}" = true ]
    [ "${lines[1]}" = caprun-t1.scope ]
    [ "${lines[2]}" = /sys/fs/cgroup/system.slice/caprun-t1.scope ]

    caprun_sd delete --force t1
    run sysctl_in systemctl status caprun-t1.scope
    [ "$status" -eq 4 ]  # "Unit caprun-t1.scope could not be found."
    [[ "$output" == *"could not be found"* ]]
    run sysctl_in test -e /sys/fs/cgroup/system.slice/caprun-t1.scope
    [ "$status" -ne 0 ]
    [ ! -e "$ROOT/t1" ]
}

@test "systemd: run in the foreground; the process sees its scope in /proc/self/cgroup" {
    cfg '.linux.cgroupsPath = "system.slice:caprun:t2" | .process.args = ["/bin/cat", "/proc/self/cgroup"]'
    run caprun_sd run --bundle "$BUNDLE" t2
    echo "$output"
    [ "$status" -eq 0 ]
    [[ "$output" == *"0::/system.slice/caprun-t2.scope"* ]]
    run sysctl_in systemctl status caprun-t2.scope
    [ "$status" -eq 4 ]
}

@test "systemd: resources become unit properties, or a missing controller is refused by name" {
    cfg '.linux.cgroupsPath = "system.slice:caprun:t3"
         | .linux.resources.pids.limit = 77 | .linux.resources.memory.limit = 67108864'
    ctl=" $(slice_controllers) "
    if [[ "$ctl" == *" pids "* && "$ctl" == *" memory "* ]]; then
        caprun_sd create --bundle "$BUNDLE" t3
        run sysctl_in systemctl show caprun-t3.scope -p TasksMax -p MemoryMax
        [[ "$output" == *"TasksMax=77"* ]]
        [[ "$output" == *"MemoryMax=67108864"* ]]
        run sysctl_in cat /sys/fs/cgroup/system.slice/caprun-t3.scope/pids.max
        [ "$output" = 77 ]
        caprun_sd delete --force t3
    else
        # This systemd host's v2 hierarchy lacks them (the outer host binds them to v1).
        run caprun_sd create --bundle "$BUNDLE" t3
        [ "$status" -ne 0 ]
        [[ "$output" == *"cgroup controller, which this cgroup v2 hierarchy does not offer here"* ]]
        [[ "$output" == *"needs the memory cgroup controller"* || "$output" == *"needs the pids cgroup controller"* ]]
        [ ! -e "$ROOT/t3" ]
        run sysctl_in systemctl status caprun-t3.scope
        [ "$status" -eq 4 ]
    fi
}

@test "systemd: a unit that already exists fails create with systemd's words and leaves nothing" {
    cfg '.linux.cgroupsPath = "system.slice:caprun:t4"'
    caprun_sd create --bundle "$BUNDLE" t4a
    run caprun_sd create --bundle "$BUNDLE" t4b
    [ "$status" -ne 0 ]
    # systemd 252 says "Unit caprun-t4.scope was already loaded or has a fragment file."
    # (newer ones "... already exists."): caprun passes it on verbatim with its context.
    [[ "$output" == *"starting unit caprun-t4.scope in system.slice: Unit caprun-t4.scope "*already* ]]
    [ ! -e "$ROOT/t4b" ]
    # The first container's unit and cgroup are untouched.
    run sysctl_in systemctl show caprun-t4.scope -p ActiveState
    [ "$output" = ActiveState=active ]
    pid=$(caprun_sd state t4a | jq -r .pid)
    run sysctl_in cat "/sys/fs/cgroup/system.slice/caprun-t4.scope/cgroup.procs"
    [ "$output" = "$pid" ]
    caprun_sd delete --force t4a
    run sysctl_in systemctl status caprun-t4.scope
    [ "$status" -eq 4 ]
}

@test "systemd: exec joins the scope; ps, pause/resume (cgroup.freeze) and kill --all work on it" {
    cfg '.linux.cgroupsPath = "system.slice:caprun:t5"'
    caprun_sd create --bundle "$BUNDLE" t5
    caprun_sd start t5
    run caprun_sd exec t5 /bin/cat /proc/self/cgroup
    [ "$status" -eq 0 ]
    [[ "$output" == *"0::/system.slice/caprun-t5.scope"* ]]
    caprun_sd exec --detach t5 /bin/sleep 1000
    run caprun_sd ps --format json t5
    [ "$(jq length <<<"$output")" -eq 2 ]
    caprun_sd pause t5
    run sysctl_in cat /sys/fs/cgroup/system.slice/caprun-t5.scope/cgroup.freeze
    [ "$output" = 1 ]
    [ "$(caprun_sd state t5 | jq -r .status)" = paused ]
    caprun_sd resume t5
    run sysctl_in cat /sys/fs/cgroup/system.slice/caprun-t5.scope/cgroup.freeze
    [ "$output" = 0 ]
    caprun_sd kill --all t5 KILL
    local i
    for ((i = 0; i < 100; i++)); do
        [ "$(caprun_sd state t5 | jq -r .status)" = stopped ] && break
        sleep 0.1
    done
    [ "$(caprun_sd state t5 | jq -r .status)" = stopped ]
    caprun_sd delete t5
    run sysctl_in systemctl status caprun-t5.scope
    [ "$status" -eq 4 ]
}

@test "systemd: an empty cgroupsPath is caprun-<id>.scope in system.slice (runc's default)" {
    caprun_sd create --bundle "$BUNDLE" t6
    run sysctl_in systemctl show caprun-t6.scope -p Slice -p ActiveState
    [[ "$output" == *"Slice=system.slice"* ]]
    [[ "$output" == *"ActiveState=active"* ]]
    caprun_sd delete --force t6
}

@test "systemd: a cgroupsPath not in slice:prefix:name form is refused before anything exists" {
    cfg '.linux.cgroupsPath = "/caprun-it/t7"'
    run caprun_sd create --bundle "$BUNDLE" t7
    [ "$status" -ne 0 ]
    [[ "$output" == *'expects the form "slice:prefix:name"'* ]]
    [ ! -e "$ROOT/t7" ]
}

@test "systemd: check shows the unit, slice and properties create asks for" {
    cfg '.linux.cgroupsPath = "kubepods-besteffort.slice:cri-containerd:abc" | .linux.resources.pids.limit = 5'
    run "$CAPRUN" --systemd-cgroup check --bundle "$BUNDLE" --format json
    [ "$status" -eq 0 ]
    [ "$(jq -r .systemdCgroup.unit <<<"$output")" = cri-containerd-abc.scope ]
    [ "$(jq -r .systemdCgroup.cgroupPath <<<"$output")" = /kubepods.slice/kubepods-besteffort.slice/cri-containerd-abc.scope ]
    [ "$(jq -r '.systemdCgroup.properties[] | select(.name == "TasksMax") | .value' <<<"$output")" = 5 ]
    [ "$(jq -r '.systemdCgroup.properties[] | select(.name == "Delegate") | .value' <<<"$output")" = yes ]
    run "$CAPRUN" --systemd-cgroup check --bundle "$BUNDLE"
    [[ "$output" == *"unit:      cri-containerd-abc.scope"* ]]
    [[ "$output" == *"TasksMax=5"* ]]
}

@test "systemd: update sets unit properties, or refuses a resource without its controller by name" {
    cfg '.linux.cgroupsPath = "system.slice:caprun:t8"'
    caprun_sd create --bundle "$BUNDLE" t8
    echo '{"pids": {"limit": 33}}' >"$TMP/r.json"
    ctl=" $(slice_controllers) "
    if [[ "$ctl" == *" pids "* ]]; then
        caprun_sd update --resources "$TMP/r.json" t8
        run sysctl_in systemctl show caprun-t8.scope -p TasksMax
        [ "$output" = TasksMax=33 ]
    else
        run caprun_sd update --resources "$TMP/r.json" t8
        [ "$status" -ne 0 ]
        [[ "$output" == *"linux.resources.pids.limit needs the pids cgroup controller"* ]]
        run sysctl_in systemctl show caprun-t8.scope -p TasksMax
        [ "$output" != TasksMax=33 ]
    fi
    caprun_sd delete --force t8
}
