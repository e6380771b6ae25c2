"""Backend for any OpenAI-compatible server: ``vllm serve``, SGLang, OpenAI, Together, DeepSeek.

Chat requests go to ``{base_url}/chat/completions``; raw prompts (MAGPIE prefill) to
``{base_url}/completions``.  Requests run concurrently (``llm.concurrency`` in flight, asyncio +
httpx), each with a timeout, and are retried with exponential backoff on connection errors,
timeouts, 408/409/429 and 5xx; other 4xx answers fail at once.  Every finished request is
committed to the cache immediately, so a crash loses only what was in flight.  The key comes from
the environment variable named by ``llm.api_key_env`` (never from config files).
"""

from __future__ import annotations

import asyncio
import os
import random
import threading
from collections.abc import Iterator

from kodcode.llm.base import LLM, LLMError
from kodcode.llm.config import LLMConfig, ModelConfig
from kodcode.llm.types import GenerationRequest, GenerationResult

_RETRY_STATUS = {408, 409, 429, 500, 502, 503, 504}


class ServerUnreachable(LLMError):
    pass


class OpenAILLM(LLM):
    backend = "openai"

    def __init__(self, llm_cfg: LLMConfig, model_cfg: ModelConfig, cache_dir=None):
        super().__init__(llm_cfg, model_cfg, cache_dir)
        self.base_url = (llm_cfg.base_url or "").rstrip("/")
        self._tokenizer = None

    @property
    def model_id(self) -> str:
        return self.model_cfg.api_name

    # Prefill templates need a tokenizer; a server does not expose one.
    def render_chat(self, messages, add_generation_prompt=True):
        if self.model_cfg.tokenizer is None:
            raise LLMError(
                f"backend openai cannot render {self.model_id}'s chat template without a tokenizer; set "
                "model.tokenizer=<local tokenizer dir> or model.pre_query_template"
            )
        if self._tokenizer is None:
            from transformers import AutoTokenizer

            self._tokenizer = AutoTokenizer.from_pretrained(self.model_cfg.tokenizer)
        return self._tokenizer.apply_chat_template(messages, tokenize=False, add_generation_prompt=add_generation_prompt)

    def _body(self, r: GenerationRequest) -> dict:
        body = {
            "model": self.model_id,
            "n": r.n,
            "temperature": r.temperature,
            "top_p": r.top_p,
            "max_tokens": r.max_tokens,
        }
        if r.messages is not None:
            body["messages"] = r.messages
        else:
            body["prompt"] = r.prompt
        if r.stop:
            body["stop"] = list(r.stop)
        if r.stop_token_ids:  # vLLM / SGLang extension
            body["stop_token_ids"] = list(r.stop_token_ids)
        if r.seed is not None:
            body["seed"] = r.seed
        body.update(self.cfg.extra_body)
        return body

    @staticmethod
    def _parse(r: GenerationRequest, data: dict) -> GenerationResult:
        choices = sorted(data.get("choices") or [], key=lambda c: c.get("index", 0))
        texts = []
        for c in choices:
            if r.messages is not None:
                texts.append((c.get("message") or {}).get("content") or "")
            else:
                texts.append(c.get("text") or "")
        usage = data.get("usage") or {}
        completion = usage.get("completion_tokens", 0)
        return GenerationResult(
            texts=texts,
            finish_reasons=[c.get("finish_reason") or "stop" for c in choices],
            prompt_tokens=usage.get("prompt_tokens", 0),
            # servers report a total over the n samples; split it evenly
            completion_tokens=[completion // max(len(choices), 1)] * len(choices),
        )

    def _unreachable(self, err: Exception) -> ServerUnreachable:
        name = self.model_cfg.name_or_path
        if name == "tiny":  # built in memory by kodcode.llm.tiny: no server can serve it
            start = "model=tiny is built in this process and has no server: use llm=hf for it, or set model.name_or_path"
        else:
            from urllib.parse import urlparse

            port = urlparse(self.base_url).port or 8000
            start = f"start a server (e.g. `vllm serve {name} --port {port}`)"
        return ServerUnreachable(
            f"could not reach the OpenAI-compatible server at llm.base_url={self.base_url} after "
            f"{self.cfg.max_retries + 1} tries ({type(err).__name__}: {err}). {start[0].upper()}{start[1:]}, or point "
            "llm.base_url at a running server (llm.max_retries bounds the wait); finished requests are cached "
            "and will not be sent again"
        )

    def _say_waiting(self, err: Exception, attempt: int, wait_s: float) -> None:
        # A server still loading its model refuses connections for minutes: retrying is right, but
        # silently is not.  One line per wait, not one per request in flight.
        import sys
        import time

        now = time.monotonic()
        if now - getattr(self, "_said_at", -1e9) >= 5:
            self._said_at = now
            print(f"[llm] {self.base_url} not answering ({type(err).__name__}: {err}); retry "
                  f"{attempt}/{self.cfg.max_retries} in {wait_s:.0f} s", file=sys.stderr, flush=True)

    async def _one(self, client, sem, r: GenerationRequest) -> GenerationResult:
        if self.cfg.split_n and r.n > 1:
            from dataclasses import replace

            parts = await asyncio.gather(*[
                self._call(client, sem, replace(r, n=1, seed=None if r.seed is None else r.seed + j)) for j in range(r.n)
            ])
            return GenerationResult(
                texts=[t for p in parts for t in p.texts],
                finish_reasons=[f for p in parts for f in p.finish_reasons],
                prompt_tokens=parts[0].prompt_tokens,
                completion_tokens=[c for p in parts for c in p.completion_tokens],
            )
        result = await self._call(client, sem, r)
        if len(result.texts) != r.n:
            raise LLMError(
                f"{self.base_url} returned {len(result.texts)} choices for a request with n={r.n}; this API "
                "probably ignores n. Set llm.split_n=true to send n requests of one sample each"
            )
        return result

    async def _call(self, client, sem, r: GenerationRequest) -> GenerationResult:
        import httpx

        url = f"{self.base_url}/{'chat/completions' if r.messages is not None else 'completions'}"
        last: Exception | None = None
        for attempt in range(self.cfg.max_retries + 1):
            if attempt:
                wait_s = self.cfg.backoff_s * 2 ** (attempt - 1) * (1 + random.random() / 4)
                self._say_waiting(last, attempt, wait_s)
                await asyncio.sleep(wait_s)
            async with sem:
                self.stats.backend_calls += 1
                try:
                    resp = await client.post(url, json=self._body(r))
                except (httpx.TransportError, httpx.TimeoutException) as e:
                    last = e
                    continue
            if resp.status_code in _RETRY_STATUS:
                last = LLMError(f"HTTP {resp.status_code}: {resp.text[:300]}")
                continue
            if resp.status_code >= 400:
                raise LLMError(
                    f"{url} rejected a request with HTTP {resp.status_code}: {resp.text[:500]}. Check "
                    f"model.name_or_path/served_name ({self.model_id!r}) and the sampling settings the server accepts"
                )
            return self._parse(r, resp.json())
        if isinstance(last, LLMError):
            raise LLMError(f"{url} kept failing after {self.cfg.max_retries + 1} tries: {last}")
        raise self._unreachable(last)  # type: ignore[arg-type]

    async def _run(self, requests, needed, queue_put) -> None:
        import httpx

        key = os.environ.get(self.cfg.api_key_env) or "EMPTY"
        sem = asyncio.Semaphore(self.cfg.concurrency)
        limits = httpx.Limits(max_connections=self.cfg.concurrency)
        async with httpx.AsyncClient(
            timeout=self.cfg.timeout_s, limits=limits, headers={"Authorization": f"Bearer {key}"}
        ) as client:

            async def job(i):
                queue_put((i, await self._one(client, sem, requests[i])))

            tasks = [asyncio.create_task(job(i)) for i, need in enumerate(needed) if need]
            try:
                await asyncio.gather(*tasks)
            finally:
                for t in tasks:
                    t.cancel()

    def _generate(self, requests, needed) -> Iterator[list[tuple[int, GenerationResult]]]:
        # The event loop runs in a thread so this works from inside another loop too; finished
        # requests come back through a queue and are yielded (and cached) one by one.
        import queue

        q: queue.Queue = queue.Queue()
        done = object()
        error: list[BaseException] = []

        def worker():
            try:
                asyncio.run(self._run(requests, needed, q.put))
            except BaseException as e:  # noqa: BLE001 - re-raised in the caller's thread
                error.append(e)
            finally:
                q.put(done)

        thread = threading.Thread(target=worker, daemon=True)
        thread.start()
        while (item := q.get()) is not done:
            yield [item]
        thread.join()
        if error:
            raise error[0]
