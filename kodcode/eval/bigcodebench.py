"""BigCodeBench (complete / instruct splits, full / hard subsets) scored on ``kodcode.exec``.

Data: a local ``BigCodeBench*.jsonl[.gz]`` in the Hugging Face format (fields ``task_id,
complete_prompt, instruct_prompt, canonical_solution, code_prompt, test, entry_point, libs``), or
the hub split when no file is given.  Files older than v0.1.4 (the split bigcodebench 0.2.5 scores)
are upgraded in memory by ``upgrade_to_v014`` (the dataset edits of the official ``tools/fix_v019``
.. ``fix_v023``).  The hard subset is the 148 task ids of ``bigcode/bigcodebench-hard``.

Semantics follow bigcodebench 0.2.5 ``bigcodebench/eval/__init__.py::unsafe_execute`` (read at
bigcode-project/bigcodebench@47eff25):
* the program is ``solution + "\\n" + test`` executed in **one** fresh module named ``__test__``
  (so tests see every name the solution defines and ``patch("__test__.x")`` works), with ``sys``,
  ``os`` and ``environ`` pre-bound in it, ``TZ=UTC``, ``OMP_NUM_THREADS=1``, in a fresh temporary
  working directory;
* the verdict is the task's ``TestCases`` run under unittest: pass iff no failure and no error;
* calibrated scoring (the leaderboard's): ``code_prompt + "\\n    pass\\n" + solution``;
* the canonical solution is ``complete_prompt + "\\n" + canonical_solution``;
* time limit 240 s per sample (``TIMEOUT_LIMIT``), address space 30 GiB (``max_as_limit``).

We run it as a ``PytestJob`` (``prepend_import=False``) whose test file is that single module plus
one test function that runs ``TestCases`` under unittest exactly as the official harness does
(``SUITE_RUNNER``): the engine's verdict protocol then decides pass (its inventory, its trusted
channel and tamper checks) instead of a shared ``Value`` the solution can overwrite.  ``bench/bcb_agreement.py`` and ``bench/reports/eval_bcb_agreement.md`` document where
this can differ from the official evaluator (nowhere on the reference and broken solutions scored).
"""

from __future__ import annotations

import json
from dataclasses import dataclass

from kodcode.rows import read_rows

SPLITS = ("complete", "instruct")
SUBSETS = ("full", "hard")
TIMEOUT_S = 240.0  # bigcodebench/eval/utils.py TIMEOUT_LIMIT
MEMORY_MB = 30 * 1024  # bigcodebench/evaluate.py max_as_limit (MB)

# Task ids of bigcode/bigcodebench-hard (148 tasks; identical in every version up to v0.1.4).
HARD_IDS = (
    13, 15, 17, 19, 34, 37, 82, 89, 92, 93, 99, 100, 101, 108, 120, 123, 124, 129, 139, 147, 161, 162, 177,
    184, 187, 199, 208, 211, 214, 227, 239, 241, 267, 273, 274, 287, 302, 308, 310, 313, 324, 326, 341, 346,
    360, 367, 368, 374, 399, 401, 409, 417, 418, 424, 443, 445, 454, 458, 461, 477, 486, 492, 501, 502, 503,
    509, 511, 513, 526, 528, 530, 532, 553, 560, 567, 574, 579, 582, 583, 587, 590, 592, 593, 594, 618, 636,
    637, 654, 655, 657, 678, 720, 723, 752, 760, 763, 765, 771, 777, 785, 800, 826, 845, 854, 857, 865, 870,
    879, 897, 906, 914, 915, 916, 917, 928, 942, 945, 952, 955, 963, 964, 969, 971, 985, 988, 990, 998, 999,
    1003, 1004, 1006, 1008, 1012, 1013, 1015, 1019, 1020, 1022, 1039, 1040, 1042, 1053, 1057, 1077, 1085, 1124,
    1129, 1137,
)

# bigcodebench/generate.py + provider/utility.py (same prefixes as evalplus)
INSTRUCTION_PREFIX = (
    "Please provide a self-contained Python script that solves the following problem in a markdown code block:"
)
RESPONSE_PREFIX = (
    "Below is a Python script with a self-contained function that solves the problem and passes "
    "corresponding tests:"
)

# The job's test file holds the program and the task's tests as text plus one test function that
# does what bigcodebench/eval/__init__.py::unsafe_execute does: set reliability_guard's environment
# (TZ=UTC, OMP_NUM_THREADS=1, TF logging off), chdir into a fresh temporary directory, exec
# ``program + "\n" + test`` in a new module named ``__test__`` whose globals hold sys, os and
# environ, register it in sys.modules, run TestCases with unittest.TestLoader into one
# unittest.TestResult, and pass iff failures + errors is empty (skips and expected failures pass,
# as there).  The official guard also sets builtins.exit/quit to None; builtins are left alone here
# (the engine reports patched builtins as tampering) and exit() fails the test either way.  Being a
# single test function, the engine's inventory, trusted channel and tamper checks decide the verdict;
# pytest's own TestCase collection is bypassed on purpose (it reports unittest outcomes differently).
SUITE_RUNNER = """

def test_bigcodebench_suite():
    import builtins, os, sys, tempfile, time, types, unittest
    os.environ["TZ"] = "UTC"
    time.tzset()
    os.environ["OMP_NUM_THREADS"] = "1"
    os.environ["TF_CPP_MIN_LOG_LEVEL"] = "3"
    os.environ["TF_ENABLE_ONEDNN_OPTS"] = "0"
    os.environ.setdefault("MPLBACKEND", "Agg")
    with tempfile.TemporaryDirectory() as workdir:
        os.chdir(workdir)
        module = types.ModuleType("__test__")
        module.__dict__.update({"__builtins__": builtins, "__file__": "__test__.py", "__package__": None,
                                "__doc__": None, "sys": sys, "os": os, "environ": os.environ})
        exec(compile(_KODCODE_BCB_CODE, "__test__.py", "exec"), module.__dict__)
        sys.modules["__test__"] = module
        suite = unittest.TestLoader().loadTestsFromTestCase(getattr(module, "TestCases"))
        result = unittest.TestResult()
        suite.run(result)
    bad = [(t.id().split(".")[-1], tb[-1200:]) for t, tb in result.failures + result.errors]
    if bad:  # (raised here, so the failing methods' names are the message)
        raise AssertionError("failed: " + ", ".join(n for n, _ in bad) + "\\n" + "\\n".join(tb for _, tb in bad))
"""


@dataclass
class Task:
    task_id: str
    complete_prompt: str
    instruct_prompt: str
    canonical_solution: str
    code_prompt: str
    test: str
    entry_point: str
    libs: list[str]
    hard: bool = False  # in bigcodebench-hard (HARD_IDS), or marked so by its own file (see load_tasks)

    @property
    def number(self) -> int:
        return int(self.task_id.rsplit("/", 1)[1])


# (task number, fields, old, new): the text edits of tools/fix_v019, fix_v020, fix_v022, fix_v023.
_PROMPTS = ("complete_prompt", "instruct_prompt", "code_prompt")
_ALL = ("complete_prompt", "instruct_prompt", "canonical_solution", "code_prompt", "test")
_UPGRADES: list[tuple[int, tuple[str, ...], str, str]] = [
    (1006, ("test",),
     ('    def test_valid_zip_url(self):\n        """Test a valid ZIP URL."""\n'
     '        url = "https://getsamplefiles.com/download/zip/sample-1.zip"\n        result = task_func(url)\n'
     '        self.assertTrue(result.startswith("mnt/data/downloads/"))\n'
     '        self.assertTrue(result.endswith("sample-1"))\n        shutil.rmtree("mnt/data/downloads")\n'),
     ('    @patch("requests.get")\n    def test_non_zip_content(self, mock_get):\n        """Test a valid ZIP URL."""\n'
     '        mock_get.return_value.status_code = 200\n'
     '        mock_get.return_value.headers = {"Content-Type": "application/zip"}\n'
     '        mock_get.return_value.content = b"1"\n        url = "https://valid-url.com/sample.zip"\n'
     '        result = task_func(url)\n')),
    (760, _PROMPTS, "from datetime import datetime", "import datetime"),
    (178, _ALL, "from urllib import request\n", ""),
    (178, _ALL, "    - urllib.request\n", ""),
    (16, _ALL, "No logs found to backup.", "No logs found to backup"),
    (241, _PROMPTS, "The function will plot the original and normalized arrays using matplotlib.",
     "The function will plot the original and normalized arrays with a title of 'Original vs. Normalized Data'."),
    (267, _PROMPTS, "Plots and returns the FFT of the signal.",
     "Plots and returns the FFT of the signal with a title of 'FFT of the signal'."),
    (1005, _ALL, "https://getsamplefiles.com/download/zip/sample-2.zip",
     "https://getsamplefiles.com/download/zip/sample-5.zip"),
    (1005, _ALL, "sample_2", "sample_5"),
    (1005, _ALL, "Sample 2", "Sample 5"),
    (211, ("test",), "\n        mock_response = MagicMock()\n        mock_response.content = MOCK_CONTENT\n",
     ("\n        mock_response = MagicMock()\n        mock_response.content = MOCK_CONTENT\n"
      "        mock_response.status_code = 200\n")),
    (215, ("test",), "\n        mock_response = Mock()\n", "\n        mock_response = Mock()\n        mock_response.status_code = 200\n"),
    (215, ("test",), "\n        mock_response.text =", "\n        MOCK_TEXT ="),
    (215, ("test",), "\n        mock_get.return_value = mock_response\n",
     ("\n        mock_response.text = MOCK_TEXT\n        mock_response.json = lambda: json.loads(MOCK_TEXT)\n"
      "        mock_get.return_value = mock_response\n")),
    (215, ("complete_prompt", "instruct_prompt"), "Thif function will raise", "This function will raise"),
]


def is_v014(rows: list[dict]) -> bool:
    """Whether the last edit (fix_v023, task 211) is already in ``rows``: then every earlier one is too."""
    return any(r["task_id"] == "BigCodeBench/211" and "mock_response.status_code = 200" in r["test"] for r in rows)


def upgrade_to_v014(row: dict) -> dict:
    """Apply the v0.1.0 -> v0.1.4 dataset edits to one row of a pre-v0.1.4 file (see ``upgrade_rows``)."""
    n = int(str(row["task_id"]).rsplit("/", 1)[1])
    row = dict(row)
    for num, fields, old, new in _UPGRADES:
        if num == n:
            for f in fields:
                row[f] = row[f].replace(old, new)
    if n == 37:  # fix_v020
        for f in _PROMPTS:
            row[f] = "import pandas as pd\n" + row[f]
            row[f] = row[f].replace("Requirements:\n    - sklearn.ensemble\n",
                                    "Requirements:\n    - pandas\n    - sklearn.ensemble\n")
    return row


def upgrade_rows(rows: list[dict]) -> list[dict]:
    """The rows at v0.1.4: upgraded when the file predates it, unchanged when it does not."""
    return rows if is_v014(rows) else [upgrade_to_v014(r) for r in rows]


def load_tasks(path: str | None, subset: str = "full", upgrade: bool = True) -> list[Task]:
    """Tasks of ``subset`` in task-number order; ``path`` None loads the hub split v0.1.4 (network).

    A task is hard when its number is one of ``HARD_IDS``; a file of invented tasks (ids outside the
    official 0..1139, such as the fixtures) says which of its tasks are hard in a boolean ``hard`` column."""
    if path:
        rows = list(read_rows(path))
    else:
        rows = list(read_rows("bigcode/bigcodebench", split="v0.1.4"))
    if upgrade:
        rows = upgrade_rows(rows)
    hard_ids = set(HARD_IDS)
    tasks = []
    for r in rows:
        libs = r.get("libs") or []
        libs = json.loads(libs.replace("'", '"')) if isinstance(libs, str) else list(libs)
        task = Task(r["task_id"], r["complete_prompt"], r["instruct_prompt"], r["canonical_solution"],
                    r["code_prompt"], r["test"], r["entry_point"], libs)
        task.hard = bool(r["hard"]) if "hard" in r else task.number in hard_ids
        tasks.append(task)
    if subset == "hard":
        tasks = [t for t in tasks if t.hard]
    return sorted(tasks, key=lambda t: t.number)


def user_message(task: Task, split: str) -> str:
    """provider/utility.py::make_raw_chat_prompt: complete prompts are fenced, instruct ones are not."""
    prompt = (task.complete_prompt if split == "complete" else task.instruct_prompt).strip("\n")
    if split == "complete":
        return f"{INSTRUCTION_PREFIX}\n```\n{prompt.strip()}\n```\n"
    return f"{INSTRUCTION_PREFIX}\n{prompt.strip()}\n"


def canonical_program(task: Task) -> str:
    """What the official ground-truth check runs (evaluate.py::get_groundtruth)."""
    return task.complete_prompt + "\n" + task.canonical_solution


def calibrate(task: Task, solution: str) -> str:
    """The leaderboard's calibrated program (evaluate.py, calibrated=True)."""
    return task.code_prompt + "\n    pass\n" + solution


def job_test_source(task: Task, program: str) -> str:
    """The job's test file: ``program + "\\n" + test`` as one string, run by ``SUITE_RUNNER``."""
    return "_KODCODE_BCB_CODE = " + repr(program + "\n" + task.test) + "\n" + SUITE_RUNNER


def make_job(task: Task, program: str, timeout_s: float = TIMEOUT_S, memory_mb: int = MEMORY_MB,
             job_id: str | None = None):
    from kodcode.exec import PytestJob

    return PytestJob(solution="", test=job_test_source(task, program), id=job_id or task.task_id,
                     timeout_s=timeout_s, memory_mb=memory_mb, prepend_import=False)


def score(tasks: list[Task], programs: dict[str, str], executor, timeout_s: float = TIMEOUT_S,
          memory_mb: int = MEMORY_MB) -> list[dict]:
    """Run one (already calibrated) program per task; records in task order.

    A sandbox error is kept as ``sandbox_error`` (left out of pass@1 and counted), never a fail.
    """
    jobs = [make_job(t, programs.get(t.task_id, ""), timeout_s, memory_mb) for t in tasks]
    verdicts = executor.run(jobs, progress=False) if jobs else []
    records = []
    for t, v in zip(tasks, verdicts):
        why = " | ".join(f"{x.outcome}: {x.message}" for x in v.tests if x.outcome != "passed")
        records.append({
            "task_id": t.task_id, "solution": programs.get(t.task_id, ""), "status": v.status,
            "passed": None if v.status == "sandbox_error" else v.passed,
            "detail": {"message": (v.message + " " + why)[-1500:], "stderr": v.stderr[-1000:],
                       "duration_s": round(v.duration_s, 3)},
        })
    return records


def pass_at_1(records: list[dict]) -> dict[str, float]:
    scored = [r for r in records if r["status"] != "sandbox_error"]
    rate = 100.0 * sum(bool(r["passed"]) for r in scored) / len(scored) if scored else float("nan")
    return {"pass@1": rate, "sandbox_errors": float(len(records) - len(scored))}
