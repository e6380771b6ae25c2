"""The parent's half of a pytest job's assertions: decode what the job reported and compare it.

The job reports values as tagged JSON (``worker/checks.py``: plain builtins, the standard library's
value types, numpy scalars and arrays, and a bare name for anything else).  ``decode`` turns that back
into Python values without running any of the job's code (no pickle), and ``judge_site`` applies the
test's own comparison to them with the expected value that never left this process (``plan.Site``).

Only plain data can equal plain data: a value the job could not express as data (an object of its own
class) never satisfies a secret site, whatever its ``__eq__`` says.
"""

from __future__ import annotations

import base64
import collections
import datetime
import decimal
import fractions
import math
import operator
import re
from typing import Any

from .plan import Site

_MAX_DEPTH = 200


class Foreign:
    """An object the job could only name: its class is not plain data (``test_class``: the test's own)."""

    def __init__(self, module: str, qualname: str, test_class: bool = False):
        self.module, self.qualname, self.test_class = module, qualname, test_class

    def __repr__(self):
        return "<%s.%s object>" % (self.module, self.qualname)


class NpScalar:
    """A numpy scalar: compares as its value, but is never ``True``/``False``/``None`` by identity."""

    def __init__(self, dtype: str, value: Any):
        self.dtype, self.value = dtype, value

    def __repr__(self):
        return "np.%s(%r)" % (self.dtype, self.value)


class NdArray:
    def __init__(self, dtype: str, shape: list[int], data: Any):
        self.dtype, self.shape, self.data = dtype, tuple(shape), data

    @property
    def size(self) -> int:
        return math.prod(self.shape)

    def flat(self) -> list:
        out: list = []

        def walk(x, depth):
            if depth == len(self.shape):
                out.append(x)
            else:
                for y in x:
                    walk(y, depth + 1)

        walk(self.data, 0)
        return out

    def __repr__(self):
        return "array(%r)" % (self.data,)


class Opaque:
    """A value the job marked as too large or too deep to send."""

    def __init__(self, why: str, plain: bool = False):
        self.why, self.plain = why, plain

    def __repr__(self):
        return "<%s value>" % self.why


class DecodeError(ValueError):
    pass


def _int(v: Any) -> int:
    if type(v) is not int:
        raise DecodeError("not an int: %r" % (str(v)[:50],))
    return v


def _pairs(x, depth):
    return [(decode(k, depth + 1), decode(v, depth + 1)) for k, v in x]


def decode(x: Any, depth: int = 0) -> Any:
    """Tagged JSON from the job -> a Python value (raises DecodeError on anything malformed)."""
    if depth > _MAX_DEPTH:
        raise DecodeError("nested too deeply")
    t = type(x)
    if x is None or t in (bool, int, str, float):
        return x
    if t is list:
        return [decode(v, depth + 1) for v in x]
    if t is not dict or len(x) < 1:
        raise DecodeError("unknown value %r" % (x,))
    try:
        if "t" in x:
            return tuple(decode(v, depth + 1) for v in x["t"])
        if "d" in x:
            return dict(_pairs(x["d"], depth))
        if "s" in x:
            return {decode(v, depth + 1) for v in x["s"]}
        if "f" in x:
            return frozenset(decode(v, depth + 1) for v in x["f"])
        if "x" in x:
            return float(str(x["x"]))
        if "i" in x:
            return int(str(x["i"]), 16)
        if "b" in x:
            return base64.b64decode(x["b"])
        if "ba" in x:
            return bytearray(base64.b64decode(x["ba"]))
        if "c" in x:
            re_, im = x["c"]
            return complex(float(decode(re_)), float(decode(im)))
        if "r" in x:
            return range(*[_int(decode(v, depth + 1)) for v in x["r"]])
        if "dec" in x:
            return decimal.Decimal(str(x["dec"]))
        if "frac" in x:
            return fractions.Fraction(_int(decode(x["frac"][0], depth + 1)), _int(decode(x["frac"][1], depth + 1)))
        if "dt" in x:
            kind, val = x["dt"]
            if kind == "timedelta":
                return datetime.timedelta(microseconds=int(val))
            return getattr(datetime, kind).fromisoformat(str(val)) if kind in ("date", "datetime", "time") \
                else _bad(x)
        if "od" in x:
            return collections.OrderedDict(_pairs(x["od"], depth))
        if "dd" in x:
            d = collections.defaultdict(None)
            d.update(_pairs(x["dd"], depth))
            return d
        if "ctr" in x:
            return collections.Counter(dict(_pairs(x["ctr"], depth)))
        if "dq" in x:
            return collections.deque([decode(v, depth + 1) for v in x["dq"]], x.get("ml"))
        if "np" in x:
            return NpScalar(str(x["np"][0]), decode(x["np"][1], depth + 1))
        if "nd" in x:
            dtype, shape, data = x["nd"]
            return NdArray(str(dtype), [int(s) for s in shape], decode(data, depth + 1))
        if "o" in x:
            return Foreign(str(x["o"][0]), str(x["o"][1]), bool(x.get("tc")))
        if "big" in x or "deep" in x:
            return Opaque("large" if "big" in x else "deeply nested", bool(x.get("plain")))
    except DecodeError:
        raise
    except Exception as e:
        raise DecodeError("malformed value: %s" % e) from None
    return _bad(x)


def _bad(x):
    raise DecodeError("unknown value %r" % (str(x)[:100],))


_SCALARS = frozenset({type(None), bool, int, float, str, bytes, complex})
_SEQUENCES = (list, tuple, set, frozenset, collections.deque)


def has_foreign(v: Any, depth: int = 0) -> bool:
    """True when ``v`` is not plain data all the way down (a job's object, an array, an opaque value)."""
    if type(v) in _SCALARS:
        return False
    if depth > _MAX_DEPTH:
        return True
    if isinstance(v, (Foreign, NdArray, Opaque)):
        return True
    if isinstance(v, dict):
        items = [x for kv in v.items() for x in kv]
    elif isinstance(v, _SEQUENCES):
        items = v
    else:
        return False
    scalars = _SCALARS
    for x in items:  # (scalars checked inline: a list of 10,000 ints costs no call per element)
        if type(x) not in scalars and has_foreign(x, depth + 1):
            return True
    return False


def _unwrap(v):
    """Numpy scalars compare as their Python value (``np.int64(3) == 3``)."""
    if isinstance(v, NpScalar):
        return v.value
    return v


_PY_OPS = {"==": operator.eq, "!=": operator.ne, "<": operator.lt, "<=": operator.le, ">": operator.gt,
           ">=": operator.ge, "in": lambda a, b: a in b, "not in": lambda a, b: a not in b,
           "has": lambda a, b: b in a, "lacks": lambda a, b: b not in a,
           "is": operator.is_, "is not": operator.is_not}


class Refused(Exception):
    """The comparison cannot hold on what the job sent (not plain data, or an error pytest would raise)."""


def _array_truth(arr: NdArray, values: list) -> bool:
    if len(values) != 1:
        raise Refused("the truth value of an array with %d elements is ambiguous" % len(values))
    return bool(values[0])


def compare(op: str, a: Any, b: Any) -> bool:
    """``a op b`` as the test wrote it, on decoded values; raises Refused where it cannot hold."""
    if op in ("is", "is not"):
        return _PY_OPS[op](a, b)
    if isinstance(a, NdArray) and op in ("==", "!="):
        vals = [_PY_OPS[op](x, b) for x in a.flat()] if not isinstance(b, (list, tuple)) else None
        if vals is None:
            flat_b = NdArray(a.dtype, a.shape, list(b)).flat() if a.size == len(b) else None
            if flat_b is None or len(flat_b) != a.size:
                raise Refused("array of shape %s compared with a sequence of another shape" % (a.shape,))
            vals = [_PY_OPS[op](x, y) for x, y in zip(a.flat(), flat_b)]
        return _array_truth(a, vals)
    if has_foreign(a) or has_foreign(b):
        raise Refused("not plain data")
    try:
        return bool(_PY_OPS[op](_unwrap(a), _unwrap(b)))
    except Refused:
        raise
    except Exception as e:
        raise Refused("%s: %s" % (type(e).__name__, e)) from None


def approx_equal(actual: Any, expected: Any, rel=None, abs_=None, nan_ok=False) -> bool:
    """``actual == pytest.approx(expected, rel=, abs=)`` for numbers and (nested) lists, tuples and dicts
    of them, with pytest's tolerance rules (rel 1e-6 and abs 1e-12 by default; abs alone disables rel)."""
    actual = _unwrap(actual)
    if isinstance(expected, dict):
        return isinstance(actual, dict) and set(actual) == set(expected) and \
            all(approx_equal(actual[k], v, rel, abs_, nan_ok) for k, v in expected.items())
    if isinstance(expected, (list, tuple)):
        seq = actual.flat() if isinstance(actual, NdArray) else actual
        return isinstance(seq, (list, tuple)) and len(seq) == len(expected) and \
            all(approx_equal(x, y, rel, abs_, nan_ok) for x, y in zip(seq, expected))
    if has_foreign(actual):
        return False
    if isinstance(expected, bool) or not isinstance(expected, (int, float, complex, decimal.Decimal,
                                                               fractions.Fraction)):
        return actual == expected
    if not isinstance(actual, (int, float, complex, decimal.Decimal, fractions.Fraction)) or isinstance(actual, bool):
        return actual == expected  # (pytest compares a non-number with == too)
    if actual == expected:
        return True
    if isinstance(expected, float) and math.isnan(expected):
        return nan_ok and isinstance(actual, float) and math.isnan(actual)
    if isinstance(expected, float) and math.isinf(expected):
        return False
    abs_tol = 1e-12 if abs_ is None else abs_
    if rel is None and abs_ is not None:
        tol = abs_tol
    else:
        tol = max((1e-6 if rel is None else rel) * abs(expected), abs_tol)
    try:
        return abs(expected - actual) <= tol
    except Exception:
        return False


def _number(v) -> Any:
    v = _unwrap(v)
    if isinstance(v, bool) or not isinstance(v, (int, float, decimal.Decimal, fractions.Fraction)):
        raise Refused("not a number")
    return v


def judge_site(site: Site, rec: dict) -> str | None:
    """None when the reported value satisfies the site, else why not."""
    try:
        if site.kind == "raises":
            return _judge_raises(site, rec)
        if site.kind == "warns":
            return _judge_warns(site, rec)
        value = decode(rec.get("v"))
        ok = _holds(site, value, rec)
    except (Refused, DecodeError) as e:
        return "%s (got %s)" % (e, _short(rec.get("v")))
    except (RecursionError, MemoryError, OverflowError, ValueError, TypeError) as e:
        return "%s: %s" % (type(e).__name__, e)
    if ok == site.negate:
        return "got %s" % _short(value)
    return None


def _holds(site: Site, value: Any, rec: dict) -> bool:
    k, e, p = site.kind, site.expected, site.params
    if k == "cmp":
        return compare(site.op, value, e)
    if k == "truth":
        if isinstance(value, NdArray):
            return _array_truth(value, value.flat())
        if isinstance(value, (Foreign, Opaque)) or has_foreign(value):
            b = rec.get("b")  # the job's own truth test of an object it could not send
            if type(b) is not bool:
                raise Refused("its truth value could not be determined")
            return b
        return bool(_unwrap(value))
    if k == "approx":
        eq = approx_equal(value, e, p.get("rel"), p.get("abs"), bool(p.get("nan_ok")))
        return eq if site.op == "==" else not eq
    if k == "isclose":
        return math.isclose(_number(value), e, rel_tol=p.get("rel_tol", 1e-9), abs_tol=p.get("abs_tol", 0.0))
    if k == "npisclose":
        a = _number(value)
        return abs(a - e) <= p.get("atol", 1e-8) + p.get("rtol", 1e-5) * abs(e)
    if k == "absdiff":
        return compare(site.op, abs(_number(value) - e), p["tol"])
    if k == "almost":
        a = _unwrap(value)
        if has_foreign(a):
            raise Refused("not plain data")
        if a == e:
            return True
        diff = abs(_number(a) - e)
        if "delta" in p:
            return diff <= p["delta"]
        return round(diff, p.get("places", 7)) == 0
    if k in ("arrayeq", "allclose", "arrayalmost"):
        return _array_helper(k, value, e, p)
    raise Refused("unknown site kind %r" % k)


def _as_array(v) -> tuple[tuple, list]:
    """(shape, flat values) of an array, a rectangular nested list/tuple, or a scalar (shape ())."""
    if isinstance(v, NdArray):
        return v.shape, [_unwrap(x) for x in v.flat()]
    if isinstance(v, (list, tuple)):
        parts = [_as_array(x) for x in v]
        if parts and any(sh != parts[0][0] for sh, _ in parts):
            raise Refused("a ragged sequence is not an array")
        shape = (len(v),) + (parts[0][0] if parts else ())
        return shape, [x for _, flat in parts for x in flat]
    v = _unwrap(v)
    if has_foreign(v) or isinstance(v, (dict, set, frozenset)):
        raise Refused("not plain data")
    return (), [v]


def _array_helper(kind: str, actual, expected, p: dict) -> bool:
    """numpy's array comparisons (``array_equal``, ``allclose``, ``testing.assert_*``) on plain data."""
    fn = p.get("_fn", "")
    ash, a = _as_array(actual)
    esh, e = _as_array(expected)
    if ash != esh:
        scalar_ok = fn.startswith("assert_") or kind == "allclose"  # (these broadcast a scalar)
        if scalar_ok and esh == ():
            e = e * len(a)
        elif scalar_ok and ash == ():
            a = a * len(e)
        else:
            return False
    if kind == "arrayeq":
        nan_equal = fn.startswith("assert_") or bool(p.get("equal_nan"))
        return all(x == y or (nan_equal and x != x and y != y) for x, y in zip(a, e))
    if kind == "allclose":
        default_rtol, default_atol = (1e-7, 0.0) if fn == "assert_allclose" else (1e-5, 1e-8)
        rtol = p.get("rtol", p.get("_pos", default_rtol))
        atol = p.get("atol", default_atol)
        nan_equal = bool(p.get("equal_nan", fn == "assert_allclose"))
        for x, y in zip(a, e):
            if x != x or y != y:
                if not (nan_equal and x != x and y != y):
                    return False
            elif x != y and not abs(x - y) <= atol + rtol * abs(y):
                return False
        return True
    decimal_ = p.get("decimal", p.get("_pos", 7 if fn == "assert_almost_equal" else 6))
    return all(x == y or abs(y - x) < 1.5 * 10.0 ** (-decimal_) for x, y in zip(a, e))


def _judge_warns(site: Site, rec: dict) -> str | None:
    """``pytest.warns``: some warning raised in the block is of an expected category (and matches)."""
    warned = rec.get("warned")
    if not isinstance(warned, list):
        return "no record of the warnings"
    for w in warned:
        if isinstance(w, dict) and _judge_raises(site, {"raised": True, "mro": w.get("mro"), "msg": w.get("msg")}) is None:
            return None
    return "DID NOT WARN %s%s" % (" or ".join(site.expected),
                                 " matching %r" % site.params["match"] if "match" in site.params else "")


def _judge_raises(site: Site, rec: dict) -> str | None:
    if not rec.get("raised"):
        return "DID NOT RAISE %s" % " or ".join(site.expected)
    mro = [tuple(x) for x in rec.get("mro") or [] if isinstance(x, list) and len(x) == 2]
    builtin_names = [q for m, q in mro if m == "builtins"]
    import builtins
    chain = [getattr(builtins, n, None) for n in builtin_names]
    if any(c is None or not isinstance(c, type) for c in chain) or \
            any(not issubclass(a, b) for a, b in zip(chain, chain[1:])):
        # (one exception class under two unrelated builtin ones: ``class E(ValueError, TypeError)``)
        return "raised %s, whose bases are not one line of builtin exceptions" % (mro[:1],)
    if not any(n in builtin_names for n in site.expected):
        return "raised %s, not %s" % (".".join(mro[0]) if mro else "?", " or ".join(site.expected))
    pattern = site.params.get("match")
    if pattern is not None and not re.search(pattern, str(rec.get("msg", ""))):
        return "the message %r does not match %r" % (str(rec.get("msg", ""))[:200], pattern)
    return None


def judge_open(rec: dict, value_classes=frozenset(), test_sides=(False, False)) -> str | None:
    """An open site: the job compared values it computed and says what it saw; refuse a result that plain
    data contradicts, and a non-plain object that claims to equal, order or contain plain data."""
    try:
        r = rec.get("r")
        if type(r) is not bool:
            return "no result"
        op = rec.get("op")
        if "v" in rec:  # a truth test
            v = decode(rec["v"])
            if has_foreign(v):
                return None  # (an object's own truth: as the test asks)
            return None if bool(_unwrap(v)) == r else "the job's truth test disagrees with its value"
        a, b = decode(rec.get("a")), decode(rec.get("b"))
    except DecodeError as e:
        return str(e)
    fa, fb = has_foreign(a), has_foreign(b)
    if not fa and not fb:
        try:
            return None if compare(op, a, b) == r else "the comparison's result disagrees with its values"
        except Refused as e:
            return None if not r else str(e)
        except (RecursionError, MemoryError):
            return None
    if fa and fb:
        return None  # both sides are objects: their own comparison decides, as the test asks
    obj = a if fa else b
    if test_sides[0 if fa else 1]:
        return None  # an object the test built itself (``mock.ANY``, a tolerance class of its own)
    if _test_made(obj) or isinstance(obj, NdArray) or (isinstance(obj, Opaque) and obj.plain) \
            or (isinstance(obj, Foreign) and obj.module == "solution" and obj.qualname in value_classes):
        return None  # the test's own objects, and arrays (numpy's comparison, in the job)
    claims = r if op in ("==", "<", "<=", ">", ">=", "in", "has") else False
    if op in ("in", "not in") and fa and not fb:
        claims = r if op == "in" else False
    return "a non-plain value (%r) claimed to match plain data" % (obj,) if claims else None


def _test_made(v) -> bool:
    if isinstance(v, Foreign):
        return v.test_class
    if isinstance(v, (list, tuple, set, frozenset)):
        return all(_test_made(x) or not has_foreign(x) for x in v)
    if isinstance(v, dict):
        return all((_test_made(x) or not has_foreign(x)) for x in v.values())
    return False


def _short(v) -> str:
    try:
        s = repr(v)
    except ValueError:  # an int past 4,300 digits (Python's int-to-str limit) somewhere in it
        s = _digits_free_repr(v)
    return s if len(s) <= 200 else s[:200] + "..."


def _digits_free_repr(v, depth: int = 0) -> str:
    """repr of ``v`` with each int past the int-to-str limit written as its digit count (depth-capped)."""
    if type(v) is int:
        try:
            return repr(v)
        except ValueError:
            return "<int of ~%d digits>" % int(v.bit_length() * 0.30103 + 1)
    if depth > 5:
        return "..."
    if isinstance(v, (list, tuple, set, frozenset)):
        inner = ", ".join(_digits_free_repr(x, depth + 1) for x in list(v)[:20])
        return {list: "[%s]", tuple: "(%s)"}.get(type(v), type(v).__name__ + "({%s})") % inner
    if isinstance(v, dict):
        return "{%s}" % ", ".join("%s: %s" % (_digits_free_repr(k, depth + 1), _digits_free_repr(x, depth + 1))
                                  for k, x in list(v.items())[:20])
    try:
        return repr(v)
    except ValueError:
        return "<%s, not printable>" % type(v).__name__
