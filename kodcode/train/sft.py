"""Supervised fine-tuning with TRL's SFTTrainer; ``trainer.*`` maps 1:1 onto ``trl.SFTConfig``.

Run through the entry point (``python -m kodcode.train trainer=sft +experiment=smoke_sft``) or build
the trainer directly (the throughput bench does, on its own token data):

    trainer = build_sft_trainer(cfg, train_dataset=ds)
    trainer.train()

``attention: varlen`` swaps in document-respecting packed attention (``kodcode.train.attention``),
which needs padding-free batches (``packing: true, packing_strategy: bfd``).
"""

from __future__ import annotations

from typing import Any

from kodcode.tiny import ensure_model
from kodcode.train.config import TrainConfig


def weights_dtype(cfg: TrainConfig, cuda: bool | None = None) -> str:
    """``model.dtype`` resolved: auto is bfloat16 on GPUs that support it and float32 on CPU
    (``cuda=True``: the launch's GPUs, assumed bf16-capable as A100/H100 are; None: this machine)."""
    if cfg.model.dtype != "auto":
        return cfg.model.dtype
    if cfg.trainer.get("use_cpu"):
        return "float32"
    if cuda is None:
        import torch

        cuda = torch.cuda.is_available() and torch.cuda.is_bf16_supported()
    return "bfloat16" if cuda else "float32"


def model_init_kwargs(cfg: TrainConfig) -> dict[str, Any]:
    """``trainer.model_init_kwargs`` plus what the rest of the config implies (revision, dtype, attention)."""
    kwargs = dict(cfg.trainer.get("model_init_kwargs") or {})
    # TRL loads in float32 unless told otherwise: twice the memory of bf16 weights.
    kwargs.setdefault("dtype", weights_dtype(cfg))
    if cfg.model.revision:
        kwargs.setdefault("revision", cfg.model.revision)
    if cfg.model.trust_remote_code:
        kwargs.setdefault("trust_remote_code", True)
    if cfg.attention == "varlen":
        from kodcode.train.attention import register_varlen_attention

        kwargs["attn_implementation"] = register_varlen_attention()
    elif cfg.attention:
        kwargs["attn_implementation"] = cfg.attention
    return kwargs


def init_kwargs_attention(cfg: TrainConfig) -> str:
    return model_init_kwargs(cfg)["attn_implementation"]


def load_tokenizer(cfg: TrainConfig):
    from transformers import AutoTokenizer

    source = ensure_model(cfg.model.tokenizer or cfg.model.name_or_path)
    return AutoTokenizer.from_pretrained(
        source, revision=cfg.model.revision, trust_remote_code=cfg.model.trust_remote_code
    )


def build_sft_trainer(cfg: TrainConfig, train_dataset=None, tokenizer=None, callbacks=None, model=None):
    """An ``SFTTrainer`` for ``cfg``; reads ``cfg.data`` unless ``train_dataset`` is given, loads
    ``cfg.model`` unless a ``model`` instance is given (loaded with ``model_init_kwargs(cfg)``)."""
    from trl import SFTConfig, SFTTrainer

    from kodcode.train.data import load_dataset_for

    tokenizer = tokenizer or load_tokenizer(cfg)
    if train_dataset is None:
        train_dataset = load_dataset_for(cfg.data, kind="sft", tokenizer=tokenizer)
    init_kwargs = model_init_kwargs(cfg)
    if model is not None:
        init_kwargs = {}  # TRL refuses model_init_kwargs next to an instantiated model
        if cfg.attention == "varlen":
            model.set_attn_implementation(init_kwargs_attention(cfg))
    args = SFTConfig(**{**cfg.trl_args(), "model_init_kwargs": init_kwargs or None})
    trainer = SFTTrainer(
        model=model if model is not None else ensure_model(cfg.model.name_or_path),
        args=args,
        train_dataset=train_dataset,
        processing_class=tokenizer,
        callbacks=callbacks,
    )
    if len(trainer.train_dataset) == 0:
        raise ValueError(
            f"no training sequences left after tokenization ({len(train_dataset)} rows in): TRL drops rows whose "
            f"response falls entirely beyond trainer.max_length={args.max_length} (system prompt + question "
            "fill it); raise trainer.max_length or shorten data.system_prompt"
        )
    return trainer
