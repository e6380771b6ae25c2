"""Stdin/stdout rows (V1.1): reply parsing and checks, the generated test file, and verification in the
real sandbox, including programs that print the right answers without computing them."""

import json

import pytest

from kodcode.exec import ExecConfig, Executor, PytestJob
from kodcode.synth.stdio import (
    GUARD_NOTE,
    check_stdio,
    parse_stdio,
    sabotaged,
    stdio_messages,
    stdio_row,
    stdio_test_code,
    verify_stdio,
)

SOLUTION = "def total(nums):\n    return sum(nums)\n"
TEST = ("from solution import total\n\n\ndef test_total():\n    assert total([1, 2, 3]) == 6\n"
        "    assert total([]) == 0\n    assert total([-5, 5]) == 0\n")
TRIPLET = {"question_id": "Leetcode_00000001_I", "subset": "Leetcode", "style": "instruct",
           "question": "Write total(nums) returning the sum.", "solution": SOLUTION, "test": TEST,
           "test_info": [{"function_name": "total", "function_declaration": "def total(nums):",
                          "parameter_list": "(nums)", "docstring": None}],
           "metadata": {"prompt_id": "1"}}
MAIN = ("\n\ndef main():\n    import sys\n    data = sys.stdin.read().split()\n    n = int(data[0])\n"
        "    print(total([int(x) for x in data[1:1 + n]]))\n\n\nif __name__ == \"__main__\":\n    main()\n")
PROGRAM = SOLUTION + MAIN
CASES = [{"input": "3\n1 2 3\n", "output": "6\n"}, {"input": "0\n\n", "output": "0\n"},
         {"input": "2\n-5 7\n", "output": "2\n"}]
QUESTION = "Print the sum of n integers.\n\nInput\nn, then the n integers.\n\nOutput\nThe sum."


def reply(question=QUESTION, program=PROGRAM, cases=CASES):
    return (f"<|Question Begin|>\n{question}\n<|Question End|>\n<|Solution Begin|>\n```python\n{program}```\n"
            f"<|Solution End|>\n<|Test Begin|>\n{json.dumps(cases)}\n<|Test End|>")


def candidate(program=PROGRAM, cases=CASES, triplet=TRIPLET):
    return {**triplet, "program": program, "cases": cases}


@pytest.fixture(scope="module")
def executor():
    with Executor(ExecConfig(workers=2, timeout_s=5.0)) as ex:
        yield ex


def test_prompt_carries_the_triplet():
    content = stdio_messages(TRIPLET)[0]["content"]
    assert TRIPLET["question"] in content and TEST in content and SOLUTION in content
    assert "{{" not in content


def test_parse_reply():
    question, program, cases = parse_stdio(reply())
    assert question == QUESTION and program == PROGRAM.strip() and cases == CASES
    assert parse_stdio("nothing here") == (None, None, None)
    assert parse_stdio(reply().replace(json.dumps(CASES), "[not json"))[2] is None
    fenced = reply().replace(json.dumps(CASES), "```json\n" + json.dumps(CASES) + "\n```")
    assert parse_stdio(fenced)[2] == CASES


@pytest.mark.parametrize("change, reason", [
    (dict(question=None), "no <|Question Begin|> section"),
    (dict(program=None), "no <|Solution Begin|> section"),
    (dict(cases=None), "no readable <|Test Begin|> JSON"),
    (dict(program="def total(:\n"), "program is not valid Python"),
    (dict(program=PROGRAM.replace("def total", "def add").replace("total(", "add(")),
     "program does not define the entry point 'total'"),
    (dict(program=SOLUTION + "\nprint(total([int(x) for x in input().split()]))\n"),
     'program has no `if __name__ == "__main__":` block'),
    (dict(question=QUESTION + "\n" + SOLUTION), "leak: the question defines the entry point"),
    (dict(cases=[{"input": 3, "output": "6"}] * 3), "test cases are not a list of {input, output} strings"),
    (dict(cases=CASES[:2]), "fewer than 3 distinct test inputs"),
    (dict(cases=CASES + [{"input": "1\n5\n", "output": "  \n"}]), "a test case expects no output"),
    (dict(cases=[{"input": f"1\n{i}\n", "output": "0"} for i in range(3)]), "every test case expects the same output"),
])
def test_check_reasons(change, reason):
    parts = {"question": QUESTION, "program": PROGRAM, "cases": CASES, **change}
    assert check_stdio(parts["question"], parts["program"], parts["cases"], TRIPLET) == reason


def test_check_accepts_a_good_rewrite():
    assert check_stdio(QUESTION, PROGRAM, CASES, TRIPLET) is None


def test_row_layout():
    row = stdio_row(TRIPLET, QUESTION, PROGRAM, CASES)
    assert row["question_id"] == "Leetcode_00000001_S" and row["version"] == "V1.1" and row["style"] == "instruct"
    assert row["question"].startswith(QUESTION) and row["question"].endswith(GUARD_NOTE)
    assert row["solution"] == PROGRAM and row["test"] == stdio_test_code(CASES)
    assert row["metadata"] == {"prompt_id": "1", "original_instruction": TRIPLET["question"]}
    assert TRIPLET["question_id"] == "Leetcode_00000001_I"  # the source row is not changed


def test_sabotaged_program_replaces_the_entry_before_main():
    source = sabotaged(PROGRAM, "total")
    namespace = {"__name__": "not_main"}
    exec(compile(source, "<sabotaged>", "exec"), namespace)
    with pytest.raises(RuntimeError, match="entry point replaced"):
        namespace["total"]([1])


def test_generated_test_file_runs_any_stdin_style(executor):
    """The row's test, as KodCode's consumers run it (``from solution import *`` prepended), passes
    programs that read stdin by ``input()``, ``sys.stdin`` iteration, ``sys.stdin.buffer``, write
    through ``sys.stdout.buffer`` or ``sys.exit(0)`` after answering, and fails wrong answers."""
    readers = {
        "input": "    n = int(input())\n    nums = [int(x) for x in input().split()] if n else []\n",
        "iterate": "    import sys\n    lines = [line for line in sys.stdin]\n    n = int(lines[0])\n"
                   "    nums = [int(x) for x in lines[1].split()] if n else []\n",
        "buffer": "    import sys\n    data = sys.stdin.buffer.read().split()\n    nums = [int(x) for x in data[1:]]\n",
    }
    writers = {"print": "    print(total(nums))\n",
               "buffer": "    import sys\n    sys.stdout.buffer.write(str(total(nums)).encode() + b'\\n')\n",
               "exit": "    import sys\n    print(total(nums))\n    sys.exit(0)\n"}
    programs = {f"{r}/{w}": SOLUTION + "\n\ndef main():\n" + rb + wb + "\n\nif __name__ == '__main__':\n    main()\n"
                for r, rb in readers.items() for w, wb in writers.items()}
    programs["wrong"] = PROGRAM.replace("print(total(", "print(1 + total(")
    programs["exits 1"] = PROGRAM.replace("    main()\n", "    main()\n    raise SystemExit(1)\n")
    test = stdio_test_code(CASES)
    verdicts = executor.run([PytestJob(solution=p, test=test, id=k) for k, p in programs.items()], progress=False)
    got = {v.id: v.status for v in verdicts}
    assert got == {**{k: "pass" for k in programs if "/" in k}, "wrong": "fail", "exits 1": "fail"}, got


def test_verify_keeps_an_honest_rewrite_and_drops_the_rest(executor):
    lookup = SOLUTION + ("\n\ndef main():\n    import sys\n    answers = {'3 1 2 3': '6', '0': '0', '2 -5 7': '2'}\n"
                         "    print(answers[' '.join(sys.stdin.read().split())])\n\n\n"
                         "if __name__ == '__main__':\n    main()\n")
    broken_function = PROGRAM.replace("return sum(nums)", "return sum(nums[:2])")
    wrong_case = [dict(CASES[0], output="7\n")] + CASES[1:]
    reads_at_import = SOLUTION + "\nimport sys\nDATA = sys.stdin.read().split()\n" + MAIN.replace(
        "data = sys.stdin.read().split()", "data = DATA")
    rows = {"honest": candidate(), "lookup table": candidate(lookup), "broken function": candidate(broken_function),
            "wrong expected output": candidate(cases=wrong_case), "reads stdin at import": candidate(reads_at_import)}
    rows = [dict(r, question_id=k) for k, r in rows.items()]
    result = {r["question_id"]: chk["reason"] for r, chk in zip(rows, verify_stdio(rows, executor))}
    assert result["honest"] == ""
    assert result["lookup table"] == "answers do not come from the entry point (it prints them replaced)"
    assert result["broken function"].startswith("program fails the original tests")
    assert result["wrong expected output"] == "program's output differs from a test case"
    assert result["reads stdin at import"] != ""
