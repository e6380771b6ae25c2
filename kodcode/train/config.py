"""Typed schema of ``conf/train/train.yaml``, validated once at startup by ``kodcode.config.validate``.

``trainer`` is not re-declared here: its keys (besides ``kind``) are TRL's ``SFTConfig`` /
``GRPOConfig`` fields, checked by name against the installed TRL so a typo fails before any model
loads, with the closest valid name suggested. Everything else (model, data, rewards, W&B, launcher
bits) has a dataclass below.
"""

from __future__ import annotations

import dataclasses
import difflib
from dataclasses import dataclass, field
from typing import Any

from kodcode.exec.config import ExecConfig
from kodcode.llm.config import ModelConfig as SharedModelConfig
from kodcode.tracking import WandbConfig

TRAINER_KINDS = ("sft", "grpo")
DATA_FORMATS = ("synth_sft", "synth_rl", "kodcode_sft_r1", "kodcode_rl")
REWARD_FUNCS = ("unit_test", "format")
RESUME = ("auto", "never")


def trl_config_class(kind: str):
    from trl import GRPOConfig, SFTConfig

    return {"sft": SFTConfig, "grpo": GRPOConfig}[kind]


def trainer_field_names(kind: str) -> set[str]:
    return {f.name for f in dataclasses.fields(trl_config_class(kind))}


@dataclass
class ModelConfig(SharedModelConfig):
    """``conf/shared/model/*.yaml`` (the generation layer's schema, one for every entry point) + revision."""

    revision: str | None = None  # hub revision of the weights to fine-tune


@dataclass
class SftFilters:
    """Paper §4.1 preprocessing of R1 responses: drop too long / too short ones and class-based solutions."""

    min_response_chars: int = 0
    max_response_tokens: int | None = None  # counted with the model's tokenizer; None: no limit
    drop_class_solutions: bool = False
    require_correct: bool = True  # r1_correctness == "True" (a string in the published set)

    def check(self) -> list[str]:
        out = []
        if self.min_response_chars < 0:
            out.append(f"min_response_chars must be >= 0 (got {self.min_response_chars}); use 0 for no minimum")
        if self.max_response_tokens is not None and self.max_response_tokens <= 0:
            out.append(
                f"max_response_tokens must be > 0 or null (got {self.max_response_tokens}); "
                "null keeps every length"
            )
        return out


@dataclass
class DataConfig:
    format: str  # synth_sft | synth_rl | kodcode_sft_r1 | kodcode_rl
    path: str  # a .jsonl / .parquet file, a save_to_disk directory, or a hub dataset name
    split: str = "train"
    revision: str | None = None
    max_rows: int | None = None  # after filtering; a seeded shuffle picks them
    seed: int = 0
    system_prompt: str | None = None  # None: the format's default (paper Fig. 13 for SFT)
    filters: SftFilters = field(default_factory=SftFilters)
    # Keep rows whose column value is one of the listed values, e.g. {gpt_difficulty: [hard]} (paper
    # §4.3 Hard-10K) or {style: [instruct]} (NoConvert-10K).
    where: dict[str, list] = field(default_factory=dict)
    # code-r1 drops RL rows whose solution or tests use these (heavy or networked libraries).
    blocked_libraries: list[str] = field(default_factory=list)

    def check(self) -> list[str]:
        out = []
        if self.format not in DATA_FORMATS:
            out.append(
                f"format must be one of {', '.join(DATA_FORMATS)} (got {self.format!r}): it names the "
                "column layout of the input; set data.format=kodcode_sft_r1 for KodCode-V1-SFT-R1"
            )
        if self.max_rows is not None and self.max_rows <= 0:
            out.append(f"max_rows must be > 0 or null (got {self.max_rows}); null keeps every row")
        if not self.path or self.path == "???":
            out.append(
                f"path is required (got {self.path!r}): a .jsonl/.parquet file, a save_to_disk directory or a "
                "hub dataset name; set data.path=outputs/synth/<run>/export/sft_r1 (or use a data=... preset)"
            )
        return out


@dataclass
class RewardConfig:
    funcs: list[str] = field(default_factory=lambda: ["unit_test", "format"])
    partial_credit: bool = False  # unit_test reward = fraction of tests passed instead of all-or-nothing
    # A `python -m kodcode.exec serve --socket P` server shared by the ranks of a node; None: an
    # in-process Executor (one process) or a server started by local rank 0 (several). Limits: `exec:`.
    exec_socket: str | None = None
    # Abort when more than this fraction of a batch's jobs fail for infrastructure reasons: an
    # outage must stop the run, not silently train on a shrinking signal (STYLE 6).
    max_sandbox_error_rate: float = 0.5
    think_tags: bool = True  # format reward expects <think>...</think> before the code (Code-R1)

    def check(self) -> list[str]:
        out = []
        for f in self.funcs:
            if f not in REWARD_FUNCS:
                out.append(
                    f"funcs has unknown reward {f!r} (known: {', '.join(REWARD_FUNCS)}); fix the name in reward.funcs"
                )
        if not self.funcs:
            out.append("funcs must name at least one reward (got []); use [unit_test]")
        if not 0.0 <= self.max_sandbox_error_rate <= 1.0:
            out.append(f"max_sandbox_error_rate must be in [0, 1] (got {self.max_sandbox_error_rate})")
        return out


@dataclass
class TrainConfig:
    name: str  # experiment name: W&B group, run directory
    run_dir: str
    trainer: dict[str, Any]  # kind + SFTConfig / GRPOConfig fields, 1:1
    model: ModelConfig
    data: DataConfig
    wandb: WandbConfig = field(default_factory=WandbConfig)
    reward: RewardConfig = field(default_factory=RewardConfig)
    exec: ExecConfig = field(default_factory=ExecConfig)  # where reward jobs run (conf/shared/exec)
    resume: str = "auto"  # auto: continue from the last checkpoint in trainer.output_dir; never; or a path
    attention: str | None = None  # "varlen": document-respecting packed attention (kodcode.train.attention)

    def check(self) -> list[str]:
        out = []
        kind = self.trainer.get("kind")
        if kind not in TRAINER_KINDS:
            return [f"trainer.kind must be one of {', '.join(TRAINER_KINDS)} (got {kind!r}); choose trainer=sft or trainer=grpo"]
        known = trainer_field_names(kind)
        cls = trl_config_class(kind).__name__
        for key in self.trainer:
            if key != "kind" and key not in known:
                near = difflib.get_close_matches(key, known, n=1)
                hint = f"did you mean trainer.{near[0]}?" if near else f"see trl.{cls} for valid names"
                out.append(f"trainer.{key} is not a field of trl.{cls}; {hint}")
        if not self.trainer.get("output_dir"):
            out.append("trainer.output_dir must be set: checkpoints and resume live there; e.g. trainer.output_dir=${run_dir}/checkpoints")
        valid_format = self.data.format in DATA_FORMATS  # an unknown one is reported by DataConfig
        if kind == "sft" and valid_format and self.data.format not in ("synth_sft", "kodcode_sft_r1"):
            out.append(
                f"data.format={self.data.format} gives RL prompts, but trainer.kind=sft needs conversations; "
                "use data.format=synth_sft or kodcode_sft_r1"
            )
        if kind == "grpo" and valid_format and self.data.format not in ("synth_rl", "kodcode_rl"):
            out.append(
                f"data.format={self.data.format} gives conversations, but trainer.kind=grpo needs prompts with "
                "tests; use data.format=synth_rl or kodcode_rl"
            )
        weights = self.trainer.get("reward_weights")
        if kind == "grpo" and weights is not None and len(weights) != len(self.reward.funcs):
            out.append(
                f"trainer.reward_weights has {len(weights)} entries but reward.funcs has {len(self.reward.funcs)} "
                f"({self.reward.funcs}); give one weight per reward"
            )
        if self.resume not in RESUME and not self.resume.startswith(("/", ".")):
            out.append(f"resume must be auto, never or a checkpoint path (got {self.resume!r})")
        if self.attention not in (None, "varlen"):
            out.append(f"attention must be null or varlen (got {self.attention!r})")
        if self.attention == "varlen" and kind == "sft" and not (
            self.trainer.get("padding_free") or self.trainer.get("packing_strategy", "bfd") != "wrapped"
            and self.trainer.get("packing")
        ):
            out.append(
                "attention=varlen keeps packed documents apart only in padding-free batches; set "
                "trainer.packing=true trainer.packing_strategy=bfd (or trainer.padding_free=true)"
            )
        return out

    def trl_args(self) -> dict[str, Any]:
        """The trainer section as keyword arguments for SFTConfig / GRPOConfig."""
        return {k: v for k, v in self.trainer.items() if k != "kind"}
