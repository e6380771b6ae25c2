"""Prompt templates: one text file each under ``kodcode/synth/prompts/``, versioned by content hash.

Placeholders are ``{{name}}`` (so JSON examples with single braces need no escaping).  The hash of
the file goes into every record's metadata and, through ``@stage(prompts=...)``, into the stage's
config hash; the rendered text is part of each LLM request, so editing a template changes the
cache keys of exactly the requests it affects.

    from kodcode.synth.templates import load_prompt
    prompt = load_prompt("question_from_seeds.txt")
    text = prompt.render(examples=..., next_label=...)

Any of them can be replaced by a file of one's own, per prompt, from the command line:
``prompts.solve_triplet=/path/to/my_solve.txt`` (the key is the file name without ``.txt``; relative
paths resolve against the working directory, then the project directory).  The replacement's
content hash goes into the stage's config hash like the shipped file's, so editing it reruns the
stage.  It must use the same ``{{placeholders}}`` as the file it replaces (``render`` says which).
"""

from __future__ import annotations

import functools
import hashlib
import re
from dataclasses import dataclass
from pathlib import Path

PROMPTS_DIR = Path(__file__).parent / "prompts"
_PLACEHOLDER = re.compile(r"\{\{(\w+)\}\}")


@dataclass(frozen=True)
class Prompt:
    name: str
    text: str

    @property
    def version(self) -> str:
        return hashlib.sha256(self.text.encode()).hexdigest()[:12]

    @property
    def tag(self) -> str:
        return f"{self.name}@{self.version}"

    def render(self, **values: str) -> str:
        names = set(_PLACEHOLDER.findall(self.text))
        missing, extra = names - set(values), set(values) - names
        if missing or extra:
            raise KeyError(f"prompt {self.name}: missing values {sorted(missing)}, unexpected {sorted(extra)}")
        # One pass, so a value that itself contains "{{x}}" is left alone.
        return _PLACEHOLDER.sub(lambda m: str(values[m.group(1)]), self.text)


_OVERRIDES: dict[str, str] = {}  # prompt stem -> path, from the run's ``prompts`` config


def set_overrides(overrides: dict[str, str]) -> None:
    """Use these files instead of the shipped prompts (keys: file names without ``.txt``)."""
    _OVERRIDES.clear()
    _OVERRIDES.update(overrides or {})


def prompt_path(name: str) -> Path:
    from kodcode.synth.paths import resolve_path

    stem = name.removesuffix(".txt")
    if stem in _OVERRIDES:
        return resolve_path(_OVERRIDES[stem])
    return PROMPTS_DIR / name


def shipped_names() -> list[str]:
    return sorted(p.stem for p in PROMPTS_DIR.glob("*.txt"))


def load_prompt(name: str) -> Prompt:
    return _read(str(prompt_path(name)), name)


@functools.cache
def _read_cached(path: str, mtime_ns: int, name: str) -> Prompt:
    return Prompt(name, Path(path).read_text(encoding="utf-8"))


def _read(path: str, name: str) -> Prompt:
    return _read_cached(path, Path(path).stat().st_mtime_ns, name)
