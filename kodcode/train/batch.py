"""The global batch as a property of the experiment: gradient accumulation derived from the world size.

An experiment states ``trainer.global_batch_size`` (sequences per optimizer step for SFT, completions
for GRPO) and ``trainer.per_device_train_batch_size`` (what one GPU holds at once); the accumulation
steps follow from the number of GPUs, so the paper's batch of 128 stays 128 on 8, 16 or 32 GPUs. A
GPU count that cannot honour it is refused, with the counts that can named:

    from kodcode.train.batch import plan_batch
    plan = plan_batch(tc.trainer, world_size=32)
    print(plan.line())       # global batch: 128 = 1 x 4 x 32

``trainer.global_batch_size: null`` keeps ``gradient_accumulation_steps`` as written (CPU smoke runs).
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Any

# Past this many GPUs nobody reads the list of valid counts.
_MAX_LISTED_WORLD = 1024


class BatchError(ValueError):
    """The configured global batch cannot be formed on this many GPUs."""


@dataclass(frozen=True)
class BatchPlan:
    kind: str  # sft | grpo
    per_device: int
    accumulation: int
    world_size: int
    seq_tokens: int  # longest sequence one example may be (SFT: max_length; GRPO: prompt + completion)
    num_generations: int | None = None  # GRPO: completions per prompt

    @property
    def global_size(self) -> int:
        return self.per_device * self.accumulation * self.world_size

    @property
    def tokens_per_step(self) -> int:
        """Upper bound of tokens one optimizer step trains on (every sequence at its longest)."""
        return self.global_size * self.seq_tokens

    def line(self) -> str:
        return f"global batch: {self.global_size} = {self.per_device} x {self.accumulation} x {self.world_size}"

    def lines(self) -> list[str]:
        unit = "completions" if self.kind == "grpo" else "sequences"
        out = [f"{self.line()}  ({unit} = per device x accumulation x GPUs)"]
        if self.kind == "grpo" and self.num_generations:
            out.append(
                f"prompts per step: {self.global_size // self.num_generations} x {self.num_generations} completions"
            )
        out.append(f"tokens per step: <= {self.tokens_per_step:,} ({self.global_size} x {self.seq_tokens:,} tokens)")
        return out


def world_size_from_env() -> int:
    """The number of training processes of this launch (accelerate/torchrun set WORLD_SIZE)."""
    return int(os.environ.get("WORLD_SIZE", "1"))


def valid_world_sizes(global_size: int, per_device: int, limit: int = _MAX_LISTED_WORLD) -> list[int]:
    if global_size % per_device:
        return []
    micro = global_size // per_device
    return [w for w in range(1, min(micro, limit) + 1) if micro % w == 0]


def sequence_tokens(trainer: dict[str, Any], prompt_tokens: int) -> int:
    if trainer["kind"] == "sft":
        return int(trainer.get("max_length") or 1024)  # TRL's SFTConfig default
    # GRPO: vLLM's context bounds prompt + completion when set; else the completion plus a prompt budget.
    total = trainer.get("vllm_max_model_length")
    return int(total) if total else int(trainer.get("max_completion_length") or 512) + prompt_tokens


def plan_batch(trainer: dict[str, Any], world_size: int, prompt_tokens: int = 1536) -> BatchPlan:
    """The batch arithmetic of ``trainer`` on ``world_size`` GPUs; BatchError when it cannot be honoured."""
    per_device = int(trainer.get("per_device_train_batch_size") or 8)
    num_gen = int(trainer.get("num_generations") or 8) if trainer["kind"] == "grpo" else None
    target = trainer.get("global_batch_size")
    seq = sequence_tokens(trainer, prompt_tokens)
    if target is None:
        accumulation = int(trainer.get("gradient_accumulation_steps") or 1)
        return BatchPlan(trainer["kind"], per_device, accumulation, world_size, seq, num_gen)
    micro = per_device * world_size
    if target % micro:
        valid = valid_world_sizes(target, per_device)
        counts = ", ".join(map(str, valid)) if valid else "none"
        raise BatchError(
            f"trainer.global_batch_size={target} cannot be formed on {world_size} GPU(s) with "
            f"trainer.per_device_train_batch_size={per_device}: accumulation = {target} / ({per_device} x "
            f"{world_size}) is not a whole number. It is the experiment's batch, so it is not bent to fit. "
            f"GPU counts that honour it: {counts}; or change trainer.per_device_train_batch_size "
            f"(a divisor of {target} / GPUs)"
        )
    return BatchPlan(trainer["kind"], per_device, target // micro, world_size, seq, num_gen)


def check_global_batch(trainer: dict[str, Any]) -> list[str]:
    """Config rules that hold whatever the GPU count (called from TrainConfig.check)."""
    target = trainer.get("global_batch_size")
    if target is None:
        return []
    out = []
    if not isinstance(target, int) or target <= 0:
        return [f"trainer.global_batch_size must be a positive integer or null (got {target!r}); e.g. 128"]
    if trainer.get("gradient_accumulation_steps") is not None:
        out.append(
            f"trainer.gradient_accumulation_steps={trainer['gradient_accumulation_steps']} is set next to "
            f"trainer.global_batch_size={target}: accumulation is derived from the GPU count when the global batch "
            "is given; remove it (~trainer.gradient_accumulation_steps) or set trainer.global_batch_size=null"
        )
    per_device = int(trainer.get("per_device_train_batch_size") or 8)
    if target % per_device:
        out.append(
            f"trainer.global_batch_size={target} is not a multiple of trainer.per_device_train_batch_size="
            f"{per_device}, so no GPU count can form it; choose a per-device batch that divides {target}"
        )
    if trainer["kind"] == "grpo":
        gens = int(trainer.get("num_generations") or 8)
        if target % gens:
            out.append(
                f"trainer.global_batch_size={target} completions is not a multiple of trainer.num_generations={gens}: "
                f"every prompt needs its whole group; use a multiple of {gens}"
            )
    return out
