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

# write_k8s_config DIR CAPRUN CAPRUN-ROOT RUNC RUNC-ROOT SYSTEMD-CGROUP: DIR/config.toml for a
# private containerd (root, state, sockets, CNI config under DIR) with the doc's caprun
# handler and a runc one, and DIR/cni-conf with the bridge + host-local network (its IPAM
# state under DIR too). $HANDLER names the caprun handler.
write_k8s_config() {
    local dir="$1" caprun="$2" caprun_root="$3" runc="$4" runc_root="$5" systemd="$6"
    mkdir -p "$dir/cni-conf" "$dir/logs"
    local handler
    handler="$(doc_handler_config "$caprun" "$caprun_root" "$systemd")"
    grep -qF "[plugins.\"io.containerd.grpc.v1.cri\".containerd.runtimes.$HANDLER]" <<<"$handler" || {
        echo "docs/kubernetes.md: the handler snippet is not runtimes.$HANDLER" >&2
        return 1
    }
    cat >"$dir/config.toml" <<EOT
version = 2
root = "$dir/root"
state = "$dir/state"
disabled_plugins = ["io.containerd.snapshotter.v1.btrfs", "io.containerd.snapshotter.v1.zfs",
  "io.containerd.snapshotter.v1.devmapper", "io.containerd.snapshotter.v1.aufs"]
[grpc]
  address = "$dir/containerd.sock"
[ttrpc]
  address = "$dir/containerd.sock.ttrpc"
[debug]
  address = "$dir/debug.sock"
[plugins."io.containerd.grpc.v1.cri"]
  sandbox_image = "$PAUSE_IMAGE"
  stream_server_address = "127.0.0.1"
  stream_server_port = "0"
  netns_mounts_under_state_dir = true
  enable_selinux = false
  [plugins."io.containerd.grpc.v1.cri".cni]
    bin_dir = "/usr/lib/cni"
    conf_dir = "$dir/cni-conf"
  [plugins."io.containerd.grpc.v1.cri".containerd]
    snapshotter = "overlayfs"
    default_runtime_name = "runc"
  [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc]
    runtime_type = "io.containerd.runc.v2"
  [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc.options]
    BinaryName = "$runc"
    Root = "$runc_root"
$handler
EOT
    cat >"$dir/cni-conf/10-caprun-test.conflist" <<EOT
{
  "cniVersion": "0.4.0",
  "name": "caprun-test",
  "plugins": [
    {"type": "bridge", "bridge": "cnicaprun0", "isGateway": true, "ipMasq": false,
     "ipam": {"type": "host-local", "dataDir": "$dir/cni-ipam",
              "ranges": [[{"subnet": "10.233.71.0/24"}]], "routes": [{"dst": "0.0.0.0/0"}]}}
  ]
}
EOT
}

# start_k8s_node DIR DROP: the node's containerd (DIR/config.toml), its pid in
# DIR/containerd.pid: under capsh without the capabilities DROP (a capsh --drop list; empty
# for none), so that the node is poorer than this host, and in a network namespace of its own (lo up, for
# the CRI streaming server on 127.0.0.1), so that pods' networks touch nothing of the host's.
start_k8s_node() {
    local dir="$1" drop="$2"
    : >"$dir/crictl.yaml"
    (
        # No descriptor of the test's goes along (bats' own, the shared test lock): the
        # daemon and its shims would hold them.
        for fd in $(ls "/proc/$BASHPID/fd"); do
            [ "$fd" -gt 2 ] && eval "exec $fd>&-"
        done
        [ -n "$drop" ] || exec unshare --net sh -c 'ip link set lo up && exec containerd --config "$0"' "$dir/config.toml"
        exec capsh --drop="$drop" -- -c "exec unshare --net sh -c 'ip link set lo up && exec containerd --config \"\$0\"' '$dir/config.toml'"
    ) >"$dir/containerd.log" 2>&1 </dev/null &
    echo $! >"$dir/containerd.pid"
}

# crictl against the node at $T (its socket $SOCK), in the node's network namespace (where
# the streaming server of exec listens).
cri() {
    nsenter --net="/proc/$(cat "$T/containerd.pid")/ns/net" \
        "$CRICTL" --config "$T/crictl.yaml" --runtime-endpoint "unix://$SOCK" \
        --image-endpoint "unix://$SOCK" --timeout 60s "$@"
}
