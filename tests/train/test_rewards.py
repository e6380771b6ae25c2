"""Rewards on the real execution engine: exact rewards per outcome, None for sandbox errors, tripwires."""

from __future__ import annotations

import pytest

from kodcode.exec import ExecConfig, Verdict
from kodcode.exec.jobs import TestOutcome as Outcome
from kodcode.train.config import RewardConfig
from kodcode.train.rewards import ExecBackend, FormatReward, UnitTestReward, build_reward_funcs, tripwires

TEST = "def test_small():\n    assert add(1, 2) == 3\n\ndef test_negative():\n    assert add(-1, 1) == 0\n"


def answer(code: str, think: bool = True) -> list[dict]:
    text = ("<think>\nadd them\n</think>\n" if think else "") + f"```python\n{code}\n```"
    return [{"role": "assistant", "content": text}]  # TRL's conversational completion shape


CASES = {
    "pass": answer("def add(a, b):\n    return a + b"),
    "wrong": answer("def add(a, b):\n    return a - b"),
    "half": answer("def add(a, b):\n    return 3 if a == 1 else a - b"),  # passes test_small only
    "no_code": [{"role": "assistant", "content": "<think>hmm</think> I am not sure."}],
    "syntax": answer("def add(a, b) return a + b"),
    "loop": answer("def add(a, b):\n    while True:\n        pass"),
    "exit": answer("import os\ndef add(a, b):\n    os._exit(0)"),
    "always_equal": answer(
        "class Any:\n    def __eq__(self, other):\n        return True\n\ndef add(a, b):\n    return Any()"),
}


@pytest.fixture(scope="module")
def backend():
    b = ExecBackend(ExecConfig(workers=2, timeout_s=1.0))
    yield b
    b.close()


@pytest.fixture(scope="module")
def scored(backend):
    metrics, extra = {}, {}
    reward = UnitTestReward(RewardConfig(), backend)
    names = list(CASES)
    out = reward(
        completions=[CASES[n] for n in names], test=[TEST] * len(names),
        log_metric=metrics.__setitem__, log_extra=extra.__setitem__,
    )
    return dict(zip(names, out)), metrics, dict(zip(names, extra["verdict"])), dict(zip(names, extra["tripwires"]))


def test_binary_rewards_per_outcome(scored):
    rewards, _, _, _ = scored
    assert rewards == {"pass": 1.0, "wrong": 0.0, "half": 0.0, "no_code": 0.0, "syntax": 0.0, "loop": 0.0,
                       "exit": 0.0, "always_equal": 0.0}


def test_verdicts_reach_the_completions_table(scored):
    _, _, verdicts, _ = scored
    assert verdicts["pass"] == "pass" and verdicts["no_code"] == "no_code" and verdicts["loop"] == "timeout"
    assert verdicts["wrong"] == "fail" and verdicts["syntax"] == "no_code"


def test_batch_metrics_are_logged(scored):
    _, metrics, _, _ = scored
    assert metrics["unit_test/pass_rate"] == 1 / 8
    assert metrics["unit_test/sandbox_error_rate"] == 0.0
    assert metrics["unit_test/no_code_rate"] == 2 / 8  # no block at all, and a block that does not parse
    assert metrics["tripwire/early_exit"] == 1 / 8 and metrics["tripwire/always_equal"] == 1 / 8


def test_tripwires_name_the_hack(scored):
    _, _, _, wires = scored
    assert wires["exit"] == "early_exit" and "always_equal" in wires["always_equal"].split(",")
    assert wires["pass"] == ""
    assert tripwires("import pytest\npytest.main = lambda *a: 0") == ["test_framework_patch"]
    assert tripwires("open('conftest.py', 'w')") == ["conftest"]
    assert tripwires("import sys\nsys.exit(0)") == ["early_exit"]


def test_partial_credit_gives_fraction_of_tests(backend):
    reward = UnitTestReward(RewardConfig(partial_credit=True), backend)
    assert reward(completions=[CASES["half"], CASES["pass"]], test=[TEST, TEST]) == [0.5, 1.0]


class _Infrastructure:
    """Stands in for an exec server that is failing: every job comes back as a sandbox_error."""

    def __init__(self, statuses):
        self.statuses = statuses

    def run(self, jobs):
        return [Verdict(status=s, tests=[Outcome("test_small", "passed")] if s == "pass" else [])
                for s, _ in zip(self.statuses, jobs)]

    def close(self):
        pass


def test_sandbox_error_is_none_never_zero():
    reward = UnitTestReward(RewardConfig(max_sandbox_error_rate=0.5), _Infrastructure(["sandbox_error", "pass"]))
    assert reward(completions=[CASES["pass"], CASES["pass"]], test=[TEST, TEST]) == [None, 1.0]


def test_outage_above_threshold_aborts():
    reward = UnitTestReward(RewardConfig(max_sandbox_error_rate=0.5), _Infrastructure(["sandbox_error"] * 3))
    with pytest.raises(RuntimeError, match="3 of 3 reward jobs ended in sandbox_error"):
        reward(completions=[CASES["pass"]] * 3, test=[TEST] * 3)


def test_format_reward():
    fmt = FormatReward(RewardConfig(think_tags=True))
    plain = [{"role": "assistant", "content": "```python\nx = 1\n```"}]
    assert fmt([CASES["pass"], CASES["no_code"], plain, "<think>a</think>```python\nx=1\n```"]) == [1.0, 0.0, 0.0, 1.0]
    assert FormatReward(RewardConfig(think_tags=False))([plain]) == [1.0]


def test_reward_funcs_follow_config_order():
    funcs = build_reward_funcs(RewardConfig(funcs=["format", "unit_test"]), ExecConfig(workers=1))
    assert [f.__name__ for f in funcs] == ["format", "unit_test"]


def test_ranks_on_a_node_share_one_exec_server(monkeypatch):
    # Two ranks on this node and no socket configured: local rank 0 starts `kodcode.exec serve`.
    monkeypatch.setenv("LOCAL_WORLD_SIZE", "2")
    monkeypatch.setenv("LOCAL_RANK", "0")
    monkeypatch.delenv("SLURM_JOB_ID", raising=False)
    monkeypatch.setenv("MASTER_PORT", f"t{__import__('os').getpid()}")
    backend = ExecBackend(ExecConfig(workers=1, timeout_s=2.0))
    try:
        reward = UnitTestReward(RewardConfig(), backend)
        assert reward(completions=[CASES["pass"], CASES["wrong"]], test=[TEST, TEST]) == [1.0, 0.0]
        assert backend._client is not None and backend._server is not None  # went through the server
    finally:
        backend.close()
