"""build_llm: config validation, backend choice, lazy imports, the vllm backend's clear failure."""

import subprocess
import sys
from pathlib import Path

import pytest

HERE = Path(__file__).parent

from kodcode.config import ConfigError
from kodcode.llm import LLMError, build_llm
from kodcode.llm.scripted import ScriptedLLM


def test_every_config_problem_is_reported_at_once():
    with pytest.raises(ConfigError) as e:
        build_llm(llm={"backend": "gpt", "batch_size": 0, "timeout_s": -1}, model={"name_or_path": "tiny"})
    text = str(e.value)
    assert "llm.backend=gpt: must be one of hf, openai, vllm, scripted" in text
    assert "llm.batch_size=0: must be >= 1" in text
    assert "llm.timeout_s=-1: must be > 0" in text


def test_openai_needs_a_base_url():
    with pytest.raises(ConfigError, match="base_url is required for backend openai"):
        build_llm(llm={"backend": "openai", "base_url": None}, model={"name_or_path": "m"})


def test_scripted_backend_from_config(monkeypatch):
    monkeypatch.syspath_prepend(str(HERE))
    llm = build_llm(llm={"backend": "scripted", "script": "llm_script_double:echo", "cache": False},
                    model={"name_or_path": "scripted"})
    assert isinstance(llm, ScriptedLLM)
    from kodcode.llm import GenerationRequest

    [res] = llm.generate([GenerationRequest(messages=[{"role": "user", "content": "hi"}], n=2)])
    assert res.texts == ["echo: hi", "echo: hi"]


def test_vllm_backend_without_vllm_says_how_to_install():
    pytest.importorskip("torch")
    try:
        import vllm  # noqa: F401
    except ImportError:
        pass
    else:
        pytest.skip("vllm is installed here")
    with pytest.raises(LLMError, match=r"pip install -e \.\[vllm\]"):
        build_llm(llm={"backend": "vllm", "cache": False}, model={"name_or_path": "tiny"})


def test_backends_are_imported_only_when_chosen():
    code = (
        "import sys; from kodcode.llm import build_llm; "
        "build_llm(llm={'backend': 'scripted', 'script': 'llm_script_double:echo', 'cache': False}, "
        "model={'name_or_path': 's'}); "
        "print(sorted(m for m in ('torch', 'transformers', 'httpx', 'vllm') if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=HERE)
    assert out.stdout.strip() == "[]"
