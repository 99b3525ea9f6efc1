#!/usr/bin/env bats
# What `meson install` ships besides the binary (issue 33): the man pages the build makes
# from caprun's own option tables, and the bash, zsh and fish completion, which ask
# `caprun __complete`. Compared with `caprun --help`, `caprun features` and the parsers
# themselves (each offered value is run). The install itself (a --prefix in $HOME as a
# non-root user, and ninja uninstall) is checked by scripts/test-package.sh.

load helpers
source "$BATS_TEST_DIRNAME/man_pages.bash"

bats_require_minimum_version 1.5.0

SRC="$BATS_TEST_DIRNAME/.."
MAN_DIR="${CAPRUN_MAN_DIR:-$(dirname "$CAPRUN")/../../man}"

# No container in most tests: the container-id test makes its own bundle.
setup_file() { :; }
setup() { TMP="$(mktemp -d /tmp/caprun-install.XXXXXX)"; }
# The container test's setup_bundle moves $TMP to its bundle's directory: check_leftovers
# deletes its containers and removes it, even when the test failed.
teardown() {
    if [ -n "${BUNDLE:-}" ]; then
        check_leftovers
    else
        rm -rf "$TMP"
    fi
}

# bash: the candidates _caprun puts in COMPREPLY for the command line "$@" (the last word
# is the one being completed), with bash-completion loaded as an interactive shell has it.
complete_bash() {
    local line="$*"
    bash -c 'source /usr/share/bash-completion/bash_completion
        source "$1"; shift
        COMP_LINE="$*"; COMP_POINT=${#COMP_LINE}
        # bash splits "--opt=value" at the "=" into three words.
        COMP_WORDS=(); for w in "$@"; do
            if [[ $w == --*=* ]]; then COMP_WORDS+=("${w%%=*}" "=" "${w#*=}"); else COMP_WORDS+=("$w"); fi
        done
        COMP_CWORD=$(( ${#COMP_WORDS[@]} - 1 ))
        _caprun
        printf "%s\n" "${COMPREPLY[@]}"' _ "$SRC/completions/caprun.bash" "$CAPRUN" "$@"
}

# zsh: what _caprun passes to compadd (or "FILES" for _files), outside a real widget.
complete_zsh() {
    local words=("$CAPRUN" "$@")
    zsh -c 'compadd() { [[ $1 == -a ]] && print -l -- ${(P)2} }
        compset() { [[ $1 == -P ]] && PREFIX=${PREFIX#*=} }
        _files() { print FILES }
        words=("${@:2}"); CURRENT=${#words}; PREFIX=${words[-1]}
        source "$1"' _ "$SRC/completions/_caprun" "${words[@]}"
}

# fish: `complete -C` on the command line, with caprun found on PATH.
complete_fish() {
    mkdir -p "$TMP/bin"
    ln -sf "$CAPRUN" "$TMP/bin/caprun"
    PATH="$TMP/bin:$PATH" fish -c "source '$SRC/completions/caprun.fish'; complete -C \"\$argv\"" caprun "$@" |
        cut -f1
}

sorted() { printf '%s\n' "$@" | sort; }

@test "every command of --help has a man page in the build, with the options of its --help" {
    [ -f "$MAN_DIR/caprun.8" ] || { echo "no man pages in $MAN_DIR" >&2; false; }
    run -0 help_commands "$CAPRUN"
    [ "${#lines[@]}" -ge 18 ]
    run -0 compare_man_pages "$CAPRUN" "$MAN_DIR"
    # And caprun.8 names every command.
    run -0 bash -c "LC_ALL=C MANWIDTH=1000 man -l '$MAN_DIR/caprun.8' | sed -n '/^COMMANDS/,/^GLOBAL/p'"
    local c
    for c in $(help_commands "$CAPRUN"); do
        grep -qE "^       $c( |\$)" <<<"$output" || { echo "caprun.8 lacks $c" >&2; false; }
    done
}

@test "man pages: groff reads every page without a warning" {
    local f
    for f in "$MAN_DIR"/*.8; do
        run -0 bash -c "LC_ALL=C.UTF-8 MANWIDTH=80 man --warnings -l '$f' 2>&1 >/dev/null"
        [ -z "$output" ] || { echo "$f: $output" >&2; false; }
    done
}

@test "completion: commands, in bash, zsh and fish" {
    local want
    want="$(help_commands "$CAPRUN" | sort)"
    run -0 complete_bash ""
    [ "$(sorted "${lines[@]}")" = "$want" ]
    run -0 complete_zsh ""
    [ "$(sorted "${lines[@]}")" = "$want" ]
    run -0 complete_fish ""
    [ "$(sorted "${lines[@]}")" = "$want" ]
    run -0 complete_bash "exp"
    [ "$output" = explain ]
}

@test "completion: the options of each command are those of its --help" {
    local cmd want
    for cmd in "" $(help_commands "$CAPRUN"); do
        want="$(help_option_rows "$CAPRUN" "$cmd" | awk '{ print $2 }' | sort)"
        run -0 complete_bash $cmd "--"
        [ "$(sorted "${lines[@]}")" = "$want" ] || { echo "$cmd: ${lines[*]} != $want" >&2; false; }
    done
    run -0 complete_fish exec "--pid"
    [ "$output" = "--pid-file" ]
    run -0 complete_zsh list "-"
    [ "$(sorted "${lines[@]}")" = "$(sorted --format -f --help -h --quiet -q)" ]
}

@test "completion: --cap-policy, --log-format and --format values, each accepted by caprun" {
    run -0 complete_bash --cap-policy ""
    [ "$(sorted "${lines[@]}")" = "$(sorted lenient strict)" ]
    run -0 complete_bash --cap-policy=le
    [ "$output" = lenient ]
    run -0 complete_fish --cap-policy=le
    [ "$output" = --cap-policy=lenient ]
    run -0 complete_zsh --log-format=j
    [ "$output" = json ]
    run -0 complete_bash --log-format ""
    [ "$(sorted "${lines[@]}")" = "$(sorted json text)" ]
    local v
    for v in lenient strict; do run -0 "$CAPRUN" --cap-policy "$v" features; done
    run -1 "$CAPRUN" --cap-policy bogus features
    for v in json text; do run -0 "$CAPRUN" --log-format "$v" --log "$TMP/log" features; done

    run -0 complete_bash list --format ""
    [ "$(sorted "${lines[@]}")" = "$(sorted json table)" ]
    for v in json table; do run -0 "$CAPRUN" --root "$TMP/state" list --format "$v"; done
    run -0 complete_bash ps -f ""
    [ "$(sorted "${lines[@]}")" = "$(sorted json table)" ]
    run -0 "$CAPRUN" spec --bundle "$TMP"
    mkdir "$TMP/rootfs"
    for cmd in check explain; do
        run -0 complete_bash $cmd --format ""
        [ "$(sorted "${lines[@]}")" = "$(sorted json text)" ]
        for v in json text; do
            if [ $cmd = check ]; then
                run -0 "$CAPRUN" check --bundle "$TMP" --format "$v"
            else
                run -0 "$CAPRUN" explain --bundle "$TMP" --format "$v" getpid
            fi
        done
    done
    run -0 complete_bash trace --format ""
    [ "$(sorted "${lines[@]}")" = "$(sorted json text)" ]
}

@test "completion: syscall names for explain, capability names for exec --cap" {
    run -0 complete_bash explain --bundle /b get_mem
    [ "$output" = get_mempolicy ]
    run -0 complete_zsh explain some-id settimeo
    [ "$output" = settimeofday ]
    run -0 complete_fish explain --bundle /b delete_mod
    [ "$output" = delete_module ]
    # Every capability `caprun features` reports, and only those.
    run -0 complete_bash exec --cap ""
    [ "$(sorted "${lines[@]}")" = "$("$CAPRUN" features | jq -r '.linux.capabilities[]' | sort)" ]
    run -0 complete_bash exec -c CAP_SYS_NI
    [ "$output" = CAP_SYS_NICE ]
    # A file is completed where caprun has no candidate (bash's _filedir).
    touch "$TMP/config-file.json"
    run -0 complete_bash check --bundle "$TMP/config-f"
    [ "$output" = "$TMP/config-file.json" ]
}

@test "completion: container ids from caprun list, for the state root typed" {
    [ "$(id -u)" = 0 ] || skip "containers run as root"
    ROOTFS_TEMPLATE="$TMP/rootfs"
    make_rootfs "$ROOTFS_TEMPLATE"
    setup_bundle complete
    mv "$ROOTFS_TEMPLATE" "$TMP/template"  # removed with the bundle's $TMP
    rm -rf "$(dirname "$ROOTFS_TEMPLATE")"
    cfg '.process.args = ["/bin/sleep", "100"]'
    # (No `run`: the created container's init keeps the output pipe open.)
    caprun create "$ID" </dev/null >/dev/null 2>&1
    caprun create "$ID-second" </dev/null >/dev/null 2>&1
    run -0 complete_bash --root "$ROOT" start ""
    [ "$(sorted "${lines[@]}")" = "$(sorted "$ID" "$ID-second")" ]
    run -0 complete_zsh --root="$ROOT" kill "${ID}-s"
    [ "$output" = "$ID-second" ]
    run -0 complete_fish --root "$ROOT" exec ""
    [ "$(sorted "${lines[@]}")" = "$(sorted "$ID" "$ID-second")" ]
    # Another state root has none of them (and no file of that name is here).
    cd "$TMP"
    run -0 complete_bash --root "$TMP/other" delete "$ID"
    [ "${#lines[@]}" -eq 0 ]
    caprun delete --force "$ID"
    caprun delete --force "$ID-second"
}
