"""One generation interface over three backends: ``hf`` (transformers, CPU/tests), ``openai`` (any
OpenAI-compatible server) and ``vllm`` (offline GPU engine), plus ``scripted`` for tests.

    from kodcode.llm import build_llm, GenerationRequest
    llm = build_llm(cfg)                       # cfg has `llm` and `model` (the entry point's config)
    llm = build_llm({"llm": {"backend": "hf"}, "model": {"name_or_path": "tiny"}})
    [res] = llm.generate([GenerationRequest(messages=[{"role": "user", "content": "hi"}], n=2)])
    res.texts, res.finish_reasons

Backends are imported only when chosen (no vllm/httpx/torch import for a backend you don't use).
Every backend sits behind the per-request cache (``kodcode/llm/cache.py``).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from kodcode.llm.base import LLM, LLMError, LLMStats
from kodcode.llm.config import LLMConfig, ModelConfig
from kodcode.llm.types import GenerationRequest, GenerationResult

__all__ = [
    "LLM",
    "LLMConfig",
    "LLMError",
    "LLMStats",
    "ModelConfig",
    "GenerationRequest",
    "GenerationResult",
    "build_llm",
]


def _typed(value: Any, schema: type, path: str, problems: list[str]):
    from kodcode.config import collect, problems_of

    if isinstance(value, schema):
        problems += problems_of(value, path)
        return value
    return collect(value, schema, path, problems)


def build_llm(cfg: Any = None, *, llm: Any = None, model: Any = None, cache_dir: str | Path | None = None) -> LLM:
    """Build the backend named by ``cfg.llm.backend`` for ``cfg.model``.

    ``cfg`` is any mapping with ``llm`` and ``model`` entries (an entry point's composed config);
    ``llm=``/``model=`` pass them separately (dicts, DictConfigs or the dataclasses).  Both are
    validated; every problem is reported at once.
    """
    if cfg is not None:
        llm = cfg["llm"] if llm is None else llm
        model = cfg["model"] if model is None else model
    from kodcode.config import ConfigError

    problems: list[str] = []
    llm_cfg: LLMConfig = _typed(llm, LLMConfig, "llm", problems)
    model_cfg: ModelConfig = _typed(model, ModelConfig, "model", problems)
    if problems:
        raise ConfigError(problems)
    if llm_cfg.backend == "hf":
        from kodcode.llm.hf import HFLLM as Backend
    elif llm_cfg.backend == "openai":
        from kodcode.llm.openai_api import OpenAILLM as Backend
    elif llm_cfg.backend == "vllm":
        from kodcode.llm.vllm_engine import VLLMEngine as Backend
    elif llm_cfg.backend == "scripted":  # (only when named: replies from llm.script, for tests)
        from kodcode.llm.scripted import ScriptedLLM

        return ScriptedLLM(None, llm_cfg, model_cfg, cache_dir)
    else:  # (validated above; kept so that a new backend name can never fall through to another)
        raise ValueError(f"llm.backend={llm_cfg.backend!r} is not one of hf, openai, vllm, scripted")
    return Backend(llm_cfg, model_cfg, cache_dir)
