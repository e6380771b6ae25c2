"""Execution engine settings (``conf/shared/exec/default.yaml`` maps onto ``ExecConfig``)."""

from __future__ import annotations

import os
import shutil
import sys
from dataclasses import dataclass, field

from kodcode.config import setting

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


ISOLATION_MODES = ("auto", "namespaces", "degraded")


@dataclass
class ExecConfig:
    workers: int = setting(0, ge=0, why="0 means one per CPU core")
    timeout_s: float = setting(10.0, gt=0, why="CPU seconds per pytest job, per case for stdio/call jobs")
    wall_factor: float = setting(3.0, ge=1, why="wall-clock backstop = timeout_s * wall_factor + 2 s (sleeping jobs)")
    memory_mb: int = 2048  # address space the job may add on top of the warm interpreter (<= 0: no cap)
    max_procs: int = setting(64, gt=0, why="processes/threads per job (per-slot uid, so jobs never share the count)")
    max_output_bytes: int = setting(16 * 1024 * 1024, gt=0, why="stdout+stderr volume before the job is killed")
    tail_bytes: int = setting(8192, gt=0, why="stdout/stderr tail kept in the verdict")
    max_file_mb: int = setting(64, gt=0, why="largest file a job may write")
    tmpfs_mb: int = setting(256, gt=0, why="size of the job's private working directory")
    python: str | None = None  # interpreter jobs run in (default: this one)
    isolation: str = setting("auto", one_of=ISOLATION_MODES)
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
        if self.python is not None and not os.access(self.python, os.X_OK):
            return [f"python={self.python}: must be an executable interpreter; "
                    "point exec.python at e.g. /path/to/venv/bin/python or leave it null"]
        return []

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
