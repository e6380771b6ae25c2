"""Per-request result cache: one SQLite file, safe to share between processes.

Keys are ``GenerationRequest.cache_key(backend, model)`` (every field that changes the output, so a
changed prompt template, seed or sampling setting is a different key).  Values are the JSON of a
``GenerationResult``.  Backends store results as soon as a batch (hf/vllm) or a single request
(openai) finishes, which makes the cache the per-item checkpoint of every LLM stage: a crash loses
only the requests in flight.  SQLite in WAL mode with a busy timeout lets many shard processes on
one file system read and write the same file.
"""

from __future__ import annotations

import json
import sqlite3
import threading
import time
from dataclasses import asdict
from pathlib import Path

from kodcode.llm.types import GenerationResult

_TIMEOUT_S = 60.0
_SCHEMA = "CREATE TABLE IF NOT EXISTS results (key TEXT PRIMARY KEY, value TEXT NOT NULL)"


class ResultCache:
    """``get_many`` / ``put_many`` over a SQLite file at ``<dir>/results.sqlite``."""

    def __init__(self, directory: str | Path):
        self.path = Path(directory) / "results.sqlite"
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._lock = threading.Lock()
        self._conn = sqlite3.connect(str(self.path), timeout=_TIMEOUT_S, check_same_thread=False)
        # Switching a new file to WAL takes an exclusive lock that SQLite's busy timeout does not wait
        # for: processes that open a fresh cache at the same moment get "database is locked" at once.
        deadline = time.monotonic() + _TIMEOUT_S
        delay = 0.01
        with self._lock:
            while True:
                try:
                    self._conn.execute("PRAGMA journal_mode=WAL")
                    self._conn.execute("PRAGMA synchronous=NORMAL")
                    self._conn.execute(_SCHEMA)
                    self._conn.commit()
                    break
                except sqlite3.OperationalError as e:
                    if "locked" not in str(e) or time.monotonic() + delay > deadline:
                        raise
                    time.sleep(delay)
                    delay = min(delay * 2, 0.5)

    def get_many(self, keys: list[str]) -> dict[str, GenerationResult]:
        found: dict[str, GenerationResult] = {}
        unique = list(dict.fromkeys(keys))
        with self._lock:
            for i in range(0, len(unique), 500):  # SQLite's bound-parameter limit
                chunk = unique[i : i + 500]
                rows = self._conn.execute(
                    f"SELECT key, value FROM results WHERE key IN ({','.join('?' * len(chunk))})", chunk
                ).fetchall()
                for key, value in rows:
                    found[key] = GenerationResult(**json.loads(value))
        return found

    def put_many(self, items: list[tuple[str, GenerationResult]]) -> None:
        if not items:
            return
        with self._lock:
            self._conn.executemany(
                "INSERT OR REPLACE INTO results (key, value) VALUES (?, ?)",
                [(k, json.dumps(asdict(r))) for k, r in items],
            )
            self._conn.commit()

    def __len__(self) -> int:
        with self._lock:
            return self._conn.execute("SELECT COUNT(*) FROM results").fetchone()[0]

    def close(self) -> None:
        with self._lock:
            self._conn.close()
