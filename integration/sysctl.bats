#!/usr/bin/env bats
# linux.sysctl (issue 9 §1): a key is written only into a namespace the container has its
# own instance of; everything else is refused before anything exists. Every test reads the
# host's values before and after and fails if one moved. Refused keys are given the host's
# current value, so even a runtime that wrongly wrote them would change nothing.

load helpers

host_value() {
    tr '\t' ' ' <"/proc/sys/${1//.//}"
}

# Runs the container (expected to be refused) and checks the error and that nothing of the
# container is left (state dir) and the host's value did not move.
refused() {
    local key=$1 want=$2 before
    before=$(host_value "$key")
    run caprun run "$ID"
    echo "$output"
    [ "$status" -ne 0 ]
    [[ "$output" == *"linux.sysctl[\"$key\"]: "*"$want"* ]]
    [ ! -d "$ROOT/$ID" ]
    [ "$(host_value "$key")" = "$before" ]
}

@test "sysctl: net.* with a new network namespace is written inside, the host's value unchanged" {
    local key=net.ipv4.ip_unprivileged_port_start before value
    before=$(host_value $key)
    value=$((before == 2000 ? 2001 : 2000))
    cfg --arg v "$value" '.linux.sysctl = {"net.ipv4.ip_unprivileged_port_start": $v}
         | .process.args = ["/bin/cat", "/proc/sys/net/ipv4/ip_unprivileged_port_start"]'
    run caprun run "$ID"
    echo "$output"
    [ "$status" -eq 0 ]
    [ "$output" = "$value" ]
    [ "$(host_value $key)" = "$before" ]
}

@test "sysctl: net.* without a network namespace of its own is refused, naming the key and namespace" {
    cfg --arg v "$(host_value net.ipv4.ping_group_range)" \
        '.linux.namespaces |= map(select(.type != "network")) | .linux.sysctl = {"net.ipv4.ping_group_range": $v}'
    refused net.ipv4.ping_group_range "a net.* sysctl needs a network namespace of the container's own (add {\"type\": \"network\"} to linux.namespaces)"
}

@test "sysctl: a joined network namespace: accepted unless it is the runtime's own (as runc)" {
    local key=net.ipv4.ip_unprivileged_port_start before
    before=$(host_value $key)
    cfg --arg v "$before" --arg p "/proc/$$/ns/net" \
        '.linux.namespaces |= map(if .type == "network" then .path = $p else . end)
         | .linux.sysctl = {"net.ipv4.ip_unprivileged_port_start": $v}'
    refused $key "the joined one (/proc/$$/ns/net) is the runtime's own, so it would be written into the host's"

    # A network namespace of its own held by another process: written there.
    unshare --net sleep 1000 &
    local holder=$! i
    for i in $(seq 1 100); do
        [ "$(readlink /proc/$holder/ns/net)" != "$(readlink /proc/self/ns/net)" ] && break
        sleep 0.05
    done
    cfg --arg p "/proc/$holder/ns/net" '.linux.namespaces |= map(if .type == "network" then .path = $p else . end)
         | .linux.sysctl = {"net.ipv4.ip_unprivileged_port_start": "2002"}
         | .process.args = ["/bin/true"]'
    run caprun run "$ID"
    local inHolder
    inHolder=$(nsenter --net=/proc/$holder/ns/net cat /proc/sys/net/ipv4/ip_unprivileged_port_start)
    kill "$holder"
    echo "$output"
    [ "$status" -eq 0 ]
    [ "$inHolder" = 2002 ]
    [ "$(host_value $key)" = "$before" ]
}

@test "sysctl: fs.mqueue.* without an ipc namespace of its own is refused" {
    cfg --arg v "$(host_value fs.mqueue.queues_max)" \
        '.linux.namespaces |= map(select(.type != "ipc")) | .linux.sysctl = {"fs.mqueue.queues_max": $v}'
    refused fs.mqueue.queues_max "fs.mqueue.queues_max needs a ipc namespace of the container's own"
}

@test "sysctl: fs.mqueue.* and kernel.shmmni with a new ipc namespace are written inside, the host's unchanged" {
    local mq shm mqValue shmValue
    mq=$(host_value fs.mqueue.queues_max)
    shm=$(host_value kernel.shmmni)
    mqValue=$((mq == 100 ? 101 : 100))
    shmValue=$((shm == 1000 ? 1001 : 1000))
    cfg --arg m "$mqValue" --arg s "$shmValue" '.linux.sysctl = {"fs.mqueue.queues_max": $m, "kernel.shmmni": $s}
         | .process.args = ["/bin/cat", "/proc/sys/fs/mqueue/queues_max", "/proc/sys/kernel/shmmni"]'
    run caprun run "$ID"
    echo "$output"
    [ "$status" -eq 0 ]
    [ "${lines[0]}" = "$mqValue" ]
    [ "${lines[1]}" = "$shmValue" ]
    [ "$(host_value fs.mqueue.queues_max)" = "$mq" ]
    [ "$(host_value kernel.shmmni)" = "$shm" ]
}

@test "sysctl: kernel.hostname is refused, pointing to the hostname field" {
    local hostBefore
    hostBefore=$(hostname)
    cfg --arg v "$hostBefore" '.linux.sysctl = {"kernel.hostname": $v}'
    refused kernel.hostname "not accepted: set config.json's \"hostname\" field instead"
    [ "$(hostname)" = "$hostBefore" ]
}

@test "sysctl: a key of no namespace (vm.swappiness) is refused" {
    cfg --arg v "$(host_value vm.swappiness)" '.linux.sysctl = {"vm.swappiness": $v}'
    refused vm.swappiness "not namespaced: it is a host-wide setting"
}

@test "sysctl: check shows each decision in text and JSON and fails like create" {
    local before
    before=$(host_value vm.swappiness)
    cfg --arg v "$before" '.linux.sysctl = {"net.ipv4.ip_forward": "1", "vm.swappiness": $v}'
    run caprun check --verbose
    echo "$output"
    [ "$status" -ne 0 ]
    [[ "$output" == *"net.ipv4.ip_forward = 1  accepted: written in the container's new network namespace"* ]]
    [[ "$output" == *"vm.swappiness = $before  REFUSED: not namespaced"* ]]
    local json rc=0
    json=$(caprun check --format json 2>/dev/null) || rc=$?
    [ "$rc" -ne 0 ]
    [ "$(jq -r '.sysctl.entries[] | select(.key == "net.ipv4.ip_forward") | "\(.allowed) \(.namespace)"' <<<"$json")" = "true network" ]
    [ "$(jq -r '.sysctl.entries[] | select(.key == "vm.swappiness") | "\(.allowed) \(.namespace)"' <<<"$json")" = "false null" ]
    [[ "$(jq -r .sysctl.error <<<"$json")" == 'config.json: linux.sysctl["vm.swappiness"]: not namespaced'* ]]
    cfg '.linux.sysctl = {"net.ipv4.ip_forward": "1"}'
    run caprun check --format json
    [ "$status" -eq 0 ]
    [ "$(jq -r '.sysctl | has("error")' <<<"$output")" = false ]
    [ "$(host_value vm.swappiness)" = "$before" ]
}

@test "sysctl: the write goes only through the container's procfs" {
    local key=net.ipv4.ip_unprivileged_port_start before
    before=$(host_value $key)
    # /proc of the container is a tmpfs holding a look-alike file: not procfs, refused.
    cfg '.mounts |= map(if .destination == "/proc" then .type = "tmpfs" | .source = "tmpfs" | .options = [] else . end)
         | .linux.sysctl = {"net.ipv4.ip_unprivileged_port_start": "2003"}
         | .linux.maskedPaths = [] | .linux.readonlyPaths = []'
    run caprun run "$ID"
    echo "$output"
    [ "$status" -ne 0 ]
    [[ "$output" == *"the container's /proc is not procfs"* ]]
    # /proc a symlink in the rootfs (procfs mounted where it points): not followed.
    cfg '.mounts |= map(if .destination == "/proc" then .type = "proc" | .source = "proc" else . end)'
    rmdir "$BUNDLE/rootfs/proc"
    ln -s run "$BUNDLE/rootfs/proc"
    run caprun run "$ID"
    echo "$output"
    [ "$status" -ne 0 ]
    [[ "$output" == *"opening the container's /proc"* ]]
    [ "$(host_value $key)" = "$before" ]
}
