"""GRPO with a unit-test reward, on TRL's GRPOTrainer; ``trainer.*`` maps 1:1 onto ``trl.GRPOConfig``.

    python -m kodcode.train trainer=grpo +experiment=smoke_grpo            # CPU, tiny model
    python -m kodcode.train +experiment=coder_rl_light10k                  # Code-R1-style recipe

Generation uses vLLM when ``trainer.use_vllm=true``: ``trainer.vllm_mode=colocate`` shares the
training GPUs, ``server`` talks to ``trl vllm-serve`` (slurm/train.sh starts it on a reserved node
and sets ``trainer.vllm_server_host``). Rewards come from ``kodcode.train.rewards``.
"""

from __future__ import annotations

from kodcode.tiny import ensure_model
from kodcode.train.config import TrainConfig
from kodcode.train.sft import load_tokenizer, model_init_kwargs


def build_grpo_trainer(cfg: TrainConfig, train_dataset=None, reward_funcs=None, callbacks=None):
    """A ``GRPOTrainer`` for ``cfg``; reads ``cfg.data`` and builds the rewards unless given."""
    from trl import GRPOConfig, GRPOTrainer

    from kodcode.train.data import load_dataset_for
    from kodcode.train.rewards import build_reward_funcs

    tokenizer = load_tokenizer(cfg)
    if train_dataset is None:
        train_dataset = load_dataset_for(cfg.data, kind="grpo", tokenizer=tokenizer)
    if reward_funcs is None:
        reward_funcs = build_reward_funcs(cfg.reward, cfg.exec)
    args = GRPOConfig(**{**cfg.trl_args(), "model_init_kwargs": model_init_kwargs(cfg) or None})
    return GRPOTrainer(
        model=ensure_model(cfg.model.name_or_path),
        reward_funcs=reward_funcs,
        args=args,
        train_dataset=train_dataset,
        processing_class=tokenizer,
        callbacks=callbacks,
    )
