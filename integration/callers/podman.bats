#!/usr/bin/env bats
# caprun under podman (Debian's podman 4.3 with conmon): `podman --runtime caprun run
# --rootfs DIR`, with podman's storage and run root private to the test. caprun's state
# root is its default (/run/caprun): podman's cleanup process (conmon's exit command) does
# not repeat --runtime-flag, so callers like podman rely on the default root; the test
# checks that the containers it made leave nothing there.

load common

setup_file() {
    [ "$(id -u)" = 0 ] || skip "needs root"
    command -v podman >/dev/null || skip "podman not installed (apt install podman)"
    export T="$(mktemp -d /tmp/caprun-podman.XXXXXX)"
    export ROOTFS="$T/rootfs" STATE=/run/caprun
    local d
    export PREEXISTING="" STATE_BEFORE=""
    [ -d "$STATE" ] && STATE_BEFORE="$(ls -A "$STATE" | tr '\n' ' ')"
    for d in /run/containers /run/libpod /var/lib/containers /run/caprun; do
        [ -e "$d" ] && PREEXISTING+="$d "
    done
    make_rootfs "$ROOTFS"
    export CGROUPS_BEFORE="$(cgroup_dirs)"
    # podman (cgroupfs manager) keeps conmon in its own cgroup; the file removes it at the end.
    export CALLER_OWN_CGROUPS='/libpod_parent(/conmon)?$'
    # caprun as on a host without CAP_SYS_RESOURCE (capsh drops it), whatever this has.
    make_poorer_runtime "$T/caprun-no-sys-resource" cap_sys_resource
    # caprun named in containers.conf as docs/callers.md says, pointed at this build; pm
    # selects it by that name.
    doc_snippet podman/containers.conf | sed "s|\"/usr/bin/caprun\"|\"$CAPRUN\"|" >"$T/containers.conf"
    grep -qF "\"$CAPRUN\"" "$T/containers.conf"
    export CONTAINERS_CONF="$T/containers.conf"
}

# After each test: no container's cgroup left.
teardown() {
    check_cgroups_left
}

teardown_file() {
    [ -n "${T:-}" ] || return 0
    pm rm -af >/dev/null 2>&1 || true
    local left d
    left="$(leftover_processes "$ROOTFS")"
    left+="$(new_state_dirs)"
    for d in /run/containers /run/libpod /var/lib/containers /run/caprun; do
        [[ " $PREEXISTING " == *" $d "* ]] || rm -rf "$d"
    done
    umount -R "$T/storage" 2>/dev/null || true
    remove_cgroup_dirs "$(new_cgroup_dirs "$CGROUPS_BEFORE")"
    rm -rf "$T"
    [ -z "$left" ] || { echo "left behind: $left" >&2; return 1; }
}

# Container directories in caprun's state root that were not there before this file ran.
new_state_dirs() {
    local e
    [ -d "$STATE" ] || return 0
    for e in $(ls -A "$STATE"); do
        [ "$e" = seccomp-cache ] && continue
        [[ " $STATE_BEFORE " == *" $e "* ]] || echo -n " caprun state: $e"
    done
}

pm() {
    timeout 120 podman --root "$T/storage" --runroot "$T/runroot" --tmpdir "$T/tmp" \
        --cgroup-manager cgroupfs --events-backend file --runtime "${RUNTIME:-caprun}" \
        "$@"
}

@test "podman: run --rootfs prints and returns the exit code" {
    run pm run --rm --network none --rootfs "$ROOTFS" /bin/sh -c 'echo hello from podman; exit 4'
    [ "$status" -eq 4 ]
    [[ "$output" == *"hello from podman"* ]]
}

@test "podman: exec and stop" {
    pm run -d --name pm-exec --network none --rootfs "$ROOTFS" /bin/sh -c 'trap "exit 0" TERM; sleep 1000 & wait'
    run pm exec pm-exec /bin/echo hi from exec
    [ "$status" -eq 0 ]
    [[ "$output" == *"hi from exec"* ]]
    pm stop pm-exec
    [ "$(pm inspect -f '{{.State.Status}} {{.State.ExitCode}}' pm-exec)" = "exited 0" ]
    pm rm pm-exec
    [ -z "$(new_state_dirs)" ]
}

@test "podman: --cap-add SYS_NICE reaches the container" {
    run pm run --rm --network none --cap-add SYS_NICE --rootfs "$ROOTFS" /bin/probe
    [ "$status" -eq 0 ]
    has_cap_bit "$(grep '^{' <<<"$output" | jq -r .caps.CapEff)" 23
}

@test "podman: strict policy (--runtime-flag) names the missing CAP_SYS_RESOURCE; lenient runs and warns" {
    local poor="$T/caprun-no-sys-resource"
    RUNTIME="$poor" run pm --runtime-flag cap-policy=strict run --rm --network none --cap-add SYS_RESOURCE --rootfs "$ROOTFS" /bin/true
    [ "$status" -ne 0 ]
    # Named for the capability (when podman passes it: it leaves out what its own bounding
    # set lacks) or for podman's default RLIMIT_NOFILE, which needs it.
    [[ "$output" == *"cap policy strict"*CAP_SYS_RESOURCE* ]]
    # podman passes no --log: caprun's warnings would go to its stderr, which conmon
    # drops when the runtime succeeds. --runtime-flag gives caprun a log file.
    RUNTIME="$poor" run pm --runtime-flag cap-policy=lenient --runtime-flag log="$T/caprun.log" \
        --runtime-flag log-format=json run --rm --network none --cap-add SYS_RESOURCE --rootfs "$ROOTFS" /bin/probe
    [ "$status" -eq 0 ]
    local caps
    caps="$(grep '^{' <<<"$output" | jq -r .caps.CapEff)"
    ! has_cap_bit "$caps" 24 || false
    has_cap_bit "$caps" 18  # CAP_SYS_CHROOT: the rest holds
    logged_warnings "$T/caprun.log" | grep -q CAP_SYS_RESOURCE
}

@test "podman: container checkpoint and restore with caprun: the counter goes on" {
    local criu_dir at i now
    criu_dir="$(cd "$BATS_TEST_DIRNAME/../../.." && pwd)/shared/bin"
    [ -x "$criu_dir/criu" ] || skip "no CRIU at $criu_dir/criu"
    # podman asks CRIU for its version itself, and caprun runs criu from PATH.
    export PATH="$criu_dir:$PATH"
    rm -f "$ROOTFS/tmp/count"
    pm run -d --name pm-cr --network none --rootfs "$ROOTFS" /bin/sh -c \
        'i=0; while true; do i=$((i+1)); echo $i > /tmp/count; sleep 0.05; done'
    wait_until test -s "$ROOTFS/tmp/count"
    pm container checkpoint pm-cr
    [ "$(pm inspect -f '{{.State.Status}}' pm-cr)" = exited ]
    at="$(cat "$ROOTFS/tmp/count")"
    pm container restore pm-cr
    [ "$(pm inspect -f '{{.State.Status}}' pm-cr)" = running ]
    for i in $(seq 1 100); do
        now="$(cat "$ROOTFS/tmp/count")"
        [[ "$now" =~ ^[0-9]+$ ]] && [ "$now" -gt "$at" ] && break
        sleep 0.05
    done
    # Counting on from the checkpoint, not from 1 again.
    [ "$now" -gt "$at" ] && [ "$now" -lt $((at + 100)) ]
    run pm exec pm-cr /bin/cat /tmp/count
    [ "$status" -eq 0 ] && [ "$output" -ge "$at" ]
    pm rm -f pm-cr
    [ -z "$(new_state_dirs)" ]
}
