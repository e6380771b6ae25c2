"""Shared fixtures for training tests: Hydra compose of conf/train and an isolated tiny-model cache."""

from __future__ import annotations

import pytest
from hydra import compose, initialize_config_dir

from kodcode import CONF_DIR


@pytest.fixture(scope="session", autouse=True)
def _kodcode_cache(tmp_path_factory):
    # One tiny-model build per test session, outside the user's ~/.cache.
    mp = pytest.MonkeyPatch()
    mp.setenv("KODCODE_CACHE", str(tmp_path_factory.mktemp("kodcode-cache")))
    mp.setenv("WANDB_SILENT", "true")
    yield
    mp.undo()


@pytest.fixture
def compose_train():
    """compose_train(*overrides) -> DictConfig, exactly as `python -m kodcode.train` composes it."""

    def _compose(*overrides: str):
        with initialize_config_dir(str(CONF_DIR / "train"), version_base=None):
            return compose("train", overrides=list(overrides))

    return _compose


@pytest.fixture(scope="session")
def smoke_warmup(tmp_path_factory):
    """Step 1 of the README's GRPO smoke: a short SFT on the smoke RL rows' reference answers, so that
    the policy's completions reach the sandbox (a random tiny model writes no code)."""
    from kodcode.train.runner import run

    tmp = tmp_path_factory.mktemp("warmup")
    with initialize_config_dir(str(CONF_DIR / "train"), version_base=None):
        return run(compose("train", overrides=[
            "+experiment=smoke_grpo_warmup", f"run_dir={tmp}/sft", "wandb.mode=disabled",
        ]))
