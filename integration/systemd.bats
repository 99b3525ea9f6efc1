#!/usr/bin/env bats
# The systemd cgroup driver against a real systemd: this machine does not boot systemd, so
# setup_file boots one in a container (systemd-nspawn of the host's own OS, pure cgroup v2
# through SYSTEMD_NSPAWN_UNIFIED_HIERARCHY=1) and the tests run caprun inside it as a
# transient service (systemd-run), the way containerd or dockerd run it. teardown_file
# powers that systemd off by pid and fails when anything is left on the outer host.
#
# Needs (Debian packages): systemd-container, busybox-static, jq, bats.

source "$BATS_TEST_DIRNAME/lib.bash"

# The outer host's mounts as "mountpoint fstype", sorted; other tools' private trees are left
# out (other suites may run containers meanwhile), as helpers.bash does.
outer_mounts() {
    awk '{ for (i = 7; $i != "-"; i++); print $5, $(i + 1) }' /proc/self/mountinfo |
        awk '$1 !~ /^\/tmp\// && $1 !~ /^\/(run|var\/lib)\/(docker|containerd|containers|netns|libpod|user)/' |
        sort
}

setup_file() {
    [ "$(id -u)" = 0 ] || skip "needs root"
    command -v systemd-nspawn >/dev/null || skip "systemd-nspawn not installed (Debian package systemd-container)"
    [ -x "$CAPRUN" ] || { echo "caprun not built at $CAPRUN" >&2; return 1; }
    ldd "$CAPRUN" | grep -q libsystemd || skip "caprun was built without libsystemd"
    export ROOTFS_TEMPLATE="$BATS_FILE_TMPDIR/rootfs"
    make_rootfs "$ROOTFS_TEMPLATE"
    cgroup_dirs >"$BATS_FILE_TMPDIR/cgroups.before"
    outer_mounts >"$BATS_FILE_TMPDIR/mounts.before"

    local binds=(--bind="$CAPRUN_REPO:$CAPRUN_REPO" --bind="$BATS_FILE_TMPDIR:$BATS_FILE_TMPDIR")
    [[ "$CAPRUN" == "$CAPRUN_REPO"/* ]] || binds+=(--bind="$(dirname "$CAPRUN")")
    # Its own session, stdio to a log: nspawn must not take over the test's terminal.
    SYSTEMD_NSPAWN_UNIFIED_HIERARCHY=1 setsid systemd-nspawn --keep-unit --register=no \
        --volatile=yes -D / --capability=all --console=passive \
        --machine="caprun-it-$$" \
        --system-call-filter='add_key keyctl request_key bpf perf_event_open' \
        "${binds[@]}" -b systemd.firstboot=off \
        </dev/null >"$BATS_FILE_TMPDIR/nspawn.log" 2>&1 &
    export NSPAWN_PID=$!
    echo "$NSPAWN_PID" >"$BATS_FILE_TMPDIR/nspawn.pid"
    local i state=""
    for ((i = 0; i < 1200; i++)); do
        SYSTEMD_PID=$(ps -o pid= --ppid "$NSPAWN_PID" 2>/dev/null | head -1 | tr -d ' ')
        if [ -n "$SYSTEMD_PID" ]; then
            state=$(nsenter -t "$SYSTEMD_PID" -a systemctl is-system-running 2>/dev/null || true)
            [ "$state" = running ] || [ "$state" = degraded ] && break
        fi
        kill -0 "$NSPAWN_PID" 2>/dev/null || break
        sleep 0.1
    done
    if [ "$state" != running ] && [ "$state" != degraded ]; then
        echo "the systemd host did not come up (state '$state'):" >&2
        cat "$BATS_FILE_TMPDIR/nspawn.log" >&2
        return 1
    fi
    export SYSTEMD_PID
}

teardown_file() {
    local pid
    pid=$(cat "$BATS_FILE_TMPDIR/nspawn.pid" 2>/dev/null) || return 0
    if kill -0 "$pid" 2>/dev/null; then
        [ -n "${SYSTEMD_PID:-}" ] && nsenter -t "$SYSTEMD_PID" -a systemctl poweroff 2>/dev/null || true
        local i
        for ((i = 0; i < 600 && $(kill -0 "$pid" 2>/dev/null && echo 1 || echo 0); i++)); do sleep 0.1; done
        kill -KILL "$pid" 2>/dev/null || true
        while kill -0 "$pid" 2>/dev/null; do sleep 0.1; done
    fi
    # nspawn without a systemd outside (--keep-unit) leaves its own payload/ and supervisor/
    # cgroups next to it, where it ran (here the root of each hierarchy it uses): they are
    # empty now and removed when this run made them.
    local problems="" left d h
    for h in $(awk '$9 == "cgroup" || $9 == "cgroup2" {print $5}' /proc/self/mountinfo); do
        for d in "$h/payload" "$h/supervisor"; do
            [ -d "$d" ] && ! grep -qxF "$d" "$BATS_FILE_TMPDIR/cgroups.before" &&
                find "$d" -depth -type d -exec rmdir {} \; 2>/dev/null
        done
    done
    # Only what this file could have made counts: other suites create and remove their own
    # cgroups on the outer host during these minutes, and those are not ours to remove.
    left=$(comm -13 "$BATS_FILE_TMPDIR/cgroups.before" <(cgroup_dirs) |
        grep -E '/(payload|supervisor)(/|$)|caprun-t[0-9]' | sort -r)
    if [ -n "$left" ]; then
        problems+="cgroups left on the outer host: $(echo $left); "
        remove_cgroup_dirs "$left"
    fi
    if [ "$(outer_mounts)" != "$(cat "$BATS_FILE_TMPDIR/mounts.before")" ]; then
        problems+="outer mount table changed: $(diff "$BATS_FILE_TMPDIR/mounts.before" <(outer_mounts) | grep '^[<>]' | tr '\n' ' '); "
    fi
    if [ -n "$problems" ]; then
        echo "teardown_file: $problems" >&2
        return 1
    fi
}

# A command inside the systemd host, as a transient service of its own (its cgroup is in
# that systemd's tree, so systemd can move the container's init into a scope); stdio is
# piped through, the exit status returned.
inside() {
    nsenter -t "$SYSTEMD_PID" -a systemd-run --quiet --wait --pipe --collect \
        --service-type=exec -- "$@"
}

# Inside, without a service around it (for systemctl and reading files).
sysctl_in() {
    nsenter -t "$SYSTEMD_PID" -a "$@"
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
