"""Data adapters: published KodCode layouts and our exports become TRL-ready rows, with the paper's filters."""

from __future__ import annotations

import json

import datasets
import pytest

from kodcode.answers import expected_functions
from kodcode.train.config import DataConfig, SftFilters
from kodcode.train.data import FIXTURES, RL_SYSTEM_PROMPT, SFT_SYSTEM_PROMPT, load_dataset_for

SFT_ROWS = [json.loads(x) for x in (FIXTURES / "smoke_sft.jsonl").read_text().splitlines()]
RL_ROWS = [json.loads(x) for x in (FIXTURES / "smoke_rl.jsonl").read_text().splitlines()]


def test_sft_r1_conversations_become_messages_with_paper_filters():
    ds = load_dataset_for(DataConfig(format="kodcode_sft_r1", path="builtin:smoke_sft",
                                     filters=SftFilters(drop_class_solutions=True)), kind="sft")
    assert ds.column_names == ["messages"]
    assert len(ds) == len(SFT_ROWS) - 2  # the incorrect response and the class-based solution are gone
    first = ds[0]["messages"]
    assert [m["role"] for m in first] == ["system", "user", "assistant"]
    assert first[0]["content"] == SFT_SYSTEM_PROMPT
    assert first[1]["content"] == SFT_ROWS[0]["conversations"][0]["value"]
    assert all("class Adder" not in m["content"] for row in ds["messages"] for m in row)


def test_length_filters_count_tokens_and_characters():
    from transformers import AutoTokenizer

    from kodcode.llm.tiny import ensure_model

    tok = AutoTokenizer.from_pretrained(ensure_model("tiny"))
    lengths = [len(tok(r["conversations"][1]["value"]).input_ids) for r in SFT_ROWS[:6]]
    cut = sorted(lengths)[3]
    ds = load_dataset_for(DataConfig(format="kodcode_sft_r1", path="builtin:smoke_sft",
                                     filters=SftFilters(max_response_tokens=cut)), kind="sft", tokenizer=tok)
    assert len(ds) == sum(n <= cut for n in lengths) + 1  # + the class-based row (not dropped here)
    with pytest.raises(ValueError, match="no rows left"):
        load_dataset_for(DataConfig(format="kodcode_sft_r1", path="builtin:smoke_sft",
                                    filters=SftFilters(min_response_chars=10**6)), kind="sft")


def test_rl_prompt_carries_question_and_function_declaration():
    ds = load_dataset_for(DataConfig(format="kodcode_rl", path="builtin:smoke_rl"), kind="grpo")
    assert set(ds.column_names) == {"prompt", "test", "test_info", "question_id"}
    prompt = ds[1]["prompt"]
    assert prompt[0] == {"role": "system", "content": RL_SYSTEM_PROMPT}
    assert prompt[1]["content"] == (
        "Please solve the programming task below in Python.\n\n" + RL_ROWS[1]["question"]
        + "\n\nNote that the function declaration is def is_palindrome(s):. Your code should be wrapped in a "
        "markdown code block."
    )
    assert ds[1]["test"] == RL_ROWS[1]["test"]


def test_local_parquet_and_save_to_disk_splits(tmp_path):
    rows = [dict(r, test_info=json.dumps(r["test_info"])) for r in RL_ROWS]  # parquet-friendly
    datasets.Dataset.from_list(rows).to_parquet(str(tmp_path / "rl.parquet"))
    assert len(load_dataset_for(DataConfig(format="synth_rl", path=str(tmp_path / "rl.parquet")), kind="grpo")) == 6
    dd = datasets.DatasetDict({"train": datasets.Dataset.from_list(SFT_ROWS[:3]),
                               "incorrect": datasets.Dataset.from_list(SFT_ROWS[3:5])})
    dd.save_to_disk(str(tmp_path / "sft_r1"))
    ds = load_dataset_for(DataConfig(format="synth_sft", path=str(tmp_path / "sft_r1"), split="incorrect"), kind="sft")
    assert len(ds) == 2
    with pytest.raises(ValueError, match=r"data \(data.path, data.split\): .*sft_r1: has no split 'test' \(splits: train, incorrect\)"):
        load_dataset_for(DataConfig(format="synth_sft", path=str(tmp_path / "sft_r1"), split="test"), kind="sft")


def test_where_max_rows_and_blocked_libraries():
    cfg = DataConfig(format="kodcode_rl", path="builtin:smoke_rl", where={"question_id": ["Prefill_0_I", "Prefill_5_I"]})
    assert sorted(load_dataset_for(cfg, kind="grpo")["question_id"]) == ["Prefill_0_I", "Prefill_5_I"]
    assert len(load_dataset_for(DataConfig(format="kodcode_rl", path="builtin:smoke_rl", max_rows=4), kind="grpo")) == 4
    # the `square` row's tests import pytest: a blocked library drops it
    blocked = load_dataset_for(DataConfig(format="kodcode_rl", path="builtin:smoke_rl", blocked_libraries=["pytest"]),
                               kind="grpo")
    assert "Prefill_5_I" not in blocked["question_id"] and len(blocked) == 5


def test_missing_inputs_say_what_to_do(tmp_path):
    with pytest.raises(FileNotFoundError, match="not a built-in dataset"):
        load_dataset_for(DataConfig(format="synth_sft", path="builtin:nope"), kind="sft")
    with pytest.raises(FileNotFoundError, match="does not exist"):
        load_dataset_for(DataConfig(format="synth_sft", path=str(tmp_path / "missing")), kind="sft")
    with pytest.raises(ValueError, match="where filters on column 'nope'"):
        load_dataset_for(DataConfig(format="kodcode_rl", path="builtin:smoke_rl", where={"nope": [1]}), kind="grpo")


def test_grpo_rows_carry_test_info_for_the_reward():
    ds = load_dataset_for(DataConfig(format="kodcode_rl", path="builtin:smoke_rl"), kind="grpo")
    assert expected_functions(ds[0]["test_info"]) == ["add"]  # the entry point the reward repairs names to
