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
    systemd_host_add_user caprun-user
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
    if [ -n "${UB:-}" ]; then
        units=$(as_user systemctl --user list-units --all --no-legend --plain 'caprun-*' | awk '{print $1}')
        if [ -n "$units" ]; then
            problems+="user units left: $units; "
            for d in $units; do as_user systemctl --user stop "$d" || true; done
        fi
        for d in $(sysctl_in ls -A "/run/user/$SD_UID/caprun" 2>/dev/null | grep -v '^seccomp-cache$'); do
            problems+="user state dir left: $d; "
            as_user "$U_CAPRUN" delete --force "$d" || true
        done
        sysctl_in rm -rf "$UB"
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

# A bundle of the systemd host's user at $UB (in that host's own /tmp): `caprun spec
# --rootless`, the test rootfs, not a terminal, then the jq filter $1.
user_bundle() {
    UB="/tmp/caprun-user-$BATS_TEST_NUMBER"
    sysctl_in sh -c 'rm -rf "$1" && mkdir "$1" && cp -a "$2" "$1/rootfs" && chown -R "$3:" "$1"' \
        sh "$UB" "$ROOTFS_TEMPLATE" "$SD_USER"
    as_user sh -c 'cd "$1" && "$2" spec --rootless' sh "$UB" "$U_CAPRUN"
    as_user sh -c 'jq ".process.terminal = false | $1" "$2/config.json" >"$2/c" && mv "$2/c" "$2/config.json"' \
        sh "$1" "$UB"
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
    run -0 sysctl_in systemctl show caprun-t1.scope -p Delegate -p Slice -p ActiveState -p DefaultDependencies
    [[ "$output" == *"Delegate=yes"* ]]
    [[ "$output" == *"Slice=system.slice"* ]]
    [[ "$output" == *"ActiveState=active"* ]]
    [[ "$output" == *"DefaultDependencies=no"* ]]
    # The state records the driver and the unit; the cgroup is the scope's.
    run -0 jq -r '.systemdCgroup, .systemdUnit, .cgroupPaths.unified' "$ROOT/t1/state.json"
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
        run -0 sysctl_in systemctl show caprun-t3.scope -p TasksMax -p MemoryMax
        [[ "$output" == *"TasksMax=77"* ]]
        [[ "$output" == *"MemoryMax=67108864"* ]]
        run -0 sysctl_in cat /sys/fs/cgroup/system.slice/caprun-t3.scope/pids.max
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
    run -0 sysctl_in systemctl show caprun-t4.scope -p ActiveState
    [ "$output" = ActiveState=active ]
    pid=$(caprun_sd state t4a | jq -r .pid)
    run -0 sysctl_in cat "/sys/fs/cgroup/system.slice/caprun-t4.scope/cgroup.procs"
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
    run -0 caprun_sd ps --format json t5
    [ "$(jq length <<<"$output")" -eq 2 ]
    caprun_sd pause t5
    run -0 sysctl_in cat /sys/fs/cgroup/system.slice/caprun-t5.scope/cgroup.freeze
    [ "$output" = 1 ]
    [ "$(caprun_sd state t5 | jq -r .status)" = paused ]
    caprun_sd resume t5
    run -0 sysctl_in cat /sys/fs/cgroup/system.slice/caprun-t5.scope/cgroup.freeze
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
    run -0 sysctl_in systemctl show caprun-t6.scope -p Slice -p ActiveState
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
    run -0 "$CAPRUN" --systemd-cgroup check --verbose --bundle "$BUNDLE"
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
        run -0 sysctl_in systemctl show caprun-t8.scope -p TasksMax
        [ "$output" = TasksMax=33 ]
    else
        run caprun_sd update --resources "$TMP/r.json" t8
        [ "$status" -ne 0 ]
        [[ "$output" == *"linux.resources.pids.limit needs the pids cgroup controller"* ]]
        run -0 sysctl_in systemctl show caprun-t8.scope -p TasksMax
        [ "$output" != TasksMax=33 ]
    fi
    caprun_sd delete --force t8
}

@test "systemd user: as an ordinary user, --systemd-cgroup puts the container in a scope of the user's own manager (user bus); exec joins it, pause and kill --all work, delete removes it" {
    user_bundle '.process.args = ["/bin/sleep", "1000"] | .linux.namespaces |= map(select(.type != "cgroup"))'
    local mgr="/user.slice/user-$SD_UID.slice/user@$SD_UID.service"
    run as_user "$U_CAPRUN" --systemd-cgroup check --bundle "$UB" --format json
    [ "$status" -eq 0 ]
    [ "$(jq -r .systemdCgroup.cgroupPath <<<"$output")" = "$mgr/user.slice/caprun-<id>.scope" ]
    # The user's manager cannot attach eBPF programs, nor can caprun rootless: check says so.
    [[ "$(jq -r '.systemdCgroup.notes[]' <<<"$output")" == *"no device filter rootless"* ]]
    [ "$(jq -r '.systemdCgroup.properties[] | select(.name == "DevicePolicy") | .name' <<<"$output")" = "" ]

    as_user sh -c '"$1" --systemd-cgroup create --bundle "$2" u1 </dev/null >"$2/create.log" 2>&1' \
        sh "$U_CAPRUN" "$UB" || { sysctl_in cat "$UB/create.log" >&2; false; }
    pid=$(as_user "$U_CAPRUN" state u1 | jq -r .pid)
    run -0 sysctl_in cat "/proc/$pid/cgroup"
    [[ "$output" == *"0::$mgr/user.slice/caprun-u1.scope"* ]]
    run -0 as_user systemctl --user show caprun-u1.scope -p Delegate -p Slice -p ActiveState
    [[ "$output" == *"Delegate=yes"* ]]
    [[ "$output" == *"Slice=user.slice"* ]]
    [[ "$output" == *"ActiveState=active"* ]]
    # Not a unit of the system manager.
    run sysctl_in systemctl status caprun-u1.scope
    [ "$status" -eq 4 ]
    [ "$(sysctl_in jq -r .systemdUserBus "/run/user/$SD_UID/caprun/u1/state.json")" = true ]

    as_user "$U_CAPRUN" start u1
    run as_user "$U_CAPRUN" exec u1 /bin/cat /proc/self/cgroup
    [ "$status" -eq 0 ]
    [[ "$output" == *"0::$mgr/user.slice/caprun-u1.scope"* ]]
    run -0 as_user "$U_CAPRUN" ps --format json u1
    [ "$(jq length <<<"$output")" -eq 1 ]
    as_user "$U_CAPRUN" pause u1
    [ "$(sysctl_in cat "/sys/fs/cgroup$mgr/user.slice/caprun-u1.scope/cgroup.freeze")" = 1 ]
    as_user "$U_CAPRUN" resume u1
    as_user "$U_CAPRUN" kill --all u1 KILL
    local i
    for ((i = 0; i < 100; i++)); do
        [ "$(as_user "$U_CAPRUN" state u1 | jq -r .status)" = stopped ] && break
        sleep 0.1
    done
    [ "$(as_user "$U_CAPRUN" state u1 | jq -r .status)" = stopped ]

    as_user "$U_CAPRUN" delete u1
    run as_user systemctl --user status caprun-u1.scope
    [ "$status" -eq 4 ]
    run sysctl_in test -e "/sys/fs/cgroup$mgr/user.slice/caprun-u1.scope"
    [ "$status" -ne 0 ]
    [ -z "$(sysctl_in ls -A "/run/user/$SD_UID/caprun" | grep -v '^seccomp-cache$')" ]
}

@test "systemd user: rootless with a delegated cgroup (a user scope, Delegate=yes) uses it; without one cgroups are skipped; check says which" {
    user_bundle '.process.args = ["/bin/cat", "/proc/self/cgroup"] | .linux.namespaces |= map(select(.type != "cgroup"))'
    local mgr="/user.slice/user-$SD_UID.slice/user@$SD_UID.service"
    # runuser's session cgroup is root's: nothing delegated.
    run -0 as_user "$U_CAPRUN" check --bundle "$UB" --format json
    [ "$(jq -r .cgroups.manager <<<"$output")" = none ]
    run as_user "$U_CAPRUN" run --bundle "$UB" u2
    [ "$status" -eq 0 ]
    [[ "$output" != *"/caprun/u2"* ]]

    run -0 as_user systemd-run --user --scope --quiet -p Delegate=yes "$U_CAPRUN" check --bundle "$UB" --format json
    [ "$(jq -r .cgroups.manager <<<"$output")" = cgroupfs ]
    [[ "$(jq -r .cgroups.paths.unified <<<"$output")" == "/sys/fs/cgroup$mgr/"*.scope/caprun/"<id>" ]]
    [ "$(jq -r .cgroups.deviceRules <<<"$output")" = false ]
    run as_user systemd-run --user --scope --quiet -p Delegate=yes "$U_CAPRUN" run --bundle "$UB" u3
    echo "$output"
    [ "$status" -eq 0 ]
    [[ "$output" =~ 0::$mgr/app.slice/run-[^/]+\.scope/caprun/u3 ]]
}
