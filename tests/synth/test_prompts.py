"""Prompts as files: a run can replace any shipped prompt by path, and editing it reruns the stage."""

import json

import pytest

from kodcode.config import ConfigError
from kodcode.synth.runner import run, stage
from kodcode.synth.templates import load_prompt, set_overrides


@stage("prompt_probe", prompts=("solve_triplet.txt",))
def _probe(records, ctx):
    return [{"question_id": "q", "text": load_prompt("solve_triplet.txt").render(question="Q?")}]


def cfg(tmp_path, **extra):
    return {"run_dir": str(tmp_path / "run"), "stages": ["prompt_probe"], "progress": False, "heartbeat_s": 0,
            "llm": {"backend": "scripted", "script": "x:y"}, "model": {"name_or_path": "none"},
            "wandb": {"mode": "disabled"}, **extra}


def test_a_prompt_file_of_ones_own_replaces_the_shipped_one_and_an_edit_reruns(tmp_path):
    mine = tmp_path / "mine.txt"
    mine.write_text("MY PROMPT: {{question}}")
    try:
        first = run(cfg(tmp_path, prompts={"solve_triplet": str(mine)}))
        part = tmp_path / "run" / "prompt_probe" / "part-00000-of-00001.jsonl"
        assert json.loads(part.read_text())["text"] == "MY PROMPT: Q?"
        assert run(cfg(tmp_path, prompts={"solve_triplet": str(mine)}))["stages"]["prompt_probe"]["status"] == "skipped"
        mine.write_text("EDITED: {{question}}")
        again = run(cfg(tmp_path, prompts={"solve_triplet": str(mine)}))
        assert again["stages"]["prompt_probe"]["status"] == "ran" and first["stages"]["prompt_probe"]["status"] == "ran"
        assert json.loads(part.read_text())["text"] == "EDITED: Q?"
    finally:
        set_overrides({})


def test_unknown_prompt_name_and_missing_file_are_config_errors(tmp_path):
    with pytest.raises(ConfigError) as e:
        run(cfg(tmp_path, prompts={"solve": "x.txt", "solve_triplet": str(tmp_path / "missing.txt")}))
    msg = str(e.value)
    assert "prompts.solve=x.txt: names no shipped prompt" in msg and "solve_triplet" in msg
    assert f"prompts.solve_triplet={tmp_path / 'missing.txt'}: not a file" in msg
