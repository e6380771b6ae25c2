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

from kodcode.llm.tiny import ensure_model
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
    if cfg.peft.method == "qlora":
        kwargs.setdefault("quantization_config", qlora_quantization(kwargs["dtype"]))
    return kwargs


def qlora_quantization(dtype: str):
    """The 4-bit NF4 base of QLoRA (Dettmers et al. 2023: NF4, double quantization, compute in ``dtype``)."""
    import importlib.util

    import torch

    if importlib.util.find_spec("bitsandbytes") is None or not torch.cuda.is_available():
        raise RuntimeError(
            "peft=qlora loads the base model in 4-bit with bitsandbytes, which needs a CUDA GPU and "
            f"`pip install bitsandbytes` (bitsandbytes installed: {importlib.util.find_spec('bitsandbytes') is not None}, "
            f"CUDA: {torch.cuda.is_available()}); use peft=lora here"
        )
    from transformers import BitsAndBytesConfig

    return BitsAndBytesConfig(load_in_4bit=True, bnb_4bit_quant_type="nf4", bnb_4bit_use_double_quant=True,
                              bnb_4bit_compute_dtype=getattr(torch, dtype))


def peft_config(cfg: TrainConfig):
    """A ``peft.LoraConfig`` for ``peft=lora`` / ``peft=qlora`` (TRL wraps the model in it), else None."""
    if cfg.peft.method == "none":
        return None
    from peft import LoraConfig

    targets = cfg.peft.target_modules
    return LoraConfig(r=cfg.peft.r, lora_alpha=cfg.peft.lora_alpha, lora_dropout=cfg.peft.lora_dropout,
                      target_modules=targets if isinstance(targets, str) else list(targets), task_type="CAUSAL_LM")


def init_kwargs_attention(cfg: TrainConfig) -> str:
    return model_init_kwargs(cfg)["attn_implementation"]


def load_tokenizer(cfg: TrainConfig):
    from transformers import AutoTokenizer

    source = ensure_model(cfg.model.tokenizer or cfg.model.name_or_path)
    return AutoTokenizer.from_pretrained(
        source, revision=cfg.model.revision, trust_remote_code=cfg.model.trust_remote_code
    )


def build_sft_trainer(cfg: TrainConfig, train_dataset=None, tokenizer=None, callbacks=None, model=None):
    """An ``SFTTrainer`` for ``cfg``; reads ``cfg.data`` (training and held-out rows) unless
    ``train_dataset`` is given, loads ``cfg.model`` unless a ``model`` instance is given (loaded with
    ``model_init_kwargs(cfg)``). ``trainer.data_counts`` says what the data filters dropped."""
    from trl import SFTConfig, SFTTrainer

    from kodcode.train.data import load_splits

    tokenizer = tokenizer or load_tokenizer(cfg)
    eval_dataset, counts = None, {}
    if train_dataset is None:
        max_length = cfg.trainer.get("max_length", SFTConfig.max_length)
        splits = load_splits(cfg.data, kind="sft", tokenizer=tokenizer, max_length=max_length)
        train_dataset, eval_dataset, counts = splits.train, splits.eval, splits.counts
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
        eval_dataset=eval_dataset,
        processing_class=tokenizer,
        callbacks=callbacks,
        peft_config=peft_config(cfg),
    )
    trainer.data_counts = counts
    if len(trainer.train_dataset) == 0:
        raise ValueError(
            f"no training sequences left after tokenization ({len(train_dataset)} rows in): TRL drops rows whose "
            f"response falls entirely beyond trainer.max_length={args.max_length} (system prompt + question "
            "fill it); raise trainer.max_length or shorten data.system_prompt"
        )
    return trainer
