"""Per-job cost of the sandbox itself: a trivial one-assert pytest job, many times, after a warm-up.

Prints jobs/s, wall milliseconds per job and lane, the CPU the whole machine spent per job (from
/proc/stat, so kernel work such as namespace cleanup counts too) and the page faults it took per job
(/proc/vmstat: each fork shares the worker's memory copy-on-write, so every page the job or the
worker then writes is copied once); run it on an idle machine.

    .venv/bin/python bench/exec_overhead.py --jobs 400 --workers 2 [--isolation degraded] [--python /work/jobenv/bin/python]

``--busy-parent`` runs a Python thread spinning in the calling process while jobs run (a GRPO trainer
or a synthesis stage doing its own work beside the executor), and ``--pipeline 1 2`` compares feeds in
the same run: 1 posts a worker's next job only after its reply is read, 2 keeps the next job already
in the worker's pipe (the default), so a worker never waits on a parent that is slow to be scheduled.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from kodcode.exec import ExecConfig, Executor, PytestJob


def busy_seconds() -> float:
    """CPU seconds the whole machine has spent outside idle and iowait since boot."""
    with open("/proc/stat") as f:
        v = [int(x) for x in f.readline().split()[1:]]
    return (sum(v) - v[3] - v[4]) / os.sysconf("SC_CLK_TCK")


def page_faults() -> int:
    """Page faults the whole machine has taken since boot (``pgfault`` in /proc/vmstat)."""
    with open("/proc/vmstat") as f:
        for line in f:
            if line.startswith("pgfault "):
                return int(line.split()[1])
    return 0


def main(argv: list[str] | None = None) -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--jobs", type=int, default=400)
    p.add_argument("--workers", type=int, default=os.cpu_count() or 1)
    p.add_argument("--isolation", default="auto", choices=["auto", "namespaces", "degraded"])
    p.add_argument("--python", default=None, help="job interpreter (default: this one)")
    p.add_argument(
        "--busy-parent", action="store_true", help="spin a Python thread in this process meanwhile"
    )
    p.add_argument(
        "--pipeline", type=int, nargs="+", default=[Executor.PIPELINE], help="jobs posted per worker"
    )
    p.add_argument(
        "--repeat", type=int, default=1, help="runs per pipeline setting, alternating; medians shown"
    )
    args = p.parse_args(argv)
    job = PytestJob(solution="def f(x):\n    return x + 1\n", test="def test_a():\n    assert f(1) == 2\n")
    stop = threading.Event()
    if args.busy_parent:
        threading.Thread(target=_spin, args=(stop,), daemon=True).start()
    walls: dict[int, list[float]] = {n: [] for n in args.pipeline}
    try:
        for _ in range(args.repeat):
            for n in args.pipeline:
                walls[n].append(_measure(args, job, n))
    finally:
        stop.set()
    if len(args.pipeline) > 1:
        base = statistics.median(walls[args.pipeline[0]])
        for n in args.pipeline:
            med = statistics.median(walls[n])
            print(
                f"pipeline={n}: median {med:.3f} s over {args.repeat} runs ({base / med:.2f}x pipeline={args.pipeline[0]})"
            )


def _spin(stop: threading.Event) -> None:
    """Hold the interpreter lock as much as Python lets one thread: the parent is busy with work of its own."""
    n = 0
    while not stop.is_set():
        n += 1


def _measure(args: argparse.Namespace, job: PytestJob, pipeline: int) -> float:
    cls = type("Executor", (Executor,), {"PIPELINE": pipeline})
    with cls(ExecConfig(workers=args.workers, isolation=args.isolation, python=args.python)) as ex:
        ex.run([job] * (5 * args.workers))  # warm-up
        b0, f0, t0 = busy_seconds(), page_faults(), time.perf_counter()
        verdicts = ex.run([job] * args.jobs)
        dt, b1, f1 = time.perf_counter() - t0, busy_seconds(), page_faults()
        mode = ex.isolation
    bad = [v for v in verdicts if v.status != "pass"]
    if bad:
        sys.exit(f"{len(bad)} trivial jobs did not pass: {bad[0].status} {bad[0].message}")
    print(
        f"isolation={mode} workers={args.workers} pipeline={pipeline}"
        f"{' busy-parent' if args.busy_parent else ''}: {args.jobs / dt:.1f} jobs/s, "
        f"{dt / args.jobs * 1000 * args.workers:.1f} ms per job and lane, "
        f"{(b1 - b0) / args.jobs * 1000:.2f} ms machine CPU per job, "
        f"{(f1 - f0) / args.jobs:.0f} page faults per job"
    )
    return dt


if __name__ == "__main__":
    main()
