"""From a reasoning model's answer to the program that runs against a KodCode pytest test.

One function, ``answer_program``, serves every place that scores a model's answer against a KodCode
test: synth's reasoning reject sampling (``kodcode.synth.respond``), the GRPO unit-test reward
(``kodcode.train.rewards``) and the scoring tool (``python -m kodcode.train.score``). Benchmarks do
not use it: each keeps the sanitizer of its official harness (``kodcode.eval.sanitize``), because a
benchmark score is only comparable when the answer is cut exactly as the harness cuts it, while
here the rule is ours, made to agree with KodCode's verdicts and to be fair to a policy.

The rule, in order:

1. The answer is the text after the last ``</think>``. A response that opened ``<think>`` and never
   closed it (cut off by the length limit) has no answer: code inside the reasoning is a draft.
   A response with no think tags at all is all answer.
2. Its fenced blocks tagged python (or untagged) that parse; when none is fenced, the bare answer
   if it parses and defines a function.
3. The first block that defines the entry point (a ``def``, ``class`` or assignment of the name the
   tests import, ``test_info[0]``); else the first block that defines any function (a usage
   example after the solution is not the solution); else the first block.
4. KodCode's function-name repair (reference: KodCode step 3.3.3 ``--replace_function_name``): when
   the tests expect exactly one function, the block does not define it, and it defines exactly one
   top-level function, that function is renamed, with its recursive calls (KodCode renames only the
   ``def`` line, which leaves a recursive answer calling a name that no longer exists).

When nothing usable is found, ``Answer.code`` is ``None`` and ``Answer.reason`` says why:
``unclosed_reasoning``, ``no_code_block``, ``unparsable``.

The fence helpers (``fenced_blocks``, ``strip_fence_residue``, ``is_python``) live here too, so that
synth, train and the scoring tool depend only on this standard-library module (layering:
``exec`` <- ``synth``, ``train``, ``eval``).

    from kodcode.answers import answer_program, expected_functions
    ans = answer_program(response_text, expected_functions(row["test_info"]))
    ans.code, ans.reason, ans.renamed_from
"""

from __future__ import annotations

import ast
import io
import json
import re
import tokenize
from dataclasses import dataclass

THINK_START, THINK_END = "<think>", "</think>"
PYTHON_TAGS = ("", "python", "py", "python3", "py3")

# A fence opener: three or more backticks/tildes, then any info string (python, py, Python3, "").
_FENCE_RE = re.compile(r"^[ \t]*(`{3,}|~{3,})[ \t]*([\w+.#-]*)[^\n`]*$", re.MULTILINE)
_RESIDUE_RE = re.compile(r"[ \t]*`{1,2}[ \t]*(python|py|python3)?[ \t]*", re.IGNORECASE)

REASONS = ("unclosed_reasoning", "no_code_block", "unparsable")


@dataclass(frozen=True)
class Answer:
    """The program to run (``None`` when there is none, with ``reason``) and what was done to it."""

    code: str | None
    reason: str = ""  # one of REASONS when code is None
    renamed_from: str | None = None  # the function KodCode's name repair renamed to the entry point


def fenced_blocks(text: str) -> list[tuple[str, str]]:
    """Every fenced block as ``(language_tag, code)``; an unclosed last fence runs to the end."""
    blocks: list[tuple[str, str]] = []
    pos = 0
    while True:
        m = _FENCE_RE.search(text, pos)
        if not m:
            return blocks
        fence, tag = m.group(1), m.group(2).lower()
        close = re.compile(r"^[ \t]*" + re.escape(fence[0]) + "{" + str(len(fence)) + r",}[ \t]*$", re.MULTILINE)
        c = close.search(text, m.end())
        body_end = c.start() if c else len(text)
        body = text[m.end():body_end].strip("\n")
        if body.strip():  # a lone closing fence read as an opener yields nothing
            blocks.append((tag, body))
        if not c:
            return blocks
        pos = c.end()


def strip_fence_residue(text: str) -> str:
    """Drop lines that are only a fence (with or without a tag) and trailing stray backticks."""
    # Also a mangled one-backtick opener such as "`python" (seen in KodCode's demo outputs).
    lines = [ln for ln in text.splitlines() if not _FENCE_RE.fullmatch(ln) and not _RESIDUE_RE.fullmatch(ln)]
    return "\n".join(lines).strip().rstrip("`").strip()


def is_python(code: str) -> bool:
    try:
        ast.parse(code)
    except (SyntaxError, ValueError):
        return False
    return True


def answer_part(text: str) -> str | None:
    """The text after the reasoning; ``None`` when the reasoning never ended (cut off by length)."""
    if THINK_END in text:
        return text.rsplit(THINK_END, 1)[1]
    if THINK_START in text:
        return None
    return text


def expected_functions(test_info) -> list[str]:
    """The function names a KodCode test expects, from ``test_info`` in any of its stored forms.

    ``test_info`` is a list of ``{function_name, ...}`` dicts (KodCode-V1), the same as a JSON or
    Python-literal string (some exports stringify it), a list of names, or ``None``.
    """
    if test_info is None or test_info == "":
        return []
    if isinstance(test_info, str):
        try:
            test_info = json.loads(test_info)
        except ValueError:
            try:
                test_info = ast.literal_eval(test_info)
            except (ValueError, SyntaxError) as e:
                raise ValueError(
                    f"test_info {test_info[:80]!r} is neither JSON nor a Python literal ({e}); it must list "
                    "the expected functions as [{'function_name': ...}, ...] like KodCode-V1"
                ) from None
        if test_info is None:
            return []
    if not isinstance(test_info, (list, tuple)):
        raise TypeError(
            f"test_info must be a list of {{'function_name': ...}} entries (got {type(test_info).__name__}); "
            "use KodCode-V1's test_info column"
        )
    names = []
    for item in test_info:
        name = item.get("function_name") if isinstance(item, dict) else item
        if not isinstance(name, str) or not name:
            raise ValueError(f"test_info entry {item!r} has no function_name; each entry names one function")
        names.append(name)
    return names


def _top_level(code: str) -> tuple[list[str], set[str]]:
    """(top-level function names in order, every name the module defines at top level)."""
    tree = ast.parse(code)
    funcs, names = [], set()
    for node in tree.body:
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            funcs.append(node.name)
            names.add(node.name)
        elif isinstance(node, ast.ClassDef):
            names.add(node.name)
        elif isinstance(node, (ast.Assign, ast.AnnAssign)):
            for target in node.targets if isinstance(node, ast.Assign) else [node.target]:
                names.update(n.id for n in ast.walk(target) if isinstance(n, ast.Name))
        elif isinstance(node, (ast.Import, ast.ImportFrom)):
            names.update((a.asname or a.name).split(".")[0] for a in node.names)
    return funcs, names


def rename_function(code: str, old: str, new: str) -> str | None:
    """``code`` with identifier ``old`` renamed to ``new`` (strings and comments untouched), or None."""
    out = []
    try:
        for tok in tokenize.generate_tokens(io.StringIO(code).readline):
            if tok.type == tokenize.NAME and tok.string == old:
                tok = tok._replace(string=new)
            out.append(tok)
        renamed = tokenize.untokenize(out)
    except (tokenize.TokenError, SyntaxError, IndentationError):
        return None
    return renamed if is_python(renamed) else None


def candidate_blocks(answer: str) -> tuple[list[str], bool]:
    """(python blocks of the answer that parse, whether it had any fenced python block at all)."""
    blocks = [code for tag, code in fenced_blocks(answer) if tag in PYTHON_TAGS]
    good = [b.strip() for b in blocks if is_python(b)]
    if good or blocks:
        return good, bool(blocks)
    bare = strip_fence_residue(answer)
    if bare and is_python(bare) and re.search(r"^(?:async\s+)?def\s", bare, re.MULTILINE):
        return [bare], False
    return [], False


def answer_program(text: str, expected: list[str] | None = None, rename: bool = True) -> Answer:
    """The program to test from one response (see the module docstring for the rule).

    ``expected``: the function names the tests expect (``expected_functions(test_info)``); the first
    is the entry point. ``rename``: apply KodCode's function-name repair.
    """
    answer = answer_part(text)
    if answer is None:
        return Answer(None, "unclosed_reasoning")
    good, fenced = candidate_blocks(answer)
    if not good:
        return Answer(None, "unparsable" if fenced else "no_code_block")
    entry = expected[0] if expected else None
    defs = [(b, *_top_level(b)) for b in good]
    chosen = next((d for d in defs if entry and entry in d[2]), None) \
        or next((d for d in defs if d[1]), None) or defs[0]
    code, funcs, names = chosen
    if rename and expected and len(expected) == 1 and entry not in names and len(funcs) == 1:
        renamed = rename_function(code, funcs[0], entry)
        if renamed is not None:
            return Answer(renamed, renamed_from=funcs[0])
    return Answer(code)
