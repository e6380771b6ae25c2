"""Labels for verified questions: pass sequence, pass rate, difficulty, pass@k, chosen attempt.

Pure functions over attempt records (the output of ``verify``); the stage streams (attempts are
grouped by question on disk).  A question's attempts
become one triplet record carrying the KodCode-V1 fields (``gpt_pass_sequence``,
``gpt_pass_trial_num``, ``gpt_pass_percentage``, ``gpt_difficulty``, ``trials``, ``chosen_trial``).
The ``gpt_`` prefix is KodCode-V1's column name, kept whatever model wrote the attempts.

Difficulty follows KodCode's code (``utils.get_gpt_difficulty``): p >= 2/3 easy, p < 1/3 hard,
medium otherwise; the paper's text says "> 2/3", the released data uses ">=" (reference note A.6).
``fail`` (no passing attempt) exists for analysis; such questions are not exported.

Usage::

    from kodcode.synth.label import label_questions, pass_at_k
    triplets, failed = label_questions(questions, attempts, trial_prefix="trial_gpt4o")
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from math import comb

from kodcode.synth import store
from kodcode.synth.runner import stage

EASY_MIN = 2 / 3  # KodCode utils.get_gpt_difficulty: p >= 2/3 -> easy
HARD_BELOW = 1 / 3  # p < 1/3 -> hard
DIFFICULTIES = ("easy", "medium", "hard", "fail")


def difficulty(passes: int, trials: int) -> str:
    """easy / medium / hard from the pass rate; ``fail`` when nothing passed."""
    if trials <= 0:
        raise ValueError(f"difficulty needs at least one trial (got trials={trials})")
    if passes <= 0:
        return "fail"
    p = passes / trials
    if p >= EASY_MIN:
        return "easy"
    if p < HARD_BELOW:
        return "hard"
    return "medium"


def pass_at_k(n: int, c: int, k: int) -> float:
    """Unbiased pass@k from n samples with c correct (Chen et al. 2021, Codex paper eq. 1)."""
    if k > n:
        raise ValueError(f"pass@k needs k <= n (got k={k}, n={n}); lower k or draw more attempts")
    if n - c < k:
        return 1.0
    return 1.0 - comb(n - c, k) / comb(n, k)


class PassAtK:
    """Mean pass@k per subset (and ``all``), accumulated one question at a time (see
    ``pass_at_k_by_subset``), so a stage never holds the rows to compute it."""

    def __init__(self, ks: list[int]):
        self.ks = ks
        self.acc: dict[str, dict[int, list[float]]] = defaultdict(lambda: defaultdict(lambda: [0.0, 0]))

    def add(self, subset: str, seq: list[int]) -> None:
        n, c = len(seq), sum(seq)
        if n == 0:
            return
        for k in self.ks:
            v = pass_at_k(n, c, min(k, n))
            for key in (subset, "all"):
                cell = self.acc[key][k]
                cell[0] += v
                cell[1] += 1

    def result(self) -> dict[str, dict[str, float]]:
        return {s: {f"pass@{k}": total / n for k, (total, n) in sorted(d.items())} for s, d in sorted(self.acc.items())}


def pass_at_k_by_subset(rows, ks: list[int]) -> dict[str, dict[str, float]]:
    """Mean pass@k per subset (and ``all``) over rows with ``gpt_pass_sequence``.

    Every question that was attempted counts at every k, including those that never passed (they
    are the denominator of the paper's Fig. 2).  A question with fewer than k attempts counts with
    all of them (pass@n): leaving it out instead would change the denominator between k values and
    make the curve fall (a subset of one-attempt seed rows at pass@1 and generated rows at pass@2).
    """
    acc = PassAtK(ks)
    for r in rows:
        acc.add(r["subset"], r["gpt_pass_sequence"])
    return acc.result()


def _rank(attempt: dict) -> tuple:
    # Among passing attempts prefer the one with the most tests (the strongest check of the
    # solution), then the earliest.  KodCode ranked by line coverage instead; pytest-cov in the
    # sandbox would double the cost of every job for a tie-breaker.
    return (-int(attempt["verdict"].get("n_tests", 0)), attempt["attempt"])


def choose_best(attempts: list[dict]) -> dict | None:
    """The attempt whose solution and tests become the triplet, or ``None`` if none passed."""
    passing = [a for a in attempts if a["passed"]]
    return min(passing, key=_rank) if passing else None


def trial_result(attempt: dict) -> str:
    """KodCode's ``test_result`` strings: Pass / Fail / Fail - Timed Out (and ours for the rest)."""
    status = attempt["verdict"]["status"]
    return {"pass": "Pass", "timeout": "Fail - Timed Out", "sandbox_error": "Sandbox Error"}.get(status, "Fail")


def label_question(question: dict, attempts: list[dict], trial_prefix: str) -> dict:
    """One triplet record (``gpt_difficulty == "fail"`` when no attempt passed)."""
    attempts = sorted(attempts, key=lambda a: a["attempt"])
    counted = [a for a in attempts if a["verdict"]["status"] != "sandbox_error"]
    seq = [int(a["passed"]) for a in counted]
    passes = sum(seq)
    best = choose_best(counted)
    trials = {
        f"{trial_prefix}_{a['attempt']}": {
            "file_source": a.get("file_source", ""),
            "solution_code": a.get("solution") or "",
            "test_code": a.get("test") or "",
            "test_coverage": None,
            "test_result": trial_result(a),
        }
        for a in attempts
    }
    return {
        **question,
        "solution": best["solution"] if best else None,
        "test": best["test"] if best else None,
        "test_info": best.get("test_info") if best else None,
        "gpt_pass_sequence": seq,
        "gpt_pass_trial_num": passes,
        "gpt_difficulty": difficulty(passes, len(seq)) if seq else "fail",
        "gpt_pass_percentage": round(passes / len(seq), 3) if seq else 0.0,
        "trials": trials,
        "chosen_trial": f"{trial_prefix}_{best['attempt']}" if best else None,
        "n_sandbox_errors": len(attempts) - len(counted),
    }


def label_questions(
    questions: list[dict], attempts: list[dict], trial_prefix: str = "trial"
) -> tuple[list[dict], list[dict]]:
    """(verified triplets, failed questions) in question order; questions without attempts are failed."""
    by_q: dict[str, list[dict]] = defaultdict(list)
    for a in attempts:
        by_q[a["question_id"]].append(a)
    verified, failed = [], []
    for q in questions:
        t = label_question(q, by_q.get(q["question_id"], []), trial_prefix)
        (verified if t["gpt_difficulty"] != "fail" else failed).append(t)
    return verified, failed


def count_difficulty(counts: dict[str, dict[str, int]], row: dict) -> None:
    counts.setdefault(row["subset"], {d: 0 for d in DIFFICULTIES})[row["gpt_difficulty"]] += 1


def difficulty_by_subset(rows) -> dict[str, dict[str, int]]:
    """Counts of easy/medium/hard/fail per subset (the paper's Fig. 5)."""
    out: dict[str, dict[str, int]] = {}
    for r in rows:
        count_difficulty(out, r)
    return dict(sorted(out.items()))


# -- stage -------------------------------------------------------------------------------------

def kodcode_subset(name: str) -> str:
    """KodCode-V1 subset spelling: ``data_structure`` -> ``Data_Structure``, ``leetcode`` -> ``Leetcode``."""
    return "_".join(part.capitalize() for part in str(name).split("_"))


def triplet_id(subset: str, question_id: str, style: str = "instruct") -> str:
    """KodCode-V1 ids look like ``Leetcode_00000012_I`` (instruct) / ``_C`` (complete)."""
    prefix = f"{subset}_"
    core = question_id.removeprefix(prefix)
    return f"{subset}_{core}_{'I' if style == 'instruct' else 'C'}"


def question_of(attempt: dict) -> dict:
    subset = kodcode_subset(attempt["subset"])
    return {"question_id": attempt["question_id"], "subset": subset, "style": "instruct",
            "question": attempt["question"], "metadata": attempt.get("metadata") or {}}


@dataclass
class LabelConfig:
    trial_prefix: str = "trial"  # trials are named <prefix>_<attempt> (KodCode-V1: trial_gpt4o_0..9)
    ks: list[int] = field(default_factory=lambda: [1, 2, 3, 5, 10])  # pass@k reported (paper Fig. 2)


@stage("label", schema=LabelConfig, version="1", streams=True)
def label_stage(records, ctx):
    """Verified attempts in, one triplet per question with a passing attempt out, in order of each
    question's first attempt (attempts are grouped on disk, ``store.grouped``: memory holds one
    question's attempts).

    Failed questions stay in the verify output (a later run's ``solve.previous_attempts``); their
    counts, difficulty and pass@k go into this stage's manifest for the report.
    """
    cfg: LabelConfig = ctx.cfg
    n_verified = n_failed = sandbox_errors = 0
    difficulty_counts: dict[str, dict[str, int]] = {}
    acc = PassAtK(cfg.ks)
    groups = store.grouped(records, lambda a: a["question_id"],
                           ctx.stage_dir / f".group-{store.shard_tag(ctx.shard)}.sqlite")
    for attempts in groups:
        t = label_question(question_of(attempts[0]), attempts, cfg.trial_prefix)
        sandbox_errors += t["n_sandbox_errors"]
        count_difficulty(difficulty_counts, t)
        acc.add(t["subset"], t["gpt_pass_sequence"])
        if t["gpt_difficulty"] == "fail":
            n_failed += 1
            continue
        n_verified += 1
        t["question_id"] = triplet_id(t["subset"], t["question_id"])
        t.pop("n_sandbox_errors", None)
        yield t
    ctx.counts.update(
        questions=n_verified + n_failed, verified=n_verified, failed=n_failed,
        sandbox_error_attempts=sandbox_errors,
        difficulty=dict(sorted(difficulty_counts.items())),
        pass_at_k=acc.result(),
    )
