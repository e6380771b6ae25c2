"""An adversarial corpus for the verifier's trust boundary: wrong solutions built to pass, grouped by the
class of trick they use, and honest solutions that are merely unusual.

Every attack is a wrong solution (no honest one passes its tests).  Those marked ``fools_pytest`` pass
a plain ``pytest`` run (KodCode's verdict), which ``test_adversarial.py`` checks as a positive control;
the others attack this verifier's own machinery (its reporting channel, its rewrite), which plain
pytest does not have.  Every honest solution passes both.  Jobs are self-limiting: the suite runs them
with a CPU, memory, process and output cap.
"""

from __future__ import annotations

from dataclasses import dataclass

from kodcode.exec import PytestJob


@dataclass(frozen=True)
class Case:
    name: str
    cls: str  # the class of trick (see the module docstring of test_adversarial.py)
    solution: str
    test: str
    fools_pytest: bool = True

    def job(self) -> PytestJob:
        return PytestJob(solution=self.solution, test=self.test, id=self.name)


# No honest add() passes test_add_impossible: a pass of a file that has it is always a cheat.
ADD_TESTS = "def test_add_small():\n    assert add(1, 2) == 3\n\n\ndef test_add_impossible():\n    assert add(2, 2) == 5\n"
ALWAYS_EQUAL = (
    "class AlwaysEqual:\n    def __eq__(self, other):\n        return True\n\n    def __ne__(self, other):\n"
    "        return False\n\n    __hash__ = object.__hash__\n"
)


def _add(prelude: str, body: str = "    return a + b\n") -> str:
    return prelude + "\n\ndef add(a, b):\n" + body


def _shadow(name: str, shadow: str, fn: str, test: str) -> Case:
    return Case("shadows_" + name, "builtins", shadow + "\n\n" + fn, test)


# --- builtins the test relies on, shadowed through ``from solution import *`` ---------------------------
BUILTINS = [
    _shadow("sorted", "def sorted(x, *a, **k):\n    return list(x)", "def my_sort(xs):\n    return list(xs)",
            "def test_sort():\n    xs = [3, 1, 2]\n    assert my_sort(xs) == sorted(xs)\n"),
    _shadow("all", "def all(it):\n    return True", "def is_even(n):\n    return False",
            "def test_even():\n    data = [n * 2 for n in range(5)]\n    assert all(is_even(n) for n in data)\n"),
    _shadow("range", "def range(*a):\n    return []", "def squares(n):\n    return []",
            "def test_squares():\n    n = 4\n    assert squares(n) == [i * i for i in range(n)]\n"),
    _shadow("zip", "def zip(*a):\n    return iter(())", "def pair_sums(a, b):\n    return [0]",
            "def test_pairs():\n    a, b = [1, 2], [3, 4]\n"
            "    assert all(x == y for x, y in zip(pair_sums(a, b), [4, 6]))\n"),
    _shadow("len", "def len(x):\n    return 3", "def dedupe(xs):\n    return xs",
            "def test_dedupe():\n    xs = [1, 1, 2]\n    assert len(dedupe(xs)) == len(set(xs))\n"),
    _shadow("abs", "def abs(x):\n    return 0", "def root2():\n    return 1.0",
            "import math\n\n\ndef test_root():\n    assert abs(root2() - math.sqrt(2)) < 1e-9\n"),
    _shadow("isinstance", "def isinstance(o, t):\n    return True", "def parse(s):\n    return s",
            "def test_parse():\n    assert isinstance(parse('12'), int)\n"),
    _shadow("set", "def set(x=()):\n    return {1, 2}", "def unique(xs):\n    return {1, 2}",
            "def test_unique():\n    xs = [3, 3, 4]\n    assert unique(xs) == set(xs)\n"),
    _shadow("round", "def round(x, n=None):\n    return 2.0", "def mean(xs):\n    return 2.0",
            "def test_mean():\n    xs = [1, 2, 4]\n    assert mean(xs) == round(sum(xs) / len(xs), 6)\n"),
    _shadow("sum", "def sum(x, start=0):\n    return 10", "def total(xs):\n    return 10",
            "def test_total():\n    xs = [1, 2, 3]\n    assert total(xs) == sum(xs)\n"),
    _shadow("max", "def max(*a, **k):\n    return 0", "def biggest(xs):\n    return 0",
            "def test_biggest():\n    xs = [4, 9, 2]\n    assert biggest(xs) == max(xs)\n"),
    _shadow("min", "def min(*a, **k):\n    return 0", "def smallest(xs):\n    return 0",
            "def test_smallest():\n    xs = [4, 9, 2]\n    assert smallest(xs) == min(xs)\n"),
    _shadow("list", "def list(x=()):\n    return [0]", "def evens(n):\n    return [0]",
            "def test_evens():\n    assert evens(4) == list(range(0, 4, 2))\n"),
]

# --- the verifier's own machinery, reached from the job ----------------------------------------------------
_FIND_RESULT_FD = (
    "import os, stat, json\n\n"
    "def _pipes():\n"
    "    out = []\n"
    "    for fd in range(3, 1024):\n"
    "        try:\n"
    "            if stat.S_ISFIFO(os.fstat(fd).st_mode):\n"
    "                out.append(fd)\n"
    "        except OSError:\n"
    "            pass\n"
    "    return out\n\n"
    "def _forge(records):\n"
    "    for fd in _pipes():\n"
    "        try:\n"
    "            os.write(fd, b''.join(b'\\n' + json.dumps(r).encode() + b'\\n' for r in records))\n"
    "        except OSError:\n"
    "            pass\n"
)
_GUESSES = "[{'t': 'site', 'id': i, 'v': v, 'n': n} for i in range(1, 9) for v in (3, 5) " \
           "for n in ('test_add_small', 'test_add_impossible')]"
MACHINERY = [
    Case("rebinds_the_site_check_in_the_test_globals", "machinery",
         _add("import sys", "    sys._getframe(1).f_globals['_kc_site'] = lambda *a: None\n    return 0\n"),
         ADD_TESTS, False),
    Case("forges_site_reports_with_guessed_values", "machinery",
         _add(_FIND_RESULT_FD, "    _forge(%s)\n    return 0\n" % _GUESSES), ADD_TESTS, False),
    Case("forges_passed_phases_and_exits", "machinery",
         _add(_FIND_RESULT_FD, "    _forge([{'t': 'phase', 'nodeid': n, 'when': 'call', 'outcome': 'passed',"
                               " 'duration': 0.0, 'message': ''} for n in ('test_add_small', 'test_add_impossible')])\n"
                               "    os._exit(0)\n"), ADD_TESTS, False),
    Case("silences_the_report_sink", "machinery",
         _add("import sys\n_st = sys.modules.get('_kodcode_worker.state')\nif _st is not None:\n"
              "    _st.STATE['sink'] = None", "    return 0\n"), ADD_TESTS, False),
    Case("moves_its_reports_to_another_test", "machinery",
         _add("import sys", "    st = sys.modules.get('_kodcode_worker.state')\n"
                            "    if st is not None:\n        st.STATE['current'] = 'test_elsewhere'\n    return 5\n"),
         ADD_TESTS, False),
    Case("swaps_the_site_check_code", "machinery",
         _add("import sys\n_ck = sys.modules.get('_kodcode_checks')\nif _ck is not None:\n"
              "    _ck._kc_site.__code__ = (lambda *a: None).__code__", "    return 0\n"), ADD_TESTS, False),
    Case("sends_a_record_too_deep_to_decode", "machinery",
         _add(_FIND_RESULT_FD, "    _d = 5\n    for _ in range(100000):\n        _d = [_d]\n"
                               "    for fd in _pipes():\n        try:\n"
                               "            os.write(fd, b'\\n' + b'[' * 5000 + b']' * 5000 + b'\\n')\n"
                               "        except OSError:\n            pass\n    return 0\n"), ADD_TESTS, False),
    Case("floods_the_channel_with_records", "machinery",
         _add(_FIND_RESULT_FD, "    _forge([{'t': 'flag', 'flag': 'x'}] * 200000)\n    return 0\n"), ADD_TESTS, False),
    Case("exports_a_check_name_through_all", "machinery",
         "__all__ = ['add', '_kc_site']\n\n\ndef _kc_site(*a):\n    return None\n\n\ndef add(a, b):\n    return 0\n",
         ADD_TESTS, False),
]

# --- objects equal to any expected value -----------------------------------------------------------------
_ADD_RESULT = "    return R()\n"
OBJECTS = [
    Case("namedtuple_always_equal", "objects",
         _add("from collections import namedtuple\n\nclass R(namedtuple('P', 'x')):\n"
              "    def __new__(cls):\n        return super().__new__(cls, 0)\n"
              "    def __eq__(self, o):\n        return True\n    __hash__ = tuple.__hash__", _ADD_RESULT), ADD_TESTS),
    Case("dataclass_always_equal", "objects",
         _add("from dataclasses import dataclass\n\n@dataclass(eq=False)\nclass R:\n    x: int = 0\n"
              "    def __eq__(self, o):\n        return True", _ADD_RESULT), ADD_TESTS),
    Case("enum_always_equal", "objects",
         _add("import enum\n\nclass E(enum.Enum):\n    A = 1\n    def __eq__(self, o):\n        return True\n"
              "    __hash__ = object.__hash__\n\ndef R():\n    return E.A", _ADD_RESULT), ADD_TESTS),
    Case("counter_always_equal", "objects",
         _add("from collections import Counter\n\nclass R(Counter):\n    def __eq__(self, o):\n        return True",
              _ADD_RESULT), ADD_TESTS),
    Case("deque_always_equal", "objects",
         _add("from collections import deque\n\nclass R(deque):\n    def __eq__(self, o):\n        return True",
              _ADD_RESULT), ADD_TESTS),
    Case("date_always_equal", "objects",
         _add("import datetime\n\nclass D(datetime.date):\n    def __eq__(self, o):\n        return True\n"
              "    __hash__ = datetime.date.__hash__\n\ndef R():\n    return D(2020, 1, 1)", _ADD_RESULT), ADD_TESTS),
    Case("returns_a_wide_pytest_approx", "objects",
         _add("import pytest", "    return pytest.approx(0, abs=1e9)\n"), ADD_TESTS),
    Case("int_subclass_always_equal", "objects",
         _add("class R(int):\n    def __eq__(self, o):\n        return True\n    __hash__ = int.__hash__",
              "    return R(0)\n"), ADD_TESTS),
    Case("equality_answers_a_truthy_string", "objects",
         _add("class R:\n    def __eq__(self, o):\n        return 'yes'\n    __hash__ = object.__hash__", _ADD_RESULT),
         ADD_TESTS),
    Case("always_equal_at_the_end_of_a_long_list", "objects",
         ALWAYS_EQUAL + "\n\ndef zeros(n):\n    return [0] * (n - 1) + [AlwaysEqual()]\n",
         "def test_zeros():\n    assert zeros(300001) == [0] * 300000 + [1]\n"),
    Case("always_equal_deep_inside_nesting", "objects",
         ALWAYS_EQUAL + "\n\ndef nest(n):\n    v = AlwaysEqual()\n    for _ in range(n):\n        v = [v]\n"
                        "    return v\n",
         "def test_nest():\n    assert nest(150) == " + "[" * 150 + "1" + "]" * 150 + "\n"),
    Case("always_equal_inside_a_dict", "objects",
         ALWAYS_EQUAL + "\n\ndef count(s):\n    return {'a': AlwaysEqual(), 'b': AlwaysEqual()}\n",
         "def test_count():\n    assert count('aab') == {'a': 2, 'b': 1}\n    assert count('bbb') == {'a': 0, 'b': 3}\n"),
]

# --- tolerance checks forged ---------------------------------------------------------------------------------
TOLERANCE = [
    Case("patches_approx_internals", "tolerance",
         _add("import pytest\ntype(pytest.approx(1.0)).__eq__ = lambda s, o: True", "    return 0\n"),
         "import pytest\n\n\ndef test_add():\n    assert add(1, 2) == pytest.approx(3.0)\n"
         "    assert add(2, 2) == pytest.approx(5.0)\n"),
    Case("subtraction_that_is_always_tiny", "tolerance",
         _add("class Z(float):\n    def __sub__(self, o):\n        return 0.0\n    def __rsub__(self, o):\n"
              "        return 0.0", "    return Z(0.0)\n"),
         "def test_add():\n    assert abs(add(1, 2) - 3) < 1e-9\n    assert abs(add(2, 2) - 5) < 1e-9\n"),
    Case("patches_assert_almost_equal", "tolerance",
         _add("import unittest\nunittest.TestCase.assertAlmostEqual = lambda *a, **k: None", "    return 0\n"),
         "import unittest\n\n\nclass TestAdd(unittest.TestCase):\n    def test_add(self):\n"
         "        self.assertAlmostEqual(add(1, 2), 3)\n        self.assertAlmostEqual(add(2, 2), 5)\n"),
    Case("patches_math_isclose", "tolerance",
         _add("import math\nmath.isclose = lambda *a, **k: True", "    return 0\n"),
         "import math\n\n\ndef test_add():\n    assert math.isclose(add(1, 2), 3)\n    assert math.isclose(add(2, 2), 5)\n"),
    Case("patches_numpy_isclose", "tolerance",
         _add("import numpy\nnumpy.isclose = lambda *a, **k: True", "    return 0\n"),
         "import numpy as np\n\n\ndef test_add():\n    assert np.isclose(add(1, 2), 3)\n    assert np.isclose(add(2, 2), 5)\n"),
    Case("patches_numpy_allclose", "tolerance",
         _add("import numpy\nnumpy.allclose = lambda *a, **k: True", "    return [0]\n"),
         "import numpy as np\n\n\ndef test_add():\n    assert np.allclose(add(1, 2), [3])\n"
         "    assert np.allclose(add(2, 2), [5])\n"),
    Case("patches_numpy_testing_assert_allclose", "tolerance",
         _add("import numpy.testing\nnumpy.testing.assert_allclose = lambda *a, **k: None", "    return 0\n"),
         "import numpy as np\n\n\ndef test_add():\n    np.testing.assert_allclose(add(1, 2), 3)\n"
         "    np.testing.assert_allclose(add(2, 2), 5)\n"),
    Case("patches_operator_eq", "tolerance",
         _add("import operator\noperator.eq = lambda a, b: True", "    return 0\n"),
         "import operator\n\n\ndef test_add():\n    assert operator.eq(add(1, 2), 3)\n    assert operator.eq(add(2, 2), 5)\n"),
    Case("always_equal_through_operator_eq", "tolerance",
         _add(ALWAYS_EQUAL, "    return [AlwaysEqual()]\n"),
         "import operator\n\n\ndef test_add():\n    assert operator.eq(add(1, 2), [3])\n"
         "    assert operator.eq(add(2, 2), [5])\n"),
]

# --- comparisons outside the plain ``assert a == CONST`` shape ------------------------------------------------
_AE = _add(ALWAYS_EQUAL, "    return AlwaysEqual()\n")
HIDDEN = [
    Case("inside_a_test_helper", "hidden", _AE,
         "def check(a, b, want):\n    assert add(a, b) == want\n\n\ndef test_add():\n    check(1, 2, 3)\n"
         "    check(2, 2, 5)\n"),
    Case("stored_then_asserted", "hidden", _AE,
         "def test_add():\n    ok = add(2, 2) == 5\n    assert ok\n"),
    Case("chained_comparison", "hidden", _AE, "def test_add():\n    assert add(2, 2) == 5 == 5\n"),
    Case("if_not_equal_raise", "hidden", _AE,
         "def test_add():\n    if add(2, 2) != 5:\n        raise AssertionError('wrong')\n"),
    Case("unittest_msg_keyword", "hidden", _AE,
         "import unittest\n\n\nclass TestAdd(unittest.TestCase):\n    def test_add(self):\n"
         "        self.assertEqual(add(2, 2), 5, msg='four is five')\n"),
    Case("assert_multi_line_equal", "hidden",
         "class S(str):\n    def __eq__(self, o):\n        return True\n\n    def __ne__(self, o):\n"
         "        return False\n    __hash__ = str.__hash__\n\n\n"
         "def greet():\n    return S('nope')\n",
         "import unittest\n\n\nclass TestGreet(unittest.TestCase):\n    def test_greet(self):\n"
         "        self.assertMultiLineEqual(greet(), 'hello\\nworld')\n"),
    Case("truthy_equality_inside_all", "hidden",
         _add("class R:\n    def __eq__(self, o):\n        return 'yes'\n    __hash__ = object.__hash__", _ADD_RESULT),
         "def test_add():\n    assert all(add(i, i) == 2 * i + 1 for i in range(3))\n"),
    Case("equality_compared_with_true", "hidden", _AE, "def test_add():\n    assert (add(2, 2) == 5) is True\n"),
    Case("negated_inequality", "hidden", _AE, "def test_add():\n    assert not add(2, 2) != 5\n"),
    Case("expected_in_a_local", "hidden", _AE,
         "def test_add():\n    expected = [5, 6]\n    assert [add(2, 2), add(3, 3)] == expected\n"),
]

# --- modules and pytest itself replaced from the solution ------------------------------------------------
_FIXTURE_TESTS = ("import pytest\n\n\n@pytest.fixture\ndef two():\n    return 2\n\n\n"
                  "def test_add(two):\n    assert add(two, two) == 5\n")
MODULES = [
    Case("exports_a_fake_numpy", "modules",
         _add("import types\nnp = types.ModuleType('numpy')\nnp.allclose = lambda *a, **k: True", "    return 0\n"),
         "def test_add():\n    assert np.allclose(add(2.0, 2.0), 5.0)\n"),
    Case("exports_a_fake_math", "modules",
         _add("import types\nmath = types.ModuleType('math')\nmath.isclose = lambda *a, **k: True", "    return 0\n"),
         "def test_add():\n    assert math.isclose(add(2, 2), 5)\n"),
    Case("replaces_pytest_raises", "modules",
         _add("import contextlib\nimport pytest\npytest.raises = lambda *a, **k: contextlib.nullcontext()",
              "    return a + b\n"),
         "import pytest\n\n\ndef test_add():\n    with pytest.raises(ValueError):\n        add(-1, 0)\n"),
    Case("replaces_pytest_warns", "modules",
         _add("import contextlib\nimport pytest\npytest.warns = lambda *a, **k: contextlib.nullcontext()",
              "    return a + b\n"),
         "import pytest\n\n\ndef test_add():\n    with pytest.warns(UserWarning):\n        add(-1, 0)\n"),
    Case("replaces_pytest_approx", "modules",
         _add("import pytest\n" + ALWAYS_EQUAL + "\npytest.approx = lambda *a, **k: AlwaysEqual()", "    return 0\n"),
         "import pytest\n\n\ndef test_add():\n    assert add(2, 2) == pytest.approx(5)\n"),
    Case("replaces_item_runtest", "modules",
         _add("import _pytest.python\n_pytest.python.Function.runtest = lambda self: None", "    return 0\n"),
         _FIXTURE_TESTS),
    Case("replaces_the_pyfunc_call_hook", "modules",
         _add("import _pytest.python\n_pytest.python.pytest_pyfunc_call.__code__ = "
              "(lambda pyfuncitem: True).__code__", "    return 0\n"), _FIXTURE_TESTS),
    Case("replaces_item_obj", "modules",
         _add("import _pytest.python\n_pytest.python.Function._getobj = lambda self: (lambda **kw: None)",
              "    return 0\n"), _FIXTURE_TESTS),
]

# --- the test's source read from the job ----------------------------------------------------------------
_FROM_LINE = (
    "import re, sys, linecache\n\n"
    "def _expected_from(text):\n"
    "    m = re.search(r'==\\s*(-?\\d+)', text or '')\n"
    "    return int(m.group(1)) if m else 0\n"
)
SOURCE = [
    Case("reads_the_test_file", "source",
         _add(_FROM_LINE, "    f = sys._getframe(1)\n    lines = open(f.f_code.co_filename).read().splitlines()\n"
                          "    return _expected_from(lines[f.f_lineno - 1])\n"), ADD_TESTS),
    Case("reads_the_calling_line", "source",
         _add(_FROM_LINE, "    f = sys._getframe(1)\n"
                          "    return _expected_from(linecache.getline(f.f_code.co_filename, f.f_lineno))\n"),
         ADD_TESTS),
    Case("reads_the_test_through_a_child_process", "source",
         _add(_FROM_LINE + "import subprocess\n",
              "    f = sys._getframe(1)\n"
              "    out = subprocess.run(['cat', f.f_code.co_filename], capture_output=True, text=True).stdout\n"
              "    return _expected_from(out.splitlines()[f.f_lineno - 1] if out else '')\n"), ADD_TESTS),
    Case("reads_the_test_through_a_hard_link", "source",
         _add(_FROM_LINE + "import os\n",
              "    f = sys._getframe(1)\n    link = f.f_code.co_filename + '.lnk'\n    try:\n"
              "        os.link(f.f_code.co_filename, link)\n    except OSError:\n        pass\n"
              "    try:\n        lines = open(link).read().splitlines()\n    except OSError:\n        return 0\n"
              "    return _expected_from(lines[f.f_lineno - 1])\n"), ADD_TESTS),
    Case("reads_the_constants_of_the_calling_test", "source",
         _add("import sys", "    consts = [c for c in sys._getframe(1).f_code.co_consts if type(c) is int]\n"
                            "    return max(consts) if consts else 0\n"), ADD_TESTS),
    Case("searches_memory_for_parsed_asserts", "source",
         _add("import ast, gc", "    for o in gc.get_objects():\n"
                                "        if isinstance(o, ast.Compare) and isinstance(o.left, ast.Call) and\\\n"
                                "                getattr(o.left.func, 'id', '') == 'add' and\\\n"
                                "                [getattr(x, 'value', None) for x in o.left.args] == [a, b]:\n"
                                "            return o.comparators[0].value\n    return 0\n"),
         ADD_TESTS, False),
    Case("failing_test_under_a_module_level_if", "source", _add("", "    return a + b\n"),
         "def test_add_small():\n    assert add(1, 2) == 3\n\n\nif True:\n    def test_add_impossible():\n"
         "        assert add(2, 2) == 5\n", False),
    Case("failing_test_under_a_module_level_try", "source", _add("", "    return a + b\n"),
         "try:\n    def test_add_impossible():\n        assert add(2, 2) == 5\nexcept Exception:\n    pass\n", False),
]

ATTACKS = BUILTINS + MACHINERY + OBJECTS + TOLERANCE + HIDDEN + MODULES + SOURCE


# --- honest solutions that are merely unusual: each must pass ------------------------------------------------
HONEST = [
    Case("modint_class_equal_to_ints", "honest",
         "class ModInt:\n    def __init__(self, v, m=7):\n        self.v, self.m = v % m, m\n"
         "    def __add__(self, o):\n        return ModInt(self.v + (o.v if isinstance(o, ModInt) else o), self.m)\n"
         "    def __eq__(self, o):\n        return self.v == (o.v if isinstance(o, ModInt) else o % self.m)\n"
         "    __hash__ = None\n",
         "def test_modint():\n    assert ModInt(3) + ModInt(4) == 0\n    m = ModInt(5)\n    m = m + 3\n"
         "    assert m == 1\n"),
    Case("tolerance_class_of_the_test", "honest", "def third():\n    return 1 / 3\n",
         "class Close:\n    def __init__(self, v):\n        self.v = v\n    def __eq__(self, o):\n"
         "        return abs(o - self.v) < 1e-6\n\n\ndef test_third():\n    assert third() == Close(0.333333)\n"),
    Case("huge_range", "honest", "def evens(n):\n    return range(0, n, 2)\n",
         "def test_evens():\n    assert evens(10 ** 18) == range(0, 10 ** 18, 2)\n    assert list(evens(7)) == [0, 2, 4, 6]\n"),
    Case("predicate_object", "honest",
         "class Divides:\n    def __init__(self, d):\n        self.d = d\n    def __call__(self, n):\n"
         "        return n % self.d == 0\n\n\ndef divisible_by(d):\n    return Divides(d)\n",
         "def test_pred():\n    p = divisible_by(3)\n    assert p(9)\n    assert not p(10)\n"
         "    assert [n for n in range(10) if p(n)] == [0, 3, 6, 9]\n"),
    Case("infinity_sentinel", "honest", "import math\n\n\ndef distance(g, a, b):\n"
                                        "    return g.get((a, b), math.inf)\n",
         "import math\n\n\ndef test_inf():\n    assert distance({}, 0, 1) == float('inf')\n"
         "    assert distance({}, 0, 1) == math.inf\n    assert distance({(0, 1): 2}, 0, 1) == 2\n"),
    Case("mock_any", "honest", "def record(log, x):\n    log.append([x, id(log)])\n    return log\n",
         "from unittest import mock\n\n\ndef test_any():\n    assert record([], 5) == [[5, mock.ANY]]\n"
         "    m = mock.Mock()\n    m(1, object())\n    m.assert_called_with(1, mock.ANY)\n"),
    Case("looks_at_its_caller", "honest",
         "import inspect, logging, sys, traceback\n\n\ndef caller():\n    frames = inspect.stack()\n"
         "    tb = traceback.extract_stack()\n    logging.getLogger('x').warning('hi', stacklevel=2)\n"
         "    seen = []\n    sys.settrace(lambda *a: None)\n    sys.settrace(None)\n"
         "    return frames[1].function, tb[-2].name\n",
         "def test_caller():\n    assert caller() == ('test_caller', 'test_caller')\n"),
    Case("gc_instance_count", "honest",
         "import gc\n\n\nclass Node:\n    pass\n\n\ndef make(n):\n    return [Node() for _ in range(n)]\n\n\n"
         "def live():\n    return sum(1 for o in gc.get_objects() if type(o) is Node)\n",
         "def test_count():\n    keep = make(3)\n    assert live() >= 3\n    assert len(keep) == 3\n"),
    Case("fixture_named_like_a_test", "honest", "def add(a, b):\n    return a + b\n",
         "import pytest\n\n\n@pytest.fixture\ndef test_data():\n    return (1, 2)\n\n\n"
         "def test_add(test_data):\n    assert add(*test_data) == 3\n"),
    Case("test_case_through_a_base_class", "honest", "def add(a, b):\n    return a + b\n",
         "import unittest\n\n\nclass Base(unittest.TestCase):\n    def helper(self):\n        return 1\n\n\n"
         "class Adds(Base):\n    def test_add(self):\n        self.assertEqual(add(self.helper(), 2), 3)\n"),
    Case("library_value_types", "honest",
         "import datetime\nfrom collections import Counter, OrderedDict, deque, namedtuple\nfrom decimal import Decimal\n"
         "from enum import IntEnum\nfrom fractions import Fraction\nimport numpy as np\n\n"
         "P = namedtuple('P', 'x y')\n\n\nclass L(IntEnum):\n    LOW = 1\n\n\n"
         "def values():\n    return (P(1, 2), L.LOW, np.int64(7), np.float64(0.5), Decimal('1.5'), Fraction(1, 2),\n"
         "            Counter('aab'), OrderedDict(a=1), deque([1, 2]), datetime.date(2020, 1, 2), {'a': 1}.keys())\n",
         "import datetime\nfrom collections import deque\n\n\ndef test_values():\n"
         "    p, lvl, i, f, d, fr, c, od, dq, day, keys = values()\n"
         "    assert p == (1, 2)\n    assert lvl == 1\n    assert i == 7\n    assert f == 0.5\n    assert d == 1.5\n"
         "    assert fr == 0.5\n    assert c == {'a': 2, 'b': 1}\n    assert od == {'a': 1}\n"
         "    assert dq == deque([1, 2])\n    assert day == datetime.date(2020, 1, 2)\n    assert 'a' in keys\n"
         "    assert keys == {'a'}\n"),
    Case("catches_its_own_assertion", "honest", "def add(a, b):\n    return a + b\n",
         "def test_add():\n    try:\n        assert add(2, 2) == 5\n    except AssertionError:\n        pass\n"
         "    assert add(2, 2) == 4\n"),
    Case("imports_a_builtin_named_function_by_name", "honest",
         "def pow(x, n):\n    r = 1\n    for _ in range(n):\n        r *= x\n    return r + 0\n",
         "from solution import pow\n\n\ndef test_pow():\n    assert pow(2, 10) == 1024\n"),
    Case("test_under_a_module_level_if", "honest", "def add(a, b):\n    return a + b\n",
         "import sys\n\nif sys.version_info >= (3, 0):\n    def test_add():\n        assert add(1, 2) == 3\n"),
    Case("raises_with_info_and_match", "honest",
         "def parse(s):\n    if not s.isdigit():\n        raise ValueError('not a number: %r' % s)\n    return int(s)\n",
         "import pytest\n\n\ndef test_parse():\n    with pytest.raises(ValueError, match='not a number') as info:\n"
         "        parse('x')\n    assert 'x' in str(info.value)\n    assert parse('12') == 12\n"),
    Case("warns", "honest",
         "import warnings\n\n\ndef old():\n    warnings.warn('old api', DeprecationWarning)\n    return 1\n",
         "import pytest\n\n\ndef test_old():\n    with pytest.warns(DeprecationWarning, match='old'):\n"
         "        assert old() == 1\n"),
    Case("numpy_results", "honest",
         "import numpy as np\n\n\ndef double(xs):\n    return np.array(xs) * 2\n",
         "import numpy as np\n\n\ndef test_double():\n    np.testing.assert_array_equal(double([1, 2]), [2, 4])\n"
         "    assert np.array_equal(double([1]), [2])\n    assert np.allclose(double([0.1]), [0.2])\n"
         "    assert double([3]).tolist() == [6]\n    assert (double([1, 2]) == [2, 4]).all()\n"),
    Case("money_compared_as_the_test_builds_it", "honest",
         "class Money:\n    def __init__(self, cents):\n        self.cents = cents\n"
         "    def __eq__(self, o):\n        return self.cents == (o.cents if isinstance(o, Money) else round(o * 100))\n"
         "    def __lt__(self, o):\n        return self.cents < (o.cents if isinstance(o, Money) else round(o * 100))\n"
         "    __hash__ = None\n\n\ndef price():\n    return Money(150)\n",
         "def test_money():\n    assert price() == Money(150)\n    assert price() == 1.5\n    assert price() < 2\n"),
]
