"""Style conversion: instruct questions rewritten as code-completion questions (paper §2.3).

An LLM gets the question, the tests and the solution and writes a completion task: imports, the
signature(s) the tests call, and a docstring with examples.  A converted row is kept only when:

* the completion parses as Python and declares the entry point ``test_info`` expects (otherwise a
  model answering it would write a function the tests never import);
* it does not leak the solution: no function in it has a body beyond its docstring and a
  placeholder (``pass``, ``...``, ``raise NotImplementedError``), and it is not the solution itself
  (KodCode only checked string equality);
* it is verified again: the unchanged solution still passes the tests, and the completion stub on
  its own does *not* pass them (a stub that passes means tests that test nothing, or a leak).

The converted row reuses the triplet (solution, tests, labels), takes ``style="complete"``, the
question id suffix ``_C``, and records the instruct question as ``metadata.original_instruction``.

Usage::

    from kodcode.synth.convert import convert_messages, parse_completion, leak_reason
"""

from __future__ import annotations

import ast
import re

from kodcode.synth.parse import extract_code, is_python
from kodcode.synth.solve import render

_BEGIN = re.compile(r"<\|\s*Completion\s+Begin\s*\|>", re.IGNORECASE)
_END = re.compile(r"<\|\s*Completion\s+End\s*\|>", re.IGNORECASE)


def convert_messages(triplet: dict, template: str = "convert_complete") -> list[dict]:
    return [{"role": "user", "content": render(template, question=triplet["question"],
                                               test=triplet["test"], solution=triplet["solution"])}]


def parse_completion(raw: str) -> str | None:
    """The completion code between the markers (fences, any tag, removed); ``None`` if absent."""
    begins = list(_BEGIN.finditer(raw))
    if not begins:
        return None
    rest = raw[begins[-1].end():]
    end = _END.search(rest)
    body = rest[: end.start()] if end else rest
    code = extract_code(body).strip()
    return code or None


def _is_placeholder(stmt: ast.stmt) -> bool:
    if isinstance(stmt, ast.Pass):
        return True
    if isinstance(stmt, ast.Expr) and isinstance(stmt.value, ast.Constant):
        return True  # docstring or a bare `...`
    if isinstance(stmt, ast.Raise):
        exc = stmt.exc
        name = getattr(exc, "id", None) or getattr(getattr(exc, "func", None), "id", None)
        return name == "NotImplementedError"
    return False


def _normalise(code: str) -> str:
    try:
        return ast.dump(ast.parse(code))
    except (SyntaxError, ValueError):
        return code.strip()


def leak_reason(completion: str, solution: str) -> str | None:
    """Why ``completion`` gives the solution away, or ``None`` when it does not."""
    if _normalise(completion) == _normalise(solution):
        return "completion equals the solution"
    tree = ast.parse(completion)
    for node in ast.walk(tree):
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            real = [s for s in node.body if not _is_placeholder(s)]
            if real:
                return f"function {node.name} has an implementation ({len(real)} statements)"
    return None


def check_completion(completion: str | None, triplet: dict) -> str | None:
    """Why a converted row is dropped before execution, or ``None`` when it may go on."""
    if not completion:
        return "no <|Completion Begin|> section"
    if not is_python(completion):
        return "completion is not valid Python"
    leak = leak_reason(completion, triplet["solution"])
    if leak:
        return f"leak: {leak}"
    info = triplet.get("test_info") or []
    declared = {n.name for n in ast.walk(ast.parse(completion)) if isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef))}
    if info and info[0]["function_name"] not in declared:
        return f"completion does not declare the entry point {info[0]['function_name']!r}"
    return None


def completion_row(triplet: dict, completion: str) -> dict:
    """The complete-style row built from an instruct triplet and its accepted completion."""
    base = triplet["question_id"]
    qid = base[:-2] + "_C" if base.endswith("_I") else base + "_C"
    metadata = dict(triplet.get("metadata") or {})
    metadata["original_instruction"] = triplet["question"]
    return {**triplet, "style": "complete", "question_id": qid, "question": completion, "metadata": metadata}
