"""Streaming stages: records arrive as an iterator, outputs are written as produced, and a shard
parses only its own slice of the input."""

import json

from kodcode.synth import store
from kodcode.synth.runner import run, stage
from kodcode.synth.store import StreamInput

SEEN: dict[str, object] = {}


@stage("stream_upper", streams=True)
def _upper(records, ctx):
    SEEN["type"] = type(records)
    n = 0
    for r in records:
        n += 1
        yield {**r, "question": r["question"].upper()}
    ctx.counts["seen"] = n


def cfg(tmp_path, **extra):
    return {"run_dir": str(tmp_path / "run"), "stages": ["stream_upper"], "progress": False, "heartbeat_s": 0,
            "llm": {"backend": "scripted", "script": "x:y"}, "model": {"name_or_path": "none"},
            "wandb": {"mode": "disabled"}, **extra}


def write_input(path, n, bad_line_at=None):
    lines = [json.dumps({"question_id": f"q{i}", "question": f"q {i}"}) for i in range(n)]
    if bad_line_at is not None:
        lines[bad_line_at] = '{"question_id": "broken", '
    path.write_text("\n".join(lines) + "\n")
    return path


def test_streaming_stage_gets_a_lazy_input_and_its_manifest_hashes_what_it_wrote(tmp_path):
    src = write_input(tmp_path / "in.jsonl", 10)
    summary = run(cfg(tmp_path, input=str(src)))
    assert SEEN["type"] is StreamInput  # lazy, not a list
    out = store.read_jsonl(tmp_path / "run" / "stream_upper" / "part-00000-of-00001.jsonl")
    assert [r["question"] for r in out] == [f"Q {i}" for i in range(10)]
    m = json.loads((tmp_path / "run" / "stream_upper" / "manifest-00000-of-00001.json").read_text())
    assert m["output_hash"] == store.hash_records(out)
    assert m["counts"] == {"input": 10, "output": 10, "seen": 10} and summary["output"] == 10
    assert run(cfg(tmp_path, input=str(src)))["stages"]["stream_upper"]["status"] == "skipped"


def test_a_shard_parses_only_its_slice_and_the_shards_add_up_to_the_whole(tmp_path):
    src = write_input(tmp_path / "in.jsonl", 9, bad_line_at=8)  # the last row is broken: only shard 2 sees it
    for i in range(2):
        assert run(cfg(tmp_path, input=str(src), shard=f"{i}/3"))["output"] == 3
    got = [r["question_id"] for i in range(2)
           for r in store.read_jsonl(tmp_path / "run" / "stream_upper" / f"part-{i:05d}-of-00003.jsonl")]
    assert got == [f"q{i}" for i in range(6)]


def test_rows_slice_matches_list_slicing_with_blank_lines_and_no_final_newline(tmp_path):
    p = tmp_path / "x.jsonl"
    p.write_text('{"a": 0}\n\n{"a": 1}\n{"a": 2}\n{"a": 3}\n{"a": 4}')
    rows = store.Rows([p])
    assert len(rows) == 5
    assert [[r["a"] for r in rows.slice(i, 3)] for i in range(3)] == [[0], [1, 2], [3, 4]]
    assert rows.hash == store.hash_records(store.read_jsonl(p))
