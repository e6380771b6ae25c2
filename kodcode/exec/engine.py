"""The execution engine: warm sandboxed workers, a job queue, and the verdict decision.

    from kodcode.exec import Executor, ExecConfig, PytestJob
    with Executor(ExecConfig(workers=2)) as ex:
        verdicts = ex.run([PytestJob(solution=sol, test=tests)])

Each worker slot is one zygote process (``worker/zygote.py``, started with the configured interpreter
and a scrubbed environment) that forks a fresh sandboxed child per job.  The engine never trusts what a
job says about itself: before a pytest job reaches a worker, its test is planned here (``plan.py``):
the expected side of every assertion against a constant stays in this process, the job reports only
the actual values, and the inventory of tests and the assertions each must report are this process's
too (``verdict.py`` judges them).  Infrastructure failures become ``sandbox_error``, never ``fail``.

What this does NOT protect against (see docs/exec.md): an assertion comparing two values the job
computes is re-checked here on plain data, but those values come from a process the solution controls;
the seccomp deny list exists on x86_64 only; kernel exploits through the syscalls it allows are out of
scope; without namespaces (degraded mode) the filesystem view is not isolated and the network is
closed only by that filter.
"""

from __future__ import annotations

import asyncio
import collections
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
from dataclasses import dataclass, fields
from pathlib import Path

from kodcode.config import ConfigError, problems_of

from .config import ExecConfig
from .jobs import Job, PytestJob, Verdict
from .plan import JobPlan, plan_test
from .verdict import decide

WORKER_PACKAGE = "_kodcode_worker"  # the worker package's name in the job interpreter


def worker_modules() -> dict[str, str]:
    """The worker program (``kodcode/exec/worker/``): module name -> source."""
    here = Path(__file__).parent / "worker"
    return {p.stem: p.read_text() for p in sorted(here.glob("*.py"))}


_SOURCES = worker_modules()
_SOURCE_KEY = json.dumps(_SOURCES, sort_keys=True)

# The worker program reaches the job interpreter compiled (marshal), one code object per module, not as
# source: compiling ~100 kB of source in the worker leaves ~8 MB of the parser's memory scattered through
# its heap, and every job forked from it copies the page tables of that memory and tears them down
# again.  It is compiled once per interpreter, by that interpreter, in a throwaway process; a small
# importer serves the modules as the package ``_kodcode_worker`` (relative imports work as on the host).
_COMPILE = (
    "import json, marshal, sys\n"
    "mods = json.loads(sys.stdin.read())\n"
    "sys.stdout.buffer.write(marshal.dumps({n: compile(s, '<kodcode-worker>/%s.py' % n, 'exec')"
    " for n, s in mods.items()}))\n"
)
_BOOT = (
    "import os, marshal, sys\n"
    "def _read(n):\n"
    "    b = b''\n"
    "    while len(b) < n:\n"
    "        c = os.read(0, n - len(b))\n"
    "        if not c:\n"
    "            raise SystemExit(1)\n"
    "        b += c\n"
    "    return b\n"
    "_codes = marshal.loads(_read(int.from_bytes(_read(4), 'big')))\n"
    "class _WorkerImporter:\n"
    "    P = %r\n"
    "    @classmethod\n"
    "    def find_spec(cls, name, path=None, target=None):\n"
    "        if name == cls.P or name.startswith(cls.P + '.'):\n"
    "            import importlib.util\n"
    "            return importlib.util.spec_from_loader(name, cls, is_package=name == cls.P)\n"
    "    @classmethod\n"
    "    def create_module(cls, spec):\n"
    "        return None\n"
    "    @classmethod\n"
    "    def exec_module(cls, module):\n"
    "        n = module.__name__\n"
    "        exec(_codes['__init__' if n == cls.P else n[len(cls.P) + 1:]], module.__dict__)\n"
    "sys.meta_path.insert(0, _WorkerImporter)\n"
    "import %s.zygote\n"
    "%s.zygote.main()\n"
) % (WORKER_PACKAGE, WORKER_PACKAGE, WORKER_PACKAGE)
_COMPILED: dict[tuple[str, int, str], bytes] = {}
_COMPILED_LOCK = threading.Lock()


def _compiled_program(python: str, env: dict[str, str]) -> bytes | None:
    """The worker package compiled by ``python`` (None: that interpreter could not compile it)."""
    try:  # (an interpreter replaced in place would not read the old one's marshal format)
        stamp = os.stat(python).st_mtime_ns
    except OSError:
        return None
    key = (python, stamp, _SOURCE_KEY)
    with _COMPILED_LOCK:
        if key not in _COMPILED:
            try:
                out = subprocess.run([python, "-s", "-c", _COMPILE], input=_SOURCE_KEY.encode(), capture_output=True,
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
        self._in = bytearray()  # read from the zygote, not yet a whole message
        self._out = bytearray()  # jobs posted, not yet written to its pipe
        self.start()

    def start(self) -> None:
        self._in, self._out = bytearray(), bytearray()
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
        os.set_blocking(self.proc.stdin.fileno(), False)  # (jobs go out through post: see there)

    def _send(self, obj: dict) -> None:
        data = json.dumps(obj).encode()
        assert self.proc and self.proc.stdin
        self.proc.stdin.write(struct.pack("!I", len(data)) + data)
        self.proc.stdin.flush()

    def _recv(self, timeout: float) -> dict | None:
        """The next message from the zygote, writing queued jobs (``post``) while waiting; None when it
        died or said nothing within ``timeout`` seconds."""
        assert self.proc and self.proc.stdout and self.proc.stdin
        rfd, wfd = self.proc.stdout.fileno(), self.proc.stdin.fileno()
        deadline = time.monotonic() + timeout
        while True:
            if len(self._in) >= 4:
                n = struct.unpack("!I", self._in[:4])[0]
                if len(self._in) >= 4 + n:
                    body = bytes(self._in[4:4 + n])
                    del self._in[:4 + n]
                    return json.loads(body)
            left = deadline - time.monotonic()
            if left <= 0:
                return None
            try:
                r, w, _ = select.select([rfd], [wfd] if self._out else [], [], left)
            except (OSError, ValueError):
                return None
            if w and not self._flush():
                return None
            if r:
                try:
                    chunk = os.read(rfd, 1 << 20)
                except OSError:
                    return None
                if not chunk:
                    return None
                self._in += chunk

    def _flush(self) -> bool:
        """Write as much of the queued jobs as the pipe takes now (never blocks); False when it is broken."""
        assert self.proc and self.proc.stdin
        while self._out:
            try:
                n = os.write(self.proc.stdin.fileno(), self._out[: 1 << 20])
            except BlockingIOError:
                return True
            except OSError:
                return False
            del self._out[:n]
        return True

    def post(self, payload: dict) -> bool:
        """Queue one job for the zygote.  It reads the next job only after replying to the one before,
        so a job posted while another runs waits in the pipe (never in a job's memory) and starts as
        soon as that reply is written: the zygote does not wait for this process between jobs.  The
        bytes go out as the pipe takes them, here and while ``reply`` waits, so a big job never blocks
        this thread while the zygote blocks writing its reply.  False when the pipe is broken."""
        data = json.dumps(payload).encode()
        self._out += struct.pack("!I", len(data)) + data
        return self._flush()

    def reply(self, wall_s: float) -> dict | None:
        """The reply to the oldest job posted; None when the zygote died or stopped answering."""
        return self._recv(wall_s + 30.0)

    def execute(self, payload: dict, wall_s: float) -> dict | None:
        """Send one job and wait for its reply; None when the zygote died or stopped answering."""
        if not self.post(payload):
            return None
        return self.reply(wall_s)

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


class Executor:
    """Runs jobs on warm sandboxed workers.  Thread-safe; usable from asyncio via ``arun``."""

    def __init__(self, config: ExecConfig | None = None, **overrides):
        cfg = config or ExecConfig()
        for k, val in overrides.items():
            setattr(cfg, k, val)
        problems = problems_of(cfg, "exec")
        if problems:
            raise ConfigError(problems)
        self.cfg = cfg
        # submit -> _inbox -> the planner thread (a pytest job's test is planned there, while the workers
        # run the jobs before it) -> _queue -> the worker threads
        self._inbox: queue.Queue = queue.Queue()
        self._queue: queue.Queue = queue.Queue()
        self._planner = threading.Thread(target=self._plan_loop, daemon=True, name="kodcode-exec-plan")
        # The planner stays a few jobs ahead of the workers, not the whole batch ahead: planning holds
        # this process's GIL, which a worker thread needs to take its next job.
        self._ahead = threading.Semaphore(self.LOOKAHEAD * cfg.n_workers())
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
        self._planner.start()

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
        if self._planner.is_alive():
            self._inbox.put(None)  # (after the jobs already submitted: they are planned and run first)
            self._planner.join()
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
        self._inbox.put((job, fut))
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

    LOOKAHEAD = 2  # planned jobs waiting per worker

    def _plan_loop(self) -> None:
        while True:
            item = self._inbox.get()
            if item is None:
                return
            self._ahead.acquire()
            job, fut = item
            plan = None
            if isinstance(job, PytestJob):
                # What decides the verdict is taken out of the test here, before anything reaches a worker.
                try:
                    plan = plan_test(job.test, job.solution, job.prepend_import)
                except (SyntaxError, ValueError, RecursionError, MemoryError) as e:
                    plan = Verdict(status="error", id=job.id,
                                   message=f"test source does not parse: {type(e).__name__}: {e}")
                except Exception as e:  # never let one job take the planner down
                    plan = Verdict(status="sandbox_error", id=job.id, message=f"planning: {type(e).__name__}: {e}")
            self._queue.put((job, fut, plan))

    PIPELINE = 2  # jobs posted to one zygote at once: the one running and the next, already in its pipe

    def _loop(self, worker: _Worker) -> None:
        """Feed one worker: up to ``PIPELINE`` jobs in its pipe, replies taken in order.  A job whose
        worker died (or hung) is run once more on a fresh one, and the jobs queued behind it are posted
        again there; they never started (the zygote runs one job at a time)."""
        inflight: collections.deque[_InFlight] = collections.deque()
        closing = False
        while True:
            while not closing and len(inflight) < self.PIPELINE:
                try:
                    item = self._queue.get() if not inflight else self._queue.get_nowait()
                except queue.Empty:
                    break
                if item is None:
                    closing = True
                    break
                job, fut, plan = item
                self._ahead.release()
                if isinstance(plan, Verdict):
                    fut.set_result(plan)
                    continue
                try:
                    entry = self._entry(job, fut, plan)
                except Exception as e:  # never let one job take the worker thread down
                    fut.set_result(Verdict(status="sandbox_error", id=job.id, message=f"{type(e).__name__}: {e}"))
                    continue
                if not worker.alive():
                    self._restart(worker, inflight)
                worker.post(entry.payload)  # (a broken pipe shows as no reply below)
                inflight.append(entry)
            if not inflight:
                if closing:
                    return
                continue
            entry = inflight[0]
            reply = worker.reply(entry.wall)
            if reply is None:
                # The zygote died mid-job (or hung): the oldest job is the one it was running.
                entry.attempts += 1
                if entry.attempts >= 2:
                    inflight.popleft()
                    v = decide(entry.job, None, None)
                    v.status = "error"
                    v.message = "the worker died twice while running this job (the job may kill its parent)"
                    entry.fut.set_result(v)
                self._restart(worker, inflight)
                continue
            inflight.popleft()
            try:
                entry.fut.set_result(self._verdict(entry, reply))
            except Exception as e:  # never let one job take the worker thread down
                entry.fut.set_result(Verdict(status="sandbox_error", id=entry.job.id, message=f"{type(e).__name__}: {e}"))

    def _restart(self, worker: _Worker, inflight: collections.deque) -> None:
        """A fresh zygote in this slot, with the jobs in flight posted to it again (in order)."""
        worker.kill()
        try:
            worker.start()
        except Exception as e:
            while inflight:
                entry = inflight.popleft()
                entry.fut.set_result(Verdict(status="sandbox_error", id=entry.job.id,
                                             message=f"the worker could not be restarted: {type(e).__name__}: {e}"))
            return
        for entry in inflight:
            worker.post(entry.payload)

    def _entry(self, job: Job, fut: concurrent.futures.Future, plan: JobPlan | None) -> "_InFlight":
        payload = _payload(job, self.cfg)
        if plan is not None:
            payload.update(test=plan.source, star_import=plan.star_import, prepend_import=False)
        n_cases = 1 if isinstance(job, PytestJob) else max(1, len(payload.get("inputs") or payload.get("args_list") or []))
        wall = payload["timeout_s"] * self.cfg.wall_factor * n_cases + 2.0
        return _InFlight(job, fut, plan, payload, wall)

    @staticmethod
    def _verdict(entry: "_InFlight", reply: dict) -> Verdict:
        if "test_syntax_error" in reply:
            return Verdict(status="error", id=entry.job.id,
                           message=f"test source does not parse: {reply['test_syntax_error']}")
        return decide(entry.job, reply, entry.plan)


@dataclass
class _InFlight:
    """A job posted to a worker and not answered yet."""

    job: Job
    fut: concurrent.futures.Future
    plan: JobPlan | None
    payload: dict
    wall: float
    attempts: int = 0


def verify(jobs: list[Job], config: ExecConfig | None = None, progress: bool = False) -> list[Verdict]:
    """One-shot convenience: start workers, run ``jobs``, stop workers."""
    with Executor(config) as ex:
        return ex.run(jobs, progress=progress)
