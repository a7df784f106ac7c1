#!/usr/bin/python3
"""pydirq.py: the same work as mq, done with python3-dirq's QueueSimple.

    pydirq.py cycle DIR COUNT    add COUNT 100-byte messages, then lock, get
                               and remove each; prints "put claim ack" seconds
    pydirq.py fill DIR COUNT     add COUNT empty messages
    pydirq.py put DIR            one message from stdin (one process each)
    pydirq.py get DIR            lock the oldest, read it, print its name
    pydirq.py ack DIR NAME       remove a locked message

QueueSimple never fsyncs: compare it with mq's non-syncing figures.
"""
import sys
import time

from dirq.QueueSimple import QueueSimple


def main():
    cmd, path = sys.argv[1], sys.argv[2]
    q = QueueSimple(path)
    if cmd == "cycle":
        n = int(sys.argv[3])
        body = b"x" * 99 + b"\n"
        t0 = time.monotonic()
        for _ in range(n):
            q.add(body)
        t1 = time.monotonic()
        names = []
        for name in q:
            if q.lock(name):
                q.get(name)
                names.append(name)
        t2 = time.monotonic()
        for name in names:
            q.remove(name)
        t3 = time.monotonic()
        if len(names) != n:
            sys.exit("dirq: claimed %d of %d" % (len(names), n))
        print("%.6f %.6f %.6f" % (t1 - t0, t2 - t1, t3 - t2))
    elif cmd == "fill":
        for _ in range(int(sys.argv[3])):
            q.add(b"")
    elif cmd == "put":
        print(q.add(sys.stdin.buffer.read()))
    elif cmd == "get":
        for name in q:
            if q.lock(name):
                q.get(name)
                print(name)
                return
        sys.exit(1)
    elif cmd == "ack":
        q.remove(sys.argv[3])
    else:
        sys.exit("usage: pydirq.py cycle|fill|put|get|ack DIR ...")


main()
