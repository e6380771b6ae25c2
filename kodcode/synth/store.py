"""On-disk layout of a synth run: per-stage JSONL parts, manifests written last, hashing.

    <run_dir>/<stage>/part-00000-of-00001.jsonl        the stage's output records (one JSON per line)
    <run_dir>/<stage>/manifest-00000-of-00001.json     written LAST: config/input/code hashes, counts, timings
    <run_dir>/<stage>/checkpoint-00000-of-00001.jsonl  per-item results while the stage runs (deleted after)
    <run_dir>/<stage>/checkpoint-00000-of-00001.sqlite the same for streaming stages (looked up, not loaded)
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
import time
from pathlib import Path
from typing import Any

from kodcode.rows import RowsError as DataError  # noqa: F401 - the synth entry point's data error
from kodcode.rows import json_line, read_rows, write_rows

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
    return write_rows(part_path(stage_dir, shard), records)


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


def read_jsonl(path: Path) -> list[dict]:
    return list(read_rows(path))


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


class CheckpointTable:
    """``Checkpoint`` for streaming stages: per-item results in a SQLite table, looked up by key, so
    memory holds one batch rather than every result.  Each ``add`` is one committed transaction: a
    killed run keeps every batch it finished."""

    def __init__(self, path: Path):
        import sqlite3

        path.parent.mkdir(parents=True, exist_ok=True)
        self.path = path
        self._db = sqlite3.connect(path)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("CREATE TABLE IF NOT EXISTS done (key TEXT PRIMARY KEY, value TEXT)")
        self._db.commit()

    def get_many(self, keys: list[str]) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for s in range(0, len(keys), 900):  # SQLite's bound-parameter limit
            sub = keys[s:s + 900]
            rows = self._db.execute(f"SELECT key, value FROM done WHERE key IN ({','.join('?' * len(sub))})", sub)
            out.update((k, json.loads(v)) for k, v in rows)
        return out

    def add(self, items: list[tuple[str, Any]]) -> None:
        with self._db:
            self._db.executemany("INSERT OR REPLACE INTO done VALUES (?, ?)",
                                 [(k, json.dumps(v, ensure_ascii=False)) for k, v in items])

    def close(self) -> None:
        self._db.close()

    @staticmethod
    def remove(path: Path) -> None:
        for p in (path, path.with_name(path.name + "-wal"), path.with_name(path.name + "-shm")):
            p.unlink(missing_ok=True)


def checkpoint_table_path(stage_dir: Path, shard: Shard) -> Path:
    return stage_dir / f"checkpoint-{shard_tag(shard)}.sqlite"


# -- streaming: rows that are never all in memory ----------------------------------------------

def iter_jsonl(path: Path, start: int = 0, stop: int | None = None):
    """Records ``start`` to ``stop`` of ``path`` (blank lines do not count), parsed one at a time;
    the others are skipped unparsed, so a shard reads only its own slice."""
    k = 0
    with open(path, "rb") as f:
        for n, line in enumerate(f, 1):
            if not line.strip():
                continue
            if stop is not None and k >= stop:
                return
            if k >= start:
                yield json_line(line.decode("utf-8"), str(path), n)
            k += 1


def count_lines(path: Path) -> int:
    """Records in a JSONL file (non-blank lines)."""
    with open(path, "rb") as f:
        return sum(1 for line in f if line.strip())


class Rows:
    """A re-iterable, lazy sequence of records stored in JSONL parts (read in order).

    ``hash`` and ``count`` are known when the parts come with manifests; otherwise they are computed
    by one streaming pass.  ``slice(i, n)`` is the contiguous slice ``i`` of ``n`` (a shard's input),
    read without parsing the other lines."""

    def __init__(self, paths: list[Path], *, hash: str | None = None, count: int | None = None,
                 window: tuple[int, int] | None = None):
        self.paths, self._hash, self._count, self.window = list(paths), hash, count, window

    def __iter__(self):
        if self.window is None:
            for p in self.paths:
                yield from iter_jsonl(p)
            return
        start, stop = self.window
        offset = 0
        for p in self.paths:
            n = count_lines(p)
            if offset + n > start and offset < stop:
                yield from iter_jsonl(p, max(0, start - offset), stop - offset)
            offset += n

    def __len__(self) -> int:
        if self._count is None:
            self._count = (self.window[1] - self.window[0] if self.window is not None
                           else sum(count_lines(p) for p in self.paths))
        return self._count

    def slice(self, i: int, n: int) -> "Rows":
        base = self.window or (0, len(self))
        total = base[1] - base[0]
        return Rows(self.paths, window=(base[0] + total * i // n, base[0] + total * (i + 1) // n))

    @property
    def hash(self) -> str:
        if self._hash is None:
            self._hash = hash_records(self)
        return self._hash


def records_hash(records) -> str:
    """``hash_records`` that uses a ``Rows``' known hash instead of reading it again."""
    return records.hash if isinstance(records, Rows) else hash_records(records)


class StreamInput:
    """What a streaming stage reads: its input records, lazily, with ``len``.  Re-iterable: each pass
    reads the input again (dedup embeds on a first pass and writes on a second) and restarts the
    ``rows`` counter on the status line."""

    def __init__(self, records, work):
        self.records, self.work, self.passes = records, work, 0

    def __len__(self) -> int:
        return len(self.records)

    def __iter__(self):
        self.passes += 1
        if self.passes > 1:
            self.work.done, self.work.started = 0, time.monotonic()
        for r in self.records:
            self.work.advance()
            yield r


class PartWriter:
    """Writes a stage's records to its part as they come (temporary file, renamed on ``close``),
    hashing and counting them on the way: the same hash ``hash_records`` gives the whole list."""

    def __init__(self, stage_dir: Path, shard: Shard):
        stage_dir.mkdir(parents=True, exist_ok=True)
        self.path = part_path(stage_dir, shard)
        self._tmp = self.path.with_name(f".{self.path.name}.tmp-{os.getpid()}")
        self._f = open(self._tmp, "w", encoding="utf-8")
        self._h = hashlib.sha256()
        self.count = 0

    def write(self, record: dict) -> None:
        self._f.write(json.dumps(record, ensure_ascii=False) + "\n")
        self._h.update(canonical(record).encode())
        self._h.update(b"\n")
        self.count += 1

    @property
    def hash(self) -> str:
        return self._h.hexdigest()

    def close(self) -> Path:
        self._f.flush()
        os.fsync(self._f.fileno())
        self._f.close()
        os.replace(self._tmp, self.path)
        return self.path

    def abort(self) -> None:
        self._f.close()
        self._tmp.unlink(missing_ok=True)


def windows(records, size: int):
    """Consecutive lists of ``size`` records (the last one shorter) from any iterable."""
    window: list = []
    for r in records:
        window.append(r)
        if len(window) >= size:
            yield window
            window = []
    if window:
        yield window


def grouped(records, key, path: Path, batch: int = 10_000):
    """Lists of records with equal ``key(record)``, in order of each key's first appearance, records
    in input order within a list; the same groups whatever the input order (attempts of one question
    may be spread over the file).  An on-disk sort through SQLite at ``path`` (deleted after): memory
    holds one group and the keys seen, not the records."""
    import sqlite3

    path.parent.mkdir(parents=True, exist_ok=True)
    path.unlink(missing_ok=True)  # left by a killed run
    db = sqlite3.connect(path)
    try:
        db.execute("PRAGMA journal_mode=OFF")
        db.execute("PRAGMA synchronous=OFF")
        db.execute("CREATE TABLE r (g INTEGER, rec TEXT)")
        first: dict[Any, int] = {}
        rows: list[tuple[int, str]] = []
        for rec in records:
            rows.append((first.setdefault(key(rec), len(first)), json.dumps(rec, ensure_ascii=False)))
            if len(rows) >= batch:
                db.executemany("INSERT INTO r VALUES (?, ?)", rows)
                rows.clear()
        db.executemany("INSERT INTO r VALUES (?, ?)", rows)
        del first, rows
        db.execute("CREATE INDEX r_g ON r (g)")  # index entries sort by (g, rowid): input order in a group
        group: list[dict] = []
        current = None
        for g, text in db.execute("SELECT g, rec FROM r ORDER BY g, rowid"):
            if g != current and group:
                yield group
                group = []
            current = g
            group.append(json.loads(text))
        if group:
            yield group
    finally:
        db.close()
        path.unlink(missing_ok=True)
