"""The expected test inventory, computed from the test source outside the job.

A pytest job passes only if every name listed here is reported ``passed`` by the runner, so
dropping, skipping or breaking tests can never look like success.  Names follow pytest node ids
without the file part and without parametrize ids: ``test_x`` or ``TestClass::test_y``.

The engine computes it (``plan.plan_test``) in the parent, before the test reaches the worker; this is
the same function for callers that want the list up front.
"""

from __future__ import annotations

import ast

from .worker.shape import inventory_of


def expected_tests(test_src: str) -> list[str]:
    """Names pytest would collect from a test module (raises SyntaxError on unparsable source)."""
    return inventory_of(ast.parse(test_src))
