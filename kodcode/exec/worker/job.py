"""The forked job process up to the runner: namespaces, limits, privileges, environment, and the final
message (``child_main`` -> ``job_main`` -> a runner -> ``_finish``).

The job starts a new session and new IPC / UTS namespaces, caps its resources, drops to the slot's uid
(or gives up its capabilities when not root), sets no_new_privs and the seccomp filter, scrubs its
environment and hands over to a runner; it cannot mount or unmount anything.
"""

import ctypes
import json
import os
import resource
import signal
import struct
import sys
import time

from .libc import (CLONE_NEWIPC, CLONE_NEWUTS, PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, PR_CAPBSET_DROP,
                   PR_SET_DUMPABLE, PR_SET_NO_NEW_PRIVS, PR_SET_PDEATHSIG, PR_SET_SECUREBITS,
                   SECBIT_KEEP_CAPS_LOCKED, SECBIT_NO_CAP_AMBIENT_RAISE, SECBIT_NO_CAP_AMBIENT_RAISE_LOCKED,
                   SECBIT_NO_SETUID_FIXUP_LOCKED, SECBIT_NOROOT, SECBIT_NOROOT_LOCKED, _check, _libc, _write,
                   prctl, unshare)
from .isolation import _fresh_dir
from .seccomp import _install_seccomp
from .state import STATE


def child_main(job, fds, close_fds, workdir=None):
    """Runs in the forked child (still trusted): its own namespaces, then the job itself."""
    cfg = STATE["cfg"]
    STATE["t"] = {"child": time.monotonic()}
    for fd in close_fds:
        os.close(fd)
    os.setsid()
    if STATE.get("in_cgroup"):  # born in the worker's cgroups: the OOM killer's first choice there
        try:
            _write("/proc/self/oom_score_adj", "1000")
        except OSError as e:
            _setup_failed(fds["setup"], "oom_score_adj: %s" % e)
    root = STATE["root"]
    uid = STATE["job_uid"] if root else None
    namespaces = STATE["mode"] == "namespaces"
    if namespaces:
        try:
            unshare(CLONE_NEWIPC | CLONE_NEWUTS)
            STATE["t"]["unshared"] = time.monotonic()
            try:
                _libc.sethostname(b"sandbox", 7)
            except Exception:
                pass
        except Exception as e:
            _setup_failed(fds["setup"], "namespaces: %s" % e)
        # The worker, as init, has SIGINT at its default (see prepare_slot); Python code expects
        # KeyboardInterrupt.
        signal.signal(signal.SIGINT, signal.default_int_handler)
    # Move our pipes to high descriptors and close everything else.
    base = 300 + (struct.unpack("H", os.urandom(2))[0] % 600)  # not a fixed, guessable number
    fixed = {}
    for i, (name, fd) in enumerate(sorted(fds.items())):
        fixed[name] = base + i
        os.dup2(fd, base + i)
    os.closerange(3, base)
    os.closerange(base + len(fixed), 1024)
    devnull = os.open(os.devnull, os.O_RDONLY)
    os.dup2(devnull, 0)
    os.close(devnull)
    os.dup2(fixed["out"], 1)
    os.dup2(fixed["err"], 2)
    for name in ("out", "err"):
        os.close(fixed.pop(name))
    for fd in fixed.values():
        os.set_inheritable(fd, False)
    if not namespaces:
        workdir = os.path.join(cfg["degraded_tmp"], "job-%d" % cfg["slot"])
        _fresh_dir(workdir, uid)
    job_main(job, fixed, workdir, uid)
    os._exit(121)

def _setup_failed(fd, msg):
    try:
        os.write(fd, ("FAIL " + msg).encode()[:4000])
    finally:
        os._exit(121)

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
        elif STATE["mode"] == "namespaces" and not STATE["root"]:
            # Not started as root: the job is uid 0 of its own user namespace, with every capability
            # over the namespaces it owns (it could unmount the masks or remount / read-write).
            _drop_capabilities()
            prctl(PR_SET_DUMPABLE, 1)  # its own /proc/self again (the worker is not dumpable)
        # Cleared by the uid change, so set again: the job dies with its parent.
        prctl(PR_SET_PDEATHSIG, signal.SIGKILL)
        prctl(PR_SET_NO_NEW_PRIVS, 1)
        if STATE.get("seccomp_prog") is not None:
            _install_seccomp(STATE["seccomp_prog"])
        STATE["t"]["uid"] = time.monotonic()
        # (the worker's own environment is already the scrubbed one, see zygote.main)
        os.environ["HOME"] = workdir
        os.environ["TMPDIR"] = workdir
        for name, text in (job.get("files") or {}).items():
            _write_file(workdir, name, text)
        sys.path[:0] = [workdir]
        sys.dont_write_bytecode = True
        from .runners import RUNNERS  # (imported here: the runners import this module's helpers)
        runner = RUNNERS[job["kind"]]
        STATE["t"]["files"] = time.monotonic()
        prepared = runner.prepare(job, workdir)
    except Exception as e:
        _setup_failed(fixed["setup"], "job setup: %s: %s" % (type(e).__name__, e))
    STATE["t"]["ready"] = time.monotonic()
    os.write(fixed["setup"], b"OK " + json.dumps(STATE["t"]).encode())
    os.close(fixed["setup"])
    result = runner.run(job, workdir, prepared, fixed)
    _finish(fixed, result)

def _drop_capabilities():
    """Give up every capability for good: bounding set, ambient set, and root's exec-time grant."""
    for cap in range(64):
        if _libc.prctl(PR_CAPBSET_DROP, ctypes.c_ulong(cap), 0, 0, 0) != 0:
            if ctypes.get_errno() == 22:  # EINVAL: past the kernel's last capability
                break
            _check(-1, "drop capability %d from the bounding set" % cap)
    _libc.prctl(PR_CAP_AMBIENT, ctypes.c_ulong(PR_CAP_AMBIENT_CLEAR_ALL), 0, 0, 0)
    bits = (SECBIT_NOROOT | SECBIT_NOROOT_LOCKED | SECBIT_NO_SETUID_FIXUP_LOCKED | SECBIT_KEEP_CAPS_LOCKED
            | SECBIT_NO_CAP_AMBIENT_RAISE | SECBIT_NO_CAP_AMBIENT_RAISE_LOCKED)
    prctl(PR_SET_SECUREBITS, bits)
    header = (ctypes.c_uint32 * 2)(0x20080522, 0)  # _LINUX_CAPABILITY_VERSION_3, this process
    data = (ctypes.c_uint32 * 6)()  # effective, permitted, inheritable (two 32-bit words each): none
    _check(_libc.capset(header, data), "capset")

def _write_file(workdir, name, text):
    path = os.path.normpath(os.path.join(workdir, name))
    if not path.startswith(workdir + os.sep):
        raise ValueError("job file %r escapes the job directory" % name)
    os.makedirs(os.path.dirname(path), exist_ok=True)
    _write(path, text)

def worker_limits():
    """Once in the worker, before any job: the limits every job inherits unchanged (a fork keeps them)."""
    resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
    # Deep recursion (limits of 10**5 are common in tests) needs a big main stack, but new threads take
    # their default stack size from this limit too, and each would count fully against RLIMIT_AS.
    stack = 256 * 1024 * 1024
    try:
        resource.setrlimit(resource.RLIMIT_STACK, (stack, stack))
        import threading
        threading.stack_size(8 * 1024 * 1024)
    except (ValueError, OSError, RuntimeError):
        pass

def job_limit_facts():
    """In the worker, just before each fork: what the job's limits are relative to."""
    STATE["vmsize"] = _vmsize()
    if os.geteuid() != 0:
        STATE["nprocs"] = sum(1 for d in os.listdir("/proc") if d.isdigit())

def _set_limits(job, cfg):
    cpu = int(float(job["timeout_s"]) + 0.999)
    if job["kind"] == "pytest":
        resource.setrlimit(resource.RLIMIT_CPU, (cpu, cpu + 1))
    mem = int(job.get("memory_mb") or cfg["memory_mb"]) * 1024 * 1024
    if mem > 0:
        # Relative to what the warm interpreter already maps, so the budget is the job's own.
        resource.setrlimit(resource.RLIMIT_AS, (STATE["vmsize"] + mem,) * 2)
    resource.setrlimit(resource.RLIMIT_FSIZE, (int(cfg["max_file_mb"]) * 1024 * 1024,) * 2)
    resource.setrlimit(resource.RLIMIT_NOFILE, (256, 256))  # (after child_main moved its pipes above it)
    if os.geteuid() == 0:  # root, or uid 0 of the worker's user namespace
        resource.setrlimit(resource.RLIMIT_NPROC, (int(cfg["max_procs"]),) * 2)
    else:
        # Counted per real uid, shared with the user's own processes: allow what exists plus the cap.
        resource.setrlimit(resource.RLIMIT_NPROC, (STATE["nprocs"] + int(cfg["max_procs"]),) * 2)

def _vmsize():
    """This process's mapped size in bytes (the first field of /proc/self/statm, in pages)."""
    fd = os.open("/proc/self/statm", os.O_RDONLY)
    try:
        return int(os.read(fd, 128).split()[0]) * resource.getpagesize()
    finally:
        os.close(fd)

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
        result["t"] = "end"
        data = b"\n" + json.dumps(result, default=repr).encode() + b"\n"
        while data:
            n = os.write(fixed["res"], data)
            data = data[n:]
    finally:
        os._exit(0)
