#!/usr/bin/env bats
# cgroups for real on this host's layout (hybrid here: v1 controllers + cgroup2 at
# /sys/fs/cgroup/unified; the code paths for pure v1/v2 are unit-tested, and the v2 device
# filter and freezer are exercised on the unified hierarchy by the unit tests as root).

load helpers

sleeper() {
    cfg --arg p "/caprun-it/$ID" '.process.args = ["/bin/sleep", "1000"] | .linux.cgroupsPath = $p'
}

teardown_cgroup_parent() { rmdir /sys/fs/cgroup/*/caprun-it 2>/dev/null || true; }

# Like `run caprun "$@"`, with the output in a file: a created container's init keeps the
# fds it inherited, and bats' `run` would wait for its pipe to close.
run_to_file() {
    status=0
    caprun "$@" >"$TMP/run.out" 2>&1 || status=$?
    output="$(cat "$TMP/run.out")"
}

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
    ! grep -qx 'a \*:\* rwm' "$list" || false
    grep -qx 'c 1:3 rwm' "$list"     # /dev/null, a default
    grep -qx 'c 10:200 rw' "$list"   # /dev/net/tun from the rule
    ! grep -q '^b ' "$list" || false
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
    run -1 caprun run "$ID"
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

# The huge page sizes in DIR (default: this host's /sys/kernel/mm/hugepages), as hugetlb
# spells them (2048kB -> 2MB), comma-separated, smallest first: the order caprun documents
# for its error (hugepageSizesFromEntries), not the directory's.
host_hugepage_sizes() {
    local dir="${1:-/sys/kernel/mm/hugepages}" d kb out=""
    for kb in $(for d in "$dir"/hugepages-*kB; do
                    [ -d "$d" ] || continue
                    d=${d##*hugepages-}
                    echo "${d%kB}"
                done | sort -n); do
        if [ "$kb" -ge 1048576 ]; then kb="$((kb / 1048576))GB"
        elif [ "$kb" -ge 1024 ]; then kb="$((kb / 1024))MB"
        else kb="${kb}KB"; fi
        out+="${out:+, }$kb"
    done
    echo "$out"
}

@test "cgroups: the expected huge page sizes are listed smallest first on hosts with 2 MB only, 1 GB only, and both" {
    local d="$TMP/hugepages"
    mkdir -p "$d/hugepages-2048kB"
    [ "$(host_hugepage_sizes "$d")" = "2MB" ]
    rmdir "$d/hugepages-2048kB" && mkdir "$d/hugepages-1048576kB"
    [ "$(host_hugepage_sizes "$d")" = "1GB" ]
    # Created largest first, so that the directory's order is not the answer either way.
    mkdir "$d/hugepages-2048kB" "$d/hugepages-64kB"
    [ "$(host_hugepage_sizes "$d")" = "64KB, 2MB, 1GB" ]
    rm -r "$d" && mkdir "$d"
    [ "$(host_hugepage_sizes "$d")" = "" ]
}

@test "cgroups: a hugetlb page size the host lacks is an error naming it and the host's sizes, nothing created" {
    sleeper
    cfg '.linux.resources.hugepageLimits = [{"pageSize": "3MB", "limit": 1048576}]'
    local sizes
    sizes="$(host_hugepage_sizes)"
    run_to_file create --bundle "$BUNDLE" "$ID"
    echo "$output"
    [ "$status" -ne 0 ]
    [[ "$output" == *'linux.resources.hugepageLimits[0].pageSize: "3MB" is not a huge page size of this host'* ]]
    if [ -n "$sizes" ]; then
        [[ "$output" == *"(it has $sizes, from /sys/kernel/mm/hugepages)"* ]]
    else
        [[ "$output" == *"(it has none"* ]]
    fi
    [ ! -e "$ROOT/$ID" ]
    local h
    for h in $(awk '$9 == "cgroup" || $9 == "cgroup2" {print $5}' /proc/self/mountinfo); do
        [ ! -e "$h/caprun-it/$ID" ]
    done
}

@test "cgroups: realtime runtime in a nested cgroupsPath: the parents caprun makes get the budget (or a clear error without RT group scheduling)" {
    local top="caprun-rt-$ID" cpu=/sys/fs/cgroup/cpu
    cfg --arg p "/$top/a/b" '.process.args = ["/bin/sleep", "1000"] | .linux.cgroupsPath = $p
        | .linux.resources.cpu = {"realtimeRuntime": 1000, "realtimePeriod": 1000000}'
    [ -d "$cpu" ] || skip "no v1 cpu hierarchy (realtime group scheduling is v1 only)"
    if [ ! -e "$cpu/cpu.rt_runtime_us" ]; then
        # The kernel has no CONFIG_RT_GROUP_SCHED: a clear error, nothing left.
        run_to_file create --bundle "$BUNDLE" "$ID"
        echo "$output"
        [ "$status" -ne 0 ]
        [[ "$output" == *"no realtime group scheduling (CONFIG_RT_GROUP_SCHED)"* ]]
        [ ! -e "$ROOT/$ID" ]
        return
    fi
    local root_before
    root_before="$(cat "$cpu/cpu.rt_runtime_us")"
    caprun create --bundle "$BUNDLE" "$ID"
    [ "$(cat "$cpu/$top/a/b/cpu.rt_runtime_us")" = 1000 ]
    [ "$(cat "$cpu/$top/a/b/cpu.rt_period_us")" = 1000000 ]
    [ "$(cat "$cpu/$top/a/cpu.rt_runtime_us")" -ge 1000 ]
    [ "$(cat "$cpu/$top/cpu.rt_runtime_us")" -ge 1000 ]
    # update with the per-resource flag goes through the same path.
    caprun update --cpu-rt-runtime 2000 "$ID"
    [ "$(cat "$cpu/$top/a/b/cpu.rt_runtime_us")" = 2000 ]
    [ "$(cat "$cpu/$top/a/cpu.rt_runtime_us")" -ge 2000 ]
    caprun delete "$ID"
    [ ! -e "$cpu/$top" ]
    # The host's own budget is never touched.
    [ "$(cat "$cpu/cpu.rt_runtime_us")" = "$root_before" ]
}

@test "cgroups: concurrent containers with the default cgroupsPath share the caprun/ parent, which delete keeps and cleanup removes once unused" {
    cfg '.process.args = ["/bin/true"]'
    local round i pids failed=0
    for round in 1 2 3; do
        pids=()
        for i in 1 2 3 4 5 6 7 8; do
            (cd "$BUNDLE" && exec "$CAPRUN" --root "$ROOT" run "$ID-$round-$i") >"$TMP/out-$round-$i" 2>&1 &
            pids+=($!)
        done
        for i in "${!pids[@]}"; do
            if ! wait "${pids[$i]}"; then
                failed=$((failed + 1))
                echo "run $round-$((i + 1)) failed: $(cat "$TMP/out-$round-$((i + 1))")"
            fi
        done
    done
    [ "$failed" -eq 0 ]
    # One caprun/ below this shell's cgroup in every mounted hierarchy, with nothing in it.
    local hierarchies parents p own
    hierarchies=$(awk '{ for (i = 7; $i != "-"; i++); if ($(i + 1) ~ /^cgroup2?$/) print $5, $(i + 1) }' /proc/self/mountinfo | sort -u)
    parents=""
    while read -r h fstype; do
        # This shell's cgroup in that hierarchy: the 0:: line for cgroup2, else the line
        # naming its controllers (the mount point's name, name=systemd for systemd's).
        own=$(awk -F: -v t="$fstype" -v n="${h##*/}" '
            (t == "cgroup2" && $2 == "") || (t == "cgroup" && ($2 == n || $2 == "name=" n)) { print $3; exit }' /proc/self/cgroup)
        p="$h${own%/}/caprun"
        [ -d "$p" ] || { echo "no kept parent $p (hierarchy $h, own cgroup '$own')"; false; }
        [ -z "$(find "$p" -mindepth 1 -type d)" ] || { echo "$p is not empty"; false; }
        parents+="$p"$'\n'
    done <<<"$hierarchies"
    # A container running keeps every parent; cleanup says what uses it and exits 0.
    cfg '.process.args = ["/bin/sleep", "1000"]'
    caprun create --bundle "$BUNDLE" "$ID-held" >"$TMP/create.out" 2>&1
    run "$CAPRUN" cleanup
    [ "$status" -eq 0 ]
    [ "$(grep -c '^kept .*/caprun: in use by 1 cgroup below it$' <<<"$output")" -eq "$(grep -c . <<<"$hierarchies")" ]
    while read -r p; do [ -z "$p" ] || [ -d "$p/$ID-held" ]; done <<<"$parents"
    caprun delete --force "$ID-held"
    # Unused now: removed, each one named.
    run "$CAPRUN" cleanup
    [ "$status" -eq 0 ]
    [ "$(sed -n 's/^removed //p' <<<"$output" | sort)" = "$(sed '/^$/d' <<<"$parents" | sort)" ]
    while read -r p; do [ -z "$p" ] || [ ! -e "$p" ]; done <<<"$parents"
    # Nothing left: nothing to say.
    run "$CAPRUN" cleanup
    [ "$status" -eq 0 ]
    [ -z "$output" ]
}

@test "cgroups: when clone3 refuses CLONE_INTO_CGROUP, the init is moved into its unified cgroup through cgroup.procs" {
    command -v strace >/dev/null || skip "strace not installed (Debian package strace)"
    local unified
    unified=$(awk '$9 == "cgroup2" {print $5; exit}' /proc/self/mountinfo)
    [ -n "$unified" ] || skip "no cgroup2 mount on this host"
    cfg --arg p "/caprun-it/$ID" '.process.args = ["/bin/cat", "/proc/self/cgroup"] | .linux.cgroupsPath = $p
        | .linux.namespaces |= map(select(.type != "cgroup"))'
    # Normally the init starts in its unified cgroup: nothing writes that cgroup.procs.
    run strace -f -qq -y -o "$TMP/trace" -e trace=clone3,write \
        "$CAPRUN" --root "$ROOT" run --bundle "$BUNDLE" "$ID"
    [ "$status" -eq 0 ]
    [[ "$output" == *"0::/caprun-it/$ID"* ]]
    grep -q "clone3({flags=[^}]*CLONE_INTO_CGROUP" "$TMP/trace"
    ! grep -q "write([0-9]*<$unified/caprun-it/$ID/cgroup.procs>" "$TMP/trace" || false

    # A kernel before 5.7 says ENOSYS to the flag; caprun clones again without it and
    # writes the init's pid to the unified cgroup.procs like the v1 ones.
    run strace -f -qq -y -o "$TMP/trace" -e trace=clone3,write -e inject=clone3:error=ENOSYS:when=1 \
        "$CAPRUN" --root "$ROOT" run --bundle "$BUNDLE" "$ID"
    echo "$output"
    [ "$status" -eq 0 ]
    [[ "$output" == *"0::/caprun-it/$ID"* ]]
    grep "INJECTED" "$TMP/trace" | grep -q "CLONE_INTO_CGROUP"
    grep -q "write([0-9]*<$unified/caprun-it/$ID/cgroup.procs>, \"[0-9]*\"" "$TMP/trace"
    [ ! -e "$ROOT/$ID" ]
    teardown_cgroup_parent
}

@test "cgroups: a realtime process.scheduler needs linux.resources.cpu.realtimeRuntime where RT group scheduling is on; with it, it runs" {
    [ -e /sys/fs/cgroup/cpu/cpu.rt_runtime_us ] || skip "no realtime group scheduling on this kernel"
    cfg --arg p "/caprun-it/$ID" '.linux.cgroupsPath = $p
        | .process.scheduler = {"policy": "SCHED_FIFO", "priority": 1}
        | .process.capabilities.bounding += ["CAP_SYS_NICE"] | .process.capabilities.effective += ["CAP_SYS_NICE"]
        | .process.capabilities.permitted += ["CAP_SYS_NICE"]
        | .process.args = ["/bin/awk", "{print \"policy \" $41}", "/proc/self/stat"]'
    run_to_file create --bundle "$BUNDLE" "$ID"
    [ "$status" -ne 0 ]
    [[ "$output" == *"process.scheduler: SCHED_FIFO needs a realtime budget in the container's cpu cgroup"*"set linux.resources.cpu.realtimeRuntime"* ]]
    [ ! -e "$ROOT/$ID" ]
    run caprun check
    [ "$status" -ne 0 ]
    [[ "$output" == *"Cgroups:     ERROR: config.json: process.scheduler: SCHED_FIFO needs a realtime budget"* ]]
    # With the budget the config asks for, the process runs SCHED_FIFO (policy 1).
    cfg '.linux.resources.cpu = {"realtimeRuntime": 10000, "realtimePeriod": 1000000}'
    run caprun run "$ID"
    echo "$output"
    [ "$status" -eq 0 ]
    [[ "$output" == *"policy 1"* ]]
    rmdir /sys/fs/cgroup/*/caprun-it 2>/dev/null || true
}
