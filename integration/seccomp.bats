#!/usr/bin/env bats
# Seccomp end to end (issue 5): the built-in default profile gates privileged syscalls on
# the capabilities the container was granted; config.json filters act as written
# (argument conditions, KILL_PROCESS, NOTIFY with an agent the test runs); the lenient drop
# of a capability the host lacks keeps its syscalls denied and says so.

load helpers

bats_require_minimum_version 1.5.0

AGENT="$BATS_TEST_DIRNAME/seccomp-agent.py"

# The probe's JSON line from mixed output.
probe_json() {
    grep -m1 '^{' <<<"$output"
}

# Adds capabilities to the bounding, effective and permitted sets of config.json.
add_caps() {
    local c
    for c in "$@"; do
        cfg --arg c "$c" '.process.capabilities.bounding += [$c] | .process.capabilities.effective += [$c] | .process.capabilities.permitted += [$c]'
    done
}

teardown_agent() {
    if [ -n "${AGENT_PID:-}" ] && kill -0 "$AGENT_PID" 2>/dev/null; then
        kill "$AGENT_PID" 2>/dev/null || true
        wait "$AGENT_PID" 2>/dev/null || true
    fi
}

teardown() {
    teardown_agent
    check_leftovers
}

@test "default profile: get_mempolicy is EPERM without CAP_SYS_NICE and works with it" {
    cfg '.process.args = ["/bin/probe", "syscalls", "get_mempolicy"]'
    run caprun run --seccomp-profile default "$ID"
    [ "$status" -eq 0 ]
    [ "$(json_get .get_mempolicy "$(probe_json)")" = EPERM ]

    add_caps CAP_SYS_NICE
    run caprun run --seccomp-profile default "$ID"
    [ "$status" -eq 0 ]
    [ "$(json_get .get_mempolicy "$(probe_json)")" = OK ]
}

@test "exec gets the filter of the profile create was given, not config.json's" {
    # config.json has no linux.seccomp: without the profile, exec would run unfiltered.
    cfg 'del(.linux.seccomp) | .process.args = ["/bin/sleep", "1000"]'
    caprun run -d --seccomp-profile default "$ID" >"$TMP/run.out" 2>&1
    run caprun exec "$ID" /bin/probe syscalls get_mempolicy
    [ "$status" -eq 0 ]
    [ "$(json_get .get_mempolicy "$(probe_json)")" = EPERM ]
    run caprun exec --cap CAP_SYS_NICE "$ID" /bin/probe syscalls get_mempolicy
    [ "$status" -eq 0 ]
    [ "$(json_get .get_mempolicy "$(probe_json)")" = OK ]
    caprun delete --force "$ID"
}

@test "default profile: settimeofday and delete_module are EPERM without their capabilities" {
    cfg '.process.args = ["/bin/probe", "syscalls", "settimeofday", "delete_module", "reboot"]'
    run caprun run --seccomp-profile default "$ID"
    [ "$status" -eq 0 ]
    local j
    j="$(probe_json)"
    [ "$(json_get .settimeofday "$j")" = EPERM ]
    [ "$(json_get .delete_module "$j")" = EPERM ]
    [ "$(json_get .reboot "$j")" = EPERM ]
}

@test "default profile: delete_module's EPERM comes from seccomp when the bounding set lacks CAP_SYS_MODULE" {
    # The process holds CAP_SYS_MODULE (inheritable, so root keeps it across execve) while
    # the bounding set, which the gates are evaluated against, does not.
    cfg '.process.args = ["/bin/probe", "syscalls", "delete_module"]
         | .process.noNewPrivileges = false
         | .process.capabilities.effective += ["CAP_SYS_MODULE"]
         | .process.capabilities.permitted += ["CAP_SYS_MODULE"]
         | .process.capabilities.inheritable += ["CAP_SYS_MODULE"]'
    run caprun run --seccomp-profile unconfined "$ID"
    [ "$status" -eq 0 ]
    # The kernel lets it through to the module lookup.
    [ "$(json_get .delete_module "$(probe_json)")" = "$(delete_module_past_permission)" ]
    run caprun run --seccomp-profile default "$ID"
    [ "$status" -eq 0 ]
    [ "$(json_get .delete_module "$(probe_json)")" = EPERM ]
}

@test "the annotation selects the default profile; check shows the same filter" {
    cfg '.process.args = ["/bin/probe", "syscalls", "get_mempolicy"] | .annotations["run.caprun.seccomp-profile"] = "default"'
    run caprun run "$ID"
    [ "$status" -eq 0 ]
    [ "$(json_get .get_mempolicy "$(probe_json)")" = EPERM ]
    run caprun check --format json
    [ "$status" -eq 0 ]
    [ "$(json_get .seccomp.source.kind)" = default ]
    [ "$(json_get '.seccomp.rules[] | select(.names[0] == "get_mempolicy") | .included')" = false ]
    [ "$(json_get '.seccomp.deniedWithoutCapability.CAP_SYS_NICE[0]')" = get_mempolicy ]
}

@test "lenient under capsh --drop=cap_sys_nice: runs, get_mempolicy stays EPERM, the warning says why" {
    cfg '.process.args = ["/bin/probe", "syscalls", "get_mempolicy"]'
    add_caps CAP_SYS_NICE
    run --separate-stderr capsh --drop=cap_sys_nice -- -c \
        'cd "$1" && exec "$2" --root "$3" --cap-policy lenient run --seccomp-profile default "$4"' \
        capsh "$BUNDLE" "$CAPRUN" "$ROOT" "$ID"
    echo "stdout: $output"
    echo "stderr: $stderr"
    [ "$status" -eq 0 ]
    [ "$(json_get .get_mempolicy "$(probe_json)")" = EPERM ]
    [[ "$stderr" == *CAP_SYS_NICE* ]]
    [[ "$stderr" == *"get_mempolicy"* ]]
    # check, on the same poorer host, names the reason for the rule.
    run capsh --drop=cap_sys_nice -- -c 'cd "$1" && exec "$2" check --verbose --seccomp-profile default' \
        capsh "$BUNDLE" "$CAPRUN"
    [ "$status" -eq 0 ]
    [[ "$output" == *"get_mempolicy, mbind, set_mempolicy, set_mempolicy_home_node, migrate_pages, move_pages: allowed only with CAP_SYS_NICE — not granted (dropped: not in host bounding set)"* ]]
}

@test "an OCI filter with an argument condition allows and denies as written" {
    # Deny making a file world-writable: (mode & 0o002) == 0o002. chmod has the mode in
    # argument 1, fchmodat and fchmodat2 in argument 2.
    cfg '.root.readonly = false
         | .process.args = ["/bin/sh", "-c", "touch /tmp/f && chmod 755 /tmp/f && echo allowed-755; chmod 777 /tmp/f || echo denied-777; chmod 775 /tmp/f && echo allowed-775"]
         | .linux.seccomp = {"defaultAction": "SCMP_ACT_ALLOW", "syscalls": [
             {"names": ["chmod"], "action": "SCMP_ACT_ERRNO",
              "args": [{"index": 1, "value": 2, "valueTwo": 2, "op": "SCMP_CMP_MASKED_EQ"}]},
             {"names": ["fchmodat", "fchmodat2"], "action": "SCMP_ACT_ERRNO",
              "args": [{"index": 2, "value": 2, "valueTwo": 2, "op": "SCMP_CMP_MASKED_EQ"}]}]}'
    run caprun run "$ID"
    echo "$output"
    [ "$status" -eq 0 ]
    [[ "$output" == *allowed-755* ]]
    [[ "$output" == *"Operation not permitted"* ]]
    [[ "$output" == *denied-777* ]]
    [[ "$output" == *allowed-775* ]]
}

@test "a rule with SCMP_ACT_KILL_PROCESS kills the container process with SIGSYS" {
    cfg '.process.args = ["/bin/probe", "syscalls", "sethostname"]
         | .linux.seccomp = {"defaultAction": "SCMP_ACT_ALLOW",
             "syscalls": [{"names": ["sethostname"], "action": "SCMP_ACT_KILL_PROCESS"}]}'
    run caprun run "$ID"
    [ "$status" -eq $((128 + 31)) ]  # SIGSYS
}

@test "an unknown syscall name: warning under lenient, error naming it under strict" {
    cfg '.process.args = ["/bin/true"]
         | .linux.seccomp = {"defaultAction": "SCMP_ACT_ALLOW",
             "syscalls": [{"names": ["getcwd", "not_a_syscall"], "action": "SCMP_ACT_ERRNO"}]}'
    run --separate-stderr caprun --cap-policy lenient run "$ID"
    [ "$status" -eq 0 ]
    [[ "$stderr" == *not_a_syscall* ]]
    run --separate-stderr caprun --cap-policy strict run "$ID"
    [ "$status" -ne 0 ]
    [[ "$stderr" == *"not_a_syscall (linux.seccomp.syscalls[0])"* ]]
    [ ! -d "$ROOT/$ID" ]
}

@test "NOTIFY: the listener fd and the container state reach the agent, which answers" {
    local sock="$TMP/agent.sock" out="$TMP/agent.json"
    python3 "$AGENT" "$sock" "$out" EXDEV &
    AGENT_PID=$!
    local i
    for i in $(seq 1 100); do [ -S "$sock" ] && break; sleep 0.05; done
    [ -S "$sock" ]
    cfg --arg s "$sock" '.root.readonly = false
         | .process.noNewPrivileges = false
         | .process.args = ["/bin/sh", "-c", "mkdir /tmp/d || echo mkdir-failed"]
         | .linux.seccomp = {"defaultAction": "SCMP_ACT_ALLOW", "listenerPath": $s,
             "listenerMetadata": "caprun-it",
             "syscalls": [{"names": ["mkdir", "mkdirat"], "action": "SCMP_ACT_NOTIFY"}]}'
    run caprun run "$ID"
    echo "$output"
    [ "$status" -eq 0 ]
    [[ "$output" == *"Invalid cross-device link"* ]]
    [[ "$output" == *mkdir-failed* ]]
    wait "$AGENT_PID"
    AGENT_PID=
    run -0 cat "$out"
    [ "$(json_get .fdCount)" = 1 ]
    [ "$(json_get .fdTarget)" = "anon_inode:seccomp notify" ]
    [ "$(json_get '.state.fds[0]')" = seccompFd ]
    [ "$(json_get .state.metadata)" = caprun-it ]
    [ "$(json_get .state.pid)" -gt 0 ]
    [ "$(json_get .state.state.id)" = "$ID" ]
    [ "$(json_get .handled)" -ge 1 ]
}

@test "the compiled default profile is cached under the state root and reused" {
    cfg '.process.args = ["/bin/true"]'
    run caprun run --seccomp-profile default "$ID"
    [ "$status" -eq 0 ]
    local files
    files=("$ROOT"/seccomp-cache/*.bpf)
    [ "${#files[@]}" -eq 1 ]
    run caprun run --seccomp-profile default "$ID"
    [ "$status" -eq 0 ]
    files=("$ROOT"/seccomp-cache/*.bpf)
    [ "${#files[@]}" -eq 1 ]  # the same entry, not a second compilation
    # A corrupt entry is ignored and rebuilt.
    echo garbage >"${files[0]}"
    run caprun run --seccomp-profile default "$ID"
    [ "$status" -eq 0 ]
    [ "$(head -c 8 "${files[0]}")" = CAPRUNSC ]
}
