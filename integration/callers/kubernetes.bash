# The Kubernetes path for kubernetes.bats: a private containerd 1.6 with its CRI plugin, the
# caprun runtime handler read from docs/kubernetes.md, offline images, and crictl
# (../shared/bin/crictl) as the kubelet's stand-in.

CRICTL="$(readlink -f "$CAPRUN_REPO/../shared/bin/crictl" 2>/dev/null || true)"
K8S_DOC="$CAPRUN_REPO/docs/kubernetes.md"
PAUSE_EXE="$(readlink -f "${CAPRUN_PAUSE:-$(dirname "$PROBE")/../pause/caprun-pause}")"
PAUSE_IMAGE=localhost/caprun-pause:1
BUSYBOX_IMAGE=localhost/caprun-busybox:1

# The first fenced block of language $1 in docs/kubernetes.md.
doc_block() {
    awk -v fence="\`\`\`$1" '$0 == fence { on = 1; next } on && $0 == "```" { exit } on' "$K8S_DOC"
}

# The RuntimeClass's handler name, as the doc's RuntimeClass object gives it.
doc_handler() {
    doc_block yaml | awk '$1 == "handler:" { print $2 }'
}

# The doc's handler snippet with this test's caprun ($1), state root ($2) and cgroup driver
# ($3: true/false). Fails when a line the test must replace is missing from the doc.
doc_handler_config() {
    local snippet
    snippet="$(doc_block toml)"
    grep -q '^ *BinaryName = ' <<<"$snippet" && grep -q '^ *Root = ' <<<"$snippet" &&
        grep -q '^ *SystemdCgroup = ' <<<"$snippet" || {
        echo "docs/kubernetes.md: the handler snippet lacks BinaryName, Root or SystemdCgroup" >&2
        return 1
    }
    sed -e "s|^\( *\)BinaryName = .*|\1BinaryName = \"$1\"|" -e "s|^\( *\)Root = .*|\1Root = \"$2\"|" \
        -e "s|^\( *\)SystemdCgroup = .*|\1SystemdCgroup = $3|" <<<"$snippet"
}

# The two images in $1 (a work dir): the pause image from the project's own static program
# and busybox with the probe, plus /bin/probe-time holding cap_sys_time+ep for the
# non-root SYS_TIME story. Imported into containerd's k8s.io namespace at socket $2.
make_k8s_images() {
    local dir="$1" sock="$2"
    mkdir -p "$dir/pause-rootfs"
    cp "$PAUSE_EXE" "$dir/pause-rootfs/pause"
    "$CAPRUN_REPO/scripts/make-image-archive.sh" "$PAUSE_IMAGE" "$dir/pause-rootfs" "$dir/pause.tar" /pause
    make_rootfs "$dir/busybox-rootfs"
    cp "$dir/busybox-rootfs/bin/probe" "$dir/busybox-rootfs/bin/probe-time"
    setcap cap_sys_time+ep "$dir/busybox-rootfs/bin/probe-time"
    "$CAPRUN_REPO/scripts/make-image-archive.sh" "$BUSYBOX_IMAGE" "$dir/busybox-rootfs" "$dir/busybox.tar" /bin/sh
    ctr --address "$sock" -n k8s.io images import "$dir/pause.tar" >/dev/null
    ctr --address "$sock" -n k8s.io images import "$dir/busybox.tar" >/dev/null
}
