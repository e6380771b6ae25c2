"""Official prompt rendering (pre-filled assistant turn), stop strings and output-to-program rules."""

from kodcode.eval import evalplus_bench as ep
from kodcode.eval.fixtures import HUMANEVAL
from kodcode.eval.generation import FENCE_STOP, Item, request_for, resolve_style, to_program
from kodcode.llm.scripted import ScriptedLLM


def _item():
    p = HUMANEVAL[0]
    return Item(kind="humaneval", task_id=p["task_id"], user=ep.user_message(p), raw_prompt=p["prompt"],
                entry_point=p["entry_point"], response_prefix=ep.RESPONSE_PREFIX)


def test_prefill_renders_the_chat_template_up_to_the_open_code_fence():
    llm = ScriptedLLM(lambda r: "")
    assert resolve_style("auto", llm) == "prefill"
    req = request_for(_item(), llm, "prefill", 16384, 0.0, 1.0)
    assert req.messages is None and req.max_tokens == 16384 and req.temperature == 0.0
    assert req.prompt.startswith("<|im_start|>user\nPlease provide a self-contained Python script")
    assert req.prompt.endswith("<|im_start|>assistant\n" + ep.RESPONSE_PREFIX + "\n```python\n")
    assert FENCE_STOP in req.stop and "\nif __name__" in req.stop


def test_chat_style_sends_the_user_turn_only():
    req = request_for(_item(), ScriptedLLM(lambda r: ""), "chat", 100, 0.0, 1.0)
    assert req.prompt is None and req.messages == [{"role": "user", "content": ep.user_message(HUMANEVAL[0])}]


def test_completion_style_continues_the_raw_prompt_with_direct_completion_stops():
    item = _item()
    req = request_for(item, ScriptedLLM(lambda r: ""), "completion", 100, 0.0, 1.0)
    assert req.prompt == item.raw_prompt and "\ndef " in req.stop
    assert to_program(item, "    return a + b\n", "completion") == item.raw_prompt + "    return a + b"


def test_outputs_are_sanitized_to_the_entry_point_and_its_dependencies():
    raw = "import math\n\ndef add_two(a, b):\n    return helper(a) + b\n\ndef helper(x):\n    return x\n\nprint(add_two(1, 2))\n"
    assert to_program(_item(), raw, "prefill") == (
        "import math\ndef add_two(a, b):\n    return helper(a) + b\ndef helper(x):\n    return x")


def test_livecodebench_answers_keep_the_last_fenced_block():
    item = Item(kind="livecodebench", task_id="x", messages=[{"role": "user", "content": "q"}])
    assert to_program(item, "```python\nprint(1)\n```\n```python\nprint(2)\n```", "prefill") == "print(2)"
