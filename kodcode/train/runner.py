"""``run(cfg)``: validate the composed config, open W&B, build the SFT or GRPO trainer, train, save.

``python -m kodcode.train`` calls it; tests call it with configs from Hydra's compose API.
Resume (``resume: auto``) continues from the newest ``checkpoint-*`` under ``trainer.output_dir``,
which is what a requeued Slurm job needs.
"""

from __future__ import annotations

import hashlib
import logging
import os
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


def run(cfg: DictConfig | dict) -> TrainResult:
    """Train as configured; return where the model went and what was logged."""
    resolved = OmegaConf.to_container(cfg, resolve=True) if isinstance(cfg, DictConfig) else dict(cfg)
    resolved.pop("hydra", None)
    tc: TrainConfig = validate(resolved, TrainConfig)
    kind = tc.trainer["kind"]

    wandb_run = None
    report_to = tc.trainer.get("report_to") or []
    if isinstance(report_to, str):
        report_to = [report_to]
    if "wandb" in report_to and _is_main_process():
        if tc.wandb.group is None:
            tc.wandb.group = tc.name
        if tc.wandb.name is None:
            tc.wandb.name = tc.trainer.get("run_name") or tc.name
        if tc.wandb.dir is None:
            tc.wandb.dir = tc.run_dir
        # Opened here, before the Trainer, so transformers' WandbCallback reuses this run (names from
        # our config, the whole resolved config logged) instead of opening its own. The id is fixed by
        # the run directory, so a requeued job that resumes from a checkpoint continues the same run.
        run_id = hashlib.sha1(f"{Path(tc.run_dir).resolve()}|{tc.name}".encode()).hexdigest()[:16]
        wandb_run = init_run(tc.wandb, config=resolved, job_type=kind, run_id=run_id)

    if kind == "sft":
        from kodcode.train.sft import build_sft_trainer

        trainer = build_sft_trainer(tc)
        totals: dict[str, int] = {}
    else:
        from kodcode.train.grpo import build_grpo_trainer

        trainer = build_grpo_trainer(tc)
        totals = getattr(next((f for f in trainer.reward_funcs if hasattr(f, "totals")), None), "totals", {})

    checkpoint = resume_checkpoint(tc)
    if checkpoint:
        log.info("resuming from %s", checkpoint)
    try:
        trainer.train(resume_from_checkpoint=checkpoint)
        final = Path(tc.trainer["output_dir"]) / "final"
        trainer.save_model(str(final))  # weights + tokenizer (the Trainer saves its processing class)
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
    )
