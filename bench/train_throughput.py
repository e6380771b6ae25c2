"""SFT throughput: our TRL SFT path against a plain PyTorch training loop, same model and data, same run.

Measures tokens/s (real tokens, no padding) and peak memory for each path, each in a fresh
subprocess (clean peak memory), and prints ratios against the plain loop:

* ``plain``        plain loop: rows of ``seq_len`` tokens cut from the concatenated documents
                   (attention runs across documents), SDPA causal, AdamW; the speed reference.
* ``sft_wrapped``  our SFT path (kodcode.train.sft.build_sft_trainer), ``packing_strategy=wrapped``:
                   also across documents.
* ``sft_varlen``   our SFT path, ``packing_strategy=bfd`` + padding-free + ``attention=varlen``:
                   documents kept apart, no padding (the document-respecting target: >= 0.9x plain).
* ``sft_bfd_sdpa`` (``--with-sdpa-bfd``) bfd + padding-free under stock SDPA, the known slow path.

    python bench/train_throughput.py                          # CPU, tiny model (seconds)
    python bench/train_throughput.py --gpu                    # Qwen2.5-1.5B shape, 4 x 4K tokens, bf16
    python bench/train_throughput.py --gpu --json out.json    # also write the numbers

GPU mode: bf16 autocast over fp32 weights in both paths (``--weights bf16``: pure bf16 weights), fused AdamW, Liger kernels when installed
(``use_liger_kernel`` in TRL; ``apply_liger_kernel_to_qwen2`` in the plain loop), no gradient
checkpointing. Warm-up steps (``--warmup``) run before timing so Triton compilation is not timed.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

QWEN25_15B = {
    "hidden_size": 1536, "intermediate_size": 8960, "num_hidden_layers": 28, "num_attention_heads": 12, "num_key_value_heads": 2,
    "vocab_size": 151936, "max_position_embeddings": 32768, "rope_theta": 1000000.0, "tie_word_embeddings": True,
    "rms_norm_eps": 1e-6,
}
MODES = ("plain", "sft_wrapped", "sft_varlen")


def make_documents(n_tokens: int, seq_len: int, vocab: int, seed: int = 0) -> list[list[int]]:
    """Random-token documents with lengths spread over [seq_len/16, seq_len], about n_tokens in all."""
    import random

    rng = random.Random(seed)
    docs, total = [], 0
    while total < n_tokens:
        n = rng.randint(max(8, seq_len // 16), seq_len)
        docs.append([rng.randrange(10, vocab) for _ in range(n)])
        total += n
    return docs


def build_model(args, device: str):
    import torch
    from transformers import Qwen2Config, Qwen2ForCausalLM

    from kodcode.llm.tiny import ensure_model

    torch.manual_seed(0)
    if args.gpu:
        config = Qwen2Config(**QWEN25_15B)
        config._attn_implementation = "sdpa"
        with torch.device(device):
            model = Qwen2ForCausalLM(config)
        if args.weights == "bf16":  # pure bf16 (weights, grads, AdamW state); default: fp32 weights + autocast
            model = model.to(torch.bfloat16)
        return model, None
    from transformers import AutoModelForCausalLM, AutoTokenizer

    path = ensure_model("tiny")
    return AutoModelForCausalLM.from_pretrained(path, attn_implementation="sdpa").to(device), AutoTokenizer.from_pretrained(path)


def liger_available() -> bool:
    try:
        import liger_kernel  # noqa: F401

        return True
    except ImportError:
        return False


def _sync(device: str) -> None:
    import torch

    if device == "cuda":
        torch.cuda.synchronize()


def _peak_gib(device: str) -> float:
    import torch

    if device == "cuda":
        return torch.cuda.max_memory_allocated() / 2**30
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20  # Linux: KiB -> GiB (process RSS)


def run_plain(args, docs, device: str) -> dict:
    import torch

    model, _ = build_model(args, device)
    if args.gpu and liger_available():
        from liger_kernel.transformers import apply_liger_kernel_to_qwen2

        apply_liger_kernel_to_qwen2(model=model)  # rope, rms_norm, swiglu, fused linear cross-entropy
    model.train()
    stream = torch.tensor([t for d in docs for t in d])
    per_step = args.rows * args.seq_len
    opt = torch.optim.AdamW(model.parameters(), lr=1e-5, fused=device == "cuda")
    steps = args.warmup + args.steps
    t0 = None
    for step in range(steps):
        if step == args.warmup:
            _sync(device)
            t0 = time.perf_counter()
        chunk = stream[(step * per_step) % (len(stream) - per_step):][:per_step].view(args.rows, args.seq_len).to(device)
        with torch.autocast(device_type=device, dtype=torch.bfloat16, enabled=args.gpu):
            loss = model(input_ids=chunk, labels=chunk).loss
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        opt.step()
        opt.zero_grad(set_to_none=True)
    _sync(device)
    elapsed = time.perf_counter() - t0
    return {"tokens": args.steps * per_step, "seconds": elapsed, "loss": float(loss)}


class _CountingCollator:
    """Wraps TRL's collator to record the real (non-padding) tokens of every batch it builds."""

    def __init__(self, inner):
        self.inner = inner
        self.tokens: list[int] = []

    def __call__(self, examples):
        batch = self.inner(examples)
        if "attention_mask" in batch:
            self.tokens.append(int(batch["attention_mask"].sum()))
        else:  # padding-free: one row, every position is a real token
            self.tokens.append(int(batch["input_ids"].numel()))
        return batch


def run_sft(args, docs, device: str, mode: str) -> dict:
    import datasets
    from transformers import TrainerCallback

    from kodcode.config import validate
    from kodcode.train.config import TrainConfig
    from kodcode.train.sft import build_sft_trainer

    model, tokenizer = build_model(args, device)
    if tokenizer is None:  # GPU shape has no tokenizer of its own: the tiny one carries the pad token
        from transformers import AutoTokenizer

        from kodcode.llm.tiny import ensure_model

        tokenizer = AutoTokenizer.from_pretrained(ensure_model("tiny"))
    strategy = "wrapped" if mode == "sft_wrapped" else "bfd"
    trainer_cfg = {
        "kind": "sft", "output_dir": str(Path(args.workdir) / mode), "max_steps": args.warmup + args.steps,
        "per_device_train_batch_size": args.rows, "gradient_accumulation_steps": 1, "max_length": args.seq_len,
        "packing": True, "packing_strategy": strategy, "learning_rate": 1e-5, "lr_scheduler_type": "constant",
        "warmup_steps": 0, "bf16": args.gpu, "use_cpu": not args.gpu, "gradient_checkpointing": False,
        "optim": "adamw_torch_fused" if args.gpu else "adamw_torch", "max_grad_norm": 1.0,
        "logging_steps": 10_000, "save_strategy": "no", "report_to": [], "dataloader_num_workers": 0,
        "use_liger_kernel": args.gpu and liger_available(), "shuffle_dataset": False, "seed": 0,
    }
    cfg = validate({
        "name": f"bench_{mode}", "run_dir": args.workdir, "trainer": trainer_cfg, "model": {"name_or_path": "tiny"},
        "data": {"format": "synth_sft", "path": "unused"}, "attention": "varlen" if mode == "sft_varlen" else None,
    }, TrainConfig)
    ds = datasets.Dataset.from_dict({"input_ids": docs})
    marks: dict[str, float] = {}

    class Timer(TrainerCallback):
        def on_step_begin(self, _args, state, control, **kw):
            if state.global_step == args.warmup:
                _sync(device)
                marks["t0"] = time.perf_counter()

        def on_step_end(self, _args, state, control, **kw):
            if state.global_step == args.warmup + args.steps:
                _sync(device)
                marks["t1"] = time.perf_counter()

    trainer = build_sft_trainer(cfg, train_dataset=ds, tokenizer=tokenizer, callbacks=[Timer()], model=model)
    counter = _CountingCollator(trainer.data_collator)
    trainer.data_collator = counter
    trainer.train()
    timed = counter.tokens[args.warmup: args.warmup + args.steps]
    attn = trainer.model.config._attn_implementation
    return {"tokens": sum(timed), "seconds": marks["t1"] - marks["t0"], "attn": attn,
            "loss": next((h["train_loss"] for h in trainer.state.log_history if "train_loss" in h), None)}


def worker(args) -> None:
    import torch

    device = "cuda" if args.gpu else "cpu"
    if args.gpu:
        torch.backends.cuda.matmul.allow_tf32 = True
    vocab = QWEN25_15B["vocab_size"] if args.gpu else 500
    docs = make_documents((args.warmup + args.steps + 4) * args.rows * args.seq_len, args.seq_len, vocab)
    if args.mode == "plain":
        out = run_plain(args, docs, device)
    else:
        if args.mode == "sft_bfd_sdpa":
            out = run_sft(args, docs, device, "sft_bfd")
        else:
            out = run_sft(args, docs, device, args.mode)
    out.update(mode=args.mode, peak_gib=_peak_gib(device), tokens_per_s=out["tokens"] / out["seconds"])
    print("RESULT " + json.dumps(out), flush=True)


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--gpu", action="store_true", help="Qwen2.5-1.5B shape on CUDA (default: tiny model on CPU)")
    p.add_argument("--seq-len", type=int, default=None, help="tokens per row (default: 4096 GPU, 256 CPU)")
    p.add_argument("--rows", type=int, default=4, help="rows per step")
    p.add_argument("--steps", type=int, default=None, help="timed steps (default: 10 GPU, 8 CPU)")
    p.add_argument("--warmup", type=int, default=None, help="untimed steps first (default: 6 GPU, 2 CPU)")
    p.add_argument("--modes", default=",".join(MODES))
    p.add_argument("--weights", choices=["fp32", "bf16"], default="fp32",
                   help="GPU: fp32 weights under bf16 autocast (mixed precision, default) or pure bf16 weights")
    p.add_argument("--with-sdpa-bfd", action="store_true", help="also time bfd + padding-free under stock SDPA")
    p.add_argument("--json", default=None, help="write the results here")
    p.add_argument("--workdir", default=str(ROOT / "bench" / "out" / "train_throughput"))
    p.add_argument("--mode", default=None, help=argparse.SUPPRESS)  # worker subprocess
    args = p.parse_args()
    args.seq_len = args.seq_len or (4096 if args.gpu else 256)
    args.steps = args.steps or (10 if args.gpu else 8)
    args.warmup = args.warmup if args.warmup is not None else (6 if args.gpu else 2)
    if args.mode:
        return worker(args)

    modes = args.modes.split(",") + (["sft_bfd_sdpa"] if args.with_sdpa_bfd else [])
    results = {}
    for mode in modes:
        cmd = [sys.executable, __file__, "--mode", mode, "--seq-len", str(args.seq_len), "--rows", str(args.rows),
               "--steps", str(args.steps), "--warmup", str(args.warmup), "--workdir", args.workdir,
               "--weights", args.weights]
        cmd += ["--gpu"] if args.gpu else []
        proc = subprocess.run(cmd, check=False, capture_output=True, text=True, env={**os.environ, "WANDB_MODE": "disabled"})
        line = next((ln for ln in proc.stdout.splitlines() if ln.startswith("RESULT ")), None)
        if proc.returncode != 0 or line is None:
            print(f"{mode}: FAILED (exit {proc.returncode})\n{proc.stderr[-3000:]}", file=sys.stderr)
            results[mode] = {"mode": mode, "error": proc.stderr[-1500:]}
            continue
        results[mode] = json.loads(line[len("RESULT "):])
    base = results.get("plain", {}).get("tokens_per_s")
    device = "cuda" if args.gpu else "cpu"
    try:
        import torch

        card = torch.cuda.get_device_name(0) if args.gpu else "CPU"
    except Exception:  # noqa: BLE001 - the name is informational
        card = device
    print(f"\n{card}: {'Qwen2.5-1.5B shape' if args.gpu else 'tiny Qwen2'}, {args.rows} x {args.seq_len} tokens/step, "
          f"{args.warmup} warm-up + {args.steps} timed steps, {args.weights} weights")
    print(f"{'path':<14} {'tokens/s':>10} {'vs plain':>9} {'peak GiB':>9}  attention")
    for mode, r in results.items():
        if "error" in r:
            print(f"{mode:<14} {'failed':>10}")
            continue
        ratio = f"{r['tokens_per_s'] / base:.2f}x" if base else "-"
        print(f"{mode:<14} {r['tokens_per_s']:>10.0f} {ratio:>9} {r['peak_gib']:>9.2f}  {r.get('attn', 'sdpa')}")
    if args.json:
        Path(args.json).write_text(json.dumps({"card": card, "args": {k: v for k, v in vars(args).items()},
                                               "results": results}, indent=2))


if __name__ == "__main__":
    main()
