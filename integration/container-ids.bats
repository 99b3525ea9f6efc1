#!/usr/bin/env bats
# Container ids that would name a path outside the state root (issue 15): every command
# that takes an id refuses them with the id error, and nothing is created, removed or
# changed anywhere under the test's temp dir (which holds the state root, its parent and a
# sibling directory a "../x" id would reach). An id with a NUL byte cannot be passed in
# argv; StateStore::validateId refuses it (tests/test_state.cpp, fuzz/fuzz_cli.cpp).

load helpers

# The ids: ".." and "." are the state root's parent and itself, "a/b" and "../sibling"
# go into other directories, "/" is the filesystem root, 1025 characters is over the
# limit, and the empty id names the state root itself.
bad_ids() {
    printf '%s\n' '..' '.' '/' 'a/b' '../sibling' '../../etc' "$(printf 'x%.0s' $(seq 1 1025))" ''
}

# Every path under $TMP with its type and mode, and the sibling's contents.
tree_snapshot() {
    find "$TMP" -path "$BUNDLE/rootfs" -prune -o -printf '%p %y %m\n' | sort
}

# caprun <command args...> with ID substituted; the id error is the only acceptable one.
expect_refused() {
    local id="$1"; shift
    local args=() a
    for a in "$@"; do
        if [ "$a" = ID ]; then args+=("$id"); else args+=("$a"); fi
    done
    run caprun "${args[@]}"
    if [ "$status" -eq 0 ]; then
        echo "caprun ${args[*]:0:3} with id '${id:0:40}' succeeded" >&2
        return 1
    fi
    case "$output" in
        *"container id must not be empty"* | *"container id is longer than 1024 characters"* | \
            *"invalid container id \""*"\": it must not be \".\", \"..\" or contain '/'"*) ;;
        *)
            echo "caprun ${args[*]:0:3} with id '${id:0:40}': unexpected error: $output" >&2
            return 1
            ;;
    esac
}

@test "container ids: every command refuses ids that escape the state root, nothing created" {
    ROOT="$TMP/parent/state"
    mkdir -p "$ROOT" "$TMP/parent/sibling" "$TMP/parent/a"
    echo '{}' >"$TMP/resources.json"
    cfg '.process.args = ["/bin/sleep", "1000"]'
    before="$(tree_snapshot)"
    local id n=0
    while IFS= read -r id; do
        expect_refused "$id" create --bundle "$BUNDLE" ID
        expect_refused "$id" run --bundle "$BUNDLE" ID
        expect_refused "$id" start ID
        expect_refused "$id" state ID
        expect_refused "$id" kill ID
        expect_refused "$id" kill ID KILL
        expect_refused "$id" delete ID
        expect_refused "$id" delete --force ID
        expect_refused "$id" exec ID /bin/true
        expect_refused "$id" exec --detach ID /bin/true
        expect_refused "$id" ps ID
        expect_refused "$id" pause ID
        expect_refused "$id" resume ID
        expect_refused "$id" update --resources "$TMP/resources.json" ID
        n=$((n + 14))
    done < <(bad_ids)
    echo "# $n refused command lines" >&3
    after="$(tree_snapshot)"
    if [ "$before" != "$after" ]; then
        diff <(echo "$before") <(echo "$after") >&2
        return 1
    fi
    [ -z "$(ls -A "$ROOT")" ]
    # Nothing got a cgroup either (teardown compares the cgroup tree as well).
}

@test "container ids: a good id next to the bad ones still works, list stays consistent" {
    cfg '.process.args = ["/bin/true"]'
    expect_refused '..' create --bundle "$BUNDLE" ID
    caprun create --bundle "$BUNDLE" "$ID"
    run caprun list --format json
    [ "$status" -eq 0 ]
    [ "$(jq -r 'map(.id) | join(",")' <<<"$output")" = "$ID" ]
    caprun delete --force "$ID"
    run -0 caprun list --format json
    [ "$(jq length <<<"$output")" = 0 ]
}
