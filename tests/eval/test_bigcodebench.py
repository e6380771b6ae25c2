"""BigCodeBench: dataset upgrade, hard subset, prompts, sanitizer, calibration, and scoring on the real
sandbox with the official single-module unittest semantics (fixture tasks written here)."""

import json

import pytest

from kodcode.eval import bigcodebench as bcb
from kodcode.eval.fixtures import write_fixtures
from kodcode.eval.references import bigcodebench_solutions
from kodcode.eval.sanitize import bigcodebench_sanitize, evalplus_sanitize
from kodcode.exec import ExecConfig, Executor


@pytest.fixture(scope="module")
def tasks(tmp_path_factory):
    return bcb.load_tasks(write_fixtures(tmp_path_factory.mktemp("bcb"))["bigcodebench"], "full")


@pytest.fixture(scope="module")
def executor():
    with Executor(ExecConfig(workers=2)) as ex:
        yield ex


def _score(tasks, sols, ex):
    return bcb.score(tasks, {t.task_id: bcb.calibrate(t, sols[t.task_id]) for t in tasks}, ex, timeout_s=20,
                     memory_mb=2048)


def test_hard_subset_is_the_148_official_ids(tmp_path, tasks):
    assert len(bcb.HARD_IDS) == 148 and len(set(bcb.HARD_IDS)) == 148
    hard = bcb.load_tasks(write_fixtures(tmp_path)["bigcodebench"], "hard")
    assert [t.task_id for t in hard] == ["BigCodeBench/9013", "BigCodeBench/9015"]  # marked by the file
    assert len(tasks) == 3


def test_rows_without_a_hard_column_are_hard_by_the_official_ids(tmp_path):
    rows = [{"task_id": f"BigCodeBench/{n}", "complete_prompt": "", "instruct_prompt": "", "canonical_solution": "",
             "code_prompt": "", "test": "", "entry_point": "task_func", "libs": "[]"} for n in (12, 13, 9013)]
    path = tmp_path / "bcb.jsonl"
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    assert [t.task_id for t in bcb.load_tasks(str(path), "hard", upgrade=False)] == ["BigCodeBench/13"]


def test_upgrade_applies_the_v014_edits_to_old_files_only():
    row = {"task_id": "BigCodeBench/211", "complete_prompt": "", "instruct_prompt": "", "canonical_solution": "",
           "code_prompt": "", "test": "x\n        mock_response = MagicMock()\n        mock_response.content = MOCK_CONTENT\n"}
    r16 = {"task_id": "BigCodeBench/16", "complete_prompt": "raise 'No logs found to backup.'", "instruct_prompt": "",
           "code_prompt": "", "canonical_solution": "", "test": ""}
    once = bcb.upgrade_rows([row, r16])
    assert once[0]["test"].count("mock_response.status_code = 200") == 1
    assert once[1]["complete_prompt"] == "raise 'No logs found to backup'"
    assert bcb.upgrade_rows(once) == once  # a v0.1.4 file is left as it is
    r37 = {"task_id": "BigCodeBench/37", "complete_prompt": "import x\n", "instruct_prompt": "", "code_prompt": "",
           "canonical_solution": "", "test": ""}
    assert bcb.upgrade_to_v014(r37)["complete_prompt"].startswith("import pandas as pd\nimport x")


def test_prompts_follow_the_official_split_formats(tasks):
    t = tasks[0]
    complete = bcb.user_message(t, "complete")
    assert complete.startswith(bcb.INSTRUCTION_PREFIX + "\n```\nimport math\ndef task_func(n):")
    assert complete.endswith('"""\n```\n')
    instruct = bcb.user_message(t, "instruct")
    assert instruct.startswith(bcb.INSTRUCTION_PREFIX + "\nReturn the square root") and "```\n" in instruct


def test_calibration_prefixes_code_prompt_and_pass():
    t = bcb.Task("BigCodeBench/9000", "", "", "", "import math\ndef task_func(n):\n", "", "task_func", [])
    assert bcb.calibrate(t, "    return n\n") == "import math\ndef task_func(n):\n\n    pass\n    return n\n"


def test_bigcodebench_sanitizer_keeps_returnless_functions_and_drops_demo_calls():
    raw = ("import os\n\ndef helper(p):\n    os.makedirs(p)\n\ndef task_func(p):\n    helper(p)\n    return p\n\n"
           "task_func('x')\nprint(task_func('y'))\n")
    out = bigcodebench_sanitize(raw, "task_func")
    assert "def helper" in out and "task_func('x')" not in out and "print(" not in out
    assert "def helper" not in evalplus_sanitize(raw, "task_func")  # evalplus drops return-less helpers


def test_canonical_passes_broken_and_empty_fail(tasks, executor):
    for kind, want in (("canonical", ["pass"] * 3), ("broken", ["fail"] * 3), ("empty", ["fail"] * 3)):
        recs = _score(tasks, bigcodebench_solutions(tasks, kind), executor)
        assert [r["status"] for r in recs] == want, (kind, [r["detail"] for r in recs])
    assert bcb.pass_at_1(recs)["pass@1"] == 0.0


def test_names_the_official_harness_prebinds_are_visible(tasks, executor):
    # unsafe_execute puts sys, os and environ in the module before running the solution.
    t = tasks[2]  # writes a file, returns its size
    sol = "def task_func(path):\n    open(path, 'w').write('ok')\n    return os.path.getsize(path) + len(environ) * 0\n"
    [rec] = _score([t], {t.task_id: sol}, executor)
    assert rec["status"] == "pass", rec["detail"]


def test_tests_see_solution_level_private_names(tasks, executor):
    # One module, as the official harness runs it: a test could reach names import * would hide.
    t = tasks[1]
    sol = "_KEY = lambda w: (len(w), w)\ndef task_func(words):\n    return sorted(words, key=_KEY)\n"
    [rec] = _score([t], {t.task_id: sol}, executor)
    assert rec["status"] == "pass", rec["detail"]
    assert "_KEY = lambda" in bcb.job_test_source(t, sol)


def test_one_failing_test_method_fails_the_task(tasks, executor):
    t = tasks[1]
    sol = "def task_func(words):\n    return sorted(words, key=lambda w: (len(w), w)) if words else None\n"
    [rec] = _score([t], {t.task_id: sol}, executor)
    assert rec["status"] == "fail" and "failed: test_1" in rec["detail"]["message"]


def test_skipped_and_expected_failure_tests_count_as_passing_like_unittest(executor):
    # unittest.TestResult records neither as a failure or error, so the official harness passes them.
    test = ("import unittest\nclass TestCases(unittest.TestCase):\n    def test_ok(self):\n        self.assertEqual(task_func(), 1)\n"
            "    @unittest.skip('network')\n    def test_skipped(self):\n        self.fail()\n"
            "    @unittest.expectedFailure\n    def test_known_bad(self):\n        self.assertEqual(1, 2)\n")
    t = bcb.Task("BigCodeBench/9009", "", "", "", "def task_func():\n", test, "task_func", [])
    [ok] = bcb.score([t], {t.task_id: "def task_func():\n    return 1\n"}, executor, timeout_s=20, memory_mb=2048)
    [bad] = bcb.score([t], {t.task_id: "def task_func():\n    return 2\n"}, executor, timeout_s=20, memory_mb=2048)
    assert (ok["status"], bad["status"]) == ("pass", "fail")
