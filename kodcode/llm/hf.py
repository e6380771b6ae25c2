"""Transformers backend: batched generation on CPU (tests, smoke runs) or one GPU.

Chat requests are rendered with the tokenizer's chat template (generation prompt added); raw
``prompt`` requests are tokenized as-is (MAGPIE prefill).  Requests are grouped by sampling
settings in order and cut into fixed batches of ``llm.batch_size`` over the *whole* request list, so
a resumed run rebuilds exactly the batches of the uninterrupted one (and, with the per-batch seed,
the same samples); a batch whose requests are all cached is skipped.  Stop strings are handled by
transformers' ``stop_strings``, which also fires on a match that spans the end of the prompt (vLLM
and servers only look at the completion); the text is cut before the first stop string.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator

from kodcode.llm.base import LLM, LLMError, truncate_at_stop
from kodcode.llm.config import LLMConfig, ModelConfig
from kodcode.llm.types import GenerationRequest, GenerationResult


def _signature(r: GenerationRequest) -> tuple:
    return (r.n, r.temperature, r.top_p, r.max_tokens, tuple(r.stop), tuple(r.stop_token_ids))


class HFLLM(LLM):
    backend = "hf"

    def __init__(self, llm_cfg: LLMConfig, model_cfg: ModelConfig, cache_dir=None):
        super().__init__(llm_cfg, model_cfg, cache_dir)
        import torch
        from transformers import AutoModelForCausalLM, AutoTokenizer

        from kodcode.llm.tiny import ensure_model

        self._torch = torch
        self.path = ensure_model(model_cfg.name_or_path)
        try:
            self.tokenizer = AutoTokenizer.from_pretrained(
                model_cfg.tokenizer or self.path, revision=model_cfg.revision, trust_remote_code=model_cfg.trust_remote_code
            )
            dtype = "auto" if llm_cfg.dtype == "auto" else getattr(torch, llm_cfg.dtype)
            self.model = AutoModelForCausalLM.from_pretrained(
                self.path, dtype=dtype, revision=model_cfg.revision, trust_remote_code=model_cfg.trust_remote_code
            ).to(llm_cfg.device)
        except OSError as e:
            raise LLMError(
                f"could not load model {model_cfg.name_or_path!r} with transformers: {e}. This machine may be "
                "offline: use a local directory (model.name_or_path=/path/to/model) or model=tiny"
            ) from e
        self.model.eval()
        self.tokenizer.padding_side = "left"  # decoder-only batched generation
        if self.tokenizer.pad_token_id is None:
            self.tokenizer.pad_token = self.tokenizer.eos_token

    def chat_template(self) -> str | None:
        return getattr(self.tokenizer, "chat_template", None)

    def render_chat(self, messages: list[dict], add_generation_prompt: bool = True) -> str:
        if not self.chat_template():
            raise LLMError(
                f"model {self.model_id!r} has no chat template, so chat requests cannot be rendered; "
                "use a chat model or send raw prompt requests"
            )
        return self.tokenizer.apply_chat_template(messages, tokenize=False, add_generation_prompt=add_generation_prompt)

    def _text(self, r: GenerationRequest) -> str:
        return r.prompt if r.prompt is not None else self.render_chat(r.messages)

    def _batches(self, requests: list[GenerationRequest]) -> list[list[int]]:
        groups: dict[tuple, list[int]] = {}
        for i, r in enumerate(requests):
            groups.setdefault(_signature(r), []).append(i)
        size = self.cfg.batch_size
        return [idx[j : j + size] for idx in groups.values() for j in range(0, len(idx), size)]

    def _generate(self, requests, needed) -> Iterator[list[tuple[int, GenerationResult]]]:
        for batch in self._batches(requests):
            if not any(needed[i] for i in batch):
                continue
            self.stats.backend_calls += 1
            outs = self._run_batch([requests[i] for i in batch])
            yield [(i, out) for i, out in zip(batch, outs) if needed[i]]

    def _run_batch(self, reqs: list[GenerationRequest]) -> list[GenerationResult]:
        torch, tok = self._torch, self.tokenizer
        r0 = reqs[0]
        # One seed per batch (requests carry theirs; else derived from the prompts) so a rerun
        # of the same batch samples the same tokens.
        seed = r0.seed if r0.seed is not None else int(
            hashlib.sha256("".join(self._text(r) for r in reqs).encode()).hexdigest()[:8], 16
        )
        torch.manual_seed(seed)
        enc = tok([self._text(r) for r in reqs], return_tensors="pt", padding=True, add_special_tokens=False)
        enc = {k: v.to(self.model.device) for k, v in enc.items()}
        sample = r0.temperature > 0
        eos = self.model.generation_config.eos_token_id
        eos_ids = [eos] if isinstance(eos, int) else list(eos or [])
        eos_ids += [t for t in r0.stop_token_ids if t not in eos_ids]
        kwargs = dict(
            max_new_tokens=r0.max_tokens,
            do_sample=sample,
            num_return_sequences=r0.n if sample else 1,
            pad_token_id=tok.pad_token_id,
            eos_token_id=eos_ids or None,
        )
        if sample:
            kwargs.update(temperature=r0.temperature, top_p=r0.top_p)
        else:
            kwargs.update(temperature=None, top_p=None, top_k=None)
        if r0.stop:
            kwargs.update(stop_strings=list(r0.stop), tokenizer=tok)
        with torch.no_grad():
            out = self.model.generate(**enc, **kwargs)
        width = enc["input_ids"].shape[1]
        prompt_lens = enc["attention_mask"].sum(dim=1).tolist()
        per = kwargs["num_return_sequences"]
        special = set(eos_ids) | {tok.pad_token_id}
        results = []
        for b, r in enumerate(reqs):
            texts, reasons, counts = [], [], []
            for s in range(per):
                ids = out[b * per + s, width:].tolist()
                n_tok, ended = len(ids), False
                for k, t in enumerate(ids):
                    if t in special:
                        n_tok, ended = k, True
                        break
                text = tok.decode(ids[:n_tok], skip_special_tokens=True)
                text, stopped = truncate_at_stop(text, r.stop)
                texts.append(text)
                # Generation also ends early on a stop string matched across the prompt/completion
                # boundary (transformers checks the sequence tail); that is a stop, not a length cut.
                reasons.append("stop" if ended or stopped or n_tok < r.max_tokens else "length")
                counts.append(n_tok)
            if not sample and r.n > 1:  # greedy: the n samples are the same text
                texts, reasons, counts = texts * r.n, reasons * r.n, counts * r.n
            results.append(GenerationResult(texts, reasons, int(prompt_lens[b]), counts))
        return results
