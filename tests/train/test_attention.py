"""Document-respecting packed attention: a packed padding-free row gives exactly what each document
gives on its own (forward and gradients), and ordinary padded batches still match SDPA."""

from __future__ import annotations

import pytest
import torch

from kodcode.llm.tiny import ensure_model
from kodcode.train.attention import NAME, register_varlen_attention

DEVICES = ["cpu"] + (["cuda"] if torch.cuda.is_available() else [])


def _models(device, dtype=torch.float32):
    from transformers import AutoModelForCausalLM

    path = ensure_model("tiny")
    register_varlen_attention()
    packed = AutoModelForCausalLM.from_pretrained(path, attn_implementation=NAME, dtype=dtype).to(device)
    plain = AutoModelForCausalLM.from_pretrained(path, attn_implementation="sdpa", dtype=dtype).to(device)
    return packed, plain


def _docs(device):
    g = torch.Generator().manual_seed(0)
    return [torch.randint(5, 500, (n,), generator=g).to(device) for n in (37, 64, 5, 90)]


def _packed_inputs(docs):
    ids = torch.cat(docs)[None]
    pos = torch.cat([torch.arange(len(d), device=ids.device) for d in docs])[None]
    cu = torch.tensor([0] + [len(d) for d in docs], device=ids.device).cumsum(0).to(torch.int32)
    m = max(len(d) for d in docs)
    return {"input_ids": ids, "position_ids": pos, "cu_seq_lens_q": cu, "cu_seq_lens_k": cu, "max_length_q": m, "max_length_k": m}


@pytest.mark.parametrize("device", [pytest.param(d, marks=pytest.mark.gpu if d == "cuda" else ()) for d in DEVICES])
def test_packed_row_equals_separate_documents(device):
    dtype = torch.bfloat16 if device == "cuda" else torch.float32  # the CUDA kernel is FlashAttention
    packed, plain = _models(device, dtype)
    docs = _docs(device)
    out = packed(**_packed_inputs(docs)).logits[0].float()
    ref = torch.cat([plain(input_ids=d[None]).logits[0].float() for d in docs])
    tol = {"rtol": 0, "atol": 5e-2} if device == "cuda" else {"rtol": 1e-4, "atol": 1e-4}
    torch.testing.assert_close(out, ref, **tol)
    # and it is not what attention across documents would give
    assert (plain(input_ids=torch.cat(docs)[None]).logits[0].float() - ref).abs().max() > 1e-2


def test_packed_gradients_equal_separate_documents():
    packed, plain = _models("cpu")
    docs = _docs("cpu")
    packed(**_packed_inputs(docs), labels=torch.cat(docs)[None]).logits.sum().backward()
    for d in docs:
        plain(input_ids=d[None]).logits.sum().backward()
    for (name, a), (_, b) in zip(packed.named_parameters(), plain.named_parameters()):
        assert (a.grad - b.grad).abs().max() <= 1e-4 * b.grad.abs().max() + 1e-6, name


def test_padded_batch_still_matches_sdpa():
    packed, plain = _models("cpu")
    a, b = _docs("cpu")[:2]
    ids = torch.nn.utils.rnn.pad_sequence([a, b], batch_first=True, padding_value=3, padding_side="left")
    mask = (ids != 3).long()
    mask[1] = 1
    real = mask.bool()
    torch.testing.assert_close(
        packed(input_ids=ids, attention_mask=mask).logits[real], plain(input_ids=ids, attention_mask=mask).logits[real]
    )
