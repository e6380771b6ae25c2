"""HumanEval+/MBPP+ on kodcode.exec against evalplus 0.3.1's own evaluator: same samples, same run.

    python bench/eval_evalplus.py --data-dir ../shared/data/benchmarks --datasets humaneval mbpp \
        --mutants-per-task 2 --workers 2 [--repeats 3] [--stress 2] --report bench/reports/eval_evalplus.md

Samples per dataset: every task's canonical solution plus seeded one-point AST mutants of it
(``kodcode.eval.references.mutants``: an operator, comparison, constant or return value changed).
Both tools score the same samples file against the same problem file and the same ground-truth
cache (evalplus's ``get_groundtruth``, computed once before either is timed), with the same number
of workers.  Prints per dataset: verdict agreement on (base_status, plus_status) sample by sample,
every disagreement, both wall times and their ratio (evalplus's time is the baseline), and how many
of our verdicts a time limit decided.  ``--stress N`` runs everything again with N busy-looping
processes in the background and compares each tool's loaded verdicts with our idle ones.
"""

from __future__ import annotations

import argparse
import collections
import multiprocessing as mp
import os
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from kodcode.eval import evalplus_bench as ep
from kodcode.eval.references import evalplus_solutions, mutants
from kodcode.exec import ExecConfig, Executor

FILES = {"humaneval": "HumanEvalPlus-v0.1.10.jsonl.gz", "mbpp": "MbppPlus-v0.2.0.jsonl.gz"}


def _burn() -> None:
    while True:
        pass


def samples_for(problems: list[dict], per_task: int, seed: int) -> list[tuple[str, str, str]]:
    canonical = evalplus_solutions(problems, "canonical")
    out = [(p["task_id"], canonical[p["task_id"]], "canonical") for p in problems]
    for p in problems:
        out += [(p["task_id"], m, "mutant") for m in mutants(canonical[p["task_id"]], per_task, seed)]
    return out


def _cpu() -> float:
    """CPU seconds of this process and of every finished child (evalplus's process and its workers):
    load stretches wall time, much less the CPU each side spends."""
    t = os.times()
    return t.user + t.system + t.children_user + t.children_system


class _Counted:
    """The executor, keeping each job's future: the jobs' CPU is in their verdicts (sandboxed jobs are
    not this process's children, so ``os.times`` does not see it)."""

    def __init__(self, ex):
        self.ex, self.futures = ex, []

    def submit(self, job):
        fut = self.ex.submit(job)
        self.futures.append(fut)
        return fut

    def job_cpu(self) -> float:
        return sum(f.result().cpu_s or 0.0 for f in self.futures)


def run_ours(dataset, problems, samples, data, cache, workers):
    t0, c0 = time.time(), _cpu()
    with Executor(ep.exec_config(ExecConfig(workers=workers))) as ex:
        counted = _Counted(ex)
        recs = ep.score_samples(dataset, problems, [(t, c) for t, c, _ in samples], counted, data_path=str(data),
                                cache_dir=str(cache))
    cpu = _cpu() - c0 + counted.job_cpu()
    return [(r["base_status"], r["plus_status"]) for r in recs], time.time() - t0, ep.limit_hits(recs), cpu


def run_official(dataset, samples, data, cache, workers, workdir):
    t0, c0 = time.time(), _cpu()
    rows = ep.official_score(dataset, str(data), [(t, c) for t, c, _ in samples], workdir, parallel=workers,
                             cache_dir=str(cache))
    return [(r["base_status"], r["plus_status"]) for r in rows], time.time() - t0, _cpu() - c0


def compare(samples, a, b) -> list[str]:
    return [f"{tid} ({kind} #{i}): {x} vs {y}" for i, ((tid, _, kind), x, y) in enumerate(zip(samples, a, b)) if x != y]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data-dir", type=Path, required=True)
    ap.add_argument("--datasets", nargs="+", default=["humaneval", "mbpp"], choices=list(FILES))
    ap.add_argument("--mutants-per-task", type=int, nargs="+", default=[2],
                    help="one number, or one per dataset in --datasets order")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--repeats", type=int, default=1, help="idle rounds; the report gives the median speed-up")
    ap.add_argument("--stress", type=int, default=0, help="busy-loop processes for the second, loaded round")
    ap.add_argument("--out", type=Path, default=Path("outputs/bench/eval_evalplus"))
    ap.add_argument("--report", type=Path, default=None)
    args = ap.parse_args()
    out = args.out.resolve()
    cache = out / "cache"
    lines = ["# evalplus 0.3.1 vs kodcode.exec (`bench/eval_evalplus.py`)", "",
             (f"`python bench/eval_evalplus.py --data-dir DATA --datasets {' '.join(args.datasets)} "
             f"--mutants-per-task {' '.join(map(str, args.mutants_per_task))} --workers {args.workers} --repeats {args.repeats} --stress {args.stress}`"), "",
             f"{mp.cpu_count()} CPU cores, {args.workers} workers for each tool.", ""]

    def say(s=""):
        print(s, flush=True)
        lines.append(s)

    per_task = dict(zip(args.datasets, args.mutants_per_task * len(args.datasets)
                        if len(args.mutants_per_task) == 1 else args.mutants_per_task))
    for dataset in args.datasets:
        data = (args.data_dir / FILES[dataset]).resolve()
        problems = ep.load_problems(dataset, str(data))
        samples = samples_for(problems, per_task[dataset], args.seed)
        kinds = collections.Counter(k for _, _, k in samples)
        by_id = ep.scoring_problems(dataset, problems)
        ep.expected_outputs(dataset, by_id, ep.ground_truth_key(dataset, str(data), by_id), str(cache))
        say(f"## {dataset}: {kinds['canonical']} canonical + {kinds['mutant']} mutants = {len(samples)} samples")
        say()
        for rep in range(args.repeats):
            ours_r, t_ours, hits, cpu_ours = run_ours(dataset, problems, samples, data, cache, args.workers)
            theirs_r, t_off, cpu_off = run_official(dataset, samples, data, cache, args.workers, out / dataset / f"idle{rep}")
            if rep == 0:
                ours, theirs, ratios = ours_r, theirs_r, []
            ratios.append(t_off / t_ours)
            diff = compare(samples, ours_r, theirs_r)
            n_pass = sum(v == ("pass", "pass") for v in theirs_r)
            say(f"- idle run {rep + 1}: identical verdicts on {len(samples) - len(diff)}/{len(samples)} samples "
                f"(evalplus passes {n_pass}); ours {t_ours:.1f} s, evalplus {t_off:.1f} s: **{t_off / t_ours:.2f}x**; "
                f"CPU {cpu_ours:.1f} s vs {cpu_off:.1f} s: **{cpu_off / cpu_ours:.2f}x**; "
                f"{hits} of our verdicts decided by a time limit; load average {os.getloadavg()[0]:.1f}")
            for d in diff:
                say(f"  - differs: {d}")
            for d in compare(samples, ours_r, ours) if rep else []:
                say(f"  - ours differs from its first run: {d}")
        if args.repeats > 1:
            say(f"- median speed-up over {args.repeats} idle runs: **{statistics.median(ratios):.2f}x**")
        canon_fail = [f"{t}: {v}" for (t, _, k), v in zip(samples, theirs) if k == "canonical" and v != ("pass", "pass")]
        say(f"- canonical solutions evalplus itself does not pass: {canon_fail or 'none'}")
        if args.stress:
            burners = [mp.Process(target=_burn, daemon=True) for _ in range(args.stress)]
            for b in burners:
                b.start()
            try:
                ours_l, t_ours_l, hits_l, cpu_ours_l = run_ours(dataset, problems, samples, data, cache, args.workers)
                theirs_l, t_off_l, cpu_off_l = run_official(dataset, samples, data, cache, args.workers, out / dataset / "loaded")
            finally:
                for b in burners:
                    b.terminate()
            d_ours, d_off = compare(samples, ours_l, ours), compare(samples, theirs_l, theirs)
            say(f"- with {args.stress} CPU burners: ours identical to its idle verdicts on "
                f"{len(samples) - len(d_ours)}/{len(samples)} ({t_ours_l:.1f} s, {hits_l} limit-decided); "
                f"evalplus identical to its idle verdicts on {len(samples) - len(d_off)}/{len(samples)} "
                f"({t_off_l:.1f} s): {t_off_l / t_ours_l:.2f}x; CPU {cpu_ours_l:.1f} s vs {cpu_off_l:.1f} s: "
                f"{cpu_off_l / cpu_ours_l:.2f}x")
            for d in d_ours:
                say(f"  - ours flipped under load: {d}")
            for d in d_off[:20]:
                say(f"  - evalplus flipped under load: {d}")
        say()
    if args.report:
        args.report.write_text("\n".join(lines) + "\n")


if __name__ == "__main__":
    main()
