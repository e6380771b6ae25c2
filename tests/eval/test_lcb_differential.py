"""kodcode's LiveCodeBench verdicts against lcb_runner's own, on the probe corpus (``lcb_probes.py``).

The reference verdicts in ``lcb_probe_verdicts.json`` were recorded by running lcb_runner from its
source (``bench/lcb_differential.py record``); nothing here needs that source.
"""

import json
from pathlib import Path

import pytest

from kodcode.eval import livecodebench as lcb
from kodcode.exec import ExecConfig, Executor
from lcb_probes import DIVERGENT, PROBES, TIMEOUT_S

RECORDED = json.loads((Path(__file__).parent / "lcb_probe_verdicts.json").read_text())["verdicts"]

# Correct programs that lcb_runner fails for how it runs them, not for what they compute.
QUIRK_VICTIMS = [
    "stdin/open0_read", "stdin/stdin_iterate", "stdin/stdout_buffer_write", "stdin/os_write_fd1",
    "stdin/quit_after_answer", "stdin/main_guard_not_last", "stdin/global_counter", "stdin/sleep_past_timeout",
    "stdin/stdin_readlines_trailing_newline", "call/nested_tuples", "call/state_in_instance", "call/global_counter",
    "call/sleep_past_timeout", "stdin/lru_cache_recursion_22k", "call/lru_cache_recursion_22k",
]


@pytest.fixture(scope="module")
def executor():
    with Executor(ExecConfig(workers=2, timeout_s=float(TIMEOUT_S))) as ex:
        yield ex


def test_corpus_is_large_and_recorded_in_full():
    assert len(PROBES) >= 60 and {p["name"] for p in PROBES + DIVERGENT} == set(RECORDED)
    assert {p["fn_name"] is None for p in PROBES} == {True, False}  # stdin and call-based


def _runnable(probes):
    """numpy probes need numpy in the job interpreter (lcb_runner's environment has it)."""
    import importlib.util

    has_numpy = importlib.util.find_spec("numpy") is not None
    return [p for p in probes if has_numpy or "numpy" not in p["code"]]


def test_official_semantics_reproduce_lcb_runner_verdicts(executor):
    probes = _runnable(PROBES)
    recs = lcb.score_probes(probes, executor, semantics="official", timeout_s=TIMEOUT_S)
    got = {r["task_id"]: r["passed"] for r in recs}
    want = {p["name"]: RECORDED[p["name"]]["passed"] for p in probes}
    assert [n for n in want if got[n] != want[n]] == []


def test_fixed_semantics_pass_correct_programs_that_lcb_runner_fails(executor):
    probes = [p for p in PROBES if p["name"] in QUIRK_VICTIMS]
    assert all(not RECORDED[p["name"]]["passed"] for p in probes)
    recs = lcb.score_probes(probes, executor, semantics="fixed", timeout_s=TIMEOUT_S)
    assert [r["task_id"] for r in recs if not r["passed"]] == []


@pytest.mark.parametrize("semantics", lcb.SEMANTICS)
def test_objects_that_claim_equality_pass_lcb_runner_but_not_kodcode(executor, semantics):
    assert all(RECORDED[p["name"]]["passed"] for p in DIVERGENT)
    recs = lcb.score_probes(DIVERGENT, executor, semantics=semantics, timeout_s=TIMEOUT_S)
    assert [r["passed"] for r in recs] == [False] * len(DIVERGENT)
