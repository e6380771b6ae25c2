"""Config schemas shared by every entry point, and the one-pass validator.

Each entry point declares its config as nested dataclasses (its schema).  A field's allowed values
are declared next to it with ``setting`` (``timeout_s: float = setting(10.0, gt=0, why="...")``), not
checked by hand; ``validate`` walks a composed Hydra/OmegaConf config against the schema and reports
*every* problem in one ``ConfigError``, each line naming the full key path, the value received, the
rule, and a fix::

    exec.timeout_s=-1.0: must be > 0 (it bounds each job's CPU time); set exec.timeout_s=10.0
    exec.timout_s=3: not a key of ExecConfig; did you mean exec.timeout_s?

A dataclass may add ``check() -> list[str]`` for rules that relate several fields (one key requires
another, two keys exclude each other); its messages start with the field name relative to that
dataclass and the path is prefixed here.  Single-field ranges and choices belong in ``setting``.
"""

from __future__ import annotations

import dataclasses
import difflib
import types
import typing
from collections.abc import Callable
from dataclasses import MISSING
from typing import Any, get_args, get_origin, get_type_hints


class ConfigError(ValueError):
    """All problems found in one config, one per line."""

    def __init__(self, problems: list[str]):
        self.problems = problems
        super().__init__("invalid config:\n  - " + "\n  - ".join(problems))


@dataclasses.dataclass(frozen=True)
class Rule:
    """What one field may hold.  Bounds apply to numbers (and to each number of a list); ``one_of``
    to the value (for a list, to each item; for a mapping, to each key); ``min_len`` to strings and lists.  None always
    passes: whether a field may be null is its type's business."""

    gt: float | None = None
    ge: float | None = None
    lt: float | None = None
    le: float | None = None
    one_of: tuple | None = None
    min_len: int | None = None
    why: str = ""  # what the field does, shown after the rule
    fix: str | None = None  # shown as "set <path>=<fix>"; None: the field's default, when it obeys the rule

    def describe(self, value: Any = None) -> str:
        """The rule in words; for a value that is too short, only that part."""
        short = self.min_len and isinstance(value, (str, list, tuple)) and len(value) < self.min_len
        if short:
            return "must not be empty" if self.min_len == 1 else f"must have at least {self.min_len} items"
        parts = []
        lo = f"> {self.gt}" if self.gt is not None else f">= {self.ge}" if self.ge is not None else None
        hi = f"< {self.lt}" if self.lt is not None else f"<= {self.le}" if self.le is not None else None
        if lo and hi:
            parts.append(f"must be {lo} and {hi}")
        elif lo or hi:
            parts.append(f"must be {lo or hi}")
        if self.one_of is not None:
            parts.append(f"must be one of {', '.join(map(str, self.one_of))}")
        if self.min_len and value is None:
            parts.append("must not be empty" if self.min_len == 1 else f"must have at least {self.min_len} items")
        return " and ".join(parts)

    def broken(self, value: Any) -> list[Any]:
        """The offending parts of ``value`` (itself, or the list items that break the rule)."""
        if value is None:
            return []
        if isinstance(value, dict):  # the rule is on the keys
            return [k for k in value if self.one_of is not None and k not in self.one_of]
        if isinstance(value, (list, tuple)):
            if self.min_len is not None and len(value) < self.min_len:
                return [value]
            return [v for v in value if self._item_broken(v)]
        if isinstance(value, str) and self.min_len is not None and len(value) < self.min_len:
            return [value]
        return [value] if self._item_broken(value) else []

    def _item_broken(self, v: Any) -> bool:
        if self.one_of is not None and v not in self.one_of:
            return True
        if isinstance(v, (int, float)) and not isinstance(v, bool):
            return ((self.gt is not None and not v > self.gt) or (self.ge is not None and not v >= self.ge)
                    or (self.lt is not None and not v < self.lt) or (self.le is not None and not v <= self.le))
        return False


def setting(default: Any = MISSING, *, default_factory: Callable[[], Any] | Any = MISSING,
            gt: float | None = None, ge: float | None = None, lt: float | None = None, le: float | None = None,
            one_of: typing.Iterable | None = None, min_len: int | None = None, why: str = "",
            fix: str | None = None) -> Any:
    """A dataclass field with its allowed values declared (see ``Rule``)."""
    rule = Rule(gt, ge, lt, le, tuple(one_of) if one_of is not None else None, min_len, why, fix)
    return dataclasses.field(default=default, default_factory=default_factory, metadata={"rule": rule})


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


def _show(value: Any) -> str:
    return value if isinstance(value, str) and value and " " not in value else repr(value)


def _rule_problem(full: str, value: Any, rule: Rule, default: Any) -> str | None:
    bad = rule.broken(value)
    if not bad:
        return None
    if isinstance(value, dict):
        got = f"{full}: its keys {rule.describe(value)}"
    else:
        got = f"{full}={_show(value)}: {rule.describe(value)}"
    if isinstance(value, (list, tuple, dict)) and bad != [value]:
        got += f" (not allowed: {', '.join(map(_show, bad))})"
    if rule.why:
        got += f" ({rule.why})"
    fix = rule.fix
    if fix is None and default is not MISSING and default is not None and not rule.broken(default):
        fix = _show(default) if not isinstance(default, (list, tuple)) else "[" + ",".join(map(_show, default)) + "]"
    return got + (f"; set {full}={fix}" if fix is not None else "")


def _unknown_key(path: str, key: str, value: Any, schema: type, known: list[str]) -> str:
    full = f"{path + '.' if path else ''}{key}"
    near = difflib.get_close_matches(key, known, n=1, cutoff=0.6)
    hint = (f"did you mean {path + '.' if path else ''}{near[0]}?" if near
            else f"known keys: {', '.join(sorted(known))}")
    shown = "{...}" if isinstance(value, dict) else _show(value)
    return f"{full}={shown}: not a key of {schema.__name__}; {hint}"


def _build(schema: type, data: Any, path: str, problems: list[str]) -> Any:
    if not isinstance(data, dict):
        problems.append(f"{path or '<root>'}={_show(data)}: must be a mapping (got {type(data).__name__})")
        return None
    hints = get_type_hints(schema)
    fields = {f.name: f for f in dataclasses.fields(schema)}
    for key in data:
        if key not in fields:
            problems.append(_unknown_key(path, str(key), data[key], schema, list(fields)))
    kwargs, whole = {}, True
    for name, f in fields.items():
        full = f"{path + '.' if path else ''}{name}"
        if name not in data:
            if f.default is MISSING and f.default_factory is MISSING:
                problems.append(f"{full}: required and missing; set it on the command line ({full}=...)")
            continue
        value, tp = data[name], hints[name]
        sub = _dataclass_in(tp)
        if sub is not None and isinstance(value, dict):
            kwargs[name] = _build(sub, value, full, problems)
            whole = whole and kwargs[name] is not None
            continue
        if value == "???":  # Hydra's mandatory-value marker, never filled in
            problems.append(f"{full}=???: required and missing; set it on the command line ({full}=...)")
            continue
        if not _type_ok(value, tp):
            problems.append(f"{full}={_show(value)}: must be of type {_tname(tp)} (got {type(value).__name__})")
            continue
        rule = f.metadata.get("rule")
        default = f.default if f.default is not MISSING else (
            f.default_factory() if f.default_factory is not MISSING else MISSING)
        msg = _rule_problem(full, value, rule, default) if rule is not None else None
        if msg:
            problems.append(msg)
        kwargs[name] = float(value) if tp is float else value
    try:
        obj = schema(**kwargs)
    except TypeError:
        return None  # missing keys already reported
    check = getattr(obj, "check", None)
    if check is not None and whole:  # relations need every section built (a broken one is reported above)
        problems.extend(f"{path + '.' if path else ''}{msg}" for msg in check() or [])
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


def to_data(cfg: Any) -> Any:
    """Plain containers from a DictConfig or dict (resolved, without Hydra's own ``hydra`` node)."""
    if not isinstance(cfg, (dict, list)) and type(cfg).__module__.startswith("omegaconf"):
        from omegaconf import OmegaConf  # only configs that came from Hydra need it (kodcode.exec has none)

        cfg = OmegaConf.to_container(cfg, resolve=True)
    data = cfg
    if isinstance(data, dict):
        data = {k: v for k, v in data.items() if k != "hydra"}
    return data


def collect(cfg: Any, schema: type, path: str, problems: list[str]) -> Any:
    """Build ``schema`` from ``cfg`` with key paths under ``path``, appending problems instead of
    raising (for schemas that validate sections of a bigger config in the same pass)."""
    return _build(schema, to_data(cfg if cfg is not None else {}), path, problems)


def validate(cfg: Any, schema: type) -> Any:
    """Return ``schema`` built from ``cfg`` or raise ``ConfigError`` listing every problem."""
    problems: list[str] = []
    obj = collect(cfg, schema, "", problems)
    if problems:
        raise ConfigError(problems)
    return obj


def problems_of(obj: Any, path: str = "") -> list[str]:
    """Every problem of an already-built schema instance (code that builds one in Python, not Hydra)."""
    problems: list[str] = []
    _build(type(obj), dataclasses.asdict(obj), path, problems)
    return problems
