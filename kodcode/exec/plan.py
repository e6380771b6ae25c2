"""The parent's plan of a pytest job: what the job may see of its test, and what the verdict will check.

A verdict may depend only on things the solution cannot write or read.  Once the solution is imported,
everything in the job's process is the solution's to rewrite, so this module, run in the trusted parent
before anything reaches the worker, takes out of the test what decides it:

* **Secret sites.**  An assertion whose expected side is a constant of the test (``assert f(x) == 3``,
  ``assert f(x) is None``, ``assert not is_prime(8)``, ``pytest.approx(2.5)``, ``math.isclose(y, 1.0)``,
  ``abs(y - 2) < 1e-9``, ``self.assertEqual(y, [1, 2])``, ``with pytest.raises(ValueError, match=...)``
  (and ``pytest.warns``),
  a local ``expected = [...]`` used only there) becomes ``_kc_site(id, <actual>)``: the job reports the
  actual value as plain data and the parent compares it (``judge``).  The constant, the operator and
  the polarity never enter the job.
* **Open sites.**  Every other assertion compares values the job computes; it becomes
  ``_kc_check``/``_kc_truth`` (the comparison runs in the job as the test wrote it, and both sides are
  reported, so the parent re-does it on plain data and refuses non-plain objects posing as plain data),
  with comparisons nested inside it guarded by ``_kc_cmp``.
* **Accounting.**  Which tests must report (``inventory``) and which sites each test must reach, in
  order (the unconditional ones: straight-line statements of the test function), are the parent's.
* **Names.**  ``from solution import *`` becomes ``_kc_star(globals())``: names that would shadow a
  builtin the test relies on (``sorted``, ``len``, ``all``...) are not imported; a test that means the
  solution's own ``pow`` imports it by name (``from solution import pow``), as Python reads that.

Run ``plan_test(test, solution, prepend_import)``; the engine sends ``JobPlan.source`` to the worker
and keeps the rest for ``verdict.decide``.
"""

from __future__ import annotations

import ast
import builtins
import functools
import re
from dataclasses import dataclass, field
from typing import Any

from .astfacts import (
    _OPS,
    BUILTIN_NAMES,
    _bound_to,
    _call,
    _compares_objects,
    _constant_locals,
    _drop_assignment,
    _is_const,
    _lazy,
    _map_children,
    _module_names,
    _name,
    _nested,
    _nodes,
    _NotConstant,
    _solution_facts,
    _star_import_first,
    _stmt,
    _test_locals,
    const_value,
)
from .worker.shape import inventory_of

CHECKS_MODULE = "_kodcode_checks"
CHECK_NAMES = ("_kc_site", "_kc_raises", "_kc_check", "_kc_truth", "_kc_cmp", "_kc_chain", "_kc_star", "_kc_warns")
_EXCEPTIONS = frozenset(n for n in BUILTIN_NAMES if isinstance(getattr(builtins, n), type)
                        and issubclass(getattr(builtins, n), BaseException))
_SWAP = {"==": "==", "!=": "!=", "<": ">", "<=": ">=", ">": "<", ">=": "<="}  # E op A  ==  A swap(op) E
_UNITTEST_CMP = {"assertEqual": "==", "assertEquals": "==", "assertNotEqual": "!=", "assertListEqual": "==",
                 "assertDictEqual": "==", "assertTupleEqual": "==", "assertSetEqual": "==",
                 "assertSequenceEqual": "==", "assertMultiLineEqual": "==", "assertCountEqual": "count",
                 "assertIn": "in", "assertNotIn": "not in", "assertGreater": ">", "assertGreaterEqual": ">=",
                 "assertLess": "<", "assertLessEqual": "<=", "assertIs": "is", "assertIsNot": "is not"}
_OPERATOR_FUNCS = {"eq": "==", "ne": "!=", "lt": "<", "le": "<=", "gt": ">", "ge": ">="}
_ARRAY_HELPERS = {"array_equal": "arrayeq", "array_equiv": "arrayeq", "allclose": "allclose",
                  "assert_array_equal": "arrayeq", "assert_equal": "arrayeq", "assert_allclose": "allclose",
                  "assert_array_almost_equal": "arrayalmost", "assert_almost_equal": "arrayalmost"}
_CATCHES_ASSERTION = frozenset(("AssertionError", "Exception", "BaseException"))


@dataclass
class Site:
    """One assertion of the test, as the parent judges it."""

    id: int
    kind: str  # cmp | truth | approx | isclose | absdiff | almost | raises | open | open_truth
    line: int
    text: str  # the assertion as written (for messages)
    test: str | None = None  # inventory name of the test whose straight-line code holds it
    required: bool = False
    op: str = "=="  # cmp: A op E (the hole is on the left); absdiff: the comparison with the tolerance
    expected: Any = None
    negate: bool = False
    params: dict = field(default_factory=dict)


@dataclass
class JobPlan:
    source: str  # the rewritten module the worker gets
    inventory: list[str]
    sites: dict[int, Site]
    required: dict[str, list[int]]  # test -> site ids it must report, in order
    star_import: bool  # the module's second statement imports the solution (``_kc_star``)
    value_classes: frozenset = frozenset()  # the solution's classes the test may compare as their own

    def secret_share(self) -> tuple[int, int]:
        """(secret sites, all sites): how many assertions' expected values stayed out of the job."""
        secret = sum(s.kind not in ("open", "open_truth") for s in self.sites.values())
        return secret, len(self.sites)


class _Planner:
    def __init__(self, src: str, offset: int = 0, value_classes=frozenset()):
        self.src, self.offset = src, offset
        self._lines: list[str] | None = None  # (split once: see _segment)
        self.value_classes = value_classes  # the solution's classes, by name (see _value_shaped)
        self.bound: set[str] = set()  # the current function's names bound to one of them
        self.test_names: set[str] = set()  # builtins and the test module's own names (see _test_built)
        self.test_locals: set[str] = set()  # the current function's names built from those only
        self.objects = False  # the current function compares objects of the solution's classes
        self.sites: dict[int, Site] = {}
        self.required: dict[str, list[int]] = {}
        self.consts: dict[str, Any] = {}  # the current function's locals bound once to a constant

    # -- sites
    def _new(self, kind, node, test, required, **kw) -> Site:
        sid = len(self.sites) + 1
        text = self._segment(node)[:300]
        s = Site(sid, kind, getattr(node, "lineno", 0) - self.offset, text, test, required, **kw)
        self.sites[sid] = s
        if required and test is not None:
            self.required.setdefault(test, []).append(sid)
        return s

    def _segment(self, node) -> str:
        """``ast.get_source_segment``, with the source split into lines once per test, not per site."""
        try:
            lo, hi = node.lineno - 1, node.end_lineno - 1
            c0, c1 = node.col_offset, node.end_col_offset
        except AttributeError:
            return ""
        if hi is None or c1 is None:
            return ""
        if self._lines is None:
            self._lines = re.findall(r"[^\r\n]*(?:\r\n|\r|\n)|[^\r\n]+$", self.src)
        lines = self._lines[lo:hi + 1]
        if not lines or hi >= len(self._lines):
            return ""
        if lo == hi:
            return lines[0].encode()[c0:c1].decode(errors="replace")
        first, last = lines[0].encode()[c0:].decode(errors="replace"), lines[-1].encode()[:c1].decode(errors="replace")
        return first + "".join(lines[1:-1]) + last

    def _expected(self, node):
        """(True, value) when ``node`` is a constant of the test (or a local bound once to one)."""
        if isinstance(node, ast.Name) and node.id in self.consts:
            return True, self.consts[node.id]
        try:
            return True, const_value(node)
        except _NotConstant:
            return False, None

    def _secret(self, kind, node, hole, test, required, refs=(), **kw):
        """``refs``: the names the original assertion used and the rewrite no longer calls
        (``pytest.approx``, ``math.isclose``): still evaluated, so that a test that never imported them
        fails with the same NameError."""
        site = self._new(kind, node, test, required, **kw)
        return _stmt(_call("_kc_site", [ast.Constant(site.id), _nested(hole)] + list(refs), node), node)

    def assertion(self, node: ast.Assert, test, required, secret_ok):
        """An ``assert`` statement -> its rewrite (statements).  ``assert a and b`` is ``assert a`` then
        ``assert b`` (the same short-circuit), so each part can be a site of its own."""
        if isinstance(node.test, ast.BoolOp) and isinstance(node.test.op, ast.And):
            out = []
            for part in node.test.values:
                out.extend(self.assertion(ast.copy_location(ast.Assert(part, node.msg), node), test, required,
                                          secret_ok))
            return out
        return [self._assertion(node, test, required, secret_ok)]

    def _assertion(self, node: ast.Assert, test, required, secret_ok):
        cond, negate = node.test, False
        while isinstance(cond, ast.UnaryOp) and isinstance(cond.op, ast.Not):
            cond, negate = cond.operand, not negate
        if secret_ok and not self._value_shaped(cond):
            new = self._secret_assert(node, cond, negate, test, required)
            if new is not None:
                return new
        if isinstance(cond, ast.Compare) and len(cond.ops) == 1 and cond.ops[0].__class__ in _OPS:
            sides = (self._test_built(cond.left), self._test_built(cond.comparators[0]))
            site = self._new("open", node, test, required, op=_OPS[cond.ops[0].__class__], negate=negate,
                             params={"test_sides": sides, "objects": self.objects or self._value_shaped(cond)})
            return _stmt(_call("_kc_check", [ast.Constant(site.id), ast.Constant(site.op), _nested(cond.left),
                                             _nested(cond.comparators[0]), ast.Constant(negate),
                                             _lazy(node.msg)], node), node)
        if _is_const(cond):
            return node  # ``assert False, "..."``: fails (or passes) as written
        site = self._new("open_truth", node, test, required, negate=negate)
        return _stmt(_call("_kc_truth", [ast.Constant(site.id), _nested(cond), ast.Constant(negate),
                                         _lazy(node.msg)], node), node)

    def _secret_assert(self, node, cond, negate, test, required):
        if isinstance(cond, ast.Compare) and len(cond.ops) == 1 and cond.ops[0].__class__ in _OPS:
            op = _OPS[cond.ops[0].__class__]
            left, right = cond.left, cond.comparators[0]
            for hole, other in ((left, right), (right, left)):
                approx = self._approx(other)
                if approx is not None and op in ("==", "!="):
                    if self._approx(hole) is not None or _is_const(hole):
                        return None  # (constant against constant: nothing of the solution's to judge)
                    return self._secret("approx", node, hole, test, required, op=op, expected=approx[0],
                                        negate=negate, params=approx[1], refs=[other.func])
            lc, lv = self._expected(left)
            rc, rv = self._expected(right)
            tol = self._absdiff(left) if rc and op in ("<", "<=") else None
            if tol is not None:
                return self._secret("absdiff", node, tol[0], test, required, op=op, expected=tol[1],
                                    negate=negate, params={"tol": rv})
            if rc and not lc:
                hole, expected = left, rv
            elif lc and not rc and op in _SWAP:
                hole, expected, op = right, lv, _SWAP[op]
            elif lc and not rc and op in ("in", "not in"):
                return self._secret("cmp", node, right, test, required, op="has" if op == "in" else "lacks",
                                    expected=lv, negate=negate)
            else:
                return None
            if op in ("is", "is not") and expected not in (None, True, False):
                return None  # (identity of other constants is an implementation detail)
            return self._secret("cmp", node, hole, test, required, op=op, expected=expected, negate=negate)
        helper = self._helper(cond, negate, node, test, required)
        if helper is not None:
            return helper
        if isinstance(cond, ast.Call) and _name(cond.func) == "isclose" and len(cond.args) == 2:
            which = "isclose" if isinstance(cond.func, ast.Attribute) and _name(cond.func.value) == "math" \
                else ("npisclose" if isinstance(cond.func, ast.Attribute) and _name(cond.func.value) in ("np", "numpy")
                      else None)
            if which is None:
                return None
            ok, expected = self._expected(cond.args[1])
            params = self._keywords(cond)
            if ok and params is not None and not _is_const(cond.args[0]):
                return self._secret(which, node, cond.args[0], test, required, expected=expected, negate=negate,
                                    refs=[cond.func],
                                    params=params)
            return None
        if _is_const(cond):
            return None
        return self._secret("truth", node, cond, test, required, negate=negate)

    def _helper(self, call, negate, node, test, required):
        """``operator.eq(HOLE, CONST)``, ``np.array_equal(HOLE, CONST)``, ``np.allclose(HOLE, CONST)`` and the
        ``np.testing.assert_*`` family -> a secret site (None: not one of them)."""
        if not (isinstance(call, ast.Call) and isinstance(call.func, ast.Attribute) and len(call.args) >= 2):
            return None
        name, owner = call.func.attr, _name(call.func.value)
        kind = None
        if owner == "operator" and name in _OPERATOR_FUNCS and len(call.args) == 2 and not call.keywords:
            kind = "cmp"
        elif owner in ("np", "numpy", "testing") and name in _ARRAY_HELPERS:
            kind = _ARRAY_HELPERS[name]
        if kind is None or any(isinstance(a, ast.Starred) for a in call.args):
            return None
        ok, expected = self._expected(call.args[1])
        if not ok or _is_const(call.args[0]):
            return None
        params = self._keywords(call)
        if params is None:
            return None
        if len(call.args) > 2:
            good, v = self._expected(call.args[2])
            if not good or len(call.args) > 3:
                return None
            params["_pos"] = v
        op = _OPERATOR_FUNCS.get(name, "==") if kind == "cmp" else "=="
        params["_fn"] = name
        return self._secret(kind, node, call.args[0], test, required, op=op, expected=expected, negate=negate,
                            refs=[call.func],
                            params=params)

    def _test_built(self, expr) -> bool:
        """The expression is the test's own: every name it reads is a builtin, the test module's, or a
        local the test function built from such names (``[mock.ANY, 2]``, ``Close(0.3)``), never the
        solution's."""
        return all(n.id in self.test_names or n.id in self.test_locals
                   for n in _nodes(expr) if isinstance(n, ast.Name) and isinstance(n.ctx, ast.Load))

    def _value_shaped(self, cond) -> bool:
        """The assertion compares an object of a class the test builds itself (``ModInt(3) + ModInt(4) ==
        0``, ``m = Money(150); assert m == 1.5``): that class's comparison decides, as the test asks, so the
        expected value must stay with the job."""
        if not self.value_classes:
            return False
        stack = [(cond, None)]
        while stack:
            n, parent = stack.pop()
            receiver = isinstance(parent, ast.Attribute)
            if not receiver and isinstance(n, ast.Call) and isinstance(n.func, ast.Name) \
                    and n.func.id in self.value_classes:
                return True
            if not receiver and isinstance(n, ast.Name) and n.id in self.bound:
                return True
            stack.extend((c, n) for c in ast.iter_child_nodes(n))
        return False

    def _keywords(self, call, allowed=None) -> dict | None:
        """A call's keyword arguments as constants (``rel=1e-3``), or None when one is not a constant or
        not among ``allowed``."""
        params = {}
        for k in call.keywords:
            good, v = self._expected(k.value)
            if not good or k.arg is None or (allowed is not None and k.arg not in allowed):
                return None
            params[k.arg] = v
        return params

    def _approx(self, node):
        """``pytest.approx(CONST, rel=CONST, abs=CONST)`` -> (expected, params)."""
        if not (isinstance(node, ast.Call) and _name(node.func) == "approx" and len(node.args) == 1):
            return None
        ok, expected = self._expected(node.args[0])
        if not ok:
            return None
        params = self._keywords(node, ("rel", "abs", "nan_ok"))
        return None if params is None else (expected, params)

    def _absdiff(self, node):
        """``abs(HOLE - CONST)`` / ``abs(CONST - HOLE)`` -> (hole, expected)."""
        if not (isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id == "abs"
                and len(node.args) == 1 and isinstance(node.args[0], ast.BinOp)
                and isinstance(node.args[0].op, ast.Sub)):
            return None
        a, b = node.args[0].left, node.args[0].right
        ok_b, vb = self._expected(b)
        ok_a, va = self._expected(a)
        if ok_b and not ok_a:
            return a, vb
        if ok_a and not ok_b:
            return b, va
        return None

    def unittest_call(self, node: ast.Expr, test, required, secret_ok):
        """``self.assertEqual(a, b)`` and friends -> a site (or None to leave the call as it is)."""
        call = node.value
        attr, args = call.func.attr, call.args
        kw = {k.arg: k.value for k in call.keywords if k.arg}
        if len(kw) != len(call.keywords) or any(isinstance(a, ast.Starred) for a in args):
            return None
        msg = args[2] if len(args) > 2 else kw.get("msg")
        if attr in ("assertTrue", "assertFalse", "assertIsNone", "assertIsNotNone"):
            msg = args[1] if len(args) > 1 else kw.get("msg")
        if attr in ("assertTrue", "assertFalse") and len(args) >= 1:
            cond = args[0] if attr == "assertTrue" else ast.copy_location(ast.UnaryOp(ast.Not(), args[0]), node)
            return self._assertion(ast.copy_location(ast.Assert(cond, msg), node), test, required, secret_ok)
        if attr in ("assertIsNone", "assertIsNotNone") and len(args) >= 1:
            cmp = ast.Compare(args[0], [ast.Is() if attr == "assertIsNone" else ast.IsNot()], [ast.Constant(None)])
            return self._assertion(ast.copy_location(ast.Assert(ast.copy_location(cmp, node), msg), node),
                                  test, required, secret_ok)
        op = _UNITTEST_CMP.get(attr)
        if op is not None and op != "count" and len(args) >= 2 and set(kw) <= {"msg"}:
            node_op = {v: k for k, v in _OPS.items()}[op]()
            cmp = ast.copy_location(ast.Compare(args[0], [node_op], [args[1]]), node)
            return self._assertion(ast.copy_location(ast.Assert(cmp, msg), node), test, required, secret_ok)
        if attr in ("assertAlmostEqual", "assertNotAlmostEqual") and len(args) >= 2 and secret_ok:
            ok, expected = self._expected(args[1])
            params = {}
            for k in ("places", "delta"):
                if k in kw:
                    good, v = self._expected(kw[k])
                    if not good:
                        return None
                    params[k] = v
            if len(args) > 2 or (set(kw) - {"places", "delta", "msg"}) or not ok or _is_const(args[0]):
                return None
            return self._secret("almost", node, args[0], test, required, expected=expected, refs=[call.func],
                                negate=attr == "assertNotAlmostEqual", params=params)
        return None

    def raises(self, node: ast.With, item: ast.withitem, test, required):
        """``with pytest.raises(BuiltinError[, match=CONST]) [as info]:`` -> ``with _kc_raises(id) [as info]:``."""
        call = item.context_expr
        kind = _name(call.func) if isinstance(call, ast.Call) else None
        if kind not in ("raises", "warns") or len(call.args) != 1 or len(node.items) != 1:
            return None
        names = call.args[0].elts if isinstance(call.args[0], ast.Tuple) else [call.args[0]]
        if not names or not all(isinstance(n, ast.Name) and n.id in _EXCEPTIONS for n in names):
            return None
        params = self._keywords(call, ("match",))
        if params is None or not isinstance(params.get("match", ""), str):
            return None
        site = self._new(kind, node, test, required, expected=[n.id for n in names], params=params)
        item.context_expr = _call("_kc_" + kind, [ast.Constant(site.id), call.func], call)
        return node

    # -- walking a function
    def function(self, fn, test):
        """Rewrite the assertions of one function (``test``: its inventory name, or None for helpers)."""
        saved = self.consts, self.bound
        nodes = _nodes(fn)  # (walked once: the helpers below read this list)
        self.consts = _constant_locals(fn, nodes)
        self.bound = _bound_to(nodes, self.value_classes) if self.value_classes else set()
        saved_locals = self.test_locals
        self.test_locals = _test_locals(fn, nodes, self.test_names)
        # A test that compares or computes with objects of the solution's own classes (``price() ==
        # Money(150)``) asks their comparisons to decide: its expected values stay with the job.
        secret_ok = not (self.value_classes and _compares_objects(nodes, self.value_classes, self.bound))
        saved_objects, self.objects = self.objects, not secret_ok
        if not secret_ok:
            self.consts = {}
        for name in self.consts:
            _drop_assignment(fn, name)
        fn.body = self.block(fn.body, test, True, secret_ok)
        self.consts, self.bound = saved
        self.test_locals, self.objects = saved_locals, saved_objects

    def block(self, stmts, test, required, secret_ok):
        out = []
        for st in stmts:
            new = self.statement(st, test, required, secret_ok)
            out.extend(new if isinstance(new, list) else [new])
        return out

    def statement(self, st, test, required, secret_ok):
        t = st.__class__
        if t is ast.Assert:
            return self.assertion(st, test, required, secret_ok)
        if t is ast.Expr and isinstance(st.value, ast.Call) and isinstance(st.value.func, ast.Attribute) \
                and st.value.func.attr.startswith("assert"):
            if st.value.func.attr in _ARRAY_HELPERS and secret_ok and not self._value_shaped(st.value):
                new = self._helper(st.value, False, st, test, required)
                if new is not None:
                    return new
            new = self.unittest_call(st, test, required, secret_ok and not self._value_shaped(st.value))
            if new is not None:
                return new
            _map_children(st, _nested)
            return st
        if t in (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef, ast.Lambda):
            if t is not ast.ClassDef:
                self.function(st, None)  # a nested helper: its own scope, never required
            return st
        if t in (ast.With, ast.AsyncWith):
            item = st.items[0] if st.items else None
            is_raises = item is not None and isinstance(item.context_expr, ast.Call) \
                and _name(item.context_expr.func) in ("raises", "warns", "deprecated_call")
            if is_raises and secret_ok and self.raises(st, item, test, required) is not None:
                st.body = self.block(st.body, test, False, True)
                return st
            for it in st.items:
                it.context_expr = _nested(it.context_expr)
            # inside pytest.raises(AssertionError) an assertion must raise in the job: open sites only
            st.body = self.block(st.body, test, required and not is_raises, secret_ok and not is_raises)
            return st
        if t is ast.Try or t.__name__ == "TryStar":
            catches = any(h.type is None or any(isinstance(n, (ast.Name, ast.Attribute)) and
                                                _name(n) in _CATCHES_ASSERTION
                                                for n in (h.type.elts if isinstance(h.type, ast.Tuple) else [h.type]))
                          for h in st.handlers)
            st.body = self.block(st.body, test, False, secret_ok and not catches)
            for h in st.handlers:
                h.body = self.block(h.body, test, False, secret_ok)
            st.orelse = self.block(st.orelse, test, False, secret_ok)
            st.finalbody = self.block(st.finalbody, test, False, secret_ok)
            return st
        for name in ("body", "orelse"):
            v = getattr(st, name, None)
            if isinstance(v, list) and v and isinstance(v[0], ast.stmt):
                setattr(st, name, self.block(v, test, False, secret_ok))
        # Comparisons outside assertions too (``ok = f(x) == 5``, ``if x != y: raise``): what the test
        # concludes from them is its verdict.
        for name, v in ast.iter_fields(st):
            if isinstance(v, ast.expr):
                setattr(st, name, _nested(v))
            elif isinstance(v, list) and v and isinstance(v[0], ast.expr):
                setattr(st, name, [_nested(x) for x in v])
        if t.__name__ == "Match":
            for case in st.cases:
                case.body = self.block(case.body, test, False, secret_ok)
        return st


def plan_test(test: str, solution: str = "", prepend_import: bool = True) -> JobPlan:
    """The plan of one pytest job (raises SyntaxError/ValueError/RecursionError when the test does not parse).

    A plan depends on the solution only through the names its module binds and its classes, so plans
    are kept by (test, those): the attempts at one question (a GRPO group, n samples) share one.  A
    plan is never changed once made."""
    names, classes = _solution_facts(solution) if solution else (set(), frozenset())
    return _plan(test, prepend_import, frozenset(names), classes)


@functools.lru_cache(maxsize=256)
def _plan(test: str, prepend_import: bool, names: frozenset, classes: frozenset) -> JobPlan:
    src = ("from solution import *\n\n" + test) if prepend_import else test
    tree = ast.parse(src)
    inventory = inventory_of(tree)
    # (lines as the test file numbers them)
    planner = _Planner(src, 2 if prepend_import else 0, classes)
    planner.test_names = _module_names(tree, names)
    tests = set(inventory)
    for node in tree.body:
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            planner.function(node, node.name if node.name in tests else None)
        elif isinstance(node, ast.ClassDef):
            for m in node.body:
                if isinstance(m, (ast.FunctionDef, ast.AsyncFunctionDef)):
                    name = "%s::%s" % (node.name, m.name)
                    planner.function(m, name if name in tests else None)
        elif isinstance(node, (ast.If, ast.Try, ast.With)):
            for sub in ast.walk(node):
                if isinstance(sub, (ast.FunctionDef, ast.AsyncFunctionDef)):
                    planner.function(sub, sub.name if sub.name in tests else None)
    star = _star_import_first(tree)
    head = ast.parse("from %s import %s" % (CHECKS_MODULE, ", ".join(CHECK_NAMES))).body
    if star:
        tree.body[0] = _stmt(_call("_kc_star", [_call("globals", [], tree.body[0])], tree.body[0]), tree.body[0])
    tree.body[:0] = head  # (no fix_missing_locations: the tree is only unparsed, never compiled)
    return JobPlan(ast.unparse(tree), inventory, planner.sites, planner.required, star, planner.value_classes)
