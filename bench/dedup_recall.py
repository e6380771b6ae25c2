"""Recall of the dedup IVF index on planted near-duplicate pairs, per ``nprobe``, at one size.

The rows are ``bench/synth_scale.py``'s: random 384-d unit vectors (the MiniLM width) with one row
in 100 a near-copy (cosine 0.955-0.99) of another.  The index is the one ``near_duplicates`` builds
(``kodcode.synth.vectors.build_index``: IVF, ``list_size`` rows per cell, HNSW quantizer).  Only the
rows of ``--pairs`` planted pairs are searched (both rows of each pair, ``k = 10``), so a 1M-row
point costs the index build plus a few thousand queries rather than a full search; the seconds per
query give the full search's time.  Two recalls per ``nprobe``:

* one direction: pairs (i, j) found by the search from i, over all 2 x pairs ordered pairs;
* either row: pairs found from i or from j, what ``near_duplicates`` returns.

    python bench/dedup_recall.py --n 1000000 --nprobe 8 16 --out bench/reports/dedup_recall.md
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))


def main() -> None:
    import faiss
    import numpy as np

    from bench.synth_scale import planted
    from kodcode.synth.vectors import build_index, set_nprobe

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n", type=int, default=1_000_000)
    ap.add_argument("--pairs", type=int, default=2000, help="planted pairs whose rows are searched")
    ap.add_argument("--list-size", type=int, default=256)
    ap.add_argument("--nprobe", type=int, nargs="+", default=[8, 16])
    ap.add_argument("--training", nargs="+", default=["flat"], choices=["flat", "two_level"],
                    help="how the IVF cells are trained (build_index's training=); each is built and measured")
    ap.add_argument("--out", type=Path, default=None)
    args = ap.parse_args()
    t0 = time.perf_counter()
    vecs = planted(args.n)
    planted_pairs = max(1, args.n // 100)
    if not 0 < args.pairs <= planted_pairs:
        sys.exit(f"--pairs must be in 1..{planted_pairs} (got {args.pairs}): {args.n} rows hold one planted "
                 f"pair per 100 rows; pass --pairs {min(2000, planted_pairs)}")
    # The copies are the last rows; their sources, by exact search (each must be above 0.95).
    dst = np.arange(args.n - planted_pairs, args.n)[: args.pairs]
    flat = faiss.IndexFlatIP(vecs.shape[1])
    flat.add(vecs)
    sims, ids = flat.search(vecs[dst], 2)
    del flat
    if not (sims[:, 1] > 0.95).all():
        sys.exit("a planted copy has no source above cosine 0.95: bench/synth_scale.py's planted() changed")
    src = ids[:, 1]
    query, other = np.concatenate([src, dst]), np.concatenate([dst, src])
    lines = ["# Dedup IVF recall on planted near-duplicate pairs", "",
             (f"{args.n:,} rows (384-d, bench/synth_scale.py's planted pairs), list_size {args.list_size}, "
              f"{args.pairs:,} pairs searched from both rows, k = 10. {os.cpu_count()} cores (shared; load "
              f"average at the start {os.getloadavg()[0]:.1f}). Command: `python bench/dedup_recall.py "
              f"{' '.join(sys.argv[1:])}`."), "",
             "| training | index build (train + add), s | nprobe | recall, one direction | recall, either row | ms per query | full search (s, n queries) | load |",
             "|---|---:|---:|---:|---:|---:|---:|---:|"]
    for training in args.training:
        t = time.perf_counter()
        index, kind = build_index(vecs, exact_below=1, list_size=args.list_size, nprobe=args.nprobe[0],
                                  training=training)
        build_s = time.perf_counter() - t
        for nprobe in args.nprobe:
            set_nprobe(index, nprobe)
            t = time.perf_counter()
            s, i = index.search(vecs[query], 11)
            per_query = (time.perf_counter() - t) / len(query)
            hit = ((i == other[:, None]) & (s > 0.95)).any(axis=1)
            either = hit[: args.pairs] | hit[args.pairs :]
            lines.append(f"| {training} (nlist {index.nlist:,}) | {build_s:.0f} | {nprobe} | {hit.mean():.4f} | "
                         f"{either.mean():.4f} | {per_query * 1e3:.2f} | {per_query * args.n:.0f} | "
                         f"{os.getloadavg()[0]:.1f} |")
            print(lines[-1], flush=True)
        del index
    lines += ["", f"Total {time.perf_counter() - t0:.0f} s."]
    text = "\n".join(lines) + "\n"
    print(text)
    if args.out:
        args.out.write_text(text)


if __name__ == "__main__":
    main()
