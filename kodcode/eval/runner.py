"""``run(cfg)``: generate (or read) samples, score every selected benchmark, write results and the table.

    python -m kodcode.eval model=tiny benchmark=[humaneval,mbpp,bigcodebench,livecodebench]
    python -m kodcode.eval +experiment=smoke                      # CPU, tiny model, fixture data
    python -m kodcode.eval benchmark=[humaneval] +samples.humaneval=samples.jsonl   # score only

Output under ``out_dir``: ``<benchmark>[/<split>]/samples.jsonl`` (task_id, solution, raw output),
``.../results.jsonl`` (one verdict record per sample), ``scores.json`` (pass@1 per benchmark and
split, sandbox-error counts) and ``leaderboard.md`` / ``leaderboard.csv`` (paper Table 2 layout with
the configured published rows and ``leaderboard.compare`` runs), plus a W&B table.
"""

from __future__ import annotations

import dataclasses
import json
import math
from collections.abc import Callable
from pathlib import Path
from typing import Any

from kodcode.config import validate
from kodcode.eval import leaderboard
from kodcode.eval.generation import Item, generate
from kodcode.eval.schema import EvalConfig
from kodcode.rows import read_rows, write_rows

# Infrastructure failures are counted, never scored; past this share a benchmark's score means little.
MAX_SANDBOX_ERROR_RATE = 0.05


def _write_jsonl(path: Path, rows: list[dict]) -> None:
    write_rows(path, rows, default=repr)


def read_samples(path: str | Path) -> dict[str, dict]:
    """An evalplus-style samples JSONL: first row per task_id wins (pass@1 of greedy samples)."""
    rows: dict[str, dict] = {}
    for r in read_rows(path):
        rows.setdefault(str(r["task_id"]), r)
    return rows


class Session:
    """What the benchmark runners share: config, output dir, the lazily built model, sample sources."""

    def __init__(self, ec: EvalConfig):
        self.ec = ec
        self.out = Path(ec.out_dir)
        self._llm = None
        self.counts: dict[str, Any] = {}
        self.missing: dict[str, int] = {}  # score-only: tasks without a sample, per samples key

    def llm(self):
        if self._llm is None:
            from kodcode.llm import build_llm

            self._llm = build_llm(llm=self.ec.llm, model=self.ec.model)
        return self._llm

    def samples(self, key: str, items: list[Item], to_solution: Callable[[Item, dict], str], where: Path) -> dict[str, str]:
        """task_id -> program, from ``samples.<key>`` when given (score-only) else by generation."""
        if key in self.ec.samples:
            given = read_samples(self.ec.samples[key])
            rows = [{"task_id": it.task_id, "solution": to_solution(it, given[it.task_id]) if it.task_id in given else "",
                     "missing": it.task_id not in given} for it in items]
            missing = sum(r["missing"] for r in rows)
            self.missing[key] = missing
            if missing:  # scored as unanswered, as the official harnesses would refuse a partial file
                print(f"{key}: {missing}/{len(rows)} tasks have no sample in {self.ec.samples[key]}; "
                      "they are scored as unanswered (fail)", flush=True)
        else:
            g = self.ec.generation
            rows = generate(items, self.llm(), g.prompt_style, g.max_tokens, g.temperature, g.top_p, desc=key)
        _write_jsonl(where / "samples.jsonl", rows)
        return {r["task_id"]: r["solution"] for r in rows}

    def executor(self, **overrides):
        from kodcode.exec import Executor

        return Executor(dataclasses.replace(self.ec.exec, **overrides))

    def close(self) -> None:
        if self._llm is not None:
            self._llm.close()


def _sandbox_guard(name: str, records: list[dict]) -> int:
    n_err = sum(r.get("status") == "sandbox_error" for r in records)
    if records and n_err / len(records) > MAX_SANDBOX_ERROR_RATE:
        raise RuntimeError(
            f"{name}: {n_err}/{len(records)} samples hit sandbox errors (limit {MAX_SANDBOX_ERROR_RATE:.0%}); the "
            "execution engine is failing, not the model. Results so far are on disk; check the exec settings "
            "(exec.memory_mb, exec.python, benchmark.*.python) and rerun"
        )
    return n_err


def _evalplus(s: Session, name: str) -> dict[str, float]:
    from kodcode.eval import evalplus_bench as ep
    from kodcode.exec import Executor

    bc = getattr(s.ec.benchmark, name)
    problems = ep.load_problems(name, bc.data_path)[: bc.limit or None]
    items = [Item(kind=name, task_id=p["task_id"], user=ep.user_message(p), raw_prompt=p["prompt"].strip() + "\n",
                  entry_point=p["entry_point"], response_prefix=ep.RESPONSE_PREFIX) for p in problems]
    prompt_of = {p["task_id"]: p["prompt"] for p in problems}

    def given(it: Item, row: dict) -> str:  # evalplus: `solution`, else prompt + `completion`
        return row["solution"] if "solution" in row else prompt_of[it.task_id] + row.get("completion", "")

    where = s.out / name
    sols = s.samples(name, items, given, where)
    with Executor(ep.exec_config(s.ec.exec, python=bc.python)) as ex:
        records = ep.score(name, problems, sols, ex, data_path=bc.data_path, cache_dir=bc.cache_dir)
    _write_jsonl(where / "results.jsonl", records)
    n_err = _sandbox_guard(name, records)
    p1 = ep.pass_at_1(records)
    s.counts[name] = {"tasks": len(records), "sandbox_errors": n_err, "limit_hits": ep.limit_hits(records)}
    return {f"{name}/base": p1["base"], f"{name}/plus": p1["plus"]}


def _bigcodebench(s: Session) -> dict[str, float]:
    from kodcode.eval import bigcodebench as bcb

    bc = s.ec.benchmark.bigcodebench
    tasks = bcb.load_tasks(bc.data_path, "full" if "full" in bc.subsets else "hard", upgrade=bc.upgrade)
    tasks = tasks[: bc.limit or None]
    by_id = {t.task_id: t for t in tasks}
    scores: dict[str, float] = {}
    preimport = list(dict.fromkeys([*s.ec.exec.preimport, *bc.preimport]))
    over: dict[str, Any] = {"preimport": preimport, "max_procs": max(bc.max_procs, s.ec.exec.max_procs)}
    if bc.python:
        over["python"] = bc.python
    with s.executor(**over) as ex:
        for split in bc.splits:
            key = f"bigcodebench_{split}"
            items = [Item(kind="bigcodebench", task_id=t.task_id, user=bcb.user_message(t, split),
                          raw_prompt=t.complete_prompt if split == "complete" else None,
                          entry_point=t.entry_point, response_prefix=bcb.RESPONSE_PREFIX) for t in tasks]

            def given(it: Item, row: dict) -> str:  # bigcodebench: `solution`, else complete_prompt + completion
                return row["solution"] if "solution" in row else by_id[it.task_id].complete_prompt + "\n" + row.get("completion", "")

            where = s.out / "bigcodebench" / split
            sols = s.samples(key, items, given, where)
            programs = {tid: (bcb.calibrate(by_id[tid], code) if bc.calibrated else code) for tid, code in sols.items()}
            records = bcb.score(tasks, programs, ex, timeout_s=bc.timeout_s, memory_mb=bc.memory_mb)
            for r in records:
                r["hard"] = by_id[r["task_id"]].hard
            _write_jsonl(where / "results.jsonl", records)
            n_err = _sandbox_guard(key, records)
            for subset in bc.subsets:
                sel = records if subset == "full" else [r for r in records if r["hard"]]
                scores[f"{key}/{subset}"] = bcb.pass_at_1(sel)["pass@1"]
            s.counts[key] = {"tasks": len(records), "sandbox_errors": n_err}
    return scores


def _livecodebench(s: Session) -> dict[str, float]:
    from kodcode.eval import livecodebench as lcb

    bc = s.ec.benchmark.livecodebench
    problems = lcb.load_problems(bc.data_path, bc.release, bc.start_date, bc.end_date, bc.difficulties)
    problems = problems[: bc.limit or None]
    print(lcb.summarize(problems, bc.release), flush=True)
    kind = "livecodebench_skythought" if bc.prompt == "skythought" else "livecodebench"
    items = [Item(kind=kind, task_id=p.question_id, messages=lcb.make_messages(p, bc.prompt)) for p in problems]

    def given(it: Item, row: dict) -> str:  # extracted code, else the raw model output
        if "solution" in row:
            return row["solution"]
        return lcb.extract(row.get("raw") or row.get("completion") or row.get("output") or "", bc.prompt)

    where = s.out / "livecodebench"
    sols = s.samples("livecodebench", items, given, where)
    with s.executor() as ex:
        records = lcb.score(problems, sols, ex, timeout_s=bc.timeout_s, semantics=bc.semantics, harness=bc.prompt)
        changes = lcb.mark_changes(records, lcb.score(problems, sols, ex, bc.timeout_s, harness=bc.prompt)) \
            if bc.semantics == "fixed" else None
    _write_jsonl(where / "results.jsonl", records)
    n_err = _sandbox_guard("livecodebench", records)
    p1 = lcb.pass_at_1(records)
    s.counts["livecodebench"] = {"tasks": len(records), "sandbox_errors": n_err,
                                 **{d: sum(p.difficulty == d for p in problems) for d in lcb.DIFFICULTIES}}
    if changes is not None:  # semantics=fixed: how many verdicts differ from the official ones
        s.counts["livecodebench"]["changed_vs_official"] = changes["changed"]
        print(f"livecodebench: semantics=fixed changes {changes['changed']}/{len(records)} verdicts "
              f"({changes['fail_to_pass']} fail->pass, {changes['pass_to_fail']} pass->fail)", flush=True)
    return {f"livecodebench/{d}": p1[d] for d in lcb.DIFFICULTIES} | {"livecodebench/all": p1["all"]}


def _finite(scores: dict[str, float]) -> dict[str, float | None]:
    return {k: (None if isinstance(v, float) and math.isnan(v) else v) for k, v in scores.items()}


def run(cfg: Any) -> dict:
    """Evaluate as configured; returns ``{"run", "scores", "counts", "out_dir", "leaderboard"}``."""
    ec: EvalConfig = validate(cfg, EvalConfig)
    out = Path(ec.out_dir)
    out.mkdir(parents=True, exist_ok=True)
    if ec.fixtures:
        from kodcode.eval.fixtures import write_fixtures

        for name, path in write_fixtures(out / "fixtures").items():
            bench = getattr(ec.benchmark, name)
            if bench is not None and bench.data_path is None:
                bench.data_path = path
    name = ec.run_name or ec.model.name_or_path
    s = Session(ec)
    scores: dict[str, float] = {}
    try:
        for bench in ec.benchmark.selected():
            if bench in ("humaneval", "mbpp"):
                got = _evalplus(s, bench)
            elif bench == "bigcodebench":
                got = _bigcodebench(s)
            else:
                got = _livecodebench(s)
            scores.update(got)
            print("  ".join(f"{k} {v:.1f}" for k, v in got.items()), flush=True)
    finally:
        s.close()
    for key, n in s.missing.items():
        s.counts.setdefault(key, {})["missing_samples"] = n
    result = {"run": name, "model": ec.model.name_or_path, "scores": _finite(scores), "counts": s.counts}
    if scores:
        (out / "scores.json").write_text(json.dumps(result, indent=2))
    rows = [leaderboard.load_run(d) for d in ec.leaderboard.compare]
    if scores:
        rows.append(result)
    rows += [leaderboard.paper_row(n) for n in ec.leaderboard.paper_rows]
    leaderboard.write(rows, out)
    table = leaderboard.to_markdown(rows)
    print(table, flush=True)
    if ec.leaderboard.wandb and ec.wandb.mode != "disabled":
        _log_wandb(ec, rows, result)
    return {**result, "out_dir": str(out), "leaderboard": table}


def _log_wandb(ec: EvalConfig, rows: list[dict], result: dict) -> None:
    from kodcode.tracking import init_run, log_scalars, log_table

    wcfg = dataclasses.replace(ec.wandb, group=ec.wandb.group or "eval", name=ec.wandb.name or result["run"],
                               dir=ec.wandb.dir or ec.out_dir)
    wrun = init_run(wcfg, config={"model": result["model"], "benchmarks": ec.benchmark.selected()}, job_type="eval")
    try:
        log_scalars(wrun, {f"eval/{k}": v for k, v in result["scores"].items() if v is not None})
        log_table(wrun, "eval/leaderboard", leaderboard.headers(), leaderboard.table_rows(rows))
    finally:
        wrun.finish()
