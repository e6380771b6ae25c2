"""evalplus 0.3.1's verdict rules, applied in the trusted parent to what a sandbox job reported.

evalplus compares inside the process that runs the model's code
(``evalplus/eval/__init__.py::unsafe_execute``), where the solution could rewrite the comparison.
Here the job (``evalplus_harness``) only reports return values; ``decode`` rebuilds them as Python
and numpy objects, and ``judge_phase`` runs evalplus's loop over them with the expected outputs
and time limits the parent holds:

* ``exact_match = out == exp``, then the special oracles (MBPP: ``are_equivalent``, ``sum_div``,
  ``surface_Area``, ``digit_distance_nums``, the set-equality and not-None tasks; HumanEval:
  ``find_zero``, whose ``continue`` skips the bookkeeping, so evalplus 0.3.1 fails HumanEval/32
  for every solution, the canonical one included -- reproduced);
* ``atol`` becomes 1e-6 the first time an expected output is floats, and stays so for the later
  inputs of the phase (a local variable of evalplus's loop -- reproduced);
* without an exact match and with ``atol != 0``: same type, same length, ``np.allclose(out, exp,
  rtol=1e-07, atol=atol)``;
* the first input that fails ends the phase as ``fail`` (``fast_check``), however the job went on
  after it (it cannot tell a wrong answer); a first part of the phase that was all right is
  ``more`` (the parent runs a longer part, up to the whole phase); a phase the time limit
  ended before any failure is ``timeout``; a phase that ran every input is ``pass`` only when each
  input was counted.

A long float-free value travels as a digest of its encoding (``evalplus_harness.channel_text``): it
matches when the encodings are equal, so such a value that is ``==`` to the expected one without
being of the same types (``True`` for ``1`` inside a long list) fails here and passes in evalplus;
values with floats travel in full up to 1 MiB of JSON, so the float tolerance applies to all but
longer ones (HumanEval/130's plus outputs).

One difference, on purpose: a returned object of a type the job could only describe (a class of
the solution's own) equals nothing, where evalplus would call its ``__eq__`` (the "always equal"
object that fakes a pass there).

    from kodcode.eval.evalplus_check import judge_phase
    status, n_ok, why, limit = judge_phase("mbpp", "sum_div", 0.0, inputs, expected, records)
"""

from __future__ import annotations

import base64
import collections
from typing import Any

PASS, FAIL, TIMEOUT = "pass", "fail", "timeout"
MORE = "more"  # a first part of the phase was all right: a longer part decides


class Opaque:
    """A returned object the job could only describe: equal to nothing, hashable, never raises."""

    def __init__(self, type_name: str, text: str):
        self.type_name, self.text = type_name, text

    def __eq__(self, other: object) -> bool:
        return False

    __hash__ = object.__hash__

    def __repr__(self) -> str:
        return f"<{self.type_name}: {self.text}>"


_SUBCLASSES: dict[tuple[type, str], type] = {}
_BASES = {b.__name__: b for b in (int, float, str, list, tuple, dict, set, frozenset, bytes)}
_COLLECTIONS = {"OrderedDict": collections.OrderedDict, "defaultdict": collections.defaultdict,
                "Counter": collections.Counter, "deque": collections.deque}


def _subclass(base: type, name: str) -> type:
    """A stand-in class named like the solution's subclass: the base's ``==``, a different ``type``."""
    key = (base, name)
    if key not in _SUBCLASSES:
        _SUBCLASSES[key] = type(name, (base,), {"__module__": "solution"})
    return _SUBCLASSES[key]


def decode(v: Any) -> Any:
    """Invert ``evalplus_harness.encode``; anything malformed becomes an ``Opaque`` (never raises)."""
    try:
        return _decode(v)
    except Exception as e:  # noqa: BLE001 - a forged or odd value is an answer that equals nothing
        return Opaque("undecodable", f"{type(e).__name__}: {str(v)[:200]}")


def _decode(v: Any) -> Any:
    if isinstance(v, list):
        return [_decode(x) for x in v]
    if not isinstance(v, dict):
        return v
    if "t" in v:
        return tuple(_decode(x) for x in v["t"])
    if "s" in v:
        return {_decode(x) for x in v["s"]}
    if "fs" in v:
        return frozenset(_decode(x) for x in v["fs"])
    if "d" in v:
        return {_decode(k): _decode(x) for k, x in v["d"]}
    if "i" in v:
        return int(v["i"], 16)
    if "c" in v:
        return complex(*v["c"])
    if "b" in v:
        return base64.b64decode(v["b"])
    if "np" in v or "nd" in v:
        import numpy as np

        if "np" in v:
            return np.dtype(v["np"]).type(_decode(v["v"]))
        return np.array(_decode(v["v"]), dtype=np.dtype(v["nd"])).reshape(v["shape"])
    if "coll" in v:
        kind, items = v["coll"], _decode(v["v"])
        if kind == "deque":
            return collections.deque(items)
        pairs = [tuple(p) for p in items]
        if kind == "Counter":
            return collections.Counter(dict(pairs))  # Counter(pairs) would count the pairs
        if kind == "defaultdict":
            return collections.defaultdict(None, pairs)
        return collections.OrderedDict(pairs)
    if "sub" in v:
        base = _BASES[v["bt"]]
        return _subclass(base, str(v["sub"]))(_decode(v["base"]))
    return Opaque(str(v.get("o", "?")), str(v.get("r", "")))


def expected_digest(exp: Any) -> str | None:
    """The digest ``evalplus_harness.channel_text`` would send for ``exp`` (None: not encodable)."""
    from kodcode.eval.evalplus_harness import value_digest

    try:
        return value_digest(exp)
    except Exception:  # noqa: BLE001 - an expected value we cannot encode matches no digest
        return None


def _received(v: Any, exp: Any, digests: dict | None, key: Any) -> Any:
    """The returned value: decoded, or -- sent as a digest -- the expected value itself when the
    digests agree (equal encodings: equal values of equal types) and otherwise one equal to nothing.
    ``digests`` caches the expected side across the samples of a task."""
    if isinstance(v, dict) and "h" in v and len(v) == 2:
        cache = {} if digests is None else digests
        if key not in cache:
            cache[key] = expected_digest(exp)
        if cache[key] == v["h"]:
            return exp
        return Opaque("digest", f"a long value ({v.get('n')}), not the expected")
    return decode(v)


def _input_ok(dataset: str, entry_point: str, inp: Any, out: Any, exp: Any, atol: float) -> tuple[float, bool]:
    """One input as evalplus's loop body judges it: (atol for the next inputs, counted); raises when wrong.

    Raises where evalplus raises (its assertions, ``np.allclose`` on odd values); the caller turns
    any exception into a failed input, as evalplus's ``except BaseException`` does.
    """
    import numpy as np
    from evalplus.eval import is_floats
    from evalplus.eval._special_oracle import (
        MBPP_OUTPUT_NOT_NONE_TASKS,
        MBPP_OUTPUT_SET_EQ_TASKS,
        _digit_distance_nums,
        _poly,
        _surface_Area,
    )

    exact_match = out == exp
    if dataset == "mbpp":
        if entry_point == "are_equivalent":  # Mbpp/164
            exact_match = exact_match or True
        elif entry_point == "sum_div":  # Mbpp/295
            exact_match = exact_match or out == 0
        elif entry_point == "surface_Area":  # Mbpp/581
            exact_match = exact_match or abs(out - _surface_Area(*inp)) <= atol
        elif entry_point == "digit_distance_nums":  # Mbpp/558
            exact_match = exact_match or out == _digit_distance_nums(*inp)
        elif entry_point in MBPP_OUTPUT_SET_EQ_TASKS:
            exact_match = set(out) == set(exp)
        elif entry_point in MBPP_OUTPUT_NOT_NONE_TASKS:
            exact_match = out == exp if isinstance(out, bool) else exp == (out is not None)
    if dataset == "humaneval" and entry_point == "find_zero":
        assert abs(_poly(*inp, out)) <= atol
        return atol, False  # evalplus `continue`s here, past its bookkeeping: never counted
    if atol == 0 and is_floats(exp):
        atol = 1e-6
    if not exact_match and atol != 0:
        assert type(out) is type(exp)  # evalplus: type(out) == type(exp) (the same for these classes)
        if isinstance(exp, (list, tuple)):
            assert len(out) == len(exp)
        assert np.allclose(out, exp, rtol=1e-07, atol=atol)
    else:
        assert exact_match
    return atol, True


def judge_phase(dataset: str, entry_point: str, atol: float, inputs: list, expected: list,
                records: list[dict], digests: dict | None = None) -> tuple[str, int, str, str | None]:
    """(status, inputs counted, why, limit) for one phase from the job's records of that phase.

    ``records``: the harness's lines in order -- ``{"load": "error"}``, ``{"i", "v"}`` values,
    ``{"i", "error"|"timeout"}``, ``{"done"}`` and the closing ``{"end": "exit"|"cpu"|"wall"|...}``.
    ``digests``: a dict kept per task and phase, caching the expected outputs' digests.  ``limit``:
    ``"cpu"`` or ``"wall"`` when a time limit decided the status, else None.  The job runs on past a
    wrong answer (it cannot know one); the first wrong input decides here, as it ends evalplus's loop.
    """
    end = next((r for r in records if "end" in r), None)
    done = False
    counted = 0
    expect_i = 0
    for r in records:
        if "end" in r:
            break
        if "done" in r:
            done = True
            break
        if "load" in r:
            return FAIL, counted, f"solution did not load: {r.get('msg', '')}", None
        if "paused" in r:
            return MORE, counted, f"paused after {expect_i}/{len(inputs)} inputs", None
        if r.get("i") != expect_i or expect_i >= len(inputs):
            return FAIL, counted, f"unexpected record for input {r.get('i')!r} (expected {expect_i})", None
        if "timeout" in r:
            limit = "wall" if r["timeout"] == "wall" else "cpu"
            return FAIL, counted, f"input {expect_i}: {limit} time limit", limit
        if "v" not in r:
            return FAIL, counted, f"input {expect_i}: raised {r.get('error', '')}", None
        try:
            exp = expected[expect_i]
            atol, count = _input_ok(dataset, entry_point, inputs[expect_i], _received(r["v"], exp, digests, expect_i),
                                    exp, atol)
        except BaseException as e:  # noqa: BLE001 - evalplus: any exception fails the input
            return FAIL, counted, f"input {expect_i}: wrong answer ({type(e).__name__})", None
        counted += count
        expect_i += 1
    if not done:  # evalplus: the process ended before setting a status (its task limit, a crash)
        how = "no end record" if end is None else f"ended by {end['end']}"
        limit = end["end"] if end is not None and end["end"] in ("cpu", "wall") else None
        return TIMEOUT, counted, f"stopped after {expect_i}/{len(inputs)} inputs ({how})", limit
    if expect_i != len(inputs) or counted != len(inputs):
        return FAIL, counted, f"{counted}/{len(inputs)} inputs counted", None
    return PASS, counted, "", None
