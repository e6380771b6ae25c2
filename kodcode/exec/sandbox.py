"""Linux isolation for one job (part of the worker program, see ``zygote.py``).

Once per worker (``prepare_slot``): a user namespace when not root, then PID and network namespaces
the worker is init of (only ``lo``, up, and no TIME_WAIT sockets left behind), and a mount namespace
with the filesystem view every job starts from (every mount read-only, directories outside the
system hidden, host sockets covered, the interpreter bound back, ``/proc`` of the slot's PID
namespace).

Per job: the worker mounts a fresh ``/tmp`` (holding the working directory) and ``/dev/shm`` in its
own mount namespace, unmounting the last job's with whatever it left there (``fresh_job_dir``).  The
job is forked from the worker (``child_main``), starts a new session and new IPC / UTS
namespaces, caps its resources, drops to the slot's uid (or gives up its capabilities when not
root), sets no_new_privs and a seccomp filter (x86_64), scrubs its environment and hands over to a
runner; it cannot mount or unmount anything.  When the job is done the worker, init of the slot's
PID namespace, kills every other process in it and reaps them (``end_job``).

Standard library only (ctypes for unshare/mount/prctl); Python 3.9+.
"""

import ctypes
import json
import os
import resource
import signal
import struct
import sys
import time

STATE = globals().get("STATE", {})


_libc = ctypes.CDLL(None, use_errno=True)
CLONE_NEWNS, CLONE_NEWUTS, CLONE_NEWIPC = 0x00020000, 0x04000000, 0x08000000
CLONE_NEWUSER, CLONE_NEWPID, CLONE_NEWNET = 0x10000000, 0x20000000, 0x40000000
MS_RDONLY, MS_NOSUID, MS_NODEV, MS_NOEXEC = 1, 2, 4, 8
MS_REMOUNT, MS_BIND, MS_REC, MS_PRIVATE = 32, 4096, 16384, 1 << 18
MNT_DETACH = 2
MS_NOATIME, MS_NODIRATIME, MS_RELATIME, MS_STRICTATIME = 1024, 2048, 1 << 21, 1 << 24
PR_SET_PDEATHSIG, PR_SET_DUMPABLE, PR_SET_NO_NEW_PRIVS = 1, 4, 38
PR_CAPBSET_DROP, PR_SET_SECUREBITS, PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL = 24, 28, 47, 4
SECBIT_NOROOT, SECBIT_NOROOT_LOCKED, SECBIT_NO_SETUID_FIXUP_LOCKED = 1, 2, 8
SECBIT_KEEP_CAPS_LOCKED, SECBIT_NO_CAP_AMBIENT_RAISE, SECBIT_NO_CAP_AMBIENT_RAISE_LOCKED = 32, 64, 128
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


# ----------------------------------------------------------------------------- child side


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


def fresh_job_dir():
    """Namespaces mode, before each job: a fresh ``/tmp`` holding the job's working directory and a
    fresh ``/dev/shm``, in the worker's mount namespace.  The last job's are unmounted with whatever it
    left in them (its processes are gone by then, see ``end_job``)."""
    cfg = STATE["cfg"]
    uid = STATE["job_uid"] if STATE["root"] else None
    while STATE["fresh_mounts"]:
        path = STATE["fresh_mounts"].pop()
        _check(_libc.umount2(path.encode(), MNT_DETACH), "unmount %s" % path)
    mount("tmpfs", "/tmp", "tmpfs", MS_NOSUID | MS_NODEV, "size=%dm,mode=755" % int(cfg["tmpfs_mb"]))
    STATE["fresh_mounts"].append("/tmp")
    if os.path.isdir("/dev/shm"):
        mount("tmpfs", "/dev/shm", "tmpfs", MS_NOSUID | MS_NODEV | MS_NOEXEC, "size=64m,mode=1777")
        STATE["fresh_mounts"].append("/dev/shm")
    _bind_back(STATE["tmp_keep"], close=False)  # kept open for the next job's /tmp
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


def _under(path, dirs):
    return any(path == d or path.startswith(d.rstrip("/") + "/") for d in dirs)


def _write(path, text):
    """``text`` (UTF-8) into ``path``, as ``open(path, "w")`` would, but with plain system calls: in a
    freshly forked job, Python's file objects would first fault in their pages (~0.15 ms a file)."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o666)
    try:
        data = text.encode("utf-8")
        while data:
            data = data[os.write(fd, data):]
    finally:
        os.close(fd)


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


# ----------------------------------------------------------------------------- seccomp

PR_SET_SECCOMP, SECCOMP_MODE_FILTER = 22, 2
_AUDIT_ARCH_X86_64 = 0xC000003E
# x86_64 numbers of what no test needs and the kernel is best not exposed to: tracing and reading
# other processes, mounts and namespaces, kernel keyrings (not namespaced: a key would outlive the job),
# BPF, perf, module and kexec loading, userfaultfd, io_uring, handle-based opens, clocks, swap, reboot.
_DENY_X86_64 = {
    "ptrace": 101, "process_vm_readv": 310, "process_vm_writev": 311, "pidfd_getfd": 438,
    "process_madvise": 440, "kcmp": 312, "mount": 165, "umount2": 166, "pivot_root": 155, "chroot": 161,
    "unshare": 272, "setns": 308, "open_tree": 428, "move_mount": 429, "fsopen": 430, "fsconfig": 431,
    "fsmount": 432, "fspick": 433, "mount_setattr": 442, "bpf": 321, "perf_event_open": 298,
    "kexec_load": 246, "kexec_file_load": 320, "init_module": 175, "finit_module": 313,
    "delete_module": 176, "keyctl": 250, "add_key": 248, "request_key": 249, "userfaultfd": 323,
    "io_uring_setup": 425, "io_uring_enter": 426, "io_uring_register": 427, "open_by_handle_at": 304,
    "swapon": 167, "swapoff": 168, "reboot": 169, "acct": 163, "quotactl": 179, "syslog": 103,
    "lookup_dcookie": 212, "vhangup": 153, "iopl": 172, "ioperm": 173, "settimeofday": 164,
    "clock_settime": 227, "clock_adjtime": 305, "sethostname": 170, "setdomainname": 171,
}
_NR_CLONE, _NR_CLONE3, _NR_SOCKET = 56, 435, 41
_NS_FLAGS = 0x7E020000  # CLONE_NEWNS|NEWCGROUP|NEWUTS|NEWIPC|NEWUSER|NEWPID|NEWNET
_AF_DENIED_DEGRADED = (2, 10, 16, 17)  # AF_INET, AF_INET6, AF_NETLINK, AF_PACKET


class _SockFilter(ctypes.Structure):
    _fields_ = [("code", ctypes.c_ushort), ("jt", ctypes.c_ubyte), ("jf", ctypes.c_ubyte), ("k", ctypes.c_uint)]


class _SockFprog(ctypes.Structure):
    _fields_ = [("len", ctypes.c_ushort), ("filter", ctypes.POINTER(_SockFilter))]


def seccomp_program(no_network):
    """The job's seccomp filter (x86_64 only; None elsewhere): a deny list answering EPERM.

    ``clone`` with namespace flags is refused, ``clone3`` answers ENOSYS (its flags sit in memory a
    filter cannot read, so glibc falls back to ``clone``), and with ``no_network`` (degraded mode, no
    network namespace) IPv4/IPv6/netlink/packet sockets are refused too.
    """
    import platform
    if platform.machine() not in ("x86_64", "AMD64"):
        return None
    LD_ABS, JEQ, JGE, JSET, RET = 0x20, 0x15, 0x35, 0x45, 0x06
    ALLOW, ERRNO = 0x7FFF0000, 0x00050000
    eperm, enosys, eacces = ERRNO | 1, ERRNO | 38, ERRNO | 13
    ins = [(LD_ABS, 0, 0, 4), (JEQ, 1, 0, _AUDIT_ARCH_X86_64), (RET, 0, 0, eperm),  # i386/x32 entry points
           (LD_ABS, 0, 0, 0), (JGE, 0, 1, 0x40000000), (RET, 0, 0, eperm)]
    for nr in sorted(set(_DENY_X86_64.values())):
        ins += [(JEQ, 0, 1, nr), (RET, 0, 0, eperm)]
    ins += [(JEQ, 0, 1, _NR_CLONE3), (RET, 0, 0, enosys)]
    if no_network:
        ins += [(JEQ, 0, 2 * len(_AF_DENIED_DEGRADED) + 2, _NR_SOCKET), (LD_ABS, 0, 0, 16)]
        for af in _AF_DENIED_DEGRADED:
            ins += [(JEQ, 0, 1, af), (RET, 0, 0, eacces)]
        ins += [(RET, 0, 0, ALLOW)]
    ins += [(JEQ, 0, 3, _NR_CLONE), (LD_ABS, 0, 0, 16), (JSET, 0, 1, _NS_FLAGS), (RET, 0, 0, eperm),
            (RET, 0, 0, ALLOW)]
    arr = (_SockFilter * len(ins))(*[_SockFilter(*i) for i in ins])
    prog = _SockFprog(len(ins), ctypes.cast(arr, ctypes.POINTER(_SockFilter)))
    prog._keep = arr
    return prog


def _install_seccomp(prog):
    # seccomp(2) with SPEC_ALLOW: by default the kernel also turns on the speculative-store-bypass
    # mitigation for filtered processes, which slows all Python code down; the filter is the boundary.
    SYS_seccomp, SECCOMP_SET_MODE_FILTER, SECCOMP_FILTER_FLAG_SPEC_ALLOW = 317, 1, 4
    if _libc.syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, SECCOMP_FILTER_FLAG_SPEC_ALLOW, ctypes.byref(prog)) != 0:
        _check(_libc.prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, ctypes.byref(prog), 0, 0), "seccomp")


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


