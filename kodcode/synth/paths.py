"""Where a relative path in the synth config points, whatever the working directory.

Paths a user types (``input=my.jsonl``, ``subsets.leetcode.seeds.path=my/leetcode.jsonl``) are
theirs, so the working directory is tried first; the paths the shipped configs name
(``conf/synth/seeds/...``, ``conf/synth/triplets/smoke.jsonl``) are relative to the package
directory (where ``conf/`` ships), which is tried next, and in a source checkout the checkout
(``../shared/data/benchmarks/...``) last.  So ``python -m kodcode.synth +experiment=smoke`` works
from any directory, installed or not::

    from kodcode.synth.paths import resolve_path, looked_in
    p = resolve_path(cfg.input)            # an existing candidate, else the working-directory one
    if not p.exists(): raise ...(f"... {looked_in(cfg.input)} ...")
"""

from __future__ import annotations

from pathlib import Path

from kodcode import PACKAGE_DIR

# the checkout holding the package, when there is one (an installed wheel has none)
PROJECT_DIR = PACKAGE_DIR.parent if (PACKAGE_DIR.parent / "pyproject.toml").is_file() else None


def candidates(path: str | Path) -> list[Path]:
    p = Path(path).expanduser()
    if p.is_absolute():
        return [p]
    out = [Path.cwd() / p, PACKAGE_DIR / p] + ([PROJECT_DIR / p] if PROJECT_DIR else [])
    return [c for i, c in enumerate(out) if c not in out[:i]]


def resolve_path(path: str | Path) -> Path:
    """The first candidate that exists, else the working-directory one (for the error message)."""
    found = candidates(path)
    return next((c for c in found if c.exists()), found[0])


def looked_in(path: str | Path) -> str:
    """``"looked in /a/x.jsonl and /b/x.jsonl"``: every place :func:`resolve_path` tried."""
    return "looked in " + " and ".join(str(c) for c in candidates(path))


def is_local(path: str) -> bool:
    """``official:humaneval`` and ``hf:org/name`` are loader names, not files."""
    return not path.startswith(("official:", "hf:"))
