"""Solve: up to n attempts per question, each a fresh solution plus pytest tests (paper §2.2).

Every attempt is its own generation request (the question's prompt, ``n=1``, and the seed
``seed + attempt``), so attempts are independent samples, each is cached on its own (a resumed or
repeated run never pays twice), and a later run can add attempts ``n, n+1, ...`` to the questions
that never passed without touching the ones already made.

Two modes (``solve.mode``):

* ``all``: every question gets ``n`` attempts; the pass rate over them is the difficulty label.
* ``first_pass``: rounds of one attempt per still-unsolved question, parsed and verified between
  rounds, stopping at the first pass (cheaper; the difficulty label then only says "found within
  k attempts").  Attempts come back already verified; the verify stage keeps their verdicts.

The temperature is explicit config: KodCode's GPT path used 0.0, which makes 10 attempts nearly
identical (reference A.2); pass rates only mean something with sampling.

Usage::

    from kodcode.synth.solve import solve_attempts
    attempts = solve_attempts(questions, llm, SolveConfig(n=10, temperature=0.7))
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from kodcode.config import setting
from kodcode.llm.types import GenerationRequest
from kodcode.synth.parse import parse_record
from kodcode.synth.runner import stage
from kodcode.synth.templates import load_prompt

MODES = ("all", "first_pass")


@dataclass
class SolveConfig:
    n: int = setting(10, ge=1, why="attempts per question")  # paper §2.2: up to 10 attempts per question
    # explicit: KodCode's GPT default 0.0 makes attempts identical
    temperature: float = setting(0.7, ge=0, why="above 0 so attempts differ")
    top_p: float = 0.95
    max_tokens: int = setting(4096, ge=1)
    seed: int = 0
    mode: str = setting("all", one_of=MODES)
    template: str = "solve_triplet"
    # Attempts already made by an earlier run (verified attempt records, e.g. that run's
    # verify/ output): questions that passed there get nothing new, the others get attempts
    # numbered after the ones they already have.
    previous_attempts: str | None = None
    # Known-good {question_id, subset, question, solution, test} rows (inline list or a JSONL path)
    # added as recorded attempts.  For smoke runs, whose tiny model writes noise that never
    # verifies: they still go through parse, the real sandbox and label.  Empty for real runs.
    seed_triplets: list[dict] | str | None = None
    window: int = setting(2048, ge=1, why="questions per generation call; memory holds one window's attempts")


def render(template: str, **fields: str) -> str:
    """Fill a prompt file of kodcode/synth/prompts (``{{name}}`` placeholders)."""
    return load_prompt(template if template.endswith(".txt") else f"{template}.txt").render(**fields)


def solve_request(question: str, attempt: int, cfg: SolveConfig) -> GenerationRequest:
    return GenerationRequest(
        messages=[{"role": "user", "content": render(cfg.template, question=question)}],
        n=1, temperature=cfg.temperature, top_p=cfg.top_p, max_tokens=cfg.max_tokens,
        seed=cfg.seed + attempt,
    )


def _attempt_record(q: dict, attempt: int, text: str, finish: str, model: str) -> dict:
    # The question's fields travel with every attempt: label rebuilds the triplet from them.
    return {"question_id": q["question_id"], "subset": q["subset"], "question": q["question"],
            "metadata": q.get("metadata") or {}, "attempt": attempt, "raw": text,
            "finish_reason": finish, "model": model}


Generate = Callable[[list[GenerationRequest]], list[Any]]


def _generate(generate: Generate, todo: list[tuple[dict, int]], cfg: SolveConfig, model: str) -> list[dict]:
    requests = [solve_request(q["question"], a, cfg) for q, a in todo]
    results = generate(requests) if requests else []
    return [_attempt_record(q, a, r.texts[0], r.finish_reasons[0], model) for (q, a), r in zip(todo, results)]


def previous_index(previous) -> tuple[dict[str, int], set[str], int]:
    """From earlier attempt records (any iterable, read once): each question's last attempt number,
    the questions that passed, and how many records there were."""
    done: dict[str, int] = {}
    solved: set[str] = set()
    n = 0
    for a in previous:
        n += 1
        done[a["question_id"]] = max(done.get(a["question_id"], -1), a["attempt"])
        if a.get("passed"):
            solved.add(a["question_id"])
    return done, solved, n


def new_attempts(questions: list[dict], generate: Generate, cfg: SolveConfig, done: dict[str, int],
                 solved: set[str], verify: Callable[[list[dict]], list[dict]] | None = None,
                 model: str = "") -> list[dict]:
    """The new attempt records for ``questions``, given ``previous_index``'s ``done`` and ``solved``."""
    open_qs = [q for q in questions if q["question_id"] not in solved]
    start = {q["question_id"]: done.get(q["question_id"], -1) + 1 for q in open_qs}
    if cfg.mode == "all":
        return _generate(generate, [(q, start[q["question_id"]] + i) for q in open_qs for i in range(cfg.n)], cfg, model)
    if verify is None:
        raise ValueError("solve.mode=first_pass verifies between rounds and needs an executor (got none)")
    new: list[dict] = []
    for i in range(cfg.n):
        todo = [(q, start[q["question_id"]] + i) for q in open_qs]
        if not todo:
            break
        batch = verify([parse_record(a) for a in _generate(generate, todo, cfg, model)])
        new.extend(batch)
        passed = {a["question_id"] for a in batch if a["passed"]}
        open_qs = [q for q in open_qs if q["question_id"] not in passed]
    return new


def solve_attempts(questions: list[dict], generate: Generate, cfg: SolveConfig,
                   previous: list[dict] | None = None,
                   verify: Callable[[list[dict]], list[dict]] | None = None, model: str = "") -> list[dict]:
    """Attempt records (previous ones first, then new ones) for ``questions``.

    ``generate`` maps requests to results (``llm.generate``); ``verify`` (parsed records ->
    verified records) is needed in ``first_pass`` mode.
    """
    previous = list(previous or [])
    done, solved, _ = previous_index(previous)
    return previous + new_attempts(questions, generate, cfg, done, solved, verify, model)


# -- stages ------------------------------------------------------------------------------------

def question_item(record: dict) -> dict:
    """The fields of a Step 1 question record that travel with every attempt."""
    missing = [k for k in ("question_id", "subset", "question") if not record.get(k)]
    if missing:
        raise ValueError(
            f"solve got a question record without {', '.join(missing)} (keys: {sorted(record)}); solve runs "
            "after the question stages (e.g. stages=[...,dedup,solve,...]) or on input= rows with "
            "question_id, subset and question"
        )
    return {"question_id": str(record["question_id"]), "subset": record["subset"], "question": record["question"],
            "metadata": record.get("metadata") or {}}


def seed_attempts(seeds: list[dict]) -> tuple[list[dict], list[dict]]:
    """(questions, attempt 0 of each) for known-good ``seed_triplets``, written in the solve format.

    They pass through parse, verify and label like generated attempts; their ``model`` is
    ``seed_triplets`` so they can always be told apart.
    """
    questions, attempts = [], []
    for s in seeds:
        q = question_item(s)
        raw = (f"<|Solution Begin|>\n```python\n{s['solution']}\n```\n<|Solution End|>\n"
               f"<|Test Begin|>\n```python\n{s['test']}\n```\n<|Test End|>\n")
        questions.append(q)
        attempts.append(_attempt_record(q, 0, raw, "stop", "seed_triplets"))
    return questions, attempts


def _load_seed_triplets(value: list[dict] | str | None) -> list[dict]:
    if not value:
        return []
    if isinstance(value, str):
        from kodcode.synth.runner import load_input

        return list(load_input(value))
    return [dict(v) for v in value]


def _precheck(cfg: SolveConfig, full_cfg) -> list[str]:
    """Files named in the solve config must exist before any stage runs."""
    from kodcode.synth.paths import looked_in, resolve_path

    p = []
    if cfg.previous_attempts and not resolve_path(cfg.previous_attempts).exists():
        p.append(f"stage.solve.previous_attempts={cfg.previous_attempts} does not exist "
                 f"({looked_in(cfg.previous_attempts)}): it names an earlier run's verify output "
                 "(<run_dir>/verify) or a JSONL of verified attempts; fix the path or set it to null")
    if isinstance(cfg.seed_triplets, str) and not resolve_path(cfg.seed_triplets).is_file():
        p.append(f"stage.solve.seed_triplets={cfg.seed_triplets} is not a file ({looked_in(cfg.seed_triplets)}): "
                 "give a JSONL of {question_id, subset, question, solution, test} rows "
                 "(e.g. conf/synth/triplets/smoke.jsonl) or null")
    return p


@stage("solve", schema=SolveConfig, prompts=("solve_triplet.txt",), version="1", precheck=_precheck, streams=True)
def solve_stage(records, ctx):
    """Questions in, attempt records out (raw outputs; parse and verify come next): the seed
    triplets' attempts, then the earlier run's (``previous_attempts``), then the new ones, a window
    of ``window`` questions at a time, so memory holds one window's attempts, not the run's."""
    from kodcode.synth import store
    from kodcode.synth.runner import load_input

    cfg: SolveConfig = ctx.cfg
    seed_qs, seeded = seed_attempts(_load_seed_triplets(cfg.seed_triplets))
    seed_ids = {q["question_id"] for q in seed_qs}
    done, solved, n_previous = previous_index(load_input(cfg.previous_attempts)) if cfg.previous_attempts else ({}, set(), 0)
    model = ctx.llm().model_id
    verify = None
    if cfg.mode == "first_pass":
        from kodcode.synth.verify import verify_attempts

        verify = lambda batch: verify_attempts(batch, ctx.executor())
    counts = {"questions": 0, "seed_triplets": len(seeded), "previous_attempts": n_previous, "new_attempts": 0,
              "truncated": 0}
    yield from seeded
    if cfg.previous_attempts:
        for a in load_input(cfg.previous_attempts):
            counts["truncated"] += a.get("finish_reason") == "length"
            yield a
    questions = (q for q in map(question_item, records) if q["question_id"] not in seed_ids)
    for window in store.windows(questions, cfg.window):
        new = new_attempts(window, ctx.generate, cfg, done, solved, verify, model)
        counts["questions"] += len(window)
        counts["new_attempts"] += len(new)
        counts["truncated"] += sum(a.get("finish_reason") == "length" for a in new)
        yield from new
    ctx.counts.update(counts)
