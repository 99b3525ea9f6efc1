#!/usr/bin/env bats
# Capabilities in a new user namespace (issue 9 §2): entering it the kernel gives the init
# the full set of that namespace, whatever the host lacks, so every set the process holds
# must be exactly what config.json asks for, also on a host poorer than this one.

load helpers

# A new user namespace, root-run, 0 -> 100000 (65536 ids); the probe prints its sets.
userns_config() {
    chmod 755 "$TMP"  # the mapped root (host uid 100000) must reach the rootfs
    cfg '.linux.namespaces += [{"type":"user"}]
         | .linux.uidMappings = [{"containerID":0,"hostID":100000,"size":65536}]
         | .linux.gidMappings = [{"containerID":0,"hostID":100000,"size":65536}]
         | .process.args = ["/bin/probe", "caps"]'
}

# The mask of a requested set as config.json lists it (0 when the set is absent or empty).
requested_mask() {
    local names
    names=$(jq -r --arg s "$1" '.process.capabilities[$s] // [] | .[]' "$BUNDLE/config.json")
    if [ -z "$names" ]; then printf '%016x\n' 0; else cap_mask $names; fi
}

@test "userns: runc's default capabilities, every set of the process equals the request" {
    userns_config
    run caprun run "$ID"
    echo "$output"
    [ "$status" -eq 0 ]
    [ "$(json_get .uid)" = 0 ]
    [ "$(json_get .CapBnd)" = "$(requested_mask bounding)" ]
    [ "$(json_get .CapPrm)" = "$(requested_mask permitted)" ]
    [ "$(json_get .CapEff)" = "$(requested_mask effective)" ]
    [ "$(json_get .CapInh)" = "$(requested_mask inheritable)" ]
    [ "$(json_get .CapAmb)" = "$(requested_mask ambient)" ]
}

@test "userns: check shows the full offer, the bounding drop and the sets the process then holds" {
    userns_config
    run caprun check --format json
    [ "$status" -eq 0 ]
    local plan=$output last
    last=$(cat /proc/sys/kernel/cap_last_cap)
    [ "$(json_get .capabilities.host.userNamespace "$plan")" = true ]
    [ "$(json_get .capabilities.offered.bounding "$plan")" = "$(printf '%016x' $(((1 << (last + 1)) - 1)))" ]
    # Whatever this host lacks, inside the namespace it is offered, so it is dropped.
    [ "$(json_get '.capabilities.boundingDrop | index("CAP_SYS_RESOURCE") != null' "$plan")" = true ]
    [ "$(json_get '.capabilities.boundingDrop | index("CAP_KILL") == null' "$plan")" = true ]
    run -0 caprun check --verbose
    [[ "$output" == *"Dropped from bounding: "*CAP_SYS_RESOURCE* ]]
    run caprun run "$ID"
    [ "$status" -eq 0 ]
    local k
    for k in bounding:CapBnd permitted:CapPrm effective:CapEff inheritable:CapInh ambient:CapAmb; do
        [ "$(json_get ".capabilities.predicted.masks.${k%%:*}" "$plan")" = "$(json_get ".${k#*:}")" ]
    done
}

@test "userns: on a host without CAP_NET_RAW (capsh), the container still gets exactly its request" {
    userns_config
    # Ask for the capability the poorer host lacks too: the namespace has it to give.
    cfg '.process.capabilities |= with_entries(.value += ["CAP_NET_RAW"])'
    local hostBnd
    hostBnd=$(capsh --drop=cap_net_raw -- -c 'grep CapBnd /proc/self/status' | awk '{print $2}')
    [ $((0x$hostBnd & (1 << 13))) -eq 0 ]  # the simulated host really lacks CAP_NET_RAW
    run bash -c 'cd "$1" && exec capsh --drop=cap_net_raw -- -c "exec \"\$0\" --root \"\$1\" --cap-policy strict run \"\$2\"" "$2" "$3" "$4"' \
        _ "$BUNDLE" "$CAPRUN" "$ROOT" "$ID"
    echo "$output"
    [ "$status" -eq 0 ]
    [ "$(json_get .CapBnd)" = "$(requested_mask bounding)" ]
    [ "$(json_get .CapPrm)" = "$(requested_mask permitted)" ]
    [ "$(json_get .CapEff)" = "$(requested_mask effective)" ]
    [ "$(json_get .CapInh)" = "$(requested_mask inheritable)" ]
    [ "$(json_get .CapAmb)" = "$(requested_mask ambient)" ]
    [ $((0x$(json_get .CapBnd) & (1 << 13))) -ne 0 ]
}

@test "userns: a process started by exec holds exactly its request too" {
    userns_config
    cfg '.process.args = ["/bin/sleep", "1000"]'
    caprun run -d "$ID"
    run caprun exec "$ID" /bin/probe keyring
    echo "$output"
    [ "$status" -eq 0 ]
    # The init's session keyring, joined (exec used to fail setting its permission).
    [[ "$output" == *";_ses.$ID" ]]
    run caprun exec "$ID" /bin/probe caps
    caprun delete --force "$ID"
    echo "$output"
    [ "$status" -eq 0 ]
    [ "$(json_get .CapBnd)" = "$(requested_mask bounding)" ]
    [ "$(json_get .CapPrm)" = "$(requested_mask permitted)" ]
    [ "$(json_get .CapEff)" = "$(requested_mask effective)" ]
    [ "$(json_get .CapInh)" = "$(requested_mask inheritable)" ]
    [ "$(json_get .CapAmb)" = "$(requested_mask ambient)" ]
}

@test "userns: the device nodes bound from the host are nosuid,noexec (as crun makes them)" {
    userns_config
    cfg '.process.args = ["/bin/sh", "-c", "grep -E \" /dev/(null|zero|full|tty|random|urandom) \" /proc/self/mountinfo"]'
    run caprun run "$ID"
    [ "$status" -eq 0 ]
    local dev line opts
    for dev in null zero full tty random urandom; do
        line=$(grep " /dev/$dev " <<<"$output")
        opts=$(awk '{print $6}' <<<"$line")
        [[ ",$opts," == *,nosuid,* ]]
        [[ ",$opts," == *,noexec,* ]]
    done
}
