#!/usr/bin/env bats
# linux.netDevices: a device of the runtime's network namespace moved into the container's,
# renamed, with its permanent global addresses, up; moved back under its own name on
# delete. caprun runs inside a private network namespace made for each test (`ip netns
# add`), so the host's own links are never touched; its device is one end of a veth pair
# (built into the kernel, unlike dummy, which would need a module loaded).

load helpers

setup() {
    # helpers.bash's per-test setup, then this test's private "host" network namespace.
    NS="caprun-nd-$$-$BATS_TEST_NUMBER"
    ip netns add "$NS"
    ip -n "$NS" link add vx0 type veth peer name vx1
    ip -n "$NS" addr add 192.0.2.10/24 dev vx0
    ip -n "$NS" addr add 2001:db8::10/64 dev vx0 nodad
    ip -n "$NS" link set vx0 up
    setup_bundle "nd"
    cfg '.linux.netDevices = {"vx0": {"name": "eth7"}}
       | .process.args = ["/bin/sh", "-c", "ip -o addr show eth7; ip -o link show eth7"]'
}

teardown() {
    local rc=0
    check_leftovers || rc=1
    ip netns delete "$NS" 2>/dev/null || true
    [ -n "${NS2:-}" ] && ip netns delete "$NS2" 2>/dev/null
    return $rc
}

# caprun as the runtime of the test's network namespace.
caprun() {
    (cd "$BUNDLE" && exec nsenter --net="/run/netns/$NS" "$CAPRUN" --root "$ROOT" "$@")
}

# vx0 is in the test's namespace with both its addresses (link-local ones aside).
device_is_home() {
    local addrs
    addrs=$(ip -n "$NS" -o addr show dev vx0 | awk '$4 !~ /^fe80/ { print $3, $4 }' | sort)
    [ "$addrs" = "$(printf 'inet 192.0.2.10/24\ninet6 2001:db8::10/64')" ]
}

@test "run: the device is eth7 inside, up, with both addresses; back as vx0 after delete" {
    run caprun run "$ID"
    echo "$output"
    [ "$status" -eq 0 ]
    grep -q 'inet 192.0.2.10/24 .*scope global' <<<"$output"
    grep -q 'inet6 2001:db8::10/64 .*scope global' <<<"$output"
    grep -qE '^[0-9]+: eth7@[^:]*: <[^>]*\bUP\b' <<<"$output"
    # Home again under its own name, down (the runtime-spec's rule), addresses kept.
    device_is_home
    ip -n "$NS" -o link show vx0 | grep -qv '[<,]UP[,>]'
    ! ip -n "$NS" -o link show eth7 2>/dev/null || false
}

@test "create: the device is gone from the runtime's namespace until delete; the netns is pinned" {
    cfg '.process.args = ["/bin/sleep", "600"]'
    caprun create "$ID"
    ! ip -n "$NS" link show vx0 2>/dev/null || false
    # The container's namespace is kept alive by a bind mount in its state directory.
    grep -q " $ROOT/$ID/netns " /proc/self/mountinfo
    pid=$(caprun state "$ID" | jq -r .pid)
    nsenter -t "$pid" -n ip -o link show eth7
    caprun kill "$ID" KILL
    # With its last process dead the namespace still holds the device until delete.
    for _ in $(seq 100); do [ "$(caprun state "$ID" | jq -r .status)" = stopped ] && break; sleep 0.05; done
    ! ip -n "$NS" link show vx0 2>/dev/null || false
    run caprun delete "$ID"
    echo "$output"
    [ "$status" -eq 0 ]
    device_is_home
    ! grep -q " $ROOT/$ID/netns " /proc/self/mountinfo || false
}

@test "a device that is not there fails create naming it, and the others come back" {
    cfg '.linux.netDevices = {"vx0": {"name": "eth7"}, "zz9": {}}'
    run caprun run "$ID"
    echo "$output"
    [ "$status" -ne 0 ]
    grep -q 'linux.netDevices.zz9: moving zz9 into the container.s network namespace as zz9: there is no network device zz9' <<<"$output"
    device_is_home
    [ ! -e "$ROOT/$ID" ]
}

@test "a name taken in the container, or no network namespace of its own, is refused" {
    # Without a network namespace: refused in planning, and check says why.
    cfg '.linux.namespaces |= map(select(.type != "network"))'
    run caprun check --verbose
    [ "$status" -ne 0 ]
    grep -q "^  refused  linux.netDevices: the container shares the runtime's network namespace" <<<"$output"
    run caprun run "$ID"
    [ "$status" -ne 0 ]
    grep -q "config.json: linux.netDevices: the container shares the runtime's network namespace" <<<"$output"
    ip -n "$NS" -o link show vx0
    # An invalid name: refused with its JSON path.
    cfg '.linux.namespaces += [{"type": "network"}] | .linux.netDevices = {"vx0": {"name": "a/b"}}'
    run caprun check --verbose
    [ "$status" -ne 0 ]
    grep -q "^  refused  linux.netDevices: vx0.name: \"a/b\" has a '/'" <<<"$output"
    # The container's own loopback is called lo: moving a device in as lo fails, rolled back.
    cfg '.linux.netDevices = {"vx0": {"name": "lo"}}'
    run caprun run "$ID"
    echo "$output"
    [ "$status" -ne 0 ]
    grep -q 'linux.netDevices.vx0: .*a network device called lo already exists there' <<<"$output"
    device_is_home
}

@test "a joined network namespace (linux.namespaces path) gets the device, and no pin" {
    NS2="caprun-nd2-$$-$BATS_TEST_NUMBER"
    ip netns add "$NS2"
    cfg --arg p "/run/netns/$NS2" '.linux.namespaces |= map(if .type == "network" then .path = $p else . end)
       | .process.args = ["/bin/sleep", "600"]'
    caprun create "$ID"
    ip -n "$NS2" -o addr show eth7 | grep -q 'inet 192.0.2.10/24'
    ! grep -q " $ROOT/$ID/netns " /proc/self/mountinfo || false
    run caprun delete --force "$ID"
    [ "$status" -eq 0 ]
    ! ip -n "$NS2" link show eth7 2>/dev/null || false
    device_is_home
}

@test "features says netDevices is enabled" {
    run "$CAPRUN" features
    [ "$status" -eq 0 ]
    [ "$(jq -r .linux.netDevices.enabled <<<"$output")" = true ]
}
