# Shared by the real-caller tests: a busybox+probe rootfs, a private temp dir, and
# helpers to stop daemons by pid and to check that nothing is left behind.
# Needs (Debian packages): containerd, docker.io, podman, jq, busybox-static.

CAPRUN="${CAPRUN:-$BATS_TEST_DIRNAME/../../build/src/cli/caprun}"
PROBE="${CAPRUN_PROBE:-$BATS_TEST_DIRNAME/../../build/integration/probe/caprun-probe}"
CAPRUN="$(readlink -f "$CAPRUN")"
PROBE="$(readlink -f "$PROBE")"

make_rootfs() {
    local dir="$1" applet
    mkdir -p "$dir"/{bin,proc,sys,dev,tmp,etc,root,run}
    chmod 1777 "$dir/tmp"
    cp /bin/busybox "$dir/bin/busybox"
    for applet in $(/bin/busybox --list); do
        [ -e "$dir/bin/$applet" ] || ln -s busybox "$dir/bin/$applet"
    done
    cp "$PROBE" "$dir/bin/probe"
    printf 'root:x:0:0:root:/root:/bin/sh\n' >"$dir/etc/passwd"
    printf 'root:x:0:\n' >"$dir/etc/group"
}

# Waits (bounded) until "$@" succeeds.
wait_until() {
    local i
    for i in $(seq 1 300); do
        "$@" >/dev/null 2>&1 && return 0
        sleep 0.1
    done
    echo "timed out waiting for: $*" >&2
    return 1
}

# Stops a daemon we started, by its pid: SIGTERM, then SIGKILL if it lingers.
stop_pid() {
    local pid="$1" i
    [ -n "$pid" ] || return 0
    kill -TERM "$pid" 2>/dev/null || return 0
    for i in $(seq 1 100); do
        kill -0 "$pid" 2>/dev/null || break
        sleep 0.1
    done
    kill -KILL "$pid" 2>/dev/null || true
    wait "$pid" 2>/dev/null || true
}

# The bit of a capability in a /proc/<pid>/status mask.
has_cap_bit() {
    local mask="$1" bit="$2"
    (( (16#$mask >> bit) & 1 ))
}

# Processes whose root directory is at or below $1 (containers from our rootfs).
leftover_processes() {
    local p
    for p in /proc/[0-9]*; do
        [[ "$(readlink "$p/root" 2>/dev/null)" == "$1"* ]] && echo "${p#/proc/}"
    done
    return 0
}
