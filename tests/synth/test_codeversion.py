"""Caches follow the code: a stage reruns when a kodcode module it may run changes (exec's worker program
included) or the job interpreter's packages change, and the stages that do not run it are reused."""

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

import kodcode
from kodcode.codeversion import direct_imports, job_environment
from kodcode.synth.cachekey import stage_modules

HERE = Path(__file__).parent
REPO = Path(kodcode.__file__).resolve().parents[1]

RUN = (
    "import json, sys\n"
    "import kodcode\n"
    "from kodcode.synth.runner import run\n"
    "summary = run(json.load(open(sys.argv[1])))\n"
    "print(json.dumps({'package': kodcode.__file__, 'stages': {k: v['status'] for k, v in summary['stages'].items()}}))\n"
)


def _fake_distribution(site: Path, version: str) -> None:
    info = site / "kodcode_probe_pkg-0.dist-info"
    info.mkdir(parents=True, exist_ok=True)
    (info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: kodcode-probe-pkg\nVersion: {version}\n")


def _interpreter(tmp: Path, site: Path) -> Path:
    """The job interpreter: this Python with one more (metadata-only) distribution on its path."""
    python = tmp / "job-python"
    python.write_text(f'#!/bin/sh\nPYTHONPATH="{site}" exec "{sys.executable}" "$@"\n')
    python.chmod(0o755)
    return python


def test_a_stage_closure_covers_its_helpers_and_exec_worker_program():
    verify = stage_modules("kodcode.synth.verify")
    # verify imports kodcode.exec inside functions; the engine ships the worker package by value
    assert {"kodcode.exec.engine", "kodcode.exec.worker.zygote", "kodcode.exec.worker.outcome"} <= set(verify)
    assert "kodcode.exec.worker.protocol" in direct_imports("kodcode.exec.worker.zygote")  # `from .protocol`
    assert "kodcode.synth.parse" in stage_modules("kodcode.synth.solve")
    label = stage_modules("kodcode.synth.label")
    assert "kodcode.synth.parse" not in label and "kodcode.exec.engine" not in label


def test_job_environment_lists_the_interpreters_packages(tmp_path):
    import importlib.metadata

    here = job_environment(sys.executable)
    assert here["packages"]["pytest"] == importlib.metadata.version("pytest")
    _fake_distribution(tmp_path / "site", "1.0")
    other = job_environment(str(_interpreter(tmp_path, tmp_path / "site")))
    assert other["packages"]["kodcode-probe-pkg"] == "1.0" and "kodcode-probe-pkg" not in here["packages"]


@pytest.fixture
def scratch(tmp_path):
    """A copy of the package (its configs included) to edit, the pipeline's config, and a way to run it there."""
    src = tmp_path / "src"
    shutil.copytree(REPO / "kodcode", src / "kodcode", ignore=shutil.ignore_patterns("__pycache__"))
    sys.path.insert(0, str(HERE))
    try:
        from test_steps23 import synth_cfg
    finally:
        sys.path.remove(str(HERE))
    site = tmp_path / "site"
    _fake_distribution(site, "1.0")
    cfg = synth_cfg(tmp_path, stages=["solve", "parse", "verify", "label"])
    cfg["exec"]["python"] = str(_interpreter(tmp_path, site))
    (tmp_path / "cfg.json").write_text(json.dumps(cfg))
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(src), str(HERE)]), "WANDB_SILENT": "true"}

    def run() -> dict[str, str]:
        done = subprocess.run([sys.executable, "-c", RUN, str(tmp_path / "cfg.json")], cwd=tmp_path, env=env,
                              capture_output=True, text=True, timeout=600)
        assert done.returncode == 0, done.stderr[-3000:]
        out = json.loads(done.stdout.strip().splitlines()[-1])
        assert out["package"].startswith(str(src))  # the copy ran, not the checkout
        return out["stages"]

    return src, site, run


def test_editing_a_helper_reruns_the_stages_that_run_it(scratch):
    src, site, run = scratch
    assert run() == {"solve": "ran", "parse": "ran", "verify": "ran", "label": "ran"}
    assert set(run().values()) == {"skipped"}

    with open(src / "kodcode/synth/parse.py", "a") as f:  # solve and parse import it; verify and label do not
        f.write("\n\ndef _unused_helper():\n    return 'a helper changed'\n")
    assert run() == {"solve": "ran", "parse": "ran", "verify": "skipped", "label": "skipped"}

    with open(src / "kodcode/exec/worker/outcome.py", "a") as f:  # the worker program: shipped by value
        f.write("\n# the job interpreter's copy of this module changed\n")
    # solve may start an executor (first_pass mode); label's input is new (verdicts carry durations)
    assert run() == {"solve": "ran", "parse": "skipped", "verify": "ran", "label": "ran"}

    _fake_distribution(site, "2.0")  # a package upgrade in the job environment: only what ran jobs reruns
    assert run() == {"solve": "skipped", "parse": "skipped", "verify": "ran", "label": "ran"}
    assert set(run().values()) == {"skipped"}
