#!/usr/bin/env bats
# cgroups for real on this host's layout (hybrid here: v1 controllers + cgroup2 at
# /sys/fs/cgroup/unified; the code paths for pure v1/v2 are unit-tested, and the v2 device
# filter and freezer are exercised on the unified hierarchy by the unit tests as root).

load helpers

sleeper() {
    cfg --arg p "/caprun-it/$ID" '.process.args = ["/bin/sleep", "1000"] | .linux.cgroupsPath = $p'
}

teardown_cgroup_parent() { rmdir /sys/fs/cgroup/*/caprun-it 2>/dev/null || true; }

@test "cgroups: an absolute cgroupsPath is created in every hierarchy, the init is in it, delete removes it" {
    sleeper
    caprun create --bundle "$BUNDLE" "$ID"
    pid=$(caprun state "$ID" | jq -r .pid)
    local h n=0
    for h in $(awk '$9 == "cgroup" || $9 == "cgroup2" {print $5}' /proc/self/mountinfo); do
        [ -d "$h/caprun-it/$ID" ]
        grep -qx "$pid" "$h/caprun-it/$ID/cgroup.procs"
        n=$((n + 1))
    done
    [ "$n" -gt 0 ]
    caprun delete --force "$ID"
    for h in $(awk '$9 == "cgroup" || $9 == "cgroup2" {print $5}' /proc/self/mountinfo); do
        [ ! -d "$h/caprun-it/$ID" ]
    done
    teardown_cgroup_parent
}

@test "cgroups: resources from config.json land in the controller files" {
    sleeper
    cfg '.linux.resources = {
        "memory": {"limit": 134217728, "reservation": 67108864},
        "cpu": {"shares": 512, "quota": 20000, "period": 100000, "cpus": "0"},
        "pids": {"limit": 77},
        "blockIO": {"weight": 300}}'
    caprun create --bundle "$BUNDLE" "$ID"
    local c=/sys/fs/cgroup
    [ "$(cat $c/memory/caprun-it/$ID/memory.limit_in_bytes)" = 134217728 ]
    [ "$(cat $c/memory/caprun-it/$ID/memory.soft_limit_in_bytes)" = 67108864 ]
    [ "$(cat $c/cpu/caprun-it/$ID/cpu.shares)" = 512 ]
    [ "$(cat $c/cpu/caprun-it/$ID/cpu.cfs_quota_us)" = 20000 ]
    [ "$(cat $c/cpu/caprun-it/$ID/cpu.cfs_period_us)" = 100000 ]
    [ "$(cat $c/cpuset/caprun-it/$ID/cpuset.cpus)" = 0 ]
    [ "$(cat $c/pids/caprun-it/$ID/pids.max)" = 77 ]
    if [ -e "$c/blkio/caprun-it/$ID/blkio.weight" ]; then
        [ "$(cat $c/blkio/caprun-it/$ID/blkio.weight)" = 300 ]
    fi
    caprun delete "$ID"
    teardown_cgroup_parent
}

@test "cgroups: device rules become the v1 devices list (deny all + defaults + rules)" {
    [ -d /sys/fs/cgroup/devices ] || skip "no v1 devices controller"
    sleeper
    cfg '.linux.resources.devices = [{"allow": false, "access": "rwm"},
                                     {"allow": true, "type": "c", "major": 10, "minor": 200, "access": "rw"}]'
    caprun create --bundle "$BUNDLE" "$ID"
    local list="/sys/fs/cgroup/devices/caprun-it/$ID/devices.list"
    ! grep -qx 'a \*:\* rwm' "$list"
    grep -qx 'c 1:3 rwm' "$list"     # /dev/null, a default
    grep -qx 'c 10:200 rw' "$list"   # /dev/net/tun from the rule
    ! grep -q '^b ' "$list"
    caprun delete "$ID"
    teardown_cgroup_parent
}

@test "cgroups: the device cgroup stops what the rules deny, even with CAP_MKNOD" {
    [ -d /sys/fs/cgroup/devices ] || skip "no v1 devices controller"
    # With CAP_MKNOD only the device cgroup can refuse: mknod of /dev/null's numbers (allowed
    # by default) works, of kmsg's (1:11, not allowed) does not.
    cfg --arg p "/caprun-it/$ID" '.linux.cgroupsPath = $p
        | .process.capabilities |= with_entries(if .key == "ambient" then . else .value += ["CAP_MKNOD"] end)
        | .process.args = ["/bin/sh", "-c", "mknod /dev/n2 c 1 3 && echo null-ok; mknod /dev/k2 c 1 11 2>&1"]'
    run caprun run "$ID"
    echo "$output"
    [[ "$output" == *null-ok* ]]
    [[ "$output" == *"Operation not permitted"* ]]
    teardown_cgroup_parent
}

@test "cgroups: a relative cgroupsPath goes below the runtime's own cgroup" {
    cfg --arg p "caprun-it/$ID" '.process.args = ["/bin/sleep", "1000"] | .linux.cgroupsPath = $p'
    caprun create --bundle "$BUNDLE" "$ID"
    local own
    own="$(awk -F: '$2 == "memory" {print $3}' /proc/self/cgroup)"
    [ -n "$own" ]
    [ -d "/sys/fs/cgroup/memory${own%/}/caprun-it/$ID" ]
    caprun delete "$ID"
    [ ! -d "/sys/fs/cgroup/memory${own%/}/caprun-it/$ID" ]
    rmdir "/sys/fs/cgroup/memory${own%/}/caprun-it" /sys/fs/cgroup/*/caprun-it 2>/dev/null || true
}
