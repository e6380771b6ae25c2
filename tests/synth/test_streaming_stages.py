"""label, dedup and export stream their input: the rows they write are the rows (same values, same
order) that the whole-list computation gives, on inputs that span several batches."""

import json
import zlib

import datasets
import numpy as np
import pyarrow.parquet as pq
import pytest

from kodcode.synth import dedup as dedup_mod
from kodcode.synth import export as export_mod
from kodcode.synth import store
from kodcode.synth.dedup import DedupConfig, dedup_group
from kodcode.synth.export import (KODCODE_V1_COLUMNS, LIGHT_RL_COLUMNS, RL_PROMPT_COLUMNS, SFT_R1_COLUMNS,
                                  _dataset, kodcode_v1_rows, light_rl_rows, rl_prompt_rows, sft_r1_rows, sft_split)
from kodcode.synth.label import (difficulty_by_subset, label_questions, pass_at_k_by_subset, question_of,
                                 triplet_id)
from kodcode.synth.runner import run


def run_stage(tmp_path, name, rows, **stage_cfg):
    src = tmp_path / "in.jsonl"
    src.write_text("".join(json.dumps(r) + "\n" for r in rows))
    cfg = {"run_dir": str(tmp_path / "run"), "stages": [name], "input": str(src), "progress": False,
           "heartbeat_s": 0, "llm": {"backend": "scripted", "script": "x:y"}, "model": {"name_or_path": "none"},
           "wandb": {"mode": "disabled"}, "stage": {name: stage_cfg}}
    run(cfg)
    out = store.read_jsonl(store.part_path(tmp_path / "run" / name, (0, 1)))
    return out, store.read_manifest(tmp_path / "run" / name, (0, 1))["counts"]


# -- label ---------------------------------------------------------------------------------------

def _attempt(q: int, a: int) -> dict:
    passed = (q * 7 + a * 3) % 4 != 0 and q % 5 != 4  # questions 4 and 9 never pass
    status = "sandbox_error" if (q, a) == (2, 1) else ("pass" if passed else "fail")
    return {"question_id": f"Q{q}", "subset": "leetcode" if q % 2 else "data_structure", "question": f"question {q}",
            "metadata": {"prompt_id": q}, "attempt": a, "passed": passed and status == "pass",
            "solution": f"def f():\n    return {q}{a}", "test": f"def test_f():\n    assert f() == {q}{a}",
            "test_info": [{"function_name": "f"}], "verdict": {"status": status, "n_tests": 1 + (q + a) % 3}}


def label_in_memory(records: list[dict], ks: list[int]):
    """The stage as a computation over the whole list."""
    questions: dict[str, dict] = {}
    for a in records:
        questions.setdefault(a["question_id"], question_of(a))
    verified, failed = label_questions(list(questions.values()), records, "trial")
    for t in verified:
        t["question_id"] = triplet_id(t["subset"], t["question_id"])
        t.pop("n_sandbox_errors")
    return verified, difficulty_by_subset(verified + failed), pass_at_k_by_subset(verified + failed, ks)


def test_label_streams_questions_whose_attempts_are_spread_over_the_input(tmp_path):
    # Attempt-major order (round 1 of every question, then round 2, ...), as first_pass solving writes.
    rows = [_attempt(q, a) for a in range(3) for q in (3, 0, 7, 1, 9, 2, 4, 8, 5, 6)]
    out, counts = run_stage(tmp_path, "label", rows)
    verified, difficulty, pass_at_k = label_in_memory(rows, [1, 2, 3, 5, 10])
    assert out == verified and [r["question_id"] for r in out][:2] == ["Leetcode_Q3_I", "Data_Structure_Q0_I"]
    assert counts["difficulty"] == difficulty and counts["failed"] == 2
    assert counts["pass_at_k"] == {s: pytest.approx(v) for s, v in pass_at_k.items()}
    assert not list((tmp_path / "run" / "label").glob(".group-*"))  # the on-disk sort is cleaned up


# -- dedup ---------------------------------------------------------------------------------------

class HashEmbedder:
    """``base N`` texts get a random unit vector of their own; ``base N, variant M`` one near it
    (cosine about 0.99): near-duplicates without a model, the same vector whatever the batch."""

    def encode(self, texts, **_):
        out = []
        for t in texts:
            base = np.random.default_rng(zlib.crc32(t.split(",")[0].encode())).standard_normal(32)
            noise = np.random.default_rng(zlib.crc32(t.encode())).standard_normal(32)
            v = base / np.linalg.norm(base) + (0.02 * noise if "," in t else 0)
            out.append(v / np.linalg.norm(v))
        return np.asarray(out, dtype="float32")


def dedup_in_memory(records: list[dict], cfg: DedupConfig) -> list[dict]:
    """The stage as a computation over the whole list."""
    vecs = dedup_mod.embed([r["question"] for r in records], HashEmbedder())
    groups: dict[str, list[int]] = {}
    for i, r in enumerate(records):
        groups.setdefault(r["subset"] if cfg.scope == "subset" else "", []).append(i)
    kept = {}
    for idx in groups.values():
        keep, info = dedup_group(vecs[idx], cfg)
        for local in keep:
            m, j = info[local], info[local]["nearest_index"]
            kept[idx[local]] = {"nearest_similarity": m["nearest_similarity"], "group_size": m["group_size"],
                                "nearest_id": records[idx[j]]["question_id"] if j is not None else None}
    return [{**r, "metadata": {**r.get("metadata", {}), "dedup": kept[i]}} for i, r in enumerate(records) if i in kept]


@pytest.mark.parametrize("mode", ["keep_one", "kodcode"])
def test_dedup_streams_in_chunks_and_keeps_the_rows_the_whole_list_would(tmp_path, monkeypatch, mode):
    monkeypatch.setattr(dedup_mod, "load_embedder", lambda name, device="cpu": HashEmbedder())
    monkeypatch.setattr(dedup_mod, "EMBED_CHUNK", 4)  # the first pass embeds in several calls
    texts = ["base 1", "base 2", "base 1, variant 1", "base 3", "base 2, variant 1", "base 4", "base 1, variant 2",
             "base 5", "base 6", "base 3", "base 7"]
    rows = [{"question_id": f"q{i}", "subset": "A" if i % 4 else "B", "question": t, "metadata": {"i": i}}
            for i, t in enumerate(texts)]
    cfg = {"mode": mode, "cache_dir": str(tmp_path / "emb")}
    out, counts = run_stage(tmp_path, "dedup", rows, **cfg)
    assert out == dedup_in_memory(rows, DedupConfig(**cfg))
    assert counts["removed"] == len(rows) - len(out) > 0


# -- export --------------------------------------------------------------------------------------

def _row(i: int) -> dict:
    row = {"style": "instruct", "subset": "Prefill", "question_id": f"Prefill_{i}_I", "question": f"Q {i}",
           "solution": "def f():\n    return 1", "test": "def test_f():\n    assert f() == 1",
           # The first batch has no test_info and no docstring: its inferred types are null.
           "test_info": None if i < 2 else [{"function_name": "f", "parameter_list": "()",
                                             "function_declaration": "def f():", "docstring": "d" if i > 4 else None}],
           "gpt_pass_sequence": [1, 0], "gpt_pass_trial_num": 1, "gpt_difficulty": "medium",
           "gpt_pass_percentage": 0.5, "chosen_trial": "trial_0",
           # Trial names differ between batches (trial_10 sorts after trial_2).
           "trials": {f"trial_{t}": {"file_source": "", "solution_code": "s", "test_code": "t", "test_coverage": None,
                                     "test_result": "Pass"} for t in ([0, 1] if i < 3 else [0, 2, 10])},
           "metadata": {"prompt_id": i, "row_id": i, "seed_ids": [i]}}
    if i % 3:
        row.update(r1_pass_sequence=[i % 2], r1_pass_trial_num=i % 2, r1_correctness=str(bool(i % 2)),
                   r1_solution="x", conversations=[{"from": "human", "value": "Q"}, {"from": "gpt", "value": "A"}],
                   nearest_benchmark={"contaminated": i == 5})
    return row


def test_export_streams_in_batches_and_writes_what_from_list_gives(tmp_path, monkeypatch):
    monkeypatch.setattr(export_mod, "BATCH", 2)
    rows = [_row(i) for i in range(11)]
    out, counts = run_stage(tmp_path, "export", rows, light_rl_size=3, light_rl_seed=4)
    assert out == rows
    sft = [r for r in rows if "conversations" in r]
    want = {
        ("kodcode_v1", None): _dataset(kodcode_v1_rows(rows), KODCODE_V1_COLUMNS),
        ("rl_prompts", None): _dataset(rl_prompt_rows(rows), RL_PROMPT_COLUMNS),
        ("light_rl", "train"): _dataset(light_rl_rows(sft, 3, 4), LIGHT_RL_COLUMNS),
        **{("sft_r1", s): _dataset(sft_r1_rows([r for r in sft if sft_split(r) == s]), SFT_R1_COLUMNS)
           for s in ("train", "incorrect", "use_with_caution")},
    }
    root = tmp_path / "run" / "export" / "datasets"
    for (name, split), ref in want.items():
        got = datasets.load_from_disk(str(root / name))
        got = got[split] if split else got
        assert got.features == ref.features, (name, split)
        assert got.to_list() == ref.to_list(), (name, split)
        table = pq.read_table(root / "parquet" / f"{name}{'-' + split if split else ''}.parquet")
        assert table.to_pylist() == ref.to_list()
    assert (counts["sft_train"], counts["sft_incorrect"], counts["sft_use_with_caution"], counts["light_rl"]) == (
        2, 4, 1, 3)
    assert not (root / ".arrow-tmp").exists()
