"""The job's seccomp filter: a deny list of kernel interfaces no test needs (x86_64 only).

Refused: tracing and reading other processes, mounts and namespaces, kernel keyrings (not namespaced: a
key would outlive the job), BPF, perf, io_uring, userfaultfd, module and kexec loading, clocks and swap;
``clone3`` answers ENOSYS so that glibc falls back to ``clone``, whose namespace flags the filter can
read.  What it allows is the kernel attack surface of an unprivileged process.
"""

import ctypes

from .libc import _check, _libc


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
