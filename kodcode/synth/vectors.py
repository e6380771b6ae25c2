"""Embeddings and near-neighbour search for dedup: an embedding cache keyed by text hash, and a
FAISS index that is exact for small inputs and approximate (IVF with an HNSW coarse quantizer)
beyond ``exact_below`` rows, on the GPU when one is there.

    from kodcode.synth.vectors import EmbeddingCache, near_duplicates
    vecs = EmbeddingCache(cache_dir, "all-MiniLM-L6-v2").embed(texts, embed_fn)   # reruns embed only new texts
    found = near_duplicates(vecs, threshold=0.95, k=100)                          # arrays, not Python lists

Why IVF with a list size fixed (``list_size`` rows per cell, so ``nlist`` grows with n) and an HNSW
quantizer: each query then scans ``nprobe * list_size`` vectors plus a logarithmic quantizer search,
so the whole search grows as n·log n, where an exact index grows as n².  A pair counts as found when
the search from either of its rows finds it (the two rows may sit in different cells, probed from one
side only).  ``bench/synth_scale.py`` measures the recall of near-duplicate pairs against exact
search and ``bench/dedup_recall.py`` per ``nprobe`` at 1M rows (``bench/reports/``).
"""

from __future__ import annotations

import hashlib
import sqlite3
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np


@dataclass
class NearDuplicates:
    best_sim: np.ndarray  # (n,) float32: similarity of each row's nearest other row (nan: none found)
    best_idx: np.ndarray  # (n,) int64: that row (-1: none)
    pairs: np.ndarray  # (m, 2) int64: (i, j) with similarity above the threshold, i != j
    index: str  # the index that was searched: flat | ivf


def _gpu(index):
    """The index moved to all GPUs when this faiss build has them, else unchanged."""
    import faiss

    if hasattr(faiss, "StandardGpuResources") and faiss.get_num_gpus() > 0:
        return faiss.index_cpu_to_all_gpus(index)
    return index


TRAINING = ("two_level", "flat")


def two_level_centroids(sample: np.ndarray, nlist: int, seed: int = 0, niter: int = 10) -> np.ndarray:
    """``nlist`` unit centroids by two-level spherical k-means: ``sqrt(nlist)`` coarse cells, then each
    cell's points clustered into its share of the ``nlist`` (in proportion to its points).

    One k-means over ``m`` points and ``nlist`` centroids costs ``m * nlist`` per iteration, and both
    grow with n (``nlist = n / list_size``, ``m = 40 * nlist``): n².  The two levels cost about
    ``2 * m * sqrt(nlist)``: n^1.5, 31x less at 1M rows."""
    import faiss

    dim = sample.shape[1]
    nc1 = max(1, int(np.sqrt(nlist)))
    coarse = faiss.Kmeans(dim, nc1, niter=niter, spherical=True, seed=seed, max_points_per_centroid=10**9)
    coarse.train(sample)
    _, assign = coarse.index.search(sample, 1)
    assign = assign[:, 0]
    sizes = np.bincount(assign, minlength=nc1)
    share = np.cumsum(sizes) * nlist // len(sample)
    share[1:] -= share[:-1].copy()  # centroids per coarse cell, summing to nlist
    order = np.argsort(assign, kind="stable")
    out, start = [], 0
    for c in range(nc1):
        members = sample[order[start:start + sizes[c]]]
        start += sizes[c]
        k = int(share[c])
        if k == 0:
            continue
        if k >= len(members):  # as many centroids as points: the points themselves
            out.append(members[:k])
            continue
        fine = faiss.Kmeans(dim, k, niter=niter, spherical=True, seed=seed + 1 + c, max_points_per_centroid=10**9)
        fine.train(members)
        out.append(fine.centroids)
    centroids = np.ascontiguousarray(np.concatenate(out), dtype=np.float32)
    faiss.normalize_L2(centroids)
    return centroids


def build_index(vecs: np.ndarray, *, exact_below: int = 50_000, list_size: int = 256, nprobe: int = 16,
                train_size: int = 100_000, seed: int = 0, device: str = "cpu", training: str = "flat"):
    """An inner-product index over ``vecs`` (unit rows): exact below ``exact_below`` rows, else IVF
    whose cells come from one k-means (``training="flat"``) or ``two_level_centroids`` ("two_level")."""
    import faiss

    n, dim = vecs.shape
    if n < exact_below:
        index = faiss.IndexFlatIP(dim)  # exact, as KodCode's IndexFlatL2
        index = _gpu(index) if device != "cpu" else index
        index.add(vecs)
        return index, "flat"
    nlist = max(1, n // list_size)
    quantizer = faiss.IndexHNSWFlat(dim, 32, faiss.METRIC_INNER_PRODUCT)
    index = faiss.IndexIVFFlat(quantizer, dim, nlist, faiss.METRIC_INNER_PRODUCT)
    # k-means on a sample: 39 points per centroid is faiss's own minimum; more buys little here.
    rng = np.random.default_rng(seed)
    m = min(n, max(train_size, 40 * nlist))
    sample = vecs[np.sort(rng.choice(n, m, replace=False))] if m < n else vecs
    if training == "two_level" and nlist > 1:
        centroids = two_level_centroids(sample, nlist, seed)
        index.quantizer.add(centroids)
        index.is_trained = True
    else:
        index.cp.niter = 10
        index.train(sample)
    index.add(vecs)
    set_nprobe(index, nprobe)
    return index, "ivf"


def set_nprobe(index, nprobe: int) -> None:
    """Cells an IVF index from ``build_index`` searches per query, with a quantizer search wide enough."""
    import faiss

    index.nprobe = nprobe
    faiss.downcast_index(index.quantizer).hnsw.efSearch = max(64, 2 * nprobe)


def near_duplicates(vecs: np.ndarray, threshold: float, k: int, search_batch: int = 4096,
                    **index_kw) -> NearDuplicates:
    """Each row's nearest other row and every pair above ``threshold`` among its ``k`` neighbours.

    Pairs come back in both directions, (i, j) and (j, i), when either row's search found the other:
    similarity is symmetric, and an IVF search from one row can miss a neighbour that the search from
    the other row finds (they fall in different cells), so the union is what the index found."""
    n = vecs.shape[0]
    index, kind = build_index(vecs, **index_kw)
    k = min(k + 1, n)
    best_sim = np.full(n, np.nan, dtype=np.float32)
    best_idx = np.full(n, -1, dtype=np.int64)
    pairs, pair_sims = [], []
    for start in range(0, n, search_batch):  # bounds the result arrays' memory (KodCode: 4096)
        sims, ids = index.search(vecs[start : start + search_batch], k)
        rows = np.arange(start, start + len(ids))[:, None]
        valid = (ids >= 0) & (ids != rows)
        masked = np.where(valid, sims, -np.inf)
        j = masked.argmax(axis=1)
        has = valid.any(axis=1)
        best_sim[start : start + len(ids)] = np.where(has, masked[np.arange(len(ids)), j], np.nan)
        best_idx[start : start + len(ids)] = np.where(has, ids[np.arange(len(ids)), j], -1)
        hit = valid & (sims > threshold)
        r, c = np.nonzero(hit)
        pairs.append(np.stack([r + start, ids[r, c]], axis=1))
        pair_sims.append(sims[r, c])
    if not pairs:
        return NearDuplicates(best_sim, best_idx, np.zeros((0, 2), np.int64), kind)
    found, found_sims = np.concatenate(pairs), np.concatenate(pair_sims)
    if not len(found):
        return NearDuplicates(best_sim, best_idx, found, kind)
    _adopt_reverse(found, found_sims, best_sim, best_idx)
    both = np.concatenate([found, found[:, ::-1]])
    return NearDuplicates(best_sim, best_idx, np.unique(both, axis=0), kind)


def _adopt_reverse(pairs: np.ndarray, sims: np.ndarray, best_sim: np.ndarray, best_idx: np.ndarray) -> None:
    """A pair (i, j) found from i also makes i a neighbour of j: j's nearest becomes i where closer."""
    j, i = pairs[:, 1], pairs[:, 0]
    order = np.lexsort((sims, j))  # by row j, then similarity: the last of each run is j's closest
    last = order[np.r_[j[order][1:] != j[order][:-1], True]]
    cand_sim = np.full(len(best_sim), -np.inf, dtype=np.float32)
    cand_idx = np.full(len(best_sim), -1, dtype=np.int64)
    cand_sim[j[last]], cand_idx[j[last]] = sims[last], i[last]
    better = cand_sim > np.where(np.isnan(best_sim), -np.inf, best_sim)
    best_sim[better], best_idx[better] = cand_sim[better], cand_idx[better]


class EmbeddingCache:
    """Vectors by (model, sha256 of text) in one SQLite file: a rerun embeds only texts not seen yet.

    ``<cache_dir>/embeddings.sqlite``; safe to share between runs on one machine (one writer at a
    time, as SQLite arranges)."""

    def __init__(self, cache_dir: str | Path, model: str):
        self.path = Path(cache_dir) / "embeddings.sqlite"
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self.model = model
        self.embedded = 0  # texts this object had to embed (the rest came from the file)
        with self._db() as db:
            db.execute("CREATE TABLE IF NOT EXISTS vec (model TEXT, h TEXT, v BLOB, PRIMARY KEY (model, h))")

    def _db(self):
        return sqlite3.connect(self.path, timeout=600)

    @staticmethod
    def key(text: str) -> str:
        return hashlib.sha256(text.encode("utf-8")).hexdigest()

    def embed(self, texts: list[str], embed_fn: Callable[[list[str]], np.ndarray], chunk: int = 50_000) -> np.ndarray:
        keys = [self.key(t) for t in texts]
        out: np.ndarray | None = None
        missing: dict[str, int] = {}
        with self._db() as db:
            for s in range(0, len(keys), chunk):
                part = keys[s : s + chunk]
                found = {}
                for q in range(0, len(part), 900):  # SQLite's bound-parameter limit
                    sub = part[q : q + 900]
                    found.update(db.execute(f"SELECT h, v FROM vec WHERE model = ? AND h IN ({','.join('?' * len(sub))})",
                                            [self.model, *sub]).fetchall())
                for i, h in enumerate(part, s):
                    v = found.get(h)
                    if v is None:
                        missing.setdefault(h, i)
                        continue
                    row = np.frombuffer(v, dtype=np.float32)
                    if out is None:
                        out = np.empty((len(texts), row.shape[0]), dtype=np.float32)
                    out[i] = row
        todo = list(missing.items())
        for s in range(0, len(todo), chunk):
            batch = todo[s : s + chunk]
            vecs = np.ascontiguousarray(embed_fn([texts[i] for _, i in batch]), dtype=np.float32)
            self.embedded += len(batch)
            if out is None:
                out = np.empty((len(texts), vecs.shape[1]), dtype=np.float32)
            with self._db() as db:
                db.executemany("INSERT OR REPLACE INTO vec VALUES (?, ?, ?)",
                               [(self.model, h, vecs[j].tobytes()) for j, (h, _) in enumerate(batch)])
            for j, (_, i) in enumerate(batch):
                out[i] = vecs[j]
        if out is None:
            return np.zeros((0, 0), dtype=np.float32)
        # Repeated texts were embedded once: copy their vector to every later position.
        first = {}
        for i, h in enumerate(keys):
            if h in missing and first.setdefault(h, i) != i:
                out[i] = out[first[h]]
        return out
