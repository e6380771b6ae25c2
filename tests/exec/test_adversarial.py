"""The verifier's trust boundary against an adversarial corpus (``adversarial.py``).

Classes of trick (each with several variants): builtins the test relies on shadowed through ``from
solution import *``; the verifier's own reporting reached from the job; objects equal to any expected
value; tolerance checks forged; comparisons outside the plain ``assert a == CONST`` shape; modules and
pytest machinery replaced; the test's source read from the job.  Every attack must end as a non-pass
(never a ``sandbox_error``, which an RL reward would not count against it), every honest-but-unusual
solution as a pass.  Positive controls: each attack marked ``fools_pytest`` really passes a plain
``pytest`` run, and each honest solution passes one too, so no check here can pass vacuously.

    .venv/bin/python -m pytest tests/exec/test_adversarial.py -q
"""

from __future__ import annotations

import concurrent.futures
import os
import resource
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest
from adversarial import ATTACKS, HONEST, Case

from kodcode.exec import ExecConfig, Executor

LIMITS = {"workers": 2, "timeout_s": 5.0, "memory_mb": 768, "max_procs": 32,
          "max_output_bytes": 4 * 1024 * 1024}

pytestmark = pytest.mark.timeout(900)


@pytest.fixture(scope="module")
def verdicts():
    cases = ATTACKS + HONEST
    with Executor(ExecConfig(**LIMITS)) as ex:
        return dict(zip([c.name for c in cases], ex.run([c.job() for c in cases])))


def _limit():  # (the plain pytest controls run unsandboxed: bounded CPU, memory, processes)
    resource.setrlimit(resource.RLIMIT_CPU, (20, 20))
    resource.setrlimit(resource.RLIMIT_AS, (2 << 30, 2 << 30))
    resource.setrlimit(resource.RLIMIT_NPROC, (512, 512))


def _plain_pytest(case: Case) -> int:
    """The exit status of plain pytest on the triplet, KodCode's way (``from solution import *`` prepended)."""
    with tempfile.TemporaryDirectory() as d:
        Path(d, "solution.py").write_text(case.solution)
        Path(d, "test_solution.py").write_text("from solution import *\n\n" + case.test)
        env = {k: v for k, v in os.environ.items() if not k.startswith(("PYTEST_", "COV_"))}
        env["PYTEST_DISABLE_PLUGIN_AUTOLOAD"] = "1"
        try:
            return subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "test_solution.py"],
                                  cwd=d, env=env, capture_output=True, timeout=60, preexec_fn=_limit).returncode
        except subprocess.TimeoutExpired:
            return -1


@pytest.fixture(scope="module")
def plain():
    cases = [c for c in ATTACKS if c.fools_pytest] + HONEST
    with concurrent.futures.ThreadPoolExecutor(2) as pool:
        return dict(zip([c.name for c in cases], pool.map(_plain_pytest, cases)))


def test_the_corpus_is_as_large_as_promised():
    assert len({c.name for c in ATTACKS}) == len(ATTACKS) >= 60
    assert len({c.name for c in HONEST}) == len(HONEST) >= 15
    assert {c.cls for c in ATTACKS} == {"builtins", "machinery", "objects", "tolerance", "hidden", "modules",
                                        "source"}


@pytest.mark.parametrize("case", ATTACKS, ids=lambda c: c.name)
def test_attack_does_not_pass(verdicts, case):
    v = verdicts[case.name]
    assert v.status in ("fail", "error", "timeout"), (v.status, v.message, v.flags)


@pytest.mark.parametrize("case", HONEST, ids=lambda c: c.name)
def test_honest_but_unusual_solution_passes(verdicts, case):
    v = verdicts[case.name]
    assert v.status == "pass", (v.status, v.message, [(t.name, t.outcome, t.message) for t in v.tests])


@pytest.mark.parametrize("case", [c for c in ATTACKS if c.fools_pytest] + HONEST, ids=lambda c: c.name)
def test_control_plain_pytest_passes_it(plain, case):
    # the attack is real (it fools KodCode's own verdict), and the honest solution is honest
    assert plain[case.name] == 0, plain[case.name]
