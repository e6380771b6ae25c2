"""The generation interface every backend implements, with the result cache in front of it.

    results = llm.generate([GenerationRequest(messages=[...], n=3, temperature=0.8)])
    results[0].texts  # three samples

``generate`` looks every request up in the cache, hands the backend only what is missing, and
stores each result as soon as the backend yields it (per batch or per request), so an interrupted
run resumes without paying twice.  ``stats`` counts what was generated and what came from the
cache (the resume tests read it).  Backends implement ``_generate``: given the full request list and
which of them are needed, yield lists of ``(index, GenerationResult)`` pairs as they complete (one
list per batch or per request); each list is committed to the cache before the next is asked for.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from dataclasses import dataclass, replace
from pathlib import Path

from kodcode.llm.cache import ResultCache
from kodcode.llm.config import LLMConfig, ModelConfig
from kodcode.llm.types import GenerationRequest, GenerationResult

# Marks where the user's text starts when a pre-query template is derived from a chat template.
_SENTINEL = "\x00KODCODE_USER_TURN\x00"


class LLMError(RuntimeError):
    """A generation backend could not do what was asked (unreachable server, bad model, ...)."""


@dataclass
class LLMStats:
    requests: int = 0  # requests asked for
    cached: int = 0  # answered from the cache
    generated: int = 0  # sent to the backend and finished
    backend_calls: int = 0  # batches (hf/vllm) or HTTP requests (openai) issued
    prompt_tokens: int = 0  # of the generated requests (not the cached ones), as the backend counted
    completion_tokens: int = 0


def default_cache_dir() -> Path:
    root = os.environ.get("KODCODE_CACHE") or Path.home() / ".cache" / "kodcode"
    return Path(root) / "llm"


class LLM:
    backend = "base"

    def __init__(self, llm_cfg: LLMConfig, model_cfg: ModelConfig, cache_dir: str | Path | None = None):
        self.cfg = llm_cfg
        self.model_cfg = model_cfg
        self.stats = LLMStats()
        self.cache: ResultCache | None = None
        if llm_cfg.cache:
            self.cache = ResultCache(cache_dir or llm_cfg.cache_dir or default_cache_dir())

    # -- what subclasses provide -------------------------------------------------------------
    @property
    def model_id(self) -> str:
        """Identity of the weights in cache keys."""
        return self.model_cfg.name_or_path

    def _generate(
        self, requests: list[GenerationRequest], needed: list[bool]
    ) -> Iterator[list[tuple[int, GenerationResult]]]:
        raise NotImplementedError

    def chat_template(self) -> str | None:
        """The model's chat template source, when the backend has a tokenizer."""
        return None

    def render_chat(self, messages: list[dict], add_generation_prompt: bool = True) -> str:
        raise LLMError(
            f"backend {self.backend} cannot render chat templates; set model.pre_query_template or "
            "model.tokenizer to a tokenizer directory"
        )

    # -- shared logic ------------------------------------------------------------------------
    def with_model_defaults(self, request: GenerationRequest) -> GenerationRequest:
        """Add the model's configured stop strings/ids (e.g. a chat model's end-of-turn)."""
        stop = list(dict.fromkeys([*request.stop, *self.model_cfg.stop]))
        ids = list(dict.fromkeys([*request.stop_token_ids, *self.model_cfg.stop_token_ids]))
        if stop == request.stop and ids == request.stop_token_ids:
            return request
        return replace(request, stop=stop, stop_token_ids=ids)

    def generate(self, requests: list[GenerationRequest], *, progress: bool | None = None,
                 desc: str = "generate") -> list[GenerationResult]:
        requests = [self.with_model_defaults(r) for r in requests]
        keys = [r.cache_key(self.backend, self.model_id) for r in requests]
        self.stats.requests += len(requests)
        results: list[GenerationResult | None] = [None] * len(requests)
        hits = self.cache.get_many(keys) if self.cache is not None else {}
        first_of: dict[str, int] = {}
        needed = [False] * len(requests)
        for i, key in enumerate(keys):
            if key in hits:
                results[i] = hits[key]
                self.stats.cached += 1
            elif key not in first_of:  # identical requests are generated once
                first_of[key] = i
                needed[i] = True
        todo = sum(needed)
        bar = None
        show = self.cfg.progress if progress is None else progress
        if todo and show:
            from tqdm.auto import tqdm

            bar = tqdm(total=todo, desc=f"{desc} [{self.backend}]", leave=False)
        try:
            for batch in self._generate(requests, needed):
                for i, result in batch:
                    results[i] = result
                self.stats.generated += len(batch)
                self.stats.prompt_tokens += sum(r.prompt_tokens for _, r in batch)
                self.stats.completion_tokens += sum(sum(r.completion_tokens) for _, r in batch)
                # Committed before the backend starts its next batch: the crash window is what is
                # in flight.
                if self.cache is not None:
                    self.cache.put_many([(keys[i], r) for i, r in batch])
                if bar is not None:
                    bar.update(len(batch))
        finally:
            if bar is not None:
                bar.close()
        for i, key in enumerate(keys):
            if results[i] is None:
                source = first_of.get(key)
                if source is None or results[source] is None:
                    raise LLMError(f"backend {self.backend} returned no result for request {i}")
                results[i] = results[source]
        return results  # type: ignore[return-value]

    def pre_query_template(self, system_prompt: str | None = None) -> str:
        """Text that opens a user turn (MAGPIE prefill): configured, or cut from the chat template."""
        if self.model_cfg.pre_query_template is not None:
            return self.model_cfg.pre_query_template
        messages = []
        system_prompt = system_prompt if system_prompt is not None else self.model_cfg.system_prompt
        if system_prompt is not None:
            messages.append({"role": "system", "content": system_prompt})
        messages.append({"role": "user", "content": _SENTINEL})
        rendered = self.render_chat(messages, add_generation_prompt=False)
        if _SENTINEL not in rendered:
            raise LLMError(
                f"could not derive a pre-query template from {self.model_id}'s chat template (the user "
                "text does not appear verbatim in it); set model.pre_query_template explicitly"
            )
        return rendered.split(_SENTINEL, 1)[0]

    def close(self) -> None:
        if self.cache is not None:
            self.cache.close()

    def __enter__(self) -> LLM:
        return self

    def __exit__(self, *exc) -> None:
        self.close()


def truncate_at_stop(text: str, stop: list[str]) -> tuple[str, bool]:
    """Cut ``text`` at the first stop string (excluded, as vLLM and OpenAI do)."""
    cut = min((text.find(s) for s in stop if s and s in text), default=-1)
    if cut < 0:
        return text, False
    return text[:cut], True
