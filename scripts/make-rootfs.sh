#!/usr/bin/env bash
# make-rootfs.sh DIR: a busybox root filesystem in DIR (from Debian's busybox-static) with
# caprun's capability probe as /bin/probe when it is built, and a root and a uid-1000 user.
# Used by make-bundle.sh, the demo and every integration test.
set -euo pipefail
here="$(cd "$(dirname "$0")/.." && pwd)"
dir="$1"
probe="${CAPRUN_PROBE:-$here/build/integration/probe/caprun-probe}"
busybox=/bin/busybox
[ -x "$busybox" ] || { echo "make-rootfs: $busybox missing (apt-get install busybox-static)" >&2; exit 1; }

mkdir -p "$dir"/{bin,sbin,usr/bin,usr/sbin,etc,proc,sys,dev,tmp,root,home/user,run}
chmod 1777 "$dir/tmp"
cp "$busybox" "$dir/bin/busybox"
for applet in $("$busybox" --list); do
    [ -e "$dir/bin/$applet" ] || ln -s busybox "$dir/bin/$applet"
done
if [ -x "$probe" ]; then cp "$probe" "$dir/bin/probe"; fi
cat > "$dir/etc/passwd" <<'P'
root:x:0:0:root:/root:/bin/sh
user:x:1000:1000:user:/home/user:/bin/sh
nobody:x:65534:65534:nobody:/nonexistent:/bin/false
P
cat > "$dir/etc/group" <<'G'
root:x:0:
tty:x:5:
user:x:1000:
nogroup:x:65534:
G
chown 1000:1000 "$dir/home/user"
