"""The shape of a test module, read from its syntax tree: which tests pytest would collect
(``inventory_of``), whether the fast path can run it (``fast_path_ok``, ``literal_parametrize``), and
which watched library packages it imports and which classes it defines (``roots_and_classes``).

Shared by the parent (``kodcode.exec.plan`` imports this module as an ordinary one: the inventory is
computed there, outside the job) and the worker (the fast-path decision, before it forks the job).
"""

import ast

from .snapshot import _LIBRARY_ROOTS

_COMPOUND = (ast.If, ast.Try, ast.With)  # module-level blocks whose definitions pytest still collects


def base_name(node):
    """The name a class base is spelled with (``unittest.TestCase`` -> ``TestCase``)."""
    return node.attr if isinstance(node, ast.Attribute) else getattr(node, "id", "")


def module_definitions(tree):
    """Top-level statements of a module, with the bodies of module-level ``if``/``try``/``with`` blocks
    flattened in (a test defined there is a module attribute pytest collects)."""
    out = []

    def walk(stmts):
        for node in stmts:
            if isinstance(node, _COMPOUND):
                for name in ("body", "orelse", "finalbody"):
                    walk(getattr(node, name, None) or [])
                for h in getattr(node, "handlers", None) or []:
                    walk(h.body)
            else:
                out.append(node)

    walk(tree.body)
    return out


def is_fixture(node):
    """A function decorated with ``@pytest.fixture`` (or ``@fixture``, with or without arguments)."""
    for d in getattr(node, "decorator_list", ()):
        f = d.func if isinstance(d, ast.Call) else d
        if base_name(f) == "fixture":
            return True
    return False


def _test_case_classes(defs):
    """Names of the module's classes that are ``unittest.TestCase`` subclasses, through bases defined in
    the module too (``class TestX(Base)`` with ``class Base(unittest.TestCase)``)."""
    classes = {n.name: n for n in defs if isinstance(n, ast.ClassDef)}
    found = set()
    changed = True
    while changed:
        changed = False
        for name, node in classes.items():
            if name not in found and any(base_name(b).endswith("TestCase") or base_name(b) in found
                                         for b in node.bases):
                found.add(name)
                changed = True
    return found


def inventory_of(tree):
    """Names pytest would collect from a parsed test module: ``test_x``, ``TestClass::test_y``."""
    defs = module_definitions(tree)
    unittest_classes = _test_case_classes(defs)
    names = []
    for node in defs:
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)) and node.name.startswith("test"):
            if node.name not in names and not is_fixture(node):
                names.append(node.name)
        elif isinstance(node, ast.ClassDef):
            unittest_style = node.name in unittest_classes
            if not (unittest_style or node.name.startswith("Test")):
                continue
            methods = [n for n in node.body if isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef))]
            if not unittest_style and any(m.name == "__init__" for m in methods):
                continue  # pytest refuses to collect Test classes with __init__
            for m in methods:
                if m.name.startswith("test") and not is_fixture(m):
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
    if any(isinstance(n, _COMPOUND) and any(isinstance(x, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef))
                                            for x in ast.walk(n)) for n in tree.body):
        return False  # (definitions inside module-level blocks: a pytest session collects what exists)
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
            if is_fixture(node):
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

def statements(body):
    """Every statement of a block, at any depth (imports and class definitions are statements, so this
    finds them all without walking the expressions: a fraction of ``ast.walk``'s cost)."""
    stack = list(body)
    while stack:
        st = stack.pop()
        yield st
        for name in ("body", "orelse", "finalbody"):
            sub = getattr(st, name, None)
            if sub.__class__ is list:
                stack.extend(sub)
        for h in getattr(st, "handlers", ()):
            stack.extend(h.body)
        for c in getattr(st, "cases", ()):
            stack.extend(c.body)


def roots_and_classes(tree, _roots=_LIBRARY_ROOTS):
    """Packages of ``snapshot.LIBRARY_MODULES`` that the statements of a test module import, at any
    depth (``import math`` inside a test function too), and the names of the classes it defines."""
    found, classes = set(), set()
    for node in statements(tree.body):
        k = node.__class__
        if k is ast.Import:
            found.update(a.name.split(".")[0] for a in node.names)
        elif k is ast.ImportFrom and node.module and not node.level:
            found.add(node.module.split(".")[0])
        elif k is ast.ClassDef:
            classes.add(node.name)
    return found & _roots, frozenset(classes)
