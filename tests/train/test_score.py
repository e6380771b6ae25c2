"""The scoring tool: the GRPO unit-test reward over a file of answers, run as a user runs it."""

from __future__ import annotations

import gzip
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from kodcode.exec import ExecConfig
from kodcode.train.score import score_file

ROOT = Path(__file__).resolve().parents[2]
DEMO = ROOT.parent / "shared" / "data" / "kodcode-demo" / "pipeline"
TEST = "from solution import add_numbers\n\ndef test_add():\n    assert add_numbers(1, 2) == 3\n"
INFO = [{"function_name": "add_numbers", "parameter_list": "(a, b)", "function_declaration": "def add_numbers(a, b):",
         "docstring": None}]


def _answer(code: str) -> str:
    return f"<think>\nsum them\n</think>\n```python\n{code}\n```\nExample:\n```python\nprint(add_numbers(1, 2))\n```"


ROWS = [
    {"id": "pass", "question": "Add.", "test": TEST, "test_info": INFO,
     "response": _answer("def add_numbers(a, b):\n    return a + b")},
    {"id": "renamed", "question": "Add.", "test_code": TEST, "test_info": INFO,
     "messages": [{"role": "user", "content": "Add."},
                  {"role": "assistant", "content": "</think>\n```python\ndef plus(a, b):\n    return a + b\n```"}]},
    {"id": "fail", "question": "Add.", "test": TEST, "test_info": INFO,
     "response": _answer("def add_numbers(a, b):\n    return a - b")},
    {"id": "cut", "question": "Add.", "test": TEST, "test_info": INFO,
     "response": "<think>\n```python\ndef add_numbers(a, b):\n    return a + b\n```"},
    {"id": "no_test", "question": "Add.", "test_info": INFO, "response": "x"},
]


def _write_input(path: Path) -> None:
    with gzip.open(path, "wt") as f:
        f.writelines(json.dumps(r) + "\n" for r in ROWS)
        f.write("{not json\n")


def test_cli_from_outside_the_checkout_scores_and_resumes(tmp_path):
    inp, out = tmp_path / "in.jsonl.gz", tmp_path / "out.jsonl"
    _write_input(inp)
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    cmd = [sys.executable, "-m", "kodcode.train.score", str(inp), "--out", str(out), "--workers", "2",
           "--timeout", "5", "--no-progress"]
    first = subprocess.run(cmd, cwd=tmp_path, env=env, capture_output=True, text=True, timeout=300, check=True)
    rows = {r.get("id", r["_score_line"]): r for r in map(json.loads, out.read_text().splitlines())}
    assert {k: (v["status"], v["reward"]) for k, v in rows.items()} == {
        "pass": ("pass", 1.0), "renamed": ("pass", 1.0), "fail": ("fail", 0.0), "cut": ("no_code", 0.0),
        "no_test": ("malformed", None), 6: ("malformed", None)}
    assert rows["renamed"]["renamed_from"] == "plus" and rows["renamed"]["code"].startswith("def add_numbers(a, b):")
    assert rows["pass"]["code"] == "def add_numbers(a, b):\n    return a + b"  # not the usage example
    assert rows["cut"]["reason"] == "unclosed_reasoning"
    assert "needs `test` or `test_code`" in rows["no_test"]["message"]
    assert rows["pass"]["question"] == "Add." and rows["pass"]["test_info"] == INFO  # input fields kept
    assert "scored 4 rows" in first.stderr and f"malformed: {inp}:6: not valid JSON" in first.stderr
    again = subprocess.run(cmd, cwd=tmp_path, env=env, capture_output=True, text=True, timeout=300, check=True)
    assert "scored 0 rows" in again.stderr and "skipped: 6" in again.stderr
    assert len(out.read_text().splitlines()) == 6


def test_a_missing_input_is_a_clear_error(tmp_path):
    proc = subprocess.run([sys.executable, "-m", "kodcode.train.score", str(tmp_path / "nope.jsonl"), "--out",
                           str(tmp_path / "o.jsonl")], env={**os.environ, "PYTHONPATH": str(ROOT)},
                          capture_output=True, text=True, timeout=120, check=False)
    assert proc.returncode == 2 and "does not exist" in proc.stderr


@pytest.mark.skipif(not DEMO.is_dir(), reason="KodCode's demo run (../shared/data) is not here")
def test_kodcode_verified_r1_answers_score_one(tmp_path):
    # The first 10 questions of KodCode's leetcode demo whose R1 trial 0 KodCode verified.
    sft = next(DEMO.glob("SFT_KodCode_leetcode_*.json.gz"))
    with gzip.open(sft, "rt") as f:
        verdict = {r["question_id"]: r["r1_pass_sequence"] for r in json.load(f)}
    results = next((DEMO / sft.name[: -len(".json.gz")]).glob("*_prepared_results0.jsonl.gz"))
    with gzip.open(results, "rt") as f:
        demo = [json.loads(line) for line in f]
    rows = []
    for r in demo:
        seq = verdict.get(r["metadata"]["question_id"])
        if seq and len(seq) == 3 and seq[0] == 1:
            rows.append({**{k: r["metadata"][k] for k in ("question_id", "question", "test_code", "test_info")},
                         "messages": r["messages"]})
    rows = rows[:10]
    inp = tmp_path / "demo.jsonl"
    inp.write_text("".join(json.dumps(r) + "\n" for r in rows))
    score_file(str(inp), str(tmp_path / "out.jsonl"), ExecConfig(workers=2, timeout_s=10), progress=False)
    scored = [json.loads(x) for x in (tmp_path / "out.jsonl").read_text().splitlines()]
    assert len(scored) == 10 and [s["status"] for s in scored] == ["pass"] * 10
    assert [s["reward"] for s in scored] == [1.0] * 10
