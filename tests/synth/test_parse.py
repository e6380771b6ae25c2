"""Parsing of raw solve outputs and KodCode-V1 test_info."""

from kodcode.synth.parse import entry_point, extract_code, parse_attempt, test_info

SOL = "def add(a, b):\n    return a + b"
TEST = "from solution import add\n\ndef test_add():\n    assert add(1, 2) == 3"


def wrap(sol_block: str, test_block: str) -> str:
    return f"Sure.\n<|Solution Begin|>\n{sol_block}\n<|Solution End|>\n<|Test Begin|>\n{test_block}\n<|Test End|>\n"


def test_markers_with_python_fences():
    p = parse_attempt(wrap(f"```python\n{SOL}\n```", f"```python\n{TEST}\n```"))
    assert p.ok and p.solution == SOL and p.test == TEST


def test_any_language_tag_or_none():
    for tag in ("py", "Python3", "", "python "):
        p = parse_attempt(wrap(f"```{tag}\n{SOL}\n```", f"```{tag}\n{TEST}\n```"))
        assert p.ok, tag
        assert p.solution == SOL and p.test == TEST


def test_prose_around_fence_is_dropped():
    p = parse_attempt(wrap(f"Here is my code:\n```python\n{SOL}\n```\nIt adds.", f"```python\n{TEST}\n```\nDone."))
    assert p.solution == SOL and p.test == TEST


def test_stray_fence_residue():
    # A one-backtick opener and an unmatched closing fence, as in KodCode's demo outputs.
    p = parse_attempt(wrap(f"```python\n{SOL}\n```", f"`python\n{TEST}\n```"))
    assert p.ok and p.test == TEST


def test_unclosed_fence_and_missing_end_marker():
    raw = f"<|Solution Begin|>\n```python\n{SOL}\n```\n<|Solution End|>\n<|Test Begin|>\n```python\n{TEST}\n"
    p = parse_attempt(raw)
    assert p.ok and p.test == TEST


def test_no_markers_falls_back_to_blocks():
    p = parse_attempt(f"Solution:\n```python\n{SOL}\n```\nTests:\n```python\n{TEST}\n```")
    assert p.ok and p.solution == SOL and p.test == TEST


def test_errors_are_named():
    assert parse_attempt("nothing here").error.startswith("no solution/test markers")
    assert parse_attempt(wrap("```python\ndef f(:\n```", f"```python\n{TEST}\n```")).error == "solution is not valid Python"
    assert parse_attempt(wrap(f"```python\n{SOL}\n```", "```python\nassert add(1, 2) == 3\n```")).error == (
        "test defines no test_ function")
    assert parse_attempt(f"<|Solution Begin|>\n```python\n{SOL}\n```\n<|Solution End|>").error == "no test section"


def test_extract_code_joins_python_blocks():
    text = "```python\nimport math\n```\nthen\n```python\ndef f():\n    return math.pi\n```"
    assert extract_code(text) == "import math\n\ndef f():\n    return math.pi"


def test_test_info_matches_kodcode_v1_format():
    src = (
        'def count_paths(m: int, n, memo={}, *args, k: int = 2, **kw) -> int:\n'
        '    """Count paths.\n\n    More text.\n    """\n'
        "    def inner(x):\n        return x\n"
        "    return 1\n\n"
        "def helper(a, /, b, *, c):\n    return a\n"
    )
    info = test_info(src)
    assert info == [
        {"function_name": "count_paths", "parameter_list": "(m, n, memo={}, *args, k=2, **kw)",
         "function_declaration": "def count_paths(m, n, memo={}, *args, k=2, **kw):",
         "docstring": "Count paths.\n\nMore text."},
        {"function_name": "helper", "parameter_list": "(a, /, b, *, c)",
         "function_declaration": "def helper(a, /, b, *, c):", "docstring": None},
        {"function_name": "inner", "parameter_list": "(x)", "function_declaration": "def inner(x):", "docstring": None},
    ]
    assert entry_point(info) == "count_paths"


def test_test_info_is_none_for_classes():
    assert test_info("class A:\n    def __init__(self):\n        pass\n") is None
    assert test_info("def f(:") is None
