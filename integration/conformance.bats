#!/usr/bin/env bats
# Where caprun behaves as runc and crun do (issue 9 §3): mount namespaces joined or shared,
# bind sources the container's ids cannot reach, lo in a new network namespace, process.cwd
# in a read-only rootfs, tmpfs modes, device paths.

load helpers

# A process holding a namespace of its own ($1: unshare's flag, e.g. --net), in HOLDER;
# killed by its pid in teardown.
namespace_holder() {
    local flag=$1 proc=$2
    unshare "$flag" sleep 1000 &
    HOLDER=$!
    local i
    for i in $(seq 1 100); do
        [ "$(readlink /proc/$HOLDER/ns/$proc)" != "$(readlink /proc/self/ns/$proc)" ] && return 0
        sleep 0.05
    done
    echo "the $proc namespace holder did not start" >&2
    return 1
}

teardown() {
    if [ -n "${HOLDER:-}" ]; then
        kill "$HOLDER" 2>/dev/null || true
        wait "$HOLDER" 2>/dev/null || true
    fi
    # Mounts a container sharing the host's mount namespace made under the rootfs (they
    # outlive it, as with runc): the test unmounts them; any left are removed and reported.
    local leaked m
    leaked=$(awk -v t="$TMP/" 'index($5, t) == 1 { print $5 }' /proc/self/mountinfo | sort -r)
    for m in $leaked; do umount -l "$m" 2>/dev/null || true; done
    check_leftovers
    if [ -n "$leaked" ]; then
        echo "teardown: mounts left under $TMP: $(echo $leaked)" >&2
        return 1
    fi
}

@test "conformance: a mount namespace joined by path is prepared and pivoted like a new one" {
    echo joined >"$BUNDLE/rootfs/marker"
    namespace_holder --mount mnt
    cfg --arg p "/proc/$HOLDER/ns/mnt" '.linux.namespaces |= map(if .type == "mount" then .path = $p else . end)'
    cfg '.process.args = ["/bin/sh", "-c", "readlink /proc/self/ns/mnt; cat /marker; test -c /dev/null && echo dev-ok"]'
    run caprun run "$ID"
    echo "$output"
    [ "$status" -eq 0 ]
    [ "${lines[0]}" = "$(readlink /proc/$HOLDER/ns/mnt)" ]
    [ "${lines[1]}" = joined ]
    [ "${lines[2]}" = dev-ok ]
}

@test "conformance: without a mount namespace the container shares the host's, chrooted into the rootfs" {
    echo shared >"$BUNDLE/rootfs/marker"
    # What would change the host's mounts is refused (runc too refuses masked and readonly
    # paths there, and ignores root.readonly).
    cfg '.linux.namespaces |= map(select(.type != "mount"))'
    run caprun run "$ID"
    [ "$status" -ne 0 ]
    [[ "$output" == *"root.readonly needs a mount namespace of the container's own"* ]]
    cfg '.root.readonly = false'
    run caprun run "$ID"
    [ "$status" -ne 0 ]
    [[ "$output" == *"linux.maskedPaths needs a mount namespace of the container's own"* ]]
    cfg 'del(.linux.maskedPaths) | del(.linux.readonlyPaths)
         | .mounts = [{"destination":"/proc","type":"proc","source":"proc"}]'
    cfg '.process.args = ["/bin/sh", "-c", "readlink /proc/self/ns/mnt; cat /marker; sleep 1000"]'
    mkdir -p "$TMP/out"
    caprun run -d "$ID" >"$TMP/out/log" 2>&1 || { cat "$TMP/out/log"; false; }
    run caprun exec "$ID" /bin/sh -c 'readlink /proc/self/ns/mnt; cat /marker'
    echo "$output"
    [ "$status" -eq 0 ]
    [ "${lines[0]}" = "$(readlink /proc/self/ns/mnt)" ]
    [ "${lines[1]}" = shared ]
    caprun delete --force "$ID"
    # As with runc, its /proc was mounted in the host's namespace and outlives it.
    mountpoint -q "$BUNDLE/rootfs/proc"
    umount "$BUNDLE/rootfs/proc"
}

@test "conformance: a bind source the container's mapped ids cannot reach is opened by the runtime" {
    chmod 755 "$TMP"  # the mapped root (host uid 100000) must reach the rootfs
    mkdir -p "$TMP/private/data"
    echo reachable >"$TMP/private/data/file"
    chmod 700 "$TMP/private"  # host root only: uid 100000 cannot traverse it
    chmod 755 "$TMP/private/data"
    mkdir "$BUNDLE/rootfs/data" && touch "$BUNDLE/rootfs/one"  # host-root-owned rootfs
    cfg '.linux.namespaces += [{"type":"user"}]
         | .linux.uidMappings = [{"containerID":0,"hostID":100000,"size":65536}]
         | .linux.gidMappings = [{"containerID":0,"hostID":100000,"size":65536}]'
    cfg --arg s "$TMP/private/data" '.mounts += [{"destination":"/data","type":"bind","source":$s,"options":["rbind","ro"]},
                                                {"destination":"/one","type":"bind","source":($s + "/file"),"options":["bind"]}]'
    cfg '.process.args = ["/bin/sh", "-c", "cat /data/file /one; id -u"]'
    run caprun run "$ID"
    echo "$output"
    [ "$status" -eq 0 ]
    [ "${lines[0]}" = reachable ]
    [ "${lines[1]}" = reachable ]
    [ "${lines[2]}" = 0 ]
    # Still resolved safely: a missing source is an error naming it.
    cfg --arg s "$TMP/private/missing" '.mounts += [{"destination":"/m","type":"bind","source":$s,"options":["bind"]}]'
    run caprun run "$ID"
    [ "$status" -ne 0 ]
    [[ "$output" == *"$TMP/private/missing"*"No such file or directory"* ]]
}

@test "conformance: lo is up in a new network namespace, untouched in a joined one and on the host" {
    local hostFlags
    hostFlags=$(cat /sys/class/net/lo/flags)
    cfg '.process.args = ["/bin/sh", "-c", "cat /sys/class/net/lo/flags; readlink /proc/self/ns/net"]'
    run caprun run "$ID"
    echo "$output"
    [ "$status" -eq 0 ]
    [ $((${lines[0]} & 1)) -eq 1 ]  # IFF_UP
    [ "${lines[1]}" != "$(readlink /proc/self/ns/net)" ]
    [ "$(cat /sys/class/net/lo/flags)" = "$hostFlags" ]

    namespace_holder --net net
    [[ "$(nsenter --net=/proc/$HOLDER/ns/net ip -o link show lo)" == *"<LOOPBACK>"* ]]
    cfg --arg p "/proc/$HOLDER/ns/net" '.linux.namespaces |= map(if .type == "network" then .path = $p else . end)'
    run caprun run "$ID"
    echo "$output"
    [ "$status" -eq 0 ]
    [ $((${lines[0]} & 1)) -eq 0 ]  # a joined namespace is the caller's: lo stays down
    [ "${lines[1]}" = "$(readlink /proc/$HOLDER/ns/net)" ]
    [[ "$(nsenter --net=/proc/$HOLDER/ns/net ip -o link show lo)" == *"<LOOPBACK>"* ]]
    [ "$(cat /sys/class/net/lo/flags)" = "$hostFlags" ]
}

@test "conformance: a missing process.cwd is created before the rootfs becomes read-only" {
    cfg '.root.readonly = true | .process.cwd = "/does/not/exist"'
    cfg '.process.args = ["/bin/sh", "-c", "pwd; touch /x 2>/dev/null && echo writable || echo read-only"]'
    run caprun run "$ID"
    echo "$output"
    [ "$status" -eq 0 ]
    [ "${lines[0]}" = /does/not/exist ]
    [ "${lines[1]}" = read-only ]
    [ -d "$BUNDLE/rootfs/does/not/exist" ]
}

@test "conformance: a tmpfs without mode= takes the mode of the directory it is mounted on" {
    mkdir -m 0755 "$BUNDLE/rootfs/t755"
    mkdir -m 0700 "$BUNDLE/rootfs/t700"
    mkdir -m 0755 "$BUNDLE/rootfs/t1777"
    chmod 0755 "$BUNDLE/rootfs/t755"
    chmod 0700 "$BUNDLE/rootfs/t700"
    cfg '.mounts += [{"destination":"/t755","type":"tmpfs","source":"tmpfs","options":["nosuid"]},
                     {"destination":"/t700","type":"tmpfs","source":"tmpfs"},
                     {"destination":"/t1777","type":"tmpfs","source":"tmpfs","options":["mode=1777"]},
                     {"destination":"/tnew","type":"tmpfs","source":"tmpfs"}]'
    cfg '.process.args = ["/bin/sh", "-c", "stat -c %a /t755 /t700 /t1777 /tnew; stat -f -c %T /t755"]'
    run caprun run "$ID"
    echo "$output"
    [ "$status" -eq 0 ]
    [ "${lines[0]}" = 755 ]
    [ "${lines[1]}" = 700 ]
    [ "${lines[2]}" = 1777 ]  # an explicit mode= wins
    [ "${lines[3]}" = 1777 ]  # a destination caprun had to create: the kernel's default, as runc
    [ "${lines[4]}" = tmpfs ]
}

@test "conformance: a device path with a trailing or doubled slash is cleaned" {
    cfg '.linux.devices = [{"path":"/dev/mnt/","type":"c","major":1,"minor":3,"fileMode":432},
                           {"path":"/dev//sub//zero2","type":"c","major":1,"minor":5}]'
    cfg '.process.args = ["/bin/sh", "-c", "stat -c \"%F %t %T %a\" /dev/mnt /dev/sub/zero2"]'
    run caprun run "$ID"
    echo "$output"
    [ "$status" -eq 0 ]
    [ "${lines[0]}" = "character special file 1 3 660" ]
    [ "${lines[1]}" = "character special file 1 5 666" ]
}
