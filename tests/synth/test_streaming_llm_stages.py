"""solve, verify, convert, respond and decontaminate stream their input: the rows they write are the rows (same
values, same order) the whole-list computation gives, whatever the window; the first rows are written
after one window has been read, not the whole input; and a stage stopped mid-verification resumes
without running a verified row again.

Replies come from the scripted backend (functions below); the sandbox is replaced by a stand-in that
decides a job from its code (the real one is covered by test_steps23 and tests/exec), so these tests
run in about a second each."""

import hashlib
import json
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest
from test_streaming_stages import HashEmbedder

import kodcode.exec
from kodcode.answers import answer_program, expected_functions
from kodcode.synth import dedup as dedup_mod
from kodcode.synth import store
from kodcode.synth.convert import check_completion, completion_row, parse_completion
from kodcode.synth.respond import label_responses
from kodcode.synth.runner import run
from kodcode.synth.verify import recheck_passes, verify_attempts

HERE = Path(__file__).parent
JOBS: list[str] = []  # every job the stand-in sandbox ran (solution code)
FAIL_AFTER: list[int] = []  # the stand-in raises once this many jobs have run (a crash mid-stage)


class Crash(RuntimeError):
    pass


def job_passes(code: str) -> bool:
    """The stand-in's verdict: code that returns something and is not marked WRONG passes."""
    return "return" in code and "WRONG" not in code


class FakeExecutor:
    def __init__(self, cfg):
        pass

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        return False

    def run(self, jobs, progress=False):
        if FAIL_AFTER and len(JOBS) + len(jobs) > FAIL_AFTER[0]:
            raise Crash("the sandbox went away")
        JOBS.extend(j.solution for j in jobs)
        return [SimpleNamespace(status="pass" if job_passes(j.solution) else "fail", passed=job_passes(j.solution),
                                n_tests=1, n_passed=int(job_passes(j.solution)), duration_s=0.0, runner="fake",
                                flags=[], message="")
                for j in jobs]


@pytest.fixture(autouse=True)
def _stand_ins(monkeypatch, tmp_path):
    monkeypatch.syspath_prepend(str(HERE))
    monkeypatch.setattr(kodcode.exec, "Executor", FakeExecutor)
    monkeypatch.setenv("KODCODE_CACHE", str(tmp_path / "cache"))
    JOBS.clear()
    FAIL_AFTER.clear()


def run_stage(tmp_path, name, rows, script, run_dir="run", **stage_cfg):
    src = tmp_path / "in.jsonl"
    src.write_text("".join(json.dumps(r) + "\n" for r in rows))
    cfg = {"run_dir": str(tmp_path / run_dir), "stages": [name], "input": str(src), "progress": False,
           "heartbeat_s": 0, "llm": {"backend": "scripted", "script": f"test_streaming_llm_stages:{script}"},
           "model": {"name_or_path": "scripted"}, "wandb": {"mode": "disabled"}, "stage": {name: stage_cfg}}
    run(cfg)
    out = store.read_jsonl(store.part_path(tmp_path / run_dir / name, (0, 1)))
    return out, store.read_manifest(tmp_path / run_dir / name, (0, 1))["counts"]


def track_writes(monkeypatch) -> list[int]:
    """For every row the stage writes: how many input rows it had read by then."""
    reads, at_write = [0], []
    read, write = store.StreamInput.__iter__, store.PartWriter.write

    def counting(self):
        for r in read(self):
            reads[0] += 1
            yield r

    def recording(self, rec):
        at_write.append(reads[0])
        write(self, rec)

    monkeypatch.setattr(store.StreamInput, "__iter__", counting)
    monkeypatch.setattr(store.PartWriter, "write", recording)
    return at_write


# -- solve ---------------------------------------------------------------------------------------

def solve_reply(request):
    number = int(request.messages[-1]["content"].split("item#", 1)[1].split(".", 1)[0])
    body = "return WRONG" if (number + request.seed) % 3 == 0 else f"return x + {number}"
    return (f"<|Solution Begin|>\n```python\ndef f(x):\n    {body}\n```\n<|Solution End|>\n"
            f"<|Test Begin|>\n```python\nfrom solution import f\n\ndef test_f():\n    assert f(1) == {number + 1}\n```\n"
            "<|Test End|>")


def questions(n: int) -> list[dict]:
    return [{"question_id": f"Q{i:03d}", "subset": "Prefill", "question": f"Write f(x) for item#{i}.",
             "metadata": {"prompt_id": i}} for i in range(n)]


@pytest.mark.parametrize("mode", ["all", "first_pass"])
def test_solve_streams_in_windows_and_writes_what_the_whole_list_gives(tmp_path, mode):
    rows = questions(11)
    whole, whole_counts = run_stage(tmp_path, "solve", rows, "solve_reply", run_dir="whole", n=3, mode=mode,
                                    window=10_000)
    out, counts = run_stage(tmp_path, "solve", rows, "solve_reply", n=3, mode=mode, window=4)
    key = lambda a: (a["question_id"], a["attempt"])  # noqa: E731
    if mode == "all":
        assert out == whole and len(out) == 33
    else:  # rounds run per window: the same attempts, in window order
        assert sorted(out, key=key) == sorted(whole, key=key) and len(out) < 33
    assert counts == whole_counts and counts["new_attempts"] == len(out) and counts["questions"] == 11


def test_solve_writes_attempts_before_it_has_read_its_input(tmp_path, monkeypatch):
    at_write = track_writes(monkeypatch)
    out, _ = run_stage(tmp_path, "solve", questions(12), "solve_reply", n=2, window=4)
    assert len(out) == 24 and at_write[0] == 4 and at_write == [4 * (i // 8 + 1) for i in range(24)]


def test_solve_adds_attempts_after_an_earlier_runs_without_reading_it_into_memory(tmp_path):
    rows = questions(6)
    first, _ = run_stage(tmp_path, "solve", rows, "solve_reply", run_dir="first", n=1)
    previous = tmp_path / "previous.jsonl"
    passed = [dict(a, passed=job_passes(a["raw"].split("```python", 1)[1])) for a in first]
    previous.write_text("".join(json.dumps(a) + "\n" for a in passed))
    out, counts = run_stage(tmp_path, "solve", rows, "solve_reply", run_dir="second", n=2, window=2,
                            previous_attempts=str(previous))
    assert out[:6] == passed  # the earlier attempts first, as they were
    unsolved = {a["question_id"] for a in passed if not a["passed"]}
    assert 0 < len(unsolved) < 6
    assert sorted((a["question_id"], a["attempt"]) for a in out[6:]) == sorted(
        (q, k) for q in unsolved for k in (1, 2))
    assert counts["previous_attempts"] == 6 and counts["new_attempts"] == 2 * len(unsolved)


# -- verify --------------------------------------------------------------------------------------

def attempts(n: int) -> list[dict]:
    rows = []
    for i in range(n):
        a = {**triplet(i // 3), "question_id": f"Q{i // 3}", "attempt": i % 3}
        if i % 3 == 1:
            a["solution"] = a["solution"].replace("return", "return WRONG")
        if i % 8 == 5:
            a["parse_error"] = "no solution section"
        if i % 10 == 9:  # verified already (solve.mode=first_pass): passed through
            a.update(verdict={"status": "pass", "flags": []}, passed=True)
        rows.append(a)
    return rows


@pytest.mark.parametrize("window", [4, 10_000])
def test_verify_streams_in_windows_and_writes_what_the_whole_list_gives(tmp_path, window):
    rows = attempts(25)
    out, counts = run_stage(tmp_path, "verify", rows, "convert_reply", window=window, batch_size=3)
    todo = [a for a in rows if "verdict" not in a]
    done = recheck_passes(verify_attempts(todo, FakeExecutor(None)), kodcode.exec.ExecConfig(), 1, 3)
    by_key = {(a["question_id"], a["attempt"]): a for a in done}
    want = [by_key.get((a["question_id"], a["attempt"]), a) for a in rows]
    assert out == want
    statuses = {s: sum(a["verdict"]["status"] == s for a in want) for s in ("pass", "fail")}
    assert counts["passed"] == sum(a["passed"] for a in want) and counts["statuses"] == statuses
    assert min(statuses.values()) > 0 and sum(a["verdict"].get("runner") == "parse" for a in out) > 0


def test_verify_writes_rows_before_it_has_read_its_input(tmp_path, monkeypatch):
    at_write = track_writes(monkeypatch)
    run_stage(tmp_path, "verify", attempts(30), "convert_reply", window=10, recheck_rounds=0)
    assert at_write == [10 * (i // 10 + 1) for i in range(30)]


# -- convert -------------------------------------------------------------------------------------

def triplet(i: int, style: str = "instruct") -> dict:
    body = "return WRONG" if i % 7 == 6 else f"return x + {i}"  # every 7th solution no longer passes
    return {"question_id": f"Prefill_{i:04d}_{'I' if style == 'instruct' else 'C'}", "subset": "Prefill",
            "style": style, "question": f"Write f(x) for item#{i}.", "solution": f"def f(x):\n    {body}",
            "test": f"from solution import f\n\ndef test_f():\n    assert f(1) == {i + 1}",
            "test_info": [{"function_name": "f"}], "metadata": {"prompt_id": i}}


def convert_reply(request):
    number = int(request.messages[-1]["content"].split("item#", 1)[1].split(".", 1)[0])
    stub = {0: 'def f(x):\n    """Add."""',  # accepted (unless the solution fails)
            1: "def f(x):\n    y = x\n    return y",  # leaks an implementation
            2: None,  # no completion section
            3: 'def f(x):\n    """return x plus a number."""\n    return 0'}[number % 4]  # leak
    if number % 5 == 4:
        stub = 'def f(x):\n    """I return it."""'  # the stub alone "passes" in the stand-in
    return "no markers" if stub is None else f"<|Completion Begin|>\n```python\n{stub}\n```\n<|Completion End|>"


def convert_in_memory(rows: list[dict]) -> tuple[list[dict], dict]:
    """The stage as a computation over the whole list (its code before it streamed)."""
    reasons: dict[str, int] = {}
    instruct = [t for t in rows if t["style"] == "instruct"]
    twins = {}
    for t in instruct:
        completion = parse_completion(convert_reply(SimpleNamespace(messages=[{"content": t["question"]}])))
        why = check_completion(completion, t)
        if why is None:
            if not job_passes(t["solution"]):
                why = "solution no longer passes (fail)"
            elif job_passes(completion):
                why = "the completion stub alone passes the tests"
        if why:
            reasons[why.split(":")[0]] = reasons.get(why.split(":")[0], 0) + 1
        else:
            twins[t["question_id"][:-2]] = completion_row(t, completion)
    out = []
    for t in rows:
        out.append(t)
        if t["question_id"].endswith("_I") and t["question_id"][:-2] in twins:
            out.append(twins[t["question_id"][:-2]])
    return out, {"attempted": len(instruct), "converted": len(twins), "dropped": reasons}


@pytest.mark.parametrize("window", [3, 1000])
def test_convert_streams_in_windows_and_writes_what_the_whole_list_gives(tmp_path, window):
    rows = [triplet(i, "complete" if i % 6 == 5 else "instruct") for i in range(23)]
    out, counts = run_stage(tmp_path, "convert", rows, "convert_reply", window=window, batch_size=2)
    want, want_counts = convert_in_memory(rows)
    assert out == want
    assert {k: counts[k] for k in want_counts} == want_counts
    assert 0 < counts["converted"] < counts["attempted"] and set(counts["dropped"]) == {
        "leak", "no <|Completion Begin|> section", "solution no longer passes (fail)",
        "the completion stub alone passes the tests"}


def test_convert_writes_rows_before_it_has_read_its_input(tmp_path, monkeypatch):
    at_write = track_writes(monkeypatch)
    out, _ = run_stage(tmp_path, "convert", [triplet(i) for i in range(40)], "convert_reply", window=4)
    assert len(at_write) == len(out) > 40 and at_write[0] == 4  # one window read, then written
    assert max(at_write) == 40


# -- respond -------------------------------------------------------------------------------------

def respond_reply(request):
    number = int(request.messages[-1]["content"].split("item#", 1)[1].split(".", 1)[0])
    sample = 2 if number % 4 == 3 else (request.seed + number) % 4  # every 4th question: all wrong
    code = {0: "def f(x):\n    return x", 1: "def g(x):\n    return x",  # renamed to f
            2: "def f(x):\n    return WRONG", 3: None}[sample]
    return f"<think>\nnumber {number}\n</think>\n" + (f"```python\n{code}\n```" if code else "No code, sorry.")


def respond_in_memory(rows: list[dict], k: int) -> list[dict]:
    """The stage as a computation over the whole list (its code before it streamed)."""
    seed = int(hashlib.sha256(b"0:respond").hexdigest()[:8], 16)  # the runner's per-stage seed (cfg.seed=0)
    out = []
    for t in rows:
        responses = []
        for i in range(k):
            request = SimpleNamespace(messages=[{"content": t["question"]}], seed=seed + i)
            text = respond_reply(request)
            code = answer_program(text, expected_functions(t["test_info"]), True).code
            responses.append({"index": i, "text": text, "code": code, "passed": bool(code) and job_passes(code)})
        out.append(label_responses(t, responses))
    return out


@pytest.mark.parametrize("window", [2, 1000])
def test_respond_streams_in_windows_and_writes_what_the_whole_list_gives(tmp_path, window):
    rows = [triplet(i) for i in range(9)]
    out, counts = run_stage(tmp_path, "respond", rows, "respond_reply", k=3, window=window, batch_size=2)
    want = respond_in_memory(rows, 3)
    assert out == want
    assert counts["responses"] == 27 and counts["correct_rows"] == sum(r["r1_correctness"] == "True" for r in want)
    assert counts["passing_responses"] == sum(r["r1_pass_trial_num"] for r in want)
    assert 0 < counts["renamed"] and 0 < counts["no_code"] and counts["correct_rows"] < len(rows)


def test_respond_writes_rows_before_it_has_read_its_input(tmp_path, monkeypatch):
    at_write = track_writes(monkeypatch)
    out, _ = run_stage(tmp_path, "respond", [triplet(i) for i in range(30)], "respond_reply", k=1, window=5)
    assert at_write == [5 * (i // 5 + 1) for i in range(30)]  # row i is written once its window is read


def test_respond_resumes_after_a_crash_without_verifying_a_finished_row_again(tmp_path):
    rows = [triplet(i) for i in range(8)]
    reference, _ = run_stage(tmp_path, "respond", rows, "respond_reply", run_dir="ref", k=2, window=3, batch_size=1)
    ref_jobs = len(JOBS)
    JOBS.clear()
    FAIL_AFTER.append(ref_jobs // 2)  # the sandbox dies half way through
    with pytest.raises(Crash):
        run_stage(tmp_path, "respond", rows, "respond_reply", k=2, window=3, batch_size=1)
    first = len(JOBS)
    assert (tmp_path / "run" / "respond" / "checkpoint-00000-of-00001.sqlite").is_file()
    assert not store.part_path(tmp_path / "run" / "respond", (0, 1)).exists()  # nothing half-written
    FAIL_AFTER.clear()
    out, _ = run_stage(tmp_path, "respond", rows, "respond_reply", k=2, window=3, batch_size=1)
    assert out == reference
    assert 0 < first and len(JOBS) == ref_jobs  # every job ran once, across both runs
    assert not list((tmp_path / "run" / "respond").glob("checkpoint-*"))  # removed once finished


# -- decontaminate -------------------------------------------------------------------------------

BENCH = ["base 1", "base 2", "base 3"]


def decontaminate_rows(n: int) -> list[dict]:
    # "base 1, variant i" is a near-duplicate (cosine ~0.99) of the benchmark question "base 1".
    texts = [f"base {1 + i % 2}, variant {i}" if i % 5 == 0 else f"base {10 + i}" for i in range(n)]
    return [{"question_id": f"q{i}", "subset": "A" if i % 3 else "B", "question": t} for i, t in enumerate(texts)]


def decontaminate_in_memory(rows: list[dict], action: str) -> tuple[list[dict], dict]:
    """Nearest benchmark question for the whole list at once, by brute-force cosine."""
    emb = HashEmbedder()
    sims = emb.encode([r["question"] for r in rows]) @ emb.encode(BENCH).T
    kept, by_subset, hists = [], {}, {}
    for r, s in zip(rows, sims):
        j = int(np.argmax(s))
        cos = round(float(s[j]), 4)
        hit = cos > 0.95
        sub = by_subset.setdefault(r["subset"], {"checked": 0, "dropped": 0, "flagged": 0})
        sub["checked"] += 1
        sub["dropped" if action == "drop" else "flagged"] += hit
        hists.setdefault(r["subset"], [0] * 20)[min(19, max(0, int(cos * 20)))] += 1
        if not (hit and action == "drop"):
            kept.append({**r, "nearest_benchmark": {"benchmark": "bench", "task_id": f"B/{j}", "cosine": cos,
                                                    "contaminated": hit}})
    return kept, {"by_subset": dict(sorted(by_subset.items())), "cosine_histograms": hists}


def bench_source(tmp_path) -> list[dict]:
    path = tmp_path / "bench.jsonl"
    path.write_text("".join(json.dumps({"task_id": f"B/{i}", "prompt": t}) + "\n" for i, t in enumerate(BENCH)))
    return [{"name": "bench", "path": str(path), "fields": ["prompt"]}]


@pytest.mark.parametrize("action", ["drop", "flag"])
def test_decontaminate_streams_in_chunks_and_keeps_what_the_whole_list_would(tmp_path, monkeypatch, action):
    monkeypatch.setattr(dedup_mod, "load_embedder", lambda name, device="cpu": HashEmbedder())
    rows = decontaminate_rows(17)
    out, counts = run_stage(tmp_path, "decontaminate", rows, "convert_reply", chunk=4, action=action,
                            sources=bench_source(tmp_path))
    want, summary = decontaminate_in_memory(rows, action)
    assert out == want
    assert counts["by_subset"] == summary["by_subset"] and counts["cosine_histograms"] == summary["cosine_histograms"]
    hits = [r["question_id"] for r in rows if r["question"].startswith("base 1,") or r["question"].startswith("base 2,")]
    assert [h["question_id"] for h in counts["dropped_ids" if action == "drop" else "flagged_ids"]] == hits
    assert counts["dropped"] == (len(hits) if action == "drop" else 0) and counts["by_benchmark"] == {"bench": len(hits)}


def test_decontaminate_writes_rows_before_it_has_read_its_input(tmp_path, monkeypatch):
    monkeypatch.setattr(dedup_mod, "load_embedder", lambda name, device="cpu": HashEmbedder())
    at_write = track_writes(monkeypatch)
    rows = decontaminate_rows(40)
    out, _ = run_stage(tmp_path, "decontaminate", rows, "convert_reply", chunk=8, sources=bench_source(tmp_path))
    assert at_write[0] == 8 and len(out) == len(at_write) == 32
    assert at_write == sorted(at_write) and at_write.count(40) < len(out)  # chunk by chunk, not all at the end
