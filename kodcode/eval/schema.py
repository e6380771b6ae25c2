"""Typed config of ``python -m kodcode.eval`` (``conf/eval/eval.yaml`` and its groups), validated at startup.

Every benchmark block is optional: the ``benchmark=[...]`` list on the command line decides which are
present (``benchmark=[humaneval,livecodebench]``), and each block's knobs are overridden as
``benchmark.<name>.<knob>=...``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from kodcode.exec.config import ExecConfig
from kodcode.llm.config import LLMConfig, ModelConfig
from kodcode.tracking import WandbConfig

PROMPT_STYLES = ("auto", "prefill", "chat", "completion")


def _positive(obj: Any, *names: str) -> list[str]:
    return [f"{n} must be > 0 (got {getattr(obj, n)}); set it to a positive number"
            for n in names if getattr(obj, n) is not None and getattr(obj, n) <= 0]


@dataclass
class EvalplusBench:
    """HumanEval+ or MBPP+ (evalplus 0.3.1), scored on kodcode.exec (``exec.workers`` jobs at once)."""

    data_path: str | None = None  # local HumanEvalPlus/MbppPlus .jsonl[.gz]; null: evalplus's official loader
    limit: int | None = None  # first N tasks only (smoke runs); null: all
    cache_dir: str | None = None  # root of the ground-truth cache (<cache_dir>/evalplus/<md5>.pkl); null: evalplus's
    python: str | None = None  # job interpreter, must import evalplus; null: this one (exec.python is not used)

    def check(self) -> list[str]:
        import os

        p = _positive(self, "limit")
        if self.python is not None and not os.access(self.python, os.X_OK):
            p.append(f"python must be an executable interpreter that imports evalplus (got {self.python!r}); "
                     "leave it null to run the jobs on this interpreter")
        return p


@dataclass
class BigCodeBenchBench:
    data_path: str | None = None  # local BigCodeBench .jsonl[.gz] (hf format); null: hub split v0.1.4
    splits: list[str] = field(default_factory=lambda: ["complete", "instruct"])
    subsets: list[str] = field(default_factory=lambda: ["full", "hard"])
    calibrated: bool = True  # the leaderboard's scoring: code_prompt + "\n    pass\n" + solution
    upgrade: bool = True  # apply the v0.1.0 -> v0.1.4 dataset edits to older files
    limit: int | None = None
    timeout_s: float = 240.0  # bigcodebench TIMEOUT_LIMIT (ours is CPU time, so load does not matter)
    memory_mb: int = 30 * 1024  # bigcodebench max_as_limit
    python: str | None = None  # interpreter with the BigCodeBench libraries (`pip install .[bcb]`)
    max_procs: int = 512  # tasks start thread pools and subprocesses; the official harness sets no cap
    preimport: list[str] = field(default_factory=lambda: ["numpy", "pandas", "matplotlib.pyplot"])

    def check(self) -> list[str]:
        from kodcode.eval.bigcodebench import SPLITS, SUBSETS

        p = _positive(self, "limit", "timeout_s", "memory_mb", "max_procs")
        for s in self.splits:
            if s not in SPLITS:
                p.append(f"splits has {s!r}; allowed: {list(SPLITS)}; e.g. benchmark.bigcodebench.splits=[complete]")
        for s in self.subsets:
            if s not in SUBSETS:
                p.append(f"subsets has {s!r}; allowed: {list(SUBSETS)}; e.g. benchmark.bigcodebench.subsets=[hard]")
        return p


@dataclass
class LiveCodeBenchBench:
    data_path: str | None = None  # local .jsonl[.gz] / .parquet export of code_generation_lite; null: hub
    release: str = "release_v5"
    start_date: str | None = None  # YYYY-MM-DD; null: the release window's start
    end_date: str | None = None
    difficulties: list[str] = field(default_factory=lambda: ["easy", "medium", "hard"])
    prompt: str = "lcb"  # harness: lcb (official prompt, extraction, all tests) | skythought (the paper's, its runner)
    semantics: str = "official"  # official (lcb_runner's verdicts) | fixed (a fresh process per test)
    timeout_s: float = 6.0  # LCB --timeout, per test
    limit: int | None = None

    def check(self) -> list[str]:
        from kodcode.eval.livecodebench import DIFFICULTIES, RELEASE_WINDOWS, SEMANTICS

        p = _positive(self, "limit", "timeout_s")
        if self.release not in RELEASE_WINDOWS:
            p.append(f"release must be one of {sorted(RELEASE_WINDOWS)} (got {self.release!r}); set release_v5")
        if self.prompt not in ("lcb", "skythought"):
            p.append(f"prompt must be lcb or skythought (got {self.prompt!r}); set benchmark.livecodebench.prompt=lcb")
        if self.semantics not in SEMANTICS:
            p.append(f"semantics must be official or fixed (got {self.semantics!r}); official reproduces lcb_runner's "
                     "verdicts, fixed judges its quirks as a correct program deserves; set "
                     "benchmark.livecodebench.semantics=official")
        for d in self.difficulties:
            if d not in DIFFICULTIES:
                p.append(f"difficulties has {d!r}; allowed: {list(DIFFICULTIES)}")
        return p


@dataclass
class Benchmarks:
    humaneval: EvalplusBench | None = None
    mbpp: EvalplusBench | None = None
    bigcodebench: BigCodeBenchBench | None = None
    livecodebench: LiveCodeBenchBench | None = None

    def selected(self) -> list[str]:
        return [n for n in ("humaneval", "mbpp", "bigcodebench", "livecodebench") if getattr(self, n) is not None]


@dataclass
class GenerationConfig:
    max_tokens: int = 16384  # paper §4.1: generation length up to 16K tokens
    temperature: float = 0.0  # paper §4.1: greedy decoding
    top_p: float = 1.0
    # auto: evalplus/BigCodeBench pre-fill the assistant turn when the backend can render the chat
    # template (their official setup), plain chat otherwise; completion: no template (base models).
    prompt_style: str = "auto"

    def check(self) -> list[str]:
        p = _positive(self, "max_tokens")
        if self.prompt_style not in PROMPT_STYLES:
            p.append(f"prompt_style must be one of {PROMPT_STYLES} (got {self.prompt_style!r}); set auto")
        if self.temperature < 0:
            p.append(f"temperature must be >= 0 (got {self.temperature}); set 0.0 for greedy decoding")
        return p


@dataclass
class LeaderboardConfig:
    compare: list[str] = field(default_factory=list)  # other runs' out_dirs (their scores.json) shown beside this one
    paper_rows: list[str] = field(default_factory=lambda: ["Qwen2.5-Coder-32B-Instruct", "KodCode-32B-50K"])
    wandb: bool = True  # log the table (and scalars) to W&B


@dataclass
class EvalConfig:
    model: ModelConfig
    llm: LLMConfig
    wandb: WandbConfig
    out_dir: str
    benchmark: Benchmarks = field(default_factory=Benchmarks)
    exec: ExecConfig = field(default_factory=ExecConfig)
    generation: GenerationConfig = field(default_factory=GenerationConfig)
    leaderboard: LeaderboardConfig = field(default_factory=LeaderboardConfig)
    # Score-only: benchmark key -> existing samples JSONL ({task_id, solution} rows, evalplus style).
    # Keys: humaneval, mbpp, bigcodebench_complete, bigcodebench_instruct, livecodebench.
    samples: dict[str, str] = field(default_factory=dict)
    run_name: str | None = None  # the leaderboard row label; null: the model name
    fixtures: bool = False  # write tiny built-in benchmark files into out_dir and use them (smoke runs)

    def check(self) -> list[str]:
        p = []
        keys = ("humaneval", "mbpp", "bigcodebench_complete", "bigcodebench_instruct", "livecodebench")
        for k in self.samples:
            if k not in keys:
                p.append(f"samples has key {k!r}; allowed: {list(keys)}; e.g. +samples.humaneval=path.jsonl")
        if not self.benchmark.selected() and not self.leaderboard.compare:
            p.append("benchmark selects nothing and leaderboard.compare is empty: nothing to do; "
                     "set benchmark=[humaneval,mbpp,bigcodebench,livecodebench]")
        return p
