"""Values past Python's int-to-str limit (4,300 digits) and odd numbers travel from a job and compare.

The job reports values as JSON, which cannot write such an int, and the parent prints values into
its messages, which ``repr`` cannot either; both must give the verdict pytest would, never a
sandbox error or a lost return value.
"""

import pytest

from kodcode.exec import CallJob, ExecConfig, Executor, PytestJob

SOLUTION = '''
from decimal import Decimal
from fractions import Fraction

def big():
    return 10 ** 5000

def big_list():
    return [1, -(10 ** 5000) - 7, 3]

def big_key():
    return {10 ** 5000: "a"}

def frac():
    return Fraction(10 ** 5000, 3)

def rng():
    return range(0, 10 ** 5000, 7)

def dnan():
    return Decimal("NaN")

def dsnan():
    return Decimal("sNaN")

def dhuge():
    return Decimal("1e999999")

def cinf():
    return complex(1e308, -1e308) * 10
'''

# name -> the outcome plain pytest gives
TESTS = {
    "test_big_equal": ("assert big() == 10 ** 5000", "passed"),
    "test_big_unequal": ("assert big() == 10 ** 5000 + 1", "failed"),
    "test_big_ordered": ("assert big() < 5", "failed"),
    "test_big_stored": ("x = big()\n    assert x == 10 ** 5000", "passed"),
    "test_big_in_list": ("assert big_list() == [1, -(10 ** 5000) - 7, 3]", "passed"),
    "test_big_in_list_unequal": ("assert big_list() == [1, -(10 ** 5000), 3]", "failed"),
    "test_big_key": ("assert big_key() == {10 ** 5000: 'a'}", "passed"),
    "test_fraction": ("assert frac() == Fraction(10 ** 5000, 3)", "passed"),
    "test_fraction_unequal": ("assert frac() == Fraction(10 ** 5000, 7)", "failed"),
    "test_range": ("assert rng() == range(0, 10 ** 5000, 7)", "passed"),
    "test_nan_decimal_unequal_to_itself": ("assert dnan() == Decimal('NaN')", "failed"),
    "test_nan_decimal_ne": ("assert dnan() != Decimal('NaN')", "passed"),
    "test_nan_decimal_ordered": ("assert dnan() < 1", "failed"),
    "test_signalling_nan_compared": ("assert dsnan() == Decimal('1')", "failed"),
    "test_huge_exponent_decimal": ("assert dhuge() == Decimal('1e999999')", "passed"),
    "test_infinite_complex": ("assert cinf() == complex(float('inf'), float('-inf'))", "passed"),
}


@pytest.fixture(scope="module")
def ex():
    with Executor(ExecConfig(workers=2, timeout_s=10, memory_mb=512)) as e:
        yield e


def test_asserted_huge_ints_and_odd_numbers_get_pytest_verdicts(ex):
    test = "from decimal import Decimal\nfrom fractions import Fraction\n\n" + "".join(
        f"def {name}():\n    {body}\n\n" for name, (body, _) in TESTS.items())
    v = ex.submit(PytestJob(solution=SOLUTION, test=test)).result()
    assert v.status == "fail"
    assert {t.name: t.outcome for t in v.tests} == {name: want for name, (_, want) in TESTS.items()}


def test_a_failed_comparison_of_huge_ints_says_how_long_they_are(ex):
    v = ex.submit(PytestJob(solution=SOLUTION, test="def test_a():\n    assert big() < 5\n")).result()
    assert v.status == "fail"
    assert "<int of ~5001 digits>" in v.tests[0].message


def test_returned_huge_ints_come_back_as_hex(ex):
    v = ex.submit(CallJob(program=SOLUTION, fn_name="big", args_list=[[]])).result()
    assert v.status == "pass"
    assert int(v.outputs[0].value["__int__"], 16) == 10 ** 5000
    v = ex.submit(CallJob(program=SOLUTION, fn_name="big_list", args_list=[[]])).result()
    first, mid, last = v.outputs[0].value
    assert (first, int(mid["__int__"], 16), last) == (1, -(10 ** 5000) - 7, 3)


def test_livecodebench_rules_read_a_returned_huge_int():
    from kodcode.eval import lcb_rules

    assert lcb_rules._decode({"__int__": format(-(10 ** 5000), "x")}) == -(10 ** 5000)
