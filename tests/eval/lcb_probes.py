"""Differential probes for LiveCodeBench scoring: small programs, each with its tests, that poke at
how a verdict is reached (stdin handling, output capture, comparison of returned values, timeouts,
state across test cases).  lcb_runner's verdict for each is recorded in ``lcb_probe_verdicts.json``
by ``bench/lcb_differential.py``; ``test_lcb_differential.py`` checks kodcode gives the same.

Plain data and the standard library only: the recording script imports this file from lcb_runner's
own environment.  Every probe is self-limiting (well under a second of CPU, small memory and output,
sleeps of at most 3 s) and meant to be run with a per-test timeout of ``TIMEOUT_S``.

Each probe: ``name``, ``code``, ``inputs``/``outputs`` (LCB's test strings; call-based inputs are
one JSON value per line), ``fn_name`` (None for stdin programs).
"""

from __future__ import annotations

import json

TIMEOUT_S = 2  # per test, recorded and replayed alike (LCB's default is 6)

_IO2 = [("1 2\n", "3\n"), ("10 20\n", "30\n")]  # two cases: print A+B


def _stdin(name, code, cases=None):
    cases = cases or _IO2
    return {"name": "stdin/" + name, "code": code, "inputs": [i for i, _ in cases], "outputs": [o for _, o in cases],
            "fn_name": None}


def _call(name, code, fn_name, cases):
    """cases: (args list, expected value) pairs, stored in LCB's text form."""
    return {"name": "call/" + name, "code": code, "fn_name": fn_name,
            "inputs": ["\n".join(json.dumps(a) for a in args) for args, _ in cases],
            "outputs": [json.dumps(out) for _, out in cases]}


_SUM_CASES = [([[1, 2, 3]], 6), ([[5]], 5)]


def _sol(body, method="total", params="self, nums"):
    lines = "\n".join("        " + line for line in body.strip("\n").split("\n"))
    return f"class Solution:\n    def {method}({params}):\n{lines}\n"


STDIN = [
    _stdin("input_split", "a, b = map(int, input().split())\nprint(a + b)\n"),
    _stdin("stdin_readline", "import sys\na, b = map(int, sys.stdin.readline().split())\nprint(a + b)\n"),
    _stdin("stdin_read_split", "import sys\na, b = map(int, sys.stdin.read().split())\nprint(a + b)\n"),
    _stdin("open0_read", "a, b = map(int, open(0).read().split())\nprint(a + b)\n"),
    _stdin("open0_iterate", "for line in open(0):\n    a, b = map(int, line.split())\n    print(a + b)\n"),
    _stdin("stdin_iterate", "import sys\nfor line in sys.stdin:\n    a, b = map(int, line.split())\n    print(a + b)\n"),
    _stdin("stdin_buffer_read", "import sys\na, b = map(int, sys.stdin.buffer.read().split())\nprint(a + b)\n"),
    _stdin("stdin_buffer_readline_twice", "import sys\na = int(sys.stdin.buffer.readline())\n"
           "b = int(sys.stdin.buffer.readline())\nprint(a + b)\n", [("1\n2\n", "3\n"), ("4\n5\n", "9\n")]),
    _stdin("stdin_readlines_trailing_newline", "import sys\nprint(sum(int(x) for x in sys.stdin.readlines()))\n",
           [("1\n2\n", "3\n")]),
    _stdin("stdin_readlines_strip", "import sys\nprint(sum(int(x) for x in sys.stdin.readlines() if x.strip()))\n",
           [("1\n2\n", "3\n")]),
    _stdin("stdin_read_twice", "import sys\na = sys.stdin.read()\nb = sys.stdin.read()\nprint(len(b))\n",
           [("1 2\n", "0\n")]),
    _stdin("input_until_eof", "t = 0\nwhile True:\n    try:\n        t += int(input())\n    except EOFError:\n"
           "        break\nprint(t)\n", [("1\n2\n", "3\n")]),
    _stdin("stdout_buffer_write", "import sys\na, b = map(int, input().split())\n"
           "sys.stdout.buffer.write(str(a + b).encode() + b'\\n')\n"),
    _stdin("stdout_write", "import sys\na, b = map(int, input().split())\nsys.stdout.write(str(a + b) + '\\n')\n"),
    _stdin("os_write_fd1", "import os\na, b = map(int, input().split())\nos.write(1, (str(a + b) + '\\n').encode())\n"),
    _stdin("dunder_stdout", "import sys\na, b = map(int, input().split())\nsys.__stdout__.write(str(a + b) + '\\n')\n"),
    _stdin("print_to_stderr_too", "import sys\na, b = map(int, input().split())\nprint('dbg', file=sys.stderr)\n"
           "print(a + b)\n"),
    _stdin("quit_after_answer", "a, b = map(int, input().split())\nprint(a + b)\nquit()\n"),
    _stdin("exit_after_answer", "a, b = map(int, input().split())\nprint(a + b)\nexit()\n"),
    _stdin("sys_exit_1_after_answer", "import sys\na, b = map(int, input().split())\nprint(a + b)\nsys.exit(1)\n"),
    _stdin("raise_systemexit_msg", "a, b = map(int, input().split())\nprint(a + b)\nraise SystemExit('bye')\n"),
    _stdin("raise_after_answer", "a, b = map(int, input().split())\nprint(a + b)\nraise ValueError('late')\n"),
    _stdin("main_guard_last", "def main():\n    a, b = map(int, input().split())\n    print(a + b)\n\n"
           "if __name__ == '__main__':\n    main()\n"),
    _stdin("main_guard_not_last", "def main():\n    a, b = map(int, input().split())\n    print(a + b)\n\n"
           "if __name__ == '__main__':\n    main()\nDONE = True\n"),
    _stdin("global_counter", "calls = 0\ndef f(x):\n    global calls\n    calls += 1\n    return x\n"
           "a, b = map(int, input().split())\nprint(f(a) + f(b))\n"),
    _stdin("module_state_across_cases", "import math\nmath.kc_seen = getattr(math, 'kc_seen', 0) + 1\n"
           "a, b = map(int, input().split())\nprint(a + b + math.kc_seen - 1)\n"),
    _stdin("wrong_answer", "a, b = map(int, input().split())\nprint(a - b)\n"),
    _stdin("extra_whitespace", "a, b = map(int, input().split())\nprint('  ', a + b, '  ')\nprint()\nprint()\n"),
    _stdin("float_one_point_zero", "a, b = map(int, input().split())\nprint(float(a + b))\n"),
    _stdin("decimal_trailing_zero", "print('2.50')\n", [("x\n", "2.5\n")]),
    _stdin("float_no_tolerance", "print(1 / 3)\n", [("x\n", "0.3333\n")]),
    _stdin("double_space_tokens", "print('1 2')\n", [("x\n", "1  2\n")]),
    _stdin("case_mismatch", "print('YES')\n", [("x\n", "Yes\n")]),
    _stdin("signalling_nan_output", "print('sNaN')\n", [("x\n", "1\n")]),
    _stdin("nan_text_equal", "print('NaN')\n", [("x\n", "NaN\n")]),
    _stdin("nan_case_differs", "print('nan')\n", [("x\n", "NaN\n")]),
    _stdin("negative_zero", "print('-0')\n", [("x\n", "0\n")]),
    _stdin("exponent_notation", "print('1e3 2.5E0')\n", [("x\n", "1000 2.5\n")]),
    _stdin("infinity_spellings", "print('inf')\n", [("x\n", "Infinity\n")]),
    _stdin("underscore_digits", "print('1_000')\n", [("x\n", "1000\n")]),
    _stdin("fullwidth_digit", "print('\\uff11')\n", [("x\n", "1\n")]),
    _stdin("hex_is_not_a_number", "print('0x10')\n", [("x\n", "16\n")]),
    _stdin("line_count_mismatch", "print(3)\nprint(4)\n", [("x\n", "3\n")]),
    _stdin("no_newline_at_end", "a, b = map(int, input().split())\nprint(a + b, end='')\n"),
    _stdin("huge_int_output", "print(10 ** 5000)\n", [("x\n", "1" + "0" * 5000 + "\n")]),
    _stdin("typing_without_import", "xs: List[int] = list(map(int, input().split()))\nprint(sum(xs))\n"),
    _stdin("sleep_past_timeout", "import time\ntime.sleep(3)\nprint(3)\n", [("x\n", "3\n")]),
    _stdin("busy_loop", "while True:\n    pass\n", [("x\n", "3\n")]),
    _stdin("thread_left_running", "import threading, time\nthreading.Thread(target=time.sleep, args=(3,)).start()\n"
           "a, b = map(int, input().split())\nprint(a + b)\n"),
    _stdin("thread_main_big_stack", "import sys, threading\ndef main():\n    a, b = map(int, input().split())\n"
           "    print(a + b)\nthreading.stack_size(1 << 26)\nt = threading.Thread(target=main)\nt.start()\nt.join()\n"),
    _stdin("deep_recursion_10k", "def d(n):\n    return 0 if n == 0 else d(n - 1) + 1\n"
           "a, b = map(int, input().split())\nprint(a + b + d(10000) - 10000)\n"),
    _stdin("lru_cache_recursion_10k", "from functools import lru_cache\n@lru_cache(None)\ndef d(n):\n"
           "    return 0 if n == 0 else d(n - 1) + 1\na, b = map(int, input().split())\nprint(a + b + d(10000) - 10000)\n"),
    _stdin("os_getcwd", "import os\nos.getcwd()\na, b = map(int, input().split())\nprint(a + b)\n"),
    _stdin("import_resource", "import resource\na, b = map(int, input().split())\nprint(a + b)\n"),
    _stdin("syntax_error", "print(3\n", [("x\n", "3\n")]),
    _stdin("defines_class_solution", "class Solution:\n    pass\na, b = map(int, input().split())\nprint(a + b)\n"),
    _stdin("stdout_close", "import sys\na, b = map(int, input().split())\nprint(a + b)\nsys.stdout.close()\n"),
    _stdin("read_with_size", "import sys\nprint(sys.stdin.read(1))\n", [("7 8\n", "7\n")]),
    _stdin("input_past_eof", "a = input()\nb = input()\nprint(a)\n", [("5\n", "5\n")]),
    _stdin("print_bytes", "print(b'3')\n", [("x\n", "3\n")]),
    _stdin("recursion_past_limit", "def d(n):\n    return 0 if n == 0 else d(n - 1) + 1\nprint(d(60000))\n",
           [("x\n", "60000\n")]),
    _stdin("lru_cache_recursion_40k", "from functools import lru_cache\n@lru_cache(None)\ndef d(n):\n"
           "    return 0 if n == 0 else d(n - 1) + 1\nprint(d(40000))\n", [("x\n", "40000\n")]),
    _stdin("lru_cache_recursion_15k", "from functools import lru_cache\n@lru_cache(None)\ndef d(n):\n"
           "    return 0 if n == 0 else d(n - 1) + 1\nprint(d(15000))\n", [("x\n", "15000\n")]),
    _stdin("lru_cache_recursion_22k", "from functools import lru_cache\n@lru_cache(None)\ndef d(n):\n"
           "    return 0 if n == 0 else d(n - 1) + 1\nprint(d(22000))\n", [("x\n", "22000\n")]),
    _stdin("deep_recursion_45k", "def d(n):\n    return 0 if n == 0 else d(n - 1) + 1\nprint(d(45000))\n",
           [("x\n", "45000\n")]),
    _stdin("stdin_readline_past_end", "import sys\nx = sys.stdin.readline()\ny = sys.stdin.readline()\n"
           "print(repr(y))\n", [("1\n", "''\n")]),
]

CALL = [
    _call("solution_method", _sol("return sum(nums)"), "total", _SUM_CASES),
    _call("plain_function", "def total(nums):\n    return sum(nums)\n", "total", _SUM_CASES),
    _call("tuple_for_list", _sol("return (min(nums), max(nums))"), "total", [([[1, 2, 3]], [1, 3])]),
    _call("nested_tuples", _sol("return [(x, x) for x in nums]"), "total", [([[1, 2]], [[1, 1], [2, 2]])]),
    _call("tuple_of_tuples", _sol("return tuple((x, x) for x in nums)"), "total", [([[1, 2]], [[1, 1], [2, 2]])]),
    _call("numpy_int", _sol("import numpy as np\nreturn np.int64(sum(nums))"), "total", _SUM_CASES),
    _call("numpy_float", _sol("import numpy as np\nreturn np.float64(sum(nums)) / 2"), "total",
          [([[1, 2]], 1.5)]),
    _call("numpy_bool", _sol("import numpy as np\nreturn np.bool_(sum(nums) > 2)"), "total", [([[1, 2]], True)]),
    _call("numpy_array", _sol("import numpy as np\nreturn np.array(nums)"), "total", [([[1, 2]], [1, 2])]),
    _call("numpy_array_single", _sol("import numpy as np\nreturn np.array(nums)"), "total", [([[7]], [7])]),
    _call("list_of_numpy_ints", _sol("import numpy as np\nreturn [np.int64(x) for x in nums]"), "total",
          [([[1, 2]], [1, 2])]),
    _call("float_for_int", _sol("return float(sum(nums))"), "total", _SUM_CASES),
    _call("bool_for_int", _sol("return sum(nums) > 0"), "total", [([[1]], 1)]),
    _call("float_no_tolerance", _sol("return 0.1 + 0.2"), "total", [([[1]], 0.3)]),
    _call("set_for_list", _sol("return set(nums)"), "total", [([[1, 2]], [1, 2])]),
    _call("int_keys_vs_json_keys", _sol("return {x: x for x in nums}"), "total", [([[1]], {"1": 1})]),
    _call("str_keys_dict", _sol("return {str(x): x for x in nums}"), "total", [([[1]], {"1": 1})]),
    _call("decimal_value", _sol("from decimal import Decimal\nreturn Decimal(sum(nums))"), "total", _SUM_CASES),
    _call("decimal_signalling_nan", _sol("from decimal import Decimal\nreturn Decimal('sNaN')"), "total",
          [([[1]], 1)]),
    _call("fraction_value", _sol("from fractions import Fraction\nreturn Fraction(sum(nums), 2)"), "total",
          [([[1, 2]], 1.5)]),
    _call("str_for_int", _sol("return str(sum(nums))"), "total", _SUM_CASES),
    _call("returns_none", _sol("sum(nums)"), "total", _SUM_CASES),
    _call("generator_for_list", _sol("return (x for x in nums)"), "total", [([[1, 2]], [1, 2])]),
    _call("raises", _sol("return nums[10]"), "total", _SUM_CASES),
    _call("wrong_method_name", _sol("return sum(nums)", method="totals"), "total", _SUM_CASES),
    _call("state_in_instance", "class Solution:\n    def __init__(self):\n        self.seen = 0\n"
          "    def total(self, nums):\n        self.seen += 1\n        return sum(nums) + self.seen - 1\n",
          "total", _SUM_CASES),
    _call("global_counter", "calls = 0\nclass Solution:\n    def total(self, nums):\n        global calls\n"
          "        calls += 1\n        return sum(nums) + calls - 1\n", "total", _SUM_CASES),
    _call("module_cache_stays_correct", "from functools import lru_cache\n@lru_cache(None)\ndef sq(x):\n"
          "    return x * x\nclass Solution:\n    def total(self, nums):\n        return sum(sq(x) for x in nums)\n",
          "total", [([[1, 2]], 5), ([[2, 3]], 13)]),
    _call("lru_cache_recursion_10k", _sol("from functools import lru_cache\n@lru_cache(None)\ndef d(n):\n"
          "    return 0 if n == 0 else d(n - 1) + 1\nreturn sum(nums) + d(10000) - 10000"), "total", _SUM_CASES),
    _call("deep_recursion_10k", _sol("def d(n):\n    return 0 if n == 0 else d(n - 1) + 1\n"
          "return sum(nums) + d(10000) - 10000"), "total", _SUM_CASES),
    _call("mutates_input", _sol("nums.sort()\nreturn nums"), "total", [([[3, 1, 2]], [1, 2, 3])]),
    _call("prints_while_returning", _sol("print('debug', nums)\nreturn sum(nums)"), "total", _SUM_CASES),
    _call("sys_exit_in_method", _sol("import sys\nsys.exit(0)"), "total", _SUM_CASES),
    _call("quit_in_method", _sol("quit()"), "total", _SUM_CASES),
    _call("thread_left_running", _sol("import threading, time\n"
          "threading.Thread(target=time.sleep, args=(3,)).start()\nreturn sum(nums)"), "total", [([[1, 2, 3]], 6)]),
    _call("sleep_past_timeout", _sol("import time\ntime.sleep(3)\nreturn sum(nums)"), "total", [([[1]], 1)]),
    _call("busy_loop", _sol("while True:\n    pass"), "total", [([[1]], 1)]),
    {**_call("huge_int", _sol("return 10 ** 5000"), "total", [([[1]], 0)]), "outputs": ["1" + "0" * 5000]},
    _call("two_args", _sol("return nums.count(target)", params="self, nums, target"), "total",
          [([[1, 2, 1], 1], 2)]),
    _call("string_result", _sol("return ''.join(reversed(s))", params="self, s"), "total", [(["abc"], "cba")]),
    _call("nested_list_result", _sol("return [[x] * 2 for x in nums]"), "total", [([[1, 2]], [[1, 1], [2, 2]])]),
    _call("complex_value", _sol("return complex(sum(nums), 0)"), "total", _SUM_CASES),
    _call("repr_raises", _sol("class Odd:\n    def __repr__(self):\n        raise RuntimeError('no repr')\n"
          "return Odd()"), "total", _SUM_CASES),
    _call("module_level_syntax_error", "class Solution:\n    def total(self, nums)\n        return 1\n", "total",
          _SUM_CASES),
    _call("counter_for_dict", _sol("from collections import Counter\nreturn Counter(str(x) for x in nums)"), "total",
          [([[1, 1]], {"1": 2})]),
    _call("deque_for_list", _sol("from collections import deque\nreturn deque(nums)"), "total", [([[1, 2]], [1, 2])]),
    _call("numpy_float32", _sol("import numpy as np\nreturn np.float32(0.1)"), "total", [([[1]], 0.1)]),
    _call("lru_cache_recursion_40k", _sol("from functools import lru_cache\n@lru_cache(None)\ndef d(n):\n"
          "    return 0 if n == 0 else d(n - 1) + 1\nreturn d(40000)"), "total", [([[1]], 40000)]),
    _call("lru_cache_recursion_22k", _sol("from functools import lru_cache\n@lru_cache(None)\ndef d(n):\n"
          "    return 0 if n == 0 else d(n - 1) + 1\nreturn d(22000)"), "total", [([[1]], 22000)]),
    _call("int_subclass", _sol("class Big(int):\n    pass\nreturn Big(sum(nums))"), "total", _SUM_CASES),
]

PROBES = STDIN + CALL

# Where kodcode departs from lcb_runner on purpose: lcb_runner compares inside the program's process, so an
# object whose __eq__ says yes passes there; kodcode compares in the trusted parent and such objects fail.
DIVERGENT = [
    _call("always_equal_object", _sol("class Yes:\n    def __eq__(self, other):\n        return True\nreturn Yes()"),
          "total", _SUM_CASES),
    _call("always_equal_int_subclass", _sol("class Yes(int):\n    def __eq__(self, other):\n        return True\n"
          "    __hash__ = int.__hash__\nreturn Yes(0)"), "total", _SUM_CASES),
]

# SkyThought's runner (the KodCode paper's harness) calls a plain function, never a Solution method, and
# reads inputs its own way: each call probe written as a class is also given as the function it holds,
# and the probes below poke at its own rules.  Its verdicts: ``sky_probe_verdicts.json``.


def _as_function(p):
    """The probe's Solution method as a module-level function (None when the class holds state)."""
    code = p["code"]
    if not code.startswith("class Solution:\n") or "__init__" in code:
        return None
    body = "\n".join(line[4:] for line in code.split("\n")[1:])
    return {**p, "name": "skyfn/" + p["name"].split("/", 1)[1],
            "code": body.replace("(self, ", "(").replace("(self)", "()")}


def _fn(body, params="nums", name="total"):
    lines = "\n".join("    " + line for line in body.strip("\n").split("\n"))
    return f"def {name}({params}):\n{lines}\n"


def _raw(name, code, fn_name, inputs, outputs):
    """A probe whose test texts are given as they are (SkyThought reads them its own way)."""
    return {"name": name, "code": code, "fn_name": fn_name, "inputs": inputs, "outputs": outputs}


SKY_STDIN = [
    _stdin("main_guard_double_quotes", 'def main():\n    a, b = map(int, input().split())\n    print(a + b)\n\n'
           'if __name__ == "__main__":\n    main()\n'),
    _stdin("trailing_dash_expected", "print(3)\n", [("x\n", "3\n-\n")]),
    _stdin("inner_trailing_space", "print('1 ')\nprint(2)\n", [("x\n", "1\n2\n")]),
    _stdin("inner_blank_line", "print(1)\nprint()\nprint(2)\n", [("x\n", "1\n2\n")]),
    _stdin("exit_in_guard", "import sys\na, b = map(int, input().split())\nprint(a + b)\nsys.exit(0)\n"),
    _stdin("leading_spaces_output", "print('   3')\n", [("x\n", "3\n")]),
]

SKY_CALL = [
    _raw("skycall/setrecursionlimit_first", "import sys\nsys.setrecursionlimit(10000)\n" + _fn("return sum(nums)"),
         "total", ["[1, 2, 3]"], ["6"]),
    _raw("skycall/typing_annotations", "from typing import List\n" +
         _fn("return sum(nums)", params="nums: List[int]"), "total", ["[1, 2, 3]"], ["6"]),
    _raw("skycall/helper_defined_first", "def helper(x):\n    return x * 2\n\n" + _fn("return helper(sum(nums))"),
         "total", ["[1, 2, 3]"], ["12"]),
    _raw("skycall/string_with_equals", _fn("return len(s)", params="s"), "total", ['"a=b"'], ["3"]),
    _raw("skycall/string_with_equals_and_comma", _fn("return len(s)", params="s"), "total", ['"x=1,y=2"'], ["7"]),
    _raw("skycall/bool_argument", _fn("return x if flag else -x", params="x, flag"), "total", ["5\nfalse"], ["-5"]),
    _raw("skycall/escaped_string_argument", _fn("return len(s)", params="s"), "total", ['"a\\"b"'], ["3"]),
    _raw("skycall/dict_argument", _fn("return d['a']", params="d"), "total", ['{"a": 1}'], ["1"]),
    _raw("skycall/null_argument", _fn("return x is None", params="x"), "total", ["null"], ["true"]),
    _raw("skycall/float_argument", _fn("return x * 2", params="x"), "total", ["1.5"], ["3.0"]),
    _raw("skycall/non_json_expected", _fn("return 'abc'", params="x"), "total", ["1"], ["abc"]),
    _raw("skycall/expected_with_spaces", _fn("return [1, 2]", params="x"), "total", ["1"], ["  [1, 2]  \n"]),
    _raw("skycall/string_list_argument", _fn("return ''.join(words)", params="words"), "total", ['["a", "b"]'],
         ['"ab"']),
    _raw("skycall/blank_line_between_args", _fn("return a + b", params="a, b"), "total", ["1\n\n2"], ["3"]),
    _raw("skycall/lambda_first", "key = (lambda x: -x)\n" + _fn("return sorted(nums, key=key)"), "total",
         ["[1, 2]"], ["[2, 1]"]),
    _raw("skycall/prints_at_import", "print('loading')\n" + _fn("return sum(nums)"), "total", ["[1]"], ["1"]),
    _raw("skycall/global_counter", "calls = 0\n\n" + _fn("global calls\ncalls += 1\nreturn sum(nums) + calls - 1"),
         "total", ["[1, 2, 3]", "[5]"], ["6", "5"]),
]

SKYTHOUGHT = [f for f in (_as_function(p) for p in CALL) if f] + SKY_STDIN + SKY_CALL
# SkyThought pickles every returned value, so the always-equal objects above (classes the program defines)
# fail there too; a library object that claims equality and pickles still passes it, and fails in kodcode.
SKY_DIVERGENT = [_as_function(p) for p in DIVERGENT] + [
    _raw("skyfn/mock_any", _fn("from unittest import mock\nreturn mock.ANY"), "total", ["[1, 2, 3]"], ["6"]),
]
