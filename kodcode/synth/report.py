"""Report: this run's versions of the paper's figures, as PNG files, a JSON summary and W&B panels.

* ``pass_at_k.png``   pass@k by subset over the attempts (paper Fig. 2; unbiased estimator, every
  attempted question in the denominator)
* ``lengths.png``     question length (words), solution length (lines), tests per question (Fig. 3)
* ``difficulty.png``  easy / medium / hard / fail by subset (Fig. 5)
* ``contamination.png`` nearest-benchmark cosine by subset with the drop threshold (Fig. 6)
* ``data_flow.png``   rows after every stage (Fig. 7)

``summary.json`` holds the numbers behind every figure; ``<run_dir>/report/index.html`` shows them with
the funnels and a browser of questions and attempts (``kodcode/synth/report_page.py``).  Figures use matplotlib's Agg backend (no
display); W&B gets the images and tables through ``kodcode.tracking`` when a run is given.

Usage::

    from kodcode.synth.report import build_report
    summary = build_report(pass_at_k, difficulty, decontamination, flow, exported_rows, out_dir)
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

from kodcode.synth.label import DIFFICULTIES
from kodcode.synth.runner import stage


def _plt():
    import matplotlib

    matplotlib.use("Agg")  # files only; never a display
    import matplotlib.pyplot as plt

    return plt


def count_tests(test: str | None) -> int:
    return len(re.findall(r"^\s*def test_\w*\s*\(", test or "", re.MULTILINE))


def lengths(rows) -> dict[str, list[int]]:
    """Per row: question words, solution lines, tests (one pass over any iterable of rows)."""
    out: dict[str, list[int]] = {"question_words": [], "solution_lines": [], "tests_per_question": []}
    for r in rows:
        out["question_words"].append(len(r["question"].split()))
        out["solution_lines"].append(len((r.get("solution") or "").splitlines()))
        out["tests_per_question"].append(count_tests(r.get("test")))
    return out


def _save(fig, path: Path) -> str:
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    _plt().close(fig)
    return str(path)


def plot_pass_at_k(by_subset: dict[str, dict[str, float]], path: Path) -> str:
    plt = _plt()
    fig, ax = plt.subplots(figsize=(6, 4))
    # One colour and marker per subset: twelve subsets outrun the default ten-colour cycle.
    colours = plt.get_cmap("tab20").colors
    markers = "osD^v<>pXh*P"
    all_ks: set[int] = set()
    for i, (subset, vals) in enumerate(by_subset.items()):
        ks = [int(k.split("@")[1]) for k in vals]
        all_ks.update(ks)
        ax.plot(ks, [100 * v for v in vals.values()], marker=markers[i % len(markers)], label=subset,
                color="black" if subset == "all" else colours[i % len(colours)],
                linewidth=2.5 if subset == "all" else 1.2)
    ax.set_xticks(sorted(all_ks))  # k counts attempts: whole numbers only
    ax.set_ylim(0, 100)
    ax.set_xlabel("k (attempts)")
    ax.set_ylabel("pass@k (%)")
    ax.set_title("pass@k by subset")
    ax.legend(fontsize=7)
    return _save(fig, path)


def plot_lengths(stats: dict[str, list[int]], path: Path) -> str:
    plt = _plt()
    fig, axes = plt.subplots(1, 3, figsize=(11, 3.2))
    for ax, (name, values) in zip(axes, stats.items()):
        ax.hist(values or [0], bins=20)
        ax.set_title(name.replace("_", " "))
    return _save(fig, path)


def plot_difficulty(by_subset: dict[str, dict[str, int]], path: Path) -> str:
    plt = _plt()
    fig, ax = plt.subplots(figsize=(7, 4))
    subsets = list(by_subset)
    bottom = [0] * len(subsets)
    for d in DIFFICULTIES:
        vals = [by_subset[s][d] for s in subsets]
        ax.bar(subsets, vals, bottom=bottom, label=d)
        bottom = [b + v for b, v in zip(bottom, vals)]
    ax.set_ylabel("questions")
    ax.set_title("difficulty by subset")
    ax.legend(fontsize=7)
    ax.tick_params(axis="x", rotation=45)
    return _save(fig, path)


def plot_contamination(decon: dict, path: Path) -> str:
    """Histogram of nearest-benchmark cosines per subset (``cosine_histograms``: 20 bins over [0, 1])."""
    plt = _plt()
    fig, ax = plt.subplots(figsize=(6, 4))
    hists = decon.get("cosine_histograms") or {}
    for s, counts in sorted(hists.items()):
        edges = [i / len(counts) for i in range(len(counts))]
        ax.bar(edges, counts, width=1 / len(counts), align="edge", alpha=0.5, label=s)
    ax.axvline(decon.get("threshold", 0.95), color="red", linestyle="--", label="threshold")
    ax.set_xlabel("cosine to nearest benchmark question")
    ax.set_ylabel("rows")
    ax.set_title(f"contamination: {decon.get('dropped', 0)} of {decon.get('checked', 0)} dropped")
    ax.legend(fontsize=7)
    return _save(fig, path)


def plot_data_flow(flow: dict[str, int], path: Path) -> str:
    plt = _plt()
    fig, ax = plt.subplots(figsize=(7, 0.5 * len(flow) + 1))
    names = list(flow)[::-1]
    ax.barh(names, [flow[n] for n in names])
    for i, n in enumerate(names):
        ax.text(flow[n], i, f" {flow[n]}", va="center", fontsize=8)
    ax.set_xlabel("rows")
    ax.set_title("data flow")
    return _save(fig, path)


def build_report(pass_at_k: dict, difficulty: dict, decon: dict, flow: dict[str, int], exported: list[dict],
                 out_dir: str | Path, run: Any = None) -> dict:
    """Write the figures and ``summary.json`` into ``out_dir``; log them to ``run`` if given.

    ``pass_at_k`` and ``difficulty`` are per-subset tables over every attempted question (the
    label stage computes them), ``decon`` the decontaminate summary, ``flow`` rows per stage.
    """
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    lens = lengths(exported)
    summary = {
        "pass_at_k": pass_at_k, "difficulty": difficulty, "data_flow": flow,
        "contamination": {k: v for k, v in decon.items() if k != "cosine_histograms"},
        "lengths_mean": {k: (sum(v) / len(v) if v else 0.0) for k, v in lens.items()},
        "figures": {
            "pass_at_k": plot_pass_at_k(pass_at_k, out / "pass_at_k.png"),
            "lengths": plot_lengths(lens, out / "lengths.png"),
            "difficulty": plot_difficulty(difficulty, out / "difficulty.png"),
            "contamination": plot_contamination(decon, out / "contamination.png"),
            "data_flow": plot_data_flow(flow, out / "data_flow.png"),
        },
    }
    (out / "summary.json").write_text(json.dumps(summary, indent=2))
    if run is not None:
        log_report(run, summary)
    return summary


def log_report(run: Any, summary: dict) -> None:
    """Figures as W&B images, the numbers as tables (through kodcode.tracking)."""
    import wandb

    from kodcode.tracking import log_scalars, log_table

    run.log({f"report/{name}": wandb.Image(path) for name, path in summary["figures"].items()})
    log_table(run, "report/data_flow", ["stage", "rows"], [[k, v] for k, v in summary["data_flow"].items()])
    log_table(run, "report/difficulty", ["subset", *DIFFICULTIES],
              [[s, *[d[x] for x in DIFFICULTIES]] for s, d in summary["difficulty"].items()])
    rows = [[s, k, v] for s, vals in summary["pass_at_k"].items() for k, v in vals.items()]
    log_table(run, "report/pass_at_k", ["subset", "k", "pass_rate"], rows)
    log_scalars(run, {f"report/{k}": v for k, v in summary["pass_at_k"].get("all", {}).items()})


# -- stage -------------------------------------------------------------------------------------

# What one row is at the end of each stage, for the data-flow figure.
_UNITS = {"solve": "attempts", "parse": "attempts", "verify": "attempts", "label": "verified questions",
          "convert": "triplets (+complete)", "respond": "triplets", "decontaminate": "triplets",
          "export": "exported rows"}


@stage("report", version="1", streams=True)
def report_stage(records, ctx):
    """Exported rows in; figures under <run_dir>/report/figures; the rows out unchanged.

    The numbers of earlier stages come from their manifests (the runner's record of each stage),
    so the report sees failed questions (label) and dropped rows (decontaminate) as well.  It
    streams: the rows are read three times (lengths, the per-subset funnel, the output) and the
    verify output once, keeping only the attempts of the questions the page shows.
    """
    from kodcode.synth import store

    run_dir = ctx.state.run_dir
    manifests = {}
    for name in ctx.full_cfg.stages:
        if name == ctx.name:
            break
        m = store.read_manifest(run_dir / name, ctx.shard)
        if m is not None:
            manifests[name] = m
    flow = {f"{n} ({_UNITS.get(n, 'records')})": m["counts"]["output"] for n, m in manifests.items()}
    label = manifests.get("label", {}).get("counts", {})
    decon = manifests.get("decontaminate", {}).get("counts", {})
    summary = build_report(label.get("pass_at_k", {}), label.get("difficulty", {}), decon, flow, records,
                           ctx.stage_dir / "figures", ctx.state.tracker)
    from kodcode.synth.report_page import write_page

    verify_part = store.part_path(run_dir / "verify", ctx.shard)
    attempts = store.iter_jsonl(verify_part) if "verify" in manifests and verify_part.is_file() else []
    page = write_page(ctx.stage_dir, summary, manifests, records, attempts, title=f"kodcode synth: {ctx.full_cfg.name}")
    ctx.counts.update(figures=sorted(summary["figures"]), page=str(page))
    yield from records
