"""Prompts to requests and model outputs to scorable programs, for every benchmark, through ``kodcode.llm``.

Official setups (greedy, 16K tokens by default; paper §4.1):
* HumanEval+/MBPP+ and BigCodeBench: the user turn is the harness's instruction; the assistant turn
  is pre-filled with the harness's response prefix and an opening ```` ```python ```` fence (rendered
  through the model's chat template and cut at a marker, as ``make_raw_chat_prompt`` does); generation
  stops at the closing fence or the harness's EOS strings; the output goes through the harness's
  sanitizer.  Backends that cannot render the template (a hosted API without a local tokenizer) get
  the plain chat turn instead, as evalplus's openai backend does (``prompt_style=chat``).  Without a
  chat template (base models, ``prompt_style=completion``) the raw prompt is continued.
* LiveCodeBench: LCB's system + user messages, no stop strings, code = last fenced block.

    items = benchmark_items(...)            # see runner.py
    requests = [request_for(item, llm, gen_cfg) for item in items]
"""

from __future__ import annotations

from dataclasses import dataclass

from kodcode.llm.types import GenerationRequest

# evalplus/provider/utility.py and bigcodebench/provider/utility.py EOS lists
EOS = ["<|endoftext|>", "<|endofmask|>", "</s>", "\nif __name__", "\ndef main(", "\nprint("]
FENCE_STOP = "\n```\n"
DIRECT_EOS = {
    "humaneval": ["\ndef ", "\nclass ", "\nimport ", "\nfrom ", "\nassert "],
    "mbpp": ['\n"""', "\nassert"],
    "bigcodebench": ["\ndef ", "\nclass ", "\nimport ", "\nfrom ", "\nassert "],
}
_MARKER = "-[[]]-kodcode-prefill-marker-[[]]-"


@dataclass
class Item:
    """One prompt: ``kind`` picks the official recipe (humaneval | mbpp | bigcodebench | livecodebench)."""

    kind: str
    task_id: str
    user: str | None = None  # user turn (evalplus / BCB)
    raw_prompt: str | None = None  # direct-completion prompt (base models)
    entry_point: str | None = None
    response_prefix: str | None = None
    messages: list[dict] | None = None  # full chat (LCB)


def resolve_style(style: str, llm) -> str:
    """auto -> prefill when the backend can render the chat template; else chat (servers) or completion."""
    if style != "auto":
        return style
    try:
        llm.render_chat([{"role": "user", "content": "x"}])
        return "prefill"
    except Exception:  # noqa: BLE001 - no template (base model) or no local tokenizer (hosted API)
        return "chat" if getattr(llm, "backend", "") == "openai" else "completion"


def request_for(item: Item, llm, style: str, max_tokens: int, temperature: float, top_p: float) -> GenerationRequest:
    common = {"max_tokens": max_tokens, "temperature": temperature, "top_p": top_p}
    if item.messages is not None:  # LiveCodeBench: plain chat, whatever the style
        return GenerationRequest(messages=item.messages, **common)
    if style == "completion":
        if item.raw_prompt is None:
            raise ValueError(f"{item.task_id}: this split has no direct-completion prompt (BigCodeBench-Instruct "
                             "needs a chat model, as in the official harness); use a chat model or drop the split")
        return GenerationRequest(prompt=item.raw_prompt, stop=EOS + DIRECT_EOS[item.kind], **common)
    if style == "chat":
        return GenerationRequest(messages=[{"role": "user", "content": item.user}], stop=EOS, **common)
    rendered = llm.render_chat(
        [{"role": "user", "content": item.user},
         {"role": "assistant", "content": f"{item.response_prefix}\n```python\n{_MARKER}\n```\n"}],
        add_generation_prompt=False,
    )
    if _MARKER not in rendered:
        raise ValueError(f"the chat template of {llm.model_id} dropped the assistant turn; set generation.prompt_style=chat")
    return GenerationRequest(prompt=rendered.split(_MARKER)[0], stop=EOS + [FENCE_STOP], **common)


def to_program(item: Item, text: str, style: str) -> str:
    """The sanitized program a benchmark scores, from one model output."""
    from kodcode.eval.sanitize import bigcodebench_sanitize, evalplus_sanitize

    if item.kind in ("livecodebench", "livecodebench_skythought"):  # LCB's extraction, or SkyThought's
        from kodcode.eval.livecodebench import extract

        return extract(text, "skythought" if item.kind == "livecodebench_skythought" else "lcb")
    if style == "completion" and item.raw_prompt is not None:
        text = item.raw_prompt + text
    if item.kind == "bigcodebench":
        return bigcodebench_sanitize(text, item.entry_point)
    return evalplus_sanitize(text, item.entry_point)


def generate(items: list[Item], llm, style: str, max_tokens: int, temperature: float, top_p: float,
             desc: str = "eval") -> list[dict]:
    """Generate one answer per item; rows ``{task_id, solution, raw, finish_reason}`` in item order."""
    style = resolve_style(style, llm)
    requests = [request_for(it, llm, style, max_tokens, temperature, top_p) for it in items]
    results = llm.generate(requests, desc=desc) if requests else []
    rows = []
    for it, res in zip(items, results):
        raw = res.texts[0]
        rows.append({"task_id": it.task_id, "solution": to_program(it, raw, style), "raw": raw,
                     "finish_reason": res.finish_reasons[0] if res.finish_reasons else None,
                     "prompt_style": style})
    return rows
