"""Held-out evaluation and the whole-conversation length filter: the rows a run trains and evaluates on."""

from __future__ import annotations

import json

import pytest

from kodcode.config import validate
from kodcode.train.config import DataConfig, SftFilters, TrainConfig
from kodcode.train.data import FIXTURES, conversation_tokens, load_splits
from kodcode.train.runner import run

# The shipped experiments' eval settings, on the tiny model and the built-in rows, on one CPU process.
CPU_SFT = ["model=tiny", "data.path=builtin:smoke_sft", "data.eval_size=2", "data.max_rows=null",
           "data.filters.max_response_tokens=400", "data.filters.min_response_chars=10", "trainer.max_length=1024",
           "trainer.bf16=false", "+trainer.use_cpu=true", "trainer.gradient_checkpointing=false",
           "trainer.use_liger_kernel=false", "trainer.global_batch_size=null", "trainer.report_to=[]"]


def _tokenizer():
    from transformers import AutoTokenizer

    from kodcode.llm.tiny import ensure_model

    return AutoTokenizer.from_pretrained(ensure_model("tiny"))


def _texts(ds) -> list[str]:
    return [json.dumps(m) for m in ds["messages"]]


def test_sft_run_logs_eval_loss_every_eval_steps(compose_train, tmp_path):
    result = run(compose_train(
        "+experiment=smoke_sft", f"run_dir={tmp_path}", "data.eval_size=2", "trainer.eval_strategy=steps",
        "trainer.eval_steps=2", "trainer.max_steps=4", "trainer.save_steps=4", "wandb.mode=disabled",
    ))
    evals = [h for h in result.log_history if "eval_loss" in h]
    assert [h["step"] for h in evals] == [2, 4]
    assert all(h["eval_loss"] > 0 for h in evals)
    assert result.data_counts == {"rows_read": 8, "filtered": 2, "too_long": 0, "train": 4, "eval": 2}


def test_held_out_rows_are_seeded_and_disjoint_from_training():
    tok = _tokenizer()
    cfg = DataConfig(format="kodcode_sft_r1", path="builtin:smoke_sft", eval_size=2, seed=3)
    a, b = load_splits(cfg, "sft", tok), load_splits(cfg, "sft", tok)
    assert _texts(a.eval) == _texts(b.eval) and _texts(a.train) == _texts(b.train)
    assert not set(_texts(a.eval)) & set(_texts(a.train))
    other = load_splits(DataConfig(format="kodcode_sft_r1", path="builtin:smoke_sft", eval_size=2, seed=4), "sft", tok)
    assert sorted(_texts(a.eval) + _texts(a.train)) == sorted(_texts(other.eval) + _texts(other.train))


def test_max_rows_applies_to_training_rows_after_the_held_out_set():
    cfg = DataConfig(format="kodcode_rl", path="builtin:smoke_rl", eval_size=2, max_rows=3)
    splits = load_splits(cfg, "grpo")
    assert (len(splits.train), len(splits.eval)) == (3, 2)
    assert not set(splits.train["question_id"]) & set(splits.eval["question_id"])


def test_a_held_out_file_is_read_as_the_eval_split():
    cfg = DataConfig(format="kodcode_rl", path="builtin:smoke_rl", eval_split=str(FIXTURES / "smoke_rl.jsonl"))
    splits = load_splits(cfg, "grpo")
    assert len(splits.train) == 6 and len(splits.eval) == 6


def test_a_split_name_on_a_single_file_is_refused():
    with pytest.raises(ValueError, match="single file with one split"):
        load_splits(DataConfig(format="kodcode_rl", path="builtin:smoke_rl", eval_split="test"), "grpo")


def test_eval_size_leaving_no_training_rows_is_refused():
    with pytest.raises(ValueError, match="leaves no training rows"):
        load_splits(DataConfig(format="kodcode_rl", path="builtin:smoke_rl", eval_size=6), "grpo")


def test_whole_conversation_length_filter_counts_every_turn():
    tok = _tokenizer()
    cfg = DataConfig(format="kodcode_sft_r1", path="builtin:smoke_sft", filters=SftFilters(require_correct=False))
    full = load_splits(cfg, "sft", tok)
    lengths = sorted(conversation_tokens(m, tok) for m in full.train["messages"])
    # The system prompt alone is most of each conversation: a limit the responses all fit under
    # still drops the rows whose whole rendering is longer.
    cut = lengths[len(lengths) // 2]
    kept = load_splits(cfg, "sft", tok, max_length=cut)
    assert kept.counts["too_long"] == sum(n > cut for n in lengths) > 0
    assert len(kept.train) == sum(n <= cut for n in lengths)
    assert all(conversation_tokens(m, tok) <= cut for m in kept.train["messages"])


def test_sft_trainer_drops_conversations_longer_than_max_length(compose_train):
    from kodcode.train.sft import build_sft_trainer

    tc = validate(_resolved(compose_train("+experiment=smoke_sft", "trainer.max_length=760")), TrainConfig)
    trainer = build_sft_trainer(tc)
    counts = trainer.data_counts
    assert counts["too_long"] > 0 and counts["train"] == counts["rows_read"] - counts["filtered"] - counts["too_long"]
    assert len(trainer.train_dataset) == counts["train"]
    assert all(len(ids) <= 760 for ids in trainer.train_dataset["input_ids"])


def _resolved(cfg):
    from omegaconf import OmegaConf

    out = OmegaConf.to_container(cfg, resolve=True)
    out.pop("hydra", None)
    return out


def test_paper_sft_experiment_builds_and_evaluates_its_held_out_rows(compose_train, tmp_path):
    from kodcode.train.sft import build_sft_trainer

    tc = validate(_resolved(compose_train("+experiment=kodcode_32b_50k", f"run_dir={tmp_path}", *CPU_SFT)), TrainConfig)
    assert (tc.trainer["eval_strategy"], tc.trainer["eval_steps"]) == ("steps", 100)  # as shipped
    trainer = build_sft_trainer(tc)
    assert len(trainer.eval_dataset) == 2
    metrics = trainer.evaluate()
    assert metrics["eval_loss"] > 0


def test_code_r1_experiment_builds_and_scores_its_held_out_prompts(compose_train, tmp_path):
    from kodcode.train.grpo import build_grpo_trainer

    tc = validate(_resolved(compose_train(
        "+experiment=coder_r1_light10k", f"run_dir={tmp_path}", "model.name_or_path=tiny",
        "data.path=builtin:smoke_rl", "data.eval_size=2", "trainer.use_vllm=false", "trainer.bf16=false",
        "+trainer.use_cpu=true", "trainer.gradient_checkpointing=false", "trainer.max_completion_length=16",
        "trainer.report_to=[]", "exec.workers=2",
    )), TrainConfig)
    assert (tc.trainer["eval_steps"], tc.trainer["num_generations_eval"]) == (16, 1)  # as shipped
    trainer = build_grpo_trainer(tc)
    try:
        assert trainer.data_counts == {"rows_read": 6, "filtered": 0, "unsolvable": 0, "eval_unsolvable": 0,
                                       "train": 4, "eval": 2}
        metrics = trainer.evaluate()
    finally:
        trainer.reward_funcs[0].scorer.backend.close()
    assert {"eval_rewards/unit_test/mean", "eval_rewards/format/mean", "eval_unit_test/pass_rate"} <= metrics.keys()
