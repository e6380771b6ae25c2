"""Seed sources for Step 1: local JSONL/JSON/Parquet files (optionally .gz) or Hugging Face datasets.

``SeedSource`` is the ``seeds`` block of a subset (``conf/synth/subset/<name>.yaml``)::

    seeds: {path: conf/synth/seeds/leetcode.jsonl, field: description, id_field: id}
    seeds: {hf_name: some/dataset, split: train, field: question}

``load_seeds`` returns ``Seed(id, text, extra)`` rows; ``extra`` keeps the named ``extra_fields``
(docs: the package name).  Relative paths are resolved against the working directory first, then
the package directory (``kodcode/synth/paths.py``), so configs work from any directory.  Files are read
by ``kodcode.rows``; every problem is a ``SeedError`` naming the subset, the file, the line and the fix.
"""

from __future__ import annotations

from dataclasses import dataclass
from dataclasses import field as dc_field
from pathlib import Path
from typing import Any

from kodcode.rows import RowsError, read_rows
from kodcode.synth.paths import looked_in, resolve_path


class SeedError(ValueError):
    """Seeds could not be loaded (missing or malformed file, unknown column, empty source)."""


@dataclass
class SeedSource:
    path: str | None = None
    hf_name: str | None = None
    hf_config: str | None = None
    split: str = "train"
    field: str = "question"  # the text column: a question, a code snippet, a documentation page
    id_field: str | None = None  # None: the row number
    extra_fields: list[str] = dc_field(default_factory=list)
    limit: int | None = None  # first N rows only

    def check(self) -> list[str]:
        if (self.path is None) == (self.hf_name is None):
            return [
                f"path={self.path}, hf_name={self.hf_name}: exactly one of them must be set; "
                "point path at a local JSONL/Parquet file or hf_name at a dataset"
            ]
        return []


@dataclass
class Seed:
    id: str
    text: str
    extra: dict[str, Any] = dc_field(default_factory=dict)


def _read_rows(p: Path, subset: str) -> list[dict]:
    try:
        return list(read_rows(p))
    except RowsError as e:
        raise SeedError(f"subset {subset}: {e}") from e


def _hf_rows(src: SeedSource, subset: str) -> list[dict]:
    try:
        import datasets

        ds = datasets.load_dataset(src.hf_name, src.hf_config, split=src.split)
    except Exception as e:  # noqa: BLE001 - any loader failure becomes one clear message
        raise SeedError(
            f"subset {subset}: could not load Hugging Face dataset {src.hf_name!r} (config {src.hf_config!r}, "
            f"split {src.split!r}): {type(e).__name__}: {e}. On an offline machine download it elsewhere and "
            f"set subsets.{subset}.seeds.path to a local file instead"
        ) from e
    if src.limit is not None:
        ds = ds.select(range(min(src.limit, len(ds))))
    return ds.to_list()


def load_seeds(src: SeedSource, subset: str) -> list[Seed]:
    if src.path is not None:
        p = resolve_path(src.path)
        if not p.is_file():
            raise SeedError(
                f"subset {subset}: seed file {src.path} does not exist ({looked_in(src.path)}); "
                f"set subsets.{subset}.seeds.path to an existing JSONL/Parquet file"
            )
        rows = _read_rows(p, subset)
        where = str(p)
    else:
        rows = _hf_rows(src, subset)
        where = f"dataset {src.hf_name}"
    if src.limit is not None:
        rows = rows[: src.limit]
    if not rows:
        raise SeedError(f"subset {subset}: {where} has no rows; a subset needs at least one seed")
    seeds = []
    for n, row in enumerate(rows):
        if not isinstance(row, dict):
            raise SeedError(f"subset {subset}: row {n} of {where} is a {type(row).__name__}, not an object")
        missing = [c for c in [src.field, *src.extra_fields, *([src.id_field] if src.id_field else [])] if c not in row]
        if missing:
            raise SeedError(
                f"subset {subset}: row {n} of {where} has no column {missing[0]!r} (columns: {', '.join(sorted(row))}); "
                f"set subsets.{subset}.seeds.field (or id_field/extra_fields) to one of them"
            )
        text = row[src.field]
        if not isinstance(text, str) or not text.strip():
            continue  # an empty seed cannot inspire anything
        sid = str(row[src.id_field]) if src.id_field else str(n)
        seeds.append(Seed(sid, text, {k: row[k] for k in src.extra_fields}))
    if not seeds:
        raise SeedError(f"subset {subset}: every {src.field!r} value in {where} is empty")
    return seeds
