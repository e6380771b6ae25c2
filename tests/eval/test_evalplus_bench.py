"""HumanEval+/MBPP+ scoring through evalplus's own evaluator (in a child process) on fixture files."""

import json

import pytest

from kodcode.eval import evalplus_bench as ep
from kodcode.eval.fixtures import write_fixtures
from kodcode.eval.references import evalplus_solutions


@pytest.fixture(scope="module")
def data(tmp_path_factory):
    root = tmp_path_factory.mktemp("evalplus")
    paths = write_fixtures(root)
    return {name: ep.load_problems(name, paths[name]) for name in ("humaneval", "mbpp")} | {"cache": str(root / "cache")}


def _score(data, name, sols, workdir, **kw):
    return ep.score(name, data[name], sols, workdir, cache_dir=data["cache"], **kw)


@pytest.mark.parametrize("name", ["humaneval", "mbpp"])
def test_canonical_solutions_pass_base_and_plus(data, name, tmp_path):
    recs = _score(data, name, evalplus_solutions(data[name], "canonical"), tmp_path)
    assert ep.pass_at_1(recs) == {"base": 100.0, "plus": 100.0}
    assert {(r["base_status"], r["plus_status"]) for r in recs} == {("pass", "pass")}


def test_broken_and_empty_solutions_score_zero(data, tmp_path):
    for kind in ("broken", "empty"):
        recs = _score(data, "humaneval", evalplus_solutions(data["humaneval"], kind), tmp_path / kind)
        assert ep.pass_at_1(recs) == {"base": 0.0, "plus": 0.0}, kind


def test_plus_counts_only_samples_that_also_pass_base(data, tmp_path):
    sols = evalplus_solutions(data["humaneval"], "canonical")
    # Right on the base inputs of add_two, wrong on the larger plus inputs.
    sols["HumanEval/0"] = "def add_two(a, b):\n    return a + b if abs(a) + abs(b) < 100 else 0\n"
    recs = _score(data, "humaneval", sols, tmp_path)
    r0 = recs[0]
    assert (r0["base_status"], r0["plus_status"], r0["passed"]) == ("pass", "fail", False)
    assert ep.pass_at_1(recs)["base"] == 100.0 and ep.pass_at_1(recs)["plus"] == pytest.approx(200 / 3)


def test_rescoring_into_the_same_directory_never_reuses_or_prompts(data, tmp_path):
    # evalplus reuses an existing result file (or asks on stdin); each score starts clean.
    assert ep.pass_at_1(_score(data, "mbpp", evalplus_solutions(data["mbpp"], "canonical"), tmp_path))["plus"] == 100.0
    assert ep.pass_at_1(_score(data, "mbpp", evalplus_solutions(data["mbpp"], "broken"), tmp_path))["plus"] == 0.0


def test_a_real_infinite_loop_still_fails_after_retries(data, tmp_path):
    sols = evalplus_solutions(data["mbpp"], "canonical")
    sols["Mbpp/3"] = "def reverse_words(s):\n    while True:\n        pass\n"
    recs = _score(data, "mbpp", sols, tmp_path, load_retries=1)
    # evalplus reports a per-input time limit as a fail
    assert not recs[1]["passed"] and recs[1]["base_status"] in ("fail", "timeout")
    assert recs[1]["detail"]["load_retries"] == 1
    assert recs[0]["passed"] and recs[0]["detail"]["load_retries"] == 0


def test_a_slow_verdict_that_passes_when_rescored_alone_becomes_a_pass(data, tmp_path, monkeypatch):
    calls = []
    real = ep._evaluate_in_child

    def busy_then_idle(dataset, problems_file, samples_file, parallel, cache_dir):
        out = real(dataset, problems_file, samples_file, parallel, cache_dir)
        rows = [json.loads(line) for line in samples_file.read_text().splitlines()]
        calls.append([r["task_id"] for r in rows if r["solution"]])
        if len(calls) == 1:  # first pass on a loaded machine: evalplus's wall clock ran out
            out["HumanEval/1"][0]["base_status"] = "timeout"
            out["HumanEval/2"][0]["plus_status"] = "fail"
        return out

    monkeypatch.setattr(ep, "_evaluate_in_child", busy_then_idle)
    recs = _score(data, "humaneval", evalplus_solutions(data["humaneval"], "canonical"), tmp_path)
    assert calls[1] == ["HumanEval/1", "HumanEval/2"]  # only the non-passes are rescored, one worker
    assert [r["passed"] for r in recs] == [True, True, True]
    assert [r["detail"]["load_retries"] for r in recs] == [0, 1, 1]


def test_missing_samples_are_reported_not_guessed(data, tmp_path):
    with pytest.raises(ValueError, match="1 humaneval tasks have no sample"):
        ep.score("humaneval", data["humaneval"], {"HumanEval/0": "", "HumanEval/1": ""}, tmp_path)


def test_official_chat_prompt(data):
    msg = ep.user_message(data["humaneval"][0])
    assert msg == (ep.INSTRUCTION_PREFIX + "\n```\ndef add_two(a, b):\n    \"\"\"Return a + b.\"\"\"\n```\n")
