"""GRPO rewards in TRL's contract ``reward(completions, **columns) -> list[float | None]``, backed by kodcode.exec.

* ``unit_test``: the completion's program (``kodcode.answers.answer_program``: the answer after
  ``</think>``, the block that defines the entry point named by the row's ``test_info``, KodCode's
  function-name repair) is run as module ``solution`` against the row's pytest ``test`` on the
  execution engine. Pass = 1.0, anything else 0.0, or the fraction of tests passed with
  ``reward.partial_credit``; no program at all is 0.0 (status ``no_code``, the model's failure).
* ``format``: 1.0 when the completion has ``<think>...</think>`` (if ``reward.think_tags``) followed
  by a fenced Python block, else 0.0.

An outage is never a wrong answer. A ``sandbox_error`` (the engine failed, not the code) is ``None``
from ``unit_test``, and TRL 1.16 leaves a completion out of the advantage only when *every* reward
function returns ``None`` for it (it sums the others with NaN as 0), so ``format`` returns ``None``
for that completion too: both read one ``UnitTestScorer`` that runs each batch once, whichever
function TRL calls first. Outages are counted in ``unit_test/sandbox_error_rate``, and a batch above
``reward.max_sandbox_error_rate`` aborts the run.

Both log tripwires: source patterns typical of reward hacking (leaving the process early, patching
the test framework, ``__eq__`` that always agrees, writing a conftest, ...). They do not change the
reward (the verdict protocol in kodcode.exec is what defeats them); they are counted per batch
(``tripwire/<name>``) and shown in the completions table so a drifting policy is visible.

Where jobs run: ``reward.exec_socket`` names a ``python -m kodcode.exec serve --socket P`` server that
all ranks of a node share (slurm/train.sh starts one per node). Without it, a single process runs an
in-process ``Executor``, and several ranks on one node start a shared server on the first local rank.

    funcs = build_reward_funcs(cfg.reward, cfg.exec)     # pass to GRPOTrainer(reward_funcs=funcs)
"""

from __future__ import annotations

import atexit
import logging
import os
import re
import subprocess
import sys
import time
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from kodcode.answers import answer_program, expected_functions
from kodcode.exec.config import ExecConfig
from kodcode.train.config import RewardConfig

log = logging.getLogger(__name__)

# Patterns seen in reward-hacking reports against pytest-based rewards (see
# reference/execution-sandboxes.md); a hit is logged, never scored.
TRIPWIRES: dict[str, re.Pattern] = {
    "early_exit": re.compile(r"\bos\._exit\s*\(|\bsys\.exit\s*\(|(?<![\w.])(?:exit|quit)\s*\(|\bos\.kill\s*\("),
    "test_framework_patch": re.compile(
        r"\bimport\s+(?:pytest|_pytest|unittest)\b|\bfrom\s+(?:pytest|_pytest|unittest)\b|\bpytest\.|\bunittest\."
    ),
    "always_equal": re.compile(
        r"def\s+__(?:eq|ne)__\s*\([^)]*\)\s*(?:->\s*\w+\s*)?:\s*(?:#[^\n]*)?\s*return\s+(?:True|False|1|0)\b"
    ),
    "conftest": re.compile(r"conftest"),
    "builtins_patch": re.compile(r"\bbuiltins\.\w+\s*=|__builtins__"),
    "frame_inspection": re.compile(r"\bsys\._getframe\b|\binspect\.(?:stack|currentframe)\b|\bgc\.get_objects\b"),
    "exit_hooks": re.compile(r"\batexit\.register\b|\bsignal\.(?:signal|alarm)\b"),
}

_FORMAT_THINK = re.compile(r"^\s*<think>.+?</think>.*?```python\n.+?```", re.DOTALL)
_FORMAT_CODE = re.compile(r"```python\n.+?```", re.DOTALL)


def completion_text(completion: Any) -> str:
    """TRL passes strings, or for conversational prompts ``[{"role": "assistant", "content": ...}]``."""
    if isinstance(completion, str):
        return completion
    if isinstance(completion, list):
        return "".join(m.get("content") or "" for m in completion if m.get("role", "assistant") == "assistant")
    raise TypeError(f"completion must be a string or a list of messages (got {type(completion).__name__})")


def tripwires(code: str) -> list[str]:
    return [name for name, pattern in TRIPWIRES.items() if pattern.search(code)]


class ExecBackend:
    """Runs PytestJobs on an exec server (``socket``) or an in-process Executor, started on first use."""

    def __init__(self, exec_cfg: ExecConfig, socket: str | None = None):
        self.exec_cfg = exec_cfg
        self.socket = socket
        self._executor = None
        self._client = None
        self._server = None

    def _connect(self) -> None:
        socket = self.socket or _shared_socket_path()
        if socket is None:  # one process: no server needed
            from kodcode.exec import Executor

            self._executor = Executor(self.exec_cfg)
            self._executor.__enter__()
        else:
            if self.socket is None:
                self._server = _start_or_wait_for_server(socket, self.exec_cfg)
            from kodcode.exec import ExecClient

            self._client = ExecClient(socket)
        atexit.register(self.close)

    def run(self, jobs: list) -> list:
        if not jobs:
            return []
        if self._executor is None and self._client is None:
            self._connect()
        if self._executor is not None:
            return self._executor.run(jobs, progress=False)
        return self._client.run(jobs)

    def close(self) -> None:
        if self._executor is not None:
            self._executor.__exit__(None, None, None)
            self._executor = None
        if self._server is not None:
            self._server.terminate()
            self._server.wait(timeout=30)
            self._server = None


def _shared_socket_path() -> str | None:
    """A per-node socket path when several ranks run on this node, else None (in-process executor)."""
    if int(os.environ.get("LOCAL_WORLD_SIZE", os.environ.get("WORLD_SIZE", "1"))) <= 1:
        return None
    tag = os.environ.get("SLURM_JOB_ID") or os.environ.get("MASTER_PORT") or "local"
    return f"/tmp/kodcode-exec-{tag}.sock"


def _start_or_wait_for_server(socket: str, exec_cfg: ExecConfig, wait_s: float = 180.0):
    """Local rank 0 starts the node's exec server; the other ranks wait for its socket."""
    proc = None
    if int(os.environ.get("LOCAL_RANK", "0")) == 0:
        Path(socket).unlink(missing_ok=True)  # a previous run's socket: nobody listens there any more
        cmd = [sys.executable, "-m", "kodcode.exec", "serve", "--socket", socket, "--workers", str(exec_cfg.workers),
               "--timeout", str(exec_cfg.timeout_s), "--isolation", exec_cfg.isolation]
        if exec_cfg.python:
            cmd += ["--python", exec_cfg.python]
        proc = subprocess.Popen(cmd)
    deadline = time.monotonic() + wait_s
    while not Path(socket).exists():
        if proc is not None and proc.poll() is not None:
            raise RuntimeError(f"the exec server exited with code {proc.returncode} before listening on {socket}")
        if time.monotonic() > deadline:
            raise TimeoutError(
                f"no exec server listening on {socket} after {wait_s:.0f}s; start one with "
                f"`python -m kodcode.exec serve --socket {socket}` and set reward.exec_socket={socket}"
            )
        time.sleep(0.2)
    return proc


@dataclass(frozen=True)
class Scored:
    """One completion's unit-test result: what was run, how it ended, and the reward it earns."""

    reward: float | None
    status: str  # a Verdict status (pass, fail, timeout, error, sandbox_error) or no_code
    code: str  # the program that was run ('' when none was found)
    reason: str = ""  # why there is no program (kodcode.answers.REASONS), or ''
    renamed_from: str | None = None
    n_tests: int = 0
    n_passed: int = 0
    flags: tuple[str, ...] = ()  # tripwires: the source patterns and the engine's own flags
    message: str = ""  # the engine's message, else the first test that did not pass and why

    def as_row(self) -> dict:
        return {"reward": self.reward, "status": self.status, "code": self.code, "reason": self.reason,
                "renamed_from": self.renamed_from, "n_tests": self.n_tests, "n_passed": self.n_passed,
                "tripwires": list(self.flags), "message": self.message}


def _verdict_message(v) -> str:
    if v.message:
        return v.message[:500]
    bad = next((t for t in v.tests if t.outcome != "passed"), None)
    return f"{bad.name}: {bad.outcome}" + (f": {bad.message[:400]}" if bad.message else "") if bad else ""


class UnitTestScorer:
    """Runs a batch's programs once and remembers the last batch, so every reward function reads it."""

    def __init__(self, cfg: RewardConfig, backend: ExecBackend):
        self.cfg = cfg
        self.backend = backend
        self._last: tuple[tuple, list[Scored]] | None = None

    def reward_of(self, verdict) -> float | None:
        if verdict.status == "sandbox_error":
            return None
        if verdict.passed:
            return 1.0
        if self.cfg.partial_credit and verdict.n_tests:
            return verdict.n_passed / verdict.n_tests
        return 0.0

    def score(self, completions, test, test_info=None) -> list[Scored]:
        """One ``Scored`` per completion; ``test_info`` (KodCode-V1's column) names the entry point."""
        texts = [completion_text(c) for c in completions]
        infos = list(test_info) if test_info is not None else [None] * len(texts)
        key = (tuple(texts), tuple(test), tuple(map(repr, infos)))
        if self._last is not None and self._last[0] == key:
            return self._last[1]
        from kodcode.exec import PytestJob

        answers = [answer_program(t, expected_functions(info)) for t, info in zip(texts, infos)]
        todo = [i for i, a in enumerate(answers) if a.code]
        jobs = [PytestJob(solution=answers[i].code, test=test[i], id=str(i)) for i in todo]
        verdicts = dict(zip(todo, self.backend.run(jobs)))
        out = []
        for i, a in enumerate(answers):
            v = verdicts.get(i)
            if v is None:  # no program at all is the model's failure, not the sandbox's
                out.append(Scored(0.0, "no_code", "", a.reason))
                continue
            flags = tuple(sorted(set(tripwires(a.code)) | set(v.flags)))
            out.append(Scored(self.reward_of(v), v.status, a.code, "", a.renamed_from, v.n_tests, v.n_passed, flags,
                              _verdict_message(v)))
        self._last = (key, out)
        return out


class UnitTestReward:
    """1.0 when every test passes (or the passed fraction), 0.0 otherwise, None on sandbox errors."""

    __name__ = "unit_test"  # TRL names the logged reward columns after it

    def __init__(self, cfg: RewardConfig, backend_or_scorer):
        self.cfg = cfg
        self.scorer = backend_or_scorer if isinstance(backend_or_scorer, UnitTestScorer) \
            else UnitTestScorer(cfg, backend_or_scorer)
        # Completions scored so far, and how many ended in each verdict status (plus "no_code").
        self.totals: Counter[str] = Counter()

    def __call__(self, completions, test, test_info=None, log_metric=None, log_extra=None,
                 **_: Any) -> list[float | None]:
        scored = self.scorer.score(completions, test, test_info)
        statuses = [s.status for s in scored]
        wires = [",".join(s.flags) for s in scored]
        n = len(scored)
        errors = statuses.count("sandbox_error")
        self.totals["completions"] += n
        self.totals.update(statuses)
        if log_metric is not None and n:
            log_metric("unit_test/pass_rate", statuses.count("pass") / n)
            log_metric("unit_test/sandbox_error_rate", errors / n)
            log_metric("unit_test/no_code_rate", statuses.count("no_code") / n)
            for name in TRIPWIRES:
                log_metric(f"tripwire/{name}", sum(name in s.flags for s in scored) / n)
        if log_extra is not None:
            log_extra("verdict", statuses)
            log_extra("tripwires", wires)
        if n and errors / n > self.cfg.max_sandbox_error_rate:
            raise RuntimeError(
                f"{errors} of {n} reward jobs ended in sandbox_error (> reward.max_sandbox_error_rate="
                f"{self.cfg.max_sandbox_error_rate}): the execution engine is failing, not the policy; check the "
                "exec server's log (or run `python -m kodcode.train.score` on a few rows) before resuming"
            )
        for w in wires:
            if w:
                log.info("reward tripwires: %s", w)
        return [s.reward for s in scored]


class FormatReward:
    """1.0 for ``<think>...</think>`` then a ```python block (or just the block without think tags).

    With a ``scorer`` (``unit_test`` is also a reward), a completion whose unit test hit an outage
    gets ``None`` here too, so that TRL leaves it out of the advantage instead of summing this
    reward alone into it.
    """

    __name__ = "format"

    def __init__(self, cfg: RewardConfig, scorer: UnitTestScorer | None = None):
        self.pattern = _FORMAT_THINK if cfg.think_tags else _FORMAT_CODE
        self.scorer = scorer

    def __call__(self, completions, test=None, test_info=None, **_: Any) -> list[float | None]:
        rewards: list[float | None] = [1.0 if self.pattern.search(completion_text(c)) else 0.0 for c in completions]
        if self.scorer is not None and test is not None:
            for i, s in enumerate(self.scorer.score(completions, test, test_info)):
                if s.status == "sandbox_error":
                    rewards[i] = None
        return rewards


def build_reward_funcs(cfg: RewardConfig, exec_cfg: ExecConfig) -> list:
    """The reward callables named in ``cfg.funcs``, in order (TRL pairs them with ``reward_weights``)."""
    scorer = UnitTestScorer(cfg, ExecBackend(exec_cfg, cfg.exec_socket)) if "unit_test" in cfg.funcs else None
    funcs = {
        "unit_test": lambda: UnitTestReward(cfg, scorer),
        "format": lambda: FormatReward(cfg, scorer),
    }
    return [funcs[name]() for name in cfg.funcs]
