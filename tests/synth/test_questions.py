"""Step 1 question stages through the runner with a scripted LLM: prompts built, replies parsed."""

import json
from pathlib import Path

import pytest

from kodcode import CONF_DIR
from kodcode.config import ConfigError
from kodcode.synth.runner import run
from kodcode.synth.seeds import SeedError

HERE = Path(__file__).parent
SEEDS = CONF_DIR / "synth" / "seeds"


def subset(name, path, num=2, per=1, **seeds):
    return {"name": name, "num_prompts": num, "seeds_per_prompt": per, "seeds": {"path": str(path), **seeds}}


def cfg(tmp: Path, stages, **extra) -> dict:
    out = {
        "run_dir": str(tmp / "run"),
        "stages": stages,
        "progress": False,
        "llm": {"backend": "scripted", "script": "questions_double:reply", "progress": False},
        "model": {"name_or_path": "scripted"},
        "wandb": {"mode": "disabled"},
        "stage": {
            "seeded": {"subsets": ["leetcode", "apps"]},
            "snippets": {"subsets": ["algorithm"]},
            "docs": {"subsets": ["docs"]},
            "prefill": {"num_questions": 5, "n_per_call": 2},
            "filter": {},
        },
        "subsets": {
            "prefill": {"name": "Prefill"},
            "leetcode": subset("Leetcode", SEEDS / "leetcode.jsonl", num=3, per=3, field="description", id_field="id"),
            "apps": subset("Apps", SEEDS / "apps.jsonl", field="question", id_field="problem_id"),
            "algorithm": subset("Algorithm", SEEDS / "algorithm.jsonl", num=2, field="codes", id_field="id"),
            "docs": subset("Docs", SEEDS / "docs.jsonl", num=6, field="content", id_field="id",
                           extra_fields=["source_name"]),
            "filter": subset("Filter", SEEDS / "filter.jsonl", num=4, field="instruction", id_field="id"),
        },
    }
    out.update(extra)
    return out


@pytest.fixture(autouse=True)
def _double_on_path(monkeypatch):
    monkeypatch.syspath_prepend(str(HERE))


def output(tmp: Path, stage: str) -> list[dict]:
    path = tmp / "run" / stage / "part-00000-of-00001.jsonl"
    return [json.loads(line) for line in path.read_text().splitlines()]


def test_seeded_uses_three_leetcode_seeds_and_one_elsewhere(tmp_path):
    run(cfg(tmp_path, ["seeded"]))
    rows = output(tmp_path, "seeded")
    by_subset = {}
    for r in rows:
        by_subset.setdefault(r["subset"], []).append(r)
    assert [r["question_id"] for r in by_subset["Leetcode"]] == [f"Leetcode_{i:08d}" for i in range(3)]
    assert all(len(r["metadata"]["seed_ids"]) == 3 for r in by_subset["Leetcode"])
    assert all(len(r["metadata"]["seed_ids"]) == 1 for r in by_subset["Apps"])
    # the reply's heading and "[Question 4]:" label are stripped; the count tells which prompt it saw
    assert by_subset["Leetcode"][0]["question"] == "Given a list, return a new question about 3 seeds."
    assert by_subset["Apps"][0]["question"] == "Given a list, return a new question about 1 seeds."
    assert rows[0]["metadata"]["prompt"].startswith("question_from_seeds.txt@")


def test_snippet_question_comes_from_the_question_block(tmp_path):
    run(cfg(tmp_path, ["snippets"]))
    questions = {r["question"] for r in output(tmp_path, "snippets")}
    assert questions <= {"Implement a binary search variant that returns the first index.",
                         "Implement a structure variant that returns the first index."}
    assert questions and all("Analysis" not in q for q in questions)


def test_docs_abstention_drops_the_row_and_is_counted(tmp_path):
    summary = run(cfg(tmp_path, ["docs"]))
    rows = output(tmp_path, "docs")
    counts = summary["stages"]["docs"]["counts"]
    assert counts.get("dropped_abstained", 0) == 6 - len(rows) and counts["dropped_abstained"] > 0
    assert all(r["question"] == "Write a function using itertools that pairs neighbours." for r in rows)


def test_prefill_samples_prefix_plus_completion(tmp_path):
    run(cfg(tmp_path, ["prefill"]))
    rows = output(tmp_path, "prefill")
    assert [r["question_id"] for r in rows] == [f"Prefill_{i:08d}" for i in range(5)]
    assert rows[0]["question"] == "Write a python function to reverse a string number 0."
    assert rows[4]["question"] == "Write a python function to reverse a string number 0."  # third call, n=1


def test_prefill_requests_are_raw_template_plus_prefix_stopping_at_newline(tmp_path):
    from kodcode.llm.scripted import ScriptedLLM
    import questions_double

    seen = []

    def factory(llm_cfg, model_cfg):
        llm = ScriptedLLM(questions_double.reply)
        seen.append(llm)
        return llm

    run(cfg(tmp_path, ["prefill"]), llm_factory=factory)
    [llm] = seen
    assert [r.n for r in llm.calls] == [2, 2, 1]
    assert all(r.prompt.endswith("<|im_start|>user\nWrite a python function to") for r in llm.calls)
    assert all("\n" in r.stop and r.temperature == 1.0 for r in llm.calls)
    assert len({r.seed for r in llm.calls}) == 3


def test_filter_keeps_good_algorithm_or_function_tasks(tmp_path):
    summary = run(cfg(tmp_path, ["filter"]))
    rows = output(tmp_path, "filter")
    assert sorted(r["metadata"]["seed_ids"][0] for r in rows) == ["f1", "f3"]
    counts = summary["stages"]["filter"]["counts"]
    assert (counts["kept"], counts["low_quality"], counts["off_category"]) == (2, 1, 1)
    assert all(r["metadata"]["input_quality"] == "excellent" for r in rows)


def test_question_stages_append_to_what_they_receive(tmp_path):
    run(cfg(tmp_path, ["prefill", "seeded", "filter"]))
    rows = output(tmp_path, "filter")
    assert [r["subset"] for r in rows].count("Prefill") == 5
    assert {r["subset"] for r in rows} == {"Prefill", "Leetcode", "Apps", "Filter"}


def test_unknown_subset_names_are_all_reported_before_anything_runs(tmp_path):
    c = cfg(tmp_path, ["prefill", "seeded"])
    c["stage"]["seeded"]["subsets"] = ["leetcode", "leetcod", "hackerrank"]
    with pytest.raises(ConfigError) as e:
        run(c)
    msg = str(e.value)
    assert "unknown subset 'leetcod'" in msg and "unknown subset 'hackerrank'" in msg and "defined subsets:" in msg
    assert not (tmp_path / "run" / "prefill").exists()  # nothing ran


def test_missing_seed_file_is_one_clear_startup_error(tmp_path):
    c = cfg(tmp_path, ["seeded"])
    c["subsets"]["apps"]["seeds"]["path"] = str(tmp_path / "nope.jsonl")
    with pytest.raises(ConfigError, match=r"subsets.apps.seeds.path=.*nope.jsonl does not exist"):
        run(c)


def test_malformed_seed_file_names_file_and_line(tmp_path):
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"question": "fine"}\n{"question": oops}\n')
    c = cfg(tmp_path, ["seeded"])
    c["subsets"]["apps"]["seeds"] = {"path": str(bad), "field": "question"}
    with pytest.raises(SeedError, match=r"subset apps: .*bad.jsonl:2: not valid JSON"):
        run(c)


def test_wrong_seed_column_lists_the_columns_there(tmp_path):
    c = cfg(tmp_path, ["seeded"])
    c["subsets"]["apps"]["seeds"]["field"] = "prompt"
    with pytest.raises(SeedError, match=r"has no column 'prompt' \(columns: problem_id, question\)"):
        run(c)


def test_replies_cut_at_max_tokens_are_dropped_unless_configured(tmp_path):
    from kodcode.llm.scripted import ScriptedLLM
    from kodcode.llm.types import GenerationResult
    import questions_double

    def cut(request):
        return GenerationResult([questions_double.reply(request)], ["length"], 0, [4096])

    summary = run(cfg(tmp_path, ["seeded"]), llm_factory=lambda *_: ScriptedLLM(cut))
    assert summary["stages"]["seeded"]["counts"]["dropped_truncated"] == 5 and summary["output"] == 0
    c = cfg(tmp_path, ["seeded"])
    c["stage"]["seeded"]["drop_truncated"] = False
    assert run(c, llm_factory=lambda *_: ScriptedLLM(cut))["output"] == 5


def test_seeds_from_a_local_dataset_directory_by_name(tmp_path):
    # hf_name goes through datasets.load_dataset; a local folder of JSONL files needs no network.
    data = tmp_path / "my_seeds"
    data.mkdir()
    (data / "train.jsonl").write_text("".join(json.dumps({"q": f"Question {i}?"}) + "\n" for i in range(3)))
    from kodcode.synth.seeds import SeedSource, load_seeds

    seeds = load_seeds(SeedSource(hf_name=str(data), split="train", field="q"), "apps")
    assert [s.text for s in seeds] == ["Question 0?", "Question 1?", "Question 2?"]


def test_seeds_from_parquet_and_gzipped_json(tmp_path):
    import gzip

    import pyarrow as pa
    import pyarrow.parquet as pq

    from kodcode.synth.seeds import SeedSource, load_seeds

    pq.write_table(pa.Table.from_pylist([{"id": 7, "codes": "def f(): pass"}]), tmp_path / "s.parquet")
    with gzip.open(tmp_path / "s.json.gz", "wt") as f:
        json.dump([{"id": 8, "codes": "def g(): pass"}], f)
    got = [load_seeds(SeedSource(path=str(tmp_path / name), field="codes", id_field="id"), "algorithm")[0]
           for name in ("s.parquet", "s.json.gz")]
    assert [(s.id, s.text) for s in got] == [("7", "def f(): pass"), ("8", "def g(): pass")]


@pytest.mark.parametrize("stage_name", ["prefill", "seeded", "filter"])
def test_question_stages_stream_in_windows_with_the_same_rows(tmp_path, stage_name):
    """A window of 1 prompt (or engine call, or instruction) per generation call writes the rows a
    single call writes, in the same order, with the same counts; rows go out as each window ends."""
    from kodcode.synth import store

    def rows_and_counts(run_dir: str, window: int):
        c = cfg(tmp_path, ["prefill", stage_name] if stage_name != "prefill" else ["prefill"], run_dir=str(tmp_path / run_dir))
        c["stage"][stage_name]["window"] = window
        summary = run(c)
        part = tmp_path / run_dir / stage_name / "part-00000-of-00001.jsonl"
        return [json.loads(line) for line in part.read_text().splitlines()], summary["stages"][stage_name]["counts"]

    whole, whole_counts = rows_and_counts("whole", 10_000)
    writes: list[int] = []
    write = store.PartWriter.write

    def recording(self, rec):
        writes.append(len(calls))
        write(self, rec)

    from kodcode.llm import scripted

    calls: list[int] = []
    generate = scripted.ScriptedLLM.generate

    def counting(self, requests, *a, **k):
        calls.append(len(requests))
        return generate(self, requests, *a, **k)

    mp = pytest.MonkeyPatch()
    mp.setattr(store.PartWriter, "write", recording)
    mp.setattr(scripted.ScriptedLLM, "generate", counting)
    try:
        windowed, counts = rows_and_counts("windowed", 1)
    finally:
        mp.undo()
    assert windowed == whole and counts == whole_counts and len(whole) >= 5
    own_stage = writes[-len(windowed):]  # the earlier prefill stage wrote the first ones
    mine = [n for n, r in zip(own_stage, windowed) if r["metadata"].get("method") == (
        "filter" if stage_name == "filter" else stage_name)]
    assert len(set(mine)) > 1  # the stage's own rows were written across several generation calls
