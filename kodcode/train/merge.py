"""LoRA adapters merged into their base model, saved as an ordinary full checkpoint.

A ``peft=lora|qlora`` run trains adapters only; ``python -m kodcode.eval``, vLLM and a next training stage
want one model directory. With ``peft.merge_on_save=true`` (the default) the runner saves the adapters to
``<output_dir>/final_adapter/`` and writes the merged model to ``<output_dir>/final/``. The base is
reloaded from ``model.name_or_path`` in ``model.dtype`` on the CPU, never 4-bit (merging into NF4 weights
would round the update away), so the merge works the same after DDP, ZeRO-3 or FSDP training: it only
reads the saved adapter files. It needs the base's size in CPU memory (64 GiB for a 32B model in bf16).

    python -m kodcode.train.merge outputs/train/<name>/checkpoints/final_adapter merged/ [--dtype bfloat16]
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

ADAPTER_CONFIG = "adapter_config.json"


def is_adapter_dir(path: str | Path) -> bool:
    """True when ``path`` holds PEFT adapters and no full model of its own."""
    p = Path(path)
    return (p / ADAPTER_CONFIG).is_file() and not (p / "config.json").is_file()


def merge_adapter(adapter_dir: str | Path, out_dir: str | Path, dtype: str = "float32",
                  base: str | None = None, revision: str | None = None, trust_remote_code: bool = False) -> Path:
    """Load ``base`` (default: the adapters' own ``base_model_name_or_path``) in ``dtype``, merge the
    adapters of ``adapter_dir`` into it and save model and tokenizer to ``out_dir``; returns ``out_dir``."""
    import torch
    from peft import PeftModel
    from transformers import AutoModelForCausalLM, AutoTokenizer

    from kodcode.llm.tiny import ensure_model

    adapter_dir, out_dir = Path(adapter_dir), Path(out_dir)
    if not (adapter_dir / ADAPTER_CONFIG).is_file():
        raise FileNotFoundError(
            f"{adapter_dir} has no {ADAPTER_CONFIG}, so it holds no LoRA adapters to merge; give the directory a "
            "peft=lora run saved (<output_dir>/final_adapter, or final/ with peft.merge_on_save=false)"
        )
    base = base or json.loads((adapter_dir / ADAPTER_CONFIG).read_text())["base_model_name_or_path"]
    model = AutoModelForCausalLM.from_pretrained(ensure_model(base), dtype=getattr(torch, dtype), revision=revision,
                                                 trust_remote_code=trust_remote_code)
    merged = PeftModel.from_pretrained(model, str(adapter_dir)).merge_and_unload()
    out_dir.mkdir(parents=True, exist_ok=True)
    merged.save_pretrained(str(out_dir))
    AutoTokenizer.from_pretrained(str(adapter_dir)).save_pretrained(str(out_dir))  # the trainer saved it there
    return out_dir


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(prog="python -m kodcode.train.merge", description=__doc__.split("\n\n")[0])
    ap.add_argument("adapter_dir")
    ap.add_argument("out_dir")
    ap.add_argument("--dtype", default="float32", choices=["float32", "bfloat16", "float16"])
    ap.add_argument("--base", default=None, help="base model (default: the adapters' base_model_name_or_path)")
    args = ap.parse_args(argv)
    print(merge_adapter(args.adapter_dir, args.out_dir, args.dtype, args.base))


if __name__ == "__main__":
    main()
