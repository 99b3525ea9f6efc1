#!/usr/bin/env bats
# Every runtime-spec 1.3 field applied or refused, none silently ignored: check's line per
# field, refusals before anything is created, and the process fields' effect read back
# inside a container.

load helpers

no_apparmor() {
    [ ! -e /sys/module/apparmor/parameters/enabled ] || skip "this host runs AppArmor"
}

no_selinux() {
    [ ! -d /sys/fs/selinux ] || skip "this host runs SELinux"
}

# Runs $BUNDLE's process with `caprun run` and keeps its output.
run_container() {
    run caprun run "$ID"
}

@test "check prints one line per field set, applied or ignored, text and json" {
    cfg '.linux.personality = {"domain": "LINUX"} | .["x-vendor"] = {"a": 1} | .windows = {}'
    run caprun check --verbose
    [ "$status" -eq 0 ]
    grep -q '^Fields ([0-9]* set):$' <<<"$output"
    grep -q '^  applied  process.args: ' <<<"$output"
    grep -q '^  applied  mounts\[\*\].destination (7): ' <<<"$output"
    grep -q '^  applied  linux.personality: personality() right before execve$' <<<"$output"
    grep -q '^  ignored  x-vendor: not a runtime-spec 1.3 field' <<<"$output"
    grep -q '^  ignored  windows: for another platform' <<<"$output"
    run caprun check --format json
    [ "$status" -eq 0 ]
    [ "$(jq -r '.fields[] | select(.path == "mounts[3].type") | .decision' <<<"$output")" = applied ]
    [ "$(jq -r '.fields[] | select(.path == "x-vendor") | .decision' <<<"$output")" = ignored ]
    # Every top-level key of config.json has at least one line.
    local key
    for key in $(jq -r 'keys[]' "$BUNDLE/config.json"); do
        jq -e --arg k "$key" '[.fields[] | select(.path | startswith($k))] | length > 0' <<<"$output" >/dev/null
    done
}

@test "a bundle setting every issue-12 field: check says applied or refused for each, and fails" {
    no_apparmor
    no_selinux
    [ ! -d /sys/fs/resctrl/info ] || skip "this host has resctrl"
    cfg '.process.apparmorProfile = "docker-default"
       | .process.selinuxLabel = "system_u:system_r:container_t:s0"
       | .process.ioPriority = {"class": "IOPRIO_CLASS_BE", "priority": 4}
       | .process.scheduler = {"policy": "SCHED_BATCH", "nice": 3}
       | .process.execCPUAffinity = {"initial": "0", "final": "0"}
       | .linux.mountLabel = "system_u:object_r:container_file_t:s0"
       | .linux.personality = {"domain": "LINUX32"}
       | .linux.memoryPolicy = {"mode": "MPOL_BIND", "nodes": "0"}
       | .linux.netDevices = {"dummy0": {"name": "eth1"}}
       | .linux.intelRdt = {"closID": "g1"}
       | .linux.resources.rdma = {"mlx5_1": {"hcaHandles": 3}}
       | .mounts += [{"destination": "/m", "source": "/tmp", "options": ["bind", "idmap"],
                      "uidMappings": [{"containerID": 0, "hostID": 1000, "size": 1}],
                      "gidMappings": [{"containerID": 0, "hostID": 1000, "size": 1}]}]'
    run caprun check --verbose
    [ "$status" -ne 0 ]
    grep -q '^  refused  process.apparmorProfile: AppArmor is not enabled on this host (no /sys/module/apparmor/parameters/enabled)$' <<<"$output"
    grep -q '^  refused  process.selinuxLabel: SELinux is not enabled on this host' <<<"$output"
    grep -q '^  refused  linux.mountLabel: SELinux is not enabled on this host' <<<"$output"
    grep -q '^  applied  process.ioPriority: ioprio_set' <<<"$output"
    grep -q '^  applied  process.scheduler: sched_setattr' <<<"$output"
    grep -q '^  applied  process.execCPUAffinity: for processes started by `caprun exec`' <<<"$output"
    grep -q '^  applied  linux.personality: ' <<<"$output"
    grep -q '^  applied  linux.memoryPolicy: set_mempolicy' <<<"$output"
    grep -q "^  applied  linux.netDevices: dummy0 as eth1 moved into the container's network namespace" <<<"$output"
    grep -q '^  refused  linux.intelRdt: Intel RDT is not available on this host (no resctrl at /sys/fs/resctrl)$' <<<"$output"
    grep -q '^  applied  mounts\[7\].options: .*idmapped (open_tree + mount_setattr MOUNT_ATTR_IDMAP)' <<<"$output"
    grep -q '^  applied  mounts\[7\].uidMappings: the mapping of the idmapped mount' <<<"$output"
    if ! grep -qw rdma /proc/cgroups; then
        grep -q '^  refused  linux.resources.rdma: this host has no rdma cgroup controller' <<<"$output"
        [ "$(caprun features | jq -r .linux.cgroup.rdma)" = false ]
    else
        grep -q "^  applied  linux.resources.rdma: written to the rdma controller's rdma.max" <<<"$output"
    fi
    # The error names every refused field with its JSON path.
    grep -q '^caprun: config.json: process.apparmorProfile: AppArmor is not enabled' <<<"$output" ||
        grep -q 'config.json: process.apparmorProfile: AppArmor is not enabled' <<<"$output"
}

@test "run refuses process.apparmorProfile on a host without AppArmor, before creating anything" {
    no_apparmor
    cfg '.process.apparmorProfile = "docker-default"'
    run_container
    [ "$status" -ne 0 ]
    [[ "$output" == *"config.json: process.apparmorProfile: AppArmor is not enabled on this host (no /sys/module/apparmor/parameters/enabled)"* ]]
    [ ! -e "$ROOT/$ID" ]
    # Unset, the same bundle runs.
    cfg 'del(.process.apparmorProfile) | .process.args = ["/bin/true"]'
    run_container
    [ "$status" -eq 0 ]
}

@test "exec --apparmor and --process-label are refused where the LSM is not enabled" {
    no_apparmor
    no_selinux
    cfg '.process.args = ["/bin/sleep", "1000"]'
    caprun run -d "$ID"
    run caprun exec --apparmor docker-default "$ID" /bin/true
    [ "$status" -ne 0 ]
    [[ "$output" == *"exec: process.apparmorProfile: AppArmor is not enabled on this host"* ]]
    run caprun exec --process-label system_u:system_r:container_t:s0 "$ID" /bin/true
    [ "$status" -ne 0 ]
    [[ "$output" == *"exec: process.selinuxLabel: SELinux is not enabled on this host"* ]]
    caprun delete --force "$ID"
}

@test "exec --cap: bounding, effective and permitted get it; inheritable and ambient do not" {
    cfg '.process.args = ["/bin/sleep", "1000"]'
    caprun run -d "$ID"
    run caprun exec --cap CAP_SYS_CHROOT "$ID" /bin/cat /proc/self/status
    [ "$status" -eq 0 ]
    local want eff inh amb
    want=$(cap_mask CAP_SYS_CHROOT)
    eff=$(awk '/^CapEff:/ {print $2}' <<<"$output")
    inh=$(awk '/^CapInh:/ {print $2}' <<<"$output")
    amb=$(awk '/^CapAmb:/ {print $2}' <<<"$output")
    [ $((0x$eff & 0x$want)) -ne 0 ]
    [ "$inh" = 0000000000000000 ]
    [ "$amb" = 0000000000000000 ]
    caprun delete --force "$ID"
}

@test "ociVersion: 1.4.0 is refused naming both versions; 1.0.0 runs" {
    cfg '.ociVersion = "1.4.0" | .process.args = ["/bin/true"]'
    run_container
    [ "$status" -ne 0 ]
    [[ "$output" == *"config.json: ociVersion: the config is for runtime-spec 1.4.0, newer than 1.3.0, the highest version caprun implements"* ]]
    cfg '.ociVersion = "1.0.0"'
    run_container
    [ "$status" -eq 0 ]
    run -0 "$CAPRUN" features
    [ "$(jq -r .ociVersionMax <<<"$output")" = 1.3.0 ]
}

@test "process.ioPriority and process.scheduler are in effect inside the container" {
    cfg '.process.ioPriority = {"class": "IOPRIO_CLASS_BE", "priority": 6}
       | .process.scheduler = {"policy": "SCHED_BATCH", "nice": 7}
       | .process.args = ["/bin/sh", "-c", "ionice; cut -d\" \" -f19,41 /proc/self/stat"]'
    run_container
    [ "$status" -eq 0 ]
    [ "${lines[0]}" = "best-effort: prio 6" ]
    # nice 7, policy 3 (SCHED_BATCH)
    [ "${lines[1]}" = "7 3" ]
}

@test "process.scheduler values the kernel cannot take are refused with the JSON path" {
    cfg '.process.scheduler = {"policy": "SCHED_FIFO"}'
    run_container
    [ "$status" -ne 0 ]
    [[ "$output" == *"config.json: process.scheduler: SCHED_FIFO needs a priority from 1 to 99"* ]]
    cfg '.process.scheduler = {"policy": "SCHED_ISO"}'
    run_container
    [ "$status" -ne 0 ]
    [[ "$output" == *"config.json: process.scheduler: SCHED_ISO is not implemented by the Linux kernel"* ]]
}

@test "linux.personality LINUX32 shows in uname and /proc/self/personality; flags are refused" {
    [ "$(uname -m)" = x86_64 ] || skip "LINUX32 is checked on x86_64 (uname becomes i686)"
    cfg '.linux.personality = {"domain": "LINUX32"}
       | .process.args = ["/bin/sh", "-c", "uname -m; cat /proc/self/personality"]'
    run_container
    [ "$status" -eq 0 ]
    [ "${lines[0]}" = i686 ]
    [ "${lines[1]}" = 00000008 ]
    cfg '.linux.personality = {"domain": "LINUX", "flags": ["ADDR_NO_RANDOMIZE"]}'
    run_container
    [ "$status" -ne 0 ]
    [[ "$output" == *'config.json: linux.personality: flag "ADDR_NO_RANDOMIZE" is not supported (runtime-spec 1.3 defines no personality flags)'* ]]
}

@test "linux.memoryPolicy is the process's NUMA policy inside the container" {
    [ -e /proc/self/numa_maps ] || skip "kernel without NUMA"
    cfg '.linux.memoryPolicy = {"mode": "MPOL_INTERLEAVE", "nodes": "0"}
       | .process.args = ["/bin/sh", "-c", "head -1 /proc/self/numa_maps"]'
    run_container
    [ "$status" -eq 0 ]
    [[ "${lines[0]}" == *" interleave:0"* ]]
    cfg '.linux.memoryPolicy = {"mode": "MPOL_LOCAL", "nodes": "0"}'
    run_container
    [ "$status" -ne 0 ]
    [[ "$output" == *'config.json: linux.memoryPolicy: MPOL_LOCAL takes no nodes, got "0"'* ]]
}

@test "process.execCPUAffinity.final applies to exec'd processes" {
    [ "$(nproc)" -ge 2 ] || skip "needs two CPUs"
    cfg '.process.args = ["/bin/sleep", "1000"]'
    caprun run -d "$ID"
    cat >"$TMP/p.json" <<'P'
{"args": ["/bin/sh", "-c", "grep Cpus_allowed_list /proc/self/status"], "cwd": "/",
 "user": {"uid": 0, "gid": 0}, "execCPUAffinity": {"initial": "0", "final": "1"}}
P
    run caprun exec --process "$TMP/p.json" "$ID"
    [ "$status" -eq 0 ]
    [[ "$output" == *"Cpus_allowed_list:"*"1" ]]
    [[ "$output" != *"0-1"* ]]
    caprun delete --force "$ID"
}

# A directory on the host with a tmpfs mounted below its first level, visible only in a
# private mount namespace of this test (the host's mount table is not touched): runs
# "$@" there.
with_nested_mount() {
    mkdir -p "$TMP/src/sub"
    echo top >"$TMP/src/top.txt"
    unshare --mount --propagation private sh -c '
        mount -t tmpfs nested "$0/src/sub" && echo below >"$0/src/sub/below.txt" &&
        exec "$@"' "$TMP" "$@"
}

@test "rro makes a bind read-only below its first level too; ro does not" {
    cfg --arg src "$TMP/src" '.mounts += [{"destination": "/data", "source": $src, "options": ["rbind", "rro"]}]
       | .process.args = ["/bin/sh", "-c", "echo x >/data/sub/below.txt && echo writable || echo readonly"]'
    run with_nested_mount "$CAPRUN" --root "$ROOT" run --bundle "$BUNDLE" "$ID"
    [ "$status" -eq 0 ]
    [[ "$output" == *readonly* ]]
    # Plain ro only covers the first level (what the bind used to get for rro).
    cfg '.mounts[-1].options = ["rbind", "ro"]'
    run with_nested_mount "$CAPRUN" --root "$ROOT" run --bundle "$BUNDLE" "$ID"
    [ "$status" -eq 0 ]
    [[ "$output" == *writable* ]]
}

@test "rnoexec and rnosuid reach the submounts of a bind" {
    cfg --arg src "$TMP/src" '.mounts += [{"destination": "/data", "source": $src, "options": ["rbind", "rnoexec", "rnosuid", "rnodev"]}]
       | .process.args = ["/bin/sh", "-c", "grep \" /data/sub \" /proc/self/mountinfo"]'
    run with_nested_mount "$CAPRUN" --root "$ROOT" run --bundle "$BUNDLE" "$ID"
    [ "$status" -eq 0 ]
    local opts
    opts=$(awk '{print $6}' <<<"$output")
    [[ ",$opts," == *,noexec,* ]]
    [[ ",$opts," == *,nosuid,* ]]
    [[ ",$opts," == *,nodev,* ]]
}

@test "a bind mount with filesystem data runs, with a warning and a mount note (as runc and crun run it)" {
    cfg '.mounts += [{"destination": "/data", "source": "/etc", "options": ["rbind", "ro", "mode=755", "size=1k"]}]
       | .process.args = ["/bin/sh", "-c", "grep \" /data \" /proc/self/mountinfo"]'
    run caprun run "$ID"
    [ "$status" -eq 0 ]
    [[ "$output" == *'mounts[7].options: "mode=755,size=1k" has no effect: the kernel ignores filesystem data for a bind mount'* ]]
    local line opts
    line=$(grep ' /data ' <<<"$output")
    opts=$(awk '{print $6}' <<<"$line")
    [[ ",$opts," == *,ro,* ]]
    run -0 caprun check --verbose
    grep -q '^Mount note:  mounts\[7\].options: "mode=755,size=1k" has no effect: the kernel ignores filesystem data for a bind mount' <<<"$output"
    grep -q '^  applied  mounts\[7\].options: mount(2) flags; "mode=755,size=1k" has no effect' <<<"$output"
}

@test "tmpcopyup: a tmpfs over a directory starts with its files (podman --tmpfs)" {
    mkdir -p "$BUNDLE/rootfs/seeded/deeper"
    echo one >"$BUNDLE/rootfs/seeded/a.txt"
    echo two >"$BUNDLE/rootfs/seeded/deeper/b.txt"
    ln -s a.txt "$BUNDLE/rootfs/seeded/link"
    chmod 0640 "$BUNDLE/rootfs/seeded/a.txt"
    cfg '.mounts += [{"destination": "/seeded", "type": "tmpfs", "source": "tmpfs", "options": ["tmpcopyup", "nosuid", "nodev"]}]
       | .process.args = ["/bin/sh", "-c", "cat /seeded/a.txt /seeded/deeper/b.txt /seeded/link; stat -c %a /seeded/a.txt; echo new >/seeded/c.txt; grep \" /seeded \" /proc/self/mountinfo"]'
    run_container
    [ "$status" -eq 0 ]
    [ "${lines[0]}" = one ]
    [ "${lines[1]}" = two ]
    [ "${lines[2]}" = one ]
    [ "${lines[3]}" = 640 ]
    [ "$(awk '{ for (i = 7; $i != "-"; i++); print $(i + 1) }' <<<"${lines[4]}")" = tmpfs ]
    # Written to the tmpfs, not to the directory below.
    [ ! -e "$BUNDLE/rootfs/seeded/c.txt" ]
}

@test "features advertises only what works: every mount option is exercised" {
    run "$CAPRUN" features
    [ "$status" -eq 0 ]
    local features="$output" opt bind_opts="" tmpfs_opts=""
    mkdir -p "$TMP/src"
    for opt in $(jq -r '.mountOptions[]' <<<"$features"); do
        case "$opt" in
            idmap | ridmap) ;;  # exercised below, with a mapping
            bind | rbind | r* | private | shared | slave | unbindable | remount)
                bind_opts+="$opt " ;;
            *) tmpfs_opts+="$opt " ;;
        esac
    done
    # One mount per option: a failure names mounts[i] and so the option.
    local i=0
    for opt in $bind_opts; do
        cfg --arg src "$TMP/src" --arg o "$opt" --arg d "/b$i" \
            '.mounts += [{"destination": $d, "source": $src, "options": (if $o == "bind" or $o == "rbind" then [$o] else ["rbind", $o] end)}]'
        i=$((i + 1))
    done
    for opt in $tmpfs_opts; do
        cfg --arg o "$opt" --arg d "/t$i" '.mounts += [{"destination": $d, "type": "tmpfs", "source": "tmpfs", "options": [$o]}]'
        i=$((i + 1))
    done
    for opt in idmap ridmap; do
        cfg --arg src "$TMP/src" --arg o "$opt" --arg d "/i$i" \
            '.mounts += [{"destination": $d, "source": $src, "options": ["rbind", $o],
                          "uidMappings": [{"containerID": 0, "hostID": 1000, "size": 1}],
                          "gidMappings": [{"containerID": 0, "hostID": 1000, "size": 1}]}]'
        i=$((i + 1))
    done
    cfg '.process.args = ["/bin/true"]'
    run caprun run "$ID"
    echo "$output"
    [ "$status" -eq 0 ]
    # What features says is off is refused, and what it says is on is not.
    [ "$(jq -r .linux.mountExtensions.idmap.enabled <<<"$features")" = true ]
    [ "$(jq -r .linux.intelRdt.enabled <<<"$features")" = false ]
    # netDevices: exercised by netdevices.bats (it needs a private network namespace).
    [ "$(jq -r .linux.netDevices.enabled <<<"$features")" = true ]
    [ "$(jq -r .ociVersionMax <<<"$features")" = 1.3.0 ]
    cfg '.mounts = .mounts[0:7]'
    if [ "$(jq -r .linux.apparmor.enabled <<<"$features")" = false ]; then
        cfg '.process.apparmorProfile = "p"'
        run caprun check --verbose
        [ "$status" -ne 0 ]
        grep -q '^  refused  process.apparmorProfile: ' <<<"$output"
        cfg 'del(.process.apparmorProfile)'
    fi
    if [ "$(jq -r .linux.selinux.enabled <<<"$features")" = false ]; then
        cfg '.process.selinuxLabel = "l"'
        run caprun check --verbose
        [ "$status" -ne 0 ]
        grep -q '^  refused  process.selinuxLabel: ' <<<"$output"
    fi
}

@test "idmap: a bind with the mount's own mapping (0 -> 1000) shows root's file as 1000's" {
    mkdir -p "$TMP/src"
    echo x >"$TMP/src/f"
    cfg --arg src "$TMP/src" '.mounts += [{"destination": "/data", "source": $src, "options": ["rbind", "idmap"],
            "uidMappings": [{"containerID": 0, "hostID": 1000, "size": 1}],
            "gidMappings": [{"containerID": 0, "hostID": 1000, "size": 1}]}]
       | .process.args = ["/bin/sh", "-c", "stat -c \"%u %g\" /data/f; grep \" /data \" /proc/self/mountinfo"]'
    run_container
    [ "$status" -eq 0 ]
    [ "${lines[0]}" = "1000 1000" ]
    [[ "${lines[1]}" == *idmapped* ]]
    # On the host the file is still root's.
    [ "$(stat -c %u "$TMP/src/f")" = 0 ]
}

@test "idmap: in a user namespace the container's mapping is used (host root becomes its root)" {
    chmod 755 "$TMP"
    mkdir -p "$TMP/src" "$BUNDLE/rootfs/data"  # the mapped root cannot create it
    echo x >"$TMP/src/f"
    cfg --arg src "$TMP/src" '.linux.namespaces += [{"type":"user"}]
       | .linux.uidMappings = [{"containerID":0,"hostID":100000,"size":65536}]
       | .linux.gidMappings = [{"containerID":0,"hostID":100000,"size":65536}]
       | .mounts += [{"destination": "/data", "source": $src, "options": ["rbind", "idmap"]}]
       | .process.args = ["/bin/sh", "-c", "stat -c %u /data/f; stat -c %u /bin/busybox"]'
    run_container
    [ "$status" -eq 0 ]
    [ "${lines[0]}" = 0 ]
    [ "${lines[1]}" = 65534 ]  # not idmapped: host root is unmapped inside
}

@test "idmap without a mapping and without a user namespace is refused" {
    mkdir -p "$TMP/src"
    cfg --arg src "$TMP/src" '.mounts += [{"destination": "/data", "source": $src, "options": ["rbind", "idmap"]}]'
    run_container
    [ "$status" -ne 0 ]
    [[ "$output" == *"config.json: mounts[7].options: idmap needs the mount's uidMappings and gidMappings, or a new user namespace with linux.uidMappings/gidMappings to take them from"* ]]
}
