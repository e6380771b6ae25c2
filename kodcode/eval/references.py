"""Reference solutions for checking a scorer: canonical, broken and empty, per benchmark.

* canonical: what the official harness itself runs as ground truth (evalplus: ``prompt +
  canonical_solution``; BigCodeBench: ``complete_prompt + "\\n" + canonical_solution``);
* broken: the canonical program with the entry point re-bound, at the end, to a function that
  raises (a syntactically valid answer that imports fine and never returns);
* empty: ``""``.

A correct scorer gives the official verdicts on the first and 0 on the other two
(``bench/eval_groundtruth.py``).

    sols = evalplus_solutions(problems, "broken")   # task_id -> program
"""

from __future__ import annotations

KINDS = ("canonical", "broken", "empty")


def _break(program: str, entry_point: str) -> str:
    return (program.rstrip("\n") + f"\n\n\ndef {entry_point}(*args, **kwargs):\n"
            "    raise RuntimeError('deliberately broken reference solution')\n")


def evalplus_solutions(problems: list[dict], kind: str) -> dict[str, str]:
    out = {}
    for p in problems:
        canonical = p["prompt"] + p["canonical_solution"]
        out[p["task_id"]] = {"canonical": canonical, "broken": _break(canonical, p["entry_point"]),
                             "empty": ""}[kind]
    return out


def bigcodebench_solutions(tasks: list, kind: str) -> dict[str, str]:
    from kodcode.eval.bigcodebench import canonical_program

    out = {}
    for t in tasks:
        canonical = canonical_program(t)
        out[t.task_id] = {"canonical": canonical, "broken": _break(canonical, t.entry_point), "empty": ""}[kind]
    return out
