#!/usr/bin/env bats
# The environment a container process and a hook get (issue 9 §3.6, §3.7): HOME from the
# container's /etc/passwd when process.env has none (as runc), and a hook without `env`
# runs with the runtime's own environment (as runc and crun).

load helpers

no_home_env() {
    cfg '.process.env |= map(select(startswith("HOME=") | not))'
}

@test "HOME: uid 0 gets root's home from the container's /etc/passwd" {
    no_home_env
    grep -q '^root:x:0:0:root:/root:' "$BUNDLE/rootfs/etc/passwd"
    cfg '.process.args = ["/bin/sh", "-c", "echo \"[$HOME]\""]'
    run caprun run "$ID"
    [ "$status" -eq 0 ]
    [ "$output" = "[/root]" ]
}

@test "HOME: an entry added to the container's own passwd; / for a uid with no entry" {
    no_home_env
    echo 'app:x:1234:1234:app:/srv/app:/bin/sh' >>"$BUNDLE/rootfs/etc/passwd"
    cfg '.process.user.uid = 1234 | .process.user.gid = 1234 | .process.args = ["/bin/sh", "-c", "echo \"[$HOME]\""]'
    run caprun run "$ID"
    [ "$status" -eq 0 ]
    [ "$output" = "[/srv/app]" ]
    cfg '.process.user.uid = 4321 | .process.user.gid = 4321'
    run caprun run "$ID"
    [ "$status" -eq 0 ]
    [ "$output" = "[/]" ]
    # No /etc/passwd at all: / too.
    rm "$BUNDLE/rootfs/etc/passwd"
    cfg '.process.user.uid = 0 | .process.user.gid = 0'
    run caprun run "$ID"
    [ "$status" -eq 0 ]
    [ "$output" = "[/]" ]
}

@test "HOME: a HOME set in process.env is kept" {
    cfg '.process.env += ["HOME=/custom/home"] | .process.args = ["/bin/sh", "-c", "echo \"[$HOME]\"; env | grep -c ^HOME="]'
    run caprun run "$ID"
    [ "$status" -eq 0 ]
    [ "${lines[0]}" = "[/custom/home]" ]
    [ "${lines[1]}" = 1 ]
}

@test "HOME: exec gets it from the container's /etc/passwd too, or keeps --env HOME" {
    no_home_env
    cfg '.process.args = ["/bin/sleep", "1000"]'
    caprun run -d "$ID"
    run -0 caprun exec "$ID" /bin/sh -c 'echo "[$HOME]"'
    local asRoot=$output
    run -0 caprun exec --user 1000:1000 "$ID" /bin/sh -c 'echo "[$HOME]"'
    local asUser=$output
    run -0 caprun exec --user 777:777 "$ID" /bin/sh -c 'echo "[$HOME]"'
    local noEntry=$output
    run -0 caprun exec --env HOME=/elsewhere "$ID" /bin/sh -c 'echo "[$HOME]"'
    local given=$output
    caprun delete --force "$ID"
    [ "$asRoot" = "[/root]" ]
    [ "$asUser" = "[/home/user]" ]
    [ "$noEntry" = "[/]" ]
    [ "$given" = "[/elsewhere]" ]
}

@test "hooks: a hook without env gets the runtime's environment; with env exactly that" {
    cfg --arg a "$TMP/hook-inherit" --arg b "$TMP/hook-own" \
        '.hooks.prestart = [{"path":"/bin/sh","args":["sh","-c","env > \($a)"]},
                            {"path":"/bin/sh","args":["sh","-c","env > \($b)"],"env":["ONLY=this"]}]
         | .process.args = ["/bin/true"]'
    CAPRUN_HOOK_ENV_TEST=from-the-runtime run caprun run "$ID"
    echo "$output"
    [ "$status" -eq 0 ]
    grep -qx 'CAPRUN_HOOK_ENV_TEST=from-the-runtime' "$TMP/hook-inherit"
    grep -q '^PATH=' "$TMP/hook-inherit"
    ! grep -q 'CAPRUN_HOOK_ENV_TEST' "$TMP/hook-own" || false
    grep -qx 'ONLY=this' "$TMP/hook-own"
}
