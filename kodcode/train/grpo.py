"""GRPO with a unit-test reward, on TRL's GRPOTrainer; ``trainer.*`` maps 1:1 onto ``trl.GRPOConfig``.

    python -m kodcode.train trainer=grpo +experiment=smoke_grpo            # CPU, tiny model
    python -m kodcode.train +experiment=coder_rl_light10k                  # Code-R1-style recipe

Generation uses vLLM when ``trainer.use_vllm=true``: ``trainer.vllm_mode=colocate`` shares the
training GPUs, ``server`` talks to ``trl vllm-serve`` (slurm/train.sh starts it on a reserved node
and sets ``trainer.vllm_server_host``). Rewards come from ``kodcode.train.rewards``. Before the
first step the rows are prevalidated (``kodcode.train.prevalidate``, ``data.prevalidate``); the
held-out rows (``data.eval_size`` / ``data.eval_split``) are scored by the same rewards every
``trainer.eval_steps`` (``eval_rewards/unit_test/mean``, ``eval_unit_test/pass_rate``);
``samples.per_step`` completions per step are written by ``kodcode.train.samples``.
"""

from __future__ import annotations

from kodcode.llm.tiny import ensure_model
from kodcode.train.config import TrainConfig
from kodcode.train.sft import load_tokenizer, model_init_kwargs, peft_config


def _reward_backend(reward_funcs):
    scorer = next((f.scorer for f in reward_funcs if getattr(f, "scorer", None) is not None), None)
    return scorer.backend if scorer is not None else None


def build_grpo_trainer(cfg: TrainConfig, train_dataset=None, reward_funcs=None, callbacks=None):
    """A ``GRPOTrainer`` for ``cfg``; reads (and prevalidates) ``cfg.data`` and builds the rewards
    unless given. ``trainer.data_counts`` says how many rows were read, dropped and kept."""
    from trl import GRPOConfig, GRPOTrainer

    from kodcode.train.data import load_splits
    from kodcode.train.prevalidate import Prevalidator
    from kodcode.train.rewards import ExecBackend, build_reward_funcs
    from kodcode.train.samples import SampleLogger

    tokenizer = load_tokenizer(cfg)
    # Built first: it sets up the process group that prevalidation shares its verdicts over.
    args = GRPOConfig(**{**cfg.trl_args(), "model_init_kwargs": model_init_kwargs(cfg) or None})
    if reward_funcs is None:
        reward_funcs = build_reward_funcs(cfg.reward, cfg.exec)
    eval_dataset, counts = None, {}
    if train_dataset is None:
        check, own_backend = None, None
        if cfg.data.prevalidate:
            backend = _reward_backend(reward_funcs)
            if backend is None:  # no unit_test reward: a backend of its own, closed after the check
                backend = own_backend = ExecBackend(cfg.exec, cfg.reward.exec_socket)
            check = Prevalidator(cfg.exec, backend, cfg.reward.max_sandbox_error_rate)
        try:
            splits = load_splits(cfg.data, kind="grpo", tokenizer=tokenizer, check_rows=check)
        finally:
            if own_backend is not None:
                own_backend.close()
        train_dataset, eval_dataset, counts = splits.train, splits.eval, splits.counts
    samples = SampleLogger(cfg.samples)
    trainer = GRPOTrainer(
        model=ensure_model(cfg.model.name_or_path),
        reward_funcs=reward_funcs,
        args=args,
        train_dataset=train_dataset,
        eval_dataset=eval_dataset,
        processing_class=tokenizer,
        callbacks=[*(callbacks or []), samples],
        peft_config=peft_config(cfg),
    )
    samples.trainer = trainer
    trainer.data_counts = counts
    return trainer
