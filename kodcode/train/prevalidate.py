"""RL data prevalidation: each row's reference ``solution`` is run against its own ``test`` in the
sandbox before GRPO starts, and rows it fails are dropped and counted.

Code-R1 drops such rows too: a row whose own reference fails (a wrong test, a missing library, a
timeout under this run's ``exec:`` limits) is one no answer can pass, so it only adds zero-reward
noise. Verdicts are cached by content (solution, test and the exec settings that decide a verdict)
under ``$KODCODE_CACHE/prevalidate/``, so a rerun or a requeued job pays nothing. Under several
processes the main one runs the check and sends its verdicts to the others. A sandbox outage
is not a failed row (STYLE 6): such rows are kept, never cached, and past
``reward.max_sandbox_error_rate`` the run refuses to start.

    from kodcode.train.prevalidate import Prevalidator
    check = Prevalidator(cfg.exec, backend)          # backend: kodcode.train.rewards.ExecBackend
    kept, dropped = check(raw_rows)                  # a datasets.Dataset in KodCode-V1 columns
``data.prevalidate=false`` turns it off.
"""

from __future__ import annotations

import hashlib
import json
import logging
from dataclasses import asdict
from pathlib import Path

from kodcode.exec.config import ExecConfig

log = logging.getLogger(__name__)

# Settings that cannot change a verdict (how many workers, output kept, start-up wait) stay out of the key.
_NOT_IN_KEY = ("workers", "tail_bytes", "start_timeout_s", "uid_base")


def cache_dir() -> Path:
    from kodcode.llm.tiny import cache_root

    return cache_root() / "prevalidate"


def settings_key(exec_cfg: ExecConfig) -> str:
    settings = {k: v for k, v in asdict(exec_cfg).items() if k not in _NOT_IN_KEY}
    return hashlib.sha256(json.dumps(settings, sort_keys=True, default=str).encode()).hexdigest()[:16]


def row_key(solution: str, test: str) -> str:
    return hashlib.sha256(f"{solution}\0{test}".encode()).hexdigest()


class Prevalidator:
    """``check(ds) -> (rows whose reference passes, number dropped)``; verdicts cached on disk."""

    def __init__(self, exec_cfg: ExecConfig, backend, max_sandbox_error_rate: float = 0.5,
                 cache: Path | None = None):
        self.backend = backend
        self.max_sandbox_error_rate = max_sandbox_error_rate
        self.cache_file = (cache or cache_dir()) / f"{settings_key(exec_cfg)}.jsonl"
        self.ran = 0  # jobs actually run (not answered from the cache), over every call

    def _load(self) -> dict[str, str]:
        if not self.cache_file.is_file():
            return {}
        out = {}
        for line in self.cache_file.read_text().splitlines():
            if line.strip():
                rec = json.loads(line)
                out[rec["key"]] = rec["status"]
        return out

    def _save(self, new: dict[str, str]) -> None:
        self.cache_file.parent.mkdir(parents=True, exist_ok=True)
        with open(self.cache_file, "a") as f:  # one line per verdict: a killed run keeps what it wrote
            for key, status in new.items():
                f.write(json.dumps({"key": key, "status": status}) + "\n")

    def statuses(self, solutions: list[str], tests: list[str]) -> list[str]:
        """The verdict status of each (solution, test) pair, from the cache or the sandbox."""
        from kodcode.exec import PytestJob

        keys = [row_key(s, t) for s, t in zip(solutions, tests)]
        known = self._load()
        todo = sorted({k: i for i, k in enumerate(keys) if k not in known}.values())
        verdicts = self.backend.run([PytestJob(solution=solutions[i], test=tests[i], id=str(i)) for i in todo])
        self.ran += len(todo)
        fresh = {keys[i]: v.status for i, v in zip(todo, verdicts)}
        self._save({k: s for k, s in fresh.items() if s != "sandbox_error"})
        return [known.get(k) or fresh[k] for k in keys]

    def shared_statuses(self, solutions: list[str], tests: list[str]) -> list[str]:
        """``statuses`` decided once, on the main process, and sent to every rank: each rank must keep
        exactly the same rows, which separate sandbox runs (a timeout near the limit) do not promise."""
        from accelerate import PartialState

        state = PartialState()
        if state.num_processes == 1:
            return self.statuses(solutions, tests)
        from accelerate.utils import broadcast_object_list

        box = [self.statuses(solutions, tests) if state.is_main_process else None]
        broadcast_object_list(box, from_process=0)
        return box[0]

    def __call__(self, ds):
        if "solution" not in ds.column_names:
            raise ValueError(
                f"data.prevalidate=true runs each row's reference solution against its tests, but the rows have no "
                f"`solution` column (columns: {', '.join(ds.column_names)}); set data.prevalidate=false"
            )
        tests = [r.get("test") or r.get("test_code") or "" for r in ds]
        statuses = self.shared_statuses([s or "" for s in ds["solution"]], tests)
        errors = statuses.count("sandbox_error")
        if statuses and errors / len(statuses) > self.max_sandbox_error_rate:
            raise RuntimeError(
                f"prevalidation: {errors} of {len(statuses)} reference solutions ended in sandbox_error (> "
                f"reward.max_sandbox_error_rate={self.max_sandbox_error_rate}): the execution engine is failing, not "
                "the data; check it with `python -m kodcode.exec verify` on a few rows (or data.prevalidate=false to skip the check)"
            )
        keep = [i for i, s in enumerate(statuses) if s in ("pass", "sandbox_error")]
        dropped = len(statuses) - len(keep)
        if dropped:
            failed = {s: statuses.count(s) for s in sorted(set(statuses)) if s not in ("pass", "sandbox_error")}
            log.warning("prevalidation: %d of %d RL rows dropped, their reference solution does not pass its own "
                        "tests (%s)", dropped, len(statuses), failed)
        return ds.select(keep), dropped
