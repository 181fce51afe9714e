#!/usr/bin/env python3
"""A scripted TCP peer on the Linux kernel's stack, for the interop tests.

usage: peer.py connect HOST PORT STEP...
       peer.py listen HOST PORT STEP...   (accepts one connection)

Runs the steps in order on the one connection and prints one line per
event on stdout (flushed at once, so a test can wait for it):

  send-random N       send N random bytes; prints "sent N SHA256"
  send-file FILE      send FILE; prints "sent N SHA256"
  recv-all [PATH]     read until EOF (into PATH, which must contain a /);
                      prints "recv N SHA256"
  recv N              read exactly N bytes (or until EOF); prints "recv N SHA256"
  echo N              send N random bytes and read them back at the same
                      time; prints "echo N SHA256-SENT SHA256-RECEIVED"
  eof                 wait for EOF without expecting data; prints "eof"
  shutdown            shutdown(SHUT_WR); prints "shutdown"
  linger0             SO_LINGER {1, 0}: close sends a RST
  wait-file PATH      wait until PATH exists (the test's signal to go on)
  sleep SECONDS
  close               close the socket; prints "closed"
  hold                keep the socket until killed

Before the first step it prints "listening" (listen, once bound) and
"connected LOCAL PEER" (both, with ADDR:PORT). A socket error prints
"error ERRNO-NAME" and exits 3.
"""
import errno
import hashlib
import os
import socket
import struct
import sys
import threading
import time


def say(*words):
    print(*words, flush=True)


def addr(a):
    return "%s:%d" % a


def send_all(s, data):
    s.sendall(data)
    say("sent", len(data), hashlib.sha256(data).hexdigest())


def recv_until(s, limit, out):
    h = hashlib.sha256()
    n = 0
    while limit is None or n < limit:
        want = 65536 if limit is None else min(65536, limit - n)
        b = s.recv(want)
        if not b:
            break
        h.update(b)
        n += len(b)
        if out:
            out.write(b)
    return n, h.hexdigest()


def echo(s, n):
    data = os.urandom(n)
    failure = []

    def sender():
        try:
            s.sendall(data)
            s.shutdown(socket.SHUT_WR)
        except OSError as e:
            failure.append(e)

    t = threading.Thread(target=sender)
    t.start()
    got, sha = recv_until(s, n, None)
    t.join()
    if failure:
        raise failure[0]
    say("echo", got, hashlib.sha256(data).hexdigest(), sha)


def run(s, steps):
    i = 0
    while i < len(steps):
        step = steps[i]
        i += 1

        def arg():
            nonlocal i
            if i >= len(steps):
                raise SystemExit("peer.py: %s needs an argument" % step)
            i += 1
            return steps[i - 1]

        if step == "send-random":
            send_all(s, os.urandom(int(arg())))
        elif step == "send-file":
            with open(arg(), "rb") as f:
                send_all(s, f.read())
        elif step == "recv-all":
            path = arg() if i < len(steps) and "/" in steps[i] else None
            if path:
                with open(path, "wb") as f:
                    n, sha = recv_until(s, None, f)
            else:
                n, sha = recv_until(s, None, None)
            say("recv", n, sha)
        elif step == "recv":
            n, sha = recv_until(s, int(arg()), None)
            say("recv", n, sha)
        elif step == "echo":
            echo(s, int(arg()))
        elif step == "eof":
            b = s.recv(65536)
            if b:
                say("data", len(b))
            else:
                say("eof")
        elif step == "shutdown":
            s.shutdown(socket.SHUT_WR)
            say("shutdown")
        elif step == "linger0":
            s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        elif step == "wait-file":
            path = arg()
            while not os.path.exists(path):
                time.sleep(0.02)
        elif step == "sleep":
            time.sleep(float(arg()))
        elif step == "close":
            s.close()
            say("closed")
            return
        elif step == "hold":
            while True:
                time.sleep(1)
        else:
            raise SystemExit("peer.py: unknown step %r" % step)


def main(argv):
    if len(argv) < 3 or argv[0] not in ("connect", "listen"):
        sys.stderr.write(__doc__)
        return 2
    mode, host, port, steps = argv[0], argv[1], int(argv[2]), argv[3:]
    try:
        if mode == "connect":
            s = socket.create_connection((host, port), timeout=30)
        else:
            ls = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            ls.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            ls.bind((host, port))
            ls.listen(8)
            ls.settimeout(30)
            say("listening")
            s, _ = ls.accept()
            ls.close()
        s.settimeout(30)
        say("connected", addr(s.getsockname()), addr(s.getpeername()))
        run(s, steps)
    except OSError as e:
        if isinstance(e, socket.timeout):
            say("error ETIMEDOUT")
        else:
            say("error", errno.errorcode.get(e.errno, str(e.errno)))
        return 3
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
