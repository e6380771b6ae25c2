"""HumanEval+ and MBPP+ through evalplus 0.3.1: data, official prompt and sanitizer, official scorer.

Scoring is evalplus's own ``evalplus.evaluate.evaluate`` (base and plus verdicts, its special
oracles and time limits), run in a child process (``python -m kodcode.eval.evalplus_bench``) so that
the ``HUMANEVAL_OVERRIDE_PATH`` / ``MBPP_OVERRIDE_PATH`` variables, which evalplus reads once at
import, point at the problem file of this run, and so its process pool and its never-ending
"stuck checker" thread end with the child.  Its interactive overwrite prompt cannot fire: each run
scores a fresh samples file in a fresh directory with ``i_just_wanna_run=False``.

Load: evalplus limits are wall-clock (per input ``max(1 s, 4 x ground-truth time)``, reported as
``fail``; per task ``min(60 s, sum of limits) + 1``, reported as ``timeout``), so a busy machine turns
slow passes into fails or timeouts (Mbpp/599 timed out in a measured busy run).  Every sample that
did not pass is therefore scored again with one worker (``parallel=1``, a fresh child, the same
problem file so ground truth and memory layout are unchanged), up to ``load_retries`` times, and the
last verdict is kept: a solution that really loops or is wrong
fails every time, a pass stays a pass.  (A solution whose output is random could pass on a retry;
greedy benchmark answers rarely are, and ``detail.load_retries`` records every rescoring.)

    from kodcode.eval.evalplus_bench import load_problems, score
    problems = load_problems("humaneval", "/data/HumanEvalPlus-v0.1.10.jsonl.gz")
    records = score("humaneval", problems, {"HumanEval/0": code, ...}, workdir)
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
from pathlib import Path

from kodcode.rows import read_rows, write_rows

DATASETS = ("humaneval", "mbpp")
# evalplus/codegen.py (0.3.1)
INSTRUCTION_PREFIX = (
    "Please provide a self-contained Python script that solves the following problem in a markdown code block:"
)
RESPONSE_PREFIX = (
    "Below is a Python script with a self-contained function that solves the problem and passes "
    "corresponding tests:"
)
_OVERRIDE_VAR = {"humaneval": "HUMANEVAL_OVERRIDE_PATH", "mbpp": "MBPP_OVERRIDE_PATH"}


def load_problems(dataset: str, path: str | None) -> list[dict]:
    """Raw evalplus rows (as stored, inputs still serialized), in file order.

    ``path`` None uses evalplus's official loader (downloads the release once into its cache).
    """
    if path:
        return list(read_rows(path))
    if dataset == "humaneval":
        from evalplus.data.humaneval import _ready_human_eval_plus_path as ready
    else:
        from evalplus.data.mbpp import _ready_mbpp_plus_path as ready
    return load_problems(dataset, ready())


def user_message(problem: dict) -> str:
    """evalplus provider/utility.py::make_raw_chat_prompt (user turn)."""
    return f"{INSTRUCTION_PREFIX}\n```\n{problem['prompt'].strip()}\n```\n"


def write_jsonl(path: Path, rows) -> Path:
    return write_rows(path, rows, ensure_ascii=True)  # evalplus reads it in the locale's encoding


def _evaluate_in_child(dataset: str, problems_file: Path, samples_file: Path, parallel: int,
                       cache_dir: str | None) -> dict:
    result_file = samples_file.with_name(samples_file.stem + "_eval_results.json")
    if result_file.exists():
        result_file.unlink()  # evalplus would silently reuse it
    env = dict(os.environ)
    env[_OVERRIDE_VAR[dataset]] = str(problems_file)
    if cache_dir:
        env["XDG_CACHE_HOME"] = str(cache_dir)  # evalplus keeps ground-truth outputs under it
    cmd = [sys.executable, "-m", "kodcode.eval.evalplus_bench", "--dataset", dataset,
           "--samples", str(samples_file), "--parallel", str(parallel)]
    proc = subprocess.run(cmd, env=env, stdin=subprocess.DEVNULL, capture_output=True, text=True, check=False)
    if proc.returncode != 0 or not result_file.exists():
        raise RuntimeError(
            f"evalplus evaluate failed for {dataset} (exit {proc.returncode}) on {samples_file}; "
            f"its output ends with:\n{(proc.stdout + proc.stderr)[-3000:]}"
        )
    return json.loads(result_file.read_text())["eval"]


def score(dataset: str, problems: list[dict], solutions: dict[str, str], workdir: str | Path,
          parallel: int = 1, load_retries: int = 1, cache_dir: str | None = None) -> list[dict]:
    """evalplus verdicts for one solution per problem; records in problem order.

    ``solutions`` maps task_id -> full program (sanitized).  A task without a solution is an error
    (evalplus needs every task): pass ``""`` to score a task as not answered.
    """
    if dataset not in DATASETS:
        raise ValueError(f"dataset must be one of {DATASETS} (got {dataset!r})")
    missing = [p["task_id"] for p in problems if p["task_id"] not in solutions]
    if missing:
        raise ValueError(
            f"{len(missing)} {dataset} tasks have no sample (first: {missing[:3]}); evalplus scores every task "
            "of the problem file, so give each one a solution (\"\" for unanswered) or restrict the problems"
        )
    workdir = Path(workdir)
    parallel = parallel or max(1, (os.cpu_count() or 2) // 2)  # evalplus's own default
    problems_file = write_jsonl(workdir / f"{dataset}_problems.jsonl", problems)
    samples_file = write_jsonl(workdir / f"{dataset}_samples.jsonl",
                               ({"task_id": p["task_id"], "solution": solutions[p["task_id"]]} for p in problems))
    results = _evaluate_in_child(dataset, problems_file, samples_file, parallel, cache_dir)
    verdicts = {tid: rs[0] for tid, rs in results.items()}
    retried: dict[str, int] = {}
    for attempt in range(1, load_retries + 1):
        slow = [p for p in problems if not (verdicts[p["task_id"]]["base_status"]
                                            == verdicts[p["task_id"]]["plus_status"] == "pass")]
        if not slow:
            break
        # Same problem file (same ground truth, same memory layout in evalplus's workers), one worker;
        # the other tasks get "" and fail at once, so only the rescored samples cost time.
        again = {p["task_id"] for p in slow}
        sf = write_jsonl(workdir / f"{dataset}_load_retry{attempt}" / f"{dataset}_samples.jsonl",
                         ({"task_id": p["task_id"], "solution": solutions[p["task_id"]] if p["task_id"] in again else ""}
                          for p in problems))
        results = _evaluate_in_child(dataset, problems_file, sf, 1, cache_dir)
        for tid in again:
            verdicts[tid] = results[tid][0]
            retried[tid] = attempt
    records = []
    for p in problems:
        v = verdicts[p["task_id"]]
        base_ok = v["base_status"] == "pass"
        plus_ok = base_ok and v["plus_status"] == "pass"  # evalplus: plus counts only with base
        records.append({
            "task_id": p["task_id"], "solution": solutions[p["task_id"]],
            "base_status": v["base_status"], "plus_status": v["plus_status"],
            "status": "pass" if plus_ok else "fail", "passed": plus_ok, "base_passed": base_ok,
            "detail": {"base_fail_tests": _short(v.get("base_fail_tests")),
                       "plus_fail_tests": _short(v.get("plus_fail_tests")),
                       "load_retries": retried.get(p["task_id"], 0)},
        })
    return records


def _short(value) -> str:
    s = json.dumps(value, default=repr)
    return s if len(s) <= 500 else s[:500] + "..."


def pass_at_1(records: list[dict]) -> dict[str, float]:
    n = len(records)
    if not n:
        return {"base": float("nan"), "plus": float("nan")}
    return {"base": 100.0 * sum(r["base_passed"] for r in records) / n,
            "plus": 100.0 * sum(r["passed"] for r in records) / n}


def main(argv: list[str] | None = None) -> None:
    """Child process: evalplus's evaluate on one samples file, then exit without waiting on its threads."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--dataset", choices=DATASETS, required=True)
    ap.add_argument("--samples", required=True)
    ap.add_argument("--parallel", type=int, default=1)
    args = ap.parse_args(argv)
    from evalplus.evaluate import evaluate  # after the override variable is in the environment

    evaluate(dataset=args.dataset, samples=args.samples, parallel=args.parallel, i_just_wanna_run=False)
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(0)  # evalplus leaves a non-daemon thread sleeping in 20 s steps


if __name__ == "__main__":
    main()
