"""A tiny random-init causal LM (Qwen2 architecture) with a locally trained tokenizer, for tests and smoke runs.

Nothing is downloaded: the tokenizer is a byte-level BPE trained here on a small built-in corpus of
Python code and English, wrapped as ``PreTrainedTokenizerFast`` with a Qwen-style ChatML chat template
whose assistant turns carry ``{% generation %}`` markers (so TRL's ``assistant_only_loss`` works). The
model is ``Qwen2ForCausalLM`` built from a config with a fixed seed, so two builds are identical.

    from kodcode.llm.tiny import build_tiny_model, ensure_model
    path = build_tiny_model("/tmp/tiny")     # writes a Hugging Face model directory
    path = ensure_model("tiny")              # builds once into the cache, returns a loadable path
    ensure_model("Qwen/Qwen2.5-Coder-7B-Instruct")  # any other name comes back unchanged

Everywhere a model name is configured (``model.name_or_path``), ``tiny`` means this model. The cache
lives in ``$KODCODE_CACHE/tiny-model`` (default ``~/.cache/kodcode/tiny-model``) and is guarded by a
file lock, so parallel test processes build it once.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import tempfile
from pathlib import Path

TINY_NAME = "tiny"
# Bump when anything below changes what gets written; the cache is keyed by it.
TINY_VERSION = 1
MARKER = "kodcode_tiny.json"  # written last: a directory without it is an unfinished build

SPECIAL_TOKENS = ["<|endoftext|>", "<|im_start|>", "<|im_end|>", "<|pad|>"]
BOS, EOS, PAD = "<|endoftext|>", "<|im_end|>", "<|pad|>"

# Qwen2.5's ChatML layout with generation markers around what the assistant writes (the training
# variant TRL ships as qwen2_5_training.jinja, without tool calls).
CHAT_TEMPLATE = (
    "{%- if messages[0]['role'] == 'system' %}"
    "{{- '<|im_start|>system\\n' + messages[0]['content'] + '<|im_end|>\\n' }}"
    "{%- else %}"
    "{{- '<|im_start|>system\\nYou are a helpful assistant.<|im_end|>\\n' }}"
    "{%- endif %}"
    "{%- for message in messages %}"
    "{%- if message['role'] == 'user' or (message['role'] == 'system' and not loop.first) %}"
    "{{- '<|im_start|>' + message['role'] + '\\n' + message['content'] + '<|im_end|>\\n' }}"
    "{%- elif message['role'] == 'assistant' %}"
    "{{- '<|im_start|>assistant\\n' }}"
    "{%- generation %}"
    "{{- message['content'] + '<|im_end|>' }}"
    "{%- endgeneration %}"
    "{{- '\\n' }}"
    "{%- endif %}"
    "{%- endfor %}"
    "{%- if add_generation_prompt %}"
    "{{- '<|im_start|>assistant\\n' }}"
    "{%- endif %}"
)

# A small corpus in the style of the data the model sees in tests: KodCode-like questions, solutions
# and pytest tests, plus plain English and the reasoning/answer tags rewards look for.
_CORPUS = [
    "def add(a, b):\n    return a + b\n",
    "def is_palindrome(s: str) -> bool:\n    s = s.lower()\n    return s == s[::-1]\n",
    "def fibonacci(n):\n    a, b = 0, 1\n    for _ in range(n):\n        a, b = b, a + b\n    return a\n",
    "from solution import *\n\ndef test_add():\n    assert add(1, 2) == 3\n    assert add(-1, 1) == 0\n",
    "import pytest\n\n@pytest.mark.parametrize('x', [1, 2, 3])\ndef test_square(x):\n    assert square(x) == x * x\n",
    ("class Solution:\n    def twoSum(self, nums, target):\n        seen = {}\n        for i, x in enumerate(nums):\n"
    "            if target - x in seen:\n                return [seen[target - x], i]\n            seen[x] = i\n"),
    ("def max_subarray(nums: list[int]) -> int:\n    best = cur = nums[0]\n    for x in nums[1:]:\n"
    "        cur = max(x, cur + x)\n        best = max(best, cur)\n    return best\n"),
    "Write a function that returns the sum of two integers.",
    "Given a list of integers, return the length of the longest increasing subsequence.",
    "Write a Python function to check whether a string is a palindrome, ignoring case.",
    "The quick brown fox jumps over the lazy dog. A function takes an input and returns an output.",
    "<think>\nFirst I read the question, then I write the function and check it on the examples.\n</think>\n",
    "<answer>\n```python\ndef solve(x):\n    return x\n```\n</answer>",
    "Please solve the programming task below in Python. Note that the function declaration is def f(x):",
    "```python\nimport sys\n\ndef main():\n    data = sys.stdin.read().split()\n    print(sum(map(int, data)))\n```",
    "if __name__ == '__main__':\n    main()\n",
    "for i in range(10):\n    if i % 2 == 0:\n        print(i)\n    else:\n        continue\n",
    "while left < right:\n    mid = (left + right) // 2\n    if nums[mid] < target:\n        left = mid + 1\n",
    "return sorted(set(words), key=lambda w: (-len(w), w))\n",
    "try:\n    value = int(text)\nexcept ValueError:\n    value = None\n",
]

_QWEN2_PRETOKENIZE = (
    r"""(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+"""
)

_MODEL_SHAPE = {
    "hidden_size": 64,
    "intermediate_size": 128,
    "num_hidden_layers": 2,
    "num_attention_heads": 4,
    "num_key_value_heads": 2,
    "max_position_embeddings": 4096,
    "rope_theta": 10000.0,
    "tie_word_embeddings": True,
}


def _build_tokenizer(vocab_size: int):
    from tokenizers import Regex, Tokenizer, decoders, models, normalizers, pre_tokenizers, trainers
    from transformers import PreTrainedTokenizerFast

    tok = Tokenizer(models.BPE())
    # Qwen2's normalizer and pre-tokenizer: AutoTokenizer loads this directory as Qwen2Tokenizer
    # (model_type qwen2), which rebuilds the pipeline from vocab + merges; matching it here means
    # every loader tokenizes the same way.
    tok.normalizer = normalizers.NFC()
    tok.pre_tokenizer = pre_tokenizers.Sequence(
        [
            pre_tokenizers.Split(Regex(_QWEN2_PRETOKENIZE), behavior="isolated", invert=False),
            pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=False),
        ]
    )
    tok.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(
        vocab_size=vocab_size,
        special_tokens=SPECIAL_TOKENS,
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),  # every byte encodable: no <unk>
        show_progress=False,
    )
    # Repeated so that frequent code n-grams become merges; the corpus order fixes the result.
    tok.train_from_iterator(_CORPUS * 4, trainer=trainer)
    fast = PreTrainedTokenizerFast(
        tokenizer_object=tok, bos_token=BOS, eos_token=EOS, pad_token=PAD, model_max_length=4096
    )
    fast.chat_template = CHAT_TEMPLATE
    fast.padding_side = "left"  # generation-friendly; TRL's collators pad on their own
    return fast


def build_tiny_model(out_dir: str | os.PathLike, seed: int = 0, vocab_size: int = 512) -> Path:
    """Write a random-init tiny Qwen2 model + tokenizer into ``out_dir`` and return its path.

    Deterministic given ``seed``: the same arguments give byte-identical weights and tokenizer.
    """
    import torch
    from transformers import GenerationConfig, Qwen2Config, Qwen2ForCausalLM

    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    tokenizer = _build_tokenizer(vocab_size)
    ids = {t: tokenizer.convert_tokens_to_ids(t) for t in (BOS, EOS, PAD)}
    config = Qwen2Config(
        vocab_size=len(tokenizer),
        bos_token_id=ids[BOS],
        eos_token_id=ids[EOS],
        pad_token_id=ids[PAD],
        **_MODEL_SHAPE,
    )
    # Recorded in config.json so ensure_model() recognises the directory (and its version).
    config.kodcode_tiny = {"version": TINY_VERSION, "seed": seed, "vocab_size": vocab_size}
    gen = torch.Generator().manual_seed(seed)
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        model = Qwen2ForCausalLM(config)
    # An explicit generator-based init makes the weights independent of global RNG state elsewhere.
    with torch.no_grad():
        for name, p in sorted(model.named_parameters()):
            if "norm" in name:
                p.fill_(1.0)
            else:
                p.copy_(torch.randn(p.shape, generator=gen) * 0.02)
    model.generation_config = GenerationConfig(
        bos_token_id=ids[BOS], eos_token_id=ids[EOS], pad_token_id=ids[PAD], do_sample=True
    )
    model.save_pretrained(out)
    tokenizer.save_pretrained(out)
    (out / MARKER).write_text(json.dumps(config.kodcode_tiny, sort_keys=True) + "\n")
    return out


def is_tiny(path: str | os.PathLike) -> bool:
    """True when ``path`` is a directory whose config.json says it is the tiny model."""
    cfg = Path(path) / "config.json"
    if not cfg.is_file():
        return False
    try:
        return "kodcode_tiny" in json.loads(cfg.read_text())
    except (OSError, json.JSONDecodeError):
        return False


def cache_root() -> Path:
    return Path(os.environ.get("KODCODE_CACHE") or Path.home() / ".cache" / "kodcode")


def _complete(path: Path, seed: int) -> bool:
    marker = path / MARKER
    if not marker.is_file():
        return False
    try:
        info = json.loads(marker.read_text())
    except (OSError, json.JSONDecodeError):
        return False
    return info.get("version") == TINY_VERSION and info.get("seed") == seed


def _has_weights(path: Path) -> bool:
    return any(path.glob("*.safetensors")) or any(path.glob("pytorch_model*.bin"))


def ensure_model(name_or_path: str, seed: int = 0) -> str:
    """Return a loadable model name or path; build the tiny model first when ``name_or_path`` names it.

    ``tiny`` builds into ``cache_root()/tiny-model`` once (file-locked: parallel processes wait for
    the first builder). A directory whose config.json marks it as the tiny model but that holds no
    weights (an interrupted build) is built in place. Any other name, and any directory with weights
    (a fine-tuned tiny model keeps the marker in its config), is returned unchanged.
    """
    from filelock import FileLock

    name = str(name_or_path)
    if name == TINY_NAME:
        target = cache_root() / "tiny-model"
        if _complete(target, seed):
            return str(target)
    elif is_tiny(name) and not _has_weights(Path(name)):
        target = Path(name)
        seed = json.loads((target / "config.json").read_text())["kodcode_tiny"].get("seed", seed)
    else:
        return name
    target.parent.mkdir(parents=True, exist_ok=True)
    lock_name = hashlib.sha1(str(target.resolve()).encode()).hexdigest()[:16]
    with FileLock(str(target.parent / f".{target.name}.{lock_name}.lock")):
        if _complete(target, seed):  # another process finished while we waited
            return str(target)
        # Build beside the target and swap in, so readers never see a half-written directory.
        tmp = Path(tempfile.mkdtemp(prefix=f".{target.name}.", dir=target.parent))
        try:
            build_tiny_model(tmp, seed=seed)
            if target.exists():
                shutil.rmtree(target)
            os.replace(tmp, target)
        finally:
            if tmp.exists():
                shutil.rmtree(tmp, ignore_errors=True)
    return str(target)
