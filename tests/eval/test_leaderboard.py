"""The paper's Table 2 layout: columns, the paper's average, published rows, side-by-side runs."""

import json

import pytest

from kodcode.eval import leaderboard as lb


def test_average_reproduces_the_published_averages():
    for name, avg in lb.PAPER_AVERAGES.items():
        assert round(lb.average(lb.paper_row(name)["scores"]), 2) == avg


def test_markdown_has_the_table2_columns_and_one_row_per_run():
    md = lb.to_markdown([lb.paper_row("KodCode-32B-50K")]).splitlines()
    assert md[0] == ("| Model | HE | HE+ | MBPP | MBPP+ | BCB-C Full | BCB-C Hard | BCB-I Full | BCB-I Hard | "
                     "LCB Easy | LCB Medium | LCB Hard | Avg |")
    assert md[2] == ("| KodCode-32B-50K (paper) | 92.7 | 85.4 | 89.9 | 76.2 | 59.8 | 37.8 | 51.1 | 32.4 | 87.8 | "
                     "35.9 | 6.7 | 61.22 |")


def test_missing_cells_print_dashes_and_no_average():
    row = {"run": "partial", "scores": {"humaneval/base": 50.0, "humaneval/plus": 40.0}}
    assert lb.to_csv([row]).splitlines()[1] == "partial,50.0,40.0,-,-,-,-,-,-,-,-,-,-"
    assert lb.table_rows([row])[0][:4] == ["partial", 50.0, 40.0, None]


def test_runs_side_by_side_from_their_out_dirs(tmp_path):
    for i, name in enumerate(["a", "b"]):
        (tmp_path / name).mkdir()
        scores = {k: 10.0 * (i + 1) for k, _, _ in lb.COLUMNS}
        (tmp_path / name / "scores.json").write_text(json.dumps({"run": name, "scores": scores}))
    rows = [lb.load_run(tmp_path / "a"), lb.load_run(tmp_path / "b"), lb.paper_row("Qwen2.5-Coder-32B-Instruct")]
    md, cs = lb.write(rows, tmp_path)
    lines = md.read_text().splitlines()
    assert [line.split(" | ")[0] for line in lines[2:]] == ["| a", "| b", "| Qwen2.5-Coder-32B-Instruct (paper)"]
    assert lines[2].endswith("| 10.00 |") and lines[3].endswith("| 20.00 |")
    assert len(cs.read_text().splitlines()) == 4


def test_unknown_paper_row_names_the_known_ones():
    with pytest.raises(KeyError, match="KodCode-32B-50K"):
        lb.paper_row("KodCode-7B")
