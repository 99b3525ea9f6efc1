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

# The tracer of a created container (containerd's and podman's shims run create, then start):
# a process detached from create, attached before create returns, that writes the report to
# the --log when the container exits; delete stops it and nothing of it is left.
tracers_of() {
    pgrep -f -- "--root $ROOT .*trace $1 --report-on-exit" || true
}

@test "the annotation under create/start: a detached tracer reports to the --log at exit" {
    cfg '.root.readonly = false
         | .process.args = ["/bin/sh", "-c", "while [ ! -e /go ]; do sleep 0.1; done; /bin/probe syscalls settimeofday"]
         | .annotations["run.caprun.trace-eperm"] = "true"'
    local log="$TMP/log.json"
    "$CAPRUN" --root "$ROOT" --log "$log" --log-format json create --bundle "$BUNDLE" "$ID" \
        </dev/null >"$TMP/out" 2>&1
    local tracer
    tracer=$(tracers_of "$ID")
    [ -n "$tracer" ]
    # It holds none of the caller's stdio (a shim waits for EOF on those pipes): /dev/null.
    [ "$(readlink /proc/$tracer/fd/0 /proc/$tracer/fd/1 /proc/$tracer/fd/2 | sort -u)" = /dev/null ]
    # Its own session, not in the container's cgroup.
    [ "$(ps -o sid= -p "$tracer" | tr -d ' ')" = "$tracer" ]
    ! grep -qx "$tracer" "$(jq -r '.cgroupPaths.unified' "$ROOT/$ID/state.json")/cgroup.procs" || false
    "$CAPRUN" --root "$ROOT" --log "$log" --log-format json start "$ID"
    touch "$BUNDLE/rootfs/go"
    local i
    for i in $(seq 1 100); do
        grep -q 'settimeofday failed with EPERM' "$log" && break
        sleep 0.1
    done
    cat "$log"
    grep 'settimeofday failed with EPERM' "$log" | grep -q 'capability: the kernel checked CAP_SYS_TIME'
    # Its container gone, the tracer ended by itself; delete has nothing left to stop.
    for i in $(seq 1 50); do [ -z "$(tracers_of "$ID")" ] && break; sleep 0.1; done
    [ -z "$(tracers_of "$ID")" ]
    "$CAPRUN" --root "$ROOT" --log "$log" --log-format json delete "$ID"

    # Created and deleted without ever starting: delete stops the tracer (SIGTERM), which
    # reports that nothing failed, and no tracer is left.
    rm -f "$BUNDLE/rootfs/go"
    "$CAPRUN" --root "$ROOT" --log "$log" --log-format json create --bundle "$BUNDLE" "$ID-2" \
        </dev/null >"$TMP/out" 2>&1
    [ -n "$(tracers_of "$ID-2")" ]
    "$CAPRUN" --root "$ROOT" --log "$log" --log-format json delete --force "$ID-2"
    [ -z "$(tracers_of "$ID-2")" ]
    [ "$(grep -c 'trace-eperm: no syscall of the container failed' "$log")" -eq 1 ]
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
