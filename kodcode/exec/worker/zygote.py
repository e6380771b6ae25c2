"""The worker ("zygote") of the execution engine: one per slot, forks a fresh sandboxed child per job.

The engine starts the configured job interpreter (``python -s -c <boot>``, in ``/``, with a scrubbed
environment) and hands it this package, compiled by that same interpreter, by value (see
``kodcode.exec.engine``): the package's own files may sit under a directory the job's filesystem view
masks.  Everything here is standard library only and valid on Python 3.9+.

Protocol with the engine: length-prefixed JSON (``protocol``).  First message: the settings; answer:
``hello`` (isolation mode, whether pytest imports).  Then one job per message, answered with the facts
of its run (the runner's stream of records, the final message, whether it carried the nonce, exit
status, CPU time, output tails, timings); the engine turns facts into verdicts.

The nonce: the zygote creates it after forking, so the job's memory never held it, and hands it out
once, on request; the runner asks only after the tests ran, and a second request gets nothing.
"""

import ctypes
import json
import os
import select
import signal
import sys
import time

from .checks import make_checks
from .isolation import JOB_DIR, end_job, fresh_job_dir, prepare_slot, reap_orphans, recycle_tmp
from .job import child_main, job_limit_facts, worker_limits
from .libc import PR_SET_PDEATHSIG, _libc, prctl
from .protocol import read_msg, write_msg
from .runners import PytestRunner
from .seccomp import seccomp_program
from .slot import _claim_uid, _interpreter_paths, _make_cgroups, _probe_namespaces
from .snapshot import LIBRARY_MODULES, Snapshot
from .state import STATE


def main():
    proto_in = os.dup(0)
    proto_out = os.dup(1)
    devnull = os.open(os.devnull, os.O_RDWR)
    os.dup2(devnull, 0)
    os.dup2(devnull, 1)  # stray prints in the zygote must never corrupt the protocol
    os.close(devnull)
    try:
        prctl(PR_SET_PDEATHSIG, signal.SIGKILL)
    except OSError:
        pass
    cfg = read_msg(proto_in)
    if cfg is None:
        return
    _watch_fork_hooks()
    STATE["cfg"] = cfg
    for name in cfg.get("preimport", []):
        try:
            __import__(name)
        except Exception:
            pass
    for name in ("unittest", "unittest.mock", "dis", "types", "operator", "traceback", "base64", "shutil",
                 "inspect", "collections", "typing", "math", "re", "itertools", "functools", "heapq",
                 "bisect", "random", "string", "decimal", "fractions", "copy", "io", "contextlib",
                 # what an in-process pytest session imports on first use
                 "pdb", "faulthandler", "xml.etree.ElementTree"):
        try:
            __import__(name)
        except Exception:
            pass
    try:
        import pytest  # noqa: F401  (warm: forks inherit it)
        import _pytest.outcomes  # noqa: F401
        import _pytest.reports  # noqa: F401
        have_pytest = True
    except Exception:
        have_pytest = False
    if have_pytest:
        _warm_pytest_plugins()
    STATE["binds"] = _interpreter_paths()
    STATE["root"] = os.geteuid() == 0
    if STATE["root"]:
        STATE["job_uid"], STATE["uid_lock"] = _claim_uid(int(cfg["uid_base"]))
        STATE["cgroups"] = _make_cgroups(STATE["job_uid"], cfg)
    # The fast path's reference picture of builtins and the library modules tests check with, taken
    # once: a job's copy holds the same objects (each job reads only the libraries its test can reach).
    libraries = tuple(name for name in LIBRARY_MODULES if name in sys.modules)
    STATE["library_snapshot"] = Snapshot(("builtins",) + libraries)
    # pytest mode's picture of pytest, pluggy and unittest, retaken cheaply by each job (Snapshot.rebased)
    STATE["pytest_snapshot"] = Snapshot() if have_pytest else None
    STATE["checks"] = make_checks()  # (after the pre-imports: it takes numpy's types if loaded)
    mode = cfg.get("isolation", "auto")
    if mode == "auto":
        mode = "namespaces" if _probe_namespaces() else "degraded"
    STATE["mode"] = mode
    if mode == "namespaces":
        prepare_slot()
    STATE["seccomp_prog"] = seccomp_program(no_network=mode != "namespaces") if cfg.get("seccomp", True) else None
    worker_limits()
    # Jobs inherit this environment: exactly the configured one (HOME and TMPDIR are set per job).
    os.environ.clear()
    os.environ.update(cfg["env"])
    # Everything imported so far is shared with each forked job copy-on-write; a garbage collection in
    # the job would write to every object's header and copy those pages.  Frozen objects are skipped.
    _settle_fork_hooks()
    _warm_inspect_cache()
    import gc
    gc.collect()
    gc.freeze()
    _huge_pages()
    write_msg(proto_out, {"hello": True, "pid": os.getpid(), "isolation": mode, "pytest": have_pytest,
                          "seccomp": STATE["seccomp_prog"] is not None, "libc_fork": "child_hooks" in _FORK,
                          "python": sys.version.split()[0], "executable": sys.executable})
    while True:
        job = read_msg(proto_in)
        if job is None:
            return
        try:
            reply = run_job(job)
        except Exception as e:  # infrastructure failure, never a job verdict
            reply = {"sandbox_error": "%s: %s" % (type(e).__name__, e)}
        write_msg(proto_out, reply)
        if mode == "namespaces" and not STATE.get("tmp_fresh"):
            try:
                recycle_tmp()  # (the next job's /tmp, while the engine reads this reply)
            except Exception:
                pass  # tried again, and reported, when the next job arrives (fresh_job_dir)

_FORK = {}

def _watch_fork_hooks():
    """Record the Python-level fork hooks (``os.register_at_fork``) of the modules the worker imports.

    ``os.fork()`` runs the interpreter's generic after-fork work in the child: re-initialising thread
    state and locks (``threading``, ``logging``) for threads that might have held them.  The worker has
    one thread, so none of that has anything to do, yet as the first code a job runs it copies ~200
    of the worker's memory pages (~0.4 ms per job).  Jobs are forked with the C library's ``fork``
    instead (``_fork``), running the recorded hooks that still matter (``random``'s reseed, and any a
    third-party module registered).  Only where it was verified (CPython 3.9-3.12) and only when the
    hooks of every module imported before this point are known; otherwise ``os.fork``."""
    if sys.implementation.name != "cpython" or not (3, 9) <= sys.version_info[:2] <= (3, 12) \
            or not hasattr(os, "register_at_fork") \
            or any(m in sys.modules for m in ("random", "threading", "logging", "concurrent.futures.thread")):
        return
    real, hooks = os.register_at_fork, []

    def register_at_fork(**kwargs):
        real(**kwargs)
        if kwargs.get("after_in_child") is not None:
            hooks.append(kwargs["after_in_child"])

    os.register_at_fork = register_at_fork
    _FORK.update(real=real, hooks=hooks)

def _settle_fork_hooks():
    """End of the warm-up: stop recording, and keep the child hooks a one-threaded worker's jobs need."""
    real = _FORK.pop("real", None)
    if real is None:
        return
    os.register_at_fork = real
    hooks = _FORK.pop("hooks")
    # Re-initialising the locks and thread list of a process whose only thread is the forking one:
    # nothing to do.  (Their `before` and `after_in_parent` halves are skipped in pairs.)
    skip = [x for x in (getattr(sys.modules.get("threading"), "_after_fork", None),
                        getattr(sys.modules.get("logging"), "_after_at_fork_child_reinit_locks", None))
            if x is not None]
    try:
        one_thread = len(os.listdir("/proc/self/task")) == 1
    except OSError:
        one_thread = False
    if one_thread and hasattr(_libc, "fork"):
        _FORK["child_hooks"] = [h for h in hooks if not any(h is x for x in skip)]

def _fork():
    hooks = _FORK.get("child_hooks")
    if hooks is None:
        return os.fork()
    pid = _libc.fork()
    if pid < 0:
        e = ctypes.get_errno()
        raise OSError(e, "fork: %s" % os.strerror(e))
    if pid == 0:
        for hook in hooks:  # as CPython runs them: in order, errors ignored
            try:
                hook()
            except BaseException:
                pass
    return pid

def _warm_pytest_plugins():
    """Import what an in-process pytest session loads on every run: its built-in plugins and what
    they import (readline, via the debugging plugin)."""
    try:
        from _pytest.config import default_plugins
    except Exception:
        return
    for name in list(default_plugins) + ["readline"]:
        try:
            __import__(name if name == "readline" else "_pytest." + name)
        except Exception:
            pass

def _warm_inspect_cache():
    """Fill ``inspect``'s module-by-file cache for every module loaded so far.

    pytest reports a failing test with its source, and ``inspect.getmodule`` then maps every module in
    ``sys.modules`` to its file (~13 ms with numpy, requests and pytest loaded) unless its cache already
    knows them; done here once, each job only maps the modules it loads itself."""
    try:
        import inspect
        inspect.getmodule(None, os.path.join(os.sep, "nonexistent", "warm.py"))
    except Exception:
        pass

def _huge_pages():
    """Back the worker's anonymous memory with 2 MB pages where the kernel can (``MADV_COLLAPSE``,
    Linux 6.1+; a no-op elsewhere).  A fork copies, and the job's exit tears down, one page-table
    entry per 2 MB instead of 512; a job that writes into such a page gets its own 4 kB copy as
    before (the kernel splits the entry in the job's page table only)."""
    MADV_HUGEPAGE, MADV_COLLAPSE, huge = 14, 25, 2 << 20
    try:
        madvise = _libc.madvise
        madvise.argtypes = [ctypes.c_void_p, ctypes.c_size_t, ctypes.c_int]
        with open("/proc/self/maps") as f:
            lines = f.read().splitlines()
    except (AttributeError, OSError):
        return
    for line in lines:
        fields = line.split()
        if not fields[1].startswith("rw") or (len(fields) > 5 and fields[5] != "[heap]"):
            continue  # anonymous, writable memory only (the heap and Python's arenas)
        lo, hi = (int(x, 16) for x in fields[0].split("-"))
        lo, hi = (lo + huge - 1) // huge * huge, hi // huge * huge
        if hi > lo and madvise(lo, hi - lo, MADV_HUGEPAGE) == 0:
            madvise(lo, hi - lo, MADV_COLLAPSE)

def _pipe():
    r, w = os.pipe()
    return r, w

def _analyse_test(job):
    """A pytest job's test (the parent's rewrite), parsed and prepared here, before the fork
    (``PytestRunner.analyse``); the job takes it over (``job["analysis"]``).  A message instead when the
    test does not parse."""
    test_file = os.path.join(JOB_DIR, "test_solution.py") if STATE["mode"] == "namespaces" else None
    try:
        job["analysis"] = PytestRunner.analyse(job, test_file)
    except (SyntaxError, ValueError, RecursionError, MemoryError) as e:
        return "%s: %s" % (type(e).__name__, e)
    return None

def run_job(job):
    cfg = STATE["cfg"]
    t0 = time.monotonic()
    if job["kind"] == "pytest":
        error = _analyse_test(job)
        if error is not None:
            return {"test_syntax_error": error}
    t_analysed = time.monotonic()
    out_r, out_w = _pipe()
    err_r, err_w = _pipe()
    res_r, res_w = _pipe()
    req_r, req_w = _pipe()
    rep_r, rep_w = _pipe()
    set_r, set_w = _pipe()
    child_fds = {"out": out_w, "err": err_w, "res": res_w, "req": req_w, "rep": rep_r, "setup": set_w}
    workdir = fresh_job_dir() if STATE["mode"] == "namespaces" else None
    job_limit_facts()
    t_dir = time.monotonic()
    pid = _fork()
    if pid == 0:
        try:
            child_main(job, child_fds, [out_r, err_r, res_r, req_r, rep_w, set_r], workdir)
        finally:
            os._exit(121)
    for fd in child_fds.values():
        os.close(fd)
    STATE["t_fork"] = (t0, time.monotonic())
    # The nonce exists only in the zygote, and only after the fork: the job's memory never held it.
    nonce = os.urandom(16).hex()
    timeout = float(job["timeout_s"])
    n_cases = max(1, len(job.get("inputs") or job.get("args_list") or [None]))
    wall = timeout * float(cfg["wall_factor"]) * (n_cases if job["kind"] in ("stdio", "call") else 1) + 2.0
    deadline = t0 + wall
    cap = int(cfg["max_output_bytes"])
    tail = int(cfg["tail_bytes"])
    bufs = {out_r: bytearray(), err_r: bytearray(), res_r: bytearray(), set_r: bytearray()}
    totals = {out_r: 0, err_r: 0, res_r: 0, set_r: 0}
    open_fds = [out_r, err_r, res_r, set_r, req_r]
    nonce_given = 0
    usage = None
    marks = {}
    timed_out = over_output = False
    status = None
    exited_at = None
    next_reap = 0.0
    while open_fds:
        now = time.monotonic()
        if status is None:
            wpid, st, ru = os.wait4(pid, os.WNOHANG)
            if wpid == pid:
                status, exited_at, usage = st, now, ru
                marks["exit"] = now - t0
        if STATE["mode"] == "namespaces" and now >= next_reap:
            reap_orphans(pid)
            next_reap = now + 0.005  # (a job's processes are limited; its orphans need not wait longer)
        if status is not None and now - exited_at > 0.5:
            break  # the job is gone; anything still holding a pipe is a leftover (killed below)
        if now >= deadline:
            timed_out = True
            break
        wait = min(deadline - now, 0.05 if status is not None else 0.5)
        try:
            ready, _, _ = select.select(open_fds, [], [], wait)
        except InterruptedError:
            continue
        for fd in ready:
            try:
                chunk = os.read(fd, 65536)
            except OSError:
                chunk = b""
            if not chunk:
                open_fds.remove(fd)
                continue
            if fd == req_r:
                nonce_given += 1
                if nonce_given == 1:  # handed out once: a second asker gets nothing
                    try:
                        os.write(rep_w, nonce.encode() + b"\n")
                    except OSError:
                        pass
                continue
            totals[fd] += len(chunk)
            if fd not in marks:
                marks[fd] = time.monotonic() - t0
            buf = bufs[fd]
            buf += chunk
            if fd in (out_r, err_r):
                if len(buf) > 2 * tail:
                    del buf[: len(buf) - tail]
                if totals[out_r] + totals[err_r] > cap:
                    over_output = True
            elif len(buf) > 64 * 1024 * 1024:
                over_output = True
        if over_output:
            break
    killed_early = over_output
    t_loop = time.monotonic()
    killed = _kill_job(pid, job)
    ended = end_job(pid)
    t_ended = time.monotonic()
    if status is None:
        status, usage = ended if ended is not None else os.wait4(pid, 0)[1:]
    for fd in [out_r, err_r, res_r, req_r, rep_w, set_r]:
        try:
            os.close(fd)
        except OSError:
            pass
    exit_code = os.WEXITSTATUS(status) if os.WIFEXITED(status) else None
    signum = os.WTERMSIG(status) if os.WIFSIGNALED(status) else None
    # A record nested deeper than the engine's own decoder could read (it wraps the stream in its reply)
    # is malformed here rather than a crash there: parsed under a lower recursion limit.
    limit = sys.getrecursionlimit()
    sys.setrecursionlimit(min(limit, 400))
    try:
        result, stream, malformed = _records(bytes(bufs[res_r]))
    finally:
        sys.setrecursionlimit(limit)
    setup = bytes(bufs[set_r]).decode(errors="replace")
    # CPU of the job and the children it waited for.
    cpu = usage.ru_utime + usage.ru_stime if usage is not None else None
    return {
        "result": result,
        "nonce_ok": bool(result) and isinstance(result, dict) and result.get("nonce") == nonce,
        "stream": stream,
        "malformed_lines": malformed,
        "nonce_requests": nonce_given,
        "setup": setup,
        "exit_code": exit_code,
        "signal": signum,
        "timed_out": timed_out,
        "over_output": over_output,
        "killed": killed,
        "stdout": bytes(bufs[out_r][-tail:]).decode(errors="replace"),
        "stderr": bytes(bufs[err_r][-tail:]).decode(errors="replace"),
        "output_bytes": totals[out_r] + totals[err_r],
        "wall_s": time.monotonic() - t0,
        "cpu_s": cpu,
        "cpu_limit_hit": job["kind"] == "pytest" and cpu is not None and cpu >= timeout - 0.05 and not killed_early,
        "phases": {"analysed": t_analysed - t0, "dir": t_dir - t0, "forked": STATE["t_fork"][1] - t0,
                   "setup": marks.get(set_r), "loop_end": t_loop - t0, "ended": t_ended - t0, "result": marks.get(res_r), "exit": marks.get("exit"),
                   "done": time.monotonic() - t0},
    }

def _records(data):
    """The runner's stream: ``(final message, records, malformed line count)``."""
    result, stream, malformed = None, [], 0
    for line in data.split(b"\n"):
        if not line.strip():
            continue
        try:
            rec = json.loads(line.decode())
        except Exception:
            malformed += 1
            continue
        if not isinstance(rec, dict):
            malformed += 1
        elif rec.get("t") == "end":
            result = rec if result is None else {"malformed": "two final messages"}
        elif len(stream) < 100000:
            stream.append(rec)
    return result, stream, malformed


def _kill_job(pid, job):
    """Kill the job's session; in degraded mode every process of the slot's uid (``end_job`` does the
    rest in namespaces mode)."""
    killed = False
    try:
        os.killpg(pid, signal.SIGKILL)
        killed = True
    except (ProcessLookupError, PermissionError):
        pass
    uid = STATE.get("job_uid")
    if uid is not None and STATE.get("mode") == "degraded":
        for _ in range(3):  # a fork loop can race the sweep; repeat until nothing is left
            found = False
            for name in os.listdir("/proc"):
                if not name.isdigit():
                    continue
                try:
                    with open("/proc/%s/status" % name) as f:
                        for line in f:
                            if line.startswith("Uid:"):
                                if int(line.split()[1]) == uid:
                                    os.kill(int(name), signal.SIGKILL)
                                    found = True
                                break
                except (OSError, ValueError):
                    continue
            if not found:
                break
    return killed
