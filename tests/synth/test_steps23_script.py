"""Scripted model replies for the Steps 2-3 tests (``llm.script=test_steps23_script:reply``).

Not a model: a lookup keyed by what the prompt asks, so the product path (runner, cache, parse,
real sandbox, label, convert, respond, export) runs for real on known inputs.  When
``KODCODE_TEST_CALL_LOG`` names a file, every call appends one line there: the kill/resume test
counts backend calls across processes with it.  ``KODCODE_TEST_SLOW`` (seconds) sleeps per call so
a test can kill the run mid-stage.
"""

import os
import time

QUESTIONS = [
    {"question_id": "Prefill_00000001", "subset": "Prefill", "question": "Write a python function add(a, b) that returns a + b.",
     "metadata": {"prompt_id": 1, "seed_ids": []}},
    {"question_id": "Leetcode_00000002", "subset": "Leetcode",
     "question": "Write a function is_even(n) that says whether the integer n is even.",
     "metadata": {"prompt_id": 2, "seed_ids": [5, 9]}},
    {"question_id": "Leetcode_00000003", "subset": "Leetcode", "question": "Write a function unsolvable() nobody gets right.",
     "metadata": {"prompt_id": 3, "seed_ids": [1]}},
    # Identical to a benchmark question in the test's benchmark file: decontamination drops it.
    {"question_id": "Prefill_00000004", "subset": "Prefill",
     "question": "Write a function to find the shared elements from the given two lists.",
     "metadata": {"prompt_id": 4, "seed_ids": []}},
]

SOLUTIONS = {
    "add(a, b)": ("def add(a, b):\n    \"\"\"Return a + b.\"\"\"\n    return a + b",
                  "def add(a, b):\n    return a - b",
                  "from solution import add\n\ndef test_add():\n    assert add(2, 3) == 5\n\ndef test_zero():\n    assert add(0, 0) == 0"),
    "is_even(n)": ("def is_even(n):\n    return n % 2 == 0",
                   "def is_even(n):\n    return n % 2 == 1",
                   "from solution import is_even\n\ndef test_even():\n    assert is_even(4)\n\ndef test_odd():\n    assert not is_even(3)"),
    "unsolvable()": ("def unsolvable():\n    return 1", "def unsolvable():\n    return 1",
                     "def test_never():\n    assert unsolvable() == 2"),
    "shared elements": ("def similar_elements(a, b):\n    return tuple(set(a) & set(b))",
                        "def similar_elements(a, b):\n    return tuple(set(a) & set(b))",
                        "def test_shared():\n    assert set(similar_elements((1, 2), (2, 3))) == {2}"),
}


def _which(text: str):
    for key, value in SOLUTIONS.items():
        if key in text:
            return key, value
    return None, None


def _solve(prompt: str, seed: int) -> str:
    question = prompt.split("## Question", 1)[1]
    _, (good, bad, test) = _which(question)
    # is_even fails on odd attempts ([1, 0, 1]: easy); add passes only on attempt 0 ([1, 0, 0]: 1/3, medium).
    if "is_even" in question:
        sol = good if seed % 2 == 0 else bad
    elif "add(a, b)" in question:
        sol = good if seed == 0 else bad
    else:
        sol = good
    fence = "```py" if seed == 1 else "```python"  # another language tag: the parser must cope
    return (f"Here you go.\n<|Solution Begin|>\n{fence}\n{sol}\n```\n<|Solution End|>\n"
            f"<|Test Begin|>\n```python\n{test}\n```\n<|Test End|>")


def _convert(prompt: str) -> str:
    task = prompt.split("## Coding task", 1)[1].split("## Unit tests", 1)[0]
    if "add(a, b)" in task:
        stub = 'def add(a, b):\n    """Return a + b.\n\n    >>> add(2, 3)\n    5\n    """'
    elif "is_even" in task:  # leaks the solution: must be dropped
        stub = "def is_even(n):\n    return n % 2 == 0"
    else:
        stub = "def other():\n    pass"
    return f"<|Completion Begin|>\n```python\n{stub}\n```\n<|Completion End|>"


def _stdio(prompt: str) -> str:
    """Stdin/stdout rewrites (stage.convert.stdio): honest for add, a lookup table for is_even."""
    import json

    task = prompt.split("## Coding task", 1)[1].split("## Unit tests", 1)[0]
    if "add(a, b)" in task:
        key, (good, _, _) = _which(task)
        main = "def main():\n    a, b = map(int, input().split())\n    print(add(a, b))"
        cases = [{"input": "1 2\n", "output": "3\n"}, {"input": "-1 1\n", "output": "0\n"},
                 {"input": "10 5\n", "output": "15\n"}]
    else:  # prints the answers without calling the function: the sabotage check drops it
        good = "def is_even(n):\n    return n % 2 == 0"
        main = ("def main():\n    print({'4': 'True', '7': 'False', '0': 'True'}[input().strip()])")
        cases = [{"input": "4\n", "output": "True\n"}, {"input": "7\n", "output": "False\n"},
                 {"input": "0\n", "output": "True\n"}]
    program = f"{good}\n\n\n{main}\n\n\nif __name__ == '__main__':\n    main()\n"
    question = "Read two integers a and b from one line and print a + b.\n\nInput\na b\n\nOutput\nOne integer."
    return (f"<|Question Begin|>\n{question}\n<|Question End|>\n<|Solution Begin|>\n```python\n{program}```\n"
            f"<|Solution End|>\n<|Test Begin|>\n{json.dumps(cases)}\n<|Test End|>")


def _respond(question: str, seed: int) -> str:
    key, (good, bad, _) = _which(question)
    if key == "add(a, b)":  # right code under another name: renamed to the entry point, passes
        code = good.replace("def add", "def plus")
    elif key == "is_even(n)":
        code = bad  # wrong every time: the row lands in the incorrect split
    else:
        code = good
    return f"<think>\nLet me think about {key}.\n</think>\nThe answer:\n```python\n{code}\n```"


def reply(request):
    log = os.environ.get("KODCODE_TEST_CALL_LOG")
    if log:
        with open(log, "a") as f:
            f.write(f"{request.cache_key('scripted', 'scripted')}\n")
    if os.environ.get("KODCODE_TEST_SLOW"):
        time.sleep(float(os.environ["KODCODE_TEST_SLOW"]))
    content = request.messages[-1]["content"]
    if "<|Solution Begin|>" in content and "## Question" in content:
        return _solve(content, request.seed or 0)
    if "<|Question Begin|>" in content and "<|Test Begin|>" in content:
        return _stdio(content)
    if "<|Completion Begin|>" in content:
        return _convert(content)
    return _respond(content, request.seed or 0)
