"""The ``testenv`` extra covers what KodCode's questions import, and a built job interpreter has it.

The demo outputs in ../shared/data/kodcode-demo are the reference (skipped on a fresh clone)."""

import gzip
import json
import os
import re
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

from kodcode import PACKAGE_DIR

REPO = PACKAGE_DIR.parent
DEMO = REPO.parent / "shared" / "data" / "kodcode-demo" / "trials.jsonl.gz"
# An interpreter built with the extra (docs/synth.md "Test environment"), e.g. /opt/testenv/bin/python.
JOBENV = Path(os.environ.get("KODCODE_TESTENV_PYTHON", "/nonexistent"))
# Import name -> distribution, where they differ.
DIST = {"bs4": "beautifulsoup4", "cv2": "opencv-python-headless", "PIL": "pillow", "sklearn": "scikit-learn",
        "pytest_mock": "pytest-mock"}
# KodCode's own test environment has no tensorflow either: its questions that import it fail there too.
NOT_COVERED = {"tensorflow"}


def extra_deps() -> set[str]:
    deps = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]["optional-dependencies"]["testenv"]
    return {re.split(r"[<>=!\[ ]", d, maxsplit=1)[0].lower() for d in deps}


def third_party_imports(path: Path) -> set[str]:
    names = set()
    with gzip.open(path, "rt") as f:
        for line in f:
            r = json.loads(line)
            for key in ("solution", "test", "test_code"):
                names |= set(re.findall(r"^\s*(?:import|from)\s+([A-Za-z_]\w*)", str(r.get(key) or ""), re.MULTILINE))
    local = {n for n in names if n.islower() and "_" in n and n not in DIST}  # modules the questions define
    return {n for n in names - local - {"solution", "the", "its", "vertex"} if n not in sys.stdlib_module_names}


def test_testenv_lists_kodcodes_own_test_environment():
    assert {"flask", "seaborn", "beautifulsoup4", "opencv-python-headless", "statsmodels", "xgboost", "keras",
            "lxml", "pytest-cov"} <= extra_deps()


@pytest.mark.skipif(not DEMO.is_file(), reason="../shared/data/kodcode-demo is not there")
def test_testenv_covers_every_library_the_demo_questions_import():
    imports = third_party_imports(DEMO)
    assert {"numpy", "scipy", "cv2", "bs4"} <= imports  # the scan finds what is there
    missing = sorted(n for n in imports - NOT_COVERED if DIST.get(n, n).lower() not in extra_deps())
    assert missing == []


@pytest.mark.skipif(not (JOBENV.is_file() and DEMO.is_file()), reason="KODCODE_TESTENV_PYTHON is not set")
def test_built_job_interpreter_imports_the_demo_libraries():
    imports = sorted(third_party_imports(DEMO) - NOT_COVERED)
    done = subprocess.run([str(JOBENV), "-c", f"import {', '.join(imports)}"], capture_output=True, text=True,
                          timeout=300, check=False)
    assert done.returncode == 0, done.stderr[-2000:]
