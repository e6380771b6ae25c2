"""LiveCodeBench code generation (release_v5 by default): data, official prompt, extraction, scoring.

Data comes from a local JSONL / JSONL.gz / Parquet export of ``livecodebench/code_generation_lite``
(or its parquet mirror ``lighteval/code_generation_lite``), keeping the raw fields; or, when no file
is given, from the hub (needs network; see ``load_problems``).  Problems are filtered by contest date
(the release window) and difficulty.  Prompts follow LCB's generic chat format
(``lcb_runner/prompts/code_generation.py``, OpenAIChat style: system + user message); the answer is
the text between the last two fence lines (``extract_code``).  Each problem becomes one
``StdioJob`` or ``CallJob`` over its public + private tests (as LCB's ``get_evaluation_sample``
does) and is graded in the parent by ``lcb_rules``.  Per-test time limit: 6 s (LCB's ``--timeout``).

Private tests are stored compressed: base64 -> zlib -> pickle -> JSON text.  Unpickling runs code
chosen by whoever wrote the bytes, so ``decode_private_tests`` uses an unpickler that refuses every
global: the official payload is a pickled ``str`` (no globals needed), anything else is rejected.
"""

from __future__ import annotations

import base64
import io
import json
import pickle
import zlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from kodcode.eval.lcb_rules import grade_call_outputs, grade_stdio_outputs
from kodcode.rows import read_rows

DIFFICULTIES = ("easy", "medium", "hard")

# Release windows (LCB README): release_v5 covers contests 2023-05-01 .. 2025-01-31, 880 problems.
RELEASE_WINDOWS = {
    "release_v1": ("2023-05-01", "2024-03-31"),
    "release_v2": ("2023-05-01", "2024-05-31"),
    "release_v3": ("2023-05-01", "2024-07-31"),
    "release_v4": ("2023-05-01", "2024-09-30"),
    "release_v5": ("2023-05-01", "2025-01-31"),
    "release_v6": ("2023-05-01", "2025-04-30"),
}
# Files of the hub repo per release (each release adds one file; layout as the loading script lists it).
_HUB_FILES = ["test.jsonl", "test2.jsonl", "test3.jsonl", "test4.jsonl", "test5.jsonl", "test6.jsonl"]

# lcb_runner/prompts/code_generation.py (PromptConstants, get_generic_question_template_answer)
SYSTEM_MESSAGE = (
    "You are an expert Python programmer. You will be given a question (problem specification) and will "
    "generate a correct Python program that matches the specification and passes all tests."
)
FORMAT_WITH_STARTER = (
    "You will use the following starter code to write the solution to the problem and enclose your code "
    "within delimiters."
)
FORMAT_WITHOUT_STARTER = (
    "Read the inputs from stdin solve the problem and write the answer to stdout (do not directly test on "
    "the sample inputs). Enclose your code within delimiters as follows. Ensure that when the python program "
    "runs, it reads the inputs, runs the algorithm and writes output to STDOUT."
)
# SkyThought's templates (what the KodCode paper's LCB numbers were produced with, §4.1).
SKYTHOUGHT_STDIN = (
    "Generate an executable Python function generated from the given prompt. The function should take stdin "
    "as input and print the output. Simply call the function after the definition. {prompt}"
)
SKYTHOUGHT_CALL = (
    "Generate an executable Python function generated from the given prompt. Return the function body "
    "without invoking it at the final solution. {prompt}"
)

# testing_util.import_string: every graded program runs after these imports, so solutions that use
# e.g. ``List`` or ``stdin`` without importing them pass, as they do on the official harness.
IMPORT_PRELUDE = (
    "from string import *\nfrom re import *\nfrom datetime import *\nfrom collections import *\n"
    "from heapq import *\nfrom bisect import *\nfrom copy import *\nfrom math import *\nfrom random import *\n"
    "from statistics import *\nfrom itertools import *\nfrom functools import *\nfrom operator import *\n"
    "from io import *\nfrom sys import *\nfrom json import *\nfrom builtins import *\nfrom typing import *\n"
    "import string\nimport re\nimport datetime\nimport collections\nimport heapq\nimport bisect\nimport copy\n"
    "import math\nimport random\nimport statistics\nimport itertools\nimport functools\nimport operator\n"
    "import io\nimport sys\nimport json\nsys.setrecursionlimit(50000)\n"
)
TIMEOUT_S = 6.0  # lcb_runner/runner/parser.py --timeout


@dataclass
class Problem:
    question_id: str
    question_title: str
    question_content: str
    platform: str
    contest_date: str
    starter_code: str
    difficulty: str
    tests: list[dict] = field(default_factory=list)  # public + private: {input, output, testtype}
    fn_name: str | None = None

    @property
    def is_stdin(self) -> bool:
        return self.fn_name is None


class _NoGlobalsUnpickler(pickle.Unpickler):
    def find_class(self, module: str, name: str):  # pragma: no cover - only hostile payloads get here
        raise pickle.UnpicklingError(
            f"private_test_cases payload references {module}.{name}; the official format is a pickled "
            "JSON string, so any global is refused (unpickling untrusted data can run code)"
        )


def decode_private_tests(blob: str) -> list[dict]:
    """Plain JSON, or base64 -> zlib -> pickle(str) -> JSON as LCB stores it."""
    try:
        return json.loads(blob)
    except (json.JSONDecodeError, TypeError):
        pass
    raw = zlib.decompress(base64.b64decode(blob.encode("utf-8")))
    text = _NoGlobalsUnpickler(io.BytesIO(raw)).load()
    if not isinstance(text, str):
        raise TypeError(f"private_test_cases decoded to {type(text).__name__}, expected the JSON text of a test list")
    return json.loads(text)


def encode_private_tests(tests: list[dict]) -> str:
    """The inverse of ``decode_private_tests`` (fixtures and tests write LCB's compressed form)."""
    return base64.b64encode(zlib.compress(pickle.dumps(json.dumps(tests)))).decode("utf-8")


def problem_from_row(row: dict) -> Problem:
    public = row.get("public_test_cases") or "[]"
    public = json.loads(public) if isinstance(public, str) else list(public)
    private = row.get("private_test_cases") or "[]"
    private = decode_private_tests(private) if isinstance(private, str) else list(private)
    meta = row.get("metadata") or "{}"
    meta = json.loads(meta) if isinstance(meta, str) else dict(meta)
    date = row["contest_date"]
    return Problem(
        question_id=str(row["question_id"]),
        question_title=row.get("question_title", ""),
        question_content=row["question_content"],
        platform=row.get("platform", ""),
        contest_date=date.isoformat() if hasattr(date, "isoformat") else str(date),
        starter_code=row.get("starter_code") or "",
        difficulty=str(row["difficulty"]).lower(),
        tests=list(public) + list(private),
        fn_name=meta.get("func_name"),
    )


def _read_rows(path: Path) -> list[dict]:
    return list(read_rows(path))


def _hub_rows(release: str) -> list[dict]:
    from huggingface_hub import hf_hub_download  # network; offline machines pass a local file

    n = int(release.rsplit("v", 1)[1])
    rows: list[dict] = []
    for fname in _HUB_FILES[:n]:
        local = hf_hub_download("livecodebench/code_generation_lite", fname, repo_type="dataset")
        rows.extend(_read_rows(Path(local)))
    return rows


def load_problems(path: str | None, release: str = "release_v5", start_date: str | None = None,
                  end_date: str | None = None, difficulties: list[str] | None = None) -> list[Problem]:
    """Problems in the release window (overridable), sorted by id; ``path`` None means the hub."""
    rows = _read_rows(Path(path)) if path else _hub_rows(release)
    lo, hi = RELEASE_WINDOWS.get(release, (None, None))
    lo, hi = start_date or lo, end_date or hi
    keep = set(difficulties or DIFFICULTIES)
    out = []
    for row in rows:
        p = problem_from_row(row)
        day = p.contest_date[:10]
        if (lo and day < lo) or (hi and day > hi) or p.difficulty not in keep:
            continue
        out.append(p)
    return sorted(out, key=lambda p: (p.contest_date, p.question_id))


def make_messages(p: Problem, style: str = "lcb") -> list[dict]:
    """Official LCB chat prompt (``style=lcb``) or SkyThought's (``style=skythought``)."""
    if style == "skythought":
        tmpl = SKYTHOUGHT_STDIN if p.is_stdin else SKYTHOUGHT_CALL
        return [{"role": "user", "content": tmpl.format(prompt=p.question_content)}]
    text = f"### Question:\n{p.question_content}\n\n"
    if p.starter_code:
        text += f"### Format: {FORMAT_WITH_STARTER}\n```python\n{p.starter_code}\n```\n\n"
    else:
        text += f"### Format: {FORMAT_WITHOUT_STARTER}\n```python\n# YOUR CODE HERE\n```\n\n"
    text += "### Answer: (use the provided format with backticks)\n\n"
    return [{"role": "system", "content": SYSTEM_MESSAGE}, {"role": "user", "content": text}]


def extract_code(text: str) -> str:
    """LCB's ``extract_code``: the lines between the last two lines containing a fence, else ''."""
    lines = text.split("\n")
    fences = [i for i, line in enumerate(lines) if "```" in line]
    if len(fences) < 2:
        return ""
    return "\n".join(lines[fences[-2] + 1: fences[-1]])


def make_job(p: Problem, code: str, timeout_s: float = TIMEOUT_S, job_id: str | None = None):
    """One sandbox job running ``code`` on every test of ``p`` (stdio or call-based)."""
    from kodcode.exec import CallJob, StdioJob

    program = IMPORT_PRELUDE + "\n" + code
    if p.is_stdin:
        return StdioJob(program=program, inputs=[t["input"] for t in p.tests], id=job_id, timeout_s=timeout_s)
    # LCB instantiates Solution when the code defines it, else calls the module-level function.
    fn = f"Solution.{p.fn_name}" if "class Solution" in code else p.fn_name
    args = [[json.loads(line) for line in t["input"].split("\n")] for t in p.tests]
    return CallJob(program=program, fn_name=fn, args_list=args, id=job_id, timeout_s=timeout_s)


def grade(p: Problem, verdict: Any) -> dict:
    """The per-sample record for one executed job: status pass | fail | sandbox_error and LCB detail."""
    if verdict.status == "sandbox_error":
        return {"status": "sandbox_error", "passed": None, "detail": {"message": verdict.message}}
    if p.is_stdin:
        ok, detail = grade_stdio_outputs(verdict.outputs, [t["output"] for t in p.tests])
    else:
        ok, detail = grade_call_outputs(verdict.outputs, [json.loads(t["output"]) for t in p.tests])
    if not ok and not verdict.outputs and verdict.status != "pass":
        detail["message"] = f"{verdict.status}: {verdict.message} {verdict.stderr[-300:]}".strip()
    return {"status": "pass" if ok else "fail", "passed": ok, "detail": detail}


def score(problems: list[Problem], samples: dict[str, str], executor, timeout_s: float = TIMEOUT_S) -> list[dict]:
    """Grade one extracted program per problem (``samples``: question_id -> code); records in problem order.

    An empty program (nothing extracted) is a fail without running; a sandbox error stays one.
    """
    records: list[dict] = [{} for _ in problems]
    jobs, where = [], []
    for i, p in enumerate(problems):
        code = samples.get(p.question_id, "")
        base = {"task_id": p.question_id, "difficulty": p.difficulty, "solution": code}
        if not code.strip() or not p.tests:
            msg = "no code extracted" if not code.strip() else "problem has no tests"
            records[i] = {**base, "status": "fail", "passed": False, "detail": {"message": msg}}
            continue
        jobs.append(make_job(p, code, timeout_s=timeout_s, job_id=p.question_id))
        where.append(i)
    verdicts = executor.run(jobs, progress=False) if jobs else []
    for i, v in zip(where, verdicts):
        p = problems[i]
        records[i] = {"task_id": p.question_id, "difficulty": p.difficulty, "solution": samples[p.question_id],
                      **grade(p, v)}
    return records


def pass_at_1(records: list[dict]) -> dict[str, float]:
    """LCB's compute_scores: mean over problems, overall and per difficulty (percent).

    Sandbox errors are left out of the denominator and counted, never scored as wrong answers.
    """
    out: dict[str, float] = {}
    for name in ("all", *DIFFICULTIES):
        rs = [r for r in records if (name == "all" or r["difficulty"] == name) and r["status"] != "sandbox_error"]
        out[name] = 100.0 * sum(bool(r["passed"]) for r in rs) / len(rs) if rs else float("nan")
    out["sandbox_errors"] = float(sum(r["status"] == "sandbox_error" for r in records))
    return out
