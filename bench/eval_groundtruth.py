"""Score canonical, broken and empty reference solutions through the eval's score-only path.

    python bench/eval_groundtruth.py --data-dir ../shared/data/benchmarks
    python bench/eval_groundtruth.py --data-dir DIR --benchmarks humaneval mbpp --stress 2

Writes one samples file per benchmark and kind, runs ``python -m kodcode.eval`` in score-only mode
(``+samples.<key>=file``) on it, and prints one line per benchmark and kind with its pass rates, e.g.
``humaneval canonical base 99.4 plus 99.4``, followed by every task whose canonical solution does
not pass (the official evaluator's own non-passes, explained in bench/reports/eval_groundtruth.md).
``--stress N`` keeps N busy-looping processes running during scoring, to show that load does not
turn passes into timeouts.  The baseline of each line is the official evaluator's measured verdicts
on the same data (see the report); ratios are printed against them for HumanEval+ and MBPP+.
"""

from __future__ import annotations

import argparse
import json
import multiprocessing as mp
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from kodcode.rows import read_rows
from kodcode.eval import bigcodebench as bcb
from kodcode.eval import evalplus_bench as ep
from kodcode.eval.references import KINDS, bigcodebench_solutions, evalplus_solutions

FILES = {"humaneval": "HumanEvalPlus-v0.1.10.jsonl.gz", "mbpp": "MbppPlus-v0.2.0.jsonl.gz",
         "bigcodebench": "BigCodeBench-v0.1.0.jsonl.gz"}
# evalplus 0.3.1 on this data, idle 2-core machine (reference/benchmarks.md §5): base / plus.
OFFICIAL = {"humaneval": (99.4, 99.4), "mbpp": (100.0, 99.7)}


def _burn() -> None:
    while True:
        pass


def _write(path: Path, sols: dict[str, str]) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("".join(json.dumps({"task_id": t, "solution": s}) + "\n" for t, s in sols.items()))
    return path


def _score(out: Path, bench: str, data: Path, samples: dict[str, Path], extra: list[str]) -> dict:
    cmd = [sys.executable, "-m", "kodcode.eval", f"benchmark=[{bench}]", f"out_dir={out}",
           f"benchmark.{bench}.data_path={data}", "wandb.mode=disabled", "leaderboard.paper_rows=[]",
           "hydra.output_subdir=null", *[f"+samples.{k}={v}" for k, v in samples.items()], *extra]
    proc = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, check=False)
    if proc.returncode != 0:
        raise SystemExit(f"scoring {bench} failed:\n{(proc.stdout + proc.stderr)[-4000:]}")
    return json.loads((out / "scores.json").read_text())


def _results(path: Path) -> list[dict]:
    return list(read_rows(path))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data-dir", required=True, type=Path)
    ap.add_argument("--benchmarks", nargs="+", default=["humaneval", "mbpp", "bigcodebench"])
    ap.add_argument("--kinds", nargs="+", default=list(KINDS))
    ap.add_argument("--out", type=Path, default=Path("outputs/bench/eval_groundtruth"))
    ap.add_argument("--workers", type=int, default=2, help="exec workers")
    ap.add_argument("--stress", type=int, default=0, help="busy-loop processes kept running while scoring")
    ap.add_argument("--bcb-python", default=None, help="interpreter with the BigCodeBench libraries")
    ap.add_argument("--bcb-splits", nargs="+", default=["complete"],
                    help="canonical programs are the same for both splits; instruct only re-runs them")
    ap.add_argument("--bcb-subsets", nargs="+", default=["full", "hard"])
    args = ap.parse_args()
    out = args.out.resolve()
    burners = [mp.Process(target=_burn, daemon=True) for _ in range(args.stress)]
    for b in burners:
        b.start()
    try:
        for bench in args.benchmarks:
            data = (args.data_dir / FILES[bench]).resolve()
            if not data.exists():
                print(f"{bench} skipped: {data} not found")
                continue
            for kind in args.kinds:
                t0 = time.time()
                run_dir = out / bench / kind
                if bench in ("humaneval", "mbpp"):
                    sols = evalplus_solutions(ep.load_problems(bench, str(data)), kind)
                    f = _write(run_dir / "input_samples.jsonl", sols)
                    extra = [f"exec.workers={args.workers}", f"benchmark.{bench}.cache_dir={out / 'evalplus_cache'}"]
                    res = _score(run_dir, bench, data, {bench: f}, extra)["scores"]
                    base, plus = res[f"{bench}/base"], res[f"{bench}/plus"]
                    line = f"{bench} {kind} base {base:.1f} plus {plus:.1f}"
                    if kind == "canonical":
                        ob, op = OFFICIAL[bench]
                        line += f"  (official evaluator measured: base {ob} plus {op})"
                    print(line + f"  [{time.time() - t0:.0f}s]", flush=True)
                    if kind == "canonical":
                        for r in _results(run_dir / bench / "results.jsonl"):
                            if not r["passed"]:
                                print(f"  non-pass {r['task_id']}: base {r['base_status']} plus {r['plus_status']} "
                                      f"limit {r['detail'].get('limit')}", flush=True)
                else:
                    tasks = bcb.load_tasks(str(data), "full" if "full" in args.bcb_subsets else "hard")
                    sols = bigcodebench_solutions(tasks, kind)
                    samples = {f"bigcodebench_{s}": _write(run_dir / f"input_{s}.jsonl", sols) for s in args.bcb_splits}
                    extra = [f"benchmark.bigcodebench.splits=[{','.join(args.bcb_splits)}]", f"exec.workers={args.workers}",
                             f"benchmark.bigcodebench.subsets=[{','.join(args.bcb_subsets)}]"]
                    if args.bcb_python:
                        extra.append(f"benchmark.bigcodebench.python={args.bcb_python}")
                    res = _score(run_dir, bench, data, samples, extra)
                    for s in args.bcb_splits:
                        sc, cnt = res["scores"], res["counts"][f"bigcodebench_{s}"]
                        rates = " ".join(f"{sub} {sc[f'bigcodebench_{s}/{sub}']:.1f}" for sub in args.bcb_subsets)
                        print(f"bigcodebench-{s} {kind} {rates} sandbox_errors {cnt['sandbox_errors']}"
                              f"  [{time.time() - t0:.0f}s]", flush=True)
                        if kind == "canonical":
                            bad = [r for r in _results(run_dir / "bigcodebench" / s / "results.jsonl") if not r["passed"]]
                            print(f"  {len(bad)} canonical non-passes; see {run_dir / 'bigcodebench' / s / 'results.jsonl'}")
    finally:
        for b in burners:
            b.terminate()


if __name__ == "__main__":
    main()
