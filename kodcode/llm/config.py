"""Typed config of the generation layer: which backend runs (``llm``) and which model (``model``).

Config groups ``conf/shared/llm/<backend>.yaml`` map onto ``LLMConfig`` and
``conf/shared/model/<name>.yaml`` onto ``ModelConfig``.  ``build_llm`` takes both (see
``kodcode/llm/__init__.py``).  Fields a backend does not use are ignored by it, so one flat schema
serves all three backends and the command line can switch ``llm=openai`` without other edits.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

BACKENDS = ("hf", "openai", "vllm", "scripted")


@dataclass
class LLMConfig:
    backend: str = "hf"
    # hf: sequences per forward pass; vllm: requests per engine call (each call is checkpointed).
    batch_size: int = 8
    cache: bool = True  # per-request result cache: reruns and resumes never pay twice
    cache_dir: str | None = None  # None: the synth run dir's llm_cache/, else $KODCODE_CACHE/llm
    progress: bool = True
    # hf
    device: str = "cpu"
    dtype: str = "auto"  # auto | float32 | bfloat16 | float16
    # openai-compatible servers (vllm serve, SGLang, OpenAI, Together, DeepSeek ...)
    base_url: str | None = None
    api_key_env: str = "OPENAI_API_KEY"  # name of the env var holding the key; unset -> "EMPTY"
    concurrency: int = 16
    timeout_s: float = 600.0
    max_retries: int = 5
    backoff_s: float = 2.0  # wait backoff_s * 2**attempt (+ jitter) between tries
    extra_body: dict[str, Any] = field(default_factory=dict)  # merged into every request body
    split_n: bool = False  # send n requests of n=1 (for APIs without the n parameter, e.g. DeepSeek's)
    # vllm offline engine
    tensor_parallel_size: int = 1
    gpu_memory_utilization: float = 0.9
    max_model_len: int | None = None
    enable_prefix_caching: bool = True
    engine_kwargs: dict[str, Any] = field(default_factory=dict)  # any other vllm.LLM(...) argument
    # scripted (tests): "module:function" mapping a GenerationRequest to a str or list of str
    script: str | None = None

    def check(self) -> list[str]:
        p = []
        if self.backend not in BACKENDS:
            p.append(
                f"backend must be one of {', '.join(BACKENDS)} (got {self.backend!r}); "
                "choose a config group, e.g. llm=hf (CPU), llm=vllm (GPU) or llm=openai (a server)"
            )
        for name in ("batch_size", "concurrency", "tensor_parallel_size"):
            if getattr(self, name) < 1:
                p.append(f"{name} must be >= 1 (got {getattr(self, name)}); set llm.{name}=1 or more")
        if self.timeout_s <= 0:
            p.append(f"timeout_s must be > 0 (got {self.timeout_s}): it bounds one HTTP request; set llm.timeout_s=600")
        if self.max_retries < 0:
            p.append(f"max_retries must be >= 0 (got {self.max_retries}); set llm.max_retries=5")
        if self.backend == "openai" and not self.base_url:
            p.append(
                "base_url is required for backend openai (got null): it is the server's /v1 address; "
                "set llm.base_url=http://localhost:8000/v1"
            )
        if self.backend == "scripted" and not self.script:
            p.append("script is required for backend scripted (got null); set llm.script=module:function")
        if not 0 < self.gpu_memory_utilization <= 1:
            p.append(f"gpu_memory_utilization must be in (0, 1] (got {self.gpu_memory_utilization}); set 0.9")
        return p


@dataclass
class ModelConfig:
    # Hub id or local directory for hf/vllm; the model id a server knows for openai.
    # `tiny` builds the local random-init test model (kodcode/tiny.py).
    name_or_path: str = "tiny"
    revision: str | None = None  # hub revision (branch, tag or commit) for hf/vllm
    served_name: str | None = None  # openai: the name the server expects, when it differs
    tokenizer: str | None = None  # openai: a local/hub tokenizer to render prefill templates
    trust_remote_code: bool = False
    # MAGPIE prefill: the chat template rendered up to the start of the user turn.  None: derived
    # from the tokenizer's chat template (render a user turn, cut before its content).
    pre_query_template: str | None = None
    system_prompt: str | None = None  # system turn for the derived pre-query template
    stop: list[str] = field(default_factory=list)  # added to every request's stop strings
    stop_token_ids: list[int] = field(default_factory=list)

    def check(self) -> list[str]:
        if not self.name_or_path:
            return ["name_or_path must be a model id or directory (got an empty string); set model=tiny"]
        return []

    @property
    def api_name(self) -> str:
        return self.served_name or self.name_or_path
