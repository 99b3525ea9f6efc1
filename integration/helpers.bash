# Shared by the container bats files: a busybox rootfs with caprun's probe, bundles made
# with `caprun spec` and jq edits, a private state root per test, and a teardown that
# fails the test when anything is left behind (state dirs, processes, cgroups, mounts).
#
# Needs (Debian packages): busybox-static, jq, libcap2-bin (capsh, setcap), bats.

source "$BATS_TEST_DIRNAME/lib.bash"

setup_file() {
    [ "$(id -u)" = 0 ] || skip "container tests run as root"
    [ -x "$CAPRUN" ] || { echo "caprun not built at $CAPRUN" >&2; return 1; }
    [ -x "$PROBE" ] || { echo "probe not built at $PROBE" >&2; return 1; }
    # A rootfs template built once per file; each test copies it (tests change their copy).
    export ROOTFS_TEMPLATE="$BATS_FILE_TMPDIR/rootfs"
    make_rootfs "$ROOTFS_TEMPLATE"
}

# Per test: $TMP, $BUNDLE (rootfs + default config.json running the probe), $ROOT (state),
# $ID (a container id unique to this test), and the host's mount table before the test.
setup() {
    setup_bundle "it"
}

# setup's work, for suites that do more in their own setup: $1 prefixes the container id.
setup_bundle() {
    TMP="$(mktemp -d /tmp/caprun-it.XXXXXX)"
    BUNDLE="$TMP/bundle"
    ROOT="$TMP/state"
    ID="$1-$$-$BATS_TEST_NUMBER"
    mkdir -p "$BUNDLE"
    cp -a "$ROOTFS_TEMPLATE" "$BUNDLE/rootfs"
    "$CAPRUN" spec --bundle "$BUNDLE"
    cfg '.process.terminal = false | .process.args = ["/bin/probe"]'
    MOUNTS_BEFORE="$(mount_table)"
    CGROUPS_BEFORE="$(cgroup_dirs)"
}

# The host's mounts as "mountpoint fstype" lines, sorted (ids and peers vary). Mounts of
# other tools' private trees (other temp dirs, docker/containerd/podman state) are left
# out: other test suites may be running containers on this host at the same time.
mount_table() {
    awk '{ for (i = 7; $i != "-"; i++); print $5, $(i + 1) }' /proc/self/mountinfo |
        awk -v mine="$TMP" 'index($1, mine) == 1 || ($1 !~ /^\/tmp\// && $1 !~ /^\/(run|var\/lib)\/(docker|containerd|containers|netns|libpod|user)/)' |
        sort
}

# Edits $BUNDLE/config.json with a jq filter: cfg '.process.args = ["/bin/true"]'
cfg() {
    local f="$BUNDLE/config.json"
    jq "$@" "$f" >"$f.new" && mv "$f.new" "$f"
}

# caprun with this test's state root, run from the bundle directory (the default bundle).
caprun() {
    (cd "$BUNDLE" && exec "$CAPRUN" --root "$ROOT" "$@")
}

# caprun in the background; RUNNER is caprun's own pid (signals go straight to it).
caprun_bg() {
    (cd "$BUNDLE" && exec "$CAPRUN" --root "$ROOT" "$@") &
    RUNNER=$!
}

# Leftovers make the test fail, after removing them so the next test starts clean.
teardown() {
    check_leftovers
}

# State dirs, processes, cgroups and host mounts a test left behind: removed, then reported
# (status 1). The state root's seccomp-cache is caprun's, not a container's.
check_leftovers() {
    local problems=""
    local d pid
    if [ -d "$ROOT" ]; then
        for d in "$ROOT"/*/; do
            [ -d "$d" ] || continue
            [ "$(basename "$d")" = seccomp-cache ] && continue
            problems+="state dir left: $d; "
            pid=$(jq -r '.pid // 0' "$d/state.json" 2>/dev/null || echo 0)
            if [ "${pid:-0}" -gt 0 ] && [ -d "/proc/$pid" ]; then
                problems+="process left: $pid; "
                kill -9 "$pid" 2>/dev/null || true
            fi
            "$CAPRUN" --root "$ROOT" delete --force "$(basename "$d")" >/dev/null 2>&1 || true
        done
    fi
    # delete keeps the shared caprun/ parent cgroups for the next container; the explicit
    # cleanup removes them once unused (a container's leftover cgroup keeps its parent, and
    # both are reported below).
    local cgroups cleanup
    cleanup="$("$CAPRUN" cleanup 2>&1)" || problems+="caprun cleanup failed: $cleanup; "
    cgroups="$(new_cgroup_dirs "$CGROUPS_BEFORE")"
    if [ -n "$cgroups" ]; then
        problems+="cgroups left: $(echo $cgroups); "
        remove_cgroup_dirs "$cgroups"
    fi
    local after
    after="$(mount_table)"
    if [ "$after" != "$MOUNTS_BEFORE" ]; then
        problems+="host mount table changed: $(diff <(echo "$MOUNTS_BEFORE") <(echo "$after") | grep '^[<>]' | tr '\n' ' '); "
    fi
    rm -rf "$TMP"
    if [ -n "$problems" ]; then
        echo "teardown: $problems" >&2
        return 1
    fi
}

# Value of a key in the probe's JSON output (first line of $output unless given).
json_get() {
    local filter="$1" text="${2:-$output}"
    jq -r "$filter" <<<"$text"
}

# The capability bit mask (16 hex digits, as /proc/self/status shows) of capability names.
cap_mask() {
    local n mask=0 name num
    for name in "$@"; do
        num=$(capsh --explain="$name" 2>/dev/null | sed -n '1s/^[a-z_]* (\([0-9]*\)).*/\1/p')
        [ -n "$num" ] || { echo "unknown capability $name" >&2; return 1; }
        mask=$((mask | (1 << num)))
    done
    printf '%016x\n' "$mask"
}
