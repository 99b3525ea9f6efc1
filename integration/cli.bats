#!/usr/bin/env bats
# The caprun binary's command line as callers and people see it.

bats_require_minimum_version 1.5.0

setup() {
    CAPRUN="${CAPRUN:-$BATS_TEST_DIRNAME/../build/src/cli/caprun}"
    TMP="$(mktemp -d "${BATS_TMPDIR:-/tmp}/caprun-cli.XXXXXX")"
}

teardown() {
    rm -rf "$TMP"
}

@test "--version prints version, commit, spec, libseccomp and libcap lines" {
    run "$CAPRUN" --version
    [ "$status" -eq 0 ]
    [[ "${lines[0]}" =~ ^caprun\ version\ [0-9]+\.[0-9]+\.[0-9]+$ ]]
    [[ "${lines[1]}" =~ ^commit:\ ([0-9a-f]{7,}|unknown)$ ]]
    [[ "${lines[2]}" =~ ^spec:\ 1\.[0-9]+\.[0-9]+$ ]]
    [[ "${lines[3]}" =~ ^libseccomp:\ [0-9]+\.[0-9]+\.[0-9]+$ ]]
    [[ "${lines[4]}" =~ ^libcap:\ [0-9]+\.[0-9]+$ ]]
    [ "${#lines[@]}" -eq 6 ]  # and the features line, below
}

@test "--version lists the features built in, crun-style, and caprun features agrees" {
    run -0 "$CAPRUN" --version
    local line="${lines[5]}" features f sign
    [[ "$line" =~ ^[+-][A-Z]+( [+-][A-Z]+)*$ ]]
    [ "$(tr ' ' '\n' <<<"$line" | cut -c2- | tr '\n' ' ')" = "SYSTEMD SELINUX APPARMOR CAP SECCOMP BPF CRIU " ]
    run -0 "$CAPRUN" features
    features="$output"
    [ "$(jq -r '.annotations["run.caprun.build-features"]' <<<"$features")" = "$line" ]
    # Each sign agrees with what features reports of that part.
    sign=$(jq -r 'if .linux.cgroup.systemd then "+" else "-" end' <<<"$features")
    [[ " $line " == *" ${sign}SYSTEMD "* ]]
    sign=$(jq -r 'if (.annotations["run.caprun.trace-eperm"] | startswith("missing: this caprun was built without")) then "-" else "+" end' <<<"$features")
    [[ " $line " == *" ${sign}BPF "* ]]
    sign=$(jq -r 'if .linux.seccomp.enabled then "+" else "-" end' <<<"$features")
    [[ " $line " == *" ${sign}SECCOMP "* ]]
    sign=$(jq -r 'if (.linux.capabilities | length) > 0 then "+" else "-" end' <<<"$features")
    [[ " $line " == *" ${sign}CAP "* ]]
    sign=$(jq -r 'if (.annotations["run.caprun.checkpoint"] | startswith("missing: ")) then "-" else "+" end' <<<"$features")
    [[ " $line " == *" ${sign}CRIU "* ]]
}

@test "--help lists every subcommand and global option" {
    run "$CAPRUN" --help
    [ "$status" -eq 0 ]
    for opt in --root --log --log-format --debug --systemd-cgroup --rootless --criu \
               --cgroup-manager --cap-policy; do
        [[ "$output" == *"$opt "* ]] || { echo "missing $opt"; false; }
    done
    # --criu names the binary checkpoint and restore run.
    [[ "$output" == *"--criu arg"*"the CRIU binary checkpoint and restore run"* ]]
    # Every command named in the table has its own --help.
    cmds=$(sed -n '/^Commands:/,/^$/p' <<<"$output" | awk 'NR>1 && NF {print $1}')
    [ -n "$cmds" ]
    for c in $cmds; do
        run "$CAPRUN" "$c" --help
        [ "$status" -eq 0 ] || { echo "$c --help failed"; false; }
        [[ "$output" == *"Usage: caprun [global options] $c"* ]]
    done
}

@test "unknown subcommand and unknown options exit 1 and say what was not understood" {
    run "$CAPRUN" frobnicate
    [ "$status" -eq 1 ]
    [[ "$output" == *'unknown command "frobnicate"'* ]]
    run "$CAPRUN" --frobnicate check
    [ "$status" -eq 1 ]
    [[ "$output" == *"unknown global option --frobnicate"* ]]
    run "$CAPRUN" check --frobnicate
    [ "$status" -eq 1 ]
    [[ "$output" == *"check: unknown option --frobnicate"* ]]
    run "$CAPRUN" --cap-policy=sometimes check
    [ "$status" -eq 1 ]
    [[ "$output" == *'invalid value "sometimes" for --cap-policy: expected one of strict, lenient'* ]]
    run "$CAPRUN" --log-format xml check
    [ "$status" -eq 1 ]
    [[ "$output" == *"--log-format: expected one of text, json"* ]]
}

@test "cleanup refuses arguments and unknown options, naming them, and removes nothing" {
    local before
    before=$(find /sys/fs/cgroup -type d -name caprun 2>/dev/null | sort)
    run "$CAPRUN" cleanup extra
    [ "$status" -eq 1 ]
    [[ "$output" == *'cleanup: unexpected argument "extra" (see caprun cleanup --help)'* ]]
    run "$CAPRUN" cleanup --bogus
    [ "$status" -eq 1 ]
    [[ "$output" == *"cleanup: unknown option --bogus (see caprun cleanup --help)"* ]]
    [ "$(find /sys/fs/cgroup -type d -name caprun 2>/dev/null | sort)" = "$before" ]
}

@test "spec writes a config.json that check accepts, and refuses to overwrite it" {
    run "$CAPRUN" spec --bundle "$TMP"
    [ "$status" -eq 0 ]
    [ -z "$output" ]
    [ -s "$TMP/config.json" ]
    before=$(sha256sum "$TMP/config.json")
    run "$CAPRUN" spec --bundle="$TMP"
    [ "$status" -eq 1 ]
    [[ "$output" == *"already exists"* ]]
    [ "$(sha256sum "$TMP/config.json")" = "$before" ]
    run "$CAPRUN" check --bundle "$TMP" --format json
    [ "$status" -eq 0 ]
    [[ "$output" == *'"args"'* ]]
}

@test "check: bad bundles fail with their own message, exit 1, and create nothing" {
    run "$CAPRUN" check --bundle "$TMP/missing"
    [ "$status" -eq 1 ]
    [[ "$output" == *"bundle directory $TMP/missing does not exist"* ]]
    [ ! -e "$TMP/missing" ]
    run "$CAPRUN" check --bundle "$TMP"
    [ "$status" -eq 1 ]
    [[ "$output" == *"config.json: not found in bundle $TMP"* ]]
    printf '{\n  "ociVersion": "1.0.2",\n  "root": {"path": "rootfs"},\n  "process": 5\n}\n' > "$TMP/config.json"
    run "$CAPRUN" check --bundle "$TMP"
    [ "$status" -eq 1 ]
    [[ "$output" == *"config.json: process: expected an object, got a number"* ]]
    printf '{\n  "ociVersion": "1.0.2",,\n}\n' > "$TMP/config.json"
    run "$CAPRUN" check --bundle "$TMP"
    [ "$status" -eq 1 ]
    [[ "$output" == *"config.json: invalid JSON at line 2, column 25"* ]]
    truncate -s 17M "$TMP/config.json"
    run "$CAPRUN" check --bundle "$TMP"
    [ "$status" -eq 1 ]
    [[ "$output" == *"over the limit of 16777216 bytes"* ]]
    [ "$(ls "$TMP")" = "config.json" ]
}

@test "--log FILE --log-format json: one JSON line per message, error also on stderr" {
    run "$CAPRUN" --log "$TMP/log.json" --log-format json check --bundle "$TMP/missing"
    [ "$status" -eq 1 ]
    [[ "$output" == *"does not exist"* ]]
    [ "$(wc -l < "$TMP/log.json")" -eq 1 ]
    grep -qE '^\{"level":"error","msg":"bundle directory [^"]+ does not exist: pass --bundle DIR, the directory holding config.json and the rootfs","time":"[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9:.]+Z"\}$' "$TMP/log.json"
}

@test "check --host-status: plans for another host; strict fails with run's message; JSON keys" {
    "$CAPRUN" spec --bundle "$TMP"
    mkdir "$TMP/rootfs"
    sed -i 's/"CAP_KILL",/"CAP_KILL", "CAP_SYS_MODULE", "CAP_BPF",/g' "$TMP/config.json"
    # A Talos-like host without CAP_SYS_MODULE and CAP_SYS_BOOT, on a kernel with 41 caps.
    printf 'Name:\tx\nCapInh:\t0000000000000000\nCapPrm:\t000001ffffbeffff\nCapEff:\t000001ffffbeffff\nCapBnd:\t000001ffffbeffff\nCapAmb:\t0000000000000000\n' > "$TMP/status"
    run "$CAPRUN" --host-status "$TMP/status" check --verbose --bundle "$TMP"
    [ "$status" -eq 0 ]
    [[ "$output" == *"Host (host status file $TMP/status): CapBnd=000001ffffbeffff"* ]]
    [[ "$output" == *"CAP_SYS_MODULE (bounding, effective, permitted): not in the runtime's bounding set; the host does not offer it (CapBnd=000001ffffbeffff)"* ]]
    [[ "$output" != *"CAP_BPF (bounding"* ]]
    # The same host on an older kernel: CAP_BPF is unknown there.
    run -0 "$CAPRUN" --host-status "$TMP/status" --host-cap-last 37 check --verbose --bundle "$TMP"
    [[ "$output" == *"CAP_BPF (bounding, effective, permitted): unknown to this kernel (cap_last_cap=37)"* ]]
    run "$CAPRUN" --cap-policy strict --host-status "$TMP/status" check --bundle "$TMP" --format json
    [ "$status" -eq 1 ]
    [[ "$output" == *"cannot grant what config.json asks for (cap policy strict, from --cap-policy)"* ]]
    [[ "$output" == *"--cap-policy=lenient"* ]]
    json=$("$CAPRUN" --host-status "$TMP/status" check --bundle "$TMP" --format json)
    for key in policy policySource host requested granted dropped predicted warnings; do
        jq -e --arg k "$key" '.capabilities | has($k)' <<<"$json" >/dev/null || { echo "no $key"; false; }
    done
    [ "$(jq -r '.capabilities.dropped[0].cap' <<<"$json")" = "CAP_SYS_MODULE" ]
    [ "$(jq -r '.capabilities.host.bounding' <<<"$json")" = "000001ffffbeffff" ]
    # run and create refuse it: they run here, not on that host.
    run "$CAPRUN" --host-status "$TMP/status" run --bundle "$TMP" x
    [ "$status" -eq 1 ]
    [[ "$output" == *"--host-status and --host-cap-last are only for \`caprun check\`"* ]]
}
