"""An in-process ``pytest.main`` with a reporting plugin, for fixtures, parametrize, marks, classes
(unittest too) and everything else the fast path does not take."""

import os
import sys

from .libc import _write
from .outcome import _libraries_reached, _msg, note_test_classes
from .state import STATE


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

def _run_pytest(workdir, job, p):
    import pytest
    from _pytest.reports import TestReport
    orig_make = TestReport.__dict__["from_item_and_call"].__func__
    collect_errors, flags = [], []
    test_file, emit = p["test_file"], p["emit"]
    stdlib = os.path.dirname(os.__file__)  # before the solution is imported (it could patch os)
    site = os.path.join(stdlib, "site-packages")
    state = {"snapshot": None, "plugins": None, "config": None, "libs": p["libs"]}

    def flag(name):
        flags.append(name)
        emit({"t": "flag", "flag": name})

    def check(item):
        snap = state["snapshot"]
        # (identities only; the codes are compared once more when the session finishes)
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
            namespace = getattr(mod, "__dict__", None) or {}
            note_test_classes(namespace, p["classes"])
            state["libs"] = _libraries_reached(p, namespace, flag)
            for it in items:
                check(it)

        @pytest.hookimpl(tryfirst=True)
        def pytest_runtest_setup(self, item):
            STATE["current"] = "::".join(item.nodeid.split("::")[1:])
            check(item)

        @pytest.hookimpl(trylast=True)
        def pytest_runtest_teardown(self, item):
            check(item)

    _write(test_file, job["test"])  # (the parent's rewrite: nothing in it is an expected value)
    p["tree"] = None
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
