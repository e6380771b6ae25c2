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

from kodcode.config import setting
from kodcode.exec.config import ExecConfig
from kodcode.llm.config import ModelConfig as SharedModelConfig
from kodcode.tracking import WandbConfig

TRAINER_KINDS = ("sft", "grpo")
# Keys of the trainer section that are ours, not TRL's: removed before SFTConfig / GRPOConfig is built.
TRAINER_OWN_KEYS = ("kind", "global_batch_size")
DTYPES = ("auto", "bfloat16", "float16", "float32")
# attention: null (the model's default), varlen (kodcode.train.attention) or a transformers implementation.
ATTENTIONS = ("varlen", "sdpa", "eager", "flash_attention_2", "flash_attention_3")
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
    # Weights are loaded in this dtype (TRL's default is float32: twice the memory of bf16). auto:
    # bfloat16 on GPUs that support it, float32 on CPU (kodcode.train.sft.weights_dtype).
    dtype: str = setting("auto", one_of=DTYPES, why="the dtype the weights are loaded in; auto: bf16 on GPUs "
                         "that support it, fp32 on CPU")


@dataclass
class SftFilters:
    """Paper §4.1 preprocessing of R1 responses: drop too long / too short ones and class-based solutions."""

    min_response_chars: int = setting(0, ge=0, why="0: no minimum")
    # counted with the model's tokenizer
    max_response_tokens: int | None = setting(None, gt=0, fix="null", why="null keeps every length")
    drop_class_solutions: bool = False
    require_correct: bool = True  # r1_correctness == "True" (a string in the published set)


@dataclass
class DataConfig:
    format: str = setting(one_of=DATA_FORMATS, fix="kodcode_sft_r1",
                          why="the column layout of the input; kodcode_sft_r1 is KodCode-V1-SFT-R1's")
    path: str = setting(min_len=1, fix="outputs/synth/<run>/export/sft_r1", why="a .jsonl/.parquet file, a "
                        "save_to_disk directory or a hub dataset name (or use a data=... preset)")
    split: str = "train"
    revision: str | None = None
    # after filtering; a seeded shuffle picks them
    max_rows: int | None = setting(None, gt=0, fix="null", why="null keeps every row")
    seed: int = 0
    system_prompt: str | None = None  # None: the format's default (paper Fig. 13 for SFT)
    filters: SftFilters = field(default_factory=SftFilters)
    # Keep rows whose column value is one of the listed values, e.g. {gpt_difficulty: [hard]} (paper
    # §4.3 Hard-10K) or {style: [instruct]} (NoConvert-10K).
    where: dict[str, list] = field(default_factory=dict)
    # code-r1 drops RL rows whose solution or tests use these (heavy or networked libraries).
    blocked_libraries: list[str] = field(default_factory=list)
    # Held-out evaluation: eval_size rows taken out of training (seeded), or a named split of data.path.
    eval_size: int | None = setting(None, gt=0, fix="null", why="null: no held-out rows")
    eval_split: str | None = None
    # RL: run each row's reference solution against its test in the sandbox first and drop the rows
    # it fails (Code-R1 does; a row no answer can pass only adds noise). Cached by content.
    prevalidate: bool = True

    def check(self) -> list[str]:
        out = []
        if self.eval_size and self.eval_split:
            out.append(
                f"eval_size={self.eval_size} and eval_split={self.eval_split!r} both name a held-out set; keep one"
            )
        return out


@dataclass
class RewardConfig:
    funcs: list[str] = setting(default_factory=lambda: ["unit_test", "format"], one_of=REWARD_FUNCS, min_len=1)
    partial_credit: bool = False  # unit_test reward = fraction of tests passed instead of all-or-nothing
    # A `python -m kodcode.exec serve --socket P` server shared by the ranks of a node; None: an
    # in-process Executor (one process) or a server started by local rank 0 (several). Limits: `exec:`.
    exec_socket: str | None = None
    # Abort when more than this fraction of a batch's jobs fail for infrastructure reasons: an
    # outage must stop the run, not silently train on a shrinking signal (STYLE 6).
    max_sandbox_error_rate: float = setting(0.5, ge=0, le=1)
    think_tags: bool = True  # format reward expects <think>...</think> before the code (Code-R1)


@dataclass
class MemoryConfig:
    """The per-rank memory estimate (kodcode/train/memory.py) checked before the first step."""

    refuse: bool = True  # refuse to start when the estimate exceeds the card
    # None: the card's own size at run time; `cluster plan` assumes 80
    card_gb: float | None = setting(None, gt=0, fix="null", why="null reads the GPU's own size")
    prompt_tokens: int = 1536  # GRPO prompt budget when trainer.vllm_max_model_length is unset (Code-R1)


PEFT_METHODS = ("none", "lora", "qlora")


@dataclass
class PeftSettings:
    """``conf/train/peft/*.yaml``: full fine-tuning, LoRA, or QLoRA (4-bit base, needs bitsandbytes)."""

    method: str = setting("none", one_of=PEFT_METHODS)
    r: int = setting(16, gt=0, why="the adapters' rank")
    lora_alpha: int = 32
    lora_dropout: float = 0.05
    target_modules: list[str] | str = "all-linear"
    # true: `final/` is the base with the adapters merged in (loadable by eval, vLLM, a next training
    # stage), the adapters alone go to `final_adapter/`; false: `final/` holds the adapters only.
    merge_on_save: bool = True


@dataclass
class SampleLogConfig:
    """GRPO completions written per step: a few, spread over ranks, never the whole batch."""

    per_step: int = setting(16, ge=0, why="completions per optimizer step across all ranks; 0: none")
    wandb: bool = True  # also a W&B table on rank 0


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
    # null: the model's default; varlen: document-respecting packed attention (kodcode.train.attention);
    # sdpa | eager | flash_attention_2 | flash_attention_3: transformers' implementations.
    attention: str | None = setting(None, one_of=ATTENTIONS, fix="null", why="null keeps the model's default")
    accelerate: str = "zero3"  # conf/shared/accelerate/<name>.yaml the experiment is sized for
    memory: MemoryConfig = field(default_factory=MemoryConfig)
    samples: SampleLogConfig = field(default_factory=SampleLogConfig)
    peft: PeftSettings = field(default_factory=PeftSettings)  # conf/train/peft (none | lora | qlora)

    def check(self) -> list[str]:
        out = []
        kind = self.trainer.get("kind")
        if kind not in TRAINER_KINDS:
            return [f"trainer.kind={kind}: must be one of {', '.join(TRAINER_KINDS)}; choose trainer=sft or trainer=grpo"]
        known = trainer_field_names(kind)
        cls = trl_config_class(kind).__name__
        for key in self.trainer:
            if key not in TRAINER_OWN_KEYS and key not in known:
                near = difflib.get_close_matches(key, known, n=1)
                hint = f"did you mean trainer.{near[0]}?" if near else f"see trl.{cls} for valid names"
                out.append(f"trainer.{key}={self.trainer[key]!r}: not a field of trl.{cls}; {hint}")
        from kodcode.train.batch import check_global_batch

        out += check_global_batch(self.trainer)
        evaluates = self.trainer.get("eval_strategy", "no") not in ("no", None, False)
        held_out = self.data.eval_size or self.data.eval_split
        if held_out and not evaluates:
            out.append(
                "data.eval_size / data.eval_split give a held-out set but trainer.eval_strategy is 'no', so it is "
                "never evaluated; set trainer.eval_strategy=steps trainer.eval_steps=50"
            )
        if evaluates and not held_out:
            out.append(
                f"trainer.eval_strategy={self.trainer['eval_strategy']} needs a held-out set; set data.eval_size=256 "
                "(rows taken out of training) or data.eval_split=<split name>"
            )
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
            out.append(f"resume={self.resume}: must be auto, never or a checkpoint path (starting with / or .)")
        if self.attention == "varlen" and kind == "sft" and not (
            self.trainer.get("padding_free") or self.trainer.get("packing_strategy", "bfd") != "wrapped"
            and self.trainer.get("packing")
        ):
            out.append(
                "attention=varlen keeps packed documents apart only in padding-free batches; set "
                "trainer.packing=true trainer.packing_strategy=bfd (or trainer.padding_free=true)"
            )
        return out

    def trl_args(self, world_size: int | None = None) -> dict[str, Any]:
        """The trainer section as keyword arguments for SFTConfig / GRPOConfig, with the accumulation
        derived from ``trainer.global_batch_size`` and ``world_size`` (default: this launch's)."""
        from kodcode.train.batch import plan_batch, world_size_from_env

        args = {k: v for k, v in self.trainer.items() if k not in TRAINER_OWN_KEYS}
        if self.trainer.get("global_batch_size") is not None:
            plan = plan_batch(self.trainer, world_size or world_size_from_env())
            args["gradient_accumulation_steps"] = plan.accumulation
        return args
