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
            "data.system_prompt=", "trainer.temperature=1.5", "wandb.mode=disabled",
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
