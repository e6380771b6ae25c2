"""Prompt templates: one text file each under ``kodcode/synth/prompts/``, versioned by content hash.

Placeholders are ``{{name}}`` (so JSON examples with single braces need no escaping).  The hash of
the file goes into every record's metadata and, through ``@stage(prompts=...)``, into the stage's
config hash; the rendered text is part of each LLM request, so editing a template changes the
cache keys of exactly the requests it affects.

    from kodcode.synth.templates import load_prompt
    prompt = load_prompt("question_from_seeds.txt")
    text = prompt.render(examples=..., next_label=...)
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


@functools.cache
def load_prompt(name: str) -> Prompt:
    return Prompt(name, (PROMPTS_DIR / name).read_text(encoding="utf-8"))
