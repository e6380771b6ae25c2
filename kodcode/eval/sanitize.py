"""Turning a model's answer into the program a benchmark scores, one rule per official harness.

* ``evalplus_sanitize``: evalplus 0.3.1's ``evalplus.sanitize.sanitize`` itself (tree-sitter: keep the
  imports and the definitions the entry point reaches; functions without ``return`` are dropped).
* ``bigcodebench_sanitize``: bigcodebench 0.2.5's ``sanitize``, which differs from evalplus's in three
  ways (read from bigcode-project/bigcodebench@47eff25 ``bigcodebench/sanitize.py``): the text is
  stripped before the longest-parsable-block search, functions are kept even without a ``return``,
  and trailing top-level lines that mention the entry point (``task_func(...)`` demo calls) are cut.
  It is built from evalplus's tree-sitter helpers, the same code the official one copies.
* ``fenced_block``: the first fenced block, for answers rendered without the prefill.

    from kodcode.eval.sanitize import bigcodebench_sanitize
    code = bigcodebench_sanitize(raw_completion, "task_func")
"""

from __future__ import annotations

import re


def evalplus_sanitize(code: str, entry_point: str | None) -> str:
    from evalplus.sanitize import sanitize

    return sanitize(code, entrypoint=entry_point)


def _bcb_extract(code: str, entry_point: str | None) -> str:
    import tree_sitter_python
    from evalplus.sanitize import (
        ASSIGNMENT_TYPE,
        CLASS_TYPE,
        EXPRESSION_TYPE,
        FUNCTION_TYPE,
        IMPORT_TYPE,
        code_extract,
        get_definition_name,
        get_deps,
        get_function_dependency,
    )
    from tree_sitter import Language, Parser

    code = code_extract(code.strip())
    code_bytes = code.encode("utf8")
    root = Parser(Language(tree_sitter_python.language())).parse(code_bytes).root_node
    seen: set[str] = set()
    imports, defs = [], []
    for child in root.children:
        if child.type in IMPORT_TYPE:
            imports.append(child)
            continue
        node = None
        if child.type in (CLASS_TYPE, FUNCTION_TYPE):  # bigcodebench keeps return-less functions
            node = child
        elif child.type == EXPRESSION_TYPE and child.children[0].type == ASSIGNMENT_TYPE:
            node = child.children[0]
        if node is not None:
            name = get_definition_name(node)
            if name not in seen:
                defs.append((name, node))
                seen.add(name)
    reachable = get_function_dependency(entry_point, get_deps(defs)) if entry_point else None
    parts = [code_bytes[n.start_byte: n.end_byte] for n in imports]
    parts += [code_bytes[n.start_byte: n.end_byte] for name, n in defs if reachable is None or name in reachable]
    out = b"\n".join(parts).decode("utf8")
    # Cut trailing top-level lines that call the entry point (after the last indented line).
    lines = out.splitlines()
    cut = None
    for i in range(len(lines) - 1, -1, -1):
        if lines[i].startswith(" "):
            break
        if entry_point and entry_point in lines[i]:
            cut = i
    return "\n".join(lines[:cut]) if cut is not None else out


def bigcodebench_sanitize(code: str, entry_point: str | None) -> str:
    from evalplus.sanitize import code_extract

    out = _bcb_extract(code, entry_point).strip()
    return out if out else code_extract(code)


_FENCE = re.compile(r"```[^\n]*\n(.*?)(?:```|\Z)", re.DOTALL)


def fenced_block(text: str) -> str:
    """The first fenced code block (an unterminated one runs to the end), else the text itself."""
    m = _FENCE.search(text)
    return m.group(1) if m else text
