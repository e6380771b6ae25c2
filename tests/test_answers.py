"""One answer-to-program rule: the answer after the reasoning, the block defining the entry point, the name repair."""

import pytest

from kodcode.answers import answer_program, expected_functions, fenced_blocks

INFO = [{"function_name": "add_numbers", "parameter_list": "(a, b)", "function_declaration": "def add_numbers(a, b):",
         "docstring": None}]
ADD = ["add_numbers"]


def test_code_is_taken_after_the_reasoning():
    text = ("<think>\nMaybe:\n```python\ndef wrong(a, b):\n    return 0\n```\n</think>\n"
            "Final:\n```py\ndef add_numbers(a, b):\n    return a + b\n```")
    assert answer_program(text, ADD).code == "def add_numbers(a, b):\n    return a + b"


def test_unfinished_reasoning_has_no_program_and_says_so():
    ans = answer_program("<think>\nlong thoughts\n```python\ndef add_numbers(a, b):\n    return a + b\n```", ADD)
    assert ans.code is None and ans.reason == "unclosed_reasoning"


def test_no_think_tags_means_the_whole_text_is_the_answer():
    assert answer_program("```python\ndef add_numbers(a, b):\n    return a + b\n```", ADD).code.startswith("def add")


def test_the_block_defining_the_entry_point_wins_over_a_later_usage_example():
    text = ("</think>\n```python\ndef add_numbers(a, b):\n    return a + b\n```\nExample:\n"
            "```python\nprint(add_numbers(1, 2))  # 3\n```")
    assert answer_program(text, ADD).code.startswith("def add_numbers")
    first_example = "</think>\n```python\nprint(add_numbers(1, 2))\n```\n```python\ndef add_numbers(a, b):\n    return a + b\n```"
    assert answer_program(first_example, ADD).code.startswith("def add_numbers")


def test_without_the_entry_point_a_block_that_defines_a_function_beats_an_example():
    text = "</think>\n```python\nx = plus(1, 2)\n```\n```python\ndef plus(a, b):\n    return a + b\n```"
    assert answer_program(text, None).code.startswith("def plus")


def test_kodcode_name_repair_renames_the_only_function_and_its_recursive_calls():
    text = '</think>\n```python\ndef add(a, b):\n    """add"""\n    return a + b if b == 0 else add(a, 0) + b\n```'
    ans = answer_program(text, ADD)
    assert ans.renamed_from == "add"
    assert ans.code == 'def add_numbers(a, b):\n    """add"""\n    return a + b if b == 0 else add_numbers(a, 0) + b'


def test_no_repair_when_ambiguous_or_not_needed():
    two = "</think>\n```python\ndef helper(x):\n    return x\n\ndef add(a, b):\n    return helper(a) + b\n```"
    assert answer_program(two, ADD).renamed_from is None  # two top-level functions: which one?
    one = "</think>\n```python\ndef add(a, b):\n    return a + b\n```"
    assert answer_program(one, ADD + ADD).renamed_from is None  # the tests expect two functions
    assert answer_program(one, ADD, rename=False).code == "def add(a, b):\n    return a + b"
    same = "</think>\n```python\ndef add_numbers(a, b):\n    return a + b\n```"
    assert answer_program(same, ADD).renamed_from is None


def test_a_nested_helper_does_not_block_the_repair():
    text = "</think>\n```python\ndef plus(a, b):\n    def inner(x):\n        return x\n    return inner(a) + b\n```"
    ans = answer_program(text, ADD)
    assert ans.renamed_from == "plus" and ans.code.startswith("def add_numbers(a, b):")


@pytest.mark.parametrize(("text", "reason"), [
    ("<think>ok</think> I am not sure.", "no_code_block"),
    ("<think>ok</think>\n```python\ndef add_numbers(a, b) return a + b\n```", "unparsable"),
    ("<think>ok</think>\n```text\nadd_numbers = lambda a, b: a + b\n```", "no_code_block"),
])
def test_nothing_usable_is_recorded_with_its_reason(text, reason):
    ans = answer_program(text, ADD)
    assert ans.code is None and ans.reason == reason


def test_bare_code_without_fences_is_accepted_when_it_defines_a_function():
    assert answer_program("</think>\ndef add_numbers(a, b):\n    return a + b\n", ADD).code.startswith("def add_numbers")


def test_expected_functions_reads_every_stored_form_of_test_info():
    assert expected_functions(INFO) == ["add_numbers"]
    assert expected_functions('[{"function_name": "f"}, {"function_name": "g"}]') == ["f", "g"]
    assert expected_functions("[{'function_name': 'f', 'docstring': None}]") == ["f"]
    assert expected_functions(None) == [] and expected_functions("null") == []
    with pytest.raises(ValueError, match="has no function_name"):
        expected_functions([{"name": "f"}])
    with pytest.raises(TypeError, match="must be a list"):
        expected_functions(3)


def test_fenced_blocks_keep_their_tags_and_an_unclosed_last_block():
    assert fenced_blocks("```py\na = 1\n```\ntext\n~~~\nb = 2") == [("py", "a = 1"), ("", "b = 2")]
