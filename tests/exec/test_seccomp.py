"""The jobs' syscall filter: kernel interfaces no test needs are refused, everything tests use works.

The same probe runs in the same sandbox with the filter off (positive control: the probe sees these
syscalls succeed there) and on (each of them now fails with EPERM; ``clone3`` with ENOSYS, so that
glibc falls back to ``clone``, whose namespace flags the filter can check).
"""

from __future__ import annotations

import errno
import json
import platform

import pytest

from kodcode.exec import ExecConfig, Executor, PytestJob

pytestmark = pytest.mark.skipif(platform.machine() != "x86_64", reason="the filter is written for x86_64")

PROBE = r'''
import ctypes, json, os

libc = ctypes.CDLL(None, use_errno=True)
libc.syscall.restype = ctypes.c_long


def sc(nr, *args):
    r = libc.syscall(ctypes.c_long(nr), *[ctypes.c_long(a) if isinstance(a, int) else a for a in args])
    return r if r >= 0 else -ctypes.get_errno()


def in_child(fn):
    pid = os.fork()
    if pid == 0:
        r = fn()
        os._exit(0 if r >= 0 else min(-r, 255))
    _, st = os.waitpid(pid, 0)
    code = os.WEXITSTATUS(st)
    return 0 if code == 0 else -code


def probe():
    out = {}
    out["keyctl"] = sc(250, 1, None)  # KEYCTL_JOIN_SESSION_KEYRING: a new anonymous keyring
    out["add_key"] = sc(248, b"user", b"kodcode-probe", b"x", 1, -2)  # into KEY_SPEC_PROCESS_KEYRING
    out["ptrace"] = in_child(lambda: sc(101, 0, 0, 0, 0))  # PTRACE_TRACEME
    params = ctypes.create_string_buffer(120)
    out["io_uring_setup"] = sc(425, 4, params)
    out["userfaultfd"] = sc(323, 1)  # UFFD_USER_MODE_ONLY
    attr = ctypes.create_string_buffer(128)
    ctypes.memmove(attr, (ctypes.c_uint32 * 2)(1, 128), 8)  # PERF_TYPE_SOFTWARE, sizeof(attr)
    ctypes.memmove(ctypes.byref(attr, 8), (ctypes.c_uint64 * 1)(1), 8)  # PERF_COUNT_SW_TASK_CLOCK
    ctypes.memmove(ctypes.byref(attr, 40), (ctypes.c_uint64 * 1)((1 << 5) | (1 << 6)), 8)  # exclude kernel, hv
    out["perf_event_open"] = sc(298, attr, 0, -1, -1, 0)
    out["unshare"] = in_child(lambda: sc(272, 0x10000000))  # CLONE_NEWUSER
    out["clone3"] = sc(435, None, 0)
    with open("/proc/self/status") as f:
        out["seccomp_mode"] = int(next(l for l in f if l.startswith("Seccomp:")).split()[1])
    return out
'''

TEST = "import json\n\ndef test_probe():\n    print('PROBE=' + json.dumps(probe()))\n"


def _probe(ex: Executor) -> dict:
    v = ex.run([PytestJob(PROBE, TEST)])[0]
    assert v.status == "pass", (v.status, v.message, v.stderr[-500:])
    line = next(x for x in v.stdout.splitlines() if x.startswith("PROBE="))
    return json.loads(line[len("PROBE="):])


def test_filter_refuses_what_works_without_it():
    with Executor(ExecConfig(workers=1, seccomp=False)) as ex:
        assert not ex.seccomp
        off = _probe(ex)
    with Executor(ExecConfig(workers=1)) as ex:
        assert ex.seccomp
        on = _probe(ex)
    assert off["seccomp_mode"] == 0 and on["seccomp_mode"] == 2
    works = {k for k, v in off.items() if k not in ("clone3", "seccomp_mode") and v >= 0}
    # Positive control: the probe really reaches these interfaces when nothing filters them.
    assert {"keyctl", "add_key", "ptrace"} <= works, off
    for name in works:
        assert on[name] == -errno.EPERM, (name, on[name])
    assert off["clone3"] != -errno.ENOSYS and on["clone3"] == -errno.ENOSYS


def test_what_tests_use_still_works_under_the_filter():
    sol = (
        "import multiprocessing, os, socket, subprocess, sys, threading\n\n"
        "def work():\n"
        "    box = []\n"
        "    t = threading.Thread(target=box.append, args=(1,)); t.start(); t.join()\n"
        "    out = subprocess.run([sys.executable, '-c', 'print(2)'], capture_output=True, text=True).stdout\n"
        "    with multiprocessing.get_context('fork').Pool(2) as pool:\n"
        "        sq = pool.map(abs, [-3, -4])\n"
        "    pid = os.fork()\n"
        "    if pid == 0:\n"
        "        os._exit(7)\n"
        "    code = os.waitstatus_to_exitcode(os.waitpid(pid, 0)[1])\n"
        "    srv = socket.socket(); srv.bind(('127.0.0.1', 0)); srv.listen(1)\n"
        "    cli = socket.create_connection(srv.getsockname()); conn, _ = srv.accept()\n"
        "    cli.sendall(b'hi'); got = conn.recv(2)\n"
        "    return box, out.strip(), sq, code, got\n"
    )
    test = "def test_work():\n    assert work() == ([1], '2', [3, 4], 7, b'hi')\n"
    with Executor(ExecConfig(workers=1)) as ex:
        assert ex.seccomp
        v = ex.run([PytestJob(sol, test)])[0]
    assert v.status == "pass", (v.message, v.stderr[-800:])


def test_degraded_mode_refuses_ip_sockets_but_not_unix_ones():
    sol = (
        "import socket\n\n"
        "def families():\n"
        "    out = {}\n"
        "    for name in ('AF_INET', 'AF_INET6', 'AF_UNIX'):\n"
        "        try:\n"
        "            socket.socket(getattr(socket, name)).close()\n"
        "            out[name] = 'ok'\n"
        "        except OSError as e:\n"
        "            out[name] = type(e).__name__\n"
        "    return out\n"
    )
    test = "def test_f():\n    assert families() == {'AF_INET': 'PermissionError', 'AF_INET6': 'PermissionError', 'AF_UNIX': 'ok'}\n"
    with Executor(ExecConfig(workers=1, isolation="degraded")) as ex:
        v = ex.run([PytestJob(sol, test)])[0]
    assert v.status == "pass", (v.message, v.tests[0].message[-300:] if v.tests else "")
