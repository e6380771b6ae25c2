"""Code versions that follow the code: which kodcode modules a function can run, and a hash of their source.

    from kodcode.codeversion import module_closure, code_hash, job_environment
    mods = module_closure("kodcode.synth.verify")   # the module and every kodcode module it may import
    code_hash(mods)                                  # sha256 over those modules' sources
    job_environment("/path/to/venv/bin/python")      # {"python": "3.11.9", "packages": {...}}

The import graph is read statically (``ast`` over the package's own files, so the files a run would
import are the ones hashed, wherever the package sits): every ``import`` and ``from ... import``, at
top level or inside a function (a lazy import runs too), relative ones resolved against the module's
package, kept when it names a kodcode module. Importing ``a.b.c`` runs ``a`` and ``a.b`` first, so
parent packages are in. Code that reaches another process by value rather than by import is listed
in ``SHIPS`` (the exec engine hands the whole worker package to the job interpreter). The graph
over-approximates on purpose: a stage that *may* run a module reruns when that module changes.
A caller that keys some modules' lazy imports elsewhere names them in ``top_level_only`` (the synth
runner's services, ``kodcode/synth/cachekey.py``).

``job_environment`` asks an interpreter for its version and installed distributions once per
process, keyed by the interpreter's path, mtime and environment. It is not cached on disk: a
``pip install`` into a venv changes what the jobs see without touching the interpreter's file.
"""

from __future__ import annotations

import ast
import functools
import hashlib
import json
import os
import subprocess
from collections.abc import Iterable
from pathlib import Path

ROOT = "kodcode"
PACKAGE_DIR = Path(__file__).resolve().parent

# Modules that run another package's code without importing it: module -> packages it ships.
SHIPS: dict[str, tuple[str, ...]] = {
    "kodcode.exec.engine": ("kodcode.exec.worker",),  # engine.worker_modules(): sent to the job interpreter
}


def module_file(name: str) -> Path | None:
    """The source file of kodcode module ``name`` (a package's ``__init__.py``), or None."""
    parts = name.split(".")
    if parts[0] != ROOT:
        return None
    base = PACKAGE_DIR.joinpath(*parts[1:])
    for path in (base / "__init__.py", base.with_suffix(".py")):
        if path.is_file():
            return path
    return None


@functools.lru_cache(maxsize=None)
def _parsed_imports(path: str, stamp: tuple[int, int]) -> tuple[tuple[bool, int, str, tuple[str, ...]], ...]:
    """(inside a function, level, module, names) per import statement in ``path`` (``stamp`` keys the cache)."""
    out = []

    def visit(node: ast.AST, local: bool) -> None:
        for child in ast.iter_child_nodes(node):
            if isinstance(child, ast.Import):
                out.extend((local, 0, alias.name, ()) for alias in child.names)
            elif isinstance(child, ast.ImportFrom):
                out.append((local, child.level, child.module or "", tuple(a.name for a in child.names)))
            visit(child, local or isinstance(child, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda)))

    visit(ast.parse(Path(path).read_bytes(), filename=path), False)
    return tuple(out)


def _longest_module(name: str) -> str | None:
    """``kodcode.exec.PytestJob`` -> ``kodcode.exec``: the longest prefix that is a module."""
    parts = name.split(".")
    while parts:
        candidate = ".".join(parts)
        if module_file(candidate) is not None:
            return candidate
        parts.pop()
    return None


def direct_imports(name: str, top_level_only: bool = False) -> set[str]:
    """The kodcode modules that module ``name`` imports anywhere in its source (or outside functions)."""
    path = module_file(name)
    if path is None:
        return set()
    st = path.stat()
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    out = set()
    for local, level, module, names in _parsed_imports(str(path), (st.st_mtime_ns, st.st_size)):
        if local and top_level_only:
            continue
        if level:
            anchor = package.split(".")
            anchor = anchor[: len(anchor) - (level - 1)]
            base = ".".join(anchor + ([module] if module else []))
        else:
            base = module
        if base.split(".")[0] != ROOT:
            continue
        found = _longest_module(base)
        if found is not None:
            out.add(found)
        for n in names:  # `from kodcode.synth import store` imports the submodule
            if n != "*" and module_file(f"{base}.{n}") is not None:
                out.add(f"{base}.{n}")
    return out


def package_modules(package: str) -> set[str]:
    """Every module in ``package`` and its subpackages."""
    path = module_file(package)
    if path is None or path.name != "__init__.py":
        return {package} if path is not None else set()
    out = set()
    for p in path.parent.rglob("*.py"):
        rel = p.relative_to(PACKAGE_DIR).with_suffix("")
        parts = [ROOT, *rel.parts]
        out.add(".".join(parts[:-1] if parts[-1] == "__init__" else parts))
    return out


def _parents(name: str) -> list[str]:
    parts = name.split(".")
    return [".".join(parts[:i]) for i in range(1, len(parts))]


def module_closure(*names: str, top_level_only: Iterable[str] = ()) -> list[str]:
    """``names`` and every kodcode module they may run (imports, parent packages, ``SHIPS``), sorted.

    For the modules in ``top_level_only`` only imports outside functions count: a caller that keys
    what those functions import separately (the synth runner's services: LLM roles, exec) says so."""
    shallow = set(top_level_only)
    seen: set[str] = set()
    todo = [n for n in names if module_file(n) is not None]
    while todo:
        name = todo.pop()
        if name in seen:
            continue
        seen.add(name)
        todo += _parents(name)
        todo += direct_imports(name, top_level_only=name in shallow)
        for package in SHIPS.get(name, ()):
            todo += package_modules(package)
    return sorted(seen)


def code_hash(modules: list[str]) -> str:
    """sha256 over the modules' names and sources."""
    h = hashlib.sha256()
    for name in sorted(modules):
        path = module_file(name)
        h.update(name.encode() + b"\0")
        h.update(hashlib.sha256(path.read_bytes()).digest() if path is not None else b"missing")
    return h.hexdigest()


_PROBE = (
    "import importlib.metadata as m, json, sys\n"
    "pk = {}\n"
    "for d in m.distributions():\n"
    "    name = (d.metadata['Name'] or '').lower()\n"
    "    if name: pk.setdefault(name, d.version)\n"
    "print(json.dumps({'python': sys.version.split()[0], 'packages': dict(sorted(pk.items()))}))\n"
)
_JOB_ENVIRONMENTS: dict[tuple, dict] = {}


def job_environment(python: str, env: dict[str, str] | None = None) -> dict:
    """``{"python": version, "packages": {name: version}}`` as ``python`` sees them (``-s``, ``env``:
    how the exec engine starts it), asked once per process per interpreter path, mtime and env."""
    path = os.path.realpath(python)
    try:
        stamp = os.stat(path).st_mtime_ns
    except OSError as e:
        raise RuntimeError(f"the job interpreter {python!r} does not exist ({e}); set exec.python to one") from e
    key = (path, stamp, json.dumps(env, sort_keys=True))
    if key not in _JOB_ENVIRONMENTS:
        done = subprocess.run([python, "-s", "-c", _PROBE], capture_output=True, text=True, env=env, cwd="/",
                              timeout=120)
        if done.returncode != 0:
            raise RuntimeError(
                f"the job interpreter {python!r} could not list its packages (exit {done.returncode}: "
                f"{done.stderr.strip()[-300:]}); check that it runs or set exec.python to one that does"
            )
        _JOB_ENVIRONMENTS[key] = json.loads(done.stdout)
    return _JOB_ENVIRONMENTS[key]
