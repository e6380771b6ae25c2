"""W&B tracking: offline by default, names from config, a local run directory with config and metrics."""

import os

import pytest

from kodcode.config import ConfigError, validate
from kodcode.tracking import WandbConfig, init_run, log_scalars, log_table, run_dir


def test_offline_run_writes_a_run_dir_with_names_and_config(tmp_path, monkeypatch):
    monkeypatch.setenv("WANDB_MODE", "online")  # the config, not the shell, decides
    cfg = WandbConfig(dir=str(tmp_path), group="smoke", name="tiny-run", tags=["test"])
    run = init_run(cfg, config={"trainer": {"learning_rate": 1e-5}}, job_type="sft")
    try:
        assert os.environ["WANDB_MODE"] == "offline"
        assert (run.project, run.group, run.name, run.job_type) == ("kodcode", "smoke", "tiny-run", "sft")
        assert run.config["trainer"]["learning_rate"] == 1e-5
        log_scalars(run, {"loss": 1.5}, step=0)
        log_table(run, "samples", ["prompt", "reward"], [["p0", 1.0], ["p1", None]], step=1)
        path = run_dir(run)
    finally:
        run.finish()
    assert path.parent == tmp_path / "wandb"
    assert path.name.startswith("offline-run-")
    assert list(path.glob("run-*.wandb")), "the offline run file to `wandb sync` is missing"


def test_config_rejects_unknown_mode():
    with pytest.raises(ConfigError, match="mode=cloud: must be one of offline, online, disabled"):
        validate({"mode": "cloud"}, WandbConfig)


def test_shared_group_file_validates():
    from omegaconf import OmegaConf

    from kodcode import CONF_DIR

    cfg = validate(OmegaConf.load(CONF_DIR / "shared" / "wandb" / "default.yaml"), WandbConfig)
    assert cfg.mode == "offline"


def test_same_run_id_continues_one_run(tmp_path):
    cfg = WandbConfig(dir=str(tmp_path), name="resumable")
    ids = []
    for _ in range(2):  # a job, then its requeued self
        run = init_run(cfg, config={"step": len(ids)}, run_id="fixed0123456789a")
        ids.append(run.id)
        run.finish()
    assert ids == ["fixed0123456789a", "fixed0123456789a"]
