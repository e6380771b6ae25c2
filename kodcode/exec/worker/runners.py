"""The runners a job process executes: ``PytestRunner`` (fast path or an in-process pytest session) and
``CaseRunner`` (stdio and call jobs), plus the stream every outcome and report is written to."""

import ast
import os
import sys
import types

from .cases import CaseRunner
from .fastpath import _compiled_solution, _run_fast, _SolutionFinder
from .libc import _write
from .session import _run_pytest
from .shape import fast_path_ok, roots_and_classes
from .outcome import _Emitter
from .state import STATE

CHECKS_MODULE = "_kodcode_checks"  # (the module the parent's rewrite imports the checks from)


class _Base(object):
    @staticmethod
    def prepare(job, workdir):
        return None


class PytestRunner(_Base):
    @staticmethod
    def analyse(job, test_file=None):
        """What the worker works out from the test (already rewritten by the parent: ``kodcode.exec.plan``)
        before it forks the job (see ``zygote.run_job``): the runner path, the libraries the test imports,
        the test's own classes and, on the fast path where the job's file name is known in advance
        (``test_file``), the compiled module.  Done there, this memory is allocated once in the worker
        instead of in freshly faulted pages of every job.

        Raises what ``ast.parse`` raises on a test that does not parse; a later failure is the job's
        (its setup fails with it, or a compile error becomes its collection error)."""
        tree = ast.parse(job["test"])
        try:
            params = {}  # (the fast path's parametrized tests)
            fast = STATE["cfg"].get("fast_path", True) and fast_path_ok(tree, params)
            roots, classes = roots_and_classes(tree)
            a = {"tree": tree, "params": params, "mode": "fast" if fast else "pytest", "roots": roots,
                 "classes": classes}
            if fast and test_file:
                try:
                    a["code"] = (test_file, compile(tree, test_file, "exec"))
                except Exception as e:  # raised again in the job, as its collection error
                    a["code"] = (test_file, e)
                solution_file = os.path.join(os.path.dirname(test_file), "solution.py")
                a["solution"] = _compiled_solution(job, solution_file)
        except Exception as e:
            a = {"error": e}
        return a

    @staticmethod
    def prepare(job, workdir):
        a = job.pop("analysis")  # (the worker's, see zygote.run_job)
        if "error" in a:
            raise a["error"]
        path = os.path.join(workdir, "solution.py")
        _write(path, job["solution"])  # (libc._write: UTF-8, plain system calls)
        solution = a.get("solution")
        if solution is not None and solution[0] == path:
            _SolutionFinder.install(path, solution[1])
        emitter = _Emitter()
        STATE["sink"] = emitter  # where the checks (checks.py) and flags stream to
        checks = types.ModuleType(CHECKS_MODULE)
        checks.__dict__.update(STATE["checks"])
        sys.modules[CHECKS_MODULE] = checks
        # The library modules the test imports are watched (see Snapshot); more join once its namespace
        # is known.
        libs, roots = STATE["library_snapshot"], a["roots"]
        from _pytest import outcomes
        return {"tree": a["tree"], "code": a.get("code"), "mode": a["mode"], "emit": emitter.emit,
                "emitter": emitter, "outcomes": outcomes, "params": a["params"], "libs": libs.only(roots),
                "roots": roots, "scan": libs.scan, "only": libs.only, "classes": a["classes"],
                "test_file": os.path.join(workdir, "test_solution.py")}

    @staticmethod
    def run(job, workdir, p, fixed):
        p["emitter"].fd = fixed["res"]
        if p["mode"] == "fast":
            res = _run_fast(p)
        else:
            res = _run_pytest(workdir, job, p)
        flags = set(res.get("flags", []))
        # (pytest mode compares around every test instead: its own unconfigure undoes plugin patches)
        changed = p["libs"].changed() if p["mode"] == "fast" else None
        if changed:
            flags.add("tampered:" + changed)
            p["emit"]({"t": "flag", "flag": "tampered:" + changed})
        res["flags"] = sorted(flags)  # outcomes were streamed as they happened; see _Emitter
        return res


RUNNERS = {"pytest": PytestRunner, "stdio": CaseRunner, "call": CaseRunner}
