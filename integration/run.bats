#!/usr/bin/env bats
# caprun run end to end (issue 4): namespaces, rootfs, process settings, capabilities as
# predicted, signals and exit codes, and nothing left behind (teardown checks every test).

load helpers

# Runs the container in the background and waits (bounded) until it created $1 in the
# shared host directory $TMP/shared, mounted at /shared.
share_dir() {
    mkdir -p "$TMP/shared"
    cfg --arg s "$TMP/shared" '.mounts += [{"destination":"/shared","type":"bind","source":$s,"options":["rbind","rw"]}]'
}
wait_for_file() {
    local i
    for i in $(seq 1 200); do
        [ -e "$1" ] && return 0
        sleep 0.05
    done
    echo "timed out waiting for $1" >&2
    return 1
}

@test "run: the default spec runs the probe in the foreground and exits 0" {
    run caprun run "$ID"
    [ "$status" -eq 0 ]
    [ "$(json_get .caps.uid)" = 0 ]
    [ "$(json_get .caps.NoNewPrivs)" = 1 ]
}

@test "run: exit status is the container process's, 128+signal when it was killed" {
    cfg '.process.args = ["/bin/sh", "-c", "exit 42"]'
    run caprun run "$ID"
    [ "$status" -eq 42 ]
    # The init of a pid namespace cannot be killed from inside it: share the host's.
    cfg '.process.args = ["/bin/sh", "-c", "kill -KILL $$"] | .linux.namespaces |= map(select(.type != "pid"))'
    run caprun run "$ID"
    [ "$status" -eq 137 ]
    cfg '.process.args = ["/bin/does-not-exist"]'
    run caprun run "$ID"
    [ "$status" -ne 0 ]
    [[ "$output" == *'"/bin/does-not-exist"'*"No such file or directory"* ]]
}

@test "run: signals sent to caprun reach the container process" {
    share_dir
    cfg '.process.args = ["/bin/sh", "-c", "trap \"echo got-term > /shared/term; exit 3\" TERM; trap \"echo got-usr1 > /shared/usr1\" USR1; touch /shared/ready; while :; do sleep 0.05; done"]'
    caprun_bg run "$ID"
    local runner=$RUNNER
    wait_for_file "$TMP/shared/ready"
    kill -USR1 "$runner"
    wait_for_file "$TMP/shared/usr1"
    kill -TERM "$runner"
    local rc=0
    wait "$runner" || rc=$?
    [ "$rc" -eq 3 ]
    [ "$(cat "$TMP/shared/term")" = got-term ]
    [ "$(cat "$TMP/shared/usr1")" = got-usr1 ]
}

@test "run: a SIGKILLed caprun run does not leave the container process running" {
    share_dir
    cfg '.process.args = ["/bin/sh", "-c", "touch /shared/ready; exec sleep 1000"]'
    caprun_bg run --pid-file "$TMP/pid" "$ID"
    local runner=$RUNNER
    wait_for_file "$TMP/shared/ready"
    local pid
    pid=$(cat "$TMP/pid")
    [ -d "/proc/$pid" ]
    kill -KILL "$runner"
    wait "$runner" || true
    local i
    for i in $(seq 1 200); do [ -d "/proc/$pid" ] || break; sleep 0.05; done
    [ ! -d "/proc/$pid" ]
    # caprun could not clean up after itself: delete does.
    caprun delete --force "$ID"
}

@test "run: no runtime fd leaks into the container, --preserve-fds passes fds on" {
    cfg '.process.args = ["/bin/probe", "fds"]'
    run caprun run "$ID"
    [ "$status" -eq 0 ]
    [ "$(json_get 'keys | join(",")')" = "0,1,2" ]
    run caprun run --preserve-fds 1 "$ID" 3<"$BUNDLE/config.json"
    [ "$status" -eq 0 ]
    [ "$(json_get 'keys | join(",")')" = "0,1,2,3" ]
}

@test "run: the runtime binary is not reachable from inside the container" {
    cfg --arg c "$CAPRUN" '.process.args = ["/bin/sh", "-c", "for p in /proc/[0-9]*; do readlink $p/exe; ls -l $p/fd 2>/dev/null; done; test ! -e \($c) && echo absent"]'
    run caprun run "$ID"
    [ "$status" -eq 0 ]
    [[ "$output" == *absent* ]]
    [[ "$output" != *caprun* ]]
}

@test "run: a mount destination through a symlink leaving the rootfs is refused" {
    mkdir -p "$TMP/outside"
    ln -s ../../../../../../../../../.."$TMP/outside" "$BUNDLE/rootfs/evil"
    cfg '.mounts += [{"destination":"/evil/x","type":"tmpfs","source":"tmpfs"}]'
    run caprun run "$ID"
    [ "$status" -ne 0 ]
    [[ "$output" == *'"/evil/x"'*"escapes the rootfs"* ]]
    [ ! -e "$TMP/outside/x" ]
    [ ! -d "$ROOT/$ID" ]
}

@test "run: an absolute symlink in a mount destination resolves inside the rootfs" {
    mkdir -p "$TMP/hostdir"
    ln -s "$TMP/hostdir" "$BUNDLE/rootfs/abs"
    cfg '.mounts += [{"destination":"/abs","type":"tmpfs","source":"tmpfs","options":["size=1m"]}]'
    cfg --arg d "$TMP/hostdir" '.process.args = ["/bin/sh", "-c", "touch /abs/inside && grep \" \($d) tmpfs \" /proc/mounts"]'
    run caprun run "$ID"
    [ "$status" -eq 0 ]
    [ -e "$BUNDLE/rootfs$TMP/hostdir/inside" ] || [ -z "$(ls -A "$TMP/hostdir")" ]
    [ -z "$(ls -A "$TMP/hostdir")" ]
}

@test "run: maskedPaths and readonlyPaths hold" {
    cfg '.linux.maskedPaths += ["/etc", "/proc/cpuinfo"] | .linux.readonlyPaths += ["/home"] | .root.readonly = false'
    cfg '.process.args = ["/bin/sh", "-c", "echo etc=$(ls -A /etc | wc -l); echo cpuinfo=$(cat /proc/cpuinfo | wc -c); touch /home/x 2>&1; echo 1 > /proc/sys/kernel/domainname 2>&1; touch /root/ok && echo root-writable"]'
    run caprun run "$ID"
    [ "$status" -eq 0 ]
    [[ "$output" == *"etc=0"* ]]
    [[ "$output" == *"cpuinfo=0"* ]]
    [[ "$output" == *"/home/x"*"Read-only file system"* ]]
    [[ "$output" == *"Read-only file system"* ]]
    [[ "$output" == *root-writable* ]]
    [ ! -e "$BUNDLE/rootfs/home/x" ]
}

@test "run: mounts with their options, in order; root.readonly" {
    mkdir -p "$TMP/ro" "$TMP/rw"
    echo host-data >"$TMP/ro/file"
    cfg --arg ro "$TMP/ro" --arg rw "$TMP/rw" '.mounts += [
        {"destination":"/scratch","type":"tmpfs","source":"tmpfs","options":["size=1m","mode=1770","nosuid","noexec"]},
        {"destination":"/scratch/inner","type":"tmpfs","source":"tmpfs","options":["size=2m"]},
        {"destination":"/data/ro","type":"bind","source":$ro,"options":["rbind","ro","nodev"]},
        {"destination":"/data/rw","source":$rw,"options":["bind","rw"]}]'
    cfg '.process.args = ["/bin/sh", "-c", "stat -c mode=%a /scratch; grep -E \" /scratch(/inner)? \" /proc/mounts; cat /data/ro/file; touch /data/ro/nope 2>&1; echo x > /data/rw/written; touch /rootfile 2>&1; true"]'
    run caprun run "$ID"
    [ "$status" -eq 0 ]
    [[ "$output" == *"mode=1770"* ]]
    [[ "$output" == *"tmpfs /scratch tmpfs rw,nosuid,noexec,relatime,size=1024k,mode=1770"* ]]
    [[ "$output" == *"tmpfs /scratch/inner tmpfs rw,relatime,size=2048k"* ]]
    [[ "$output" == *host-data* ]]
    [[ "$output" == *"/data/ro/nope"*"Read-only file system"* ]]
    [[ "$output" == *"/rootfile"*"Read-only file system"* ]]
    [ "$(cat "$TMP/rw/written")" = x ]
    [ ! -e "$TMP/ro/nope" ]
}

@test "run: linux.rootfsPropagation is the propagation of the container's /" {
    # The optional fields of / in the container's mountinfo (between field 6 and "-").
    local root_fields='{ for (i = 7; $i != "-"; i++) f = f " " $i; if ($5 == "/") print "tags:" f }'
    cfg --arg a "$root_fields" '.process.args = ["/bin/awk", $a, "/proc/self/mountinfo"]'
    local p
    for p in shared rshared private unbindable runbindable; do
        cfg --arg p "$p" '.linux.rootfsPropagation = $p'
        run caprun run "$ID"
        [ "$status" -eq 0 ]
        case "$p" in
            *shared) [[ "$output" == "tags:"*"shared:"* ]] ;;
            *unbindable) [ "$output" = "tags: unbindable" ] ;;
            private) [ "$output" = "tags:" ] ;;
        esac
    done
    cfg '.linux.rootfsPropagation = "sideways"'
    run caprun run "$ID"
    [ "$status" -ne 0 ]
    [[ "$output" == *"linux.rootfsPropagation"*sideways* ]]
}

@test "run --no-pivot: MS_MOVE + chroot into the rootfs (the ramfs fallback's path)" {
    cfg '.process.args = ["/bin/sh", "-c", "ls /; readlink /proc/self/root; probe caps"]'
    run caprun run --no-pivot "$ID"
    [ "$status" -eq 0 ]
    [ "$(ls "$BUNDLE/rootfs" | tr '\n' ' ')" = "$(head -n -2 <<<"$output" | tr '\n' ' ')" ]
    [ "${lines[-2]}" = / ]
    # Set up like a pivoted container otherwise: the same capabilities.
    [ "$(json_get .CapEff "${lines[-1]}")" = "$(json_get .CapEff "$(caprun run "$ID-pivot" | tail -1)")" ]
}

@test "run: hostname, domainname, sysctl, oomScoreAdj, rlimits, cwd (created), env, umask" {
    cfg '.hostname = "box" | .domainname = "example.test" | .linux.sysctl = {"net.ipv4.ip_forward": "1"}
         | .process.oomScoreAdj = 123 | .process.cwd = "/work/here" | .process.env += ["FOO=bar"]
         | .process.user.umask = 63 | .process.rlimits = [{"type":"RLIMIT_NOFILE","hard":1000,"soft":900}]
         | .root.readonly = false'
    cfg '.process.args = ["/bin/sh", "-c", "hostname; cat /proc/sys/kernel/domainname; cat /proc/sys/net/ipv4/ip_forward; cat /proc/self/oom_score_adj; pwd; echo FOO=$FOO; umask; probe rlimit nofile"]'
    run caprun run "$ID"
    [ "$status" -eq 0 ]
    [ "${lines[0]}" = box ]
    [ "${lines[1]}" = example.test ]
    [ "${lines[2]}" = 1 ]
    [ "${lines[3]}" = 123 ]
    [ "${lines[4]}" = /work/here ]
    [ "${lines[5]}" = FOO=bar ]
    [ "${lines[6]}" = 0077 ]
    [ "${lines[7]}" = "900 1000" ]
    [ "$(cat /proc/sys/kernel/hostname)" != box ]
}

@test "run: cwd that climbs out of the rootfs through a symlink is refused" {
    mkdir -p "$TMP/outside"
    ln -s ../../../../../../../../.."$TMP/outside" "$BUNDLE/rootfs/evilcwd"
    cfg '.process.cwd = "/evilcwd/sub" | .root.readonly = false'
    run caprun run "$ID"
    [ "$status" -ne 0 ]
    [[ "$output" == *"escapes the rootfs"* ]]
    [ ! -e "$TMP/outside/sub" ]
}

@test "run: default devices, /dev symlinks and linux.devices" {
    cfg '.linux.devices = [{"path":"/dev/myfull","type":"c","major":1,"minor":7,"fileMode":384,"uid":0,"gid":0}]'
    cfg '.process.args = ["/bin/sh", "-c", "for d in null zero full random urandom tty myfull; do stat -c \"%n %F %t:%T %a\" /dev/$d; done; for l in fd stdin stdout stderr ptmx; do echo /dev/$l=$(readlink /dev/$l); done; head -c 3 /dev/zero | wc -c; echo x > /dev/myfull || echo myfull-is-full"]'
    run caprun run "$ID"
    [ "$status" -eq 0 ]
    [[ "$output" == *"/dev/null character special file 1:3 666"* ]]
    [[ "$output" == *"/dev/zero character special file 1:5 666"* ]]
    [[ "$output" == *"/dev/full character special file 1:7 666"* ]]
    [[ "$output" == *"/dev/random character special file 1:8 666"* ]]
    [[ "$output" == *"/dev/urandom character special file 1:9 666"* ]]
    [[ "$output" == *"/dev/tty character special file 5:0 666"* ]]
    [[ "$output" == *"/dev/myfull character special file 1:7 600"* ]]
    [[ "$output" == *"/dev/fd=/proc/self/fd"* ]]
    [[ "$output" == *"/dev/stdin=/proc/self/fd/0"* ]]
    [[ "$output" == *"/dev/stdout=/proc/self/fd/1"* ]]
    [[ "$output" == *"/dev/stderr=/proc/self/fd/2"* ]]
    [[ "$output" == *"/dev/ptmx=pts/ptmx"* ]]
    [[ "$output" == *"myfull-is-full"* ]]
}

# Starts a process in a new network namespace of the host's user namespace; sets holder to
# its pid once it is in it.
net_namespace_holder() {
    unshare --net sleep 1000 &
    holder=$!
    local i
    for i in $(seq 1 100); do
        [ "$(readlink /proc/$holder/ns/net)" != "$(readlink /proc/self/ns/net)" ] && return 0
        sleep 0.05
    done
}

@test "run: namespaces not listed are shared with the host; a path joins one" {
    local holder
    net_namespace_holder
    cfg --arg p "/proc/$holder/ns/net" '.linux.namespaces = [{"type":"pid"},{"type":"mount"},{"type":"uts"},{"type":"network","path":$p}]'
    cfg '.process.args = ["/bin/sh", "-c", "for n in net ipc uts; do readlink /proc/self/ns/$n; done"]'
    run caprun run "$ID"
    local holderNs
    holderNs=$(readlink /proc/$holder/ns/net)
    kill "$holder"
    echo "$output"
    [ "$status" -eq 0 ]
    [ "${lines[0]}" = "$holderNs" ]
    [ "${lines[1]}" = "$(readlink /proc/self/ns/ipc)" ]
    [ "${lines[2]}" != "$(readlink /proc/self/ns/uts)" ]
}

@test "run: a new user namespace joins a network namespace the host owns; hooks stay on the host" {
    chmod 755 "$TMP"  # the mapped root (host uid 100000) must reach the rootfs
    local holder
    net_namespace_holder
    cfg --arg p "/proc/$holder/ns/net" '.linux.namespaces += [{"type":"user"}, {"type":"network","path":$p}]
         | .linux.namespaces |= (map(select(.type != "network")) + [{"type":"network","path":$p}])
         | .linux.uidMappings = [{"containerID":0,"hostID":100000,"size":65536}]
         | .linux.gidMappings = [{"containerID":0,"hostID":100000,"size":65536}]'
    # prestart hooks run in the runtime's namespaces, after the container process exists.
    cfg --arg f "$TMP/hook-ns" '.hooks.prestart = [{"path":"/bin/sh","args":["sh","-c","readlink /proc/self/ns/net /proc/self/ns/pid > \($f)"]}]'
    cfg '.process.args = ["/bin/sh", "-c", "readlink /proc/self/ns/net; id -u"]'
    run caprun run "$ID"
    local holderNs
    holderNs=$(readlink /proc/$holder/ns/net)
    kill "$holder"
    [ "$status" -eq 0 ]
    [ "${lines[0]}" = "$holderNs" ]
    [ "${lines[1]}" = 0 ]
    [ "$(cat "$TMP/hook-ns")" = "$(readlink /proc/self/ns/net /proc/self/ns/pid)" ]
}

@test "run: a bad namespace path is a clear error naming it, nothing left behind" {
    cfg '.linux.namespaces += [{"type":"ipc","path":"/nonexistent/ipc-ns"}] | .linux.namespaces |= map(select(.type != "ipc" or .path))'
    run caprun run "$ID"
    [ "$status" -ne 0 ]
    [[ "$output" == *"joining the ipc namespace: opening /nonexistent/ipc-ns: No such file or directory"* ]]
    cfg '.linux.namespaces |= map(if .type == "ipc" then .path = "/proc/self/ns/uts" else . end)'
    run caprun run "$ID"
    [ "$status" -ne 0 ]
    [[ "$output" == *"/proc/self/ns/uts is not a ipc namespace"* ]]
}

@test "run: a user namespace with uid/gid mappings" {
    chmod 755 "$TMP"  # the mapped root (host uid 100000) must reach the rootfs
    cfg '.linux.namespaces += [{"type":"user"}]
         | .linux.uidMappings = [{"containerID":0,"hostID":100000,"size":65536}]
         | .linux.gidMappings = [{"containerID":0,"hostID":100000,"size":65536}]'
    cfg '.process.args = ["/bin/sh", "-c", "cat /proc/self/uid_map /proc/self/gid_map; id -u; ls -ln /bin/busybox"]'
    run caprun run "$ID"
    [ "$status" -eq 0 ]
    [[ "${lines[0]}" =~ ^\ +0\ +100000\ +65536$ ]]
    [[ "${lines[1]}" =~ ^\ +0\ +100000\ +65536$ ]]
    [ "${lines[2]}" = 0 ]
    [[ "${lines[3]}" == *" 65534 "*" 65534 "* ]]  # host root is unmapped inside
}

@test "run: a time namespace with offsets" {
    cfg '.linux.namespaces += [{"type":"time"}] | .linux.timeOffsets = {"boottime":{"secs":864000,"nanosecs":0}}'
    cfg '.process.args = ["/bin/sh", "-c", "cut -d. -f1 /proc/uptime"]'
    local before after
    before=$(cut -d. -f1 /proc/uptime)
    run caprun run "$ID"
    after=$(cut -d. -f1 /proc/uptime)
    [ "$status" -eq 0 ]
    # The container read its uptime between the host's two readings, 10 days later.
    [ "$output" -ge $((before + 864000)) ]
    [ "$output" -le $((after + 864000)) ]
}

@test "run: process.terminal gives a pty of the container's devpts with consoleSize, bound on /dev/console" {
    cfg '.process.terminal = true | .process.consoleSize = {"height": 30, "width": 100}'
    cfg '.process.args = ["/bin/sh", "-c", "tty; stty size; stat -c \"%F %t:%T\" /dev/console $(tty)"]'
    run caprun run "$ID" </dev/null
    [ "$status" -eq 0 ]
    local got
    mapfile -t got <<<"${output//$'\r'/}"  # the pty ends lines with CR LF
    echo "# ${got[*]}" >&3
    [ "${got[0]}" = /dev/pts/0 ]
    [ "${got[1]}" = "30 100" ]
    # The runtime spec: /dev/console is the process's terminal (the same device node).
    [[ "${got[2]}" == "character special file "* ]]
    [ "${got[2]}" = "${got[3]}" ]
}

@test "run and create refuse --host-status" {
    run caprun --host-status /proc/self/status run "$ID"
    [ "$status" -ne 0 ]
    [[ "$output" == *"--host-status"* ]]
    run caprun --host-status /proc/self/status create "$ID"
    [ "$status" -ne 0 ]
    [[ "$output" == *"--host-status"* ]]
}

# ---- capabilities: the probe's masks equal `caprun check --format json`'s prediction ----

# Runs check and the container (args: probe caps) and compares the five masks.
probe_matches_prediction() {
    local predicted
    predicted=$("$CAPRUN" --root "$ROOT" "$@" check --bundle "$BUNDLE" --format json | jq -c '.capabilities.predicted.masks')
    [ -n "$predicted" ] && [ "$predicted" != null ]
    run caprun "$@" run "$ID"
    [ "$status" -eq 0 ]
    local set key
    for set in bounding:CapBnd effective:CapEff inheritable:CapInh permitted:CapPrm ambient:CapAmb; do
        key=${set#*:}
        set=${set%%:*}
        [ "$(jq -r ".$set" <<<"$predicted")" = "$(json_get ".$key")" ] || {
            echo "$set: predicted $(jq -r ".$set" <<<"$predicted"), probe $(json_get ".$key")"
            return 1
        }
    done
}

@test "caps: default spec — the probe holds exactly the predicted sets" {
    cfg '.process.args = ["/bin/probe", "caps"]'
    probe_matches_prediction
    [ "$(json_get .CapBnd)" = "$(cap_mask cap_kill cap_net_bind_service cap_audit_write)" ]
}

@test "caps: a root process with added capabilities; sethostname/chroot work only with them" {
    cfg '.process.args = ["/bin/probe", "syscalls", "sethostname", "chroot"]'
    run caprun run "$ID"
    [ "$status" -eq 0 ]
    [ "$(json_get .sethostname)" = EPERM ]
    [ "$(json_get .chroot)" = EPERM ]
    cfg '.process.capabilities |= with_entries(if .key != "ambient" and .key != "inheritable" then .value += ["CAP_SYS_ADMIN", "CAP_SYS_CHROOT"] else . end)'
    run caprun run "$ID"
    [ "$status" -eq 0 ]
    [ "$(json_get .sethostname)" = OK ]
    [ "$(json_get .chroot)" = OK ]
    cfg '.process.args = ["/bin/probe", "caps"]'
    probe_matches_prediction
    [ "$(json_get .CapEff)" = "$(cap_mask cap_kill cap_net_bind_service cap_audit_write cap_sys_admin cap_sys_chroot)" ]
}

@test "caps: a non-root user with ambient capabilities" {
    cfg '.process.user = {"uid": 1000, "gid": 1000} | .process.args = ["/bin/probe", "caps"]
         | .process.capabilities = {"bounding": ["CAP_NET_BIND_SERVICE", "CAP_SYS_CHROOT"],
             "effective": ["CAP_NET_BIND_SERVICE", "CAP_SYS_CHROOT"], "permitted": ["CAP_NET_BIND_SERVICE", "CAP_SYS_CHROOT"],
             "inheritable": ["CAP_NET_BIND_SERVICE", "CAP_SYS_CHROOT"], "ambient": ["CAP_NET_BIND_SERVICE", "CAP_SYS_CHROOT"]}'
    probe_matches_prediction
    [ "$(json_get .uid)" = 1000 ]
    [ "$(json_get .CapAmb)" = "$(cap_mask cap_net_bind_service cap_sys_chroot)" ]
    cfg '.process.args = ["/bin/probe", "syscalls", "chroot", "sethostname"]'
    run -0 caprun run "$ID"
    [ "$(json_get .chroot)" = OK ]
    [ "$(json_get .sethostname)" = EPERM ]
}

@test "caps: a setcap'd probe run as non-root, with and without noNewPrivileges" {
    cp "$BUNDLE/rootfs/bin/probe" "$BUNDLE/rootfs/bin/probe-fcap"
    setcap cap_sys_chroot,cap_net_raw+ep "$BUNDLE/rootfs/bin/probe-fcap"
    cfg '.process.user = {"uid": 1000, "gid": 1000} | .process.args = ["/bin/probe-fcap", "caps"]
         | .process.capabilities.bounding += ["CAP_SYS_CHROOT", "CAP_NET_RAW"]'
    cfg '.process.noNewPrivileges = false'
    probe_matches_prediction
    [ "$(json_get .CapPrm)" = "$(cap_mask cap_sys_chroot cap_net_raw)" ]
    cfg '.process.noNewPrivileges = true'
    probe_matches_prediction
    [ "$(json_get .CapPrm)" = 0000000000000000 ]
}

# caprun under a capsh-reduced bounding set (a poorer host), from the bundle directory.
caprun_on_poorer_host() {
    local drop="$1"
    shift
    capsh --drop="$drop" -- -c 'cd "$1" && shift && exec "$@"' capsh "$BUNDLE" "$CAPRUN" --root "$ROOT" "$@"
}

@test "caps: a Talos-like host without cap_sys_module,cap_sys_boot — strict fails naming both, lenient runs without them" {
    cfg '.process.args = ["/bin/probe"] | .process.capabilities |= with_entries(if .key != "ambient" and .key != "inheritable" then .value += ["CAP_SYS_MODULE", "CAP_SYS_BOOT"] else . end)'
    run caprun_on_poorer_host cap_sys_module,cap_sys_boot --cap-policy strict run "$ID"
    [ "$status" -ne 0 ]
    [[ "$output" == *CAP_SYS_MODULE* ]]
    [[ "$output" == *CAP_SYS_BOOT* ]]
    [ ! -e "$ROOT/$ID" ]
    run caprun_on_poorer_host cap_sys_module,cap_sys_boot --cap-policy lenient run "$ID"
    [ "$status" -eq 0 ]
    local json
    json=$(grep '^{' <<<"$output" | tail -1)
    local bnd=$((16#$(json_get .caps.CapBnd "$json")))
    [ $((bnd & (1 << 16))) -eq 0 ]  # CAP_SYS_MODULE
    [ $((bnd & (1 << 22))) -eq 0 ]  # CAP_SYS_BOOT
    [ "$(json_get .syscalls.reboot "$json")" = EPERM ]
    # The same request on this host (no drop) holds CAP_SYS_BOOT: reboot's permission check passes.
    run -0 caprun run "$ID"
    [ "$(json_get .syscalls.reboot)" = EINVAL ]
}

@test "caps: a host without cap_sys_resource — strict fails naming it, lenient runs without it" {
    cfg '.process.args = ["/bin/probe", "caps"] | .process.capabilities |= with_entries(if .key != "ambient" and .key != "inheritable" then .value += ["CAP_SYS_RESOURCE"] else . end)'
    run caprun_on_poorer_host cap_sys_resource --cap-policy strict run "$ID"
    [ "$status" -ne 0 ]
    [[ "$output" == *CAP_SYS_RESOURCE* ]]
    [ ! -e "$ROOT/$ID" ]
    run caprun_on_poorer_host cap_sys_resource --cap-policy lenient run "$ID"
    [ "$status" -eq 0 ]
    [[ "$output" == *CAP_SYS_RESOURCE* ]]  # the warning names it
    local json bnd
    json=$(grep '^{' <<<"$output" | tail -1)
    bnd=$((16#$(json_get .CapBnd "$json")))
    [ $((bnd & (1 << 24))) -eq 0 ]
}

@test "rlimits: NOFILE above the runtime's hard limit without cap_sys_resource — strict error, lenient clamp" {
    local hard
    hard=$(capsh --drop=cap_sys_resource -- -c 'ulimit -Hn')
    cfg --argjson h $((hard + 1000)) '.process.args = ["/bin/probe", "rlimit", "nofile"] | .process.rlimits = [{"type":"RLIMIT_NOFILE","hard":$h,"soft":$h}]'
    run caprun_on_poorer_host cap_sys_resource --cap-policy strict run "$ID"
    [ "$status" -ne 0 ]
    [[ "$output" == *RLIMIT_NOFILE* ]]
    [ ! -e "$ROOT/$ID" ]
    run caprun_on_poorer_host cap_sys_resource --cap-policy lenient run "$ID"
    [ "$status" -eq 0 ]
    [[ "$output" == *RLIMIT_NOFILE* ]]  # the clamp warning
    [ "${lines[-1]}" = "$hard $hard" ]
}

@test "run --keep: the exited container stays (stopped, exit status kept), delete removes it" {
    cfg '.process.args = ["/bin/sh", "-c", "exit 3"]'
    run caprun run --keep "$ID"
    [ "$status" -eq 3 ]
    run caprun state "$ID"
    [ "$status" -eq 0 ]
    [ "$(json_get .status)" = stopped ]
    [ -d "$ROOT/$ID" ]
    caprun delete "$ID"
    run caprun state "$ID"
    [ "$status" -ne 0 ]
    [ ! -d "$ROOT/$ID" ]
    run caprun run --keep --detach "$ID"
    [ "$status" -ne 0 ]
    [[ "$output" == *"--keep and --detach"* ]]
}

@test "a failure in the container process's setup is reported once, naming the step" {
    cfg '.mounts += [{"destination": "/bin/busybox/below", "type": "tmpfs", "source": "tmpfs"}]'
    run caprun run "$ID"
    [ "$status" -ne 0 ]
    [[ "$output" == *"/bin/busybox/below"* ]]
    [ "$(grep -c 'busybox/below' <<<"$output")" -eq 1 ]
}
