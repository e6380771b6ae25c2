"""What one worker slot claims from the machine before its first job: an unprivileged uid of its own,
per-slot memory/pids cgroups, the interpreter's directories, and whether namespaces work here."""

import os
import sys

from .libc import (CLONE_NEWIPC, CLONE_NEWNET, CLONE_NEWNS, CLONE_NEWPID, CLONE_NEWUSER, CLONE_NEWUTS,
                   MS_NODEV, MS_NOEXEC, MS_NOSUID, MS_PRIVATE, MS_REC, _write, mount, unshare)


def _claim_uid(base):
    """An unprivileged uid no other worker on this machine uses (held by a lock for our lifetime).

    Process limits count per uid, so two executors (say evaluation beside data verification) must
    never share one: a fork bomb in one would starve the other.
    """
    import fcntl
    import tempfile
    d = os.path.join(tempfile.gettempdir(), "kodcode-exec-uids")
    os.makedirs(d, mode=0o700, exist_ok=True)
    for n in range(base, base + 8192):
        fd = os.open(os.path.join(d, "%d.lock" % n), os.O_CREAT | os.O_RDWR, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            return n, fd
        except OSError:
            os.close(fd)
    raise RuntimeError("no free sandbox uid in %d..%d" % (base, base + 8191))

def _make_cgroups(uid, cfg):
    """Per-worker memory and pids cgroups (v1 or v2) where the machine lets us create them.

    rlimits bound each process; a cgroup bounds the job's whole tree, so forked children cannot each
    take a fresh memory budget.  Returns the ``cgroup.procs`` files the worker joins before its first job
    (``_join_cgroups``; empty: rlimits only).
    """
    mem = int(cfg["memory_mb"])
    limit = (mem + 64) * 1024 * 1024 if mem > 0 else None
    procs = []
    v2 = "/sys/fs/cgroup/cgroup.controllers"
    try:
        if os.path.exists(v2):
            base = "/sys/fs/cgroup/kodcode-exec"
            os.makedirs(base, exist_ok=True)
            with open(os.path.join(base, "cgroup.subtree_control"), "w") as f:
                f.write("+memory +pids")
            d = os.path.join(base, "u%d" % uid)
            os.makedirs(d, exist_ok=True)
            if limit:
                _write(os.path.join(d, "memory.max"), str(limit))
                _write(os.path.join(d, "memory.swap.max"), "0")
            _write(os.path.join(d, "pids.max"), str(int(cfg["max_procs"]) + 1))  # + the worker
            return [os.path.join(d, "cgroup.procs")]
    except OSError:
        pass
    for ctrl, files in (("memory", {"memory.limit_in_bytes": limit, "memory.memsw.limit_in_bytes": limit}),
                        ("pids", {"pids.max": int(cfg["max_procs"]) + 1})):  # + the worker
        root = "/sys/fs/cgroup/" + ctrl
        if not os.path.isdir(root):
            continue
        d = os.path.join(root, "kodcode-exec", "u%d" % uid)
        try:
            os.makedirs(d, exist_ok=True)
            for name, value in files.items():
                if value is not None and os.path.exists(os.path.join(d, name)):
                    try:
                        _write(os.path.join(d, name), str(value))
                    except OSError:
                        pass
            procs.append(os.path.join(d, "cgroup.procs"))
        except OSError:
            continue
    return procs

def _interpreter_paths():
    paths = set()
    for p in [sys.prefix, sys.base_prefix, sys.exec_prefix, os.path.dirname(sys.executable)] + sys.path:
        if p and os.path.isdir(p):
            paths.add(os.path.realpath(p))
    exe = os.path.realpath(sys.executable)
    paths.add(os.path.dirname(exe))
    return sorted(paths)

def _probe_namespaces():
    """Fork a throwaway child that tries the namespace setup the slot and its jobs need."""
    uid, gid = os.getuid(), os.getgid()
    pid = os.fork()
    if pid == 0:
        try:
            flags = CLONE_NEWNS | CLONE_NEWPID | CLONE_NEWNET
            if os.geteuid() != 0:
                unshare(flags | CLONE_NEWUSER)
                _write("/proc/self/setgroups", "deny")
                _write("/proc/self/uid_map", "0 %d 1" % uid)
                _write("/proc/self/gid_map", "0 %d 1" % gid)
            else:
                unshare(flags)
            mount(None, "/", None, MS_REC | MS_PRIVATE)
            inner = os.fork()
            if inner == 0:  # init of the new PID namespace, as the worker will be
                try:
                    mount("proc", "/proc", "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC)
                    unshare(CLONE_NEWIPC | CLONE_NEWUTS)  # what each job does
                    os._exit(0)
                except BaseException:
                    os._exit(1)
            _, st = os.waitpid(inner, 0)
            os._exit(0 if os.WIFEXITED(st) and os.WEXITSTATUS(st) == 0 else 1)
        except BaseException:
            os._exit(1)
    _, status = os.waitpid(pid, 0)
    return os.WIFEXITED(status) and os.WEXITSTATUS(status) == 0
