"""The sandbox started by an ordinary user (the usual case on a cluster): user namespaces, no root.

Without root the job is uid 0 of its own user namespace, which owns its mount and network
namespaces; unless it gives up its capabilities it can unmount the masks (and read what they hide) or
remount the filesystem read-write.  This test runs an engine as uid 65534 (from a root test process)
and throws mount attacks at it, and attacks on the worker (the job's PID 1, same uid here); each
attack's test passes only if the attack worked.

Needs root (to become the unprivileged user) and unprivileged user namespaces; skips otherwise.
"""

from __future__ import annotations

import importlib.metadata
import json
import os
import shutil
import subprocess
import sys
import tempfile
import textwrap
from pathlib import Path

import pytest
from hostile_jobs import WORKER_ATTACKS

REPO = Path(__file__).resolve().parents[2]
NOBODY = 65534

pytestmark = [
    pytest.mark.skipif(sys.platform != "linux", reason="Linux namespaces"),
    pytest.mark.skipif(not hasattr(os, "geteuid") or os.geteuid() != 0, reason="needs root to become uid 65534"),
    pytest.mark.timeout(300),
]

CAPS = """
def caps():
    out = {}
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("Cap"):
                k, v = line.split(":")
                out[k] = int(v, 16)
    return out
"""

RUNNER_MEM = """
import os
try:
    os.close(os.open("/proc/%d/mem" % os.getppid(), os.O_RDWR))
    print("opened")
except OSError as e:
    print("denied", e.errno)
"""

MOUNT_LIB = """
import ctypes, os
libc = ctypes.CDLL(None, use_errno=True)
MNT_DETACH, MS_REMOUNT, MS_BIND = 2, 32, 4096

def unmask(path, secret):
    libc.umount2(path.encode(), MNT_DETACH)
    return os.path.exists(secret)

def remount_rw_and_write(path):
    libc.mount(None, b"/", None, MS_REMOUNT | MS_BIND, None)
    try:
        with open(path, "w") as f:
            f.write("x")
        return True
    except OSError:
        return False

def nested_userns_unmask(path, secret):
    if libc.unshare(0x10000000 | 0x00020000) != 0:  # CLONE_NEWUSER | CLONE_NEWNS
        return False
    with open("/proc/self/uid_map", "w") as f:
        f.write("0 0 1")
    return unmask(path, secret)

def write_sysctl():
    # Sysctls of the worker's network and user namespaces are owned by its uid 0, which the job is too;
    # a job that could change them would change them for every later job of the worker.
    done = []
    for path, value in (("/proc/sys/net/ipv4/tcp_max_tw_buckets", "262144"),
                        ("/proc/sys/net/ipv4/ip_local_port_range", "40000 40001"),
                        ("/proc/sys/user/max_inotify_instances", "0")):
        try:
            with open(path, "w") as f:
                f.write(value)
            done.append(path)
        except OSError:
            pass
    return done

def subprocess_unmask(path, secret):
    import subprocess, sys
    code = "import ctypes, os; ctypes.CDLL(None).umount2(%r, 2); print(os.path.exists(%r))" % (path.encode(), secret)
    return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True).stdout.strip() == "True"
"""


def _job_interpreter(tmp: Path) -> tuple[str, str]:
    """A venv the unprivileged user can run, with pytest copied in (no network, no pip)."""
    candidates = [f"/usr/bin/python{sys.version_info.major}.{sys.version_info.minor}", sys.executable]
    base = next((c for c in candidates if _runs_as_nobody([c, "-c", "import venv"])), None)
    if base is None:
        pytest.skip("no Python interpreter that uid 65534 may run (the usual one sits under a private home)")
    venv = tmp / "jobenv"
    subprocess.run([base, "-m", "venv", "--without-pip", str(venv)], check=True)
    site = Path(
        subprocess.check_output([str(venv / "bin/python"), "-c", "import sysconfig; print(sysconfig.get_path('purelib'))"], text=True).strip()
    )
    for dist in ("pytest", "pluggy", "iniconfig", "packaging", "pygments"):
        try:
            files = importlib.metadata.distribution(dist).files or []
        except importlib.metadata.PackageNotFoundError:
            continue
        for f in files:
            src = Path(f.locate())
            if src.is_file() and ".." not in f.parts and "__pycache__" not in f.parts:
                dst = site / f
                dst.parent.mkdir(parents=True, exist_ok=True)
                shutil.copy2(src, dst)
    return str(venv / "bin/python"), base


def _runs_as_nobody(cmd: list[str]) -> bool:
    try:
        return subprocess.run(cmd, user=NOBODY, group=NOBODY, extra_groups=[], capture_output=True, timeout=60).returncode == 0
    except (OSError, subprocess.SubprocessError):
        return False


@pytest.fixture
def shared_dir():
    """A directory the unprivileged user can read (pytest's own tmp_path sits under a 0700 one)."""
    d = Path(tempfile.mkdtemp(prefix="kodcode-unpriv-"))
    d.chmod(0o755)
    yield d
    shutil.rmtree(d, ignore_errors=True)


def test_unprivileged_jobs_hold_no_capabilities_and_cannot_unmask(shared_dir):
    tmp_path = shared_dir
    # The engine's own code, readable by the unprivileged user (the checkout may sit in a private home).
    pkg = tmp_path / "pkg" / "kodcode"
    shutil.copytree(REPO / "kodcode" / "exec", pkg / "exec", ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copy2(REPO / "kodcode" / "__init__.py", pkg / "__init__.py")
    shutil.copy2(REPO / "kodcode" / "config.py", pkg / "config.py")  # ExecConfig's schema rules (stdlib only)
    job_python, host_python = _job_interpreter(tmp_path)
    # Bait on the host, under /tmp (which each job sees replaced by a fresh tmpfs).
    bait = Path("/tmp") / f"kodcode-unpriv-{os.getpid()}"
    bait.mkdir(mode=0o777, exist_ok=True)
    secret = bait / "secret.txt"
    secret.write_text("host secret\n")
    target = bait / "written-by-job.txt"
    for p in tmp_path.rglob("*"):
        p.chmod(0o755 if p.is_dir() else 0o644 | (p.stat().st_mode & 0o111))
    bait.chmod(0o777)
    script = tmp_path / "run.py"
    script.write_text(
        textwrap.dedent(
            f"""
            import json, sys
            sys.path.insert(0, {str(tmp_path / "pkg")!r})
            from kodcode.exec import ExecConfig, Executor, PytestJob, StdioJob
            from kodcode.exec.engine import SandboxError
            caps, lib = {CAPS!r}, {MOUNT_LIB + WORKER_ATTACKS!r}
            secret, target = {str(secret)!r}, {str(target)!r}
            jobs = {{
                "honest": PytestJob("def f():\\n    return 1\\n", "def test_f():\\n    assert f() == 1\\n"),
                "no_capabilities": PytestJob(caps, "def test_c():\\n    c = caps()\\n"
                                             "    assert c['CapEff'] == c['CapPrm'] == c['CapBnd'] == c['CapAmb'] == 0, c\\n"),
                "workdir_writable": PytestJob("import os\\n", "def test_w():\\n    open('x.txt', 'w').write('1')\\n"
                                              "    assert open('x.txt').read() == '1'\\n"),
                "unmount_tmp_mask": PytestJob(lib, "def test_u():\\n    assert unmask('/tmp', secret)\\n"),
                "remount_root_rw": PytestJob(lib, "def test_r():\\n    assert remount_rw_and_write(target)\\n"),
                "nested_userns_unmask": PytestJob(lib, "def test_n():\\n    assert nested_userns_unmask('/tmp', secret)\\n"),
                "child_process_unmask": PytestJob(lib, "def test_s():\\n    assert subprocess_unmask('/tmp', secret)\\n"),
                "read_worker": PytestJob(lib, "def test_rw():\\n    assert read_worker()\\n"),
                "signal_worker": PytestJob(lib, "def test_sw():\\n    assert signal_worker()\\n"),
                "write_sysctl": PytestJob(lib, "def test_ws():\\n    assert write_sysctl()\\n"),
                "honest_after": PytestJob("def f():\\n    return 1\\n", "def test_f():\\n    assert f() == 1\\n"),
                # a stdio/call case runs in a fork of the job's runner, which holds the verdict channel:
                # the case must not reach the runner's memory (same uid here)
                "write_runner_memory": StdioJob(program={RUNNER_MEM!r}, inputs=[""]),
            }}
            try:  # "auto": the start-up probe must find the namespaces usable without root
                ex = Executor(ExecConfig(python={job_python!r}, workers=1, isolation="auto", timeout_s=10))
            except SandboxError as e:
                print(json.dumps({{"unavailable": str(e)}}))
                sys.exit(0)
            if ex.isolation != "namespaces":
                ex.close()
                print(json.dumps({{"unavailable": "the probe chose " + ex.isolation}}))
                sys.exit(0)
            with ex:
                before = ex._workers[0].proc.pid
                vs = ex.run(list(jobs.values()))
                same_worker = ex._workers[0].proc.pid == before and ex._workers[0].alive()
            out = {{k: [v.status, v.message[:300]] for k, v in zip(jobs, vs)}}
            out["write_runner_memory"].append(vs[-1].outputs[0].stdout if vs[-1].outputs else "")
            out["same_worker"] = same_worker
            print(json.dumps(out))
            """
        )
    )
    script.chmod(0o644)
    try:
        proc = subprocess.run(
            [host_python, str(script)], user=NOBODY, group=NOBODY, extra_groups=[], cwd="/",
            capture_output=True, text=True, timeout=240, env={"PATH": "/usr/bin:/bin", "HOME": "/nonexistent"},
        )
        assert proc.returncode == 0, proc.stderr[-3000:]
        out = json.loads(proc.stdout.strip().splitlines()[-1])
        if "unavailable" in out:
            pytest.skip(f"user namespaces not available to an unprivileged user here: {out['unavailable']}")
        for name in ("honest", "no_capabilities", "workdir_writable", "signal_worker", "honest_after"):
            assert out[name][0] == "pass", (name, out[name])
        for name in ("unmount_tmp_mask", "remount_root_rw", "nested_userns_unmask", "child_process_unmask",
                     "read_worker", "write_sysctl"):
            assert out[name][0] != "pass", (name, out[name])
        assert out["write_runner_memory"][2].startswith("denied"), out["write_runner_memory"]
        assert out["same_worker"], "a job stopped or killed the worker (its PID 1): " + json.dumps(out)
        assert not target.exists()
        assert secret.read_text() == "host secret\n"
    finally:
        shutil.rmtree(bait, ignore_errors=True)
