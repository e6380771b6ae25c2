"""Request and result types shared by every generation backend (vllm, openai, hf).

A request is either chat ``messages`` (rendered with the model's chat template by the backend)
or a raw text ``prompt`` sent as-is (MAGPIE-style prefill, where the caller has already rendered
the template up to the user turn).  ``cache_key`` covers every field that changes the output.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import asdict, dataclass, field


@dataclass
class GenerationRequest:
    messages: list[dict] | None = None
    prompt: str | None = None
    n: int = 1
    temperature: float = 0.0
    top_p: float = 1.0
    max_tokens: int = 1024
    stop: list[str] = field(default_factory=list)
    stop_token_ids: list[int] = field(default_factory=list)
    seed: int | None = None

    def __post_init__(self) -> None:
        if (self.messages is None) == (self.prompt is None):
            raise ValueError(
                "GenerationRequest needs exactly one of messages (chat) or prompt (raw prefix); "
                f"got messages={'set' if self.messages is not None else 'None'}, "
                f"prompt={'set' if self.prompt is not None else 'None'}"
            )
        if self.n < 1:
            raise ValueError(f"GenerationRequest.n must be >= 1 (got {self.n})")

    def cache_key(self, backend: str, model: str) -> str:
        payload = json.dumps({"backend": backend, "model": model, **asdict(self)}, sort_keys=True)
        return hashlib.sha256(payload.encode()).hexdigest()


@dataclass
class GenerationResult:
    texts: list[str]
    finish_reasons: list[str]
    prompt_tokens: int = 0
    completion_tokens: list[int] = field(default_factory=list)
