"""LiveCodeBench's grading rules, applied in the trusted parent to what the sandbox reported.

The sandbox only runs programs and reports what came out; this module decides right or wrong as
``lcb_runner/evaluation/testing_util.py`` (snapshot 28fef95, 2025-07-15) does:

* stdin/stdout: both outputs are stripped, split on ``\\n`` and each line stripped; the line counts
  must match; each line must be equal as text or, failing that, equal token-wise as ``Decimal``s
  (so ``1.0`` equals ``1`` and ``2.50`` equals ``2.5``, with no epsilon).  A comparison that raises
  (a signalling NaN token) is a runtime error, as it is there.
* call-based: the returned value (a top-level tuple counts as a list) must ``==`` the JSON-decoded
  expected output, with no float tolerance; nested tuples stay tuples (so they never equal lists),
  numpy scalars compare as their Python value, a numpy array of more than one element is a runtime
  error (its truth value is ambiguous) and a one-element array compares as its element.
* a problem passes only when every test passes; the first failing test decides the error code
  (``-2`` wrong answer, ``-3`` time limit, ``-4`` runtime error, ``-1`` no result from the run).

Two report shapes come in: ``grade_reports`` reads the per-test lines ``lcb_harness`` writes
(``semantics=official``), ``grade_stdio_outputs``/``grade_call_outputs`` read the engine's own
per-case outputs (``semantics=fixed``).  Nothing a program returns or prints makes these raise.

    from kodcode.eval.lcb_rules import grade_reports, grade_stdio_outputs, grade_call_outputs
"""

from __future__ import annotations

import base64
import json
from decimal import Decimal, InvalidOperation
from fractions import Fraction
from typing import Any

WRONG_ANSWER, TIME_LIMIT, RUNTIME_ERROR, NO_RESULT = -2, -3, -4, -1
_TRACEBACK = "Traceback (most recent call last)"


def stripped_lines(text: str) -> list[str]:
    return [line.strip() for line in text.strip().split("\n")]


def _decimals(line: str) -> list[Decimal] | None:
    try:
        return [Decimal(tok) for tok in line.split()]
    except (InvalidOperation, ValueError, TypeError):
        return None


def stdio_case_result(got: str, expected: str) -> bool | int:
    """True, or LCB's error code for one stdin/stdout test."""
    got_lines, exp_lines = stripped_lines(got), stripped_lines(expected)
    if len(got_lines) != len(exp_lines):
        return WRONG_ANSWER
    for g, e in zip(got_lines, exp_lines):
        if g == e:
            continue
        dg, de = _decimals(g), _decimals(e)
        if dg is None or de is None:
            return WRONG_ANSWER
        try:
            if dg != de:
                return WRONG_ANSWER
        except (InvalidOperation, ArithmeticError):  # sNaN: lcb_runner's comparison raises -> -4
            return RUNTIME_ERROR
    return True


def stdio_output_matches(got: str, expected: str) -> bool:
    """LCB's stdout rule as a yes/no."""
    return stdio_case_result(got, expected) is True


class Opaque:
    """A returned object the sandbox could only describe: equal to nothing.

    (lcb_runner would call the object's own ``__eq__``, which is how an always-equal object fakes a pass
    there; kodcode does not run the program's code in the trusted process, so such objects fail.)"""

    def __init__(self, type_name: str, text: str = ""):
        self.type_name, self.text = type_name, text

    def __eq__(self, other: object) -> bool:
        return False

    __hash__ = object.__hash__

    def __repr__(self) -> str:
        return f"<{self.type_name}: {self.text}>" if self.text else f"<{self.type_name}>"


class NdArray:
    """A numpy array's elements (``tolist()``) and size."""

    def __init__(self, items: Any, size: int):
        self.items, self.size = items, size

    def __repr__(self) -> str:
        return f"array({self.items!r})"


class NpScalar:
    """A numpy scalar: its Python value, and its float width when narrower than 64 bits."""

    def __init__(self, value: Any, bits: int | None):
        self.value, self.bits = value, bits

    def __repr__(self) -> str:
        return f"np.float{self.bits}({self.value!r})" if self.bits else f"np({self.value!r})"


class _Ambiguous(Exception):
    """numpy's "truth value of an array with more than one element is ambiguous"."""


def _hashable(v: Any) -> Any:
    return tuple(_hashable(x) for x in v) if isinstance(v, list) else v


def decode_value(v: Any) -> Any:
    """Undo the tagged encodings of returned values (``lcb_harness.encode_value`` and the engine's).

    Never raises: a malformed tag decodes to an ``Opaque`` value that equals nothing.
    """
    try:
        return _decode(v)
    except Exception as e:  # noqa: BLE001 - a sample's value must never stop the scorer
        return Opaque("undecodable", repr(e)[:100])


def _decode(v: Any) -> Any:
    if isinstance(v, list):
        return [_decode(x) for x in v]
    if not isinstance(v, dict):
        return v
    if "__tuple__" in v:
        return tuple(_decode(x) for x in v["__tuple__"])
    if "__int__" in v:
        return int(v["__int__"], 16)
    if "__decimal__" in v:
        return Decimal(v["__decimal__"])
    if "__fraction__" in v:
        n, d = v["__fraction__"]
        return Fraction(_decode(n), _decode(d))
    if "__complex__" in v:
        re_, im = v["__complex__"]
        return complex(float(re_), float(im))
    if "__npscalar__" in v:
        return NpScalar(_decode(v["__npscalar__"]), v.get("bits"))
    if "__ndarray__" in v:
        return NdArray(_decode(v["__ndarray__"]), int(v.get("size", 0)))
    if "__opaque__" in v:
        return Opaque(str(v["__opaque__"]))
    if "__dict__" in v:
        return {k: _decode(x) for k, x in v["__dict__"].items()}
    if "__pairs__" in v:
        return {_hashable(_decode(k)): _decode(x) for k, x in v["__pairs__"]}
    if "__set__" in v:
        return {_hashable(_decode(x)) for x in v["__set__"]}
    if "__bytes__" in v:
        return base64.b64decode(v["__bytes__"])
    if "__float__" in v:
        return float(v["__float__"])
    return Opaque(str(v.get("__type__", "?")), str(v.get("__repr__", "")))


def _flat(v: Any) -> list:
    return [y for x in v for y in _flat(x)] if isinstance(v, list) else [v]


def _narrow(x: Any, bits: int) -> Any:
    """A Python number as numpy casts it to a float of ``bits`` width (overflow gives inf)."""
    import struct

    if isinstance(x, bool) or not isinstance(x, (int, float)):
        return x
    fmt = "<f" if bits == 32 else "<e"
    try:
        return struct.unpack(fmt, struct.pack(fmt, float(x)))[0]
    except (OverflowError, struct.error):
        return float("inf") if x > 0 else float("-inf")


def _scalar_eq(value: Any, bits: int | None, expected: Any) -> bool:
    if isinstance(expected, list):  # a numpy value against a list broadcasts; the result's truth is tested
        flat = _flat(expected)
        if len(flat) != 1:
            raise _Ambiguous
        expected = flat[0]
    if isinstance(expected, (dict, str)) or expected is None:
        return False
    return bool(value == (_narrow(expected, bits) if bits else expected))


def lcb_equal(got: Any, expected: Any) -> bool:
    """``got == expected`` as Python evaluates it in lcb_runner's process, numpy values included."""
    if isinstance(got, NpScalar):
        return _scalar_eq(got.value, got.bits, expected)
    if isinstance(got, NdArray):
        if got.size != 1:
            raise _Ambiguous
        return _scalar_eq(_flat(got.items)[0], None, expected)
    if type(got) is list and type(expected) is list:
        return len(got) == len(expected) and all(lcb_equal(a, b) for a, b in zip(got, expected))
    if type(got) is dict and type(expected) is dict:
        return got.keys() == expected.keys() and all(lcb_equal(got[k], expected[k]) for k in got)
    return bool(got == expected)


def call_case_result(got: Any, expected: Any) -> bool | int:
    """True, or LCB's error code, for one call-based test (``got`` already decoded)."""
    if isinstance(got, tuple):
        got = list(got)
    try:
        return True if lcb_equal(got, expected) else WRONG_ANSWER
    except Exception:  # noqa: BLE001 - lcb_runner's own comparison raising counts as a runtime error
        return RUNTIME_ERROR


def call_output_matches(got: Any, expected: Any) -> bool:
    """LCB's call-based rule as a yes/no."""
    return call_case_result(got, expected) is True


def parse_expected(text: str) -> Any:
    """JSON-decode an expected call-based output; ints of any length (lcb_runner raises the limit)."""
    return json.loads(text, parse_int=lambda s: int(Decimal(s)))


def parse_reports(stdout: str, nonce: str) -> list[dict]:
    """The report lines ``lcb_harness`` wrote (lines that start with the job's nonce)."""
    out = []
    for line in stdout.split("\n"):
        if line.startswith(nonce):
            try:
                rec = json.loads(line[len(nonce):])
            except ValueError:
                continue
            if isinstance(rec, dict):
                out.append(rec)
    return out


MAX_STDOUT_BYTES = 256 * 1024 * 1024


def report_stdout(rec: dict) -> str | None:
    """A stdio report's captured output (inflated when sent compressed); None when unreadable or too big."""
    if "stdout_z" not in rec:
        out = rec.get("stdout", "")
        return out if isinstance(out, str) else None
    import zlib

    try:
        z = zlib.decompressobj()
        raw = z.decompress(base64.b64decode(rec["stdout_z"]), MAX_STDOUT_BYTES)
        if z.unconsumed_tail:
            return None
        return raw.decode("utf-8", "surrogatepass")
    except Exception:  # noqa: BLE001 - a forged or broken report is that sample's failure
        return None


def grade_reports(reports: list[dict], expected: list[Any], stdio: bool) -> tuple[bool, dict]:
    """Grade ``lcb_harness`` reports in test order; stop at the first failure like lcb_runner.

    ``expected``: output strings (stdio) or JSON-decoded values (call).  A missing report means the
    harness did not finish (the run was killed or crashed): lcb_runner then has no result at all.
    """
    by_case: dict[int, dict] = {}
    for rec in reports:
        if "abort" in rec:
            return False, {"results": [RUNTIME_ERROR], "error_code": RUNTIME_ERROR, "case": rec.get("case", 0),
                           "message": f"runtime error: {_trunc(rec['abort'])}"}
        if isinstance(rec.get("case"), int):
            by_case.setdefault(rec["case"], rec)
    results: list[Any] = []
    for i, exp in enumerate(expected):
        rec = by_case.get(i)
        if rec is None:
            return False, {"results": [NO_RESULT] * len(expected), "error_code": NO_RESULT, "case": i,
                           "message": "no result: the run ended before this test reported"}
        status = rec.get("status")
        if status != "ok":
            code = TIME_LIMIT if status == "timeout" else RUNTIME_ERROR
            results.append(code)
            return False, {"results": results, "error_code": code, "case": i, "message": _trunc(rec.get("error", ""))}
        failed = _judge_case(results, i, report_stdout(rec) if stdio else decode_value(rec.get("value")), exp, stdio)
        if failed:
            return False, failed
    return True, {"results": results}


def _judge_case(results: list, i: int, got: Any, exp: Any, stdio: bool) -> dict | None:
    """Compare test ``i``'s output with the expected one and record the result; the failure, or None on
    a pass (a stdio report whose output cannot be read is a wrong answer)."""
    if stdio and got is None:
        res: bool | int = WRONG_ANSWER
    else:
        res = stdio_case_result(got, exp) if stdio else call_case_result(got, exp)
    results.append(res)
    if res is True:
        return None
    return {"results": results, "error_code": res, "case": i,
            "message": f"wrong answer: got {_trunc(got)!r}, expected {_trunc(exp)!r}"}


def _case_failure(out: Any, stdio: bool) -> int | None:
    """LCB error code for an engine case that did not run to completion, or None when it is gradable."""
    status = getattr(out, "status", "error")
    if status == "ok":
        return None
    if status == "timeout":
        return TIME_LIMIT
    if stdio and status == "error" and _TRACEBACK not in (getattr(out, "stderr", "") or ""):
        # sys.exit(n) without a traceback: graded on what was printed, as lcb_runner does.
        return None
    return RUNTIME_ERROR


def grade_stdio_outputs(outputs: list, expected: list[str]) -> tuple[bool, dict]:
    """Grade the engine's stdio cases in order; stop at the first non-pass."""
    return _grade(outputs, expected, stdio=True)


def grade_call_outputs(outputs: list, expected: list[Any]) -> tuple[bool, dict]:
    """Grade the engine's call-based cases (``expected`` already JSON-decoded) in order."""
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
        failed = _judge_case(results, i, (out.stdout or "") if stdio else decode_value(out.value), exp, stdio)
        if failed:
            return False, failed
    return True, {"results": results}


def _msg(out: Any) -> str:
    return _trunc(f"{getattr(out, 'status', '?')}: {getattr(out, 'message', '')} {getattr(out, 'stderr', '')}")


def _trunc(value: Any, n: int = 300) -> str:
    try:
        s = value if isinstance(value, str) else repr(value)
    except Exception:  # noqa: BLE001
        s = "<unrepresentable>"
    return s if len(s) <= n else s[: n // 2] + "...(truncated)..." + s[-n // 2:]


# SkyThought's rules (``prompt=skythought``): skythought/evals/tasks/livecodebench/livecodebench_util.py
# (4bb8f3e), graded on ``sky_harness`` reports.  docs/eval.md has the table of how they differ from the above.
SKY_INT_DIGITS = 4300  # its scorer keeps Python's default str->int limit, so a longer expected int is unreadable


def sky_expected_stdio(text: str) -> str:
    """``prepare_test_input_output_std``: stripped, and a trailing ``-`` cut off with what precedes it."""
    out = text.strip()
    if out.endswith("-"):
        out = out[: out.rfind("-")].rstrip()
    return out


def _sky_int(s: str) -> int:
    if len(s.lstrip("-")) > SKY_INT_DIGITS:
        raise ValueError(f"an expected int of {len(s)} digits exceeds Python's default limit of {SKY_INT_DIGITS}")
    return int(s)


def sky_expected_call(text: str) -> Any:
    """The stripped expected output, JSON-decoded when it is JSON, else the stripped text itself.

    Raises ValueError for an int longer than the default digit limit (SkyThought's test then fails)."""
    out = text.strip()
    try:
        return json.loads(out, parse_int=_sky_int)
    except json.JSONDecodeError:
        return out


def sky_call_equal(got: Any, expected: Any) -> bool:
    """``not (got != expected)`` as SkyThought's process evaluates it: no tuple becomes a list."""
    return lcb_equal(got, expected)


def grade_sky_reports(reports: list[dict], expected: list[str], stdio: bool) -> tuple[bool, dict]:
    """Grade ``sky_harness`` reports in test order against the raw expected texts, SkyThought's way.

    A test passes when it ran to the end and its stripped output equals ``sky_expected_stdio`` of the
    expected text (stdio) or its value equals ``sky_expected_call`` of it (call); the first test that
    does not pass, or has no report (the run was killed or ended), fails the problem.  ``results``
    mirrors SkyThought's per-test ``details``: True up to the failing test, False from there on (its
    runner stops at the first failure and fills the tests left with failures).
    """
    n = len(expected)
    by_case: dict[int, dict] = {}
    for rec in reports:
        if "abort" in rec:
            k = rec.get("case", 0) if isinstance(rec.get("case"), int) else 0
            return _sky_fail(k, n, f"run ended: {_trunc(rec['abort'])}")
        if isinstance(rec.get("case"), int):
            by_case.setdefault(rec["case"], rec)
    for i, text in enumerate(expected):
        rec = by_case.get(i)
        if rec is None:
            return _sky_fail(i, n, "no result: the run ended before this test reported")
        if rec.get("status") != "ok":
            return _sky_fail(i, n, f"error: {_trunc(rec.get('error', ''))}")
        try:
            if stdio:
                got, exp = report_stdout(rec), sky_expected_stdio(text)
                ok = got is not None and got.strip() == exp
            else:
                got, exp = decode_value(rec.get("value")), sky_expected_call(text)
                ok = sky_call_equal(got, exp)
        except Exception as e:  # noqa: BLE001 - SkyThought's comparison raising fails the test there too
            return _sky_fail(i, n, f"comparison raised: {_trunc(repr(e))}")
        if not ok:
            return _sky_fail(i, n, f"wrong answer: got {_trunc(_safe_repr(got))}, expected {_trunc(repr(exp))}")
    return True, {"results": [True] * n}


def _safe_repr(v: Any) -> str:
    try:
        return repr(v)
    except Exception:  # noqa: BLE001
        return "<unrepresentable>"


def _sky_fail(i: int, n: int, message: str) -> tuple[bool, dict]:
    return False, {"results": [True] * i + [False] * (n - i), "case": i, "message": message}
