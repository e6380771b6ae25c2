"""peft=lora on both trainers: only the adapters train, the base stays as loaded; final/ is the merged model
(peft.merge_on_save) that eval loads, or the adapters alone, which the hf backend loads onto their base."""

from __future__ import annotations

import json

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


def _logits(model, ids):
    with torch.no_grad():
        return model(input_ids=ids).logits


IDS = torch.tensor([[5, 17, 42, 7, 99, 3]])


@pytest.fixture(scope="module")
def lora_runs(tmp_path_factory):
    """Two short peft=lora SFT runs of the tiny model: merged on save (the default) and not."""
    from hydra import compose, initialize_config_dir

    from kodcode import CONF_DIR

    out = {}
    for merge in (True, False):
        tmp = tmp_path_factory.mktemp(f"lora-merge-{merge}")
        with initialize_config_dir(str(CONF_DIR / "train"), version_base=None):
            out[merge] = run(compose("train", overrides=[
                "+experiment=smoke_sft", f"run_dir={tmp}", "peft=lora", f"peft.merge_on_save={merge}",
                "trainer.max_steps=2", "trainer.save_steps=2", "wandb.mode=disabled"]))
    return out


def test_lora_final_is_the_base_with_the_adapters_merged_in(lora_runs):
    from peft import AutoPeftModelForCausalLM
    from transformers import AutoModelForCausalLM

    from kodcode.llm.tiny import ensure_model

    result = lora_runs[True]
    final, adapters = result.final_dir, result.output_dir / "final_adapter"
    assert {"config.json", "model.safetensors", "tokenizer.json"} <= {p.name for p in final.iterdir()}
    assert not (final / "adapter_config.json").exists()
    assert {"adapter_config.json", "adapter_model.safetensors"} <= {p.name for p in adapters.iterdir()}
    merged = _logits(AutoModelForCausalLM.from_pretrained(final), IDS)
    with_adapters = _logits(AutoPeftModelForCausalLM.from_pretrained(adapters), IDS)
    base = _logits(AutoModelForCausalLM.from_pretrained(ensure_model("tiny")), IDS)
    assert torch.allclose(merged, with_adapters, atol=1e-4)
    assert not torch.allclose(merged, base, atol=1e-4), "the merged model is the untouched base"


def test_eval_scores_a_merged_lora_checkpoint(lora_runs, tmp_path):
    from hydra import compose, initialize_config_dir

    from kodcode import CONF_DIR
    from kodcode.eval.runner import run as evaluate

    final = lora_runs[True].final_dir
    with initialize_config_dir(str(CONF_DIR / "eval"), version_base=None):
        cfg = compose("eval", overrides=[
            f"out_dir={tmp_path}", f"model.name_or_path={final}", "benchmark=[humaneval]", "fixtures=true",
            "generation.max_tokens=16", "llm.batch_size=4", "llm.progress=false", "exec.workers=2",
            "wandb.mode=disabled", f"benchmark.humaneval.cache_dir={tmp_path}/evalplus"])
    evaluate(cfg)
    scores = json.loads((tmp_path / "scores.json").read_text())
    assert scores["model"] == str(final)
    assert set(scores["scores"]) == {"humaneval/base", "humaneval/plus"}
    assert all(0.0 <= v <= 100.0 for v in scores["scores"].values())
    results = (tmp_path / "humaneval" / "results.jsonl").read_text().splitlines()
    assert len(results) == scores["counts"]["humaneval"]["tasks"] == 3


def test_without_merge_final_holds_adapters_that_the_hf_backend_loads_onto_their_base(lora_runs, tmp_path):
    from peft import AutoPeftModelForCausalLM

    from kodcode.llm import build_llm

    final = lora_runs[False].final_dir
    saved = {p.name for p in final.iterdir()}
    assert {"adapter_config.json", "adapter_model.safetensors"} <= saved and "model.safetensors" not in saved
    assert not (lora_runs[False].output_dir / "final_adapter").exists()
    reference = AutoPeftModelForCausalLM.from_pretrained(final)
    assert reference.peft_config["default"].r == 16
    with build_llm(llm={"backend": "hf", "progress": False}, model={"name_or_path": str(final)},
                   cache_dir=tmp_path) as llm:
        assert torch.allclose(_logits(llm.model, IDS), _logits(reference, IDS), atol=1e-4)


def test_the_vllm_engine_refuses_an_adapter_directory_and_names_the_fix(lora_runs, tmp_path):
    from kodcode.llm import build_llm
    from kodcode.llm.base import LLMError

    final = lora_runs[False].final_dir
    with pytest.raises(LLMError, match="LoRA adapters only.*peft.merge_on_save=true.*kodcode.train.merge"):
        build_llm(llm={"backend": "vllm"}, model={"name_or_path": str(final)}, cache_dir=tmp_path)


def test_merge_cli_writes_the_same_model_as_merge_on_save(lora_runs, tmp_path):
    from transformers import AutoModelForCausalLM

    from kodcode.train.merge import main

    main([str(lora_runs[True].output_dir / "final_adapter"), str(tmp_path / "merged")])
    again = _logits(AutoModelForCausalLM.from_pretrained(tmp_path / "merged"), IDS)
    saved = _logits(AutoModelForCausalLM.from_pretrained(lora_runs[True].final_dir), IDS)
    assert torch.equal(again, saved)


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
