#!/usr/bin/env bats
# caprun on a Kubernetes node's path: crictl (the kubelet's stand-in) -> a private
# containerd 1.6 and its CRI plugin -> the runc v2 shim -> caprun, with the runtime handler
# and RuntimeClass read from docs/kubernetes.md. One containerd for the whole file, started
# under capsh without CAP_SYS_MODULE (this machine already lacks CAP_SYS_RESOURCE) inside a
# network namespace of its own, so the node is poorer than the host and no host interface,
# route or iptables rule is touched. Images are built offline from the repository
# (scripts/make-image-archive.sh) and imported; nothing is pulled.
#
# Needs (Debian packages): containerd, containernetworking-plugins, libcap2-bin, jq,
# busybox-static; and ../shared/bin/crictl.

bats_require_minimum_version 1.5.0

load common
source "$BATS_TEST_DIRNAME/kubernetes.bash"

setup_file() {
    # The QoS-level cgroups are the kubelet's: it makes them once and keeps them. Every pod's
    # and container's cgroup below them is still checked after each test (teardown_file
    # removes these two).
    export CALLER_OWN_CGROUPS='/kubepods(/besteffort)?$'
    [ "$(id -u)" = 0 ] || skip "needs root"
    command -v containerd >/dev/null || skip "containerd not installed (apt install containerd)"
    [ -x "$CRICTL" ] || skip "no crictl at ../shared/bin/crictl"
    [ -x /usr/lib/cni/bridge ] || skip "no CNI plugins (apt install containernetworking-plugins)"
    export T="$(mktemp -d /tmp/caprun-k8s.XXXXXX)"
    export SOCK="$T/containerd.sock" CAPRUN_ROOT="$T/caprun-root" RUNC_ROOT="$T/runc-root"
    export HANDLER="$(doc_handler)"
    [ -n "$HANDLER" ] || { echo "docs/kubernetes.md: no handler in the RuntimeClass" >&2; return 1; }
    export CGROUPS_BEFORE="$(cgroup_dirs)"
    export HOST_NET_BEFORE="$(host_network)"
    [ -d /run/containerd ] && export RUN_CONTAINERD_EXISTED=1 || export RUN_CONTAINERD_EXISTED=0
    [ -d /var/lib/cni ] && export VAR_LIB_CNI_EXISTED=1 || export VAR_LIB_CNI_EXISTED=0
    write_k8s_config "$T" "$CAPRUN" "$CAPRUN_ROOT" /usr/sbin/runc "$RUNC_ROOT" false
    start_k8s_node "$T" cap_sys_module
    wait_until ctr --address "$SOCK" version
    make_k8s_images "$T" "$SOCK"
}

teardown_file() {
    [ -n "${T:-}" ] || return 0
    cri rmp -fa >/dev/null 2>&1 || true
    stop_pid "$(cat "$T/containerd.pid" 2>/dev/null)"
    local left
    left="$(leftover_processes "$T")"
    remove_cgroup_dirs "$(new_cgroup_dirs "$CGROUPS_BEFORE")"
    grep -F " $T/" /proc/self/mountinfo | awk '{print $5}' | sort -r | xargs -r -n1 umount -l 2>/dev/null || true
    [ "$RUN_CONTAINERD_EXISTED" = 1 ] || rm -rf /run/containerd
    [ "$VAR_LIB_CNI_EXISTED" = 1 ] || rm -rf /var/lib/cni
    rm -rf "$T"
    [ -z "$left" ] || { echo "processes left: $left" >&2; return 1; }
    [ "$(host_network)" = "$HOST_NET_BEFORE" ] || { echo "the host's network changed" >&2; return 1; }
}

# After each test: every pod removed, and nothing of caprun's left (state, cgroups, mounts,
# processes).
teardown() {
    cri rmp -fa >/dev/null 2>&1 || true
    check_nothing_left
}

# The host's interfaces, routes and iptables rules (what the test must not change).
host_network() {
    ip -o link show | awk '{print $2}'
    ip route show table all
    iptables-save 2>/dev/null | grep -v '^#'
}


check_nothing_left() {
    local left=""
    # (seccomp-cache is caprun's cache of compiled filters, kept for the next container.)
    [ -d "$CAPRUN_ROOT/k8s.io" ] && left="$(ls -A "$CAPRUN_ROOT/k8s.io" | grep -vx seccomp-cache || true)"
    [ -z "$left" ] || { echo "caprun state left: $left" >&2; return 1; }
    left="$(grep -F " $T/state/" /proc/self/mountinfo || true)"
    [ -z "$left" ] || { echo "mounts left: $left" >&2; return 1; }
    left="$(leftover_processes "$T/state")"
    [ -z "$left" ] || { echo "processes left: $left" >&2; return 1; }
    check_cgroups_left
}

# pod_json NAME [JQ-FILTER [JQ-ARGS...]]: a PodSandboxConfig, host network by default.
pod_json() {
    local name="$1" filter="${2:-.}"
    shift 2 || shift
    jq -n --arg name "$name" --arg logs "$T/logs/$name" '{
        metadata: {name: $name, namespace: "caprun-test", uid: ("uid-" + $name), attempt: 0},
        log_directory: $logs,
        linux: {cgroup_parent: ("/kubepods/besteffort/pod" + $name),
                security_context: {namespace_options: {network: 2}}}
    }' | jq "$@" "$filter" >"$T/$name.pod.json"
    echo "$T/$name.pod.json"
}

# ctr_json NAME [JQ-FILTER [JQ-ARGS...]]: a ContainerConfig of the busybox image.
ctr_json() {
    local name="$1" filter="${2:-.}"
    shift 2 || shift
    jq -n --arg name "$name" --arg image "$BUSYBOX_IMAGE" '{
        metadata: {name: $name}, image: {image: $image},
        command: ["/bin/sleep", "1000"], log_path: ($name + ".log"), linux: {}
    }' | jq "$@" "$filter" >"$T/$name.ctr.json"
    echo "$T/$name.ctr.json"
}

# runp POD.json: RunPodSandbox under caprun's handler; prints the pod id.
runp() {
    cri runp --runtime "$HANDLER" "$1"
}

# start_in POD-ID CTR.json POD.json: CreateContainer + StartContainer; prints the id.
start_in() {
    local id
    id="$(cri create "$1" "$2" "$3")" || return 1
    cri start "$id" >/dev/null || { echo "$id"; return 1; }
    echo "$id"
}

# Waits until container $1 exited; prints its exit code.
exit_code() {
    wait_until sh -c "$(declare -f cri); T='$T' SOCK='$SOCK' CRICTL='$CRICTL'; cri inspect '$1' | jq -e '.status.state == \"CONTAINER_EXITED\"'"
    cri inspect "$1" | jq -r .status.exitCode
}

# The bundle the shim wrote for container $1 (under its state directory).
bundle_of() {
    echo "$T/state/io.containerd.runtime.v2.task/k8s.io/$1"
}

@test "kubernetes: the handler and RuntimeClass come from docs/kubernetes.md" {
    [ "$HANDLER" = caprun ]
    run -0 cri info
    [ "$(jq -r ".config.containerd.runtimes.\"$HANDLER\".options.BinaryName" <<<"$output")" = "$CAPRUN" ]
    [ "$(jq -c ".config.containerd.runtimes.\"$HANDLER\".PodAnnotations" <<<"$output")" = '["run.caprun.*"]' ]
    [ "$(jq -c ".config.containerd.runtimes.\"$HANDLER\".ContainerAnnotations" <<<"$output")" = '["run.caprun.*"]' ]
}

@test "kubernetes: the pod lifecycle as the kubelet drives it, and nothing left" {
    local pj cj pod id
    pj="$(pod_json life)"
    cj="$(ctr_json life '.command = ["/bin/sh", "-c", "trap \"echo got TERM; exit 7\" TERM; echo started; while :; do sleep 0.1; done"]')"
    run -0 runp "$pj"
    pod="$output"
    run -0 cri pods --id "$pod" -o json
    [ "$(jq -r '.items[0].state' <<<"$output")" = SANDBOX_READY ]
    [ "$(jq -r '.items[0].runtimeHandler' <<<"$output")" = "$HANDLER" ]
    # The sandbox runs under caprun: its state is in the handler's root.
    [ -d "$CAPRUN_ROOT/k8s.io/$pod" ]
    run -0 start_in "$pod" "$cj" "$pj"
    id="$output"
    [ -d "$CAPRUN_ROOT/k8s.io/$id" ]
    run -0 cri ps --id "$id" -o json
    [ "$(jq -r '.containers[0].state' <<<"$output")" = CONTAINER_RUNNING ]
    run -0 cri inspect "$id"
    [ "$(jq -r .status.state <<<"$output")" = CONTAINER_RUNNING ]
    [ "$(jq -r .info.runtimeType <<<"$output")" = io.containerd.runc.v2 ]
    # ExecSync, and streaming exec (with and without -s).
    run -0 cri exec -s "$id" /bin/sh -c 'echo exec-sync; exit 0'
    [ "$output" = exec-sync ]
    # ExecSync's exit code: crictl exits 1 and names it.
    run -1 cri exec -s "$id" /bin/sh -c 'exit 3'
    [[ "$output" == *"exited with 3"* ]]
    run -0 cri exec "$id" /bin/echo exec-stream
    [ "$output" = exec-stream ]
    wait_until sh -c "grep -q started '$T/logs/life/life.log'"
    run -0 cri logs "$id"
    [ "$output" = started ]
    # StopContainer: SIGTERM first (the trap exits 7).
    run -0 cri stop --timeout 10 "$id"
    [ "$(cri inspect "$id" | jq -r .status.exitCode)" = 7 ]
    run -0 cri logs "$id"
    [[ "$output" == *"got TERM"* ]]
    run -0 cri rm "$id"
    [ ! -e "$CAPRUN_ROOT/k8s.io/$id" ]
    # SIGKILL after the grace period when SIGTERM is ignored.
    cj="$(ctr_json life2 '.command = ["/bin/sh", "-c", "trap \"\" TERM; while :; do sleep 0.1; done"]')"
    run -0 start_in "$pod" "$cj" "$pj"
    id="$output"
    run -0 cri stop --timeout 1 "$id"
    [ "$(cri inspect "$id" | jq -r .status.exitCode)" = 137 ]
    run -0 cri rm "$id"
    # The exit code of a container that ends by itself.
    cj="$(ctr_json life3 '.command = ["/bin/sh", "-c", "exit 42"]')"
    run -0 start_in "$pod" "$cj" "$pj"
    id="$output"
    run -0 exit_code "$id"
    [ "$output" = 42 ]
    run -0 cri rm "$id"
    run -0 cri stopp "$pod"
    run -0 cri rmp "$pod"
    run -0 cri pods -q
    [ -z "$output" ]
    check_nothing_left
}

# The container's init as the host sees it: its /proc/<pid>/status line $2 ("CapEff").
status_field() {
    local pid
    pid="$(cri inspect "$1" | jq -r .info.pid)"
    awk -v k="$2:" '$1 == k { $1 = ""; sub(/^ /, ""); print }' "/proc/$pid/status"
}

# Fails unless the masks of container $1's init (/proc/<pid>/status) are exactly those
# `caprun check` predicts for the bundle containerd wrote, planned against the node's own
# sets (containerd's status: the shim and caprun inherit them).
masks_as_checked() {
    local id="$1" predicted key want got
    predicted="$("$CAPRUN" --host-status "/proc/$(cat "$T/containerd.pid")/status" check \
        --bundle "$(bundle_of "$id")" --format json | jq -c .capabilities.predicted.masks)"
    [ -n "$predicted" ] && [ "$predicted" != null ] || { echo "no prediction for $id" >&2; return 1; }
    for key in permitted:CapPrm effective:CapEff ambient:CapAmb inheritable:CapInh bounding:CapBnd; do
        want="$(jq -r ".${key%%:*}" <<<"$predicted")"
        got="$(status_field "$id" "${key#*:}")"
        [ "$want" = "$got" ] || { echo "$id: ${key#*:} $got, caprun check predicted $want" >&2; return 1; }
    done
}

# The capability numbers of a /proc status mask.
mask_bits() {
    local m=$((16#$1)) b out=""
    for b in $(seq 0 63); do (( (m >> b) & 1 )) && out+="$b "; done
    echo "${out% }"
}

@test "kubernetes: securityContext capabilities add/drop/ALL arrive as containerd wrote them" {
    local pj pod id
    pj="$(pod_json caps)"
    run -0 runp "$pj"
    pod="$output"
    # No securityContext: containerd's default set; no seccomp filter asked, none installed.
    run -0 start_in "$pod" "$(ctr_json plain)" "$pj"
    id="$output"
    masks_as_checked "$id"
    has_cap_bit "$(status_field "$id" CapEff)" 0   # CAP_CHOWN is in containerd's default
    [ "$(status_field "$id" Seccomp)" = 0 ]
    [ "$(status_field "$id" NoNewPrivs)" = 0 ]
    # add NET_ADMIN and SYS_TIME, drop CHOWN.
    run -0 start_in "$pod" "$(ctr_json adddrop '.linux.security_context.capabilities = {add_capabilities: ["NET_ADMIN", "SYS_TIME"], drop_capabilities: ["CHOWN"]}')" "$pj"
    id="$output"
    masks_as_checked "$id"
    has_cap_bit "$(status_field "$id" CapEff)" 12
    has_cap_bit "$(status_field "$id" CapEff)" 25
    has_cap_bit "$(status_field "$id" CapBnd)" 0 && return 1
    # drop ALL, add NET_BIND_SERVICE: that one alone, in every set of root's.
    run -0 start_in "$pod" "$(ctr_json dropall '.linux.security_context.capabilities = {add_capabilities: ["NET_BIND_SERVICE"], drop_capabilities: ["ALL"]}')" "$pj"
    id="$output"
    masks_as_checked "$id"
    [ "$(mask_bits "$(status_field "$id" CapEff)")" = 10 ]
    [ "$(mask_bits "$(status_field "$id" CapBnd)")" = 10 ]
    # add ALL on this node (no CAP_SYS_MODULE, no CAP_SYS_RESOURCE): the lenient default
    # runs it without those two, everything else granted.
    run -0 start_in "$pod" "$(ctr_json addall '.linux.security_context.capabilities = {add_capabilities: ["ALL"]}')" "$pj"
    id="$output"
    masks_as_checked "$id"
    has_cap_bit "$(status_field "$id" CapEff)" 16 && return 1
    has_cap_bit "$(status_field "$id" CapEff)" 24 && return 1
    has_cap_bit "$(status_field "$id" CapEff)" 21   # CAP_SYS_ADMIN
    has_cap_bit "$(status_field "$id" CapEff)" 39   # CAP_BPF
}

@test "kubernetes: privileged in a privileged sandbox; runAsUser/runAsGroup/supplementalGroups" {
    local pj pod id
    pj="$(pod_json priv '.linux.security_context.privileged = true')"
    run -0 runp "$pj"
    pod="$output"
    run -0 start_in "$pod" "$(ctr_json priv '.linux.security_context.privileged = true')" "$pj"
    id="$output"
    masks_as_checked "$id"
    # All the node has (its bounding set, which lacks CAP_SYS_MODULE and CAP_SYS_RESOURCE).
    [ "$(status_field "$id" CapEff)" = "$(awk '$1 == "CapBnd:" {print $2}' "/proc/$(cat "$T/containerd.pid")/status")" ]
    run -0 cri exec -s "$id" /bin/sh -c 'ls /dev | grep -c .'
    [ "$output" -gt 20 ]   # the host's devices, as privileged asks
    run -0 start_in "$pod" "$(ctr_json user '.linux.security_context.run_as_user = {value: 1000} | .linux.security_context.run_as_group = {value: 1001} | .linux.security_context.supplemental_groups = [2000, 3000]')" "$pj"
    id="$output"
    masks_as_checked "$id"
    [ "$(status_field "$id" Uid | awk '{print $1, $2, $3, $4}')" = "1000 1000 1000 1000" ]
    [ "$(status_field "$id" Gid | awk '{print $1, $2, $3, $4}')" = "1001 1001 1001 1001" ]
    [[ " $(status_field "$id" Groups) " == *" 2000 3000 "* ]]
    [ "$(status_field "$id" CapEff)" = 0000000000000000 ]
}

@test "kubernetes: readOnlyRootFilesystem, no_new_privs, seccomp RuntimeDefault/Localhost/Unconfined, masked and read-only paths, sysctls" {
    local pj pod id
    pj="$(pod_json misc '.linux.sysctls = {"kernel.shm_rmid_forced": "1"}')"
    run -0 runp "$pj"
    pod="$output"
    # The kubelet sends its default masked and read-only paths (containerd adds none).
    run -0 start_in "$pod" "$(ctr_json ro '.linux.security_context.readonly_rootfs = true | .linux.security_context.no_new_privs = true |
        .linux.security_context.masked_paths = ["/proc/acpi", "/proc/kcore", "/proc/keys", "/proc/latency_stats", "/proc/timer_list", "/proc/timer_stats", "/proc/sched_debug", "/proc/scsi", "/sys/firmware"] |
        .linux.security_context.readonly_paths = ["/proc/asound", "/proc/bus", "/proc/fs", "/proc/irq", "/proc/sys", "/proc/sysrq-trigger"]')" "$pj"
    id="$output"
    masks_as_checked "$id"
    [ "$(status_field "$id" NoNewPrivs)" = 1 ]
    run -1 cri exec -s "$id" /bin/touch /new-file
    [[ "$output" == *"Read-only file system"* ]]
    # The pod's namespaced sysctl, in the pod's IPC namespace.
    run -0 cri exec -s "$id" /bin/cat /proc/sys/kernel/shm_rmid_forced
    [ "$output" = 1 ]
    # containerd's masked paths (/proc/timer_list is /dev/null, and reads empty while the
    # host's does not) and read-only ones (/proc/sys).
    [ "$(wc -c </proc/timer_list)" -gt 0 ]
    run -0 cri exec -s "$id" /bin/sh -c 'wc -c </proc/timer_list'
    [ "$output" = 0 ]
    run -0 cri exec -s "$id" /bin/sh -c 'grep " /proc/sys " /proc/self/mounts'
    [[ "$output" == *" ro,"* ]]
    # RuntimeDefault: a filter (mode 2) that denies what containerd's default profile does.
    run -0 start_in "$pod" "$(ctr_json rtdefault '.linux.security_context.seccomp = {profile_type: 0}')" "$pj"
    id="$output"
    masks_as_checked "$id"
    [ "$(status_field "$id" Seccomp)" = 2 ]
    # (get_mempolicy needs no capability; the default profile allows it only with
    # CAP_SYS_NICE, which containerd's default set lacks.)
    run -0 cri exec -s "$id" /bin/probe syscalls get_mempolicy
    [ "$(jq -r .get_mempolicy <<<"$output")" = EPERM ]
    # Localhost: the node's profile file, which denies sethostname with EACCES.
    cat >"$T/seccomp-deny-sethostname.json" <<'J'
{"defaultAction": "SCMP_ACT_ALLOW",
 "syscalls": [{"names": ["sethostname"], "action": "SCMP_ACT_ERRNO", "errnoRet": 13}]}
J
    run -0 start_in "$pod" "$(ctr_json localhost '.linux.security_context.seccomp = {profile_type: 2, localhost_ref: $p}' --arg p "$T/seccomp-deny-sethostname.json")" "$pj"
    id="$output"
    [ "$(status_field "$id" Seccomp)" = 2 ]
    run -0 cri exec -s "$id" /bin/probe syscalls sethostname
    [ "$(jq -r .sethostname <<<"$output")" = EACCES ]
    # Unconfined: no filter.
    run -0 start_in "$pod" "$(ctr_json unconfined '.linux.security_context.seccomp = {profile_type: 1}')" "$pj"
    id="$output"
    [ "$(status_field "$id" Seccomp)" = 0 ]
    run -0 cri exec -s "$id" /bin/probe syscalls get_mempolicy
    [ "$(jq -r .get_mempolicy <<<"$output")" = OK ]
}

# pod_with ANNOTATIONS-JSON NAME: a pod (host network) with those pod annotations; prints
# the pod config's path.
pod_with() {
    pod_json "$2" '.annotations = $a' --argjson a "$1"
}

@test "kubernetes: a node without CAP_SYS_MODULE: strict fails StartContainer naming it; lenient and the default run without it" {
    local pj pod id policy
    # The node's bounding set really lacks it (containerd and its shims inherit capsh's).
    has_cap_bit "$(awk '$1 == "CapBnd:" {print $2}' "/proc/$(cat "$T/containerd.pid")/status")" 16 && return 1
    pj="$(pod_with '{"run.caprun.cap-policy": "strict"}' strict)"
    run -0 runp "$pj"
    pod="$output"
    run -1 start_in "$pod" "$(ctr_json mod '.linux.security_context.capabilities = {add_capabilities: ["SYS_MODULE"]}')" "$pj"
    echo "$output"
    # What the kubelet shows as the container's waiting reason (RunContainerError).
    [[ "$output" == *"CAP_SYS_MODULE (bounding, effective, permitted): not in the runtime's bounding set; the host does not offer it"* ]]
    [[ "$output" == *"cap policy strict, from annotation run.caprun.cap-policy"* ]]
    id="$(cri ps -a -q --name mod)"
    [ "$(cri inspect "$id" | jq -r .status.state)" != CONTAINER_RUNNING ]
    [ ! -e "$CAPRUN_ROOT/k8s.io/$id" ]
    run -0 cri rmp -f "$pod"
    for policy in lenient default; do
        if [ "$policy" = default ]; then pj="$(pod_json "p-$policy")"
        else pj="$(pod_with '{"run.caprun.cap-policy": "lenient"}' "p-$policy")"; fi
        run -0 runp "$pj"
        pod="$output"
        run -0 start_in "$pod" "$(ctr_json "mod-$policy" '.linux.security_context.capabilities = {add_capabilities: ["SYS_MODULE", "SYS_TIME"]}')" "$pj"
        id="$output"
        masks_as_checked "$id"
        has_cap_bit "$(status_field "$id" CapEff)" 16 && return 1
        has_cap_bit "$(status_field "$id" CapBnd)" 16 && return 1
        has_cap_bit "$(status_field "$id" CapEff)" 25   # the rest of the add holds
        run -0 cri rmp -f "$pod"
    done
}

@test "kubernetes: runAsUser 1000 with SYS_TIME runs a cap_sys_time+ep binary; without it EPERM, and caprun explain says why" {
    local pj pod id
    pj="$(pod_json time)"
    run -0 runp "$pj"
    pod="$output"
    run -0 start_in "$pod" "$(ctr_json with-time '.linux.security_context.run_as_user = {value: 1000} | .linux.security_context.capabilities = {add_capabilities: ["SYS_TIME"]}')" "$pj"
    id="$output"
    masks_as_checked "$id"
    run -0 cri exec -s "$id" /bin/probe-time syscalls settimeofday
    [ "$(jq -r .settimeofday <<<"$output")" = OK ]
    # Without the add: the file's forced capability is outside the bounding set, so the
    # kernel refuses its execve; the probe without file capabilities gets EPERM.
    run -0 start_in "$pod" "$(ctr_json without-time '.linux.security_context.run_as_user = {value: 1000}')" "$pj"
    id="$output"
    run -1 cri exec -s "$id" /bin/probe-time syscalls settimeofday
    [[ "$output" == *"operation not permitted"* || "$output" == *"Operation not permitted"* ]]
    run -0 cri exec -s "$id" /bin/probe syscalls settimeofday
    [ "$(jq -r .settimeofday <<<"$output")" = EPERM ]
    run -0 "$CAPRUN" --root "$CAPRUN_ROOT/k8s.io" explain "$id" settimeofday
    echo "$output"
    [[ "$output" == *CAP_SYS_TIME* ]]
    [[ "$output" == *'securityContext.capabilities.add: ["SYS_TIME"]'* ]]
}

@test "kubernetes: the sandbox's oomScoreAdj -998 on a node without CAP_SYS_RESOURCE: runc fails every pod, caprun runs it under both policies" {
    local pj pod pid policy
    has_cap_bit "$(awk '$1 == "CapBnd:" {print $2}' "/proc/$(cat "$T/containerd.pid")/status")" 24 && skip "this node holds CAP_SYS_RESOURCE"
    # runc, the other handler of this containerd, cannot start the sandbox here.
    # (runc 1.1.5 loses its init's reason, "failed to update /proc/self/oom_score_adj":
    # the parent sees the pipe close.)
    run -1 cri runp --runtime runc "$(pod_json runc-pod)"
    echo "$output"
    [[ "$output" == *"RunPodSandbox"*"runc create failed"* ]]
    cri rmp -fa >/dev/null 2>&1 || true  # whatever the failed runp left
    # runc leaves the cgroups of that failed create behind; no caprun container exists yet.
    remove_cgroup_dirs "$(new_cgroup_dirs "$CGROUPS_BEFORE")"
    for policy in lenient strict; do
        pj="$(pod_with "{\"run.caprun.cap-policy\": \"$policy\"}" "oom-$policy")"
        run -0 runp "$pj"
        pod="$output"
        [ "$(jq -r .process.oomScoreAdj "$(bundle_of "$pod")/config.json")" = -998 ]
        pid="$(cri inspectp "$pod" | jq -r .info.pid)"
        # Clamped to caprun's own score: the shim's (its parent now), which caprun inherited.
        [ "$(cat "/proc/$pid/oom_score_adj")" = "$(cat "/proc/$(awk '{print $4}' "/proc/$pid/stat")/oom_score_adj")" ]
        [ "$(cat "/proc/$pid/oom_score_adj")" -gt -998 ]
        # Strict still refuses what the pod's own containers ask and the node lacks.
        if [ "$policy" = strict ]; then
            run -1 start_in "$pod" "$(ctr_json oom-res '.linux.resources.oom_score_adj = -500')" "$pj"
            [[ "$output" == *"process.oomScoreAdj: -500 requested, below the runtime's own"* ]]
        else
            run -0 start_in "$pod" "$(ctr_json oom-res '.linux.resources.oom_score_adj = -500')" "$pj"
        fi
        run -0 cri rmp -f "$pod"
    done
}

@test "kubernetes: run.caprun.report=container puts the lenient drops in crictl logs; without it the output is untouched" {
    local pj pod id
    pj="$(pod_with '{"run.caprun.report": "container"}' report)"
    run -0 runp "$pj"
    pod="$output"
    run -0 start_in "$pod" "$(ctr_json rep '.command = ["/bin/sh", "-c", "echo before; /bin/probe syscalls settimeofday"] | .linux.security_context.capabilities = {add_capabilities: ["SYS_MODULE"]}')" "$pj"
    id="$output"
    run -0 exit_code "$id"
    [ "$output" = 0 ]
    run -0 cri logs "$id"
    echo "$output"
    [ "$(grep -c '^caprun: dropped CAP_SYS_MODULE (bounding, effective, permitted): not in the runtime.s bounding set; the host does not offer it' <<<"$output")" = 1 ]
    grep '^caprun: dropped' <<<"$output" | grep -q '(cap policy lenient, from default)$'
    [ "$(grep -c '^caprun:' <<<"$output")" = 1 ]
    grep -qx before <<<"$output"
    grep -qx '{"settimeofday":"EPERM"}' <<<"$output"
    # The same container without the annotation: its output untouched.
    pj="$(pod_json no-report)"
    run -0 runp "$pj"
    pod="$output"
    run -0 start_in "$pod" "$(ctr_json norep '.command = ["/bin/sh", "-c", "echo before; /bin/probe syscalls settimeofday"] | .linux.security_context.capabilities = {add_capabilities: ["SYS_MODULE"]}')" "$pj"
    id="$output"
    run -0 exit_code "$id"
    run -0 cri logs "$id"
    [ "$output" = "$(printf 'before\n{"settimeofday":"EPERM"}')" ]
}

@test "kubernetes: an invalid run.caprun.* annotation fails StartContainer naming it and its value, and leaves nothing" {
    local pj pod ann val want id
    pj="$(pod_json bad)"
    run -0 runp "$pj"
    pod="$output"
    while IFS='|' read -r ann val want; do
        run -1 start_in "$pod" "$(ctr_json "bad-${ann##*.}" '.annotations = {($k): $v}' --arg k "$ann" --arg v "$val")" "$pj"
        echo "$ann=$val: $output"
        [[ "$output" == *"$want"* ]]
        [[ "$output" == *"$ann"* && "$output" == *"$val"* ]]
        id="$(cri ps -a -q --name "bad-${ann##*.}")"
        [ -n "$id" ] && [ ! -e "$CAPRUN_ROOT/k8s.io/$id" ]
        [ -z "$(leftover_processes "$T/state/io.containerd.runtime.v2.task/k8s.io/$id")" ]
    done <<'EOT'
run.caprun.cap-policy|sometimes|annotations.run.caprun.cap-policy: invalid value
run.caprun.report|stderr|annotation run.caprun.report: invalid value
run.caprun.trace-eperm|maybe|run.caprun.trace-eperm
run.caprun.seccomp-profile|/nonexistent/profile.json|run.caprun.seccomp-profile
EOT
    # From the pod: the sandbox carries the pod's annotations, so RunPodSandbox fails.
    run -1 runp "$(pod_with '{"run.caprun.report": "stderr"}' bad-pod)"
    [[ "$output" == *'annotation run.caprun.report: invalid value'*stderr* ]]
}

@test "kubernetes: containers join the pod's network (CNI bridge), IPC, UTS and pid namespaces and share its /dev/shm" {
    local pj pod a b spid apid bpid ns
    # The pod's own network namespace from the bridge + host-local plugins, inside the
    # node's namespace; the pod's pid namespace shared (shareProcessNamespace).
    pj="$(pod_json shared '.hostname = "caprun-pod" | .linux.security_context.namespace_options = {network: 0, pid: 0, ipc: 0}')"
    run -0 runp "$pj"
    pod="$output"
    run -0 start_in "$pod" "$(ctr_json a)" "$pj"
    a="$output"
    run -0 start_in "$pod" "$(ctr_json b)" "$pj"
    b="$output"
    spid="$(cri inspectp "$pod" | jq -r .info.pid)"
    apid="$(cri inspect "$a" | jq -r .info.pid)"
    bpid="$(cri inspect "$b" | jq -r .info.pid)"
    for ns in net ipc uts pid; do
        [ "$(readlink "/proc/$apid/ns/$ns")" = "$(readlink "/proc/$spid/ns/$ns")" ]
        [ "$(readlink "/proc/$bpid/ns/$ns")" = "$(readlink "/proc/$spid/ns/$ns")" ]
    done
    [ "$(readlink "/proc/$apid/ns/net")" != "$(readlink "/proc/$(cat "$T/containerd.pid")/ns/net")" ]
    # The pause process is pid 1 of the pod.
    run -0 cri exec -s "$a" /bin/sh -c 'tr "\0" " " </proc/1/cmdline'
    [ "$output" = "/pause " ]
    run -0 cri exec -s "$a" /bin/hostname
    [ "$output" = caprun-pod ]
    # The bridge plugin's address, and the route through its gateway.
    run -0 cri exec -s "$a" /bin/ip -4 -o addr show eth0
    [[ "$output" == *"inet 10.233.71."* ]]
    run -0 cri exec -s "$a" /bin/ip route
    [[ "$output" == *"default via 10.233.71.1"* ]]
    # One /dev/shm for the pod.
    run -0 cri exec -s "$a" /bin/sh -c 'echo from-a >/dev/shm/x'
    run -0 cri exec -s "$b" /bin/cat /dev/shm/x
    [ "$output" = from-a ]
    # The host's network did not move (the bridge is in the node's namespace).
    [ "$(host_network)" = "$HOST_NET_BEFORE" ]
    run -0 cri rmp -f "$pod"
    [ "$(host_network)" = "$HOST_NET_BEFORE" ]
    [ -z "$(ls -A "$T/cni-ipam/caprun-test" 2>/dev/null | grep -v -e '^lock$' -e '^last_reserved_ip' || true)" ]
}

@test "kubernetes: crictl update reaches the container's cgroup through caprun; crictl stats reports it" {
    local pj pod id cg
    pj="$(pod_json upd)"
    run -0 runp "$pj"
    pod="$output"
    run -0 start_in "$pod" "$(ctr_json upd)" "$pj"
    id="$output"
    cg="$(jq -r .linux.cgroupsPath "$(bundle_of "$id")/config.json")"
    [ -d "/sys/fs/cgroup/memory$cg" ]
    run -0 cri update --memory 67108864 --cpu-quota 20000 --cpu-period 100000 "$id"
    [ "$(cat "/sys/fs/cgroup/memory$cg/memory.limit_in_bytes")" = 67108864 ]
    [ "$(cat "/sys/fs/cgroup/cpu$cg/cpu.cfs_quota_us")" = 20000 ]
    run -0 cri inspect "$id"
    [ "$(jq -r .info.runtimeSpec.linux.resources.memory.limit <<<"$output")" = 67108864 ]
    run -0 cri stats -o json --id "$id"
    [ "$(jq -r '.stats[0].attributes.id' <<<"$output")" = "$id" ]
    [ "$(jq -r '.stats[0].memory.workingSetBytes.value' <<<"$output")" -gt 0 ]
}
