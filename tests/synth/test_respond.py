"""Code extraction from reasoning responses and entry-point renaming."""

from kodcode.synth.respond import extract_final_code, label_responses, rename_entry_point, response_code

INFO = [{"function_name": "add_numbers", "parameter_list": "(a, b)", "function_declaration": "def add_numbers(a, b):",
         "docstring": None}]


def test_code_is_taken_after_the_reasoning():
    text = ("<think>\nMaybe:\n```python\ndef wrong(a, b):\n    return 0\n```\n</think>\n"
            "Final:\n```py\ndef add_numbers(a, b):\n    return a + b\n```")
    assert extract_final_code(text) == "def add_numbers(a, b):\n    return a + b"


def test_unfinished_reasoning_gives_no_code():
    assert extract_final_code("<think>\nlong thoughts ```python\ndef f():\n    pass\n```") is None


def test_block_defining_the_entry_point_wins():
    text = "</think>\n```python\nprint(add_numbers(1, 2))\n```\n```python\ndef add_numbers(a, b):\n    return a + b\n```"
    assert extract_final_code(text, "add_numbers").startswith("def add_numbers")


def test_rename_when_unambiguous_including_recursive_calls():
    code = 'def add(a, b):\n    """add"""\n    return a + b if b == 0 else add(a, 0) + b\n'
    renamed, did = rename_entry_point(code, INFO)
    assert did
    assert renamed == 'def add_numbers(a, b):\n    """add"""\n    return a + b if b == 0 else add_numbers(a, 0) + b\n'
    compile(renamed, "renamed", "exec")  # still valid Python


def test_no_rename_when_ambiguous():
    two = "def helper(x):\n    return x\n\ndef add(a, b):\n    return helper(a) + b\n"
    assert rename_entry_point(two, INFO) == (two, False)
    assert rename_entry_point("def add(a, b):\n    return a+b\n", INFO + INFO)[1] is False
    same = "def add_numbers(a, b):\n    return a + b\n"
    assert rename_entry_point(same, INFO) == (same, False)
    assert rename_entry_point(same, None) == (same, False)


def test_response_code_and_labels():
    text = "<think>ok</think>\n```python\ndef plus(a, b):\n    return a + b\n```"
    code, renamed = response_code(text, INFO)
    assert renamed and code.startswith("def add_numbers(a, b):")
    triplet = {"question_id": "Q_I", "question": "Add.", "test": "t"}
    row = label_responses(triplet, [{"index": 1, "text": "B", "code": "b", "passed": True},
                                    {"index": 0, "text": "A", "code": "a", "passed": False},
                                    {"index": 2, "text": "C", "code": "c", "passed": True}])
    assert row["r1_pass_sequence"] == [0, 1, 1] and row["r1_pass_trial_num"] == 2
    assert row["r1_correctness"] == "True" and row["r1_solution"] == "b" and row["r1_chosen_trial_key"] == "trial_r1_1"
    assert row["conversations"] == [{"from": "human", "value": "Add."}, {"from": "gpt", "value": "B"}]
    bad = label_responses(triplet, [{"index": 0, "text": "A", "code": None, "passed": False}])
    assert bad["r1_correctness"] == "False" and bad["conversations"][1]["value"] == "A"
