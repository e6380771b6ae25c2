"""Typed config of the generation layer: which backend runs (``llm``) and which model (``model``).

Config groups ``conf/shared/llm/<backend>.yaml`` map onto ``LLMConfig`` and
``conf/shared/model/<name>.yaml`` onto ``ModelConfig``.  ``build_llm`` takes both (see
``kodcode/llm/__init__.py``).  Fields a backend does not use are ignored by it, so one flat schema
serves all three backends and the command line can switch ``llm=openai`` without other edits.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from kodcode.config import setting

BACKENDS = ("hf", "openai", "vllm", "scripted")


@dataclass
class LLMConfig:
    backend: str = setting("hf", one_of=BACKENDS, why="choose a config group: llm=hf (CPU), llm=vllm (GPU) or "
                           "llm=openai (a server)")
    # hf: sequences per forward pass; vllm: requests per engine call (each call is checkpointed).
    batch_size: int = setting(8, ge=1)
    cache: bool = True  # per-request result cache: reruns and resumes never pay twice
    cache_dir: str | None = None  # None: the synth run dir's llm_cache/, else $KODCODE_CACHE/llm
    progress: bool = True
    # hf
    device: str = "cpu"
    dtype: str = setting("auto", one_of=("auto", "float32", "bfloat16", "float16"))
    # openai-compatible servers (vllm serve, SGLang, OpenAI, Together, DeepSeek ...)
    base_url: str | None = None
    api_key_env: str = "OPENAI_API_KEY"  # name of the env var holding the key; unset -> "EMPTY"
    concurrency: int = setting(16, ge=1)
    timeout_s: float = setting(600.0, gt=0, why="it bounds one HTTP request")
    max_retries: int = setting(5, ge=0)
    backoff_s: float = 2.0  # wait backoff_s * 2**attempt (+ jitter) between tries
    extra_body: dict[str, Any] = field(default_factory=dict)  # merged into every request body
    split_n: bool = False  # send n requests of n=1 (for APIs without the n parameter, e.g. DeepSeek's)
    # vllm offline engine
    tensor_parallel_size: int = setting(1, ge=1)
    gpu_memory_utilization: float = setting(0.9, gt=0, le=1)
    max_model_len: int | None = None
    enable_prefix_caching: bool = True
    engine_kwargs: dict[str, Any] = field(default_factory=dict)  # any other vllm.LLM(...) argument
    # scripted (tests): "module:function" mapping a GenerationRequest to a str or list of str
    script: str | None = None

    def check(self) -> list[str]:
        p = []
        if self.backend == "openai" and not self.base_url:
            p.append(
                "base_url is required for backend openai (got null): it is the server's /v1 address; "
                "set llm.base_url=http://localhost:8000/v1"
            )
        if self.backend == "scripted" and not self.script:
            p.append("script is required for backend scripted (got null); set llm.script=module:function")
        return p


@dataclass
class ModelConfig:
    # Hub id or local directory for hf/vllm; the model id a server knows for openai.
    # `tiny` builds the local random-init test model (kodcode/llm/tiny.py).
    name_or_path: str = setting("tiny", min_len=1, why="a model id or directory")
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

    @property
    def api_name(self) -> str:
        return self.served_name or self.name_or_path
