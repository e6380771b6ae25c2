"""kodcode.rows: every row format round-trips, and every problem names the file, the line and the fix."""

from __future__ import annotations

import gzip
import json
import subprocess
import sys

import pytest

from kodcode.rows import BadRow, RowsError, numbered_rows, read_rows, write_rows

ROWS = [{"id": "r1", "question": "Add two numbers.", "n": 1}, {"id": "r2", "question": "Größte Zahl", "n": 2}]


@pytest.mark.parametrize("name", ["rows.jsonl", "rows.json", "rows.parquet", "rows.jsonl.gz", "rows.json.gz"])
def test_write_then_read_gives_the_same_rows(tmp_path, name):
    path = write_rows(tmp_path / "sub" / name, ROWS)
    assert list(read_rows(path)) == ROWS
    assert [p.name for p in path.parent.iterdir()] == [name]  # the temp file was renamed, not left


def test_jsonl_gz_is_gzip_and_json_is_one_list(tmp_path):
    write_rows(tmp_path / "a.jsonl.gz", ROWS)
    write_rows(tmp_path / "b.json", ROWS)
    with gzip.open(tmp_path / "a.jsonl.gz", "rt", encoding="utf-8") as f:
        assert [json.loads(line) for line in f] == ROWS
    assert json.loads((tmp_path / "b.json").read_text()) == ROWS


def test_json_variants_read_as_rows(tmp_path):
    (tmp_path / "lines.json").write_text("\n".join(json.dumps(r) for r in ROWS) + "\n")  # JSONL named .json
    (tmp_path / "wrapped.json").write_text(json.dumps({"rows": ROWS}))
    (tmp_path / "array.jsonl").write_text(json.dumps(ROWS))  # a JSON list named .jsonl
    for name in ("lines.json", "wrapped.json", "array.jsonl"):
        assert list(read_rows(tmp_path / name)) == ROWS, name


def test_blank_lines_are_skipped_and_numbers_are_file_lines(tmp_path):
    path = tmp_path / "r.jsonl"
    path.write_text(f"\n{json.dumps(ROWS[0])}\n\n{json.dumps(ROWS[1])}\n")
    assert list(numbered_rows(path)) == [(2, ROWS[0]), (4, ROWS[1])]


def test_malformed_line_names_file_line_text_and_fix(tmp_path):
    path = tmp_path / "bad.jsonl"
    path.write_text('{"id": "ok"}\n{"id": 1 "q": 2}\n')
    with pytest.raises(RowsError) as e:
        list(read_rows(path))
    msg = str(e.value)
    assert msg.startswith(f"{path}:2: not valid JSON (")
    assert '{"id": 1 "q": 2}' in msg and "(fix: " in msg


def test_a_line_that_is_not_an_object_is_an_error(tmp_path):
    path = tmp_path / "list.jsonl"
    path.write_text('{"id": "ok"}\n[1, 2]\n')
    with pytest.raises(RowsError, match=r"list.jsonl:2: a JSON list, not an object \(fix: "):
        list(read_rows(path))


def test_keep_yields_bad_rows_in_place_and_reads_on(tmp_path):
    path = tmp_path / "mixed.jsonl"
    path.write_text('{"id": "a"}\nnot json\n7\n{"id": "b"}\n')
    got = list(numbered_rows(path, errors="keep"))
    assert [n for n, _ in got] == [1, 2, 3, 4]
    assert got[0][1] == {"id": "a"} and got[3][1] == {"id": "b"}
    bad = [row for _, row in got if isinstance(row, BadRow)]
    assert [(b.line, b.raw) for b in bad] == [(2, "not json\n"), (3, "7\n")]
    assert bad[0].message.startswith(f"{path}:2: not valid JSON")


def test_missing_file_is_a_file_not_found_error_naming_it(tmp_path):
    path = tmp_path / "nope.jsonl"
    with pytest.raises(FileNotFoundError, match=r"nope.jsonl: does not exist \(fix: check the path"):
        list(read_rows(path))
    with pytest.raises(RowsError):
        list(read_rows(path))


def test_unknown_extension_names_the_formats(tmp_path):
    path = tmp_path / "rows.csv"
    path.write_text("id,question\n")
    with pytest.raises(RowsError, match=r"rows.csv: unknown extension '.csv' \(fix: give a .jsonl, .json or .parquet"):
        list(read_rows(path))
    with pytest.raises(RowsError, match="unknown extension"):
        write_rows(tmp_path / "out.txt", ROWS)
    assert not (tmp_path / "out.txt").exists()


def test_not_gzip_and_not_parquet_are_reported_per_file(tmp_path):
    (tmp_path / "fake.jsonl.gz").write_text('{"id": 1}\n')
    (tmp_path / "fake.parquet").write_text('{"id": 1}\n')
    with pytest.raises(RowsError, match=r"fake.jsonl.gz: cannot be read as text"):
        list(read_rows(tmp_path / "fake.jsonl.gz"))
    with pytest.raises(RowsError, match=r"fake.parquet: cannot be read as Parquet"):
        list(read_rows(tmp_path / "fake.parquet"))


def test_a_failed_write_leaves_the_old_file(tmp_path):
    path = write_rows(tmp_path / "keep.jsonl", ROWS)
    with pytest.raises(TypeError):
        write_rows(path, [{"x": object()}])
    assert list(read_rows(path)) == ROWS
    assert [p.name for p in tmp_path.iterdir()] == ["keep.jsonl"]


def test_saved_dataset_dir_reads_as_rows(tmp_path):
    datasets = pytest.importorskip("datasets")
    datasets.Dataset.from_list(ROWS).save_to_disk(str(tmp_path / "saved"))
    assert list(read_rows(tmp_path / "saved")) == ROWS
    datasets.DatasetDict({"test": datasets.Dataset.from_list(ROWS)}).save_to_disk(str(tmp_path / "dd"))
    assert list(read_rows(tmp_path / "dd", split="test")) == ROWS
    with pytest.raises(RowsError, match=r"dd: has no split 'train' \(splits: test\) \(fix: "):
        list(read_rows(tmp_path / "dd"))


def test_importing_rows_pulls_in_no_heavy_library():
    code = ("import sys, kodcode.rows\n"
            "print(','.join(m for m in ('pyarrow', 'datasets', 'numpy', 'torch') if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == ""
