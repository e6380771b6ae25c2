"""Throughput of kodcode.exec against KodCode's own verifier, on the same rows in one invocation.

The baseline is KodCode's ``pipeline/run_test.sh``: per attempt, a directory with ``solution.py`` and
``test_solution.py`` (``from solution import *`` prepended), ``timeout --kill-after=5s 30 pytest
--rootdir=. --cov=solution --cov-report term``, exit status 0 = Pass, 124 = Fail - Timed Out, else
Fail; as many at once as there are cores (``parallel -j $(nproc)`` in step2.3).  Ours is one
``Executor`` with warm sandboxed workers.  Prints both throughputs (jobs/s) and the ratio, and how
often the two verdicts agree; ``--report`` writes the Markdown report.

    .venv/bin/python bench/exec_throughput.py --rows 300 --python /work/jobenv/bin/python \
        --report bench/reports/exec_throughput.md

Needs pytest and pytest-cov in the job interpreter (``--python``; default: this one).
"""

from __future__ import annotations

import argparse
import concurrent.futures
import gzip
import json
import os
import platform
import random
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from kodcode.exec import ExecConfig, Executor, PytestJob

DEFAULT_TRIALS = REPO.parent / "shared" / "data" / "kodcode-demo" / "trials.jsonl.gz"
KODCODE_TIMEOUT_S = 30  # pipeline/run_test.sh: timeout --kill-after=5s 30 pytest ...


def load_rows(path: Path, n: int = 0, seed: int = 0) -> list[dict]:
    """All rows, or a seeded sample of ``n`` of them (in file order)."""
    with gzip.open(path, "rt", encoding="utf-8") as f:
        rows = [json.loads(line) for line in f]
    if 0 < n < len(rows):
        keep = set(random.Random(seed).sample(range(len(rows)), n))
        rows = [r for i, r in enumerate(rows) if i in keep]
    return rows


def kodcode_verdict(row: dict, python: str, timeout_s: int = KODCODE_TIMEOUT_S) -> tuple[str, str]:
    """KodCode's verdict for one attempt (Pass / Fail / Fail - Timed Out) and the log's tail."""
    with tempfile.TemporaryDirectory(prefix="kc-trial-") as d:
        Path(d, "solution.py").write_text(row["solution"])
        Path(d, "test_solution.py").write_text("from solution import *\n\n" + row["test"])
        env = {
            "PATH": os.path.dirname(python) + ":/usr/local/bin:/usr/bin:/bin",
            "HOME": d,
            "LANG": "C.UTF-8",
        }
        cmd = [
            "timeout",
            "--kill-after=5s",
            str(timeout_s),
            python,
            "-m",
            "pytest",
            "--rootdir=.",
            "--cov=solution",
            "--cov-report",
            "term",
        ]
        with open(Path(d, "test_log.log"), "wb") as log:
            rc = subprocess.run(
                cmd,
                cwd=d,
                env=env,
                stdout=log,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                check=False,
            ).returncode
        tail = Path(d, "test_log.log").read_bytes()[-4000:].decode(errors="replace")
    verdict = "Pass" if rc == 0 else ("Fail - Timed Out" if rc == 124 else "Fail")
    return verdict, tail


def run_kodcode(rows: list[dict], python: str, parallel: int) -> tuple[list[tuple[str, str]], float]:
    t0 = time.perf_counter()
    with concurrent.futures.ThreadPoolExecutor(parallel) as pool:
        out = list(pool.map(lambda r: kodcode_verdict(r, python), rows))
    return out, time.perf_counter() - t0


def run_ours(
    rows: list[dict], python: str | None, workers: int, timeout_s: float, memory_mb: int = 2048
) -> tuple[list, float, float]:
    """Verdicts, seconds to start the workers, seconds to run the rows."""
    t0 = time.perf_counter()
    ex = Executor(ExecConfig(workers=workers, timeout_s=timeout_s, memory_mb=memory_mb, python=python))
    started = time.perf_counter() - t0
    try:
        t1 = time.perf_counter()
        verdicts = ex.run([PytestJob(r["solution"], r["test"], id=r["id"]) for r in rows])
        return verdicts, started, time.perf_counter() - t1
    finally:
        ex.close()


def report(
    args, n: int, ours_s: float, start_s: float, base_s: float, agree: int, by_status: dict, runners: dict
) -> str:
    ours_rate, base_rate = n / ours_s, n / base_s
    return f"""# Execution engine throughput vs KodCode's verifier

Command: `.venv/bin/python bench/exec_throughput.py --rows {args.rows} --workers {args.workers} \
--python {args.python or sys.executable} --report {args.report}`

Machine: {os.cpu_count()} cores, {platform.platform()}, Python {platform.python_version()}; both sides
ran in the same invocation on the same {n} rows of `trials.jsonl.gz` (seed {args.seed}), with the
same job interpreter. Other work was running on the machine at the same time, which slows both sides.

| verifier | parallelism | seconds | jobs/s |
|---|---|---|---|
| KodCode `timeout 30 pytest --cov=solution`, one process per attempt | {args.parallel} at once | {base_s:.1f} | {base_rate:.2f} |
| kodcode.exec (warm sandboxed workers) | {args.workers} workers | {ours_s:.1f} | {ours_rate:.2f} |

**Ratio: {ours_rate / base_rate:.1f}x** (worker start-up, {start_s:.1f} s once per Executor, not
included; with it: {n / (ours_s + start_s) / base_rate:.1f}x).

Our statuses: {dict(sorted(by_status.items()))}; runners: {dict(sorted(runners.items()))}.
Pass/non-pass agreement between the two verifiers on these rows: {agree}/{n} ({100 * agree / n:.1f}%);
see `bench/reports/exec_parity.md` for every disagreement on the full file and its cause.

Where the time goes: the baseline pays a cold interpreter, pytest with plugin autoload and
coverage, per attempt (~1 s of CPU); the engine forks a warm interpreter that already imported
pytest (and numpy), runs plain `def test_*` files without a pytest session, and keeps the full
`pytest.main` only for files that need it. Jobs that loop forever cost both sides their time limit
(KodCode 30 s wall clock; ours {args.timeout:g} s of CPU time).
"""


def main(argv: list[str] | None = None) -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--trials", type=Path, default=DEFAULT_TRIALS)
    p.add_argument("--rows", type=int, default=300, help="seeded sample size; 0 = every row")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--python", default=None, help="job interpreter for both sides (default: this one)")
    p.add_argument("--workers", type=int, default=os.cpu_count() or 1)
    p.add_argument("--parallel", type=int, default=os.cpu_count() or 1, help="baseline processes at once")
    p.add_argument("--timeout", type=float, default=10.0, help="our CPU seconds per job")
    p.add_argument("--report", type=Path, default=None)
    args = p.parse_args(argv)
    if not args.trials.exists():
        sys.exit(f"trials file {args.trials} not found; pass --trials PATH (shared/data/kodcode-demo/)")
    rows = load_rows(args.trials, args.rows, args.seed)
    python = args.python or sys.executable
    verdicts, start_s, ours_s = run_ours(rows, args.python, args.workers, args.timeout)
    print(
        f"kodcode.exec: {len(rows)} jobs in {ours_s:.1f} s = {len(rows) / ours_s:.2f} jobs/s "
        f"(+{start_s:.1f} s start-up)",
        flush=True,
    )
    base, base_s = run_kodcode(rows, python, args.parallel)
    print(f"KodCode baseline: {len(rows)} jobs in {base_s:.1f} s = {len(rows) / base_s:.2f} jobs/s")
    print(f"ratio: {base_s / ours_s:.1f}x")
    agree = sum(v.passed == (b == "Pass") for v, (b, _) in zip(verdicts, base))
    by_status: dict[str, int] = {}
    runners: dict[str, int] = {}
    for v in verdicts:
        by_status[v.status] = by_status.get(v.status, 0) + 1
        runners[v.runner or "none"] = runners.get(v.runner or "none", 0) + 1
    print(f"agreement with the baseline on these rows: {agree}/{len(rows)}")
    if args.report:
        args.report.write_text(report(args, len(rows), ours_s, start_s, base_s, agree, by_status, runners))
        print(f"wrote {args.report}")


if __name__ == "__main__":
    main()
