"""The hf backend on the tiny local model: chat and raw prompts, n samples, stops, seeds, the cache."""

import pytest

from kodcode.llm import GenerationRequest, build_llm


@pytest.fixture(scope="module")
def llm(tmp_path_factory):
    cache = tmp_path_factory.mktemp("llm_cache")
    with build_llm(llm={"backend": "hf", "batch_size": 4, "progress": False}, model={"name_or_path": "tiny"},
                   cache_dir=cache) as llm:
        yield llm


def chat(text, **kw):
    return GenerationRequest(messages=[{"role": "user", "content": text}], **kw)


def test_chat_request_returns_n_samples_with_token_counts(llm):
    [res] = llm.generate([chat("write add", n=3, temperature=1.0, max_tokens=8, seed=1)])
    assert len(res.texts) == len(res.finish_reasons) == len(res.completion_tokens) == 3
    assert all(0 < c <= 8 for c in res.completion_tokens)
    assert res.prompt_tokens > 0


def test_greedy_n_gives_identical_samples(llm):
    [res] = llm.generate([chat("x", n=2, temperature=0.0, max_tokens=6)])
    assert res.texts[0] == res.texts[1]


def test_raw_prompt_is_sent_without_chat_template(llm):
    # Same text as chat vs raw: the chat template adds tokens, so the prompt is longer.
    [as_chat, as_raw] = llm.generate([chat("hello", max_tokens=2), GenerationRequest(prompt="hello", max_tokens=2)])
    assert as_raw.prompt_tokens < as_chat.prompt_tokens


def test_stop_string_is_cut_and_reported(llm):
    # Find a greedy continuation, then stop on a piece of it: the text ends right before the stop.
    [free] = llm.generate([GenerationRequest(prompt="def add(a, b):", max_tokens=12)])
    text = free.texts[0]
    stop = text[3:6] if len(text) >= 6 else text[-1:]
    if not stop.strip():
        pytest.skip("greedy continuation of the tiny model is only whitespace")
    [cut] = llm.generate([GenerationRequest(prompt="def add(a, b):", max_tokens=12, stop=[stop])])
    assert stop not in cut.texts[0]
    assert text.startswith(cut.texts[0])
    assert cut.finish_reasons == ["stop"]


def test_same_seed_same_samples_and_cache_answers_repeats(llm):
    req = chat("seeded", n=2, temperature=1.0, max_tokens=8, seed=7)
    calls = llm.stats.backend_calls
    [a] = llm.generate([req])
    [b] = llm.generate([req])
    assert a == b
    assert llm.stats.backend_calls == calls + 1  # the second answer came from the cache


def test_cache_survives_a_new_process_object(tmp_path):
    args = dict(llm={"backend": "hf", "progress": False}, model={"name_or_path": "tiny"}, cache_dir=tmp_path)
    req = chat("persist", temperature=1.0, max_tokens=6, seed=3)
    with build_llm(**args) as first:
        [a] = first.generate([req])
    with build_llm(**args) as second:
        [b] = second.generate([req])
        assert second.stats.backend_calls == 0 and second.stats.cached == 1
    assert a == b


def test_pre_query_template_is_cut_from_the_chat_template(llm):
    template = llm.pre_query_template()
    assert template.endswith("<|im_start|>user\n")
    assert "You are a helpful assistant." in template
    assert llm.pre_query_template("Be brief.").startswith("<|im_start|>system\nBe brief.")
