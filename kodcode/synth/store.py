"""On-disk layout of a synth run: per-stage JSONL parts, manifests written last, hashing.

    <run_dir>/<stage>/part-00000-of-00001.jsonl        the stage's output records (one JSON per line)
    <run_dir>/<stage>/manifest-00000-of-00001.json     written LAST: config/input/code hashes, counts, timings
    <run_dir>/<stage>/checkpoint-00000-of-00001.jsonl  per-item results while the stage runs (deleted after)
    <run_dir>/llm_cache/                               the per-request LLM cache (kodcode/llm/cache.py)

With ``shard=i/n`` the same names carry ``i`` and ``n``.  A part is written to a temporary file and
renamed, then the manifest is written the same way, so a killed run never leaves a manifest that
describes a half-written part.
"""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
from pathlib import Path
from typing import Any

Shard = tuple[int, int]


def shard_tag(shard: Shard) -> str:
    return f"{shard[0]:05d}-of-{shard[1]:05d}"


def part_path(stage_dir: Path, shard: Shard) -> Path:
    return stage_dir / f"part-{shard_tag(shard)}.jsonl"


def manifest_path(stage_dir: Path, shard: Shard) -> Path:
    return stage_dir / f"manifest-{shard_tag(shard)}.json"


def checkpoint_path(stage_dir: Path, shard: Shard) -> Path:
    return stage_dir / f"checkpoint-{shard_tag(shard)}.jsonl"


def canonical(obj: Any) -> str:
    return json.dumps(obj, sort_keys=True, ensure_ascii=False, separators=(",", ":"), default=str)


def hash_records(records: list[dict]) -> str:
    h = hashlib.sha256()
    for r in records:
        h.update(canonical(r).encode())
        h.update(b"\n")
    return h.hexdigest()


def hash_obj(obj: Any) -> str:
    return hashlib.sha256(canonical(obj).encode()).hexdigest()


def _atomic_write(path: Path, text: str) -> None:
    tmp = path.with_name(f".{path.name}.tmp-{os.getpid()}")
    with open(tmp, "w", encoding="utf-8") as f:
        f.write(text)
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, path)


def write_part(stage_dir: Path, shard: Shard, records: list[dict]) -> Path:
    stage_dir.mkdir(parents=True, exist_ok=True)
    path = part_path(stage_dir, shard)
    _atomic_write(path, "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in records))
    return path


def write_manifest(stage_dir: Path, shard: Shard, manifest: dict) -> None:
    _atomic_write(manifest_path(stage_dir, shard), json.dumps(manifest, indent=2, sort_keys=True) + "\n")


def read_manifest(stage_dir: Path, shard: Shard) -> dict | None:
    path = manifest_path(stage_dir, shard)
    if not path.is_file():
        return None
    try:
        return json.loads(path.read_text())
    except (OSError, json.JSONDecodeError):
        return None  # unreadable: treated as unfinished and rerun


class DataError(ValueError):
    """A data file the user pointed at cannot be read as what it should be (a user error, not a bug)."""


def parse_jsonl(lines, where: str) -> list[dict]:
    """JSON objects from ``lines``; a bad line raises DataError naming ``where``, line and column."""
    out = []
    for n, line in enumerate(lines, 1):
        if line.strip():
            try:
                out.append(json.loads(line))
            except json.JSONDecodeError as e:
                raise DataError(
                    f"{where} line {n} is not valid JSON ({e.msg} at char {e.pos}: "
                    f"{line[max(0, e.pos - 40):e.pos + 40].strip()!r}); every line of a JSONL file must be one "
                    "JSON object. Fix or remove that line"
                ) from e
    return out


def read_jsonl(path: Path) -> list[dict]:
    with open(path, encoding="utf-8") as f:
        return parse_jsonl(f, str(path))


def shard_sets(stage_dir: Path) -> dict[int, list[Path]]:
    """Manifests in ``stage_dir`` grouped by shard count ``n``."""
    sets: dict[int, list[Path]] = {}
    for p in sorted(stage_dir.glob("manifest-*-of-*.json")):
        try:
            n = int(p.stem.rsplit("-of-", 1)[1])
        except (IndexError, ValueError):
            continue
        sets.setdefault(n, []).append(p)
    return sets


def git_commit() -> str | None:
    try:
        out = subprocess.run(
            ["git", "rev-parse", "HEAD"], cwd=Path(__file__).parent, capture_output=True, text=True, timeout=5
        )
    except (OSError, subprocess.TimeoutExpired):
        return None
    return out.stdout.strip() or None if out.returncode == 0 else None


class Checkpoint:
    """Append-only per-item results of a running stage, keyed by a string per item."""

    def __init__(self, path: Path):
        self.path = path
        self.done: dict[str, Any] = {}
        if path.is_file():
            good = 0
            with open(path, "rb") as f:
                for line in f:
                    try:
                        row = json.loads(line)
                    except (json.JSONDecodeError, UnicodeDecodeError):
                        break  # a line cut by a crash: everything before it is good
                    self.done[row["key"]] = row["value"]
                    good += len(line)
            if good < path.stat().st_size:
                os.truncate(path, good)  # drop the torn tail so new lines start clean

    def add(self, items: list[tuple[str, Any]]) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with open(self.path, "a", encoding="utf-8") as f:
            for key, value in items:
                f.write(json.dumps({"key": key, "value": value}, ensure_ascii=False) + "\n")
                self.done[key] = value
            f.flush()
            os.fsync(f.fileno())
