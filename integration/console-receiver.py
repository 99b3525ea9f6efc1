#!/usr/bin/env python3
"""The other end of --console-socket, as containerd's shim and conmon are.

    console-receiver.py SOCKET OUT

Listens on the unix socket SOCKET, accepts one connection, and receives every fd sent
over it (SCM_RIGHTS) until the runtime closes it. Writes to OUT, one per line:
"fds: N" (how many fds arrived in all), "master: yes|no" (the first one answers
TIOCGPTN, which only a pty master does), then everything read from that master until the
container's side is closed (EIO). Gives up after 60 s so a test never hangs.
"""
import array
import fcntl
import os
import select
import socket
import struct
import sys

TIOCGPTN = 0x80045430


def main():
    path, out = sys.argv[1], sys.argv[2]
    srv = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    srv.bind(path)
    srv.listen(1)
    srv.settimeout(60)
    conn, _ = srv.accept()
    conn.settimeout(60)
    fds = []
    while True:
        msg, anc, _, _ = conn.recvmsg(4096, socket.CMSG_SPACE(16 * 4))
        for level, kind, data in anc:
            if level == socket.SOL_SOCKET and kind == socket.SCM_RIGHTS:
                a = array.array("i")
                a.frombytes(data[: len(data) - len(data) % a.itemsize])
                fds.extend(a)
        if not msg and not anc:
            break
    conn.close()
    lines = [f"fds: {len(fds)}"]
    text = b""
    if fds:
        try:
            fcntl.ioctl(fds[0], TIOCGPTN, struct.pack("I", 0))
            lines.append("master: yes")
        except OSError:
            lines.append("master: no")
        while True:
            ready, _, _ = select.select([fds[0]], [], [], 60)
            if not ready:
                break
            try:
                chunk = os.read(fds[0], 4096)
            except OSError:  # EIO: the container's side is closed
                break
            if not chunk:
                break
            text += chunk
    with open(out, "w") as f:
        f.write("\n".join(lines) + "\n" + text.decode(errors="replace").replace("\r", ""))


if __name__ == "__main__":
    main()
