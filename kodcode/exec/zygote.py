"""Warm worker ("zygote") and in-sandbox runners of the execution engine.

This file is handed to the job interpreter *by value* (``python -I -c <this source>``), so it must
be self-contained: standard library only (pytest is imported lazily, from the job interpreter's own
environment), no kodcode imports, and valid on Python 3.8+.  The engine (``engine.py``) starts one
zygote per worker slot and talks to it over stdin/stdout with length-prefixed JSON messages.

Per job the zygote forks a fresh child.  The child puts itself in new mount, network, PID, IPC and
UTS namespaces (a user namespace as well when not root), forks an init process that sets up the
filesystem view (read-only everything, tmpfs over the home and temp directories, the interpreter's
prefixes bound back read-only, a size-capped tmpfs work dir) and then forks the job itself, which
drops to the slot's unprivileged uid, caps its resources with rlimits, scrubs its environment and
runs one of the runners below.  When the job exits, init exits, and the kernel kills everything
left in the PID namespace: nothing a job starts outlives it.

Runners:
* ``fast``: plain module-level ``def test_*():`` functions, executed directly (no pytest session).
* ``pytest``: an in-process ``pytest.main`` with a reporting plugin, for fixtures, parametrize,
  marks, classes and everything else.
* ``stdio`` / ``call``: every case in its own fork of the (still trusted) runner, with real pipes
  for stdin/stdout; the runner itself never executes untrusted code.

The verdict channel: the runner writes one final JSON message on a dedicated pipe; it ends with a
nonce that the zygote creates *after* forking and hands out once, on request, only when the runner
has finished.  The zygote reports facts (messages, exit status, timings, output tails); the engine
decides the verdict.
"""

import ast
import ctypes
import json
import os
import resource
import select
import signal
import struct
import sys
import time

# ----------------------------------------------------------------------------- protocol


def read_msg(fd):
    head = _read_exact(fd, 4)
    if head is None:
        return None
    (n,) = struct.unpack("!I", head)
    body = _read_exact(fd, n)
    return None if body is None else json.loads(body.decode())


def _read_exact(fd, n):
    buf = b""
    while len(buf) < n:
        chunk = os.read(fd, n - len(buf))
        if not chunk:
            return None
        buf += chunk
    return buf


def write_msg(fd, obj):
    data = json.dumps(obj).encode()
    data = struct.pack("!I", len(data)) + data
    while data:
        n = os.write(fd, data)
        data = data[n:]


# ----------------------------------------------------------------------------- libc

_libc = ctypes.CDLL(None, use_errno=True)
CLONE_NEWNS, CLONE_NEWUTS, CLONE_NEWIPC = 0x00020000, 0x04000000, 0x08000000
CLONE_NEWUSER, CLONE_NEWPID, CLONE_NEWNET = 0x10000000, 0x20000000, 0x40000000
MS_RDONLY, MS_NOSUID, MS_NODEV, MS_NOEXEC = 1, 2, 4, 8
MS_REMOUNT, MS_BIND, MS_REC, MS_PRIVATE = 32, 4096, 16384, 1 << 18
MS_NOATIME, MS_NODIRATIME, MS_RELATIME, MS_STRICTATIME = 1024, 2048, 1 << 21, 1 << 24
PR_SET_PDEATHSIG, PR_SET_DUMPABLE, PR_SET_NO_NEW_PRIVS = 1, 4, 38
_MNT_FLAGS = {"ro": MS_RDONLY, "nosuid": MS_NOSUID, "nodev": MS_NODEV, "noexec": MS_NOEXEC,
              "noatime": MS_NOATIME, "nodiratime": MS_NODIRATIME, "relatime": MS_RELATIME}


def _check(ret, what):
    if ret != 0:
        e = ctypes.get_errno()
        raise OSError(e, "%s: %s" % (what, os.strerror(e)))


def unshare(flags):
    _check(_libc.unshare(ctypes.c_int(flags)), "unshare")


def mount(src, target, fstype, flags, data=None):
    enc = lambda s: None if s is None else s.encode()  # noqa: E731
    _check(_libc.mount(enc(src), enc(target), enc(fstype), ctypes.c_ulong(flags), enc(data)),
           "mount %s on %s" % (src, target))


def prctl(option, arg):
    _check(_libc.prctl(option, ctypes.c_ulong(arg), 0, 0, 0), "prctl %d" % option)


# ----------------------------------------------------------------------------- zygote

STATE = {}


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
    STATE["cfg"] = cfg
    for name in cfg.get("preimport", []):
        try:
            __import__(name)
        except Exception:
            pass
    for name in ("unittest", "unittest.mock", "dis", "types", "operator", "traceback", "base64", "shutil",
                 "inspect", "collections", "typing", "math", "re", "itertools", "functools", "heapq",
                 "bisect", "random", "string", "decimal", "fractions", "copy", "io", "contextlib"):
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
    STATE["binds"] = _interpreter_paths()
    mode = cfg.get("isolation", "auto")
    if mode == "auto":
        mode = "namespaces" if _probe_namespaces() else "degraded"
    STATE["mode"] = mode
    write_msg(proto_out, {"hello": True, "pid": os.getpid(), "isolation": mode, "pytest": have_pytest,
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


def _interpreter_paths():
    paths = set()
    for p in [sys.prefix, sys.base_prefix, sys.exec_prefix, os.path.dirname(sys.executable)] + sys.path:
        if p and os.path.isdir(p):
            paths.add(os.path.realpath(p))
    exe = os.path.realpath(sys.executable)
    paths.add(os.path.dirname(exe))
    return sorted(paths)


def _probe_namespaces():
    """Fork a throwaway child that tries the namespace setup a job needs."""
    pid = os.fork()
    if pid == 0:
        try:
            flags = CLONE_NEWNS | CLONE_NEWNET | CLONE_NEWPID | CLONE_NEWIPC | CLONE_NEWUTS
            if os.geteuid() != 0:
                flags |= CLONE_NEWUSER
            unshare(flags)
            if os.geteuid() != 0 or flags & CLONE_NEWUSER:
                pass
            mount(None, "/", None, MS_REC | MS_PRIVATE)
            os._exit(0)
        except BaseException:
            os._exit(1)
    _, status = os.waitpid(pid, 0)
    return os.WIFEXITED(status) and os.WEXITSTATUS(status) == 0


def _pipe():
    r, w = os.pipe()
    return r, w


def run_job(job):
    cfg = STATE["cfg"]
    t0 = time.monotonic()
    out_r, out_w = _pipe()
    err_r, err_w = _pipe()
    res_r, res_w = _pipe()
    req_r, req_w = _pipe()
    rep_r, rep_w = _pipe()
    set_r, set_w = _pipe()
    child_fds = {"out": out_w, "err": err_w, "res": res_w, "req": req_w, "rep": rep_r, "setup": set_w}
    pid = os.fork()
    if pid == 0:
        try:
            child_main(job, child_fds, [out_r, err_r, res_r, req_r, rep_w, set_r])
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
    marks = {}
    timed_out = over_output = False
    status = None
    exited_at = None
    while open_fds:
        now = time.monotonic()
        if status is None:
            wpid, st = os.waitpid(pid, os.WNOHANG)
            if wpid == pid:
                status, exited_at = st, now
                marks["exit"] = now - t0
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
    killed = _kill_job(pid, job)
    if status is None:
        _, status = os.waitpid(pid, 0)
    for fd in [out_r, err_r, res_r, req_r, rep_w, set_r]:
        try:
            os.close(fd)
        except OSError:
            pass
    exit_code = os.WEXITSTATUS(status) if os.WIFEXITED(status) else None
    signum = os.WTERMSIG(status) if os.WIFSIGNALED(status) else None
    result = None
    raw = bytes(bufs[res_r])
    if raw:
        try:
            result = json.loads(raw.decode())
        except Exception:
            result = {"malformed": True}
    setup = bytes(bufs[set_r]).decode(errors="replace")
    try:
        ru = resource.getrusage(resource.RUSAGE_CHILDREN)
        cpu = ru.ru_utime + ru.ru_stime
    except Exception:
        cpu = None
    return {
        "result": result,
        "nonce_ok": bool(result) and isinstance(result, dict) and result.get("nonce") == nonce,
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
        "cpu_total_s": cpu,
        "phases": {"setup": marks.get(set_r), "result": marks.get(res_r), "exit": marks.get("exit"),
                   "done": time.monotonic() - t0},
    }


def _kill_job(pid, job):
    """Kill the job's whole session; in degraded mode also every process of the slot's uid."""
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


# ----------------------------------------------------------------------------- child side


def child_main(job, fds, close_fds):
    """Runs in the forked child (still trusted): namespaces, then init, then the job."""
    cfg = STATE["cfg"]
    STATE["t"] = {"child": time.monotonic()}
    for fd in close_fds:
        os.close(fd)
    os.setsid()
    # Move our pipes to high, fixed descriptors and close everything else.
    fixed = {}
    for i, (name, fd) in enumerate(sorted(fds.items())):
        fixed[name] = 900 + i
        os.dup2(fd, 900 + i)
    os.closerange(3, 900)
    os.closerange(900 + len(fixed), 1024)
    devnull = os.open(os.devnull, os.O_RDONLY)
    os.dup2(devnull, 0)
    os.close(devnull)
    os.dup2(fixed["out"], 1)
    os.dup2(fixed["err"], 2)
    for name in ("out", "err"):
        os.close(fixed.pop(name))
    for fd in fixed.values():
        os.set_inheritable(fd, False)
    root = os.geteuid() == 0
    uid = (int(cfg["uid_base"]) + int(cfg["slot"])) if root else os.geteuid()
    STATE["job_uid"] = uid if root else None
    if STATE["mode"] == "degraded":
        workdir = os.path.join(cfg["degraded_tmp"], "job-%d" % cfg["slot"])
        _fresh_dir(workdir, uid if root else None)
        job_main(job, fixed, workdir, uid if root else None)
        os._exit(121)
    try:
        real_uid, real_gid = os.getuid(), os.getgid()
        flags = CLONE_NEWNS | CLONE_NEWNET | CLONE_NEWPID | CLONE_NEWIPC | CLONE_NEWUTS
        if not root:
            flags |= CLONE_NEWUSER
        unshare(flags)
        if not root:
            with open("/proc/self/setgroups", "w") as f:
                f.write("deny")
            with open("/proc/self/uid_map", "w") as f:
                f.write("0 %d 1" % real_uid)
            with open("/proc/self/gid_map", "w") as f:
                f.write("0 %d 1" % real_gid)
    except Exception as e:
        _setup_failed(fixed, "namespaces: %s" % e)
    STATE["t"]["unshared"] = time.monotonic()
    init_pid = os.fork()
    if init_pid:
        # Outer child: wait for the namespace's init and mirror its exit status.
        for fd in fixed.values():
            os.close(fd)
        _, st = os.waitpid(init_pid, 0)
        os._exit(os.WEXITSTATUS(st) if os.WIFEXITED(st) else 128 + os.WTERMSIG(st))
    init_main(job, fixed, uid if root else None)


def _setup_failed(fixed, msg):
    try:
        os.write(fixed["setup"], ("FAIL " + msg).encode()[:4000])
    finally:
        os._exit(121)


def _fresh_dir(path, uid):
    import shutil
    shutil.rmtree(path, ignore_errors=True)
    os.makedirs(path, mode=0o700)
    if uid is not None:
        os.chown(path, uid, uid)


def init_main(job, fixed, uid):
    """PID 1 of the job's PID namespace: build the filesystem view, run the job, reap."""
    cfg = STATE["cfg"]
    STATE["t"]["init"] = time.monotonic()
    try:
        prctl(PR_SET_PDEATHSIG, signal.SIGKILL)
        workdir = _setup_mounts(cfg, uid)
        STATE["t"]["mounted"] = time.monotonic()
        try:
            _libc.sethostname(b"sandbox", 7)
            _loopback_up()
        except Exception:
            pass
    except Exception as e:
        _setup_failed(fixed, "mounts: %s" % e)
    pid = os.fork()
    if pid == 0:
        job_main(job, fixed, workdir, uid)
        os._exit(121)
    for fd in fixed.values():
        os.close(fd)
    while True:
        try:
            wpid, st = os.waitpid(-1, 0)
        except ChildProcessError:
            os._exit(120)
        if wpid == pid:
            # Exiting as PID 1 makes the kernel kill whatever the job left behind.
            os._exit(os.WEXITSTATUS(st) if os.WIFEXITED(st) else 128 + os.WTERMSIG(st))


def _loopback_up():
    """The new network namespace has only ``lo``, down; bring it up so tests may use localhost."""
    import fcntl
    import socket
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    try:
        IFF_UP, IFF_LOOPBACK, IFF_RUNNING, SIOCSIFFLAGS = 0x1, 0x8, 0x40, 0x8914
        ifr = struct.pack("16sH14x", b"lo", IFF_UP | IFF_LOOPBACK | IFF_RUNNING)
        fcntl.ioctl(s.fileno(), SIOCSIFFLAGS, ifr)
    finally:
        s.close()


def _mountinfo():
    out = []
    with open("/proc/self/mountinfo") as f:
        for line in f:
            parts = line.split()
            point = parts[4].encode().decode("unicode_escape")
            out.append((point, parts[5].split(",")))
    return out


def _setup_mounts(cfg, uid):
    mount(None, "/", None, MS_REC | MS_PRIVATE)
    # Open the interpreter's directories now: they may sit under a directory we are about to mask.
    keep = []
    masks = [p for p in cfg["mask_paths"] if os.path.isdir(p)]
    for p in STATE["binds"]:
        if any(p == m or p.startswith(m.rstrip("/") + "/") for m in masks):
            keep.append((p, os.open(p, os.O_PATH | os.O_DIRECTORY)))
    # Everything read-only (each mount separately; submounts are not covered by a parent's flag).
    for point, opts in _mountinfo():
        if point.startswith("/proc"):
            continue
        flags = MS_BIND | MS_REMOUNT | MS_RDONLY
        for o in opts:
            flags |= _MNT_FLAGS.get(o, 0)
        try:
            mount(None, point, None, flags)
        except OSError:
            pass  # e.g. a mount hidden under another one; masked below if sensitive
    for m in masks:
        mount("tmpfs", m, "tmpfs", MS_NOSUID | MS_NODEV, "size=1m,mode=755")
    for p, fd in keep:
        os.makedirs(p, exist_ok=True)
        mount("/proc/self/fd/%d" % fd, p, None, MS_BIND | MS_REC)
        mount(None, p, None, MS_BIND | MS_REMOUNT | MS_RDONLY | MS_NOSUID | MS_NODEV)
        os.close(fd)
    for m in masks:
        mount(None, m, None, MS_REMOUNT | MS_RDONLY | MS_NOSUID | MS_NODEV, "size=1m,mode=755")
    size = "size=%dm,mode=755" % int(cfg["tmpfs_mb"])
    mount("tmpfs", "/tmp", "tmpfs", MS_NOSUID | MS_NODEV, size)
    if os.path.isdir("/dev/shm"):
        mount("tmpfs", "/dev/shm", "tmpfs", MS_NOSUID | MS_NODEV | MS_NOEXEC, "size=64m,mode=1777")
    mount("proc", "/proc", "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC)
    workdir = "/tmp/job"
    os.mkdir(workdir, 0o700)
    if uid is not None:
        os.chown(workdir, uid, uid)
        os.chmod("/tmp", 0o1777)
    return workdir


def job_main(job, fixed, workdir, uid):
    """The job process: limits, privileges, environment; then the runner."""
    cfg = STATE["cfg"]
    STATE.setdefault("t", {})["job"] = time.monotonic()
    try:
        os.chdir(workdir)
        STATE["t"]["chdir"] = time.monotonic()
        _set_limits(job, cfg)
        STATE["t"]["limits"] = time.monotonic()
        if uid is not None:
            os.setgroups([])
            os.setresgid(uid, uid, uid)
            os.setresuid(uid, uid, uid)
        # Cleared by the uid change, so set again: the job dies with its parent.
        prctl(PR_SET_PDEATHSIG, signal.SIGKILL)
        prctl(PR_SET_NO_NEW_PRIVS, 1)
        STATE["t"]["uid"] = time.monotonic()
        os.environ.clear()
        os.environ.update(cfg["env"])
        os.environ["HOME"] = workdir
        os.environ["TMPDIR"] = workdir
        for name, text in (job.get("files") or {}).items():
            _write_file(workdir, name, text)
        sys.path[:0] = [workdir]
        sys.dont_write_bytecode = True
        runner = RUNNERS[job["kind"]]
        STATE["t"]["files"] = time.monotonic()
        prepared = runner.prepare(job, workdir)
    except Exception as e:
        _setup_failed(fixed, "job setup: %s: %s" % (type(e).__name__, e))
    STATE["t"]["ready"] = time.monotonic()
    os.write(fixed["setup"], b"OK " + json.dumps(STATE["t"]).encode())
    os.close(fixed["setup"])
    result = runner.run(job, workdir, prepared, fixed)
    _finish(fixed, result)


def _write_file(workdir, name, text):
    path = os.path.normpath(os.path.join(workdir, name))
    if not path.startswith(workdir + os.sep):
        raise ValueError("job file %r escapes the job directory" % name)
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "w") as f:
        f.write(text)


def _set_limits(job, cfg):
    cpu = int(float(job["timeout_s"]) + 0.999)
    if job["kind"] == "pytest":
        resource.setrlimit(resource.RLIMIT_CPU, (cpu, cpu + 1))
    mem = int(job.get("memory_mb") or cfg["memory_mb"]) * 1024 * 1024
    if mem > 0:
        # Relative to what the warm interpreter already maps, so the budget is the job's own.
        resource.setrlimit(resource.RLIMIT_AS, (_vmsize() + mem,) * 2)
    resource.setrlimit(resource.RLIMIT_FSIZE, (int(cfg["max_file_mb"]) * 1024 * 1024,) * 2)
    resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
    resource.setrlimit(resource.RLIMIT_NOFILE, (256, 256))
    stack = 512 * 1024 * 1024  # deep recursion (recursion limits of 10**5 are common in tests)
    try:
        resource.setrlimit(resource.RLIMIT_STACK, (stack, stack))
    except (ValueError, OSError):
        pass
    if os.geteuid() == 0:
        resource.setrlimit(resource.RLIMIT_NPROC, (int(cfg["max_procs"]),) * 2)
    else:
        # Counted per real uid, shared with the user's own processes: allow what exists plus the cap.
        n = sum(1 for d in os.listdir("/proc") if d.isdigit())
        resource.setrlimit(resource.RLIMIT_NPROC, (n + int(cfg["max_procs"]),) * 2)


def _vmsize():
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("VmSize:"):
                return int(line.split()[1]) * 1024
    return 0


def _finish(fixed, result):
    """Ask for the nonce (only now), send the one final message, and leave without cleanup code."""
    try:
        sys.stdout.flush()
        sys.stderr.flush()
    except Exception:
        pass
    try:
        os.write(fixed["req"], b"?")
        nonce = b""
        while not nonce.endswith(b"\n"):
            chunk = os.read(fixed["rep"], 64)
            if not chunk:
                break
            nonce += chunk
        result["nonce"] = nonce.decode().strip()
        data = json.dumps(result, default=repr).encode()
        while data:
            n = os.write(fixed["res"], data)
            data = data[n:]
    finally:
        os._exit(0)


# ----------------------------------------------------------------------------- assertion guard

PLAIN_TYPES = (int, float, complex, bool, str, bytes, type(None), list, tuple, dict, set, frozenset, range)


def make_guard(solution_file):
    """Comparison helpers that asserts in test code are rewritten to call.

    They keep Python's semantics for honest values and refuse objects whose equality, inequality
    or truth is forged (``__eq__`` that is true for anything, ``__ne__`` false for itself, a
    constant ``__bool__``).  Built before untrusted code runs, with every builtin it uses bound
    here, so later monkeypatching of builtins does not reach it.
    """
    import operator
    _type, _isinstance, _getattr, _len, _bool = type, isinstance, getattr, len, bool
    plain = frozenset(PLAIN_TYPES)
    flags = []
    ops = {"==": operator.eq, "!=": operator.ne, "<": operator.lt, "<=": operator.le,
           ">": operator.gt, ">=": operator.ge, "in": lambda a, b: a in b,
           "not in": lambda a, b: a not in b, "is": operator.is_, "is not": operator.is_not}

    class _Probe(object):
        __slots__ = ()

    def is_plain(x, depth=0):
        t = _type(x)
        if t not in plain:
            return False
        if depth > 4 or t not in (list, tuple, dict, set, frozenset):
            return True
        items = list(x.items()) if t is dict else list(x)
        if _len(items) > 200:
            items = items[:100] + items[-100:]
        for it in items:
            if t is dict:
                if not (is_plain(it[0], depth + 1) and is_plain(it[1], depth + 1)):
                    return False
            elif not is_plain(it, depth + 1):
                return False
        return True

    def constant_method(cls, name):
        f = _getattr(cls, name, None)
        code = _getattr(f, "__code__", None)
        if code is None:
            return False
        import dis
        for ins in dis.get_instructions(code):
            if ins.opname not in ("RESUME", "LOAD_CONST", "RETURN_VALUE", "RETURN_CONST", "NOP",
                                  "CACHE", "COPY_FREE_VARS", "MAKE_CELL"):
                return False
        return True

    def truth(v):
        t = _type(v)
        if t is bool:
            return v
        if t in plain:
            return _bool(v)
        for name in ("__bool__", "__len__"):
            if constant_method(t, name):
                flags.append("constant_" + name.strip("_"))
                return False
        return _bool(v)

    def forged(x, op):
        if is_plain(x):
            return False
        t = _type(x)
        try:
            if op in ("==", "in"):
                if constant_method(t, "__eq__") or truth(x == _Probe()):
                    flags.append("always_equal")
                    return True
            elif op in ("!=", "not in"):
                if constant_method(t, "__ne__") or truth(x != x):
                    flags.append("never_equal")
                    return True
            elif op in ("<", "<=", ">", ">="):
                if truth(ops[op](x, _Probe())):
                    flags.append("always_ordered")
                    return True
        except Exception:
            return False
        return False

    def cmp(op, a, b):
        r = truth(ops[op](a, b))
        if r and op not in ("is", "is not"):
            if forged(a, op):
                return False
            if op in ("in", "not in"):
                if _isinstance(b, (list, tuple, set, frozenset)):
                    for item in list(b)[:1000]:
                        if forged(item, op):
                            return False
            elif forged(b, op):
                return False
        return r

    return cmp, truth, flags


class _AssertRewriter(ast.NodeTransformer):
    """``assert a OP b`` -> ``assert _kodcode_cmp("OP", a, b)``; ``assert x`` -> ``assert _kodcode_truth(x)``;
    ``self.assertEqual(a, b)`` and friends -> the same guarded comparisons."""

    OPS = {ast.Eq: "==", ast.NotEq: "!=", ast.Lt: "<", ast.LtE: "<=", ast.Gt: ">", ast.GtE: ">=",
           ast.In: "in", ast.NotIn: "not in", ast.Is: "is", ast.IsNot: "is not"}
    UNITTEST = {"assertEqual": "==", "assertEquals": "==", "assertNotEqual": "!=", "assertIn": "in",
                "assertNotIn": "not in", "assertListEqual": "==", "assertDictEqual": "==",
                "assertTupleEqual": "==", "assertSetEqual": "==", "assertSequenceEqual": "=="}

    def _guard(self, node):
        if isinstance(node, ast.Compare) and len(node.ops) == 1 and type(node.ops[0]) in self.OPS:
            return ast.Call(ast.Name("_kodcode_cmp", ast.Load()),
                            [ast.Constant(self.OPS[type(node.ops[0])]), node.left, node.comparators[0]], [])
        return ast.Call(ast.Name("_kodcode_truth", ast.Load()), [node], [])

    def visit_Assert(self, node):
        self.generic_visit(node)
        node.test = self._guard(node.test)
        return node

    def visit_Expr(self, node):
        self.generic_visit(node)
        call = node.value
        if (isinstance(call, ast.Call) and isinstance(call.func, ast.Attribute)
                and call.func.attr in self.UNITTEST and len(call.args) >= 2 and not call.keywords):
            test = ast.Compare(call.args[0], [self._op_node(self.UNITTEST[call.func.attr])], [call.args[1]])
            new = ast.Assert(self._guard(test), call.args[2] if len(call.args) > 2 else None)
            return ast.copy_location(new, node)
        if (isinstance(call, ast.Call) and isinstance(call.func, ast.Attribute)
                and call.func.attr in ("assertTrue", "assertFalse") and len(call.args) >= 1
                and not call.keywords):
            arg = call.args[0] if call.func.attr == "assertTrue" else ast.UnaryOp(ast.Not(), call.args[0])
            new = ast.Assert(self._guard(arg), call.args[1] if len(call.args) > 1 else None)
            return ast.copy_location(new, node)
        return node

    def _op_node(self, op):
        return {v: k for k, v in self.OPS.items()}[op]()


def rewrite_test_source(src):
    tree = ast.parse(src)
    tree = _AssertRewriter().visit(tree)
    ast.fix_missing_locations(tree)
    return tree


def fast_path_ok(tree):
    """Plain module-level ``def test_*():`` functions and nothing pytest-specific around them."""
    for node in tree.body:
        if isinstance(node, ast.ClassDef):
            return False
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            name = node.name
            if name in ("setup_module", "teardown_module", "setup_function", "teardown_function",
                        "setup", "teardown"):
                return False
            if node.decorator_list and (name.startswith("test") or _is_fixture(node)):
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


def _is_fixture(node):
    for d in node.decorator_list:
        if "fixture" in ast.dump(d):
            return True
    return False


# ----------------------------------------------------------------------------- runners


class _Base(object):
    @staticmethod
    def prepare(job, workdir):
        return None


class PytestRunner(_Base):
    @staticmethod
    def prepare(job, workdir):
        src = job["test"]
        if job.get("prepend_import", True):
            src = "from solution import *\n\n" + src
        tree = rewrite_test_source(src)
        with open(os.path.join(workdir, "solution.py"), "w") as f:
            f.write(job["solution"])
        cmp, truth, flags = make_guard(os.path.join(workdir, "solution.py"))
        mode = "fast" if (STATE["cfg"].get("fast_path", True) and fast_path_ok(tree)) else "pytest"
        from _pytest import outcomes
        import _pytest.reports
        originals = {"from_item_and_call": _pytest.reports.TestReport.__dict__["from_item_and_call"]}
        try:
            import unittest
            originals["unittest"] = dict(unittest.TestCase.__dict__)
        except Exception:
            pass
        import builtins
        originals["builtins"] = dict(builtins.__dict__)
        return {"tree": tree, "cmp": cmp, "truth": truth, "flags": flags, "mode": mode,
                "outcomes": outcomes, "originals": originals, "names": job.get("inventory") or []}

    @staticmethod
    def run(job, workdir, p, fixed):
        if p["mode"] == "fast":
            res = _run_fast(workdir, p)
        else:
            res = _run_pytest(workdir, p)
        res["flags"] = sorted(set(p["flags"]) | set(res.get("flags", [])) | set(_tampered(p)))
        return res


def _tampered(p):
    out = []
    orig = p["originals"]
    import builtins
    import _pytest.reports
    if _pytest.reports.TestReport.__dict__.get("from_item_and_call") is not orig["from_item_and_call"]:
        out.append("tampered_pytest_reports")
    cur = builtins.__dict__
    for k, v in orig["builtins"].items():
        if cur.get(k) is not v and k not in ("_", "__import__"):
            out.append("tampered_builtins")
            break
    if "unittest" in orig:
        import unittest
        for k, v in orig["unittest"].items():
            if unittest.TestCase.__dict__.get(k) is not v:
                out.append("tampered_unittest")
                break
    return out


def _classify(exc, outcomes):
    if isinstance(exc, outcomes.Exit) or isinstance(exc, KeyboardInterrupt):
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


def _run_fast(workdir, p):
    import types
    tree, outcomes = p["tree"], p["outcomes"]
    mod = types.ModuleType("test_solution")
    mod.__file__ = os.path.join(workdir, "test_solution.py")  # never written: nothing to read back
    g = mod.__dict__
    g["_kodcode_cmp"], g["_kodcode_truth"] = p["cmp"], p["truth"]
    tests = []
    try:
        code = compile(tree, mod.__file__, "exec")
        exec(code, g)
    except BaseException as e:  # collection error: every test is an error
        return {"runner": "fast", "collect_error": _msg(e), "tests": []}
    flags = []
    if g.get("_kodcode_cmp") is not p["cmp"] or g.get("_kodcode_truth") is not p["truth"]:
        flags.append("tampered_guard")
        g["_kodcode_cmp"], g["_kodcode_truth"] = p["cmp"], p["truth"]
    names = [n.name for n in tree.body if isinstance(n, ast.FunctionDef) and n.name.startswith("test")]
    seen = set()
    for name in names:
        if name in seen:
            continue
        seen.add(name)
        fn = g.get(name)
        t0 = time.perf_counter()
        outcome, message = "passed", ""
        try:
            if not callable(fn):
                raise TypeError("%s is not callable" % name)
            fn()
        except BaseException as e:
            outcome, message = _classify(e, outcomes), _msg(e)
        tests.append({"name": name, "outcome": outcome, "duration_s": time.perf_counter() - t0,
                      "message": message})
        if outcome == "interrupted":
            break
    return {"runner": "fast", "tests": tests, "flags": flags}


def _run_pytest(workdir, p):
    import pytest
    orig_make = p["originals"]["from_item_and_call"].__func__
    from _pytest.reports import TestReport
    records, collect_errors, flags = [], [], []
    cmp, truth = p["cmp"], p["truth"]

    class Plugin(object):
        @pytest.hookimpl(tryfirst=True)
        def pytest_runtest_makereport(self, item, call):
            # Built with the original constructor: patching TestReport at import cannot reach it.
            return orig_make(TestReport, item, call)

        def pytest_runtest_logreport(self, report):
            records.append((report.nodeid, report.when, report.outcome, bool(getattr(report, "wasxfail", "")),
                            str(report.longrepr)[-500:] if report.longrepr else "", report.duration))

        def pytest_collectreport(self, report):
            if report.failed:
                collect_errors.append(str(report.longrepr)[-1000:])

        def pytest_collection_modifyitems(self, items):
            for it in items:
                g = getattr(getattr(it, "module", None), "__dict__", {})
                if g.get("_kodcode_cmp") is not cmp or g.get("_kodcode_truth") is not truth:
                    flags.append("tampered_guard")
                    g["_kodcode_cmp"], g["_kodcode_truth"] = cmp, truth

    guard = types_module("_kodcode_guard", {"_kodcode_cmp": cmp, "_kodcode_truth": truth})
    sys.modules["_kodcode_guard"] = guard
    tree = p["tree"]
    imp = ast.parse("from _kodcode_guard import _kodcode_cmp, _kodcode_truth").body[0]
    # After the prepended `from solution import *`, so a solution cannot shadow the guard by export.
    pos = 1 if tree.body and isinstance(tree.body[0], ast.ImportFrom) and tree.body[0].module == "solution" else 0
    tree.body.insert(pos, imp)
    ast.fix_missing_locations(tree)
    with open(os.path.join(workdir, "test_solution.py"), "w") as f:
        f.write(ast.unparse(tree) if hasattr(ast, "unparse") else "")
    with open(os.path.join(workdir, "pytest.ini"), "w") as f:
        f.write("[pytest]\n")
    args = [os.path.join(workdir, "test_solution.py"), "-q", "-p", "no:cacheprovider", "--noconftest",
            "-c", os.path.join(workdir, "pytest.ini"), "--rootdir", workdir, "-o", "addopts=",
            "-W", "ignore::DeprecationWarning"]
    try:
        pytest.main(args, plugins=[Plugin()])
    except BaseException as e:
        collect_errors.append("pytest aborted: " + _msg(e))
    by_name = {}
    for nodeid, when, outcome, wasxfail, longrepr, dur in records:
        parts = nodeid.split("::")[1:]
        if not parts:
            continue
        parts[-1] = parts[-1].split("[")[0]
        name = "::".join(parts)
        if wasxfail:
            outcome = "xfailed" if outcome == "skipped" else "xpassed"
        elif when != "call" and outcome == "failed":
            outcome = "error"
        rec = by_name.setdefault(name, {"name": name, "outcome": "passed", "duration_s": 0.0, "message": "",
                                        "calls": 0})
        rec["duration_s"] += dur
        if when == "call":
            rec["calls"] += 1
        if outcome != "passed" and rec["outcome"] == "passed":
            rec["outcome"], rec["message"] = outcome, longrepr
    tests = []
    for rec in by_name.values():
        if rec["outcome"] == "passed" and rec["calls"] == 0:
            rec["outcome"] = "missing"
        rec.pop("calls")
        tests.append(rec)
    res = {"runner": "pytest", "tests": tests, "flags": flags}
    if collect_errors:
        res["collect_error"] = collect_errors[0]
    return res


def types_module(name, attrs):
    import types
    m = types.ModuleType(name)
    m.__dict__.update(attrs)
    return m


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

if __name__ == "__main__":
    main()
