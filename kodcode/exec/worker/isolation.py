"""Linux isolation of a worker slot and of each job's filesystem view.

Once per worker (``prepare_slot``): a user namespace when not root, then PID and network namespaces the
worker is init of (only ``lo``, up, and no TIME_WAIT sockets left behind), and a mount namespace with
the filesystem view every job starts from (every mount read-only, directories outside the system
hidden, host sockets covered, the interpreter bound back, ``/proc`` of the slot's PID namespace).

Per job: a fresh ``/tmp`` (holding the working directory) and ``/dev/shm`` in the worker's mount
namespace, unmounting the last job's with whatever it left there (``recycle_tmp``, ``fresh_job_dir``); when the job is
done the worker, init of the slot's PID namespace, kills every other process in it and reaps them
(``end_job``).
"""

import os
import signal
import struct

from .libc import (CLONE_NEWNET, CLONE_NEWNS, CLONE_NEWPID, CLONE_NEWUSER, MNT_DETACH, MS_BIND, MS_NODEV,
                   MS_NOEXEC, MS_NOSUID, MS_PRIVATE, MS_RDONLY, MS_REC, MS_REMOUNT, PR_SET_DUMPABLE,
                   PR_SET_PDEATHSIG, _MNT_FLAGS, _check, _libc, _under, _write, mount, prctl, unshare)
from .state import STATE


def prepare_slot():
    """Once per worker, in namespaces mode: the namespaces every job of this slot starts from.

    Not root: a user namespace first (the worker is uid 0 there, with capabilities over what it
    creates).  Then PID and network namespaces whose init the worker becomes (the process the engine
    started stays behind and mirrors its exit), and a mount namespace holding the "template": every
    mount read-only, directories outside the system hidden, host sockets covered, the interpreter
    bound back, and the slot's own ``/proc``.  Jobs run in this mount namespace; only ``/tmp`` and
    ``/dev/shm`` are replaced before each one.
    """
    cfg = STATE["cfg"]
    # Opened now: the template makes /sys read-only.
    STATE["cgroup_fds"] = []
    for procs in STATE.get("cgroups") or ():
        try:
            STATE["cgroup_fds"].append(os.open(procs, os.O_WRONLY))
        except OSError:
            pass
    STATE["tmp_binds"] = [p for p in STATE["binds"] if _under(p, FRESH)]
    # The host's list of Unix sockets, kept open: read through this descriptor it stays the host
    # network namespace's list after the worker has left it, so sockets made later are found too.
    try:
        STATE["unix_fd"] = os.open("/proc/self/net/unix", os.O_RDONLY)
    except OSError:
        STATE["unix_fd"] = None
    sockets = _host_unix_sockets()
    real_uid, real_gid = os.getuid(), os.getgid()
    if STATE["root"]:
        unshare(CLONE_NEWNS | CLONE_NEWPID | CLONE_NEWNET)
    else:
        unshare(CLONE_NEWUSER | CLONE_NEWNS | CLONE_NEWPID | CLONE_NEWNET)
        _write("/proc/self/setgroups", "deny")
        _write("/proc/self/uid_map", "0 %d 1" % real_uid)
        _write("/proc/self/gid_map", "0 %d 1" % real_gid)
    pid = os.fork()
    if pid:
        # The process the engine started: only waits, so that killing it (or its group) ends the slot.
        _, st = os.waitpid(pid, 0)
        os._exit(os.WEXITSTATUS(st) if os.WIFEXITED(st) else 128 + os.WTERMSIG(st))
    prctl(PR_SET_PDEATHSIG, signal.SIGKILL)
    if os.getpid() != 1:  # end_job's kill(-1) is only safe as init of the slot's own PID namespace
        raise OSError("the worker is not init of its PID namespace")
    # Jobs see this process as PID 1: no job may read its memory or files under /proc/1 (a job's
    # uid differs when we are root; when not, it lacks the capability that non-dumpable demands),
    # and init ignores every signal it has no handler for when it comes from inside the namespace.
    prctl(PR_SET_DUMPABLE, 0)
    signal.signal(signal.SIGINT, signal.SIG_DFL)
    _loopback_up()
    try:  # a port a job closed must be free for the next job at once (servers without SO_REUSEADDR)
        _write("/proc/sys/net/ipv4/tcp_max_tw_buckets", "0")
    except OSError:
        pass
    _setup_template(cfg, sockets)
    mount("proc", "/proc", "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC)
    STATE["covered_sockets"] = set(sockets)
    _join_cgroups()
    # Interpreter directories under /tmp or /dev/shm (a checkout's venv) are hidden by each fresh
    # tmpfs: opened now, while still visible, and bound back into every job's.
    STATE["tmp_keep"] = [(p, os.open(p, os.O_PATH | os.O_DIRECTORY)) for p in STATE["tmp_binds"]]
    STATE["fresh_mounts"] = []

def _join_cgroups():
    """The worker enters its slot's memory and pids cgroups once, so every job is born in them.

    Moving a process into a cgroup takes the kernel's cgroup-wide write lock, whose slow path waits
    for an RCU grace period (10-15 ms on an idle machine) whenever no move happened just before; done
    per job it stalled every job that followed a slower one.  A fork only takes that lock's read side.
    The worker's own memory was charged before it moved and stays charged where it was; the worker
    counts as one process against ``pids.max`` (made one higher for it), and it must never be the
    memory cgroup's OOM victim: each job sets its ``oom_score_adj`` to 1000 (while still privileged,
    so it cannot lower it again), which puts every job process far ahead of the worker."""
    fds = STATE.pop("cgroup_fds", None) or []
    for fd in fds:
        try:
            os.write(fd, b"0")
            STATE["in_cgroup"] = True
        except OSError:
            pass
        os.close(fd)

JOB_DIR = "/tmp/job"  # the job's working directory in namespaces mode (a fresh /tmp each job)

def recycle_tmp():
    """Namespaces mode, between jobs: unmount the last job's ``/tmp`` and ``/dev/shm`` with whatever
    it left in them (its processes are gone by then, see ``end_job``) and mount fresh ones.  The worker
    does this right after sending a job's reply (``zygote.main``), while the engine reads that reply,
    rather than when the next job arrives: an unmount waits for the kernel (an RCU grace period)."""
    cfg = STATE["cfg"]
    STATE["tmp_fresh"] = False
    while STATE["fresh_mounts"]:
        path = STATE["fresh_mounts"].pop()
        _check(_libc.umount2(path.encode(), MNT_DETACH), "unmount %s" % path)
    mount("tmpfs", "/tmp", "tmpfs", MS_NOSUID | MS_NODEV, "size=%dm,mode=755" % int(cfg["tmpfs_mb"]))
    STATE["fresh_mounts"].append("/tmp")
    if os.path.isdir("/dev/shm"):
        mount("tmpfs", "/dev/shm", "tmpfs", MS_NOSUID | MS_NODEV | MS_NOEXEC, "size=64m,mode=1777")
        STATE["fresh_mounts"].append("/dev/shm")
    _bind_back(STATE["tmp_keep"], close=False)  # kept open for the next job's /tmp
    STATE["tmp_fresh"] = True

def fresh_job_dir():
    """Namespaces mode, before each job: the fresh ``/tmp`` (``recycle_tmp``, unless done since the last
    job) holding the job's working directory, and a fresh ``/dev/shm``, in the worker's mount namespace."""
    cfg = STATE["cfg"]
    uid = STATE["job_uid"] if STATE["root"] else None
    if not STATE.get("tmp_fresh"):
        recycle_tmp()
    STATE["tmp_fresh"] = False  # (this job's now)
    # Host sockets made since the worker started: covered here for good.
    new = [p for p in _host_unix_sockets() if p not in STATE["covered_sockets"]]
    if new:
        _cover_sockets(new, list(cfg["mask_paths"]) + list(FRESH))
        STATE["covered_sockets"].update(new)
    workdir = JOB_DIR
    os.mkdir(workdir, 0o700)
    if uid is not None:
        os.chown(workdir, uid, uid)
        os.chmod("/tmp", 0o1777)
    return workdir

def reap_orphans(job_pid):
    """Namespaces mode, while the job runs: reap what it orphaned and has exited (the worker is init of
    the slot's PID namespace, so orphans are its children), so they stop counting against the job's
    process limit.  The job itself is left for ``wait4``, which reads its status and CPU time."""
    while True:
        try:
            info = os.waitid(os.P_ALL, 0, os.WEXITED | os.WNOHANG | os.WNOWAIT)
        except ChildProcessError:
            return
        if info is None or info.si_pid == job_pid:
            return
        try:
            os.waitpid(info.si_pid, 0)
        except ChildProcessError:
            return

def end_job(pid):
    """Kill whatever the job left and reap it; returns the job's ``(status, rusage)`` if reaped here.

    In namespaces mode everything the job started stayed in the slot's PID namespace, whose init is
    this worker."""
    job = None
    if STATE["mode"] == "namespaces":
        # As init of the slot's PID namespace, kill(-1) reaches every other process in it (and in
        # nothing else).  A process with SIGKILL pending cannot fork, so one pass leaves nothing new;
        # reaping until there are no children proves it, orphans included (they are ours).
        while True:
            try:
                os.kill(-1, signal.SIGKILL)
            except OSError:
                pass
            try:
                wpid, st, ru = os.wait4(-1, 0)
            except ChildProcessError:
                break
            if wpid == pid:
                job = (st, ru)
    return job

def _fresh_dir(path, uid):
    import shutil
    shutil.rmtree(path, ignore_errors=True)
    os.makedirs(path, mode=0o700)
    if uid is not None:
        os.chown(path, uid, uid)

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

def _host_unix_sockets():
    """Paths of the host's Unix sockets (read before the network namespace hides them)."""
    paths = []
    try:
        fd = STATE.get("unix_fd")
        if fd is None:
            with open("/proc/net/unix", "rb") as f:
                data = f.read()
        else:
            chunks, off = [], 0
            while True:
                chunk = os.pread(fd, 1 << 16, off)
                if not chunk:
                    break
                chunks.append(chunk)
                off += len(chunk)
            data = b"".join(chunks)
    except OSError:
        return paths
    for line in data.decode(errors="replace").splitlines()[1:]:
        parts = line.split()
        if len(parts) >= 8 and parts[7].startswith("/"):
            paths.append(parts[7])
    return paths

FRESH = ("/tmp", "/dev/shm")  # replaced wholesale by a fresh tmpfs before every job

def _cover_sockets(sockets, hidden):
    # A read-only mount does not stop connect() on a socket inode: cover each one with /dev/null.
    for path in sockets:
        if _under(path, hidden):
            continue
        try:
            mount("/dev/null", path, None, MS_BIND)
        except OSError:
            pass

def _setup_template(cfg, sockets=()):
    """The worker's mount namespace, which every job copies: read-only, masked, sockets covered."""
    mount(None, "/", None, MS_REC | MS_PRIVATE)
    masks = [p for p in cfg["mask_paths"] if os.path.isdir(p) and not _under(p, FRESH)]
    # Open the interpreter's directories now: they may sit under a directory about to be hidden (a
    # venv in a home directory); they are bound back read-only afterwards.
    keep = [(p, os.open(p, os.O_PATH | os.O_DIRECTORY)) for p in STATE["binds"]
            if _under(p, masks) and not _under(p, FRESH)]
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
    _cover_sockets(sockets, masks + list(FRESH))
    _bind_back(keep)
    for m in masks:
        mount(None, m, None, MS_REMOUNT | MS_RDONLY | MS_NOSUID | MS_NODEV, "size=1m,mode=755")

def _bind_back(keep, close=True):
    for p, fd in keep:
        os.makedirs(p, exist_ok=True)
        mount("/proc/self/fd/%d" % fd, p, None, MS_BIND | MS_REC)
        mount(None, p, None, MS_BIND | MS_REMOUNT | MS_RDONLY | MS_NOSUID | MS_NODEV)
        if close:
            os.close(fd)
