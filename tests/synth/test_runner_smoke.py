"""The real path: the tiny model on CPU through the runner, and `python -m kodcode.synth +experiment=smoke_step1` (Step 1 only)."""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from kodcode import CONF_DIR, PACKAGE_DIR
from kodcode.llm.hf import HFLLM
from kodcode.synth.runner import run

REPO = PACKAGE_DIR.parent
SEEDS = CONF_DIR / "synth" / "seeds"


def tiny_cfg(run_dir: Path) -> dict:
    return {
        "run_dir": str(run_dir),
        "stages": ["prefill", "seeded"],
        "progress": False,
        "llm": {"backend": "hf", "batch_size": 2, "progress": False},
        "model": {"name_or_path": "tiny"},
        "wandb": {"mode": "disabled"},
        # drop_truncated=False: the tiny model's 12-token replies are all cut, and seeded must write rows
        "stage": {"prefill": {"num_questions": 4, "n_per_call": 2, "max_tokens": 12},
                  "seeded": {"subsets": ["leetcode"], "max_tokens": 12, "drop_truncated": False}},
        "subsets": {"prefill": {"name": "Prefill"},
                    "leetcode": {"name": "Leetcode", "num_prompts": 6, "seeds_per_prompt": 3,
                                 "seeds": {"path": str(SEEDS / "leetcode.jsonl"), "field": "description"}}},
    }


def parts(run_dir: Path, stage: str) -> list[dict]:
    return [json.loads(x) for x in (run_dir / stage / "part-00000-of-00001.jsonl").read_text().splitlines()]


def test_tiny_model_crash_mid_stage_resumes_to_the_same_output(tmp_path, monkeypatch):
    real = HFLLM._run_batch
    calls = []

    def counted(self, reqs, crash_at=None):
        calls.append(len(reqs))
        if crash_at is not None and len(calls) == crash_at:
            raise KeyboardInterrupt("simulated kill")
        return real(self, reqs)

    run(tiny_cfg(tmp_path / "ref"))  # uninterrupted
    # seeded has 6 requests = 3 batches of 2; die in the second batch (prefill is one batch)
    monkeypatch.setattr(HFLLM, "_run_batch", lambda self, reqs: counted(self, reqs, crash_at=3))
    with pytest.raises(KeyboardInterrupt):
        run(tiny_cfg(tmp_path / "run"))
    monkeypatch.setattr(HFLLM, "_run_batch", lambda self, reqs: counted(self, reqs))
    calls.clear()
    summary = run(tiny_cfg(tmp_path / "run"))
    assert [v["status"] for v in summary["stages"].values()] == ["skipped", "ran"]
    assert calls == [2, 2]  # the first seeded batch came from the cache
    resumed, ref = parts(tmp_path / "run", "seeded"), parts(tmp_path / "ref", "seeded")
    # What the stage wrote itself (besides the prefill rows it passes on): one question per prompt, each
    # from its own three seeds; the half made before the crash came back from the cache.
    seeded = [r for r in ref if r["subset"] == "Leetcode"]
    assert len(seeded) == 6 and all(len(r["metadata"]["seed_ids"]) == 3 for r in seeded)
    assert len({tuple(r["metadata"]["seed_ids"]) for r in seeded}) == 6
    assert resumed == ref


def test_smoke_experiment_runs_step1_end_to_end_offline(tmp_path):
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "WANDB_SILENT": "true"}
    cmd = [sys.executable, "-m", "kodcode.synth", "+experiment=smoke_step1", f"run_dir={tmp_path / 'run'}"]
    done = subprocess.run(cmd, cwd=REPO, env=env, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr[-3000:]
    run_dir = tmp_path / "run"
    counts = {s: json.loads((run_dir / s / "manifest-00000-of-00001.json").read_text())["counts"]
              for s in ("prefill", "seeded", "snippets", "docs", "filter", "dedup")}
    assert counts["prefill"]["output"] == 8
    assert counts["seeded"]["output"] - counts["seeded"]["input"] <= 14  # 7 subsets x 2 prompts
    rows = parts(run_dir, "dedup")
    assert len(rows) == counts["dedup"]["output"] > 0
    assert {"question_id", "subset", "question", "metadata"} <= set(rows[0])
    [wandb_run] = (run_dir / "wandb").glob("offline-run-*")  # W&B offline: counts + a samples table per stage
    tables = {p.parent.name for p in wandb_run.glob("files/media/table/*/samples_*.table.json")}
    assert tables == {"prefill", "seeded", "snippets", "docs", "filter", "dedup"}
    # The same command again: every stage is skipped.
    again = subprocess.run(cmd, cwd=REPO, env=env, capture_output=True, text=True, timeout=600)
    assert again.returncode == 0 and again.stdout.count(": skipped") == 6


def test_cli_bad_seed_path_is_one_line_error(tmp_path):
    cmd = [sys.executable, "-m", "kodcode.synth", "+experiment=smoke_step1", f"run_dir={tmp_path / 'run'}",
           "subsets.apps.seeds.path=missing/apps.jsonl", "wandb.mode=disabled"]
    done = subprocess.run(cmd, cwd=REPO, capture_output=True, text=True, timeout=300,
                          env={**os.environ, "HF_HUB_OFFLINE": "1"})
    assert done.returncode == 1
    assert "Traceback" not in done.stderr
    assert "kodcode.synth: error: invalid config:" in done.stderr
    assert "subsets.apps.seeds.path=missing/apps.jsonl does not exist" in done.stderr
