"""The execution engine: warm sandboxed workers, a job queue, and the verdict decision.

    from kodcode.exec import Executor, ExecConfig, PytestJob
    with Executor(ExecConfig(workers=2)) as ex:
        verdicts = ex.run([PytestJob(solution=sol, test=tests)])

Each worker slot is one zygote process (``zygote.py``, started with the configured interpreter and
a scrubbed environment) that forks a fresh sandboxed child per job.  The engine never trusts what a
job says about itself: for pytest jobs the inventory of expected tests is computed outside the job (by
the worker, from the test it parses before forking the job), and a pass needs every one of them
reported ``passed`` in the runner's single final message, which must carry the per-job nonce.
Infrastructure failures become ``sandbox_error``, never ``fail``.

What this does NOT protect against (see README "Execution engine"): a job that specifically
reverse-engineers this runner's in-process result protocol (find the result pipe, ask for the nonce,
write a forged report, exit) can fake a pytest pass, because tests and solution share a process;
call/stdio jobs are immune (the comparison happens here).  The seccomp deny list exists on x86_64
only; kernel exploits through the syscalls it allows are out of scope; without namespaces (degraded
mode) the filesystem view is not isolated and the network is closed only by that filter.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import json
import os
import queue
import select
import struct
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import fields
from pathlib import Path

from .config import ExecConfig
from .jobs import CallJob, CaseOutput, Job, PytestJob, StdioJob, TestOutcome, Verdict

_PROGRAM_PARTS = ("guard.py", "runners.py", "sandbox.py", "zygote.py")


def worker_program() -> str:
    """The worker's source; the job interpreter compiles it and receives the code by value (``_BOOT``)."""
    here = Path(__file__).parent
    return "\n\n".join((here / name).read_text() for name in _PROGRAM_PARTS)


_ZYGOTE_SRC = worker_program()

# The worker program reaches the job interpreter compiled (marshal), not as source: compiling ~100 kB of
# source in the worker leaves ~8 MB of the parser's memory scattered through its heap, and every job
# forked from it copies the page tables of that memory and tears them down again.  It is compiled once
# per interpreter, by that interpreter, in a throwaway process.
_COMPILE = "import marshal, sys; sys.stdout.buffer.write(marshal.dumps(compile(sys.stdin.read(), '<string>', 'exec')))"
_BOOT = (
    "import os, marshal\n"
    "def _read(n):\n"
    "    b = b''\n"
    "    while len(b) < n:\n"
    "        c = os.read(0, n - len(b))\n"
    "        if not c:\n"
    "            raise SystemExit(1)\n"
    "        b += c\n"
    "    return b\n"
    "exec(marshal.loads(_read(int.from_bytes(_read(4), 'big'))))\n"
)
_COMPILED: dict[tuple[str, int, str], bytes] = {}
_COMPILED_LOCK = threading.Lock()


def _compiled_program(python: str, env: dict[str, str]) -> bytes | None:
    """The worker program compiled by ``python`` (None: that interpreter could not compile it)."""
    try:  # (an interpreter replaced in place would not read the old one's marshal format)
        stamp = os.stat(python).st_mtime_ns
    except OSError:
        return None
    key = (python, stamp, _ZYGOTE_SRC)
    with _COMPILED_LOCK:
        if key not in _COMPILED:
            try:
                out = subprocess.run([python, "-s", "-c", _COMPILE], input=_ZYGOTE_SRC.encode(), capture_output=True,
                                     env=env, cwd="/", timeout=60)
            except (OSError, subprocess.TimeoutExpired):
                return None
            if out.returncode != 0 or not out.stdout:
                return None
            _COMPILED[key] = out.stdout
        return _COMPILED[key]


class SandboxError(RuntimeError):
    pass


class _Worker:
    """One zygote process and the pipe protocol to it."""

    def __init__(self, cfg: ExecConfig, slot: int, degraded_tmp: str):
        self.cfg, self.slot, self.degraded_tmp = cfg, slot, degraded_tmp
        self.proc: subprocess.Popen | None = None
        self.info: dict = {}
        self.start()

    def start(self) -> None:
        python = self.cfg.python or sys.executable
        env = self.cfg.job_env()
        program = _compiled_program(python, env)
        if program is None:
            raise SandboxError(
                f"the job interpreter {python!r} could not compile the worker program; check that it runs "
                "(Python 3.9 or newer) or set exec.python to one that does"
            )
        self.proc = subprocess.Popen(
            # Not -I: that implies -E, which would ignore the PYTHONHASHSEED we set (set and dict
            # order of strings must not differ between workers). The environment is ours anyway.
            [python, "-s", "-c", _BOOT],
            cwd="/",
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            env=env,
            start_new_session=True,
            close_fds=True,
        )
        assert self.proc.stdin
        self.proc.stdin.write(len(program).to_bytes(4, "big") + program)
        init = {
            "slot": self.slot,
            "preimport": list(self.cfg.preimport),
            "isolation": self.cfg.isolation,
            "wall_factor": self.cfg.wall_factor,
            "max_output_bytes": self.cfg.max_output_bytes,
            "tail_bytes": self.cfg.tail_bytes,
            "memory_mb": self.cfg.memory_mb,
            "max_procs": self.cfg.max_procs,
            "max_file_mb": self.cfg.max_file_mb,
            "tmpfs_mb": self.cfg.tmpfs_mb,
            "uid_base": self.cfg.uid_base,
            "mask_paths": self.cfg.masked_paths(),
            "fast_path": self.cfg.fast_path,
            "seccomp": self.cfg.seccomp,
            "env": env,
            "degraded_tmp": self.degraded_tmp,
        }
        self._send(init)
        hello = self._recv(self.cfg.start_timeout_s)
        if not hello or not hello.get("hello"):
            self.kill()
            raise SandboxError(
                f"worker {self.slot} did not start with interpreter {python!r}; check that it runs "
                "(and has pytest installed) or set exec.python to one that does"
            )
        version = tuple(int(x) for x in str(hello.get("python", "0.0")).split(".")[:2] if x.isdigit())
        if version < (3, 9):
            self.kill()
            raise SandboxError(
                f"the job interpreter {python!r} is Python {hello.get('python')}; the engine needs 3.9 or newer "
                "(the pytest path rebuilds test files with ast.unparse); point exec.python at a newer one"
            )
        if not hello.get("pytest"):
            self.kill()
            raise SandboxError(
                f"the job interpreter {python!r} cannot import pytest; install pytest there "
                "(pip install pytest) or point exec.python at an environment that has it"
            )
        self.info = hello

    def _send(self, obj: dict) -> None:
        data = json.dumps(obj).encode()
        assert self.proc and self.proc.stdin
        self.proc.stdin.write(struct.pack("!I", len(data)) + data)
        self.proc.stdin.flush()

    def _recv(self, timeout: float) -> dict | None:
        assert self.proc and self.proc.stdout
        fd = self.proc.stdout.fileno()
        deadline = time.monotonic() + timeout

        def read(n: int) -> bytes | None:
            buf = b""
            while len(buf) < n:
                left = deadline - time.monotonic()
                if left <= 0:
                    return None
                r, _, _ = select.select([fd], [], [], left)
                if not r:
                    return None
                chunk = os.read(fd, n - len(buf))
                if not chunk:
                    return None
                buf += chunk
            return buf

        head = read(4)
        if head is None:
            return None
        body = read(struct.unpack("!I", head)[0])
        return None if body is None else json.loads(body)

    def execute(self, payload: dict, wall_s: float) -> dict | None:
        """Send one job; None when the zygote died or stopped answering."""
        try:
            self._send(payload)
        except (BrokenPipeError, OSError):
            return None
        return self._recv(wall_s + 30.0)

    def alive(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def kill(self) -> None:
        if self.proc is None:
            return
        try:
            os.killpg(self.proc.pid, 9)
        except OSError:
            pass
        try:
            self.proc.kill()
            self.proc.wait(timeout=5)
        except Exception:
            pass
        for f in (self.proc.stdin, self.proc.stdout):
            try:
                f and f.close()
            except Exception:
                pass
        self.proc = None


def _payload(job: Job, cfg: ExecConfig) -> dict:
    d = {f.name: getattr(job, f.name) for f in fields(job)}  # (only JSON-encoded: no deep copy)
    d["kind"] = job.kind
    d["timeout_s"] = float(job.timeout_s or cfg.timeout_s)
    return d


def decide(job: Job, reply: dict | None, inventory: list[str] | None) -> Verdict:
    """Turn the zygote's facts into a verdict.  Pure function; the heart of the verdict protocol."""
    v = Verdict(status="sandbox_error", id=job.id)
    if reply is None:
        v.message = "worker died or stopped answering"
        return v
    if "sandbox_error" in reply:
        v.message = reply["sandbox_error"]
        return v
    v.stdout, v.stderr = reply.get("stdout", ""), reply.get("stderr", "")
    v.duration_s = float(reply.get("wall_s") or 0.0)
    if reply.get("cpu_s") is not None:
        v.cpu_s = float(reply["cpu_s"])
    setup = reply.get("setup", "")
    if not setup.startswith("OK"):
        v.message = setup[5:] if setup.startswith("FAIL") else "sandbox setup did not complete"
        return v
    result = reply.get("result")
    trusted = bool(reply.get("nonce_ok")) and isinstance(result, dict) and reply.get("nonce_requests") == 1
    if result is not None and not trusted:
        v.flags.append("forged_report")
    if trusted:
        v.runner = str(result.get("runner", ""))
        v.flags.extend(str(f) for f in result.get("flags", []))
    for rec in reply.get("stream", []):
        if rec.get("t") == "flag" and str(rec.get("flag")) not in v.flags:
            v.flags.append(str(rec.get("flag")))
    if reply.get("malformed_lines"):
        v.flags.append("forged_report")
    if isinstance(job, PytestJob):
        return _decide_pytest(v, reply, result if trusted else None, inventory or [])
    return _decide_cases(job, v, reply, result if trusted else None)


def _ended_early(v: Verdict, reply: dict) -> Verdict:
    if reply.get("timed_out"):
        v.status, v.message = "timeout", "wall-clock limit reached"
    elif _cpu_limit_hit(reply):
        v.status, v.message = "timeout", "CPU-time limit reached"
    elif reply.get("over_output"):
        v.status, v.message = "error", f"output limit exceeded ({reply.get('output_bytes')} bytes)"
    else:
        code, sig = reply.get("exit_code"), reply.get("signal")
        v.status = "error"
        v.message = f"job ended without a trusted report (exit code {code}, signal {sig})"
        if sig == 9:
            v.message += "; killed, e.g. by the memory or process limit"
    return v


def outcomes_from_stream(stream: list[dict]) -> tuple[dict[str, dict], bool]:
    """Per-test outcomes from the runner's phase records; True when some phase was reported twice.

    A test passes when it ran (a ``call`` phase) and every phase of every parametrized instance
    passed; its name drops the parametrize id (``test_x[1-2]`` -> ``test_x``).
    """
    seen: set[tuple[str, str]] = set()
    conflict = False
    out: dict[str, dict] = {}
    for rec in stream:
        if rec.get("t") != "phase":
            continue
        nodeid, when = str(rec.get("nodeid", "")), str(rec.get("when", ""))
        if (nodeid, when) in seen:
            conflict = True
        seen.add((nodeid, when))
        parts = nodeid.split("::")
        parts[-1] = parts[-1].split("[")[0]
        name = "::".join(parts)
        t = out.setdefault(name, {"name": name, "outcome": "passed", "duration_s": 0.0, "message": "", "calls": 0})
        t["duration_s"] += float(rec.get("duration") or 0.0)
        if when == "call":
            t["calls"] += 1
        outcome = str(rec.get("outcome", "failed"))
        if outcome != "passed" and t["outcome"] == "passed":
            t["outcome"], t["message"] = outcome, str(rec.get("message", ""))
    for t in out.values():
        if t["outcome"] == "passed" and t["calls"] == 0:
            t["outcome"] = "missing"
    return out, conflict


def _cpu_limit_hit(reply: dict) -> bool:
    # SIGXCPU (24) from RLIMIT_CPU (the worker waits for the job itself and sees the signal); a job
    # that ignores SIGXCPU is SIGKILLed at the hard limit, which the worker sees in its CPU time.
    return reply.get("signal") == 24 or bool(reply.get("cpu_limit_hit"))


def _decide_pytest(v: Verdict, reply: dict, result: dict | None, inventory: list[str]) -> Verdict:
    if result is None:
        v.tests = [TestOutcome(n, "missing") for n in inventory]
        return _ended_early(v, reply)
    if result.get("collect_error"):
        v.tests = [TestOutcome(n, "error", message=result["collect_error"]) for n in inventory]
        v.status, v.message = "error", "collection failed: " + str(result["collect_error"])[-300:]
        return v
    reported, conflict = outcomes_from_stream(reply.get("stream", []))
    if conflict:
        v.flags.append("conflicting_reports")
    tests = []
    for name in inventory:
        t = reported.get(name)
        if t is None:
            tests.append(TestOutcome(name, "missing"))
        else:
            tests.append(TestOutcome(name, t["outcome"], float(t.get("duration_s", 0.0)), t.get("message", "")))
    extra_bad = [t for n, t in reported.items() if n not in inventory and t["outcome"] != "passed"]
    v.tests = tests
    all_passed = bool(tests) and all(t.outcome == "passed" for t in tests) and not extra_bad
    tampered = [
        f for f in v.flags
        if f.startswith(("tampered", "always", "never", "constant", "forged", "foreign", "conflicting"))
    ]
    if reply.get("timed_out") or _cpu_limit_hit(reply):
        v.status, v.message = "timeout", "time limit reached after the report"
    elif not inventory:
        v.status, v.message = "error", "the test source defines no test functions"
    elif all_passed and not tampered:
        v.status = "pass"
    else:
        v.status = "fail"
        bad = [t for t in tests if t.outcome != "passed"]
        if bad:
            v.message = f"{len(bad)}/{len(tests)} tests not passed: " + ", ".join(
                f"{t.name} ({t.outcome})" for t in bad[:5]
            )
        elif tampered:
            v.message = "tests passed only through forged comparisons or patched test machinery: " + ", ".join(
                tampered
            )
        else:
            v.message = "unexpected extra tests failed: " + ", ".join(t["name"] for t in extra_bad[:5])
    return v


def _decide_cases(job: StdioJob | CallJob, v: Verdict, reply: dict, result: dict | None) -> Verdict:
    n = len(job.inputs) if isinstance(job, StdioJob) else len(job.args_list)
    if result is None:
        v.outputs = [CaseOutput("not_run") for _ in range(n)]
        return _ended_early(v, reply)
    outs = [CaseOutput(**{k: o.get(k) for k in ("status", "stdout", "stderr", "value", "exit_code",
                                                   "duration_s", "message") if k in o})
            for o in result.get("outputs", [])]
    outs += [CaseOutput("not_run") for _ in range(n - len(outs))]
    v.outputs = outs[:n]
    statuses = {o.status for o in v.outputs}
    if statuses <= {"ok"}:
        v.status = "pass"
    elif "timeout" in statuses:
        v.status, v.message = "timeout", "a case reached its time limit"
    else:
        v.status = "error"
        v.message = "a case ended with an error: " + next(
            (o.message or o.stderr[-200:]) for o in v.outputs if o.status != "ok"
        )
    return v


class Executor:
    """Runs jobs on warm sandboxed workers.  Thread-safe; usable from asyncio via ``arun``."""

    def __init__(self, config: ExecConfig | None = None, **overrides):
        cfg = config or ExecConfig()
        for k, val in overrides.items():
            setattr(cfg, k, val)
        problems = cfg.check()
        if problems:
            raise ValueError("invalid exec config:\n  - " + "\n  - ".join(problems))
        self.cfg = cfg
        self._queue: queue.Queue = queue.Queue()
        self._workers: list[_Worker] = []
        self._threads: list[threading.Thread] = []
        self._closed = False
        self._tmp = tempfile.mkdtemp(prefix="kodcode-exec-")
        os.chmod(self._tmp, 0o711)
        self._start()

    # -- lifecycle
    def _start(self) -> None:
        n = self.cfg.n_workers()
        ready: list[concurrent.futures.Future] = [concurrent.futures.Future() for _ in range(n)]
        for i in range(n):
            t = threading.Thread(target=self._serve, args=(i, ready[i]), daemon=True, name=f"kodcode-exec-{i}")
            t.start()
            self._threads.append(t)
        errors = []
        for f in ready:  # the workers start in parallel
            try:
                self._workers.append(f.result())
            except Exception as e:
                errors.append(e)
        if errors:
            self.close()
            raise errors[0]

    def _serve(self, slot: int, ready: concurrent.futures.Future) -> None:
        # The thread that starts a worker process must live as long as it: the worker gets SIGKILL when
        # the thread that forked it ends (PR_SET_PDEATHSIG), so it is started, and restarted, here.
        try:
            worker = _Worker(self.cfg, slot, self._tmp)
        except BaseException as e:
            ready.set_exception(e)
            return
        ready.set_result(worker)
        self._loop(worker)

    @property
    def isolation(self) -> str:
        return self._workers[0].info.get("isolation", "?") if self._workers else "?"

    @property
    def seccomp(self) -> bool:
        """Whether jobs run under the syscall filter (x86_64 with ``seccomp: true``)."""
        return bool(self._workers and self._workers[0].info.get("seccomp"))

    def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        for _ in self._threads:
            self._queue.put(None)
        for t in self._threads:
            t.join(timeout=5)
        for w in self._workers:
            w.kill()
        import shutil

        shutil.rmtree(self._tmp, ignore_errors=True)

    def __enter__(self) -> "Executor":
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def __del__(self):  # pragma: no cover - best effort
        try:
            self.close()
        except Exception:
            pass

    # -- running
    def submit(self, job: Job) -> concurrent.futures.Future:
        if self._closed:
            raise RuntimeError("Executor is closed")
        fut: concurrent.futures.Future = concurrent.futures.Future()
        self._queue.put((job, fut))
        return fut

    def run(self, jobs: list[Job], progress: bool = False) -> list[Verdict]:
        futs = [self.submit(j) for j in jobs]
        if progress:
            from .progress import Progress

            bar = Progress(len(futs), "exec")
            for f in concurrent.futures.as_completed(futs):
                bar.update(1, f.result().status)
            bar.close()
        return [f.result() for f in futs]

    async def arun(self, jobs: list[Job]) -> list[Verdict]:
        futs = [asyncio.wrap_future(self.submit(j)) for j in jobs]
        return list(await asyncio.gather(*futs))

    def _loop(self, worker: _Worker) -> None:
        while True:
            item = self._queue.get()
            if item is None:
                return
            job, fut = item
            try:
                fut.set_result(self._execute(worker, job))
            except Exception as e:  # never let one job take the worker thread down
                fut.set_result(Verdict(status="sandbox_error", id=job.id, message=f"{type(e).__name__}: {e}"))

    def _execute(self, worker: _Worker, job: Job) -> Verdict:
        payload = _payload(job, self.cfg)
        n_cases = 1 if isinstance(job, PytestJob) else max(1, len(payload.get("inputs") or payload.get("args_list") or []))
        wall = payload["timeout_s"] * self.cfg.wall_factor * n_cases + 2.0
        for attempt in range(2):
            if not worker.alive():
                worker.kill()
                worker.start()
            reply = worker.execute(payload, wall)
            if reply is not None:
                if "test_syntax_error" in reply:
                    return Verdict(status="error", id=job.id,
                                   message=f"test source does not parse: {reply['test_syntax_error']}")
                # (for a pytest job, the worker parsed the test before forking the job: see zygote.run_job)
                return decide(job, reply, reply.get("inventory"))
            # The zygote died mid-job (or hung): replace it and try once more.
            worker.kill()
        v = decide(job, None, None)
        v.status = "error"
        v.message = "the worker died twice while running this job (the job may kill its parent)"
        return v


def verify(jobs: list[Job], config: ExecConfig | None = None, progress: bool = False) -> list[Verdict]:
    """One-shot convenience: start workers, run ``jobs``, stop workers."""
    with Executor(config) as ex:
        return ex.run(jobs, progress=progress)
