"""vLLM offline engine backend (GPU): batched generation, n samples, prefix caching, tensor parallel.

Written against vLLM's documented offline API (``vllm.LLM``, ``SamplingParams``,
``LLM.generate(prompts, sampling_params)``, ``RequestOutput.outputs[j].text/finish_reason/
token_ids``).  Chat requests are rendered with the engine's own tokenizer
(``get_tokenizer().apply_chat_template``), raw MAGPIE prefixes are taken as they are, and both go to
``generate`` as token ids (``{"prompt_token_ids": [...]}``) tokenized without added special tokens, as
the hf backend does, so one code path serves both across vLLM versions.  Requests go to the engine in chunks of
``llm.batch_size`` and each chunk is cached before the next starts.  Data parallelism across GPUs
or nodes: run one process per GPU group on disjoint shards (``shard=i/n``).  Imported only when
``llm=vllm`` is chosen; vLLM is the ``vllm`` extra (``pip install -e .[vllm]``).
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

from kodcode.llm.base import LLM, LLMError
from kodcode.llm.config import LLMConfig, ModelConfig
from kodcode.llm.types import GenerationRequest, GenerationResult


class VLLMEngine(LLM):
    backend = "vllm"

    def __init__(self, llm_cfg: LLMConfig, model_cfg: ModelConfig, cache_dir=None):
        super().__init__(llm_cfg, model_cfg, cache_dir)
        path = Path(model_cfg.name_or_path)
        if (path / "adapter_config.json").is_file() and not (path / "config.json").is_file():
            raise LLMError(
                f"model.name_or_path={model_cfg.name_or_path} holds LoRA adapters only, which the vLLM engine does "
                "not load as a model; train with peft.merge_on_save=true (final/ is then the merged model), merge "
                f"them with `python -m kodcode.train.merge {model_cfg.name_or_path} <out_dir>`, or use llm=hf "
                "(transformers loads the adapters onto their base)"
            )
        try:
            import vllm
        except ImportError as e:
            raise LLMError(
                "llm=vllm needs the vllm package, which is not installed here (got ImportError: "
                f"{e}); install it on a GPU machine with `pip install -e .[vllm]`, or use llm=hf or llm=openai"
            ) from e
        from kodcode.llm.tiny import ensure_model

        self._vllm = vllm
        kwargs = dict(
            model=ensure_model(model_cfg.name_or_path),
            tensor_parallel_size=llm_cfg.tensor_parallel_size,
            gpu_memory_utilization=llm_cfg.gpu_memory_utilization,
            enable_prefix_caching=llm_cfg.enable_prefix_caching,
            trust_remote_code=model_cfg.trust_remote_code,
            dtype=llm_cfg.dtype,
        )
        if model_cfg.revision is not None:
            kwargs["revision"] = model_cfg.revision
        if model_cfg.tokenizer is not None:
            kwargs["tokenizer"] = model_cfg.tokenizer
        if llm_cfg.max_model_len is not None:
            kwargs["max_model_len"] = llm_cfg.max_model_len
        kwargs.update(llm_cfg.engine_kwargs)
        self.engine = vllm.LLM(**kwargs)
        self.tokenizer = self.engine.get_tokenizer()

    def chat_template(self):
        return getattr(self.tokenizer, "chat_template", None)

    def render_chat(self, messages, add_generation_prompt=True):
        return self.tokenizer.apply_chat_template(messages, tokenize=False, add_generation_prompt=add_generation_prompt)

    def _token_ids(self, r: GenerationRequest) -> list[int]:
        text = r.prompt if r.prompt is not None else self.render_chat(r.messages)
        return self.tokenizer.encode(text, add_special_tokens=False)

    def _params(self, r: GenerationRequest):
        return self._vllm.SamplingParams(
            n=r.n,
            temperature=r.temperature,
            top_p=r.top_p,
            max_tokens=r.max_tokens,
            stop=list(r.stop) or None,
            stop_token_ids=list(r.stop_token_ids) or None,
            seed=r.seed,
            skip_special_tokens=True,
        )

    def _generate(self, requests, needed) -> Iterator[list[tuple[int, GenerationResult]]]:
        todo = [i for i, need in enumerate(needed) if need]
        for j in range(0, len(todo), self.cfg.batch_size):
            chunk = todo[j : j + self.cfg.batch_size]
            # Token ids, not text: the rendered template already holds any BOS token, and letting the
            # engine tokenize text would add a second one for models such as Llama 3.
            prompts = [{"prompt_token_ids": self._token_ids(requests[i])} for i in chunk]
            self.stats.backend_calls += 1
            outputs = self.engine.generate(
                prompts, [self._params(requests[i]) for i in chunk], use_tqdm=self.cfg.progress
            )
            batch = []
            for i, out in zip(chunk, outputs):
                samples = list(out.outputs)
                batch.append(
                    (
                        i,
                        GenerationResult(
                            texts=[s.text for s in samples],
                            finish_reasons=[s.finish_reason or "stop" for s in samples],
                            prompt_tokens=len(out.prompt_token_ids or []),
                            completion_tokens=[len(s.token_ids) for s in samples],
                        ),
                    )
                )
            yield batch

    def close(self) -> None:
        """Drop the engine so its GPU memory can go to the next one (best effort across versions)."""
        super().close()
        if getattr(self, "engine", None) is not None:
            self.engine = None
            import gc

            gc.collect()
            try:
                import torch

                torch.cuda.empty_cache()
            except Exception:  # noqa: BLE001 - freeing is best effort
                pass
