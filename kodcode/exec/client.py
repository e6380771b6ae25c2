"""Client of the exec server (``python -m kodcode.exec serve``), with the Executor's run/arun API.

    from kodcode.exec import ExecClient
    client = ExecClient("/tmp/kodcode-exec.sock")
    verdicts = client.run(jobs)          # or: await client.arun(jobs)

A server that cannot be reached raises ``ConnectionError`` naming the socket and how to start it.
"""

from __future__ import annotations

import asyncio
import json
import socket

from .jobs import Verdict
from .server import job_to_dict, verdict_from_dict


class ExecClient:
    def __init__(self, socket_path: str, timeout_s: float | None = None):
        self.path = socket_path
        self.timeout_s = timeout_s

    def _unreachable(self, e: Exception) -> ConnectionError:
        return ConnectionError(
            f"cannot reach the exec server at {self.path!r} ({e}); start it with "
            f"`python -m kodcode.exec serve --socket {self.path}` or use an in-process Executor"
        )

    def run(self, jobs: list, progress: bool = False) -> list[Verdict]:
        req = (json.dumps({"jobs": [job_to_dict(j) for j in jobs]}) + "\n").encode()
        try:
            with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as s:
                s.settimeout(self.timeout_s)
                s.connect(self.path)
                s.sendall(req)
                buf = b""
                while not buf.endswith(b"\n"):
                    chunk = s.recv(1 << 20)
                    if not chunk:
                        break
                    buf += chunk
        except (FileNotFoundError, ConnectionRefusedError, socket.timeout) as e:
            raise self._unreachable(e) from e
        return self._parse(buf)

    async def arun(self, jobs: list) -> list[Verdict]:
        req = (json.dumps({"jobs": [job_to_dict(j) for j in jobs]}) + "\n").encode()
        try:
            reader, writer = await asyncio.open_unix_connection(self.path, limit=2**28)
        except (FileNotFoundError, ConnectionRefusedError) as e:
            raise self._unreachable(e) from e
        try:
            writer.write(req)
            await writer.drain()
            line = await asyncio.wait_for(reader.readline(), self.timeout_s)
        finally:
            writer.close()
        return self._parse(line)

    def _parse(self, line: bytes) -> list[Verdict]:
        if not line:
            raise ConnectionError(f"the exec server at {self.path!r} closed the connection without answering")
        resp = json.loads(line)
        if "error" in resp:
            raise RuntimeError(f"exec server refused the request: {resp['error']}")
        return [verdict_from_dict(d) for d in resp["verdicts"]]


def connect(socket_path: str) -> ExecClient:
    return ExecClient(socket_path)
