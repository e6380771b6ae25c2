"""A scripted backend: replies come from a Python function instead of a model.

For tests of prompt building and parsing (the product's generation path, cache included, runs
unchanged; only the text is scripted).  ``ScriptedLLM(fn)`` takes ``fn(request) -> str | list[str] | GenerationResult``;
from config, ``llm=scripted llm.script=package.module:function`` names it.  ``calls`` records every
request the backend actually received (cache misses), which the resume tests count.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Iterator

from kodcode.llm.base import LLM, LLMError
from kodcode.llm.config import LLMConfig, ModelConfig
from kodcode.llm.types import GenerationRequest, GenerationResult

Script = Callable[[GenerationRequest], "str | list[str]"]


def load_script(spec: str) -> Script:
    module, _, name = spec.partition(":")
    try:
        return getattr(importlib.import_module(module), name)
    except (ImportError, AttributeError) as e:
        raise LLMError(f"llm.script={spec!r} does not name a function ({e}); use package.module:function") from e


class ScriptedLLM(LLM):
    backend = "scripted"

    def __init__(self, fn: Script | None = None, llm_cfg: LLMConfig | None = None,
                 model_cfg: ModelConfig | None = None, cache_dir=None):
        llm_cfg = llm_cfg or LLMConfig(backend="scripted", cache=cache_dir is not None, progress=False)
        super().__init__(llm_cfg, model_cfg or ModelConfig(name_or_path="scripted"), cache_dir)
        self.fn = fn or load_script(llm_cfg.script or "")
        self.calls: list[GenerationRequest] = []

    def render_chat(self, messages, add_generation_prompt=True):
        # A ChatML-like rendering, enough for prefill-template derivation in tests.
        text = "".join(f"<|im_start|>{m['role']}\n{m['content']}<|im_end|>\n" for m in messages)
        return text + ("<|im_start|>assistant\n" if add_generation_prompt else "")

    def _generate(self, requests, needed) -> Iterator[list[tuple[int, GenerationResult]]]:
        for i, need in enumerate(needed):
            if not need:
                continue
            r = requests[i]
            self.calls.append(r)
            self.stats.backend_calls += 1
            out = self.fn(r)
            if isinstance(out, GenerationResult):  # full control, e.g. finish_reasons="length"
                yield [(i, out)]
                continue
            texts = [out] * r.n if isinstance(out, str) else list(out)
            yield [(i, GenerationResult(texts, ["stop"] * len(texts), 0, [len(t.split()) for t in texts]))]
