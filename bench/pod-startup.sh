#!/usr/bin/env bash
# Pod start-up through Kubernetes' path: crictl -> a private containerd 1.6 (CRI) -> the runc
# v2 shim -> the runtime, with caprun and runc as the handler side by side in one run
# (alternating, so both see the same machine). One start is RunPodSandbox + CreateContainer
# + StartContainer of a busybox container (`sleep`) until crictl reports it running; the pod
# is removed after each. Prints the median and the spread of RUNS starts each; asserts
# nothing (a benchmark, not a test). Run as root after ./scripts/setup.sh and a build.
#
#   RUNS=20 bench/pod-startup.sh
#
# The node is set up as integration/callers/kubernetes.bats does (the doc's handler,
# offline images, containerd in a network namespace of its own). On a node whose bounding
# set lacks CAP_SYS_RESOURCE, runc fails every pod sandbox (containerd's oomScoreAdj -998);
# there both runtimes run behind the same small wrapper that removes process.oomScoreAdj
# from the sandbox's config.json before `create`, so that runc can be measured at all and
# both pay the same extra cost. The note printed says whether that was the case.
set -euo pipefail
here="$(cd "$(dirname "$0")/.." && pwd)"
export CAPRUN="${CAPRUN:-$here/build/src/cli/caprun}"
export CAPRUN_PROBE="${CAPRUN_PROBE:-$here/build/integration/probe/caprun-probe}"
runs="${RUNS:-20}"
source "$here/integration/lib.bash"
source "$here/integration/callers/kubernetes.bash"
for tool in containerd ctr runc capsh jq "$CRICTL" "$PAUSE_EXE"; do
    command -v "$tool" >/dev/null || { echo "bench: $tool is missing" >&2; exit 1; }
done
HANDLER="$(doc_handler)"
export T
T="$(mktemp -d /tmp/caprun-podbench.XXXXXX)"
SOCK="$T/containerd.sock"
[ -d /run/containerd ] && run_containerd_existed=1 || run_containerd_existed=0
[ -d /var/lib/cni ] && var_lib_cni_existed=1 || var_lib_cni_existed=0
cleanup() {
    cri rmp -fa >/dev/null 2>&1 || true
    local pid
    pid="$(cat "$T/containerd.pid" 2>/dev/null || true)"
    if [ -n "$pid" ]; then
        kill -TERM "$pid" 2>/dev/null || true
        for _ in $(seq 1 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
        kill -KILL "$pid" 2>/dev/null || true
    fi
    [ "$run_containerd_existed" = 1 ] || rm -rf /run/containerd
    [ "$var_lib_cni_existed" = 1 ] || rm -rf /var/lib/cni
    rm -rf "$T"
}
trap cleanup EXIT

# The same wrapper for both runtimes when the node cannot lower an oom score.
node_bnd="$(awk '$1 == "CapBnd:" {print $2}' /proc/self/status)"
clamp=0
(( (16#$node_bnd >> 24) & 1 )) || clamp=1
runtime_for() {
    local bin="$1" name="$2"
    if [ "$clamp" = 0 ]; then echo "$bin"; return; fi
    cat >"$T/$name" <<EOT
#!/bin/bash
# Removes process.oomScoreAdj from the bundle before create (see bench/pod-startup.sh).
prev="" bundle=""
for a in "\$@"; do [ "\$prev" = --bundle ] && bundle="\$a"; prev="\$a"; done
if [ -n "\$bundle" ] && grep -q '"oomScoreAdj"' "\$bundle/config.json"; then
    jq -c 'del(.process.oomScoreAdj)' "\$bundle/config.json" >"\$bundle/config.json.new" &&
        mv "\$bundle/config.json.new" "\$bundle/config.json"
fi
exec "$bin" "\$@"
EOT
    chmod +x "$T/$name"
    echo "$T/$name"
}
write_k8s_config "$T" "$(runtime_for "$CAPRUN" caprun-wrapped)" "$T/caprun-root" \
    "$(runtime_for "$(command -v runc)" runc-wrapped)" "$T/runc-root" false
start_k8s_node "$T" ""
for _ in $(seq 1 300); do ctr --address "$SOCK" version >/dev/null 2>&1 && break; sleep 0.1; done
make_k8s_images "$T" "$SOCK"

jq -n --arg image "$BUSYBOX_IMAGE" '{metadata: {name: "bench"}, image: {image: $image},
    command: ["/bin/sleep", "1000"], linux: {}}' >"$T/ctr.json"
# One pod start with handler $1, in nanoseconds.
start_once() {
    local i="$2" t0 t1 pod id
    jq -n --arg n "bench-$1-$i" --arg logs "$T/logs" '{metadata: {name: $n, namespace: "bench",
        uid: $n, attempt: 0}, log_directory: $logs,
        linux: {security_context: {namespace_options: {network: 2}}}}' >"$T/pod.json"
    t0="$(date +%s%N)"
    pod="$(cri runp --runtime "$1" "$T/pod.json")"
    id="$(cri create "$pod" "$T/ctr.json" "$T/pod.json")"
    cri start "$id" >/dev/null
    [ "$(cri inspect "$id" | jq -r .status.state)" = CONTAINER_RUNNING ]
    t1="$(date +%s%N)"
    cri rmp -f "$pod" >/dev/null
    echo $((t1 - t0))
}
start_once "$HANDLER" warmup >/dev/null
start_once runc warmup >/dev/null
: >"$T/caprun.ns"
: >"$T/runc.ns"
for i in $(seq 1 "$runs"); do
    start_once "$HANDLER" "$i" >>"$T/caprun.ns"
    start_once runc "$i" >>"$T/runc.ns"
done
stats() { sort -n "$1" | awk '{ v[NR] = $1 } END {
    m = (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2
    printf "median %7.1f ms   min %7.1f ms   max %7.1f ms", m / 1e6, v[1] / 1e6, v[NR] / 1e6 }'; }
echo "pod start-up (RunPodSandbox + CreateContainer + StartContainer), $runs runs each, alternating:"
echo "  caprun: $(stats "$T/caprun.ns")"
echo "  runc:   $(stats "$T/runc.ns")"
if [ "$clamp" = 1 ]; then
    echo "note: this node lacks CAP_SYS_RESOURCE: both runtimes ran behind the wrapper that drops the sandbox's oomScoreAdj (runc fails every pod otherwise)"
fi
