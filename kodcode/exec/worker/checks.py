"""What a job reports of its test's assertions (the names the parent's rewrite calls, ``kodcode.exec.plan``).

* ``_kc_site(id, value)``: a secret site; the value goes to the parent as data, which compares it with
  an expected value this process never held.  The job carries on: it cannot know whether it passed.
* ``_kc_raises(id)`` / ``_kc_warns(id)``: a ``pytest.raises`` / ``pytest.warns`` whose expected
  exception or warning stayed in the parent; reports what was raised (classes and message) and hands
  the test an ``ExceptionInfo`` (a list of warnings) as pytest does.
* ``_kc_check(id, op, a, b, negate, msg)`` / ``_kc_truth(id, v, negate, msg)``: an open site; compares
  here as the test wrote it (and fails here), and reports both values so that the parent can re-do the
  comparison on plain data.
* ``_kc_cmp(op, a, b)``: a comparison nested inside an expression; Python's result, except that an
  object that is not plain data never equals, orders or contains plain data.
* ``_kc_star(globals())``: ``from solution import *`` without the names that would shadow builtins the
  test relies on (an explicit ``from solution import pow`` still binds the solution's).

Everything here runs in the job, where the solution could rewrite it: it only narrows what the solution
can do to values the job computes; the parent's checks do not depend on it (see the README).
"""

import base64
import builtins
import operator
import sys

from .state import STATE

_MAX_BYTES = 8 * 1024 * 1024  # one reported value, encoded
_OPS = {"==": operator.eq, "!=": operator.ne, "<": operator.lt, "<=": operator.le, ">": operator.gt,
        ">=": operator.ge, "in": lambda a, b: a in b, "not in": lambda a, b: a not in b,
        "is": operator.is_, "is not": operator.is_not}
_BUILTIN_NAMES = frozenset(n for n in dir(builtins) if not n.startswith("_"))


class _TooBig(Exception):
    pass


def make_encoder():
    """``encode(value) -> (data, plain)``: tagged JSON-able data (see ``kodcode.exec.judge.decode``), and
    whether it is plain data all the way down.  Types are taken now, in the worker, before any job."""
    import collections
    import datetime
    import decimal
    import fractions
    _type, _len, _isinstance, _repr = type, len, isinstance, repr
    np = sys.modules.get("numpy")
    np_scalars = frozenset(getattr(np, "sctypeDict", {}).values()) if np is not None else frozenset()
    ndarray = getattr(np, "ndarray", None)
    simple = {bool, int, str, float, type(None)}
    bases = (tuple, list, dict, str, int, float, set, frozenset, bytes)
    cmp_names = ("__eq__", "__ne__", "__lt__", "__le__", "__gt__", "__ge__", "__contains__", "__len__",
                 "__iter__", "__bool__", "__getitem__")
    views = {}  # class -> the builtin base it compares as (or None)

    def lookup(t, name):
        for k in t.__mro__:  # (the instances' attribute, not a metaclass's: an Enum class iterates)
            if name in k.__dict__:
                return k.__dict__[name]
        return None

    def view_of(t):
        """A subclass of a builtin whose comparisons are all the builtin's (a namedtuple, an IntEnum)."""
        if t in views:
            return views[t]
        base = next((b for b in bases if issubclass(t, b)), None)
        if base is not None:
            for name in cmp_names:
                if lookup(t, name) is not lookup(base, name):
                    base = None
                    break
        views[t] = base
        return base

    test_classes = STATE.setdefault("test_classes", set())
    dict_views = (type({}.keys()), type({}.items()))

    def enc(v, depth, budget):
        t = _type(v)
        budget[0] -= 1
        if budget[0] < 0:
            raise _TooBig()
        if t in simple:
            if t is int and v.bit_length() > 12000:
                return {"i": format(v, "x")}, True
            if t is float and (v != v or v in (float("inf"), float("-inf"))):
                return {"x": _repr(v)}, True
            if t is str:
                budget[0] -= _len(v) // 64
            return v, True
        if depth > 100:
            return {"deep": 1}, False
        if t is list or t is tuple or t is set or t is frozenset:
            items, plain = [], True
            for x in v:
                d, p = enc(x, depth + 1, budget)
                items.append(d)
                plain = plain and p
            tag = {list: None, tuple: "t", set: "s", frozenset: "f"}[t]
            return (items if tag is None else {tag: items}), plain
        if t is dict:
            return pairs("d", v, depth, budget)
        if t is bytes or t is bytearray:
            budget[0] -= _len(v) // 64
            return {"b" if t is bytes else "ba": base64.b64encode(v).decode()}, True
        if t is complex:
            return {"c": [enc(v.real, depth, budget)[0], enc(v.imag, depth, budget)[0]]}, True
        if t is range:  # (bounds past 4,300 digits travel as hex, as ints do)
            return {"r": [enc(v.start, depth, budget)[0], enc(v.stop, depth, budget)[0],
                          enc(v.step, depth, budget)[0]]}, True
        if t is decimal.Decimal:
            return {"dec": str(v)}, True
        if t is fractions.Fraction:
            return {"frac": [enc(v.numerator, depth, budget)[0], enc(v.denominator, depth, budget)[0]]}, True
        if t in (datetime.date, datetime.datetime, datetime.time):
            return {"dt": [t.__name__, v.isoformat()]}, True
        if t is datetime.timedelta:
            return {"dt": ["timedelta", (v.days * 86400 + v.seconds) * 10 ** 6 + v.microseconds]}, True
        if t is collections.OrderedDict:
            return pairs("od", v, depth, budget)
        if t is collections.defaultdict:
            return pairs("dd", v, depth, budget)
        if t is collections.Counter:
            return pairs("ctr", v, depth, budget)
        if t is collections.deque:
            d, p = enc(list(v), depth + 1, budget)
            return {"dq": d, "ml": v.maxlen}, p
        if t in np_scalars:
            d, p = enc(v.item(), depth + 1, budget)
            return {"np": [str(v.dtype), d]}, p
        if ndarray is not None and t is ndarray and v.dtype.kind in "biufcUS":
            budget[0] -= int(v.size)
            if budget[0] < 0:
                raise _TooBig()
            d, p = enc(v.tolist(), depth + 1, budget)
            return {"nd": [str(v.dtype), list(v.shape), d]}, False
        if t in dict_views:  # ({}.keys(), .items(): set-like; their == is a set's)
            return enc(set(v), depth, budget)
        base = view_of(t)
        if base is not None:
            return enc(base(v) if base is not dict else dict(v), depth, budget)
        mod = getattr(t, "__module__", "?")
        return {"o": [mod if _isinstance(mod, str) else "?", getattr(t, "__qualname__", "?")],
                "tc": t in test_classes}, False

    def pairs(tag, v, depth, budget):
        out, plain = [], True
        for k, x in list(v.items()):
            dk, pk = enc(k, depth + 1, budget)
            dx, px = enc(x, depth + 1, budget)
            out.append([dk, dx])
            plain = plain and pk and px
        return {tag: out}, plain

    def encode(v):
        budget = [_MAX_BYTES // 8]
        try:
            return enc(v, 0, budget)
        except _TooBig:
            return {"big": 1}, False
        except RecursionError:
            return {"deep": 1}, False

    return encode


def make_checks():
    """The ``_kc_*`` functions, made once in the worker; each job streams through ``STATE["sink"]``."""
    encode = make_encoder()
    _bool, _type = bool, type
    _scalars = frozenset((int, float, str, bool, type(None)))

    def is_plain(x):
        return encode(x)[1]

    def emit(rec):
        sink = STATE.get("sink")
        if sink is not None:
            rec["n"] = STATE.get("current")
            sink.emit(rec)

    def _kc_site(site, value, *refs):
        data, plain = encode(value)
        rec = {"t": "site", "id": site, "v": data}
        if not plain:
            try:
                rec["b"] = _bool(value)  # (the parent uses it only for truth tests of objects)
            except Exception:
                rec["b"] = None
        emit(rec)

    def fail(msg, default):
        text = default
        if msg is not None:
            try:
                text = str(msg())
            except Exception:
                pass
        raise AssertionError(text)

    def _kc_check(site, op, a, b, negate=False, msg=None):
        r = _bool(_OPS[op](a, b))
        da, _ = encode(a)
        db, _ = encode(b)
        emit({"t": "open", "id": site, "op": op, "a": da, "b": db, "r": r})
        if r == negate:
            fail(msg, "assert %s%s %s %s" % ("not " if negate else "", _short(a), op, _short(b)))

    def _kc_truth(site, value, negate=False, msg=None):
        r = _bool(value)
        d, _ = encode(value)
        emit({"t": "open", "id": site, "op": "truth", "v": d, "r": r})
        if r == negate:
            fail(msg, "assert %s%s" % ("not " if negate else "", _short(value)))

    def _kc_cmp(op, a, b):
        res = _OPS[op](a, b)
        if op in ("is", "is not") or (_type(a) in _scalars and _type(b) in _scalars):
            return res
        pa, pb = is_plain(a), is_plain(b)
        if pa != pb and not _made_by_test(a if not pa else b):
            # a non-plain object never equals, orders or contains plain data
            if op == "!=" or op == "not in":
                return True
            if _bool(res):
                return False
        return res

    def _kc_chain(ops, left, *rights):
        res = True
        for op, right in zip(ops, rights):
            right = right()
            res = _kc_cmp(op, left, right)
            if not res:
                return res
            left = right
        return res

    sentinels = _test_side_types()

    def _made_by_test(x):
        t = _type(x)
        return t in STATE.get("test_classes", ()) or t in sentinels or _is_array(x)

    def _is_array(x):
        np = sys.modules.get("numpy")
        return np is not None and _type(x) is getattr(np, "ndarray", None)

    class _Raises(object):
        def __init__(self, site):
            self.site = site
            self.info = None

        def __enter__(self):
            try:
                from _pytest._code import ExceptionInfo
                self.info = ExceptionInfo.for_later()
            except Exception:
                self.info = None
            return self.info

        def __exit__(self, et, ev, tb):
            if et is None:
                emit({"t": "site", "id": self.site, "raised": False})
                try:
                    import pytest
                    pytest.fail("DID NOT RAISE", pytrace=False)
                except ImportError:
                    raise AssertionError("DID NOT RAISE") from None
            try:
                from _pytest.outcomes import OutcomeException
                if isinstance(ev, OutcomeException):
                    return False  # pytest.skip / fail / exit inside the block: not the test's exception
            except ImportError:
                pass
            try:
                msg = str(ev)
            except Exception:
                msg = ""
            mro = [[getattr(c, "__module__", "?"), getattr(c, "__qualname__", "?")] for c in et.__mro__]
            emit({"t": "site", "id": self.site, "raised": True, "mro": mro, "msg": msg[:100000]})
            if self.info is not None:
                try:
                    self.info.fill_unfilled((et, ev, tb))
                except Exception:
                    pass
            return True

    def _kc_raises(site, *refs):
        return _Raises(site)

    class _Warns(object):
        """``pytest.warns``: every warning of the block recorded and reported; the test gets the list
        (as ``pytest.warns(...) as record`` gives it a list-like recorder)."""

        def __init__(self, site):
            import warnings
            self.site, self.ctx = site, warnings.catch_warnings(record=True)

        def __enter__(self):
            import warnings
            self.log = self.ctx.__enter__()
            warnings.simplefilter("always")
            return self.log

        def __exit__(self, et, ev, tb):
            self.ctx.__exit__(et, ev, tb)
            warned = []
            for w in list(self.log)[:1000]:
                c = w.category
                warned.append({"mro": [[getattr(k, "__module__", "?"), getattr(k, "__qualname__", "?")]
                                       for k in getattr(c, "__mro__", ())], "msg": str(w.message)[:10000]})
            emit({"t": "site", "id": self.site, "warned": warned})
            return False

    def _kc_warns(site, *refs):
        return _Warns(site)

    def _kc_star(g):
        import importlib
        mod = importlib.import_module("solution")
        names = getattr(mod, "__all__", None)
        if names is None:
            names = [n for n in vars(mod) if not n.startswith("_")]
        for n in names:
            if n.startswith("_kc_") or n in _BUILTIN_NAMES:
                continue
            g[n] = getattr(mod, n)

    return {"_kc_site": _kc_site, "_kc_raises": _kc_raises, "_kc_check": _kc_check, "_kc_truth": _kc_truth,
            "_kc_cmp": _kc_cmp, "_kc_chain": _kc_chain, "_kc_star": _kc_star, "_kc_warns": _kc_warns}


def _test_side_types():
    """Objects tests build to compare with (pytest's approx classes, ``mock.ANY``), by identity, taken in
    the worker before any job."""
    found = set()
    try:
        import pytest
        base = [c for c in type(pytest.approx(0)).__mro__ if c.__module__.split(".")[0] in ("_pytest", "pytest")][-1]
        todo = [base]
        while todo:
            c = todo.pop()
            found.add(c)
            todo.extend(c.__subclasses__())
    except Exception:
        pass
    mock = sys.modules.get("unittest.mock")
    if mock is not None:
        found.add(type(mock.ANY))
    return frozenset(found)


def _short(v):
    try:
        r = repr(v)
    except Exception:  # (an int past 4,300 digits has no repr here)
        r = ("<int of ~%d digits>" % int(v.bit_length() * 0.30103 + 1)) if type(v) is int else \
            "<%s, not printable>" % type(v).__name__
    return r if len(r) <= 200 else r[:200] + "..."
