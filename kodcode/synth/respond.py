"""Reasoning responses with test-based reject sampling (the SFT set; paper §2.3, reference A.8).

For every verified triplet a reasoning model (DeepSeek-R1 class) answers the raw question k times
(paper: 3; the user turn is the question alone, no system prompt).  Each response's program is the
one ``kodcode.answers.answer_program`` takes from it (the answer after ``</think>``, the block that
defines the entry point, KodCode's function-name repair), the same program the GRPO reward and
``python -m kodcode.train.score`` run; it runs against the triplet's tests through ``kodcode.exec``.
Every row keeps its correctness labels (``r1_pass_sequence``, ``r1_pass_trial_num``, ``r1_correctness`` as the
strings "True"/"False" like KodCode-V1-SFT-R1); rows with a passing response form the SFT train
split, the rest the ``incorrect`` split.

``reference_response: true`` (smoke runs only) makes each row's response 0 its own verified solution
in the reasoning format (``reference_response_text``) instead of a model sample: a tiny random model
never writes a passing response, so without it a smoke run's SFT split would be empty. That response
is still run against the tests like any other; real runs leave it false.

Usage (inside the runner; the pieces are pure and tested on their own)::

    from kodcode.synth.respond import label_responses, response_jobs
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from kodcode.answers import answer_program, expected_functions
from kodcode.synth import store
from kodcode.config import setting
from kodcode.synth.runner import stage


def respond_messages(question: str) -> list[dict]:
    """The reasoning model sees the raw question as the only user turn (KodCode step 3.3.1)."""
    return [{"role": "user", "content": question}]


def label_responses(triplet: dict, responses: list[dict]) -> dict:
    """Add the r1_* labels and the conversation to a triplet from its verified responses.

    ``responses``: dicts with ``index``, ``text``, ``code``, ``passed`` (sorted by index).
    The chosen response is the first passing one, else the first (KodCode kept the first too).
    """
    responses = sorted(responses, key=lambda r: r["index"])
    seq = [int(r["passed"]) for r in responses]
    chosen = next((r for r in responses if r["passed"]), responses[0] if responses else None)
    return {
        **triplet,
        "r1_pass_sequence": seq,
        "r1_pass_trial_num": sum(seq),
        "r1_correctness": "True" if any(seq) else "False",
        "r1_solution": (chosen or {}).get("code") or "",
        "r1_chosen_trial_key": f"trial_r1_{chosen['index']}" if chosen else None,
        "conversations": [
            {"from": "human", "value": triplet["question"]},
            {"from": "gpt", "value": (chosen or {}).get("text", "")},
        ],
    }


def reference_response_text(triplet: dict) -> str:
    """The row's own solution written as a reasoning response (``<think>`` then one python block)."""
    return ("<think>\nThe verified reference solution of this task.\n</think>\n"
            f"```python\n{triplet['solution'].strip()}\n```")


def response_jobs(triplet: dict, responses: list[dict]) -> list[tuple[int, Any]]:
    """(response index, PytestJob) for every response whose code could be extracted."""
    from kodcode.exec import PytestJob

    return [(r["index"], PytestJob(solution=r["code"], test=triplet["test"], id=f"{triplet['question_id']}:{r['index']}"))
            for r in responses if r.get("code")]


# -- stage -------------------------------------------------------------------------------------

@dataclass
class RespondConfig:
    enabled: bool = True
    k: int = setting(3, ge=1, why="responses per question")  # paper §2.3: 3 R1 responses per question
    temperature: float = 0.6  # DeepSeek-R1's recommended sampling temperature
    top_p: float = 0.95
    max_tokens: int = 16384  # KodCode step 3.3.2 default
    rename: bool = True  # KodCode --replace_function_name (default True)
    batch_size: int = setting(64, ge=1, why="rows per verification batch (checkpoint granularity)")
    reference_response: bool = False  # smoke runs: response 0 is the row's own solution (still verified)
    window: int = setting(256, ge=1, why="rows per generation call (k requests each); memory holds one window")


def _verify_responses(rows: list[dict], executor) -> list[list[dict]]:
    """Per row: its responses with ``passed`` (and the verdict status) after running the tests."""
    pairs = [(ri, idx, job) for ri, r in enumerate(rows) for idx, job in response_jobs(r, r["_responses"])]
    verdicts = executor.run([job for _, _, job in pairs], progress=False) if pairs else []
    status = {(ri, idx): v.status for (ri, idx, _), v in zip(pairs, verdicts)}
    return [[{**resp, "passed": status.get((ri, resp["index"])) == "pass",
              "status": status.get((ri, resp["index"]), "no_code")} for resp in r["_responses"]]
            for ri, r in enumerate(rows)]


def respond_window(window: list[dict], ctx, cfg: RespondConfig, counts: dict) -> list[dict]:
    """One window of triplets: k responses each, verified (checkpointed), labelled."""
    from kodcode.llm.types import GenerationRequest

    first = 1 if cfg.reference_response else 0  # response 0 is the reference, not sampled
    sampled = cfg.k - first
    requests = [GenerationRequest(messages=respond_messages(t["question"]), n=1, temperature=cfg.temperature,
                                  top_p=cfg.top_p, max_tokens=cfg.max_tokens, seed=ctx.seed + i)
                for t in window for i in range(first, cfg.k)]
    results = ctx.generate(requests) if requests else []
    rows = []
    for n, t in enumerate(window):
        responses = []
        for i in range(cfg.k):
            text = reference_response_text(t) if i < first else results[n * sampled + i - first].texts[0]
            ans = answer_program(text, expected_functions(t.get("test_info")), cfg.rename)
            counts["renamed"] += ans.renamed_from is not None
            responses.append({"index": i, "text": text, "code": ans.code, "reason": ans.reason})
        rows.append({**t, "_responses": responses})
    ctx.exec_used = True  # the sandbox decides these rows, even when their results come from the checkpoint
    checked = ctx.checkpoint_window(rows, lambda batch: _verify_responses(batch, ctx.executor()), key=lambda r: r["question_id"],
                                    batch_size=cfg.batch_size, desc="respond verify")
    out = [label_responses({k: v for k, v in r.items() if k != "_responses"}, resp) for r, resp in zip(rows, checked)]
    counts["responses"] += len(window) * cfg.k
    counts["correct_rows"] += sum(r["r1_correctness"] == "True" for r in out)
    counts["passing_responses"] += sum(r["r1_pass_trial_num"] for r in out)
    counts["no_code"] += sum(x["status"] == "no_code" for resp in checked for x in resp)
    counts["sandbox_errors"] += sum(x["status"] == "sandbox_error" for resp in checked for x in resp)
    return out


@stage("respond", schema=RespondConfig, version="2", streams=True)
def respond_stage(records, ctx):
    """Triplets in; the same rows with r1_* labels and ``conversations`` out (every row kept), a
    window of ``window`` rows at a time, so memory holds one window's responses."""
    cfg: RespondConfig = ctx.cfg
    if not cfg.enabled or not len(records):
        yield from records
        return
    counts = dict.fromkeys(("responses", "renamed", "correct_rows", "passing_responses", "no_code",
                            "sandbox_errors"), 0)
    for window in store.windows(records, cfg.window):
        yield from respond_window(window, ctx, cfg, counts)
    ctx.counts.update(counts)
