"""The KodCode paper's Table 2 layout for one or more runs, as Markdown, CSV and a W&B table.

Columns (paper Table 2): HumanEval base/plus, MBPP base/plus, BigCodeBench-Complete full/hard,
BigCodeBench-Instruct full/hard, LiveCodeBench (v5) easy/medium/hard, and the average, which the
paper computes as the mean over the five benchmarks of each benchmark's sub-metric mean (checked
below on the published rows: Qwen2.5-Coder-32B-Instruct 59.25, KodCode-32B-50K 61.22).

A run's scores live in ``<out_dir>/scores.json``: ``{"run": name, "scores": {column key: percent}}``
with keys such as ``humaneval/base`` or ``bigcodebench_complete/hard``.  Missing cells print as
``-`` and the average is only given when every column is present.

    rows = [paper_row("KodCode-32B-50K"), load_run("outputs/eval/run1")]
    print(to_markdown(rows))
"""

from __future__ import annotations

import csv
import io
import json
import math
from pathlib import Path

# (key, header, benchmark group used by the average)
COLUMNS: list[tuple[str, str, str]] = [
    ("humaneval/base", "HE", "humaneval"),
    ("humaneval/plus", "HE+", "humaneval"),
    ("mbpp/base", "MBPP", "mbpp"),
    ("mbpp/plus", "MBPP+", "mbpp"),
    ("bigcodebench_complete/full", "BCB-C Full", "bigcodebench_complete"),
    ("bigcodebench_complete/hard", "BCB-C Hard", "bigcodebench_complete"),
    ("bigcodebench_instruct/full", "BCB-I Full", "bigcodebench_instruct"),
    ("bigcodebench_instruct/hard", "BCB-I Hard", "bigcodebench_instruct"),
    ("livecodebench/easy", "LCB Easy", "livecodebench"),
    ("livecodebench/medium", "LCB Medium", "livecodebench"),
    ("livecodebench/hard", "LCB Hard", "livecodebench"),
]
GROUPS = ("humaneval", "mbpp", "bigcodebench_complete", "bigcodebench_instruct", "livecodebench")

# KodCode paper (arXiv 2503.02951) Table 2, greedy decoding, 16K tokens; copied as published.
PAPER_ROWS: dict[str, list[float]] = {
    "Qwen2.5-Coder-32B-Instruct": [90.9, 85.4, 90.2, 77.0, 57.6, 31.1, 49.4, 25.7, 80.6, 39.0, 8.2],
    "KodCode-32B-50K": [92.7, 85.4, 89.9, 76.2, 59.8, 37.8, 51.1, 32.4, 87.8, 35.9, 6.7],
    "KodCode-32B-18K-Hard": [90.9, 86.6, 89.2, 77.0, 59.7, 37.2, 50.5, 31.1, 90.7, 39.3, 5.6],
    "Qwen2.5-32B-Instruct": [89.6, 79.9, 87.8, 73.8, 53.2, 26.4, 45.4, 22.3, 80.3, 35.9, 8.5],
}
PAPER_AVERAGES = {"Qwen2.5-Coder-32B-Instruct": 59.25, "KodCode-32B-50K": 61.22, "KodCode-32B-18K-Hard": 61.26}


def average(scores: dict[str, float]) -> float | None:
    """Paper's average: mean over the 5 benchmarks of the mean of each one's columns; None if incomplete."""
    means = []
    for g in GROUPS:
        vals = [scores.get(k) for k, _, grp in COLUMNS if grp == g]
        if any(v is None or (isinstance(v, float) and math.isnan(v)) for v in vals):
            return None
        means.append(sum(vals) / len(vals))
    return sum(means) / len(means)


def paper_row(name: str) -> dict:
    if name not in PAPER_ROWS:
        raise KeyError(f"no published row named {name!r}; known: {sorted(PAPER_ROWS)}")
    return {"run": f"{name} (paper)", "scores": dict(zip((k for k, _, _ in COLUMNS), PAPER_ROWS[name])),
            "reference": True}


def load_run(out_dir: str | Path) -> dict:
    path = Path(out_dir) / "scores.json"
    if not path.exists():
        raise FileNotFoundError(f"{path} does not exist: leaderboard.compare takes finished eval out_dirs")
    return json.loads(path.read_text())


def _cells(row: dict) -> list[str]:
    out = []
    for key, _, _ in COLUMNS:
        v = row["scores"].get(key)
        out.append("-" if v is None or (isinstance(v, float) and math.isnan(v)) else f"{v:.1f}")
    avg = average(row["scores"])
    out.append("-" if avg is None else f"{avg:.2f}")
    return out


def headers() -> list[str]:
    return ["Model"] + [h for _, h, _ in COLUMNS] + ["Avg"]


def to_markdown(rows: list[dict]) -> str:
    lines = ["| " + " | ".join(headers()) + " |", "|" + "---|" * len(headers())]
    for r in rows:
        lines.append("| " + " | ".join([r["run"], *_cells(r)]) + " |")
    return "\n".join(lines) + "\n"


def to_csv(rows: list[dict]) -> str:
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(headers())
    for r in rows:
        w.writerow([r["run"], *_cells(r)])
    return buf.getvalue()


def table_rows(rows: list[dict]) -> list[list]:
    """Numeric rows for a W&B table (None for missing cells)."""
    out = []
    for r in rows:
        vals = [r["scores"].get(k) for k, _, _ in COLUMNS]
        vals = [None if v is None or (isinstance(v, float) and math.isnan(v)) else round(v, 2) for v in vals]
        avg = average(r["scores"])
        out.append([r["run"], *vals, None if avg is None else round(avg, 2)])
    return out


def write(rows: list[dict], out_dir: str | Path) -> tuple[Path, Path]:
    out_dir = Path(out_dir)
    md, cs = out_dir / "leaderboard.md", out_dir / "leaderboard.csv"
    md.write_text(to_markdown(rows))
    cs.write_text(to_csv(rows))
    return md, cs
