# A real systemd to run caprun's systemd cgroup driver against. This machine does not boot
# systemd, so systemd_host_boot boots one in a container: systemd-nspawn of the host's own
# OS, pure cgroup v2 (SYSTEMD_NSPAWN_UNIFIED_HIERARCHY=1). Tests run their commands inside
# it with nsenter (inside, as a transient service of that systemd; sysctl_in without one);
# systemd_host_teardown powers it off by pid and reports anything left on the outer host.
# Used by systemd.bats and callers/systemd_callers.bats, after lib.bash.
#
# Needs (Debian packages): systemd-container, passwd (useradd), util-linux (runuser).

# The outer host's mounts as "mountpoint fstype", sorted; other tools' private trees are left
# out (other suites may run containers meanwhile), as helpers.bash does.
outer_mounts() {
    awk '{ for (i = 7; $i != "-"; i++); print $5, $(i + 1) }' /proc/self/mountinfo |
        awk '$1 !~ /^\/tmp\// && $1 !~ /^\/(run|var\/lib)\/(docker|containerd|containers|netns|libpod|user)/' |
        sort
}

# Skips (returns 1 after `skip`) when this machine cannot boot the systemd host.
systemd_host_needs() {
    [ "$(id -u)" = 0 ] || skip "needs root"
    command -v systemd-nspawn >/dev/null || skip "systemd-nspawn not installed (Debian package systemd-container)"
    [ -x "$CAPRUN" ] || { echo "caprun not built at $CAPRUN" >&2; return 1; }
    # libsystemd is loaded on first use, so ldd does not show it: features says.
    "$CAPRUN" features | jq -e '.linux.cgroup.systemd' >/dev/null ||
        skip "caprun was built without libsystemd"
}

# "root controller" for each controller enabled in the subtree_control of the outer host's
# cgroup2 mounts.
outer_subtree_control() {
    local root
    for root in $(awk '$9 == "cgroup2" {print $5}' /proc/self/mountinfo); do
        # An empty list is no error (the bench runs this under pipefail).
        tr ' ' '\n' <"$root/cgroup.subtree_control" | { grep . || true; } | sed "s|^|$root |"
    done
}

# Boots the systemd host; its state (pid files, log, the outer host's cgroups and mounts
# before) goes to the directory $1, which is bind-mounted in, as are the checkout, caprun's
# directory and each further argument (a directory, at the same path). Exports
# SYSTEMD_HOST_DIR, NSPAWN_PID and SYSTEMD_PID (the host's pid 1 as seen from outside).
systemd_host_boot() {
    export SYSTEMD_HOST_DIR="$1"
    shift
    cgroup_dirs >"$SYSTEMD_HOST_DIR/cgroups.before"
    outer_mounts >"$SYSTEMD_HOST_DIR/mounts.before"
    # The systemd inside enables controllers in the cgroup2 root it is given (here the outer
    # host's, e.g. hugetlb on the hybrid layout), which then can no longer be mounted as a
    # v1 hierarchy: teardown disables what was not enabled before.
    outer_subtree_control >"$SYSTEMD_HOST_DIR/subtree.before"
    local binds=(--bind="$CAPRUN_REPO:$CAPRUN_REPO" --bind="$SYSTEMD_HOST_DIR:$SYSTEMD_HOST_DIR")
    [[ "$CAPRUN" == "$CAPRUN_REPO"/* ]] || binds+=(--bind="$(dirname "$CAPRUN")")
    local d
    for d in "$@"; do binds+=(--bind="$d:$d"); done
    # Its own session, stdio to a log: nspawn must not take over the test's terminal. Without
    # the extra system calls nspawn's own filter stops any runtime at the session keyring
    # or the eBPF device filter.
    SYSTEMD_NSPAWN_UNIFIED_HIERARCHY=1 setsid systemd-nspawn --keep-unit --register=no \
        --volatile=yes -D / --capability=all --console=passive \
        --machine="caprun-it-$$" \
        --system-call-filter='add_key keyctl request_key bpf perf_event_open' \
        "${binds[@]}" -b systemd.firstboot=off \
        </dev/null >"$SYSTEMD_HOST_DIR/nspawn.log" 2>&1 &
    export NSPAWN_PID=$!
    echo "$NSPAWN_PID" >"$SYSTEMD_HOST_DIR/nspawn.pid"
    local i state=""
    for ((i = 0; i < 1200; i++)); do
        SYSTEMD_PID=$(ps -o pid= --ppid "$NSPAWN_PID" 2>/dev/null | head -1 | tr -d ' ')
        if [ -n "$SYSTEMD_PID" ]; then
            state=$(nsenter -t "$SYSTEMD_PID" -a systemctl is-system-running 2>/dev/null || true)
            [ "$state" = running ] || [ "$state" = degraded ] && break
        fi
        kill -0 "$NSPAWN_PID" 2>/dev/null || break
        sleep 0.1
    done
    if [ "$state" != running ] && [ "$state" != degraded ]; then
        echo "the systemd host did not come up (state '$state'):" >&2
        cat "$SYSTEMD_HOST_DIR/nspawn.log" >&2
        return 1
    fi
    export SYSTEMD_PID
}

# Powers the systemd host off (SIGKILL to nspawn if it lingers), waits for it by pid, and
# fails when it left cgroups (only those matching the extended regex $1 besides nspawn's
# own, which other suites cannot make) or mounts on the outer host.
systemd_host_teardown() {
    local ours="$1" pid
    [ -n "${SYSTEMD_HOST_DIR:-}" ] || return 0
    pid=$(cat "$SYSTEMD_HOST_DIR/nspawn.pid" 2>/dev/null) || return 0
    if kill -0 "$pid" 2>/dev/null; then
        [ -n "${SYSTEMD_PID:-}" ] && nsenter -t "$SYSTEMD_PID" -a systemctl poweroff 2>/dev/null || true
        local i
        for ((i = 0; i < 600 && $(kill -0 "$pid" 2>/dev/null && echo 1 || echo 0); i++)); do sleep 0.1; done
        # The host's pid 1 outlives a killed nspawn: SIGKILL to it ends its whole pid
        # namespace.
        [ -n "${SYSTEMD_PID:-}" ] && kill -KILL "$SYSTEMD_PID" 2>/dev/null || true
        kill -KILL "$pid" 2>/dev/null || true
        while kill -0 "$pid" 2>/dev/null; do sleep 0.1; done
    fi
    if [ -n "${SYSTEMD_PID:-}" ]; then
        while kill -0 "$SYSTEMD_PID" 2>/dev/null; do sleep 0.1; done
    fi
    # nspawn without a systemd outside (--keep-unit) leaves its own payload/ and supervisor/
    # cgroups next to it, where it ran (here the root of each hierarchy it uses): they are
    # empty now and removed when this run made them.
    local problems="" left d h
    for h in $(awk '$9 == "cgroup" || $9 == "cgroup2" {print $5}' /proc/self/mountinfo); do
        for d in "$h/payload" "$h/supervisor"; do
            [ -d "$d" ] && ! grep -qxF "$d" "$SYSTEMD_HOST_DIR/cgroups.before" &&
                find "$d" -depth -type d -exec rmdir {} \; 2>/dev/null
        done
    done
    local root ctl
    while read -r root ctl; do
        grep -qxF "$root $ctl" "$SYSTEMD_HOST_DIR/subtree.before" && continue
        echo "-$ctl" >"$root/cgroup.subtree_control" 2>/dev/null ||
            problems+="could not disable $ctl in $root/cgroup.subtree_control again; "
    done < <(outer_subtree_control)
    # Only what this file could have made counts: other suites create and remove their own
    # cgroups on the outer host during these minutes, and those are not ours to remove.
    left=$(comm -13 "$SYSTEMD_HOST_DIR/cgroups.before" <(cgroup_dirs) |
        grep -E "/(payload|supervisor)(/|\$)|$ours" | sort -r)
    if [ -n "$left" ]; then
        problems+="cgroups left on the outer host: $(echo $left); "
        remove_cgroup_dirs "$left"
    fi
    if [ "$(outer_mounts)" != "$(cat "$SYSTEMD_HOST_DIR/mounts.before")" ]; then
        problems+="outer mount table changed: $(diff "$SYSTEMD_HOST_DIR/mounts.before" <(outer_mounts) | grep '^[<>]' | tr '\n' ' '); "
    fi
    if [ -n "$problems" ]; then
        echo "systemd host teardown: $problems" >&2
        return 1
    fi
}

# A command inside the systemd host, as a transient service of its own (its cgroup is in
# that systemd's tree, so systemd can move a container's init into a scope); stdio is
# piped through, the exit status returned.
inside() {
    nsenter -t "$SYSTEMD_PID" -a systemd-run --quiet --wait --pipe --collect \
        --service-type=exec -- "$@"
}

# Inside, without a service around it (for systemctl and reading files).
sysctl_in() {
    nsenter -t "$SYSTEMD_PID" -a "$@"
}

# An ordinary user $1 inside the systemd host, with a lingering manager (systemd --user stays
# up between commands, as on a workstation with a session open) and its own copy of caprun
# (the checkout's parents need not be open to it). The host's /etc is fresh: it gets the
# outer host's PAM configuration, which user@.service needs. Everything is inside the
# volatile systemd host and goes with it. Exports SD_USER, SD_UID, U_CAPRUN.
systemd_host_add_user() {
    export SD_USER="$1"
    tar -C /etc -c pam.d security login.defs | sysctl_in tar -C /etc -x
    sysctl_in useradd --create-home --shell /bin/sh "$SD_USER"
    export SD_UID="$(sysctl_in id -u "$SD_USER")"
    sysctl_in loginctl enable-linger "$SD_USER"
    local i
    for ((i = 0; i < 300; i++)); do
        sysctl_in systemctl is-active --quiet "user@$SD_UID.service" &&
            sysctl_in test -S "/run/user/$SD_UID/bus" && break
        sleep 0.1
    done
    sysctl_in systemctl is-active "user@$SD_UID.service" >/dev/null ||
        { echo "user@$SD_UID.service did not start in the systemd host" >&2; return 1; }
    export U_CAPRUN="/opt/caprun-user/caprun"
    sysctl_in install -D -m 0755 "$CAPRUN" "$U_CAPRUN"
}

# A command inside the systemd host as its user (systemd_host_add_user), with the session's
# XDG_RUNTIME_DIR: the user bus and caprun's rootless state root.
as_user() {
    sysctl_in runuser -u "$SD_USER" -- env XDG_RUNTIME_DIR="/run/user/$SD_UID" "$@"
}
