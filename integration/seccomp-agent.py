#!/usr/bin/env python3
"""A minimal seccomp agent for integration/seccomp.bats.

    seccomp-agent.py SOCKET OUT ERRNO_NAME

Listens on the unix socket SOCKET, accepts one connection from the runtime, and receives
the runtime-spec container process state with the seccomp listener fd (SCM_RIGHTS). It
writes {"state":..., "fdCount":N, "fdTarget":"anon_inode:seccomp notify", "handled":N} to
OUT (rewritten after every notification), and answers every notification with -ERRNO_NAME
until the container's filter has no users left. Gives up after 60 s so a test never hangs.
"""
import array
import errno
import fcntl
import json
import os
import select
import socket
import struct
import sys
import time

SECCOMP_IOCTL_NOTIF_RECV = 0xC0502100  # _IOWR('!', 0, struct seccomp_notif), 80 bytes
SECCOMP_IOCTL_NOTIF_SEND = 0xC0182101  # _IOWR('!', 1, struct seccomp_notif_resp), 24 bytes

path, out, errno_name = sys.argv[1], sys.argv[2], sys.argv[3]
answer = getattr(errno, errno_name)
deadline = time.monotonic() + 60

server = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
server.bind(path)
server.listen(1)
server.settimeout(60)
conn, _ = server.accept()
fds = array.array('i')
data, ancillary, _, _ = conn.recvmsg(1 << 20, socket.CMSG_SPACE(fds.itemsize * 4))
for level, kind, payload in ancillary:
    if level == socket.SOL_SOCKET and kind == socket.SCM_RIGHTS:
        fds.frombytes(payload[:len(payload) - len(payload) % fds.itemsize])
chunks = [data]
while True:
    more = conn.recv(1 << 16)
    if not more:
        break
    chunks.append(more)
result = {"state": json.loads(b"".join(chunks)), "fdCount": len(fds), "handled": 0}
listener = fds[0] if fds else -1
if listener >= 0:
    result["fdTarget"] = os.readlink("/proc/self/fd/%d" % listener)


def save():
    with open(out + ".tmp", "w") as f:
        json.dump(result, f)
    os.rename(out + ".tmp", out)


save()
poller = select.poll()
if listener >= 0:
    poller.register(listener, select.POLLIN)
while listener >= 0 and time.monotonic() < deadline:
    events = poller.poll(200)
    if not events:
        continue
    if any(ev & (select.POLLHUP | select.POLLERR) for _, ev in events):
        break  # no task uses the filter any more
    request = bytearray(80)
    try:
        fcntl.ioctl(listener, SECCOMP_IOCTL_NOTIF_RECV, request, True)
    except OSError as e:
        if e.errno in (errno.EINTR, errno.ENOENT):
            continue
        raise
    notif_id = struct.unpack_from("<Q", request)[0]
    response = bytearray(struct.pack("<QqiI", notif_id, 0, -answer, 0))
    try:
        fcntl.ioctl(listener, SECCOMP_IOCTL_NOTIF_SEND, response, True)
    except OSError as e:
        if e.errno != errno.ENOENT:  # the task died meanwhile
            raise
    result["handled"] += 1
    save()
