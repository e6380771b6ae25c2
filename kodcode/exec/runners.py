"""The runners a job process executes (part of the worker program, see ``zygote.py``).

* ``PytestRunner`` "fast": plain ``def test_*():`` modules, compiled here from the rewritten AST and
  called directly; the test file is never written to disk.
* ``PytestRunner`` "pytest": an in-process ``pytest.main`` with a reporting plugin, for fixtures,
  parametrize, marks, classes (unittest too) and everything else.  The test file is removed and the
  module dropped from ``sys.modules`` once collected.
* ``CaseRunner``: stdio and call jobs; each case runs in its own fork, so the runner itself never
  executes untrusted code and its report cannot be forged by it.

Standard library only (pytest imported from the job interpreter); Python 3.9+.  Names such as
``make_guard`` or ``STATE`` come from the other parts of the worker program when concatenated; the
imports below make the file importable on its own as well.
"""

import ast
import importlib.machinery
import importlib.util
import json
import os
import resource
import select
import signal
import sys
import time

if "make_guard" not in globals():  # imported on its own (tests); the worker program defined them above
    from kodcode.exec.guard import (Snapshot, fast_path_ok, imported_roots, install_audit_hook,  # noqa: F401
                                    inventory_of, make_guard, rewrite_test_source, trusted_code_ids)

STATE = globals().get("STATE", {})


class _Base(object):
    @staticmethod
    def prepare(job, workdir):
        return None


class PytestRunner(_Base):
    @staticmethod
    def analyse(job, test_file=None):
        """What the test source alone decides, worked out by the worker before it forks the job (see
        ``zygote.run_job``): the expected inventory, which stays outside the job, and for the job the
        rewritten tree, the runner path, the libraries the test imports and, on the fast path where the
        job's file name is known in advance (``test_file``), the compiled module.  Done there, this
        memory is allocated once in the worker instead of in freshly faulted pages of every job.

        Raises what ``ast.parse`` raises on a test that does not parse; a later failure is the job's
        (its setup fails with it, or a compile error becomes its collection error)."""
        src = job["test"]
        if job.get("prepend_import", True):
            src = "from solution import *\n\n" + src
        tree = ast.parse(src)
        inventory = inventory_of(tree)
        try:
            tree = rewrite_test_source(src, tree)
            params = {}  # (the fast path's parametrized tests)
            fast = STATE["cfg"].get("fast_path", True) and fast_path_ok(tree, params)
            a = {"tree": tree, "params": params, "mode": "fast" if fast else "pytest",
                 "roots": imported_roots(tree)}
            if fast and test_file:
                try:
                    a["code"] = (test_file, compile(tree, test_file, "exec"))
                except Exception as e:  # raised again in the job, as its collection error
                    a["code"] = (test_file, e)
                solution_file = os.path.join(os.path.dirname(test_file), "solution.py")
                a["solution"] = _compiled_solution(job, solution_file)
        except Exception as e:
            a = {"error": e}
        return inventory, a

    @staticmethod
    def prepare(job, workdir):
        a = job.pop("analysis")  # (the worker's, see zygote.run_job)
        if "error" in a:
            raise a["error"]
        path = os.path.join(workdir, "solution.py")
        _write(path, job["solution"])  # (sandbox.py: UTF-8, plain system calls)
        solution = a.get("solution")
        if solution is not None and solution[0] == path:
            _SolutionFinder.install(path, solution[1])
        emitter = _Emitter()
        STATE["flag_sink"] = emitter  # where the worker's guard streams the flags it raises
        cmp, truth, flags = STATE["guard"]
        # The library modules the test imports are watched (see Snapshot); more join once its namespace
        # is known.
        libs, roots = STATE["library_snapshot"], a["roots"]
        from _pytest import outcomes
        return {"tree": a["tree"], "code": a.get("code"), "cmp": cmp, "truth": truth, "flags": flags,
                "mode": a["mode"], "emit": emitter.emit, "emitter": emitter, "outcomes": outcomes,
                "params": a["params"], "libs": libs.only(roots), "roots": roots, "scan": libs.scan,
                "only": libs.only, "test_file": os.path.join(workdir, "test_solution.py")}

    @staticmethod
    def run(job, workdir, p, fixed):
        p["emitter"].fd = fixed["res"]
        p["denied"] = install_audit_hook(p["test_file"], STATE["trusted_ids"], STATE["protected_code"], _stream_flag)
        if p["mode"] == "fast":
            res = _run_fast(p)
        else:
            res = _run_pytest(workdir, p)
        flags = set(p["flags"]) | set(res.get("flags", []))
        # (pytest mode compares around every test instead: its own unconfigure undoes plugin patches)
        changed = p["libs"].changed() if p["mode"] == "fast" else None
        if changed:
            flags.add("tampered:" + changed)
            p["emit"]({"t": "flag", "flag": "tampered:" + changed})
        if p["denied"]:
            flags.add("denied:" + p["denied"][0])
        res["flags"] = sorted(flags)  # outcomes were streamed as they happened; see _Emitter
        return res


def _compiled_solution(job, path):
    """``(path, code)``: the solution compiled as the import system would compile the file the job writes
    (UTF-8, from bytes, so a coding cookie or BOM means the same), or None to let the job's import
    compile it (and raise what it raises).  Only for the prepended ``from solution import *``, which is
    the test module's first statement: nothing can change the file between writing and importing it;
    and not beside extra job files (a ``solution/`` package among them would be what an import finds)."""
    if not job.get("prepend_import", True) or job.get("files"):
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


def _stream_flag(name):
    """Send a flag the moment it is raised, to the running job's emitter (``STATE["flag_sink"]``)."""
    sink = STATE.get("flag_sink")
    if sink is not None:
        sink.emit({"t": "flag", "flag": name})


def make_worker_guard():
    """The comparison guard, made once in the worker (before any job) and inherited by every job: its
    flags are streamed as they are raised (``_stream_flag``)."""
    return make_guard(on_flag=_stream_flag)


class _Emitter(object):
    """Writes each outcome and flag to the result pipe the moment it exists.

    The engine takes outcomes only from this stream (one line per test phase) and treats a phase
    reported twice as forged, so a job thread that later rewrites the runner's in-memory lists, or
    writes records of its own, changes nothing or is caught."""

    def __init__(self):
        self.fd = None

    def emit(self, rec):
        if self.fd is None:
            return
        data = b"\n" + json.dumps(rec, default=repr).encode() + b"\n"
        while data:
            n = os.write(self.fd, data)
            data = data[n:]


def _classify(exc, outcomes):
    if isinstance(exc, (outcomes.Exit, KeyboardInterrupt)):
        return "interrupted"
    if isinstance(exc, outcomes.XFailed):
        return "xfailed"
    if isinstance(exc, outcomes.Skipped):
        return "skipped"
    return "failed"


def _msg(exc):
    try:
        text = "%s: %s" % (type(exc).__name__, exc)
    except Exception:
        text = type(exc).__name__
    return text[:500]


def _test_codes(module_code):
    """Name -> code object of each top-level test function, straight from the compiled module."""
    out = {}
    for c in module_code.co_consts:
        if hasattr(c, "co_name") and c.co_name.startswith("test"):
            out.setdefault(c.co_name, c)
    return out


def _libraries_reached(p, namespace, flag):
    """The library snapshot one job compares: the packages its test's source imports (``p["libs"]``) and
    those the test module's namespace reaches only through other names (``np`` from the solution's
    ``import *``).  A name bound to an impostor of a watched module is flagged."""
    reached, impostors = p["scan"](namespace)
    for k in impostors:
        flag("tampered:module bound to %s" % k)
    return p["only"](p["roots"] | reached) if reached - p["roots"] else p["libs"]


_KEPT = []  # what the job must not free (see _run_fast)


def _run_fast(p):
    import types
    tree, outcomes = p["tree"], p["outcomes"]
    mod = types.ModuleType("test_solution")
    mod.__file__ = p["test_file"]  # never written: nothing to read back
    g = mod.__dict__
    cmp, truth = p["cmp"], p["truth"]
    g["_kodcode_cmp"], g["_kodcode_truth"] = cmp, truth
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
    snap = p["libs"] = _libraries_reached(p, g, lambda name: emit({"t": "flag", "flag": name}))
    tampered = None
    seen = set()
    for name in names:
        if name in seen:
            continue
        seen.add(name)
        fn = g.get(name)
        # The guard and the test's code must be the ones compiled here, before every single test.
        if g.get("_kodcode_cmp") is not cmp or g.get("_kodcode_truth") is not truth:
            emit({"t": "flag", "flag": "tampered_guard"})
            g["_kodcode_cmp"], g["_kodcode_truth"] = cmp, truth
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


def _own_code(obj, stdlib, site):
    """The code a collected test runs: through standard-library wrappers (``@patch``) to the function
    they wrap, which must come from the test file (``stdlib``/``site``: directories taken before the
    solution was imported)."""
    for _ in range(20):
        obj = getattr(obj, "__func__", obj)
        code = getattr(obj, "__code__", None)
        if code is None:
            return None
        fn = code.co_filename
        if not (fn.startswith(stdlib) and not fn.startswith(site)) or not hasattr(obj, "__wrapped__"):
            return code
        obj = obj.__wrapped__
    return code


def _run_pytest(workdir, p):
    import types
    import pytest
    from _pytest.reports import TestReport
    orig_make = TestReport.__dict__["from_item_and_call"].__func__
    collect_errors, flags = [], []
    cmp, truth, test_file, emit = p["cmp"], p["truth"], p["test_file"], p["emit"]
    stdlib = os.path.dirname(os.__file__)  # before the solution is imported (it could patch os)
    site = os.path.join(stdlib, "site-packages")
    state = {"snapshot": None, "plugins": None, "config": None, "libs": p["libs"]}

    def flag(name):
        flags.append(name)
        emit({"t": "flag", "flag": name})

    def check(item):
        g = getattr(getattr(item, "module", None), "__dict__", {})
        if g.get("_kodcode_cmp") is not cmp or g.get("_kodcode_truth") is not truth:
            flag("tampered_guard")
            g["_kodcode_cmp"], g["_kodcode_truth"] = cmp, truth
        snap = state["snapshot"]
        # (identities only: replacing a protected function's code is flagged by the audit hook the moment
        # it happens; the codes are compared once more when the session finishes)
        changed = (snap.changed(codes=False) or state["libs"].changed(codes=False)) if snap is not None \
            else "pytest session (no snapshot)"
        if changed:
            flag("tampered:" + changed)
        pm = getattr(state["config"], "pluginmanager", None)
        if pm is not None and {id(x) for x in pm.get_plugins()} - state["plugins"]:
            flag("tampered:plugin registered by the job")
        code = _own_code(getattr(item, "obj", None), stdlib, site)
        if code is not None and code.co_filename != test_file:
            flag("tampered_test")

    class Plugin(object):
        @pytest.hookimpl(tryfirst=True)
        def pytest_collection(self, session):
            # pytest's own plugins patch pytest while configuring; the solution is imported only
            # during collection, so this is the moment to take the reference picture.
            state["snapshot"] = STATE["pytest_snapshot"].rebased()
            state["config"] = session.config
            state["plugins"] = {id(x) for x in session.config.pluginmanager.get_plugins()}

        @pytest.hookimpl(hookwrapper=True)
        def pytest_runtest_makereport(self, item, call):
            # After every other implementation (unittest's moves its failure into `call`), rebuild the
            # report with the original constructor (patching TestReport cannot reach it) and stream it.
            outcome = yield
            rep = orig_make(TestReport, item, call)
            outcome.force_result(rep)
            out = rep.outcome
            if getattr(rep, "wasxfail", ""):
                out = "xfailed" if out == "skipped" else "xpassed"
            elif rep.when != "call" and out == "failed":
                out = "error"
            emit({"t": "phase", "nodeid": "::".join(rep.nodeid.split("::")[1:]), "when": rep.when,
                  "outcome": out, "duration": rep.duration,
                  "message": str(rep.longrepr)[-500:] if rep.longrepr else ""})

        @pytest.hookimpl(tryfirst=True)
        def pytest_sessionfinish(self, session):
            snap = state["snapshot"]  # before pytest's unconfigure undoes its own plugins' patches
            changed = (snap.changed() or state["libs"].changed()) if snap is not None else None
            if changed:
                flag("tampered:" + changed)

        def pytest_collectreport(self, report):
            if report.failed:
                collect_errors.append(str(report.longrepr)[-1000:])

        def pytest_collection_modifyitems(self, items):
            # Collected: the source on disk and the module's global name are no longer needed.
            try:
                os.unlink(test_file)
            except OSError:
                pass
            mod = sys.modules.pop("test_solution", None)
            state["libs"] = _libraries_reached(p, getattr(mod, "__dict__", None) or {}, flag)
            for it in items:
                check(it)

        @pytest.hookimpl(tryfirst=True)
        def pytest_runtest_setup(self, item):
            check(item)

        @pytest.hookimpl(trylast=True)
        def pytest_runtest_teardown(self, item):
            check(item)

    sys.modules["_kodcode_guard"] = types.ModuleType("_kodcode_guard")
    sys.modules["_kodcode_guard"].__dict__.update({"_kodcode_cmp": cmp, "_kodcode_truth": truth})
    tree = p["tree"]
    imp = ast.parse("from _kodcode_guard import _kodcode_cmp, _kodcode_truth").body[0]
    # After the prepended `from solution import *`, so a solution cannot shadow the guard by export.
    first = tree.body[0] if tree.body else None
    pos = 1 if isinstance(first, ast.ImportFrom) and first.module == "solution" else 0
    tree.body.insert(pos, imp)
    ast.fix_missing_locations(tree)
    with open(test_file, "w") as f:
        f.write(ast.unparse(tree))
    p["tree"] = tree = first = None  # nothing in this frame may lead back to the expected values
    with open(os.path.join(workdir, "pytest.ini"), "w") as f:
        f.write("[pytest]\n")
    args = [test_file, "-q", "-p", "no:cacheprovider", "--noconftest", "-c", os.path.join(workdir, "pytest.ini"),
            "--rootdir", workdir, "-o", "addopts=", "-W", "ignore::DeprecationWarning", "--tb=short"]
    try:
        pytest.main(args, plugins=[Plugin()])
    except BaseException as e:
        collect_errors.append("pytest aborted: " + _msg(e))
    res = {"runner": "pytest", "flags": flags}
    if collect_errors:
        res["collect_error"] = collect_errors[0]
    return res


def _encode(v, depth=0):
    """Canonical, trusted-side-decodable form of a return value (exact builtin types only)."""
    t = type(v)
    if depth > 50:
        return {"__repr__": "<too deep>"}
    if t in (bool, int, str) or v is None:
        return v
    if t is float:
        return v if v == v and v not in (float("inf"), float("-inf")) else {"__float__": repr(v)}
    if t in (list, tuple):
        return [_encode(x, depth + 1) for x in v]
    if t is dict:
        if all(type(k) is str for k in v):
            return {"__dict__": {k: _encode(x, depth + 1) for k, x in v.items()}}
        return {"__pairs__": [[_encode(k, depth + 1), _encode(x, depth + 1)] for k, x in v.items()]}
    if t in (set, frozenset):
        return {"__set__": [_encode(x, depth + 1) for x in v]}
    if t is bytes:
        import base64
        return {"__bytes__": base64.b64encode(v).decode()}
    try:
        r = repr(v)[:1000]
    except Exception:
        r = "<unrepresentable>"
    return {"__repr__": r, "__type__": t.__name__}


class CaseRunner(_Base):
    """stdio and call jobs: each case in its own fork, so this runner never runs untrusted code."""

    @staticmethod
    def run(job, workdir, prepared, fixed):
        cases = job["inputs"] if job["kind"] == "stdio" else job["args_list"]
        outputs = []
        cap = int(STATE["cfg"]["max_output_bytes"])
        for case in cases:
            outputs.append(_run_case(job, case, fixed, cap))
        return {"runner": job["kind"], "outputs": outputs}


def _run_case(job, case, fixed, cap):
    timeout = float(job["timeout_s"])
    in_r, in_w = os.pipe()
    out_r, out_w = os.pipe()
    err_r, err_w = os.pipe()
    val_r, val_w = os.pipe()
    t0 = time.monotonic()
    pid = os.fork()
    if pid == 0:
        try:
            os.setpgid(0, 0)
            for fd in list(fixed.values()) + [in_w, out_r, err_r, val_r]:
                try:
                    os.close(fd)
                except OSError:
                    pass
            os.dup2(in_r, 0)
            os.dup2(out_w, 1)
            os.dup2(err_w, 2)
            for fd in (in_r, out_w, err_w):
                os.close(fd)
            cpu = int(timeout + 0.999)
            resource.setrlimit(resource.RLIMIT_CPU, (cpu, cpu + 1))
            _case_child(job, case, val_w)
        finally:
            os._exit(1)
    for fd in (in_r, out_w, err_w, val_w):
        os.close(fd)
    data = (case if isinstance(case, str) else "").encode() if job["kind"] == "stdio" else b""
    if not data:
        os.close(in_w)
        in_w = None
    bufs = {out_r: bytearray(), err_r: bytearray(), val_r: bytearray()}
    open_r = [out_r, err_r, val_r]
    deadline = t0 + timeout * float(STATE["cfg"]["wall_factor"]) + 1.0
    status = None
    timed_out = over = False
    while open_r or in_w is not None:
        now = time.monotonic()
        if now >= deadline:
            timed_out = True
            break
        ws = [in_w] if in_w is not None else []
        try:
            r, w, _ = select.select(open_r, ws, [], min(0.5, deadline - now))
        except InterruptedError:
            continue
        if w:
            try:
                n = os.write(in_w, data[:65536])
                data = data[n:]
            except OSError:
                data = b""
            if not data:
                os.close(in_w)
                in_w = None
        for fd in r:
            chunk = os.read(fd, 65536)
            if not chunk:
                open_r.remove(fd)
                continue
            bufs[fd] += chunk
            if len(bufs[out_r]) + len(bufs[err_r]) > cap or len(bufs[val_r]) > cap:
                over = True
        if over:
            break
        if not open_r and in_w is None:
            break
        if not open_r:
            break
    try:
        os.killpg(pid, signal.SIGKILL)
    except OSError:
        pass
    _, status = os.waitpid(pid, 0)
    for fd in [out_r, err_r, val_r] + ([in_w] if in_w is not None else []):
        os.close(fd)
    dur = time.monotonic() - t0
    code = os.WEXITSTATUS(status) if os.WIFEXITED(status) else None
    sig = os.WTERMSIG(status) if os.WIFSIGNALED(status) else None
    out = {"stdout": bufs[out_r].decode(errors="replace"), "stderr": bufs[err_r][-4096:].decode(errors="replace"),
           "exit_code": code, "duration_s": dur}
    if timed_out or sig in (signal.SIGXCPU,) or (sig == signal.SIGKILL and dur >= timeout):
        out["status"] = "timeout"
    elif over:
        out["status"] = "error"
        out["message"] = "output cap exceeded"
    elif job["kind"] == "call":
        try:
            val = json.loads(bufs[val_r].decode())
            out["status"], out["value"] = val.get("status", "error"), val.get("value")
            out["message"] = val.get("message", "")
        except Exception:
            out["status"] = "crash" if sig else "error"
            out["message"] = "no return value (exit code %s, signal %s)" % (code, sig)
    else:
        out["status"] = "ok" if code == 0 else ("crash" if sig else "error")
    return out


def _case_child(job, case, val_w):
    import builtins
    g = {"__name__": "__main__" if job["kind"] == "stdio" else "solution", "__builtins__": builtins}
    if job["kind"] == "stdio":
        os.close(val_w)
        code = 0
        try:
            exec(compile(job["program"], "program.py", "exec"), g)
        except SystemExit as e:
            code = e.code if isinstance(e.code, int) else (0 if e.code is None else 1)
            if not isinstance(e.code, int) and e.code is not None:
                sys.stderr.write(str(e.code) + "\n")
        except BaseException:
            import traceback
            traceback.print_exc()
            code = 1
        try:
            sys.stdout.flush()
            sys.stderr.flush()
        finally:
            os._exit(code)
    try:
        exec(compile(job["program"], "solution.py", "exec"), g)
        parts = job["fn_name"].split(".")
        target = g[parts[0]]
        if len(parts) == 2:
            target = getattr(target(), parts[1])
        value = target(*case)
        msg = {"status": "ok", "value": _encode(value)}
    except BaseException as e:
        msg = {"status": "error", "message": _msg(e)}
    try:
        sys.stdout.flush()
    except Exception:
        pass
    data = json.dumps(msg, default=repr).encode()
    while data:
        n = os.write(val_w, data)
        data = data[n:]
    os._exit(0)



RUNNERS = {"pytest": PytestRunner, "stdio": CaseRunner, "call": CaseRunner}
