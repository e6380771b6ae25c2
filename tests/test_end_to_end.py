"""The whole path through the commands a user types, on the tiny model, from a directory outside the checkout:

    python -m kodcode.synth +experiment=smoke                      -> export/datasets/{sft_r1,rl_prompts}
    python -m kodcode.train +experiment=smoke_sft  data.path=<sft_r1>
    python -m kodcode.train +experiment=smoke_grpo data.path=<rl_prompts> model.name_or_path=<SFT final>
    python -m kodcode.eval  +experiment=smoke      model.name_or_path=<GRPO final>

Each boundary is checked on what the next step really read: the export's row counts against what SFT and
GRPO say they loaded, the checkpoint GRPO started from (its log line and its weights), and the scores
eval wrote for the checkpoint it was given. About 80 s of CPU in five processes (a minute or more of wall time
on two cores), so it is marked ``slow``; the plain ``python -m pytest -q`` that CI runs selects slow tests too.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import datasets
import pytest
import torch

from kodcode import PACKAGE_DIR

REPO = PACKAGE_DIR.parent


def _kodcode(module: str, *overrides: str, cwd: Path, env: dict) -> str:
    """``python -m kodcode.<module> overrides...`` as a user runs it; its console output."""
    done = subprocess.run([sys.executable, "-m", f"kodcode.{module}", *overrides], cwd=cwd, env=env,
                          stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, timeout=600, check=False)
    assert done.returncode == 0, f"python -m kodcode.{module} failed:\n{done.stdout[-4000:]}"
    return done.stdout


def _data_counts(output: str) -> dict[str, int]:
    """The runner's ``data: rows_read N, filtered N, ..., train N`` line."""
    line = re.search(r"- data: (rows_read .*)", output)
    assert line, "no data counts logged"
    return {k: int(v) for k, v in (part.split() for part in line.group(1).split(", "))}


def _weights(path: Path) -> dict[str, torch.Tensor]:
    from safetensors.torch import load_file

    return load_file(str(path / "model.safetensors"))


def _distance(a: dict[str, torch.Tensor], b: dict[str, torch.Tensor]) -> float:
    assert a.keys() == b.keys()
    return sum(float((a[k].float() - b[k].float()).pow(2).sum()) for k in a) ** 0.5


@pytest.mark.slow
def test_synth_export_trains_sft_then_grpo_and_the_checkpoint_is_evaluated(tmp_path):
    cwd = tmp_path / "elsewhere"  # outside the checkout: no path may depend on the working directory
    cwd.mkdir()
    env = {**os.environ, "KODCODE_CACHE": str(tmp_path / "cache"), "HF_HUB_OFFLINE": "1", "WANDB_SILENT": "true",
           "PYTHONPATH": os.pathsep.join([str(REPO), os.environ.get("PYTHONPATH", "")])}
    # One benchmark question to decontaminate against keeps a cold cache from embedding all of HumanEval.
    bench = tmp_path / "humaneval.jsonl"
    bench.write_text(json.dumps({"task_id": "HumanEval/0", "prompt": "def has_close_elements(numbers, threshold):"}) + "\n")

    synth = tmp_path / "synth"
    _kodcode("synth", "+experiment=smoke", f"run_dir={synth}", "wandb.mode=disabled",
             f"stage.decontaminate.sources=[{{name:humaneval,path:'{bench}',fields:[prompt]}}]", cwd=cwd, env=env)
    exported = synth / "export" / "datasets"
    counts = json.loads((synth / "export" / "manifest-00000-of-00001.json").read_text())["counts"]
    sft_rows = datasets.load_from_disk(str(exported / "sft_r1"))["train"]
    rl_rows = datasets.load_from_disk(str(exported / "rl_prompts"))
    assert counts["sft_train"] == sft_rows.num_rows >= 3  # the smoke's seed triplets, each with a passing response
    assert counts["rl_prompts"] == rl_rows.num_rows >= 3

    sft = tmp_path / "sft"
    out = _kodcode("train", "+experiment=smoke_sft", f"data.path={exported / 'sft_r1'}", f"run_dir={sft}",
                   "trainer.max_steps=4", "trainer.save_steps=4", "wandb.mode=disabled", cwd=cwd, env=env)
    read = _data_counts(out)
    assert read["rows_read"] == read["train"] == sft_rows.num_rows  # every exported row read and kept
    sft_final = sft / "checkpoints" / "final"
    init = Path(env["KODCODE_CACHE"]) / "tiny-model"
    assert f"model: {init} (model.name_or_path=tiny)" in out

    grpo = tmp_path / "grpo"
    out = _kodcode("train", "+experiment=smoke_grpo", f"data.path={exported / 'rl_prompts'}", "data.format=synth_rl",
                   f"model.name_or_path={sft_final}", f"run_dir={grpo}", "trainer.max_steps=1", "trainer.save_steps=1",
                   "wandb.mode=disabled", cwd=cwd, env=env)
    assert f"model: {sft_final} (model.name_or_path={sft_final})" in out
    read = _data_counts(out)
    # Prevalidation ran each exported row's reference solution in the sandbox; all of them are verified.
    assert read["rows_read"] == read["train"] == rl_rows.num_rows and read["unsolvable"] == 0
    grpo_final = grpo / "checkpoints" / "final"
    w_init, w_sft, w_grpo = _weights(init), _weights(sft_final), _weights(grpo_final)
    assert _distance(w_sft, w_init) > 0, "SFT did not change the weights"
    # GRPO started from the SFT weights (one small step), not from the random init.
    assert _distance(w_grpo, w_sft) < _distance(w_grpo, w_init)

    evaluated = tmp_path / "eval"
    _kodcode("eval", "+experiment=smoke", f"model.name_or_path={grpo_final}", f"out_dir={evaluated}",
             "wandb.mode=disabled", cwd=cwd, env=env)
    scores = json.loads((evaluated / "scores.json").read_text())
    assert scores["model"] == str(grpo_final)
    assert {"humaneval/plus", "mbpp/plus", "bigcodebench_complete/full", "livecodebench/all"} <= set(scores["scores"])
    assert all(0.0 <= v <= 100.0 for v in scores["scores"].values())
    for bench_name in ("humaneval", "mbpp", "livecodebench"):
        results = (evaluated / bench_name / "results.jsonl").read_text().splitlines()
        assert len(results) == scores["counts"][bench_name]["tasks"] > 0, bench_name
    assert f"| {scores['run']} |" in (evaluated / "leaderboard.md").read_text()
