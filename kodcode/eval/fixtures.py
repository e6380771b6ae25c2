"""Tiny hand-written benchmark files in each official format, for smoke runs and tests (no downloads).

``write_fixtures(dir)`` writes a HumanEval+-format file, an MBPP+-format file, a BigCodeBench
(hf format) file with two tasks in its hard subset (marked by a ``hard`` column), and a LiveCodeBench file with stdin and
call-based problems whose private tests are stored compressed exactly as LCB stores them.  Returns
the path of each, keyed like ``benchmark.<name>.data_path``.  The problems are our own toy tasks,
not benchmark content, and their ids lie outside the real ranges (HumanEval/9000.., Mbpp/9002..,
BigCodeBench/9000..), so none can be taken for, or keyed like, a real task.

    paths = write_fixtures(tmp_path)   # {"humaneval": ..., "mbpp": ..., "bigcodebench": ..., "livecodebench": ...}
"""

from __future__ import annotations

import json
from pathlib import Path

from kodcode.eval.livecodebench import encode_private_tests
from kodcode.rows import write_rows


def _evalplus_task(task_id, name, sig, doc, body, base, plus, mbpp=False):
    prompt = f"def {name}({sig}):\n    \"\"\"{doc}\"\"\"\n"
    row = {"task_id": task_id, "prompt": prompt, "entry_point": name, "canonical_solution": body,
           "test": "", "contract": "", "base_input": base, "plus_input": plus, "atol": 0}
    if mbpp:
        row["assertion"] = f"assert {name}(*{base[0]!r}) is not None"
    return row


HUMANEVAL = [
    _evalplus_task("HumanEval/9000", "add_two", "a, b", "Return a + b.", "    return a + b\n",
                   [[1, 2], [0, 0]], [[-5, 5], [10**6, 1]]),
    _evalplus_task("HumanEval/9001", "count_vowels", "s", "Number of vowels in s.",
                   "    return sum(c in 'aeiouAEIOU' for c in s)\n", [["hello"], [""]], [["AEIOU xyz"]]),
    _evalplus_task("HumanEval/9002", "largest", "xs", "Largest element of a non-empty list.",
                   "    return max(xs)\n", [[[1, 5, 2]]], [[[-3, -1]], [[7]]]),
]
MBPP = [
    _evalplus_task("Mbpp/9002", "square_all", "xs", "Squares of xs.", "    return [x * x for x in xs]\n",
                   [[[1, 2, 3]]], [[[]], [[-2]]], mbpp=True),
    _evalplus_task("Mbpp/9003", "reverse_words", "s", "Words of s in reverse order, single spaces.",
                   "    return ' '.join(s.split()[::-1])\n", [["a b c"]], [["one"], ["  x   y "]], mbpp=True),
]

_BCB_TEST = '''import unittest

class TestCases(unittest.TestCase):
{cases}
'''


def _bcb_task(number, name, sig, doc, body, cases, imports="import math\n", hard=False):
    code_prompt = f"{imports}def {name}({sig}):\n"
    complete = f"{imports}def {name}({sig}):\n    \"\"\"\n    {doc}\n    \"\"\"\n"
    instruct = (f"{doc}\nYou should write self-contained code starting with:\n```\n{code_prompt}```")
    test = _BCB_TEST.format(cases="".join(
        f"    def test_{i}(self):\n        {c}\n" for i, c in enumerate(cases)))
    return {"task_id": f"BigCodeBench/{number}", "complete_prompt": complete, "instruct_prompt": instruct,
            "canonical_solution": body, "code_prompt": code_prompt, "test": test, "entry_point": name,
            "doc_struct": "{}", "libs": "['math']", "hard": hard}


BIGCODEBENCH = [
    _bcb_task(9000, "task_func", "n", "Return the square root of n rounded to 3 decimals.",
              "    return round(math.sqrt(n), 3)\n",
              ["self.assertEqual(task_func(4), 2.0)", "self.assertEqual(task_func(2), 1.414)"]),
    _bcb_task(9013, "task_func", "words", "Return the words sorted by length, then alphabetically.",
              "    return sorted(words, key=lambda w: (len(w), w))\n",
              ["self.assertEqual(task_func(['bb', 'a', 'ab']), ['a', 'ab', 'bb'])",
               "self.assertEqual(task_func([]), [])"], hard=True),
    _bcb_task(9015, "task_func", "path", "Write 'ok' to the file at path and return its size in bytes.",
              "    with open(path, 'w') as f:\n        f.write('ok')\n    return os.path.getsize(path)\n",
              ["self.assertEqual(task_func('out.txt'), 2)"], imports="import os\n", hard=True),
]


def _lcb_problem(qid, title, content, difficulty, date, tests, starter="", fn_name=None, n_public=1):
    testtype = "functional" if fn_name else "stdin"
    cases = [{"input": i, "output": o, "testtype": testtype} for i, o in tests]
    return {"question_title": title, "question_content": content, "platform": "leetcode" if fn_name else "atcoder",
            "question_id": qid, "contest_id": "fixture", "contest_date": date, "starter_code": starter,
            "difficulty": difficulty, "public_test_cases": json.dumps(cases[:n_public]),
            "private_test_cases": encode_private_tests(cases[n_public:]),
            "metadata": json.dumps({"func_name": fn_name} if fn_name else {})}


LIVECODEBENCH = [
    _lcb_problem("fx001", "Sum", "Read two integers A and B and print A+B.", "easy", "2024-06-01T00:00:00",
                 [("1 2\n", "3\n"), ("10 -3\n", "7\n"), ("0 0\n", "0\n")]),
    _lcb_problem("fx002", "Pair Sum", "Return the indices of the two numbers that add up to target.", "medium",
                 "2024-08-10T00:00:00", [("[2, 7, 11, 15]\n9", "[0, 1]"), ("[3, 2, 4]\n6", "[1, 2]")],
                 starter="class Solution:\n    def twoSum(self, nums: List[int], target: int) -> List[int]:\n        ",
                 fn_name="twoSum"),
    _lcb_problem("fx003", "Average", "Read N and N integers; print their mean with 2 decimals.", "hard",
                 "2024-11-20T00:00:00", [("2\n1 2\n", "1.50\n"), ("3\n1 1 1\n", "1.00\n")]),
    _lcb_problem("fx000", "Too old", "Outside the release_v5 window.", "easy", "2023-01-01T00:00:00",
                 [("1\n", "1\n"), ("2\n", "2\n")]),
]


def _write(path: Path, rows: list[dict]) -> str:
    return str(write_rows(path, rows, ensure_ascii=True))


def write_fixtures(out_dir: str | Path) -> dict[str, str]:
    out = Path(out_dir)
    return {
        "humaneval": _write(out / "HumanEvalPlus-fixture.jsonl", HUMANEVAL),
        "mbpp": _write(out / "MbppPlus-fixture.jsonl", MBPP),
        "bigcodebench": _write(out / "BigCodeBench-fixture.jsonl", BIGCODEBENCH),
        "livecodebench": _write(out / "livecodebench-fixture.jsonl", LIVECODEBENCH),
    }
