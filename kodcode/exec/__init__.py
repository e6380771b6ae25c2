"""kodcode.exec: the sandboxed execution engine that decides what "verified" means.

Library API::

    from kodcode.exec import Executor, ExecConfig, PytestJob, StdioJob, CallJob
    with Executor(ExecConfig(workers=4, timeout_s=10)) as ex:
        verdicts = ex.run(jobs)            # or: await ex.arun(jobs)

CLI: ``python -m kodcode.exec verify IN.jsonl[.gz] --out OUT.jsonl [--workers N] [--timeout S]`` and
``python -m kodcode.exec serve --socket PATH`` (shared by many processes through ``ExecClient``).

Standard library only: this package must never import an ML library (a test enforces it).
"""

from .config import ExecConfig
from .engine import Executor, SandboxError, verify
from .verdict import decide
from .inventory import expected_tests
from .jobs import STATUSES, CallJob, CaseOutput, PytestJob, StdioJob, TestOutcome, Verdict

__all__ = [
    "CallJob",
    "CaseOutput",
    "ExecConfig",
    "Executor",
    "PytestJob",
    "STATUSES",
    "SandboxError",
    "StdioJob",
    "TestOutcome",
    "Verdict",
    "decide",
    "expected_tests",
    "verify",
]


def __getattr__(name):  # the client pulls in asyncio/socket code only when used
    if name in ("ExecClient", "connect"):
        from . import client

        return getattr(client, name)
    raise AttributeError(name)
