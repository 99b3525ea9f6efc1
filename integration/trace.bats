#!/usr/bin/env bats
# `caprun run --trace-eperm`, the annotation run.caprun.trace-eperm and `caprun trace ID`
# (issue 13): the probe's failing syscalls are reported with the right cause — a capability
# the kernel denied (settimeofday without CAP_SYS_TIME, SO_RCVBUFFORCE without CAP_NET_ADMIN)
# or the seccomp rule (get_mempolicy under the built-in profile without CAP_SYS_NICE). The
# probe's calls change nothing on the host. Skipped when this caprun has no eBPF tracer.

load helpers

bats_require_minimum_version 1.5.0

setup_file() {
    [ "$(id -u)" = 0 ] || skip "container tests run as root"
    if "$CAPRUN" trace --help | grep -q "eBPF tracer: MISSING"; then
        skip "caprun was built without the eBPF tracer"
    fi
    export ROOTFS_TEMPLATE="$BATS_FILE_TMPDIR/rootfs"
    make_rootfs "$ROOTFS_TEMPLATE"
}

add_caps() {
    local c
    for c in "$@"; do
        cfg --arg c "$c" '.process.capabilities.bounding += [$c] | .process.capabilities.effective += [$c] | .process.capabilities.permitted += [$c]'
    done
}

@test "run --trace-eperm: settimeofday without CAP_SYS_TIME is the kernel's capability check" {
    cfg '.process.args = ["/bin/probe", "syscalls", "settimeofday", "rcvbufforce"]'
    run --separate-stderr caprun run --trace-eperm "$ID"
    echo "stdout: $output"
    echo "stderr: $stderr"
    [ "$status" -eq 0 ]
    [[ "$output" == *'"settimeofday":"EPERM"'* ]]
    [[ "$stderr" == *"(probe): settimeofday failed with EPERM — capability: the kernel checked CAP_SYS_TIME"* ]]
    [[ "$stderr" == *"docker run --cap-add SYS_TIME"* ]]
    [[ "$stderr" == *"(probe): setsockopt failed with EPERM — capability: the kernel checked CAP_NET_ADMIN"* ]]
    [[ "$stderr" != *"settimeofday failed with EPERM — seccomp"* ]]
}

@test "run --trace-eperm: get_mempolicy under the built-in profile is the seccomp rule" {
    cfg '.process.args = ["/bin/probe", "syscalls", "get_mempolicy"]'
    run --separate-stderr caprun run --trace-eperm --seccomp-profile default "$ID"
    echo "stderr: $stderr"
    [ "$status" -eq 0 ]
    [[ "$output" == *'"get_mempolicy":"EPERM"'* ]]
    [[ "$stderr" == *"(probe): get_mempolicy failed with EPERM — seccomp: the seccomp filter's defaultAction returns EPERM"* ]]
    [[ "$stderr" == *"fix: add CAP_SYS_NICE"* ]]
    [[ "$stderr" != *"get_mempolicy failed with EPERM — capability"* ]]
}

@test "the annotation run.caprun.trace-eperm=true: the summary reaches the --log" {
    cfg '.process.args = ["/bin/probe", "syscalls", "settimeofday"]
         | .annotations["run.caprun.trace-eperm"] = "true"'
    run --separate-stderr "$CAPRUN" --root "$ROOT" --log "$TMP/log.json" --log-format json run --bundle "$BUNDLE" "$ID"
    [ "$status" -eq 0 ]
    grep 'settimeofday failed with EPERM' "$TMP/log.json" | grep -q 'capability: the kernel checked CAP_SYS_TIME'
    [[ "$stderr" == *"settimeofday failed with EPERM"* ]]
    # A value that is not true or false is refused, and nothing is left behind.
    cfg '.annotations["run.caprun.trace-eperm"] = "yes"'
    run caprun run "$ID"
    [ "$status" -ne 0 ]
    [[ "$output" == *'annotations["run.caprun.trace-eperm"]: "yes" is not true or false'* ]]
}

@test "caprun trace ID streams a running container's failures until it stops" {
    # The container waits for /go (made once the tracer is attached), then fails once.
    cfg '.root.readonly = false
         | .process.args = ["/bin/sh", "-c", "while [ ! -e /go ]; do sleep 0.1; done; /bin/probe syscalls settimeofday"]'
    caprun run -d "$ID" >"$TMP/run.out" 2>&1
    "$CAPRUN" --root "$ROOT" trace "$ID" --format json >"$TMP/trace.out" 2>"$TMP/trace.err" &
    local tracer=$!
    local i
    for i in $(seq 1 300); do
        grep -q "tracing container $ID" "$TMP/trace.err" && break
        sleep 0.1
    done
    grep -q "tracing container $ID" "$TMP/trace.err" || { cat "$TMP/trace.err"; false; }
    touch "$BUNDLE/rootfs/go"
    wait "$tracer"
    cat "$TMP/trace.out"
    jq -e 'select(.syscall == "settimeofday") | .cause == "capability" and (.caps | index("CAP_SYS_TIME"))' "$TMP/trace.out" >/dev/null
    caprun delete --force "$ID"
}

@test "without CAP_BPF/CAP_PERFMON/CAP_SYS_ADMIN: trace says why and falls back to the plan" {
    cfg '.process.args = ["/bin/sleep", "1000"]'
    caprun run -d --seccomp-profile default "$ID" >"$TMP/run.out" 2>&1
    run --separate-stderr capsh --drop=cap_bpf,cap_perfmon,cap_sys_admin -- -c \
        'exec "$1" --root "$2" trace "$3"' capsh "$CAPRUN" "$ROOT" "$ID"
    echo "stdout: $output"
    echo "stderr: $stderr"
    [ "$status" -eq 1 ]
    [[ "$stderr" == *"trace: cannot load the eBPF program: Operation not permitted"* ]]
    [[ "$stderr" == *"needs CAP_BPF and CAP_PERFMON (or CAP_SYS_ADMIN)"* ]]
    [[ "$stderr" == *"falling back to the static explanation"* ]]
    [[ "$output" == *"get_mempolicy: fails with EPERM: the seccomp filter's defaultAction"*"docker run --cap-add SYS_NICE"* ]]
    caprun delete --force "$ID"
}
