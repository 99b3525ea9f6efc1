# Shared by every bats file (helpers.bash for caprun's own suites, callers/common.bash for
# the real callers): where caprun and the probe are, the test rootfs, and the checks that
# a test left nothing behind.

CAPRUN_REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
CAPRUN="$(readlink -f "${CAPRUN:-$CAPRUN_REPO/build/src/cli/caprun}")"
PROBE="$(readlink -f "${CAPRUN_PROBE:-$CAPRUN_REPO/build/integration/probe/caprun-probe}")"

# A busybox rootfs with the probe as /bin/probe (scripts/make-rootfs.sh, as the README's
# demo uses).
make_rootfs() {
    CAPRUN_PROBE="$PROBE" "$CAPRUN_REPO/scripts/make-rootfs.sh" "$1"
}

# Every cgroup directory on the host, one per line, sorted. Compared before and after a
# test; cgroup trees of systemd's slices are left out (other tools own them).
cgroup_dirs() {
    find /sys/fs/cgroup -mindepth 2 -type d \
        \( -name system.slice -o -name user.slice -o -name init.scope \) -prune -o \
        -type d -print 2>/dev/null | sort
}

# The cgroup directories that are not in the snapshot $1 (from cgroup_dirs), deepest first.
new_cgroup_dirs() {
    comm -13 <(echo "$1") <(cgroup_dirs) | sort -r
}

# Removes the directories given one per line (deepest first, as new_cgroup_dirs lists).
remove_cgroup_dirs() {
    local d
    while IFS= read -r d; do
        [ -n "$d" ] && rmdir "$d" 2>/dev/null || true
    done <<<"$1"
}

# Processes whose root directory is at or below $1 (containers from our rootfs).
# One find over every /proc/<pid>/root link (a readlink per process forked the test shell
# hundreds of times per check).
leftover_processes() {
    find /proc/[0-9]*/root -maxdepth 0 \( -lname "$1" -o -lname "$1/*" \) 2>/dev/null |
        cut -d/ -f3
    return 0
}

# What delete_module of a module that does not exist returns once the kernel's permission
# check passes: ENOENT from the module lookup, or ENOSYS on a kernel without module support.
delete_module_past_permission() {
    if [ -e /proc/modules ]; then echo ENOENT; else echo ENOSYS; fi
}

# `run -N` (bats 1.5) checks the status of every run; without this bats warns on each.
if declare -F bats_require_minimum_version >/dev/null; then
    bats_require_minimum_version 1.5.0
fi
