"""The wheel carries every config: built from a copy of the sources, installed in a fresh venv and used
from a directory outside the checkout (no PYTHONPATH), every primary config and every experiment composes,
the entry points start, shipped data paths resolve and a user's ``--config-dir`` is searched."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import sysconfig
from pathlib import Path

import pytest

from kodcode import CONF_DIR, PACKAGE_DIR

pytestmark = pytest.mark.slow

REPO = PACKAGE_DIR.parent
ENTRIES = {"synth": "synth", "train": "train", "eval": "eval"}  # conf/<entry>/<primary>.yaml


def _setuptools_builds_offline() -> bool:
    # pyproject asks for setuptools>=68; from 70.1 on it builds wheels without the `wheel` package.
    try:
        import setuptools
    except ImportError:
        return False
    major, minor = (int(x) for x in setuptools.__version__.split(".")[:2])
    return (major, minor) >= (70, 1)


def _run(cmd, cwd, env=None, timeout=600):
    done = subprocess.run(cmd, cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout)
    assert done.returncode == 0, f"{cmd} failed ({done.returncode}):\n{done.stdout[-3000:]}\n{done.stderr[-3000:]}"
    return done


@pytest.fixture(scope="module")
def installed(tmp_path_factory):
    """(python of a fresh venv holding only the built wheel, clean env, a working dir outside the checkout)."""
    root = tmp_path_factory.mktemp("wheel")
    src = root / "src"  # a copy, so the build leaves nothing in the checkout
    src.mkdir()
    for name in ("pyproject.toml", "README.md"):
        shutil.copy2(REPO / name, src / name)
    shutil.copytree(PACKAGE_DIR, src / "kodcode", symlinks=True,
                    ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
    dist = root / "dist"
    isolation = ["--no-build-isolation"] if _setuptools_builds_offline() else []
    _run([sys.executable, "-m", "pip", "wheel", str(src), "--no-deps", "-q", "-w", str(dist), *isolation],
         cwd=root)
    wheels = list(dist.glob("kodcode-*.whl"))
    assert len(wheels) == 1, wheels
    venv = root / "venv"
    _run([sys.executable, "-m", "venv", "--without-pip", str(venv)], cwd=root)
    py = venv / "bin" / "python"
    _run([sys.executable, "-m", "pip", "--python", str(py), "install", "-q", "--no-deps", "--no-index",
          str(wheels[0])], cwd=root)
    # Dependencies (hydra, omegaconf, ...) come from this interpreter's site-packages, appended after the
    # venv's own, so the package itself can only come from the wheel (a plain path: no .pth there runs).
    site = Path(_run([str(py), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
                     cwd=root).stdout.strip())
    (site / "outer_deps.pth").write_text(sysconfig.get_paths()["purelib"] + "\n")
    env = {k: v for k, v in os.environ.items() if k not in {"PYTHONPATH", "PYTHONHOME", "PYTHONSTARTUP"}}
    env["HYDRA_FULL_ERROR"] = "1"
    work = root / "elsewhere"
    work.mkdir()
    return py, env, work


def _py(installed, code: str, *args: str):
    py, env, work = installed
    return _run([str(py), "-c", code, *args], cwd=work, env=env)


def test_wheel_contains_every_config_file(installed):
    code = "import kodcode, pathlib; print(pathlib.Path(kodcode.__file__).parent)"
    pkg = Path(_py(installed, code).stdout.strip())
    assert REPO not in pkg.parents, f"kodcode imported from the checkout: {pkg}"
    shipped = {str(p.relative_to(CONF_DIR)) for p in CONF_DIR.rglob("*") if p.is_file()}
    got = {str(p.relative_to(pkg / "conf")) for p in (pkg / "conf").rglob("*") if p.is_file()}
    assert shipped - got == set()
    assert {"synth/synth.yaml", "train/train.yaml", "eval/eval.yaml", "synth/exec/default.yaml"} <= got
    prompts = {p.name for p in (PACKAGE_DIR / "synth" / "prompts").glob("*.txt")}
    assert prompts and prompts <= {p.name for p in (pkg / "synth" / "prompts").glob("*.txt")}


COMPOSE_ALL = """
import json, sys
from hydra import compose, initialize_config_dir
from omegaconf import OmegaConf
from kodcode import CONF_DIR
out = {}
for entry, primary in json.loads(sys.argv[1]).items():
    with initialize_config_dir(str(CONF_DIR / entry), version_base=None):
        names = [None] + sorted(p.stem for p in (CONF_DIR / entry / "experiment").glob("*.yaml"))
        for name in names:
            cfg = compose(primary, overrides=[f"+experiment={name}"] if name else [])
            OmegaConf.to_container(cfg, resolve=True)
            out[f"{entry}/{name or primary}"] = len(cfg)
print(json.dumps(out))
"""


def test_every_primary_config_and_experiment_composes_from_the_wheel(installed):
    composed = json.loads(_py(installed, COMPOSE_ALL, json.dumps(ENTRIES)).stdout)
    expected = {f"{e}/{p}" for e, p in ENTRIES.items()}
    expected |= {f"{e}/{p.stem}" for e in ENTRIES for p in (CONF_DIR / e / "experiment").glob("*.yaml")}
    assert set(composed) == expected
    assert all(n > 0 for n in composed.values())


@pytest.mark.parametrize("entry", sorted(ENTRIES))
def test_entry_point_starts_from_the_wheel(installed, entry):
    py, env, work = installed
    done = _run([str(py), "-m", f"kodcode.{entry}", "--cfg", "job"], cwd=work, env=env)
    assert "defaults" not in done.stdout and done.stdout.strip()  # the composed job config, printed
    assert not (work / "outputs").exists()


def test_user_config_dir_adds_an_experiment(installed, tmp_path):
    py, env, work = installed
    (tmp_path / "experiment").mkdir()
    (tmp_path / "experiment" / "mine.yaml").write_text("# @package _global_\nrun_dir: runs/mine-from-user-dir\n")
    done = _run([str(py), "-m", "kodcode.synth", "--config-dir", str(tmp_path), "+experiment=mine",
                 "--cfg", "job"], cwd=work, env=env)
    assert "run_dir: runs/mine-from-user-dir" in done.stdout


def test_shipped_data_paths_resolve_inside_the_installed_package(installed):
    code = ("from kodcode.synth.paths import resolve_path; import kodcode, pathlib;"
            "p = resolve_path('conf/synth/seeds/leetcode.jsonl'); print(p.is_file(), p)")
    ok, path = _py(installed, code).stdout.split()
    assert ok == "True" and REPO not in Path(path).parents
