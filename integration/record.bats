#!/usr/bin/env bats
# `caprun record` (issue 32): a recorded run's capabilities.json and seccomp.json, applied
# under the strict policy, run the same workload; without any one recorded capability it
# fails at the syscall the report names; a syscall the run did not make is denied (ENOSYS).
# Everything the workloads do stays inside the container (its own netns for ping, its own
# /dev tmpfs for mknod). Skipped when this caprun has no eBPF tracer.

load helpers

bats_require_minimum_version 1.5.0

setup_file() {
    [ "$(id -u)" = 0 ] || skip "container tests run as root"
    if "$CAPRUN" record --help | grep -q "eBPF recorder: MISSING"; then
        skip "caprun was built without the eBPF tracer"
    fi
    export ROOTFS_TEMPLATE="$BATS_FILE_TMPDIR/rootfs"
    make_rootfs "$ROOTFS_TEMPLATE"
}

NINE='["CAP_MKNOD","CAP_SYS_CHROOT","CAP_CHOWN","CAP_NET_RAW","CAP_KILL","CAP_SETUID","CAP_SETGID","CAP_FOWNER","CAP_NET_BIND_SERVICE"]'

# The nine capabilities in bounding, effective and permitted; writable root for the shells.
request_nine() {
    cfg --argjson c "$NINE" '.root.readonly = false
        | .process.capabilities = {bounding: $c, effective: $c, permitted: $c}'
}

# config.json with exactly the recording in $1: its capabilities and its seccomp profile.
apply_recording() {
    cfg --slurpfile c "$1/capabilities.json" --slurpfile s "$1/seccomp.json" \
        '.process.capabilities = $c[0] | .linux.seccomp = $s[0]'
}

# The recorded capabilities without $1.
drop_cap() {
    cfg --arg c "$1" '.process.capabilities |= with_entries(.value -= [$c])'
}

# The syscall names the report lists under capability $1, one per line.
report_syscalls_of() {
    awk -v cap="  $1" '$0 == cap || index($0, cap " ") == 1 { on = 1; next }
        on && /^    / { sub(/^    /, ""); sub(/:.*/, ""); print; next } { on = 0 }' "$2/report.txt"
}

@test "record: the probe needs CAP_MKNOD and CAP_SYS_CHROOT of the nine it asked for" {
    request_nine
    cfg '.process.args = ["/bin/probe", "syscalls", "mknod", "chroot", "settimeofday"]'
    run -0 caprun record --output "$TMP/rec" "$ID"
    [[ "$output" == *'"mknod":"OK","chroot":"OK","settimeofday":"EPERM"'* ]]
    run -0 jq -c . "$TMP/rec/capabilities.json"
    [ "$output" = '{"bounding":["CAP_SYS_CHROOT","CAP_MKNOD"],"effective":["CAP_SYS_CHROOT","CAP_MKNOD"],"permitted":["CAP_SYS_CHROOT","CAP_MKNOD"]}' ]
    run -0 report_syscalls_of CAP_MKNOD "$TMP/rec"
    [ "$output" = mknodat ]
    run -0 report_syscalls_of CAP_SYS_CHROOT "$TMP/rec"
    [ "$output" = chroot ]
    grep -qx '  the workload tried CAP_SYS_TIME in settimeofday (1x) and did not have it; add it if that failure mattered' "$TMP/rec/report.txt"
    [ "$(jq -r .defaultAction "$TMP/rec/seccomp.json")" = SCMP_ACT_ERRNO ]
    [ "$(jq -r .defaultErrnoRet "$TMP/rec/seccomp.json")" = 38 ]
    [ "$(cat "$TMP/rec/run-flags.txt")" = "--cap-drop=ALL --cap-add=SYS_CHROOT --cap-add=MKNOD --security-opt seccomp=$TMP/rec/seccomp.json" ]
    grep -qx '    add: \[SYS_CHROOT, MKNOD\]' "$TMP/rec/securityContext.yaml"
    grep -qx '    type: Localhost' "$TMP/rec/securityContext.yaml"
    # check and explain read the recorded profile.
    run -0 "$CAPRUN" check --bundle "$BUNDLE" --seccomp-profile "$TMP/rec/seccomp.json"
    [[ "$output" == *"$TMP/rec/seccomp.json"* ]]
    run -0 "$CAPRUN" explain --bundle "$BUNDLE" --seccomp-profile "$TMP/rec/seccomp.json" reboot chroot
    [[ "$output" == *"result [seccomp]: fails with ENOSYS: not in the recorded profile"* ]]
    [ "$(grep -c "not in the recorded profile" <<<"$output")" = 1 ]  # reboot's, not chroot's

    # Exactly the recording, strict: the same results. A syscall the run did not make
    # (reboot) is the profile's ENOSYS, not the EPERM of a missing CAP_SYS_BOOT.
    apply_recording "$TMP/rec"
    cfg '.process.args = ["/bin/probe", "syscalls", "mknod", "chroot", "reboot"]'
    run -0 caprun --cap-policy strict run "$ID"
    [ "$output" = '{"mknod":"OK","chroot":"OK","reboot":"ENOSYS"}' ]
    # The profile file through --seccomp-profile instead of config.json: the same.
    cfg 'del(.linux.seccomp)'
    run -0 caprun --cap-policy strict run --seccomp-profile "$TMP/rec/seccomp.json" "$ID"
    [ "$output" = '{"mknod":"OK","chroot":"OK","reboot":"ENOSYS"}' ]
    # Without either recorded capability, the syscall the report names fails.
    apply_recording "$TMP/rec"
    drop_cap CAP_MKNOD
    run -0 caprun --cap-policy strict run --trace-eperm "$ID"
    [[ "$output" == *'{"mknod":"EPERM","chroot":"OK","reboot":"ENOSYS"}'* ]]
    [[ "$output" == *"(probe): mknodat failed with EPERM — capability: the kernel checked CAP_MKNOD"* ]]
    apply_recording "$TMP/rec"
    drop_cap CAP_SYS_CHROOT
    run -0 caprun --cap-policy strict run --trace-eperm "$ID"
    [[ "$output" == *'{"mknod":"OK","chroot":"EPERM","reboot":"ENOSYS"}'* ]]
    [[ "$output" == *"(probe): chroot failed with EPERM — capability: the kernel checked CAP_SYS_CHROOT"* ]]
}

@test "record: busybox ping (CAP_NET_RAW) and chown (CAP_CHOWN), two runs merged" {
    request_nine
    cfg '.process.args = ["/bin/ping", "-c", "1", "-W", "2", "127.0.0.1"]'
    run -0 caprun record --output "$TMP/ping" "$ID"
    # A new file each run (mktemp): an earlier run's, owned by 1000, would need CAP_FOWNER.
    cfg '.process.args = ["/bin/sh", "-c", "f=$(mktemp) && chown 1000:1000 $f && stat -c %u:%g $f"]'
    run -0 caprun record --output "$TMP/chown" "$ID"
    [ "$output" = 1000:1000 ]
    [ "$(jq -c .bounding "$TMP/ping/capabilities.json")" = '["CAP_NET_RAW"]' ]
    [ "$(jq -c .bounding "$TMP/chown/capabilities.json")" = '["CAP_CHOWN"]' ]
    run -0 report_syscalls_of CAP_NET_RAW "$TMP/ping"
    [ "$output" = socket ]
    run -0 report_syscalls_of CAP_CHOWN "$TMP/chown"
    chown_call=$output
    [[ "$chown_call" == *chown* ]]
    run -0 "$CAPRUN" record --merge --output "$TMP/both" "$TMP/ping" "$TMP/chown"
    [ "$(jq -c .bounding "$TMP/both/capabilities.json")" = '["CAP_CHOWN","CAP_NET_RAW"]' ]

    apply_recording "$TMP/both"
    cfg '.process.args = ["/bin/sh", "-c", "ping -c 1 -W 2 127.0.0.1 >/dev/null && f=$(mktemp) && chown 1000:1000 $f && stat -c %u:%g $f"]'
    run -0 caprun --cap-policy strict run "$ID"
    [ "$output" = 1000:1000 ]
    drop_cap CAP_NET_RAW
    run -1 caprun --cap-policy strict run --trace-eperm "$ID"
    # (busybox sh may run an applet in a fork of itself, its name still "sh")
    [[ "$output" == *"): socket failed with EPERM — capability: the kernel checked CAP_NET_RAW"* ]]
    apply_recording "$TMP/both"
    drop_cap CAP_CHOWN
    run -1 caprun --cap-policy strict run --trace-eperm "$ID"
    local line
    line=$(grep "capability: the kernel checked CAP_CHOWN" <<<"$output" | head -1)
    [[ "$line" == *"): $chown_call failed with EPERM"* ]]
}

@test "record: a shell pipeline of several processes, the capability used by one of them" {
    request_nine
    cfg '.process.args = ["/bin/sh", "-c", "mknod /dev/n1 c 1 3 && ls /dev | grep n1 | wc -l"]'
    run -0 caprun record --output "$TMP/rec" "$ID"
    [ "$output" = 1 ]
    [ "$(jq -c .bounding "$TMP/rec/capabilities.json")" = '["CAP_MKNOD"]' ]
    # Syscalls of every process: sh's pipe and wait4, mknod's mknodat, ls's getdents64.
    local s
    for s in wait4 mknodat getdents64; do
        jq -e --arg s "$s" '.syscalls[0].names | index($s)' "$TMP/rec/seccomp.json" >/dev/null
    done
    jq -e '.syscalls[0].names | index("pipe") or index("pipe2")' "$TMP/rec/seccomp.json" >/dev/null
    apply_recording "$TMP/rec"
    run -0 caprun --cap-policy strict run "$ID"
    [ "$output" = 1 ]
    drop_cap CAP_MKNOD
    run -1 caprun --cap-policy strict run --trace-eperm "$ID"
    [[ "$output" == *"): mknodat failed with EPERM — capability: the kernel checked CAP_MKNOD"* ]]
}

@test "record: a process started with caprun exec is recorded too" {
    request_nine
    cfg '.process.args = ["/bin/sh", "-c", "touch /tmp/ready; while [ ! -e /tmp/go ]; do sleep 0.1; done"]'
    caprun_bg record --output "$TMP/rec" "$ID"
    local runner=$RUNNER i
    for i in $(seq 150); do
        [ -e "$BUNDLE/rootfs/tmp/ready" ] && break
        sleep 0.1
    done
    run -0 caprun exec "$ID" /bin/probe syscalls chroot
    [ "$output" = '{"chroot":"OK"}' ]
    touch "$BUNDLE/rootfs/tmp/go"
    wait "$runner"
    # The init's shell never needed a capability: CAP_SYS_CHROOT is the exec'd probe's.
    [ "$(jq -c .bounding "$TMP/rec/capabilities.json")" = '["CAP_SYS_CHROOT"]' ]
    run -0 report_syscalls_of CAP_SYS_CHROOT "$TMP/rec"
    [ "$output" = chroot ]
}

@test "record: a non-root user running a program with file capabilities" {
    request_nine
    cp "$BUNDLE/rootfs/bin/probe" "$BUNDLE/rootfs/bin/probe-raw"
    setcap cap_net_raw+p "$BUNDLE/rootfs/bin/probe-raw"
    # no_new_privs would keep execve from granting file capabilities.
    cfg '.process.user = {uid: 1000, gid: 1000} | .process.noNewPrivileges = false
         | .process.args = ["/bin/probe-raw", "aware", "syscalls", "raw_socket"]'
    run -0 caprun record --output "$TMP/rec" "$ID"
    [ "$output" = '{"raw_socket":"OK"}' ]
    # From the file's capabilities, not ambient: no inheritable or ambient set.
    run -0 jq -c . "$TMP/rec/capabilities.json"
    [ "$output" = '{"bounding":["CAP_NET_RAW"],"effective":["CAP_NET_RAW"],"permitted":["CAP_NET_RAW"]}' ]
    run -0 report_syscalls_of CAP_NET_RAW "$TMP/rec"
    [ "$output" = socket ]
    apply_recording "$TMP/rec"
    run -0 caprun --cap-policy strict run "$ID"
    [ "$output" = '{"raw_socket":"OK"}' ]
    drop_cap CAP_NET_RAW
    run -0 caprun --cap-policy strict run --trace-eperm "$ID"
    [[ "$output" == *'{"raw_socket":"EPERM"}'* ]]
    [[ "$output" == *"(probe-raw): socket failed with EPERM — capability: the kernel checked CAP_NET_RAW"* ]]
}

@test "the annotation run.caprun.record under create/start: DIR is written when the container exits" {
    request_nine
    cfg --arg d "$TMP/rec" '.process.args = ["/bin/probe", "syscalls", "mknod", "chroot"]
         | .annotations["run.caprun.record"] = $d'
    # The container's stdio is create's: a file, not the pipe of bats' run.
    caprun create "$ID" </dev/null >"$TMP/out" 2>&1
    [ -e "$ROOT/$ID/record.pid" ]
    [ ! -e "$TMP/rec" ]
    run -0 caprun start "$ID"
    local i
    for i in $(seq 100); do
        [ -e "$TMP/rec/report.txt" ] && break
        sleep 0.1
    done
    [ "$(jq -c .bounding "$TMP/rec/capabilities.json")" = '["CAP_SYS_CHROOT","CAP_MKNOD"]' ]
    run -0 report_syscalls_of CAP_MKNOD "$TMP/rec"
    [ "$output" = mknodat ]
    [ "$(cat "$TMP/out")" = '{"mknod":"OK","chroot":"OK"}' ]
    run -0 caprun delete "$ID"
    [ ! -e "$ROOT/$ID" ]
    # Invalid values fail planning, naming the annotation, and leave nothing behind.
    cfg '.annotations["run.caprun.record"] = "rel/dir"'
    run -1 caprun create "$ID" </dev/null
    [ "$output" = 'caprun: config.json: annotations["run.caprun.record"]: "rel/dir" is not an absolute path' ]
    [ ! -e "$ROOT/$ID" ]
    cfg --arg d "$BUNDLE/config.json" '.annotations["run.caprun.record"] = $d'
    run -1 caprun create "$ID" </dev/null
    [ "$output" = "caprun: config.json: annotations[\"run.caprun.record\"]: \"$BUNDLE/config.json\": exists and is not a directory" ]
    [ ! -e "$ROOT/$ID" ]
}

@test "record without CAP_BPF and CAP_PERFMON refuses before anything exists, naming them" {
    run -1 capsh --drop=cap_bpf,cap_perfmon,cap_sys_admin -- -c 'cd "$1" && exec "$2" --root "$3" record --output "$4" "$5"' \
        capsh "$BUNDLE" "$CAPRUN" "$ROOT" "$TMP/rec" "$ID"
    [[ "$output" == *"record: cannot record here: loading the tracing program needs CAP_BPF and CAP_PERFMON (or CAP_SYS_ADMIN), and this process lacks CAP_BPF and CAP_PERFMON"* ]]
    [ ! -e "$TMP/rec" ]
    [ ! -e "$ROOT/$ID" ]
    # An output directory that cannot be made is refused the same way.
    run -1 caprun record --output "$TMP/no/such/dir" "$ID"
    [ "$output" = "caprun: record --output $TMP/no/such/dir: its parent directory $TMP/no/such does not exist" ]
    [ ! -e "$ROOT/$ID" ]
}
