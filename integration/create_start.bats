#!/usr/bin/env bats
# create / start: the process model (issue 6's create/start part, built with issue 4).

load helpers

share_dir() {
    mkdir -p "$TMP/shared"
    cfg --arg s "$TMP/shared" '.mounts += [{"destination":"/shared","type":"bind","source":$s,"options":["rbind","rw"]}]'
}
wait_for_file() {
    local i
    for i in $(seq 1 200); do [ -e "$1" ] && return 0; sleep 0.05; done
    echo "timed out waiting for $1" >&2
    return 1
}

@test "create leaves the process blocked before user code; start releases it" {
    share_dir
    cfg '.process.args = ["/bin/sh", "-c", "touch /shared/started; exec sleep 1000"]'
    # The container keeps create's stdio (as with runc), so they go to a file, not to
    # a pipe that `run` would read until the container exits.
    caprun create --pid-file "$TMP/pid" "$ID" >"$TMP/create.out" 2>&1
    [ ! -s "$TMP/create.out" ]  # nothing of caprun's own on stdout/stderr
    local pid
    pid=$(cat "$TMP/pid")
    [[ "$pid" =~ ^[0-9]+$ ]]
    [ "$(wc -c <"$TMP/pid")" -eq ${#pid} ]  # bare digits, no newline
    [ -d "/proc/$pid" ]
    [ ! -e "$TMP/shared/started" ]
    [ "$(caprun state "$ID" | jq -r .status)" = created ]
    [ "$(caprun state "$ID" | jq -r .pid)" = "$pid" ]
    run caprun start "$ID"
    [ "$status" -eq 0 ]
    wait_for_file "$TMP/shared/started"
    [ "$(caprun state "$ID" | jq -r .status)" = running ]
    run caprun start "$ID"
    [ "$status" -ne 0 ]
    [[ "$output" == *"not created"* ]]
    caprun delete --force "$ID"
}

@test "create: the container process is a direct child of the caller's subreaper, no intermediate" {
    cfg '.process.args = ["/bin/sleep", "1000"]'
    "$PROBE" subreaper "$CAPRUN" --root "$ROOT" create --bundle "$BUNDLE" --pid-file "$TMP/pid" "$ID" \
        >"$TMP/subreaper.out" 2>&1
    [ "$(cat "$TMP/subreaper.out")" = "$(cat "$TMP/pid")" ]
    caprun delete --force "$ID"
}

@test "create: an id in use fails; start of an unknown container says it does not exist" {
    cfg '.process.args = ["/bin/sleep", "1000"]'
    caprun create "$ID"
    run caprun create "$ID"
    [ "$status" -ne 0 ]
    [[ "$output" == *"already exists"* ]]
    run caprun start "$ID-nope"
    [ "$status" -ne 0 ]
    [[ "$output" == *"does not exist"* ]]
    caprun delete --force "$ID"
}

@test "create: a terminal needs --console-socket; nothing is left after a failed create" {
    cfg '.process.terminal = true'
    run caprun create "$ID"
    [ "$status" -ne 0 ]
    [[ "$output" == *"--console-socket"* ]]
    [ ! -e "$ROOT/$ID" ]
    cfg '.process.terminal = false | .process.args = ["/bin/not-there"]'
    run caprun create "$ID"
    [ "$status" -ne 0 ]
    [[ "$output" == *"/bin/not-there"* ]]
    [ ! -e "$ROOT/$ID" ]
}

@test "created: the init is not dumpable, so the runtime binary cannot be opened through /proc/1/exe" {
    cfg '.process.args = ["/bin/sleep", "1000"]'
    caprun create "$ID"
    run caprun exec "$ID" /bin/sh -c 'cat /proc/1/exe >/dev/null && echo opened'
    [ "$status" -ne 0 ]
    [[ "$output" != *opened* ]]
    caprun delete --force "$ID"
}

@test "hooks run at their moments and where the spec says" {
    share_dir
    local log="$TMP/shared/hooks"
    cfg --arg l "$log" '.hooks = {
        "prestart": [{"path": "/bin/sh", "args": ["sh", "-c", "echo prestart >> \($l)"]}],
        "createRuntime": [{"path": "/bin/sh", "args": ["sh", "-c", "echo createRuntime >> \($l)"]}],
        "createContainer": [{"path": "/bin/sh", "args": ["sh", "-c", "echo createContainer $(readlink /proc/self/ns/mnt) >> \($l)"]}],
        "startContainer": [{"path": "/bin/sh", "args": ["sh", "-c", "echo startContainer >> /shared/hooks"]}],
        "poststart": [{"path": "/bin/sh", "args": ["sh", "-c", "echo poststart >> \($l)"]}],
        "poststop": [{"path": "/bin/sh", "args": ["sh", "-c", "echo poststop >> \($l)"]}]}'
    cfg '.process.args = ["/bin/sh", "-c", "echo process >> /shared/hooks"]'
    run caprun run "$ID"
    [ "$status" -eq 0 ]
    run -0 cat "$log"
    [ "${lines[0]}" = prestart ]
    [ "${lines[1]}" = createRuntime ]
    [[ "${lines[2]}" == createContainer* ]]
    [ "${lines[2]}" != "createContainer $(readlink /proc/self/ns/mnt)" ]  # container's mount ns
    [ "${lines[3]}" = startContainer ]
    # the process and poststart race; poststop is last
    [[ "${lines[*]}" == *process* ]]
    [[ "${lines[*]}" == *poststart* ]]
    [ "${lines[6]}" = poststop ]
}

@test "start returns, and poststart runs, only after the process is executed, however slow the startContainer hooks" {
    share_dir
    local log="$TMP/shared/hooks"
    # The startContainer hook runs in the container after start's byte; the process execs
    # after it. Before start waited for the execve, poststart came first here.
    cfg --arg l "$log" '.hooks = {
        "startContainer": [{"path": "/bin/sh", "args": ["sh", "-c", "sleep 1; echo startContainer >> /shared/hooks"]}],
        "poststart": [{"path": "/bin/sh", "args": ["sh", "-c", "echo poststart >> \($l)"]}]}
        | .process.args = ["/bin/sleep", "1000"]'
    caprun create "$ID"
    run -0 caprun start "$ID"
    run -0 cat "$log"
    [ "${lines[0]}" = startContainer ]
    [ "${lines[1]}" = poststart ]
    [ "$(caprun state "$ID" | jq -r .status)" = running ]
    caprun delete --force "$ID"
}

@test "a failing createRuntime hook fails create and leaves nothing behind" {
    cfg '.hooks = {"createRuntime": [{"path": "/bin/false"}]}'
    run caprun create "$ID"
    [ "$status" -ne 0 ]
    [[ "$output" == *createRuntime*"/bin/false"* ]]
    [ ! -e "$ROOT/$ID" ]
}

@test "session keyring: the container's own, shared by exec; --no-new-keyring keeps the caller's" {
    share_dir
    cfg '.process.args = ["/bin/sh", "-c", "probe keyring > /shared/k.tmp && mv /shared/k.tmp /shared/init; exec sleep 1000"]'
    caprun run -d "$ID" >"$TMP/run.out" 2>&1
    wait_for_file "$TMP/shared/init"
    local init
    init=$(cat "$TMP/shared/init")
    [[ "$init" == "keyring;0;0;"*";_ses.$ID" ]]
    run caprun exec "$ID" /bin/probe keyring
    [ "$status" -eq 0 ]
    [ "$output" = "$init" ]
    caprun delete --force "$ID"

    local mine
    mine=$("$PROBE" keyring)
    cfg '.process.args = ["/bin/probe", "keyring"]'
    run caprun run --no-new-keyring "$ID"
    [ "$status" -eq 0 ]
    [ "$output" = "$mine" ]
    [[ "$output" != *"_ses.$ID" ]]
}

@test "create --console-socket: exactly one pty master arrives; it is the process's terminal" {
    cfg '.process.terminal = true | .process.args = ["/bin/sh", "-c", "tty; echo hello on the pty"]'
    python3 "$BATS_TEST_DIRNAME/console-receiver.py" "$TMP/console.sock" "$TMP/console.out" &
    local receiver=$!
    wait_for_file "$TMP/console.sock"
    caprun create --console-socket "$TMP/console.sock" "$ID" >"$TMP/create.out" 2>&1
    [ ! -s "$TMP/create.out" ]
    caprun start "$ID"
    wait "$receiver"
    run -0 cat "$TMP/console.out"
    [ "${lines[0]}" = "fds: 1" ]
    [ "${lines[1]}" = "master: yes" ]
    [[ "${lines[2]}" == /dev/pts/* ]]
    [ "${lines[3]}" = "hello on the pty" ]
    local i
    for i in $(seq 1 100); do [ "$(caprun state "$ID" | jq -r .status)" = stopped ] && break; sleep 0.05; done
    caprun delete "$ID"
}
