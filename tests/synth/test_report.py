"""The report writes the paper's figures for a run and the numbers behind them."""

import json

from kodcode.synth.report import build_report, count_tests


def test_count_tests():
    assert count_tests("def test_a():\n    pass\n\nasync def x(): pass\n    def test_b(self):\n") == 2
    assert count_tests(None) == 0


def test_build_report_writes_every_figure(tmp_path):
    pak = {"Prefill": {"pass@1": 0.5, "pass@2": 0.75}, "all": {"pass@1": 0.5, "pass@2": 0.75}}
    diff = {"Prefill": {"easy": 1, "medium": 2, "hard": 0, "fail": 1}}
    decon = {"threshold": 0.95, "checked": 3, "dropped": 1, "cosine_histograms": {"Prefill": [0] * 19 + [3]}}
    flow = {"solve (attempts)": 12, "label (verified questions)": 3, "export (exported rows)": 2}
    rows = [{"question": "Write add.", "solution": "def add(a, b):\n    return a + b",
             "test": "def test_add():\n    assert add(1, 2) == 3\n\ndef test_zero():\n    assert add(0, 0) == 0"}]
    summary = build_report(pak, diff, decon, flow, rows, tmp_path)
    for name in ("pass_at_k", "lengths", "difficulty", "contamination", "data_flow"):
        assert (tmp_path / f"{name}.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    saved = json.loads((tmp_path / "summary.json").read_text())
    assert saved["lengths_mean"] == {"question_words": 2.0, "solution_lines": 2.0, "tests_per_question": 2.0}
    assert saved["data_flow"] == flow and "cosine_histograms" not in saved["contamination"]
    assert summary["figures"]["pass_at_k"].endswith("pass_at_k.png")
