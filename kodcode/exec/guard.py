"""Defences inside the job process, installed before untrusted code runs (part of the worker program).

This file is part of the program handed to the job interpreter by value (see ``zygote.py``): standard
library only, Python 3.9+, importable on its own for tests.

* ``make_guard``: the comparison helpers that asserts are rewritten to call.  Python semantics for
  honest values; objects whose equality, ordering or membership is forged are refused and flagged.
* ``rewrite_test_source``: ``assert a OP b`` / ``self.assertEqual(a, b)`` -> guarded comparisons, and
  every comparison nested in an assertion (or in an ``if`` that raises) -> a guarded one that keeps
  its value.
* ``fast_path_ok``: whether a test module is plain enough to run without a pytest session.
* ``install_audit_hook``: denies untrusted code the introspection that reads or swaps test code
  (frames and code objects of tests, ``gc`` object walks, trace/profile hooks, the job's own
  descriptors under /proc), while pytest and the runner keep working.
* ``Snapshot``: identity snapshot of builtins, unittest, pytest and pluggy internals, and of the library
  modules tests check with (``LIBRARY_MODULES``: math, numpy, unittest.mock, ...); any change made by
  the job, or another module put in ``sys.modules`` in their place, is reported as tampering.
"""

import ast
import operator
import os
import re
import sys

PLAIN_TYPES = (int, float, complex, bool, str, bytes, type(None), list, tuple, dict, set, frozenset, range)


def make_guard(on_flag=None):
    """Return ``(cmp, truth, flags)``; builtins used here are bound now, before untrusted code.

    ``on_flag(name)`` is called the moment a forged comparison is seen (the runner streams it out, so
    nothing the job does to in-memory lists later can take it back).  pytest's approx classes (by
    identity, taken now) compare with a tolerance by design and are not probed.

    A comparison that holds is refused when a non-plain operand (plain: builtin values) has special
    methods that are not code of their own: a builtin or bound callable in their place (``__eq__ =
    abs``), another slot's wrapper (``__eq__ = int.__or__``); when it holds against a fresh object
    (always equal, always ordered, always contains) or, compared with a plain value, also against a near
    miss of that value (``v + 1``, ``s + "\\0"``: an equality that ignores its argument, whatever it does
    with objects it does not know); or when the method's code is a constant.
    """
    import dis
    import operator
    from os import urandom
    _type, _isinstance, _getattr, _len, _bool, _list, _iter = type, isinstance, getattr, len, bool, list, iter
    plain = frozenset(PLAIN_TYPES)
    scalars = frozenset((int, float, complex, bool, str, bytes, type(None)))
    FunctionType = _type(make_guard)
    slot_types = (_type(object.__eq__), _type(dict.__contains__))  # C slots: wrapper/method descriptors
    cython_types = ("cython_function_or_method", "fused_cython_function")
    cmp_methods = ("__eq__", "__ne__", "__lt__", "__le__", "__gt__", "__ge__")
    inf = float("inf")
    numbers = tuple(_getattr(sys.modules.get(m), n, None)
                    for m, n in (("fractions", "Fraction"), ("decimal", "Decimal")))
    np = sys.modules.get("numpy")
    # numpy's own scalar types and ndarray, by identity (a subclass a solution makes is not numpy's)
    np_types = frozenset(_list(_getattr(np, "sctypeDict", {}).values()) + [_getattr(np, "ndarray", None)]) - {None}
    np_ndarray = _getattr(np, "ndarray", None)
    approx_base = None
    if "pytest" in sys.modules:  # pytest.approx's base class (ApproxBase, or pytest.Approx in pytest 9)
        try:
            mro = _type(sys.modules["pytest"].approx(0)).__mro__
            approx_base = [c for c in mro if c.__module__.split(".")[0] in ("_pytest", "pytest")][-1]
        except Exception:
            approx_base = None
    approx_types, todo = set(), [approx_base] if approx_base is not None else []
    while todo:  # pytest's own approx classes, by identity, taken before any job runs
        c = todo.pop()
        approx_types.add(c)
        todo += c.__subclasses__()

    class _Flags(list):
        def append(self, name):
            list.append(self, name)
            if on_flag is not None:
                on_flag(name)

    flags = _Flags()
    nan = float("nan")
    ops = {"-": operator.sub, "+": operator.add, "==": operator.eq, "!=": operator.ne, "<": operator.lt, "<=": operator.le,
           ">": operator.gt, ">=": operator.ge, "in": lambda a, b: a in b,
           "not in": lambda a, b: a not in b, "is": operator.is_, "is not": operator.is_not}
    const_ops = frozenset(("RESUME", "LOAD_CONST", "RETURN_VALUE", "RETURN_CONST", "NOP", "CACHE",
                           "COPY_FREE_VARS", "MAKE_CELL"))

    class _Probe(object):
        __slots__ = ()

    def is_plain(x, depth=0):
        t = _type(x)
        if t not in plain:
            return False
        if depth > 4 or t not in (list, tuple, dict, set, frozenset):
            return True
        if _len(x) <= 200 and scalars.issuperset(map(_type, x)) \
                and (t is not dict or scalars.issuperset(map(_type, x.values()))):
            return True  # (the common case, decided in C)
        items = _list(x.items()) if t is dict else _list(x)
        if _len(items) > 200:
            items = items[:100] + items[-100:]
        for it in items:
            if t is dict:
                if not (is_plain(it[0], depth + 1) and is_plain(it[1], depth + 1)):
                    return False
            elif not is_plain(it, depth + 1):
                return False
        return True

    constant_codes = {}  # code object (by value) -> whether it only returns a constant

    def constant_method(cls, name):
        code = _getattr(_getattr(cls, name, None), "__code__", None)
        if code is None:
            return False
        if code not in constant_codes:
            constant_codes[code] = all(ins.opname in const_ops for ins in dis.get_instructions(code))
        return constant_codes[code]

    def foreign_method(cls, name):
        """The special method is neither a Python function nor the C slot of that very name."""
        m = _getattr(cls, name, None)
        if m is None:
            return False
        tm = _type(m)
        if tm is FunctionType:
            return False
        if tm in slot_types or tm.__name__ in cython_types:
            return _getattr(m, "__name__", None) != name
        return True

    def truth(v):
        # An object that is always truthy passes ``assert x`` exactly as ``True`` would; what truth can
        # forge is a comparison's result, and ``forged`` probes those (sympy's ``true`` stays honest).
        return v if _type(v) is bool else _bool(v)

    def near_misses(v):
        """Values that differ from ``v`` (a plain value or a library number): an honest object equal
        to ``v`` equals none of them."""
        t = _type(v)
        if t is bool:
            return (not v,)
        if t is int:
            return (v + 1, v - 1, v + 2, v - 7)
        if t in (float, complex) or (library_number(v) and t is not np_ndarray):
            return tuple(m for m in (v + 1, v - 1) if _bool(m != v))  # not where v + 1 == v (1e20, inf)
        if t is str:
            return (v + "\0", "\0" + v)
        if t is bytes:
            return (v + b"\0", b"\0" + v)
        if t in (list, tuple):
            return (v + t((_Probe(),)),)
        if t is dict:
            d = dict(v)
            d[_Probe()] = None
            return (d,)
        if t in (set, frozenset):
            return (v | t((_Probe(),)),)
        return ()

    def holds(fn, a, b):
        """A probe comparison holds (one that raises does not: each probe stands on its own)."""
        try:
            return truth(fn(a, b))
        except Exception:
            return False

    def object_array(x):
        return np_ndarray is not None and _type(x) is np_ndarray and x.dtype == object

    def forged(x, op, other=None, left=True, depth=0):
        """``x``, an operand of a comparison that held, forges it (``other`` the other operand)."""
        t = _type(x)
        if object_array(x):  # numpy compares an object array element by element
            return depth < 4 and forged_items(_list(x.flat[:1000]), op, None, left, depth)
        if library_number(x) or t in approx_types:
            return False  # (an approx object's comparisons with a forged value: forged_approx)
        if t in plain:
            # A builtin container holding objects: the objects decide its comparisons.
            return t in (list, tuple, dict, set, frozenset) and not is_plain(x) and depth < 4 \
                and forged_items(x, op, other, left, depth)
        try:
            names = ("__contains__",) if op in ("in", "not in") and not left else cmp_methods
            for name in names:
                if foreign_method(t, name):
                    flags.append("foreign_" + name.strip("_"))
                    return True
            if op in ("in", "not in") and not left:
                return forged_container(x, op, other)
            if op in ("==", "in"):
                if constant_method(t, "__eq__") or holds(ops["=="], x, _Probe()):
                    flags.append("always_equal")
                    return True
                if op == "==" and (is_plain(other) or library_number(other)):
                    for miss in near_misses(other):
                        if holds(ops["=="], *((x, miss) if left else (miss, x))):
                            flags.append("always_equal")
                            return True
            elif op in ("!=", "not in"):
                if constant_method(t, "__ne__") or holds(ops["!="], x, x):
                    flags.append("never_equal")
                    return True
            elif op in ("<", "<=", ">", ">="):
                if holds(ops[op], x, _Probe()):
                    flags.append("always_ordered")
                    return True
                if _type(other) in (int, float):
                    # nothing honest is below -inf or above +inf
                    bound = -inf if op in ("<", "<=") else inf
                    if holds(ops[op], *((x, bound) if left else (-bound, x))):
                        flags.append("always_ordered")
                        return True
        except Exception:
            return False
        return False

    def forged_items(x, op, other, left, depth):
        """The non-plain objects inside a builtin container, each with its counterpart in ``other``
        (same position or key) when there is one."""
        t = _type(x)
        if t is dict:
            o = other if _type(other) is dict else {}
            pairs = [(k, None) for k in x] + [(v, o.get(k)) for k, v in x.items()]
        elif t in (list, tuple) and _type(other) is t and _len(other) == _len(x):
            pairs = _list(zip(x, other))
        else:
            pairs = [(v, None) for v in x]
        item_op = op if op in ("==", "!=", "<", "<=", ">", ">=") else "=="
        for v, o in pairs[:1000]:
            if not is_plain(v) and forged(v, item_op, o, left, depth + 1):
                return True
        return False

    def stranger(v):
        """A fresh random value of ``v``'s plain type, which no honest container holds."""
        t, r = _type(v), int.from_bytes(urandom(8), "big")
        return {int: r + (1 << 70), float: r + 0.5 + 2.0 ** 70, str: "%x\0" % r,
                bytes: b"%x\0" % r}.get(t, _Probe())

    def forged_container(b, op, element):
        t = _type(b)
        if constant_method(t, "__contains__"):
            flags.append("constant_contains")
            return True
        if _getattr(t, "__next__", None) is not None:
            return False  # an iterator: probing would consume it
        if op == "in":
            for probe in (_Probe(), stranger(element)):
                try:
                    held = truth(probe in b)
                except Exception:  # (a str refuses anything but a str)
                    continue
                if held:
                    flags.append("always_contains")
                    return True
        else:
            for first in _iter(b):
                if truth(first not in b):
                    flags.append("never_contains")
                    return True
                break
        return False

    def honest(v):
        """Builtin values, or numpy / fractions / decimal numbers (not an object array): they cannot
        forge a comparison."""
        return is_plain(v) or (library_number(v) and not object_array(v))

    def library_number(v):
        """A number of numpy, fractions or decimal: those compare and compute honestly."""
        t = _type(v)
        return t in numbers or t in np_types

    def plainify(v, depth=0):
        """``v`` as plain numbers where it is a number: an object that is not a builtin or library
        number answers through ``float()`` (``complex()``), which must return a real one."""
        t = _type(v)
        if t in (list, tuple) and depth < 4:
            return t(plainify(x, depth + 1) for x in v)
        if t is dict and depth < 4:
            return {k: plainify(x, depth + 1) for k, x in v.items()}
        if t in plain or library_number(v):
            return v
        for conv in (float, complex):
            try:
                return conv(v)
            except Exception:
                pass
        return v

    def forged_approx(op, a, b):
        """``x == pytest.approx(...)`` is computed by the approx object from ``x``'s arithmetic
        (``expected - x``), which ``x`` can forge: the comparison must also hold for ``x``'s number."""
        if op not in ("==", "!=") or approx_base is None:
            return False
        for x, other in ((a, b), (b, a)):
            if _isinstance(other, approx_base) and not is_plain(x):
                px = plainify(x)
                if px is not x and not holds(ops["=="], px, other):
                    flags.append("forged_approx")
                    return True
        return False

    def forged_pair(op, a, b):
        """A comparison of ``a`` and ``b`` that held is forged by either side."""
        if forged_approx(op, a, b):
            return True
        if forged(a, op, b, True):
            return True
        if op in ("in", "not in") and _isinstance(b, (list, tuple, set, frozenset)):
            for item in _list(b)[:1000]:
                if forged(item, op, a, True):
                    return True
        return forged(b, op, a, False)

    negation = {"!=": "==", "not in": "in"}

    def shuffled(op, a, b):
        """``a == b`` / ``a != b`` with a non-plain side: the comparison itself runs at a random place
        among its probes (a fresh object, near misses of the plain side), so a method that answers
        differently on its first or n-th call cannot tell which answer counts.  Returns its result
        and whether a probe held too."""
        left = not is_plain(a)
        x, other = (a, b) if left else (b, a)
        if library_number(x) or _type(x) in approx_types or not (is_plain(other) or library_number(other)):
            return ops[op](a, b), False  # (numpy arrays and numbers compare honestly, at any size)
        probes = _list(near_misses(other)) + [_Probe()]
        # A near miss always goes first (an object whose first answer, or first answer to a plain value,
        # is the one it forges, is caught every time); the comparison itself goes anywhere after it.
        order = [1] + sorted([0] + _list(range(2, _len(probes) + 1)), key=lambda i: urandom(2))
        res, held = None, False
        for i in order:
            if i == 0:
                res = ops[op](a, b)  # raises as the comparison would
            elif holds(ops["=="], *((x, probes[i - 1]) if left else (probes[i - 1], x))):
                held = True
        return res, held

    def arith(op, a, b):
        """``a - b`` / ``a + b`` inside an assertion (``abs(f(x) - y) < eps``): a result that does not
        move with a plain operand is forged by the other (``__sub__``/``__rsub__`` returning 0)."""
        res = ops[op](a, b)
        if _type(res) not in (int, float) or (is_plain(a) and is_plain(b)):
            return res
        try:
            if _type(b) in (int, float) and not library_number(a):
                moved = ops[op](a, b + 1)
            elif _type(a) in (int, float) and not library_number(b):
                moved = ops[op](a + 1, b)
            else:
                return res
            if _type(moved) in (int, float) and not _bool(moved != res):
                flags.append("forged_arithmetic")
                return nan
        except Exception:
            pass
        return res

    def operands(a, b):
        """``assertAlmostEqual(a, b)`` operands: numbers as plain numbers (unittest compares them with
        ``==`` and ``abs(a - b)``, both of which an object can forge); other objects as they are, unless
        their equality is forged."""
        pa, pb = plainify(a), plainify(b)
        if (pa is a and not is_plain(a)) or (pb is b and not is_plain(b)):
            if truth(a == b) and forged_pair("==", a, b):
                return nan, b
        return pa, pb

    def cmp(op, a, b, value=False):
        """``a op b`` for an assertion: its truth, or with ``value`` (a comparison nested inside an
        assertion's expression) the comparison's own result.  Refused (False) when forged; a negated
        comparison that claims equality or membership through a forged object reports the opposite.
        Also, nested in assertions: ``op`` "-" / "+" (``arith``) and "almost" (``operands``)."""
        if op in ops and ((_type(a) in scalars and _type(b) in scalars) or (honest(a) and honest(b))):
            res = ops[op](a, b)  # builtin values compare (and add) honestly: the common case, kept fast
            return res if value else truth(res)
        if op in ("-", "+"):
            return arith(op, a, b)
        if op == "almost":
            return operands(a, b)
        if op == "args":  # the values a comparison helper (np.array_equal, assert_allclose) gets
            if not (honest(a) and honest(b)) and forged_pair("==", a, b):
                return _Probe(), _Probe()  # (and flagged): the helper compares two things never equal
            return a, b
        held = False
        if op in ("==", "!="):  # (not both honest: the fast path above took those)
            res, held = shuffled(op, a, b)
        else:
            res = ops[op](a, b)
        if op in ("is", "is not"):
            return res if value else truth(res)
        if held and _type(res) in plain and truth(res) == (op == "=="):
            # it claimed equality, and so did a fresh object or a near miss asked in the same breath
            flags.append("always_equal")
            return (op != "==") if value else False
        if value and _type(res) not in plain:
            # an array, a symbolic relation: judged by what the test does with it, unless an object
            # array's elements forge it
            if op == "==" and (object_array(a) or object_array(b)) and forged_pair(op, a, b):
                return False
            return res
        r = truth(res)
        if r:
            if forged_pair(op, a, b):
                return False
        elif value and op in negation and forged_pair(negation[op], a, b):
            return True
        return res if value else r

    return cmp, truth, flags


# Calls whose first two arguments are compared out of the guard's sight, checked on the way in:
# library functions that compare element by element (numpy, pandas, operator) -> "args"; unittest's
# almost-equal, which compares with ``==`` and ``abs(a - b)`` -> "almost" (plain numbers).
_COMPARE_HELPERS = ("array_equal", "array_equiv", "allclose", "isclose", "assert_array_equal",
                    "assert_array_almost_equal", "assert_allclose", "assert_equal", "assert_almost_equal",
                    "assert_approx_equal", "assert_array_less", "assert_frame_equal", "assert_series_equal",
                    "assert_index_equal", "eq")
CHECKED_ARGUMENTS = dict([(n, "args") for n in _COMPARE_HELPERS]
                         + [(n, "almost") for n in ("assertAlmostEqual", "assertAlmostEquals",
                                                    "assertNotAlmostEqual")])


_OPS = {ast.Eq: "==", ast.NotEq: "!=", ast.Lt: "<", ast.LtE: "<=", ast.Gt: ">", ast.GtE: ">=",
        ast.In: "in", ast.NotIn: "not in", ast.Is: "is", ast.IsNot: "is not"}
_OP_NODES = dict((v, k) for k, v in _OPS.items())
_UNITTEST = {"assertEqual": "==", "assertEquals": "==", "assertNotEqual": "!=", "assertIn": "in",
             "assertNotIn": "not in", "assertListEqual": "==", "assertDictEqual": "==",
             "assertTupleEqual": "==", "assertSetEqual": "==", "assertSequenceEqual": "==",
             "assertGreater": ">", "assertGreaterEqual": ">=", "assertLess": "<", "assertLessEqual": "<="}
# Any identifier a checked call could be spelled with; a file without one needs no look at its calls.
_CHECKED_NAME = re.compile(r"\b(?:%s)\b" % "|".join(sorted(CHECKED_ARGUMENTS)))
_STMT_LISTS = ("body", "orelse", "finalbody", "handlers", "cases")


def _at(node, where):
    """``node`` (made by the rewrite) placed where the code it replaces or wraps is."""
    node.lineno, node.col_offset = where.lineno, where.col_offset
    node.end_lineno, node.end_col_offset = where.end_lineno, where.end_col_offset
    return node


def _guard_call(name, args, where):
    """``name(*args)``, with the call, its name and any constant among ``args`` made here, at ``where``."""
    for a in args:
        if getattr(a, "lineno", None) is None:
            _at(a, where)
    return _at(ast.Call(_at(ast.Name(name, ast.Load()), where), args, []), where)


def _map_children(node, fn):
    """Replace every child node of ``node`` by ``fn(child)`` (the walks below rewrite children first)."""
    for name in node._fields:
        v = getattr(node, name, None)
        if v.__class__ is list:
            for i, x in enumerate(v):
                if isinstance(x, ast.AST):
                    v[i] = fn(x)
        elif isinstance(v, ast.AST):
            setattr(node, name, fn(v))


def _nested(node):
    """Inside an assertion's expression (``all(f(x) == y for ...)``, ``not (a != b)``, ``bool(a == b)``,
    ``(a == b) is True``): each comparison -> ``_kodcode_cmp(op, a, b, True)``, which keeps its value, and
    each ``a - b`` / ``a + b`` -> ``_kodcode_cmp("-", a, b, True)`` (it must move with its plain operand)."""
    _map_children(node, _nested)
    t = node.__class__
    if t is ast.BinOp and node.op.__class__ in (ast.Sub, ast.Add):
        op = "-" if node.op.__class__ is ast.Sub else "+"
        return _guard_call("_kodcode_cmp", [ast.Constant(op), node.left, node.right, ast.Constant(True)], node)
    if t is ast.Compare and len(node.ops) == 1 and node.ops[0].__class__ in _OPS:
        return _guard_call("_kodcode_cmp", [ast.Constant(_OPS[node.ops[0].__class__]), node.left,
                                            node.comparators[0], ast.Constant(True)], node)
    return node


def _guarded(test, where):
    """An assertion's condition: ``a OP b`` -> ``_kodcode_cmp(op, a, b)``, anything else ->
    ``_kodcode_truth(test)``; comparisons nested inside either are rewritten by ``_nested``."""
    if test.__class__ is ast.Compare and len(test.ops) == 1 and test.ops[0].__class__ in _OPS:
        return _guard_call("_kodcode_cmp", [ast.Constant(_OPS[test.ops[0].__class__]), _nested(test.left),
                                            _nested(test.comparators[0])], where)
    return _guard_call("_kodcode_truth", [_nested(test)], where)


def _raises(stmt):
    """A statement that makes a test fail: ``raise``, ``assert``, ``pytest.fail(...)``/``self.fail(...)``."""
    if isinstance(stmt, (ast.Raise, ast.Assert)):
        return True
    if isinstance(stmt, ast.Expr) and isinstance(stmt.value, ast.Call):
        f = stmt.value.func
        return getattr(f, "attr", getattr(f, "id", None)) == "fail"
    return False


_IMPORTS = []  # import statements the running rewrite passed (it visits every statement)


def _rewrite_node(node):
    """The rewrite of one node whose children are already rewritten (post-order, like a NodeTransformer)."""
    t = node.__class__
    if t is ast.Import or t is ast.ImportFrom:
        _IMPORTS.append(node)
        return node
    if t is ast.Assert:
        node.test = _guarded(node.test, node)
    elif t is ast.If:
        # ``if result != expected: raise AssertionError(...)`` (or assert False, pytest.fail, self.fail)
        if any(_raises(n) for n in node.body) or any(_raises(n) for n in node.orelse):
            node.test = _nested(node.test)
    elif t is ast.Call:
        f = node.func
        name = f.attr if f.__class__ is ast.Attribute else getattr(f, "id", None)
        if name in CHECKED_ARGUMENTS and len(node.args) >= 2 \
                and not any(isinstance(a, ast.Starred) for a in node.args[:2]):
            pair = _guard_call("_kodcode_cmp", [ast.Constant(CHECKED_ARGUMENTS[name]), node.args[0], node.args[1],
                                                ast.Constant(True)], node)
            node.args[:2] = [_at(ast.Starred(pair, ast.Load()), node)]
    elif t is ast.Expr:
        call = node.value
        if not (isinstance(call, ast.Call) and isinstance(call.func, ast.Attribute) and not call.keywords):
            return node
        attr = call.func.attr
        if attr in _UNITTEST and len(call.args) >= 2:
            test = ast.Compare(call.args[0], [_OP_NODES[_UNITTEST[attr]]()], [call.args[1]])
            new = ast.copy_location(ast.Assert(None, call.args[2] if len(call.args) > 2 else None), node)
            new.test = _guarded(test, new)
            return new
        if attr in ("assertTrue", "assertFalse") and len(call.args) >= 1:
            arg = call.args[0] if attr == "assertTrue" else _at(ast.UnaryOp(ast.Not(), call.args[0]), node)
            new = ast.copy_location(ast.Assert(None, call.args[1] if len(call.args) > 1 else None), node)
            new.test = _guarded(arg, new)
            return new
    return node


def _rewrite_all(node):
    """Every node (the file names a checked call somewhere)."""
    _map_children(node, _rewrite_all)
    return _rewrite_node(node)


def _rewrite_statements(node):
    """Statements only: what changes (assert, if, unittest calls) is a statement, and without a checked
    call in the file nothing inside an expression changes until its statement is rewritten."""
    for name in _STMT_LISTS:
        v = getattr(node, name, None)
        if v:
            for i, x in enumerate(v):
                v[i] = _rewrite_statements(x)
    return _rewrite_node(node)


def rewrite_test_source(src, tree=None):
    """The test file's AST with every assertion guarded (see the module docstring); nodes the rewrite
    makes take the position of the code they replace, so tracebacks point at the test's own lines.
    The import statements it passed are kept as ``tree.imports`` (for ``imported_roots``).  ``tree``:
    ``src`` already parsed (it is rewritten in place)."""
    tree = ast.parse(src) if tree is None else tree
    del _IMPORTS[:]
    tree = _rewrite_all(tree) if _CHECKED_NAME.search(src) else _rewrite_statements(tree)
    tree.imports = list(_IMPORTS)
    del _IMPORTS[:]
    return tree


def base_name(node):
    """The name a class base is spelled with (``unittest.TestCase`` -> ``TestCase``)."""
    return node.attr if isinstance(node, ast.Attribute) else getattr(node, "id", "")


def inventory_of(tree):
    """Names pytest would collect from a parsed test module: ``test_x``, ``TestClass::test_y``
    (see ``kodcode.exec.inventory``)."""
    names = []
    for node in tree.body:
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)) and node.name.startswith("test"):
            if node.name not in names:
                names.append(node.name)
        elif isinstance(node, ast.ClassDef):
            unittest_style = any(base_name(b).endswith("TestCase") for b in node.bases)
            if not (unittest_style or node.name.startswith("Test")):
                continue
            methods = [n for n in node.body if isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef))]
            if not unittest_style and any(m.name == "__init__" for m in methods):
                continue  # pytest refuses to collect Test classes with __init__
            for m in methods:
                if m.name.startswith("test"):
                    full = "%s::%s" % (node.name, m.name)
                    if full not in names:
                        names.append(full)
    return names


def literal_parametrize(node):
    """``(argnames, value tuples)`` of a test function whose only decorator is
    ``@pytest.mark.parametrize("a, b", [literal, ...])`` and whose parameters are exactly those names;
    None for anything else (``pytest.param``, ``ids``/``indirect``, computed values, stacked decorators,
    fixtures beside the parameters), which a pytest session runs instead."""
    if len(node.decorator_list) != 1 or isinstance(node, ast.AsyncFunctionDef):
        return None
    dec = node.decorator_list[0]
    f = getattr(dec, "func", None)
    if not (isinstance(dec, ast.Call) and isinstance(f, ast.Attribute) and f.attr == "parametrize"
            and isinstance(f.value, ast.Attribute) and f.value.attr == "mark"
            and isinstance(f.value.value, ast.Name) and f.value.value.id == "pytest"
            and len(dec.args) == 2 and not dec.keywords):
        return None
    spec, values = dec.args
    if not (isinstance(spec, ast.Constant) and isinstance(spec.value, str)):
        return None
    if spec.value.rstrip().endswith(","):  # ("a," means a tuple of one in newer pytest only)
        return None
    names = [x.strip() for x in spec.value.split(",")]
    a = node.args
    if not all(n.isidentifier() for n in names) or len(set(names)) != len(names) \
            or a.posonlyargs or a.kwonlyargs or a.vararg or a.kwarg or a.defaults \
            or sorted(x.arg for x in a.args) != sorted(names):
        return None
    if not isinstance(values, (ast.List, ast.Tuple)) or not values.elts:
        return None  # (an empty list is a skipped test under pytest)
    try:
        sets = ast.literal_eval(values)
    except (ValueError, TypeError, SyntaxError, MemoryError, RecursionError):
        return None
    if len(names) == 1:
        return names, [(v,) for v in sets]
    if not all(isinstance(v, (tuple, list)) and len(v) == len(names) for v in sets):
        return None
    return names, [tuple(v) for v in sets]


def fast_path_ok(tree, params=None):
    """Plain module-level ``def test_*():`` functions and nothing pytest-specific around them, or with a
    single literal ``@pytest.mark.parametrize`` (see ``literal_parametrize``; ``params``, a dict, receives
    test name -> its argument names and value tuples).

    Classes pytest never collects are fine (``TreeNode``, ``@dataclass`` records, exceptions): a name not
    starting with ``Test``, no ``...TestCase`` base and no metaclass.  (A class that became a test case
    some other way could only add tests beyond the inventory, which runs exactly the file's own.)"""
    tests = [n.name for n in tree.body if isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef))
             and n.name.startswith("test")]
    for node in tree.body:
        if isinstance(node, ast.ClassDef):
            if node.name.startswith("Test") or node.keywords \
                    or any(base_name(b).endswith("TestCase") for b in node.bases):
                return False
            continue
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            name = node.name
            if name in ("setup_module", "teardown_module", "setup_function", "teardown_function",
                        "setup", "teardown"):
                return False
            if name.startswith("test") and node.decorator_list:
                spec = literal_parametrize(node) if tests.count(name) == 1 else None
                if spec is None:
                    return False
                if params is not None:
                    params[name] = spec
                continue
            if node.decorator_list and any("fixture" in ast.dump(d) for d in node.decorator_list):
                return False
            if name.startswith("test"):
                a = node.args
                if isinstance(node, ast.AsyncFunctionDef) or a.args or a.posonlyargs or a.kwonlyargs \
                        or a.vararg or a.kwarg:
                    return False
        if isinstance(node, ast.Assign):
            for t in node.targets:
                if isinstance(t, ast.Name) and t.id in ("pytestmark", "pytest_plugins"):
                    return False
    return True


_DENY_ALWAYS = frozenset(("gc.get_objects", "gc.get_referrers", "gc.get_referents", "sys._current_frames",
                          "sys.settrace", "sys.setprofile"))
_WATCHED = _DENY_ALWAYS | frozenset(("sys._getframe", "object.__getattr__", "object.__setattr__", "open",
                                     "os.listdir", "os.scandir", "exec"))


def trusted_code_ids(namespaces=()):
    """Ids of every code object of pytest, pluggy and the given namespaces (the worker program).

    Collected once in the zygote, before any job: a frame is trusted only if it runs one of these
    very code objects, which no job can forge (a copied or compiled look-alike is a different object).
    """
    import pkgutil
    import types
    for root in ("_pytest", "pluggy"):
        pkg = sys.modules.get(root)
        for info in pkgutil.walk_packages(getattr(pkg, "__path__", []) or [], root + "."):
            try:
                __import__(info.name)
            except Exception:
                pass
    ids = set()

    def add_code(c):
        if id(c) in ids:
            return
        ids.add(id(c))
        for k in c.co_consts:
            if isinstance(k, types.CodeType):
                add_code(k)

    def add(o, depth=0):
        if depth > 4:
            return
        # methods, decorators, cached/ordinary properties, partials: follow to the function inside
        for attr in ("__func__", "__wrapped__", "func", "fget", "fset", "fdel"):
            try:
                inner = getattr(o, attr, None)
            except Exception:
                inner = None
            if inner is not None and inner is not o and not isinstance(inner, (str, bytes, int)):
                add(inner, depth + 1)
        c = getattr(o, "__code__", None) if not isinstance(o, type) else None
        if isinstance(c, types.CodeType):
            add_code(c)
        elif isinstance(o, type) and depth < 2:
            for v in list(o.__dict__.values()):
                add(v, depth + 1)

    for name, mod in list(sys.modules.items()):
        if name.split(".")[0] in ("_pytest", "pytest", "pluggy") and mod is not None:
            for v in list(vars(mod).values()):
                add(v)
    for ns in namespaces:
        for v in list(ns.values()):
            add(v)
    f = sys._getframe()
    while f is not None:  # the frames running right now (the worker's own <module> and main loop)
        add_code(f.f_code)
        f = f.f_back
    return frozenset(ids)


def install_audit_hook(test_file, trusted_ids, protected=None, on_flag=None):
    """Deny the ways to read or swap test code to any call stack that holds untrusted code.

    A stack is trusted when every frame runs a trusted code object (``trusted_code_ids``), is
    standard library, or runs the test's own code (transparent: who called it decides).  Solution
    code is untrusted, so nothing it calls, directly or laundered through pytest, the standard library
    or a test, gets through; pytest's work and the test's own introspection (``@patch`` decorators,
    ``traceback``, ``logging``, ``sys._getframe()`` in a test) do.  The test's own code is the module
    that pytest or the fast path executes from the test file, first and from a trusted stack (the
    ``exec`` audit event): every code object compiled from it, by identity, which a look-alike compiled
    later under the same file name is not.  Returns the list of denials.

    ``protected``: id -> name of the functions whose code the verdict relies on (``Snapshot.functions``).
    Replacing one's ``__code__`` from a stack the hook lets through (the test's own code) is reported
    through ``on_flag`` the moment it happens, so ``Snapshot.changed`` need not read every function's
    code again before every test (each read is itself an audit event).
    """
    import threading
    _getframe, _isinstance = sys._getframe, isinstance
    stdlib_dir = os.path.dirname(os.__file__)
    site_dir = os.path.join(stdlib_dir, "site-packages")
    local = threading.local()
    denied = []
    FrameType = type(_getframe())
    FunctionType = type(install_audit_hook)
    test_file = os.path.realpath(test_file)
    CodeType = type(install_audit_hook.__code__)
    # id -> code object of the test module's code; the objects are held so that no id is reused.
    test_codes = {}

    def untrusted_caller():
        f = _getframe(2)
        seen_trusted = False
        while f is not None:
            c = f.f_code
            if id(c) in trusted_ids:
                seen_trusted = True
            elif id(c) not in test_codes:
                fn = c.co_filename
                transparent = fn.startswith("<frozen ") or (fn.startswith(stdlib_dir) and not fn.startswith(site_dir))
                if not transparent:
                    return True
            f = f.f_back
        return not seen_trusted  # e.g. a thread started by the job: nothing trusted at its root

    def is_test_code(code):
        return getattr(code, "co_filename", None) in (test_file, "test_solution.py")

    def add_test_code(code):
        test_codes[id(code)] = code
        for k in code.co_consts:
            if _isinstance(k, CodeType):
                add_test_code(k)

    def hook(event, args):
        if event not in _WATCHED or getattr(local, "busy", False):
            return
        local.busy = True
        try:
            reason = None
            if event == "exec":
                code = args[0]
                if not test_codes and _isinstance(code, CodeType) and is_test_code(code) \
                        and code.co_name == "<module>" and not untrusted_caller():
                    add_test_code(code)
                return
            if event in _DENY_ALWAYS:
                reason = event
            elif event == "sys._getframe":
                if is_test_code(args[0].f_code):
                    reason = "frame of a test"
            elif event == "object.__getattr__":
                obj, attr = args[0], args[1]
                if attr == "f_code" and _isinstance(obj, FrameType) and is_test_code(obj.f_code):
                    reason = "code of a test frame"
                elif attr == "__code__" and _isinstance(obj, FunctionType) and is_test_code(obj.__code__):
                    reason = "code of a test function"
            elif event == "object.__setattr__":
                if args[1] == "__code__":
                    reason = "replacing a function's code"
            elif event in ("open", "os.listdir", "os.scandir"):
                path = args[0]
                if _isinstance(path, (str, bytes)):
                    p = os.path.realpath(path if _isinstance(path, str) else path.decode(errors="replace"))
                    if p == test_file or (p.startswith("/proc/") and ("/fd" in p or "/mem" in p)):
                        reason = "reading " + p
            if reason is not None and untrusted_caller():
                denied.append(reason)
                if event == "sys._getframe":
                    raise ValueError("call stack is not deep enough")  # what stdlib callers expect
                if event in ("object.__getattr__", "object.__setattr__"):
                    raise AttributeError("%s is not available in the sandbox" % reason)
                if event in ("open", "os.listdir", "os.scandir"):
                    raise PermissionError("%s is not available in the sandbox" % reason)
                raise RuntimeError("%s is not available in the sandbox" % reason)
            if event == "object.__setattr__" and protected and id(args[0]) in protected and on_flag is not None:
                on_flag("tampered:%s.__code__" % protected[id(args[0])])
        finally:
            local.busy = False

    sys.addaudithook(hook)
    return denied


_HEAPTYPE = 1 << 9  # Py_TPFLAGS_HEAPTYPE


# Library modules tests check with or compute their expected values from (``math.isclose``,
# ``np.allclose``, ``np.testing.assert_*``, mocks' ``assert_called_with``, ``collections.Counter``).
# Those the worker has loaded are watched like builtins: a job that rebinds one of their functions or
# classes, or puts another module in their place, is tampering.  (A module a job imports itself is new
# to the job; its solution runs first and could patch it unseen: list it in ``preimport`` to watch it.)
LIBRARY_MODULES = ("math", "cmath", "operator", "statistics", "fractions", "decimal", "functools",
                   "itertools", "collections", "heapq", "bisect", "re", "string", "copy", "random", "json",
                   "unittest.mock", "mock", "numpy", "numpy.testing", "numpy.linalg", "numpy.random",
                   "pandas", "pandas.testing", "scipy", "sympy")
_LIBRARY_ROOTS = frozenset(m.split(".")[0] for m in LIBRARY_MODULES)


def imported_roots(tree, _roots=_LIBRARY_ROOTS):
    """Packages of ``LIBRARY_MODULES`` that the statements of a test module import, at any depth
    (``import math`` inside a test function too); ``tree`` as ``rewrite_test_source`` returns it."""
    found = set()
    for node in tree.imports:
        if node.__class__ is ast.Import:
            found.update(a.name.split(".")[0] for a in node.names)
        elif node.module and not node.level:
            found.add(node.module.split(".")[0])
    return found & _roots


def _code_of(v, _type=type, _Function=type(_at), _wrappers=(type(_at.__get__(0)), classmethod, staticmethod)):
    """The code of a function, method, classmethod or staticmethod (read through their types: an object
    whose ``__getattr__`` answers every name, such as ``mock.call``, has none)."""
    t = _type(v)
    if t in _wrappers:
        v = v.__func__
        t = _type(v)
    return v.__code__ if t is _Function else None


def _module_name(v, _ModuleType=type(sys), _issubclass=issubclass, _type=type, _get=object.__getattribute__):
    """``v.__name__`` if ``v`` is a module (read from its own dict: a subclass cannot answer for it)."""
    if not _issubclass(_type(v), _ModuleType):
        return None
    name = _get(v, "__dict__").get("__name__")
    return name if _type(name) is str else None


class Snapshot(object):
    """Identity of everything the verdict depends on, taken before untrusted code runs."""

    MODULES = ("builtins", "_pytest.runner", "_pytest.reports", "_pytest.python", "_pytest.main",
               "_pytest.fixtures", "_pytest.outcomes", "_pytest.unittest", "_pytest.skipping",
               "_pytest.capture", "_pytest.config", "pluggy", "pluggy._hooks", "pluggy._callers",
               "pluggy._manager", "unittest", "unittest.case", "unittest.result")

    def __init__(self, modules=None):
        self.modules = tuple(modules or self.MODULES)
        self.present = tuple(name for name in self.modules if name in sys.modules)
        # the module objects themselves: a job that puts another object in ``sys.modules`` in their place
        # hands every later ``import`` its own functions
        self.loaded = tuple((name, sys.modules[name]) for name in self.present)
        self.items = []
        for name in self.modules:
            mod = sys.modules.get(name)
            if mod is None:
                continue
            self._add(name, mod.__dict__)
            for key, val in list(mod.__dict__.items()):
                # Classes written in C (int, list, ...) cannot be changed from Python at all ("cannot set
                # attribute of immutable type"): only heap types can, and only they are watched.
                if isinstance(val, type) and getattr(val, "__module__", None) == name and val.__flags__ & _HEAPTYPE:
                    self._add(name + "." + key, val.__dict__)
        self._group()

    def _group(self):
        """Index for ``only``: what belongs to each package of ``LIBRARY_MODULES``, and everything else
        (made once in the worker, so that a job touches only the parts it checks: reading an object in a
        forked job writes its reference count, and copies its page)."""
        libraries, base, groups = frozenset(LIBRARY_MODULES), ([], []), {}

        def part(name):
            return groups.setdefault(name.split(".")[0], ([], [])) if name in libraries else base

        for name, mod in self.loaded:
            part(name)[1].append((name, mod))
        for it in self.items:
            part(it[0] if it[0] in self.present else it[0].rsplit(".", 1)[0])[0].append(it)
        self.groups = {k: (tuple(v[0]), tuple(v[1])) for k, v in groups.items()}
        self.base = (tuple(base[0]), tuple(base[1]))
        self.by_name = dict(self.loaded)
        self.cuts = {}  # (``only`` looks here first)
        self.cuts = {frozenset(r): self.only(r) for r in [()] + [(k,) for k in self.groups]}

    def _derived(self, modules, loaded, items):
        """A snapshot made of parts of this one (``rebased``, ``only``); it is not cut down further."""
        new = Snapshot.__new__(Snapshot)
        new.modules, new.loaded, new.items = modules, loaded, items
        new.present = tuple(name for name, _ in loaded)
        new.groups, new.by_name = {}, dict(loaded)
        return new

    def _add(self, label, ns, known=None):
        """``known``: value id -> (value, code) already read; a code is read only for other values."""
        keys, vals, coded = [], [], []
        for k, v in list(ns.items()):
            # Behaviour lives in functions and classes; plain data and properties are session state.
            if k in ("_", "__import__") or isinstance(v, property) \
                    or not (callable(v) or isinstance(v, (classmethod, staticmethod))):
                continue
            keys.append(k)
            vals.append(v)
            seen = known.get(id(v)) if known else None
            if seen is not None and seen[0] is v:
                code = seen[1]
            else:
                code = _code_of(v)
            if code is not None:
                coded.append((k, v, code))
        self.items.append((label, ns, tuple(keys), tuple(vals), tuple(coded), frozenset(ns)))

    def functions(self):
        """id -> name of every function whose code this snapshot compares (for ``install_audit_hook``)."""
        import types
        out = {}
        for label, _, _, _, coded, _ in self.items:
            for k, v, _ in coded:
                fn = v if type(v) is types.FunctionType else getattr(v, "__func__", v)  # (methods: their function)
                out[id(fn)] = "%s.%s" % (label, k)
        return out

    def rebased(self):
        """This snapshot taken again now, reading a function's code only where the value is not the very
        object seen before (the worker takes the snapshot once; each job retakes it when pytest has
        configured itself; pytest's own plugins add attributes to a few classes while configuring).  A
        module that gained, lost or rebound a name: everything is taken afresh (its classes may differ)."""
        if any(name in sys.modules for name in self.modules if name not in self.present):
            return Snapshot(self.modules)
        new = self._derived(self.modules, self.loaded, [])
        for item in self.items:
            label, ns, keys, vals, coded, names = item
            if ns.keys() == names and not any(map(operator.is_not, map(ns.get, keys), vals)):
                new.items.append(item)
            elif label in self.modules:
                return Snapshot(self.modules)
            else:
                new._add(label, ns, {id(v): (v, c) for _, v, c in coded})
        return new

    def scan(self, namespace, _list=list, _module_name=_module_name, _type=type, _str=str,
             _get=object.__getattribute__, _method=type(_at.__get__(0)), _kinds=(type(len), type(_at), type),
             _roots=_LIBRARY_ROOTS):
        """What a test module's namespace reaches: the packages of ``LIBRARY_MODULES`` behind its modules
        (``np`` from the solution's ``import numpy as np``, through ``import *``) and behind its functions
        and classes (``from math import isclose``; ``operator.eq`` is ``_operator``'s); and the names
        bound to a module that calls itself a watched module but is not the one the worker loaded
        (another object put in ``sys.modules``)."""
        roots, impostors = set(), []
        for k, v in _list(namespace.items()):
            name = _module_name(v)
            if name is not None:
                real = self.by_name.get(name)
                if real is not None and v is not real:
                    impostors.append(_str(k))
            else:
                if _type(v) is _method:
                    v = _get(v, "__func__")
                if _type(v) in _kinds:
                    try:
                        name = _get(v, "__module__")
                    except AttributeError:
                        pass
            if _type(name) is _str:
                root = name.split(".")[0]
                roots.add(root[1:] if root[:1] == "_" else root)
        return roots & _roots, impostors

    def only(self, roots, _tuple=tuple, _list=list, _sorted=sorted):
        """This snapshot without the ``LIBRARY_MODULES`` outside the package names ``roots`` (those one job's
        test can reach; each check then reads only those).  Cuts for none or one package are made ahead;
        a snapshot already cut (or retaken) is its own cut."""
        if not self.groups:
            return self
        new = self.cuts.get(frozenset(roots))
        if new is not None:
            return new
        items, loaded = _list(self.base[0]), _list(self.base[1])
        for root in _sorted(roots):
            group = self.groups.get(root)
            if group is not None:
                items.extend(group[0])
                loaded.extend(group[1])
        loaded = _tuple(loaded)
        return self._derived(_tuple(name for name, _ in loaded), loaded, items)

    def changed(self, codes=True, _any=any, _map=map, _zip=zip, _is_not=operator.is_not, _code_of=_code_of,
                _modules=sys.modules, _type=type, _Function=type(_at)):
        """The first name whose value (or, with ``codes``, whose function's code) is not what was seen."""
        # (builtins bound when this class was made: a job that patches them cannot blind the check)
        for name, mod in self.loaded:
            if _modules.get(name) is not mod:
                return "sys.modules[%r]" % name
        for label, ns, keys, vals, coded, _ in self.items:
            if _any(_map(_is_not, _map(ns.get, keys), vals)):
                for k, v in _zip(keys, vals):
                    if ns.get(k) is not v:
                        return "%s.%s" % (label, k)
            if not codes:
                continue
            for k, v, code in coded:
                cur_code = v.__code__ if _type(v) is _Function else _code_of(v)
                if cur_code is not code:
                    return "%s.%s.__code__" % (label, k)
        return None
