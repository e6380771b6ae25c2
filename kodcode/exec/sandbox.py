"""Linux isolation for one job (part of the worker program, see ``zygote.py``).

In the child the zygote forks per job: a new session, new mount / network / PID / IPC / UTS
namespaces (a user namespace too when not root), then an init process (PID 1 of the namespace) that
builds the filesystem view, and the job itself (PID 2), which caps its resources, drops to the slot's
uid, scrubs its environment and hands over to a runner.  When the job exits, init exits and the
kernel kills whatever the job left behind.

Standard library only (ctypes for unshare/mount/prctl); Python 3.8+.
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


def child_main(job, fds, close_fds):
    """Runs in the forked child (still trusted): namespaces, then init, then the job."""
    cfg = STATE["cfg"]
    STATE["t"] = {"child": time.monotonic()}
    for fd in close_fds:
        os.close(fd)
    os.setsid()
    for procs in STATE.get("cgroups") or ():
        try:  # the job's whole tree is charged to this worker's cgroup from here on
            with open(procs, "w") as f:
                f.write("0")
        except OSError:
            pass
    sockets = _host_unix_sockets()
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
    root = os.geteuid() == 0
    uid = STATE["job_uid"] if root else os.geteuid()
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
    init_main(job, fixed, uid if root else None, sockets)


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


def init_main(job, fixed, uid, sockets=()):
    """PID 1 of the job's PID namespace: build the filesystem view, run the job, reap."""
    cfg = STATE["cfg"]
    STATE["t"]["init"] = time.monotonic()
    try:
        prctl(PR_SET_PDEATHSIG, signal.SIGKILL)
        workdir = _setup_mounts(cfg, uid, sockets)
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


def _host_unix_sockets():
    """Paths of the host's Unix sockets (read before the network namespace hides them)."""
    paths = []
    try:
        with open("/proc/net/unix") as f:
            next(f)
            for line in f:
                parts = line.split()
                if len(parts) >= 8 and parts[7].startswith("/"):
                    paths.append(parts[7])
    except (OSError, StopIteration):
        pass
    return paths


def _setup_mounts(cfg, uid, sockets=()):
    mount(None, "/", None, MS_REC | MS_PRIVATE)
    fresh = ["/tmp", "/dev/shm"]  # replaced wholesale by fresh tmpfs below
    masks = [p for p in cfg["mask_paths"] if os.path.isdir(p)
             and not any(p == f or p.startswith(f + "/") for f in fresh)]
    hidden = masks + fresh
    # Open the interpreter's directories now: they may sit under a directory about to be hidden (a
    # venv in a home directory, or a checkout under /tmp); they are bound back read-only afterwards.
    keep = []
    for p in STATE["binds"]:
        if any(p == m or p.startswith(m.rstrip("/") + "/") for m in hidden):
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
    # A read-only mount does not stop connect() on a socket inode: cover each one with /dev/null.
    for path in sockets:
        if any(path.startswith(m.rstrip("/") + "/") for m in hidden):
            continue
        try:
            mount("/dev/null", path, None, MS_BIND)
        except OSError:
            pass
    size = "size=%dm,mode=755" % int(cfg["tmpfs_mb"])
    mount("tmpfs", "/tmp", "tmpfs", MS_NOSUID | MS_NODEV, size)
    if os.path.isdir("/dev/shm"):
        mount("tmpfs", "/dev/shm", "tmpfs", MS_NOSUID | MS_NODEV | MS_NOEXEC, "size=64m,mode=1777")
    for p, fd in keep:
        os.makedirs(p, exist_ok=True)
        mount("/proc/self/fd/%d" % fd, p, None, MS_BIND | MS_REC)
        mount(None, p, None, MS_BIND | MS_REMOUNT | MS_RDONLY | MS_NOSUID | MS_NODEV)
        os.close(fd)
    for m in masks:
        mount(None, m, None, MS_REMOUNT | MS_RDONLY | MS_NOSUID | MS_NODEV, "size=1m,mode=755")
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
        elif STATE["mode"] == "namespaces" and os.geteuid() == 0:
            # Not started as root: the job is uid 0 of its own user namespace, with every capability
            # over the namespaces it owns (it could unmount the masks or remount / read-write).
            _drop_capabilities()
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
    # Deep recursion (limits of 10**5 are common in tests) needs a big main stack, but new threads take
    # their default stack size from this limit too, and each would count fully against RLIMIT_AS.
    stack = 256 * 1024 * 1024
    try:
        resource.setrlimit(resource.RLIMIT_STACK, (stack, stack))
        import threading
        threading.stack_size(8 * 1024 * 1024)
    except (ValueError, OSError, RuntimeError):
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
        result["t"] = "end"
        data = b"\n" + json.dumps(result, default=repr).encode() + b"\n"
        while data:
            n = os.write(fixed["res"], data)
            data = data[n:]
    finally:
        os._exit(0)


