"""Exports load with datasets.load_from_disk and carry the published column names."""

import datasets
import pyarrow.parquet as pq

from kodcode.synth.export import KODCODE_V1_COLUMNS, RL_PROMPT_COLUMNS, SFT_R1_COLUMNS, export_all


def _triplet(qid, style="instruct", trials=2, info=True):
    return {
        "style": style, "subset": "Prefill", "question_id": qid, "question": f"Q {qid}",
        "solution": "def f():\n    return 1", "test": "def test_f():\n    assert f() == 1",
        "test_info": [{"function_name": "f", "parameter_list": "()", "function_declaration": "def f():",
                       "docstring": None}] if info else None,
        "gpt_pass_sequence": [1] * trials, "gpt_pass_trial_num": trials, "gpt_difficulty": "easy",
        "gpt_pass_percentage": 1.0, "chosen_trial": "trial_tiny_0",
        "trials": {f"trial_tiny_{i}": {"file_source": "", "solution_code": "s", "test_code": "t",
                                       "test_coverage": None, "test_result": "Pass"} for i in range(trials)},
        "metadata": {"prompt_id": "1", "row_id": 3, "seed_ids": [7], "extra": "dropped"},
        "nearest_benchmark": {"benchmark": "humaneval", "task_id": "HumanEval/0", "cosine": 0.1},
    }


def test_export_columns_splits_and_parquet(tmp_path):
    rows = [_triplet("Prefill_1_I"), _triplet("Prefill_1_C", "complete", trials=3), _triplet("Prefill_2_I", info=False)]
    sft = [dict(rows[0], r1_pass_sequence=[1, 0], r1_pass_trial_num=1, r1_correctness="True", r1_solution="x",
                conversations=[{"from": "human", "value": "Q"}, {"from": "gpt", "value": "A"}]),
           dict(rows[2], r1_pass_sequence=[0], r1_pass_trial_num=0, r1_correctness="False", r1_solution="",
                conversations=[{"from": "human", "value": "Q"}, {"from": "gpt", "value": "B"}])]
    paths = export_all(rows, sft, tmp_path)
    v1 = datasets.load_from_disk(paths["kodcode_v1"])
    assert tuple(v1.column_names) == KODCODE_V1_COLUMNS
    assert v1.num_rows == 3 and v1[0]["version"] == "V1"
    assert v1[0]["metadata"] == {"original_instruction": "", "prompt_id": "1", "row_id": 3, "seed_ids": ["7"]}
    assert v1[0]["trials"]["trial_tiny_2"] is None and v1[1]["trials"]["trial_tiny_2"]["test_result"] == "Pass"
    assert v1[2]["test_info"] is None
    sft_dd = datasets.load_from_disk(paths["sft_r1"])
    assert sft_dd["train"].num_rows == 1 and sft_dd["incorrect"].num_rows == 1
    assert tuple(sft_dd["train"].column_names) == SFT_R1_COLUMNS
    rl = datasets.load_from_disk(paths["rl_prompts"])
    assert tuple(rl.column_names) == RL_PROMPT_COLUMNS
    assert pq.read_table(tmp_path / "parquet" / "kodcode_v1.parquet").column_names == list(KODCODE_V1_COLUMNS)


def test_empty_export_still_has_the_columns(tmp_path):
    paths = export_all([], [], tmp_path)
    assert tuple(datasets.load_from_disk(paths["kodcode_v1"]).column_names) == KODCODE_V1_COLUMNS


def _sft(row, correct=True, contaminated=False):
    return dict(row, r1_pass_sequence=[int(correct)], r1_pass_trial_num=int(correct),
                r1_correctness=str(correct), r1_solution="x",
                conversations=[{"from": "human", "value": "Q"}, {"from": "gpt", "value": "A"}],
                nearest_benchmark={"benchmark": "humaneval", "task_id": "HumanEval/0", "cosine": 0.97 if contaminated
                                   else 0.1, "contaminated": contaminated})


def test_light_rl_is_a_seeded_draw_with_r1_columns_and_flagged_rows_go_to_use_with_caution(tmp_path):
    from kodcode.synth.export import LIGHT_RL_COLUMNS

    rows = [_triplet(f"Prefill_{i}_I") for i in range(20)]
    sft = [_sft(r, correct=i % 3 != 0, contaminated=i == 5) for i, r in enumerate(rows)]
    paths = export_all(rows, sft, tmp_path / "a", light_rl_size=8, light_rl_seed=1)
    light = datasets.load_from_disk(paths["light_rl"])["train"]
    assert tuple(light.column_names) == LIGHT_RL_COLUMNS and light.num_rows == 8
    assert "Prefill_5_I" not in light["question_id"]
    again = datasets.load_from_disk(export_all(rows, sft, tmp_path / "b", light_rl_size=8, light_rl_seed=1)["light_rl"])
    assert again["train"]["question_id"] == light["question_id"]  # the same seed draws the same rows
    other = datasets.load_from_disk(export_all(rows, sft, tmp_path / "c", light_rl_size=8, light_rl_seed=2)["light_rl"])
    assert other["train"]["question_id"] != light["question_id"]
    sft_dd = datasets.load_from_disk(paths["sft_r1"])
    assert sft_dd["use_with_caution"]["question_id"] == ["Prefill_5_I"]
    assert (sft_dd["train"].num_rows, sft_dd["incorrect"].num_rows) == (12, 7)  # row 5 (correct) is flagged
    card = (tmp_path / "a" / "light_rl" / "README.md").read_text()
    assert card.startswith("---\nconfigs:") and "num_examples: 8" in card and "`r1_correctness`" in card
