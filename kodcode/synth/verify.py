"""Verification of attempts: every parsed solution + tests run through ``kodcode.exec``.

An attempt passes only when the execution engine says ``pass`` (every expected test reported
passed through its trusted channel).  An attempt whose output could not be parsed is a failed
attempt without running anything, exactly as it would fail under pytest.  A ``sandbox_error`` is an
infrastructure failure, never a wrong answer: it is recorded, left out of the pass sequence by
``label``, and a batch whose sandbox-error rate passes ``max_sandbox_error_rate`` aborts the stage
so a broken sandbox cannot silently empty the dataset (STYLE.md §6).

Usage::

    from kodcode.exec import ExecConfig, Executor
    from kodcode.synth.verify import verify_attempts
    with Executor(ExecConfig(workers=2)) as ex:
        attempts = verify_attempts(attempts, ex)   # adds "verdict" and "passed" to each record
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from kodcode.synth import store
from kodcode.config import setting
from kodcode.synth.runner import stage


class SandboxFailure(RuntimeError):
    """Too many sandbox errors in one batch: the engine is broken, not the solutions."""


def verdict_summary(v: Any) -> dict:
    """The facts of a ``Verdict`` a dataset row keeps (capped message; no output tails)."""
    return {
        "status": v.status,
        "n_tests": v.n_tests,
        "n_passed": v.n_passed,
        "duration_s": round(float(v.duration_s), 3),
        "runner": v.runner,
        "flags": list(v.flags),
        "message": (v.message or "")[:500],
    }


def parse_failure(error: str) -> dict:
    return {"status": "fail", "n_tests": 0, "n_passed": 0, "duration_s": 0.0, "runner": "parse",
            "flags": [], "message": f"not run: {error}"}


def pytest_job(record: dict, solution_key: str = "solution", test_key: str = "test", job_id: str | None = None):
    from kodcode.exec import PytestJob

    return PytestJob(solution=record[solution_key], test=record[test_key], id=job_id)


def run_jobs(executor: Any, jobs: list, batch_size: int, max_sandbox_error_rate: float,
             on_batch: Callable[[int, int], None] | None = None) -> list:
    """``executor.run`` in batches; aborts when a batch is mostly sandbox errors."""
    verdicts: list = []
    for start in range(0, len(jobs), batch_size):
        batch = jobs[start:start + batch_size]
        out = executor.run(batch, progress=False)
        errors = sum(v.status == "sandbox_error" for v in out)
        if batch and errors / len(batch) > max_sandbox_error_rate:
            first = next(v for v in out if v.status == "sandbox_error")
            raise SandboxFailure(
                f"{errors} of {len(batch)} jobs in one verify batch were sandbox errors (limit "
                f"{max_sandbox_error_rate:.0%}); first: {first.message[:300]!r}. The sandbox, not the "
                "code, is failing: check `python -m kodcode.exec selftest` (or the exec config) and rerun; "
                "finished stages are kept"
            )
        verdicts.extend(out)
        if on_batch:
            on_batch(len(verdicts), len(jobs))
    return verdicts


def verify_attempts(attempts: Iterable[dict], executor: Any, *, batch_size: int = 256,
                    max_sandbox_error_rate: float = 0.5, solution_key: str = "solution",
                    test_key: str = "test", error_key: str = "parse_error",
                    on_batch: Callable[[int, int], None] | None = None) -> list[dict]:
    """Copy of ``attempts`` with ``verdict`` (summary dict) and ``passed`` (bool) on each."""
    attempts = [dict(a) for a in attempts]
    runnable = [i for i, a in enumerate(attempts) if not a.get(error_key) and a.get(solution_key) and a.get(test_key)]
    jobs = [pytest_job(attempts[i], solution_key, test_key, job_id=str(i)) for i in runnable]
    verdicts = run_jobs(executor, jobs, batch_size, max_sandbox_error_rate, on_batch)
    for i, v in zip(runnable, verdicts):
        attempts[i]["verdict"] = verdict_summary(v)
    for a in attempts:
        if "verdict" not in a:
            a["verdict"] = parse_failure(a.get(error_key) or "missing solution or test")
        a["passed"] = a["verdict"]["status"] == "pass"
    return attempts


def recheck_passes(attempts: list[dict], exec_cfg: Any, rounds: int = 1, batch_size: int = 256,
                   max_sandbox_error_rate: float = 0.5) -> list[dict]:
    """Run passing attempts again in fresh executors; one that fails there is a flaky pass.

    Each round starts new sandbox workers (a new interpreter, so a new string-hash secret, and a
    different ``PYTHONHASHSEED`` for engines that apply it at start): tests that depend on set or
    dict order of strings, on timing or on leftover state pass once and fail here.  Found in
    KodCode's own demo data (a ``list(set(...))`` compared with a fixed list).  A flaky attempt
    becomes ``fail`` with the ``flaky`` flag; a sandbox error on the recheck keeps the first verdict.
    """
    import dataclasses

    from kodcode.exec import Executor

    attempts = [dict(a) for a in attempts]
    for r in range(rounds):
        idx = [i for i, a in enumerate(attempts) if a["passed"]]
        if not idx:
            break
        cfg = dataclasses.replace(exec_cfg, env={**exec_cfg.env, "PYTHONHASHSEED": str(1000 + r)})
        with Executor(cfg) as ex:
            jobs = [pytest_job(attempts[i], job_id=str(i)) for i in idx]
            verdicts = run_jobs(ex, jobs, batch_size, max_sandbox_error_rate)
        for i, v in zip(idx, verdicts):
            if v.status not in ("pass", "sandbox_error"):
                first = attempts[i]["verdict"]
                attempts[i]["verdict"] = {**verdict_summary(v), "status": "fail",
                                          "flags": sorted({*first.get("flags", []), *v.flags, "flaky"}),
                                          "message": f"flaky: passed, then {v.status} on a recheck in fresh "
                                                     f"workers: {(v.message or '')[:300]}"}
                attempts[i]["passed"] = False
    return attempts


@dataclass
class VerifyConfig:
    batch_size: int = setting(64, ge=1, why="attempts per executor call; also the checkpoint granularity")
    # per batch; above it the stage aborts (STYLE.md §6)
    max_sandbox_error_rate: float = setting(0.5, gt=0, le=1)
    # Extra runs of every passing attempt in fresh workers (0: off).  Rejects flaky passes; costs
    # one more run per passing attempt and round.
    recheck_rounds: int = setting(1, ge=0, why="0 turns the flaky-pass recheck off")
    window: int = setting(4096, ge=1, why="attempts read and verified at a time; memory holds one window")


def attempt_key(a: dict) -> str:
    return f"{a['question_id']}#{a['attempt']}"


def verify_window(window: list[dict], ctx, cfg: VerifyConfig) -> list[dict]:
    """One window of attempts with ``verdict`` and ``passed`` (checkpointed per batch, passes rechecked)."""
    todo = [a for a in window if "verdict" not in a]  # first_pass solve verified some already
    if not todo:
        return list(window)
    ex, exec_cfg = ctx.executor(), ctx.exec_config()
    done = ctx.checkpoint_window(
        todo, lambda batch: verify_attempts(batch, ex, batch_size=cfg.batch_size,
                                            max_sandbox_error_rate=cfg.max_sandbox_error_rate),
        key=attempt_key, batch_size=cfg.batch_size, desc="verify")
    if cfg.recheck_rounds:
        done = ctx.checkpoint_window(
            done, lambda batch: recheck_passes(batch, exec_cfg, cfg.recheck_rounds, cfg.batch_size,
                                               cfg.max_sandbox_error_rate),
            key=lambda a: "recheck#" + attempt_key(a), batch_size=cfg.batch_size, desc="recheck")
    by_key = {attempt_key(a): a for a in done}
    return [by_key.get(attempt_key(a), a) for a in window]


@stage("verify", schema=VerifyConfig, version="1", streams=True)
def verify_stage(records, ctx):
    """Parsed attempts in, attempts with ``verdict`` and ``passed`` out, a window of ``window``
    attempts at a time (checkpointed per batch), so memory holds one window."""
    cfg: VerifyConfig = ctx.cfg
    statuses: dict[str, int] = {}
    passed = flaky = 0
    for window in store.windows(records, cfg.window):
        for a in verify_window(window, ctx, cfg):
            statuses[a["verdict"]["status"]] = statuses.get(a["verdict"]["status"], 0) + 1
            passed += a["passed"]
            flaky += "flaky" in a["verdict"].get("flags", [])
            yield a
    ctx.counts.update(passed=passed, statuses=statuses, flaky=flaky)
