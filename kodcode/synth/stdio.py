"""Stdin/stdout rows (the KodCode-V1.1 addition): instruct questions rewritten as online-judge tasks.

An LLM gets a verified instruct triplet and writes three things: the question restated with an
Input and an Output section, a program (the reference function(s) unchanged plus a ``main()`` that
reads stdin and prints the answer, behind ``if __name__ == "__main__":``) and stdin/stdout test
cases taken from the unit tests.  The row's ``test`` column is not the LLM's: it is built here from
the cases (``stdio_test_code``), a pytest file that runs the program as a script on each case's
input and compares the printed tokens, so every consumer that prepends ``from solution import *``
(KodCode's convention) runs it unchanged.

A rewritten row is kept only when each of these holds:

* the reply has the three sections, the program parses and still defines the entry point that
  ``test_info`` names, the question does not define it, there are at least ``min_cases`` cases with
  distinct inputs, every expected output prints something, and not all outputs are the same (a
  program that prints a constant must not pass);
* executed in the sandbox: the program passes the triplet's original unit tests (its function is
  intact and importing it reads nothing), the program run on each case's stdin prints the expected
  tokens (compared here, in the trusted parent, never in the job), and the program passes the row's
  own generated ``test``.

The row takes ``version="V1.1"``, the question id suffix ``_S``, the program as ``solution``, the
instruct question as ``metadata.original_instruction``; difficulty labels are the triplet's.
"""

from __future__ import annotations

import ast
import json
import re

from kodcode.synth.parse import extract_code, is_python
from kodcode.synth.solve import render

VERSION = "V1.1"
SUFFIX = "_S"
# Appended to every rewritten question: the rows' tests import the program before they run it.
GUARD_NOTE = ('Write a complete Python program that reads from standard input and writes to standard output. '
              'Put the code that reads the input under `if __name__ == "__main__":`, so that importing the '
              'program reads nothing.')


def _section(raw: str, name: str) -> str | None:
    begins = list(re.finditer(rf"<\|\s*{name}\s+Begin\s*\|>", raw, re.IGNORECASE))
    if not begins:
        return None
    rest = raw[begins[-1].end():]
    end = re.search(rf"<\|\s*{name}\s+End\s*\|>", rest, re.IGNORECASE)
    return (rest[: end.start()] if end else rest).strip() or None


def stdio_messages(triplet: dict, template: str = "convert_stdio") -> list[dict]:
    return [{"role": "user", "content": render(template, question=triplet["question"],
                                               test=triplet["test"], solution=triplet["solution"])}]


def parse_stdio(raw: str) -> tuple[str | None, str | None, list | None]:
    """``(question, program, cases)`` from a reply; a part that is missing or unreadable is ``None``.

    ``cases`` is the decoded JSON list as written (``check_stdio`` says whether it is usable)."""
    question, program, cases = _section(raw, "Question"), _section(raw, "Solution"), _section(raw, "Test")
    if program is not None:
        program = extract_code(program).strip() or None
    if cases is not None:
        text = cases.strip()
        if text.startswith("```"):
            text = re.sub(r"^```\w*\s*|\s*```$", "", text)
        try:
            cases = json.loads(text)
        except ValueError:
            cases = None
    return question, program, cases


def _defined(code: str) -> set[str]:
    return {n.name for n in ast.walk(ast.parse(code)) if isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef))}


def _is_main_guard(node: ast.stmt) -> bool:
    if not isinstance(node, ast.If) or not isinstance(node.test, ast.Compare):
        return False
    names = [node.test.left, *node.test.comparators]
    return any(isinstance(n, ast.Name) and n.id == "__name__" for n in names) and any(
        isinstance(n, ast.Constant) and n.value == "__main__" for n in names)


def sabotaged(program: str, entry: str) -> str:
    """The program with ``entry`` replaced, just before its ``__main__`` block, by a function that
    raises: a program whose printed answers do not come from ``entry`` still prints them."""
    tree = ast.parse(program)
    at = next(i for i, n in enumerate(tree.body) if _is_main_guard(n))
    stub = ast.parse(f"def {entry}(*args, **kwargs):\n    raise RuntimeError('entry point replaced')\n").body[0]
    tree.body.insert(at, stub)
    return ast.unparse(tree)


def check_stdio(question: str | None, program: str | None, cases, triplet: dict, min_cases: int = 3) -> str | None:
    """Why a rewritten row is dropped before execution, or ``None`` when it may go on."""
    if not question:
        return "no <|Question Begin|> section"
    if not program:
        return "no <|Solution Begin|> section"
    if cases is None:
        return "no readable <|Test Begin|> JSON"
    if not is_python(program):
        return "program is not valid Python"
    info = triplet.get("test_info") or []
    entry = info[0]["function_name"] if info else None
    if entry and entry not in _defined(program):
        return f"program does not define the entry point {entry!r}"
    if not any(_is_main_guard(n) for n in ast.parse(program).body):
        return "program has no `if __name__ == \"__main__\":` block"
    if entry and re.search(rf"\bdef\s+{re.escape(entry)}\s*\(", question):
        return "leak: the question defines the entry point"
    if not isinstance(cases, list) or not all(
            isinstance(c, dict) and isinstance(c.get("input"), str) and isinstance(c.get("output"), str) for c in cases):
        return "test cases are not a list of {input, output} strings"
    if len({c["input"] for c in cases}) < min_cases:
        return f"fewer than {min_cases} distinct test inputs"
    if any(not c["output"].split() for c in cases):
        return "a test case expects no output"
    if len({tuple(c["output"].split()) for c in cases}) < 2:
        return "every test case expects the same output"
    return None


def same_output(printed: str, expected: str) -> bool:
    """The comparison of the rows' tests: the same whitespace-separated tokens."""
    return printed.split() == expected.split()


def stdio_test_code(cases: list[dict]) -> str:
    """The pytest file of a stdin/stdout row: the program run as a script on each input."""
    table = "".join(f"    ({c['input']!r}, {c['output']!r}),\n" for c in cases)
    return f'''import io
import runpy
import sys

import pytest

CASES = [
{table}]


def run_program(stdin_text):
    """Run the program as a script with ``stdin_text`` on stdin; return what it printed."""
    out = io.BytesIO()
    stdin = io.TextIOWrapper(io.BytesIO(stdin_text.encode()), encoding="utf-8")
    stdout = io.TextIOWrapper(out, encoding="utf-8", write_through=True)
    saved = sys.stdin, sys.stdout
    sys.stdin, sys.stdout = stdin, stdout
    try:
        runpy.run_module("solution", run_name="__main__")
    except SystemExit as stop:
        if stop.code not in (None, 0):
            raise
    finally:
        sys.stdin, sys.stdout = saved
        stdout.flush()
    return out.getvalue().decode("utf-8", "replace")


@pytest.mark.parametrize("stdin_text, expected", CASES)
def test_stdio(stdin_text, expected):
    assert run_program(stdin_text).split() == expected.split()
'''


def stdio_row(triplet: dict, question: str, program: str, cases: list[dict]) -> dict:
    """The V1.1 stdin/stdout row built from an instruct triplet and its accepted rewrite."""
    base = triplet["question_id"]
    qid = (base[:-2] if base.endswith("_I") else base) + SUFFIX
    metadata = dict(triplet.get("metadata") or {})
    metadata["original_instruction"] = triplet["question"]
    return {**triplet, "version": VERSION, "style": "instruct", "question_id": qid,
            "question": question.rstrip() + "\n\n" + GUARD_NOTE, "solution": program,
            "test": stdio_test_code(cases), "metadata": metadata}


def verify_stdio(rows: list[dict], executor) -> list[dict]:
    """Each candidate (a triplet with ``program`` and ``cases``): original tests, stdin cases, own test."""
    from kodcode.exec import PytestJob, StdioJob

    jobs = []
    for r in rows:
        qid = r["question_id"]
        jobs += [PytestJob(solution=r["program"], test=r["test"], id=qid + ":stdio-original"),
                 StdioJob(program=r["program"], inputs=[c["input"] for c in r["cases"]], id=qid + ":stdio-cases"),
                 PytestJob(solution=r["program"], test=stdio_test_code(r["cases"]), id=qid + ":stdio-test"),
                 StdioJob(program=sabotaged(r["program"], _entry(r)), inputs=[c["input"] for c in r["cases"]],
                          id=qid + ":stdio-sabotaged") if _entry(r) else None]
    verdicts = iter(executor.run([j for j in jobs if j is not None], progress=False))
    verdicts = [next(verdicts) if j is not None else None for j in jobs]
    out = []
    for i, r in enumerate(rows):
        original, cases, own, mutant = verdicts[4 * i: 4 * i + 4]
        if "sandbox_error" in (original.status, cases.status, own.status, mutant.status if mutant else ""):
            out.append({"ok": False, "reason": "sandbox_error"})
        elif not original.passed:
            out.append({"ok": False, "reason": f"program fails the original tests ({original.status})"})
        elif not _matches(cases, r["cases"]):
            out.append({"ok": False, "reason": "program's output differs from a test case"})
        elif not own.passed:
            out.append({"ok": False, "reason": f"program fails its stdio test file ({own.status})"})
        elif mutant is not None and _matches(mutant, r["cases"]):
            out.append({"ok": False, "reason": "answers do not come from the entry point (it prints them replaced)"})
        else:
            out.append({"ok": True, "reason": ""})
    return out


def _entry(row: dict) -> str | None:
    info = row.get("test_info") or []
    return info[0]["function_name"] if info else None


def _matches(verdict, cases: list[dict]) -> bool:
    """Every case ran to a clean exit and printed its expected tokens."""
    return len(verdict.outputs) == len(cases) and all(
        o.status == "ok" and same_output(o.stdout, c["output"]) for o, c in zip(verdict.outputs, cases))
