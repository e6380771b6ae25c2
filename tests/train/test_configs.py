"""Every training config and experiment composes, validates, and maps onto TRL's config classes."""

from __future__ import annotations

import pytest
from omegaconf import OmegaConf

from kodcode import CONF_DIR
from kodcode.config import ConfigError, validate
from kodcode.train.batch import plan_batch
from kodcode.train.config import TrainConfig, trl_config_class

EXPERIMENTS = sorted(p.stem for p in (CONF_DIR / "train" / "experiment").glob("*.yaml"))


def _validated(cfg) -> TrainConfig:
    return validate(OmegaConf.to_container(cfg, resolve=True), TrainConfig)


def test_expected_experiments_exist():
    assert {"smoke_sft", "smoke_grpo", "kodcode_32b_50k", "coder_r1_light10k"} <= set(EXPERIMENTS)
    assert len([e for e in EXPERIMENTS if e.startswith("kodcode_32b_10k_")]) == 3


@pytest.mark.parametrize("experiment", EXPERIMENTS)
def test_experiment_composes_validates_and_builds_trl_config(compose_train, experiment):
    tc = _validated(compose_train(f"+experiment={experiment}"))
    assert tc.name == experiment
    assert tc.trainer["output_dir"] == f"outputs/train/{experiment}/checkpoints"
    # use_cpu only so bf16 configs build on a CPU machine; every other field goes through unchanged.
    args = trl_config_class(tc.trainer["kind"])(**{**tc.trl_args(), "use_cpu": True})
    for key, value in tc.trl_args().items():
        assert getattr(args, key) == value or key in {"report_to", "lr_scheduler_type", "save_strategy", "model_init_kwargs"}


@pytest.mark.parametrize("trainer", ["sft", "grpo"])
def test_plain_trainer_choice_needs_a_data_path(compose_train, trainer):
    with pytest.raises(ConfigError, match="data.path=...: required and missing"):
        _validated(compose_train(f"trainer={trainer}"))
    tc = _validated(compose_train(f"trainer={trainer}", "data.path=some/export"))
    assert tc.data.format == {"sft": "synth_sft", "grpo": "synth_rl"}[trainer]


def test_paper_settings_of_kodcode_32b_50k(compose_train):
    tc = _validated(compose_train("+experiment=kodcode_32b_50k"))
    t = tc.trainer
    assert tc.model.name_or_path == "Qwen/Qwen2.5-Coder-32B-Instruct"
    assert (t["learning_rate"], t["lr_scheduler_type"], t["warmup_steps"], t["num_train_epochs"]) == (
        1e-5, "cosine", 100, 2)
    assert t["max_length"] == 16384 and t["assistant_only_loss"] is True
    assert plan_batch(t, 32).line() == "global batch: 128 = 1 x 4 x 32"  # Table 4: 1 x 4 x 32 GPUs
    assert tc.data.max_rows == 50000 and tc.data.filters.drop_class_solutions


def test_code_r1_recipe(compose_train):
    tc = _validated(compose_train("+experiment=coder_r1_light10k"))
    assert tc.data.path == "KodCode/KodCode-Light-RL-10K"
    assert (tc.trainer["num_generations"], tc.trainer["beta"]) == (16, 0.001)
    assert tc.trainer["reward_weights"] == [1.0, 0.1] and tc.reward.funcs == ["unit_test", "format"]


def test_all_problems_reported_at_once_with_suggestions(compose_train):
    cfg = compose_train("+experiment=smoke_sft", "+trainer.learning_rat=1e-4", "data.format=oops",
                        "exec.timeout_s=-1")
    with pytest.raises(ConfigError) as err:
        _validated(cfg)
    text = str(err.value)
    assert "trainer.learning_rat=0.0001: not a field of trl.SFTConfig; did you mean trainer.learning_rate?" in text
    assert "data.format=oops: must be one of" in text
    assert "exec.timeout_s=-1: must be > 0" in text
    assert len(err.value.problems) == 3


def test_sft_on_rl_data_is_rejected(compose_train):
    with pytest.raises(ConfigError, match="trainer.kind=sft needs conversations"):
        _validated(compose_train("+experiment=smoke_sft", "data=kodcode_light_rl_10k"))


def test_reward_weights_must_match_reward_funcs(compose_train):
    with pytest.raises(ConfigError, match="reward_weights has 2 entries but reward.funcs has 1"):
        _validated(compose_train("+experiment=smoke_grpo", "reward.funcs=[unit_test]"))
