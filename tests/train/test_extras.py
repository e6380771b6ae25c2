"""Our optional extras agree with the installed TRL: for every package both name, each version our
range admits is one TRL's range admits too (read from TRL's installed metadata), so
`pip install -e .[vllm]` cannot pick a vLLM the trl pin does not support."""

from __future__ import annotations

import importlib.metadata as md
import tomllib

from packaging.requirements import Requirement
from packaging.specifiers import SpecifierSet
from packaging.version import Version

from kodcode import PACKAGE_DIR

PYPROJECT = PACKAGE_DIR.parent / "pyproject.toml"
# `bcb` and `testenv` go into the separate interpreters jobs run in (exec.python), never next to trl.
SEPARATE_ENV_EXTRAS = {"bcb", "testenv"}  # (testenv: the job interpreter of synth verification)


def candidates(a: SpecifierSet, b: SpecifierSet) -> set[Version]:
    """Every bound either range names, and just above / below each: where two ranges can differ."""
    found = set()
    for spec in [*a, *b]:
        v = Version(spec.version.replace(".*", ""))
        major, minor, micro = (v.release + (0, 0, 0))[:3]
        found |= {v, Version(f"{major}.{minor}.{micro + 1}"), Version(f"{major}.{minor + 1}.0")}
        if micro:
            found.add(Version(f"{major}.{minor}.{micro - 1}"))
    return found | {Version("0.0.1"), Version("999")}


def within(ours: SpecifierSet, theirs: SpecifierSet) -> bool:
    """No version ours admits is refused by theirs (and ours admits at least one theirs does)."""
    vs = candidates(ours, theirs)
    return all(v in theirs for v in vs if v in ours) and any(v in ours for v in vs)


def test_within_sees_a_disagreement():
    assert not within(SpecifierSet(">=0.10"), SpecifierSet(">=0.22.0,<=0.31.0"))  # the range this replaced
    assert not within(SpecifierSet(">=0.10,<0.20"), SpecifierSet(">=0.22.0,<=0.31.0"))
    assert within(SpecifierSet(">=0.22.0,<=0.31.0"), SpecifierSet(">=0.22.0,<=0.31.0"))
    assert within(SpecifierSet(">=0.25"), SpecifierSet(">=0.18.6"))


def test_extras_satisfiable_with_installed_trl():
    ours = tomllib.loads(PYPROJECT.read_text())["project"]["optional-dependencies"]
    trl_reqs = [Requirement(r) for r in md.requires("trl") or []]
    trl_specs: dict[str, list[SpecifierSet]] = {}
    for r in trl_reqs:
        trl_specs.setdefault(r.name.lower(), []).append(r.specifier)
    checked, conflicts = 0, []
    for extra, reqs in ours.items():
        if extra in SEPARATE_ENV_EXTRAS:
            continue
        for text in reqs:
            r = Requirement(text)
            for spec in trl_specs.get(r.name.lower(), []):
                checked += 1
                if not within(r.specifier, spec):
                    conflicts.append(f"[{extra}] {text} vs trl {md.version('trl')}: {r.name}{spec}")
    assert checked >= 3  # vllm, deepspeed, liger-kernel at least
    assert not conflicts, conflicts
