"""Execution engine settings (``conf/shared/exec/default.yaml`` maps onto ``ExecConfig``)."""

from __future__ import annotations

import os
import shutil
import sys
from dataclasses import dataclass, field

# Jobs see only these variables (plus ExecConfig.env): no tokens, keys or credentials ever reach them.
BASE_ENV = {
    "PATH": "/usr/local/bin:/usr/bin:/bin",
    "LANG": "C.UTF-8",
    "LC_ALL": "C.UTF-8",
    "TZ": "UTC",
    "PYTHONHASHSEED": "0",
    "PYTHONDONTWRITEBYTECODE": "1",
    "PYTHONIOENCODING": "utf-8",
    "OMP_NUM_THREADS": "1",
    "OPENBLAS_NUM_THREADS": "1",
    "MKL_NUM_THREADS": "1",
    "NUMEXPR_NUM_THREADS": "1",
    "MPLBACKEND": "Agg",
    # glibc reserves 64 MiB of address space per thread arena; with RLIMIT_AS that fails threads early.
    "MALLOC_ARENA_MAX": "2",
    "PYTEST_DISABLE_PLUGIN_AUTOLOAD": "1",
    "USER": "sandbox",
    "LOGNAME": "sandbox",
}


_VISIBLE_TOP_DIRS = frozenset(("usr", "lib", "lib32", "lib64", "libx32", "bin", "sbin", "etc", "dev", "proc",
                               "sys", "tmp", "nix", "gnu"))


@dataclass
class ExecConfig:
    workers: int = 0  # 0: one per CPU core
    timeout_s: float = 10.0  # CPU seconds per pytest job, per case for stdio/call jobs
    wall_factor: float = 3.0  # wall-clock backstop = timeout_s * wall_factor + 2 s (sleeping jobs)
    memory_mb: int = 2048  # address space the job may add on top of the warm interpreter
    max_procs: int = 64  # processes/threads per job (per-slot uid, so jobs never share the count)
    max_output_bytes: int = 16 * 1024 * 1024  # stdout+stderr volume before the job is killed
    tail_bytes: int = 8192  # stdout/stderr tail kept in the verdict
    max_file_mb: int = 64  # largest file a job may write
    tmpfs_mb: int = 256  # size of the job's private working directory
    python: str | None = None  # interpreter jobs run in (default: this one)
    isolation: str = "auto"  # auto | namespaces | degraded
    uid_base: int = 62000  # slot i runs as uid uid_base + i when started as root
    # imported once per worker where the job interpreter has them: the third-party packages KodCode's
    # tests import most (a job that imports one starts faster; its helpers are watched for patching)
    preimport: list[str] = field(
        default_factory=lambda: ["numpy", "numpy.testing", "numpy.random", "requests", "bs4"]
    )
    mask_paths: list[str] = field(default_factory=list)  # extra directories hidden from jobs
    fast_path: bool = True  # run plain def test_*() files without a pytest session
    seccomp: bool = True  # syscall deny list for jobs (x86_64); degraded mode also refuses IP sockets
    env: dict[str, str] = field(default_factory=dict)  # extra variables for jobs
    start_timeout_s: float = 120.0

    def check(self) -> list[str]:
        errors = []
        if self.workers < 0:
            errors.append(f"workers must be >= 0 (got {self.workers}); 0 means one per CPU core")
        if self.timeout_s <= 0:
            errors.append(
                f"timeout_s must be > 0 (got {self.timeout_s}): it bounds each job's CPU time; set exec.timeout_s=10"
            )
        if self.wall_factor < 1:
            errors.append(f"wall_factor must be >= 1 (got {self.wall_factor}); set exec.wall_factor=3")
        if self.isolation not in ("auto", "namespaces", "degraded"):
            errors.append(
                f"isolation must be auto, namespaces or degraded (got {self.isolation!r}); set exec.isolation=auto"
            )
        for name in ("memory_mb", "max_procs", "max_output_bytes", "tail_bytes", "max_file_mb", "tmpfs_mb"):
            if getattr(self, name) <= 0 and name != "memory_mb":
                errors.append(f"{name} must be > 0 (got {getattr(self, name)})")
        if self.python is not None and not os.access(self.python, os.X_OK):
            errors.append(
                f"python must be an executable interpreter (got {self.python!r}); "
                "point exec.python at e.g. /path/to/venv/bin/python or leave it null"
            )
        return errors

    def n_workers(self) -> int:
        return self.workers or os.cpu_count() or 1

    def job_env(self) -> dict[str, str]:
        """The variables jobs see: ``BASE_ENV``, with the job interpreter's own directory first on ``PATH``
        (as an activated environment has it: a test's ``subprocess.run(["python", ...])`` starts the
        interpreter jobs run in, with its packages, not whatever ``/usr/bin`` holds), then ``env``."""
        env = dict(BASE_ENV)
        python = self.python or sys.executable
        if os.sep not in python:
            python = shutil.which(python) or python
        bindir = os.path.dirname(os.path.abspath(python))
        if bindir and bindir not in env["PATH"].split(os.pathsep):
            env["PATH"] = bindir + os.pathsep + env["PATH"]
        env.update(self.env)
        return env

    def masked_paths(self) -> list[str]:
        # Everything outside the system directories is hidden (data, answer keys, home directories,
        # the repository); the job interpreter's own directories are bound back read-only.
        home = os.path.expanduser("~")
        tops = [os.path.join("/", n) for n in sorted(os.listdir("/")) if n not in _VISIBLE_TOP_DIRS]
        tops = [p for p in tops if os.path.isdir(p) and not os.path.islink(p)]
        paths = [home, "/root", "/home", "/run", "/var/tmp", "/mnt"] + tops + list(self.mask_paths)
        seen, out = set(), []
        for p in paths:
            p = os.path.realpath(p)
            if p not in seen and p != "/" and os.path.isdir(p):
                seen.add(p)
                out.append(p)
        # A directory inside another masked one is already hidden (and no longer exists there).
        return [p for p in out if not any(p != q and p.startswith(q.rstrip("/") + "/") for q in out)]
