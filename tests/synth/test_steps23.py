"""Steps 2-3 end to end through the runner: scripted replies, the real sandbox, real exports."""

import json
from pathlib import Path

import datasets
import pytest

from kodcode.synth.export import KODCODE_V1_COLUMNS, SFT_R1_COLUMNS
from kodcode.synth.runner import run

HERE = Path(__file__).parent
STEPS23 = ["solve", "parse", "verify", "label", "convert", "respond", "decontaminate", "export", "report"]


def write_inputs(tmp: Path) -> tuple[Path, list[dict]]:
    from test_steps23_script import QUESTIONS

    questions = tmp / "questions.jsonl"
    questions.write_text("".join(json.dumps(q) + "\n" for q in QUESTIONS))
    (tmp / "mbpp.jsonl").write_text(json.dumps(
        {"task_id": "Mbpp/2", "prompt": "Write a function to find the shared elements from the given two lists."}) + "\n")
    (tmp / "he.jsonl").write_text(json.dumps({"task_id": "HumanEval/0", "prompt": "def sort_by_color(balls):"}) + "\n")
    sources = [{"name": "mbpp", "path": str(tmp / "mbpp.jsonl"), "fields": ["prompt"]},
               {"name": "humaneval", "path": str(tmp / "he.jsonl"), "fields": ["prompt"]}]
    return questions, sources


def synth_cfg(tmp: Path, stages=STEPS23, **stage_over) -> dict:
    questions, sources = write_inputs(tmp)
    stage = {"solve": {"n": 3, "temperature": 0.7}, "decontaminate": {"sources": sources}}
    for name, over in stage_over.items():
        stage.setdefault(name, {}).update(over)
    return {
        "run_dir": str(tmp / "run"), "stages": list(stages), "input": str(questions), "progress": False,
        "llm": {"backend": "scripted", "script": "test_steps23_script:reply", "progress": False},
        "model": {"name_or_path": "scripted"},
        "exec": {"workers": 2, "timeout_s": 10.0},
        "wandb": {"mode": "disabled"},
        "stage": stage,
    }


def manifest(run_dir: Path, name: str) -> dict:
    return json.loads((run_dir / name / "manifest-00000-of-00001.json").read_text())


@pytest.fixture(autouse=True)
def _script_on_path(monkeypatch):
    monkeypatch.syspath_prepend(str(HERE))


def test_steps23_end_to_end(tmp_path):
    cfg = synth_cfg(tmp_path)
    run(cfg)
    run_dir = Path(cfg["run_dir"])
    label = manifest(run_dir, "label")["counts"]
    assert (label["questions"], label["verified"], label["failed"]) == (4, 3, 1)
    assert label["difficulty"]["Leetcode"] == {"easy": 1, "medium": 0, "hard": 0, "fail": 1}
    assert label["difficulty"]["Prefill"] == {"easy": 1, "medium": 1, "hard": 0, "fail": 0}  # 1/3 is medium
    assert label["pass_at_k"]["Prefill"]["pass@1"] == pytest.approx((1 / 3 + 1) / 2)

    convert = manifest(run_dir, "convert")["counts"]
    assert convert["converted"] == 1
    assert convert["dropped"] == {"leak": 1, "completion does not declare the entry point 'similar_elements'": 1}

    decon = manifest(run_dir, "decontaminate")["counts"]
    assert decon["dropped"] == 1 and decon["by_subset"]["Prefill"] == {"checked": 3, "dropped": 1, "flagged": 0}
    assert decon["dropped_ids"][0]["question_id"] == "Prefill_00000004_I"
    assert decon["dropped_ids"][0]["benchmark"] == "mbpp"

    out = run_dir / "export" / "datasets"
    v1 = datasets.load_from_disk(str(out / "kodcode_v1"))
    assert tuple(v1.column_names) == KODCODE_V1_COLUMNS
    rows = {r["question_id"]: r for r in v1}
    assert sorted(rows) == ["Leetcode_00000002_I", "Prefill_00000001_C", "Prefill_00000001_I"]
    add = rows["Prefill_00000001_I"]
    assert add["gpt_pass_sequence"] == [1, 0, 0] and add["gpt_difficulty"] == "medium"
    assert add["chosen_trial"] == "trial_0" and add["trials"]["trial_1"]["test_result"] == "Fail"
    assert add["test_info"][0]["function_declaration"] == "def add(a, b):"
    assert add["metadata"]["prompt_id"] == "00000001"
    even = rows["Leetcode_00000002_I"]
    assert even["gpt_pass_sequence"] == [1, 0, 1] and even["gpt_difficulty"] == "easy"
    complete = rows["Prefill_00000001_C"]
    assert complete["style"] == "complete" and complete["question"].startswith("def add(a, b):")
    assert complete["metadata"]["original_instruction"] == add["question"]

    sft = datasets.load_from_disk(str(out / "sft_r1"))
    assert tuple(sft["train"].column_names) == SFT_R1_COLUMNS
    assert sorted(sft["train"]["question_id"]) == ["Prefill_00000001_C", "Prefill_00000001_I"]
    assert sft["incorrect"]["question_id"] == ["Leetcode_00000002_I"]
    train = sft["train"][0]
    assert train["r1_pass_sequence"] == [1, 1, 1] and train["r1_correctness"] == "True"
    assert train["r1_solution"].startswith("def add(a, b):")  # renamed from plus
    assert train["conversations"][1]["value"].startswith("<think>")

    rl = datasets.load_from_disk(str(out / "rl_prompts"))
    assert rl.num_rows == 3 and {"question", "test", "test_info"} <= set(rl.column_names)
    figures = run_dir / "report" / "figures"
    for name in ("pass_at_k", "lengths", "difficulty", "contamination", "data_flow"):
        assert (figures / f"{name}.png").stat().st_size > 1000
    summary = json.loads((figures / "summary.json").read_text())
    assert summary["data_flow"]["solve (attempts)"] == 12


def test_stdio_rows_are_verified_and_exported_as_v1_1(tmp_path):
    """stage.convert.stdio: each instruct row gets a stdin/stdout twin that passed the sandbox; the
    lookup-table rewrite of is_even (answers printed without calling it) is dropped."""
    cfg = synth_cfg(tmp_path, stages=["solve", "parse", "verify", "label", "convert", "export"],
                    convert={"stdio": True})
    run(cfg)
    run_dir = Path(cfg["run_dir"])
    convert = manifest(run_dir, "convert")["counts"]
    assert (convert["stdio_attempted"], convert["stdio"]) == (3, 1)
    assert convert["stdio_dropped"] == {
        "answers do not come from the entry point (it prints them replaced)": 1,
        "program does not define the entry point 'similar_elements'": 1}
    v1 = datasets.load_from_disk(str(run_dir / "export" / "datasets" / "kodcode_v1"))
    rows = {r["question_id"]: r for r in v1}
    row = rows["Prefill_00000001_S"]
    assert row["version"] == "V1.1" and rows["Prefill_00000001_I"]["version"] == "V1"
    assert "print(add(a, b))" in row["solution"] and "runpy.run_module" in row["test"]
    assert row["gpt_difficulty"] == rows["Prefill_00000001_I"]["gpt_difficulty"]
    assert list(rows).index("Prefill_00000001_S") == list(rows).index("Prefill_00000001_C") + 1


def test_failed_questions_get_more_attempts_in_a_later_run(tmp_path):
    first = synth_cfg(tmp_path, stages=["solve", "parse", "verify", "label"])
    run(first)
    second = synth_cfg(tmp_path, stages=["solve", "parse", "verify", "label"],
                       solve={"n": 2, "previous_attempts": str(Path(first["run_dir"]) / "verify")})
    second["run_dir"] = str(tmp_path / "run2")
    run(second)
    attempts = [json.loads(line) for line in (tmp_path / "run2" / "verify" / "part-00000-of-00001.jsonl").open()]
    per_q = {}
    for a in attempts:
        per_q.setdefault(a["question_id"], []).append(a["attempt"])
    assert per_q["Leetcode_00000003"] == [0, 1, 2, 3, 4]  # failed: two new attempts after the three
    assert per_q["Prefill_00000001"] == [0, 1, 2]  # solved in the first run: nothing new
    assert manifest(tmp_path / "run2", "solve")["counts"]["new_attempts"] == 2


def test_first_pass_mode_stops_at_the_first_pass(tmp_path):
    cfg = synth_cfg(tmp_path, stages=["solve", "parse", "verify", "label"], solve={"mode": "first_pass"})
    run(cfg)
    attempts = [json.loads(line) for line in (Path(cfg["run_dir"]) / "verify" / "part-00000-of-00001.jsonl").open()]
    counts = {}
    for a in attempts:
        counts[a["question_id"]] = counts.get(a["question_id"], 0) + 1
    assert counts == {"Prefill_00000001": 1, "Leetcode_00000002": 1, "Leetcode_00000003": 3, "Prefill_00000004": 1}


def test_missing_files_are_reported_before_anything_runs(tmp_path):
    from kodcode.config import ConfigError

    cfg = synth_cfg(tmp_path, solve={"previous_attempts": str(tmp_path / "nope"), "seed_triplets": "nope.jsonl"})
    cfg["stage"]["decontaminate"]["sources"].append({"name": "lcb", "path": str(tmp_path / "lcb.jsonl")})
    with pytest.raises(ConfigError) as e:
        run(cfg)
    text = str(e.value)
    assert "stage.solve.previous_attempts=" in text and "stage.solve.seed_triplets=nope.jsonl" in text
    assert "stage.decontaminate.sources: lcb path" in text
    assert not (tmp_path / "run" / "solve").exists()
