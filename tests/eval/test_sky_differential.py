"""kodcode's ``prompt=skythought`` verdicts against SkyThought's own, on the probe corpus (``lcb_probes.py``).

The reference verdicts in ``sky_probe_verdicts.json`` were recorded by running SkyThought's LiveCodeBench
handler from its source (``bench/lcb_differential.py record-skythought``); nothing here needs that source.
"""

import importlib.util
import json
from pathlib import Path

import pytest

from kodcode.eval import lcb_rules
from kodcode.eval import livecodebench as lcb
from kodcode.eval.sky_harness import sky_call_args, sky_func_name
from kodcode.exec import ExecConfig, Executor
from lcb_probes import DIVERGENT, PROBES, SKY_DIVERGENT, SKYTHOUGHT, TIMEOUT_S

HERE = Path(__file__).parent
SKY = json.loads((HERE / "sky_probe_verdicts.json").read_text())["verdicts"]
LCB = json.loads((HERE / "lcb_probe_verdicts.json").read_text())["verdicts"]
# Probes that wait out a sleep or SkyThought's whole-problem limit ((2 + 1) * tests + 5 s): seconds each.
SLOW = ("sleep", "busy_loop", "thread_left_running")


def _runnable(probes, slow=False):
    has_numpy = importlib.util.find_spec("numpy") is not None
    return [p for p in probes if (has_numpy or "numpy" not in p["code"])
            and any(s in p["name"] for s in SLOW) == slow]


@pytest.fixture(scope="module")
def executor():
    with Executor(ExecConfig(workers=2, timeout_s=float(TIMEOUT_S))) as ex:
        yield ex


def _mismatches(probes, executor):
    recs = lcb.score_probes(probes, executor, timeout_s=TIMEOUT_S, harness="skythought")
    return [(r["task_id"], SKY[r["task_id"]]["passed"], r["detail"]) for r in recs
            if r["passed"] != SKY[r["task_id"]]["passed"]]


def test_corpus_is_recorded_in_full_and_extraction_kept_every_program():
    names = [p["name"] for p in PROBES + DIVERGENT + SKYTHOUGHT + SKY_DIVERGENT]
    assert len(names) == len(set(names)) == len(SKY) and set(names) == set(SKY)
    assert all(v["extracted_intact"] for v in SKY.values())
    assert len(SKYTHOUGHT) >= 60 and {p["fn_name"] is None for p in SKYTHOUGHT} == {True, False}


def test_skythought_harness_reproduces_skythought_verdicts(executor):
    assert _mismatches(_runnable(PROBES + SKYTHOUGHT), executor) == []


@pytest.mark.slow
def test_skythought_harness_reproduces_its_time_behaviour(executor, request):
    if "slow" not in (request.config.getoption("-m") or ""):
        pytest.skip("sleeps and SkyThought's whole-problem limit (~30 s); run with -m slow")
    probes = _runnable(PROBES + SKYTHOUGHT, slow=True)
    assert len(probes) >= 6 and _mismatches(probes, executor) == []


def test_skythought_and_lcb_runner_disagree_and_the_default_stays_lcb_runner(executor):
    # a Solution method: lcb_runner calls it, SkyThought looks up a global function of that name
    probes = [p for p in PROBES if p["name"] in ("call/solution_method", "stdin/stdin_buffer_read")]
    assert [LCB[p["name"]]["passed"] for p in probes] == [True, True]
    assert [SKY[p["name"]]["passed"] for p in probes] == [False, False]
    default = lcb.score_probes(probes, executor, timeout_s=TIMEOUT_S)
    sky = lcb.score_probes(probes, executor, timeout_s=TIMEOUT_S, harness="skythought")
    assert [r["passed"] for r in default] == [True, True] and [r["passed"] for r in sky] == [False, False]
    assert "KeyError('total')" in sky[1]["detail"]["message"] or "KeyError('total')" in sky[0]["detail"]["message"]


def test_objects_claiming_equality_fail_in_kodcode_where_skythought_can_pickle_them(executor):
    # classes the program defines cannot be pickled into SkyThought's result list: they fail there too
    assert [SKY[p["name"]]["passed"] for p in SKY_DIVERGENT] == [False, False, True]
    recs = lcb.score_probes(SKY_DIVERGENT, executor, timeout_s=TIMEOUT_S, harness="skythought")
    assert [r["passed"] for r in recs] == [False, False, False]


def test_only_private_tests_run_under_skythought(executor):
    p = lcb.Problem("q1", "", "", "atcoder", "2024-01-01", "", "easy", fn_name=None, n_public=1,
                    tests=[{"input": "1 2\n", "output": "4\n"}, {"input": "2 2\n", "output": "4\n"}])
    code = "a, b = map(int, input().split())\nprint(a + b)\n"
    sky = lcb.score([p], {"q1": code}, executor, timeout_s=TIMEOUT_S, harness="skythought")
    both = lcb.score([p], {"q1": code}, executor, timeout_s=TIMEOUT_S)
    assert (sky[0]["passed"], both[0]["passed"]) == (True, False)  # the wrong public expectation is skipped


@pytest.mark.parametrize(("text", "args"), [
    ('[1, 2]\n"ab"\n3\n1.5\ntrue', [[1, 2], "ab", 3, 1.5, "true"]),  # no JSON for bare words
    ('"a=b"', ["b"]),  # an '=' anywhere: key=value pieces
    ('"x=1,y=2"', [1, "2"]),
    ('{"a": 1}', ['{"a": 1}']),
    ('"a\\"b"', ['a\\"b']),  # quotes stripped, nothing unescaped
    ("1\n\n2", [1, 2]),
])
def test_call_arguments_are_read_skythoughts_way(text, args):
    assert sky_call_args(text) == args


def test_called_name_is_the_word_before_the_first_parenthesis():
    assert sky_func_name("from typing import List\ndef total(nums: List[int]):\n    pass\n") == "total"
    assert sky_func_name("import sys\nsys.setrecursionlimit(9)\ndef total(x): pass\n") == "sys.setrecursionlimit"


def test_expected_outputs_are_read_skythoughts_way():
    assert lcb_rules.sky_expected_stdio("  3 \n-\n") == "3"
    assert lcb_rules.sky_expected_call(" [1, 2] \n") == [1, 2] and lcb_rules.sky_expected_call("abc") == "abc"
    with pytest.raises(ValueError, match="default limit"):
        lcb_rules.sky_expected_call("1" * 4301)
    # a top-level tuple is not a list here (lcb_runner turns it into one)
    assert not lcb_rules.sky_call_equal((1, 3), [1, 3]) and lcb_rules.call_output_matches((1, 3), [1, 3])
