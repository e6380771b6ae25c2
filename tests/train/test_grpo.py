"""CPU GRPO smoke with the real execution-engine reward: a tiny model first taught the answer format by
SFT (so its samples contain code the sandbox runs), then a few GRPO steps through the entry function."""

from __future__ import annotations

import pytest
import torch
from safetensors.torch import load_file

from kodcode.train.runner import run


@pytest.fixture(scope="module")
def sft_then_grpo(smoke_warmup, tmp_path_factory):
    from hydra import compose, initialize_config_dir

    from kodcode import CONF_DIR

    tmp = tmp_path_factory.mktemp("grpo")
    with initialize_config_dir(str(CONF_DIR / "train"), version_base=None):
        grpo = run(compose("train", overrides=[
            "+experiment=smoke_grpo", f"run_dir={tmp}/grpo", f"model.name_or_path={smoke_warmup.final_dir}",
            "data.system_prompt=", "trainer.temperature=1.5", "samples.per_step=3",  # W&B offline
        ]))
    return smoke_warmup, grpo


def test_every_completion_is_scored_by_the_sandbox_or_none(sft_then_grpo):
    _, grpo = sft_then_grpo
    totals = grpo.reward_totals
    assert grpo.global_step == 3
    assert totals["completions"] == 3 * 8  # 3 steps x per_device_train_batch_size 8
    assert sum(v for k, v in totals.items() if k != "completions") == totals["completions"]
    assert totals["completions"] - totals.get("no_code", 0) > 0, "no completion reached the sandbox"
    assert totals.get("sandbox_error", 0) == 0


def test_reward_statistics_are_logged_each_step(sft_then_grpo):
    _, grpo = sft_then_grpo
    steps = [h for h in grpo.log_history if "rewards/unit_test/mean" in h]
    assert len(steps) == 3
    for h in steps:
        assert {"rewards/format/mean", "unit_test/sandbox_error_rate", "tripwire/early_exit"} <= h.keys()


def test_policy_weights_change(sft_then_grpo):
    sft, grpo = sft_then_grpo
    before = load_file(sft.final_dir / "model.safetensors")
    after = load_file(grpo.final_dir / "model.safetensors")
    assert before.keys() == after.keys()
    assert any(not torch.equal(before[k], after[k]) for k in before)


def test_sample_completions_table_has_rewards_and_verdicts(sft_then_grpo):
    import pandas as pd

    _, grpo = sft_then_grpo
    tables = sorted((grpo.output_dir / "completions").glob("completions_*.parquet"))
    assert len(tables) == 3
    df = pd.read_parquet(tables[0])
    assert len(df) == 8
    assert {"prompt", "completion", "unit_test", "format", "verdict", "tripwires", "advantage"} <= set(df.columns)
    assert set(df["verdict"]) <= {"pass", "fail", "error", "timeout", "no_code"}


def test_rows_are_prevalidated_before_the_first_step(sft_then_grpo):
    _, grpo = sft_then_grpo
    assert grpo.data_counts == {"rows_read": 6, "filtered": 0, "unsolvable": 0, "train": 6}


def test_a_few_sampled_completions_are_written_per_step(sft_then_grpo):
    import pandas as pd

    _, grpo = sft_then_grpo
    tables = sorted((grpo.output_dir / "samples").glob("samples_*.parquet"))
    assert [t.name for t in tables] == ["samples_00001.parquet", "samples_00002.parquet", "samples_00003.parquet"]
    df = pd.read_parquet(tables[-1])
    assert len(df) == 3  # samples.per_step of the step's 8 completions
    assert {"step", "prompt", "completion", "reward/unit_test", "reward/format", "advantage", "verdict"} <= set(df.columns)
    assert set(df["step"]) == {3}


def test_sampled_completions_reach_wandb_as_a_table(sft_then_grpo):
    from kodcode.tracking import read_offline_run

    _, grpo = sft_then_grpo
    recorded = read_offline_run(grpo.wandb_dir)
    assert recorded["summary"]["samples"]["_type"] == "table-file"
    assert recorded["summary"]["samples"]["nrows"] == 3
    assert recorded["summary"]["data/unsolvable"] == 0 and "grpo" in recorded["tags"]


def test_spread_picks_from_every_rank_share():
    from kodcode.train.samples import spread

    assert spread(8, 3) == [0, 2, 5]
    assert spread(4096, 4) == [0, 1024, 2048, 3072]  # one from each quarter (ranks are contiguous)
    assert spread(2, 5) == [0, 1]


def test_held_out_prompts_are_scored_every_eval_steps(sft_then_grpo, compose_train, tmp_path):
    sft, _ = sft_then_grpo
    result = run(compose_train(
        "+experiment=smoke_grpo", f"run_dir={tmp_path}", f"model.name_or_path={sft.final_dir}", "data.system_prompt=",
        "trainer.max_steps=2", "trainer.save_steps=2", "data.eval_size=2", "trainer.eval_strategy=steps",
        "trainer.eval_steps=2", "+trainer.per_device_eval_batch_size=8", "wandb.mode=disabled",
    ))
    evals = [h for h in result.log_history if "eval_rewards/unit_test/mean" in h]
    assert len(evals) == 1 and evals[0]["step"] == 2
    assert 0.0 <= evals[0]["eval_unit_test/pass_rate"] <= 1.0
    assert result.data_counts["eval"] == 2 and result.data_counts["train"] == 4
