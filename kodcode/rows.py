"""Reading and writing rows (one dict per record) for every entry point, with one set of errors.

    from kodcode.rows import read_rows, write_rows
    rows = list(read_rows("data/train.jsonl.gz"))           # .jsonl, .json, .parquet; JSON optionally .gz
    rows = list(read_rows("KodCode/KodCode-V1", split="train"))  # a hub name or save_to_disk dir (`datasets`)
    write_rows("out/rows.parquet", rows)                     # a temp file beside it, then renamed

Every problem is a ``RowsError`` (a ``ValueError``; a missing file is also a ``FileNotFoundError``)
whose message names the file, the line where there is one, and the fix::

    data.jsonl:3: not valid JSON (Expecting ',' delimiter at char 8: '{"a": 1 "b": 2}') (fix: ...)

A caller that reports a malformed line and carries on (``python -m kodcode.exec verify``,
``kodcode.train.score``) reads ``numbered_rows(path, errors="keep")``, which yields a ``BadRow`` in
that line's place.  Only the standard library is imported here: pyarrow and ``datasets`` are imported
when a Parquet file or a dataset is read, so ``kodcode.exec`` can use this module too.
"""

from __future__ import annotations

import gzip
import io
import json
import os
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

JSON_SUFFIXES = (".jsonl", ".json")
FILE_SUFFIXES = (".jsonl", ".json", ".parquet", ".jsonl.gz", ".json.gz")
_FORMATS = "a .jsonl, .json or .parquet file (JSON optionally .gz), a save_to_disk directory or a hub name"


class RowsError(ValueError):
    """A file or dataset of rows cannot be read or written as rows (a user error, not a bug)."""


class RowsFileNotFoundError(RowsError, FileNotFoundError):
    """The file of rows does not exist."""


def _error(where: str, line: int | None, what: str, fix: str, cls=RowsError) -> RowsError:
    return cls(f"{where}{f':{line}' if line is not None else ''}: {what} (fix: {fix})")


@dataclass
class BadRow:
    """A line that is not a JSON object, kept in its place by ``numbered_rows(..., errors="keep")``."""

    file: str
    line: int
    raw: str  # the line as read, cut to 1,000 characters
    message: str  # ``FILE:LINE: what (fix: ...)``

    def __str__(self) -> str:
        return self.message


def json_line(line: str, where: str, n: int) -> Any:
    """One JSONL line parsed; a bad one raises ``RowsError`` naming ``where``, the line and the text there."""
    try:
        return json.loads(line)
    except json.JSONDecodeError as e:
        raise _error(where, n, f"not valid JSON ({e.msg} at char {e.pos}: "
                     f"{line[max(0, e.pos - 40):e.pos + 40].strip()!r})",
                     "every line of a JSONL file must be one JSON object; fix or remove that line") from e


def _suffix(path: Path) -> str:
    """``.jsonl``, ``.json.gz``, ...: the row format named by the file name ('' when it names none)."""
    name = path.name.lower()
    return next((s for s in sorted(FILE_SUFFIXES, key=len, reverse=True) if name.endswith(s)), "")


def _open_text(path: Path):
    return gzip.open(path, "rt", encoding="utf-8") if path.name.endswith(".gz") else open(path, encoding="utf-8")


def is_saved_dataset(path: Path) -> bool:
    return (path / "dataset_dict.json").is_file() or (path / "state.json").is_file()


def _looks_like_file(source: str) -> bool:
    p = Path(source)
    return p.is_absolute() or source.startswith(".") or bool(_suffix(p)) or p.suffix in (".gz", ".csv", ".txt")


def _check_file(path: Path) -> str:
    if not path.exists():
        raise _error(str(path), None, "does not exist", "check the path; relative paths are read from the "
                     f"working directory, {Path.cwd()}", RowsFileNotFoundError)
    kind = _suffix(path)
    if not kind:
        raise _error(str(path), None, f"unknown extension {''.join(path.suffixes) or '(none)'!r}",
                     f"give {_FORMATS}; convert the file or rename it if it is one of those")
    return kind


def numbered_rows(path: str | Path, errors: str = "raise") -> Iterator[tuple[int, dict | BadRow]]:
    """``(line, row)`` per record of a local file: the line number in a JSONL file, else the 1-based
    record number.  ``errors="keep"`` yields a ``BadRow`` for a malformed JSONL line instead of raising."""
    if errors not in ("raise", "keep"):
        raise ValueError(f"errors={errors!r}: use 'raise' or 'keep'")
    path = Path(path)
    kind = _check_file(path)
    if kind == ".parquet":
        yield from enumerate(_parquet_rows(path), 1)
        return
    try:
        with _open_text(path) as f:
            if kind in (".json", ".json.gz") or _peek(f) == "[":  # a JSON list (or JSONL named .json)
                text = f.read()
                data = _whole_json(text, path)
                if data is not None:
                    yield from enumerate(data, 1)
                    return
                f = io.StringIO(text)
            for n, line in enumerate(f, 1):
                if not line.strip():
                    continue
                try:
                    row = json_line(line, str(path), n)
                    if not isinstance(row, dict):
                        raise _error(str(path), n, f"a JSON {type(row).__name__}, not an object",
                                     "every line must be one JSON object with the row's columns")
                except RowsError as e:
                    if errors == "raise":
                        raise
                    yield n, BadRow(str(path), n, line[:1000], str(e))
                    continue
                yield n, row
    except (UnicodeDecodeError, gzip.BadGzipFile, EOFError) as e:
        raise _error(str(path), None, f"cannot be read as text ({type(e).__name__}: {e})",
                     "JSON files must be UTF-8, and a .gz file gzip-compressed; recompress or re-export it") from e


def _peek(f) -> str:
    """The first non-space character of text file ``f``, leaving ``f`` where it was."""
    pos = f.tell()
    while (c := f.read(1)) and c.isspace():
        pass
    f.seek(pos)
    return c


def _whole_json(text: str, path: Path) -> list[dict] | None:
    """The rows of a file holding one JSON value; None when it holds one JSON value a line (JSONL)."""
    try:
        data = json.loads(text)
    except json.JSONDecodeError as e:
        if e.msg == "Extra data" and not text.lstrip().startswith("["):
            return None
        raise _error(str(path), e.lineno, f"not valid JSON ({e.msg} at column {e.colno})",
                     "a .json file must be one JSON list of objects (or JSONL, one object a line)") from e
    if isinstance(data, dict):  # {"rows": [...]} or {id: row, ...}
        data = next((v for v in data.values() if isinstance(v, list)), list(data.values()))
    if not isinstance(data, list):
        raise _error(str(path), None, f"holds a JSON {type(data).__name__}, not a list of rows",
                     "write a JSON list of objects, or one object a line (JSONL)")
    for i, row in enumerate(data):
        if not isinstance(row, dict):
            raise _error(str(path), None, f"row {i} is a JSON {type(row).__name__}, not an object",
                         "every row must be a JSON object with the row's columns")
    return data


def _parquet_rows(path: Path) -> list[dict]:
    import pyarrow.parquet as pq

    try:
        return pq.read_table(path).to_pylist()
    except Exception as e:  # noqa: BLE001 - any pyarrow failure becomes one message naming the file
        raise _error(str(path), None, f"cannot be read as Parquet ({type(e).__name__}: {e})",
                     "re-export it, or give it the extension of what it really holds") from e


def load_dataset(source: str | Path, split: str = "train", revision: str | None = None):
    """``source`` as a ``datasets.Dataset``: a row file, a save_to_disk dir, a dir of data files, a hub name."""
    import datasets

    text = str(source)
    p = Path(source)
    if p.is_file():
        kind = _check_file(p)
        builder = "parquet" if kind == ".parquet" else "json"
        return datasets.load_dataset(builder, data_files=str(p), split="train")
    if p.is_dir():
        if is_saved_dataset(p):
            ds = datasets.load_from_disk(str(p))
            if isinstance(ds, datasets.DatasetDict):
                if split not in ds:
                    raise _error(text, None, f"has no split {split!r} (splits: {', '.join(ds)})",
                                 "choose one of those splits")
                ds = ds[split]
            return ds
        return datasets.load_dataset(str(p), split=split)
    if _looks_like_file(text):
        _check_file(p)
    try:
        return datasets.load_dataset(text, split=split, revision=revision)
    except FileNotFoundError as e:
        raise _error(text, None, f"is neither a local file nor a dataset on the hub ({e})",
                     f"give {_FORMATS}; on an offline machine download it first", RowsFileNotFoundError) from e


def read_rows(source: str | Path, split: str = "train", revision: str | None = None) -> Iterator[dict]:
    """The rows of ``source``: a local .jsonl/.json/.parquet file (JSON optionally .gz), a save_to_disk
    directory, or a Hugging Face dataset name (``split``, ``revision``); the last two need ``datasets``."""
    p = Path(source)
    if p.is_file() or _looks_like_file(str(source)) and not p.is_dir():
        for _, row in numbered_rows(p):
            yield row
        return
    yield from (dict(r) for r in load_dataset(source, split=split, revision=revision))


def write_rows(path: str | Path, rows: Iterable[dict], default=None, ensure_ascii: bool = False) -> Path:
    """Write ``rows`` to ``path`` (.jsonl, .json, .parquet; JSON optionally .gz) through a temp file
    renamed into place, so a reader never sees half a file.  ``default``, ``ensure_ascii``: as in
    ``json.dumps`` (``ensure_ascii=True`` for a reader that may not decode UTF-8)."""
    path = Path(path)
    kind = _suffix(path)
    if not kind:
        raise _error(str(path), None, f"unknown extension {''.join(path.suffixes) or '(none)'!r}",
                     "write to a .jsonl, .json or .parquet file (JSON optionally .gz)")
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp-{os.getpid()}")
    try:
        if kind == ".parquet":
            import pyarrow as pa
            import pyarrow.parquet as pq

            pq.write_table(pa.Table.from_pylist(list(rows)), tmp)
        else:
            opener = gzip.open if kind.endswith(".gz") else open
            with opener(tmp, "wt", encoding="utf-8") as f:
                if kind.startswith(".jsonl"):
                    for r in rows:
                        f.write(json.dumps(r, ensure_ascii=ensure_ascii, default=default) + "\n")
                else:
                    json.dump(list(rows), f, ensure_ascii=ensure_ascii, default=default)
                    f.write("\n")
        with open(tmp, "rb+") as f:
            os.fsync(f.fileno())
        os.replace(tmp, path)
    finally:
        if tmp.exists():
            tmp.unlink()
    return path
