#!/usr/bin/env bats
# podman with caprun for the runtime-spec fields of issue 12: `--tmpfs` (tmpcopyup: the
# directory's files are there), `--read-only` and a read-only `--mount type=bind`. podman's storage and run root are
# private to the test; caprun's state root is its default (/run/caprun), as podman.bats
# explains.

bats_require_minimum_version 1.5.0

load common

setup_file() {
    [ "$(id -u)" = 0 ] || skip "needs root"
    command -v podman >/dev/null || skip "podman not installed (apt install podman)"
    export T="$(mktemp -d /tmp/caprun-podman-fields.XXXXXX)"
    export ROOTFS="$T/rootfs" STATE=/run/caprun
    local d
    export PREEXISTING="" STATE_BEFORE=""
    [ -d "$STATE" ] && STATE_BEFORE="$(ls -A "$STATE" | tr '\n' ' ')"
    for d in /run/containers /run/libpod /var/lib/containers /run/caprun; do
        [ -e "$d" ] && PREEXISTING+="$d "
    done
    make_rootfs "$ROOTFS"
    mkdir -p "$ROOTFS/seeded/deeper"
    echo one >"$ROOTFS/seeded/a.txt"
    echo two >"$ROOTFS/seeded/deeper/b.txt"
    export CGROUPS_BEFORE="$(cgroup_dirs)"
    export CALLER_OWN_CGROUPS='/libpod_parent(/conmon)?$'
}

teardown() {
    # The bind test's submount, when it made one.
    [ -n "${SUBMOUNT:-}" ] && mountpoint -q "$SUBMOUNT" && umount "$SUBMOUNT"
    check_cgroups_left
}

teardown_file() {
    [ -n "${T:-}" ] || return 0
    pm rm -af >/dev/null 2>&1 || true
    local left d e
    left="$(leftover_processes "$ROOTFS")"
    if [ -d "$STATE" ]; then
        for e in $(ls -A "$STATE"); do
            [ "$e" = seccomp-cache ] && continue
            [[ " $STATE_BEFORE " == *" $e "* ]] || left+=" caprun state: $e"
        done
    fi
    for d in /run/containers /run/libpod /var/lib/containers /run/caprun; do
        [[ " $PREEXISTING " == *" $d "* ]] || rm -rf "$d"
    done
    umount -R "$T/storage" 2>/dev/null || true
    remove_cgroup_dirs "$(new_cgroup_dirs "$CGROUPS_BEFORE")"
    rm -rf "$T"
    [ -z "$left" ] || { echo "left behind: $left" >&2; return 1; }
}

pm() {
    timeout 120 podman --root "$T/storage" --runroot "$T/runroot" --tmpdir "$T/tmp" \
        --cgroup-manager cgroupfs --events-backend file --runtime "${PM_RUNTIME:-$CAPRUN}" "$@"
}

@test "podman: run --tmpfs over a directory keeps its files (tmpcopyup)" {
    # The container's stdout alone: a warning podman prints on stderr is no line of it.
    run --separate-stderr pm run --rm --network none --tmpfs /seeded --rootfs "$ROOTFS" \
        /bin/sh -c 'cat /seeded/a.txt /seeded/deeper/b.txt; echo new >/seeded/c.txt && grep " /seeded " /proc/self/mountinfo'
    echo "stdout: $output"
    echo "stderr: $stderr"
    [ "$status" -eq 0 ]
    [ "${lines[0]}" = one ]
    [ "${lines[1]}" = two ]
    [[ "${lines[2]}" == *" - tmpfs "* ]]
    [ ! -e "$ROOTFS/seeded/c.txt" ]
}

@test "podman: run --read-only gives a read-only root" {
    run pm run --rm --network none --read-only --rootfs "$ROOTFS" /bin/sh -c 'touch /x && echo writable || echo readonly'
    [ "$status" -eq 0 ]
    [[ "$output" == *readonly* ]]
}

@test "podman: --mount type=bind,ro is read-only, and its submounts are as runc leaves them" {
    command -v runc >/dev/null || skip "runc not installed (apt install runc)"
    mkdir -p "$T/src/sub"
    SUBMOUNT="$T/src/sub"
    mount -t tmpfs tmpfs "$SUBMOUNT"
    local probe='touch /m/x 2>/dev/null && echo top-rw || echo top-ro; touch /m/sub/y 2>/dev/null && echo sub-rw || echo sub-ro'
    # podman 4.3 asks for ["ro", "rprivate", "rbind"]: read-only at the top only (it has
    # no way to ask for rro; caprun's rro is proven in spec_fields.bats).
    # The same command for both; nofile kept low because runc cannot raise it on a host
    # without CAP_SYS_RESOURCE.
    local args=(run --rm --network none --ulimit nofile=1024:1024 --ulimit nproc=1024:1024
                --mount "type=bind,src=$T/src,dst=/m,ro" --rootfs "$ROOTFS")
    run pm "${args[@]}" /bin/sh -c "$probe"
    echo "caprun: $output"
    [ "$status" -eq 0 ]
    [ "${lines[0]}" = top-ro ]
    local caprun_says="$output"
    PM_RUNTIME=runc run pm "${args[@]}" /bin/sh -c "$probe"
    echo "runc: $output"
    [ "$status" -eq 0 ]
    [ "$caprun_says" = "$output" ]
    [ ! -e "$T/src/x" ]
}
