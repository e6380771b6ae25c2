"""Sampled GRPO completions: ``samples.per_step`` of each logging step's completions, spread evenly
over the step's batch (and so over the ranks that generated it), written to
``<output_dir>/samples/samples_<step>.parquet`` and, with ``samples.wandb``, a W&B table ``samples``.

TRL's own ``log_completions`` writes every completion of the step (4,096 in coder_r1_light10k) to a
table on rank 0 each step; this keeps a fixed handful instead. It reads the batch TRL has already
gathered for its metrics (``GRPOTrainer._logs``: prompts, completions, per-function rewards,
advantages, and the ``verdict`` / ``tripwires`` columns the unit-test reward adds).

    trainer = GRPOTrainer(..., callbacks=[SampleLogger(cfg.samples)])   # build_grpo_trainer does this
"""

from __future__ import annotations

from pathlib import Path

from transformers import TrainerCallback

from kodcode.train.config import SampleLogConfig


def spread(n: int, k: int) -> list[int]:
    """``k`` indices out of ``range(n)`` evenly spaced (all of them when ``k >= n``). The gathered batch
    is ordered by rank, so evenly spaced picks come from every rank's share."""
    if k >= n:
        return list(range(n))
    return [i * n // k for i in range(k)]


def _text(messages) -> str:
    if isinstance(messages, str):
        return messages
    return "\n".join(f"{m.get('role', '')}: {m.get('content') or ''}" for m in messages)


class SampleLogger(TrainerCallback):
    """Writes ``per_step`` completions of each training log step; the trainer attaches itself first."""

    def __init__(self, cfg: SampleLogConfig):
        self.cfg = cfg
        self.trainer = None  # set by build_grpo_trainer once the trainer exists
        self.written: list[Path] = []

    def rows(self) -> list[dict]:
        logs = self.trainer._logs
        n = len(logs["prompt"])
        out = []
        for i in spread(n, self.cfg.per_step):
            row = {"prompt": _text(logs["prompt"][i]), "completion": _text(logs["completion"][i]),
                   "advantage": float(logs["advantages"][i])}
            row.update({f"reward/{name}": float(v[i]) for name, v in logs["rewards"].items() if i < len(v)})
            row.update({name: v[i] for name, v in logs["extra"].items() if i < len(v)})
            out.append(row)
        return out

    def on_log(self, args, state, control, logs=None, **kwargs):
        trainer = self.trainer
        if trainer is None or self.cfg.per_step == 0 or not state.is_world_process_zero:
            return
        if not trainer.model.training or not any(k.startswith("rewards/") for k in logs or {}):
            return  # an evaluation or a log line without a fresh generation batch
        rows = self.rows()
        if not rows:
            return
        import pandas as pd

        df = pd.DataFrame(rows)
        df.insert(0, "step", state.global_step)
        path = Path(args.output_dir) / "samples" / f"samples_{state.global_step:05d}.parquet"
        path.parent.mkdir(parents=True, exist_ok=True)
        df.to_parquet(path)
        self.written.append(path)
        if self.cfg.wandb and args.report_to and "wandb" in args.report_to:
            import wandb

            if wandb.run is not None:
                wandb.run.log({"samples": wandb.Table(dataframe=df.astype(str)), "train/global_step": state.global_step})
