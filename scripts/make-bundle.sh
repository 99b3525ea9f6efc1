#!/usr/bin/env bash
# make-bundle.sh DIR: an OCI bundle in DIR with a busybox rootfs (from Debian's
# busybox-static) and caprun's capability probe, plus caprun's default config.json.
set -euo pipefail
here="$(cd "$(dirname "$0")/.." && pwd)"
dir="$1"
caprun="${CAPRUN:-$here/build/src/cli/caprun}"
probe="${CAPRUN_PROBE:-$here/build/integration/probe/caprun-probe}"
busybox=/bin/busybox
[ -x "$busybox" ] || { echo "make-bundle: $busybox missing (apt-get install busybox-static)" >&2; exit 1; }

mkdir -p "$dir/rootfs"/{bin,sbin,usr/bin,usr/sbin,etc,proc,sys,dev,tmp,root,home/user}
chmod 1777 "$dir/rootfs/tmp"
cp "$busybox" "$dir/rootfs/bin/busybox"
for applet in $("$busybox" --list); do
    [ -e "$dir/rootfs/bin/$applet" ] || ln -s busybox "$dir/rootfs/bin/$applet"
done
if [ -x "$probe" ]; then cp "$probe" "$dir/rootfs/bin/probe"; fi
cat > "$dir/rootfs/etc/passwd" <<'P'
root:x:0:0:root:/root:/bin/sh
user:x:1000:1000:user:/home/user:/bin/sh
nobody:x:65534:65534:nobody:/nonexistent:/bin/false
P
cat > "$dir/rootfs/etc/group" <<'G'
root:x:0:
tty:x:5:
user:x:1000:
nogroup:x:65534:
G
chown 1000:1000 "$dir/rootfs/home/user"
[ -f "$dir/config.json" ] || "$caprun" spec --bundle "$dir"
