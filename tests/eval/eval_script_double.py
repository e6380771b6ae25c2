"""Scripted model answers for eval tests (llm=scripted llm.script=eval_script_double:<fn>).

``canonical`` answers every fixture problem correctly in the shape each official prompt expects:
code after the pre-filled ```python fence for evalplus/BigCodeBench, a fenced block for LCB.
"""

from kodcode.eval.fixtures import BIGCODEBENCH, HUMANEVAL, MBPP

LCB_ANSWERS = {
    "Read two integers A and B": "a, b = map(int, input().split())\nprint(a + b)\n",
    "Return the indices of the two numbers": (
        "class Solution:\n    def twoSum(self, nums, target):\n        seen = {}\n"
        "        for i, x in enumerate(nums):\n            if target - x in seen:\n"
        "                return [seen[target - x], i]\n            seen[x] = i\n"),
    "Read N and N integers": "n = int(input())\nxs = list(map(int, input().split()))\nprint(f'{sum(xs) / n:.2f}')\n",
}


def canonical(request):
    if request.messages is not None:  # LiveCodeBench chat
        text = request.messages[-1]["content"]
        for key, code in LCB_ANSWERS.items():
            if key in text:
                return f"Here it is.\n```python\n{code}```\n"
        return "I don't know."
    prompt = request.prompt
    for row in HUMANEVAL + MBPP:
        if row["prompt"].strip() in prompt:
            return row["prompt"] + row["canonical_solution"] + "\n```\n"
    for row in BIGCODEBENCH:
        if row["code_prompt"] in prompt and row["complete_prompt"].split('"""')[1].strip().split("\n")[0] in prompt:
            return row["complete_prompt"] + row["canonical_solution"] + "\n```\n"
    return "pass\n```\n"
