"""A sandbox outage never reaches the gradient as a failure: real GRPOTrainer steps of the warmed-up tiny
model against an exec server that has lost one of its two workers and cannot start it again (its
interpreter is gone), so the jobs that land on that slot end in ``sandbox_error`` and the others are
judged. Every shipped combination of reward functions, weights and partial credit (conf/train:
train.yaml, trainer/grpo.yaml, experiment/coder_r1_light10k.yaml and smoke_grpo.yaml all ship
``[unit_test, format]`` with weights ``[1.0, 0.1]`` and no partial credit) and the variants a user can
switch to are run; what TRL saw is read back from its own completions table and logs."""

from __future__ import annotations

import math
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from kodcode.train.runner import run


def _children(pid: int) -> list[int]:
    out = []
    for task in Path(f"/proc/{pid}/task").iterdir():
        out += [int(c) for c in (task / "children").read_text().split()]
    return out


@pytest.fixture(scope="module")
def failing_server(tmp_path_factory):
    """`kodcode.exec serve` with two workers, one of them killed after its interpreter went away."""
    tmp = tmp_path_factory.mktemp("outage")
    gone = tmp / "interpreter-gone"
    python = tmp / "python"
    # The interpreter the workers start with; once `gone` exists it no longer starts (a venv on a
    # file system that went away). The pause keeps the dead slot from taking every job.
    python.write_text(f'#!/bin/sh\nif [ -e "{gone}" ]; then sleep 0.3; exit 1; fi\nexec "{sys.executable}" "$@"\n')
    python.chmod(0o755)
    socket = str(tmp / "exec.sock")
    server = subprocess.Popen([sys.executable, "-m", "kodcode.exec", "serve", "--socket", socket, "--workers", "2",
                               "--timeout", "3", "--python", str(python)])
    try:
        deadline = time.monotonic() + 120
        while not os.path.exists(socket):
            assert server.poll() is None and time.monotonic() < deadline, "the exec server did not start"
            time.sleep(0.2)
        workers = _children(server.pid)
        assert len(workers) == 2
        gone.touch()
        os.kill(workers[0], signal.SIGKILL)
        yield socket
    finally:
        server.terminate()
        server.wait(timeout=30)


COMBINATIONS = {
    "shipped": [],
    "partial_credit": ["reward.partial_credit=true"],
    "format_first_normalize_then_sum": ["reward.funcs=[format,unit_test]", "trainer.reward_weights=[0.1,1.0]",
                                        "+trainer.multi_objective_aggregation=normalize_then_sum"],
    "unit_test_only_batch_scale": ["reward.funcs=[unit_test]", "trainer.reward_weights=[1.0]",
                                   "trainer.scale_rewards=batch", "reward.partial_credit=true"],
}


@pytest.fixture(scope="module", params=list(COMBINATIONS))
def outage_run(request, smoke_warmup, failing_server, tmp_path_factory):
    from hydra import compose, initialize_config_dir

    from kodcode import CONF_DIR

    tmp = tmp_path_factory.mktemp(request.param)
    with initialize_config_dir(str(CONF_DIR / "train"), version_base=None):
        cfg = compose("train", overrides=[
            "+experiment=smoke_grpo", f"run_dir={tmp}", f"model.name_or_path={smoke_warmup.final_dir}",
            "data.system_prompt=", "trainer.temperature=1.5", "wandb.mode=disabled", "trainer.max_steps=2",
            f"reward.exec_socket={failing_server}",
            "reward.max_sandbox_error_rate=1.0",  # a share this large would abort a real run
            *COMBINATIONS[request.param],
        ])
    result = run(cfg)
    tables = sorted((result.output_dir / "completions").glob("completions_*.parquet"))
    return cfg, result, pd.concat([pd.read_parquet(t) for t in tables], ignore_index=True)


def _nanstd(x: np.ndarray) -> float:
    x = x[~np.isnan(x)]
    return float(np.std(x, ddof=1)) if len(x) > 1 else math.nan


def _expected_advantages(step: pd.DataFrame, funcs: list[str], weights: list[float], cfg) -> np.ndarray:
    """GRPO's advantages computed from the judged completions alone: outages are not in any baseline."""
    per_func = step[funcs].to_numpy(dtype=float)
    outage = np.isnan(per_func).all(axis=1)
    g = cfg.trainer.num_generations
    if cfg.trainer.get("multi_objective_aggregation", "sum_then_normalize") == "normalize_then_sum":
        normed = np.full_like(per_func, np.nan)
        for start in range(0, len(step), g):
            block = per_func[start:start + g]
            mean, std = np.nanmean(block, axis=0), np.array([_nanstd(c) for c in block.T])
            normed[start:start + g] = (block - mean) / (std + 1e-4)
        rewards = np.nansum(normed * weights, axis=1)
        rewards[outage] = np.nan
        adv = (rewards - np.nanmean(rewards)) / (_nanstd(rewards) + 1e-4)
    else:
        rewards = np.nansum(per_func * weights, axis=1)
        rewards[outage] = np.nan
        adv = np.full(len(step), np.nan)
        for start in range(0, len(step), g):
            block = rewards[start:start + g]
            std = _nanstd(rewards) if cfg.trainer.scale_rewards == "batch" else _nanstd(block)
            adv[start:start + g] = (block - np.nanmean(block)) / (std + 1e-4)
    return np.nan_to_num(adv, nan=0.0)


def test_some_jobs_hit_the_outage_and_some_are_judged(outage_run):
    _, result, df = outage_run
    assert result.global_step == 2 and len(df) == 16
    assert result.reward_totals.get("sandbox_error", 0) > 0
    assert (df["verdict"] == "sandbox_error").sum() == result.reward_totals["sandbox_error"]
    assert df["verdict"].isin(["pass", "fail", "error", "timeout"]).any(), "no job was judged"


def test_an_outage_is_no_reward_from_any_function_and_no_advantage(outage_run):
    cfg, _, df = outage_run
    funcs = list(cfg.reward.funcs)
    outage = df["verdict"] == "sandbox_error"
    assert df.loc[outage, funcs].isna().all().all()
    assert (df.loc[outage, "advantage"] == 0.0).all()
    assert df.loc[~outage, funcs].notna().all().all()  # everything else is scored, no_code included


def test_advantages_and_logged_reward_leave_outages_out(outage_run):
    cfg, result, df = outage_run
    funcs, weights = list(cfg.reward.funcs), list(cfg.trainer.reward_weights)
    logged = [h["reward"] for h in result.log_history if "reward" in h and "loss" in h]
    assert len(logged) == 2
    for step, reward in zip(sorted(df["step"].unique()), logged):
        rows = df[df["step"] == step]
        g = cfg.trainer.num_generations
        assert all(rows["prompt"].iloc[i:i + g].map(str).nunique() == 1 for i in range(0, len(rows), g))
        expected = _expected_advantages(rows, funcs, weights, cfg)
        np.testing.assert_allclose(rows["advantage"].to_numpy(), expected, atol=1e-3)
        judged = rows[rows["verdict"] != "sandbox_error"]
        assert reward == pytest.approx(float((judged[funcs].to_numpy() * weights).sum(axis=1).mean()), abs=1e-5)
