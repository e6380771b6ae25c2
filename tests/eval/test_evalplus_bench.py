"""HumanEval+/MBPP+ scored on kodcode.exec with evalplus's rules: real sandbox jobs, real evalplus ground
truth, on small problem files written here (the fixtures and a few tasks of our own)."""

import json
from pathlib import Path

import pytest

from kodcode.eval import evalplus_bench as ep
from kodcode.eval.fixtures import write_fixtures
from kodcode.eval.references import evalplus_solutions
from kodcode.exec import ExecConfig, Executor


def _task(task_id, name, sig, body, base, plus, atol=0):
    return {"task_id": task_id, "prompt": f"def {name}({sig}):\n    \"\"\"A task.\"\"\"\n", "entry_point": name,
            "canonical_solution": body, "test": "", "contract": "", "base_input": base, "plus_input": plus,
            "atol": atol}


# Tasks whose rules the fixtures do not reach: floats (evalplus's atol), long outputs (sent as digests).
OWN = [
    _task("HumanEval/9000", "mean", "xs", "    return sum(xs) / len(xs)\n", [[[1.0, 2.0]], [[0.1, 0.2, 0.4]]],
          [[[1e-3, 3.0]]]),
    _task("HumanEval/9001", "upto", "n", "    return list(range(n))\n", [[3]], [[3000], [5000]]),
    _task("HumanEval/9002", "third", "x", "    return x / 3\n", [[1]], [[2], [10**6]], atol=1e-3),
]


@pytest.fixture(scope="module")
def data(tmp_path_factory):
    root = tmp_path_factory.mktemp("evalplus")
    paths = write_fixtures(root)
    own = root / "HumanEvalPlus-own.jsonl"
    own.write_text("".join(json.dumps(r) + "\n" for r in OWN))
    paths["own"] = str(own)
    return {"paths": paths, "cache": str(root / "cache"),
            **{name: ep.load_problems(name if name != "own" else "humaneval", paths[name]) for name in paths
               if name in ("humaneval", "mbpp", "own")}}


@pytest.fixture(scope="module")
def ex():
    with Executor(ep.exec_config(ExecConfig(workers=2))) as e:
        yield e


def _score(data, ex, name, sols):
    dataset = "humaneval" if name == "own" else name
    return ep.score(dataset, data[name], sols, ex, data_path=data["paths"][name], cache_dir=data["cache"])


def _statuses(recs):
    return [(r["base_status"], r["plus_status"]) for r in recs]


@pytest.mark.parametrize("name", ["humaneval", "mbpp", "own"])
def test_canonical_solutions_pass_base_and_plus(data, ex, name):
    recs = _score(data, ex, name, evalplus_solutions(data[name], "canonical"))
    assert _statuses(recs) == [("pass", "pass")] * len(recs)
    assert ep.pass_at_1(recs) == {"base": 100.0, "plus": 100.0} and ep.limit_hits(recs) == 0


def test_broken_and_empty_solutions_score_zero(data, ex):
    for kind in ("broken", "empty"):
        recs = _score(data, ex, "humaneval", evalplus_solutions(data["humaneval"], kind))
        assert ep.pass_at_1(recs) == {"base": 0.0, "plus": 0.0}, kind
        assert {r["status"] for r in recs} == {"fail"}


def test_plus_counts_only_samples_that_also_pass_base(data, ex):
    sols = evalplus_solutions(data["humaneval"], "canonical")
    # Right on the base inputs of add_two, wrong on the larger plus inputs.
    sols["HumanEval/9000"] = "def add_two(a, b):\n    return a + b if abs(a) + abs(b) < 100 else 0\n"
    sols["HumanEval/9001"] = "def count_vowels(s):\n    return 5\n"  # wrong on base, right on plus's one input
    recs = _score(data, ex, "humaneval", sols)
    assert _statuses(recs) == [("pass", "fail"), ("fail", "pass"), ("pass", "pass")]
    assert [r["passed"] for r in recs] == [False, False, True]
    assert ep.pass_at_1(recs) == {"base": pytest.approx(200 / 3), "plus": pytest.approx(100 / 3)}


def test_floats_within_evalplus_tolerance_pass_and_beyond_it_fail(data, ex):
    sols = evalplus_solutions(data["own"], "canonical")
    sols["HumanEval/9000"] = "def mean(xs):\n    return sum(xs) / len(xs) + 1e-9\n"  # atol 0 -> 1e-6 for floats
    sols["HumanEval/9002"] = "def third(x):\n    return round(x / 3, 4)\n"  # within the task's own atol 1e-3
    assert _statuses(_score(data, ex, "own", sols))[0::2] == [("pass", "pass")] * 2
    sols["HumanEval/9000"] = "def mean(xs):\n    return sum(xs) / len(xs) + 1e-4\n"
    sols["HumanEval/9002"] = "def third(x):\n    return round(x / 3, 1)\n"
    assert _statuses(_score(data, ex, "own", sols))[0::2] == [("fail", "fail")] * 2


def test_long_outputs_compare_exactly(data, ex):
    sols = evalplus_solutions(data["own"], "canonical")
    sols["HumanEval/9001"] = "def upto(n):\n    return list(range(n)) if n < 4000 else list(range(n - 1))\n"
    assert _statuses(_score(data, ex, "own", sols))[1] == ("pass", "fail")
    sols["HumanEval/9001"] = "def upto(n):\n    return tuple(range(n))\n"  # == would say no as well: a tuple
    assert _statuses(_score(data, ex, "own", sols))[1] == ("fail", "fail")


def test_an_infinite_loop_is_a_fail_decided_by_the_cpu_limit(data, ex):
    sols = evalplus_solutions(data["mbpp"], "canonical")
    sols["Mbpp/9003"] = "def reverse_words(s):\n    while True:\n        pass\n"
    recs = _score(data, ex, "mbpp", sols)
    # evalplus reports a per-input time limit as a fail (its loop catches the timer's exception)
    assert _statuses(recs) == [("pass", "pass"), ("fail", "fail")]
    assert ep.limit_hits(recs) == 1 and recs[1]["detail"]["limit"] == ["base: input 0: cpu time limit", "plus: input 0: cpu time limit"]


def test_a_sleeping_solution_is_stopped_by_the_wall_guard(data, ex):
    sols = evalplus_solutions(data["mbpp"], "canonical")
    sols["Mbpp/9002"] = "import time\n\ndef square_all(xs):\n    time.sleep(3600)\n"
    recs = ep.score("mbpp", data["mbpp"], sols, ex, data_path=data["paths"]["mbpp"], cache_dir=data["cache"],
                    wall_factor=2.0)  # a short guard: 2 wall seconds per CPU second of the limit, + 1 s
    assert recs[0]["status"] == "fail" and recs[0]["detail"]["limit"][0] == "base: input 0: wall time limit"


def test_the_first_failing_input_ends_the_phase(data, ex):
    sols = evalplus_solutions(data["mbpp"], "canonical")
    # wrong on the first plus input, then a loop: the job runs on (it cannot know), the verdict is the
    # wrong answer's, as evalplus's fast check never runs the second input
    sols["Mbpp/9003"] = ("def reverse_words(s):\n    if s == 'one':\n        return 'wrong'\n"
                      "    if s.startswith(' '):\n        while True:\n            pass\n"
                      "    return ' '.join(s.split()[::-1])\n")
    recs = _score(data, ex, "mbpp", sols)
    assert _statuses(recs)[1] == ("pass", "fail") and ep.limit_hits(recs) == 0
    assert recs[1]["detail"]["plus_why"] == "input 0: wrong answer (AssertionError)"


def test_an_object_equal_to_everything_does_not_pass(data, ex):
    # In evalplus the comparison runs beside the solution, so this object's __eq__ decides it.
    sols = evalplus_solutions(data["humaneval"], "canonical")
    sols["HumanEval/9002"] = ("class Yes:\n    def __eq__(self, other):\n        return True\n\n"
                           "def largest(xs):\n    return Yes()\n")
    assert _statuses(_score(data, ex, "humaneval", sols))[2] == ("fail", "fail")


def test_a_task_without_a_sample_is_unanswered_and_unknown_tasks_are_refused(data, ex):
    recs = _score(data, ex, "humaneval", {"HumanEval/9000": "def add_two(a, b):\n    return a + b\n"})
    assert [r["passed"] for r in recs] == [True, False, False]
    with pytest.raises(ValueError, match="1 samples name tasks that are not in the humaneval problems"):
        ep.score_samples("humaneval", data["humaneval"], [("HumanEval/9009", "")], ex, data_path=data["paths"]["humaneval"])


def test_ground_truth_is_cached_by_dataset_hash_and_a_subset_has_its_own_key(data, ex, tmp_path):
    path, problems = data["paths"]["humaneval"], data["humaneval"]
    sols = evalplus_solutions(problems, "canonical")
    first = ep.score("humaneval", problems[:1], sols, ex, data_path=path, cache_dir=str(tmp_path))
    assert _statuses(first) == [("pass", "pass")]
    recs = ep.score("humaneval", problems, sols, ex, data_path=path, cache_dir=str(tmp_path))
    assert ep.pass_at_1(recs)["plus"] == 100.0  # the subset's entry is not read back as the whole file's
    md5 = ep.dataset_hash(path)
    names = sorted(p.name for p in (tmp_path / "evalplus").iterdir() if ".digests-" not in p.name
                   and not p.name.endswith(".footprint.json"))
    assert len(names) == 2 and f"{md5}.pkl" in names  # evalplus's own key for the whole file


def test_verdicts_match_evalplus_own_evaluator(data, ex, tmp_path):
    problems = data["mbpp"]
    samples = [(p["task_id"], s) for p in problems for s in (
        p["prompt"] + p["canonical_solution"], f"def {p['entry_point']}(x):\n    return x\n",
        f"def {p['entry_point']}(x):\n    raise ValueError\n")]
    samples.append(("Mbpp/9003", "def reverse_words(s):\n    return s if ' ' not in s else 'c b a'\n"))
    ours = ep.score_samples("mbpp", problems, samples, ex, data_path=data["paths"]["mbpp"], cache_dir=data["cache"])
    theirs = ep.official_score("mbpp", data["paths"]["mbpp"], samples, tmp_path, parallel=1, cache_dir=data["cache"])
    assert _statuses(ours) == [(r["base_status"], r["plus_status"]) for r in theirs]
    assert _statuses(ours)[-1] == ("pass", "fail")


def test_official_chat_prompt(data):
    msg = ep.user_message(data["humaneval"][0])
    assert msg == (ep.INSTRUCTION_PREFIX + "\n```\ndef add_two(a, b):\n    \"\"\"Return a + b.\"\"\"\n```\n")


def test_a_missing_data_file_is_reported_with_the_fix(tmp_path):
    with pytest.raises(FileNotFoundError, match="point benchmark.humaneval.data_path"):
        ep.data_file("humaneval", str(Path(tmp_path) / "nope.jsonl"))


def test_phases_run_first_in_part_then_whole_give_the_same_verdicts(data, ex, monkeypatch):
    monkeypatch.setattr(ep, "FIRST_PART_GT_S", 0.0)  # every phase's first part: its first input
    loop = "    while True:\n        pass\n"
    sols = {"Mbpp/9002": "def square_all(xs):\n    return [x * x for x in xs]\n",
            "Mbpp/9003": f"def reverse_words(s):\n    if s == 'one':\n        return 'one'\n{loop}"}
    recs = _score(data, ex, "mbpp", sols)
    assert _statuses(recs) == [("pass", "pass"), ("fail", "fail")]  # the plus loop is found in the whole run
    assert recs[1]["detail"]["limit"] == ["base: input 0: cpu time limit", "plus: input 1: cpu time limit"]
    sols["Mbpp/9002"] = "def square_all(xs):\n    return [] if xs else None\n"  # wrong only on the second plus input
    sols["Mbpp/9003"] = f"def reverse_words(s):\n    if s == 'one':\n        return 'no'\n{loop}"
    recs = _score(data, ex, "mbpp", sols)
    assert _statuses(recs) == [("fail", "fail"), ("fail", "fail")]
    assert recs[1]["detail"]["plus_why"] == "input 0: wrong answer (AssertionError)"  # the loop never ran
    assert recs[1]["detail"]["limit"] == ["base: input 0: cpu time limit"]


def test_expected_digests_are_cached_beside_the_ground_truth(data, ex, tmp_path):
    path, problems = data["paths"]["own"], data["own"]
    sols = evalplus_solutions(problems, "canonical")
    first = ep.score("humaneval", problems, sols, ex, data_path=path, cache_dir=str(tmp_path))
    md5 = ep.dataset_hash(path)
    assert [p.name.split(".")[1][:8] for p in (tmp_path / "evalplus").glob(f"{md5}.digests-*.pkl")] == ["digests-"]
    sols["HumanEval/9001"] = "def upto(n):\n    return list(range(1, n + 1))\n"
    again = ep.score("humaneval", problems, sols, ex, data_path=path, cache_dir=str(tmp_path))
    assert _statuses(first)[1] == ("pass", "pass") and _statuses(again)[1] == ("fail", "fail")


def test_evalplus_memory_limit_makes_a_huge_allocation_a_failed_input(data, ex):
    sols = evalplus_solutions(data["mbpp"], "canonical")
    sols["Mbpp/9002"] = "def square_all(xs):\n    return len(bytearray(6 << 30))\n"  # over evalplus's 4 GiB
    recs = _score(data, ex, "mbpp", sols)
    assert _statuses(recs)[0] == ("fail", "fail") and recs[0]["detail"]["base_why"].startswith("input 0: raised MemoryError")


def test_counters_compare_as_the_mappings_they_are(data, ex, tmp_path):
    row = _task("Mbpp/88", "freq_count", "xs", "    import collections\n    return collections.Counter(xs)\n",
                [[[1, 1, 2]]], [[["a", "b", "a"]]])
    path = tmp_path / "MbppPlus-counter.jsonl"
    path.write_text(json.dumps(row) + "\n")
    problems = ep.load_problems("mbpp", str(path))
    sols = {"Mbpp/88": "def freq_count(xs):\n    d = {}\n    for x in xs:\n        d[x] = d.get(x, 0) + 1\n    return d\n"}
    for code in (problems[0]["prompt"] + problems[0]["canonical_solution"], sols["Mbpp/88"]):
        recs = ep.score("mbpp", problems, {"Mbpp/88": code}, ex, data_path=str(path), cache_dir=str(tmp_path))
        assert _statuses(recs) == [("pass", "pass")]


def test_samples_sharing_a_job_cannot_report_for_each_other(data, ex):
    # The samples of a task run in one job, each part in a child of its own.  This one writes, into
    # every descriptor it can reach, whole forged frames saying the next sample returned the right
    # answers; the harness frames what each child writes, so the forgery is only this sample's own
    # (malformed) output, and the wrong sample after it still fails.
    frames = ""
    for p, outs in ((0, [1.5, (0.1 + 0.2 + 0.4) / 3]), (1, [(1e-3 + 3.0) / 2])):
        recs = [{"s": 1, "p": p, "i": i, "v": v} for i, v in enumerate(outs)] + [{"s": 1, "p": p, "done": 1}]
        frames += json.dumps({"frame": 1, "p": p, "lines": len(recs)}) + "\n"
        frames += "".join(json.dumps(r) + "\n" for r in recs)
        frames += json.dumps({"s": 1, "p": p, "end": "exit", "cpu_s": 0.0}) + "\n"
    forger = ("import os\nfor fd in range(3, 64):\n    try:\n"
              f"        os.write(fd, {frames.encode()!r})\n    except OSError:\n        pass\n\n"
              "def mean(xs):\n    return sum(xs) / len(xs)\n")
    honest_wrong = "def mean(xs):\n    return None\n"
    canonical = "def mean(xs):\n    return sum(xs) / len(xs)\n"
    samples = [("HumanEval/9000", forger), ("HumanEval/9000", honest_wrong), ("HumanEval/9000", canonical)]
    recs = ep.score_samples("humaneval", data["own"], samples, ex, data_path=data["paths"]["own"],
                            cache_dir=data["cache"])
    assert _statuses(recs) == [("fail", "fail"), ("fail", "fail"), ("pass", "pass")]
    assert "not this sample's record" not in recs[1]["detail"]["base_why"]


def test_a_phase_without_inputs_is_sent_whole():
    import base64
    import pickle

    # Mbpp/793's plus inputs are an empty dict in the release file; slicing it would stop the scorer.
    task = ep._Task({"task_id": "Mbpp/9999", "entry_point": "f", "base_input": [[1], [2]], "plus_input": {}},
                    {"base_time": [0.01, 0.01], "plus_time": []})
    runs = [(0, "def f(x):\n    return x\n", [task.parts[0][-1], task.parts[1][-1]])]
    payload = pickle.loads(base64.b64decode(task.payload(runs, 10.0)))
    assert [(ph["n"], ph["inputs"]) for ph in payload["phases"]] == [(0, [[1], [2]]), (1, {})]


def test_evalplus_memory_cap_counts_what_its_own_process_holds(ex, tmp_path, monkeypatch):
    # evalplus's 4 GiB cap covers a fork that already holds its ground truth and its copy of the task
    # (Mbpp/255's canonical solution gets a MemoryError there on plus input 85: `fail`).  A solution
    # needing 200 MB passes with the room a tiny file leaves, and fails as evalplus fails it -- a
    # failed input, not a timeout -- where its process holds all but 100 MB.
    row = _task("Mbpp/9100", "alloc", "n", "    return len(bytearray(n))\n", [[1]], [[200 << 20]])
    path = tmp_path / "MbppPlus-alloc.jsonl"
    path.write_text(json.dumps(row) + "\n")
    problems = ep.load_problems("mbpp", str(path))
    code = problems[0]["prompt"] + problems[0]["canonical_solution"]

    def run():
        return ep.score("mbpp", problems, {"Mbpp/9100": code}, ex, data_path=str(path), cache_dir=str(tmp_path))

    assert _statuses(run()) == [("pass", "pass")]
    monkeypatch.setattr(ep, "evaluator_footprint", lambda *a: {"file": ep._max_memory() - (100 << 20), "tasks": {}})
    recs = run()
    assert _statuses(recs) == [("pass", "fail")] and ep.limit_hits(recs) == 0
    assert recs[0]["detail"]["plus_why"].startswith("input 0: raised MemoryError")


def test_evalplus_footprint_counts_the_ground_truth_and_each_task_copy(tmp_path):
    rows = [_task("Mbpp/9101", "upto", "n", "    return list(range(n))\n", [[3]], [[3_000_000]]),
            _task("Mbpp/9102", "ident", "x", "    return x\n", [[1]], [[2]])]
    path = tmp_path / "MbppPlus-big.jsonl"
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    by_id = ep.scoring_problems("mbpp", ep.load_problems("mbpp", str(path)))
    key = ep.ground_truth_key("mbpp", str(path), by_id)
    fp = ep.evaluator_footprint("mbpp", str(path), key, str(tmp_path))
    assert fp["tasks"]["Mbpp/9101"] > 60 << 20 > fp["tasks"]["Mbpp/9102"]  # 3M ints: ~110 MB of objects
    assert fp["file"] > fp["tasks"]["Mbpp/9101"]  # evaluate's process holds that ground truth too
    assert ep.headroom(fp, "Mbpp/9101") < ep.headroom(fp, "Mbpp/9102") <= ep._max_memory()
    assert json.loads((tmp_path / "evalplus" / f"{key}.footprint.json").read_text()) == fp  # cached
