#!/usr/bin/env bats
# Escape regressions (issue 15): one test per class of runc/crun CVE. Each builds its hostile
# rootfs or config itself and would fail on a runtime with the bug. Host directories the
# attacks aim at live under the test's $TMP; teardown (helpers.bash) also fails a test that
# changed the host's mount table or left anything behind.

load helpers

# A snapshot of a host directory: every entry with type, mode and size, and its mounts.
host_snapshot() {
    find "$1" -printf '%P %y %m %s\n' | sort
    awk -v d="$1" 'index($5, d) == 1 { print "mount", $5 }' /proc/self/mountinfo
}

# A host directory with a marker file, the target of the symlinks below.
make_host_dir() {
    mkdir -p "$1"
    echo "host file, must stay as it is" >"$1/marker"
}

@test "CVE-2019-5736: caprun's exec helper, seen from the container, cannot be opened through /proc/<pid>/exe" {
    # The watcher scans the container's /proc while caprun exec helpers come and go: each is
    # a caprun process in the container's pid namespace from clone until it execs the
    # command. It tries to open their /proc/<pid>/exe, holds what opened until the helper
    # is gone and then reopens it for writing, as the exploit does.
    cfg '.root.readonly = false | .process.args = ["/bin/sleep", "1000"]'
    caprun run -d "$ID"
    caprun exec -d "$ID" /bin/sh -c 'probe exe-watch /tmp/stop > /tmp/watch.json'
    local i
    for i in $(seq 1 60); do caprun exec "$ID" /bin/true; done
    caprun exec "$ID" /bin/touch /tmp/stop
    for i in $(seq 1 100); do
        caprun exec "$ID" /bin/sh -c 'test -s /tmp/watch.json' && break
        sleep 0.1
    done
    run -0 caprun exec "$ID" /bin/cat /tmp/watch.json
    echo "# watcher: $output" >&3
    [ "$(json_get .opened)" = 0 ]
    [ "$(json_get .written)" = 0 ]
    # Without a sighting the test above proves nothing: the helper is in the pid namespace
    # from clone until it execs, long enough for a /proc scan to meet it within 60 execs.
    [ "$(json_get .guarded)" -ge 1 ]
    caprun delete --force "$ID"
}

@test "CVE-2024-21626: no runtime fd in the container's init or an exec'd process, beyond stdio and --preserve-fds" {
    cfg '.process.args = ["/bin/sleep", "1000"]'
    caprun run -d --preserve-fds 2 "$ID" 3<"$BUNDLE/config.json" 4<"$BUNDLE/config.json"
    # The init (pid 1) holds exactly stdio and the two preserved fds.
    run caprun exec "$ID" /bin/sh -c 'ls /proc/1/fd | sort -n | tr "\n" " "'
    [ "$status" -eq 0 ]
    [ "$output" = "0 1 2 3 4 " ]
    # The exec'd process holds stdio only; with --preserve-fds 1 also fd 3.
    run caprun exec "$ID" /bin/probe fds
    [ "$status" -eq 0 ]
    [ "$(jq -r 'keys | join(",")' <<<"$output")" = "0,1,2" ]
    run caprun exec --preserve-fds 1 "$ID" /bin/probe fds 3</dev/null
    [ "$status" -eq 0 ]
    [ "$(jq -r 'keys | join(",")' <<<"$output")" = "0,1,2,3" ]
    caprun delete --force "$ID"
}

# Whether the cwd of a process reaches outside its root: the kernel shows such a cwd as a
# path that does not lead back to the same directory from inside the container.
cwd_check='c=$(readlink /proc/self/cwd); [ "$(stat -c %d:%i /proc/self/cwd/)" = "$(stat -c %d:%i "$c/" 2>/dev/null)" ] && echo "inside $c" || echo "OUTSIDE $c"'

@test "CVE-2024-21626: process.cwd /proc/self/fd/N (N=3..10) never reaches a host directory" {
    local n
    for n in $(seq 3 10); do
        cfg --arg cwd "/proc/self/fd/$n" --arg s "$cwd_check" '.process.cwd = $cwd | .process.args = ["/bin/sh", "-c", $s]'
        run caprun run "$ID-$n"
        echo "# cwd fd $n: status $status: $output" >&3
        [[ "$output" != *OUTSIDE* ]]
        if [ "$status" -eq 0 ]; then [[ "$output" == "inside "* ]]; else [[ "$output" == *"/proc/self/fd/$n"* ]]; fi
        # The refusal shows nothing of the runtime's fd (its readlink text: "pipe:[…]", a
        # host path) and creates nothing named after it.
        [[ "$output" != *":["* && "$output" != *"$BATS_RUN_TMPDIR"* && "$output" != *"$(basename "$BATS_RUN_TMPDIR")"* && "$output" != *"creating \""* ]]
        caprun delete --force "$ID-$n"
    done
}

@test "CVE-2024-21626: exec --cwd /proc/self/fd/N (N=3..10) never reaches a host directory" {
    cfg '.process.args = ["/bin/sleep", "1000"]'
    caprun run -d "$ID"
    local n
    for n in $(seq 3 10); do
        run caprun exec --cwd "/proc/self/fd/$n" "$ID" /bin/sh -c "$cwd_check"
        echo "# exec cwd fd $n: status $status: $output" >&3
        [[ "$output" != *OUTSIDE* ]]
        if [ "$status" -eq 0 ]; then [[ "$output" == "inside "* ]]; else [[ "$output" == *"/proc/self/fd/$n"* ]]; fi
        # The refusal shows nothing of the runtime's fd (its readlink text: "pipe:[…]", a
        # host path) and creates nothing named after it.
        [[ "$output" != *":["* && "$output" != *"$BATS_RUN_TMPDIR"* && "$output" != *"$(basename "$BATS_RUN_TMPDIR")"* && "$output" != *"creating \""* ]]
    done
    caprun delete --force "$ID"
}

@test "CVE-2021-30465: a mount destination that is a symlink out of the rootfs mounts only inside" {
    make_host_dir "$TMP/host-abs"
    make_host_dir "$TMP/host-rel"
    before_abs="$(host_snapshot "$TMP/host-abs")"
    before_rel="$(host_snapshot "$TMP/host-rel")"
    ln -s "$TMP/host-abs" "$BUNDLE/rootfs/evil-abs"
    ln -s "../../../../../../../../..$TMP/host-rel" "$BUNDLE/rootfs/evil-rel"
    mkdir -p "$TMP/src" && echo mounted >"$TMP/src/payload"
    cp "$BUNDLE/config.json" "$TMP/config.base"
    # An absolute symlink: resolved inside the rootfs, the tmpfs lands on rootfs/$TMP/host-abs.
    cfg '.mounts += [{"destination": "/evil-abs", "type": "tmpfs", "source": "tmpfs"}]'
    cfg '.process.args = ["/bin/sh", "-c", "ls -A /evil-abs | wc -l"]'
    run caprun run "$ID-abs"
    echo "# absolute symlink: status $status: $output" >&3
    if [ "$status" -eq 0 ]; then [ "$output" = 0 ]; else [[ "$output" == *"/evil-abs"* ]]; fi
    caprun delete --force "$ID-abs"
    # A relative one climbing out with "..": refused or clamped at the rootfs's /.
    cp "$TMP/config.base" "$BUNDLE/config.json"
    cfg --arg src "$TMP/src" '.mounts += [{"destination": "/evil-rel/sub", "type": "bind", "source": $src, "options": ["rbind"]}]'
    cfg '.process.args = ["/bin/sh", "-c", "cat /evil-rel/sub/payload"]'
    run caprun run "$ID-rel"
    echo "# relative symlink: status $status: $output" >&3
    if [ "$status" -eq 0 ]; then [ "$output" = mounted ]; else [[ "$output" == *"/evil-rel/sub"* ]]; fi
    caprun delete --force "$ID-rel"
    [ "$(host_snapshot "$TMP/host-abs")" = "$before_abs" ]
    [ "$(host_snapshot "$TMP/host-rel")" = "$before_rel" ]
}

@test "CVE-2021-30465: a destination raced between a directory and a symlink out of the rootfs" {
    make_host_dir "$TMP/host-race"
    before="$(host_snapshot "$TMP/host-race")"
    mkdir -p "$TMP/src" && echo mounted >"$TMP/src/payload"
    mkdir "$BUNDLE/rootfs/race"
    cfg --arg src "$TMP/src" '.mounts += [{"destination": "/race/sub", "type": "bind", "source": $src, "options": ["rbind"]}]'
    cfg '.process.args = ["/bin/sh", "-c", "cat /race/sub/payload"]'
    # Turns rootfs/race into a directory, then a symlink to the host dir, as fast as it can
    # (rename cannot swap a directory and a symlink: remove and recreate).
    (
        cd "$BUNDLE/rootfs"
        while [ ! -e "$TMP/stop-race" ]; do
            rm -rf race 2>/dev/null; mkdir race 2>/dev/null
            rm -rf race 2>/dev/null; ln -s "$TMP/host-race" race 2>/dev/null
        done
    ) &
    racer=$!
    local i ok=0 refused=0
    for i in $(seq 1 20); do
        run caprun run "$ID-$i"
        if [ "$status" -eq 0 ]; then
            [ "$output" = mounted ] || { touch "$TMP/stop-race"; wait "$racer" || true; return 1; }
            ok=$((ok + 1))
        else
            refused=$((refused + 1))
        fi
        echo "# race $i: status $status: $output" >&3
        run caprun delete --force "$ID-$i"
        [ "$status" -eq 0 ] || { echo "delete --force $ID-$i: $output" >&2; touch "$TMP/stop-race"; wait "$racer" || true; return 1; }
        [ "$(host_snapshot "$TMP/host-race")" = "$before" ]
    done
    touch "$TMP/stop-race"
    wait "$racer" || true  # the racer's last rm or ln may have failed
    echo "# 20 creates while racing: $ok ran with the mount inside, $refused failed or ran after the racer moved /race" >&3
    # What the racer left in the rootfs (a symlink or a directory) stays inside it.
    rm -rf "$BUNDLE/rootfs/race"
    [ "$(host_snapshot "$TMP/host-race")" = "$before" ]
}

@test "CVE-2019-16884: /proc and /sys that are symlinks out of the rootfs: refused or mounted inside only" {
    local what
    for what in proc sys; do
        make_host_dir "$TMP/host-$what"
        before="$(host_snapshot "$TMP/host-$what")"
        rmdir "$BUNDLE/rootfs/$what"
        ln -s "$TMP/host-$what" "$BUNDLE/rootfs/$what"
        cfg '.process.args = ["/bin/sh", "-c", "test -e /proc/self/status && test -d /sys/kernel && echo fine"]'
        run caprun run "$ID-$what"
        echo "# /$what symlink: status $status: $output" >&3
        if [ "$status" -eq 0 ]; then
            [ "$output" = fine ]
        else
            [[ "$output" == *"/$what"* ]]
        fi
        [ "$(host_snapshot "$TMP/host-$what")" = "$before" ]
        caprun delete --force "$ID-$what"
        rm "$BUNDLE/rootfs/$what"
        mkdir "$BUNDLE/rootfs/$what"
    done
}

@test "CVE-2025-31133: maskedPaths with the rootfs's /dev/null a symlink or a regular file" {
    local kind
    make_host_dir "$TMP/host-null"
    before="$(host_snapshot "$TMP/host-null")"
    core_before="$(cat /proc/sys/kernel/core_pattern)"
    cp "$BUNDLE/config.json" "$TMP/config.saved"
    for kind in symlink-host symlink-proc regular raced; do
        cp "$TMP/config.saved" "$BUNDLE/config.json"
        rm -f "$BUNDLE/rootfs/dev/null"
        case $kind in
            symlink-host) ln -s "$TMP/host-null/marker" "$BUNDLE/rootfs/dev/null" ;;
            symlink-proc) ln -s /proc/sys/kernel/core_pattern "$BUNDLE/rootfs/dev/null" ;;
            regular) echo "hostile content" >"$BUNDLE/rootfs/dev/null" ;;
        esac
        if [ "$kind" = raced ]; then
            # The race after caprun made its devices, won for sure: a createContainer hook
            # (in the container's mount namespace, before pivot_root) swaps the new /dev/null.
            cfg --arg n "$BUNDLE/rootfs/dev/null" '.hooks.createContainer = [{"path": "/bin/sh",
                "args": ["sh", "-c", "rm -f \($n) && ln -s /proc/sys/kernel/core_pattern \($n)"]}]'
        else
            # Without a /dev tmpfs the rootfs's own /dev is used as it is.
            cfg 'del(.mounts[] | select(.destination == "/dev" or .destination == "/dev/pts" or .destination == "/dev/shm" or .destination == "/dev/mqueue"))'
        fi
        echo "masked file" >"$BUNDLE/rootfs/etc/secret"
        cfg '.linux.maskedPaths = ["/etc/secret", "/proc/timer_list"]'
        cfg '.process.args = ["/bin/sh", "-c", "stat -c \"%F %t:%T\" /etc/secret /proc/timer_list; cat /etc/secret; echo end"]'
        run caprun run "$ID-$kind"
        echo "# /dev/null $kind: status $status: $output" >&3
        if [ "$status" -eq 0 ]; then
            [ "${lines[0]}" = "character special file 1:3" ]
            [ "${lines[1]}" = "character special file 1:3" ]
            [ "${lines[2]}" = end ]
        else
            [[ "$output" == *"/dev/null"* ]]
        fi
        caprun delete --force "$ID-$kind"
        [ "$(host_snapshot "$TMP/host-null")" = "$before" ]
        [ "$(cat /proc/sys/kernel/core_pattern)" = "$core_before" ]
    done
    # The race is refused, not won by the container (the other kinds are repaired by the
    # device nodes caprun makes).
    [[ "$output" == *"the container's /dev/null is a symlink"* ]]
    rm -f "$BUNDLE/rootfs/dev/null"
}

@test "CVE-2025-52565: /dev/console a symlink, a directory or swapped by a race: the pty is bound only onto a node inside" {
    local kind
    make_host_dir "$TMP/host-console"
    before="$(host_snapshot "$TMP/host-console")"
    core_before="$(cat /proc/sys/kernel/core_pattern)"
    cfg '.process.terminal = true | .process.args = ["/bin/sh", "-c", "stat -c \"%F %t:%T\" /dev/console $(tty)"]'
    cp "$BUNDLE/config.json" "$TMP/config.saved"
    for kind in symlink-host symlink-proc directory raced; do
        cp "$TMP/config.saved" "$BUNDLE/config.json"
        rm -rf "$BUNDLE/rootfs/dev/console"
        case $kind in
            symlink-host) ln -s "$TMP/host-console/marker" "$BUNDLE/rootfs/dev/console" ;;
            symlink-proc) ln -s /proc/sys/kernel/core_pattern "$BUNDLE/rootfs/dev/console" ;;
            directory) mkdir "$BUNDLE/rootfs/dev/console" ;;
        esac
        if [ "$kind" = raced ]; then
            # In caprun's /dev tmpfs, after the devices and before the pty is bound.
            cfg --arg c "$BUNDLE/rootfs/dev/console" '.hooks.createContainer = [{"path": "/bin/sh",
                "args": ["sh", "-c", "ln -s /proc/sys/kernel/core_pattern \($c)"]}]'
        else
            # The rootfs's own /dev (devpts still mounted on it for the pty).
            cfg 'del(.mounts[] | select(.destination == "/dev"))'
        fi
        run caprun run "$ID-$kind" </dev/null
        echo "# /dev/console $kind: status $status: ${output//$'\r'/}" >&3
        [ "$status" -ne 0 ]
        [[ "$output" == *"binding the pty onto /dev/console: /dev/console in the container is a "* ]]
        caprun delete --force "$ID-$kind"
        [ "$(host_snapshot "$TMP/host-console")" = "$before" ]
        [ "$(cat /proc/sys/kernel/core_pattern)" = "$core_before" ]
    done
    rm -rf "$BUNDLE/rootfs/dev/console"
    # The same rootfs with a regular file there (an image's placeholder): bound over it.
    cp "$TMP/config.saved" "$BUNDLE/config.json"
    cfg 'del(.mounts[] | select(.destination == "/dev"))'
    echo placeholder >"$BUNDLE/rootfs/dev/console"
    run caprun run "$ID-file" </dev/null
    local got
    mapfile -t got <<<"${output//$'\r'/}"
    echo "# /dev/console a regular file: status $status: ${got[*]}" >&3
    [ "$status" -eq 0 ]
    [[ "${got[0]}" == "character special file "* ]]
    [ "${got[0]}" = "${got[1]}" ]
    caprun delete --force "$ID-file"
    [ "$(cat "$BUNDLE/rootfs/dev/console")" = placeholder ]
    rm -f "$BUNDLE/rootfs/dev/console"
}

@test "rootfs /dev, /dev/pts or /dev/shm a symlink out of the rootfs: nothing created in the host dir" {
    local which
    for which in dev dev/pts dev/shm; do
        mkdir -p "$TMP/host-${which//\//-}"
        before="$(host_snapshot "$TMP/host-${which//\//-}")"
        rm -rf "$BUNDLE/rootfs/dev"
        mkdir -p "$BUNDLE/rootfs/dev"
        if [ "$which" = dev ]; then rmdir "$BUNDLE/rootfs/dev"; fi
        ln -s "$TMP/host-${which//\//-}" "$BUNDLE/rootfs/$which"
        cfg '.process.args = ["/bin/sh", "-c", "test -c /dev/null && echo fine"]'
        run caprun run "$ID-${which//\//-}"
        echo "# /$which symlink: status $status: $output" >&3
        [ "$status" -ne 0 ] || [ "$output" = fine ]
        caprun delete --force "$ID-${which//\//-}"
        [ "$(host_snapshot "$TMP/host-${which//\//-}")" = "$before" ]
        # And the same without caprun's /dev tmpfs: the rootfs's own /dev is used.
        cp "$BUNDLE/config.json" "$TMP/config.saved"
        cfg 'del(.mounts[] | select(.destination == "/dev"))'
        run caprun run "$ID-${which//\//-}-nodevtmpfs"
        echo "# /$which symlink, no /dev tmpfs: status $status: $output" >&3
        [ "$status" -ne 0 ] || [ "$output" = fine ]
        caprun delete --force "$ID-${which//\//-}-nodevtmpfs"
        [ "$(host_snapshot "$TMP/host-${which//\//-}")" = "$before" ]
        cp "$TMP/config.saved" "$BUNDLE/config.json"
    done
}

@test "CVE-2022-29162: exec --cap does not raise the inheritable set" {
    cfg '.process.args = ["/bin/sleep", "1000"]'
    caprun run -d "$ID"
    local inh_init
    inh_init=$(caprun exec "$ID" /bin/probe caps | jq -r .CapInh)
    run caprun exec --cap CAP_NET_RAW --cap CAP_SYS_PTRACE "$ID" /bin/probe caps
    [ "$status" -eq 0 ]
    echo "# init CapInh $inh_init, exec --cap: $output" >&3
    [ "$(json_get .CapInh)" = "$inh_init" ]
    # The added capabilities did reach the effective set (the option works at all).
    eff=$(json_get .CapEff)
    [ $((0x$eff & 0x$(cap_mask CAP_NET_RAW))) -ne 0 ]
    caprun delete --force "$ID"
}

@test "CVE-2025-52881: a mount over the procfs file caprun writes (oom_score_adj, a sysctl) is refused, the host file untouched" {
    local target
    make_host_dir "$TMP/host-proc"
    before="$(host_snapshot "$TMP/host-proc")"
    for target in /proc/self/oom_score_adj /proc/sys/net/ipv4/ip_unprivileged_port_start; do
        # The write caprun makes would land in the host file bound over the procfs file.
        cfg --arg d "$target" --arg s "$TMP/host-proc/marker" \
            '.mounts += [{"destination": $d, "type": "bind", "source": $s, "options": ["rbind"]}]
             | .process.oomScoreAdj = 123
             | .linux.sysctl = {"net.ipv4.ip_unprivileged_port_start": "2003"}
             | .process.args = ["/bin/cat", "/proc/self/oom_score_adj"]'
        run caprun run "$ID"
        echo "# bind over $target: status $status: $output" >&3
        [ "$status" -ne 0 ]
        [[ "$output" == *"a mount covers it"* ]]
        caprun delete --force "$ID"
        [ "$(host_snapshot "$TMP/host-proc")" = "$before" ]
        [ "$(cat "$TMP/host-proc/marker")" = "host file, must stay as it is" ]
        cfg 'del(.mounts[-1])'
    done
    # Without the mount both writes reach procfs.
    run caprun run "$ID"
    [ "$status" -eq 0 ]
    [ "$output" = 123 ]
}
