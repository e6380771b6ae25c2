"""Agreement of our BigCodeBench scorer (kodcode.exec) with the official evaluator, task by task.

    python bench/bcb_agreement.py --data ../shared/data/benchmarks/BigCodeBench-v0.1.0.jsonl.gz \
        --python /path/to/bcb-venv/bin/python --subset hard --kinds canonical broken empty

``--python`` is an interpreter holding the task libraries (``pip install -e .[bcb]``-style list from
pyproject's ``bcb`` extra) and ``bigcodebench==0.2.5`` installed with ``--no-deps``; the official
verdicts come from that package's own ``bigcodebench.eval.untrusted_check`` (the function its
``evaluate --execution local`` calls per sample, with its default limits: 30 GiB address space,
10 MiB stack, ``max(TIMEOUT_LIMIT, gt_time) + 1`` seconds with TIMEOUT_LIMIT = ``--official-timeout``,
240 by default), run in a child process of that interpreter.  Ours come from
``kodcode.eval.bigcodebench.score`` on the same calibrated programs.  Prints one line per kind
(pass rates of both, agreement) and every task where the two differ; ``--out`` keeps both verdict
lists as JSON.  The official run takes as long as ours (its ratio is printed as the baseline).
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from kodcode.eval import bigcodebench as bcb
from kodcode.eval.references import KINDS, bigcodebench_solutions
from kodcode.eval.schema import BigCodeBenchBench
from kodcode.exec import ExecConfig, Executor

# Runs inside --python: the official per-sample check, two at a time, one JSON line per task.
OFFICIAL_DRIVER = r"""
import json, sys
from concurrent.futures import ProcessPoolExecutor
import bigcodebench.eval as official

official.TIMEOUT_LIMIT = float(sys.argv[4])  # its default is 240 s per sample

def check(item):
    status, details = official.untrusted_check(item["code"], item["test"], item["entry_point"],
                                               30 * 1024, 30 * 1024, 10, 1, 20)
    return item["task_id"], status, {k: str(v)[-300:] for k, v in dict(details).items()}

items = [json.loads(line) for line in open(sys.argv[1])]
with ProcessPoolExecutor(max_workers=int(sys.argv[2])) as pool, open(sys.argv[3], "w") as out:
    for task_id, status, details in pool.map(check, items):
        out.write(json.dumps({"task_id": task_id, "status": status, "details": details}) + "\n")
        out.flush()
"""


def official(python: str, tasks, programs: dict[str, str], workdir: Path, workers: int,
             timeout_s: float) -> dict[str, dict]:
    workdir.mkdir(parents=True, exist_ok=True)
    items = workdir / "items.jsonl"
    items.write_text("".join(json.dumps({"task_id": t.task_id, "code": programs[t.task_id], "test": t.test,
                                         "entry_point": t.entry_point}) + "\n" for t in tasks))
    driver = workdir / "official_driver.py"
    driver.write_text(OFFICIAL_DRIVER)
    verdicts = workdir / "official_verdicts.jsonl"
    # Its own session, output to a file: processes a sample leaves behind (a multiprocessing pool the
    # official guard cannot stop) must neither hold a pipe we wait on nor outlive the run.
    log = workdir / "official_stderr.log"
    with open(log, "w") as err:
        proc = subprocess.Popen([python, str(driver), str(items), str(workers), str(verdicts), str(timeout_s)],
                                cwd=workdir, stdout=err, stderr=err, stdin=subprocess.DEVNULL, start_new_session=True)
        proc.wait()
    try:
        os.killpg(proc.pid, signal.SIGKILL)
    except ProcessLookupError:
        pass
    rows = {}
    for line in verdicts.read_text().splitlines():
        if line.startswith("{"):
            r = json.loads(line)
            rows[r["task_id"]] = r
    if len(rows) != len(tasks):
        raise SystemExit(f"official run returned {len(rows)}/{len(tasks)} verdicts:\n{log.read_text()[-3000:]}")
    return rows


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", required=True)
    ap.add_argument("--python", required=True, help="interpreter with the task libraries and bigcodebench 0.2.5")
    ap.add_argument("--official-python", default=None,
                    help="interpreter for the official side (default: --python), e.g. a wrapper that runs it "
                         "without a network, as our sandbox runs jobs")
    ap.add_argument("--subset", choices=["full", "hard"], default="hard")
    ap.add_argument("--kinds", nargs="+", default=list(KINDS))
    ap.add_argument("--limit", type=int, default=None)
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--out", type=Path, default=Path("outputs/bench/bcb_agreement"))
    ap.add_argument("--official-workers", type=int, default=4, help="its samples mostly wait (network, sleeps)")
    ap.add_argument("--official-timeout", type=float, default=240.0,
                    help="the official per-sample limit (TIMEOUT_LIMIT, 240 s); lower it to fit a small machine")
    args = ap.parse_args()
    tasks = bcb.load_tasks(args.data, args.subset)[: args.limit]
    product = BigCodeBenchBench()  # the eval's own BigCodeBench sandbox settings
    cfg = ExecConfig(workers=args.workers, python=args.python, preimport=product.preimport, max_procs=product.max_procs)
    for kind in args.kinds:
        sols = bigcodebench_solutions(tasks, kind)
        programs = {t.task_id: bcb.calibrate(t, sols[t.task_id]) for t in tasks}
        t0 = time.time()
        with Executor(cfg) as ex:
            ours = {r["task_id"]: r for r in bcb.score(tasks, programs, ex)}
        t_ours = time.time() - t0
        t0 = time.time()
        theirs = official(args.official_python or args.python, tasks, programs, args.out.resolve() / kind, args.official_workers,
                          args.official_timeout)
        t_off = time.time() - t0
        ours_pass = {tid for tid, r in ours.items() if r["passed"]}
        off_pass = {tid for tid, r in theirs.items() if r["status"] == "pass"}
        differ = sorted(ours_pass ^ off_pass, key=lambda s: int(s.rsplit("/", 1)[1]))
        n = len(tasks)
        print(f"bigcodebench-{args.subset} {kind}: ours {100 * len(ours_pass) / n:.1f} official "
              f"{100 * len(off_pass) / n:.1f} agreement {n - len(differ)}/{n} "
              f"(time ours/official {t_ours / max(t_off, 1e-9):.2f}x, {t_ours:.0f}s vs {t_off:.0f}s)", flush=True)
        for tid in differ:
            o = ours[tid]
            print(f"  {tid}: ours {o['status']} ({o['detail']['message'][:200]!r}) official {theirs[tid]['status']} "
                  f"({json.dumps(theirs[tid]['details'])[:300]})", flush=True)
        out = args.out / f"{args.subset}_{kind}.json"
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_text(json.dumps({"ours": ours, "official": theirs}, default=repr))


if __name__ == "__main__":
    main()
