#!/usr/bin/env bats
# The first five minutes (issue 34): check's verdict first and short, colour only on a
# terminal, first-contact errors that say what to do, demo.sh's story, and the README's
# transcript of it. Poorer hosts are simulated (--host-status, capsh --drop).

load helpers

bats_require_minimum_version 1.5.0

# A /proc/<pid>/status with every capability of a 41-capability kernel, or without $1 (a bit).
host_status() {
    local mask=$(((1 << 41) - 1))
    [ -z "${1:-}" ] || mask=$((mask & ~(1 << $1)))
    printf 'Name:\tx\nCapInh:\t0000000000000000\nCapPrm:\t%016x\nCapEff:\t%016x\nCapBnd:\t%016x\nCapAmb:\t0000000000000000\n' \
        "$mask" "$mask" "$mask" >"$TMP/status"
}

# The verdict block: the lines before the first empty one.
verdict_of() {
    sed '/^$/,$d' <<<"$1"
}

@test "check: runc's default spec opens with its verdict, at most 12 lines, and is at most 40 in all" {
    mkdir -p "$TMP/runc/rootfs"
    "$CAPRUN" spec --bundle "$TMP/runc"
    host_status
    run -0 "$CAPRUN" --host-status "$TMP/status" check --bundle "$TMP/runc"
    echo "$output"
    [ "${lines[0]}" = "Starts under strict: yes" ]
    [ "${lines[1]}" = "Starts under lenient: yes (the policy in force, from default)" ]
    [ "${lines[2]}" = "Granted: CAP_KILL, CAP_NET_BIND_SERVICE, CAP_AUDIT_WRITE" ]
    [ "$(verdict_of "$output" | wc -l)" -le 12 ]
    [ "${#lines[@]}" -le 40 ]
    # The details follow in sections, in brief.
    [[ "$output" == *$'\nFields:      46 set: 46 applied, 0 refused, 0 ignored\n'* ]]
    [[ "$output" == *"  B E . P . > B E . P . > B E . P .  CAP_KILL CAP_NET_BIND_SERVICE CAP_AUDIT_WRITE"* ]]
    # --verbose: the same verdict, then everything as before.
    run -0 "$CAPRUN" --host-status "$TMP/status" check --verbose --bundle "$TMP/runc"
    [ "${lines[0]}" = "Starts under strict: yes" ]
    [[ "$output" == *$'\nFields (46 set):\n  applied  ociVersion: '* ]]
    [[ "$output" == *"  applied  mounts[*].destination (7): "* ]]
    [ "${#lines[@]}" -gt 60 ]
}

@test "check: a docker-style config (docker's capabilities, masked paths, its seccomp profile) is at most 40 lines" {
    # integration/fixtures/docker-config.json: what dockerd generates for `docker run busybox sh`
    # (seccomp aside: dockerd resolves its profile's capability gates itself, so the profile is
    # given as caprun's built-in one, which is docker's).
    mkdir -p "$TMP/docker/rootfs"
    cp "$BATS_TEST_DIRNAME/fixtures/docker-config.json" "$TMP/docker/config.json"
    host_status
    run -0 "$CAPRUN" --host-status "$TMP/status" check --bundle "$TMP/docker" --seccomp-profile default
    echo "$output"
    [ "${lines[0]}" = "Starts under strict: yes" ]
    [ "${lines[2]}" = "Granted: CAP_CHOWN, CAP_DAC_OVERRIDE, CAP_FOWNER, CAP_FSETID, CAP_KILL, CAP_SETGID, CAP_SETUID, CAP_SETPCAP, CAP_NET_BIND_SERVICE, CAP_NET_RAW, CAP_SYS_CHROOT, CAP_MKNOD, CAP_AUDIT_WRITE, CAP_SETFCAP" ]
    verdict="$(verdict_of "$output")"
    [ "$(wc -l <<<"$verdict")" -le 12 ]
    # Gated rules left out that workloads hit: not requested, named with their syscalls.
    grep -qx 'Seccomp denies mount, umount2, unshare, setns, sethostname without CAP_SYS_ADMIN (not requested)' <<<"$verdict"
    grep -qx 'Seccomp denies ptrace, process_vm_readv without CAP_SYS_PTRACE (not requested)' <<<"$verdict"
    [ "${#lines[@]}" -le 40 ]
    [[ "$output" == *"  37 rules: "*" in the filter, "*" left out ("*" for a capability not granted); default action SCMP_ACT_ERRNO (EPERM)"* ]]
    # JSON stays complete: every field, every rule, the process plan.
    run -0 "$CAPRUN" --host-status "$TMP/status" check --bundle "$TMP/docker" --seccomp-profile default --format json
    [ "$(jq '.fields | length' <<<"$output")" -eq 47 ]
    [ "$(jq '.seccomp.rules | length' <<<"$output")" -eq 37 ]
    [ "$(jq -r '.processPlan.mayStart' <<<"$output")" = true ]
    [ "$(jq -r '.capabilities.granted.bounding | length' <<<"$output")" -eq 14 ]
    [ "$(jq -r '.mounts | length' <<<"$output")" -eq 7 ]
    # And the verdict, as data.
    [ "$(jq -c '[.verdict.strict.starts, .verdict.lenient.starts, (.verdict.granted | length)]' <<<"$output")" = "[true,true,14]" ]
    [ "$(jq -r '.verdict.seccompGaps[] | select(.caps == ["CAP_SYS_ADMIN"]) | .syscalls | join(",")' <<<"$output")" = mount,umount2,unshare,setns,sethostname ]
}

@test "check on a host without CAP_SYS_NICE: strict refuses, lenient drops it; the verdict says which, and why" {
    cfg '.process.capabilities.bounding += ["CAP_SYS_NICE"] | .process.capabilities.effective += ["CAP_SYS_NICE"] | .process.capabilities.permitted += ["CAP_SYS_NICE"]'
    host_status 23
    run -0 "$CAPRUN" --host-status "$TMP/status" check --bundle "$BUNDLE" --seccomp-profile default
    echo "$output"
    verdict="$(verdict_of "$output")"
    [ "$(wc -l <<<"$verdict")" -le 12 ]
    [ "${lines[0]}" = "Starts under strict: no, 1 refusal below" ]
    [ "${lines[1]}" = "Starts under lenient: yes, without 1 requested capability (the policy in force, from default)" ]
    grep -qx "Dropped: CAP_SYS_NICE (bounding, effective, permitted): not in the runtime's bounding set; the host does not offer it (CapBnd=000001ffff7fffff)" <<<"$verdict"
    grep -qx 'Seccomp denies get_mempolicy, mbind, set_mempolicy, set_mempolicy_home_node, migrate_pages, move_pages without CAP_SYS_NICE (dropped)' <<<"$verdict"
    grep -q '^Refused under strict: the host (host status file .*) cannot grant what config.json asks for (cap policy strict, from --cap-policy): CAP_SYS_NICE' <<<"$verdict"
    # Strict in force: the same refusal, and check fails as create would.
    run -1 "$CAPRUN" --cap-policy strict --host-status "$TMP/status" check --bundle "$BUNDLE" --seccomp-profile default
    [ "${lines[0]}" = "Starts under strict: no, 1 refusal below (the policy in force, from --cap-policy)" ]
    [ "${lines[1]}" = "Starts under lenient: yes, without 1 requested capability" ]
}

@test "check's verdict is coloured on a terminal only, and never with NO_COLOR" {
    host_status 23
    cfg '.process.capabilities.bounding += ["CAP_SYS_NICE"]'
    local cmd="'$CAPRUN' --host-status '$TMP/status' check --bundle '$BUNDLE'"
    run -0 script -qec "$cmd" /dev/null
    [[ "$output" == *$'\e[31mno\e[0m'* ]]
    [[ "$output" == *$'\e[32myes\e[0m'* ]]
    [[ "$output" == *$'\e[32mGranted:\e[0m CAP_KILL'* ]]
    [[ "$output" == *$'\e[33mDropped:\e[0m CAP_SYS_NICE'* ]]
    [[ "$output" == *$'\e[31mRefused under strict:\e[0m the host'* ]]
    run -0 env NO_COLOR=1 script -qec "$cmd" /dev/null
    [[ "$output" == *"Dropped: CAP_SYS_NICE"* ]]
    [[ "$output" != *$'\e['* ]]
    # Not a terminal (bats captures a pipe).
    run -0 "$CAPRUN" --host-status "$TMP/status" check --bundle "$BUNDLE"
    [[ "$output" == *"Dropped: CAP_SYS_NICE"* ]]
    [[ "$output" != *$'\e['* ]]
}

@test "first contact: caprun run as a user without a rootless bundle says to use root or spec --rootless" {
    id nobody >/dev/null
    mkdir -p "$TMP/user/xdg"
    install -m 0755 "$CAPRUN" "$TMP/user/caprun"
    chown nobody "$TMP/user/xdg"
    chmod 755 "$TMP" "$TMP/user"
    chmod -R a+rX "$BUNDLE"
    run -1 runuser -u nobody -- env XDG_RUNTIME_DIR="$TMP/user/xdg" "$TMP/user/caprun" run --bundle "$BUNDLE" "$ID"
    echo "$output"
    [ "$output" = "caprun: running as uid $(id -u nobody) (not root) needs a user namespace in config.json, and this bundle has none: run caprun as root, or make a rootless bundle with \`caprun spec --rootless\`" ]
    [ -z "$(ls -A "$TMP/user/xdg/caprun" 2>/dev/null | grep -v '^seccomp-cache$' || true)" ]
}

@test "first contact: a bundle without config.json, or no bundle at all, says what to pass or make" {
    mkdir "$TMP/empty"
    run -1 caprun run --bundle "$TMP/empty" "$ID"
    [ "$output" = "caprun: config.json: not found in bundle $TMP/empty (create one with \`caprun spec --bundle $TMP/empty\`)" ]
    run -1 caprun run --bundle "$TMP/nowhere" "$ID"
    [ "$output" = "caprun: bundle directory $TMP/nowhere does not exist: pass --bundle DIR, the directory holding config.json and the rootfs" ]
    [ ! -e "$ROOT/$ID" ]
}

@test "first contact: a rootfs that does not exist says to create it or fix root.path" {
    rm -rf "$BUNDLE/rootfs"
    run -1 caprun run "$ID"
    [ "$output" = "caprun: config.json: root.path: the rootfs $BUNDLE/rootfs does not exist: create it and put the container's filesystem in it (an unpacked image), or set root.path to such a directory" ]
    [ ! -e "$ROOT/$ID" ]
}

@test "first contact: a container id already taken says to choose another or delete it" {
    # Not under `run`: the created init keeps its stdout, and `run` would wait for it to close.
    caprun create "$ID" >/dev/null
    run -1 caprun create "$ID"
    [ "$output" = "caprun: container $ID already exists: choose another id, or remove it with \`caprun --root $ROOT delete --force $ID\`" ]
    run -0 caprun delete --force "$ID"
}

@test "first contact: an unknown command or option names the nearest valid one" {
    run -1 "$CAPRUN" chek
    [ "$output" = 'caprun: unknown command "chek": did you mean "check"? (see caprun --help)' ]
    run -1 "$CAPRUN" check --bundel x
    [ "$output" = "caprun: check: unknown option --bundel: did you mean --bundle? (see caprun check --help)" ]
    run -1 "$CAPRUN" --cap-polcy strict check
    [ "$output" = "caprun: unknown global option --cap-polcy: did you mean --cap-policy? (see caprun --help)" ]
    # Nothing near: no guess.
    run -1 "$CAPRUN" frobnicate
    [ "$output" = 'caprun: unknown command "frobnicate" (see caprun --help)' ]
}

# demo.sh: every step headed by one line, runc's error beside caprun strict's, lenient's
# warning and the container's output, explain's fix in docker, Kubernetes and podman terms,
# the live trace; at most 80 lines, exit 0, nothing left behind.
@test "demo.sh tells the story in at most 80 lines, exits 0 and leaves nothing behind" {
    local before after
    before="$(ls -d /tmp/caprun-demo.* 2>/dev/null || true)"
    run -0 --separate-stderr env CAPRUN="$CAPRUN" "$BATS_TEST_DIRNAME/../scripts/demo.sh"
    echo "$output"
    echo "stderr: $stderr"
    [ -z "$stderr" ]
    [ "${#lines[@]}" -le 80 ]
    local n
    for n in 1 2 3 4 5 6 7; do [ "$(grep -c "^== $n\. " <<<"$output")" -eq 1 ]; done
    [ "$(grep -c '^== ' <<<"$output")" -eq 7 ]
    if command -v runc >/dev/null; then
        [[ "$output" == *$'\nrunc run failed: '*'unable to apply caps: operation not permitted'* ]]
    fi
    [[ "$output" == *$'\ncaprun: the host cannot grant what config.json asks for (cap policy strict, from --cap-policy): CAP_SYS_NICE (bounding, effective, permitted)'* ]]
    [[ "$output" == *$'\nStarts under lenient: yes, without 1 requested capability'* ]]
    [[ "$output" == *$'\ncaprun: warn: the host cannot grant everything config.json asks for; starting without it'* ]]
    [ "$(grep -c '^{"get_mempolicy":"EPERM"}$' <<<"$output")" -eq 2 ]
    [[ "$output" == *"docker: the outer container that runs caprun (docker-in-docker) needs --cap-add SYS_NICE"* ]]
    [[ "$output" == *'Kubernetes: the pod that runs caprun (a DinD or kind node) needs securityContext.capabilities.add: ["SYS_NICE"]'* ]]
    [[ "$output" == *"podman: the outer container that runs caprun needs --cap-add SYS_NICE"* ]]
    if ! "$CAPRUN" trace --help | grep -q "eBPF tracer: MISSING"; then
        [[ "$output" == *"(probe): get_mempolicy failed with EPERM — seccomp"* ]]
        [[ "$output" == *"the lenient policy (from container demo-traced's create) drops it"* ]]
    fi
    after="$(ls -d /tmp/caprun-demo.* 2>/dev/null || true)"
    [ "$after" = "$before" ]
    [ "$(grep -c ' /tmp/caprun-demo\.' /proc/self/mountinfo || true)" -eq 0 ]
    [ -z "$(pgrep -f 'caprun-demo\.' || true)" ]
    # Its cgroups: check_leftovers (teardown) diffs the cgroup tree.
}

@test "README: its transcript is demo.sh's output, normalised by scripts/demo-transcript.sh" {
    command -v runc >/dev/null || skip "the transcript was made where runc is installed"
    local repo="$BATS_TEST_DIRNAME/.."
    run -0 --separate-stderr env CAPRUN="$CAPRUN" "$repo/scripts/demo.sh"
    local fresh readme
    fresh="$("$repo/scripts/demo-transcript.sh" <<<"$output")"
    readme="$(sed -n '/^<!-- demo transcript: /,/^<!-- end of demo transcript -->/p' "$repo/README.md" | sed '1,2d;$d' | sed '$d')"
    [ -n "$readme" ]
    diff <(echo "$readme") <(echo "$fresh")
    # It is on the first screen: right after the opening commands and what caprun is.
    [ "$(grep -n '^<!-- demo transcript: ' "$repo/README.md" | cut -d: -f1)" -lt 30 ]
}
