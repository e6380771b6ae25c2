"""Control jobs: honest code that uses what real test files use passes, with exact per-test outcomes.

Fixtures, parametrize, marks, classes with setup, pytest.raises/approx, unittest, numpy, subprocess,
files in the working dir, deep recursion, unicode, stdin/stdout programs (``sys.stdin.buffer``) and
call-based jobs (``f`` and ``Solution.method``) -- and the same files with a planted bug fail on
exactly the tests that exercise it.  All jobs run in one batch on one Executor.

    .venv/bin/python -m pytest tests/exec/test_controls.py -q
"""

from __future__ import annotations

import json
import subprocess
import sys
from dataclasses import dataclass, field
from typing import Any

import pytest

from kodcode.exec import CallJob, ExecConfig, Executor, PytestJob, StdioJob

pytestmark = pytest.mark.timeout(600)

STACK = """
class Stack:
    def __init__(self):
        self.items = []

    def push(self, x):
        self.items.append(x)

    def pop(self):
        if not self.items:
            raise IndexError("pop from empty stack")
        return self.items.pop()

    def peek(self):
        return self.items[-1]


def add(a, b):
    return a + b


def mean(xs):
    return sum(xs) / len(xs)
"""

FIXTURE_TESTS = """
import os
import pytest


@pytest.fixture
def stack():
    s = Stack()
    s.push(1)
    return s


@pytest.fixture(scope="module")
def numbers():
    return [1, 2, 3, 4]


def test_push(stack):
    stack.push(2)
    assert stack.peek() == 2


def test_pop_empty():
    with pytest.raises(IndexError, match="empty"):
        Stack().pop()


def test_mean(numbers):
    assert mean(numbers) == pytest.approx(2.5)


def test_tmp_path(tmp_path):
    (tmp_path / "a.txt").write_text("x")
    assert (tmp_path / "a.txt").read_text() == "x"


def test_capsys(capsys):
    print("hello")
    assert capsys.readouterr().out == "hello\\n"


def test_monkeypatch(monkeypatch):
    monkeypatch.setenv("KC_CONTROL", "1")
    assert os.environ["KC_CONTROL"] == "1"
"""

PARAM_TESTS = """
import pytest


@pytest.mark.parametrize("a, b, expected", [(1, 2, 3), (0, 0, 0), (-1, 1, 0)])
def test_add(a, b, expected):
    assert add(a, b) == expected


@pytest.mark.parametrize("xs", [[1], [1, 2], [2, 2, 2]])
def test_mean(xs):
    assert mean(xs) == sum(xs) / len(xs)


@pytest.mark.slow
def test_marked_custom():
    assert add(2, 3) == 5


@pytest.mark.skipif(False, reason="never skipped")
def test_marked_skipif_false():
    assert add(1, 1) == 2


@pytest.mark.filterwarnings("ignore::UserWarning")
def test_marked_filterwarnings():
    import warnings
    warnings.warn("noise", UserWarning)
    assert add(0, 1) == 1
"""

CLASS_TESTS = """
import unittest


class TestStack:
    def setup_method(self):
        self.s = Stack()

    def test_push_pop(self):
        self.s.push(5)
        assert self.s.pop() == 5

    def test_empty(self):
        assert self.s.items == []


class TestShared:
    @classmethod
    def setup_class(cls):
        cls.values = [3, 1, 2]

    def test_mean(self):
        assert mean(self.values) == 2


class TestUnittest(unittest.TestCase):
    def setUp(self):
        self.s = Stack()

    def test_push(self):
        self.s.push(1)
        self.assertEqual(self.s.peek(), 1)

    def test_raises(self):
        with self.assertRaises(IndexError):
            self.s.pop()
"""

NUMPY_SOLUTION = """
import numpy as np


def normalize(v):
    v = np.asarray(v, dtype=float)
    return v / np.linalg.norm(v)
"""

NUMPY_TESTS = """
import numpy as np


def test_normalize():
    assert np.allclose(normalize([3.0, 4.0]), [0.6, 0.8])


def test_unit_norm():
    assert abs(np.linalg.norm(normalize([1.0, 2.0, 2.0])) - 1.0) < 1e-12
    np.testing.assert_allclose(normalize([0.0, 2.0]), [0.0, 1.0])
    np.testing.assert_array_equal(normalize([5.0]), np.array([1.0]))
    assert np.array_equal(normalize([0.0, 3.0]) * 3, [0.0, 3.0])
    assert (normalize([2.0, 0.0]) == np.array([1.0, 0.0])).all()
    assert normalize([3.0, 4.0])[0] == 0.6 and normalize([3.0, 4.0]).sum() == 1.4
"""

# Library helpers used the way tests use them, patches undone by their own context or fixture: nothing
# here is tampering (the engine watches these modules for changes a solution makes).
LIBRARY_SOLUTION = """
import math
import numpy as np


def fetch(get):
    return get("url")


def hyp(a, b):
    return math.sqrt(a * a + b * b)
"""

LIBRARY_TESTS = """
import math
import random
from collections import Counter
from unittest.mock import Mock, call, patch

import numpy as np


def test_mock_and_patch():
    g = Mock(return_value=5)
    assert fetch(g) == 5
    g.assert_called_once_with("url")
    assert g.call_args == call("url")
    with patch("math.sqrt", return_value=3.0):
        assert hyp(1, 1) == 3.0
    assert math.isclose(hyp(3, 4), 5.0)


def test_numpy_and_random():
    np.random.seed(0)
    random.seed(0)
    xs = np.random.rand(3)
    np.testing.assert_allclose(xs, xs.copy())
    assert np.allclose(hyp(np.float64(3.0), 4.0), 5.0)
    assert Counter("aab") == {"a": 2, "b": 1}
"""

LIBRARY_PYTEST_TESTS = LIBRARY_TESTS + """

def test_monkeypatch_a_library(monkeypatch):
    monkeypatch.setattr(math, "sqrt", lambda x: 7.0)
    assert hyp(1, 2) == 7.0
"""

ENV_SOLUTION = """
import os
import subprocess
import sys


def echo_child(text):
    out = subprocess.run([sys.executable, "-c", "import sys; print(sys.argv[1])", text],
                         capture_output=True, text=True, check=True)
    return out.stdout.strip()


def save_and_load(name, text):
    with open(name, "w", encoding="utf-8") as f:
        f.write(text)
    with open(name, encoding="utf-8") as f:
        return f.read()


sys.setrecursionlimit(10 ** 5)


def depth(n):
    return 0 if n == 0 else 1 + depth(n - 1)


def greet(name):
    return "héllo " + name + " ✓ 漢字"
"""

ENV_TESTS = """
import os


def test_subprocess():
    assert echo_child("hi") == "hi"


def test_files_in_working_dir():
    assert save_and_load("notes.txt", "ünïcode") == "ünïcode"
    assert os.path.exists(os.path.join(os.getcwd(), "notes.txt"))


def test_deep_recursion():
    assert depth(50000) == 50000


def test_unicode():
    assert greet("wörld") == "héllo wörld ✓ 漢字"
    print(greet("wörld"))
"""

STDIO_BUFFER = """
import sys


def main():
    data = sys.stdin.buffer.read().split()
    n = int(data[0])
    total = sum(int(x) for x in data[1:1 + n])
    sys.stdout.buffer.write(("%d\\n" % total).encode())


if __name__ == "__main__":
    main()
"""

STDIO_INPUT = "name = input()\nprint('héllo', name, '✓')\nprint(len(name))\n"

CALL_PROGRAM = """
def two_sum(nums, target):
    seen = {}
    for i, x in enumerate(nums):
        if target - x in seen:
            return [seen[target - x], i]
        seen[x] = i
    return []


def describe(s):
    return (s.upper(), len(s), s.isascii())


class Solution:
    def reverse(self, s: str) -> str:
        return s[::-1]

    def flags(self, n):
        return [n > 0, None, n * 1.5]
"""

# What tests do to themselves: stdlib introspection of their own frames and functions, at module
# level and inside tests.  Only the solution is kept from test code and frames (test_hostile.py).
GREETER = """
import logging


def greet():
    name = input()
    print("hi " + name)
    return name


class Store:
    def get(self, key):
        return key * 2


def add(a, b):
    return a + b


def warn(msg):
    logging.getLogger("app").warning(msg)
    return len(msg)
"""

INTROSPECTION_TESTS = """
import asyncio
import inspect
import sys
import traceback


def helper(a, b=2):
    return a + b


async def ahelper():
    return add(1, 2)


SIGNATURE = inspect.signature(helper)


def test_own_frame():
    assert sys._getframe().f_code.co_name == "test_own_frame"
    assert "test_own_frame" in [f.function for f in inspect.stack()]


def test_traceback_of_own_exception():
    try:
        raise ValueError("v")
    except ValueError:
        text = traceback.format_exc()
    assert "test_traceback_of_own_exception" in text


def test_own_functions():
    assert list(SIGNATURE.parameters) == ["a", "b"]
    assert helper.__code__.co_argcount == 2
    assert inspect.iscoroutinefunction(ahelper)
    assert asyncio.run(ahelper()) == 3
"""

PATCH_TESTS = """
import io
import logging
import os
from unittest import mock
from unittest.mock import patch


@patch("builtins.input", return_value="bob")
def test_patched_input(mock_input):
    assert greet() == "bob"


@patch("sys.stdout", new_callable=io.StringIO)
@patch("builtins.input", return_value="z")
def test_stacked_patches(mock_in, mock_out):
    greet()
    assert mock_out.getvalue() == "hi z\\n"


@mock.patch.object(Store, "get", return_value=5)
def test_patch_object(m):
    assert Store().get(1) == 5


@patch.dict(os.environ, {"KODCODE_TEST": "v"})
def test_patch_dict():
    assert os.environ["KODCODE_TEST"] == "v"


def test_caplog(caplog):
    logging.getLogger("t").warning("direct")
    assert warn("boom") == 4
    assert "direct" in caplog.text and "boom" in caplog.text
"""


# Values that are not builtin types but compare honestly, and comparisons nested inside assertions:
# the guard that refuses forged comparisons must leave every one of these alone.
VALUES = """
import datetime
from collections import Counter, OrderedDict, deque, namedtuple
from dataclasses import dataclass
from decimal import Decimal
from enum import IntEnum
from fractions import Fraction

Point = namedtuple("Point", "x y")


class Level(IntEnum):
    LOW = 1


class Name(str):
    pass


@dataclass(order=True)
class Version:
    major: int


class Money:
    def __init__(self, cents):
        self.cents = cents

    def __eq__(self, other):
        return self.cents == (other.cents if isinstance(other, Money) else round(other * 100))

    def __lt__(self, other):
        return self.cents < (other.cents if isinstance(other, Money) else round(other * 100))

    __hash__ = None


class Bag:
    def __init__(self, *items):
        self.items = list(items)

    def __contains__(self, x):
        return x in self.items

    def __len__(self):
        return len(self.items)


def half():
    return Fraction(1, 2)


def price():
    return Money(150)


def squares(n):
    return [i * i for i in range(n)]


def values():
    return {"dec": Decimal("1.5"), "count": Counter("aab"), "od": OrderedDict(a=1), "point": Point(1, 2),
            "level": Level.LOW, "name": Name("bob"), "version": Version(2), "queue": deque([1, 2]),
            "day": datetime.date(2020, 1, 2), "keys": {"a": 1}.keys(), "bag": Bag(1, 2)}
"""

VALUES_TESTS = """
import datetime
import unittest
import pytest
from unittest import mock


class TestAlmostEqual(unittest.TestCase):
    def test_almost_equal(self):
        self.assertAlmostEqual(half(), 0.5)
        self.assertAlmostEqual(0.1 + 0.2, 0.3)
        self.assertAlmostEqual(half(), 0.5000001, places=5)
        self.assertNotAlmostEqual(half(), 0.6)
        self.assertGreater(2, half())
        self.assertLess(Money(150), 2)  # (the test builds the object: its own comparison decides)

V = values()


def test_library_values():
    assert half() == 0.5 and 0.5 == half() and half() == pytest.approx(0.5)
    assert V["dec"] == 1.5 and V["count"] == {"a": 2, "b": 1} and V["od"] == {"a": 1}
    assert V["point"] == (1, 2) and V["level"] == 1 and V["name"] == "bob" and "o" in V["name"]
    assert V["version"] < Version(3) and V["queue"] == deque([1, 2]) and list(V["queue"]) == [1, 2]
    assert V["day"] > datetime.date(2019, 1, 1) and "a" in V["keys"] and "b" not in V["keys"]
    assert [half(), V["dec"]] == [0.5, 1.5] and {"h": half()} == {"h": 0.5}


def test_user_classes():
    assert price() == 1.5 and price() < 2 and 2 > price() and price() == Money(150)
    assert 1 in V["bag"] and 5 not in V["bag"] and len(V["bag"]) == 2


def test_tolerances_and_mocks():
    assert abs(half() - 0.5) < 1e-9 and abs(1.5 - half() - 1) < 1e-9 and abs(price().cents - 150) == 0
    assert {"h": half(), "p": 0.1 + 0.2} == pytest.approx({"h": 0.5, "p": 0.3})
    assert 101 == pytest.approx(100, abs=5)
    assert [1.0, 2.0] == pytest.approx([1.01, 2.0], abs=0.1)
    m = mock.Mock()
    m(1, 2)
    assert m.call_args == mock.call(1, 2) and m.call_count == 1


def test_nested_comparisons():
    assert all(x == i * i for i, x in enumerate(squares(5)))
    assert not (squares(3) != [0, 1, 4])
    assert bool(squares(2) == [0, 1]) and (squares(1) == [0]) is True
    for n, expected in [(3, [0, 1, 4])]:
        if squares(n) != expected:
            raise AssertionError(n)
"""



@dataclass(frozen=True)
class Control:
    name: str
    job: Any
    status: str
    tests: dict[str, str] = field(default_factory=dict)  # pytest: exact per-test outcomes
    outputs: list[Any] | None = None  # stdio: stdout per input; call: value per args


def _passing(names: list[str]) -> dict[str, str]:
    return {n: "passed" for n in names}


# The solution module looks as an ordinary import makes it (the fast path hands the import the code the
# worker compiled): its file, spec and cached path, its source for inspect and tracebacks, and a reload
# that reads the file again.
MODULE_SOLUTION = 'X = 1\n\n\ndef fail():\n    raise ValueError("boom")\n'
MODULE_TESTS = """
import importlib
import importlib.machinery
import inspect
import os

import solution


def test_module_attributes():
    assert os.path.samefile(solution.__file__, "solution.py")
    assert solution.__spec__.origin == solution.__file__ and solution.__spec__.has_location
    assert solution.__cached__.endswith(".pyc") and solution.__name__ == "solution"
    assert type(solution.__loader__) is importlib.machinery.SourceFileLoader
    assert "raise ValueError" in inspect.getsource(solution.fail)


def test_traceback_shows_solution_source():
    import traceback
    try:
        fail()
    except ValueError:
        assert 'raise ValueError("boom")' in traceback.format_exc()


def test_reload_reads_the_file():
    with open("solution.py", "a") as f:
        f.write("Y = 2\\n")
    importlib.reload(solution)
    assert solution.Y == 2 and solution.X == 1
"""

BUGGY_STACK = STACK.replace("return self.items.pop()", "return self.items[0]").replace(
    "return sum(xs) / len(xs)", "return sum(xs) // len(xs)"
)

CONTROLS = [
    Control(
        "fixtures",
        PytestJob(STACK, FIXTURE_TESTS),
        "pass",
        _passing(
            ["test_push", "test_pop_empty", "test_mean", "test_tmp_path", "test_capsys", "test_monkeypatch"]
        ),
    ),
    Control(
        "parametrize_and_marks",
        PytestJob(STACK, PARAM_TESTS),
        "pass",
        _passing(
            [
                "test_add",
                "test_mean",
                "test_marked_custom",
                "test_marked_skipif_false",
                "test_marked_filterwarnings",
            ]
        ),
    ),
    Control(
        "classes_and_unittest",
        PytestJob(STACK, CLASS_TESTS),
        "pass",
        _passing(
            [
                "TestStack::test_push_pop",
                "TestStack::test_empty",
                "TestShared::test_mean",
                "TestUnittest::test_push",
                "TestUnittest::test_raises",
            ]
        ),
    ),
    Control(
        "solution_module_as_imported",
        PytestJob(MODULE_SOLUTION, MODULE_TESTS),
        "pass",
        _passing(["test_module_attributes", "test_traceback_shows_solution_source", "test_reload_reads_the_file"]),
    ),
    Control(
        "numpy",
        PytestJob(NUMPY_SOLUTION, NUMPY_TESTS),
        "pass",
        _passing(["test_normalize", "test_unit_norm"]),
    ),
    Control(
        "library_helpers_and_patches",
        PytestJob(LIBRARY_SOLUTION, LIBRARY_TESTS),
        "pass",
        _passing(["test_mock_and_patch", "test_numpy_and_random"]),
    ),
    Control(
        "library_helpers_and_patches_pytest_mode",
        PytestJob(LIBRARY_SOLUTION, LIBRARY_PYTEST_TESTS),
        "pass",
        _passing(["test_mock_and_patch", "test_numpy_and_random", "test_monkeypatch_a_library"]),
    ),
    Control(
        "subprocess_files_recursion_unicode",
        PytestJob(ENV_SOLUTION, ENV_TESTS),
        "pass",
        _passing(["test_subprocess", "test_files_in_working_dir", "test_deep_recursion", "test_unicode"]),
    ),
    Control(
        "stdio_stdin_buffer",
        StdioJob(STDIO_BUFFER, ["3\n1 2 3\n", "2\n10 -4\n", "0\n"]),
        "pass",
        outputs=["6\n", "6\n", "0\n"],
    ),
    Control(
        "stdio_input_unicode", StdioJob(STDIO_INPUT, ["wörld\n"]), "pass", outputs=["héllo wörld ✓\n5\n"]
    ),
    Control(
        "call_function",
        CallJob(CALL_PROGRAM, "two_sum", [[[2, 7, 11, 15], 9], [[3, 3], 6], [[1], 5]]),
        "pass",
        outputs=[[0, 1], [0, 1], []],
    ),
    Control(
        "call_tuple_and_unicode",
        CallJob(CALL_PROGRAM, "describe", [["abc"], ["漢字"]]),
        "pass",
        outputs=[["ABC", 3, True], ["漢字", 2, False]],
    ),
    Control(
        "call_solution_method",
        CallJob(CALL_PROGRAM, "Solution.reverse", [["abc"], ["✓é"]]),
        "pass",
        outputs=["cba", "é✓"],
    ),
    Control(
        "call_solution_mixed_values",
        CallJob(CALL_PROGRAM, "Solution.flags", [[2], [-1]]),
        "pass",
        outputs=[[True, None, 3.0], [False, None, -1.5]],
    ),
    Control(
        "introspection_of_own_code",
        PytestJob(GREETER, INTROSPECTION_TESTS),
        "pass",
        _passing(["test_own_frame", "test_traceback_of_own_exception", "test_own_functions"]),
    ),
    Control(
        "patch_decorators_and_logging",
        PytestJob(GREETER, PATCH_TESTS),
        "pass",
        _passing(
            ["test_patched_input", "test_stacked_patches", "test_patch_object", "test_patch_dict", "test_caplog"]
        ),
    ),
    Control(
        "library_values_and_nested_comparisons",
        PytestJob(VALUES, VALUES_TESTS),
        "pass",
        _passing(
            [
                "TestAlmostEqual::test_almost_equal",
                "test_library_values",
                "test_user_classes",
                "test_tolerances_and_mocks",
                "test_nested_comparisons",
            ]
        ),
    ),
    # The same files with a planted bug fail on exactly the tests that exercise it.
    Control(
        "fixtures_buggy",
        PytestJob(BUGGY_STACK, FIXTURE_TESTS),
        "fail",
        {
            **_passing(["test_push", "test_pop_empty", "test_tmp_path", "test_capsys", "test_monkeypatch"]),
            "test_mean": "failed",
        },
    ),
    Control(
        "parametrize_buggy",
        PytestJob(BUGGY_STACK, PARAM_TESTS),
        "fail",
        {
            **_passing(
                ["test_add", "test_marked_custom", "test_marked_skipif_false", "test_marked_filterwarnings"]
            ),
            "test_mean": "failed",
        },
    ),
    # A stack that starts non-empty and pops from the bottom breaks three class tests.
    Control(
        "classes_buggy",
        PytestJob(BUGGY_STACK.replace("self.items = []", "self.items = [0]"), CLASS_TESTS),
        "fail",
        {
            "TestStack::test_push_pop": "failed",
            "TestStack::test_empty": "failed",
            "TestShared::test_mean": "passed",
            "TestUnittest::test_push": "passed",
            "TestUnittest::test_raises": "failed",
        },
    ),
    Control(
        "numpy_buggy",
        PytestJob(NUMPY_SOLUTION.replace("np.linalg.norm(v)", "v.sum()"), NUMPY_TESTS),
        "fail",
        {"test_normalize": "failed", "test_unit_norm": "failed"},
    ),
    Control(
        "introspection_buggy",
        PytestJob(GREETER.replace("return a + b", "return a - b"), INTROSPECTION_TESTS),
        "fail",
        {**_passing(["test_own_frame", "test_traceback_of_own_exception"]), "test_own_functions": "failed"},
    ),
    Control(
        "patch_decorators_buggy",
        PytestJob(GREETER.replace('print("hi " + name)', 'print("hello " + name)'), PATCH_TESTS),
        "fail",
        {
            **_passing(["test_patched_input", "test_patch_object", "test_patch_dict", "test_caplog"]),
            "test_stacked_patches": "failed",
        },
    ),
    Control(
        "nested_comparisons_buggy",
        PytestJob(VALUES.replace("[i * i for i in range(n)]", "[i * i for i in range(1, n + 1)]"), VALUES_TESTS),
        "fail",
        {
            **_passing(
                [
                    "TestAlmostEqual::test_almost_equal",
                    "test_library_values",
                    "test_user_classes",
                    "test_tolerances_and_mocks",
                ]
            ),
            "test_nested_comparisons": "failed",
        },
    ),
    Control(
        "user_classes_buggy",
        PytestJob(VALUES.replace("return Money(150)", "return Money(151)"), VALUES_TESTS),
        "fail",
        {
            **_passing(["TestAlmostEqual::test_almost_equal", "test_library_values", "test_nested_comparisons"]),
            "test_user_classes": "failed",
            "test_tolerances_and_mocks": "failed",
        },
    ),
    Control(
        "recursion_buggy",
        PytestJob(ENV_SOLUTION.replace("1 + depth(n - 1)", "2 + depth(n - 1)"), ENV_TESTS),
        "fail",
        {
            **_passing(["test_subprocess", "test_files_in_working_dir", "test_unicode"]),
            "test_deep_recursion": "failed",
        },
    ),
]


def _has_numpy(python: str) -> bool:
    return subprocess.run([python, "-c", "import numpy"], capture_output=True, check=False).returncode == 0


@pytest.fixture(scope="module")
def verdicts():
    with Executor(ExecConfig(workers=2)) as ex:
        python = ex.cfg.python or sys.executable
        got = ex.run([c.job for c in CONTROLS])
    return {c.name: v for c, v in zip(CONTROLS, got)}, _has_numpy(python)


@pytest.mark.parametrize("control", CONTROLS, ids=[c.name for c in CONTROLS])
def test_control_verdict_is_exact(verdicts, control):
    got, has_numpy = verdicts
    if control.name.startswith("numpy") and not has_numpy:
        pytest.skip("the job interpreter has no numpy")
    v = got[control.name]
    assert (v.status, v.message if v.status != control.status else "") == (control.status, "")
    if isinstance(control.job, PytestJob):
        assert {t.name: t.outcome for t in v.tests} == control.tests
    else:
        values = (
            [o.stdout for o in v.outputs]
            if isinstance(control.job, StdioJob)
            else [o.value for o in v.outputs]
        )
        assert [o.status for o in v.outputs] == ["ok"] * len(control.outputs)
        assert values == control.outputs


def test_fast_and_pytest_runners_both_serve_the_controls(verdicts):
    got, _ = verdicts
    assert got["subprocess_files_recursion_unicode"].runner == "fast"
    assert got["fixtures"].runner == "pytest"
    assert got["introspection_of_own_code"].runner == "fast"
    assert got["solution_module_as_imported"].runner == "fast"
    assert got["patch_decorators_and_logging"].runner == "pytest"


# Set order of strings follows the string-hash seed; an order-dependent test must get one verdict.
ORDER_SOLUTION = "def union(a, b):\n    return list(set(a + b))\n"
ORDER_TESTS = "def test_union_order():\n    assert union([1, 'a', 3], [2, 'a', 4]) == [1, 2, 3, 4, 'a']\n"


def test_same_job_same_verdict_on_every_worker():
    """Nondeterminism (hash seed) must not turn one job into a pass on one worker and a fail on another."""
    jobs = [PytestJob(ORDER_SOLUTION, ORDER_TESTS) for _ in range(6)]
    jobs += [CallJob(ORDER_SOLUTION, "union", [[[1, "a", "b", 3], ["c", 2, "a", 4]]]) for _ in range(6)]
    seen = set()
    for _ in range(2):  # two Executors: two sets of freshly started workers
        with Executor(ExecConfig(workers=2)) as ex:
            got = ex.run(jobs)
        seen.add((tuple(v.status for v in got[:6]), tuple(json.dumps(v.outputs[0].value) for v in got[6:])))
    assert len(seen) == 1
    statuses, values = seen.pop()
    assert len(set(statuses)) == 1 and len(set(values)) == 1
