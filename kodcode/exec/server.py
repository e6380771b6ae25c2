"""A long-lived, per-node exec server that many processes (e.g. 8 training ranks) share.

    python -m kodcode.exec serve --socket /tmp/kodcode-exec.sock --workers 16

Protocol: one JSON object per line over a Unix socket.  Request ``{"jobs": [job, ...]}`` where each
job is a ``PytestJob``/``StdioJob``/``CallJob`` as a dict with its ``kind``; response
``{"verdicts": [verdict, ...]}`` in the same order, or ``{"error": "..."}``.  Jobs from all
connections share one worker pool.  The socket file is created mode 0600 (same user only).
"""

from __future__ import annotations

import asyncio
import json
import os
import signal
import sys

from .config import ExecConfig
from .engine import Executor
from .jobs import CallJob, CaseOutput, PytestJob, StdioJob, TestOutcome, Verdict

_KINDS = {"pytest": PytestJob, "stdio": StdioJob, "call": CallJob}


def job_to_dict(job) -> dict:
    from dataclasses import asdict

    d = asdict(job)
    d["kind"] = job.kind
    return d


def job_from_dict(d: dict):
    d = dict(d)
    kind = d.pop("kind", "pytest")
    if kind not in _KINDS:
        raise ValueError(f"unknown job kind {kind!r}; use pytest, stdio or call")
    return _KINDS[kind](**d)


def verdict_from_dict(d: dict) -> Verdict:
    d = dict(d)
    d.pop("passed", None)
    d["tests"] = [TestOutcome(**t) for t in d.get("tests", [])]
    d["outputs"] = [CaseOutput(**o) for o in d.get("outputs", [])]
    return Verdict(**d)


async def _handle(ex: Executor, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    try:
        while True:
            line = await reader.readline()
            if not line:
                break
            try:
                req = json.loads(line)
                jobs = [job_from_dict(j) for j in req["jobs"]]
                verdicts = await ex.arun(jobs)
                resp = {"verdicts": [v.to_dict() for v in verdicts]}
            except Exception as e:  # a bad request answers with an error, the server keeps going
                resp = {"error": f"{type(e).__name__}: {e}"}
            writer.write((json.dumps(resp) + "\n").encode())
            await writer.drain()
    except (ConnectionResetError, BrokenPipeError):
        pass
    finally:
        writer.close()


async def _serve(path: str, cfg: ExecConfig, ready: asyncio.Event | None = None) -> None:
    if os.path.exists(path):
        os.unlink(path)
    with Executor(cfg) as ex:
        server = await asyncio.start_unix_server(lambda r, w: _handle(ex, r, w), path=path, limit=2**28)
        os.chmod(path, 0o600)
        print(f"kodcode.exec serving on {path} with {cfg.n_workers()} workers ({ex.isolation})", file=sys.stderr)
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            try:
                loop.add_signal_handler(sig, stop.set)
            except (NotImplementedError, RuntimeError):
                pass
        if ready is not None:
            ready.set()
        async with server:
            await stop.wait()
    if os.path.exists(path):
        os.unlink(path)


def serve(path: str, cfg: ExecConfig) -> None:
    asyncio.run(_serve(path, cfg))
