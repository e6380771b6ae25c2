"""Benchmark loading and the nearest-benchmark drop rule."""

import gzip
import json

import numpy as np
import pytest

from kodcode.synth.decontaminate import BenchmarkSource, decontaminate, load_benchmark_texts

VECS = {"q-dup": [1.0, 0.0, 0.0], "bench-a": [1.0, 0.01, 0.0], "q-far": [0.0, 1.0, 0.0],
        "bench-b": [0.0, 0.0, 1.0], "q-near": [0.9, 0.0, 0.44]}


def fake_embed(texts):
    v = np.array([VECS[t] for t in texts], dtype=np.float32)
    return v / np.linalg.norm(v, axis=1, keepdims=True)


def test_rows_above_threshold_are_dropped_and_reported_per_subset():
    rows = [{"question_id": "P_1_I", "subset": "Prefill", "question": "q-dup"},
            {"question_id": "P_2_I", "subset": "Prefill", "question": "q-far"},
            {"question_id": "L_3_I", "subset": "Leetcode", "question": "q-near"}]
    bench = [{"benchmark": "humaneval", "task_id": "HumanEval/1", "text": "bench-a"},
             {"benchmark": "mbpp", "task_id": "Mbpp/2", "text": "bench-b"}]
    kept, summary = decontaminate(rows, bench, fake_embed, threshold=0.95)
    assert [r["question_id"] for r in kept] == ["P_2_I", "L_3_I"]
    assert summary["dropped"] == 1 and summary["by_benchmark"] == {"humaneval": 1}
    assert summary["by_subset"] == {"Leetcode": {"checked": 1, "dropped": 0, "flagged": 0},
                                    "Prefill": {"checked": 2, "dropped": 1, "flagged": 0}}
    assert summary["dropped_ids"][0]["task_id"] == "HumanEval/1"
    assert kept[1]["nearest_benchmark"]["benchmark"] == "humaneval"  # 0.9 cosine: kept, but recorded
    assert 0.85 < kept[1]["nearest_benchmark"]["cosine"] < 0.95


def test_flag_keeps_every_row_marks_the_overlap_and_reports_it_per_benchmark():
    rows = [{"question_id": "P_1_I", "subset": "Prefill", "question": "q-dup"},
            {"question_id": "P_2_I", "subset": "Prefill", "question": "q-far"}]
    bench = [{"benchmark": "humaneval", "task_id": "HumanEval/1", "text": "bench-a"}]
    kept, summary = decontaminate(rows, bench, fake_embed, threshold=0.95, action="flag")
    assert [r["nearest_benchmark"]["contaminated"] for r in kept] == [True, False]
    assert (summary["dropped"], summary["flagged"], summary["by_benchmark"]) == (0, 1, {"humaneval": 1})
    assert summary["flagged_ids"][0]["question_id"] == "P_1_I"


def test_benchmark_files_in_every_format(tmp_path):
    with gzip.open(tmp_path / "a.jsonl.gz", "wt") as f:
        f.write(json.dumps({"task_id": "A/0", "prompt": "one", "other": "x"}) + "\n")
    (tmp_path / "b.json").write_text(json.dumps([{"question_id": "B/0", "question_content": "two"}]))
    import pyarrow as pa
    import pyarrow.parquet as pq

    pq.write_table(pa.Table.from_pylist([{"task_id": "C/0", "instruct_prompt": "three", "complete_prompt": "four"}]),
                   tmp_path / "c.parquet")
    entries, skipped = load_benchmark_texts([
        BenchmarkSource("a", str(tmp_path / "a.jsonl.gz")),
        BenchmarkSource("b", str(tmp_path / "b.json"), ["question_content"], "question_id"),
        BenchmarkSource("c", str(tmp_path / "c.parquet"), ["instruct_prompt", "complete_prompt"]),
    ])
    assert [(e["benchmark"], e["task_id"], e["text"]) for e in entries] == [
        ("a", "A/0", "one"), ("b", "B/0", "two"), ("c", "C/0", "three"), ("c", "C/0", "four")]
    assert skipped == []


def test_missing_source_names_the_fix(tmp_path):
    src = [BenchmarkSource("livecodebench", str(tmp_path / "nope.jsonl"))]
    with pytest.raises(FileNotFoundError, match="benchmark 'livecodebench' could not be read.*skip_missing"):
        load_benchmark_texts(src)
    assert load_benchmark_texts(src, skip_missing=True) == ([], ["livecodebench"])


def test_unknown_official_loader_is_named():
    with pytest.raises(FileNotFoundError, match="no official loader for 'nope'"):
        load_benchmark_texts([BenchmarkSource("nope", "official:nope")])
