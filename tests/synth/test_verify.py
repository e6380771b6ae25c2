"""Verification of attempts on the real sandbox; sandbox errors never become wrong answers."""

import pytest

from kodcode.exec import ExecConfig, Executor, Verdict
from kodcode.synth.parse import parse_record
from kodcode.synth.verify import SandboxFailure, pytest_job, verify_attempts


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


def test_a_pass_that_depends_on_the_string_hash_secret_is_rejected_as_flaky():
    # KodCode's demo data has a test comparing list(set(...)) of ints and a string with one fixed
    # order: it passes or fails with the interpreter's string-hash secret.  Here the dependence is
    # made certain: the test pins the hash value one set of workers produced.
    from kodcode.synth.verify import recheck_passes

    probe = attempt(0, "def f():\n    return 1", "def test_probe():\n    assert False, 'H=%d=' % hash('kodcode')")
    stable = attempt(1, "def union(a, b):\n    return sorted(set(a + b))",
                     "from solution import union\n\ndef test_union():\n    assert union([2, 1], [3]) == [1, 2, 3]")
    with Executor(ExecConfig(workers=1)) as ex:
        [probed] = ex.run([pytest_job(probe)])
        text = " ".join([probed.message, probed.stdout, probed.stderr, *(t.message for t in probed.tests)])
        h = int(text.split("H=")[1].split("=")[0])
        pinned = attempt(2, "def f():\n    return 1", f"def test_pinned():\n    assert hash('kodcode') == {h}")
        first = verify_attempts([pinned, stable], ex)
    assert [a["passed"] for a in first] == [True, True]  # same workers: the pinned value holds
    out = recheck_passes(first, ExecConfig(workers=1), rounds=1)
    assert [a["passed"] for a in out] == [False, True]
    assert "flaky" in out[0]["verdict"]["flags"] and out[0]["verdict"]["message"].startswith("flaky: passed, then fail")
