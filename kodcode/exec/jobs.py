"""Job and verdict types of the execution engine (the contract every caller relies on).

Three kinds of job:

* ``PytestJob``: a KodCode-style triplet. ``solution`` becomes module ``solution``; ``test``
  becomes ``test_solution.py`` with ``from solution import *`` prepended (exactly as KodCode does,
  so published rows work unchanged).  Pass means every test function found in the test source
  (the inventory, computed outside the job) was reported ``passed`` by the trusted runner.
* ``StdioJob``: a program run once per input with that input on stdin; the engine returns what
  came out (``Verdict.outputs``).  Comparison rules belong to the caller (benchmarks).
* ``CallJob``: ``fn_name`` (a function, or ``Solution.method`` LeetCode style) called once per
  argument list; return values come back JSON-encoded in ``Verdict.outputs``.

For stdio and call jobs ``status`` is ``pass`` when every case ran to completion (the caller then
compares); ``fail`` is only produced when the caller passes ``expected`` outputs and a comparator.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any, Literal

Status = Literal["pass", "fail", "timeout", "error", "sandbox_error"]
STATUSES: tuple[str, ...] = ("pass", "fail", "timeout", "error", "sandbox_error")


@dataclass
class PytestJob:
    solution: str
    test: str
    id: str | None = None
    timeout_s: float | None = None  # None: the executor's default
    memory_mb: int | None = None
    prepend_import: bool = True  # KodCode: "from solution import *\n\n" + test
    files: dict[str, str] = field(default_factory=dict)  # extra files placed in the job dir

    kind: str = field(default="pytest", init=False)


@dataclass
class StdioJob:
    program: str
    inputs: list[str]
    id: str | None = None
    timeout_s: float | None = None  # per case
    memory_mb: int | None = None
    files: dict[str, str] = field(default_factory=dict)

    kind: str = field(default="stdio", init=False)


@dataclass
class CallJob:
    program: str
    fn_name: str  # "f" or "Solution.method"
    args_list: list[list[Any]]
    id: str | None = None
    timeout_s: float | None = None  # per case
    memory_mb: int | None = None
    files: dict[str, str] = field(default_factory=dict)

    kind: str = field(default="call", init=False)


Job = PytestJob | StdioJob | CallJob


@dataclass
class TestOutcome:
    """One expected test.  outcome: passed | failed | error | skipped | xfailed | missing | timeout."""

    name: str
    outcome: str
    duration_s: float = 0.0
    message: str = ""


@dataclass
class CaseOutput:
    """What one stdio/call case produced.  status: ok | error | timeout | crash | not_run."""

    status: str
    stdout: str = ""
    stderr: str = ""
    value: Any = None  # call jobs: the JSON-decoded return value
    exit_code: int | None = None
    duration_s: float = 0.0
    message: str = ""


@dataclass
class Verdict:
    status: Status
    id: str | None = None
    tests: list[TestOutcome] = field(default_factory=list)
    outputs: list[CaseOutput] = field(default_factory=list)
    message: str = ""
    stdout: str = ""  # capped tail
    stderr: str = ""  # capped tail
    duration_s: float = 0.0  # wall clock, fork to verdict
    cpu_s: float | None = None  # CPU time of the job's whole process tree
    runner: str = ""  # fast | pytest | stdio | call
    flags: list[str] = field(default_factory=list)  # tripwires seen (e.g. "always_equal")

    @property
    def passed(self) -> bool:
        return self.status == "pass"

    @property
    def n_tests(self) -> int:
        return len(self.tests)

    @property
    def n_passed(self) -> int:
        return sum(t.outcome == "passed" for t in self.tests)

    def to_dict(self) -> dict:
        d = asdict(self)
        d["passed"] = self.passed
        return d
