"""Throughput of kodcode.exec against KodCode's own verifier, on the same rows in one invocation.

The baseline is KodCode's ``pipeline/run_test.sh``: per attempt, a directory with ``solution.py`` and
``test_solution.py`` (``from solution import *`` prepended), ``timeout --kill-after=5s 30 pytest
--rootdir=. --cov=solution --cov-report term``, exit status 0 = Pass, 124 = Fail - Timed Out, else
Fail; as many at once as there are cores (``parallel -j $(nproc)`` in step2.3).  Ours is one
``Executor`` with warm sandboxed workers.  Prints both throughputs (jobs/s) and the ratio, and how
often the two verdicts agree; ``--report`` writes the Markdown report.

    .venv/bin/python bench/exec_throughput.py --rows 300 --timeout 10 5 --python /work/jobenv/bin/python \
        --report bench/reports/exec_throughput.md

Needs pytest and pytest-cov in the job interpreter (``--python``; default: this one).
"""

from __future__ import annotations

import argparse
import collections
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
from kodcode.exec.plan import _plan

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


def kodcode_verdict(row: dict, python: str, timeout_s: int = KODCODE_TIMEOUT_S) -> tuple[str, str, float]:
    """KodCode's verdict for one attempt (Pass / Fail / Fail - Timed Out), the log's tail, seconds."""
    t0 = time.perf_counter()
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
    return verdict, tail, time.perf_counter() - t0


def run_kodcode(rows: list[dict], python: str, parallel: int) -> tuple[list[tuple[str, str, float]], float]:
    t0 = time.perf_counter()
    with concurrent.futures.ThreadPoolExecutor(parallel) as pool:
        out = list(pool.map(lambda r: kodcode_verdict(r, python), rows))
    return out, time.perf_counter() - t0


def run_ours(
    rows: list[dict], python: str | None, workers: int, timeout_s: float, memory_mb: int = 2048
) -> tuple[list, float, float]:
    """Verdicts, seconds to start the workers, seconds to run the rows.  Each run plans every test afresh
    (the plan cache is emptied): only repeats within the rows themselves are planned once."""
    _plan.cache_clear()
    t0 = time.perf_counter()
    ex = Executor(ExecConfig(workers=workers, timeout_s=timeout_s, memory_mb=memory_mb, python=python))
    started = time.perf_counter() - t0
    try:
        t1 = time.perf_counter()
        verdicts = ex.run([PytestJob(r["solution"], r["test"], id=r["id"]) for r in rows])
        return verdicts, started, time.perf_counter() - t1
    finally:
        ex.close()


def _split(seconds: list[float], slow: list[bool], lanes: int) -> tuple[float, float]:
    """Lane-seconds spent on rows that ran out of time on either side vs on the rest."""
    out = sum(t for t, x in zip(seconds, slow) if x) / lanes
    return out, sum(t for t, x in zip(seconds, slow) if not x) / lanes


def report(args, rows, runs, base, base_s) -> str:
    n = len(rows)
    base_rate = n / base_s
    lines = [
        "# Execution engine throughput vs KodCode's verifier",
        "",
        (
            f"Command: `.venv/bin/python bench/exec_throughput.py --rows {args.rows} --workers {args.workers} "
            f"--timeout {' '.join(f'{t:g}' for t in args.timeout)} --repeat {args.repeat} --python {args.python or sys.executable} "
            f"--report {args.report}`"
        ),
        "",
        (
            f"Machine: {os.cpu_count()} cores, {platform.platform()}, Python {platform.python_version()}. Both "
            f"sides ran in the same invocation on the same {n} rows of `trials.jsonl.gz` (seeded sample, seed "
            f"{args.seed}) with the same job interpreter. Both sides are slowed by other work on the machine "
            "(the load average is printed below), the baseline's cold start much more than a fork."
        ),
        "",
        (
            f"Each side ran {args.repeat} times, alternating; the table shows the median run of each. All runs "
            f"(seconds): KodCode {', '.join(f'{x:.1f}' for x in args.all_base)}; "
            + "; ".join(f"ours at {t:g} s {', '.join(f'{x:.2f}' for x in v)}" for t, v in args.all_ours.items())
            + "."
        ),
        "",
        "| verifier | parallelism | time limit | seconds | jobs/s | ratio | same pass/non-pass verdict as KodCode |",
        "|---|---|---|---|---|---|---|",
        (
            f"| KodCode: `timeout 30 pytest --cov=solution`, one process per attempt | {args.parallel} at once "
            f"| 30 s wall | {base_s:.1f} | {base_rate:.2f} | 1x | - |"
        ),
    ]
    for timeout_s, verdicts, start_s, ours_s in runs:
        same = sum(v.passed == (b[0] == "Pass") for v, b in zip(verdicts, base))
        lines.append(
            f"| kodcode.exec, warm sandboxed workers | {args.workers} workers | {timeout_s:g} s CPU "
            f"| {ours_s:.1f} (+{start_s:.1f} start) | {n / ours_s:.2f} | **{base_s / ours_s:.1f}x** | {same}/{n} |"
        )
    lines.append("")
    for timeout_s, verdicts, _, ours_s in runs:
        slow = [v.status == "timeout" or b[0] not in ("Fail", "Pass") for v, b in zip(verdicts, base)]
        b_out, b_rest = _split([b[2] for b in base], slow, args.parallel)
        o_out, o_rest = _split([v.duration_s for v in verdicts], slow, args.workers)
        lines.append(
            f"- {timeout_s:g} s limit: {sum(slow)} rows ran out of time on one side or the other. They cost "
            f"KodCode {b_out:.0f} s and us {o_out:.1f} s per lane; the other {n - sum(slow)} rows cost KodCode "
            f"{b_rest:.1f} s and us {o_rest:.2f} s per lane, i.e. **{b_rest / max(o_rest, 1e-9):.0f}x** on rows "
            "that finish."
        )
    timeout_s, verdicts, _, ours_s = runs[0]
    agree = sum(v.passed == (b[0] == "Pass") for v, b in zip(verdicts, base))
    statuses = dict(sorted(collections.Counter(v.status for v in verdicts).items()))
    runners = dict(sorted(collections.Counter(v.runner or "none" for v in verdicts).items()))
    lines += [
        "",
        (
            f"Our statuses ({timeout_s:g} s limit): {statuses}; runners: {runners}. Pass/non-pass agreement between the two verifiers "
            f"on these rows: {agree}/{n}. Every disagreement on the full file, with its cause, is in "
            "`bench/reports/exec_parity.md`."
        ),
        "",
        (
            "Why it is faster: the baseline pays a cold interpreter, pytest with plugin autoload and coverage per "
            "attempt; the engine forks a warm interpreter that already imported pytest (and numpy), runs plain "
            "`def test_*` files without a pytest session, and keeps `pytest.main` for files that need it."
        ),
        "",
        f"Load average during the run: {args.load}.",
    ]
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--trials", type=Path, default=DEFAULT_TRIALS)
    p.add_argument("--rows", type=int, default=300, help="seeded sample size; 0 = every row")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--python", default=None, help="job interpreter for both sides (default: this one)")
    p.add_argument("--workers", type=int, default=os.cpu_count() or 1)
    p.add_argument("--parallel", type=int, default=os.cpu_count() or 1, help="baseline processes at once")
    p.add_argument(
        "--timeout",
        type=float,
        nargs="+",
        default=[10.0],
        help="our CPU seconds per job (several: one run each)",
    )
    p.add_argument("--repeat", type=int, default=3, help="runs of each side; the ratio is of the medians")
    p.add_argument("--report", type=Path, default=None)
    args = p.parse_args(argv)
    if not args.trials.exists():
        sys.exit(f"trials file {args.trials} not found; pass --trials PATH (shared/data/kodcode-demo/)")
    rows = load_rows(args.trials, args.rows, args.seed)
    python = args.python or sys.executable
    load = [os.getloadavg()[0]]
    runs, bases = [], []
    for rep in range(args.repeat):  # the sides alternate, so that a change of load hits both
        for timeout_s in args.timeout:
            verdicts, start_s, ours_s = run_ours(rows, args.python, args.workers, timeout_s)
            runs.append((timeout_s, verdicts, start_s, ours_s))
            print(f"[{rep + 1}/{args.repeat}] kodcode.exec ({timeout_s:g} s): {len(rows)} jobs in {ours_s:.2f} s "
                  f"= {len(rows) / ours_s:.2f} jobs/s")
            load.append(os.getloadavg()[0])
        base, base_s = run_kodcode(rows, python, args.parallel)
        bases.append((base, base_s))
        load.append(os.getloadavg()[0])
        print(f"[{rep + 1}/{args.repeat}] KodCode baseline: {len(rows)} jobs in {base_s:.1f} s = {len(rows) / base_s:.2f} jobs/s")
    base, base_s = sorted(bases, key=lambda b: b[1])[len(bases) // 2]
    args.all_base = [b[1] for b in bases]
    args.all_ours = {t: [r[3] for r in runs if r[0] == t] for t in args.timeout}
    runs = [sorted((r for r in runs if r[0] == t), key=lambda r: r[3])[len(bases) // 2] for t in args.timeout]
    for timeout_s, _, _, ours_s in runs:
        print(f"ratio of medians ({timeout_s:g} s limit): {base_s / ours_s:.1f}x")
    args.load = ", ".join(f"{x:.1f}" for x in load)
    if args.report:
        args.report.write_text(report(args, rows, runs, base, base_s))
        print(f"wrote {args.report}")


if __name__ == "__main__":
    main()
