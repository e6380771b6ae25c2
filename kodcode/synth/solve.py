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

from dataclasses import dataclass
from functools import cache
from importlib import resources
from typing import Any, Callable

from kodcode.llm.types import GenerationRequest
from kodcode.synth.parse import parse_attempt, test_info

MODES = ("all", "first_pass")


@dataclass
class SolveConfig:
    n: int = 10  # paper §2.2: up to 10 attempts per question
    temperature: float = 0.7  # explicit: KodCode's GPT default 0.0 makes attempts identical
    top_p: float = 0.95
    max_tokens: int = 4096
    seed: int = 0
    mode: str = "all"
    template: str = "solve_triplet"
    # Attempts already made by an earlier run (verified attempt records, e.g. that run's
    # verify/ output): questions that passed there get nothing new, the others get attempts
    # numbered after the ones they already have.
    previous_attempts: str | None = None

    def check(self) -> list[str]:
        p = []
        if self.n < 1:
            p.append(f"n must be >= 1 (got {self.n}): attempts per question; the paper uses 10")
        if self.temperature < 0:
            p.append(f"temperature must be >= 0 (got {self.temperature}); use 0.7 so attempts differ")
        if self.mode not in MODES:
            p.append(f"mode must be one of {', '.join(MODES)} (got {self.mode!r}); set solve.mode=all")
        if self.max_tokens < 1:
            p.append(f"max_tokens must be >= 1 (got {self.max_tokens}); set solve.max_tokens=4096")
        return p


@cache
def _template_text(name: str) -> str:
    path = resources.files("kodcode.synth") / "prompts" / f"{name}.txt"
    if not path.is_file():
        raise FileNotFoundError(
            f"prompt template {name!r} not found (looked for kodcode/synth/prompts/{name}.txt); "
            "name a file in that folder without its .txt suffix"
        )
    return path.read_text()


def render(template: str, **fields: str) -> str:
    """Fill ``{name}`` placeholders by plain replacement (templates hold code with braces)."""
    text = _template_text(template)
    for key, value in fields.items():
        text = text.replace("{" + key + "}", value)
    return text


def solve_request(question: str, attempt: int, cfg: SolveConfig) -> GenerationRequest:
    return GenerationRequest(
        messages=[{"role": "user", "content": render(cfg.template, question=question)}],
        n=1, temperature=cfg.temperature, top_p=cfg.top_p, max_tokens=cfg.max_tokens,
        seed=cfg.seed + attempt,
    )


def parse_record(attempt: dict) -> dict:
    """``parse`` stage on one attempt record: solution, test, test_info, parse_error."""
    p = parse_attempt(attempt["raw"])
    return {**attempt, "solution": p.solution, "test": p.test,
            "test_info": test_info(p.solution) if p.ok else None, "parse_error": p.error}


def _attempt_record(q: dict, attempt: int, text: str, finish: str, model: str) -> dict:
    return {"question_id": q["question_id"], "subset": q["subset"], "question": q["question"],
            "attempt": attempt, "raw": text, "finish_reason": finish, "model": model}


def _generate(llm: Any, todo: list[tuple[dict, int]], cfg: SolveConfig) -> list[dict]:
    requests = [solve_request(q["question"], a, cfg) for q, a in todo]
    results = llm.generate(requests, desc="solve") if requests else []
    model = getattr(llm, "model_id", "")
    return [_attempt_record(q, a, r.texts[0], r.finish_reasons[0], model) for (q, a), r in zip(todo, results)]


def solve_attempts(questions: list[dict], llm: Any, cfg: SolveConfig,
                   previous: list[dict] | None = None,
                   verify: Callable[[list[dict]], list[dict]] | None = None) -> list[dict]:
    """Attempt records (previous ones first, then new ones) for ``questions``.

    ``verify`` (parsed records -> verified records) is needed in ``first_pass`` mode.
    """
    previous = list(previous or [])
    done: dict[str, int] = {}
    solved = set()
    for a in previous:
        done[a["question_id"]] = max(done.get(a["question_id"], -1), a["attempt"])
        if a.get("passed"):
            solved.add(a["question_id"])
    open_qs = [q for q in questions if q["question_id"] not in solved]
    start = {q["question_id"]: done.get(q["question_id"], -1) + 1 for q in open_qs}
    if cfg.mode == "all":
        todo = [(q, start[q["question_id"]] + i) for q in open_qs for i in range(cfg.n)]
        return previous + _generate(llm, todo, cfg)
    if verify is None:
        raise ValueError("solve.mode=first_pass verifies between rounds and needs an executor (got none)")
    new: list[dict] = []
    for i in range(cfg.n):
        todo = [(q, start[q["question_id"]] + i) for q in open_qs]
        if not todo:
            break
        batch = verify([parse_record(a) for a in _generate(llm, todo, cfg)])
        new.extend(batch)
        passed = {a["question_id"] for a in batch if a["passed"]}
        open_qs = [q for q in open_qs if q["question_id"] not in passed]
    return previous + new
