"""`python -m kodcode.synth +experiment=smoke`: Steps 1-3 with the tiny model, CPU, offline.

experiment/smoke.yaml is the Step 1 smoke (smoke_step1.yaml) followed by the Steps 2-3 stages.  The tiny model
writes noise, so generated attempts never verify; ``stage.solve.seed_triplets``
adds three known-good triplets (conf/synth/triplets/smoke.jsonl) that go through parse, the real
sandbox, label, convert, respond, decontaminate and export like any other row.  The export must
load with ``datasets.load_from_disk`` and carry exactly the KodCode-V1 columns.
"""

import json
import os
import subprocess
import sys

import datasets

from kodcode import PACKAGE_DIR
from kodcode.synth.export import KODCODE_V1_COLUMNS

REPO = PACKAGE_DIR.parent
STEPS23 = ["solve", "parse", "verify", "label", "convert", "respond", "decontaminate", "export", "report"]


def test_smoke_runs_steps_1_to_3_and_exports_kodcode_v1(tmp_path):
    bench = tmp_path / "humaneval.jsonl"
    bench.write_text(json.dumps({"task_id": "HumanEval/0", "prompt": "def has_close_elements(numbers, threshold):"}) + "\n")
    run_dir = tmp_path / "run"
    # A one-question benchmark file keeps the test from embedding all of HumanEval on a cold cache.
    cmd = [sys.executable, "-m", "kodcode.synth", "+experiment=smoke", f"run_dir={run_dir}",
           "wandb.mode=disabled", f"stage.decontaminate.sources=[{{name:humaneval,path:'{bench}',fields:[prompt]}}]"]
    # Run from a directory outside the checkout: the config's relative paths (seed files, seed
    # triplets) must resolve against the project, not the working directory.
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "WANDB_SILENT": "true",
           "PYTHONPATH": os.pathsep.join([str(REPO), os.environ.get("PYTHONPATH", "")])}
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    done = subprocess.run(cmd, check=False, cwd=elsewhere, env=env, capture_output=True, text=True, timeout=900)
    assert done.returncode == 0, done.stderr[-3000:]
    # Live progress: every stage announces itself with its rows in; the run ends with the funnel.
    assert done.stderr.count("] started: ") == 15
    assert "[synth 7/15 solve] started: " in done.stderr
    assert any(line.split()[:2] == ["stage", "status"] and "rows out" in line for line in done.stdout.splitlines())
    counts = {s: json.loads((run_dir / s / "manifest-00000-of-00001.json").read_text())["counts"] for s in STEPS23}
    questions = counts["solve"]["questions"]
    assert questions == json.loads((run_dir / "dedup" / "manifest-00000-of-00001.json").read_text())["counts"]["output"]
    assert counts["solve"]["new_attempts"] == 2 * questions and counts["solve"]["seed_triplets"] == 3
    assert counts["label"]["questions"] == questions + 3
    assert counts["label"]["verified"] >= 3  # the seed triplets pass the real sandbox
    v1 = datasets.load_from_disk(str(run_dir / "export" / "datasets" / "kodcode_v1"))
    assert tuple(v1.column_names) == KODCODE_V1_COLUMNS
    assert {"Prefill_seedtrip01_I", "Leetcode_seedtrip02_I", "Algorithm_seedtrip03_I"} <= set(v1["question_id"])
    assert (run_dir / "report" / "figures" / "data_flow.png").is_file()
    assert "Questions, attempts, tests, verdicts" in (run_dir / "report" / "index.html").read_text()
