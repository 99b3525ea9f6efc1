#!/usr/bin/env bats
# `caprun explain` (issue 13) on real bundles, each story checked against the probe in a real
# container: explain names the cause (seccomp rule or kernel capability check) and the fix,
# and the container's syscall really fails (or works) as explained. A poorer host is
# simulated with --host-status (a copy of /proc/self/status with a capability removed) for
# explain and check, and with capsh --drop for run. Nothing on the host changes: the probe's
# calls fail on the capability check or change nothing (settimeofday(NULL, NULL), its own
# socket's buffer, a module that does not exist).

load helpers

bats_require_minimum_version 1.5.0

probe_json() {
    grep -m1 '^{' <<<"$output"
}

add_caps() {
    local c
    for c in "$@"; do
        cfg --arg c "$c" '.process.capabilities.bounding += [$c] | .process.capabilities.effective += [$c] | .process.capabilities.permitted += [$c]'
    done
}

# This host's status with capability number $1 removed from every set.
status_without() {
    local bit=$1 out="$TMP/status" key val
    grep -v '^Cap' /proc/self/status >"$out"
    for key in CapInh CapPrm CapEff CapBnd CapAmb; do
        val=$(awk -v k="$key:" '$1 == k { print $2 }' /proc/self/status)
        [ -n "$val" ] || { echo "no $key in /proc/self/status" >&2; return 1; }
        printf '%s:\t%016x\n' "$key" $((0x$val & ~(1 << bit))) >>"$out"
    done
    echo "$out"
}

explain_json() {
    "$CAPRUN" "$@" --format json
}

@test "explain: delete_module without CAP_SYS_MODULE is the kernel's check; the fix in every caller's words" {
    [ -e /proc/modules ] || skip "this kernel has no loadable modules (the next test covers it)"
    cfg '.process.args = ["/bin/probe", "syscalls", "delete_module"]'
    run "$CAPRUN" explain --bundle "$BUNDLE" delete_module
    echo "$output"
    [ "$status" -eq 0 ]
    [[ "$output" == *"result [capability]: fails with EPERM: the kernel checks CAP_SYS_MODULE"* ]]
    [[ "$output" == *"fix: add CAP_SYS_MODULE"* ]]
    [[ "$output" == *'config.json: add "CAP_SYS_MODULE" to process.capabilities.bounding, .effective, .permitted'* ]]
    [[ "$output" == *"docker run --cap-add SYS_MODULE"* ]]
    [[ "$output" == *'securityContext.capabilities.add: ["SYS_MODULE"]'* ]]
    [[ "$output" == *"podman run --cap-add SYS_MODULE"* ]]
    [[ "$output" == *"ctr run --cap-add CAP_SYS_MODULE"* ]]
    [[ "$output" != *privileged* ]]
    # Under the built-in profile the filter refuses it first (a kernel without module support
    # would answer ENOSYS without checking anything, so the real run uses the profile).
    json=$(explain_json explain --bundle "$BUNDLE" --seccomp-profile default delete_module)
    [ "$(jq -r '.syscalls[0].cause' <<<"$json")" = seccomp ]
    [ "$(jq -r '.syscalls[0].fixes[0].cap' <<<"$json")" = CAP_SYS_MODULE ]
    [ "$(jq -r '.syscalls[0].fixes[0].because | length' <<<"$json")" = 2 ]
    run -0 caprun run --seccomp-profile default "$ID"
    [ "$(json_get .delete_module "$(probe_json)")" = EPERM ]
    # With the fix applied, explain has nothing left and the call gets past both checks.
    add_caps CAP_SYS_MODULE
    json=$(explain_json explain --bundle "$BUNDLE" --seccomp-profile default delete_module)
    [ "$(jq -r '.syscalls[0].cause' <<<"$json")" = none ]
    run -0 caprun run --seccomp-profile default "$ID"
    [ "$(json_get .delete_module "$(probe_json)")" = "$(delete_module_past_permission)" ]
}

@test "explain: on a kernel without loadable modules delete_module says so first, and no --cap-add" {
    [ ! -e /proc/modules ] || skip "this kernel has loadable modules (the previous test covers it)"
    cfg '.process.args = ["/bin/probe", "syscalls", "delete_module"]'
    run -0 "$CAPRUN" explain --bundle "$BUNDLE" delete_module
    echo "$output"
    [[ "$output" == *"result [kernel lacks it]: this kernel has no loadable module support (no /proc/modules): delete_module cannot succeed whatever the capabilities"* ]]
    [[ "$output" != *"--cap-add"* ]]
    [[ "$output" != *"fix: add CAP_SYS_MODULE"* ]]
    json=$(explain_json explain --bundle "$BUNDLE" --seccomp-profile default delete_module)
    [ "$(jq -r '.syscalls[0].cause' <<<"$json")" = "kernel lacks it" ]
    [ "$(jq -r '.syscalls[0].fixes | length' <<<"$json")" = 0 ]
    # And the kernel indeed answers ENOSYS once the capability gets the call past seccomp.
    add_caps CAP_SYS_MODULE
    run -0 caprun run --seccomp-profile default "$ID"
    [ "$(json_get .delete_module "$(probe_json)")" = ENOSYS ]
}

@test "explain: get_mempolicy under the built-in profile without CAP_SYS_NICE is the seccomp rule" {
    cfg '.process.args = ["/bin/probe", "syscalls", "get_mempolicy"]'
    json=$(explain_json explain --bundle "$BUNDLE" --seccomp-profile default get_mempolicy)
    echo "$json"
    [ "$(jq -r '.syscalls[0].cause' <<<"$json")" = seccomp ]
    [ "$(jq -r '.syscalls[0].seccomp.action' <<<"$json")" = errno ]
    [ "$(jq -r '.syscalls[0].seccomp.errno' <<<"$json")" = 1 ]
    [ "$(jq -r '.syscalls[0].kernelChecks | length' <<<"$json")" = 0 ]
    # The deciding gate is the profile's rule that names get_mempolicy with CAP_SYS_NICE.
    idx=$(jq '[.syscalls | to_entries[] | select((.value.names | index("get_mempolicy")) and (.value.includes.caps // [] | index("CAP_SYS_NICE")))][0].key' "$BATS_TEST_DIRNAME/../profiles/default.json")
    [ "$(jq -r --argjson i "$idx" '.syscalls[0].seccomp.rules[] | select(.index == $i) | .gates[0].cap' <<<"$json")" = CAP_SYS_NICE ]
    [ "$(jq -r --argjson i "$idx" '.syscalls[0].seccomp.rules[] | select(.index == $i) | .included' <<<"$json")" = false ]
    [ "$(jq -r '.syscalls[0].fixes[0].cap' <<<"$json")" = CAP_SYS_NICE ]
    jq -e '.syscalls[0].fixes[0].lines | index("docker run --cap-add SYS_NICE ...")' <<<"$json" >/dev/null
    run -0 caprun run --seccomp-profile default "$ID"
    [ "$(json_get .get_mempolicy "$(probe_json)")" = EPERM ]
}

@test "explain ID: a created container's profile and policy come from its state" {
    cfg '.process.args = ["/bin/probe", "syscalls", "get_mempolicy"]'
    caprun --cap-policy strict create --seccomp-profile default "$ID"
    run "$CAPRUN" --root "$ROOT" explain "$ID" get_mempolicy
    echo "$output"
    [ "$status" -eq 0 ]
    [[ "$output" == *"built-in default profile (from --seccomp-profile)"* ]]
    [[ "$output" == *"capability policy strict (from container $ID's create)"* ]]
    [[ "$output" == *"result [seccomp]: fails with EPERM"* ]]
    [[ "$output" == *"fix: add CAP_SYS_NICE"* ]]
    run "$CAPRUN" --root "$ROOT" explain "$ID" get_mempolcy
    [ "$status" -eq 1 ]
    [[ "$output" == *'unknown syscall name "get_mempolcy" (nearest: get_mempolicy'* ]]
    caprun delete --force "$ID"
}

@test "explain: an iptables-style setsockopt without CAP_NET_ADMIN" {
    cfg '.process.args = ["/bin/probe", "syscalls", "rcvbufforce"]'
    json=$(explain_json explain --bundle "$BUNDLE" setsockopt)
    echo "$json"
    [ "$(jq -r '.syscalls[0].cause' <<<"$json")" = "capability (depending on arguments)" ]
    [ "$(jq -r '[.syscalls[0].fixes[] | select(.cap == "CAP_NET_ADMIN")][0].kind' <<<"$json")" = container ]
    jq -e '[.syscalls[0].fixes[] | select(.cap == "CAP_NET_ADMIN")][0].lines | index("docker run --cap-add NET_ADMIN ...")' <<<"$json" >/dev/null
    run -0 caprun run "$ID"
    [ "$(json_get .rcvbufforce "$(probe_json)")" = EPERM ]
    add_caps CAP_NET_ADMIN
    run -0 caprun run "$ID"
    [ "$(json_get .rcvbufforce "$(probe_json)")" = OK ]
}

@test "explain: the clock as root, as non-root without and with a file capability" {
    cfg '.process.args = ["/bin/probe", "syscalls", "settimeofday"]'
    run -0 "$CAPRUN" explain --bundle "$BUNDLE" settimeofday
    [[ "$output" == *"fix: add CAP_SYS_TIME"* ]]
    [[ "$output" == *"process.capabilities.bounding, .effective, .permitted"* ]]
    run -0 caprun run "$ID"
    [ "$(json_get .settimeofday "$(probe_json)")" = EPERM ]

    # Non-root with CAP_SYS_TIME in bounding/effective/permitted (what --cap-add gives): lost
    # at execve; the fix is ambient, or a file capability for docker/Kubernetes.
    add_caps CAP_SYS_TIME
    cfg '.process.user.uid = 1000 | .process.user.gid = 1000'
    json=$(explain_json explain --bundle "$BUNDLE" settimeofday)
    echo "$json"
    [ "$(jq -r '.syscalls[0].kernelChecks[0].anyOf[0].state' <<<"$json")" = "lost at execve" ]
    jq -e '.syscalls[0].fixes[0].configSets | index("ambient")' <<<"$json" >/dev/null
    jq -e '.syscalls[0].fixes[0].lines | map(select(contains("setcap cap_sys_time+ep /bin/probe"))) | length == 1' <<<"$json" >/dev/null
    run -0 caprun run "$ID"
    [ "$(json_get .settimeofday "$(probe_json)")" = EPERM ]

    # The same with cap_sys_time+ep on the executable (and no no_new_privs, as Docker's
    # default): held after execve.
    setcap cap_sys_time+ep "$BUNDLE/rootfs/bin/probe"
    cfg '.process.noNewPrivileges = false'
    json=$(explain_json explain --bundle "$BUNDLE" settimeofday)
    [ "$(jq -r '.syscalls[0].kernelChecks[0].satisfied' <<<"$json")" = true ]
    [ "$(jq -r '.syscalls[0].cause' <<<"$json")" = none ]
    run -0 caprun run "$ID"
    [ "$(json_get .settimeofday "$(probe_json)")" = OK ]
}

@test "explain and check: a host without CAP_SYS_MODULE, under lenient and strict" {
    cfg '.process.args = ["/bin/probe", "syscalls", "delete_module"]'
    add_caps CAP_SYS_MODULE
    st=$(status_without 16)
    for policy in lenient strict; do
        run "$CAPRUN" --cap-policy "$policy" --host-status "$st" explain --bundle "$BUNDLE" delete_module
        echo "$output"
        [ "$status" -eq 0 ]
        [[ "$output" == *"no container setting can help: this runtime runs without CAP_SYS_MODULE in its bounding set"* ]]
        [[ "$output" == *"the host must offer CAP_SYS_MODULE"* ]]
        if [ "$policy" = strict ]; then
            [[ "$output" == *"asking for it anyway stops create/run: the capability policy is strict"* ]]
        else
            [[ "$output" == *"asking for it anyway only adds a warning: the lenient policy"* ]]
        fi
        [[ "$output" != *"docker run --cap-add"* ]]
        [[ "$output" != *privileged* ]]
    done
    # check's warning lists the syscalls that will fail and says it is the host.
    run "$CAPRUN" --host-status "$st" check --verbose --bundle "$BUNDLE" --seccomp-profile default
    echo "$output"
    [ "$status" -eq 0 ]
    [[ "$output" == *"this runtime runs without CAP_SYS_MODULE in its bounding set — inside another container or on a host that removes it"* ]]
    [[ "$output" == *"seccomp keeps init_module, finit_module, delete_module denied without it"* ]]
    # The real poorer host: lenient runs and the call fails; strict refuses, naming the host.
    run --separate-stderr capsh --drop=cap_sys_module -- -c \
        'cd "$1" && exec "$2" --root "$3" --cap-policy lenient run --seccomp-profile default "$4"' capsh "$BUNDLE" "$CAPRUN" "$ROOT" "$ID"
    echo "$stderr"
    [ "$status" -eq 0 ]
    [ "$(json_get .delete_module "$(probe_json)")" = EPERM ]
    [[ "$stderr" == *"this runtime runs without CAP_SYS_MODULE in its bounding set"* ]]
    [[ "$stderr" == *"seccomp keeps init_module, finit_module, delete_module denied without it"* ]]
    run capsh --drop=cap_sys_module -- -c \
        'cd "$1" && exec "$2" --root "$3" --cap-policy strict run --seccomp-profile default "$4"' capsh "$BUNDLE" "$CAPRUN" "$ROOT" "$ID"
    [ "$status" -ne 0 ]
    [[ "$output" == *"this runtime runs without CAP_SYS_MODULE in its bounding set"* ]]
}

# check's prediction of the sets after execve against what the kernel really gives the probe,
# for no_new_privs on and off, root and non-root, file capabilities +ep, +p and none. The
# setup makes every rule visible: CAP_SYS_TIME is in bounding but not permitted (the file can
# add it only without no_new_privs), CAP_NET_RAW in both, CAP_KILL in inheritable and ambient
# (file capabilities clear ambient).
@test "check: the predicted post-execve sets equal the kernel's, no_new_privs x file caps x uid" {
    cfg '.process.args = ["/bin/probe", "caps"]'
    cfg '.process.capabilities.bounding += ["CAP_NET_RAW", "CAP_SYS_TIME"] |
         .process.capabilities.permitted += ["CAP_NET_RAW"] |
         .process.capabilities.effective += ["CAP_NET_RAW"] |
         .process.capabilities.inheritable = ["CAP_KILL"] |
         .process.capabilities.ambient = ["CAP_KILL"]'
    local probe="$BUNDLE/rootfs/bin/probe" fc uid nnp predicted got key seen=""
    for fc in cap_net_raw,cap_sys_time+ep cap_net_raw,cap_sys_time+p none; do
        if [ "$fc" = none ]; then setcap -r "$probe" 2>/dev/null || true; else setcap "$fc" "$probe"; fi
        for uid in 0 1000; do
            for nnp in true false; do
                cfg --argjson u "$uid" --argjson n "$nnp" \
                    '.process.user.uid = $u | .process.user.gid = $u | .process.noNewPrivileges = $n'
                predicted=$("$CAPRUN" check --bundle "$BUNDLE" --format json | jq -c .capabilities.predicted.masks)
                run caprun run "$ID"
                echo "file caps $fc, uid $uid, no_new_privs $nnp: predicted $predicted, probe $output"
                [ "$status" -eq 0 ]
                got=$(probe_json)
                [ "$(json_get .NoNewPrivs "$got")" = "$([ "$nnp" = true ] && echo 1 || echo 0)" ]
                for key in permitted:CapPrm effective:CapEff ambient:CapAmb inheritable:CapInh bounding:CapBnd; do
                    [ "$(jq -r ".${key%%:*}" <<<"$predicted")" = "$(json_get ".${key#*:}" "$got")" ]
                done
                seen+="$(json_get .CapPrm "$got")/$(json_get .CapEff "$got") "
            done
        done
    done
    # The cases really differ (a prediction that ignored a rule could not pass them all).
    [ "$(tr ' ' '\n' <<<"$seen" | sort -u | grep -c .)" -ge 5 ]
}

@test "check: a +ep file forcing a capability outside the bounding set fails execve with EPERM" {
    cfg '.process.args = ["/bin/probe", "caps"]'
    setcap cap_sys_time+ep "$BUNDLE/rootfs/bin/probe"
    run -0 "$CAPRUN" check --verbose --bundle "$BUNDLE"
    [[ "$output" == *"execve of /bin/probe fails with EPERM: its file capabilities have the effective bit and force CAP_SYS_TIME"* ]]
    # The init's execve fails: exit status 127, with the kernel's errno.
    run -127 caprun run "$ID"
    echo "$output"
    [[ "$output" == *"Operation not permitted"* ]]
    # In bounding, it runs.
    cfg '.process.capabilities.bounding += ["CAP_SYS_TIME"]'
    run -0 "$CAPRUN" check --verbose --bundle "$BUNDLE"
    [[ "$output" != *"fails with EPERM"* ]]
    run caprun run "$ID"
    [ "$status" -eq 0 ]
}
