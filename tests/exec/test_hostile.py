"""Hostile jobs against the execution engine: no cheat passes, and the host stays untouched.

Every attack of reference/execution-sandboxes.md section (a) (catalog: hostile_jobs.py) runs in ONE
batch with honest jobs, on one shared Executor, while the test owns bait on the host: fake secrets
in the parent's environment and fake HOME, a 0777 directory with a file to keep, TCP/UDP/Unix
listeners, a sentinel process.  Then each property is checked on its own, and positive controls show
that every check can fail: the harm code does its harm when run without the sandbox, each cheat
fools a plain `pytest` run (KodCode's verdict), and the /proc scan sees what a running job started.

    .venv/bin/python -m pytest tests/exec/test_hostile.py -q
"""

from __future__ import annotations

import concurrent.futures
import contextlib
import json
import os
import selectors
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from pathlib import Path

import pytest
from hostile_jobs import (
    CATALOG,
    HONEST_ADD,
    MEMORY_ACROSS_PROCESSES,
    TEST_ADD,
    HostContext,
    caller_passes,
    harm_prelude,
    honest_jobs,
    outcome_map,
)

from kodcode.exec import ExecConfig, Executor, PytestJob

REPO = Path(__file__).resolve().parents[2]
ATTACKS = {a.name: a for a in CATALOG}
# Files a poisoning job drops under their real names; found by the marker in their content.
POISON_NAMES = ("conftest.py", "sitecustomize.py", "usercustomize.py", "pytest.ini")
CONFIG = {"workers": 2, "timeout_s": 5.0, "memory_mb": 512}

pytestmark = pytest.mark.timeout(900)


# --- bait the host owns ------------------------------------------------------------------------


class Listeners:
    """TCP and UDP on every interface plus a 0777 Unix socket; records whatever reaches them."""

    def __init__(self, unix_path: str):
        self.events: list[tuple[str, bytes]] = []
        self.tcp = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.tcp.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.tcp.bind(("0.0.0.0", 0))
        self.tcp.listen(64)
        self.udp = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.udp.bind(("0.0.0.0", 0))
        self.unix = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.unix.bind(unix_path)
        os.chmod(unix_path, 0o777)
        self.unix.listen(64)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._serve, daemon=True)
        self._thread.start()

    @property
    def tcp_port(self) -> int:
        return self.tcp.getsockname()[1]

    @property
    def udp_port(self) -> int:
        return self.udp.getsockname()[1]

    def _serve(self) -> None:
        sel = selectors.DefaultSelector()
        for s, kind in ((self.tcp, "tcp"), (self.udp, "udp"), (self.unix, "unix")):
            sel.register(s, selectors.EVENT_READ, kind)
        while not self._stop.is_set():
            for key, _ in sel.select(0.1):
                self._take(key.fileobj, key.data)

    def _take(self, sock: socket.socket, kind: str) -> None:
        if kind == "udp":
            self.events.append(("udp", sock.recv(65536)))
            return
        conn, _ = sock.accept()
        conn.settimeout(0.5)
        data = b""
        try:
            while len(data) < 1 << 20:
                chunk = conn.recv(65536)
                if not chunk:
                    break
                data += chunk
        except OSError:
            pass
        conn.close()
        self.events.append((kind, data))

    def close(self) -> list[tuple[str, bytes]]:
        """Call once every sender has ended.  Local datagrams and connections are queued on the socket
        when sent, so what is still queued is taken here, without waiting for anything to arrive."""
        self._stop.set()
        self._thread.join(5)
        for s, kind in ((self.tcp, "tcp"), (self.udp, "udp"), (self.unix, "unix")):
            s.setblocking(False)
            while True:
                try:
                    self._take(s, kind)
                except BlockingIOError:
                    break
            s.close()
        return self.events


def _host_ip() -> str:
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    try:
        s.connect(("10.255.255.255", 1))  # picks the outgoing interface; sends nothing
        return s.getsockname()[0]
    except OSError:
        return "127.0.0.1"
    finally:
        s.close()


def _start_sentinel(marker: str) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-c", "import time; time.sleep(900)", f"kchsentinel_{marker}"])


def _stop(proc: subprocess.Popen) -> None:
    if proc.poll() is None:
        proc.kill()
    proc.wait(10)


def _bait_paths(root: Path) -> dict[str, Path]:
    return {k: root / k for k in ("outside", "home", "sock")}


def _make_bait(root: Path, marker: str) -> dict[str, Path]:
    paths = _bait_paths(root)
    for p in paths.values():
        p.mkdir(parents=True)
        os.chmod(p, 0o777)
    (paths["outside"] / "keep.txt").write_text("keep " + marker)
    (paths["home"] / ".cache" / "huggingface").mkdir(parents=True)
    return paths


def _secrets(marker: str) -> dict[str, str]:
    return {
        "HF_TOKEN": f"hf_{marker}HFSECRET",
        "WANDB_API_KEY": f"wb{marker}WANDBSECRET",
        "OPENAI_API_KEY": f"sk-{marker}OPENAISECRET",
        ".netrc": f"nrc{marker}NETRCSECRET",
        "hf_token_file": f"hf_{marker}FILESECRET",
    }


def _plant_secret_files(home: Path, secrets: dict[str, str]) -> None:
    (home / ".netrc").write_text(f"machine api.wandb.ai login user password {secrets['.netrc']}\n")
    (home / ".cache" / "huggingface" / "token").write_text(secrets["hf_token_file"])


def marked_processes(marker: str, comm: str, exclude: set[int] = frozenset()) -> dict[int, str]:
    """Live (non-zombie) processes whose argv carries the marker or whose thread name is ``comm``."""
    found = {}
    for name in os.listdir("/proc"):
        if not name.isdigit() or int(name) in exclude:
            continue
        try:
            stat = Path(f"/proc/{name}/stat").read_bytes()
            cmd = Path(f"/proc/{name}/cmdline").read_bytes()
            thread_name = Path(f"/proc/{name}/comm").read_bytes().strip()
        except OSError:
            continue
        if stat[stat.rindex(b")") + 2 :][:1] == b"Z":
            continue
        if marker.encode() in cmd or thread_name == comm.encode():
            found[int(name)] = (
                cmd.replace(b"\0", b" ").decode(errors="replace")[-80:] + f" [{thread_name.decode()}]"
            )
    return found


def _descendants(pid: int) -> set[int]:
    """Every live process below ``pid`` (by parent links in /proc)."""
    parent = {}
    for name in os.listdir("/proc"):
        try:
            stat = Path(f"/proc/{name}/stat").read_bytes() if name.isdigit() else b""
        except OSError:
            continue
        if stat:
            fields = stat[stat.rindex(b")") + 2 :].split()
            if fields[0] != b"Z":
                parent[int(name)] = int(fields[1])
    found, frontier = set(), {pid}
    while frontier:
        frontier = {p for p, pp in parent.items() if pp in frontier} - found
        found |= frontier
    return found


def _wait_gone(marker: str, comm: str, exclude: set[int], grace_s: float = 3.0) -> dict[int, str]:
    """Killed processes take a moment to be torn down; a 60 s sleeper is still there after the grace."""
    deadline = time.monotonic() + grace_s
    while True:
        left = marked_processes(marker, comm, exclude)
        if not left or time.monotonic() > deadline:
            return left
        time.sleep(0.1)


def _kill_all(pids) -> None:
    for pid in pids:
        try:
            os.kill(pid, signal.SIGKILL)
        except OSError:
            pass


def _job_sys_path(python: str) -> list[str]:
    out = subprocess.run(
        [python, "-c", "import sys, json; print(json.dumps(sys.path))"],
        capture_output=True,
        text=True,
        check=True,
    )
    return [p for p in json.loads(out.stdout) if p and os.path.isdir(p)]


def files_left(marker: str, bait: dict[str, Path], extra_dirs: list[str]) -> list[str]:
    """Marker files outside any job dir: names carrying the marker, or poison files quoting it."""
    found = []
    for d in [bait["outside"], bait["home"]]:
        for p in Path(d).rglob("*"):
            if marker in p.name:
                found.append(str(p))
    for d in extra_dirs:
        try:
            entries = list(Path(d).iterdir())
        except OSError:
            continue
        for p in entries:
            if marker in p.name:
                found.append(str(p))
            elif p.name in POISON_NAMES:
                try:
                    if marker in p.read_text(errors="replace"):
                        found.append(str(p))
                except OSError:
                    pass
    return sorted(set(found))


# --- the batch -------------------------------------------------------------------------------


class Batch(dict):
    """The batch's facts; a short repr keeps verdict contents (maybe leaked data) out of reports."""

    def __repr__(self) -> str:
        return f"Batch({len(self.get('verdicts', {}))} verdicts)"


def _scan_dirs(python: str) -> list[str]:
    """Where a job might drop files outside its own dir (besides the bait)."""
    dirs = [str(REPO), "/tmp", "/var/tmp", "/dev/shm", "/", "/root", str(Path.home()), os.getcwd()]
    return dirs + [tempfile.gettempdir(), str(REPO.parent)] + _job_sys_path(python)


def _bait_host(root: Path, marker: str, repo_dir: Path, *, host_ip: str, host_pidns: str, full: bool):
    """The bait a batch (or a control) aims at: directories, secret files, listeners, a sentinel."""
    bait = _make_bait(root, marker)
    secrets = _secrets(marker)
    _plant_secret_files(bait["home"], secrets)
    listeners = Listeners(str(bait["sock"] / "s"))
    sentinel = _start_sentinel(marker)
    ctx = HostContext(
        marker=marker,
        outside_dir=str(bait["outside"]),
        repo_dir=str(repo_dir),
        home_dir=str(bait["home"]),
        unix_socket=str(bait["sock"] / "s"),
        tcp_port=listeners.tcp_port,
        udp_port=listeners.udp_port,
        host_ip=host_ip,
        sentinel_pid=sentinel.pid,
        host_pidns=host_pidns,
        secrets=tuple(secrets.values()),
        full=full,
    )
    return bait, secrets, listeners, sentinel, ctx


def _run_batch(ctx: HostContext, bait: dict[str, Path], secrets: dict[str, str], stack) -> Batch:
    honest = honest_jobs(copies=5)
    first = ("tamper_sibling_job_dirs", "conftest_and_sitecustomize_for_later_jobs")  # honest jobs follow
    attacks = sorted(CATALOG, key=lambda a: a.name not in first)
    entries: list[tuple[str, object]] = []
    h = iter(honest)
    for i, a in enumerate(attacks):
        entries.append((a.name, a.build(ctx)))
        if i % 5 == 1:
            nxt = next(h, None)
            if nxt is not None:
                entries.append((nxt.name, nxt.job))
    entries += [(x.name, x.job) for x in h]
    with pytest.MonkeyPatch.context() as mp:
        # The parent keeps its secrets for the whole batch, as a trainer would (workers may restart).
        for k in ("HF_TOKEN", "WANDB_API_KEY", "OPENAI_API_KEY"):
            mp.setenv(k, secrets[k])
        mp.setenv("HOME", str(bait["home"]))
        ex = stack.enter_context(Executor(ExecConfig(**CONFIG)))
        t0 = time.monotonic()
        verdicts = ex.run([job for _, job in entries])
        seconds = time.monotonic() - t0
    keep = bait["outside"] / "keep.txt"
    return Batch(
        {
            "ctx": ctx,
            "ex": ex,
            "secrets": secrets,
            "verdicts": {name: v for (name, _), v in zip(entries, verdicts)},
            "jobs": dict(entries),
            "honest": {x.name: x for x in honest},
            "seconds": seconds,
            "leftovers": _wait_gone(ctx.marker, ctx.comm, {ctx.sentinel_pid}),
            "outside_files": files_left(ctx.marker, bait, _scan_dirs(ex.cfg.python or sys.executable)),
            "keep_intact": keep.is_file() and keep.read_text() == "keep " + ctx.marker,
            "outside_mode": os.stat(bait["outside"]).st_mode & 0o777,
        }
    )


@pytest.fixture(scope="module")
def host():
    """Bait on the host and, once, the whole hostile batch on one Executor."""
    marker = "kch" + uuid.uuid4().hex[:20]
    root = Path(tempfile.mkdtemp(prefix=".kch-hostile-", dir=REPO))  # visible (read-only) to jobs
    os.chmod(root, 0o755)  # any uid may reach the 0777 bait below: only the sandbox stands in the way
    listeners = sentinel = None
    stack = contextlib.ExitStack()
    try:
        # An answer key on disk, as benchmark data sits somewhere readable on a real machine.
        (root / "answers.jsonl").write_text(json.dumps({"input": "2 2\n", "output": "5\n"}) + "\n")
        bait, secrets, listeners, sentinel, ctx = _bait_host(
            root, marker, REPO, host_ip=_host_ip(), host_pidns=os.readlink("/proc/self/ns/pid"), full=True
        )
        batch = _run_batch(ctx, bait, secrets, stack)
        batch["sentinel_alive"] = sentinel.poll() is None
        batch["events"] = listeners.close()
        listeners = None
        yield batch
    finally:
        stack.close()  # the Executor first: nothing of a job may still be running below
        _kill_all(marked_processes(marker, "kc" + marker[-10:], {sentinel.pid} if sentinel else set()))
        if sentinel is not None:
            _stop(sentinel)
        if listeners is not None:
            listeners.close()
        for p in files_left(marker, _bait_paths(root), _scan_dirs(sys.executable)):
            Path(p).unlink(missing_ok=True)
        shutil.rmtree(root, ignore_errors=True)


# Attacks the engine does not stop yet, each with the reason (see docs/exec.md), as strict
# xfails: a fix turns the xfail into a failure that asks to drop the entry.  None at present: the forged
# stream with the job's own nonce (a solution that finds the result pipe, asks for the nonce first and
# streams "passed" for every test) used to be one; the parent's accounting of assertions stops it.
ENGINE_GAPS: dict[str, str] = {}


def _attack_params():
    return [
        pytest.param(n, marks=pytest.mark.xfail(strict=True, reason=ENGINE_GAPS[n]))
        if n in ENGINE_GAPS
        else n
        for n in sorted(ATTACKS)
    ]


@pytest.mark.parametrize("name", _attack_params())
def test_attack_does_not_pass(host, name):
    a, v = ATTACKS[name], host["verdicts"][name]
    passed = caller_passes(host["jobs"][name], v, a.expected)
    assert not passed, (
        f"attack {name} (section (a) item {a.item}) got a pass: status={v.status} runner={v.runner} "
        f"flags={v.flags} tests={[(t.name, t.outcome) for t in v.tests]}"
    )


def test_no_attack_is_blamed_on_the_infrastructure(host):
    # A sandbox_error becomes a None reward in RL: an attack that reaches it escapes its penalty.
    blamed = {
        n: host["verdicts"][n].message[:120] for n in ATTACKS if host["verdicts"][n].status == "sandbox_error"
    }
    assert blamed == {}


def test_attacks_that_never_finish_end_as_timeout(host):
    got = {a.name: host["verdicts"][a.name].status for a in CATALOG if a.timeout}
    assert got == {n: "timeout" for n in got}


def test_honest_jobs_in_the_hostile_batch_get_correct_verdicts(host):
    wrong = {}
    for name, h in host["honest"].items():
        v = host["verdicts"][name]
        if isinstance(h.job, PytestJob):
            want = {t: ("failed" if t in h.failed else "passed") for t in outcome_map(v)}
            ok = v.status == h.status and outcome_map(v) == want and len(v.tests) == 2
        else:
            ok = v.status == h.status and caller_passes(h.job, v, h.expected) == h.correct
        if not ok:
            wrong[name] = (v.status, [(t.name, t.outcome) for t in v.tests], v.message[:200])
    assert wrong == {}


def test_no_job_process_outlives_the_batch(host):
    assert host["leftovers"] == {}


def test_host_sentinel_process_survives(host):
    assert host["sentinel_alive"]


def test_nothing_written_outside_the_job_dirs(host):
    assert host["outside_files"] == []
    assert host["keep_intact"], "keep.txt in the 0777 directory was changed or removed"
    assert host["outside_mode"] == 0o777


def test_no_tcp_or_udp_traffic_reaches_the_host(host):
    if host["ex"].isolation == "degraded":
        pytest.skip("degraded isolation (no user namespaces) has no network namespace, by design")
    assert [(k, d[:60]) for k, d in host["events"] if k in ("tcp", "udp")] == []


def test_no_unix_socket_connection_reaches_the_host(host):
    assert [(k, d[:60]) for k, d in host["events"] if k == "unix"] == []


def test_no_secret_appears_in_any_verdict(host):
    text = json.dumps([v.to_dict() for v in host["verdicts"].values()], default=repr)
    leaked = [k for k, s in host["secrets"].items() if s in text]
    assert leaked == [], "secret values leaked into verdicts (names only shown)"
    try:
        shadow = [ln for ln in Path("/etc/shadow").read_text().splitlines() if ln.strip()]
    except OSError:
        shadow = []
    assert not any(ln in text for ln in shadow), "/etc/shadow content reached a verdict"


def test_verdict_output_tails_are_capped(host):
    cfg = host["ex"].cfg
    big = {
        n: (len(v.stdout), len(v.stderr))
        for n, v in host["verdicts"].items()
        if len(v.stdout.encode()) > cfg.tail_bytes or len(v.stderr.encode()) > cfg.tail_bytes
    }
    big.update(
        {
            n: [len(o.stdout) for o in v.outputs]
            for n, v in host["verdicts"].items()
            if any(len(o.stdout.encode()) > cfg.max_output_bytes + (1 << 16) for o in v.outputs)
        }
    )
    assert big == {}


def test_job_memory_is_bounded_across_its_processes(host):
    # memory_mb is the job's budget; forked children must not each get a fresh one (the worker's
    # memory cgroup holds the job's whole tree; its OOM killer ends children past the budget).
    if os.geteuid() != 0:
        pytest.skip("memory cgroups are made only when running as root; without them RLIMIT_AS bounds each process")
    v = host["verdicts"]["memory_bomb_across_processes"]
    got = [int(x.split("=")[1]) for x in v.stdout.split() if x.startswith("KCH_ALLOCATED_MB=")]
    assert all(mb <= 2 * CONFIG["memory_mb"] for mb in got), f"the job held {got} MiB at once"


def test_job_cannot_make_the_worker_the_oom_victim():
    # The worker sits in its slot's memory cgroup (jobs are born there), so a job must stay the OOM
    # killer's first choice: it starts with oom_score_adj 1000 and cannot lower it.
    if os.geteuid() != 0:
        pytest.skip("memory cgroups are made only when running as root")
    probe = (
        "def test_oom_priority():\n"
        "    assert open('/proc/self/oom_score_adj').read().strip() == '1000'\n"
        "    with open('/proc/self/oom_score_adj', 'w') as f:\n"
        "        f.write('0')\n"
    )
    with Executor(ExecConfig(workers=1, timeout_s=5.0, memory_mb=512)) as ex:
        v = ex.run([PytestJob("x = 1\n", probe)])[0]
    assert v.status == "fail", (v.status, v.message)
    assert "PermissionError" in v.tests[0].message, v.tests[0].message


def test_fork_bomb_in_one_executor_does_not_starve_another():
    """Two Executors on one machine (e.g. evaluation beside data verification) share nothing."""
    bomb = (
        "import os, time\n\n\ndef add(a, b):\n    t0 = time.time()\n    while time.time() - t0 < 6:\n"
        "        try:\n            if os.fork() == 0:\n                time.sleep(30)\n                os._exit(0)\n"
        "        except OSError:\n            time.sleep(0.01)\n    return a + b\n"
    )
    honest = (
        "import subprocess, sys, threading, time\n\n\ndef add(a, b):\n    time.sleep(2)  # while the bomb holds\n"
        "    ts = [threading.Thread(target=time.sleep, args=(0.1,)) for _ in range(8)]\n"
        "    [t.start() for t in ts]\n    [t.join() for t in ts]\n"
        "    out = subprocess.run([sys.executable, '-c', 'print(1)'], capture_output=True, text=True)\n"
        "    return a + b if out.stdout == '1\\n' else -1\n"
    )
    cfg = {"workers": 1, "timeout_s": 10.0, "memory_mb": 512}
    with (
        Executor(ExecConfig(**cfg)) as a,
        Executor(ExecConfig(**cfg)) as b,
        concurrent.futures.ThreadPoolExecutor(2) as pool,
    ):
        bombed = pool.submit(a.run, [PytestJob(bomb, TEST_ADD)])
        deadline = time.monotonic() + 30
        while len(_descendants(a._workers[0].proc.pid)) < 20:  # the bomb holds processes: now b's job starts
            assert time.monotonic() < deadline and not bombed.done(), "the fork bomb never started forking"
            time.sleep(0.05)
        v = pool.submit(b.run, [PytestJob(honest, "def test_add():\n    assert add(1, 2) == 3\n")]).result()[
            0
        ]
        bombed.result()
    assert (v.status, [t.message[-200:] for t in v.tests]) == ("pass", [""])


# --- positive controls: every check above can fail ----------------------------------------------


def test_process_scan_sees_marked_host_processes():
    marker = "kch" + uuid.uuid4().hex[:20]
    comm = "kc" + marker[-10:]
    by_argv = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)", marker])
    by_name = subprocess.Popen(
        [sys.executable, "-c", (f"open('/proc/self/comm', 'w').write({comm!r});import time; time.sleep(60)")]
    )
    try:
        deadline = time.monotonic() + 10
        while len(marked_processes(marker, comm)) < 2 and time.monotonic() < deadline:
            time.sleep(0.05)
        assert set(marked_processes(marker, comm)) == {by_argv.pid, by_name.pid}
    finally:
        _stop(by_argv)
        _stop(by_name)
    assert marked_processes(marker, comm) == {}


def test_process_scan_sees_what_a_running_job_started(host):
    """The same daemon code as the batch's attacks, seen from the host while the job runs."""
    ctx = host["ctx"]
    sol = (
        harm_prelude(ctx) + "\n\ndef add(a, b):\n    harm_daemons('control')\n"
        "    _time.sleep(3)\n    return a + b\n"
    )
    job = PytestJob(sol, "def test_add_small():\n    assert add(1, 2) == 3\n", timeout_s=10)
    seen: dict[int, str] = {}
    with concurrent.futures.ThreadPoolExecutor(1) as pool:
        fut = pool.submit(host["ex"].run, [job])
        while not fut.done():
            seen.update(marked_processes(ctx.marker + ":control", ctx.comm, {os.getpid()}))
            time.sleep(0.05)
        verdict = fut.result()[0]
    assert verdict.status == "pass"
    assert any(":control" in s for s in seen.values()), "no process with the argv marker was seen"
    assert any(f"[{ctx.comm}]" in s for s in seen.values()), "no process with the thread name was seen"
    assert _wait_gone(ctx.marker + ":control", ctx.comm, set()) == {}


def test_memory_count_sees_children_held_at_once():
    """Outside the sandbox every child keeps its allocation (scaled down here to 8 x 8 MiB)."""
    code = "import os, select, time\n\n\ndef add(a, b):\n" + MEMORY_ACROSS_PROCESSES.replace("400", "8") + "\nadd(1, 2)\n"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120).stdout
    assert "KCH_ALLOCATED_MB=64" in out, out


def test_harm_code_works_without_the_sandbox(tmp_path):
    """Run on the host, the batch's harm code writes, connects, leaks, spawns and kills."""
    marker = "kch" + uuid.uuid4().hex[:20]
    bait, secrets, listeners, sentinel, ctx = _bait_host(
        tmp_path / "bait", marker, tmp_path, host_ip="127.0.0.1", host_pidns="none", full=False
    )
    code = (
        harm_prelude(ctx) + "\nharm_write('ctl')\nharm_network('ctl', harm_secrets())\nharm_daemons('ctl')\n"
    )
    env = {
        **os.environ,
        "HOME": str(bait["home"]),
        **{k: secrets[k] for k in ("HF_TOKEN", "WANDB_API_KEY", "OPENAI_API_KEY")},
    }
    try:
        with open(tmp_path / "out.txt", "w") as log:  # not a pipe: the daemons keep it open
            subprocess.run(
                [sys.executable, "-c", code],
                env=env,
                cwd=tmp_path,
                stdout=log,
                stderr=subprocess.DEVNULL,
                timeout=60,
                check=True,
            )
        printed = (tmp_path / "out.txt").read_text()
        spawned = {}
        deadline = time.monotonic() + 10
        while len(spawned) < 3 and time.monotonic() < deadline:
            spawned = marked_processes(marker, ctx.comm, {sentinel.pid})
            time.sleep(0.05)
        subprocess.run(
            [sys.executable, "-c", harm_prelude(ctx) + "\nharm_signals()\n"], timeout=60, check=True
        )
        sentinel.wait(10)
        events = listeners.close()
        assert len(spawned) == 3, spawned  # Popen'd, double-forked (exec'd), forked (named)
        assert sentinel.returncode == -signal.SIGKILL
        assert files_left(marker, bait, []) != []
        assert not (bait["outside"] / "keep.txt").exists()
        assert {k for k, _ in events} == {"tcp", "udp", "unix"}
        assert all(s in printed for s in secrets.values())
        assert any(secrets["HF_TOKEN"].encode() in d for k, d in events if k == "tcp")
    finally:
        _kill_all(marked_processes(marker, ctx.comm, {sentinel.pid}))
        _stop(sentinel)


def _plain_pytest(job: PytestJob, cwd: Path) -> int:
    """KodCode's verdict: the exit status of `pytest` in a dir holding solution.py and the tests."""
    (cwd / "solution.py").write_text(job.solution)
    (cwd / "test_solution.py").write_text("from solution import *\n\n" + job.test)
    env = {**os.environ, "PYTEST_DISABLE_PLUGIN_AUTOLOAD": "1"}
    return subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "--rootdir", str(cwd), str(cwd)],
        cwd=cwd,
        env=env,
        capture_output=True,
        timeout=120,
        check=False,
    ).returncode


_DUMMY = HostContext(
    "kch" + "0" * 20,
    "/nonexistent",
    "/nonexistent",
    "/nonexistent",
    "/nonexistent/s",
    9,
    9,
    "127.0.0.1",
    0,
    "none",
    full=False,
)


@pytest.mark.parametrize("name", sorted(a.name for a in CATALOG if a.fools_plain_pytest))
def test_cheat_fools_plain_pytest(name, tmp_path):
    assert _plain_pytest(ATTACKS[name].build(_DUMMY), tmp_path) == 0


def test_honest_solution_fails_plain_pytest(tmp_path):
    assert _plain_pytest(PytestJob(HONEST_ADD, TEST_ADD), tmp_path) == 1
