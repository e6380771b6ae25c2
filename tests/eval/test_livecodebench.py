"""LiveCodeBench: compressed private tests, release window, official prompt, extraction, and scoring on
the real sandbox with fixture problems written here (stdin and call-based)."""

import base64
import json
import pickle
import zlib

import pytest

from kodcode.eval import livecodebench as lcb
from kodcode.eval.fixtures import LIVECODEBENCH, write_fixtures
from kodcode.exec import ExecConfig, Executor


@pytest.fixture(scope="module")
def executor():
    with Executor(ExecConfig(workers=2, timeout_s=4.0)) as ex:
        yield ex


@pytest.fixture(scope="module")
def problems(tmp_path_factory):
    path = write_fixtures(tmp_path_factory.mktemp("lcb"))["livecodebench"]
    return {p.question_id: p for p in lcb.load_problems(path)}


def test_private_tests_roundtrip_through_lcb_compression():
    tests = [{"input": "1\n", "output": "2\n", "testtype": "stdin"}]
    blob = lcb.encode_private_tests(tests)
    assert json.loads(pickle.loads(zlib.decompress(base64.b64decode(blob)))) == tests  # LCB's own decode
    assert lcb.decode_private_tests(blob) == tests
    assert lcb.decode_private_tests(json.dumps(tests)) == tests  # plain JSON is accepted too


def test_a_pickle_that_references_code_is_refused():
    class Evil:
        def __reduce__(self):
            return (print, ("pwned",))

    blob = base64.b64encode(zlib.compress(pickle.dumps(Evil()))).decode()
    with pytest.raises(pickle.UnpicklingError, match="refused"):
        lcb.decode_private_tests(blob)


def test_release_window_and_difficulty_filter(tmp_path, problems):
    assert sorted(problems) == ["fx001", "fx002", "fx003"]  # fx000 predates release_v5
    p = write_fixtures(tmp_path)["livecodebench"]
    assert [x.question_id for x in lcb.load_problems(p, difficulties=["medium"])] == ["fx002"]
    assert [x.question_id for x in lcb.load_problems(p, end_date="2024-07-01")] == ["fx001"]


def test_parquet_export_loads_like_jsonl(tmp_path):
    import pyarrow as pa
    import pyarrow.parquet as pq

    path = tmp_path / "lcb.parquet"
    pq.write_table(pa.Table.from_pylist(LIVECODEBENCH), path)
    got = lcb.load_problems(str(path))
    assert [p.question_id for p in got] == ["fx001", "fx002", "fx003"]
    assert len(got[0].tests) == 3 and got[1].fn_name == "twoSum"


def test_official_prompt_with_and_without_starter_code(problems):
    sys_msg, user = lcb.make_messages(problems["fx002"])
    assert sys_msg["role"] == "system" and sys_msg["content"].startswith("You are an expert Python programmer.")
    assert user["content"].startswith("### Question:\nReturn the indices")
    assert "### Format: You will use the following starter code" in user["content"]
    assert "```python\nclass Solution:" in user["content"]
    assert user["content"].endswith("### Answer: (use the provided format with backticks)\n\n")
    _, user = lcb.make_messages(problems["fx001"])
    assert "Read the inputs from stdin solve the problem" in user["content"]
    assert "```python\n# YOUR CODE HERE\n```" in user["content"]
    [sky] = lcb.make_messages(problems["fx001"], style="skythought")
    assert sky["content"].endswith("take stdin as input and print the output. Simply call the function after "
                                   "the definition. Read two integers A and B and print A+B.")


def test_extract_code_takes_the_last_fenced_block():
    text = "plan\n```python\nprint(1)\n```\nbetter:\n```python\nprint(2)\n```\n"
    assert lcb.extract_code(text) == "print(2)"
    assert lcb.extract_code("no code here") == ""


STDIN_OK = "import sys\na, b = map(int, sys.stdin.buffer.read().split())\nprint(a + b)\n"
STDIN_BYTES_OUT = "import sys\na, b = map(int, sys.stdin.buffer.read().split())\nsys.stdout.buffer.write(f'{a + b}\\n'.encode())\n"
MEAN_OK = "n = int(input())\nxs = list(map(int, input().split()))\nprint(f'{sum(xs) / n:.2f}')\n"
CALL_OK = ("class Solution:\n    def twoSum(self, nums: List[int], target: int) -> List[int]:\n"
           "        seen = {}\n        for i, x in enumerate(nums):\n"
           "            if target - x in seen:\n                return (seen[target - x], i)\n"
           "            seen[x] = i\n")


def test_correct_programs_pass_on_every_public_and_private_test(problems, executor):
    recs = lcb.score(list(problems.values()), {"fx001": STDIN_OK, "fx002": CALL_OK, "fx003": MEAN_OK}, executor)
    assert [(r["task_id"], r["status"]) for r in recs] == [("fx001", "pass"), ("fx002", "pass"), ("fx003", "pass")]
    assert recs[0]["detail"]["results"] == [True, True, True]  # 1 public + 2 decoded private tests
    assert lcb.pass_at_1(recs)["all"] == 100.0


def test_stdout_buffer_fails_officially_and_passes_with_fixed_semantics(problems, executor):
    # lcb_runner captures output in a StringIO, which has no .buffer: a runtime error there.
    [off] = lcb.score([problems["fx001"]], {"fx001": STDIN_BYTES_OUT}, executor)
    [fix] = lcb.score([problems["fx001"]], {"fx001": STDIN_BYTES_OUT}, executor, semantics="fixed")
    assert (off["status"], off["detail"]["error_code"], fix["status"]) == ("fail", -4, "pass")


def test_wrong_crashing_and_looping_programs_fail_with_lcb_codes(problems, executor):
    ps = [problems["fx001"], problems["fx002"], problems["fx003"]]
    sols = {"fx001": "print(3)\n",  # right on the public test only
            "fx002": "class Solution:\n    def twoSum(self, nums, target):\n        return nums[10]\n",
            "fx003": "while True:\n    pass\n"}
    recs = lcb.score(ps, sols, executor, timeout_s=1.0)
    assert [r["status"] for r in recs] == ["fail", "fail", "fail"]
    assert recs[0]["detail"]["results"] == [True, -2]
    assert recs[1]["detail"]["error_code"] == -4
    assert recs[2]["detail"]["error_code"] == -3
    p1 = lcb.pass_at_1(recs)
    assert (p1["easy"], p1["medium"], p1["hard"]) == (0.0, 0.0, 0.0)


def test_empty_answer_fails_without_running(problems, executor):
    [rec] = lcb.score([problems["fx001"]], {"fx001": ""}, executor)
    assert rec["status"] == "fail" and rec["detail"]["message"] == "no code extracted"


def test_a_directory_of_hub_release_files_loads_per_release(tmp_path):
    rows = [json.loads(line) for line in open(write_fixtures(tmp_path)["livecodebench"])]
    (tmp_path / "hub").mkdir()
    for name, part in zip(["test.jsonl", "test2.jsonl"], [rows[:2], rows[2:]]):
        (tmp_path / "hub" / name).write_text("".join(json.dumps(r) + "\n" for r in part))
    with pytest.raises(FileNotFoundError, match=r"lacks \['test3.jsonl'.*data_path="):
        lcb.load_problems(str(tmp_path / "hub"))  # release_v5 needs test..test5
    got = lcb.load_problems(str(tmp_path / "hub"), release="release_v2", end_date="2025-01-31")
    assert [p.question_id for p in got] == ["fx001", "fx002", "fx003"]


def test_a_missing_data_file_names_the_fix(tmp_path):
    with pytest.raises(FileNotFoundError, match="does not exist; export release_v5 once.*benchmark.livecodebench.data_path"):
        lcb.load_problems(str(tmp_path / "nope.jsonl"))


def test_summary_counts_releases_and_difficulties(problems):
    line = lcb.summarize(list(problems.values()), "release_v5")
    assert line.startswith("LiveCodeBench: 3 problems (easy 1, medium 1, hard 1); by release window: release_v3 1, release_v4 2,")
    assert "release_v5 3" in line and "the full release_v5 has 880" in line


def test_skythought_harness_takes_the_last_block_and_runs_private_tests_only(problems, executor):
    text = "```python\nprint(0)\n```\nfinal:\n```python\nprint(3)\n```"
    assert lcb.extract_code_skythought(text) == "print(3)\n" and lcb.extract_code_skythought("none") == ""
    p = problems["fx001"]  # public test 1 2 -> 3; private tests -> 7 and 0
    assert [t["output"] for t in p.tests_for("skythought")] == ["7\n", "0\n"]
    [rec] = lcb.score([p], {"fx001": "print(7)\n"}, executor, harness="skythought")
    assert rec["detail"]["results"] == [True, False] and rec["detail"]["case"] == 1  # SkyThought's details


def test_odd_values_and_outputs_never_stop_the_scorer(problems, executor):
    odd = ("class Solution:\n    def twoSum(self, nums, target):\n        import decimal\n"
           "        return [decimal.Decimal('sNaN'), float('nan'), 10 ** 6000, {1, 2}, b'x', object(), print]\n")
    recs = lcb.score([problems["fx001"], problems["fx002"]], {"fx001": "print('sNaN')\nprint('\\ud800')\n",
                                                                "fx002": odd}, executor)
    assert [r["status"] for r in recs] == ["fail", "fail"]
    for semantics in lcb.SEMANTICS:
        [rec] = lcb.score([problems["fx002"]], {"fx002": odd}, executor, semantics=semantics)
        assert rec["status"] == "fail"


def test_large_outputs_are_graded_in_full(problems, executor):
    # 300 kB of output per test travels compressed from the harness; one wrong number still fails
    big = "n = int(input().split()[0])\nprint(' '.join(['1'] * 150000))\nprint(n)\n"
    p = lcb.Problem("big", "", "", "", "", "", "easy", tests=[{"input": "5 0\n", "output": " ".join(["1"] * 150000) + "\n5\n"},
                    {"input": "6 0\n", "output": " ".join(["1"] * 150000) + "\n7\n"}])
    [rec] = lcb.score([p], {"big": big}, executor)
    assert rec["detail"]["results"] == [True, -2]


def test_unknown_semantics_is_refused_with_the_fix():
    from kodcode.config import problems_of
    from kodcode.eval.schema import LiveCodeBenchBench

    [msg] = problems_of(LiveCodeBenchBench(semantics="strict"), "benchmark.livecodebench")
    assert msg.startswith("benchmark.livecodebench.semantics=strict: must be one of official, fixed")
    assert msg.endswith("set benchmark.livecodebench.semantics=official")


def test_a_sample_that_cannot_be_graded_fails_alone(problems):
    class Garbled:  # an executor whose verdict for the first job is malformed
        def run(self, jobs, progress=False):
            from kodcode.exec import Verdict

            return [Verdict(status="pass", outputs=[None])] + [Verdict(status="sandbox_error", message="x")] * (len(jobs) - 1)

    recs = lcb.score([problems["fx001"], problems["fx003"]], {"fx001": "print(3)", "fx003": "print(1)"}, Garbled())
    assert [r["status"] for r in recs] == ["fail", "sandbox_error"]
    assert recs[0]["detail"]["error_code"] == -5


def test_fixed_records_carry_the_official_verdict_and_the_changes_are_counted(problems, executor):
    sols = {"fx001": STDIN_BYTES_OUT, "fx003": MEAN_OK}
    ps = [problems["fx001"], problems["fx003"]]
    fixed = lcb.score(ps, sols, executor, semantics="fixed")
    assert lcb.mark_changes(fixed, lcb.score(ps, sols, executor)) == {"fail_to_pass": 1, "pass_to_fail": 0, "changed": 1}
    assert [(r["passed"], r["official_passed"]) for r in fixed] == [(True, False), (True, True)]
