"""Typed config of ``python -m kodcode.eval`` (``conf/eval/eval.yaml`` and its groups), validated at startup.

Every benchmark block is optional: the ``benchmark=[...]`` list on the command line decides which are
present (``benchmark=[humaneval,livecodebench]``), and each block's knobs are overridden as
``benchmark.<name>.<knob>=...``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from kodcode.config import setting
from kodcode.eval.bigcodebench import SPLITS as BCB_SPLITS
from kodcode.eval.bigcodebench import SUBSETS as BCB_SUBSETS
from kodcode.eval.livecodebench import DIFFICULTIES as LCB_DIFFICULTIES
from kodcode.eval.livecodebench import RELEASE_WINDOWS as LCB_RELEASES
from kodcode.eval.livecodebench import SEMANTICS as LCB_SEMANTICS
from kodcode.exec.config import ExecConfig
from kodcode.llm.config import LLMConfig, ModelConfig
from kodcode.tracking import WandbConfig

PROMPT_STYLES = ("auto", "prefill", "chat", "completion")
SAMPLE_KEYS = ("humaneval", "mbpp", "bigcodebench_complete", "bigcodebench_instruct", "livecodebench")


@dataclass
class EvalplusBench:
    """HumanEval+ or MBPP+ (evalplus 0.3.1), scored on kodcode.exec (``exec.workers`` jobs at once)."""

    data_path: str | None = None  # local HumanEvalPlus/MbppPlus .jsonl[.gz]; null: evalplus's official loader
    limit: int | None = setting(None, gt=0, fix="null", why="first N tasks only (smoke runs); null: all")
    cache_dir: str | None = None  # root of the ground-truth cache (<cache_dir>/evalplus/<md5>.pkl); null: evalplus's
    python: str | None = None  # job interpreter, must import evalplus; null: this one (exec.python is not used)

    def check(self) -> list[str]:
        import os

        if self.python is not None and not os.access(self.python, os.X_OK):
            return [f"python={self.python}: must be an executable interpreter that imports evalplus; "
                    "leave it null to run the jobs on this interpreter"]
        return []


@dataclass
class BigCodeBenchBench:
    data_path: str | None = None  # local BigCodeBench .jsonl[.gz] (hf format); null: hub split v0.1.4
    splits: list[str] = setting(default_factory=lambda: ["complete", "instruct"], one_of=BCB_SPLITS, min_len=1)
    subsets: list[str] = setting(default_factory=lambda: ["full", "hard"], one_of=BCB_SUBSETS, min_len=1)
    calibrated: bool = True  # the leaderboard's scoring: code_prompt + "\n    pass\n" + solution
    upgrade: bool = True  # apply the v0.1.0 -> v0.1.4 dataset edits to older files
    limit: int | None = setting(None, gt=0, fix="null", why="first N tasks only (smoke runs); null: all")
    # bigcodebench TIMEOUT_LIMIT (ours is CPU time, so load does not matter)
    timeout_s: float = setting(240.0, gt=0)
    memory_mb: int = setting(30 * 1024, gt=0)  # bigcodebench max_as_limit
    python: str | None = None  # interpreter with the BigCodeBench libraries (`pip install .[bcb]`)
    # tasks start thread pools and subprocesses; the official harness sets no cap
    max_procs: int = setting(512, gt=0)
    preimport: list[str] = field(default_factory=lambda: ["numpy", "pandas", "matplotlib.pyplot"])


@dataclass
class LiveCodeBenchBench:
    data_path: str | None = None  # local .jsonl[.gz] / .parquet export of code_generation_lite; null: hub
    release: str = setting("release_v5", one_of=sorted(LCB_RELEASES))
    start_date: str | None = None  # YYYY-MM-DD; null: the release window's start
    end_date: str | None = None
    difficulties: list[str] = setting(default_factory=lambda: ["easy", "medium", "hard"], one_of=LCB_DIFFICULTIES,
                                      min_len=1)
    prompt: str = setting("lcb", one_of=("lcb", "skythought"), why="the harness: lcb (official prompt, extraction, "
                          "all tests) or skythought (the paper's: private tests)")
    semantics: str = setting("official", one_of=LCB_SEMANTICS, why="official reproduces lcb_runner's verdicts, "
                             "fixed judges its quirks as a correct program deserves (a fresh process per test)")
    timeout_s: float = setting(6.0, gt=0)  # LCB --timeout, per test
    limit: int | None = setting(None, gt=0, fix="null", why="first N tasks only (smoke runs); null: all")


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
    max_tokens: int = setting(16384, gt=0)  # paper §4.1: generation length up to 16K tokens
    temperature: float = setting(0.0, ge=0, why="0.0 is greedy decoding")  # paper §4.1: greedy decoding
    top_p: float = 1.0
    # auto: evalplus/BigCodeBench pre-fill the assistant turn when the backend can render the chat
    # template (their official setup), plain chat otherwise; completion: no template (base models).
    prompt_style: str = setting("auto", one_of=PROMPT_STYLES)


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
    samples: dict[str, str] = setting(default_factory=dict, one_of=SAMPLE_KEYS,
                                      why="e.g. +samples.humaneval=path.jsonl")
    run_name: str | None = None  # the leaderboard row label; null: the model name
    fixtures: bool = False  # write tiny built-in benchmark files into out_dir and use them (smoke runs)

    def check(self) -> list[str]:
        p = []
        if not self.benchmark.selected() and not self.leaderboard.compare:
            p.append("benchmark selects nothing and leaderboard.compare is empty: nothing to do; "
                     "set benchmark=[humaneval,mbpp,bigcodebench,livecodebench]")
        return p
