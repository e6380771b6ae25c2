"""``run(cfg)``: validate the composed config, check the launch, open W&B, build the SFT or GRPO
trainer, train, save.

``python -m kodcode.train`` calls it; tests call it with configs from Hydra's compose API.
Before anything loads it logs the launch plan (batch arithmetic on this world size, precision,
attention, memory per rank) and, on a GPU, refuses a run whose memory estimate exceeds the card.
Resume (``resume: auto``) continues from the newest ``checkpoint-*`` under ``trainer.output_dir``,
which is what a requeued Slurm job needs; the W&B run id lives in ``<run_dir>/wandb_run_id``, so
resuming a run directory continues its own W&B run and a fresh directory starts a new one.
"""

from __future__ import annotations

import logging
import os
import secrets
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from omegaconf import DictConfig, OmegaConf

from kodcode.config import validate
from kodcode.tracking import init_run, run_dir
from kodcode.train.config import TrainConfig

log = logging.getLogger(__name__)


@dataclass
class TrainResult:
    output_dir: Path
    final_dir: Path
    global_step: int
    log_history: list[dict[str, Any]] = field(default_factory=list)
    wandb_dir: Path | None = None
    resumed_from: str | None = None
    reward_totals: dict[str, int] = field(default_factory=dict)
    data_counts: dict[str, int] = field(default_factory=dict)  # rows read, dropped (too_long, unsolvable), kept
    wandb_identity: dict[str, Any] = field(default_factory=dict)  # id, name, group, tags of the W&B run

    def losses(self) -> list[float]:
        return [h["loss"] for h in self.log_history if "loss" in h]


def _is_main_process() -> bool:
    return int(os.environ.get("RANK", "0")) == 0


def resume_checkpoint(cfg: TrainConfig) -> str | None:
    if cfg.resume == "never":
        return None
    if cfg.resume != "auto":
        return cfg.resume
    from transformers.trainer_utils import get_last_checkpoint

    out = Path(cfg.trainer["output_dir"])
    return get_last_checkpoint(str(out)) if out.is_dir() else None


def wandb_run_id(run_dir: str) -> str:
    """The W&B id of the run living in ``run_dir``: read back when the directory has one, else a fresh
    random id written there. A new directory never inherits an older run's id by name alone."""
    path = Path(run_dir) / "wandb_run_id"
    if path.is_file():
        return path.read_text().strip()
    path.parent.mkdir(parents=True, exist_ok=True)
    run_id = secrets.token_hex(8)
    tmp = path.with_suffix(f".tmp{os.getpid()}")
    tmp.write_text(run_id + "\n")
    tmp.replace(path)
    return run_id


def wandb_identity(tc: TrainConfig) -> dict[str, Any]:
    """Name, group and tags of the run's W&B run, from the experiment config unless ``wandb.*`` sets them:
    the group is the experiment (its runs side by side), the name the run, the tags what it trains."""
    model = tc.model.name_or_path.rstrip("/").rsplit("/", 1)[-1]
    derived = [tc.trainer["kind"], f"model:{model}", f"data:{tc.data.format}", f"peft:{tc.peft.method}"]
    tags = list(dict.fromkeys([*tc.wandb.tags, *(t[:64] for t in derived)]))  # W&B caps a tag at 64 chars
    return {"name": tc.wandb.name or tc.trainer.get("run_name") or tc.name, "group": tc.wandb.group or tc.name,
            "tags": tags}


def gpu_sharding() -> str:
    """The sharding this launch runs under, from the variables `accelerate launch` exports."""
    from kodcode.train.cluster import SHARDING_BY_STAGE

    if os.environ.get("ACCELERATE_USE_DEEPSPEED") == "true":
        return SHARDING_BY_STAGE[os.environ.get("ACCELERATE_DEEPSPEED_ZERO_STAGE", "2")]
    if os.environ.get("ACCELERATE_USE_FSDP") == "true":
        return "fsdp"
    return "ddp" if int(os.environ.get("WORLD_SIZE", "1")) > 1 else "none"


def check_launch(tc: TrainConfig) -> list[str]:
    """Log what this launch will do; raise when the batch cannot be formed or the card is too small."""
    import torch

    from kodcode.train.batch import plan_batch, world_size_from_env
    from kodcode.train.cluster import attention_name
    from kodcode.train.memory import estimate_memory
    from kodcode.train.sft import weights_dtype

    plan = plan_batch(tc.trainer, world_size_from_env(), tc.memory.prompt_tokens)  # BatchError names valid counts
    from kodcode.llm.tiny import ensure_model

    lines = [f"model: {ensure_model(tc.model.name_or_path)} (model.name_or_path={tc.model.name_or_path})",
             f"precision: weights {weights_dtype(tc)} (model.dtype={tc.model.dtype}), attention {attention_name(tc)}, "
             f"peft {tc.peft.method}", *plan.lines()]
    if torch.cuda.is_available() and not tc.trainer.get("use_cpu"):
        card = tc.memory.card_gb or torch.cuda.get_device_properties(torch.cuda.current_device()).total_memory / 2**30
        est = estimate_memory(tc, plan, gpu_sharding(), card, weights_dtype(tc))
        if est is not None:
            lines += est.lines()
            if not est.fits and tc.memory.refuse:
                raise RuntimeError(est.refusal())
    for line in lines:
        log.info(line)
    return lines


def save_final(trainer, tc: TrainConfig) -> Path:
    """Save the trained model to ``<output_dir>/final`` (weights + tokenizer: the Trainer saves its
    processing class). LoRA with ``peft.merge_on_save``: the adapters go to ``final_adapter/`` and
    ``final/`` gets them merged into the base, so eval and vLLM load it like any checkpoint."""
    out = Path(tc.trainer["output_dir"])
    final = out / "final"
    if tc.peft.method == "none" or not tc.peft.merge_on_save:
        trainer.save_model(str(final))
        return final
    from kodcode.train.merge import merge_adapter
    from kodcode.train.sft import weights_dtype

    adapters = out / "final_adapter"
    trainer.save_model(str(adapters))  # every rank takes part (ZeRO-3 / FSDP gather the adapters)
    if trainer.is_world_process_zero():
        # From the saved files, not the live model: the same under any sharding, and a 4-bit base is
        # reloaded in full precision rather than merged into rounded weights.
        merge_adapter(adapters, final, weights_dtype(tc), base=tc.model.name_or_path, revision=tc.model.revision,
                      trust_remote_code=tc.model.trust_remote_code)
        log.info("peft: adapters in %s, merged model in %s", adapters, final)
    return final


def run(cfg: DictConfig | dict) -> TrainResult:
    """Train as configured; return where the model went and what was logged."""
    resolved = OmegaConf.to_container(cfg, resolve=True) if isinstance(cfg, DictConfig) else dict(cfg)
    resolved.pop("hydra", None)
    tc: TrainConfig = validate(resolved, TrainConfig)
    kind = tc.trainer["kind"]
    plan_lines = check_launch(tc)

    wandb_run = None
    report_to = tc.trainer.get("report_to") or []
    if isinstance(report_to, str):
        report_to = [report_to]
    if "wandb" in report_to and _is_main_process():
        ident = wandb_identity(tc)
        tc.wandb.name, tc.wandb.group, tc.wandb.tags = ident["name"], ident["group"], ident["tags"]
        if tc.wandb.dir is None:
            tc.wandb.dir = tc.run_dir
        # Opened here, before the Trainer, so transformers' WandbCallback reuses this run (names from
        # our config, the whole resolved config logged) instead of opening its own. The id belongs to
        # the run directory, so a requeued job continues the same run and a new directory a new one.
        wandb_run = init_run(tc.wandb, config={**resolved, "launch_plan": plan_lines}, job_type=kind,
                             run_id=wandb_run_id(tc.run_dir))

    if kind == "sft":
        from kodcode.train.sft import build_sft_trainer

        trainer = build_sft_trainer(tc)
        totals: dict[str, int] = {}
    else:
        from kodcode.train.grpo import build_grpo_trainer

        trainer = build_grpo_trainer(tc)
        totals = getattr(next((f for f in trainer.reward_funcs if hasattr(f, "totals")), None), "totals", {})

    counts = dict(getattr(trainer, "data_counts", {}))
    if counts:
        log.info("data: %s", ", ".join(f"{k} {v}" for k, v in counts.items()))
        if wandb_run is not None:
            wandb_run.summary.update({f"data/{k}": v for k, v in counts.items()})
    identity = {} if wandb_run is None else {"id": wandb_run.id, "name": wandb_run.name, "group": wandb_run.group,
                                             "tags": list(wandb_run.tags or ())}
    checkpoint = resume_checkpoint(tc)
    if checkpoint:
        log.info("resuming from %s", checkpoint)
    try:
        trainer.train(resume_from_checkpoint=checkpoint)
        final = save_final(trainer, tc)
        wandb_dir = run_dir(wandb_run)
    finally:
        for f in getattr(trainer, "reward_funcs", []):
            backend = getattr(f, "backend", None)
            if backend is not None:
                backend.close()
        if wandb_run is not None:
            wandb_run.finish()
    return TrainResult(
        output_dir=Path(tc.trainer["output_dir"]),
        final_dir=final,
        global_step=trainer.state.global_step,
        log_history=list(trainer.state.log_history),
        wandb_dir=wandb_dir,
        resumed_from=checkpoint,
        reward_totals=dict(totals),
        data_counts=counts,
        wandb_identity=identity,
    )
