"""Parsing of raw solve outputs: solution code, pytest tests and ``test_info``.

A solve output is free text in which the model was asked to put a solution between
``<|Solution Begin|>``/``<|Solution End|>`` and tests between ``<|Test Begin|>``/``<|Test End|>``,
each as a fenced Python block.  Models drift from that format: other fence tags (``py``,
``Python3``, none), prose around the fence, a missing end marker at a length cut-off, or no markers
at all.  KodCode's own parser (``.replace('```python\\n', '').replace('```', '')``) keeps prose and
language tags in the code and so turns good attempts into syntax errors; this one takes the fenced
code, and falls back to the whole section with fence residue removed.

``test_info`` follows KodCode-V1: one entry per ``def`` anywhere in the solution (``ast.walk``
order, nested functions included), ``{function_name, parameter_list, function_declaration,
docstring}``, annotations dropped, and ``None`` when the solution defines a class (KodCode skips
those because the entry point is then a method).

Usage::

    from kodcode.synth.parse import parse_attempt, test_info
    parsed = parse_attempt(raw_text)   # ParsedAttempt(solution, test, error)
"""

from __future__ import annotations

import ast
import re
from dataclasses import dataclass

from kodcode.answers import fenced_blocks, is_python, strip_fence_residue
from kodcode.synth.runner import stage

_SECTION_NAMES = ("Solution", "Test")


@dataclass
class ParsedAttempt:
    solution: str | None
    test: str | None
    error: str = ""  # empty when both parts were found and parse as Python

    @property
    def ok(self) -> bool:
        return not self.error


def _marker(name: str, edge: str) -> re.Pattern:
    # Tolerates spacing/case drift such as "<| Solution Begin |>" or "<|solution begin|>".
    return re.compile(r"<\|\s*" + name + r"\s+" + edge + r"\s*\|>", re.IGNORECASE)


def extract_section(text: str, name: str) -> str | None:
    """Text between ``<|{name} Begin|>`` and its end marker (or the next marker / end of text)."""
    begin = _marker(name, "Begin")
    matches = list(begin.finditer(text))
    if not matches:
        return None
    # The prompt's own format description may be echoed first; the last section with content wins.
    for m in reversed(matches):
        rest = text[m.end():]
        end = _marker(name, "End").search(rest)
        nxt = re.search(r"<\|\s*\w+\s+(Begin|End)\s*\|>", rest)
        stop = end.start() if end else (nxt.start() if nxt else len(rest))
        body = rest[:stop].strip()
        if body:
            return body
    return ""


def extract_code(text: str) -> str:
    """Best Python code in ``text``: fenced python-ish blocks joined, else the text without fences."""
    blocks = fenced_blocks(text)
    py = [code for tag, code in blocks if tag in ("", "python", "py", "python3", "py3", "pytest")]
    for candidate in ("\n\n".join(py).strip(), "\n\n".join(c for _, c in blocks).strip()):
        if candidate and is_python(candidate):
            return candidate
    stripped = strip_fence_residue(text)
    if stripped and is_python(stripped):
        return stripped
    if blocks:
        # Several blocks that do not parse together: the longest that parses on its own.
        for code in sorted((c for _, c in blocks), key=len, reverse=True):
            if is_python(code):
                return code.strip()
    return strip_fence_residue(text)


def _looks_like_tests(code: str) -> bool:
    return bool(re.search(r"^\s*def test_\w*\s*\(", code, re.MULTILINE))


def parse_attempt(raw: str) -> ParsedAttempt:
    """Solution and tests from one raw solve output (see module docstring)."""
    sol_sec, test_sec = (extract_section(raw, n) for n in _SECTION_NAMES)
    if sol_sec is None and test_sec is None:
        # No markers at all: first non-test block is the solution, a block with test_ functions the tests.
        blocks = [c for _, c in fenced_blocks(raw)]
        tests = [c for c in blocks if _looks_like_tests(c)]
        sols = [c for c in blocks if not _looks_like_tests(c)]
        solution = sols[0].strip() if sols else None
        test = tests[0].strip() if tests else None
        if solution is None or test is None:
            return ParsedAttempt(solution, test, "no solution/test markers and no separable code blocks")
    else:
        solution = extract_code(sol_sec) if sol_sec else None
        test = extract_code(test_sec) if test_sec else None
    if not solution:
        return ParsedAttempt(solution, test, "no solution section")
    if not test:
        return ParsedAttempt(solution, test, "no test section")
    if not is_python(solution):
        return ParsedAttempt(solution, test, "solution is not valid Python")
    if not is_python(test):
        return ParsedAttempt(solution, test, "test is not valid Python")
    if not _looks_like_tests(test):
        return ParsedAttempt(solution, test, "test defines no test_ function")
    return ParsedAttempt(solution, test)


def _parameter_list(args: ast.arguments) -> str:
    """``(a, b=1, *args, k=2, **kw)`` without annotations (KodCode-V1 format)."""
    parts: list[str] = []
    positional = args.posonlyargs + args.args
    defaults = [None] * (len(positional) - len(args.defaults)) + list(args.defaults)
    for i, (a, d) in enumerate(zip(positional, defaults)):
        parts.append(a.arg if d is None else f"{a.arg}={ast.unparse(d)}")
        if args.posonlyargs and i == len(args.posonlyargs) - 1:
            parts.append("/")
    if args.vararg:
        parts.append("*" + args.vararg.arg)
    elif args.kwonlyargs:
        parts.append("*")
    for a, d in zip(args.kwonlyargs, args.kw_defaults):
        parts.append(a.arg if d is None else f"{a.arg}={ast.unparse(d)}")
    if args.kwarg:
        parts.append("**" + args.kwarg.arg)
    return "(" + ", ".join(parts) + ")"


def test_info(solution: str) -> list[dict] | None:
    """KodCode-V1 ``test_info`` for a solution; ``None`` for class-based or unparsable code."""
    if "class " in solution or "__init__" in solution:
        return None  # KodCode-V1 rule: methods have no module-level entry point
    try:
        tree = ast.parse(solution)
    except (SyntaxError, ValueError):
        return None
    info = []
    for node in ast.walk(tree):
        if isinstance(node, ast.FunctionDef):
            params = _parameter_list(node.args)
            info.append({
                "function_name": node.name,
                "parameter_list": params,
                "function_declaration": f"def {node.name}{params}:",
                "docstring": ast.get_docstring(node),
            })
    return info


test_info.__test__ = False  # its name starts with "test"; keep pytest from collecting it


def entry_point(info: list[dict] | None) -> str | None:
    """The function tests are expected to call: the first top-level ``def`` of ``test_info``."""
    return info[0]["function_name"] if info else None


def parse_record(attempt: dict) -> dict:
    """One attempt record with ``solution``, ``test``, ``test_info`` and ``parse_error`` added."""
    p = parse_attempt(attempt["raw"])
    return {**attempt, "solution": p.solution, "test": p.test,
            "test_info": test_info(p.solution) if p.ok else None, "parse_error": p.error}


@stage("parse", version="1", streams=True)
def parse_stage(records, ctx):
    """Attempts in, attempts with solution, test, test_info and parse_error out, one at a time."""
    errors: dict[str, int] = {}
    parsed = 0
    for a in records:
        a = a if "verdict" in a else parse_record(a)
        if a.get("parse_error"):
            errors[a["parse_error"]] = errors.get(a["parse_error"], 0) + 1
        else:
            parsed += 1
        yield a
    ctx.counts.update(parsed=parsed, parse_errors=errors)
