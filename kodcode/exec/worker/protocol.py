"""Length-prefixed JSON messages between the engine and its worker (the worker's stdin/stdout)."""

import json
import os
import struct


def read_msg(fd):
    head = _read_exact(fd, 4)
    if head is None:
        return None
    (n,) = struct.unpack("!I", head)
    body = _read_exact(fd, n)
    return None if body is None else json.loads(body.decode())

def _read_exact(fd, n):
    buf = b""
    while len(buf) < n:
        chunk = os.read(fd, n - len(buf))
        if not chunk:
            return None
        buf += chunk
    return buf

def write_msg(fd, obj):
    data = json.dumps(obj).encode()
    data = struct.pack("!I", len(data)) + data
    while data:
        n = os.write(fd, data)
        data = data[n:]
