"""LiveCodeBench's grading rules, applied in the trusted parent to what the sandbox returned.

The sandbox (``kodcode.exec``) only runs programs and reports what came out (``CaseOutput``); this
module decides right or wrong exactly as LiveCodeBench's ``lcb_runner/evaluation/testing_util.py``
does (snapshot 28fef95, 2025-07-15):

* stdin/stdout: both outputs are stripped, split on ``\\n`` and each line stripped; the line counts
  must match; each line must be equal as text or, failing that, equal token-wise as ``Decimal``s
  (so ``1.0`` equals ``1`` and ``2.50`` equals ``2.5``, with no epsilon).
* call-based: the returned value (a top-level tuple counts as a list) must ``==`` the JSON-decoded
  expected output, with no float tolerance.
* a problem passes only when every test passes; the first failing test decides the error code
  (LCB's ``-2`` wrong answer, ``-3`` time limit, ``-4`` runtime error).

    from kodcode.eval.lcb_rules import grade_stdio_outputs, grade_call_outputs
    ok, detail = grade_stdio_outputs(verdict.outputs, expected_outputs)

Documented differences from the official harness (all in the direction of running programs the way
a judge does, none changes a verdict on well-behaved code):
* programs run as real processes with real pipes, so ``sys.stdin.buffer``, ``sys.stdout.buffer``
  and ``open(0)`` work (LCB's in-process capture had no ``stdout.buffer``);
* call-based return values cross the sandbox boundary in the engine's tagged encoding
  (``decode_value``), so nested tuples become lists before the comparison (LCB turns only a
  top-level tuple into a list); objects of other types arrive as descriptions that equal nothing
  (LCB would call their ``__eq__``, which is how an always-equal object fakes a pass there);
* a stdio program that ends with ``sys.exit(n)`` has its output graded like LCB (which swallows
  ``SystemExit``); one that dies with a traceback is a runtime error.
"""

from __future__ import annotations

from decimal import Decimal, InvalidOperation
from typing import Any

WRONG_ANSWER, TIME_LIMIT, RUNTIME_ERROR = -2, -3, -4
_TRACEBACK = "Traceback (most recent call last)"


def stripped_lines(text: str) -> list[str]:
    return [line.strip() for line in text.strip().split("\n")]


def _decimals(line: str) -> list[Decimal] | None:
    try:
        return [Decimal(tok) for tok in line.split()]
    except (InvalidOperation, ValueError):
        return None


def stdio_output_matches(got: str, expected: str) -> bool:
    """LCB's stdout rule: same stripped lines, each equal as text or as a row of Decimals."""
    got_lines, exp_lines = stripped_lines(got), stripped_lines(expected)
    if len(got_lines) != len(exp_lines):
        return False
    for g, e in zip(got_lines, exp_lines):
        if g == e:
            continue
        dg, de = _decimals(g), _decimals(e)
        if dg is None or de is None or dg != de:
            return False
    return True


class Opaque:
    """A returned object the sandbox could only describe (``__repr__``/``__type__``): equal to nothing."""

    def __init__(self, type_name: str, text: str):
        self.type_name, self.text = type_name, text

    def __eq__(self, other: object) -> bool:
        return False

    __hash__ = object.__hash__

    def __repr__(self) -> str:
        return f"<{self.type_name}: {self.text}>"


def _hashable(v: Any) -> Any:
    return tuple(_hashable(x) for x in v) if isinstance(v, list) else v


def decode_value(v: Any) -> Any:
    """Undo the engine's tagged encoding of call results (``kodcode/exec`` ``_encode``) in the parent.

    Tuples arrive as lists (the engine encodes both as lists); dicts, sets, bytes and non-finite
    floats are tagged; anything else arrives as an ``Opaque`` description that equals nothing.
    """
    if isinstance(v, list):
        return [decode_value(x) for x in v]
    if not isinstance(v, dict):
        return v
    if "__dict__" in v:
        return {k: decode_value(x) for k, x in v["__dict__"].items()}
    if "__pairs__" in v:
        return {_hashable(decode_value(k)): decode_value(x) for k, x in v["__pairs__"]}
    if "__set__" in v:
        return {_hashable(decode_value(x)) for x in v["__set__"]}
    if "__bytes__" in v:
        import base64

        return base64.b64decode(v["__bytes__"])
    if "__float__" in v:
        return float(v["__float__"])
    return Opaque(str(v.get("__type__", "?")), str(v.get("__repr__", "")))


def call_output_matches(got: Any, expected: Any) -> bool:
    """LCB's call-based rule: a tuple answer counts as a list, then plain ``==``."""
    if isinstance(got, tuple):
        got = list(got)
    try:
        return bool(got == expected)
    except Exception:  # noqa: BLE001 - a value whose __eq__ raises is not an answer
        return False


def _case_failure(out: Any, stdio: bool) -> int | None:
    """LCB error code for a case that did not run to completion, or None when it is gradable."""
    status = getattr(out, "status", "error")
    if status == "ok":
        return None
    if status == "timeout":
        return TIME_LIMIT
    if stdio and status == "error" and _TRACEBACK not in (getattr(out, "stderr", "") or ""):
        # sys.exit(n) without a traceback: LCB swallows SystemExit and grades what was printed.
        return None
    return RUNTIME_ERROR


def grade_stdio_outputs(outputs: list, expected: list[str]) -> tuple[bool, dict]:
    """Grade stdio cases in order; stop at the first non-pass like LCB (``results`` as LCB lists them)."""
    return _grade(outputs, expected, stdio=True)


def grade_call_outputs(outputs: list, expected: list[Any]) -> tuple[bool, dict]:
    """Grade call-based cases (``expected`` already JSON-decoded) in order, LCB style."""
    return _grade(outputs, expected, stdio=False)


def _grade(outputs: list, expected: list[Any], stdio: bool) -> tuple[bool, dict]:
    results: list[Any] = []
    for i, exp in enumerate(expected):
        if i >= len(outputs):
            results.append(RUNTIME_ERROR)
            return False, {"results": results, "error_code": RUNTIME_ERROR, "case": i, "message": "case not run"}
        out = outputs[i]
        code = _case_failure(out, stdio=stdio)
        if code is not None:
            results.append(code)
            return False, {"results": results, "error_code": code, "case": i, "message": _msg(out)}
        got = (out.stdout or "") if stdio else out.value
        ok = stdio_output_matches(got, exp) if stdio else call_output_matches(decode_value(got), exp)
        if not ok:
            results.append(WRONG_ANSWER)
            return False, {"results": results, "error_code": WRONG_ANSWER, "case": i,
                           "message": f"wrong answer: got {_trunc(got)!r}, expected {_trunc(exp)!r}"}
        results.append(True)
    return True, {"results": results}


def _msg(out: Any) -> str:
    return _trunc(f"{getattr(out, 'status', '?')}: {getattr(out, 'message', '')} {getattr(out, 'stderr', '')}")


def _trunc(value: Any, n: int = 300) -> str:
    s = value if isinstance(value, str) else repr(value)
    return s if len(s) <= n else s[: n // 2] + "...(truncated)..." + s[-n // 2:]
