"""peft=lora on both trainers: only the adapters train, the base stays as loaded, adapters are saved."""

from __future__ import annotations

import pytest
import torch
from omegaconf import OmegaConf

from kodcode.config import ConfigError, validate
from kodcode.train.config import TrainConfig
from kodcode.train.runner import run


def _tc(compose_train, *overrides) -> TrainConfig:
    cfg = OmegaConf.to_container(compose_train(*overrides), resolve=True)
    cfg.pop("hydra", None)
    return validate(cfg, TrainConfig)


def _split(model):
    trainable = {n: p.detach().clone() for n, p in model.named_parameters() if p.requires_grad}
    frozen = {n: p.detach().clone() for n, p in model.named_parameters() if not p.requires_grad}
    return trainable, frozen


def _assert_only_adapters_trained(model, before_trainable, before_frozen):
    assert before_trainable and all("lora_" in n for n in before_trainable)
    after = dict(model.named_parameters())
    assert any(not torch.equal(after[n], p) for n, p in before_trainable.items()), "no adapter weight moved"
    for n, p in before_frozen.items():
        assert torch.equal(after[n], p), f"frozen weight {n} changed"


def test_lora_sft_trains_only_the_adapters_and_saves_them(compose_train, tmp_path):
    from kodcode.train.sft import build_sft_trainer

    tc = _tc(compose_train, "+experiment=smoke_sft", f"run_dir={tmp_path}", "peft=lora", "trainer.max_steps=3",
             "trainer.save_steps=3", "trainer.report_to=[]")
    trainer = build_sft_trainer(tc)
    trainable, frozen = _split(trainer.model)
    assert any("embed_tokens" in n for n in frozen) and any("lora_A" in n for n in trainable)
    trainer.train()
    _assert_only_adapters_trained(trainer.model, trainable, frozen)


def test_lora_run_saves_adapters_not_full_weights(compose_train, tmp_path):
    result = run(compose_train("+experiment=smoke_sft", f"run_dir={tmp_path}", "peft=lora", "trainer.max_steps=2",
                               "trainer.save_steps=2", "wandb.mode=disabled"))
    saved = {p.name for p in result.final_dir.iterdir()}
    assert {"adapter_config.json", "adapter_model.safetensors"} <= saved and "model.safetensors" not in saved
    from peft import AutoPeftModelForCausalLM

    model = AutoPeftModelForCausalLM.from_pretrained(result.final_dir)
    assert model.peft_config["default"].r == 16


def distinct_characters(completions, **_):
    """A reward with a spread among a random model's samples, so the advantages are not all zero."""
    from kodcode.train.rewards import completion_text

    return [float(len(set(completion_text(c)))) for c in completions]


def test_lora_grpo_trains_only_the_adapters(compose_train, tmp_path):
    from kodcode.train.grpo import build_grpo_trainer

    tc = _tc(compose_train, "+experiment=smoke_grpo", f"run_dir={tmp_path}", "model.name_or_path=tiny", "peft=lora",
             "trainer.max_steps=1", "trainer.max_completion_length=16", "trainer.report_to=[]",
             "trainer.log_completions=false", "data.prevalidate=false", "reward.funcs=[format]",
             "trainer.reward_weights=[1.0]", "trainer.learning_rate=0.05")
    trainer = build_grpo_trainer(tc, reward_funcs=[distinct_characters])
    trainable, frozen = _split(trainer.model)
    trainer.train()
    _assert_only_adapters_trained(trainer.model, trainable, frozen)


def test_lora_memory_estimate_keeps_optimizer_states_for_adapters_only(compose_train):
    from kodcode.train.batch import plan_batch
    from kodcode.train.memory import estimate_memory

    full = _tc(compose_train, "+experiment=kodcode_32b_50k")
    lora = _tc(compose_train, "+experiment=kodcode_32b_50k", "peft=lora")
    est_full = estimate_memory(full, plan_batch(full.trainer, 8), "ddp", 80)
    est_lora = estimate_memory(lora, plan_batch(lora.trainer, 8), "ddp", 80)
    assert est_lora.parts["optimizer"] < 0.02 * est_full.parts["optimizer"]
    assert est_lora.parts["weights"] == pytest.approx(est_full.parts["weights"], rel=0.02)  # bf16 base + adapters


def test_unknown_peft_method_is_refused(compose_train):
    with pytest.raises(ConfigError, match="peft.method=dora: must be one of none, lora, qlora"):
        _tc(compose_train, "+experiment=smoke_sft", "peft.method=dora")
