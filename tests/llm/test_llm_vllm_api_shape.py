"""API-shape tests of the vllm backend: how it maps requests onto vLLM's offline API, checked with a
stand-in ``vllm`` module (not vLLM itself).

vLLM cannot be installed on these CPU machines, so this does NOT run vLLM: it checks our side of the
contract (engine arguments, SamplingParams fields, token-id prompts, chunking + caching, output
parsing).  The same code runs against real vLLM with ``llm=vllm`` on a GPU node.
"""

import sys
import types
from dataclasses import dataclass, field

import pytest

from kodcode.llm import GenerationRequest, build_llm


@dataclass
class FakeSamplingParams:
    n: int = 1
    temperature: float = 1.0
    top_p: float = 1.0
    max_tokens: int = 16
    stop: list | None = None
    stop_token_ids: list | None = None
    seed: int | None = None
    skip_special_tokens: bool = True


@dataclass
class Sample:
    text: str
    finish_reason: str
    token_ids: list = field(default_factory=list)


@dataclass
class Output:
    prompt_token_ids: list
    outputs: list


class FakeTokenizer:
    chat_template = "fake"

    def apply_chat_template(self, messages, tokenize=False, add_generation_prompt=True):
        text = "".join(f"<s>[{m['role']}]{m['content']}" for m in messages)
        return text + ("[assistant]" if add_generation_prompt else "")

    def encode(self, text, add_special_tokens=True):
        return ([0] if add_special_tokens else []) + [ord(c) for c in text]


class FakeLLM:
    instances: list = []

    def __init__(self, **kwargs):
        self.kwargs, self.calls = kwargs, []
        FakeLLM.instances.append(self)

    def get_tokenizer(self):
        return FakeTokenizer()

    def generate(self, prompts, params, use_tqdm=True):
        self.calls.append((prompts, params))
        return [Output(p["prompt_token_ids"], [Sample(f"out{j}", "stop", [1, 2]) for j in range(sp.n)])
                for p, sp in zip(prompts, params)]


@pytest.fixture
def fake_vllm(monkeypatch):
    mod = types.ModuleType("vllm")
    mod.LLM, mod.SamplingParams = FakeLLM, FakeSamplingParams
    monkeypatch.setitem(sys.modules, "vllm", mod)
    FakeLLM.instances.clear()
    return mod


def test_engine_arguments_sampling_params_and_chunked_caching(fake_vllm, tmp_path):
    llm = build_llm(llm={"backend": "vllm", "batch_size": 2, "tensor_parallel_size": 4, "max_model_len": 4096,
                         "engine_kwargs": {"seed": 7}, "progress": False},
                    model={"name_or_path": "org/model", "revision": "main"}, cache_dir=tmp_path)
    [engine] = FakeLLM.instances
    assert engine.kwargs == {"model": "org/model", "tensor_parallel_size": 4, "gpu_memory_utilization": 0.9,
                             "enable_prefix_caching": True, "trust_remote_code": False, "dtype": "auto",
                             "revision": "main", "max_model_len": 4096, "seed": 7}
    reqs = [GenerationRequest(messages=[{"role": "user", "content": "hi"}], n=3, temperature=0.7, top_p=0.9,
                              max_tokens=64, stop=["\n"], stop_token_ids=[5], seed=1),
            GenerationRequest(prompt="<s>[user]Write", max_tokens=8),
            GenerationRequest(prompt="third", max_tokens=8)]
    res = llm.generate(reqs)
    assert [len(c[0]) for c in engine.calls] == [2, 1]  # chunks of batch_size, each cached on return
    first_prompts, first_params = engine.calls[0]
    # chat rendered by the engine's tokenizer; no extra BOS id (0) added by tokenization
    assert first_prompts[0]["prompt_token_ids"] == [ord(c) for c in "<s>[user]hi[assistant]"]
    assert first_prompts[1]["prompt_token_ids"] == [ord(c) for c in "<s>[user]Write"]
    assert first_params[0] == FakeSamplingParams(n=3, temperature=0.7, top_p=0.9, max_tokens=64, stop=["\n"],
                                                 stop_token_ids=[5], seed=1, skip_special_tokens=True)
    assert res[0].texts == ["out0", "out1", "out2"] and res[0].completion_tokens == [2, 2, 2]
    assert res[0].prompt_tokens == len("<s>[user]hi[assistant]")
    assert llm.generate(reqs) == res and len(engine.calls) == 2  # all from the cache


def test_prefill_template_comes_from_the_engine_tokenizer(fake_vllm, tmp_path):
    llm = build_llm(llm={"backend": "vllm", "cache": False}, model={"name_or_path": "org/model"})
    assert llm.pre_query_template() == "<s>[user]"
