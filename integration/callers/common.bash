# Shared by the real-caller tests: a busybox+probe rootfs, a private temp dir, and
# helpers to stop daemons by pid and to check that nothing is left behind.
# Needs (Debian packages): containerd, docker.io, podman, jq, busybox-static.

source "$BATS_TEST_DIRNAME/../lib.bash"

# The snippet NAME of docs/callers.md: the fenced block after its "<!-- snippet: NAME -->"
# line. The tests configure their callers with it, so the doc shows what was run. Fails
# when the doc has no such snippet.
doc_snippet() {
    local doc="$BATS_TEST_DIRNAME/../../docs/callers.md" text
    text="$(awk -v marker="<!-- snippet: $1 -->" '
        $0 == marker { found = 1; next }
        found && /^```/ { if (inside) exit; inside = 1; next }
        inside { print }' "$doc")"
    [ -n "$text" ] || { echo "docs/callers.md has no snippet $1" >&2; return 1; }
    printf '%s\n' "$text"
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

# caprun as it behaves on a host whose bounding set lacks some capabilities, whatever this
# machine has: writes a wrapper script at $1 that drops $2 (a capsh --drop list) and then
# runs caprun. Callers remove caprun's --log file with the container, so the wrapper
# appends each call's log to $1.log for the test to read caprun's warnings.
make_poorer_runtime() {
    local wrapper="$1" drop="$2"
    cat >"$wrapper" <<EOT
#!/bin/bash
log="" prev=""
for a in "\$@"; do
    [ "\$prev" = --log ] && log="\$a"
    case "\$a" in --log=*) log="\${a#--log=}" ;; esac
    prev="\$a"
done
capsh --drop=$drop -- -c 'exec "\$0" "\$@"' "$CAPRUN" "\$@"
rc=\$?
[ -n "\$log" ] && [ -f "\$log" ] && cat "\$log" >>"$wrapper.log"
exit \$rc
EOT
    chmod +x "$wrapper"
}

# The warnings in a JSON log file of caprun's ($1; a make_poorer_runtime wrapper's copies
# are in <wrapper>.log).
logged_warnings() {
    [ -f "$1" ] || return 0
    jq -r 'select(.level == "warn") | .msg' "$1"
}

# Cgroup directories a test left: new since setup_file (CGROUPS_BEFORE), except those the
# caller keeps for itself, matched by the extended regex $CALLER_OWN_CGROUPS (podman's
# conmon cgroup). Removes what it reports, so the next test starts clean.
check_cgroups_left() {
    local left cleanup
    # A container without linux.cgroupsPath leaves the shared caprun/ parent for the next
    # one; the explicit cleanup removes it once unused.
    cleanup="$("$CAPRUN" cleanup 2>&1)" || { echo "caprun cleanup failed: $cleanup" >&2; return 1; }
    left="$(new_cgroup_dirs "$CGROUPS_BEFORE")"
    [ -n "${CALLER_OWN_CGROUPS:-}" ] && left="$(grep -Ev "$CALLER_OWN_CGROUPS" <<<"$left" || true)"
    [ -z "$left" ] && return 0
    remove_cgroup_dirs "$left"
    echo "cgroups left: $(echo $left)" >&2
    return 1
}

# The strict/lenient pair every caller suite runs, on a host that lacks CAP_SYS_RESOURCE
# (the capsh-dropped wrapper $poor, logging to $poor.log). `launch POLICY NAME ARGS...` runs
# the caller with that policy (an annotation or a runtime name) and the capability added.
# Strict fails naming the capability and the set; lenient runs without it, the rest held,
# and warns in caprun's log.
check_strict_lenient() {
    local launch="$1" poor="$2"
    run "$launch" strict /bin/true
    [ "$status" -ne 0 ]
    [[ "$output" == *CAP_SYS_RESOURCE*"bounding set"* ]]
    rm -f "$poor.log"
    run "$launch" lenient /bin/probe
    [ "$status" -eq 0 ]
    # (`! cmd` would not fail the test: set -e ignores a negated command.)
    has_cap_bit "$(jq -r .caps.CapEff <<<"$output")" 24 && return 1
    has_cap_bit "$(jq -r .caps.CapEff <<<"$output")" 18  # CAP_SYS_CHROOT: the rest holds
    logged_warnings "$poor.log" | grep -q CAP_SYS_RESOURCE
}

# check_strict_lenient launchers: ctr through the wrapper $RUNTIME, and docker through the
# caprun-strict / caprun-lenient runtimes dockerd was given.
ctr_with_policy() {
    ctr_run --rm --annotation "run.caprun.cap-policy=$1" --cap-add CAP_SYS_RESOURCE -- "ctr-$1" "$2"
}
docker_with_policy() {
    drun --runtime "caprun-$1" --cap-add SYS_RESOURCE caprun-test:1 "$2"
}
