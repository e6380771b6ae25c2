"""The expected test inventory, computed from the test source outside the job.

A pytest job passes only if every name listed here is reported ``passed`` by the runner, so
dropping, skipping or breaking tests can never look like success.  Names follow pytest node ids
without the file part and without parametrize ids: ``test_x`` or ``TestClass::test_y``.
"""

from __future__ import annotations

import ast

from .guard import base_name


def expected_tests(test_src: str) -> list[str]:
    """Names pytest would collect from a test module (raises SyntaxError on unparsable source)."""
    tree = ast.parse(test_src)
    names: list[str] = []
    for node in tree.body:
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)) and node.name.startswith("test"):
            if node.name not in names:
                names.append(node.name)
        elif isinstance(node, ast.ClassDef):
            unittest_style = any(base_name(b).endswith("TestCase") for b in node.bases)
            if not (unittest_style or node.name.startswith("Test")):
                continue
            methods = [n for n in node.body if isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef))]
            if not unittest_style and any(m.name == "__init__" for m in methods):
                continue  # pytest refuses to collect Test classes with __init__
            for m in methods:
                if m.name.startswith("test"):
                    full = f"{node.name}::{m.name}"
                    if full not in names:
                        names.append(full)
    return names
