"""The expected test inventory, computed from the test source outside the job.

A pytest job passes only if every name listed here is reported ``passed`` by the runner, so
dropping, skipping or breaking tests can never look like success.  Names follow pytest node ids
without the file part and without parametrize ids: ``test_x`` or ``TestClass::test_y``.

The engine's worker computes it (``guard.inventory_of``) from the tree it parses before forking the
job, so the job never touches it; this is the same function for callers that want the list up front.
"""

from __future__ import annotations

import ast

from .guard import inventory_of


def expected_tests(test_src: str) -> list[str]:
    """Names pytest would collect from a test module (raises SyntaxError on unparsable source)."""
    return inventory_of(ast.parse(test_src))
