"""The Filter annotator follows KodCode: its two prompts and 20 tags, and a Python pre-filter that
drops other-language rows before any annotator call."""

import json

import pytest
from test_questions import HERE, cfg, output, subset

from kodcode.config import ConfigError
from kodcode.synth.annotate import TASK_TAGS, python_specific
from kodcode.synth.runner import run
from kodcode.synth.templates import load_prompt


@pytest.fixture(autouse=True)
def _double_on_path(monkeypatch):
    monkeypatch.syspath_prepend(str(HERE))


@pytest.mark.parametrize("instruction, response, expected", [
    ("Implement Dijkstra's shortest path algorithm for an adjacency list.", None, True),
    ("Write a JavaScript function that debounces another function.", None, False),
    ("How do I reverse a linked list in C?", None, False),
    ("Write a C++ class for a matrix.", None, False),
    ("Convert this Java snippet to Python: int x = 1;", None, True),  # Python named: the annotator decides
    ("Write a function that runs a SQL query with sqlite3.", None, True),
    ("Reverse a string.", "Here you go:\n```python\ndef rev(s):\n    return s[::-1]\n```", True),
    ("Reverse a string.", "Here you go:\n```javascript\nconst rev = s => [...s].reverse().join('');\n```", False),
    ("Reverse a string.", "Use slicing:\n```\ndef rev(s):\n    return s[::-1]\n```", True),
])
def test_python_prefilter(instruction, response, expected):
    assert python_specific(instruction, response) is expected


def test_annotator_prompts_are_kodcodes_with_their_tags_and_rating_rules():
    category = load_prompt("annotate_category.txt").render(question="Q")
    assert all(f'"{tag}"' in category for tag in TASK_TAGS) and len(TASK_TAGS) == 20
    quality = load_prompt("annotate_quality.txt").render(question="Q")
    assert "programming language other than Python, please rate it as `very poor`" in quality
    assert "short but clearly demonstrates the user's intent, please rate it as `good`" in quality


def test_keep_tags_outside_kodcodes_list_are_a_config_error(tmp_path):
    c = cfg(tmp_path, ["filter"])
    c["stage"]["filter"] = {"keep_tags": ["Function Generation", "Code Explanation"]}
    with pytest.raises(ConfigError, match=r"stage.filter.keep_tags=.*: must be one of Debugging, .*\(not allowed: 'Code Explanation'\)"):
        run(c)


def test_rows_for_other_languages_are_dropped_before_the_annotator(tmp_path):
    rows = [{"id": "py", "instruction": "Write a function that returns the second largest number in a list.",
             "response": "```python\ndef f(xs):\n    return sorted(set(xs))[-2]\n```"},
            {"id": "js", "instruction": "Write a JavaScript function that flattens an array.", "response": "```js\n```"},
            {"id": "rs", "instruction": "Sum a list of integers.", "response": "```rust\nfn s() {}\n```"}]
    seeds = tmp_path / "filter.jsonl"
    seeds.write_text("".join(json.dumps(r) + "\n" for r in rows))
    c = cfg(tmp_path, ["filter"])
    c["subsets"]["filter"] = subset("Filter", seeds, num=3, field="instruction", id_field="id", extra_fields=["response"])
    c["stage"]["filter"] = {"response_field": "response"}
    summary = run(c)
    counts = summary["stages"]["filter"]["counts"]
    assert counts["dropped_not_python"] == 2 and counts["kept"] == 1
    assert [r["metadata"]["seed_ids"] for r in output(tmp_path, "filter")] == [["py"]]
    assert summary["stages"]["filter"]["llm"]["scripted:scripted"]["requests"] == 2  # one row, two prompts


def test_a_response_field_the_seeds_do_not_carry_is_a_config_error(tmp_path):
    c = cfg(tmp_path, ["filter"])
    c["stage"]["filter"] = {"response_field": "response"}
    with pytest.raises(ConfigError, match="response_field=response is not among subsets.filter.seeds.extra_fields"):
        run(c)
