"""Semantic dedup with the offline MiniLM embedder and FAISS: planted paraphrases are found."""

import numpy as np
import pytest

from kodcode.synth.dedup import DedupConfig, dedup_group, embed, load_embedder
from kodcode.synth.runner import run

EVEN = [
    "Write a Python function that returns the sum of all even numbers in a list.",
    "Write a Python function that returns the sum of all the even numbers in a list.",
    "Write a python function which returns the sum of all even numbers in a given list.",
]
DEPTH = ["Given a binary tree, return its maximum depth.", "Given a binary tree, return the maximum depth of the tree."]
DISTINCT = [
    "Implement an LRU cache with get and put in O(1) time.",
    "Write a function to check whether a string is a palindrome.",
    "Write a function that counts the vowels in a string.",
]


@pytest.fixture(scope="module")
def embedder():
    return load_embedder("all-MiniLM-L6-v2")


def test_keep_one_keeps_the_first_of_each_paraphrase_group(embedder):
    texts = [EVEN[0], DISTINCT[0], EVEN[1], DEPTH[0], DISTINCT[1], EVEN[2], DEPTH[1], DISTINCT[2]]
    keep, info = dedup_group(embed(texts, embedder), DedupConfig())
    assert [texts[i] for i in keep] == [EVEN[0], DISTINCT[0], DEPTH[0], DISTINCT[1], DISTINCT[2]]
    assert info[0]["group_size"] == 3 and info[3]["group_size"] == 2 and info[1]["group_size"] == 1


def test_kodcode_mode_drops_every_member_of_a_pair(embedder):
    texts = [EVEN[0], EVEN[1], DISTINCT[0], DISTINCT[1]]
    keep, _ = dedup_group(embed(texts, embedder), DedupConfig(mode="kodcode"))
    assert [texts[i] for i in keep] == DISTINCT[:2]


def test_threshold_is_a_cosine_similarity():
    # Hand-made unit vectors: cos(a, b) = 0.96 (duplicates at 0.95, not at 0.97).
    a = np.array([1.0, 0.0], dtype="float32")
    b = np.array([0.96, np.sqrt(1 - 0.96**2)], dtype="float32")
    vecs = np.stack([a, b])
    assert dedup_group(vecs, DedupConfig(threshold=0.95))[0] == [0]
    assert dedup_group(vecs, DedupConfig(threshold=0.97))[0] == [0, 1]


def records(pairs):
    return [{"question_id": f"{s}_{i}", "subset": s, "question": q} for i, (s, q) in enumerate(pairs)]


def run_dedup(tmp_path, rows, **stage_cfg):
    import json

    path = tmp_path / "in.jsonl"
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    cfg = {"run_dir": str(tmp_path / "run"), "stages": ["dedup"], "input": str(path), "progress": False,
           "llm": {"backend": "scripted", "script": "x:y"}, "model": {"name_or_path": "none"},
           "wandb": {"mode": "disabled"}, "stage": {"dedup": stage_cfg}}
    run(cfg)
    out = tmp_path / "run" / "dedup" / "part-00000-of-00001.jsonl"
    return [json.loads(line) for line in out.read_text().splitlines()]


def test_scope_subset_keeps_the_same_question_in_two_subsets(tmp_path):
    rows = records([("Leetcode", EVEN[0]), ("Prefill", EVEN[1]), ("Prefill", EVEN[2]), ("Prefill", DISTINCT[0])])
    out = run_dedup(tmp_path, rows)
    assert [r["question_id"] for r in out] == ["Leetcode_0", "Prefill_1", "Prefill_3"]
    assert out[1]["metadata"]["dedup"]["nearest_id"] == "Prefill_2"


def test_scope_global_dedups_across_subsets(tmp_path):
    rows = records([("Leetcode", EVEN[0]), ("Prefill", EVEN[1]), ("Prefill", DISTINCT[0])])
    out = run_dedup(tmp_path, rows, scope="global")
    assert [r["question_id"] for r in out] == ["Leetcode_0", "Prefill_2"]


def test_batched_search_finds_the_same_pairs_as_one_search(embedder):
    from kodcode.synth.dedup import near_duplicates

    texts = EVEN + DEPTH + DISTINCT
    vecs = embed(texts, embedder)
    small, whole = near_duplicates(vecs, 0.95, 5, search_batch=3), near_duplicates(vecs, 0.95, 5)
    assert small.pairs.tolist() == whole.pairs.tolist() and len(whole.pairs) > 0
    assert small.best_idx.tolist() == whole.best_idx.tolist()


def planted(n: int, pairs: int, dim: int = 64, seed: int = 0):
    """Random unit rows plus ``pairs`` near-copies (cosine 0.95-0.99 to their source row)."""
    rng = np.random.default_rng(seed)
    base = rng.standard_normal((n, dim)).astype("float32")
    base /= np.linalg.norm(base, axis=1, keepdims=True)
    src = rng.choice(n, pairs, replace=False)
    noise = rng.standard_normal((pairs, dim)).astype("float32")
    noise -= (noise * base[src]).sum(1, keepdims=True) * base[src]  # orthogonal to the source
    noise /= np.linalg.norm(noise, axis=1, keepdims=True)
    cos = rng.uniform(0.955, 0.99, pairs).astype("float32")[:, None]
    copies = cos * base[src] + np.sqrt(1 - cos**2) * noise
    return np.ascontiguousarray(np.concatenate([base, copies]))


@pytest.mark.parametrize("training", ["two_level", "flat"])
def test_approximate_index_finds_the_planted_pairs_exact_search_finds(training):
    from kodcode.synth.vectors import near_duplicates

    vecs = planted(6000, 300)
    exact = near_duplicates(vecs, 0.95, 10, exact_below=10**9)
    approx = near_duplicates(vecs, 0.95, 10, exact_below=1000, list_size=64, nprobe=4, training=training)
    assert (exact.index, approx.index) == ("flat", "ivf")
    want = {tuple(sorted(p)) for p in exact.pairs.tolist()}
    got = {tuple(sorted(p)) for p in approx.pairs.tolist()}
    assert len(want) >= 300 and got <= want
    assert len(got & want) / len(want) >= 0.98


def test_two_level_centroids_are_unit_cells_of_the_sample():
    from kodcode.synth.vectors import two_level_centroids

    vecs = planted(5000, 0)
    cents = two_level_centroids(vecs, 97, seed=3)
    assert cents.shape == (97, vecs.shape[1]) and cents.dtype == np.float32
    assert np.allclose(np.linalg.norm(cents, axis=1), 1.0, atol=1e-5)
    assert np.array_equal(cents, two_level_centroids(vecs, 97, seed=3))  # seeded
    # Cells are used: every row's nearest centroid, over the rows, reaches most of the 97 cells,
    # and a row is closer to its nearest centroid than to a random one.
    nearest = (vecs @ cents.T).argmax(1)
    assert len(np.unique(nearest)) > 80
    rand = np.random.default_rng(0).integers(0, 97, len(vecs))
    assert (vecs @ cents.T)[np.arange(len(vecs)), nearest].mean() > (vecs * cents[rand]).sum(1).mean() + 0.05


def test_embedding_cache_embeds_only_new_texts_on_a_rerun(tmp_path, embedder):
    from kodcode.synth.vectors import EmbeddingCache

    seen: list[str] = []

    def embed_fn(texts):
        seen.extend(texts)
        return embed(texts, embedder)

    first = EmbeddingCache(tmp_path, "all-MiniLM-L6-v2").embed(EVEN + DEPTH, embed_fn)
    assert seen == EVEN + DEPTH
    seen.clear()
    again = EmbeddingCache(tmp_path, "all-MiniLM-L6-v2").embed(DEPTH + DISTINCT + DEPTH[:1], embed_fn)
    assert seen == DISTINCT  # the DEPTH texts (one of them twice) come from the cache
    np.testing.assert_allclose(again[:2], first[3:5], atol=1e-6)
    np.testing.assert_array_equal(again[5], again[0])


def test_index_is_exact_below_exact_below_rows_and_ivf_from_there():
    from kodcode.synth.vectors import near_duplicates

    vecs = planted(900, 100)
    assert near_duplicates(vecs, 0.95, 10, exact_below=1001).index == "flat"
    assert near_duplicates(vecs, 0.95, 10, exact_below=1000, list_size=64).index == "ivf"


def test_exact_index_finds_every_pair_and_nearest_row_brute_force_finds():
    from kodcode.synth.vectors import near_duplicates

    vecs = planted(2000, 100)
    found = near_duplicates(vecs, 0.95, 10)
    sims = vecs @ vecs.T
    np.fill_diagonal(sims, -np.inf)
    want = {(int(i), int(j)) for i, j in zip(*np.nonzero(sims > 0.95))}
    assert found.index == "flat" and len(want) == 200
    assert {tuple(p) for p in found.pairs.tolist()} == want
    assert found.best_idx.tolist() == sims.argmax(axis=1).tolist()


def test_approximate_pairs_come_in_both_directions_with_each_rows_nearest_no_further():
    from kodcode.synth.vectors import build_index, near_duplicates

    # Small cells, 3 probes: some pairs are found from one of their two rows only.
    vecs, kw = planted(6000, 300, dim=32), dict(exact_below=1000, list_size=32, nprobe=3)
    index, _ = build_index(vecs, **kw)
    sims, ids = index.search(vecs, 11)
    one_way = {(i, int(j)) for i in range(len(vecs)) for s, j in zip(sims[i], ids[i]) if j not in (i, -1) and s > 0.95}
    assert {(j, i) for i, j in one_way} - one_way  # the case this test is about occurs
    found = near_duplicates(vecs, 0.95, 10, **kw)
    pairs = {tuple(p) for p in found.pairs.tolist()}
    assert pairs == one_way | {(j, i) for i, j in one_way}
    for i, j in pairs:
        assert found.best_sim[i] >= float(vecs[i] @ vecs[j]) - 1e-6
        assert found.best_sim[i] == pytest.approx(float(vecs[i] @ vecs[found.best_idx[i]]), abs=1e-5)


@pytest.mark.parametrize("index", ["flat", "ivf"])
def test_dedup_group_drops_each_planted_copy_with_either_index(index):
    vecs = planted(3000, 150)
    cfg = DedupConfig(k=10, exact_below=10**9 if index == "flat" else 1000, list_size=64, nprobe=16)
    keep, info = dedup_group(vecs, cfg)
    assert keep == list(range(3000))  # the copies come after their sources: the sources are kept
    src = {int(j) for j in np.nonzero(vecs[3000:] @ vecs[:3000].T > 0.95)[1]}
    assert len(src) == 150 and all(info[i]["group_size"] == 2 for i in src)
    keep, _ = dedup_group(vecs, DedupConfig(mode="kodcode", k=10, exact_below=cfg.exact_below, list_size=64,
                                            nprobe=16))
    assert keep == [i for i in range(3000) if i not in src]
