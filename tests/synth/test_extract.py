"""Question extraction from raw model output, and the annotator's JSON answers."""

import pytest

from kodcode.synth.extract import extract_question, parse_json_object, question_block

Q = "Given an array `nums`, return the length of the longest run of equal values."


@pytest.mark.parametrize(
    "raw",
    [
        Q,
        f"[Question 4]: {Q}",
        f"### Question 4:\n{Q}",
        f"**Question 4:** {Q}",
        f"**[Question 4]:** {Q}",
        f"### New Coding Assessment Question\n\n**[Question 4]:** {Q}",
        f"### New Coding Assessment Question\n{Q}",
        f"## Coding Assessment Question\n\n### Question 2\n\n{Q}",
        f"Question: {Q}",
        f"Problem Statement: {Q}",
        f"```markdown\n### New Question\n{Q}\n```",
        f"<|Analysis Begin|>\nIt counts runs.\n<|Analysis End|>\n\n<|Question Begin|>\n{Q}\n<|Question End|>",
        f"<|Analysis Begin|>x<|Analysis End|>\n<|Question Begin|>\n### Coding Question:\n{Q}",  # cut at length
        f"<think>\nThe seeds are about arrays.\n</think>\n[Question 4]: {Q}",
        f"### Analysis Begin\nIt counts runs.\n### Question Begin\n{Q}\n### Question End\n### Analysis End",
        f"### Problem Description\n\n{Q}",
        f"**Problem Statement**:\n{Q}",
        f"{Q}\n\n[Question 5]: Another question the model was not asked for.",
    ],
)
def test_wrappers_are_removed(raw):
    assert extract_question(raw) == Q


@pytest.mark.parametrize(
    "text",
    [
        "Task scheduling: given jobs with deadlines, maximise profit.",  # a leading noun, not a label
        "Problem solving with heaps: implement `top_k(nums, k)`.",
        "### Function Signature\n```python\ndef f(x): ...\n```",  # headings other than labels stay
    ],
)
def test_text_that_only_looks_like_a_label_is_kept(text):
    assert extract_question(text) == text


@pytest.mark.parametrize("raw", ["", "   \n", None, "<|Question Begin|>\nBAD_DOCUMENT\n<|Question End|>", "### Question 4:"])
def test_nothing_usable_gives_none(raw):
    assert extract_question(raw) is None


def test_code_inside_the_question_is_kept():
    raw = f"<|Question Begin|>\n{Q}\n\n```python\ndef longest_run(nums): ...\n```\n<|Question End|>"
    assert extract_question(raw).endswith("```python\ndef longest_run(nums): ...\n```")


@pytest.mark.parametrize(
    "raw, expected",
    [
        ('{"input_quality": "good"}', {"input_quality": "good"}),
        ('```json\n{"primary_tag": "Function Generation", "other_tags": []}\n```',
         {"primary_tag": "Function Generation", "other_tags": []}),
        ('Here you go: {"a": {"b": 1}} and more', {"a": {"b": 1}}),
        ("<think>{not json}</think>{\"x\": 1}", {"x": 1}),
        ("no json at all", None),
        ("{broken", None),
    ],
)
def test_annotator_json_is_found(raw, expected):
    assert parse_json_object(raw) == expected


def test_question_block_state_tells_a_cut_reply():
    assert question_block("<|Question Begin|>\nx\n<|Question End|>") == "complete"
    assert question_block("<|Analysis Begin|>a<|Analysis End|>\n<|Question Begin|>\nGiven a list of") == "unterminated"
    assert question_block("just a question") == "absent"


def test_analysis_without_question_block_gives_none():
    assert extract_question("<|Analysis Begin|>\nThe snippet is a heap. Bottlenecks: memory") is None
