"""The fast path: plain ``def test_*():`` modules (one literal ``@pytest.mark.parametrize`` allowed),
compiled by the worker and called directly, without a pytest session; the test file is never written."""

import ast
import importlib.machinery
import importlib.util
import sys
import time

from .outcome import _classify, _libraries_reached, _msg, note_test_classes
from .state import STATE


def _compiled_solution(job, path):
    """``(path, code)``: the solution compiled as the import system would compile the file the job writes
    (UTF-8, from bytes, so a coding cookie or BOM means the same), or None to let the job's import
    compile it (and raise what it raises).  Only for the prepended ``from solution import *``, which is
    the test module's first statement: nothing can change the file between writing and importing it;
    and not beside extra job files (a ``solution/`` package among them would be what an import finds)."""
    if not job.get("star_import") or job.get("files"):
        return None
    try:
        return path, compile(job["solution"].encode("utf-8"), path, "exec", dont_inherit=True)
    except Exception:
        return None

class _SolutionFinder(object):
    """A one-shot finder, first on ``sys.meta_path``, for module ``solution``: the spec the path finder
    would make for the job's ``solution.py`` (a ``SourceFileLoader`` of the same file: same ``__file__``,
    ``__cached__``, source), whose loader hands out the worker's compiled code instead of finding,
    reading and compiling the file again.  It leaves ``sys.meta_path`` on first use, before the
    solution runs, so a reload reads the file."""

    path = code = None

    @classmethod
    def install(cls, path, code):
        cls.path, cls.code = path, code
        sys.meta_path.insert(0, cls)

    @classmethod
    def find_spec(cls, name, path=None, target=None):
        if name != "solution" or path is not None:
            return None
        try:
            sys.meta_path.remove(cls)
        except ValueError:
            pass
        code, cls.code = cls.code, None
        if code is None:
            return None
        loader = importlib.machinery.SourceFileLoader(name, cls.path)
        # (a builtin, which also keeps the code alive: nothing the solution reaches through its module's
        # __loader__ leads back to this program, and the worker's objects are never freed in the job)
        loader.get_code = {name: code}.get
        return importlib.util.spec_from_file_location(name, cls.path, loader=loader)

def _test_codes(module_code):
    """Name -> code object of each top-level test function, straight from the compiled module."""
    out = {}
    for c in module_code.co_consts:
        if hasattr(c, "co_name") and c.co_name.startswith("test"):
            out.setdefault(c.co_name, c)
    return out

_KEPT = []  # what the job must not free (see _run_fast)

def _run_fast(p):
    import types
    tree, outcomes = p["tree"], p["outcomes"]
    mod = types.ModuleType("test_solution")
    mod.__file__ = p["test_file"]  # never written: nothing to read back
    g = mod.__dict__
    names = [n.name for n in tree.body if isinstance(n, ast.FunctionDef) and n.name.startswith("test")]
    # the argument sets of parametrized tests, read from their literals by fast_path_ok (taken out of p,
    # like the tree below: they hold expected values)
    params = p.pop("params")
    code_file, code = p.pop("code", None) or (None, None)  # (compiled by the worker: see analyse)
    try:
        if code_file != mod.__file__:
            code = compile(tree, mod.__file__, "exec")
        elif isinstance(code, BaseException):
            raise code
        # Keep only ids in this frame: the AST and the code objects hold the expected values, and a job
        # can read the locals of this frame.  They stay alive in _KEPT until the job exits: the worker
        # allocated them, and freeing them here would write to (copy) every page they sit in.
        trusted = {k: id(c) for k, c in _test_codes(code).items()}
        _KEPT.append((p.pop("tree"), code))
        tree = None
        exec(code, g)
    except BaseException as e:  # collection error: every test is an error
        return {"runner": "fast", "collect_error": _msg(e)}
    finally:
        code = None
    emit = p["emit"]
    note_test_classes(g, p["classes"])
    snap = p["libs"] = _libraries_reached(p, g, lambda name: emit({"t": "flag", "flag": name}))
    tampered = None
    seen = set()
    for name in names:
        if name in seen:
            continue
        seen.add(name)
        fn = g.get(name)
        # The guard and the test's code must be the ones compiled here, before every single test.
        if id(getattr(fn, "__code__", None)) != trusted.get(name):
            emit({"t": "phase", "nodeid": name, "when": "call", "outcome": "error", "duration": 0.0,
                  "message": "the test function was replaced before it ran"})
            emit({"t": "flag", "flag": "tampered_test"})
            continue
        spec = params.get(name)
        calls = [(name, {})] if spec is None else \
            [("%s[%d]" % (name, i), dict(zip(spec[0], values))) for i, values in enumerate(spec[1])]
        for nodeid, kwargs in calls:
            changed = snap.changed(codes=False)
            if changed and changed != tampered:
                tampered = changed
                emit({"t": "flag", "flag": "tampered:" + changed})
            STATE["current"] = nodeid
            t0 = time.perf_counter()
            outcome, message = "passed", ""
            try:
                fn(**kwargs)
            except BaseException as e:
                outcome, message = _classify(e, outcomes), _msg(e)
            emit({"t": "phase", "nodeid": nodeid, "when": "call", "outcome": outcome,
                  "duration": time.perf_counter() - t0, "message": message})
            if outcome == "interrupted":
                return {"runner": "fast"}
    return {"runner": "fast"}
