"""Document-respecting attention for packed, padding-free SFT batches, without flash-attn wheels.

TRL's padding-free collator (``packing_strategy="bfd"``) flattens a batch into one row and passes
``cu_seq_lens_q/k`` + ``max_length_q/k`` to the model. flash-attn consumes those directly, but it has no
wheels here; under SDPA transformers turns the packing into a dense block-diagonal mask and SDPA falls
back to a slow kernel (0.20-0.27x of a plain loop on an H100, reference note F). This module registers
an attention implementation, ``kodcode_varlen``, that feeds the same boundaries to PyTorch's own
FlashAttention varlen kernel (``torch.nn.attention.varlen.varlen_attn``): no attention across
documents and no compute on padding. On CPU, or a PyTorch without that kernel, it runs SDPA once per
document, which is exact and is what the tests compare against.

    from kodcode.train.attention import register_varlen_attention
    name = register_varlen_attention()      # "kodcode_varlen"
    model = AutoModelForCausalLM.from_pretrained(path, attn_implementation=name)

Batches without ``cu_seq_lens_q`` (ordinary padded batches, generation) go through SDPA with the
causal + padding mask, so the model stays usable outside padding-free training.
"""

from __future__ import annotations

import inspect
import itertools
from functools import lru_cache

import torch
import torch.nn.functional as F

NAME = "kodcode_varlen"


@lru_cache(maxsize=1)
def _varlen_kernel():
    """(function, extra kwargs) for PyTorch's varlen FlashAttention, or None when unavailable."""
    try:
        from torch.nn.attention.varlen import varlen_attn
    except ImportError:
        return None
    params = inspect.signature(varlen_attn).parameters
    kwargs: dict = {}
    # The causal switch moved between releases: `is_causal` (2.10-2.11) and `window_size` (later).
    if "window_size" in params:
        kwargs["window_size"] = (-1, 0)
    elif "is_causal" in params:
        kwargs["is_causal"] = True
    else:
        return None
    return varlen_attn, kwargs, "enable_gqa" in params, "scale" in params


def _repeat_kv(x: torch.Tensor, groups: int, dim: int) -> torch.Tensor:
    return x if groups == 1 else x.repeat_interleave(groups, dim=dim)


def _per_document_sdpa(q, k, v, cu: torch.Tensor, scale: float | None) -> torch.Tensor:
    """Exact reference: causal SDPA on each document of the packed row. q: (H, T, D) -> (T, H, D)."""
    out = torch.empty(q.shape[1], q.shape[0], q.shape[2], dtype=q.dtype, device=q.device)
    bounds = cu.tolist()
    for start, end in itertools.pairwise(bounds):
        if end > start:
            o = F.scaled_dot_product_attention(
                q[:, start:end], k[:, start:end], v[:, start:end], is_causal=True, scale=scale
            )
            out[start:end] = o.transpose(0, 1)
    return out


def _dense_mask(mask2d: torch.Tensor, q_len: int, kv_len: int) -> torch.Tensor:
    q_pos = torch.arange(kv_len - q_len, kv_len, device=mask2d.device)[:, None]
    k_pos = torch.arange(kv_len, device=mask2d.device)[None, :]
    mask = (k_pos <= q_pos)[None, None] & mask2d[:, None, None, :].bool()
    # A query row that sees nothing (left padding) would turn into NaN; let it see itself instead.
    return mask | (k_pos == q_pos)[None, None]


def varlen_attention_forward(module, query, key, value, attention_mask, dropout=0.0, scaling=None, **kwargs):
    """transformers attention interface: q (B, H, S, D), k/v (B, Hkv, S, D) -> ((B, S, H, D), None)."""
    groups = query.shape[1] // key.shape[1]
    cu_q = kwargs.get("cu_seq_lens_q")
    if cu_q is not None and query.shape[0] == 1:
        cu_k = kwargs.get("cu_seq_lens_k", cu_q)
        kernel = _varlen_kernel() if query.is_cuda else None
        if kernel is not None:
            fn, extra, gqa, has_scale = kernel
            q = query[0].transpose(0, 1)  # (T, H, D)
            k = key[0].transpose(0, 1)
            v = value[0].transpose(0, 1)
            if groups > 1 and gqa:
                extra = {**extra, "enable_gqa": True}
            elif groups > 1:
                k, v = _repeat_kv(k, groups, 1), _repeat_kv(v, groups, 1)
            if has_scale and scaling is not None:
                extra = {**extra, "scale": scaling}
            max_q = int(kwargs.get("max_length_q") or int((cu_q[1:] - cu_q[:-1]).max()))
            max_k = int(kwargs.get("max_length_k") or max_q)
            out = fn(q, k, v, cu_q.to(torch.int32), cu_k.to(torch.int32), max_q, max_k, **extra)
            return out.unsqueeze(0), None
        q = query[0]
        k, v = _repeat_kv(key[0], groups, 0), _repeat_kv(value[0], groups, 0)
        return _per_document_sdpa(q, k, v, cu_q, scaling).unsqueeze(0), None
    k, v = _repeat_kv(key, groups, 1), _repeat_kv(value, groups, 1)
    q_len, kv_len = query.shape[2], key.shape[2]
    if attention_mask is None:
        out = F.scaled_dot_product_attention(query, k, v, is_causal=q_len == kv_len and q_len > 1, scale=scaling)
    else:
        mask = attention_mask if attention_mask.dim() == 4 else _dense_mask(attention_mask, q_len, kv_len)
        out = F.scaled_dot_product_attention(query, k, v, attn_mask=mask.bool(), scale=scaling)
    return out.transpose(1, 2).contiguous(), None


def register_varlen_attention() -> str:
    """Register ``kodcode_varlen`` with transformers (idempotent) and return its name."""
    from transformers import AttentionInterface
    from transformers.masking_utils import AttentionMaskInterface, flash_attention_mask

    AttentionInterface.register(NAME, varlen_attention_forward)
    # Like flash attention: no dense mask is built for padding-free batches (None when causal and
    # unpadded); a padded batch keeps its 2D mask, which the forward above expands itself.
    AttentionMaskInterface.register(NAME, flash_attention_mask)
    return NAME
