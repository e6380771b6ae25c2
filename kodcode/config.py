"""Typed config validation shared by every entry point.

Each entry point declares its config as nested dataclasses (its schema).  ``validate`` checks a
composed Hydra/OmegaConf config against the schema and reports *every* problem in one
``ConfigError`` (unknown keys, missing keys, wrong types, and each dataclass's own ``check()``
rules), then returns a typed instance.  ``check()`` returns messages that start with the field
name relative to that dataclass (``"timeout_s must be > 0 (got -1): ..."``); the path is prefixed here.  Error lines follow the house format: what was received, the
rule, and the fix.
"""

from __future__ import annotations

import dataclasses
import types
import typing
from typing import Any, get_args, get_origin, get_type_hints

from omegaconf import DictConfig, ListConfig, OmegaConf


class ConfigError(ValueError):
    """All problems found in one config, one per line."""

    def __init__(self, problems: list[str]):
        self.problems = problems
        super().__init__("invalid config:\n  - " + "\n  - ".join(problems))


def _type_ok(value: Any, tp: Any) -> bool:
    if tp is Any:
        return True
    origin = get_origin(tp)
    if origin in (typing.Union, types.UnionType):
        return any(_type_ok(value, a) for a in get_args(tp))
    if origin is typing.Literal:
        return value in get_args(tp)
    if tp is type(None):
        return value is None
    if origin in (list, tuple):
        return isinstance(value, (list, tuple))
    if origin is dict:
        return isinstance(value, dict)
    if tp is float:
        return isinstance(value, (int, float)) and not isinstance(value, bool)
    if tp is int:
        return isinstance(value, int) and not isinstance(value, bool)
    if isinstance(tp, type):
        return isinstance(value, tp)
    return True


def _build(schema: type, data: Any, path: str, problems: list[str]) -> Any:
    if not isinstance(data, dict):
        problems.append(f"{path or '<root>'} must be a mapping (got {type(data).__name__}: {data!r})")
        return None
    hints = get_type_hints(schema)
    fields = {f.name: f for f in dataclasses.fields(schema)}
    for key in data:
        if key not in fields:
            problems.append(
                f"{path + '.' if path else ''}{key} is not a known key of {schema.__name__} "
                f"(known: {', '.join(sorted(fields))}); remove it or fix its spelling"
            )
    kwargs = {}
    for name, f in fields.items():
        full = f"{path + '.' if path else ''}{name}"
        if name not in data:
            if f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING:
                problems.append(f"{full} is required and missing; set it on the command line ({full}=...)")
            continue
        value, tp = data[name], hints[name]
        sub = _dataclass_in(tp)
        if sub is not None and isinstance(value, dict):
            kwargs[name] = _build(sub, value, full, problems)
        elif value is None and _type_ok(None, tp):
            kwargs[name] = None
        elif not _type_ok(value, tp):
            problems.append(f"{full} must be of type {_tname(tp)} (got {type(value).__name__}: {value!r})")
        else:
            kwargs[name] = float(value) if tp is float else value
    try:
        obj = schema(**kwargs)
    except TypeError:
        return None  # missing keys already reported
    check = getattr(obj, "check", None)
    if check is not None:
        for msg in check() or []:
            problems.append(f"{path + '.' if path else ''}{msg}")
    return obj


def _dataclass_in(tp: Any) -> type | None:
    if dataclasses.is_dataclass(tp):
        return tp
    for a in get_args(tp):
        if dataclasses.is_dataclass(a):
            return a
    return None


def _tname(tp: Any) -> str:
    return getattr(tp, "__name__", None) or str(tp).replace("typing.", "")


def validate(cfg: DictConfig | dict, schema: type) -> Any:
    """Return ``schema`` built from ``cfg`` or raise ``ConfigError`` listing every problem."""
    data = OmegaConf.to_container(cfg, resolve=True) if isinstance(cfg, (DictConfig, ListConfig)) else cfg
    if isinstance(data, dict):
        data = {k: v for k, v in data.items() if k != "hydra"}
    problems: list[str] = []
    obj = _build(schema, data, "", problems)
    if problems:
        raise ConfigError(problems)
    return obj
