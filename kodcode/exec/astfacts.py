"""What the planner reads off a test's and a solution's syntax trees (``kodcode.exec.plan`` uses them).

Constant expressions of the test (``const_value``), the names the test module and the solution bind,
a test function's locals built from the test's own names or bound once to a constant, whether it
compares objects of the solution's classes, and the rewrite of comparisons nested inside an
expression into guarded ``_kc_cmp``/``_kc_chain`` calls.  Pure functions of the trees: nothing here
runs or imports the code it reads.
"""

from __future__ import annotations

import ast
import builtins
import math
from typing import Any

BUILTIN_NAMES = frozenset(n for n in dir(builtins) if not n.startswith("_"))
_OPS = {ast.Eq: "==", ast.NotEq: "!=", ast.Lt: "<", ast.LtE: "<=", ast.Gt: ">", ast.GtE: ">=",
        ast.In: "in", ast.NotIn: "not in", ast.Is: "is", ast.IsNot: "is not"}
_MAX_CONST = 10_000_000  # elements/characters a folded constant may have (``"b" * 100000``)


def _nodes(node) -> list:
    """Every node under ``node`` (itself included), like ``ast.walk`` but as a list and in no promised
    order, several times faster: for the set and any/all questions the planner asks of a function."""
    out, stack = [], [node]
    AST = ast.AST
    while stack:
        n = stack.pop()
        out.append(n)
        for name in n._fields:
            v = getattr(n, name, None)
            if v.__class__ is list:
                stack.extend(x for x in v if isinstance(x, AST))
            elif isinstance(v, AST):
                stack.append(v)
    return out


class _NotConstant(Exception):
    pass


def const_value(node: ast.AST) -> Any:
    """The value of a constant expression of the test (a literal, ``-1``, ``"b" * 100000``,
    ``float("inf")``, ``set()``, ``tuple([1, 2])``...); raises ``_NotConstant`` for anything else."""
    try:
        return ast.literal_eval(node)
    except (ValueError, TypeError, SyntaxError, MemoryError, RecursionError):
        pass
    t = node.__class__
    if t is ast.UnaryOp and node.op.__class__ in (ast.USub, ast.UAdd, ast.Not):
        v = const_value(node.operand)
        return -v if node.op.__class__ is ast.USub else (+v if node.op.__class__ is ast.UAdd else not v)
    if t is ast.BinOp and node.op.__class__ in (ast.Add, ast.Sub, ast.Mult):
        a, b = const_value(node.left), const_value(node.right)
        if node.op.__class__ is ast.Mult and isinstance(a, (str, bytes, list, tuple)) \
                and isinstance(b, int) and len(a) * max(b, 0) > _MAX_CONST:
            raise _NotConstant()
        if node.op.__class__ is ast.Mult and isinstance(b, (str, bytes, list, tuple)) \
                and isinstance(a, int) and len(b) * max(a, 0) > _MAX_CONST:
            raise _NotConstant()
        if isinstance(a, int) and isinstance(b, int) and max(abs(a), abs(b)).bit_length() > 4096:
            raise _NotConstant()
        try:
            return {ast.Add: lambda: a + b, ast.Sub: lambda: a - b, ast.Mult: lambda: a * b}[node.op.__class__]()
        except Exception:
            raise _NotConstant() from None
    if t is ast.Call and isinstance(node.func, ast.Name) and not node.keywords:
        f = node.func.id
        args = [const_value(a) for a in node.args]
        if f == "float" and len(args) == 1 and isinstance(args[0], str) \
                and args[0].strip().lower().lstrip("+-") in ("inf", "infinity", "nan"):
            return float(args[0])
        if f in ("set", "frozenset", "tuple", "list", "dict") and len(args) <= 1:
            try:
                return getattr(builtins, f)(*args)
            except Exception:
                raise _NotConstant() from None
    if t is ast.Attribute and isinstance(node.value, ast.Name) and node.value.id == "math" \
            and node.attr in ("inf", "nan", "pi", "e", "tau"):
        return getattr(math, node.attr)
    raise _NotConstant()


def _is_const(node) -> bool:
    try:
        const_value(node)
        return True
    except _NotConstant:
        return False


def _name(f) -> str | None:
    return f.attr if isinstance(f, ast.Attribute) else getattr(f, "id", None)


def _call(name, args, where, keywords=()):
    node = ast.Call(ast.Name(name, ast.Load()), list(args), list(keywords))
    return ast.copy_location(node, where)


def _stmt(value, where):
    return ast.copy_location(ast.Expr(value), where)


def _lazy(msg):
    """An assertion's message, evaluated only when it fails (as Python does)."""
    if msg is None:
        return ast.Constant(None)
    return ast.Lambda(ast.arguments(posonlyargs=[], args=[], vararg=None, kwonlyargs=[], kw_defaults=[],
                                    kwarg=None, defaults=[]), msg)


def _module_names(tree, solution_names) -> set[str]:
    """Builtins and the names the test module itself defines or imports (not through ``import *``)."""
    names = set(BUILTIN_NAMES)
    for node in tree.body:
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            names.add(node.name)
        elif isinstance(node, ast.Import):
            names.update((a.asname or a.name).split(".")[0] for a in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module != "solution":
            names.update(a.asname or a.name for a in node.names if a.name != "*")
        elif isinstance(node, ast.Assign):
            names.update(t.id for t in node.targets if isinstance(t, ast.Name))
    return names - set(solution_names)


def _test_locals(fn, nodes, test_names) -> set[str]:
    """Locals of ``fn`` every assignment of which builds its value from the test's own names only."""
    assigns: dict[str, list] = {}
    other: set[str] = set()
    for node in nodes:
        if isinstance(node, ast.Assign) and len(node.targets) == 1 and isinstance(node.targets[0], ast.Name):
            assigns.setdefault(node.targets[0].id, []).append(node.value)
        elif isinstance(node, (ast.Assign, ast.AugAssign, ast.AnnAssign, ast.For, ast.With, ast.NamedExpr,
                               ast.comprehension)):
            for sub in _nodes(node.target if hasattr(node, "target") else node):
                if isinstance(sub, ast.Name) and isinstance(sub.ctx, ast.Store):
                    other.add(sub.id)
    args = {a.arg for a in fn.args.args + fn.args.posonlyargs + fn.args.kwonlyargs}
    good = set()
    changed = True
    while changed:
        changed = False
        for name, values in assigns.items():
            if name in good or name in other or name in args:
                continue
            if all(all(n.id in test_names or n.id in good for n in _nodes(v)
                       if isinstance(n, ast.Name) and isinstance(n.ctx, ast.Load)) for v in values):
                good.add(name)
                changed = True
    return good


def _solution_facts(solution: str) -> tuple[set[str], frozenset[str]]:
    """The names the solution's module binds at top level, and its top-level classes named like classes
    (``ModInt``, not ``solve``): objects of these, built by the test itself, are compared by their own
    rules.  (Parsed once; nothing of it when it does not parse.)"""
    try:
        tree = ast.parse(solution)
    except (SyntaxError, ValueError, RecursionError, MemoryError):
        return set(), frozenset()
    names = set()
    for node in tree.body:
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            names.add(node.name)
        elif isinstance(node, (ast.Import, ast.ImportFrom)):
            names.update((a.asname or a.name).split(".")[0] for a in node.names)
        else:
            for sub in _nodes(node):
                if isinstance(sub, ast.Name) and isinstance(sub.ctx, ast.Store):
                    names.add(sub.id)
    classes = frozenset(n.name for n in tree.body if isinstance(n, ast.ClassDef) and n.name[:1].isupper())
    return names, classes


def _bound_to(nodes, classes) -> set[str]:
    """Names the function binds to a new object of one of ``classes`` (``m = ModInt(3)``, ``m += 1``)."""
    out = set()
    for node in nodes:
        if isinstance(node, ast.Assign) and isinstance(node.value, ast.Call) \
                and isinstance(node.value.func, ast.Name) and node.value.func.id in classes:
            out.update(t.id for t in node.targets if isinstance(t, ast.Name))
    return out


def _compares_objects(nodes, classes, bound) -> bool:
    """The function compares, or does arithmetic with, a new object of one of ``classes`` (or a name
    bound to one), rather than only calling its methods (``Solution().two_sum(...)``)."""
    def is_object(n):
        return (isinstance(n, ast.Call) and isinstance(n.func, ast.Name) and n.func.id in classes) or \
            (isinstance(n, ast.Name) and n.id in bound)

    for node in nodes:
        if isinstance(node, ast.Compare) and any(is_object(x) for x in [node.left] + node.comparators):
            return True
        if isinstance(node, ast.BinOp) and (is_object(node.left) or is_object(node.right)):
            return True
        if isinstance(node, (ast.UnaryOp, ast.AugAssign)) and is_object(getattr(node, "operand", None)
                                                                         or getattr(node, "target", None)):
            return True
    return False


def _constant_locals(fn, nodes) -> dict[str, Any]:
    """Names a function binds exactly once, in a top-level ``name = CONST`` statement, and uses only as
    the constant side of an ``assert``'s comparison: their value need never enter the job."""
    assigned: dict[str, Any] = {}
    counts: dict[str, int] = {}
    for node in nodes:
        targets = []
        if isinstance(node, (ast.Assign, ast.AugAssign, ast.AnnAssign)):
            targets = node.targets if isinstance(node, ast.Assign) else [node.target]
        elif isinstance(node, (ast.For, ast.AsyncFor, ast.comprehension)):
            targets = [node.target]
        elif isinstance(node, (ast.With, ast.AsyncWith)):
            targets = [i.optional_vars for i in node.items if i.optional_vars is not None]
        elif isinstance(node, ast.NamedExpr):
            targets = [node.target]
        for tg in targets:
            for n in _nodes(tg):
                if isinstance(n, ast.Name):
                    counts[n.id] = counts.get(n.id, 0) + 1
    for st in fn.body:
        if isinstance(st, ast.Assign) and len(st.targets) == 1 and isinstance(st.targets[0], ast.Name):
            name = st.targets[0].id
            if counts.get(name) == 1:
                try:
                    assigned[name] = const_value(st.value)
                except _NotConstant:
                    pass
    if not assigned:
        return {}
    allowed: dict[str, int] = {}  # uses as the expected side of an assert's single comparison
    for node in nodes:
        if isinstance(node, ast.Assert):
            cond = node.test
            while isinstance(cond, ast.UnaryOp) and isinstance(cond.op, ast.Not):
                cond = cond.operand
            if isinstance(cond, ast.Compare) and len(cond.ops) == 1 and cond.ops[0].__class__ in _OPS:
                for side in (cond.left, cond.comparators[0]):
                    if isinstance(side, ast.Name) and side.id in assigned:
                        allowed[side.id] = allowed.get(side.id, 0) + 1
    uses: dict[str, int] = {}
    for node in nodes:
        if isinstance(node, ast.Name) and isinstance(node.ctx, ast.Load) and node.id in assigned:
            uses[node.id] = uses.get(node.id, 0) + 1
    return {k: v for k, v in assigned.items() if uses.get(k, 0) and uses[k] == allowed.get(k, 0)}


def _drop_assignment(fn, name):
    for i, st in enumerate(fn.body):
        if isinstance(st, ast.Assign) and len(st.targets) == 1 and isinstance(st.targets[0], ast.Name) \
                and st.targets[0].id == name:
            fn.body[i] = ast.copy_location(ast.Pass(), st)
            return


def _map_children(node, fn):
    for name in node._fields:
        v = getattr(node, name, None)
        if v.__class__ is list:
            for i, x in enumerate(v):
                if isinstance(x, ast.AST):
                    v[i] = fn(x)
        elif isinstance(v, ast.AST):
            setattr(node, name, fn(v))


def _nested(node):
    """Comparisons inside an expression (``all(f(x) == y for ...)``) -> ``_kc_cmp(op, a, b)``, which keeps
    Python's result except where a non-plain object claims to equal plain data."""
    if isinstance(node, (ast.Lambda, ast.FunctionDef)):
        return node
    _map_children(node, _nested)
    if node.__class__ is ast.Compare and all(op.__class__ in _OPS for op in node.ops):
        ops = [_OPS[op.__class__] for op in node.ops]
        if len(ops) == 1:
            if ops[0] in ("is", "is not"):
                return node
            return _call("_kc_cmp", [ast.Constant(ops[0]), node.left, node.comparators[0]], node)
        # ``a == b == c``: each link guarded, later operands evaluated only as Python would
        thunks = [_lazy(c) for c in node.comparators]
        return _call("_kc_chain", [ast.Tuple([ast.Constant(o) for o in ops], ast.Load()), node.left] + thunks, node)
    return node


def _star_import_first(tree) -> bool:
    first = tree.body[0] if tree.body else None
    return isinstance(first, ast.ImportFrom) and first.module == "solution" and not first.level \
        and len(first.names) == 1 and first.names[0].name == "*"
