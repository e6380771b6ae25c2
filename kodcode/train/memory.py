"""Memory per GPU rank, estimated before the first step from the model's shape and the run's config.

What one rank holds at its peak (bytes; ``P`` parameters, ``W`` ranks, ``b`` bytes of ``model.dtype``):

* model states. DeepSpeed (bf16 mixed precision): weights 2P, gradients 2P, optimizer 12P (fp32
  master copy + Adam's two moments; ZeRO paper, Rajbhandari et al. 2020, §3.1 "16 bytes per
  parameter"). ZeRO-2 shards gradients and optimizer over W, ZeRO-3 all three. DDP / FSDP / one GPU:
  the weights stay in their loaded dtype, so weights bP, gradients bP, AdamW 2bP; FSDP shards all three.
* LoRA / QLoRA (``peft``): the base is frozen, so it has weights only (bP; QLoRA's NF4 ~0.5P plus
  its block scales); the adapters (``r x (in + out)`` per adapted linear layer, ``all-linear``: every
  projection) are kept in fp32 by PEFT, so they cost 16 bytes each with their gradients and Adam.
* GRPO with ``beta > 0``: a frozen reference model, bP (sharded under ZeRO-3 / FSDP; none with LoRA).
* activations for one micro-batch of ``per_device x sequence`` tokens: without checkpointing every
  layer keeps ~``7h + 3kv + 4i`` values per token (norm in/out, q, k, v, rotary copies, attention
  output, the SwiGLU MLP's gate, up, activation and product; memory-efficient attention, so no
  ``s^2`` term unless ``attention=eager``); with checkpointing only each layer's input ``h`` plus one
  layer recomputed. TRL 1.16 computes the LM head in 4,096-token tiles (``add_fused_lm_head``), so
  full-vocabulary logits are never held.
* ZeRO-3 / FSDP: two layers (prefetch) and the embedding gathered at once; colocated vLLM generation
  with ZeRO-3 gathers the whole model (``ds3_gather_for_generation``), counted against activations
  (they are not alive at the same time).
* colocated vLLM: ``vllm_gpu_memory_utilization`` of the card, reserved up front.
* a fixed 3 GB for the CUDA context, NCCL buffers, ZeRO buckets and allocator slack.

    from kodcode.train.memory import estimate_memory
    est = estimate_memory(tc, plan, sharding="zero3", card_gb=80)
    print("\\n".join(est.lines()))

Checked against published figures (tests/train/test_memory.py): the ZeRO paper's Figure 1 (7.5B
parameters on 64 GPUs: 120 / 16.6 / 1.9 GB of model states for DDP / ZeRO-2 / ZeRO-3, within 2%),
DeepSpeed's own ZeRO-3 estimator as printed in the transformers DeepSpeed guide (T0_3B; this counts
16 bytes per parameter where it budgets 18, so it lands 10-13% under), and the parameter counts on
the models' cards (within 1%). Activations and vLLM's share are not in those figures: measure them
on a GPU (``torch.cuda.max_memory_allocated``) before trusting a tight fit.

The shape comes from ``config.json`` (a local directory or the Hugging Face cache), else from the
published configs of the models the shipped experiments use (``KNOWN_SHAPES``).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

from kodcode.train.batch import BatchPlan

GB = 1024**3
OVERHEAD_GB = 3.0
SHARDINGS = ("none", "ddp", "zero2", "zero3", "fsdp")
DTYPE_BYTES = {"bfloat16": 2, "float16": 2, "float32": 4}


@dataclass(frozen=True)
class ModelShape:
    hidden: int
    intermediate: int
    layers: int
    heads: int
    kv_heads: int
    vocab: int
    tied: bool = False

    @property
    def kv_dim(self) -> int:
        return self.hidden // self.heads * self.kv_heads

    @property
    def layer_params(self) -> int:
        h, kv = self.hidden, self.kv_dim
        attention = 2 * h * h + 2 * h * kv + h + 2 * kv  # q, o; k, v; Qwen2's q/k/v biases
        return attention + 3 * h * self.intermediate + 2 * h

    def lora_params(self, r: int) -> int:
        """Adapter parameters of rank ``r`` on every projection (q, k, v, o, gate, up, down)."""
        h, kv, i = self.hidden, self.kv_dim, self.intermediate
        per_layer = (h + h) + 2 * (h + kv) + (h + h) + 2 * (h + i) + (i + h)
        return self.layers * r * per_layer

    @property
    def embedding_params(self) -> int:
        return self.vocab * self.hidden

    @property
    def params(self) -> int:
        heads = 1 if self.tied else 2
        return self.layers * self.layer_params + heads * self.embedding_params + self.hidden

    @classmethod
    def from_config(cls, cfg: dict) -> ModelShape:
        return cls(
            hidden=cfg["hidden_size"], intermediate=cfg["intermediate_size"], layers=cfg["num_hidden_layers"],
            heads=cfg["num_attention_heads"], kv_heads=cfg.get("num_key_value_heads") or cfg["num_attention_heads"],
            vocab=cfg["vocab_size"], tied=bool(cfg.get("tie_word_embeddings", False)),
        )


# config.json of the published models (hidden, intermediate, layers, heads, kv heads, vocab, tied).
KNOWN_SHAPES = {
    "Qwen/Qwen2.5-Coder-32B-Instruct": ModelShape(5120, 27648, 64, 40, 8, 152064),
    "Qwen/Qwen2.5-Coder-7B-Instruct": ModelShape(3584, 18944, 28, 28, 4, 152064),
    "Qwen/Qwen2.5-Coder-1.5B-Instruct": ModelShape(1536, 8960, 28, 12, 2, 151936, tied=True),
    "meta-llama/Llama-3.1-8B-Instruct": ModelShape(4096, 14336, 32, 32, 8, 128256),
}


def model_shape(name_or_path: str) -> ModelShape | None:
    """The shape of ``name_or_path`` without downloading anything; None when it cannot be known."""
    if name_or_path == "tiny":
        from kodcode.llm.tiny import ensure_model

        name_or_path = ensure_model("tiny")
    local = Path(name_or_path) / "config.json"
    if local.is_file():
        return ModelShape.from_config(json.loads(local.read_text()))
    try:
        from huggingface_hub import try_to_load_from_cache

        cached = try_to_load_from_cache(name_or_path, "config.json")
    except Exception:  # not a repo id, or no hub library: fall through to the table
        cached = None
    if isinstance(cached, str):
        return ModelShape.from_config(json.loads(Path(cached).read_text()))
    return KNOWN_SHAPES.get(name_or_path)


@dataclass
class MemoryEstimate:
    parts: dict[str, float]  # GB per rank, by component
    card_gb: float | None
    sharding: str
    world_size: int
    fixes: list[str] = field(default_factory=list)

    @property
    def total_gb(self) -> float:
        return sum(self.parts.values())

    @property
    def fits(self) -> bool:
        return self.card_gb is None or self.total_gb <= self.card_gb

    def lines(self) -> list[str]:
        parts = ", ".join(f"{k} {v:.1f}" for k, v in self.parts.items() if v >= 0.05)
        card = f" of {self.card_gb:.0f} GB" if self.card_gb else ""
        verdict = "" if self.card_gb is None else ("  fits" if self.fits else "  DOES NOT FIT")
        out = [f"memory per rank: {self.total_gb:.1f} GB{card} ({self.sharding}, {self.world_size} ranks){verdict}",
               f"  GB: {parts}"]
        out += [f"  fix: {f}" for f in self.fixes]
        return out

    def refusal(self) -> str:
        return (
            f"the estimated peak memory per rank is {self.total_gb:.1f} GB ({', '.join(f'{k} {v:.1f}' for k, v in self.parts.items())}), "
            f"more than the card's {self.card_gb:.0f} GB, so the run would die at its first steps. Fix: "
            + "; or ".join(self.fixes) + ". (The estimate is kodcode/train/memory.py; memory.refuse=false skips it.)"
        )


def model_state_bytes(params: int, sharding: str, world: int, dtype_bytes: int, peft: str = "none",
                 adapter_params: int = 0) -> dict[str, float]:
    deepspeed = sharding in ("zero2", "zero3")
    shard_w = world if sharding in ("zero3", "fsdp") else 1
    shard_go = world if sharding in ("zero2", "zero3", "fsdp") else 1
    if peft != "none":  # frozen base, fp32 adapters with their gradients and Adam moments
        base = params * (0.5 * 1.03 if peft == "qlora" else dtype_bytes)  # NF4 + ~3% block scales (double quant)
        return {"weights": base / shard_w + adapter_params * 4 / shard_w, "gradients": adapter_params * 4 / shard_go,
                "optimizer": adapter_params * 8 / shard_go}
    weights, grads, optim = (2, 2, 12) if deepspeed else (dtype_bytes, dtype_bytes, 2 * dtype_bytes)
    return {"weights": params * weights / shard_w, "gradients": params * grads / shard_go,
            "optimizer": params * optim / shard_go}


def activation_bytes(shape: ModelShape, tokens: int, checkpointing: bool, eager: bool, seq: int) -> float:
    per_layer = 7 * shape.hidden + 3 * shape.kv_dim + 4 * shape.intermediate
    if eager:  # the attention matrix per head: seq^2 per sequence, i.e. heads x seq per token
        per_layer += shape.heads * seq
    act = 2  # bf16 / fp16 activations; fp32 doubles them (handled by the caller's dtype)
    if checkpointing:
        return tokens * act * (shape.layers * shape.hidden + per_layer)
    return tokens * act * shape.layers * per_layer


def estimate_memory(tc, plan: BatchPlan, sharding: str, card_gb: float | None, dtype: str = "bfloat16",
                    shape: ModelShape | None = None, suggest: bool = True) -> MemoryEstimate | None:
    """Peak GB per rank of ``tc`` run as ``plan`` under ``sharding``; None when the shape is unknown."""
    shape = shape or model_shape(tc.model.name_or_path)
    if shape is None:
        return None
    t = tc.trainer
    b = DTYPE_BYTES[dtype]
    world = plan.world_size
    peft = tc.peft.method
    parts = model_state_bytes(shape.params, sharding, world, b, peft, shape.lora_params(tc.peft.r) if peft != "none" else 0)
    sharded = sharding in ("zero3", "fsdp")
    # With adapters TRL's reference model is the base with the adapters switched off: no second copy.
    if t["kind"] == "grpo" and float(t.get("beta", 0.0) or 0.0) > 0 and peft == "none":
        parts["reference model"] = shape.params * (2 if sharding in ("zero2", "zero3") else b) / (world if sharded else 1)
    tokens = plan.per_device * plan.seq_tokens
    act = activation_bytes(shape, tokens, bool(t.get("gradient_checkpointing", True)), tc.attention == "eager",
                           plan.seq_tokens) * (b / 2 if b > 2 else 1)
    colocated = t["kind"] == "grpo" and t.get("use_vllm") and (t.get("vllm_mode") or "colocate") == "colocate"
    gather = 0.0
    if sharded:
        parts["gathered layers"] = (2 * shape.layer_params + shape.embedding_params) * 2
        if colocated:
            gather = shape.params * 2  # the whole model gathered to sync vLLM's weights
    parts["activations"] = max(act, gather)
    if colocated and card_gb:
        parts["vllm (colocated)"] = float(t.get("vllm_gpu_memory_utilization") or 0.3) * card_gb * GB
    parts = {k: v / GB for k, v in parts.items()}
    parts["cuda/nccl overhead"] = OVERHEAD_GB
    est = MemoryEstimate(parts=parts, card_gb=card_gb, sharding=sharding, world_size=world)
    if suggest and not est.fits:
        est.fixes = _fixes(tc, plan, sharding, card_gb, dtype, shape, colocated)
    return est


def _fixes(tc, plan: BatchPlan, sharding: str, card_gb: float, dtype: str, shape: ModelShape,
           colocated: bool) -> list[str]:
    """Changes that make the estimate fit, each checked by re-estimating with it applied."""
    from dataclasses import replace

    def fits(t_over: dict, world: int | None = None, shard: str | None = None) -> bool:
        tc2 = replace(tc, trainer={**tc.trainer, **t_over})
        plan2 = replace(plan, per_device=tc2.trainer.get("per_device_train_batch_size", plan.per_device),
                        world_size=world or plan.world_size)
        est = estimate_memory(tc2, plan2, shard or sharding, card_gb, dtype, shape, suggest=False)
        return est is not None and est.fits

    out = []
    per_device = plan.per_device
    for smaller in (d for d in range(per_device - 1, 0, -1) if per_device % d == 0):
        if fits({"per_device_train_batch_size": smaller}):
            what = "completions" if tc.trainer["kind"] == "grpo" else "sequences"
            out.append(f"fewer {what} per device: trainer.per_device_train_batch_size={smaller} (the global batch "
                       "is kept; accumulation grows)")
            break
    if not tc.trainer.get("gradient_checkpointing", True) and fits({"gradient_checkpointing": True}):
        out.append("trainer.gradient_checkpointing=true")
    if colocated and fits({"vllm_mode": "server"}):
        out.append("vLLM in server mode on its own node: slurm/train.sh --vllm (trainer.vllm_mode=server)")
    if sharding != "zero3" and fits({}, shard="zero3"):
        out.append("shard parameters too: --accelerate zero3")
    for world in (plan.world_size * k for k in (2, 4, 8)):
        if sharding in ("zero2", "zero3", "fsdp") and fits({}, world=world):
            out.append(f"more GPUs: {world} ({world // 8} nodes of 8) shard the model states further")
            break
    return out or ["a smaller model, shorter trainer.max_length / max_completion_length, or a larger card"]
