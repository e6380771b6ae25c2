"""Scale of the synth stages that need no LLM, on synthetic rows of KodCode-V1's size.

Each point runs in its own child process, so its peak RSS is its own (``os.wait4``):

* ``dedup``  the dedup search (``kodcode.synth.vectors.near_duplicates``) on 384-d unit vectors (the
             MiniLM width) with planted near-duplicate pairs (cosine 0.955-0.99); recall of
             near-duplicate pairs against exact search (all queries up to 100k rows, a sample of
             queries above);
* ``label``  the label stage through ``run_stages`` over a JSONL input of 3 verified attempts per
             question (streaming: attempts grouped on disk);
* ``export`` the export stage through ``run_stages`` over a JSONL input of V1-sized rows (streaming:
             save_to_disk + Parquet of the sets, built in batches);
* ``decontaminate`` the decontaminate stage through ``run_stages`` over a JSONL input of V1-sized rows with
             distinct questions, 1 in 100 of them a benchmark question, against 4,000 benchmark
             questions (about the four benchmarks' count); the embedder is a stand-in (a vector drawn from
             a hash of the text, 384-d like MiniLM), so the figures are the stage's own cost: read,
             embedding cache, search, write (streaming: chunks of 4,096 rows);
* ``io``     the runner's read/write path per stage: ``run_stages`` with one streaming stage over a
             JSONL input of V1-sized rows (question, solution, test, 10 trials): input hash, lazy
             read, output written and hashed as produced;
* ``verify`` jobs per second of ``verify_attempts`` on the real sandbox (``kodcode.exec``);
* ``solve``  the solve stage through ``run_stages`` over a JSONL input of questions, 2 attempts each,
             its LLM a scripted stand-in that answers at once with a fixed solution and tests of
             KodCode-V1 size (so the figures are the stage's own cost: requests, the LLM cache,
             attempt records, writes; streaming: windows of 2,048 questions);
* ``report`` the report stage through ``run_stages`` over a JSONL input of V1-sized rows (figures,
             HTML page; streaming: the rows read three times).

Then fits the growth exponent between the two largest sizes of each stage and extrapolates to
KodCode-V1 (447k rows) and V1.1 scale (4.5M rows) on one node.

    python bench/synth_scale.py --sizes 10000 100000 1000000 --verify 2000 --out bench/reports/synth_scale.md

``--src DIR`` measures the stages of another checkout (e.g. ``git worktree add /tmp/before HEAD~3``:
the code before a change) with this script.
``--max-inmemory`` caps the sizes of label and export (the slower points; both stream since they
went through the runner) to save time: they are measured up to it and extrapolated beyond.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import platform
import random
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
SRC = Path(os.environ.get("SYNTH_SCALE_SRC") or REPO)  # the checkout whose stages are measured (--src)
sys.path.insert(0, str(SRC))

SOLUTION = "def add(a, b):\n    \"\"\"Return a + b.\"\"\"\n    return a + b\n" + "# padding line of a longer solution\n" * 8
TEST = "from solution import add\n\n" + "".join(f"def test_add_{i}():\n    assert add({i}, 1) == {i + 1}\n\n"
                                             for i in range(12))
QUESTION = ("Write a function add(a, b) that returns the sum of two integers. " * 10).strip()


SCRIPTED_REPLY = (f"<|Solution Begin|>\n```python\n{SOLUTION}```\n<|Solution End|>\n"
                  f"<|Test Begin|>\n```python\n{TEST}```\n<|Test End|>\n")


def scripted_reply(request) -> str:
    """The solve point's LLM stand-in: the same V1-sized reply to every request, at once."""
    return SCRIPTED_REPLY


def attempt(i: int, a: int) -> dict:
    return {"question_id": f"Prefill_{i:08d}", "subset": "Prefill", "style": "instruct", "question": QUESTION,
            "attempt": a, "model": "synthetic", "solution": SOLUTION, "test": TEST, "test_info": [],
            "passed": a != 1, "verdict": {"status": "pass" if a != 1 else "fail", "n_tests": 12,
                                           "n_passed": 12 if a != 1 else 0, "duration_s": 0.01, "runner": "fast",
                                           "flags": [], "message": ""}}


def v1_row(i: int) -> dict:
    """A row the size of a KodCode-V1 row with its ten trials (~8 KB as JSON)."""
    trials = {f"trial_gpt4o_{t}": {"passed": t % 3 != 0, "correctness": t % 3 != 0, "solution": SOLUTION,
                                    "test_code": TEST[:300]} for t in range(10)}
    return {"version": "V1", "style": "instruct", "subset": "Prefill", "question_id": f"Prefill_{i:08d}_I",
            "question": QUESTION, "solution": SOLUTION, "test": TEST, "test_info": [], "gpt_pass_sequence": [1] * 7,
            "gpt_pass_trial_num": 7, "gpt_difficulty": "easy", "gpt_pass_percentage": 0.7, "trials": trials,
            "chosen_trial": "trial_gpt4o_1", "metadata": {"original_instruction": QUESTION}}


class HashEmbedder:
    """Stand-in for a sentence embedder: a unit vector drawn from a hash of each text (384-d)."""

    def encode(self, texts, **_):
        import zlib

        import numpy as np

        out = np.empty((len(texts), 384), dtype=np.float32)
        for i, t in enumerate(texts):
            out[i] = np.random.default_rng(zlib.crc32(t.encode())).standard_normal(384, dtype=np.float32)
        return out / np.linalg.norm(out, axis=1, keepdims=True)


BENCH_TEXTS = [f"Benchmark task {i}: write a function that solves problem {i}." for i in range(4000)]


def planted(n: int, dim: int = 384, seed: int = 0):
    import numpy as np

    rng = np.random.default_rng(seed)
    pairs = max(1, n // 100)
    vecs = rng.standard_normal((n, dim), dtype=np.float32)
    vecs /= np.linalg.norm(vecs, axis=1, keepdims=True)
    src = rng.choice(n - pairs, pairs, replace=False)
    dst = n - pairs + np.arange(pairs)
    noise = rng.standard_normal((pairs, dim), dtype=np.float32)
    noise -= (noise * vecs[src]).sum(1, keepdims=True) * vecs[src]
    noise /= np.linalg.norm(noise, axis=1, keepdims=True)
    cos = rng.uniform(0.955, 0.99, pairs).astype(np.float32)[:, None]
    vecs[dst] = cos * vecs[src] + np.sqrt(1 - cos**2) * noise
    return vecs


# -- child: one measured point ------------------------------------------------------------------

def _heap_sampler(peak: list) -> None:
    """Peak anonymous RSS (heap, not memory-mapped files: the page cache can drop those) of this process."""
    import threading

    def run():
        while True:
            with open("/proc/self/status") as f:
                for line in f:
                    if line.startswith("RssAnon:"):
                        peak[0] = max(peak[0], int(line.split()[1]) / 2**20)
            time.sleep(0.05)

    threading.Thread(target=run, daemon=True).start()


def child(stage: str, n: int, work: Path) -> dict:
    import numpy as np

    heap = [0.0]
    _heap_sampler(heap)
    out: dict = {}
    if stage == "dedup":
        import faiss

        from kodcode.synth.vectors import near_duplicates

        vecs = planted(n)
        t = time.perf_counter()
        found = near_duplicates(vecs, 0.95, 10)
        out["seconds"] = time.perf_counter() - t
        out["index"] = found.index
        # Exact reference: every query up to 100k rows; a random sample of queries above.
        q = np.arange(n) if n <= 100_000 else np.sort(np.random.default_rng(1).choice(n, 20_000, replace=False))
        flat = faiss.IndexFlatIP(vecs.shape[1])
        flat.add(vecs)
        t = time.perf_counter()
        sims, ids = flat.search(vecs[q], 11)
        out["exact_seconds_for_queries"] = time.perf_counter() - t
        out["exact_queries"] = len(q)
        want = {(int(i), int(j)) for row, i in enumerate(q) for s, j in zip(sims[row], ids[row]) if j != i and s > 0.95}
        qset = set(q.tolist())
        got = {(int(i), int(j)) for i, j in found.pairs.tolist() if i in qset}
        out["pairs_exact"], out["pairs_found"] = len(want), len(got & want)
        out["recall"] = len(got & want) / len(want) if want else float("nan")
    elif stage in ("label", "export", "io", "decontaminate", "solve", "report"):
        # Through the runner as a run would: a JSONL input read lazily (store.Rows), the stage fed a
        # StreamInput, every output row written and hashed as it comes (store.PartWriter), manifest last.
        from kodcode.synth import runner, store

        src = work / "input.jsonl"
        with open(src, "w", encoding="utf-8") as f:
            for i in range(n):
                rows = [attempt(i, a) for a in range(3)] if stage == "label" else [v1_row(i)]
                if stage == "solve":
                    rows = [{k: rows[0][k] for k in ("question_id", "subset", "question", "metadata")}]
                for row in rows:
                    if stage == "decontaminate":  # distinct questions; 1 in 100 copies a benchmark question
                        row["question"] = BENCH_TEXTS[i % 4000] if i % 100 == 7 else f"{QUESTION} (variant {i})"
                    f.write(json.dumps(row) + "\n")
        name = stage
        stage_cfg: dict = {}
        if stage == "decontaminate":
            from kodcode.synth import dedup

            dedup.load_embedder = lambda name, device="cpu": HashEmbedder()
            os.environ["KODCODE_CACHE"] = str(work / "cache")  # the embedding cache starts empty
            bench = work / "bench.jsonl"
            bench.write_text("".join(json.dumps({"task_id": f"B/{i}", "prompt": t}) + "\n"
                                     for i, t in enumerate(BENCH_TEXTS)))
            stage_cfg = {"decontaminate": {"sources": [{"name": "bench", "path": str(bench), "fields": ["prompt"]}]}}
        if stage == "solve":
            stage_cfg = {"solve": {"n": 2}}
        if stage == "io":
            name = "scale_passthrough"

            @runner.stage(name, streams=True)
            def _passthrough(records, ctx):
                yield from records

        cfg = {"run_dir": str(work / "run"), "stages": [name], "input": str(src),
               "progress": False, "heartbeat_s": 0, "llm": {"backend": "scripted", "script": "synth_scale:scripted_reply"},
               "model": {"name_or_path": "none"}, "wandb": {"mode": "disabled"}, "stage": stage_cfg}
        t = time.perf_counter()
        summary = runner.run_stages(runner.validate_config(cfg))
        out["seconds"] = time.perf_counter() - t
        if stage == "decontaminate":
            out["dropped"] = n - summary["output"]
            assert out["dropped"] == len(range(7, n, 100)), out
        else:
            assert summary["output"] == (2 * n if stage == "solve" else n), summary
        part = store.part_path(work / "run" / name, (0, 1))
        out["bytes_per_row"] = part.stat().st_size / n
    elif stage == "verify":
        from kodcode.config import validate
        from kodcode.exec import ExecConfig, Executor
        from kodcode.synth.verify import verify_attempts

        rows = [{**attempt(i, 0), "solution": SOLUTION if i % 5 else SOLUTION.replace("a + b", "a - b")}
                for i in range(n)]
        cfg = validate({"workers": os.cpu_count() or 1}, ExecConfig)
        with Executor(cfg) as ex:
            t = time.perf_counter()
            done = verify_attempts(rows, ex)
            out["seconds"] = time.perf_counter() - t
        out["passed"] = sum(bool(r["passed"]) for r in done)
        out["jobs_per_s"] = n / out["seconds"]
    out["peak_heap_gb"] = heap[0]
    return out


def measure(stage: str, n: int) -> dict:
    with tempfile.TemporaryDirectory(prefix="synth_scale_") as work:
        proc = subprocess.Popen([sys.executable, __file__, "--child", stage, str(n), work], stdout=subprocess.PIPE,
                                text=True)
        stdout = proc.stdout.read()
        _, status, usage = os.wait4(proc.pid, 0)
        proc.returncode = os.waitstatus_to_exitcode(status)
    if proc.returncode != 0:
        return {"stage": stage, "n": n, "error": f"exit {proc.returncode}"}
    res = json.loads(stdout.strip().splitlines()[-1])
    return {"stage": stage, "n": n, **res, "peak_rss_gb": usage.ru_maxrss / 2**20}


def exponent(points: list[dict]) -> float | None:
    ok = sorted((p for p in points if "seconds" in p), key=lambda p: p["n"])
    if len(ok) < 2:
        return None
    a, b = ok[-2], ok[-1]
    return math.log(b["seconds"] / a["seconds"]) / math.log(b["n"] / a["n"])


def report(results: list[dict], args) -> str:
    lines = ["# Synth stages at scale (no LLM)", "",
             (f"Machine: {platform.machine()}, {os.cpu_count()} cores (shared), Python {platform.python_version()}. "
              f"Command: `python bench/synth_scale.py {' '.join(sys.argv[1:])}`."), "",
             "| stage | rows | seconds | peak RSS (GB) | notes |", "|---|---:|---:|---:|---|"]
    for r in results:
        note = r.get("error", "")
        if r["stage"] == "dedup" and "recall" in r:
            note = (f"{r['index']} index; recall of near-duplicate pairs vs exact {r['recall']:.4f} "
                    f"({r['pairs_found']}/{r['pairs_exact']} pairs, {r['exact_queries']:,} queries; exact search of "
                    f"those queries {r['exact_seconds_for_queries']:.1f} s)")
        elif r["stage"] == "verify" and "jobs_per_s" in r:
            note = f"{r['jobs_per_s']:.1f} jobs/s ({r['passed']:,} of {r['n']:,} pass; 1 in 5 is a wrong solution)"
        elif r["stage"] == "decontaminate" and "dropped" in r:
            note = (f"{r['dropped']:,} planted benchmark copies dropped, no other row; "
                    f"{r['bytes_per_row'] / 1024:.1f} KB per row as JSON; embedder a hash stand-in")
        elif r["stage"] == "solve" and "bytes_per_row" in r:
            note = (f"{2 * r['n']:,} attempts written, {r['bytes_per_row'] / 2048:.1f} KB per attempt as JSON; "
                    "LLM a scripted stand-in")
        elif r["stage"] == "io" and "bytes_per_row" in r:
            note = f"{r['bytes_per_row'] / 1024:.1f} KB per row as JSON"
        if "peak_heap_gb" in r:
            note = (note + "; " if note else "") + (f"heap (RssAnon) peak {r['peak_heap_gb']:.2f} GB, the rest of "
                                                    "RSS is memory-mapped files")
        secs = f"{r['seconds']:.2f}" if "seconds" in r else "-"
        rss = f"{r['peak_rss_gb']:.2f}" if "peak_rss_gb" in r else "-"
        lines.append(f"| {r['stage']} | {r['n']:,} | {secs} | {rss} | {note} |")
    lines += ["", "Growth exponent (seconds ~ n^e, between the two largest sizes) and one-node extrapolation:", "",
              "| stage | e | largest measured | hours at 447k | hours at 4.5M | peak RSS at 4.5M (GB, line through the two largest) |",
              "|---|---:|---:|---:|---:|---:|"]
    for stage in dict.fromkeys(r["stage"] for r in results):
        pts = [r for r in results if r["stage"] == stage and "seconds" in r]
        e = exponent(pts)
        if e is None or stage == "verify":
            continue
        last = max(pts, key=lambda p: p["n"])
        hours = [last["seconds"] * (n / last["n"]) ** e / 3600 for n in (447_000, 4_500_000)]
        # Memory as a line through the two largest points: flat for a stage that streams.
        prev = sorted(pts, key=lambda p: p["n"])[-2]
        slope = (last["peak_rss_gb"] - prev["peak_rss_gb"]) / (last["n"] - prev["n"])
        rss = last["peak_rss_gb"] + max(slope, 0.0) * (4_500_000 - last["n"])
        lines.append(f"| {stage} | {e:.2f} | {last['n']:,} | {hours[0]:.3f} | {hours[1]:.3f} | {rss:.2f} |")
    v = [r for r in results if r["stage"] == "verify" and "jobs_per_s" in r]
    if v:
        jps = v[-1]["jobs_per_s"]
        lines += ["", (f"Verify: {jps:.1f} jobs/s here; KodCode-V1's 447k questions x 10 attempts = 4.47M jobs is "
                       f"{4.47e6 / jps / 3600:.1f} h on one such node ({45e6 / jps / 3600:.0f} h for 4.5M questions).")]
    return "\n".join(lines) + "\n"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--child", nargs=3, metavar=("STAGE", "N", "WORK"), help=argparse.SUPPRESS)
    ap.add_argument("--sizes", nargs="+", type=int, default=[10_000, 100_000, 1_000_000])
    ap.add_argument("--max-inmemory", type=int, default=100_000)
    ap.add_argument("--stages", nargs="+", default=["dedup", "label", "export", "io", "decontaminate", "verify"])
    ap.add_argument("--verify", type=int, default=10_000, help="attempts for the verify point")
    ap.add_argument("--out", type=Path, default=None)
    ap.add_argument("--src", type=Path, default=None, help="checkout whose stages are measured (default: this one)")
    args = ap.parse_args()
    if args.src:
        os.environ["SYNTH_SCALE_SRC"] = str(args.src.resolve())  # read by the child processes
    if args.child:
        stage, n, work = args.child
        print(json.dumps(child(stage, int(n), Path(work))))
        return
    random.seed(0)
    results = []
    for stage in args.stages:
        sizes = [args.verify] if stage == "verify" else [
            n for n in args.sizes if stage in ("dedup", "io", "decontaminate") or n <= args.max_inmemory]
        for n in sizes:
            r = measure(stage, n)
            print(json.dumps(r), flush=True)
            results.append(r)
    text = report(results, args)
    print(text)
    if args.out:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(text)


if __name__ == "__main__":
    main()
