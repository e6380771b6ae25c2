"""The tiny model: builds without downloads, deterministic, loads with Auto classes, chat template
masks assistant turns, and ensure_model builds once under concurrency."""

import hashlib
import json
import subprocess
import sys
from pathlib import Path

import pytest

from kodcode.llm.tiny import MARKER, build_tiny_model, ensure_model, is_tiny


def _digest(path: Path) -> dict[str, str]:
    return {f.name: hashlib.sha256(f.read_bytes()).hexdigest() for f in sorted(path.iterdir())}


@pytest.fixture(scope="module")
def tiny_dir(tmp_path_factory):
    return build_tiny_model(tmp_path_factory.mktemp("tiny") / "model")


def test_same_seed_gives_identical_files(tiny_dir, tmp_path):
    again = build_tiny_model(tmp_path / "again")
    assert _digest(again) == _digest(tiny_dir)


def test_other_seed_gives_other_weights(tiny_dir, tmp_path):
    other = build_tiny_model(tmp_path / "other", seed=1)
    assert _digest(other)["model.safetensors"] != _digest(tiny_dir)["model.safetensors"]
    assert _digest(other)["tokenizer.json"] == _digest(tiny_dir)["tokenizer.json"]


def test_loads_with_auto_classes_and_generates(tiny_dir):
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    tok = AutoTokenizer.from_pretrained(tiny_dir)
    model = AutoModelForCausalLM.from_pretrained(tiny_dir)
    assert model.config.model_type == "qwen2"
    assert (tok.bos_token, tok.eos_token, tok.pad_token) == ("<|endoftext|>", "<|im_end|>", "<|pad|>")
    assert model.config.eos_token_id == tok.eos_token_id != model.config.pad_token_id
    text = "def add(a, b):\n    return a + b  # é\n"
    assert tok.decode(tok(text).input_ids) == text  # byte-level: every string round-trips
    batch = tok(["def f(x):", "print(1)"], return_tensors="pt", padding=True)
    out = model.generate(**batch, max_new_tokens=4, do_sample=False, pad_token_id=tok.pad_token_id)
    assert out.shape == (2, batch.input_ids.shape[1] + 4)
    assert torch.isfinite(model(**batch).logits).all()


def test_chat_template_marks_only_assistant_text(tiny_dir):
    from transformers import AutoTokenizer

    tok = AutoTokenizer.from_pretrained(tiny_dir)
    messages = [
        {"role": "system", "content": "Be brief."},
        {"role": "user", "content": "Write add."},
        {"role": "assistant", "content": "def add(a, b):\n    return a + b"},
    ]
    out = tok.apply_chat_template(messages, tokenize=True, return_dict=True, return_assistant_tokens_mask=True)
    masked = [i for i, m in zip(out["input_ids"], out["assistant_masks"]) if m]
    assert tok.decode(masked) == "def add(a, b):\n    return a + b<|im_end|>"
    prompt = tok.apply_chat_template(messages[:2], tokenize=False, add_generation_prompt=True)
    assert prompt == (
        "<|im_start|>system\nBe brief.<|im_end|>\n<|im_start|>user\nWrite add.<|im_end|>\n<|im_start|>assistant\n"
    )


def test_ensure_model_passes_other_names_through(tmp_path):
    assert ensure_model("Qwen/Qwen2.5-Coder-7B-Instruct") == "Qwen/Qwen2.5-Coder-7B-Instruct"
    assert ensure_model(str(tmp_path)) == str(tmp_path)


def test_ensure_model_tiny_builds_once_across_processes(tmp_path):
    code = "from kodcode.llm.tiny import ensure_model; print(ensure_model('tiny'))"
    env = {**__import__("os").environ, "KODCODE_CACHE": str(tmp_path)}
    procs = [
        subprocess.Popen([sys.executable, "-c", code], env=env, stdout=subprocess.PIPE, text=True) for _ in range(3)
    ]
    paths = {p.communicate()[0].strip() for p in procs}
    assert all(p.returncode == 0 for p in procs)
    assert paths == {str(tmp_path / "tiny-model")}
    built = tmp_path / "tiny-model"
    assert is_tiny(built) and (built / MARKER).is_file()
    # no half-written build directories are left beside it
    assert sorted(p.name for p in tmp_path.iterdir() if not p.name.endswith(".lock")) == ["tiny-model"]


def test_ensure_model_leaves_a_trained_tiny_model_alone(tiny_dir, tmp_path):
    import shutil

    trained = tmp_path / "trained"
    shutil.copytree(tiny_dir, trained)
    (trained / MARKER).unlink()  # what save_pretrained of a fine-tuned tiny model looks like
    weights = (trained / "model.safetensors").read_bytes()
    assert ensure_model(str(trained)) == str(trained)
    assert (trained / "model.safetensors").read_bytes() == weights and not (trained / MARKER).exists()


def test_ensure_model_rebuilds_an_unfinished_tiny_dir(tiny_dir, tmp_path):
    import shutil

    broken = tmp_path / "broken"
    shutil.copytree(tiny_dir, broken)
    (broken / MARKER).unlink()
    (broken / "model.safetensors").unlink()
    assert ensure_model(str(broken)) == str(broken)
    assert _digest(broken) == _digest(tiny_dir)
    assert json.loads((broken / MARKER).read_text())["seed"] == 0
