"""Verification of attempts on the real sandbox; sandbox errors never become wrong answers."""

import pytest

from kodcode.exec import ExecConfig, Executor, Verdict
from kodcode.synth.parse import parse_record
from kodcode.synth.verify import SandboxFailure, verify_attempts


def attempt(i, solution, test):
    raw = f"<|Solution Begin|>\n```python\n{solution}\n```\n<|Solution End|>\n<|Test Begin|>\n```python\n{test}\n```\n<|Test End|>"
    return parse_record({"question_id": "Q", "attempt": i, "raw": raw})


def test_verdicts_on_the_real_sandbox():
    test = "from solution import sq\n\ndef test_sq():\n    assert sq(3) == 9\n\ndef test_zero():\n    assert sq(0) == 0"
    attempts = [attempt(0, "def sq(x):\n    return x * x", test),
                attempt(1, "def sq(x):\n    return x + x", test),
                attempt(2, "def sq(x):\n    while True:\n        pass", test),
                {"question_id": "Q", "attempt": 3, "raw": "no code", "solution": None, "test": None,
                 "parse_error": "no solution/test markers and no separable code blocks"}]
    with Executor(ExecConfig(workers=2, timeout_s=2.0)) as ex:
        out = verify_attempts(attempts, ex)
    assert [a["passed"] for a in out] == [True, False, False, False]
    assert [a["verdict"]["status"] for a in out] == ["pass", "fail", "timeout", "fail"]
    assert out[0]["verdict"]["n_tests"] == 2 and out[1]["verdict"]["n_passed"] == 1
    assert out[3]["verdict"]["runner"] == "parse" and out[3]["verdict"]["message"].startswith("not run:")


class BrokenSandbox:
    def run(self, jobs, progress=False):
        return [Verdict(status="sandbox_error", message="worker died") for _ in jobs]


def test_a_batch_of_sandbox_errors_aborts_instead_of_failing_everything():
    attempts = [attempt(i, "def f():\n    return 1", "def test_f():\n    assert f() == 1") for i in range(4)]
    with pytest.raises(SandboxFailure, match="4 of 4 jobs in one verify batch were sandbox errors"):
        verify_attempts(attempts, BrokenSandbox())
