"""``python -m kodcode.exec``: verify a file of attempts, or serve the engine to other processes.

    python -m kodcode.exec verify IN.jsonl[.gz] --out OUT.jsonl [--workers N] [--timeout SECONDS]
    python -m kodcode.exec serve --socket /tmp/kodcode-exec.sock [--workers N]

``verify`` reads a JSONL, JSON or Parquet file (``kodcode.rows``) of rows with ``solution`` and
``test`` (KodCode-V1 columns), or ``kind: stdio`` rows (``program``, ``inputs``) and ``kind: call`` rows
(``program``, ``fn_name``, ``args_list``).  A row is
identified by ``id`` (else ``question_id``).  Each output row keeps every input field and adds
``passed``, ``status``, ``verdict`` (the full structured result).  Malformed rows get status
``error`` with a message and the run goes on.  An existing OUT is resumed: ids already there are
skipped.  Rows are written as they finish, so a killed run loses only the jobs in flight.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from collections import Counter

from kodcode.config import problems_of
from kodcode.rows import BadRow, RowsError, numbered_rows

from .config import ExecConfig
from .engine import Executor
from .jobs import CallJob, PytestJob, StdioJob, Verdict
from .progress import Progress


def row_id(row: dict, lineno: int) -> str:
    for key in ("id", "question_id"):
        if row.get(key) not in (None, ""):
            return str(row[key])
    return f"line-{lineno}"


def job_from_row(row: dict, rid: str, timeout: float | None):
    """Build a job from a row; raises ValueError naming the missing or malformed field."""
    kind = row.get("kind", "pytest")
    if kind == "pytest":
        for f in ("solution", "test"):
            if not isinstance(row.get(f), str):
                raise ValueError(f"row {rid}: field {f!r} must be a string (got {type(row.get(f)).__name__})")
        return PytestJob(solution=row["solution"], test=row["test"], id=rid, timeout_s=timeout)
    if kind == "stdio":
        if not isinstance(row.get("program"), str) or not isinstance(row.get("inputs"), list):
            raise ValueError(f"row {rid}: stdio rows need 'program' (str) and 'inputs' (list of str)")
        return StdioJob(program=row["program"], inputs=[str(x) for x in row["inputs"]], id=rid, timeout_s=timeout)
    if kind == "call":
        if not isinstance(row.get("program"), str) or not isinstance(row.get("fn_name"), str) \
                or not isinstance(row.get("args_list"), list):
            raise ValueError(f"row {rid}: call rows need 'program' (str), 'fn_name' (str), 'args_list' (list)")
        return CallJob(program=row["program"], fn_name=row["fn_name"], args_list=row["args_list"], id=rid,
                       timeout_s=timeout)
    raise ValueError(f"row {rid}: unknown kind {kind!r}; use pytest, stdio or call")


def _done_ids(out_path: str) -> set[str]:
    done: set[str] = set()
    if not os.path.exists(out_path):
        return done
    with open(out_path, encoding="utf-8") as f:
        for line in f:
            try:
                row = json.loads(line)
            except json.JSONDecodeError:
                continue  # a line cut by a crash; that id is simply run again
            if "_exec_id" in row:
                done.add(row["_exec_id"])
    return done


def verify_file(in_path: str, out_path: str, cfg: ExecConfig, timeout: float | None = None,
                progress: bool = True) -> Counter:
    if not os.path.exists(in_path):
        raise FileNotFoundError(f"input file {in_path!r} does not exist; pass a JSONL (or .jsonl.gz) file of rows")
    done = _done_ids(out_path)
    # Repair a torn last line from a killed run before appending.
    if os.path.exists(out_path):
        with open(out_path, "rb+") as f:
            data = f.read()
            if data and not data.endswith(b"\n"):
                f.truncate(data.rfind(b"\n") + 1)
    counts: Counter = Counter()
    pending = []
    malformed = []
    for lineno, row in numbered_rows(in_path, errors="keep"):
        if isinstance(row, BadRow):
            rid = f"line-{lineno}"
            if rid not in done:
                malformed.append(({"_raw": row.raw}, rid, row.message))
            continue
        rid = row_id(row, lineno)
        if rid in done:
            counts["skipped (already done)"] += 1
            continue
        try:
            pending.append((row, rid, job_from_row(row, rid, timeout)))
        except ValueError as e:
            malformed.append((row, rid, str(e)))
    t0 = time.monotonic()
    with open(out_path, "a", encoding="utf-8") as out:
        for row, rid, msg in malformed:
            v = Verdict(status="error", id=rid, message=msg)
            _write(out, row, rid, v)
            counts["error"] += 1
        if pending:
            bar = Progress(len(pending), "verify") if progress else None
            with Executor(cfg) as ex:
                futs = [(row, rid, ex.submit(job)) for row, rid, job in pending]
                for row, rid, fut in futs:
                    v = fut.result()
                    _write(out, row, rid, v)
                    counts[v.status] += 1
                    if bar:
                        bar.update(1, v.status)
            if bar:
                bar.close()
    dt = time.monotonic() - t0
    n = len(pending)
    summary = ", ".join(f"{k}: {v}" for k, v in sorted(counts.items()))
    print(f"verified {n} rows in {dt:.1f}s ({n / max(dt, 1e-9):.1f} jobs/s); {summary}", file=sys.stderr)
    return counts


def _write(out, row: dict, rid: str, v: Verdict) -> None:
    rec = dict(row)
    rec["_exec_id"] = rid
    rec["passed"] = v.passed
    rec["status"] = v.status
    rec["verdict"] = v.to_dict()
    out.write(json.dumps(rec, ensure_ascii=False) + "\n")
    out.flush()


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m kodcode.exec", description=__doc__.split("\n\n")[0])
    sub = p.add_subparsers(dest="cmd", required=True)
    v = sub.add_parser("verify", help="run every row's tests in the sandbox and write verdicts")
    v.add_argument("input")
    v.add_argument("--out", required=True)
    v.add_argument("--workers", type=int, default=0, help="parallel jobs (default: CPU cores)")
    v.add_argument("--timeout", type=float, default=None, help="CPU seconds per job (default 10)")
    v.add_argument("--python", default=None, help="interpreter the jobs run in (default: this one)")
    v.add_argument("--memory-mb", type=int, default=None)
    v.add_argument("--isolation", default="auto", choices=["auto", "namespaces", "degraded"])
    v.add_argument("--no-progress", action="store_true")
    s = sub.add_parser("serve", help="serve the engine on a Unix socket for many client processes")
    s.add_argument("--socket", required=True)
    s.add_argument("--workers", type=int, default=0)
    s.add_argument("--timeout", type=float, default=None)
    s.add_argument("--python", default=None)
    s.add_argument("--isolation", default="auto", choices=["auto", "namespaces", "degraded"])
    a = p.parse_args(argv)
    cfg = ExecConfig(workers=a.workers, python=a.python, isolation=a.isolation)
    if a.timeout is not None:
        cfg.timeout_s = a.timeout
    if getattr(a, "memory_mb", None):
        cfg.memory_mb = a.memory_mb
    problems = problems_of(cfg, "exec")
    if problems:
        print("error: " + "; ".join(problems), file=sys.stderr)
        return 2
    if a.cmd == "verify":
        try:
            verify_file(a.input, a.out, cfg, progress=not a.no_progress)
        except (FileNotFoundError, RowsError) as e:
            print(f"error: {e}", file=sys.stderr)
            return 2
        return 0
    from .server import serve

    serve(a.socket, cfg)
    return 0
