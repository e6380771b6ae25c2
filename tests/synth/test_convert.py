"""Instruct -> complete conversion: prompt, completion parsing, leak check."""

from kodcode.synth.convert import (
    check_completion,
    completion_row,
    convert_messages,
    leak_reason,
    parse_completion,
)

SOLUTION = "def add(a, b):\n    \"\"\"Add.\"\"\"\n    return a + b"
TRIPLET = {"question_id": "Prefill_0001_I", "question": "Write add.", "solution": SOLUTION,
           "test": "from solution import add\n\ndef test_add():\n    assert add(1, 2) == 3",
           "test_info": [{"function_name": "add"}], "metadata": {"prompt_id": "0001"}}
STUB = 'def add(a, b):\n    """Return a + b.\n\n    >>> add(1, 2)\n    3\n    """'


def test_prompt_carries_question_tests_and_solution():
    content = convert_messages(TRIPLET)[0]["content"]
    assert "Write add." in content and TRIPLET["test"] in content and SOLUTION in content
    assert "{question}" not in content


def test_parse_completion_any_fence():
    raw = f"ok\n<|Completion Begin|>\n```Python\n{STUB}\n```\n<|Completion End|>"
    assert parse_completion(raw) == STUB
    assert parse_completion("no markers") is None


def test_leak_check():
    assert leak_reason(STUB, SOLUTION) is None
    assert leak_reason(STUB + "\n    ...", SOLUTION) is None
    assert leak_reason(SOLUTION, SOLUTION) == "completion equals the solution"
    assert leak_reason('def add(a, b):\n    """x"""\n    c = a + b\n    return c', SOLUTION).startswith(
        "function add has an implementation")
    assert leak_reason('def add(a, b):\n    raise NotImplementedError()', SOLUTION) is None


def test_check_completion_reasons():
    assert check_completion(STUB, TRIPLET) is None
    assert check_completion(None, TRIPLET) == "no <|Completion Begin|> section"
    assert check_completion("def add(:", TRIPLET) == "completion is not valid Python"
    assert check_completion(SOLUTION, TRIPLET).startswith("leak:")
    assert check_completion('def plus(a, b):\n    """x"""', TRIPLET) == "completion does not declare the entry point 'add'"


def test_completion_row():
    row = completion_row(TRIPLET, STUB)
    assert row["question_id"] == "Prefill_0001_C" and row["style"] == "complete" and row["question"] == STUB
    assert row["metadata"] == {"prompt_id": "0001", "original_instruction": "Write add."}
    assert row["solution"] == SOLUTION and TRIPLET["question"] == "Write add."
