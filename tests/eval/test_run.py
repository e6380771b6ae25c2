"""`python -m kodcode.eval` end to end: the CPU smoke with the tiny model, generation + scoring with a
scripted model, score-only mode, config validation, and the Hydra entry point."""

import json
import subprocess
import sys
from pathlib import Path

import pytest
from hydra import compose, initialize_config_dir

from kodcode import CONF_DIR
from kodcode.config import ConfigError
from kodcode.eval.leaderboard import COLUMNS
from kodcode.eval.runner import run

ROOT = Path(__file__).resolve().parents[2]


def _cfg(tmp_path, *overrides):
    with initialize_config_dir(config_dir=str(CONF_DIR / "eval"), version_base=None):
        return compose(config_name="eval", overrides=[f"out_dir={tmp_path}", *overrides])


@pytest.fixture()
def scripted(monkeypatch):
    monkeypatch.syspath_prepend(str(Path(__file__).parent))
    return ["llm=hf", "+llm.script=eval_script_double:canonical", "llm.backend=scripted", "llm.cache=false",
            "llm.progress=false"]


def test_smoke_experiment_fills_the_whole_table(tmp_path):
    out = run(_cfg(tmp_path, "+experiment=smoke", "wandb.mode=offline"))
    assert set(out["scores"]) == {k for k, _, _ in COLUMNS} | {"livecodebench/all"}
    assert all(v is not None and 0.0 <= v <= 100.0 for v in out["scores"].values())
    lines = (tmp_path / "leaderboard.md").read_text().splitlines()
    assert lines[2].startswith("| tiny-smoke |") and "(paper)" in lines[3]
    assert (tmp_path / "leaderboard.csv").read_text().splitlines()[0].startswith("Model,HE,HE+,MBPP,MBPP+")
    for f in ("humaneval/samples.jsonl", "mbpp/results.jsonl", "bigcodebench/instruct/results.jsonl",
              "livecodebench/results.jsonl", "scores.json"):
        assert (tmp_path / f).exists(), f
    row = json.loads((tmp_path / "humaneval/samples.jsonl").read_text().splitlines()[0])
    assert {"task_id", "solution", "raw", "finish_reason"} <= set(row)
    assert list(tmp_path.glob("wandb/offline-run-*")), "W&B offline run with the table"


def test_a_correct_model_scores_100_everywhere(tmp_path, scripted):
    out = run(_cfg(tmp_path, "+experiment=smoke", "wandb.mode=disabled", *scripted))
    assert out["scores"] == {k: 100.0 for k in out["scores"]}
    assert "| tiny-smoke | 100.0 | 100.0 |" in out["leaderboard"]


def test_score_only_mode_uses_the_given_samples_without_a_model(tmp_path):
    from kodcode.eval.fixtures import HUMANEVAL

    samples = tmp_path / "he.jsonl"
    rows = [{"task_id": p["task_id"], "solution": p["prompt"] + p["canonical_solution"]} for p in HUMANEVAL]
    rows[2] = {"task_id": "HumanEval/9002", "completion": "    return min(xs)\n"}  # prompt + completion, evalplus style
    samples.write_text("".join(json.dumps(r) + "\n" for r in rows))
    out = run(_cfg(tmp_path / "run", "benchmark=[humaneval]", "fixtures=true", "wandb.mode=disabled",
                   "model.name_or_path=does-not-exist", f"+samples.humaneval={samples}", "leaderboard.paper_rows=[]"))
    assert out["scores"]["humaneval/base"] == pytest.approx(200 / 3)
    assert out["counts"]["humaneval"] == {"tasks": 3, "sandbox_errors": 0, "limit_hits": 0, "missing_samples": 0}
    results = [json.loads(line) for line in (tmp_path / "run/humaneval/results.jsonl").read_text().splitlines()]
    assert results[2]["detail"]["base_why"] == "input 0: wrong answer (AssertionError)"  # judged in this process


def test_invalid_config_reports_every_problem(tmp_path):
    cfg = _cfg(tmp_path, "benchmark.livecodebench.release=release_v9", "generation.prompt_style=fancy",
               "benchmark.bigcodebench.splits=[complete,chat]")
    with pytest.raises(ConfigError) as e:
        run(cfg)
    text = str(e.value)
    assert "benchmark.livecodebench.release=release_v9: must be one of" in text
    assert "generation.prompt_style=fancy: must be one of" in text
    assert "benchmark.bigcodebench.splits=['complete', 'chat']: must be one of complete, instruct (not allowed: chat)" in text


def test_slurm_script_forwards_overrides_to_the_entry_point(tmp_path):
    # A stand-in `srun` that just runs its arguments: the script must pass every override through.
    bindir = tmp_path / "bin"
    bindir.mkdir()
    (bindir / "srun").write_text('#!/bin/bash\nexec "$@"\n')
    (bindir / "srun").chmod(0o755)
    env = {"PATH": f"{bindir}:/usr/bin:/bin", "KODCODE_PYTHON": sys.executable, "HOME": str(Path.home())}
    out = tmp_path / "run"
    proc = subprocess.run(["bash", "slurm/eval.sh", "+experiment=smoke", f"out_dir={out}", "wandb.mode=disabled",
                           "benchmark=[livecodebench]"], cwd=ROOT, env=env, capture_output=True, text=True, timeout=600, check=False)
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert "| tiny-smoke |" in proc.stdout
    assert json.loads((out / "scores.json").read_text())["scores"]["livecodebench/easy"] == 0.0


def test_compare_only_renders_earlier_runs_with_the_paper_rows(tmp_path):
    for name, v in (("run-a", 10.0), ("run-b", 20.0)):
        (tmp_path / name).mkdir()
        (tmp_path / name / "scores.json").write_text(json.dumps({"run": name, "scores": {k: v for k, _, _ in COLUMNS}}))
    out = run(_cfg(tmp_path / "table", "benchmark=[]", "wandb.mode=disabled",
                   f"leaderboard.compare=[{tmp_path / 'run-a'},{tmp_path / 'run-b'}]"))
    rows = [line.split(" | ")[0] for line in out["leaderboard"].splitlines()[2:]]
    assert rows == ["| run-a", "| run-b", "| Qwen2.5-Coder-32B-Instruct (paper)", "| KodCode-32B-50K (paper)"]


def test_skythought_prompt_scores_with_skythoughts_runner(tmp_path, scripted):
    # the scripted answers are right; SkyThought's runner looks for a global `twoSum` and misses the method
    out = run(_cfg(tmp_path, "+experiment=smoke", "benchmark=[livecodebench]", "benchmark.livecodebench.prompt=skythought",
                   "wandb.mode=disabled", "leaderboard.paper_rows=[]", *scripted))
    results = [json.loads(line) for line in (tmp_path / "livecodebench/results.jsonl").read_text().splitlines()]
    failed = {r["task_id"]: r["detail"]["message"] for r in results if not r["passed"]}
    assert len(results) == 3 and list(failed.values()) == ["error: KeyError('twoSum')"]
    assert out["scores"]["livecodebench/all"] == pytest.approx(200 / 3)
