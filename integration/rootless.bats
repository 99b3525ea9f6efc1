#!/usr/bin/env bats
# Rootless (issue 16): caprun run by an ordinary user, and under podman rootless. The file
# creates a user with a subuid/subgid range (useradd gives one from /etc/login.defs),
# runs everything as that user with runuser, and removes the user and all it left at the
# end. caprun's state root is then $XDG_RUNTIME_DIR/caprun, a private directory here.
#
# Needs (Debian packages): passwd (useradd), util-linux (runuser), uidmap (newuidmap,
# newgidmap), podman, libcap2-bin (capsh), jq, busybox-static.

source "$BATS_TEST_DIRNAME/lib.bash"

setup_file() {
    [ "$(id -u)" = 0 ] || skip "needs root to create the test user"
    command -v newuidmap >/dev/null || { echo "newuidmap missing (apt install uidmap)" >&2; return 1; }
    export T="$(mktemp -d /tmp/caprun-rootless.XXXXXX)"
    chmod 755 "$T"
    export RL_USER="crl$$"
    export ACCOUNTS_BEFORE="$(snapshot_accounts)"
    useradd --no-create-home --home-dir "$T/home" --shell /bin/sh "$RL_USER"
    export RL_UID="$(id -u "$RL_USER")" RL_GID="$(id -g "$RL_USER")"
    export SUBUID_START="$(awk -F: -v u="$RL_USER" '$1 == u {print $2}' /etc/subuid)"
    export SUBGID_START="$(awk -F: -v u="$RL_USER" '$1 == u {print $2}' /etc/subgid)"
    [ -n "$SUBUID_START" ] && [ -n "$SUBGID_START" ] ||
        { echo "useradd gave $RL_USER no /etc/subuid or /etc/subgid range" >&2; return 1; }
    # The user's own copy of the binary: the build tree's parents need not be open to it.
    mkdir -p "$T/bin" "$T/home/.config/containers" "$T/xdg"
    install -m 0755 "$CAPRUN" "$T/bin/caprun"
    export RL_CAPRUN="$T/bin/caprun" XDG="$T/xdg"
    # caprun's rootfs stays root's (read-only to the container); podman writes /etc/mtab
    # into its --rootfs, so it gets one of the user's own.
    make_rootfs "$T/rootfs"
    mkdir "$T/rootfs/out"  # a bind target: the container's root cannot create it there
    cp -a "$T/rootfs" "$T/prootfs"
    chown -R "$RL_USER:" "$T/prootfs" "$T/home" "$T/xdg"
    chmod 700 "$T/xdg"
    # No systemd user session here: podman manages cgroups itself and logs events to a file.
    printf '[engine]\ncgroup_manager = "cgroupfs"\nevents_logger = "file"\n' \
        >"$T/home/.config/containers/containers.conf"
    chown "$RL_USER:" "$T/home/.config/containers/containers.conf"
    export MOUNTS_BEFORE="$(awk '{print $5}' /proc/self/mountinfo | sort)"
}

# The host's account files as they were before the user existed: teardown_file compares.
snapshot_accounts() {
    cat /etc/passwd /etc/group /etc/shadow /etc/gshadow /etc/subuid /etc/subgid 2>/dev/null | sha256sum
}

teardown_file() {
    [ -n "${T:-}" ] || return 0
    local left="" p
    as_user podman rm -af >/dev/null 2>&1 || true
    # podman rootless keeps a pause process holding its user namespace; it and anything
    # else of the user's is stopped by pid. A zombie (conmon, reparented to this machine's
    # pid 1) is dead already and waits for that pid 1 to reap it.
    for p in $(ps -o pid=,stat= -u "$RL_UID" 2>/dev/null | awk '$2 !~ /^Z/ {print $1}'); do
        [ "$(cat "/proc/$p/comm" 2>/dev/null)" = "podman pause" ] || left+=" process $p ($(cat "/proc/$p/comm" 2>/dev/null))"
        kill -KILL "$p" 2>/dev/null || true
    done
    local state
    state="$(ls -A "$XDG/caprun" 2>/dev/null | grep -v '^seccomp-cache$' || true)"
    [ -z "$state" ] || left+=" state: $state"
    local mounts
    mounts="$(awk '{print $5}' /proc/self/mountinfo | sort)"
    [ "$mounts" = "$MOUNTS_BEFORE" ] || left+=" mounts: $(comm -13 <(echo "$MOUNTS_BEFORE") <(echo "$mounts") | tr '\n' ' ')"
    userdel "$RL_USER" 2>/dev/null || true
    rm -rf "$T"
    ! id "$RL_USER" >/dev/null 2>&1 || left+=" the user $RL_USER"
    [ "$(snapshot_accounts)" = "$ACCOUNTS_BEFORE" ] || left+=" changes to /etc/passwd, group, shadow, subuid or subgid"
    [ -z "$left" ] || { echo "left behind:$left" >&2; return 1; }
}

# Each test: a bundle of the user's made by `caprun spec --rootless`, running the probe.
setup() {
    BUNDLE="$(mktemp -d "$T/bundle.XXXXXX")"
    chmod 755 "$BUNDLE"
    chown "$RL_USER:" "$BUNDLE"
    ID="rl-$$-$BATS_TEST_NUMBER"
    (cd "$BUNDLE" && as_user "$RL_CAPRUN" spec --rootless)
    cfg ".root.path = \"$T/rootfs\" | .process.terminal = false | .process.args = [\"/bin/probe\"]"
}

# After each test: no container of it left in the state root.
teardown() {
    local left
    left="$(ls -A "$XDG/caprun" 2>/dev/null | grep -v '^seccomp-cache$' || true)"
    [ -z "$left" ] && return 0
    for id in $left; do as_user "$RL_CAPRUN" delete --force "$id" >/dev/null 2>&1 || true; done
    echo "state left under \$XDG_RUNTIME_DIR/caprun: $left" >&2
    return 1
}

# A command as the test user, in its session environment.
as_user() {
    runuser -u "$RL_USER" -- env HOME="$T/home" XDG_RUNTIME_DIR="$XDG" PATH="$PATH" "$@"
}

# caprun as the user, from the bundle (the default bundle), with the default state root.
rl_caprun() {
    (cd "$BUNDLE" && as_user "$RL_CAPRUN" "$@")
}

cfg() {
    local f="$BUNDLE/config.json"
    jq "$@" "$f" >"$f.new" && cat "$f.new" >"$f" && rm -f "$f.new"
}

has_cap_bit() {
    (( (16#$1 >> $2) & 1 ))
}

@test "rootless: spec --rootless and run as the user: the probe holds exactly check's prediction" {
    run rl_caprun check --format json
    [ "$status" -eq 0 ]
    local predicted="$output"
    [ "$(jq -r .cgroups.manager <<<"$predicted")" = none ]
    run rl_caprun run "$ID"
    [ "$status" -eq 0 ]
    local probe
    probe="$(grep '^{' <<<"$output")"
    local set key
    for set in bounding effective permitted inheritable ambient; do
        case $set in
            bounding) key=CapBnd ;; effective) key=CapEff ;; permitted) key=CapPrm ;;
            inheritable) key=CapInh ;; ambient) key=CapAmb ;;
        esac
        [ "$(jq -r ".caps.$key" <<<"$probe")" = "$(jq -r ".capabilities.predicted.masks.$set" <<<"$predicted")" ] ||
            { echo "$set: probe $(jq -r ".caps.$key" <<<"$probe"), check predicted $(jq -r ".capabilities.predicted.masks.$set" <<<"$predicted")" >&2; return 1; }
    done
    # Root of its user namespace, the user outside.
    [ "$(jq -r .caps.uid <<<"$probe")" = 0 ]
    [ -z "$(ls -A "$XDG/caprun" | grep -v '^seccomp-cache$' || true)" ]
    # The text says why there is no cgroup.
    run -0 rl_caprun check --verbose
    [[ "$output" == *"Cgroups:     none: rootless, and this user has no writable (delegated) cgroup"* ]]
}

@test "rootless: create, start, state, exec, ps, list, kill and delete as the user" {
    cfg '.process.args = ["/bin/sh", "-c", "trap \"exit 0\" TERM; echo $$ > /dev/shm/init; sleep 1000 & wait"]'
    rl_caprun create "$ID"
    [ -d "$XDG/caprun/$ID" ]
    [ "$(stat -c %U "$XDG/caprun/$ID")" = "$RL_USER" ]
    [ "$(rl_caprun state "$ID" | jq -r .status)" = created ]
    rl_caprun start "$ID"
    local pid
    pid="$(rl_caprun state "$ID" | jq -r .pid)"
    [ "$(stat -c %u "/proc/$pid")" = "$RL_UID" ]
    # exec enters the container's user namespace first, then the others: it is in the
    # container's pid namespace, where the init is 1.
    run rl_caprun exec "$ID" /bin/sh -c 'echo "pid $$"; cat /dev/shm/init; readlink /proc/1/exe'
    [ "$status" -eq 0 ]
    [[ "$output" == *"/bin/busybox"* ]]
    [ "$(sed -n 2p <<<"$output")" = 1 ]
    [ "$(readlink "/proc/$pid/ns/pid")" != "$(readlink /proc/self/ns/pid)" ]
    run rl_caprun exec "$ID" /bin/sh -c 'exit 5'
    [ "$status" -eq 5 ]
    run -0 rl_caprun exec "$ID" /bin/probe fds
    [ "$(jq -r 'keys | join(",")' <<<"$output")" = "0,1,2" ]
    run rl_caprun ps "$ID"
    [ "$status" -eq 0 ]
    [[ "$output" == *"$pid"* ]]
    run -0 rl_caprun list
    [[ "$output" == *"$ID"*running* ]]
    local i
    for i in $(seq 1 100); do
        (( 0x$(awk '/^SigCgt:/ {print $2}' "/proc/$pid/status") & 0x4000 )) && break
        sleep 0.05
    done
    rl_caprun kill "$ID" TERM
    for i in $(seq 1 100); do
        [ "$(rl_caprun state "$ID" | jq -r .status)" = stopped ] && break
        sleep 0.05
    done
    [ "$(rl_caprun state "$ID" | jq -r .status)" = stopped ]
    rl_caprun delete "$ID"
    [ -z "$(ls -A "$XDG/caprun" | grep -v '^seccomp-cache$' || true)" ]
}

@test "rootless: a container joins another's user, network and ipc namespaces by path, through a joiner" {
    cfg '.process.args = ["/bin/sleep", "1000"] | .linux.namespaces += [{"type": "network"}]'
    # Started: until execve the init is not dumpable, and its /proc/<pid>/ns is root's.
    rl_caprun create "$ID"
    rl_caprun start "$ID"
    local pid
    pid="$(rl_caprun state "$ID" | jq -r .pid)"
    # An ordinary user cannot setns at all; the joiner enters the user namespace first, whose
    # capabilities allow the rest, as runc's nsexec does.
    cfg --arg p "/proc/$pid/ns" '.process.args = ["/bin/sh", "-c", "for n in user net ipc uts; do readlink /proc/self/ns/$n; done; id -u"]
        | .linux.namespaces = [{"type": "pid"}, {"type": "uts"}, {"type": "mount"},
            {"type": "user", "path": ($p + "/user")}, {"type": "network", "path": ($p + "/net")},
            {"type": "ipc", "path": ($p + "/ipc")}]
        | del(.linux.uidMappings, .linux.gidMappings)'
    run rl_caprun run "$ID-2"
    echo "$output"
    [ "$status" -eq 0 ]
    [ "${lines[0]}" = "$(readlink "/proc/$pid/ns/user")" ]
    [ "${lines[1]}" = "$(readlink "/proc/$pid/ns/net")" ]
    [ "${lines[2]}" = "$(readlink "/proc/$pid/ns/ipc")" ]
    [ "${lines[3]}" != "$(readlink "/proc/$pid/ns/uts")" ]
    [ "${lines[4]}" = 0 ]
    rl_caprun delete --force "$ID"
}

@test "rootless: CVE-2025-52881: a joined mount namespace whose /proc is not procfs gets no timens_offsets write" {
    # The first container is the hostile one: its /proc is a tmpfs with a plain file where
    # timens_offsets would be. The joiner enters its user and mount namespaces and then
    # makes the second container's time namespace: a write there would succeed and the
    # container would run without its offsets. caprun writes only to a verified procfs.
    # (Masked and read-only paths are bound through procfs's fd links, so it has none.)
    cfg '.mounts[0] = {"destination": "/proc", "type": "tmpfs", "source": "fake"}
        | del(.linux.maskedPaths, .linux.readonlyPaths)
        | .process.args = ["/bin/sh", "-c", "mkdir /proc/self && : >/proc/self/timens_offsets && exec sleep 1000"]'
    rl_caprun create "$ID"
    rl_caprun start "$ID"
    local pid i
    pid="$(rl_caprun state "$ID" | jq -r .pid)"
    for i in $(seq 1 100); do
        [ -f "/proc/$pid/root/proc/self/timens_offsets" ] && break
        sleep 0.05
    done
    [ -f "/proc/$pid/root/proc/self/timens_offsets" ]
    cfg --arg p "/proc/$pid/ns" '.mounts[0] = {"destination": "/proc", "type": "proc", "source": "proc"}
        | .process.args = ["/bin/true"]
        | .linux.namespaces = [{"type": "pid"}, {"type": "uts"}, {"type": "time"},
            {"type": "user", "path": ($p + "/user")}, {"type": "mount", "path": ($p + "/mnt")}]
        | .linux.timeOffsets = {"boottime": {"secs": 864000, "nanosecs": 0}}
        | del(.linux.uidMappings, .linux.gidMappings)'
    run rl_caprun run "$ID-2"
    echo "# status $status: $output" >&3
    [ "$status" -ne 0 ]
    [[ "$output" == *"setting the time namespace offsets: the /proc of the current root is not procfs"* ]]
    # Nothing was written to the file planted in the fake /proc.
    [ ! -s "/proc/$pid/root/proc/self/timens_offsets" ]
    rl_caprun delete --force "$ID"
}

@test "rootless: a config mapping the subordinate ranges runs through newuidmap; files have the mapped owners" {
    mkdir "$T/out-$BATS_TEST_NUMBER"
    chown "$RL_USER:" "$T/out-$BATS_TEST_NUMBER"
    cfg --argjson u "$RL_UID" --argjson g "$RL_GID" --argjson su "$SUBUID_START" --argjson sg "$SUBGID_START" \
        --arg out "$T/out-$BATS_TEST_NUMBER" '
        .linux.uidMappings = [{containerID: 0, hostID: $u, size: 1}, {containerID: 1, hostID: $su, size: 65536}] |
        .linux.gidMappings = [{containerID: 0, hostID: $g, size: 1}, {containerID: 1, hostID: $sg, size: 65536}] |
        .process.capabilities.bounding += ["CAP_CHOWN"] | .process.capabilities.effective += ["CAP_CHOWN"] |
        .process.capabilities.permitted += ["CAP_CHOWN"] |
        .mounts += [{destination: "/out", type: "bind", source: $out, options: ["rbind", "rw"]}] |
        .process.args = ["/bin/sh", "-c", "touch /out/by-root && touch /out/by-1000 && chown 1000:2000 /out/by-1000 && cat /proc/self/uid_map"]'
    run rl_caprun run "$ID"
    [ "$status" -eq 0 ]
    # Both ranges are in the map: only newuidmap can write that for an ordinary user.
    [ "$(awk '{print $1, $2, $3}' <<<"$output" | sort)" = "$(printf '0 %s 1\n1 %s 65536' "$RL_UID" "$SUBUID_START" | sort)" ]
    [ "$(stat -c '%u:%g' "$T/out-$BATS_TEST_NUMBER/by-root")" = "$RL_UID:$RL_GID" ]
    [ "$(stat -c '%u:%g' "$T/out-$BATS_TEST_NUMBER/by-1000")" = "$((SUBUID_START + 999)):$((SUBGID_START + 1999))" ]
}

@test "rootless: resource limits without a delegated cgroup: strict refuses before anything exists, lenient warns" {
    cfg '.linux.resources = {memory: {limit: 67108864}}'
    run rl_caprun --cap-policy strict check --verbose
    [ "$status" -ne 0 ]
    [[ "$output" == *"rootless: this user has no writable (delegated) cgroup, so linux.resources cannot be applied"* ]]
    run rl_caprun --cap-policy strict run "$ID"
    [ "$status" -ne 0 ]
    [[ "$output" == *"no writable (delegated) cgroup"*"cap policy strict"* ]]
    [ ! -e "$XDG/caprun/$ID" ]
    run rl_caprun --cap-policy lenient run "$ID"
    [ "$status" -eq 0 ]
    [[ "$output" == *"running without them (cap policy lenient)"* ]]
}

@test "rootless: a plain spec in a new user namespace: devpts without gid=5 and /sys bound, as check says" {
    # The root spec's devpts (gid=5) and sysfs, in a user namespace mapping one id, without a
    # network namespace of its own.
    local plain="$T/plain-$BATS_TEST_NUMBER"
    mkdir "$plain"
    "$RL_CAPRUN" spec --bundle "$plain"
    plain="$(cat "$plain/config.json")"
    cfg --argjson plain "$plain" '.mounts = $plain.mounts | .linux.namespaces |= map(select(.type != "network"))'
    run rl_caprun check --format json
    [ "$status" -eq 0 ]
    [ "$(jq -r '.mountNotes | length' <<<"$output")" = 2 ]
    [[ "$(jq -r '.mountNotes[0]' <<<"$output")" == *"gid=5 left out"* ]]
    [[ "$(jq -r '.mountNotes[1]' <<<"$output")" == *"the host's /sys is bound read-only instead"* ]]
    cfg '.process.args = ["/bin/sh", "-c", "grep -E \" /(dev/pts|sys) \" /proc/self/mounts; touch /sys/x 2>&1; true"]'
    run rl_caprun run "$ID"
    [ "$status" -eq 0 ]
    [[ "$output" == *"devpts /dev/pts devpts"* ]]
    [[ "$output" != *"gid=5"* ]]
    [[ "$output" == *" /sys sysfs ro,"* ]]
    [[ "$output" == *"Read-only file system"* ]]
}

@test "rootless: CAP_SYS_TIME granted in the user namespace changes nothing outside, and check and explain say so" {
    cfg '.process.capabilities.bounding += ["CAP_SYS_TIME"] | .process.capabilities.effective += ["CAP_SYS_TIME"] |
         .process.capabilities.permitted += ["CAP_SYS_TIME"]'
    run rl_caprun check --verbose
    [ "$status" -eq 0 ]
    [[ "$output" == *"CAP_SYS_TIME is granted but has no effect outside the user namespace"* ]]
    run rl_caprun explain --bundle "$BUNDLE" settimeofday
    [ "$status" -eq 0 ]
    [[ "$output" == *"CAP_SYS_TIME is granted but has no effect outside the user namespace"* ]]
    run rl_caprun run "$ID"
    [ "$status" -eq 0 ]
    local probe
    probe="$(grep '^{' <<<"$output")"
    has_cap_bit "$(jq -r .caps.CapEff <<<"$probe")" 25
    # settimeofday(NULL, NULL) changes nothing; the kernel still refuses it.
    [ "$(jq -r .syscalls.settimeofday <<<"$probe")" = EPERM ]
}

# podman rootless as the user, with caprun as its runtime.
pmu() {
    as_user timeout 120 podman --runtime "${RUNTIME:-$RL_CAPRUN}" "$@"
}

@test "podman rootless: run prints and returns the exit code; caprun runs in podman's user namespace" {
    run pmu run --rm --network none --rootfs "$T/prootfs" /bin/sh -c 'echo hello rootless; exit 3'
    [ "$status" -eq 3 ]
    [[ "$output" == *"hello rootless"* ]]
    [ -z "$(ls -A "$XDG/caprun" 2>/dev/null | grep -v '^seccomp-cache$' || true)" ]
}

@test "podman rootless: exec and stop" {
    pmu run -d --name rl-exec --network none --rootfs "$T/prootfs" /bin/sh -c 'trap "exit 0" TERM; sleep 1000 & wait'
    run pmu exec rl-exec /bin/echo hi from exec
    [ "$status" -eq 0 ]
    [[ "$output" == *"hi from exec"* ]]
    pmu stop rl-exec
    [ "$(pmu inspect -f '{{.State.Status}} {{.State.ExitCode}}' rl-exec)" = "exited 0" ]
    pmu rm rl-exec
    [ -z "$(ls -A "$XDG/caprun" 2>/dev/null | grep -v '^seccomp-cache$' || true)" ]
}

@test "podman rootless: --cap-add SYS_NICE reaches the container" {
    run pmu run --rm --network none --cap-add SYS_NICE --rootfs "$T/prootfs" /bin/probe
    [ "$status" -eq 0 ]
    has_cap_bit "$(grep '^{' <<<"$output" | jq -r .caps.CapEff)" 23
}

@test "podman rootless: strict policy names a capability the runtime's bounding set lacks; lenient runs" {
    # caprun inside podman's user namespace with CAP_SYS_NICE dropped from its bounding set.
    cat >"$T/bin/caprun-no-sys-nice" <<EOT
#!/bin/sh
exec capsh --drop=cap_sys_nice -- -c 'exec "\$0" "\$@"' "$RL_CAPRUN" "\$@"
EOT
    chmod 755 "$T/bin/caprun-no-sys-nice"
    RUNTIME="$T/bin/caprun-no-sys-nice" run pmu --runtime-flag cap-policy=strict run --rm \
        --network none --cap-add SYS_NICE --rootfs "$T/prootfs" /bin/true
    [ "$status" -ne 0 ]
    [[ "$output" == *"cap policy strict"*CAP_SYS_NICE* ]]
    RUNTIME="$T/bin/caprun-no-sys-nice" run pmu --runtime-flag cap-policy=lenient run --rm \
        --network none --cap-add SYS_NICE --rootfs "$T/prootfs" /bin/probe
    [ "$status" -eq 0 ]
    local caps
    caps="$(grep '^{' <<<"$output" | jq -r .caps.CapEff)"
    ! has_cap_bit "$caps" 23 || false
    has_cap_bit "$caps" 18  # CAP_SYS_CHROOT: the rest holds
}
