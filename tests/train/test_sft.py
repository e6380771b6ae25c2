"""CPU SFT smoke on the tiny model through the real entry function: loss falls, checkpoints and an
offline W&B run are written, and a resumed run ends where an uninterrupted one does."""

from __future__ import annotations

import shutil

import pytest
import torch
from safetensors.torch import load_file

from kodcode.train.runner import run


@pytest.fixture(scope="module")
def smoke(tmp_path_factory, request):
    from hydra import compose, initialize_config_dir

    from kodcode import CONF_DIR

    run_dir = tmp_path_factory.mktemp("smoke_sft")
    with initialize_config_dir(str(CONF_DIR / "train"), version_base=None):
        cfg = compose("train", overrides=["+experiment=smoke_sft", f"run_dir={run_dir}"])
    return run(cfg), run_dir


def test_loss_falls_over_twenty_steps(smoke):
    result, _ = smoke
    losses = result.losses()
    assert result.global_step == 20 and len(losses) == 20
    assert sum(losses[-3:]) / 3 < 0.8 * sum(losses[:3]) / 3


def test_checkpoints_and_final_model_are_written(smoke):
    result, run_dir = smoke
    assert result.output_dir == run_dir / "checkpoints"
    assert sorted(p.name for p in result.output_dir.glob("checkpoint-*")) == ["checkpoint-10", "checkpoint-20"]
    from transformers import AutoModelForCausalLM, AutoTokenizer

    model = AutoModelForCausalLM.from_pretrained(result.final_dir)
    tok = AutoTokenizer.from_pretrained(result.final_dir)
    assert tok.eos_token == "<|im_end|>" and model.config.model_type == "qwen2"


def test_offline_wandb_run_is_written(smoke):
    result, run_dir = smoke
    assert result.wandb_dir is not None and result.wandb_dir.parent == run_dir / "wandb"
    assert result.wandb_dir.name.startswith("offline-run-")
    assert list(result.wandb_dir.glob("run-*.wandb"))


def test_resumed_run_matches_uninterrupted_run(smoke, compose_train, tmp_path):
    result, run_dir = smoke
    resumed_dir = tmp_path / "resumed"
    shutil.copytree(run_dir / "checkpoints" / "checkpoint-10", resumed_dir / "checkpoints" / "checkpoint-10")
    again = run(compose_train("+experiment=smoke_sft", f"run_dir={resumed_dir}", "wandb.mode=disabled"))
    assert again.resumed_from == str(resumed_dir / "checkpoints" / "checkpoint-10")
    a = load_file(result.final_dir / "model.safetensors")
    b = load_file(again.final_dir / "model.safetensors")
    assert a.keys() == b.keys()
    for k in a:
        torch.testing.assert_close(a[k], b[k], rtol=1e-4, atol=1e-5)


def test_document_respecting_packing_trains(compose_train, tmp_path):
    result = run(compose_train(
        "+experiment=smoke_sft", f"run_dir={tmp_path}", "attention=varlen", "trainer.packing=true",
        "trainer.packing_strategy=bfd", "trainer.max_steps=4", "trainer.save_steps=4", "wandb.mode=disabled",
    ))
    losses = result.losses()
    assert len(losses) == 4 and all(torch.isfinite(torch.tensor(losses)))
    assert losses[-1] < losses[0]


def test_wandb_run_is_named_and_tagged_from_the_experiment(smoke):
    from kodcode.tracking import read_offline_run

    result, run_dir = smoke
    recorded = read_offline_run(result.wandb_dir)
    assert recorded["id"] == (run_dir / "wandb_run_id").read_text().strip() == result.wandb_identity["id"]
    assert (recorded["name"], recorded["group"]) == ("smoke_sft", "smoke_sft")
    assert {"sft", "model:tiny", "data:kodcode_sft_r1", "peft:none"} <= set(recorded["tags"])
    config = recorded["config"]
    assert config["name"] == "smoke_sft" and config["trainer"]["kind"] == "sft"
    assert config["data"]["path"] == "builtin:smoke_sft" and config["launch_plan"]
    assert recorded["summary"]["data/train"] == result.data_counts["train"]


def test_a_new_run_dir_starts_a_new_wandb_run_and_the_same_one_continues_it(tmp_path):
    from kodcode.train.runner import wandb_run_id

    first = wandb_run_id(str(tmp_path / "a"))
    assert wandb_run_id(str(tmp_path / "a")) == first  # a requeued job: the same run
    assert wandb_run_id(str(tmp_path / "b")) != first  # same experiment name, new directory: a new run
